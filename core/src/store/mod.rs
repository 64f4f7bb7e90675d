//! The storage contract: the [`UserStore`] trait that a host implements (or a
//! bundled store: [`MemoryStore`], `scimkit-sqlite`, `scimkit-postgres`).
//!
//! # The contract
//!
//! * **Synchronous, `Send + Sync`, object-safe** (`Arc<dyn UserStore>`). A store
//!   that blocks (SQL, network) is fine: the tower adapter runs it off the executor.
//! * **Tenants**: every call carries a [`Ctx`]; a store keeps tenants apart
//!   completely — no tenant can see, match or collide with another's resources.
//! * **Resources** are JSON objects in the canonical form the engine produces:
//!   canonical attribute names, `id`, and `meta.resourceType` / `meta.created` /
//!   `meta.lastModified` (fixed-width UTC strings that sort as text). The engine
//!   assigns ids and timestamps; the store keeps the JSON as given.
//! * **Versions**: the store assigns `version` (1 on create, +1 on every change,
//!   including membership changes and cascades). `replace`, `delete` and
//!   `modify_members` with `if_version: Some(v)` fail with
//!   [`StoreError::PreconditionFailed`] when the stored version is not `v` —
//!   atomically (compare-and-set), so concurrent writers lose nothing.
//! * **Uniqueness**: `userName` is unique per tenant case-insensitively; the store
//!   enforces it atomically on create and replace using [`unique_key`], and answers
//!   [`StoreError::Uniqueness`].
//! * **Queries**: [`Query`] carries a resolved filter, an optional sort and a page
//!   request. A store may answer any part it can push down (index on userName,
//!   externalId, …) and must evaluate it exactly like [`Query::matches`] /
//!   [`Query::compare`] would; for a filter or sort it cannot answer it returns
//!   [`StoreError::Unsupported`], and the engine then asks for everything
//!   (`Query::all`) and evaluates itself. A query without filter and sort must
//!   always be answered. Without a sort, the order is the store's choice but must
//!   be stable across pages. `total_results` counts all matches, not the page.
//! * **Members**: a Group's `members` are part of its resource; with
//!   [`Members::Exclude`] the store may leave them out (and should, so reading a
//!   100 000-member group does not load 100 000 members).
//!   [`UserStore::modify_members`] adds and removes members in O(changes); the
//!   default implementation is a get + replace. Deleting a user removes it from
//!   every group it is a member of.
//! * **Errors**: [`StoreError`]; anything unexpected is [`StoreError::Other`] (a
//!   500 with a generic detail; the cause is logged, never sent to the client), a
//!   temporary condition (busy, database restarting) [`StoreError::Unavailable`]
//!   (503 with `Retry-After`).
//!
//! The conformance suite `testkit` (feature `testkit`) checks all of this for
//! any store.

mod memory;
mod shared;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use crate::filter::{AttrPath, Filter};
use crate::schema::{ResourceKind, ResourceSchema};

pub use memory::MemoryStore;
pub use shared::SharedJson;
pub(crate) use shared::raw_members;

/// The context of every store call.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ctx {
    /// The tenant the request belongs to (from the bearer token).
    pub tenant: String,
    /// A request id, for logs and correlation.
    pub request_id: String,
    /// Who acts: the token id, or an administrator.
    pub actor: Option<String>,
}

impl Ctx {
    /// A context for `tenant` with a fresh request id and no actor.
    pub fn new(tenant: impl Into<String>) -> Self {
        Self {
            tenant: tenant.into(),
            request_id: uuid::Uuid::now_v7().to_string(),
            actor: None,
        }
    }
}

/// A stored resource and its version.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    /// The resource id.
    pub id: String,
    /// The resource JSON (canonical form; see the module docs).
    pub resource: Value,
    /// The version the store assigned (1 on create, +1 on every change).
    pub version: u64,
}

/// A stored resource shared with the store rather than copied out of it, from
/// [`UserStore::get_shared`], [`UserStore::create_shared`] and
/// [`UserStore::replace_shared`].
#[derive(Debug, Clone, PartialEq)]
pub struct SharedStored {
    /// The resource id.
    pub id: String,
    /// The resource JSON (canonical form), possibly also held by the store:
    /// a tree, or the JSON text the store keeps.
    pub resource: SharedJson,
    /// The version the store assigned.
    pub version: u64,
}

