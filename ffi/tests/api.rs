//! The exported functions called from Rust as C would call them, including
//! NULL pointers, invalid UTF-8 and a consumed builder (rustls-ffi style). The
//! C programs in `tests/c/` cover the same ground from C under sanitizers.

use std::ffi::c_char;
use std::ptr::{null, null_mut};

use scimkit_ffi::*;

fn c(s: &str) -> (*const c_char, usize) {
    (s.as_ptr().cast(), s.len())
}

fn builder_with(store: &str) -> *mut scimkit_config_builder {
    let b = scimkit_config_builder_new();
    assert!(!b.is_null());
    let (p, n) = c(store);
    assert_eq!(
        scimkit_config_builder_set_store(b, p, n),
        scimkit_result::Ok
    );
    let (t, tn) = c("tok");
    let (te, ten) = c("tenant");
    assert_eq!(
        scimkit_config_builder_add_token(b, t, tn, te, ten),
        scimkit_result::Ok
    );
    b
}

fn message(b: *const scimkit_config_builder) -> String {
    let mut buf = vec![0u8; 512];
    let mut n = 0;
    assert_eq!(
        scimkit_config_builder_error_message(b, buf.as_mut_ptr().cast(), buf.len(), &mut n),
        scimkit_result::Ok
    );
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

#[test]
fn null_arguments_are_refused() {
    scimkit_config_builder_free(null_mut());
    scimkit_server_free(null_mut());
    scimkit_response_free(null_mut());
    let (p, n) = c("/x");
    assert_eq!(
        scimkit_config_builder_set_base_path(null_mut(), p, n),
        scimkit_result::NullParameter
    );
    let b = scimkit_config_builder_new();
    assert_eq!(
        scimkit_config_builder_set_base_path(b, null(), 3),
        scimkit_result::NullParameter
    );
    assert_eq!(
        scimkit_config_builder_build(b, null_mut()),
        scimkit_result::NullParameter
    );
    let mut resp = std::ptr::dangling_mut::<scimkit_response>();
    assert_eq!(
        scimkit_server_handle(null(), p, n, p, n, null(), 0, null(), 0, &mut resp),
        scimkit_result::NullParameter
    );
    assert!(resp.is_null(), "outputs are NULL after a failure");
    assert_eq!(scimkit_response_status(null()), 0);
    assert_eq!(scimkit_response_header_count(null()), 0);
    scimkit_config_builder_free(b);
}

#[test]
fn invalid_utf8_is_refused() {
    let b = scimkit_config_builder_new();
    let bad = [b'/', 0xC3, 0x28];
    assert_eq!(
        scimkit_config_builder_set_base_path(b, bad.as_ptr().cast(), bad.len()),
        scimkit_result::InvalidUtf8
    );
    scimkit_config_builder_free(b);
}

#[test]
fn a_consumed_builder_answers_already_used() {
    let b = builder_with("memory");
    let mut server = null_mut();
    assert_eq!(
        scimkit_config_builder_build(b, &mut server),
        scimkit_result::Ok
    );
    assert!(!server.is_null());
    let mut again = null_mut();
    assert_eq!(
        scimkit_config_builder_build(b, &mut again),
        scimkit_result::AlreadyUsed
    );
    assert!(again.is_null());
    let (p, n) = c("memory");
    assert_eq!(
        scimkit_config_builder_set_store(b, p, n),
        scimkit_result::AlreadyUsed
    );
    assert!(message(b).contains("consumed"));
    scimkit_config_builder_free(b);
    scimkit_server_free(server);
}

#[test]
fn configuration_errors_carry_a_message() {
    let b = scimkit_config_builder_new();
    let (p, n) = c("mongodb://x");
    assert_eq!(
        scimkit_config_builder_set_store(b, p, n),
        scimkit_result::InvalidConfig
    );
    assert!(message(b).contains("unknown store"), "{}", message(b));
    // A mistyped URL is not echoed: it may hold a password.
    let (p, n) = c("postgres:/scim:hunter2@db/scim");
    assert_eq!(
        scimkit_config_builder_set_store(b, p, n),
        scimkit_result::InvalidConfig
    );
    assert!(!message(b).contains("hunter2"), "{}", message(b));
    assert!(
        message(b).starts_with("unknown store \"postgres\""),
        "{}",
        message(b)
    );
    // A PostgreSQL URL is accepted as it is set and connected to by `_build`
    // (tests/postgres.rs); a builder holding one frees without connecting.
    for url in [
        "postgres://localhost/scim",
        "postgresql://u:pw@localhost/scim",
    ] {
        let pg = scimkit_config_builder_new();
        let (p, n) = c(url);
        assert_eq!(
            scimkit_config_builder_set_store(pg, p, n),
            scimkit_result::Ok
        );
        scimkit_config_builder_free(pg);
    }
    let mut tiny = [0u8; 2];
    let mut needed = 0;
    assert_eq!(
        scimkit_config_builder_error_message(b, tiny.as_mut_ptr().cast(), tiny.len(), &mut needed),
        scimkit_result::InsufficientSize
    );
    assert_eq!(needed, message(b).len());
    let mut server = null_mut();
    assert_eq!(
        scimkit_config_builder_build(b, &mut server),
        scimkit_result::InvalidConfig
    );
    assert!(message(b).contains("no store"));
    scimkit_config_builder_free(b);
}

#[test]
fn a_request_gets_a_response() {
    let b = builder_with("memory");
    let mut server = null_mut();
    assert_eq!(
        scimkit_config_builder_build(b, &mut server),
        scimkit_result::Ok
    );
    scimkit_config_builder_free(b);
    let header = |n: &'static str, v: &'static str| scimkit_header {
        name: scimkit_str::borrow(n),
        value: scimkit_str::borrow(v),
    };
    let headers = [
        header("Authorization", "Bearer tok"),
        header("Content-Type", "application/scim+json"),
    ];
    let body = br#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"x"}"#;
    let (m, mn) = c("POST");
    let (t, tn) = c("/scim/v2/Users");
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
            &mut resp
        ),
        scimkit_result::Ok
    );
    assert_eq!(scimkit_response_status(resp), 201);
    let (mut bp, mut bl) = (null(), 0);
    assert_eq!(
        scimkit_response_body(resp, &mut bp, &mut bl),
        scimkit_result::Ok
    );
    // SAFETY: the body borrows from `resp`, alive here.
    let body: serde_json::Value =
        serde_json::from_slice(unsafe { std::slice::from_raw_parts(bp, bl) }).unwrap();
    assert_eq!(body["userName"], "x");
    let mut name = scimkit_str::EMPTY;
    let mut value = scimkit_str::EMPTY;
    let count = scimkit_response_header_count(resp);
    assert_eq!(
        scimkit_response_header(resp, count, &mut name, &mut value),
        scimkit_result::InvalidParameter
    );
    scimkit_response_free(resp);
    scimkit_server_free(server);
}

