//! The server's own tables in PostgreSQL, for several `scimkit serve`
//! replicas on one database: tenants, token digests, tenant policies, the
//! admin password hash, the provisioning log, admin sessions and Graph sync
//! state. The same tables (`scimkit_server_*`) and semantics as the SQLite
//! ones (`crate::db`, `crate::provlog`), plus the two things SQLite keeps
//! elsewhere: admin sessions (in memory there) and sync state (a JSON file
//! there), so that a login or a sync on one replica is seen by the others.
//!
//! Every statement is parameterised. Connections come from an r2d2 pool;
//! a broken connection (server restarted) is discarded and, for statements
//! that may be repeated, the call is retried on another one. When no
//! connection can be had within the checkout timeout the call fails with
//! [`DbError::Unavailable`], which the SCIM engine answers with 503.
//!
//! Migrations are versioned in `scimkit_server_migrations` and applied in one
//! transaction under the same advisory lock as the store's (see
//! `scimkit_postgres`' `migrate.rs`), so replicas may start at the same moment.

use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::time::Duration;

use postgres::error::SqlState;
use postgres::types::{Json, ToSql};
use postgres::{Client, GenericClient, NoTls, Statement};
use r2d2::{ManageConnection, Pool};
use scimkit::store::fold_case;
use scimkit::{LogEntry, LogQuery, Outcome, ResourceKind};
use scimkit_graph::SyncState;

use crate::db::{DbError, PolicyRow, TenantRow, TokenRow};
use crate::provlog::{Bucket, TenantTotals};

/// The advisory lock key every scimkit migration runs under (the store's:
/// "scimkit" + 1), so the store's and the server's migrations never interleave.
const LOCK_KEY: i64 = 0x7363_696d_6b69_7401;

/// The server's migrations; the schema version is the number applied. Never
/// edit one that has shipped: append a new one.
const MIGRATIONS: &[&str] = &[V1];