impl From<Stored> for SharedStored {
    fn from(s: Stored) -> Self {
        Self {
            id: s.id,
            resource: SharedJson::from(s.resource),
            version: s.version,
        }
    }
}

/// An owned copy: the resource is moved out when no one else holds it, copied
/// or parsed otherwise (a store that shares keeps its own reference). Fails
/// only when the store's JSON text does not parse.
impl TryFrom<SharedStored> for Stored {
    type Error = StoreError;
    fn try_from(s: SharedStored) -> StoreResult<Self> {
        Ok(Self {
            id: s.id,
            resource: s.resource.into_value()?,
            version: s.version,
        })
    }
}

/// A group that a resource is a direct member of (for a User's `groups`
/// attribute, RFC 7643 §4.1.2), from [`UserStore::groups_of`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRef {
    /// The group's id.
    pub id: String,
    /// The group's `displayName`, if it has one.
    pub display_name: Option<String>,
}

/// Whether a Group read should include `members`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Members {
    /// Include the members.
    #[default]
    Include,
    /// The caller does not need them; the store may leave them out.
    Exclude,
}

/// A sort request (RFC 7644 §3.4.2.3).
#[derive(Debug, Clone, PartialEq)]
pub struct Sort {
    /// The canonical attribute path to sort by.
    pub path: AttrPath,
    /// Descending instead of ascending.
    pub descending: bool,
}

/// Which page of results to return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageRequest {
    /// Index-based paging (RFC 7644 §3.4.2.4): a 1-based start and a count.
    Index {
        /// 1-based index of the first result.
        start_index: usize,
        /// Maximum number of results; may be 0 (only `total_results` is wanted).
        count: usize,
    },
    /// Cursor-based paging (RFC 9865): `None` for the first page, then the
    /// `next_cursor` of the previous page.
    Cursor {
        /// The opaque cursor the store returned, or `None` to start.
        cursor: Option<String>,
        /// Maximum number of results.
        count: usize,
    },
}

impl PageRequest {
    /// Everything, in one page.
    pub const ALL: PageRequest = PageRequest::Index {
        start_index: 1,
        count: usize::MAX,
    };

    /// The requested count.
    pub fn count(&self) -> usize {
        match self {
            PageRequest::Index { count, .. } | PageRequest::Cursor { count, .. } => *count,
        }
    }
}

/// A query for [`UserStore::query`].
#[derive(Clone)]
pub struct Query {
    /// The filter, already resolved against the schema (canonical paths and
    /// values; see [`crate::filter::resolve`]).
    pub filter: Option<Filter>,
    /// The sort order.
    pub sort: Option<Sort>,
    /// The page wanted.
    pub page: PageRequest,
    /// Whether Groups should include members.
    pub members: Members,
    schema: Arc<ResourceSchema>,
}

impl fmt::Debug for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Query")
            .field("kind", &self.schema.kind)
            .field("filter", &self.filter.as_ref().map(ToString::to_string))
            .field("sort", &self.sort)
            .field("page", &self.page)
            .field("members", &self.members)
            .finish()
    }
}

impl Query {
    /// Every resource of the schema's kind, members included, in one page.
    pub fn all(schema: Arc<ResourceSchema>) -> Self {
        Self {
            filter: None,
            sort: None,
            page: PageRequest::ALL,
            members: Members::Include,
            schema,
        }
    }

    /// Parse, resolve and set a filter (a convenience for tests and hosts).
    pub fn with_filter(mut self, filter: &str) -> crate::Result<Self> {
        let parsed = crate::filter::parse(filter)
            .map_err(|e| crate::ScimError::invalid_filter(e.to_string()))?;
        self.filter = Some(crate::filter::resolve(&parsed, &self.schema)?);
        Ok(self)
    }

    /// Set a resolved filter.
    pub fn filter(mut self, filter: Option<Filter>) -> Self {
        self.filter = filter;
        self
    }

    /// Set the sort.
    pub fn sort(mut self, sort: Option<Sort>) -> Self {
        self.sort = sort;
        self
    }

