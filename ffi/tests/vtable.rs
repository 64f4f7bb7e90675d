//! The vtable path with every optional part in use: a "C" store whose
//! callbacks are `extern "C"` functions written in Rust over a `MemoryStore`,
//! with a `modify_members` callback, `SCIMKIT_STORE_FLAG_CASCADES_DELETES`, and
//! a query callback that answers filters itself (push-down) instead of
//! returning UNSUPPORTED. It must pass the same conformance suite.

use std::ffi::c_void;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use scimkit::schema::Registry;
use scimkit::store::{Ctx, Member, MemberChange, Members, Query, StoreError, testkit};
use scimkit::{MemoryStore, ResourceKind, UserStore};
use scimkit_ffi::*;
use serde_json::Value;

struct RustStore {
    inner: MemoryStore,
    registry: Registry,
    modify_calls: AtomicUsize,
}

fn text<'a>(s: scimkit_str) -> &'a str {
    if s.len == 0 {
        return "";
    }
    // SAFETY: scimkit passes valid UTF-8 (pointer, length) borrowed for the call.
    unsafe { std::str::from_utf8(std::slice::from_raw_parts(s.data.cast(), s.len)).unwrap() }
}

fn bytes<'a>(p: *const u8, len: usize) -> &'a [u8] {
    // SAFETY: scimkit passes a buffer of `len` bytes borrowed for the call.
    unsafe { std::slice::from_raw_parts(p, len) }
}

fn store<'a>(ud: *mut c_void) -> &'a RustStore {
    // SAFETY: userdata is the Box<RustStore> registered below, alive until free.
    unsafe { &*(ud as *const RustStore) }
}

fn ctx(c: *const scimkit_store_ctx) -> Ctx {
    // SAFETY: scimkit passes a valid context for the call.
    let c = unsafe { &*c };
    Ctx::new(text(c.tenant))
}

fn kind(k: scimkit_resource_kind) -> ResourceKind {
    match k {
        scimkit_resource_kind::User => ResourceKind::User,
        scimkit_resource_kind::Group => ResourceKind::Group,
    }
}

fn version_in(p: *const u64) -> Option<u64> {
    // SAFETY: NULL or a valid u64 for the call.
    unsafe { p.as_ref().copied() }
}

fn set_version(p: *mut u64, v: u64) {
    // SAFETY: scimkit passes a valid output pointer.
    unsafe { *p = v }
}

fn status(e: &StoreError) -> scimkit_store_status {
    match e {
        StoreError::NotFound => SCIMKIT_STORE_STATUS_NOT_FOUND,
        StoreError::Uniqueness { .. } => SCIMKIT_STORE_STATUS_CONFLICT,
        StoreError::PreconditionFailed => SCIMKIT_STORE_STATUS_PRECONDITION_FAILED,
        StoreError::Unsupported => SCIMKIT_STORE_STATUS_UNSUPPORTED,
        StoreError::Unavailable { .. } => SCIMKIT_STORE_STATUS_UNAVAILABLE,
        _ => SCIMKIT_STORE_STATUS_ERROR,
    }
}

fn push(out: *mut scimkit_store_out, resource: &Value, version: u64) -> scimkit_store_status {
    let json = serde_json::to_vec(resource).unwrap();
    match scimkit_store_out_push(out, json.as_ptr(), json.len(), version) {
        scimkit_result::Ok => SCIMKIT_STORE_STATUS_OK,
        _ => SCIMKIT_STORE_STATUS_ERROR,
    }
}

#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn create(
    ud: *mut c_void,
    c: *const scimkit_store_ctx,
    k: scimkit_resource_kind,
    _id: scimkit_str,
    _key: scimkit_str,
    json: *const u8,
    len: usize,
    version_out: *mut u64,
) -> scimkit_store_status {
    let v: Value = serde_json::from_slice(bytes(json, len)).unwrap();
    match store(ud).inner.create(&ctx(c), kind(k), v) {
        Ok(s) => {
            set_version(version_out, s.version);
            SCIMKIT_STORE_STATUS_OK
        }
        Err(e) => status(&e),
    }
}

unsafe extern "C" fn get(
    ud: *mut c_void,
    c: *const scimkit_store_ctx,
    k: scimkit_resource_kind,
    id: scimkit_str,
    include_members: bool,
    out: *mut scimkit_store_out,
) -> scimkit_store_status {
    let m = if include_members {
        Members::Include
    } else {
        Members::Exclude
    };
    match store(ud).inner.get(&ctx(c), kind(k), text(id), m) {
        Ok(Some(s)) => push(out, &s.resource, s.version),
        Ok(None) => SCIMKIT_STORE_STATUS_NOT_FOUND,
        Err(e) => status(&e),
    }
}

#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn replace(
    ud: *mut c_void,
    c: *const scimkit_store_ctx,
    k: scimkit_resource_kind,
    id: scimkit_str,
    _key: scimkit_str,
    json: *const u8,
    len: usize,
    if_version: *const u64,
    version_out: *mut u64,
) -> scimkit_store_status {
    let v: Value = serde_json::from_slice(bytes(json, len)).unwrap();
    match store(ud)
        .inner
        .replace(&ctx(c), kind(k), text(id), v, version_in(if_version))
    {
        Ok(s) => {
            set_version(version_out, s.version);
            SCIMKIT_STORE_STATUS_OK
        }
        Err(e) => status(&e),
    }
}

