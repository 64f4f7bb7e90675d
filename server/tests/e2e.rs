//! End to end: the real `scimkit` binary on a temporary SQLite file, on
//! 127.0.0.1 with a free port, driven over HTTP the way Microsoft Entra ID
//! drives a provisioning target (see shared ENTRA.md), plus bad input, token
//! administration, HTTPS and graceful shutdown.

mod common;

use std::io::{Read, Write};
use std::sync::Arc;

use common::{
    Client, Start, admin_req, connect, csrf_of, exchange, q, read_response, request, scimkit,
};
use serde_json::{Value, json};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

fn patch(ops: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": ops})
}

/// Entra's create: every attribute of its default mapping.
fn entra_user(upn: &str, object_id: &str, manager: Option<&str>) -> Value {
    let mut u = json!({
        "schemas": [USER, ENTERPRISE],
        "externalId": object_id,
        "userName": upn,
        "active": true,
        "displayName": "Alice Smith",
        "title": "Accountant",
        "preferredLanguage": "en-US",
        "name": {"formatted": "Alice Smith", "familyName": "Smith", "givenName": "Alice"},
        "emails": [{"type": "work", "primary": true, "value": upn}],
        "phoneNumbers": [
            {"type": "work", "value": "+1 555 0100"},
            {"type": "mobile", "value": "+1 555 0101"},
            {"type": "fax", "value": "+1 555 0102"}
        ],
        "addresses": [{
            "type": "work",
            "formatted": "1 Main St, Redmond, WA 98052, US",
            "streetAddress": "1 Main St",
            "locality": "Redmond",
            "region": "WA",
            "postalCode": "98052",
            "country": "US"
        }],
        ENTERPRISE: {
            "department": "Finance",
            "employeeNumber": "1001",
            "costCenter": "CC-1",
            "organization": "Contoso",
            "division": "EMEA"
        }
    });
    if let Some(m) = manager {
        u[ENTERPRISE]["manager"] = json!({"value": m});
    }
    u
}

fn only_user(c: &Client, filter: &str) -> Value {
    let (s, list) = c.call("GET", &format!("/Users?filter={}", q(filter)), None);
    assert_eq!(s, 200, "{list}");
    assert_eq!(list["totalResults"], 1, "{filter}: {list}");
    list["Resources"][0].clone()
}

/// PATCH, then the resource as the server now has it (PATCH may answer 200 or 204).
fn patch_then_get(c: &Client, path: &str, ops: Value) -> Value {
    let (s, body) = c.call("PATCH", path, Some(&patch(ops)));
    assert!(s == 200 || s == 204, "PATCH {path}: {s} {body}");
    let (s, body) = c.call("GET", path, None);
    assert_eq!(s, 200, "{body}");
    body
}

fn work_phone<'a>(u: &'a Value, kind: &str) -> &'a Value {
    u["phoneNumbers"]
        .as_array()
        .and_then(|a| a.iter().find(|p| p["type"] == kind))
        .map_or(&Value::Null, |p| &p["value"])
}

