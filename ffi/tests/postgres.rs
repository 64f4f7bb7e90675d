//! The C API on a PostgreSQL store (`scimkit_config_builder_set_store(b,
//! "postgresql://…")`), against a real, throw-away PostgreSQL server started by
//! the store's own test harness (`stores/postgres/tests/common`, included below).
//!
//! * From Rust, calling the exports as C would: a provisioning flow (create,
//!   get, patch, list, delete) on one database through two servers, and
//!   connection failures as result codes whose messages never show the password.
//! * From C: `scripts/stage-c.sh` builds `tests/c/test_postgres.c` (under
//!   AddressSanitizer and for valgrind) and names the commands to run in
//!   `SCIMKIT_C_POSTGRES_TESTS` (one per line); [`c_programs_pass_on_postgres`]
//!   runs each with `SCIMKIT_TEST_PG_URL` set to a fresh database.
//!
//! Without PostgreSQL the tests print a notice and pass, unless
//! `SCIMKIT_REQUIRE_POSTGRES=1` (set by the stage scripts and CI).

#[path = "../../stores/postgres/tests/common/mod.rs"]
mod common;

use std::ffi::c_char;
use std::process::{Command, Stdio};
use std::ptr::null_mut;

use scimkit_ffi::*;

const TOKEN: &str = "tok";

fn c(s: &str) -> (*const c_char, usize) {
    (s.as_ptr().cast(), s.len())
}

