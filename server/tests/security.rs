//! Security promises of the server (SECURITY.md), checked on the real binary:
//! secrets never at rest in clear and never in logs (even at debug level),
//! tenants isolated over HTTP, passwords write-only.

mod common;

use common::{Start, scimkit};
use serde_json::json;

/// Every byte of the database files (main file, WAL, shared memory).
fn db_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("scim.db"))
        {
            all.extend(std::fs::read(&p).unwrap());
        }
    }
    all
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn secrets_stay_secret_and_tenants_stay_apart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("scim.db");
    let server = Start::new(&db).args(&["--log", "debug"]).spawn();
    let token_a = server.banner_token();
    let (st, _, err) = scimkit(&db, &["tenant", "create", "fabrikam"]);
    assert!(st.success(), "{err}");
    let (st, out, err) = scimkit(&db, &["token", "create", "--tenant", "fabrikam"]);
    assert!(st.success(), "{err}");
    let token_b = out
        .split_whitespace()
        .find(|w| w.starts_with("scimkit_"))
        .unwrap()
        .to_owned();

    let a = server.client(&token_a);
    let b = server.client(&token_b);
    let password = "Pa55-word-that-must-not-leak";
    let (st, u) = a.call(
        "POST",
        "/Users",
        Some(&json!({"userName": "secret-keeper@contoso.com", "password": password, "title": "Body-Only-Marker-7731"})),
    );
    assert_eq!(st, 201, "{u}");
    assert!(u.get("password").is_none(), "password is write-only");
    let id = u["id"].as_str().unwrap().to_owned();
    let (_, u) = a.call("GET", &format!("/Users/{id}"), None);
    assert!(u.get("password").is_none());
    let (_, l) = a.call("GET", "/Users?attributes=password", None);
    assert!(l["Resources"][0].get("password").is_none());

    // Tenant B: 404 (not 403), no match by filter, no uniqueness collision.
    let (st, e) = b.call("GET", &format!("/Users/{id}"), None);
    assert_eq!((st, e["status"].as_str()), (404, Some("404")));
    assert_eq!(b.call("DELETE", &format!("/Users/{id}"), None).0, 404);
    let (_, l) = b.call(
        "GET",
        &format!(
            "/Users?filter={}",
            common::q(r#"userName eq "secret-keeper@contoso.com""#)
        ),
        None,
    );
    assert_eq!(l["totalResults"], 0);
    assert_eq!(
        b.call(
            "POST",
            "/Users",
            Some(&json!({"userName": "secret-keeper@contoso.com"}))
        )
        .0,
        201
    );
    // A wrong token and no token: 401 with WWW-Authenticate.
    let r = server
        .client("scimkit_not-a-token")
        .send("GET", "/Users", None);
    assert_eq!(r.status, 401);
    assert!(
        r.header("www-authenticate")
            .is_some_and(|h| h.starts_with("Bearer"))
    );

    let logs_before_stop = server.logs();
    assert!(server.stop().success());
    let logs = logs_before_stop;
    for secret in [
        token_a.as_str(),
        token_b.as_str(),
        password,
        "scimkit_not-a-token",
    ] {
        assert!(
            !logs.contains(secret),
            "a secret reached the logs (debug level)"
        );
    }
    // Event lines name the user (userName); bodies and queries never appear.
    assert!(
        !logs.contains("Body-Only-Marker-7731"),
        "a resource body reached the logs"
    );
    assert!(!logs.contains("filter="), "a query string reached the logs");
    let at_rest = db_bytes(dir.path());
    for secret in [token_a.as_str(), token_b.as_str(), password] {
        assert!(!contains(&at_rest, secret), "a secret is stored in clear");
    }
    assert!(
        contains(&at_rest, "$argon2id$"),
        "the password is stored as an Argon2id hash"
    );
}
