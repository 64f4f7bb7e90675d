//! [`ConnectError`]: why [`PostgresStore::connect`](crate::PostgresStore::connect)
//! failed; and the mapping of PostgreSQL failures during store calls onto
//! [`StoreError`].
//!
//! No error, `Debug` or `Display` of this crate contains the password of the
//! connection URL: the URL is shown as [`Target`], rebuilt from its parsed
//! parts without the password.

use std::fmt;

use postgres::error::SqlState;
use scimkit::StoreError;

/// Where a store connects to, for messages: `postgresql://user@host:port/dbname`,
/// never with the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Target(String);

impl Target {
    pub(crate) fn of(config: &postgres::Config) -> Self {
        use postgres::config::Host;
        let user = config.get_user().unwrap_or("");
        let hosts: Vec<String> = config
            .get_hosts()
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let host = match h {
                    Host::Tcp(name) if name.contains(':') => format!("[{name}]"),
                    Host::Tcp(name) => name.clone(),
                    Host::Unix(path) => path.display().to_string(),
                };
                match config.get_ports().get(i).or(config.get_ports().first()) {
                    Some(port) => format!("{host}:{port}"),
                    None => host,
                }
            })
            .collect();
        let at = if user.is_empty() {
            String::new()
        } else {
            format!("{user}@")
        };
        Self(format!(
            "postgresql://{at}{}/{}",
            hosts.join(","),
            config.get_dbname().unwrap_or("")
        ))
    }

    pub(crate) fn unparsed() -> Self {
        Self("<unparsable connection string>".to_owned())
    }

    /// The description as a string (no password).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// Why [`PostgresStore::connect`](crate::PostgresStore::connect) failed: the
/// server (without password) and what went wrong.
#[derive(Debug)]
pub struct ConnectError {
    target: Target,
    kind: ConnectErrorKind,
}

impl ConnectError {
    pub(crate) fn new(target: Target, kind: ConnectErrorKind) -> Self {
        Self { target, kind }
    }

    /// The server and database, without the password.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// What went wrong.
    pub fn kind(&self) -> &ConnectErrorKind {
        &self.kind
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot open the PostgreSQL store at {}: {}",
            self.target, self.kind
        )
    }
}

impl std::error::Error for ConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.kind)
    }
}

/// What went wrong when connecting (see [`ConnectError::kind`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectErrorKind {
    /// The URL or `key=value` connection string does not parse.
    #[error("invalid connection string: {0}")]
    InvalidUrl(#[source] postgres::Error),
    /// The server could not be reached (refused, unresolvable host, timeout),
    /// or it is starting up or shutting down.
    #[error("the server is unreachable: {0}")]
    Unreachable(#[source] postgres::Error),
    /// The server refused the credentials (wrong password, unknown user, no
    /// `pg_hba.conf` entry).
    #[error("authentication failed: {0}")]
    Authentication(#[source] postgres::Error),
    /// The database named in the URL does not exist.
    #[error("the database does not exist: {0}")]
    NoSuchDatabase(#[source] postgres::Error),
    /// The database holds a scimkit schema newer than this build knows.
    #[error(
        "the database has scimkit schema version {found}, newer than this build supports ({supported})"
    )]
    TooNew {
        /// The highest migration applied in the database.
        found: i64,
        /// The newest schema version this build knows.
        supported: i64,
    },
    /// Applying the schema migrations failed (for example: no permission to
    /// create tables).
    #[error("schema migration failed: {0}")]
    Migration(#[source] postgres::Error),
    /// The connection pool could not be created.
    #[error("cannot create the connection pool: {0}")]
    Pool(#[source] r2d2::Error),
}

impl ConnectErrorKind {
    /// Classify a failure to open the first connection.
    pub(crate) fn of_connect(e: postgres::Error) -> Self {
        match e.code() {
            Some(c) if c.code().starts_with("28") => Self::Authentication(e),
            Some(c) if *c == SqlState::INVALID_CATALOG_NAME => Self::NoSuchDatabase(e),
            Some(_) => Self::Unreachable(e),
            None if e.to_string().starts_with("authentication error") => Self::Authentication(e),
            None => Self::Unreachable(e),
        }
    }
}

/// How a PostgreSQL failure during a store call is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// Serialization failure or deadlock: the transaction was rolled back and
    /// may be run again.
    Retry,
    /// The connection failed or the server is going away/not ready: temporary.
    Connection,
    /// A unique index rejected the write.
    Unique(&'static str),
    /// Anything else.
    Other,
}

/// The unique index on `(tenant, user_name_key)` of Users.
pub(crate) const USER_NAME_INDEX: &str = "scimkit_resources_user_name";
/// The unique index on `(tenant, id)`.
pub(crate) const ID_INDEX: &str = "scimkit_resources_id";

pub(crate) fn classify(e: &postgres::Error) -> Class {
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        return if *code == SqlState::T_R_SERIALIZATION_FAILURE
            || *code == SqlState::T_R_DEADLOCK_DETECTED
        {
            Class::Retry
        } else if *code == SqlState::UNIQUE_VIOLATION {
            match db.constraint() {
                Some(USER_NAME_INDEX) => Class::Unique("userName"),
                Some(ID_INDEX) => Class::Unique("id"),
                _ => Class::Other,
            }
        } else if code.code().starts_with("08")
            || *code == SqlState::ADMIN_SHUTDOWN
            || *code == SqlState::CRASH_SHUTDOWN
            || *code == SqlState::CANNOT_CONNECT_NOW
            || *code == SqlState::TOO_MANY_CONNECTIONS
            || *code == SqlState::READ_ONLY_SQL_TRANSACTION
        {
            // READ_ONLY_SQL_TRANSACTION: connected to a standby during a failover.
            Class::Connection
        } else {
            Class::Other
        };
    }
    if is_connection_error(e) {
        Class::Connection
    } else {
        Class::Other
    }
}

/// A failure of the connection itself (closed, I/O, timeout), not of a
/// statement.
pub(crate) fn is_connection_error(e: &postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    if e.as_db_error().is_some() {
        return false;
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

/// Map a failure of a store call.
pub(crate) fn store_error(e: postgres::Error, retry_after: u32) -> StoreError {
    match classify(&e) {
        Class::Retry | Class::Connection => StoreError::Unavailable {
            retry_after,
            source: Box::new(e),
        },
        Class::Unique(attribute) => StoreError::Uniqueness {
            attribute: attribute.to_owned(),
        },
        Class::Other => StoreError::Other(Box::new(e)),
    }
}

/// No connection could be had in time (pool exhausted or server unreachable).
pub(crate) fn pool_error(e: r2d2::Error, retry_after: u32) -> StoreError {
    StoreError::Unavailable {
        retry_after,
        source: Box::new(e),
    }
}
