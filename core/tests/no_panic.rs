//! Property tests: random and mutated filters, paths, PATCH bodies and JSON thrown
//! at `ScimServer::handle` never panic, never answer 5xx, always answer a valid
//! SCIM error when they fail, and never change stored data when rejected.
//!
//! `PROPTEST_CASES` raises the number of cases per property (default 256 here).

use bytes::Bytes;
use proptest::prelude::*;
use scimkit::{MemoryStore, ScimServer};
use serde_json::{Value, json};

const TOKEN: &str = "fuzz";

fn server() -> (ScimServer, String, String) {
    let s = ScimServer::builder()
        .store(MemoryStore::new())
        .token(TOKEN, "t")
        .build()
        .unwrap();
    let u = call(&s, "POST", "/scim/v2/Users", Some(json!({
        "userName": "alice@contoso.com", "emails": [{"value": "a@x", "type": "work", "primary": true}],
        "name": {"givenName": "A"}, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "D"}
    }).to_string()));
    let uid = u.1["id"].as_str().unwrap().to_owned();
    let g = call(
        &s,
        "POST",
        "/scim/v2/Groups",
        Some(json!({"displayName": "G", "members": [{"value": uid}]}).to_string()),
    );
    let gid = g.1["id"].as_str().unwrap().to_owned();
    (s, uid, gid)
}

fn call(s: &ScimServer, method: &str, uri: &str, body: Option<String>) -> (u16, Value) {
    call_bytes(
        s,
        method,
        uri,
        body.map(String::into_bytes).unwrap_or_default(),
    )
}

fn call_bytes(s: &ScimServer, method: &str, uri: &str, body: Vec<u8>) -> (u16, Value) {
    let req = match http::Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Bytes::from(body))
    {
        Ok(r) => r,
        Err(_) => return (400, json!({"skipped": "not a valid http request"})),
    };
    let resp = s.handle(req);
    let status = resp.status().as_u16();
    let v = if resp.body().is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(resp.body()).expect("every response body is JSON")
    };
    (status, v)
}

fn check(status: u16, body: &Value) -> Result<(), TestCaseError> {
    prop_assert!(status < 500, "5xx: {status} {body}");
    if status >= 400 && body.get("skipped").is_none() {
        prop_assert_eq!(
            &body["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:Error"
        );
        let s = status.to_string();
        prop_assert_eq!(body["status"].as_str(), Some(s.as_str()));
        prop_assert!(body["detail"].is_string());
    }
    Ok(())
}

fn snapshot(s: &ScimServer, uid: &str, gid: &str) -> (Value, Value) {
    (
        call(s, "GET", &format!("/scim/v2/Users/{uid}"), None).1,
        call(s, "GET", &format!("/scim/v2/Groups/{gid}"), None).1,
    )
}

/// Filter-ish strings: fragments of the grammar glued together at random.
fn filterish() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "userName",
        "emails",
        "emails.value",
        "name.givenName",
        "members",
        "value",
        "type",
        "meta.created",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
        "urn:",
        "x.y.z",
        " eq ",
        " ne ",
        " co ",
        " sw ",
        " ew ",
        " gt ",
        " ge ",
        " lt ",
        " le ",
        " pr",
        " and ",
        " or ",
        "not ",
        "(",
        ")",
        "[",
        "]",
        "\"a\"",
        "\"",
        "\\",
        "true",
        "false",
        "null",
        "12",
        "-1.5e3",
        "1e999",
        " ",
        "é",
        "\u{0}",
        "\"2020-01-01T00:00:00Z\"",
        ".",
        ":",
    ]);
    prop::collection::vec(atoms, 0..24).prop_map(|v| v.concat())
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::String),
        prop::sample::select(vec![
            "True", "False", "work", "members", "userName", "add", "Replace", "remove"
        ])
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop::sample::select(vec![
                        "op",
                        "path",
                        "value",
                        "userName",
                        "active",
                        "emails",
                        "members",
                        "type",
                        "primary",
                        "name",
                        "givenName",
                        "schemas",
                        "Operations",
                        "id",
                        "meta",
                        "displayName",
                        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                        "x"
                    ]),
                    inner
                ),
                0..6
            )
            .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}

