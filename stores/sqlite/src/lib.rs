//! # scimkit-sqlite
//!
//! The embedded default store of scimkit: a [`UserStore`](scimkit::UserStore)
//! in one SQLite file (SQLite is compiled in; nothing to install).
//!
//! ```
//! use scimkit::store::{Ctx, Members, UserStore};
//! use scimkit::ResourceKind;
//! use scimkit_sqlite::SqliteStore;
//! use serde_json::json;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! // Created with its schema on first open; migrated on later opens.
//! let store = SqliteStore::open(dir.path().join("scim.db"))?;
//! let ctx = Ctx::new("contoso");
//! store.create(&ctx, ResourceKind::User, json!({
//!     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
//!     "id": "2819c223",
//!     "userName": "bjensen@example.com",
//!     "meta": {"resourceType": "User",
//!              "created": "2024-01-01T00:00:00.000Z",
//!              "lastModified": "2024-01-01T00:00:00.000Z"},
//! }))?;
//! let user = store.get(&ctx, ResourceKind::User, "2819c223", Members::Include)?;
//! assert_eq!(user.map(|u| u.version), Some(1));
//! assert!(store.integrity_check()?.is_empty());
//! # Ok(())
//! # }
//! ```
//!
//! ## What it does
//!
//! * **Storage**: each resource is kept as JSON text, beside columns derived
//!   from it for searching: tenant, id, userName (Unicode case-folded, unique
//!   per tenant), externalId, displayName, the e-mail addresses, active,
//!   created/lastModified and the version. A group's members live in a
//!   membership table (indexed by group and by member), not in its JSON, so
//!   adding 50 members to a 100 000-member group writes 50 rows and reading a
//!   group with [`Members::Exclude`](scimkit::store::Members::Exclude) reads
//!   none.
//! * **Queries**: filters on the indexed attributes (`eq ne co sw ew gt ge lt le
//!   pr`, combined with `and`/`or`/`not`, `emails[…]`, `members[value eq …]`),
//!   sorting on them, `startIndex`/`count` and keyset cursors run in SQL, with
//!   every value a bound parameter. Anything else (extension attributes,
//!   `name.familyName`, …) is evaluated with the core's evaluator over the
//!   narrowest candidate set the indexed part selects — the answers, totals
//!   included, are the evaluator's either way. (Only such a filter on a
//!   member's `type` or `display` reads the candidate groups' members.)
//! * **Writes**: group commit — one writer thread runs the writes queued at
//!   the same time in one transaction, each in its own savepoint (a failing
//!   write undoes only itself), with one commit (one flush) for all of them,
//!   and answers each call after that commit; optimistic concurrency checked in
//!   the `UPDATE`; deleting a resource removes it from every group (bumping
//!   those groups' versions); `busy`/`locked` become
//!   [`StoreError::Unavailable`](scimkit::StoreError::Unavailable) (503 with
//!   `Retry-After`).
//! * **Files**: write-ahead logging, a busy timeout, one writer connection and
//!   a pool of readers; schema migrations are versioned (`PRAGMA
//!   user_version`) and applied on open. A file that is not a scimkit SQLite
//!   database, or is corrupt, is an [`OpenError`] at open — it is never
//!   replaced by a new database.
//!
//! See [`SqliteStore`] for threading and durability.
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

mod columns;
mod cursor;
mod error;
mod migrate;
mod options;
mod pushdown;
mod store;
mod writer;

pub use error::{OpenError, OpenErrorKind};
pub use options::{SqliteOptions, Synchronous};
pub use store::SqliteStore;

/// The newest database schema version this build creates and reads (`PRAGMA
/// user_version`).
pub const SCHEMA_VERSION: i64 = migrate::SCHEMA_VERSION;
