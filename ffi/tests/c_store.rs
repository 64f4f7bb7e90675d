//! The store conformance suite (`scimkit::store::testkit`) run on a store
//! written in C (`tests/c/store.c`, compiled by build.rs with the `cc` crate),
//! through the `scimkit_store_vtable` — the same path a C host's store takes.
//! Also: the engine evaluates filters the C store declines, and misbehaving
//! callbacks become SCIM 500/503 responses.

use std::ffi::c_void;

use bytes::Bytes;
use scimkit::ScimServer;
use scimkit::store::testkit;
use scimkit_ffi::{VtableStore, scimkit_store_vtable};

#[allow(non_camel_case_types)]
type teststore = c_void;

unsafe extern "C" {
    fn teststore_new() -> *mut teststore;
    fn teststore_vtable() -> *const scimkit_store_vtable;
    fn teststore_set_mode(store: *mut teststore, mode: i32);
    fn teststore_unsupported_count(store: *mut teststore) -> std::ffi::c_ulong;
    fn teststore_live_count() -> std::ffi::c_long;
}

/// A fresh C store and a pointer to its userdata (owned by the store).
fn c_store() -> (VtableStore, *mut teststore) {
    // SAFETY: teststore_new returns a fresh store (non-NULL checked below) and
    // teststore_vtable a static vtable whose callbacks are thread-safe.
    unsafe {
        let ud = teststore_new();
        assert!(!ud.is_null());
        (
            VtableStore::new(teststore_vtable(), ud).expect("valid vtable"),
            ud,
        )
    }
}

#[test]
fn conformance_suite_passes_on_the_c_store() {
    // SAFETY: a plain C function reading an atomic.
    let live = || unsafe { teststore_live_count() };
    let before = live();
    testkit::run_all(|| c_store().0);
    // The suite made one store per check (12); each must be freed when dropped.
    // The two other tests of this binary may hold one store each meanwhile (the
    // C tests check the exact count).
    assert!(
        live() <= before + 2,
        "free_userdata runs when a store is dropped"
    );
}

fn server(store: VtableStore) -> ScimServer {
    ScimServer::builder()
        .store(store)
        .token("tok", "t1")
        .build()
        .unwrap()
}

fn call(s: &ScimServer, method: &str, uri: &str, body: &str) -> (u16, serde_json::Value) {
    let req = http::Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", "Bearer tok")
        .header("content-type", "application/scim+json")
        .body(Bytes::from(body.to_owned()))
        .unwrap();
    let resp = s.handle(req);
    let status = resp.status().as_u16();
    let v = serde_json::from_slice(resp.body()).unwrap_or(serde_json::Value::Null);
    (status, v)
}

#[test]
fn the_engine_evaluates_filters_the_c_store_declines() {
    let (store, ud) = c_store();
    let s = server(store);
    for name in ["alice@contoso.com", "bob@contoso.com"] {
        let (st, _) = call(
            &s,
            "POST",
            "/scim/v2/Users",
            &format!(
                r#"{{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"{name}"}}"#
            ),
        );
        assert_eq!(st, 201);
    }
    let (st, v) = call(
        &s,
        "GET",
        "/scim/v2/Users?filter=userName%20eq%20%22ALICE%40contoso.com%22",
        "",
    );
    assert_eq!(st, 200);
    assert_eq!(v["totalResults"], 1);
    assert_eq!(v["Resources"][0]["userName"], "alice@contoso.com");
    // SAFETY: `ud` is alive: the server owns the store.
    assert!(unsafe { teststore_unsupported_count(ud) } >= 1);
}

#[test]
fn misbehaving_callbacks_are_scim_errors() {
    let (store, ud) = c_store();
    let s = server(store);
    let (st, v) = call(
        &s,
        "POST",
        "/scim/v2/Users",
        r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"a"}"#,
    );
    assert_eq!(st, 201);
    let id = v["id"].as_str().unwrap().to_owned();
    let path = format!("/scim/v2/Users/{id}");
    // (mode, status of GET /Users/{id}, status of GET /Users). A query that
    // answers OK with nothing is an empty store, not an error.
    for (mode, get, list) in [
        (1, 500, 500),
        (2, 500, 500),
        (3, 500, 200),
        (4, 503, 503),
        (0, 200, 200),
    ] {
        // SAFETY: `ud` is alive (owned by the server's store).
        unsafe { teststore_set_mode(ud, mode) };
        let (st, v) = call(&s, "GET", &path, "");
        assert_eq!(st, get, "mode {mode}: {v}");
        if get == 500 {
            assert_eq!(
                v["detail"], "internal server error",
                "no internals leak: {v}"
            );
        }
        let (st, _) = call(&s, "GET", "/scim/v2/Users", "");
        assert_eq!(st, list, "list in mode {mode}");
    }
    // SAFETY: as above.
    unsafe { teststore_set_mode(ud, 5) };
    let (st, _) = call(
        &s,
        "POST",
        "/scim/v2/Users",
        r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"b"}"#,
    );
    assert_eq!(st, 500, "OK without a version is a store failure");
}
