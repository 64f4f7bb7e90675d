//! # scimkit
//!
//! A transport-free SCIM 2.0 (RFC 7643 / RFC 7644) engine with Microsoft Entra ID
//! compatibility built in: [`ScimServer::handle`] takes an
//! `http::Request<Bytes>` and returns an `http::Response<Bytes>`. Adapters
//! (`tower-scim`, the C ABI, the Python module) only convert requests and
//! responses.
//!
//! Storage is the host's: implement [`UserStore`] (or use [`MemoryStore`], or the
//! `scimkit-sqlite` / `scimkit-postgres` crates). The rules every store follows
//! are in the [`store`] module docs, and `store::testkit` (feature `testkit`)
//! checks them.
//!
//! ```
//! use bytes::Bytes;
//! use scimkit::{MemoryStore, ScimServer};
//!
//! let server = ScimServer::builder()
//!     .store(MemoryStore::new())
//!     .token("s3cret", "contoso")
//!     .build()?;
//!
//! // Entra ID's "Test connection".
//! let req = http::Request::get("/scim/v2/Users?filter=userName+eq+%22probe%40contoso.com%22")
//!     .header("authorization", "Bearer s3cret")
//!     .body(Bytes::new())?;
//! let resp = server.handle(req);
//! assert_eq!(resp.status(), 200);
//! let body: serde_json::Value = serde_json::from_slice(resp.body())?;
//! assert_eq!(body["totalResults"], 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Implementing a store
//!
//! A store keeps resources per tenant, enforces userName uniqueness and
//! versions, and answers queries — evaluating filters with [`store::Query::matches`]
//! when it has no index of its own:
//!
//! ```
//! use std::collections::HashMap;
//! use parking_lot::Mutex;
//! use serde_json::Value;
//! use scimkit::ResourceKind;
//! use scimkit::store::*;
//!
//! /// A deliberately small store: one map, a full scan per query.
//! #[derive(Default)]
//! struct VecStore(Mutex<HashMap<(String, ResourceKind, String), (Value, u64)>>);
//!
//! impl UserStore for VecStore {
//!     fn create(&self, ctx: &Ctx, kind: ResourceKind, resource: Value) -> StoreResult<Stored> {
//!         let id = resource["id"].as_str().ok_or_else(|| StoreError::other("no id"))?.to_owned();
//!         let mut m = self.0.lock();
//!         let key = unique_key(kind, &resource);
//!         if key.is_some() && m.iter().any(|((t, k, _), (r, _))| {
//!             *t == ctx.tenant && *k == kind && unique_key(kind, r) == key
//!         }) {
//!             return Err(StoreError::user_name_taken());
//!         }
//!         m.insert((ctx.tenant.clone(), kind, id.clone()), (resource.clone(), 1));
//!         Ok(Stored { id, resource, version: 1 })
//!     }
//!     fn get(&self, ctx: &Ctx, kind: ResourceKind, id: &str, _: Members) -> StoreResult<Option<Stored>> {
//!         let m = self.0.lock();
//!         Ok(m.get(&(ctx.tenant.clone(), kind, id.to_owned()))
//!             .map(|(r, v)| Stored { id: id.to_owned(), resource: r.clone(), version: *v }))
//!     }
//!     fn replace(&self, ctx: &Ctx, kind: ResourceKind, id: &str, resource: Value, if_version: Option<u64>) -> StoreResult<Stored> {
//!         let mut m = self.0.lock();
//!         let key = unique_key(kind, &resource);
//!         if key.is_some() && m.iter().any(|((t, k, i), (r, _))| {
//!             *t == ctx.tenant && *k == kind && i != id && unique_key(kind, r) == key
//!         }) {
//!             return Err(StoreError::user_name_taken());
//!         }
//!         let slot = m.get_mut(&(ctx.tenant.clone(), kind, id.to_owned())).ok_or(StoreError::NotFound)?;
//!         if if_version.is_some_and(|v| v != slot.1) {
//!             return Err(StoreError::PreconditionFailed);
//!         }
//!         *slot = (resource.clone(), slot.1 + 1);
//!         Ok(Stored { id: id.to_owned(), resource, version: slot.1 })
//!     }
//!     fn delete(&self, ctx: &Ctx, kind: ResourceKind, id: &str, if_version: Option<u64>) -> StoreResult<()> {
//!         let mut m = self.0.lock();
//!         let key = (ctx.tenant.clone(), kind, id.to_owned());
//!         let (_, v) = m.get(&key).ok_or(StoreError::NotFound)?;
//!         if if_version.is_some_and(|w| w != *v) {
//!             return Err(StoreError::PreconditionFailed);
//!         }
//!         m.remove(&key);
//!         // Remove the deleted resource from every group.
//!         for ((t, k, _), (g, ver)) in m.iter_mut() {
//!             if *t == ctx.tenant && *k == ResourceKind::Group {
//!                 let change = MemberChange { remove: vec![id.to_owned()], last_modified: scimkit::time::now(), ..Default::default() };
//!                 let before = g.clone();
//!                 apply_member_change(g, &change);
//!                 if *g != before { *ver += 1; }
//!             }
//!         }
//!         Ok(())
//!     }
//!     fn query(&self, ctx: &Ctx, kind: ResourceKind, q: &Query) -> StoreResult<Page> {
//!         let m = self.0.lock();
//!         let mut hits: Vec<Stored> = m.iter()
//!             .filter(|((t, k, _), (r, _))| *t == ctx.tenant && *k == kind && q.matches(r))
//!             .map(|((_, _, id), (r, v))| Stored { id: id.clone(), resource: r.clone(), version: *v })
//!             .collect();
//!         hits.sort_by(|a, b| q.compare(&a.resource, &b.resource));
//!         let total_results = hits.len();
//!         let (resources, next_cursor) = paginate(hits, &q.page)?;
//!         Ok(Page { resources, total_results, next_cursor })
//!     }
//! }
//!
//! // The conformance suite runs every rule against it.
//! scimkit::store::testkit::run_all(VecStore::default);
//! ```
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

pub mod auth;
mod bulk;
#[cfg(any(test, feature = "testkit"))]
pub mod corpus;
pub mod error;
pub mod events;
pub mod filter;
pub mod log;
pub mod patch;
pub mod policy;
pub mod projection;
mod protocol;
mod provision;
pub mod schema;
mod server;
pub mod store;
pub mod time;
mod view;

pub use auth::{Authenticator, Principal, StaticTokens, TrustedTenant};
pub use error::{Result, ScimError, ScimType};
pub use events::{Event, EventHandler, EventKind};
pub use log::{BatchingLog, LogEntry, LogQuery, MemoryLog, Outcome, ProvisioningLog};
pub use policy::{DeletionPolicy, GroupPolicy, HiddenState, LinkPolicy, Policies};
pub use protocol::SCIM_CONTENT_TYPE;
pub use schema::{ResourceKind, UnknownAttributes};
pub use server::{Config, ConfigError, MeResolver, ScimServer, ScimServerBuilder};
pub use store::{Ctx, MemoryStore, StoreError, Stored, UserStore};
