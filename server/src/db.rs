//! The server's own tables — tenants and bearer-token hashes — in the same SQLite
//! file as the store, on a connection of their own, or in the same PostgreSQL
//! database as the store (`crate::pg`). Table names start with
//! `scimkit_server_` so they never meet the store's.
//!
//! A token is `scimkit_` + 43 characters of URL-safe base64 (256 random bits).
//! Only its SHA-256 digest ([`scimkit::auth::token_digest`]) is stored, with an id
//! made of the digest's first 8 hex digits (the id the core's logs and the
//! provisioning log show). A request's token is looked up by that id and the
//! whole digest is then compared in constant time.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use parking_lot::Mutex;
use rusqlite::{Connection, OptionalExtension, params};
use scimkit::auth::{Authenticator, Principal, token_digest};
use subtle::ConstantTimeEq;

/// Everything that can go wrong with the server's tables.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DbError {
    /// SQLite failed.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL failed (a statement, not the connection).
    #[error("database error: {0}")]
    Postgres(#[from] postgres::Error),
    /// PostgreSQL could not be reached in time, or the connection broke.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// The tenant name is not acceptable.
    #[error(
        "invalid tenant name {0:?}: use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
    )]
    TenantName(String),
    /// The tenant exists already.
    #[error("tenant {0:?} exists already")]
    TenantExists(String),
    /// The tenant does not exist.
    #[error("tenant {0:?} does not exist: create it first with `scimkit tenant create {0}`")]
    NoTenant(String),
    /// No token has this id.
    #[error("no token with id {0:?} (see `scimkit token list`)")]
    NoToken(String),
    /// The system's random source failed.
    #[error("cannot generate a token: {0}")]
    Random(String),
}

type Result<T, E = DbError> = std::result::Result<T, E>;

/// The tenant that always exists (the first token is for it).
pub(crate) const DEFAULT_TENANT: &str = "default";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS scimkit_server_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS scimkit_server_tenants (
    name    TEXT PRIMARY KEY,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS scimkit_server_tokens (
    id      TEXT PRIMARY KEY,
    tenant  TEXT NOT NULL REFERENCES scimkit_server_tenants(name),
    digest  BLOB NOT NULL,
    label   TEXT,
    created TEXT NOT NULL,
    revoked TEXT
);
CREATE TABLE IF NOT EXISTS scimkit_server_policies (
    tenant                   TEXT PRIMARY KEY REFERENCES scimkit_server_tenants(name),
    enabled                  INTEGER NOT NULL,
    deletion                 TEXT NOT NULL,
    group_policy             TEXT NOT NULL,
    link_existing            TEXT NOT NULL,
    require_guid_external_id INTEGER NOT NULL,
    rename_on_deactivate     TEXT,
    updated                  TEXT NOT NULL,
    updated_by               TEXT NOT NULL
);
INSERT OR IGNORE INTO scimkit_server_meta (key, value) VALUES ('schema_version', '1');
INSERT OR IGNORE INTO scimkit_server_tenants (name, created)
    VALUES ('default', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
";

/// A tenant and how many usable tokens it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TenantRow {
    pub(crate) name: String,
    pub(crate) created: String,
    pub(crate) active_tokens: i64,
}

/// A token as listed (never the secret: it is not stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenRow {
    pub(crate) id: String,
    pub(crate) tenant: String,
    pub(crate) label: Option<String>,
    pub(crate) created: String,
    pub(crate) revoked: Option<String>,
}

/// A tenant's policies as stored (names as in the config file; see
/// `crate::policies`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PolicyRow {
    pub(crate) enabled: bool,
    pub(crate) deletion: String,
    pub(crate) groups: String,
    pub(crate) link_existing: String,
    pub(crate) require_guid_external_id: bool,
    pub(crate) rename_on_deactivate: Option<String>,
}

/// A token just created: the only time its secret exists outside the client.
#[derive(Debug)]
pub(crate) struct NewToken {
    pub(crate) id: String,
    pub(crate) tenant: String,
    pub(crate) secret: String,
}

