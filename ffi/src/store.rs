//! A store written in C: [`scimkit_store_vtable`], the sink C writes results to
//! ([`scimkit_store_out_push`]), the query C is asked ([`scimkit_store_query`]),
//! and [`VtableStore`], the Rust [`UserStore`] that calls the vtable.
//!
//! # How a C store works
//!
//! Resources cross as JSON buffers (pointer + length), in the canonical form the
//! engine produces (see the `scimkit::store` module docs); a C store keeps them
//! as opaque bytes and needs no JSON parser. What it must know besides the
//! bytes is passed alongside: the tenant (in [`scimkit_store_ctx`]), the kind,
//! the id and the uniqueness key.
//!
//! * **Ownership.** Every pointer scimkit passes to a callback borrows scimkit's
//!   memory for the duration of the call only: copy what you keep. Output goes
//!   through the `scimkit_store_out *` sink ([`scimkit_store_out_push`]), which
//!   copies the bytes before returning — no allocation crosses the boundary in
//!   either direction, and the C store frees its own buffers as it likes.
//! * **Status.** Each callback returns a [`scimkit_store_status`]; anything else
//!   (an unknown number, OK without the output promised, JSON that is not a
//!   resource) is a store failure: the request is answered with a SCIM 500 and
//!   the cause is logged (target `scimkit_ffi`), never sent to the client.
//! * **Threads.** Callbacks are called from whichever threads call
//!   `scimkit_server_handle`, concurrently, with the same userdata: the store
//!   must be thread-safe (a mutex around its data is enough). Each write
//!   (create/replace/remove, with its uniqueness and version check) must be
//!   atomic. Callbacks must not call back into the server, and must return
//!   normally (no `longjmp`, no C++ exception).
//! * **Queries.** The query callback is asked for all resources of a kind in a
//!   tenant, possibly with a filter ([`scimkit_store_query_filter`]). Without a
//!   filter it must answer. With one, it may answer with every resource that
//!   might match (a superset is fine: the engine checks each against the filter)
//!   or return `SCIMKIT_STORE_STATUS_UNSUPPORTED`, and the engine asks again
//!   without the filter and evaluates it itself. Sorting and paging are always
//!   done by the engine.
//! * **Deleting a user removes it from its groups.** Unless the store sets
//!   `SCIMKIT_STORE_FLAG_CASCADES_DELETES` (it does that itself), scimkit does it
//!   after a successful `remove` of a User, through `query` and
//!   `modify_members` (or get + replace).

use std::ffi::c_void;
use std::sync::Arc;

use serde_json::Value;

use scimkit::ResourceKind;
use scimkit::schema::ResourceSchema;
use scimkit::store::{
    Ctx, Member, MemberChange, Members, Page, Query, StoreError, StoreResult, Stored, UserStore,
    apply_member_change, paginate, unique_key,
};

use crate::boundary::Callbacks;
use crate::result::{scimkit_result, scimkit_str};

// ===== public C types =====

/// The status a store callback returns. A `uint32_t`; any value not listed is
/// treated as `SCIMKIT_STORE_STATUS_ERROR` (a SCIM 500).
pub type scimkit_store_status = u32;

/// Success; the callback's outputs are set.
pub const SCIMKIT_STORE_STATUS_OK: scimkit_store_status = 0;
/// No resource with this id (of this kind, in this tenant). `get` answers "not
/// found" (a 404); for `replace`, `remove` and `modify_members` it is a 404 too.
pub const SCIMKIT_STORE_STATUS_NOT_FOUND: scimkit_store_status = 1;
/// The uniqueness key is taken by another resource of the tenant (`create`,
/// `replace`): a 409 with scimType `uniqueness` on `userName`.
pub const SCIMKIT_STORE_STATUS_CONFLICT: scimkit_store_status = 2;
/// `if_version` was given and the stored version differs: a 412 (the engine
/// retries a write without `If-Match`).
pub const SCIMKIT_STORE_STATUS_PRECONDITION_FAILED: scimkit_store_status = 3;
/// `query` cannot evaluate this filter: the engine evaluates it (see the
/// module docs). From any other callback, or without a filter, an error.
pub const SCIMKIT_STORE_STATUS_UNSUPPORTED: scimkit_store_status = 4;
/// A temporary condition (busy, reconnecting): a 503 with `Retry-After: 1`.
pub const SCIMKIT_STORE_STATUS_UNAVAILABLE: scimkit_store_status = 5;
/// Any other failure: a 500 with a generic detail.
pub const SCIMKIT_STORE_STATUS_ERROR: scimkit_store_status = 6;