fn patch_body() -> impl Strategy<Value = Value> {
    let op = prop::sample::select(vec![
        "add", "Add", "replace", "Replace", "remove", "Remove", "move",
    ]);
    let path = prop_oneof![
        Just(None),
        filterish().prop_map(Some),
        prop::sample::select(vec![
            "emails[type eq \"work\"].value",
            "members",
            "members[value eq \"x\"]",
            "name.givenName",
            "active",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            "userName",
            "id",
            "meta",
            "emails[type eq \"work\"]",
            "phoneNumbers[type eq \"mobile\"].value",
            "displayName",
        ])
        .prop_map(|s| Some(s.to_owned())),
    ];
    prop::collection::vec((op, path, prop::option::of(json_value())), 0..5).prop_map(|ops| {
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": ops.into_iter().map(|(op, path, value)| {
                let mut o = json!({"op": op});
                if let Some(p) = path { o["path"] = json!(p); }
                if let Some(v) = value { o["value"] = v; }
                o
            }).collect::<Vec<_>>()
        })
    })
}

/// Cases per property: `PROPTEST_CASES`, or 200 000 with `SCIMKIT_LONG=1`
/// (1 000 000 over the five properties), else 256.
fn cases() -> u32 {
    if let Some(n) = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        return n;
    }
    if std::env::var("SCIMKIT_LONG").is_ok_and(|v| v == "1") {
        200_000
    } else {
        256
    }
}

/// Run a property over `cases()` generated values and print how many ran.
fn property<S: Strategy>(
    name: &str,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    use std::sync::atomic::{AtomicU64, Ordering};
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let count = AtomicU64::new(0);
    let result = runner.run(&strategy, |v| {
        count.fetch_add(1, Ordering::Relaxed);
        test(v)
    });
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
    println!(
        "{name}: {} generated cases, no panic, no 5xx",
        count.load(Ordering::Relaxed)
    );
}

#[test]
fn random_filters_never_5xx() {
    property("random filters", filterish(), |f| {
        let (s, _, _) = server();
        let q: String = form_urlencoded::byte_serialize(f.as_bytes()).collect();
        for ep in ["Users", "Groups"] {
            let (status, body) = call(&s, "GET", &format!("/scim/v2/{ep}?filter={q}"), None);
            check(status, &body)?;
            prop_assert!(status == 200 || status == 400, "{status} {body}");
            if status == 400 {
                prop_assert_eq!(body["scimType"].as_str(), Some("invalidFilter"));
            }
        }
        Ok(())
    });
}

#[test]
fn random_patch_bodies_are_atomic() {
    property(
        "random PATCH bodies",
        (patch_body(), any::<bool>()),
        |(body, group)| {
            let (s, uid, gid) = server();
            let before = snapshot(&s, &uid, &gid);
            let uri = if group {
                format!("/scim/v2/Groups/{gid}")
            } else {
                format!("/scim/v2/Users/{uid}")
            };
            let (status, resp) = call(&s, "PATCH", &uri, Some(body.to_string()));
            check(status, &resp)?;
            if status >= 400 {
                prop_assert_eq!(
                    snapshot(&s, &uid, &gid),
                    before,
                    "a rejected PATCH changed data"
                );
            }
            Ok(())
        },
    );
}

#[test]
fn random_resource_bodies_never_5xx() {
    property(
        "random resource bodies",
        (json_value(), prop::sample::select(vec!["POST", "PUT"])),
        |(body, method)| {
            let (s, uid, gid) = server();
            for uri in [
                format!("/scim/v2/Users/{uid}"),
                format!("/scim/v2/Groups/{gid}"),
                "/scim/v2/Users".into(),
                "/scim/v2/Bulk".into(),
                "/scim/v2/.search".into(),
            ] {
                let before = snapshot(&s, &uid, &gid);
                let (status, resp) = call(&s, method, &uri, Some(body.to_string()));
                check(status, &resp)?;
                if status >= 400 && uri != "/scim/v2/Bulk" {
                    prop_assert_eq!(
                        snapshot(&s, &uid, &gid),
                        before,
                        "a rejected {} {} changed data",
                        method,
                        uri
                    );
                }
            }
            Ok(())
        },
    );
}

