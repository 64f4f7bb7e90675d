//! The database schema and its versioned migrations.
//!
//! Applied migrations are recorded in `scimkit_migrations`. All of them run in
//! one transaction that first takes a transaction-scoped advisory lock
//! ([`LOCK_KEY`]), so replicas starting at the same moment apply each migration
//! exactly once: the others wait for the lock, then find nothing left to do.
//! The lock is released by the commit or rollback (or when the connection
//! drops), so a replica dying half-way leaves nothing applied and nothing
//! locked.

use postgres::Client;

use crate::error::ConnectErrorKind;

/// The advisory lock key of the migrations: "scimkit" + 1 as an integer.
pub(crate) const LOCK_KEY: i64 = 0x7363_696d_6b69_7401;

/// The migrations; the schema version is the number applied. Never edit one that
/// has shipped: append a new one.
const MIGRATIONS: &[&str] = &[V1];

/// The newest schema version this build knows.
pub(crate) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Version 1: resources (Users and Groups), users' e-mail addresses and group
/// memberships.
///
/// A resource is JSONB; the columns beside it are derived from it on every
/// write and exist to be searched and sorted. Keys that compare
/// case-insensitively (`*_key`) hold the Unicode lower case computed in Rust
/// (`scimkit::store::fold_case`). Every text column that is compared or sorted
/// uses the `C` collation, so PostgreSQL orders exactly like Rust's `str`
/// (code points), whatever the database's locale. Timestamps are normalised to
/// UTC text with nine fractional digits, so they compare as instants.
const V1: &str = r#"
CREATE TABLE scimkit_resources (
    pk               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant           text COLLATE "C" NOT NULL,
    kind             text COLLATE "C" NOT NULL CHECK (kind IN ('User', 'Group')),
    id               text COLLATE "C" NOT NULL,
    version          bigint NOT NULL,
    user_name_key    text COLLATE "C",
    external_id      text COLLATE "C",
    display_name_key text COLLATE "C",
    email_key        text COLLATE "C",
    active           boolean,
    created          text COLLATE "C",
    last_modified    text COLLATE "C",
    resource         jsonb NOT NULL
);
-- Ids are unique per tenant across kinds (as in the memory store).
CREATE UNIQUE INDEX scimkit_resources_id ON scimkit_resources (tenant, id);
CREATE UNIQUE INDEX scimkit_resources_user_name ON scimkit_resources (tenant, user_name_key)
    WHERE kind = 'User';
CREATE INDEX scimkit_resources_kind ON scimkit_resources (tenant, kind, id);
CREATE INDEX scimkit_resources_external_id ON scimkit_resources (tenant, kind, external_id);
CREATE INDEX scimkit_resources_display_name ON scimkit_resources (tenant, kind, display_name_key);
CREATE INDEX scimkit_resources_email ON scimkit_resources (tenant, kind, email_key);
CREATE INDEX scimkit_resources_created ON scimkit_resources (tenant, kind, created);
CREATE INDEX scimkit_resources_last_modified ON scimkit_resources (tenant, kind, last_modified);

CREATE TABLE scimkit_emails (
    resource_pk bigint NOT NULL REFERENCES scimkit_resources (pk) ON DELETE CASCADE,
    ord         integer NOT NULL,
    tenant      text COLLATE "C" NOT NULL,
    value_key   text COLLATE "C",
    type_key    text COLLATE "C",
    is_primary  boolean,
    PRIMARY KEY (resource_pk, ord)
);
CREATE INDEX scimkit_emails_value ON scimkit_emails (tenant, value_key);

-- One row per member of a group, by id: adding or removing members touches
-- only their rows. Looked up by group (primary key) and by member
-- (member_key: the folded id, as members.value is caseExact=false).
CREATE TABLE scimkit_members (
    tenant     text COLLATE "C" NOT NULL,
    group_id   text COLLATE "C" NOT NULL,
    member_id  text COLLATE "C" NOT NULL,
    member_key text COLLATE "C" NOT NULL,
    type       text,
    display    text,
    PRIMARY KEY (tenant, group_id, member_id)
);
CREATE INDEX scimkit_members_member ON scimkit_members (tenant, member_key, member_id);
"#;

/// Bring the database to [`SCHEMA_VERSION`], refusing a newer schema.
pub(crate) fn migrate(client: &mut Client) -> Result<(), ConnectErrorKind> {
    let mut tx = client.transaction().map_err(ConnectErrorKind::Migration)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY])
        .map_err(ConnectErrorKind::Migration)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS scimkit_migrations (
             version    bigint PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )
    .map_err(ConnectErrorKind::Migration)?;
    let found: i64 = tx
        .query_one(
            "SELECT COALESCE(max(version), 0) FROM scimkit_migrations",
            &[],
        )
        .and_then(|r| r.try_get(0))
        .map_err(ConnectErrorKind::Migration)?;
    if found > SCHEMA_VERSION {
        return Err(ConnectErrorKind::TooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    let start = usize::try_from(found).unwrap_or(0);
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(start) {
        let version = i64::try_from(i + 1).unwrap_or(i64::MAX);
        tx.batch_execute(sql).map_err(ConnectErrorKind::Migration)?;
        tx.execute(
            "INSERT INTO scimkit_migrations (version) VALUES ($1)",
            &[&version],
        )
        .map_err(ConnectErrorKind::Migration)?;
        tracing::info!(version, "applied PostgreSQL store migration");
    }
    tx.commit().map_err(ConnectErrorKind::Migration)?;
    Ok(())
}