/// Flag for [`scimkit_store_vtable::flags`]: the store's `remove` of a User also
/// removes it from every group (bumping their versions), so scimkit need not.
pub const SCIMKIT_STORE_FLAG_CASCADES_DELETES: u32 = 1;
/// Every flag bit defined; others are rejected (`SCIMKIT_RESULT_INVALID_PARAMETER`).
pub(crate) const SCIMKIT_STORE_FLAGS_ALL: u32 = SCIMKIT_STORE_FLAG_CASCADES_DELETES;

/// The kind of a resource. Passed to store callbacks (a `uint32_t` in C).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum scimkit_resource_kind {
    /// A User (`urn:ietf:params:scim:schemas:core:2.0:User`).
    User = 1,
    /// A Group (`urn:ietf:params:scim:schemas:core:2.0:Group`).
    Group = 2,
}

impl From<ResourceKind> for scimkit_resource_kind {
    fn from(k: ResourceKind) -> Self {
        match k {
            ResourceKind::User => scimkit_resource_kind::User,
            ResourceKind::Group => scimkit_resource_kind::Group,
        }
    }
}

/// The context of a store call. Borrowed for the duration of the call.
#[repr(C)]
#[derive(Debug)]
pub struct scimkit_store_ctx {
    /// The tenant (from the bearer token). A store keeps tenants apart entirely.
    pub tenant: scimkit_str,
    /// The request id, for logs.
    pub request_id: scimkit_str,
}

impl scimkit_store_ctx {
    fn borrow(ctx: &Ctx) -> Self {
        Self {
            tenant: scimkit_str::borrow(&ctx.tenant),
            request_id: scimkit_str::borrow(&ctx.request_id),
        }
    }
}

/// `create`: store a new resource of `kind` in the tenant of `ctx`.
///
/// `id` is the resource id (also in the JSON), `unique_key` the resource's
/// uniqueness key (the case-folded `userName` of a User; `{NULL, 0}` for a
/// Group): return `SCIMKIT_STORE_STATUS_CONFLICT` if another resource of the
/// tenant has the same key. `json` / `json_len` is the resource to keep as is.
/// On success set `*version_out` to 1 and return `SCIMKIT_STORE_STATUS_OK`.
/// Every pointer argument is valid for the duration of the call only.
pub type scimkit_store_create_callback = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        ctx: *const scimkit_store_ctx,
        kind: scimkit_resource_kind,
        id: scimkit_str,
        unique_key: scimkit_str,
        json: *const u8,
        json_len: usize,
        version_out: *mut u64,
    ) -> scimkit_store_status,
>;

/// `get`: read one resource. Push it (its JSON and version) to `out` with
/// [`scimkit_store_out_push`] exactly once and return OK, or return
/// `SCIMKIT_STORE_STATUS_NOT_FOUND`. A Group's members may be left out when
/// `include_members` is false (and should, for large groups).
pub type scimkit_store_get_callback = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        ctx: *const scimkit_store_ctx,
        kind: scimkit_resource_kind,
        id: scimkit_str,
        include_members: bool,
        out: *mut scimkit_store_out,
    ) -> scimkit_store_status,
>;