/// Version 1: the SQLite tables of `crate::db` and `crate::provlog`, admin
/// sessions and sync state. Times are fixed-width UTC text (as
/// `scimkit::time::now()` writes them) in the `C` collation, so they sort as
/// instants; sessions use the database's clock, shared by every replica.
const V1: &str = r#"
CREATE TABLE scimkit_server_meta (
    key   text COLLATE "C" PRIMARY KEY,
    value text NOT NULL
);
CREATE TABLE scimkit_server_tenants (
    name    text COLLATE "C" PRIMARY KEY,
    created text COLLATE "C" NOT NULL
);
INSERT INTO scimkit_server_tenants (name, created)
    VALUES ('default', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'));
CREATE TABLE scimkit_server_tokens (
    id      text COLLATE "C" PRIMARY KEY,
    tenant  text COLLATE "C" NOT NULL REFERENCES scimkit_server_tenants (name),
    digest  bytea NOT NULL,
    label   text,
    created text COLLATE "C" NOT NULL,
    revoked text COLLATE "C"
);
CREATE TABLE scimkit_server_policies (
    tenant                   text COLLATE "C" PRIMARY KEY REFERENCES scimkit_server_tenants (name),
    enabled                  boolean NOT NULL,
    deletion                 text NOT NULL,
    group_policy             text NOT NULL,
    link_existing            text NOT NULL,
    require_guid_external_id boolean NOT NULL,
    rename_on_deactivate     text,
    updated                  text NOT NULL,
    updated_by               text NOT NULL
);
CREATE TABLE scimkit_server_log (
    seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time          text COLLATE "C" NOT NULL,
    tenant        text COLLATE "C" NOT NULL,
    token_id      text NOT NULL,
    request_id    text COLLATE "C" NOT NULL,
    method        text NOT NULL,
    path          text NOT NULL,
    operation     text NOT NULL,
    resource_type text,
    resource_id   text COLLATE "C",
    name          text,
    name_key      text COLLATE "C",
    status        integer NOT NULL,
    outcome       text COLLATE "C" NOT NULL,
    scim_type     text,
    detail        text
);
CREATE INDEX scimkit_server_log_by_time ON scimkit_server_log (time);
CREATE INDEX scimkit_server_log_by_tenant ON scimkit_server_log (tenant, time);
CREATE INDEX scimkit_server_log_by_resource ON scimkit_server_log (resource_id, time);
CREATE INDEX scimkit_server_log_by_name ON scimkit_server_log (name_key, time);
CREATE INDEX scimkit_server_log_by_outcome ON scimkit_server_log (outcome, time);
CREATE INDEX scimkit_server_log_by_request ON scimkit_server_log (request_id);
-- Admin sessions: the SHA-256 of the cookie's id, never the id.
CREATE TABLE scimkit_server_sessions (
    digest       bytea PRIMARY KEY,
    csrf         text NOT NULL,
    password_tag bytea NOT NULL,
    created      timestamptz NOT NULL DEFAULT now(),
    last_used    timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE scimkit_server_sync_state (
    tenant  text COLLATE "C" PRIMARY KEY,
    state   jsonb NOT NULL,
    updated timestamptz NOT NULL DEFAULT now()
);
"#;

const LOG_COLUMNS: &str = "time, tenant, token_id, request_id, method, path, operation, \
                           resource_type, resource_id, name, status, outcome, scim_type, detail";

/// How many log rows `export` reads per round trip.
const EXPORT_BATCH: i64 = 1000;

/// At most this many admin sessions are kept; the oldest go first.
const MAX_SESSIONS: i64 = 1000;

/// How many times a token id is drawn again on a collision.
const TOKEN_ATTEMPTS: usize = 16;

type Result<T, E = DbError> = std::result::Result<T, E>;

// ===== connections =====

/// A pooled connection; `broken` once a connection-level failure was seen.
struct Conn {
    client: Client,
    /// The hot statements (token lookup, log insert), prepared once per
    /// connection: a `&str` query costs a parse and an extra round trip.
    statements: HashMap<&'static str, Statement>,
    broken: bool,
}

impl Conn {
    /// `sql` prepared on this connection (once).
    fn prepared(&mut self, sql: &'static str) -> Result<Statement, postgres::Error> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql)?;
        self.statements.insert(sql, s.clone());
        Ok(s)
    }
}

struct Manager {
    config: postgres::Config,
}

impl ManageConnection for Manager {
    type Connection = Conn;
    type Error = postgres::Error;

    fn connect(&self) -> Result<Conn, postgres::Error> {
        Ok(Conn {
            client: self.config.connect(NoTls)?,
            statements: HashMap::new(),
            broken: false,
        })
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), postgres::Error> {
        conn.client.simple_query("").map(|_| ())
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        conn.broken || conn.client.is_closed()
    }
}

/// Logs the pool's background connection failures (they carry no password).
#[derive(Debug)]
struct LogErrors;

impl r2d2::HandleError<postgres::Error> for LogErrors {
    fn handle_error(&self, error: postgres::Error) {
        tracing::warn!(%error, "PostgreSQL (server tables): cannot open a connection");
    }
}

/// A failure of the connection or a server going away, not of a statement.
fn is_connection_error(e: &postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        return code.code().starts_with("08")
            || *code == SqlState::ADMIN_SHUTDOWN
            || *code == SqlState::CRASH_SHUTDOWN
            || *code == SqlState::CANNOT_CONNECT_NOW
            || *code == SqlState::TOO_MANY_CONNECTIONS
            || *code == SqlState::READ_ONLY_SQL_TRANSACTION;
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.is::<std::io::Error>() {
            return true;
        }
        source = s.source();
    }
    let text = e.to_string();
    text.starts_with("timeout waiting for server")
        || text.starts_with("error connecting to server")
        || text.starts_with("unexpected message from server")
}

/// Whether a call may be repeated on another connection after its connection
/// broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Reads and idempotent writes (upserts, deletes): yes.
    Repeatable,
    /// Inserts: no (the first attempt may have been committed).
    Once,
}

/// The server's tables in one PostgreSQL database.
pub(crate) struct PgDb {
    pool: Pool<Manager>,
    max: u32,
}

impl fmt::Debug for PgDb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.pool.state();
        f.debug_struct("PgDb")
            .field("connections", &s.connections)
            .field("idle_connections", &s.idle_connections)
            .finish()
    }
}

impl PgDb {
    /// Connect to `url` and bring the server's tables to the newest version.
    /// The caller has connected the store to the same URL first, so a bad URL
    /// or an unreachable server was reported by it (without the password).
    pub(crate) fn connect(url: &str, max_connections: u32, checkout: Duration) -> Result<Self> {
        let mut config: postgres::Config = url
            .parse()
            .map_err(|_| DbError::Unavailable("invalid connection string".to_owned()))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        if config.get_application_name().is_none() {
            config.application_name("scimkit-server");
        }
        let mut client = config.connect(NoTls)?;
        migrate(&mut client)?;
        drop(client);
        let pool = Pool::builder()
            .max_size(max_connections.max(1))
            .min_idle(Some(1))
            .connection_timeout(checkout.max(Duration::from_millis(1)))
            .test_on_check_out(false)
            .error_handler(Box::new(LogErrors))
            .build_unchecked(Manager { config });
        Ok(Self {
            pool,
            max: max_connections.max(1),
        })
    }