#[test]
fn entra_provisioning_flows_over_http_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("scimkit.db");
    let mut server = Start::new(&db).spawn();
    let token = server.banner_token();
    assert_eq!(
        server.wait_stdout("Tenant URL:").split_whitespace().last(),
        Some(server.tenant_url.as_str())
    );
    assert_eq!(server.tenant_url, format!("http://{}/scim/v2", server.addr));
    let c = server.client(&token);

    // Test connection: a random userName, 200 with an empty list; 401 on a bad token.
    let (s, list) = c.call(
        "GET",
        &format!(
            "/Users?filter={}",
            q("userName eq \"8c1a6d8f-probe@contoso.com\"")
        ),
        None,
    );
    assert_eq!((s, &list["totalResults"]), (200, &json!(0)), "{list}");
    let (s, err) = server.client("wrong").call("GET", "/Users", None);
    assert_eq!((s, &err["status"]), (401, &json!("401")));

    // Create the manager, then a user with every mapped attribute.
    let (s, manager) = c.call(
        "POST",
        "/Users",
        Some(&entra_user("boss@contoso.com", "obj-boss", None)),
    );
    assert_eq!(s, 201, "{manager}");
    let manager_id = manager["id"].as_str().unwrap().to_owned();
    let (s, alice) = c.call(
        "POST",
        "/Users",
        Some(&entra_user(
            "alice@contoso.com",
            "obj-alice",
            Some(&manager_id),
        )),
    );
    assert_eq!(s, 201, "{alice}");
    let alice_id = alice["id"].as_str().unwrap().to_owned();
    assert_eq!(alice["name"]["givenName"], "Alice");
    assert_eq!(alice["addresses"][0]["locality"], "Redmond");
    assert_eq!(alice[ENTERPRISE]["employeeNumber"], "1001");
    assert_eq!(alice[ENTERPRISE]["manager"]["value"], manager_id);
    assert_eq!(work_phone(&alice, "fax"), "+1 555 0102");

    // A second create of the same userName (any case) is 409 uniqueness.
    let (s, err) = c.call(
        "POST",
        "/Users",
        Some(&entra_user("ALICE@contoso.com", "obj-other", None)),
    );
    assert_eq!((s, &err["scimType"]), (409, &json!("uniqueness")), "{err}");

    // Matching: by userName (case-insensitively) and by externalId.
    assert_eq!(
        only_user(&c, "userName eq \"Alice@Contoso.com\"")["id"],
        alice_id
    );
    assert_eq!(only_user(&c, "externalId eq \"obj-alice\"")["id"], alice_id);

    // PATCH in the Entra dialect.
    let path = format!("/Users/{alice_id}");
    let u = patch_then_get(
        &c,
        &path,
        json!([
            {"op": "Replace", "path": "displayName", "value": "Alicia Smith"},
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "alicia@contoso.com"},
            {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0199"},
            {"op": "Replace", "path": "addresses[type eq \"work\"].locality", "value": "Seattle"},
            {"op": "Replace", "value": {
                "name.givenName": "Alicia",
                "title": "CFO",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Treasury"
            }},
            {"op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": manager_id},
            {"op": "Replace", "path": "active", "value": "True"}
        ]),
    );
    assert_eq!(u["displayName"], "Alicia Smith");
    assert_eq!(u["emails"][0]["value"], "alicia@contoso.com");
    assert_eq!(work_phone(&u, "mobile"), "+1 555 0199");
    assert_eq!(work_phone(&u, "work"), "+1 555 0100");
    assert_eq!(u["addresses"][0]["locality"], "Seattle");
    assert_eq!(u["name"]["givenName"], "Alicia");
    assert_eq!(u["name"]["familyName"], "Smith");
    assert_eq!(u["title"], "CFO");
    assert_eq!(u[ENTERPRISE]["department"], "Treasury");
    assert_eq!(u[ENTERPRISE]["manager"]["value"], manager_id);
    assert_eq!(u["active"], true);

    // Deactivate (soft delete / unassignment), then reactivate; remove the manager.
    let u = patch_then_get(
        &c,
        &path,
        json!([{"op": "Replace", "path": "active", "value": "False"}]),
    );
    assert_eq!(u["active"], false);
    let u = patch_then_get(
        &c,
        &path,
        json!([
            {"op": "Replace", "value": {"active": "True"}},
            {"op": "Remove", "path": format!("{ENTERPRISE}:manager")}
        ]),
    );
    assert_eq!(u["active"], true);
    assert!(u[ENTERPRISE].get("manager").is_none(), "{u}");

    // Groups: look up by displayName, create, add and remove members.
    let (s, list) = c.call(
        "GET",
        &format!(
            "/Groups?filter={}&excludedAttributes=members",
            q("displayName eq \"Sales\"")
        ),
        None,
    );
    assert_eq!((s, &list["totalResults"]), (200, &json!(0)));
    let (s, group) = c.call(
        "POST",
        "/Groups",
        Some(&json!({"schemas": [GROUP], "displayName": "Sales", "externalId": "obj-sales"})),
    );
    assert_eq!(s, 201, "{group}");
    let gid = group["id"].as_str().unwrap().to_owned();
    let gpath = format!("/Groups/{gid}");
    let (s, body) = c.call(
        "PATCH",
        &gpath,
        Some(&patch(json!([{"op": "Add", "path": "members",
            "value": [{"value": alice_id}, {"value": manager_id}]}]))),
    );
    assert!(s == 200 || s == 204, "{s} {body}");

    let member_check = |uid: &str| {
        let filter = format!("id eq \"{gid}\" and members[value eq \"{uid}\"]");
        let (s, list) = c.call(
            "GET",
            &format!("/Groups?filter={}&excludedAttributes=members", q(&filter)),
            None,
        );
        assert_eq!(s, 200, "{list}");
        if list["totalResults"] == 1 {
            assert!(list["Resources"][0].get("members").is_none(), "{list}");
        }
        list["totalResults"].as_u64().unwrap()
    };
    assert_eq!(member_check(&alice_id), 1);
    assert_eq!(member_check(&manager_id), 1);

    let (s, _) = c.call(
        "PATCH",
        &gpath,
        Some(&patch(
            json!([{"op": "Remove", "path": format!("members[value eq \"{alice_id}\"]")}]),
        )),
    );
    assert!(s == 200 || s == 204);
    assert_eq!(member_check(&alice_id), 0);
    let (s, _) = c.call(
        "PATCH",
        &gpath,
        Some(&patch(
            json!([{"op": "Remove", "path": "members", "value": [{"value": manager_id}]}]),
        )),
    );
    assert!(s == 200 || s == 204);
    assert_eq!(member_check(&manager_id), 0);
    let (s, g) = c.call("GET", &gpath, None);
    assert_eq!(s, 200);
    assert!(
        g.get("members")
            .is_none_or(|m| m.as_array().is_some_and(Vec::is_empty)),
        "{g}"
    );

    // Permanent delete: 204, then 404.
    let r = c.send("DELETE", &path, None);
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
    let (s, err) = c.call("GET", &path, None);
    assert_eq!((s, &err["status"]), (404, &json!("404")));
    let (s, _) = c.call("DELETE", &path, None);
    assert_eq!(s, 404);

    // The request log names tenant, method, path and status, never the token.
    let logs = server.logs();
    assert!(!logs.contains(&token), "the token leaked into the logs");
    assert!(
        !logs.contains("alicia@contoso.com"),
        "a body or query leaked into the logs"
    );
    // The log line is written after the response: wait for it (bounded).
    let line = server
        .wait_log(|v| v["message"] == "request" && v["method"] == "DELETE" && v["status"] == 204);
    assert_eq!(line["tenant"], "default");
    assert_eq!(line["path"], format!("/scim/v2/Users/{alice_id}"));
    assert!(line["request_id"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(line["latency_ms"].is_number());

    // SIGTERM: a clean exit; the data and the token survive a restart, and no
    // new token is printed.
    assert!(server.stop().success());
    let server = Start::new(&db).spawn();
    assert!(
        server
            .stdout
            .lock()
            .unwrap()
            .iter()
            .all(|l| !l.contains("Secret Token"))
    );
    let c = server.client(&token);
    assert_eq!(
        only_user(&c, "userName eq \"boss@contoso.com\"")["id"],
        manager_id
    );
    let (s, g) = c.call("GET", &gpath, None);
    assert_eq!((s, &g["displayName"]), (200, &json!("Sales")));
    assert!(server.stop().success());
}

#[test]
fn bad_input_answers_scim_errors_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let server = Start::new(&dir.path().join("s.db"))
        .args(&["--max-body-size", "65536"])
        .spawn();
    let token = server.banner_token();
    let auth = format!("Bearer {token}");
    let addr = server.addr;
    let scim_error = |r: &common::Resp, status: u16| {
        assert_eq!(r.status, status, "{}", r.text());
        assert_eq!(
            r.header("content-type"),
            Some("application/scim+json"),
            "{status}"
        );
        let v = r.json();
        assert_eq!(
            v["schemas"],
            json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
        );
        assert_eq!(v["status"], status.to_string());
        v
    };

    // Missing and wrong tokens.
    let r = request(addr, "GET", "/scim/v2/Users", &[], b"");
    scim_error(&r, 401);
    assert!(r.header("www-authenticate").is_some());
    let r = request(
        addr,
        "GET",
        "/scim/v2/Users",
        &[("Authorization", "Bearer nope")],
        b"",
    );
    scim_error(&r, 401);
    let r = request(
        addr,
        "GET",
        "/scim/v2/Users",
        &[("Authorization", "Basic dTpw")],
        b"",
    );
    scim_error(&r, 401);

    // Malformed JSON.
    let json_ct = ("Content-Type", "application/scim+json");
    let r = request(
        addr,
        "POST",
        "/scim/v2/Users",
        &[("Authorization", &auth), json_ct],
        b"{\"userName\": ",
    );
    assert_eq!(scim_error(&r, 400)["scimType"], "invalidSyntax");

    // Huge bodies: refused from Content-Length alone, and when streamed.
    let mut tcp = connect(addr);
    let r = exchange(
        &mut tcp,
        &addr.to_string(),
        "POST",
        "/scim/v2/Users",
        &[
            ("Authorization", &auth),
            json_ct,
            ("Content-Length", "100000000"),
        ],
        b"",
    );
    scim_error(&r, 413);
    let mut chunked = Vec::new();
    for _ in 0..20 {
        chunked.extend_from_slice(format!("{:x}\r\n", 8192).as_bytes());
        chunked.extend_from_slice(&[b' '; 8192]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let r = request(
        addr,
        "POST",
        "/scim/v2/Users",
        &[
            ("Authorization", &auth),
            json_ct,
            ("Transfer-Encoding", "chunked"),
        ],
        &chunked,
    );
    scim_error(&r, 413);

    // A filter nested past the limit.
    let deep = format!("{}userName eq \"x\"{}", "(".repeat(200), ")".repeat(200));
    let r = request(
        addr,
        "GET",
        &format!("/scim/v2/Users?filter={}", q(&deep)),
        &[("Authorization", &auth)],
        b"",
    );
    assert_eq!(scim_error(&r, 400)["scimType"], "invalidFilter");
    // A filter on an attribute that does not exist never returns everyone.
    let r = request(
        addr,
        "GET",
        &format!("/scim/v2/Users?filter={}", q("nosuchattr eq \"x\"")),
        &[("Authorization", &auth)],
        b"",
    );
    if r.status == 200 {
        assert_eq!(r.json()["totalResults"], 0);
    } else {
        assert_eq!(scim_error(&r, 400)["scimType"], "invalidFilter");
    }

    // Unknown paths, inside and outside the base path.
    let r = request(
        addr,
        "GET",
        "/scim/v2/Nothing",
        &[("Authorization", &auth)],
        b"",
    );
    scim_error(&r, 404);
    let r = request(addr, "GET", "/not-scim", &[], b"");
    let v = scim_error(&r, 404);
    assert!(v["detail"].as_str().unwrap().contains("/scim/v2"), "{v}");

    // Wrong method.
    let r = request(
        addr,
        "DELETE",
        "/scim/v2/Users",
        &[("Authorization", &auth)],
        b"",
    );
    scim_error(&r, 405);
    assert!(r.header("allow").is_some());

    // Wrong content type.
    let r = request(
        addr,
        "POST",
        "/scim/v2/Users",
        &[("Authorization", &auth), ("Content-Type", "text/plain")],
        br#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"x"}"#,
    );
    scim_error(&r, 415);

    // Not HTTP at all: the connection is dropped, nothing else is affected.
    let mut tcp = connect(addr);
    let _ = tcp.write_all(b"\x16\x03\x01 garbage that is not HTTP\r\n\r\n");
    let mut sink = Vec::new();
    let _ = tcp.read_to_end(&mut sink);

    // Still serving, and the bad requests were counted.
    let c = server.client(&token);
    let (s, list) = c.call("GET", "/Users", None);
    assert_eq!((s, &list["totalResults"]), (200, &json!(0)));
    let health = request(addr, "GET", "/healthz", &[], b"");
    assert_eq!(
        (health.status, health.json()["status"].clone()),
        (200, json!("ok"))
    );
    let metrics = request(addr, "GET", "/metrics", &[], b"").text();
    let count = |class: &str| -> u64 {
        let prefix = format!("scimkit_http_requests_total{{class=\"{class}\"}} ");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {class} counter in\n{metrics}"))
    };
    assert!(count("4xx") >= 12, "{metrics}");
    assert!(count("2xx") >= 2, "{metrics}");
    assert!(metrics.contains("scimkit_http_request_duration_seconds_bucket{le=\"+Inf\"}"));
    assert!(!metrics.contains(&token));
    assert!(!server.logs().contains(&token));
    assert!(server.stop().success());
}

#[test]
fn tokens_and_tenants_from_the_cli_apply_to_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    // Configured through the environment this time.
    let port_probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = port_probe.local_addr().unwrap();
    drop(port_probe);
    let server = Start::new(&db)
        .env("SCIMKIT_DB", db.to_str().unwrap())
        .env("SCIMKIT_LISTEN", listen.to_string())
        .env("SCIMKIT_BASE_PATH", "/scim/v2")
        .spawn();
    assert_eq!(server.addr, listen);
    let default_token = server.banner_token();

    let (st, out, err) = scimkit(&db, &["tenant", "create", "fabrikam"]);
    assert!(st.success(), "{err}");
    assert!(out.contains("Created tenant \"fabrikam\""), "{out}");
    let (st, _, err) = scimkit(&db, &["tenant", "create", "fabrikam"]);
    assert!(!st.success());
    assert!(err.contains("exists already"), "{err}");
    let (st, _, err) = scimkit(&db, &["token", "create", "--tenant", "nobody"]);
    assert!(!st.success());
    assert!(err.contains("tenant \"nobody\" does not exist"), "{err}");

    let (st, out, err) = scimkit(
        &db,
        &[
            "token", "create", "--tenant", "fabrikam", "--label", "entra",
        ],
    );
    assert!(st.success(), "{err}");
    let secret = out
        .split_whitespace()
        .find(|w| w.starts_with("scimkit_"))
        .expect("a token")
        .to_owned();
    let id = out.split_whitespace().nth(2).unwrap().to_owned();

    // The new token works at once, for its own tenant only.
    let fab = server.client(&secret);
    let (s, u) = fab.call(
        "POST",
        "/Users",
        Some(&json!({"schemas": [USER], "userName": "f@fabrikam.com"})),
    );
    assert_eq!(s, 201, "{u}");
    let (s, list) = server.client(&default_token).call("GET", "/Users", None);
    assert_eq!(
        (s, &list["totalResults"]),
        (200, &json!(0)),
        "tenants are separate"
    );

    let (st, out, _) = scimkit(&db, &["token", "list"]);
    assert!(st.success());
    assert!(
        out.contains(&id) && out.contains("fabrikam") && out.contains("entra"),
        "{out}"
    );
    assert!(!out.contains(&secret), "token list never shows secrets");
    let (st, out, _) = scimkit(&db, &["tenant", "list"]);
    assert!(st.success());
    assert!(
        out.lines()
            .any(|l| l.starts_with("fabrikam") && l.trim_end().ends_with('1')),
        "{out}"
    );

    // Revoked: 401 from the next request on.
    let (st, out, err) = scimkit(&db, &["token", "revoke", &id]);
    assert!(st.success(), "{err}");
    assert!(out.contains("Revoked"), "{out}");
    let (s, _) = fab.call("GET", "/Users", None);
    assert_eq!(s, 401);
    let (st, _, err) = scimkit(&db, &["token", "revoke", "00000000"]);
    assert!(!st.success());
    assert!(err.contains("no token with id"), "{err}");
    assert!(server.stop().success());
}

#[test]
fn sigterm_lets_an_in_flight_request_finish() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Start::new(&dir.path().join("g.db")).spawn();
    let token = server.banner_token();
    let body = json!({"schemas": [USER], "userName": "late@contoso.com"}).to_string();
    let (first, rest) = body.as_bytes().split_at(10);

    // A request whose body is half sent when the signal arrives. With
    // `Expect: 100-continue` the server says when the request has reached the
    // service and it is reading the body: no sleeping, no race.
    let mut tcp = connect(server.addr);
    let head = format!(
        "POST /scim/v2/Users HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/scim+json\r\nContent-Length: {}\r\n\
         Expect: 100-continue\r\n\r\n",
        server.addr,
        body.len()
    );
    tcp.write_all(head.as_bytes()).unwrap();
    let mut interim = Vec::new();
    let mut byte = [0u8; 1];
    while !interim.ends_with(b"\r\n\r\n") {
        tcp.read_exact(&mut byte).unwrap();
        interim.push(byte[0]);
    }
    assert!(
        interim.starts_with(b"HTTP/1.1 100"),
        "{}",
        String::from_utf8_lossy(&interim)
    );
    tcp.write_all(first).unwrap();
    tcp.flush().unwrap();
    server.terminate();
    let shutdown = server.wait_log(|v| {
        v["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("shutting down"))
    });
    assert_eq!(shutdown["signal"], "SIGTERM");
    assert_eq!(shutdown["connections"], 1, "{shutdown}");

    // …is still answered in full, then the server exits cleanly.
    tcp.write_all(rest).unwrap();
    let r = read_response(&mut tcp);
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["userName"], "late@contoso.com");
    let status = server.wait_exit();
    assert!(status.success(), "{status}");
    assert!(server.logs().contains("shutdown complete"));
}