/// `replace`: replace a resource entirely. `if_version` is NULL or points to the
/// version the stored one must have (else PRECONDITION_FAILED). `unique_key` as
/// for `create` (a resource may keep its own key). NOT_FOUND if absent. On
/// success bump the version by one, set `*version_out` to it and return OK.
pub type scimkit_store_replace_callback = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        ctx: *const scimkit_store_ctx,
        kind: scimkit_resource_kind,
        id: scimkit_str,
        unique_key: scimkit_str,
        json: *const u8,
        json_len: usize,
        if_version: *const u64,
        version_out: *mut u64,
    ) -> scimkit_store_status,
>;

/// `remove`: delete a resource (`if_version` as for `replace`). NOT_FOUND if
/// absent. (Named `remove` because `delete` is a C++ keyword.)
pub type scimkit_store_remove_callback = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        ctx: *const scimkit_store_ctx,
        kind: scimkit_resource_kind,
        id: scimkit_str,
        if_version: *const u64,
    ) -> scimkit_store_status,
>;

/// `query`: push every resource of `kind` in the tenant to `out` (each with its
/// version) and return OK. When [`scimkit_store_query_filter`] gives a filter,
/// either push at least every resource that matches it (more is fine) or
/// return `SCIMKIT_STORE_STATUS_UNSUPPORTED` without pushing.
pub type scimkit_store_query_callback = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        ctx: *const scimkit_store_ctx,
        kind: scimkit_resource_kind,
        query: *const scimkit_store_query,
        out: *mut scimkit_store_out,
    ) -> scimkit_store_status,
>;

/// `modify_members` (optional): change a Group's members in O(changes).
///
/// `change_json` is `{"add": [{"value": id, "type": "User", "display": ...}],
/// "remove": [id, ...], "removeAll": bool, "lastModified": timestamp}`: remove
/// every member first if `removeAll`, then the ids in `remove` (absent ones are
/// ignored), then add those in `add` not already present; set the group's
/// `meta.lastModified`; bump its version. `if_version` as for `replace`. Push
/// the group (members may be left out) and return OK, or NOT_FOUND.
///
/// When NULL, scimkit does a get + replace with the version as a
/// compare-and-set instead.
pub type scimkit_store_modify_members_callback = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        ctx: *const scimkit_store_ctx,
        group_id: scimkit_str,
        change_json: *const u8,
        change_len: usize,
        if_version: *const u64,
        out: *mut scimkit_store_out,
    ) -> scimkit_store_status,
>;

/// Release the store's userdata (optional): called once, when the store is no
/// longer used (the server using it was freed, or the builder holding it was
/// freed or failed to build).
pub type scimkit_store_free_userdata_callback = Option<unsafe extern "C" fn(userdata: *mut c_void)>;

/// A store implemented in C: function pointers that all take the registered
/// `void *userdata` first. Register it with
/// `scimkit_config_builder_set_store_vtable`, which copies the struct (it need
/// not outlive that call).
///
/// `create`, `get`, `replace`, `remove` and `query` are required;
/// `modify_members` and `free_userdata` may be NULL. See the callback types for
/// each contract and the crate docs (module `store`) for ownership, threads and
/// queries. Callbacks are called concurrently from any thread.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct scimkit_store_vtable {
    /// Required. See [`scimkit_store_create_callback`].
    pub create: scimkit_store_create_callback,
    /// Required. See [`scimkit_store_get_callback`].
    pub get: scimkit_store_get_callback,
    /// Required. See [`scimkit_store_replace_callback`].
    pub replace: scimkit_store_replace_callback,
    /// Required. See [`scimkit_store_remove_callback`].
    pub remove: scimkit_store_remove_callback,
    /// Required. See [`scimkit_store_query_callback`].
    pub query: scimkit_store_query_callback,
    /// Optional. See [`scimkit_store_modify_members_callback`].
    pub modify_members: scimkit_store_modify_members_callback,
    /// Optional. See [`scimkit_store_free_userdata_callback`].
    pub free_userdata: scimkit_store_free_userdata_callback,
    /// `SCIMKIT_STORE_FLAG_*` bits, or 0.
    pub flags: u32,
}

