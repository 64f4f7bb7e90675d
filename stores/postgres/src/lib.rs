//! # scimkit-postgres
//!
//! A [`UserStore`](scimkit::UserStore) in PostgreSQL, for several scimkit
//! processes (replicas) serving one directory.
//!
//! ```no_run
//! use scimkit::store::{Ctx, Members, UserStore};
//! use scimkit::ResourceKind;
//! use scimkit_postgres::PostgresStore;
//! use serde_json::json;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Creates or migrates the schema; every replica may do this at once.
//! let store = PostgresStore::connect("postgresql://scim:secret@db.internal/scim")?;
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
//! # Ok(())
//! # }
//! ```
//!
//! ## What it does
//!
//! * **Storage**: one table of resources (JSONB) with columns derived from each
//!   resource for searching: tenant, kind, id, userName (Unicode case-folded,
//!   unique per tenant through a unique index), externalId, displayName, the
//!   primary e-mail address, active, created/lastModified and the version; the
//!   e-mail addresses in a table of their own; group memberships in a table
//!   `(tenant, group_id, member_id)` indexed both ways, so adding 50 members to
//!   a 100 000-member group writes 50 rows. JSONB normalises the order of an
//!   object's keys: a resource reads back equal, not byte-identical.
//! * **Queries**: filters on the indexed attributes (`eq ne co sw ew gt ge lt le
//!   pr`, `and`/`or`/`not`, `emails[…]`, `members[value eq …]`), sorting on
//!   them, `startIndex`/`count` and keyset cursors run in SQL with every value a
//!   bound parameter. Anything else is evaluated with the core's evaluator over
//!   the narrowest candidate set the indexed part selects; answers and totals
//!   are the evaluator's either way.
//! * **Planner statistics**: a table filled by an initial provisioning cycle
//!   has none until autovacuum's next round, and PostgreSQL then plans as if
//!   it were nearly empty. Pages are written so that no plan re-runs a
//!   subquery per row, and the store runs `ANALYZE` itself as its creates
//!   double the table
//!   ([`PostgresOptions::analyze_on_growth`]).
//! * **Several replicas**: all invariants are enforced by PostgreSQL, not by
//!   the process: unique indexes, versions compared in the `UPDATE`, membership
//!   changes as set-based statements under the group's row lock, cascades on
//!   delete. Serialization failures and deadlocks are retried a bounded number
//!   of times. Schema migrations are versioned and serialised by an advisory
//!   lock, so replicas may start together.
//! * **Failures**: an unreachable or restarting server makes calls fail with
//!   [`StoreError::Unavailable`](scimkit::StoreError::Unavailable) (503 with
//!   `Retry-After`); broken connections are discarded and the store recovers by
//!   itself. Connecting fails with a [`ConnectError`] that says why (bad URL,
//!   unreachable, authentication, no such database, newer schema) and never
//!   shows the password.
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

mod columns;
mod cursor;
mod error;
mod migrate;
mod options;
mod pushdown;
mod sql;
mod store;

pub use error::{ConnectError, ConnectErrorKind, Target};
pub use options::PostgresOptions;
pub use store::PostgresStore;

/// The newest database schema version this build creates and reads (the
/// highest `version` in `scimkit_migrations`).
pub const SCHEMA_VERSION: i64 = migrate::SCHEMA_VERSION;
