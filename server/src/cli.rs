//! The command line, the environment and the optional TOML file, resolved into
//! [`ServeSettings`] / [`DbSettings`]. Precedence: flag, then environment
//! variable, then the file, then the built-in default.

// Doc comments here are `--help` text, where URLs are plain text.
#![allow(rustdoc::bare_urls)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use scimkit::Policies;
use serde::Deserialize;

use crate::policies::PolicyFile;

const AFTER_HELP: &str = "\
Every option can also come from an environment variable (shown as [env: …]) or
from the TOML file given with --config. Keys of the file are the long option
names with '_' for '-', for example:

    db = \"/var/lib/scimkit/scimkit.db\"
    # or, for several replicas on one database (instead of db):
    # database_url = \"postgres://scimkit:secret@db.internal:5432/scimkit\"
    listen = \"0.0.0.0:8443\"
    base_path = \"/scim/v2\"
    public_url = \"https://scim.example.com\"
    tls_cert = \"/etc/scimkit/cert.pem\"
    tls_key = \"/etc/scimkit/key.pem\"
    log_retention_days = 90

    # Provisioning policies: [policies] for every tenant, [tenants.NAME.policies]
    # for one (the tenant is created if missing). Set at every start; the admin
    # page can change them until the next start.
    [tenants.contoso.policies]
    enabled = true                      # false: every SCIM request answers 403
    deletion = \"review\"                 # hard | soft | review
    groups = \"full\"                     # full | update-only | refuse | ignore
    link_existing = \"username\"          # off | username | username-or-email
    require_guid_external_id = false
    rename_on_deactivate = \"deactivated-{id}-{userName}\"

A flag beats its environment variable, which beats the file. Relative paths in
the file are relative to the file's directory.

