//! [`OpenError`]: why a database could not be opened, and the mapping of SQLite
//! failures onto [`StoreError`].

use std::fmt;
use std::path::{Path, PathBuf};

use rusqlite::ErrorCode;
use scimkit::StoreError;

/// Seconds a client is asked to wait after the database was busy or locked
/// (the store has already waited its busy timeout by then).
pub(crate) const RETRY_AFTER_SECS: u32 = 1;

/// Why [`SqliteStore::open`](crate::SqliteStore::open) failed: the path and what
/// is wrong with it.
///
/// The store never replaces a file it cannot read: every problem with an existing
/// file (not a database, corrupt, another application's database, a newer schema)
/// is an `OpenError`, never a silently created new database.
#[derive(Debug)]
pub struct OpenError {
    path: PathBuf,
    kind: OpenErrorKind,
}

impl OpenError {
    pub(crate) fn new(path: &Path, kind: OpenErrorKind) -> Self {
        Self {
            path: path.to_path_buf(),
            kind,
        }
    }

    /// The database path that could not be opened (`:memory:` for an in-memory
    /// database).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What is wrong.
    pub fn kind(&self) -> &OpenErrorKind {
        &self.kind
    }
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot open the SQLite store {}: {}",
            self.path.display(),
            self.kind
        )
    }
}

impl std::error::Error for OpenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.kind)
    }
}

/// What is wrong with a database path (see [`OpenError::kind`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenErrorKind {
    /// The file exists but is not a SQLite database (its header is wrong).
    #[error("the file is not a SQLite database")]
    NotADatabase,
    /// The path names a directory.
    #[error("the path is a directory")]
    IsADirectory,
    /// The directory that should hold the file does not exist (the store creates
    /// the file, not its directories).
    #[error("the directory {} does not exist", .0.display())]
    MissingDirectory(PathBuf),
    /// SQLite reports the database as corrupt (`SQLITE_CORRUPT`, or problems
    /// found by `PRAGMA quick_check`).
    #[error("the database is corrupt: {detail}")]
    Corrupt {
        /// What SQLite found.
        detail: String,
    },
    /// A SQLite database, but not a scimkit store: it has tables of its own or
    /// another application id. It is left untouched.
    #[error(
        "the database is not a scimkit store (application_id {application_id:#x}, {tables} tables)"
    )]
    ForeignDatabase {
        /// The `PRAGMA application_id` found.
        application_id: i32,
        /// The number of schema objects found.
        tables: i64,
    },
    /// The database was written by a newer scimkit with a schema this build does
    /// not know.
    #[error(
        "the database has schema version {found}, newer than this build supports ({supported})"
    )]
    TooNew {
        /// The schema version in the file (`PRAGMA user_version`).
        found: i64,
        /// The newest schema version this build knows.
        supported: i64,
    },
    /// WAL journal mode could not be enabled (for example on a network file
    /// system); the journal mode SQLite kept is given.
    #[error("write-ahead logging could not be enabled (journal mode is {0})")]
    NoWal(String),
    /// The file could not be read.
    #[error("cannot read the file: {0}")]
    Io(#[source] std::io::Error),
    /// Any other SQLite failure (permissions, locking, disk full, …).
    #[error("{0}")]
    Sqlite(#[source] rusqlite::Error),
    /// The reader connections could not be opened.
    #[error("cannot open the reader connections: {0}")]
    Pool(#[source] r2d2::Error),
}

impl From<rusqlite::Error> for OpenErrorKind {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(ErrorCode::NotADatabase) => OpenErrorKind::NotADatabase,
            Some(ErrorCode::DatabaseCorrupt) => OpenErrorKind::Corrupt {
                detail: e.to_string(),
            },
            _ => OpenErrorKind::Sqlite(e),
        }
    }
}

/// Map a SQLite failure during a store call: busy/locked is a temporary
/// condition (503 with `Retry-After`), anything else a store failure (500).
pub(crate) fn store_error(e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Unavailable {
            retry_after: RETRY_AFTER_SECS,
            source: Box::new(e),
        },
        _ => StoreError::Other(Box::new(e)),
    }
}

/// No reader connection became free in time: the store is overloaded (503).
pub(crate) fn pool_error(e: r2d2::Error) -> StoreError {
    StoreError::Unavailable {
        retry_after: RETRY_AFTER_SECS,
        source: Box::new(e),
    }
}

/// Whether a failed statement violated the UNIQUE index on the folded userName.
pub(crate) fn is_user_name_conflict(e: &rusqlite::Error) -> bool {
    match e {
        rusqlite::Error::SqliteFailure(err, msg) => {
            err.code == ErrorCode::ConstraintViolation
                && msg.as_deref().is_some_and(|m| m.contains("user_name_key"))
        }
        _ => false,
    }
}

/// Whether a failed statement violated the UNIQUE index on `(tenant, id)`.
pub(crate) fn is_id_conflict(e: &rusqlite::Error) -> bool {
    match e {
        rusqlite::Error::SqliteFailure(err, msg) => {
            err.code == ErrorCode::ConstraintViolation
                && msg.as_deref().is_some_and(|m| m.ends_with(".id"))
        }
        _ => false,
    }
}

/// [`store_error`] for a failure shared by every write of a batch (the
/// transaction could not begin or commit): each caller gets its own
/// `StoreError` with the same cause.
pub(crate) fn shared_store_error(e: &std::sync::Arc<rusqlite::Error>) -> StoreError {
    let source = Box::new(std::sync::Arc::clone(e));
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Unavailable {
            retry_after: RETRY_AFTER_SECS,
            source,
        },
        _ => StoreError::Other(source),
    }
}