/// What a query callback is asked. Borrowed for the duration of the call; read
/// it with [`scimkit_store_query_filter`] and
/// [`scimkit_store_query_include_members`].
#[derive(Debug)]
pub struct scimkit_store_query {
    filter: Option<String>,
    include_members: bool,
}

/// The sink a callback writes resources to. Valid only during the callback
/// that received it, on that thread.
#[derive(Debug)]
pub struct scimkit_store_out {
    items: Vec<Stored>,
    /// At most this many pushes (1 for `get` and `modify_members`).
    limit: usize,
    /// The first problem with what C pushed; makes the call a store failure.
    error: Option<String>,
}

impl scimkit_store_out {
    fn new(limit: usize) -> Self {
        Self {
            items: Vec::new(),
            limit,
            error: None,
        }
    }
}

// ===== exports used by C stores =====

/// Give scimkit one resource from inside a `get`, `query` or `modify_members`
/// callback: `json` / `json_len` is the resource JSON (an object with a string
/// `id`), `version` its version (at least 1).
///
/// scimkit copies the bytes before returning; the caller keeps ownership of
/// `json`. `out` is the sink the callback received, valid only during that
/// callback, on its thread.
///
/// Returns NULL_PARAMETER, INVALID_JSON (not a JSON object with a string `id`)
/// or INVALID_PARAMETER (version 0, or a second resource where one is
/// expected). After an error, the callback's result is a store failure
/// whatever status it returns.
#[unsafe(no_mangle)]
pub extern "C" fn scimkit_store_out_push(
    out: *mut scimkit_store_out,
    json: *const u8,
    json_len: usize,
    version: u64,
) -> scimkit_result {
    ffi_panic_boundary! {
        let out = try_mut!(out);
        let bytes = match crate::boundary::as_bytes(json, json_len) {
            Some(b) => b,
            None => {
                out.error.get_or_insert_with(|| "scimkit_store_out_push: json is NULL".into());
                return scimkit_result::NullParameter;
            }
        };
        let fail = |out: &mut scimkit_store_out, code, msg: String| {
            out.error.get_or_insert(msg);
            code
        };
        if version == 0 {
            return fail(out, scimkit_result::InvalidParameter, "pushed version 0".into());
        }
        if out.items.len() >= out.limit {
            return fail(
                out,
                scimkit_result::InvalidParameter,
                format!("pushed more than {} resource(s)", out.limit),
            );
        }
        let resource: Value = match serde_json::from_slice(bytes) {
            Ok(v) => v,
            Err(e) => {
                return fail(out, scimkit_result::InvalidJson, format!("pushed invalid JSON: {e}"));
            }
        };
        let Some(id) = resource.get("id").and_then(Value::as_str).map(str::to_owned) else {
            return fail(
                out,
                scimkit_result::InvalidJson,
                "pushed JSON that is not an object with a string id".into(),
            );
        };
        out.items.push(Stored { id, resource, version });
        scimkit_result::Ok
    }
}

/// The filter of a query, in canonical SCIM filter syntax (RFC 7644 §3.4.2.2,
/// attribute names in their schema's casing, e.g. `userName eq "bjensen"`), in
/// `*filter_out`; `len` 0 when the query has no filter (then answer with every
/// resource). The string borrows from `query`: valid during the callback only.
///
/// Returns NULL_PARAMETER if either pointer is NULL.
#[unsafe(no_mangle)]
pub extern "C" fn scimkit_store_query_filter(
    query: *const scimkit_store_query,
    filter_out: *mut scimkit_str,
) -> scimkit_result {
    ffi_panic_boundary! {
        let query = try_ref!(query);
        let filter_out = try_out!(filter_out);
        let s = query.filter.as_deref().map_or(scimkit_str::EMPTY, scimkit_str::borrow);
        crate::boundary::write_out(filter_out, s);
        scimkit_result::Ok
    }
}

