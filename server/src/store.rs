//! Opening the store the engine keeps users and groups in.

use std::sync::Arc;

use scimkit::UserStore;

use crate::cli::Database;

/// The store for `database`.
///
/// SQLite: until the `scimkit-sqlite` crate is merged, users and groups are kept
/// in memory (tenants and tokens are already in the SQLite file); the server
/// says so in its log at start-up.
pub(crate) fn open_store(database: &Database) -> Result<Arc<dyn UserStore>, crate::Error> {
    match database {
        Database::Sqlite(_path) => {
            tracing::warn!(
                "users and groups are kept in memory in this build (the SQLite store is not merged yet); \
                 tenants and tokens are in the database file"
            );
            Ok(Arc::new(scimkit::MemoryStore::new()))
        }
        Database::Postgres(_) => Err(crate::postgres_not_built()),
    }
}