#[test]
fn https_with_tls_cert_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    let cert = params.self_signed(&key).unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();

    let server = Start::new(&dir.path().join("tls.db"))
        .args(&[
            "--tls-cert",
            cert_path.to_str().unwrap(),
            "--tls-key",
            key_path.to_str().unwrap(),
        ])
        .spawn();
    let token = server.banner_token();
    assert!(
        server.tenant_url.starts_with("https://"),
        "{}",
        server.tenant_url
    );

    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, connect(server.addr));
    let auth = format!("Bearer {token}");
    let r = exchange(
        &mut tls,
        "localhost",
        "GET",
        &format!("/scim/v2/Users?filter={}", q("userName eq \"probe\"")),
        &[("Authorization", &auth)],
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["totalResults"], 0);

    // Plain HTTP on the TLS port gets nowhere, and the server keeps serving.
    let mut plain = connect(server.addr);
    let _ = plain.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut sink = Vec::new();
    let _ = plain.read_to_end(&mut sink);
    assert!(!String::from_utf8_lossy(&sink).contains("\"ok\""));
    assert!(server.stop().success());
}

#[test]
fn an_unreachable_database_url_fails_at_start_without_showing_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_scimkit"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            // Port 1 on loopback: connection refused at once.
            "postgres://u:Sup3r-Secret-Pw@127.0.0.1:1/scim",
        ])
        .env_remove("SCIMKIT_CONFIG")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("PostgreSQL"), "{err}");
    assert!(err.contains("postgresql://u@127.0.0.1:1/scim"), "{err}");
    assert!(err.contains("unreachable"), "{err}");
    assert!(!err.contains("Sup3r-Secret-Pw"), "{err}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("Sup3r-Secret-Pw"));
    // Nothing was created.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn policies_from_toml_review_queue_and_token_revocation_on_the_admin_page() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("admin.db");
    let cfg = dir.path().join("scimkit.toml");
    std::fs::write(
        &cfg,
        "log_retention_days = 30\n\
         [tenants.contoso.policies]\n\
         deletion = \"review\"\n\
         groups = \"refuse\"\n",
    )
    .unwrap();
    // The admin password from stdin, before the first start.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_scimkit"))
        .args(["admin", "set-password", "--db"])
        .arg(&db)
        .env_remove("SCIMKIT_CONFIG")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"correct horse battery\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (st, _, err) = scimkit(&db, &["admin", "set-password"]);
    assert!(!st.success() && err.contains("at least 12"), "{err}");

    let mut server = Start::new(&db)
        .args(&["--config", cfg.to_str().unwrap()])
        // Ignored: a password is already set.
        .env("SCIMKIT_ADMIN_PASSWORD", "not this one at all")
        .spawn();
    server.wait_log(|v| {
        v["message"] == "policies set from the config file" && v["tenant"] == "contoso"
    });
    let (st, out, err) = scimkit(&db, &["token", "create", "--tenant", "contoso"]);
    assert!(st.success(), "{err}");
    let token = out
        .split_whitespace()
        .find(|w| w.starts_with("scimkit_"))
        .unwrap()
        .to_owned();
    let token_id = out.split_whitespace().nth(2).unwrap().to_owned();
    let c = server.client(&token);

    // Policies from the file: groups refused, DELETE queues for review.
    let (s, _) = c.call("GET", "/Groups", None);
    assert_eq!(s, 403);
    let (s, u) = c.call(
        "POST",
        "/Users",
        Some(&entra_user("alice@contoso.com", "obj-alice", None)),
    );
    assert_eq!(s, 201, "{u}");
    let id = u["id"].as_str().unwrap().to_owned();
    let r = c.send("DELETE", &format!("/Users/{id}"), None);
    assert_eq!(r.status, 204);
    assert_eq!(c.send("GET", &format!("/Users/{id}"), None).status, 404);
    server.wait_log(|v| v["kind"] == "queued_for_review" && v["id"] == id.as_str());

    // Log in (the env password was ignored) and find alice in the queue.
    let addr = server.addr;
    let bad = admin_req(
        addr,
        "POST",
        "/admin/login",
        "",
        &[("password", "not this one at all")],
    );
    assert_eq!(bad.status, 401);
    let login = admin_req(
        addr,
        "POST",
        "/admin/login",
        "",
        &[("password", "correct horse battery")],
    );
    assert_eq!(login.status, 303);
    let cookie = login
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let queue = admin_req(addr, "GET", "/admin/review", &cookie, &[]);
    assert_eq!(queue.status, 200);
    assert!(queue.text().contains("alice@contoso.com"));
    let csrf = csrf_of(&queue.text());
    let approve = format!("/admin/review/contoso/{id}/approve");
    assert_eq!(admin_req(addr, "POST", &approve, &cookie, &[]).status, 403);
    let done = admin_req(addr, "POST", &approve, &cookie, &[("csrf", &csrf)]);
    assert_eq!(done.status, 303);
    let queue = admin_req(addr, "GET", "/admin/review", &cookie, &[]);
    assert!(!queue.text().contains("alice@contoso.com"));
    assert_eq!(c.send("GET", &format!("/Users/{id}"), None).status, 404);

    // Revoke the token on the admin page: Entra's next request is 401, and
    // that 401 is in the provisioning log.
    let revoke = admin_req(
        addr,
        "POST",
        &format!("/admin/tokens/{token_id}/revoke"),
        &cookie,
        &[("csrf", &csrf)],
    );
    assert_eq!(revoke.status, 303);
    assert_eq!(c.send("GET", "/Users", None).status, 401);
    let log = admin_req(
        addr,
        "GET",
        "/admin/log?tenant=contoso&outcome=failure",
        &cookie,
        &[],
    );
    assert!(log.text().contains("token revoked"), "{}", log.text());
    assert!(log.text().contains(">401<"));

    assert!(server.stop().success());
    assert!(!server_logs_contain_secret(&dir, &token));

    // The log export from the command line (server stopped or not).
    let (st, out, err) = scimkit(&db, &["log", "export", "--tenant", "contoso"]);
    assert!(st.success(), "{err}");
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ops: Vec<(&str, u64)> = lines
        .iter()
        .map(|l| {
            (
                l["operation"].as_str().unwrap(),
                l["status"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ops,
        [
            ("read", 403),
            ("create", 201),
            ("delete", 204),
            ("approve_deletion", 204),
            ("auth", 401)
        ],
        "{out}"
    );
    assert_eq!(lines[4]["tokenId"], token_id.as_str());
    let (st, out, _) = scimkit(
        &db,
        &["log", "export", "--outcome", "failure", "--since", "1d"],
    );
    assert!(st.success());
    assert_eq!(out.lines().count(), 2);
    let (st, _, err) = scimkit(&db, &["log", "export", "--since", "last week"]);
    assert!(!st.success() && err.contains("invalid time"), "{err}");
}

/// Whether a secret reached the database file in clear (it must not).
fn server_logs_contain_secret(dir: &tempfile::TempDir, secret: &str) -> bool {
    let bytes = std::fs::read(dir.path().join("admin.db")).unwrap();
    bytes.windows(secret.len()).any(|w| w == secret.as_bytes())
}

/// A webhook receiver on 127.0.0.1: answers 204 to each POST and hands its JSON
/// body over.
fn webhook_receiver() -> (std::net::SocketAddr, std::sync::mpsc::Receiver<Value>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { break };
            conn.set_read_timeout(Some(common::WAIT)).unwrap();
            let mut raw = Vec::new();
            let mut buf = [0u8; 4096];
            let body = loop {
                let Ok(n) = conn.read(&mut buf) else {
                    break None;
                };
                if n == 0 {
                    break None;
                }
                raw.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&raw).into_owned();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap())
                        })
                        .unwrap_or(0);
                    if body.len() >= len {
                        assert!(head.starts_with("POST /hooks/scim HTTP/1.1"), "{head}");
                        break Some(body[..len].to_owned());
                    }
                }
            };
            let _ = conn.write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n");
            if let Some(b) = body {
                if tx.send(serde_json::from_str(&b).unwrap()).is_err() {
                    break;
                }
            }
        }
    });
    (addr, rx)
}