    /// Run `f` on a pooled connection's client; see [`Mode`] for retries.
    fn with<T>(
        &self,
        mode: Mode,
        mut f: impl FnMut(&mut Client) -> Result<T, postgres::Error>,
    ) -> Result<T> {
        self.with_conn(mode, |conn| f(&mut conn.client))
    }

    /// Run `f` on a pooled connection (with its prepared statements); see
    /// [`Mode`] for retries.
    fn with_conn<T>(
        &self,
        mode: Mode,
        mut f: impl FnMut(&mut Conn) -> Result<T, postgres::Error>,
    ) -> Result<T> {
        let mut attempts = 0u32;
        loop {
            let mut conn = self
                .pool
                .get()
                .map_err(|e| DbError::Unavailable(e.to_string()))?;
            match f(&mut conn) {
                Ok(v) => return Ok(v),
                Err(e) if is_connection_error(&e) => {
                    conn.broken = true;
                    drop(conn);
                    if mode == Mode::Repeatable && attempts <= self.max {
                        attempts += 1;
                        tracing::debug!(error = %e, "PostgreSQL connection broken; retrying on another");
                        continue;
                    }
                    return Err(DbError::Unavailable(e.to_string()));
                }
                Err(e) => return Err(DbError::Postgres(e)),
            }
        }
    }

    /// Whether the database answers (for `/healthz`).
    pub(crate) fn ping(&self) -> bool {
        self.with(Mode::Repeatable, |c| c.simple_query("SELECT 1").map(|_| ()))
            .is_ok()
    }

    // ===== tenants and tokens =====

    /// Insert a tenant; `false` when it exists already.
    pub(crate) fn insert_tenant(&self, name: &str) -> Result<bool> {
        let now = scimkit::time::now();
        self.with(Mode::Repeatable, |c| {
            c.execute(
                "INSERT INTO scimkit_server_tenants (name, created) VALUES ($1, $2)
                 ON CONFLICT (name) DO NOTHING",
                &[&name, &now],
            )
        })
        .map(|n| n == 1)
    }

    /// Whether a tenant exists.
    pub(crate) fn tenant_exists(&self, name: &str) -> Result<bool> {
        self.with(Mode::Repeatable, |c| {
            c.query_opt(
                "SELECT 1 FROM scimkit_server_tenants WHERE name = $1",
                &[&name],
            )
        })
        .map(|r| r.is_some())
    }

    /// Every tenant with its number of active tokens, by name.
    pub(crate) fn list_tenants(&self) -> Result<Vec<TenantRow>> {
        let rows = self.with(Mode::Repeatable, |c| {
            c.query(
                "SELECT t.name, t.created,
                        (SELECT count(*) FROM scimkit_server_tokens k
                          WHERE k.tenant = t.name AND k.revoked IS NULL)
                   FROM scimkit_server_tenants t ORDER BY t.name",
                &[],
            )
        })?;
        rows.iter()
            .map(|r| {
                Ok(TenantRow {
                    name: r.try_get(0)?,
                    created: r.try_get(1)?,
                    active_tokens: r.try_get(2)?,
                })
            })
            .collect()
    }

    /// Insert a token row for `tenant` (which must exist); `None`: the tenant
    /// does not exist.
    pub(crate) fn create_token(
        &self,
        tenant: &str,
        label: Option<&str>,
        mut draw: impl FnMut() -> Result<(String, [u8; 32], String)>,
    ) -> Result<Option<(String, String)>> {
        if !self.tenant_exists(tenant)? {
            return Ok(None);
        }
        for _ in 0..TOKEN_ATTEMPTS {
            let (id, digest, secret) = draw()?;
            let now = scimkit::time::now();
            let n = self.with(Mode::Once, |c| {
                insert_token(c, &id, tenant, &digest, label, &now)
            })?;
            if n == 1 {
                return Ok(Some((id, secret)));
            }
        }
        Err(DbError::Random(
            "no free token id after several attempts".to_owned(),
        ))
    }