/// Whether Groups in the answer should include their `members` (when false, the
/// store may leave them out). False for a NULL `query`.
#[unsafe(no_mangle)]
pub extern "C" fn scimkit_store_query_include_members(query: *const scimkit_store_query) -> bool {
    ffi_panic_boundary! {
        crate::boundary::as_ref(query).is_some_and(|q| q.include_members)
    }
}

// ===== the Rust side: VtableStore =====

/// A [`UserStore`] that calls a C [`scimkit_store_vtable`]. Used by
/// `scimkit_config_builder_set_store_vtable`; public so that Rust tests can run
/// the store conformance suite (`scimkit::store::testkit`) on a C store.
#[derive(Debug)]
pub struct VtableStore {
    cb: Callbacks,
    groups: Arc<ResourceSchema>,
}

fn status_error(op: &str, status: scimkit_store_status) -> StoreError {
    match status {
        SCIMKIT_STORE_STATUS_NOT_FOUND => StoreError::NotFound,
        SCIMKIT_STORE_STATUS_CONFLICT => StoreError::user_name_taken(),
        SCIMKIT_STORE_STATUS_PRECONDITION_FAILED => StoreError::PreconditionFailed,
        SCIMKIT_STORE_STATUS_UNAVAILABLE => StoreError::Unavailable {
            retry_after: 1,
            source: format!("C store: {op} returned UNAVAILABLE").into(),
        },
        SCIMKIT_STORE_STATUS_UNSUPPORTED => {
            StoreError::other(format!("C store: {op} returned UNSUPPORTED"))
        }
        SCIMKIT_STORE_STATUS_ERROR => StoreError::other(format!("C store: {op} returned ERROR")),
        other => StoreError::other(format!("C store: {op} returned unknown status {other}")),
    }
}

/// Turn a C failure into a `StoreError`, logging it (the client only ever sees
/// a generic detail).
fn logged(ctx: &Ctx, e: StoreError) -> StoreError {
    if matches!(e, StoreError::Other(_) | StoreError::Unavailable { .. }) {
        tracing::error!(request_id = %ctx.request_id, tenant = %ctx.tenant, error = ?e, "C store failure");
    }
    e
}

impl VtableStore {
    /// A store calling `vtable` with `userdata`. The vtable is copied.
    ///
    /// On success, `userdata` belongs to the store: `free_userdata` (if any) is
    /// called when the store is dropped. On failure (NULL_PARAMETER for a NULL
    /// vtable or required callback, INVALID_PARAMETER for unknown flags) the
    /// caller keeps it.
    ///
    /// # Safety
    ///
    /// `vtable` is NULL or points to a valid `scimkit_store_vtable`; its
    /// callbacks follow the contracts documented on their types (in particular
    /// thread safety) for as long as the store lives.
    pub unsafe fn new(
        vtable: *const scimkit_store_vtable,
        userdata: *mut c_void,
    ) -> Result<Self, scimkit_result> {
        Ok(Self {
            cb: Callbacks::new(vtable, userdata)?,
            groups: Arc::clone(scimkit::schema::Registry::default().get(ResourceKind::Group)),
        })
    }

    fn one(&self, ctx: &Ctx, op: &str, out: scimkit_store_out) -> StoreResult<Stored> {
        if let Some(e) = out.error {
            return Err(logged(
                ctx,
                StoreError::other(format!("C store: {op}: {e}")),
            ));
        }
        out.items.into_iter().next().ok_or_else(|| {
            logged(
                ctx,
                StoreError::other(format!(
                    "C store: {op} returned OK without pushing a resource"
                )),
            )
        })
    }

    fn write(
        &self,
        ctx: &Ctx,
        op: &str,
        status: scimkit_store_status,
        version: u64,
    ) -> StoreResult<u64> {
        match (status, version) {
            (SCIMKIT_STORE_STATUS_OK, 0) => Err(logged(
                ctx,
                StoreError::other(format!("C store: {op} returned OK without a version")),
            )),
            (SCIMKIT_STORE_STATUS_OK, v) => Ok(v),
            (s, _) => Err(logged(ctx, status_error(op, s))),
        }
    }