Pull sync from Microsoft Graph (for users the app pulls instead of receiving
SCIM): one [[sync]] table per tenant, run by `scimkit sync run --tenant NAME`
or, with a schedule, by `scimkit serve`:

    sync_state = \"/var/lib/scimkit/sync-state.json\"   # default: <db>.sync-state.json
                                                      # (PostgreSQL: kept in the database)
    [[sync]]
    tenant = \"contoso\"
    entra_tenant = \"contoso.onmicrosoft.com\"
    client_id = \"11111111-2222-3333-4444-555555555555\"
    client_secret = \"...\"
    scope = { groups = [\"<group object id>\"] }          # or \"all\"
    schedule = \"nightly\"                                # or \"every 30m\", \"manual\"

Users deleted in Entra are deactivated and queued for an administrator's
review, never removed by the sync; existing users with the same userName are
linked.";

/// scimkit: a SCIM 2.0 provisioning target for Microsoft Entra ID (and any RFC
/// 7644 client), storing users and groups in one SQLite file or, for several
/// replicas, in PostgreSQL.
#[derive(Debug, Parser)]
#[command(name = "scimkit", version, after_long_help = AFTER_HELP)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// A TOML file with default values for these options (see the end of
    /// --help).
    #[arg(long, global = true, env = "SCIMKIT_CONFIG", value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,

    /// The SQLite database file: users, groups, tenants and token hashes.
    /// Created if missing. [default: scimkit.db]
    #[arg(long, global = true, env = "SCIMKIT_DB", value_name = "PATH")]
    pub(crate) db: Option<PathBuf>,

    /// A PostgreSQL URL (postgres://user:password@host:5432/db) to use
    /// instead of --db: users, groups, tenants, token hashes, policies, the
    /// provisioning log, admin sessions and sync state all live in that
    /// database, so several `scimkit serve` replicas behind a load balancer
    /// can share it. Tables are created or migrated at start (replicas may
    /// start together). The password never appears in logs or errors.
    #[arg(
        long,
        global = true,
        env = "SCIMKIT_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub(crate) database_url: Option<String>,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Serve SCIM over HTTP or HTTPS. On the first start (no token yet), create
    /// tenant "default" with a token and print the tenant URL and the token for
    /// Entra's "Test Connection".
    Serve(ServeArgs),
    /// Create, list and revoke bearer tokens (only their SHA-256 is stored).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Create and list tenants (each has its own users and groups).
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Pull users from Microsoft Graph into a tenant ([[sync]] tables of the
    /// --config file).
    #[command(subcommand)]
    Sync(SyncCommand),
    /// The admin page's credentials.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// The provisioning log (every change and every rejected request).
    #[command(subcommand)]
    Log(LogCommand),
}

/// `scimkit sync …`.
#[derive(Debug, Subcommand)]
pub(crate) enum SyncCommand {
    /// Run the tenant's sync once and print what changed (or, with --dry-run,
    /// what would change).
    Run {
        /// The tenant of a [[sync]] table in the --config file.
        #[arg(long)]
        tenant: String,
        /// Read everything, change nothing, print the plan.
        #[arg(long)]
        dry_run: bool,
    },
}

/// `scimkit admin …`.
#[derive(Debug, Subcommand)]
pub(crate) enum AdminCommand {
    /// Set the password of the admin page (/admin). Reads it from standard
    /// input (one line) or, on a terminal, prompts twice without echo. Only an
    /// Argon2id hash is stored; open sessions end.
    SetPassword,
}

/// `scimkit log …`.
#[derive(Debug, Subcommand)]
pub(crate) enum LogCommand {
    /// Write provisioning log entries as JSON lines (oldest first) to standard
    /// output.
    Export {
        /// Only this tenant's entries.
        #[arg(long)]
        tenant: Option<String>,
        /// Only entries at or after this time: RFC 3339, a date (2024-05-01) or
        /// an age (90m, 24h, 7d).
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        /// Only entries before this time (same forms as --since).
        #[arg(long, value_name = "TIME")]
        until: Option<String>,
        /// Only entries about this user or group (userName / displayName,
        /// case-insensitive).
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        /// Only entries with this outcome.
        #[arg(long, value_parser = ["success", "failure", "ignored"])]
        outcome: Option<String>,
    },
}

/// `scimkit serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The address and port to listen on. Use 0.0.0.0:PORT to accept
    /// connections from other machines. [default: 127.0.0.1:8080]
    #[arg(long, env = "SCIMKIT_LISTEN", value_name = "ADDR:PORT")]
    pub(crate) listen: Option<SocketAddr>,

    /// The path SCIM is served under; the tenant URL ends with it.
    /// [default: /scim/v2]
    #[arg(long, env = "SCIMKIT_BASE_PATH", value_name = "PATH")]
    pub(crate) base_path: Option<String>,

    /// The URL clients reach this server at (scheme and host, e.g.
    /// https://scim.example.com), when it is behind a proxy or a public name:
    /// used in the printed tenant URL and in meta.location. [default: derived
    /// from each request's Host header]
    #[arg(long, env = "SCIMKIT_PUBLIC_URL", value_name = "URL")]
    pub(crate) public_url: Option<String>,

    /// PEM certificate chain for HTTPS (Entra only accepts an https tenant
    /// URL). Needs --tls-key. [default: plain HTTP]
    #[arg(long, env = "SCIMKIT_TLS_CERT", value_name = "FILE")]
    pub(crate) tls_cert: Option<PathBuf>,

    /// PEM private key (PKCS#8, PKCS#1 or SEC1) for --tls-cert.
    #[arg(long, env = "SCIMKIT_TLS_KEY", value_name = "FILE")]
    pub(crate) tls_key: Option<PathBuf>,

    /// The largest request body, in bytes; larger ones answer 413.
    /// [default: 1048576]
    #[arg(long, env = "SCIMKIT_MAX_BODY_SIZE", value_name = "BYTES")]
    pub(crate) max_body_size: Option<usize>,

    /// On SIGTERM/SIGINT, how long in-flight requests may take to finish before
    /// the server exits anyway, in seconds. [default: 30]
    #[arg(long, env = "SCIMKIT_SHUTDOWN_TIMEOUT", value_name = "SECONDS")]
    pub(crate) shutdown_timeout: Option<u64>,

    /// Log format on stderr. [default: text]
    #[arg(long, env = "SCIMKIT_LOG_FORMAT", value_enum)]
    pub(crate) log_format: Option<LogFormat>,

    /// Log filter (tracing directives: error, warn, info, debug,
    /// scimkit=debug,…). [default: info]
    #[arg(long, env = "SCIMKIT_LOG", value_name = "FILTER")]
    pub(crate) log: Option<String>,

    /// When the server runs the Graph syncs of the --config file ([[sync]]
    /// tables): "manual" (never; use `scimkit sync run`), "hourly", "nightly",
    /// "daily at HH:MM", "every 30m", … (UTC). Replaces each table's own
    /// `schedule`. [default: each table's schedule]
    #[arg(long, env = "SCIMKIT_SYNC_SCHEDULE", value_name = "SCHEDULE")]
    pub(crate) sync_schedule: Option<scimkit_graph::Schedule>,

    /// How many days provisioning log entries are kept; older ones are deleted
    /// at start and every hour. [default: 90]
    #[arg(long, env = "SCIMKIT_LOG_RETENTION_DAYS", value_name = "DAYS")]
    pub(crate) log_retention_days: Option<u32>,

    /// POST every provisioning event (created, deactivated, deleted, …) as JSON
    /// to this http:// URL (for example a relay on this machine). No bodies,
    /// only kind, tenant, id and name. [default: none]
    #[arg(long, env = "SCIMKIT_EVENT_WEBHOOK", value_name = "URL")]
    pub(crate) event_webhook: Option<String>,

    /// Where users and groups live: "sqlite" (the database: the --db file or
    /// the --database-url) or "memory" (in this process only, lost when it
    /// stops: for benchmarks and trials; tenants and tokens stay in the
    /// database). [default: sqlite]
    #[arg(long, env = "SCIMKIT_STORE", value_enum, value_name = "STORE")]
    pub(crate) store: Option<StoreKind>,
}

/// Where `serve` keeps users and groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum StoreKind {
    /// The database (--db or --database-url).
    Sqlite,
    /// scimkit's `MemoryStore`: nothing survives the process.
    Memory,
}