    /// The first-start token, created by exactly one replica: the one whose
    /// `first_token` marker insert wins (the others wait for its commit on the
    /// key, then find it). `None` when a token was ever created.
    pub(crate) fn bootstrap(
        &self,
        tenant: &str,
        label: &str,
        mut draw: impl FnMut() -> Result<(String, [u8; 32], String)>,
    ) -> Result<Option<(String, String)>> {
        for _ in 0..TOKEN_ATTEMPTS {
            let (id, digest, secret) = draw()?;
            let now = scimkit::time::now();
            let created = self.with(Mode::Once, |c| {
                let mut tx = c.transaction()?;
                let fresh = tx.execute(
                    "INSERT INTO scimkit_server_meta (key, value) VALUES ('first_token', $1)
                     ON CONFLICT (key) DO NOTHING",
                    &[&now],
                )? == 1;
                let any: i64 = tx
                    .query_one("SELECT count(*) FROM scimkit_server_tokens", &[])?
                    .try_get(0)?;
                if !fresh || any > 0 {
                    tx.commit()?;
                    return Ok(Some(false));
                }
                if insert_token(&mut tx, &id, tenant, &digest, Some(label), &now)? == 0 {
                    // Id collision: roll back and draw again.
                    return Ok(None);
                }
                tx.commit()?;
                Ok(Some(true))
            })?;
            match created {
                Some(true) => return Ok(Some((id, secret))),
                Some(false) => return Ok(None),
                None => continue,
            }
        }
        Err(DbError::Random(
            "no free token id after several attempts".to_owned(),
        ))
    }

    /// Tokens, oldest first, optionally of one tenant.
    pub(crate) fn list_tokens(&self, tenant: Option<&str>) -> Result<Vec<TokenRow>> {
        let rows = self.with(Mode::Repeatable, |c| {
            c.query(
                "SELECT id, tenant, label, created, revoked FROM scimkit_server_tokens
                  WHERE $1::text IS NULL OR tenant = $1 ORDER BY created, id",
                &[&tenant],
            )
        })?;
        rows.iter()
            .map(|r| {
                Ok(TokenRow {
                    id: r.try_get(0)?,
                    tenant: r.try_get(1)?,
                    label: r.try_get(2)?,
                    created: r.try_get(3)?,
                    revoked: r.try_get(4)?,
                })
            })
            .collect()
    }

    /// Revoke a token (idempotent); its tenant, or `None` when no token has
    /// this id.
    pub(crate) fn revoke_token(&self, id: &str) -> Result<Option<String>> {
        let now = scimkit::time::now();
        let row = self.with(Mode::Repeatable, |c| {
            c.query_opt(
                "UPDATE scimkit_server_tokens SET revoked = COALESCE(revoked, $2)
                  WHERE id = $1 RETURNING tenant",
                &[&id, &now],
            )
        })?;
        row.map(|r| r.try_get(0)).transpose().map_err(Into::into)
    }

    /// How many tokens exist (`active_only`: not revoked).
    pub(crate) fn count_tokens(&self, active_only: bool) -> Result<i64> {
        let row = self.with(Mode::Repeatable, |c| {
            c.query_one(
                "SELECT count(*) FROM scimkit_server_tokens WHERE NOT $1 OR revoked IS NULL",
                &[&active_only],
            )
        })?;
        Ok(row.try_get(0)?)
    }

    /// The tenant and digest of the token with this id, active (`revoked:
    /// false`) or revoked.
    pub(crate) fn token(&self, id: &str, revoked: bool) -> Result<Option<(String, Vec<u8>)>> {
        // Every request comes here: a prepared statement.
        let row = self.with_conn(Mode::Repeatable, |c| {
            let stmt = c.prepared(
                "SELECT tenant, digest FROM scimkit_server_tokens
                  WHERE id = $1 AND (revoked IS NOT NULL) = $2",
            )?;
            c.client.query_opt(&stmt, &[&id, &revoked])
        })?;
        match row {
            None => Ok(None),
            Some(r) => Ok(Some((r.try_get(0)?, r.try_get(1)?))),
        }
    }

    // ===== admin password and policies =====

    /// A value of `scimkit_server_meta` (the admin password hash).
    pub(crate) fn meta(&self, key: &str) -> Result<Option<String>> {
        let row = self.with(Mode::Repeatable, |c| {
            c.query_opt(
                "SELECT value FROM scimkit_server_meta WHERE key = $1",
                &[&key],
            )
        })?;
        row.map(|r| r.try_get(0)).transpose().map_err(Into::into)
    }

    /// Store the admin password hash and end every session (they were
    /// opened with the old one; checking would refuse them anyway).
    pub(crate) fn set_admin_password_hash(&self, hash: &str) -> Result<()> {
        self.with(Mode::Repeatable, |c| {
            let mut tx = c.transaction()?;
            tx.execute(
                "INSERT INTO scimkit_server_meta (key, value) VALUES ('admin_password', $1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[&hash],
            )?;
            tx.execute("DELETE FROM scimkit_server_sessions", &[])?;
            tx.commit()
        })
    }