/// Where the server's tables live.
enum Backend {
    /// One connection to the SQLite file.
    Sqlite(Mutex<Connection>),
    /// A pool of connections to PostgreSQL, shared with other replicas.
    Postgres(std::sync::Arc<crate::pg::PgDb>),
}

/// The server's tables: on one SQLite connection, or in PostgreSQL.
pub(crate) struct AdminDb {
    backend: Backend,
    /// Principals of recently accepted tokens by digest, for request logs (the
    /// engine authenticates; the log middleware only needs the tenant).
    recent: Mutex<HashMap<[u8; 32], Principal>>,
}

impl std::fmt::Debug for AdminDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminDb").finish_non_exhaustive()
    }
}

/// At most this many digests are remembered for logging.
const RECENT_MAX: usize = 1024;

fn token_id(digest: &[u8; 32]) -> String {
    digest[..4].iter().map(|b| format!("{b:02x}")).collect()
}

fn valid_tenant_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// A new random token: its id, digest and secret.
fn draw_token() -> Result<(String, [u8; 32], String)> {
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(|e| DbError::Random(e.to_string()))?;
    let secret = format!(
        "scimkit_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    );
    let digest = token_digest(&secret);
    Ok((token_id(&digest), digest, secret))
}

impl AdminDb {
    /// Open (creating if needed) the server's tables in the SQLite file at `path`.
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        // WAL lets the store's connections and this one read while one writes.
        let _mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        conn.pragma_update(None, "foreign_keys", true)?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self {
            backend: Backend::Sqlite(Mutex::new(conn)),
            recent: Mutex::new(HashMap::new()),
        })
    }

    /// The server's tables in PostgreSQL (created or migrated).
    pub(crate) fn postgres(db: std::sync::Arc<crate::pg::PgDb>) -> Self {
        Self {
            backend: Backend::Postgres(db),
            recent: Mutex::new(HashMap::new()),
        }
    }

    /// The PostgreSQL tables, when the server runs on PostgreSQL (admin
    /// sessions and sync state live there too).
    pub(crate) fn pg(&self) -> Option<std::sync::Arc<crate::pg::PgDb>> {
        match &self.backend {
            Backend::Postgres(p) => Some(p.clone()),
            Backend::Sqlite(_) => None,
        }
    }

    /// Create a tenant.
    pub(crate) fn create_tenant(&self, name: &str) -> Result<()> {
        if !valid_tenant_name(name) {
            return Err(DbError::TenantName(name.to_owned()));
        }
        let inserted =
            match &self.backend {
                Backend::Sqlite(conn) => conn.lock().execute(
                    "INSERT OR IGNORE INTO scimkit_server_tenants (name, created) VALUES (?1, ?2)",
                    params![name, scimkit::time::now()],
                )? == 1,
                Backend::Postgres(pg) => pg.insert_tenant(name)?,
            };
        if !inserted {
            return Err(DbError::TenantExists(name.to_owned()));
        }
        Ok(())
    }

    /// Every tenant, by name.
    pub(crate) fn list_tenants(&self) -> Result<Vec<TenantRow>> {
        let conn = match &self.backend {
            Backend::Sqlite(conn) => conn.lock(),
            Backend::Postgres(pg) => return pg.list_tenants(),
        };
        let mut stmt = conn.prepare(
            "SELECT t.name, t.created,
                    (SELECT count(*) FROM scimkit_server_tokens k
                      WHERE k.tenant = t.name AND k.revoked IS NULL)
               FROM scimkit_server_tenants t ORDER BY t.name",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(TenantRow {
                name: r.get(0)?,
                created: r.get(1)?,
                active_tokens: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Create a token for an existing tenant and return its secret (shown once).
    pub(crate) fn create_token(&self, tenant: &str, label: Option<&str>) -> Result<NewToken> {
        let conn = match &self.backend {
            Backend::Sqlite(conn) => conn.lock(),
            Backend::Postgres(pg) => {
                let (id, secret) = pg
                    .create_token(tenant, label, draw_token)?
                    .ok_or_else(|| DbError::NoTenant(tenant.to_owned()))?;
                return Ok(NewToken {
                    id,
                    tenant: tenant.to_owned(),
                    secret,
                });
            }
        };
        let exists: Option<String> = conn
            .query_row(
                "SELECT name FROM scimkit_server_tenants WHERE name = ?1",
                [tenant],
                |r| r.get(0),
            )
            .optional()?;
        if exists.is_none() {
            return Err(DbError::NoTenant(tenant.to_owned()));
        }
        // Ids are 32 bits of the digest: on the rare collision, draw again.
        loop {
            let (id, digest, secret) = draw_token()?;
            let n = conn.execute(
                "INSERT OR IGNORE INTO scimkit_server_tokens (id, tenant, digest, label, created)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, tenant, &digest[..], label, scimkit::time::now()],
            )?;
            if n == 1 {
                return Ok(NewToken {
                    id,
                    tenant: tenant.to_owned(),
                    secret,
                });
            }
        }
    }

    /// Tokens, oldest first, optionally of one tenant.
    pub(crate) fn list_tokens(&self, tenant: Option<&str>) -> Result<Vec<TokenRow>> {
        let conn = match &self.backend {
            Backend::Sqlite(conn) => conn.lock(),
            Backend::Postgres(pg) => return pg.list_tokens(tenant),
        };
        let mut stmt = conn.prepare(
            "SELECT id, tenant, label, created, revoked FROM scimkit_server_tokens
              WHERE ?1 IS NULL OR tenant = ?1 ORDER BY created, id",
        )?;
        let rows = stmt.query_map([tenant], |r| {
            Ok(TokenRow {
                id: r.get(0)?,
                tenant: r.get(1)?,
                label: r.get(2)?,
                created: r.get(3)?,
                revoked: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Revoke a token by id; the next request using it answers 401. Returns its
    /// tenant.
    pub(crate) fn revoke_token(&self, id: &str) -> Result<String> {
        let tenant = match &self.backend {
            Backend::Sqlite(conn) => {
                let conn = conn.lock();
                let tenant: Option<String> = conn
                    .query_row(
                        "SELECT tenant FROM scimkit_server_tokens WHERE id = ?1",
                        [id],
                        |r| r.get(0),
                    )
                    .optional()?;
                let tenant = tenant.ok_or_else(|| DbError::NoToken(id.to_owned()))?;
                conn.execute(
                    "UPDATE scimkit_server_tokens SET revoked = ?2 WHERE id = ?1 AND revoked IS NULL",
                    params![id, scimkit::time::now()],
                )?;
                tenant
            }
            Backend::Postgres(pg) => pg
                .revoke_token(id)?
                .ok_or_else(|| DbError::NoToken(id.to_owned()))?,
        };
        self.recent.lock().retain(|_, p| p.token_id != id);
        Ok(tenant)
    }

    fn count_tokens(&self, active_only: bool) -> Result<i64> {
        match &self.backend {
            Backend::Sqlite(conn) => Ok(conn.lock().query_row(
                "SELECT count(*) FROM scimkit_server_tokens WHERE NOT ?1 OR revoked IS NULL",
                [active_only],
                |r| r.get(0),
            )?),
            Backend::Postgres(pg) => pg.count_tokens(active_only),
        }
    }

    /// Whether any token, even revoked, was ever created.
    pub(crate) fn has_any_token(&self) -> Result<bool> {
        Ok(self.count_tokens(false)? > 0)
    }

    /// The number of tokens not revoked.
    pub(crate) fn active_tokens(&self) -> Result<i64> {
        self.count_tokens(true)
    }

    /// First start (no token was ever created): a token for the default tenant.
    /// On PostgreSQL exactly one of several replicas starting together creates
    /// it.
    pub(crate) fn bootstrap(&self) -> Result<Option<NewToken>> {
        const LABEL: &str = "created on first start";
        if let Backend::Postgres(pg) = &self.backend {
            return Ok(pg
                .bootstrap(DEFAULT_TENANT, LABEL, draw_token)?
                .map(|(id, secret)| NewToken {
                    id,
                    tenant: DEFAULT_TENANT.to_owned(),
                    secret,
                }));
        }
        if self.has_any_token()? {
            return Ok(None);
        }
        self.create_token(DEFAULT_TENANT, Some(LABEL)).map(Some)
    }

    /// Whether the database answers (for `/healthz`).
    pub(crate) fn ping(&self) -> bool {
        match &self.backend {
            Backend::Sqlite(conn) => conn
                .lock()
                .query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
                .is_ok(),
            Backend::Postgres(pg) => pg.ping(),
        }
    }

    /// The principal of a token the engine accepted recently (for logs).
    pub(crate) fn recent_principal(&self, token: &str) -> Option<Principal> {
        self.recent.lock().get(&token_digest(token)).cloned()
    }

    /// The admin page's password hash (Argon2id PHC string), if one is set.
    pub(crate) fn admin_password_hash(&self) -> Result<Option<String>> {
        match &self.backend {
            Backend::Sqlite(conn) => Ok(conn
                .lock()
                .query_row(
                    "SELECT value FROM scimkit_server_meta WHERE key = 'admin_password'",
                    [],
                    |r| r.get(0),
                )
                .optional()?),
            Backend::Postgres(pg) => pg.meta("admin_password"),
        }
    }

    /// Store the admin page's password hash (replacing any previous one).
    pub(crate) fn set_admin_password_hash(&self, hash: &str) -> Result<()> {
        match &self.backend {
            Backend::Sqlite(conn) => {
                conn.lock().execute(
                    "INSERT INTO scimkit_server_meta (key, value) VALUES ('admin_password', ?1)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    [hash],
                )?;
                Ok(())
            }
            Backend::Postgres(pg) => pg.set_admin_password_hash(hash),
        }
    }

    /// Whether a tenant exists.
    pub(crate) fn tenant_exists(&self, name: &str) -> Result<bool> {
        match &self.backend {
            Backend::Sqlite(conn) => Ok(conn
                .lock()
                .query_row(
                    "SELECT 1 FROM scimkit_server_tenants WHERE name = ?1",
                    [name],
                    |_| Ok(()),
                )
                .optional()?
                .is_some()),
            Backend::Postgres(pg) => pg.tenant_exists(name),
        }
    }

    /// The stored policies of a tenant (`None`: never set), and who set them
    /// last (`config` or `admin`).
    pub(crate) fn tenant_policies(&self, tenant: &str) -> Result<Option<(PolicyRow, String)>> {
        let conn = match &self.backend {
            Backend::Sqlite(conn) => conn.lock(),
            Backend::Postgres(pg) => return pg.tenant_policies(tenant),
        };
        Ok(conn
            .query_row(
                "SELECT enabled, deletion, group_policy, link_existing, require_guid_external_id,
                        rename_on_deactivate, updated_by
                   FROM scimkit_server_policies WHERE tenant = ?1",
                [tenant],
                |r| {
                    Ok((
                        PolicyRow {
                            enabled: r.get(0)?,
                            deletion: r.get(1)?,
                            groups: r.get(2)?,
                            link_existing: r.get(3)?,
                            require_guid_external_id: r.get(4)?,
                            rename_on_deactivate: r.get(5)?,
                        },
                        r.get(6)?,
                    ))
                },
            )
            .optional()?)
    }

    /// Store a tenant's policies (the tenant must exist).
    pub(crate) fn set_tenant_policies(&self, tenant: &str, p: &PolicyRow, by: &str) -> Result<()> {
        if !self.tenant_exists(tenant)? {
            return Err(DbError::NoTenant(tenant.to_owned()));
        }
        let conn = match &self.backend {
            Backend::Sqlite(conn) => conn.lock(),
            Backend::Postgres(pg) => return pg.set_tenant_policies(tenant, p, by),
        };
        conn.execute(
            "INSERT INTO scimkit_server_policies (tenant, enabled, deletion, group_policy,
                    link_existing, require_guid_external_id, rename_on_deactivate, updated, updated_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (tenant) DO UPDATE SET enabled = excluded.enabled,
                    deletion = excluded.deletion, group_policy = excluded.group_policy,
                    link_existing = excluded.link_existing,
                    require_guid_external_id = excluded.require_guid_external_id,
                    rename_on_deactivate = excluded.rename_on_deactivate,
                    updated = excluded.updated, updated_by = excluded.updated_by",
            params![
                tenant,
                p.enabled,
                p.deletion,
                p.groups,
                p.link_existing,
                p.require_guid_external_id,
                p.rename_on_deactivate,
                scimkit::time::now(),
                by
            ],
        )?;
        Ok(())
    }

    /// The tenant and digest of the token with this id that is revoked
    /// (`revoked`) or active.
    fn token_row(&self, id: &str, revoked: bool) -> Result<Option<(String, Vec<u8>)>> {
        match &self.backend {
            Backend::Sqlite(conn) => {
                // Every request comes here: the statements are prepared once
                // per connection (parsing them each time cost ~5% of the
                // server's CPU under load, see bench/README.md).
                let sql = if revoked {
                    "SELECT tenant, digest FROM scimkit_server_tokens WHERE id = ?1 AND revoked IS NOT NULL"
                } else {
                    "SELECT tenant, digest FROM scimkit_server_tokens WHERE id = ?1 AND revoked IS NULL"
                };
                Ok(conn
                    .lock()
                    .prepare_cached(sql)?
                    .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?)
            }
            Backend::Postgres(pg) => pg.token(id, revoked),
        }
    }

    /// The tenant and id of `token` when it is one of ours that was revoked
    /// (to attribute a 401 in the provisioning log).
    pub(crate) fn revoked_token(&self, token: &str) -> Result<Option<(String, String)>> {
        let digest = token_digest(token);
        let id = token_id(&digest);
        let row = self.token_row(&id, true)?;
        Ok(row
            .filter(|(_, stored)| bool::from(stored.as_slice().ct_eq(&digest[..])))
            .map(|(tenant, _)| (tenant, id)))
    }

    /// Checkpoint the WAL into the main file, so a stopped server leaves one
    /// self-contained database file (PostgreSQL: close the pool).
    pub(crate) fn close(self) -> Result<()> {
        match self.backend {
            Backend::Sqlite(conn) => {
                let conn = conn.into_inner();
                conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
                conn.close().map_err(|(_, e)| DbError::Sqlite(e))
            }
            Backend::Postgres(_) => Ok(()),
        }
    }

    fn lookup(&self, token: &str) -> Result<Option<Principal>> {
        let digest = token_digest(token);
        let id = token_id(&digest);
        let Some((tenant, stored)) = self.token_row(&id, false)? else {
            return Ok(None);
        };
        if !bool::from(stored.as_slice().ct_eq(&digest[..])) {
            return Ok(None);
        }
        let principal = Principal {
            tenant,
            token_id: id,
        };
        let mut recent = self.recent.lock();
        if recent.len() >= RECENT_MAX {
            recent.clear();
        }
        recent.insert(digest, principal.clone());
        Ok(Some(principal))
    }
}

/// The engine's authenticator: tokens in the server's tables, checked on every
/// request (so `token create` / `token revoke` from another process take effect
/// at once).
#[derive(Debug)]
pub(crate) struct TokenAuth(pub(crate) std::sync::Arc<AdminDb>);

impl Authenticator for TokenAuth {
    fn authenticate(&self, token: Option<&str>) -> Option<Principal> {
        self.try_authenticate(token).ok().flatten()
    }

    /// A database failure answers 503 (retry), not 401 (which would make Entra
    /// report wrong credentials).
    fn try_authenticate(
        &self,
        token: Option<&str>,
    ) -> std::result::Result<Option<Principal>, scimkit::auth::AuthUnavailable> {
        let Some(token) = token else { return Ok(None) };
        self.0.lookup(token).map_err(|e| {
            tracing::error!(error = %e, "token lookup failed");
            scimkit::auth::AuthUnavailable(Box::new(e))
        })
    }

    /// A revoked token of ours: its tenant and id go into the provisioning log.
    fn rejected_principal(&self, token: &str) -> Option<Principal> {
        match self.0.revoked_token(token) {
            Ok(found) => found.map(|(tenant, token_id)| Principal { tenant, token_id }),
            Err(e) => {
                tracing::warn!(error = %e, "cannot attribute a rejected request");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> (tempfile::TempDir, AdminDb) {
        let dir = tempfile::tempdir().unwrap();
        let db = AdminDb::open(&dir.path().join("t.db")).unwrap();
        (dir, db)
    }

    #[test]
    fn tokens_authenticate_until_revoked() {
        let (_dir, db) = db();
        db.create_tenant("contoso").unwrap();
        let t = db.create_token("contoso", Some("entra")).unwrap();
        assert!(t.secret.starts_with("scimkit_") && t.secret.len() == 8 + 43);
        let p = db.lookup(&t.secret).unwrap().unwrap();
        assert_eq!(
            (p.tenant.as_str(), p.token_id.as_str()),
            ("contoso", t.id.as_str())
        );
        assert_eq!(db.recent_principal(&t.secret), Some(p));
        assert_eq!(db.lookup("scimkit_wrong").unwrap(), None);
        assert_eq!(db.revoke_token(&t.id).unwrap(), "contoso");
        assert_eq!(db.lookup(&t.secret).unwrap(), None);
        assert_eq!(db.recent_principal(&t.secret), None);
        let rows = db.list_tokens(Some("contoso")).unwrap();
        assert_eq!(rows.len(), 1);
        assert!(rows[0].revoked.is_some());
        // The engine's authenticator names the revoked token's owner for the
        // provisioning log, and nobody for an unknown token.
        let auth = TokenAuth(std::sync::Arc::new(db));
        let owner = auth.rejected_principal(&t.secret).unwrap();
        assert_eq!(
            (owner.tenant.as_str(), owner.token_id.as_str()),
            ("contoso", t.id.as_str())
        );
        assert!(auth.rejected_principal("scimkit_wrong").is_none());
        assert!(auth.try_authenticate(Some(&t.secret)).unwrap().is_none());
    }

    #[test]
    fn only_the_digest_is_stored() {
        let (dir, db) = db();
        db.create_tenant("contoso").unwrap();
        let t = db.create_token("contoso", None).unwrap();
        db.close().unwrap();
        let bytes = std::fs::read(dir.path().join("t.db")).unwrap();
        let needle = t.secret.as_bytes();
        assert!(!bytes.windows(needle.len()).any(|w| w == needle));
        let digest = token_digest(&t.secret);
        assert!(bytes.windows(32).any(|w| w == digest));
    }

    #[test]
    fn a_token_needs_an_existing_tenant() {
        let (_dir, db) = db();
        let e = db.create_token("nobody", None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "tenant \"nobody\" does not exist: create it first with `scimkit tenant create nobody`"
        );
    }

    #[test]
    fn tenant_names_are_checked_and_unique() {
        let (_dir, db) = db();
        db.create_tenant("a.b-c_1").unwrap();
        assert!(matches!(
            db.create_tenant("a.b-c_1"),
            Err(DbError::TenantExists(_))
        ));
        for bad in ["", "-x", "a b", "a/b", &"x".repeat(65)] {
            assert!(
                matches!(db.create_tenant(bad), Err(DbError::TenantName(_))),
                "{bad}"
            );
        }
        let rows = db.list_tenants().unwrap();
        let names: Vec<_> = rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["a.b-c_1", DEFAULT_TENANT]);
        assert!(rows.iter().all(|r| r.active_tokens == 0));
        assert!(rows[1].created.ends_with('Z') && rows[1].created.len() == 24);
    }

    #[test]
    fn bootstrap_creates_the_default_token_once() {
        let (_dir, db) = db();
        let first = db.bootstrap().unwrap().unwrap();
        assert_eq!(first.tenant, DEFAULT_TENANT);
        assert!(db.bootstrap().unwrap().is_none());
        db.revoke_token(&first.id).unwrap();
        // Revoking every token does not make the server issue a new one.
        assert!(db.bootstrap().unwrap().is_none());
        assert_eq!(db.active_tokens().unwrap(), 0);
    }
}
