//! The database schema and its versioned migrations.
//!
//! The schema version is `PRAGMA user_version`; a scimkit database carries
//! `PRAGMA application_id` = [`APPLICATION_ID`]. Migrations run in order, each
//! exactly once, inside one `BEGIN IMMEDIATE` transaction at open, so two
//! processes opening the same new file cannot both apply them.

use rusqlite::{Connection, TransactionBehavior};

use crate::error::OpenErrorKind;

/// `PRAGMA application_id` of a scimkit store: "SCIM" in ASCII.
pub(crate) const APPLICATION_ID: i32 = 0x5343_494d;

/// The migrations; the schema version is the number applied. Never edit one that
/// has shipped: append a new one.
const MIGRATIONS: &[&str] = &[V1];

/// The newest schema version this build knows.
pub(crate) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Version 1: users (with their e-mail addresses), groups and memberships.
///
/// Resources are stored as JSON text; the columns beside them are derived from
/// the JSON on every write and exist only to be searched and sorted. Keys that
/// compare case-insensitively (`*_key`) hold the Unicode lower case computed in
/// Rust (`scimkit::store::fold_case`), since SQLite's `lower()` only folds ASCII.
/// Timestamps are normalised to UTC with nine fractional digits, so they compare
/// as instants when compared as text.
///
/// Every index serves a filter: `users.email_key` (the primary address, the
/// key `sortBy=emails` orders by) has none, because sorts put absent values
/// last with an `IS NULL` term no index can serve, and `emails.value` filters
/// use `user_emails_by_value`, which covers every address. Each index costs a
/// page write per created user.
const V1: &str = r"
CREATE TABLE users (
    pk               INTEGER PRIMARY KEY,
    tenant           TEXT NOT NULL,
    id               TEXT NOT NULL,
    version          INTEGER NOT NULL,
    user_name_key    TEXT,
    external_id      TEXT,
    display_name_key TEXT,
    email_key        TEXT,
    active           INTEGER,
    created          TEXT,
    last_modified    TEXT,
    resource         TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX users_by_id ON users (tenant, id);
CREATE UNIQUE INDEX users_by_user_name ON users (tenant, user_name_key);
CREATE INDEX users_by_external_id ON users (tenant, external_id);
CREATE INDEX users_by_display_name ON users (tenant, display_name_key);
CREATE INDEX users_by_created ON users (tenant, created);
CREATE INDEX users_by_last_modified ON users (tenant, last_modified);

CREATE TABLE user_emails (
    user_pk    INTEGER NOT NULL,
    ord        INTEGER NOT NULL,
    tenant     TEXT NOT NULL,
    value_key  TEXT,
    type_key   TEXT,
    is_primary INTEGER,
    PRIMARY KEY (user_pk, ord)
) STRICT, WITHOUT ROWID;
CREATE INDEX user_emails_by_value ON user_emails (tenant, value_key);

CREATE TABLE groups (
    pk               INTEGER PRIMARY KEY,
    tenant           TEXT NOT NULL,
    id               TEXT NOT NULL,
    version          INTEGER NOT NULL,
    external_id      TEXT,
    display_name_key TEXT,
    created          TEXT,
    last_modified    TEXT,
    resource         TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX groups_by_id ON groups (tenant, id);
CREATE INDEX groups_by_external_id ON groups (tenant, external_id);
CREATE INDEX groups_by_display_name ON groups (tenant, display_name_key);
CREATE INDEX groups_by_created ON groups (tenant, created);
CREATE INDEX groups_by_last_modified ON groups (tenant, last_modified);

CREATE TABLE members (
    group_pk   INTEGER NOT NULL,
    member_id  TEXT NOT NULL,
    tenant     TEXT NOT NULL,
    member_key TEXT NOT NULL,
    type       TEXT,
    display    TEXT,
    PRIMARY KEY (group_pk, member_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX members_by_member ON members (tenant, member_key);

-- Fixed planner statistics (SQLite's 'fixed results of ANALYZE'): without
-- them the planner takes `tenant = ?` for selective and scans a whole tenant
-- for `t.pk IN (SELECT …)` filters. They describe a large store: a tenant has
-- many rows, an id or userName one, an e-mail address or externalId a few, a
-- member a few groups, a group many members. A later ANALYZE replaces them.
ANALYZE;
DELETE FROM sqlite_stat1;
INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
    ('users', NULL, '1000000'),
    ('users', 'users_by_id', '1000000 100000 1'),
    ('users', 'users_by_user_name', '1000000 100000 1'),
    ('users', 'users_by_external_id', '1000000 100000 2'),
    ('users', 'users_by_display_name', '1000000 100000 3'),
    ('users', 'users_by_created', '1000000 100000 5'),
    ('users', 'users_by_last_modified', '1000000 100000 5'),
    ('user_emails', 'user_emails', '1500000 2 1'),
    ('user_emails', 'user_emails_by_value', '1500000 150000 2'),
    ('groups', NULL, '100000'),
    ('groups', 'groups_by_id', '100000 10000 1'),
    ('groups', 'groups_by_external_id', '100000 10000 2'),
    ('groups', 'groups_by_display_name', '100000 10000 2'),
    ('groups', 'groups_by_created', '100000 10000 5'),
    ('groups', 'groups_by_last_modified', '100000 10000 5'),
    ('members', 'members', '10000000 1000 1'),
    ('members', 'members_by_member', '10000000 1000000 10');
ANALYZE sqlite_schema;
";

/// Bring the database to [`SCHEMA_VERSION`], refusing files that are not
/// scimkit stores or that are newer than this build.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), OpenErrorKind> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let application_id: i32 = tx.pragma_query_value(None, "application_id", |r| r.get(0))?;
    let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if application_id != APPLICATION_ID {
        let tables: i64 = tx.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))?;
        if application_id != 0 || version != 0 || tables != 0 {
            return Err(OpenErrorKind::ForeignDatabase {
                application_id,
                tables,
            });
        }
        tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    }
    if version < 0 {
        return Err(OpenErrorKind::Corrupt {
            detail: format!("negative schema version {version}"),
        });
    }
    if version > SCHEMA_VERSION {
        return Err(OpenErrorKind::TooNew {
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    let start = usize::try_from(version).unwrap_or(0);
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(start) {
        tx.execute_batch(sql)?;
        tracing::info!(version = i + 1, "applied SQLite store migration");
    }
    if version < SCHEMA_VERSION {
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    }
    tx.commit()?;
    Ok(())
}