#[test]
fn version_and_messages_are_static_c_strings() {
    let v = scimkit_version();
    // SAFETY: static memory, `len` bytes plus a NUL.
    let s = unsafe { std::slice::from_raw_parts(v.data.cast::<u8>(), v.len + 1) };
    assert!(s.starts_with(b"scimkit/") && s[v.len] == 0);
    let m = scimkit_result_message(scimkit_result::AlreadyUsed as u32);
    assert!(m.len > 0);
    let unknown = scimkit_result_message(4242);
    assert_eq!(unknown.len, "unknown result code".len());
}

static EVENTS: std::sync::Mutex<Vec<serde_json::Value>> = std::sync::Mutex::new(Vec::new());

unsafe extern "C" fn record_event(userdata: *mut std::ffi::c_void, json: *const u8, len: usize) {
    assert_eq!(userdata as usize, 42, "the registered userdata is passed");
    // SAFETY: scimkit passes `len` bytes of JSON, valid during the call.
    let bytes = unsafe { std::slice::from_raw_parts(json, len) };
    EVENTS
        .lock()
        .unwrap()
        .push(serde_json::from_slice(bytes).unwrap());
}

#[test]
fn events_reach_the_callback_until_the_server_is_freed() {
    let b = builder_with("memory");
    assert_eq!(
        scimkit_config_builder_set_event_callback(b, None, null_mut()),
        scimkit_result::NullParameter
    );
    assert_eq!(
        scimkit_config_builder_set_event_callback(b, Some(record_event), 42usize as *mut _),
        scimkit_result::Ok
    );
    let mut server = null_mut();
    assert_eq!(
        scimkit_config_builder_build(b, &mut server),
        scimkit_result::Ok
    );
    scimkit_config_builder_free(b);
    let headers = [scimkit_header {
        name: scimkit_str::borrow("Authorization"),
        value: scimkit_str::borrow("Bearer tok"),
    }];
    let body = br#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ev"}"#;
    let (m, mn) = c("POST");
    let (t, tn) = c("/scim/v2/Users");
    let mut resp = null_mut();
    assert_eq!(
        scimkit_server_handle(
            server,
            m,
            mn,
            t,
            tn,
            headers.as_ptr(),
            1,
            body.as_ptr(),
            body.len(),
            &mut resp
        ),
        scimkit_result::Ok
    );
    assert_eq!(scimkit_response_status(resp), 201);
    scimkit_response_free(resp);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while EVENTS.lock().unwrap().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    scimkit_server_free(server);
    let events = EVENTS.lock().unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["kind"], "created");
    assert_eq!(events[0]["resourceType"], "User");
    assert_eq!(events[0]["tenant"], "tenant");
}