unsafe extern "C" fn remove(
    ud: *mut c_void,
    c: *const scimkit_store_ctx,
    k: scimkit_resource_kind,
    id: scimkit_str,
    if_version: *const u64,
) -> scimkit_store_status {
    // MemoryStore removes a deleted user from its groups (the flag says so).
    match store(ud)
        .inner
        .delete(&ctx(c), kind(k), text(id), version_in(if_version))
    {
        Ok(()) => SCIMKIT_STORE_STATUS_OK,
        Err(e) => status(&e),
    }
}

unsafe extern "C" fn query(
    ud: *mut c_void,
    c: *const scimkit_store_ctx,
    k: scimkit_resource_kind,
    q: *const scimkit_store_query,
    out: *mut scimkit_store_out,
) -> scimkit_store_status {
    let s = store(ud);
    let mut filter = scimkit_str {
        data: std::ptr::null(),
        len: 0,
    };
    assert_eq!(
        scimkit_store_query_filter(q, &mut filter),
        scimkit_result::Ok
    );
    // Push the filter down: answer it with the store's own evaluation.
    let mut query = Query::all(Arc::clone(s.registry.get(kind(k))));
    if filter.len > 0 {
        query = match query.with_filter(text(filter)) {
            Ok(q) => q,
            Err(_) => return SCIMKIT_STORE_STATUS_UNSUPPORTED,
        };
    }
    match s.inner.query(&ctx(c), kind(k), &query) {
        Ok(page) => {
            for r in &page.resources {
                if push(out, &r.resource, r.version) != SCIMKIT_STORE_STATUS_OK {
                    return SCIMKIT_STORE_STATUS_ERROR;
                }
            }
            SCIMKIT_STORE_STATUS_OK
        }
        Err(e) => status(&e),
    }
}

unsafe extern "C" fn modify_members(
    ud: *mut c_void,
    c: *const scimkit_store_ctx,
    group_id: scimkit_str,
    change: *const u8,
    len: usize,
    if_version: *const u64,
    out: *mut scimkit_store_out,
) -> scimkit_store_status {
    let s = store(ud);
    s.modify_calls.fetch_add(1, Ordering::Relaxed);
    let v: Value = serde_json::from_slice(bytes(change, len)).unwrap();
    let change = MemberChange {
        add: v["add"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| Member::from_json(m).unwrap())
            .collect(),
        remove: v["remove"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_owned())
            .collect(),
        remove_all: v["removeAll"].as_bool().unwrap(),
        last_modified: v["lastModified"].as_str().unwrap().to_owned(),
    };
    match s
        .inner
        .modify_members(&ctx(c), text(group_id), &change, version_in(if_version))
    {
        Ok(g) => push(out, &g.resource, g.version),
        Err(e) => status(&e),
    }
}

unsafe extern "C" fn free_userdata(ud: *mut c_void) {
    // SAFETY: made by Box::into_raw in `rust_store`, freed exactly once.
    drop(unsafe { Box::from_raw(ud as *mut RustStore) });
}

static VTABLE: scimkit_store_vtable = scimkit_store_vtable {
    create: Some(create),
    get: Some(get),
    replace: Some(replace),
    remove: Some(remove),
    query: Some(query),
    modify_members: Some(modify_members),
    free_userdata: Some(free_userdata),
    flags: SCIMKIT_STORE_FLAG_CASCADES_DELETES,
};

fn rust_store() -> (VtableStore, *const RustStore) {
    let ud = Box::into_raw(Box::new(RustStore {
        inner: MemoryStore::new(),
        registry: Registry::default(),
        modify_calls: AtomicUsize::new(0),
    }));
    // SAFETY: a valid static vtable whose callbacks are thread-safe (MemoryStore).
    let store = unsafe { VtableStore::new(&VTABLE, ud.cast()) }.unwrap();
    (store, ud)
}

#[test]
fn conformance_suite_passes_with_every_optional_callback() {
    testkit::run_all(|| rust_store().0);
}

#[test]
fn membership_changes_use_the_modify_members_callback() {
    let (store, ud) = rust_store();
    let c = Ctx::new("t");
    store
        .create(&c, ResourceKind::Group, testkit::group("g1", "G", &["a"]))
        .unwrap();
    let change = MemberChange {
        add: vec![Member {
            value: "b".into(),
            kind: Some("User".into()),
            display: None,
        }],
        last_modified: "2024-05-05T00:00:00.000Z".into(),
        ..Default::default()
    };
    let g = store.modify_members(&c, "g1", &change, Some(1)).unwrap();
    assert_eq!(g.version, 2);
    // SAFETY: `ud` lives as long as `store`.
    assert_eq!(unsafe { &*ud }.modify_calls.load(Ordering::Relaxed), 1);
    assert!(matches!(
        store.modify_members(&c, "g1", &change, Some(1)),
        Err(StoreError::PreconditionFailed)
    ));
    assert!(matches!(
        store.modify_members(&c, "nope", &change, None),
        Err(StoreError::NotFound)
    ));
}

#[test]
fn a_vtable_without_required_callbacks_is_refused() {
    let mut vt = VTABLE;
    vt.get = None;
    // SAFETY: a valid vtable; it is refused before any call.
    let e = unsafe { VtableStore::new(&vt, std::ptr::null_mut()) }.unwrap_err();
    assert_eq!(e, scimkit_result::NullParameter);
    let mut vt = VTABLE;
    vt.flags = 1 << 7;
    // SAFETY: as above.
    let e = unsafe { VtableStore::new(&vt, std::ptr::null_mut()) }.unwrap_err();
    assert_eq!(e, scimkit_result::InvalidParameter);
    // SAFETY: NULL is refused.
    let e = unsafe { VtableStore::new(std::ptr::null(), std::ptr::null_mut()) }.unwrap_err();
    assert_eq!(e, scimkit_result::NullParameter);
}