/// The log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LogFormat {
    /// Human-readable lines with key=value fields.
    Text,
    /// One JSON object per line.
    Json,
}

/// `scimkit token …`.
#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
    /// Create a token for a tenant and print it (once: only its hash is kept).
    Create {
        /// The tenant the token acts for.
        #[arg(long, default_value = "default")]
        tenant: String,
        /// A note shown by `token list` (e.g. "Entra production").
        #[arg(long)]
        label: Option<String>,
    },
    /// List tokens (ids, tenants, labels, dates; never secrets).
    List {
        /// Only this tenant's tokens.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Revoke a token by id: requests with it answer 401 from now on, also on a
    /// running server.
    Revoke {
        /// The token id shown by `token create` / `token list`.
        id: String,
    },
}

/// `scimkit tenant …`.
#[derive(Debug, Subcommand)]
pub(crate) enum TenantCommand {
    /// Create a tenant (then give it a token with `token create --tenant NAME`).
    Create {
        /// Letters, digits, '.', '_' or '-'.
        name: String,
    },
    /// List tenants and their active token counts.
    List,
}

/// The optional TOML file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    db: Option<PathBuf>,
    database_url: Option<String>,
    listen: Option<SocketAddr>,
    base_path: Option<String>,
    public_url: Option<String>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    max_body_size: Option<usize>,
    shutdown_timeout: Option<u64>,
    log_format: Option<LogFormat>,
    log: Option<String>,
    sync_schedule: Option<scimkit_graph::Schedule>,
    sync_state: Option<PathBuf>,
    store: Option<StoreKind>,
    #[serde(default)]
    sync: Vec<scimkit_graph::SyncConfig>,
    log_retention_days: Option<u32>,
    event_webhook: Option<String>,
    /// The default policies of every tenant.
    policies: Option<PolicyFile>,
    /// Per-tenant settings.
    #[serde(default)]
    tenants: BTreeMap<String, TenantFile>,
}

