//! Opening the database: the store (users and groups) and the server's own
//! tables (tenants and tokens) in the same SQLite file.

use std::sync::Arc;

use scimkit::UserStore;
use scimkit_sqlite::SqliteStore;

use crate::cli::Database;
use crate::db::AdminDb;

/// Open the store and the server's tables for `database`.
///
/// The store opens first: it creates a new file with its schema and its
/// application id, and refuses a file that belongs to another program, so the
/// server's tables are only ever added to a scimkit database.
pub(crate) fn open_database(
    database: &Database,
) -> Result<(Arc<dyn UserStore>, AdminDb), crate::Error> {
    match database {
        Database::Sqlite(path) => {
            let store = SqliteStore::open(path)?;
            let admin = AdminDb::open(path)
                .map_err(|e| format!("cannot open the database {}: {e}", path.display()))?;
            Ok((Arc::new(store), admin))
        }
        Database::Postgres(_) => Err(crate::postgres_not_built()),
    }
}
