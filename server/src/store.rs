//! Opening the database: the store (users and groups) and the server's own
//! tables (tenants, tokens, policies, the provisioning log) in the same SQLite
//! file, or in the same PostgreSQL database.

use std::sync::Arc;
use std::time::Duration;

use scimkit::UserStore;
use scimkit_postgres::{PostgresOptions, PostgresStore};
use scimkit_sqlite::SqliteStore;

use crate::cli::Database;
use crate::db::AdminDb;
use crate::pg::PgDb;
use crate::provlog::ServerLog;

/// Connections of the server's own tables per process (PostgreSQL); the
/// store has its own pool ([`PostgresOptions::max_connections`]).
const SERVER_POOL: u32 = 8;

/// How long a call waits for a PostgreSQL connection before the request
/// answers 503.
const CHECKOUT: Duration = Duration::from_secs(5);

/// An opened database.
pub(crate) struct Opened {
    /// Users and groups.
    pub(crate) store: Arc<dyn UserStore>,
    /// Tenants, tokens, policies, the admin password (and on PostgreSQL
    /// admin sessions and sync state).
    pub(crate) admin: AdminDb,
    /// Where the database is, for logs: a SQLite path, or a PostgreSQL URL
    /// without its password.
    pub(crate) describe: String,
}

/// Open the store and the server's tables for `database`.
///
/// The store opens first: it creates a new SQLite file with its schema and its
/// application id, and refuses a file that belongs to another program, so the
/// server's tables are only ever added to a scimkit database. On PostgreSQL
/// the store's connection reports a bad URL, an unreachable server or a
/// refused password (never showing the password) before the server's tables
/// are migrated.
pub(crate) fn open(database: &Database) -> Result<Opened, crate::Error> {
    match database {
        Database::Sqlite(path) => {
            let store = SqliteStore::open(path)?;
            let admin = AdminDb::open(path)
                .map_err(|e| format!("cannot open the database {}: {e}", path.display()))?;
            Ok(Opened {
                store: Arc::new(store),
                admin,
                describe: path.display().to_string(),
            })
        }
        Database::Postgres(url) => {
            let options = PostgresOptions::default().checkout_timeout(CHECKOUT);
            let store = PostgresStore::connect_with(url, &options)?;
            let describe = store.target().to_string();
            let pg = PgDb::connect(url, SERVER_POOL, CHECKOUT).map_err(|e| {
                format!(
                    "cannot open the server's tables in the PostgreSQL database at {describe}: {e}"
                )
            })?;
            Ok(Opened {
                store: Arc::new(store),
                admin: AdminDb::postgres(Arc::new(pg)),
                describe,
            })
        }
    }
}

/// Open the store and the server's tables for `database`.
pub(crate) fn open_database(
    database: &Database,
) -> Result<(Arc<dyn UserStore>, AdminDb), crate::Error> {
    let o = open(database)?;
    Ok((o.store, o.admin))
}

/// The provisioning log of the database `admin` was opened on.
pub(crate) fn open_log(database: &Database, admin: &AdminDb) -> Result<ServerLog, crate::Error> {
    match (database, admin.pg()) {
        (_, Some(pg)) => Ok(ServerLog::Postgres(pg)),
        (Database::Sqlite(path), None) => ServerLog::open(path).map_err(|e| {
            format!(
                "cannot open the provisioning log in {}: {e}",
                path.display()
            )
            .into()
        }),
        (Database::Postgres(_), None) => Err("invariant: PostgreSQL without its tables".into()),
    }
}