/// `[tenants.NAME]` in the file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TenantFile {
    policies: Option<PolicyFile>,
}

/// Where the data lives.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Database {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL URL (its `Debug` hides the password).
    Postgres(String),
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite(p) => f.debug_tuple("Sqlite").field(p).finish(),
            Self::Postgres(url) => f.debug_tuple("Postgres").field(&redact_url(url)).finish(),
        }
    }
}

/// A PostgreSQL connection string without its password: the password of a
/// URL (`postgres://user:password@…`) and any `password=` key are replaced by
/// `[redacted]`.
pub(crate) fn redact_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        // The authority ends at the first '/', '?' or '#'; the password is
        // between the first ':' and the last '@' in it.
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        let authority = match authority.rsplit_once('@') {
            Some((userinfo, host)) => match userinfo.split_once(':') {
                Some((user, _)) => format!("{user}:[redacted]@{host}"),
                None => authority.to_owned(),
            },
            None => authority.to_owned(),
        };
        let tail = match tail.find("password=") {
            Some(_) => tail
                .split('&')
                .map(|kv| {
                    let (k, _) = kv.split_once('=').unwrap_or((kv, ""));
                    if k.trim_start_matches('?').eq_ignore_ascii_case("password") {
                        format!("{k}=[redacted]")
                    } else {
                        kv.to_owned()
                    }
                })
                .collect::<Vec<_>>()
                .join("&"),
            None => tail.to_owned(),
        };
        return format!("{scheme}://{authority}{tail}");
    }
    // key=value form.
    url.split_whitespace()
        .map(|kv| match kv.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=[redacted]"),
            _ => kv.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The database options of every command, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DbSettings {
    pub(crate) database: Database,
}

/// `serve`'s options, resolved.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ServeSettings {
    pub(crate) db: DbSettings,
    pub(crate) listen: SocketAddr,
    pub(crate) base_path: String,
    pub(crate) public_url: Option<String>,
    pub(crate) tls: Option<(PathBuf, PathBuf)>,
    pub(crate) max_body_size: usize,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) log_format: LogFormat,
    pub(crate) log: String,
    pub(crate) sync: SyncSettings,
    /// Days the provisioning log keeps entries.
    pub(crate) log_retention_days: u32,
    /// Policies of tenants without their own.
    pub(crate) default_policies: Policies,
    /// Policies of the tenants named in the file (set at start).
    pub(crate) tenant_policies: Vec<(String, Policies)>,
    /// Where events are POSTed.
    pub(crate) event_webhook: Option<crate::events::Webhook>,
    pub(crate) store: StoreKind,
}

/// The Graph syncs of the config file, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyncSettings {
    /// One per tenant, validated, with `--sync-schedule` applied (serve only).
    pub(crate) configs: Vec<scimkit_graph::SyncConfig>,
    /// The JSON file keeping each tenant's delta link and synced ids (SQLite;
    /// on PostgreSQL the state is in the `scimkit_server_sync_state` table).
    pub(crate) state: PathBuf,
}

impl SyncSettings {
    /// The configuration of `tenant`.
    pub(crate) fn get(&self, tenant: &str) -> Option<&scimkit_graph::SyncConfig> {
        self.configs.iter().find(|c| c.tenant == tenant)
    }
}

/// A configuration mistake, reported before anything starts.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConfigError {
    #[error("cannot read the config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("{0}")]
    Invalid(String),
}