    /// Set the page.
    pub fn page(mut self, page: PageRequest) -> Self {
        self.page = page;
        self
    }

    /// Set the members flag.
    pub fn members(mut self, members: Members) -> Self {
        self.members = members;
        self
    }

    /// The schema of the queried kind.
    pub fn schema(&self) -> &Arc<ResourceSchema> {
        &self.schema
    }

    /// The queried kind.
    pub fn kind(&self) -> ResourceKind {
        self.schema.kind
    }

    /// Whether `resource` matches the filter (true without a filter). This is the
    /// reference semantics every push-down must agree with.
    pub fn matches(&self, resource: &Value) -> bool {
        self.filter
            .as_ref()
            .is_none_or(|f| crate::filter::matches(f, resource, &self.schema))
    }

    /// Order two resources by the sort (ties and no sort: by `id`). This is the
    /// reference order every sort push-down must agree with.
    pub fn compare(&self, a: &Value, b: &Value) -> Ordering {
        let by_id = || {
            let ia = a.get("id").and_then(Value::as_str).unwrap_or("");
            let ib = b.get("id").and_then(Value::as_str).unwrap_or("");
            ia.cmp(ib)
        };
        let Some(sort) = &self.sort else {
            return by_id();
        };
        let Some(res) = self.schema.resolve(&sort.path) else {
            return by_id();
        };
        let leaf = match (res.sub, res.attr.sub("value")) {
            (Some(s), _) => s,
            (None, Some(v)) if res.attr.ty == crate::schema::AttrType::Complex => v,
            _ => res.attr,
        };
        let ka = crate::filter::sort_key(a, &sort.path, &self.schema);
        let kb = crate::filter::sort_key(b, &sort.path, &self.schema);
        let ord = crate::filter::compare_values(ka, kb, leaf);
        // Missing values sort last in both directions.
        let ord = match (ka.is_some(), kb.is_some(), sort.descending) {
            (true, true, true) => ord.reverse(),
            _ => ord,
        };
        ord.then_with(by_id)
    }
}

/// One page of query results: of [`Stored`] resources from
/// [`UserStore::query`], of [`SharedStored`] ones from
/// [`UserStore::query_shared`].
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T = Stored> {
    /// The resources of this page.
    pub resources: Vec<T>,
    /// The number of matches in all pages.
    pub total_results: usize,
    /// With cursor paging, the cursor of the next page (`None` on the last page).
    pub next_cursor: Option<String>,
}

impl<T> Default for Page<T> {
    fn default() -> Self {
        Self {
            resources: Vec::new(),
            total_results: 0,
            next_cursor: None,
        }
    }
}

impl From<Page> for Page<SharedStored> {
    fn from(p: Page) -> Self {
        Self {
            resources: p.resources.into_iter().map(SharedStored::from).collect(),
            total_results: p.total_results,
            next_cursor: p.next_cursor,
        }
    }
}

/// A member to add to a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The member's id (`members.value`).
    pub value: String,
    /// `members.type`: `User` or `Group`, when known.
    pub kind: Option<String>,
    /// `members.display`, when given.
    pub display: Option<String>,
}

impl Member {
    /// The member as it appears in the Group's `members` list.
    pub fn to_json(&self) -> Value {
        let mut m = serde_json::Map::new();
        m.insert("value".into(), Value::String(self.value.clone()));
        if let Some(d) = &self.display {
            m.insert("display".into(), Value::String(d.clone()));
        }
        if let Some(t) = &self.kind {
            m.insert("type".into(), Value::String(t.clone()));
        }
        Value::Object(m)
    }

    /// Read a member from its JSON form (`value` required).
    pub fn from_json(v: &Value) -> Option<Self> {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        Some(Self {
            value: s("value")?,
            kind: s("type"),
            display: s("display"),
        })
    }
}

/// A change to a group's membership, for [`UserStore::modify_members`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemberChange {
    /// Members to add (already-present ones are left as they are).
    pub add: Vec<Member>,
    /// Member ids to remove (absent ones are ignored).
    pub remove: Vec<String>,
    /// Remove every member first (a PATCH `remove` of `members`, or `replace`).
    pub remove_all: bool,
    /// The new `meta.lastModified` of the group.
    pub last_modified: String,
}