fn message(b: *const scimkit_config_builder) -> String {
    let mut buf = vec![0u8; 2048];
    let mut n = 0;
    assert_eq!(
        scimkit_config_builder_error_message(b, buf.as_mut_ptr().cast(), buf.len(), &mut n),
        scimkit_result::Ok
    );
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

/// Build a server on `spec`: the server or the result code and message.
fn build(spec: &str) -> Result<*mut scimkit_server, (scimkit_result, String)> {
    let b = scimkit_config_builder_new();
    let (p, n) = c(spec);
    assert_eq!(
        scimkit_config_builder_set_store(b, p, n),
        scimkit_result::Ok
    );
    let (t, tn) = c(TOKEN);
    let (te, ten) = c("contoso");
    assert_eq!(
        scimkit_config_builder_add_token(b, t, tn, te, ten),
        scimkit_result::Ok
    );
    let mut server = null_mut();
    let rc = scimkit_config_builder_build(b, &mut server);
    let out = if rc == scimkit_result::Ok {
        assert!(!server.is_null());
        Ok(server)
    } else {
        assert!(server.is_null());
        Err((rc, message(b)))
    };
    scimkit_config_builder_free(b);
    out
}

/// One request through `scimkit_server_handle`: status and JSON body.
fn call(
    server: *const scimkit_server,
    method: &str,
    target: &str,
    body: &str,
) -> (u16, serde_json::Value) {
    let auth = format!("Bearer {TOKEN}");
    let headers = [
        scimkit_header {
            name: scimkit_str::borrow("Authorization"),
            value: scimkit_str::borrow(&auth),
        },
        scimkit_header {
            name: scimkit_str::borrow("Content-Type"),
            value: scimkit_str::borrow("application/scim+json"),
        },
    ];
    let (m, mn) = c(method);
    let (t, tn) = c(target);
    let mut resp = null_mut();
    assert_eq!(
        scimkit_server_handle(
            server,
            m,
            mn,
            t,
            tn,
            headers.as_ptr(),
            headers.len(),
            body.as_ptr(),
            body.len(),
            &mut resp,
        ),
        scimkit_result::Ok
    );
    let status = scimkit_response_status(resp);
    let mut ptr = std::ptr::null();
    let mut len = 0;
    assert_eq!(
        scimkit_response_body(resp, &mut ptr, &mut len),
        scimkit_result::Ok
    );
    // SAFETY: the body borrows from `resp`, alive until it is freed below.
    let bytes = unsafe { std::slice::from_raw_parts(ptr, len) }.to_vec();
    scimkit_response_free(resp);
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (status, json)
}

#[test]
fn the_c_api_provisions_users_on_postgres() {
    let Some(pg) = common::server() else { return };
    let url = pg.fresh_database();
    let server = build(&url).expect("a server on PostgreSQL");
    let (st, created) = call(
        server,
        "POST",
        "/scim/v2/Users",
        r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName":"adele@contoso.com","externalId":"adele","active":true}"#,
    );
    assert_eq!(st, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let path = format!("/scim/v2/Users/{id}");

    let (st, got) = call(server, "GET", &path, "");
    assert_eq!(st, 200);
    assert_eq!(got["userName"], "adele@contoso.com");
    assert_eq!(got["active"], true);

    let (st, patched) = call(
        server,
        "PATCH",
        &path,
        r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations":[{"op":"replace","path":"active","value":false}]}"#,
    );
    assert_eq!(st, 200, "{patched}");
    assert_eq!(patched["active"], false);
    assert_ne!(patched["meta"]["version"], got["meta"]["version"]);

    // A second server (another replica) on the same database sees the change,
    // and the uniqueness of userName holds across both.
    let replica = build(&url).expect("a second server on the same database");
    let (st, list) = call(
        replica,
        "GET",
        "/scim/v2/Users?filter=userName%20eq%20%22ADELE%40contoso.com%22",
        "",
    );
    assert_eq!(st, 200);
    assert_eq!(list["totalResults"], 1);
    assert_eq!(list["Resources"][0]["active"], false);
    let (st, dup) = call(
        replica,
        "POST",
        "/scim/v2/Users",
        r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"Adele@Contoso.com"}"#,
    );
    assert_eq!(st, 409, "{dup}");
    assert_eq!(dup["scimType"], "uniqueness");

    let (st, _) = call(server, "DELETE", &path, "");
    assert_eq!(st, 204);
    let (st, _) = call(replica, "GET", &path, "");
    assert_eq!(st, 404);
    scimkit_server_free(replica);
    scimkit_server_free(server);

    // The data is in the database, not in the process: a new server finds it.
    let server = build(&url).expect("reopen");
    let (st, list) = call(server, "GET", "/scim/v2/Users", "");
    assert_eq!(st, 200);
    assert_eq!(list["totalResults"], 0);
    scimkit_server_free(server);
}

#[test]
fn postgres_failures_are_result_codes_without_the_password() {
    // Nothing listens on a port we just freed: refused, STORE_OPEN_FAILED.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    let (rc, msg) = build(&format!(
        "postgresql://scim:hunter2-secret@127.0.0.1:{port}/scim?connect_timeout=5"
    ))
    .expect_err("nothing listens");
    assert_eq!(rc, scimkit_result::StoreOpenFailed, "{msg}");
    assert!(
        msg.starts_with(&format!(
            "cannot open the PostgreSQL store at postgresql://scim@127.0.0.1:{port}/scim: the server is unreachable"
        )),
        "{msg}"
    );
    assert!(!msg.contains("hunter2"), "the password leaked: {msg}");

    // Unparsable: INVALID_CONFIG.
    let (rc, msg) =
        build("postgres://scim:hunter2-secret@127.0.0.1:notaport/scim").expect_err("bad port");
    assert_eq!(rc, scimkit_result::InvalidConfig, "{msg}");
    assert!(msg.contains("invalid connection string"), "{msg}");
    assert!(!msg.contains("hunter2"), "the password leaked: {msg}");

    // A real server that refuses the password, and one without the database.
    let Some(pg) = common::server() else { return };
    let wrong = pg.auth_url("postgres", "not-the-Pa55word");
    let (rc, msg) = build(&wrong).expect_err("wrong password");
    assert_eq!(rc, scimkit_result::StoreOpenFailed, "{msg}");
    assert!(msg.contains("authentication failed"), "{msg}");
    assert!(
        !msg.contains("not-the-Pa55word"),
        "the password leaked: {msg}"
    );
    let missing = pg.url("no_such_database");
    let (rc, msg) = build(&missing).expect_err("no such database");
    assert_eq!(rc, scimkit_result::StoreOpenFailed, "{msg}");
    assert!(msg.contains("the database does not exist"), "{msg}");
    assert!(
        !msg.contains(common::PASSWORD),
        "the password leaked: {msg}"
    );
}

/// The C programs `scripts/stage-c.sh` built, each on a fresh database.
#[test]
fn c_programs_pass_on_postgres() {
    let commands = std::env::var("SCIMKIT_C_POSTGRES_TESTS").unwrap_or_default();
    let commands: Vec<&str> = commands
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if commands.is_empty() {
        eprintln!(
            "skipped: no C programs to run (scripts/stage-c.sh names them in SCIMKIT_C_POSTGRES_TESTS)"
        );
        return;
    }
    let Some(pg) = common::server() else { return };
    for command in commands {
        let url = pg.fresh_database();
        let out = Command::new("sh")
            .args(["-c", command])
            .env("SCIMKIT_TEST_PG_URL", &url)
            .stdin(Stdio::null())
            .output()
            .expect("run the C test");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        eprintln!("$ {command}\n{stdout}{stderr}");
        assert!(out.status.success(), "{command} failed: {}", out.status);
        let summary = stdout
            .lines()
            .rev()
            .find(|l| l.ends_with(" failed"))
            .unwrap_or_default();
        assert!(
            summary.ends_with(" 0 failed") && !summary.starts_with("0 passed"),
            "{command}: {summary:?}"
        );
    }
}