/// The loaded file (empty without `--config`), and the directory its relative
/// paths are relative to.
struct Loaded {
    file: FileConfig,
    dir: PathBuf,
}

impl Loaded {
    fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let Some(path) = path else {
            return Ok(Self {
                file: FileConfig::default(),
                dir: PathBuf::new(),
            });
        };
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let file = toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source: Box::new(source),
        })?;
        let dir = path.parent().map(Path::to_owned).unwrap_or_default();
        Ok(Self { file, dir })
    }

    fn path(&self, p: Option<PathBuf>) -> Option<PathBuf> {
        p.map(|p| self.dir.join(p))
    }
}

impl GlobalArgs {
    fn resolve(&self, loaded: &mut Loaded) -> DbSettings {
        let database_url = self
            .database_url
            .clone()
            .or_else(|| loaded.file.database_url.take());
        let file_db = loaded.file.db.take();
        let database = match database_url {
            Some(url) => Database::Postgres(url),
            None => Database::Sqlite(
                self.db
                    .clone()
                    .or_else(|| loaded.path(file_db))
                    .unwrap_or_else(|| PathBuf::from("scimkit.db")),
            ),
        };
        DbSettings { database }
    }

    /// The database settings alone (token and tenant commands).
    pub(crate) fn db_settings(&self) -> Result<DbSettings, ConfigError> {
        let mut loaded = Loaded::load(self.config.as_deref())?;
        Ok(self.resolve(&mut loaded))
    }

    /// The database and the Graph syncs (`sync` commands).
    pub(crate) fn sync_settings(&self) -> Result<(DbSettings, SyncSettings), ConfigError> {
        let mut loaded = Loaded::load(self.config.as_deref())?;
        let db = self.resolve(&mut loaded);
        let sync = loaded.sync_settings(&db, None)?;
        Ok((db, sync))
    }
}

impl Loaded {
    /// The `[[sync]]` tables, validated; `schedule` replaces their schedules.
    fn sync_settings(
        &mut self,
        db: &DbSettings,
        schedule: Option<scimkit_graph::Schedule>,
    ) -> Result<SyncSettings, ConfigError> {
        let mut configs = std::mem::take(&mut self.file.sync);
        for (i, c) in configs.iter_mut().enumerate() {
            c.validate().map_err(|e| {
                ConfigError::Invalid(format!("[[sync]] table {} ({:?}): {e}", i + 1, c.tenant))
            })?;
            if let Some(s) = schedule {
                c.schedule = s;
            }
        }
        for (i, c) in configs.iter().enumerate() {
            if configs[..i].iter().any(|o| o.tenant == c.tenant) {
                return Err(ConfigError::Invalid(format!(
                    "two [[sync]] tables for tenant {:?}",
                    c.tenant
                )));
            }
        }
        let state = match self.file.sync_state.take() {
            Some(_) if matches!(db.database, Database::Postgres(_)) => {
                return Err(ConfigError::Invalid(
                    "sync_state is for a SQLite database: on PostgreSQL the sync state is kept in the database (shared by every replica)".to_owned(),
                ));
            }
            Some(p) => self.dir.join(p),
            None => match &db.database {
                Database::Sqlite(p) => {
                    let mut s = p.clone().into_os_string();
                    s.push(".sync-state.json");
                    PathBuf::from(s)
                }
                Database::Postgres(_) => PathBuf::from("scimkit.sync-state.json"),
            },
        };
        Ok(SyncSettings { configs, state })
    }
}