    /// Every resource the C query gives for `q`, checked against its filter;
    /// `Unsupported` when C cannot evaluate the filter.
    fn candidates(&self, ctx: &Ctx, kind: ResourceKind, q: &Query) -> StoreResult<Vec<Stored>> {
        let query = scimkit_store_query {
            filter: q.filter.as_ref().map(ToString::to_string),
            include_members: q.members == Members::Include,
        };
        let mut out = scimkit_store_out::new(usize::MAX);
        let status = self.cb.query(
            &scimkit_store_ctx::borrow(ctx),
            kind.into(),
            &query,
            &mut out,
        );
        if let Some(e) = out.error {
            return Err(logged(
                ctx,
                StoreError::other(format!("C store: query: {e}")),
            ));
        }
        match status {
            SCIMKIT_STORE_STATUS_OK => {}
            SCIMKIT_STORE_STATUS_UNSUPPORTED if query.filter.is_some() => {
                return Err(StoreError::Unsupported);
            }
            s => return Err(logged(ctx, status_error("query", s))),
        }
        let mut items = out.items;
        if query.filter.is_some() {
            items.retain(|s| q.matches(&s.resource));
        }
        Ok(items)
    }

    /// The default membership change: get + replace with a compare-and-set,
    /// retried (bounded) when another writer wins.
    fn modify_members_by_replace(
        &self,
        ctx: &Ctx,
        group_id: &str,
        change: &MemberChange,
        if_version: Option<u64>,
    ) -> StoreResult<Stored> {
        for _ in 0..1000 {
            let current = self
                .get(ctx, ResourceKind::Group, group_id, Members::Include)?
                .ok_or(StoreError::NotFound)?;
            if if_version.is_some_and(|v| v != current.version) {
                return Err(StoreError::PreconditionFailed);
            }
            let mut resource = current.resource;
            apply_member_change(&mut resource, change);
            match self.replace(
                ctx,
                ResourceKind::Group,
                group_id,
                resource,
                Some(current.version),
            ) {
                Err(StoreError::PreconditionFailed) if if_version.is_none() => {
                    std::thread::yield_now();
                }
                other => return other,
            }
        }
        Err(StoreError::Unavailable {
            retry_after: 1,
            source: "group membership is under heavy concurrent modification".into(),
        })
    }