#[test]
fn events_are_logged_and_posted_to_the_webhook() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hook.db");
    let (hook, events) = webhook_receiver();
    let url = format!("http://{hook}/hooks/scim");
    let mut server = Start::new(&db).args(&["--event-webhook", &url]).spawn();
    let c = server.client(&server.banner_token());
    let (s, u) = c.call(
        "POST",
        "/Users",
        Some(&json!({"schemas": [USER], "userName": "hook@contoso.com", "password": "Secret-123"})),
    );
    assert_eq!(s, 201, "{u}");
    let id = u["id"].as_str().unwrap();
    let r = c.send(
        "PATCH",
        &format!("/Users/{id}"),
        Some(&patch(
            json!([{"op": "Replace", "path": "active", "value": false}]),
        )),
    );
    assert!(r.status == 200 || r.status == 204);
    let mut kinds = Vec::new();
    while kinds.len() < 3 {
        let e = events
            .recv_timeout(common::WAIT)
            .expect("an event on the webhook");
        assert_eq!(
            (e["tenant"].as_str(), e["id"].as_str()),
            (Some("default"), Some(id))
        );
        assert_eq!(e["name"], "hook@contoso.com");
        assert!(e.get("password").is_none() && !e.to_string().contains("Secret-123"));
        kinds.push(e["kind"].as_str().unwrap().to_owned());
    }
    assert_eq!(kinds, ["created", "updated", "deactivated"]);
    let line = server.wait_log(|v| v["kind"] == "deactivated");
    assert_eq!(line["target"], "scimkit::events");
    assert_eq!(line["name"], "hook@contoso.com");
    assert!(!server.logs().contains("Secret-123"));
    assert!(server.stop().success());
}
