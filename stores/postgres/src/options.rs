//! [`PostgresOptions`]: how [`PostgresStore::connect_with`](crate::PostgresStore::connect_with)
//! connects and behaves under load and failure.

use std::time::Duration;

/// Options for [`PostgresStore::connect_with`](crate::PostgresStore::connect_with).
///
/// ```
/// use std::time::Duration;
/// use scimkit_postgres::PostgresOptions;
///
/// let options = PostgresOptions::default()
///     .max_connections(20)
///     .checkout_timeout(Duration::from_secs(2))
///     .retries(8);
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    pub(crate) max_connections: u32,
    pub(crate) min_idle: u32,
    pub(crate) connect_timeout: Duration,
    pub(crate) checkout_timeout: Duration,
    pub(crate) retries: u32,
    pub(crate) retry_after: u32,
    pub(crate) application_name: String,
    pub(crate) analyze_on_growth: bool,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            min_idle: 1,
            connect_timeout: Duration::from_secs(5),
            checkout_timeout: Duration::from_secs(5),
            retries: 5,
            retry_after: 1,
            application_name: "scimkit".to_owned(),
            analyze_on_growth: true,
        }
    }
}

impl PostgresOptions {
    /// The most connections this store opens to the server (the pool size).
    /// Store calls beyond that wait for a free connection, up to
    /// [`checkout_timeout`](Self::checkout_timeout).
    ///
    /// Defaults to 10.
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// How many idle connections the pool keeps open (re-opened in the
    /// background after the server restarts).
    ///
    /// Defaults to 1.
    pub fn min_idle(mut self, n: u32) -> Self {
        self.min_idle = n;
        self
    }

    /// How long opening one connection (TCP connect and startup) may take.
    ///
    /// Defaults to 5 seconds.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long a store call waits for a connection — a free one from the pool,
    /// or a new one while the server is unreachable — before it fails with
    /// `StoreError::Unavailable` (503 with `Retry-After`).
    ///
    /// Defaults to 5 seconds.
    pub fn checkout_timeout(mut self, timeout: Duration) -> Self {
        self.checkout_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How often a transaction that lost a serialization conflict (SQLSTATE
    /// `40001`) or was chosen as a deadlock victim (`40P01`) is retried before
    /// the call fails with `StoreError::Unavailable`.
    ///
    /// Defaults to 5.
    pub fn retries(mut self, n: u32) -> Self {
        self.retries = n;
        self
    }

    /// The `Retry-After` seconds of a `StoreError::Unavailable`.
    ///
    /// Defaults to 1.
    pub fn retry_after(mut self, seconds: u32) -> Self {
        self.retry_after = seconds;
        self
    }

    /// The `application_name` the connections report to the server (visible in
    /// `pg_stat_activity`). An `application_name` in the URL takes precedence.
    ///
    /// Defaults to `scimkit`.
    pub fn application_name(mut self, name: impl Into<String>) -> Self {
        self.application_name = name.into();
        self
    }

    /// Whether the store refreshes PostgreSQL's planner statistics of its
    /// tables (`ANALYZE`) each time the resources this process has created
    /// reach the table's size at the previous refresh (and at least 500): so
    /// about log2(N) times while an initial provisioning cycle loads N users,
    /// and rarely after that.
    ///
    /// Without statistics (a table just filled, before autovacuum's next
    /// round, up to `autovacuum_naptime` = 1 minute by default) PostgreSQL
    /// plans every query as if the table held a handful of rows: a
    /// `userName eq` filter then scans all the tenant's users instead of
    /// probing the unique index, the lookup Entra makes before every create.
    /// The `ANALYZE` runs on the connection of the create that crossed the
    /// line, after its commit (that one call takes longer: tens of
    /// milliseconds per 10 000 rows); a failure is logged and otherwise
    /// ignored. Turn it off when a DBA manages statistics.
    ///
    /// Defaults to true.
    pub fn analyze_on_growth(mut self, on: bool) -> Self {
        self.analyze_on_growth = on;
        self
    }
}