    /// A tenant's stored policies and who set them.
    pub(crate) fn tenant_policies(&self, tenant: &str) -> Result<Option<(PolicyRow, String)>> {
        let row = self.with(Mode::Repeatable, |c| {
            c.query_opt(
                "SELECT enabled, deletion, group_policy, link_existing, require_guid_external_id,
                        rename_on_deactivate, updated_by
                   FROM scimkit_server_policies WHERE tenant = $1",
                &[&tenant],
            )
        })?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some((
            PolicyRow {
                enabled: r.try_get(0)?,
                deletion: r.try_get(1)?,
                groups: r.try_get(2)?,
                link_existing: r.try_get(3)?,
                require_guid_external_id: r.try_get(4)?,
                rename_on_deactivate: r.try_get(5)?,
            },
            r.try_get(6)?,
        )))
    }

    /// Store a tenant's policies (the tenant must exist: foreign key).
    pub(crate) fn set_tenant_policies(&self, tenant: &str, p: &PolicyRow, by: &str) -> Result<()> {
        let now = scimkit::time::now();
        self.with(Mode::Repeatable, |c| {
            c.execute(
                "INSERT INTO scimkit_server_policies (tenant, enabled, deletion, group_policy,
                        link_existing, require_guid_external_id, rename_on_deactivate, updated, updated_by)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (tenant) DO UPDATE SET enabled = excluded.enabled,
                        deletion = excluded.deletion, group_policy = excluded.group_policy,
                        link_existing = excluded.link_existing,
                        require_guid_external_id = excluded.require_guid_external_id,
                        rename_on_deactivate = excluded.rename_on_deactivate,
                        updated = excluded.updated, updated_by = excluded.updated_by",
                &[
                    &tenant,
                    &p.enabled,
                    &p.deletion,
                    &p.groups,
                    &p.link_existing,
                    &p.require_guid_external_id,
                    &p.rename_on_deactivate,
                    &now,
                    &by,
                ],
            )
        })
        .map(|_| ())
    }

    // ===== admin sessions =====

    /// Store a new session (by the digest of its id), dropping expired ones
    /// and, beyond [`MAX_SESSIONS`], the oldest.
    pub(crate) fn session_open(
        &self,
        digest: &[u8; 32],
        csrf: &str,
        password_tag: &[u8; 32],
        idle: Duration,
        absolute: Duration,
    ) -> Result<()> {
        let (idle, absolute) = (idle.as_secs_f64(), absolute.as_secs_f64());
        self.with(Mode::Repeatable, |c| {
            let mut tx = c.transaction()?;
            tx.execute(
                "DELETE FROM scimkit_server_sessions
                  WHERE last_used <= now() - $1::float8 * interval '1 second'
                     OR created <= now() - $2::float8 * interval '1 second'",
                &[&idle, &absolute],
            )?;
            tx.execute(
                "DELETE FROM scimkit_server_sessions WHERE digest IN
                   (SELECT digest FROM scimkit_server_sessions ORDER BY created DESC OFFSET $1)",
                &[&(MAX_SESSIONS - 1)],
            )?;
            tx.execute(
                "INSERT INTO scimkit_server_sessions (digest, csrf, password_tag)
                 VALUES ($1, $2, $3) ON CONFLICT (digest) DO NOTHING",
                &[&&digest[..], &csrf, &&password_tag[..]],
            )?;
            tx.commit()
        })
    }

    /// The CSRF token and password tag of a live session, refreshing its idle
    /// time; `None` (and the row deleted) when it is unknown or expired.
    pub(crate) fn session_touch(
        &self,
        digest: &[u8; 32],
        idle: Duration,
        absolute: Duration,
    ) -> Result<Option<(String, Vec<u8>)>> {
        let (idle, absolute) = (idle.as_secs_f64(), absolute.as_secs_f64());
        let row = self.with(Mode::Repeatable, |c| {
            let row = c.query_opt(
                "UPDATE scimkit_server_sessions SET last_used = now()
                  WHERE digest = $1
                    AND last_used > now() - $2::float8 * interval '1 second'
                    AND created > now() - $3::float8 * interval '1 second'
                  RETURNING csrf, password_tag",
                &[&&digest[..], &idle, &absolute],
            )?;
            if row.is_none() {
                c.execute(
                    "DELETE FROM scimkit_server_sessions WHERE digest = $1",
                    &[&&digest[..]],
                )?;
            }
            Ok(row)
        })?;
        match row {
            None => Ok(None),
            Some(r) => Ok(Some((r.try_get(0)?, r.try_get(1)?))),
        }
    }

    /// End a session.
    pub(crate) fn session_close(&self, digest: &[u8; 32]) -> Result<()> {
        self.with(Mode::Repeatable, |c| {
            c.execute(
                "DELETE FROM scimkit_server_sessions WHERE digest = $1",
                &[&&digest[..]],
            )
        })
        .map(|_| ())
    }

    // ===== the provisioning log =====

    /// Append entries to the provisioning log in one transaction (one commit
    /// for the batch; not retried: an insert).
    pub(crate) fn log_record_batch(&self, entries: &[LogEntry]) -> Result<()> {
        self.with_conn(Mode::Once, |c| {
            let stmt = c.prepared(
                "INSERT INTO scimkit_server_log (time, tenant, token_id, request_id, method, path,
                        operation, resource_type, resource_id, name, status, outcome, scim_type,
                        detail, name_key)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            )?;
            let mut tx = c.client.transaction()?;
            for e in entries {
                let status = i32::from(e.status);
                let name_key = e.name.as_deref().map(fold_case);
                let resource_type = e.resource_type.map(ResourceKind::as_str);
                let outcome = e.outcome.as_str();
                tx.execute(
                    &stmt,
                    &[
                        &e.time,
                        &e.tenant,
                        &e.token_id,
                        &e.request_id,
                        &e.method,
                        &e.path,
                        &e.operation,
                        &resource_type,
                        &e.resource_id,
                        &e.name,
                        &status,
                        &outcome,
                        &e.scim_type,
                        &e.detail,
                        &name_key,
                    ],
                )?;
            }
            tx.commit()
        })
    }

    /// Entries newest first, honouring offset and limit.
    pub(crate) fn log_query(&self, q: &LogQuery) -> Result<Vec<LogEntry>> {
        let (w, mut args) = conditions(q);
        let n = args.len();
        args.push(Box::new(
            i64::try_from(q.effective_limit()).unwrap_or(i64::MAX),
        ));
        args.push(Box::new(i64::try_from(q.offset).unwrap_or(i64::MAX)));
        let sql = format!(
            "SELECT {LOG_COLUMNS} FROM scimkit_server_log{w}
              ORDER BY time DESC, seq DESC LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        );
        let rows = self.with(Mode::Repeatable, |c| c.query(&sql, &refs(&args)))?;
        rows.iter().map(row_to_entry).collect()
    }

    /// How many entries match (offset and limit ignored).
    pub(crate) fn log_count(&self, q: &LogQuery) -> Result<u64> {
        let (w, args) = conditions(q);
        let sql = format!("SELECT count(*) FROM scimkit_server_log{w}");
        let row = self.with(Mode::Repeatable, |c| c.query_one(&sql, &refs(&args)))?;
        let n: i64 = row.try_get(0)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Every matching entry, oldest first, as JSON lines, read in batches.
    pub(crate) fn log_export(
        &self,
        q: &LogQuery,
        out: &mut dyn Write,
    ) -> Result<u64, crate::Error> {
        let (w, args) = conditions(q);
        let n = args.len();
        let joiner = if w.is_empty() { " WHERE" } else { " AND" };
        let first = format!(
            "SELECT {LOG_COLUMNS}, seq FROM scimkit_server_log{w} ORDER BY time, seq LIMIT ${}",
            n + 1
        );
        let next = format!(
            "SELECT {LOG_COLUMNS}, seq FROM scimkit_server_log{w}{joiner} (time, seq) > (${}, ${})
              ORDER BY time, seq LIMIT ${}",
            n + 1,
            n + 2,
            n + 3
        );
        let mut after: Option<(String, i64)> = None;
        let mut written = 0u64;
        loop {
            let rows = match &after {
                None => {
                    let mut a = refs(&args);
                    a.push(&EXPORT_BATCH);
                    self.with(Mode::Repeatable, |c| c.query(&first, &a))?
                }
                Some((time, seq)) => {
                    let mut a = refs(&args);
                    a.push(time);
                    a.push(seq);
                    a.push(&EXPORT_BATCH);
                    self.with(Mode::Repeatable, |c| c.query(&next, &a))?
                }
            };
            for r in &rows {
                let e = row_to_entry(r)?;
                serde_json::to_writer(&mut *out, &e.to_json())?;
                out.write_all(b"\n")?;
                written += 1;
            }
            match rows.last() {
                Some(r) if i64::try_from(rows.len()).unwrap_or(0) == EXPORT_BATCH => {
                    after = Some((r.try_get(0)?, r.try_get(14)?));
                }
                _ => break,
            }
        }
        out.flush()?;
        Ok(written)
    }

    /// Entries and failures per hour or day since `since`.
    pub(crate) fn log_buckets(
        &self,
        tenant: Option<&str>,
        since: &str,
        hourly: bool,
    ) -> Result<Vec<Bucket>> {
        let len: i32 = if hourly { 13 } else { 10 };
        let rows = self.with(Mode::Repeatable, |c| {
            c.query(
                "SELECT substr(time, 1, $3) AS b, count(*),
                        count(*) FILTER (WHERE outcome = 'failure')
                   FROM scimkit_server_log
                  WHERE time >= $1 AND ($2::text IS NULL OR tenant = $2)
                  GROUP BY b ORDER BY b",
                &[&since, &tenant, &len],
            )
        })?;
        rows.iter()
            .map(|r| {
                Ok(Bucket {
                    start: r.try_get(0)?,
                    total: count(r.try_get(1)?),
                    failures: count(r.try_get(2)?),
                })
            })
            .collect()
    }

    /// Entries and failures per tenant since `since`.
    pub(crate) fn log_totals(&self, since: &str) -> Result<Vec<TenantTotals>> {
        let rows = self.with(Mode::Repeatable, |c| {
            c.query(
                "SELECT tenant, count(*), count(*) FILTER (WHERE outcome = 'failure')
                   FROM scimkit_server_log WHERE time >= $1 GROUP BY tenant ORDER BY tenant",
                &[&since],
            )
        })?;
        rows.iter()
            .map(|r| {
                Ok(TenantTotals {
                    tenant: r.try_get(0)?,
                    total: count(r.try_get(1)?),
                    failures: count(r.try_get(2)?),
                })
            })
            .collect()
    }

    /// Delete entries older than `before`; how many.
    pub(crate) fn log_prune(&self, before: &str) -> Result<usize> {
        let n = self.with(Mode::Repeatable, |c| {
            c.execute("DELETE FROM scimkit_server_log WHERE time < $1", &[&before])
        })?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    // ===== Graph sync state =====

    /// The session-level advisory lock of a tenant's Graph sync, held (on a
    /// connection of its own) until the returned guard is dropped; `None`
    /// when another process holds it.
    pub(crate) fn sync_lock(&self, tenant: &str) -> Result<Option<SyncLock>> {
        let mut conn = self
            .pool
            .get()
            .map_err(|e| DbError::Unavailable(e.to_string()))?;
        let got: bool = match conn.client.query_one(
            "SELECT pg_try_advisory_lock($1, hashtext($2))",
            &[&SYNC_LOCK_CLASS, &tenant],
        ) {
            Ok(r) => r.try_get(0)?,
            Err(e) => {
                conn.broken = is_connection_error(&e);
                return Err(if conn.broken {
                    DbError::Unavailable(e.to_string())
                } else {
                    DbError::Postgres(e)
                });
            }
        };
        Ok(got.then(|| SyncLock {
            conn,
            tenant: tenant.to_owned(),
        }))
    }

    /// A tenant's Graph sync state.
    pub(crate) fn sync_load(&self, tenant: &str) -> Result<Option<SyncState>> {
        let row = self.with(Mode::Repeatable, |c| {
            c.query_opt(
                "SELECT state FROM scimkit_server_sync_state WHERE tenant = $1",
                &[&tenant],
            )
        })?;
        match row {
            None => Ok(None),
            Some(r) => {
                let Json(state): Json<SyncState> = r.try_get(0)?;
                Ok(Some(state))
            }
        }
    }

    /// Replace a tenant's Graph sync state.
    pub(crate) fn sync_save(&self, tenant: &str, state: &SyncState) -> Result<()> {
        self.with(Mode::Repeatable, |c| {
            c.execute(
                "INSERT INTO scimkit_server_sync_state (tenant, state) VALUES ($1, $2)
                 ON CONFLICT (tenant) DO UPDATE SET state = excluded.state, updated = now()",
                &[&tenant, &Json(state)],
            )
        })
        .map(|_| ())
    }

    /// Forget a tenant's Graph sync state.
    pub(crate) fn sync_clear(&self, tenant: &str) -> Result<()> {
        self.with(Mode::Repeatable, |c| {
            c.execute(
                "DELETE FROM scimkit_server_sync_state WHERE tenant = $1",
                &[&tenant],
            )
        })
        .map(|_| ())
    }
}

/// The first key of the sync locks ("sync" as an integer).
const SYNC_LOCK_CLASS: i32 = 0x7379_6e63;

/// A held sync lock (see [`PgDb::sync_lock`]).
pub(crate) struct SyncLock {
    conn: r2d2::PooledConnection<Manager>,
    tenant: String,
}

impl Drop for SyncLock {
    fn drop(&mut self) {
        let r = self.conn.client.execute(
            "SELECT pg_advisory_unlock($1, hashtext($2))",
            &[&SYNC_LOCK_CLASS, &self.tenant],
        );
        if r.is_err() {
            // The lock goes with the session: never hand it on to another user.
            self.conn.broken = true;
        }
    }
}

fn insert_token(
    c: &mut impl GenericClient,
    id: &str,
    tenant: &str,
    digest: &[u8; 32],
    label: Option<&str>,
    now: &str,
) -> Result<u64, postgres::Error> {
    c.execute(
        "INSERT INTO scimkit_server_tokens (id, tenant, digest, label, created)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
        &[&id, &tenant, &&digest[..], &label, &now],
    )
}

/// Bring the server's tables to the newest version (see the module docs).
fn migrate(client: &mut Client) -> Result<(), postgres::Error> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY])?;
    // Checked first rather than `CREATE TABLE IF NOT EXISTS`, whose notice
    // would be logged at every start.
    let exists: bool = tx
        .query_one(
            "SELECT to_regclass('scimkit_server_migrations') IS NOT NULL",
            &[],
        )?
        .try_get(0)?;
    if !exists {
        tx.batch_execute(
            "CREATE TABLE scimkit_server_migrations (
                 version    bigint PRIMARY KEY,
                 applied_at timestamptz NOT NULL DEFAULT now()
             )",
        )?;
    }
    let found: i64 = tx
        .query_one(
            "SELECT COALESCE(max(version), 0) FROM scimkit_server_migrations",
            &[],
        )?
        .try_get(0)?;
    let start = usize::try_from(found).unwrap_or(0);
    if start > MIGRATIONS.len() {
        tracing::warn!(
            found,
            supported = MIGRATIONS.len(),
            "the server tables were migrated by a newer scimkit; using them as they are"
        );
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(start) {
        let version = i64::try_from(i + 1).unwrap_or(i64::MAX);
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO scimkit_server_migrations (version) VALUES ($1)",
            &[&version],
        )?;
        tracing::info!(version, "applied PostgreSQL server-table migration");
    }
    tx.commit()
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