impl ServeArgs {
    /// Merge flags/environment (already in `self`), the file, and defaults.
    pub(crate) fn resolve(self, global: &GlobalArgs) -> Result<ServeSettings, ConfigError> {
        let mut loaded = Loaded::load(global.config.as_deref())?;
        let db = global.resolve(&mut loaded);
        let schedule = self.sync_schedule.or(loaded.file.sync_schedule);
        let sync = loaded.sync_settings(&db, schedule)?;
        let f = std::mem::take(&mut loaded.file);
        let base_path = self
            .base_path
            .or(f.base_path)
            .unwrap_or_else(|| "/scim/v2".to_owned());
        let base_path = base_path.trim_end_matches('/').to_owned();
        if !base_path.starts_with('/') {
            return Err(ConfigError::Invalid(format!(
                "--base-path must start with '/' and name at least one segment (like /scim/v2), not {base_path:?}: \
                 the server also answers /healthz and /metrics"
            )));
        }
        let public_url = self.public_url.or(f.public_url);
        if let Some(u) = &public_url {
            if !(u.starts_with("https://") || u.starts_with("http://")) {
                return Err(ConfigError::Invalid(format!(
                    "--public-url must start with https:// or http://, not {u:?}"
                )));
            }
        }
        let public_url = public_url.map(|u| u.trim_end_matches('/').to_owned());
        let cert = self.tls_cert.or_else(|| loaded.path(f.tls_cert));
        let key = self.tls_key.or_else(|| loaded.path(f.tls_key));
        let tls = match (cert, key) {
            (Some(c), Some(k)) => Some((c, k)),
            (None, None) => None,
            (Some(_), None) => {
                return Err(ConfigError::Invalid(
                    "--tls-cert needs --tls-key (the certificate's private key)".to_owned(),
                ));
            }
            (None, Some(_)) => {
                return Err(ConfigError::Invalid(
                    "--tls-key needs --tls-cert (the certificate chain)".to_owned(),
                ));
            }
        };
        let default_policies = match &f.policies {
            Some(p) => p
                .apply(&Policies::default())
                .map_err(|e| ConfigError::Invalid(format!("[policies]: {e}")))?,
            None => Policies::default(),
        };
        let mut tenant_policies = Vec::new();
        for (name, t) in &f.tenants {
            if let Some(p) = &t.policies {
                let p = p
                    .apply(&default_policies)
                    .map_err(|e| ConfigError::Invalid(format!("[tenants.{name}.policies]: {e}")))?;
                tenant_policies.push((name.clone(), p));
            }
        }
        if base_path == "/admin" || base_path.starts_with("/admin/") {
            return Err(ConfigError::Invalid(
                "--base-path must not be under /admin: the admin page is served there".to_owned(),
            ));
        }
        let log_retention_days = self
            .log_retention_days
            .or(f.log_retention_days)
            .unwrap_or(90);
        if log_retention_days == 0 {
            return Err(ConfigError::Invalid(
                "--log-retention-days must be at least 1".to_owned(),
            ));
        }
        let event_webhook = self
            .event_webhook
            .or(f.event_webhook)
            .map(|u| crate::events::Webhook::parse(&u))
            .transpose()
            .map_err(ConfigError::Invalid)?;
        let max_body_size = self
            .max_body_size
            .or(f.max_body_size)
            .unwrap_or(1024 * 1024);
        if max_body_size == 0 {
            return Err(ConfigError::Invalid(
                "--max-body-size must be greater than zero".to_owned(),
            ));
        }
        Ok(ServeSettings {
            db,
            listen: self
                .listen
                .or(f.listen)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
            base_path,
            public_url,
            tls,
            max_body_size,
            shutdown_timeout: Duration::from_secs(
                self.shutdown_timeout.or(f.shutdown_timeout).unwrap_or(30),
            ),
            log_format: self.log_format.or(f.log_format).unwrap_or(LogFormat::Text),
            log: self.log.or(f.log).unwrap_or_else(|| "info".to_owned()),
            sync,
            log_retention_days,
            default_policies,
            tenant_policies,
            event_webhook,
            store: self.store.or(f.store).unwrap_or(StoreKind::Sqlite),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn serve(args: &[&str]) -> Result<ServeSettings, ConfigError> {
        let mut argv = vec!["scimkit"];
        argv.extend_from_slice(args);
        let cli = Cli::try_parse_from(argv).unwrap();
        let Command::Serve(s) = cli.command else {
            panic!("not serve")
        };
        s.resolve(&cli.global)
    }

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn defaults() {
        let s = serve(&["serve"]).unwrap();
        assert_eq!(s.db.database, Database::Sqlite("scimkit.db".into()));
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.base_path, "/scim/v2");
        assert_eq!(s.tls, None);
        assert_eq!(s.max_body_size, 1024 * 1024);
        assert_eq!(s.shutdown_timeout, Duration::from_secs(30));
        assert_eq!(s.store, StoreKind::Sqlite);
    }

    #[test]
    fn memory_store() {
        let s = serve(&["serve", "--store", "memory"]).unwrap();
        assert_eq!(s.store, StoreKind::Memory);
    }

    #[test]
    fn file_values_apply_and_flags_win() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scimkit.toml");
        std::fs::write(
            &path,
            "db = \"data/x.db\"\nlisten = \"127.0.0.1:9000\"\nbase_path = \"/scim\"\n\
             tls_cert = \"c.pem\"\ntls_key = \"k.pem\"\nlog_format = \"json\"\n",
        )
        .unwrap();
        let cfg = path.to_str().unwrap();
        let s = serve(&["serve", "--config", cfg, "--listen", "127.0.0.1:9001"]).unwrap();
        assert_eq!(
            s.db.database,
            Database::Sqlite(dir.path().join("data/x.db"))
        );
        assert_eq!(s.listen.port(), 9001);
        assert_eq!(s.base_path, "/scim");
        assert_eq!(
            s.tls,
            Some((dir.path().join("c.pem"), dir.path().join("k.pem")))
        );
        assert_eq!(s.log_format, LogFormat::Json);
    }

    #[test]
    fn unknown_file_keys_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "listn = \"127.0.0.1:1\"\n").unwrap();
        let e = serve(&["serve", "--config", path.to_str().unwrap()]).unwrap_err();
        assert!(e.to_string().contains("unknown field `listn`"), "{e}");
    }

    #[test]
    fn half_tls_and_bad_paths_are_refused() {
        let e = serve(&["serve", "--tls-cert", "c.pem"]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--tls-cert needs --tls-key (the certificate's private key)"
        );
        assert!(serve(&["serve", "--base-path", "/"]).is_err());
        assert!(serve(&["serve", "--base-path", "scim"]).is_err());
        assert!(serve(&["serve", "--public-url", "scim.example.com"]).is_err());
    }

    #[test]
    fn sync_tables_are_validated_and_the_serve_schedule_applies() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scimkit.toml");
        let table = "[[sync]]\ntenant = \"a\"\nentra_tenant = \"e\"\nclient_id = \"c\"\nclient_secret = \"s\"\nschedule = \"nightly\"\n";
        std::fs::write(&path, format!("db = \"x.db\"\n{table}")).unwrap();
        let cfg = path.to_str().unwrap();
        let s = serve(&["serve", "--config", cfg]).unwrap();
        assert_eq!(s.sync.configs.len(), 1);
        assert_eq!(s.sync.configs[0].schedule, scimkit_graph::Schedule::NIGHTLY);
        assert_eq!(s.sync.state, dir.path().join("x.db.sync-state.json"));
        let s = serve(&["serve", "--config", cfg, "--sync-schedule", "every 30m"]).unwrap();
        assert_eq!(s.sync.configs[0].schedule.to_string(), "every 30m");
        assert!(format!("{s:?}").contains("[redacted]") && !format!("{s:?}").contains("\"s\""));

        std::fs::write(&path, format!("{table}{table}")).unwrap();
        let e = serve(&["serve", "--config", cfg]).unwrap_err();
        assert_eq!(e.to_string(), "two [[sync]] tables for tenant \"a\"");
        std::fs::write(
            &path,
            table.replace("client_id = \"c\"", "client_id = \"\""),
        )
        .unwrap();
        let e = serve(&["serve", "--config", cfg]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "[[sync]] table 1 (\"a\"): invalid sync configuration: client_id is required"
        );
    }

    #[test]
    fn policies_come_from_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.toml");
        std::fs::write(
            &path,
            "log_retention_days = 7\n[policies]\ngroups = \"ignore\"\n\
             [tenants.contoso.policies]\ndeletion = \"review\"\n\
             [tenants.fabrikam.policies]\nenabled = false\n",
        )
        .unwrap();
        let s = serve(&["serve", "--config", path.to_str().unwrap()]).unwrap();
        assert_eq!(s.log_retention_days, 7);
        assert_eq!(s.default_policies.groups, scimkit::GroupPolicy::Ignore);
        let names: Vec<&str> = s.tenant_policies.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["contoso", "fabrikam"]);
        let contoso = &s.tenant_policies[0].1;
        assert_eq!(contoso.deletion, scimkit::DeletionPolicy::Review);
        // Tenant sections start from the file's default.
        assert_eq!(contoso.groups, scimkit::GroupPolicy::Ignore);
        assert!(!s.tenant_policies[1].1.enabled);

        std::fs::write(&path, "[tenants.x.policies]\ndeletion = \"later\"\n").unwrap();
        let e = serve(&["serve", "--config", path.to_str().unwrap()]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("[tenants.x.policies]: deletion must be"),
            "{e}"
        );
        assert!(serve(&["serve", "--base-path", "/admin"]).is_err());
        assert!(serve(&["serve", "--log-retention-days", "0"]).is_err());
    }

    #[test]
    fn database_url_comes_from_the_file_too_and_refuses_a_sync_state_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pg.toml");
        std::fs::write(
            &path,
            "db = \"ignored.db\"\ndatabase_url = \"postgres://u:pw@h/db\"\n",
        )
        .unwrap();
        let cfg = path.to_str().unwrap();
        let s = serve(&["serve", "--config", cfg]).unwrap();
        assert_eq!(
            s.db.database,
            Database::Postgres("postgres://u:pw@h/db".into())
        );
        // The flag beats the file.
        let s = serve(&[
            "serve",
            "--config",
            cfg,
            "--database-url",
            "postgres://x@y/z",
        ])
        .unwrap();
        assert_eq!(s.db.database, Database::Postgres("postgres://x@y/z".into()));
        std::fs::write(
            &path,
            "database_url = \"postgres://u@h/db\"\nsync_state = \"s.json\"\n",
        )
        .unwrap();
        let e = serve(&["serve", "--config", cfg]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("sync_state is for a SQLite database"),
            "{e}"
        );
    }

    #[test]
    fn database_urls_are_redacted_in_debug_output() {
        for (url, want) in [
            (
                "postgres://u:s3cret@h:5432/db",
                "postgres://u:[redacted]@h:5432/db",
            ),
            ("postgresql://u@h/db", "postgresql://u@h/db"),
            (
                "postgres://u:p@ss:w@rd@h/db",
                "postgres://u:[redacted]@h/db",
            ),
            (
                "postgres://h/db?user=u&password=s3cret&sslmode=disable",
                "postgres://h/db?user=u&password=[redacted]&sslmode=disable",
            ),
            (
                "host=h user=u password=s3cret dbname=db",
                "host=h user=u password=[redacted] dbname=db",
            ),
        ] {
            assert_eq!(redact_url(url), want);
        }
        let s = serve(&["serve", "--database-url", "postgres://u:s3cret@h/db"]).unwrap();
        let debug = format!("{s:?}");
        assert!(
            !debug.contains("s3cret") && debug.contains("[redacted]"),
            "{debug}"
        );
    }

    #[test]
    fn database_url_selects_postgres() {
        let s = serve(&["serve", "--database-url", "postgres://u@h/db"]).unwrap();
        assert_eq!(
            s.db.database,
            Database::Postgres("postgres://u@h/db".into())
        );
    }
}