#[test]
fn random_bytes_never_5xx() {
    property(
        "random bytes",
        prop::collection::vec(any::<u8>(), 0..256),
        |bytes| {
            let (s, uid, _) = server();
            for (m, uri) in [
                ("POST", "/scim/v2/Users".to_owned()),
                ("PATCH", format!("/scim/v2/Users/{uid}")),
                ("POST", "/scim/v2/Bulk".to_owned()),
            ] {
                let (status, resp) = call_bytes(&s, m, &uri, bytes.clone());
                check(status, &resp)?;
            }
            Ok(())
        },
    );
}

#[test]
fn random_paths_and_queries_never_5xx() {
    let methods = prop::sample::select(vec![
        "GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD",
    ]);
    property(
        "random paths and queries",
        ("[/A-Za-z0-9.%?&=:\\[\\]\" -]{0,40}", methods),
        |(path, method)| {
            let (s, _, _) = server();
            let (status, resp) = call(&s, method, &format!("/scim/v2/{path}"), Some("{}".into()));
            // `/Me` answers 501 by design when the host maps no user to it.
            let first = path
                .trim_start_matches('/')
                .split(['/', '?'])
                .next()
                .unwrap_or("");
            if status == 501 && first.eq_ignore_ascii_case("me") {
                prop_assert_eq!(
                    resp["detail"].as_str(),
                    Some("/Me is not supported by this service provider")
                );
                return Ok(());
            }
            check(status, &resp)
        },
    );
}

#[test]
fn hostile_json_is_a_400() {
    let (s, uid, gid) = server();
    let before = snapshot(&s, &uid, &gid);
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let huge_number = format!(
        "{{\"userName\": \"n\", \"nickName\": {}}}",
        "9".repeat(10_000)
    );
    let dup_keys = r#"{"userName": "dup1", "userName": "dup2"}"#.to_owned();
    let big_string = format!("{{\"userName\": \"{}\"}}", "x".repeat(10 * 1024 * 1024));
    let invalid_utf8 = b"{\"userName\": \"\xff\xfe\"}".to_vec();
    for body in [deep.into_bytes(), huge_number.into_bytes(), invalid_utf8] {
        let (status, resp) = call_bytes(&s, "POST", "/scim/v2/Users", body);
        assert_eq!(status, 400, "{resp}");
        assert_eq!(resp["scimType"], "invalidSyntax", "{resp}");
    }
    // Duplicate keys: serde_json keeps the last; that is a valid request.
    let (status, resp) = call(&s, "POST", "/scim/v2/Users", Some(dup_keys));
    assert!(status == 201 || status == 400, "{status} {resp}");
    // A 10 MB body is over the engine's limit (1 MiB by default): 413.
    let (status, resp) = call(&s, "POST", "/scim/v2/Users", Some(big_string));
    assert_eq!(status, 413, "{resp}");
    assert_eq!(snapshot(&s, &uid, &gid), before);
}

#[test]
fn deep_filters_are_refused_not_overflowed() {
    let (s, _, _) = server();
    let f = format!("{}userName pr{}", "(".repeat(5_000), ")".repeat(5_000));
    let q: String = form_urlencoded::byte_serialize(f.as_bytes()).collect();
    let (status, body) = call(&s, "GET", &format!("/scim/v2/Users?filter={q}"), None);
    assert_eq!(status, 400);
    assert_eq!(body["scimType"], "invalidFilter");
    let f = format!("{}userName pr)", "not (".repeat(40));
    let q: String = form_urlencoded::byte_serialize(f.as_bytes()).collect();
    let (status, body) = call(&s, "GET", &format!("/scim/v2/Users?filter={q}"), None);
    assert_eq!(status, 400, "{body}");
}