type Arg = Box<dyn ToSql + Sync>;

fn refs(args: &[Arg]) -> Vec<&(dyn ToSql + Sync)> {
    args.iter().map(|a| &**a as &(dyn ToSql + Sync)).collect()
}

/// The WHERE clause (numbered parameters) and arguments of a log query.
fn conditions(q: &LogQuery) -> (String, Vec<Arg>) {
    let mut clauses: Vec<String> = Vec::new();
    let mut args: Vec<Arg> = Vec::new();
    let mut push = |column: &str, op: &str, v: Arg| {
        args.push(v);
        clauses.push(format!("{column} {op} ${}", args.len()));
    };
    if let Some(t) = &q.tenant {
        push("tenant", "=", Box::new(t.clone()));
    }
    if let Some(s) = &q.since {
        push("time", ">=", Box::new(s.clone()));
    }
    if let Some(u) = &q.until {
        push("time", "<", Box::new(u.clone()));
    }
    if let Some(r) = &q.resource_id {
        push("resource_id", "=", Box::new(r.clone()));
    }
    if let Some(n) = &q.name {
        push("name_key", "=", Box::new(fold_case(n)));
    }
    if let Some(o) = q.outcome {
        push("outcome", "=", Box::new(o.as_str()));
    }
    let sql = if clauses.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", clauses.join(" AND "))
    };
    (sql, args)
}

fn row_to_entry(r: &postgres::Row) -> Result<LogEntry> {
    let resource_type: Option<String> = r.try_get(7)?;
    let outcome: String = r.try_get(11)?;
    let status: i32 = r.try_get(10)?;
    Ok(LogEntry {
        time: r.try_get(0)?,
        tenant: r.try_get(1)?,
        token_id: r.try_get(2)?,
        request_id: r.try_get(3)?,
        method: r.try_get(4)?,
        path: r.try_get(5)?,
        operation: r.try_get(6)?,
        resource_type: resource_type.and_then(|t| {
            ResourceKind::ALL
                .into_iter()
                .find(|k| k.as_str() == t.as_str())
        }),
        resource_id: r.try_get(8)?,
        name: r.try_get(9)?,
        status: u16::try_from(status).unwrap_or(0),
        outcome: Outcome::parse(&outcome).unwrap_or(Outcome::Failure),
        scim_type: r.try_get(12)?,
        detail: r.try_get(13)?,
    })
}