    /// Remove a deleted user from every group that lists it.
    fn cascade_delete(&self, ctx: &Ctx, user_id: &str) -> StoreResult<()> {
        let id_literal = serde_json::to_string(user_id).map_err(StoreError::other)?;
        let q = Query::all(Arc::clone(&self.groups))
            .with_filter(&format!("members[value eq {id_literal}]"))
            .map_err(|e| StoreError::other(e.to_string()))?;
        let groups = match self.candidates(ctx, ResourceKind::Group, &q) {
            Err(StoreError::Unsupported) => {
                let all = Query::all(Arc::clone(&self.groups));
                let mut v = self.candidates(ctx, ResourceKind::Group, &all)?;
                v.retain(|s| q.matches(&s.resource));
                v
            }
            other => other?,
        };
        let change = MemberChange {
            remove: vec![user_id.to_owned()],
            last_modified: scimkit::time::now(),
            ..MemberChange::default()
        };
        for g in groups {
            match self.modify_members(ctx, &g.id, &change, None) {
                Ok(_) | Err(StoreError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

fn change_json(change: &MemberChange) -> Vec<u8> {
    let v = serde_json::json!({
        "add": change.add.iter().map(Member::to_json).collect::<Vec<_>>(),
        "remove": change.remove,
        "removeAll": change.remove_all,
        "lastModified": change.last_modified,
    });
    serde_json::to_vec(&v).unwrap_or_default()
}

impl UserStore for VtableStore {
    fn create(&self, ctx: &Ctx, kind: ResourceKind, resource: Value) -> StoreResult<Stored> {
        let id = resource
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| StoreError::other("resource without id"))?
            .to_owned();
        let key = unique_key(kind, &resource);
        let json = serde_json::to_vec(&resource).map_err(StoreError::other)?;
        let mut version = 0;
        let status = self.cb.create(
            &scimkit_store_ctx::borrow(ctx),
            kind.into(),
            &id,
            key.as_deref(),
            &json,
            &mut version,
        );
        let version = self.write(ctx, "create", status, version)?;
        Ok(Stored {
            id,
            resource,
            version,
        })
    }

    fn get(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        id: &str,
        members: Members,
    ) -> StoreResult<Option<Stored>> {
        let mut out = scimkit_store_out::new(1);
        let status = self.cb.get(
            &scimkit_store_ctx::borrow(ctx),
            kind.into(),
            id,
            members == Members::Include,
            &mut out,
        );
        if let Some(e) = &out.error {
            return Err(logged(ctx, StoreError::other(format!("C store: get: {e}"))));
        }
        match status {
            SCIMKIT_STORE_STATUS_OK => {
                let s = self.one(ctx, "get", out)?;
                if s.id != id {
                    return Err(logged(
                        ctx,
                        StoreError::other(format!("C store: get({id}) pushed resource {}", s.id)),
                    ));
                }
                Ok(Some(s))
            }
            SCIMKIT_STORE_STATUS_NOT_FOUND => Ok(None),
            s => Err(logged(ctx, status_error("get", s))),
        }
    }

    fn replace(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        id: &str,
        resource: Value,
        if_version: Option<u64>,
    ) -> StoreResult<Stored> {
        let key = unique_key(kind, &resource);
        let json = serde_json::to_vec(&resource).map_err(StoreError::other)?;
        let mut version = 0;
        let status = self.cb.replace(
            &scimkit_store_ctx::borrow(ctx),
            kind.into(),
            id,
            key.as_deref(),
            &json,
            if_version,
            &mut version,
        );
        let version = self.write(ctx, "replace", status, version)?;
        Ok(Stored {
            id: id.to_owned(),
            resource,
            version,
        })
    }

    fn delete(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        id: &str,
        if_version: Option<u64>,
    ) -> StoreResult<()> {
        let status = self
            .cb
            .remove(&scimkit_store_ctx::borrow(ctx), kind.into(), id, if_version);
        if status != SCIMKIT_STORE_STATUS_OK {
            return Err(logged(ctx, status_error("remove", status)));
        }
        if kind == ResourceKind::User && self.cb.flags() & SCIMKIT_STORE_FLAG_CASCADES_DELETES == 0
        {
            self.cascade_delete(ctx, id)?;
        }
        Ok(())
    }

    fn query(&self, ctx: &Ctx, kind: ResourceKind, q: &Query) -> StoreResult<Page> {
        let mut hits = self.candidates(ctx, kind, q)?;
        hits.sort_by(|a, b| q.compare(&a.resource, &b.resource));
        let total_results = hits.len();
        let (resources, next_cursor) = paginate(hits, &q.page)?;
        Ok(Page {
            resources,
            total_results,
            next_cursor,
        })
    }

    fn modify_members(
        &self,
        ctx: &Ctx,
        group_id: &str,
        change: &MemberChange,
        if_version: Option<u64>,
    ) -> StoreResult<Stored> {
        if !self.cb.has_modify_members() {
            return self.modify_members_by_replace(ctx, group_id, change, if_version);
        }
        let json = change_json(change);
        let mut out = scimkit_store_out::new(1);
        let status = self
            .cb
            .modify_members(
                &scimkit_store_ctx::borrow(ctx),
                group_id,
                &json,
                if_version,
                &mut out,
            )
            .unwrap_or(SCIMKIT_STORE_STATUS_ERROR);
        if status != SCIMKIT_STORE_STATUS_OK {
            return Err(logged(ctx, status_error("modify_members", status)));
        }
        self.one(ctx, "modify_members", out)
    }
}