/// What a store can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The resource does not exist (in this tenant).
    #[error("resource not found")]
    NotFound,
    /// A uniqueness constraint was violated.
    #[error("{attribute} is already in use")]
    Uniqueness {
        /// The attribute, e.g. `userName`.
        attribute: String,
    },
    /// The `if_version` did not match the stored version.
    #[error("version mismatch")]
    PreconditionFailed,
    /// The store cannot push this filter or sort down; the engine evaluates it.
    #[error("query not supported by the store")]
    Unsupported,
    /// The paging cursor is malformed, from another query, or expired.
    #[error("invalid cursor")]
    InvalidCursor,
    /// The store refuses a value (e.g. a host user model's length limit): 400
    /// with this keyword and detail, which are sent to the client.
    #[error("invalid value: {detail}")]
    Invalid {
        /// The SCIM error keyword (`invalidValue`, `mutability`, …), if any.
        scim_type: Option<crate::ScimType>,
        /// The detail for the client (must not contain secrets or internals).
        detail: String,
    },
    /// A temporary condition (busy, locked, database restarting): 503.
    #[error("store temporarily unavailable")]
    Unavailable {
        /// Seconds the client should wait.
        retry_after: u32,
        /// The cause, for logs.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Anything else: 500 with a generic detail; the cause is logged.
    #[error("store failure")]
    Other(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// An [`StoreError::Other`] from any error or message.
    pub fn other(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        StoreError::Other(e.into())
    }

    /// A uniqueness violation on `userName`.
    pub fn user_name_taken() -> Self {
        StoreError::Uniqueness {
            attribute: "userName".to_owned(),
        }
    }
}

/// `Result` with [`StoreError`].
pub type StoreResult<T> = Result<T, StoreError>;

/// How often the default [`UserStore::modify_members`] retries a lost race.
const DEFAULT_MEMBER_RETRIES: usize = 1000;

/// The storage contract (see the module docs for the rules every implementation
/// follows).
pub trait UserStore: Send + Sync + 'static {
    /// Store a new resource. `resource` has its `id` (assigned by the engine) and
    /// `meta`. Fails with [`StoreError::Uniqueness`] if its [`unique_key`] is taken
    /// in the tenant. Returns it with version 1.
    fn create(&self, ctx: &Ctx, kind: ResourceKind, resource: Value) -> StoreResult<Stored>;

    /// Read a resource; `Ok(None)` if it does not exist in the tenant.
    fn get(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        id: &str,
        members: Members,
    ) -> StoreResult<Option<Stored>>;

    /// [`UserStore::get`] for a store that keeps resources behind an `Arc` or as
    /// JSON text: it may hand out a reference instead of a copy, or the text
    /// instead of a parsed tree ([`SharedJson`]); the engine renders reads from
    /// either without copying. The default calls `get`; implement it only if
    /// the store can share. Same semantics as `get`.
    fn get_shared(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        id: &str,
        members: Members,
    ) -> StoreResult<Option<SharedStored>> {
        Ok(self.get(ctx, kind, id, members)?.map(SharedStored::from))
    }

    /// The groups `member_id` is a direct member of, in `id` order: what a
    /// query for `members[value eq "<member_id>"]` answers. Every rendered User
    /// asks it, so a store with a membership index should answer it directly;
    /// the default answers [`StoreError::Unsupported`] and the engine runs that
    /// query instead.
    fn groups_of(&self, ctx: &Ctx, member_id: &str) -> StoreResult<Vec<GroupRef>> {
        let _ = (ctx, member_id);
        Err(StoreError::Unsupported)
    }

    /// Replace a resource entirely (for a Group, including its members). With
    /// `if_version`, fail with [`StoreError::PreconditionFailed`] unless the stored
    /// version equals it. [`StoreError::NotFound`] if absent.
    fn replace(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        id: &str,
        resource: Value,
        if_version: Option<u64>,
    ) -> StoreResult<Stored>;

    /// [`UserStore::create`] for a store that keeps resources behind an `Arc`
    /// or as JSON text: it may return the resource it stored shared instead of
    /// a copy — for text, with the tree it was given
    /// ([`SharedJson::with_tree`]) — and the engine renders the 201 from it.
    /// The default calls `create`; implement it only if the store can share.
    /// Same semantics as `create`.
    fn create_shared(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        resource: Value,
    ) -> StoreResult<SharedStored> {
        self.create(ctx, kind, resource).map(SharedStored::from)
    }

    /// [`UserStore::replace`] returning the stored resource shared (see
    /// [`UserStore::create_shared`]). The default calls `replace`. Same
    /// semantics as `replace`.
    fn replace_shared(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        id: &str,
        resource: Value,
        if_version: Option<u64>,
    ) -> StoreResult<SharedStored> {
        self.replace(ctx, kind, id, resource, if_version)
            .map(SharedStored::from)
    }

    /// Delete a resource (a User is also removed from every group). With
    /// `if_version`, as for `replace`. [`StoreError::NotFound`] if absent.
    fn delete(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        id: &str,
        if_version: Option<u64>,
    ) -> StoreResult<()>;

    /// Find resources (see the module docs on push-down and `Unsupported`).
    fn query(&self, ctx: &Ctx, kind: ResourceKind, query: &Query) -> StoreResult<Page>;

    /// [`UserStore::query`] with the resources shared rather than copied, as
    /// [`UserStore::get_shared`] is to `get`. The default calls `query`.
    fn query_shared(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        query: &Query,
    ) -> StoreResult<Page<SharedStored>> {
        self.query(ctx, kind, query).map(Page::from)
    }

    /// Add and remove members of a group in O(changes), bumping its version and
    /// setting its `meta.lastModified`. Returns the group, members optional (as
    /// with [`Members::Exclude`]). The default is a get + replace.
    fn modify_members(
        &self,
        ctx: &Ctx,
        group_id: &str,
        change: &MemberChange,
        if_version: Option<u64>,
    ) -> StoreResult<Stored> {
        // Compare-and-set loop: without `if_version`, a concurrent writer that wins
        // the race makes this attempt retry on fresh data (bounded).
        for _ in 0..DEFAULT_MEMBER_RETRIES {
            let current = self
                .get(ctx, ResourceKind::Group, group_id, Members::Include)?
                .ok_or(StoreError::NotFound)?;
            if let Some(v) = if_version {
                if v != current.version {
                    return Err(StoreError::PreconditionFailed);
                }
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
}

impl<S: UserStore + ?Sized> UserStore for Arc<S> {
    fn create(&self, ctx: &Ctx, kind: ResourceKind, resource: Value) -> StoreResult<Stored> {
        (**self).create(ctx, kind, resource)
    }
    fn get(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        id: &str,
        m: Members,
    ) -> StoreResult<Option<Stored>> {
        (**self).get(ctx, kind, id, m)
    }
    fn get_shared(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        id: &str,
        m: Members,
    ) -> StoreResult<Option<SharedStored>> {
        (**self).get_shared(ctx, kind, id, m)
    }
    fn replace(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        id: &str,
        resource: Value,
        if_version: Option<u64>,
    ) -> StoreResult<Stored> {
        (**self).replace(ctx, kind, id, resource, if_version)
    }
    fn create_shared(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        resource: Value,
    ) -> StoreResult<SharedStored> {
        (**self).create_shared(ctx, kind, resource)
    }
    fn replace_shared(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        id: &str,
        resource: Value,
        if_version: Option<u64>,
    ) -> StoreResult<SharedStored> {
        (**self).replace_shared(ctx, kind, id, resource, if_version)
    }
    fn delete(&self, ctx: &Ctx, kind: ResourceKind, id: &str, v: Option<u64>) -> StoreResult<()> {
        (**self).delete(ctx, kind, id, v)
    }
    fn query(&self, ctx: &Ctx, kind: ResourceKind, query: &Query) -> StoreResult<Page> {
        (**self).query(ctx, kind, query)
    }
    fn query_shared(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        query: &Query,
    ) -> StoreResult<Page<SharedStored>> {
        (**self).query_shared(ctx, kind, query)
    }
    fn groups_of(&self, ctx: &Ctx, member_id: &str) -> StoreResult<Vec<GroupRef>> {
        (**self).groups_of(ctx, member_id)
    }
    fn modify_members(
        &self,
        ctx: &Ctx,
        group_id: &str,
        change: &MemberChange,
        if_version: Option<u64>,
    ) -> StoreResult<Stored> {
        (**self).modify_members(ctx, group_id, change, if_version)
    }
}

/// Apply a membership change to a Group resource's `members` list in place, and
/// set its `meta.lastModified` (used by the default `modify_members`).
pub fn apply_member_change(group: &mut Value, change: &MemberChange) {
    let Some(obj) = group.as_object_mut() else {
        return;
    };
    let mut members: Vec<Value> = if change.remove_all {
        Vec::new()
    } else {
        match obj.remove("members") {
            Some(Value::Array(a)) => a,
            _ => Vec::new(),
        }
    };
    if !change.remove.is_empty() {
        let gone: std::collections::HashSet<&str> =
            change.remove.iter().map(String::as_str).collect();
        members.retain(|m| {
            !m.get("value")
                .and_then(Value::as_str)
                .is_some_and(|v| gone.contains(v))
        });
    }
    let mut have: std::collections::HashSet<String> = members
        .iter()
        .filter_map(|m| m.get("value").and_then(Value::as_str).map(str::to_owned))
        .collect();
    for m in &change.add {
        if have.insert(m.value.clone()) {
            members.push(m.to_json());
        }
    }
    if !members.is_empty() {
        obj.insert("members".into(), Value::Array(members));
    }
    if let Some(meta) = obj.get_mut("meta").and_then(Value::as_object_mut) {
        meta.insert(
            "lastModified".into(),
            Value::String(change.last_modified.clone()),
        );
    }
}

/// Case folding used for case-insensitive uniqueness and comparison (Unicode
/// lower case).
pub fn fold_case(s: &str) -> String {
    s.to_lowercase()
}

/// The uniqueness key of a resource: for a User its case-folded `userName`; for
/// a Group none (display names may repeat, RFC 7643 §4.2).
pub fn unique_key(kind: ResourceKind, resource: &Value) -> Option<String> {
    match kind {
        ResourceKind::User => resource
            .get("userName")
            .and_then(Value::as_str)
            .map(fold_case),
        ResourceKind::Group => None,
    }
}

/// Paging over an already filtered and sorted list, shared by the memory store
/// and the engine's own evaluation: index paging, and cursor paging with the
/// cursor being the base64 of the offset (opaque to clients).
pub fn paginate<T>(items: Vec<T>, page: &PageRequest) -> StoreResult<(Vec<T>, Option<String>)> {
    let (offset, end, next) = page_bounds(items.len(), page)?;
    let out = items.into_iter().skip(offset).take(end - offset).collect();
    Ok((out, next))
}

/// The page of [`paginate`] over `total` items, without the items: the
/// offset, the end (exclusive, `offset <= end <= total`) and the next cursor
/// (cursor paging only, `None` on the last page).
pub fn page_bounds(
    total: usize,
    page: &PageRequest,
) -> StoreResult<(usize, usize, Option<String>)> {
    use base64::Engine as _;
    let (offset, count, cursor_mode) = match page {
        PageRequest::Index { start_index, count } => (start_index.saturating_sub(1), *count, false),
        PageRequest::Cursor { cursor, count } => {
            let offset = match cursor {
                None => 0,
                Some(c) => {
                    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
                        .decode(c)
                        .map_err(|_| StoreError::InvalidCursor)?;
                    let s = std::str::from_utf8(&raw).map_err(|_| StoreError::InvalidCursor)?;
                    let n: usize = s
                        .strip_prefix("o:")
                        .and_then(|n| n.parse().ok())
                        .ok_or(StoreError::InvalidCursor)?;
                    if n > total {
                        return Err(StoreError::InvalidCursor);
                    }
                    n
                }
            };
            (offset, *count, true)
        }
    };
    let end = offset.saturating_add(count).min(total);
    let offset = offset.min(end);
    let next = (cursor_mode && end < total)
        .then(|| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("o:{end}")));
    Ok((offset, end, next))
}
