//! [`SqliteOptions`]: how [`SqliteStore::open_with`](crate::SqliteStore::open_with)
//! opens a database.

use std::time::Duration;

/// When SQLite waits for the disk (`PRAGMA synchronous`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Synchronous {
    /// Every commit is flushed to stable storage (`fsync` of the write-ahead log)
    /// before the store call returns: an acknowledged write survives a crash of
    /// the process, of the operating system and a power loss. The default.
    #[default]
    Full,
    /// Commits are written to the write-ahead log but only flushed at
    /// checkpoints: an acknowledged write survives a crash of the process (the
    /// data is in the operating system's cache) but the last commits may be lost
    /// in a crash of the operating system or a power loss. The database stays
    /// consistent either way.
    Normal,
    /// Never flush. For bulk loads and benchmark set-up only: a crash of the
    /// operating system may corrupt the database.
    Off,
}

impl Synchronous {
    pub(crate) fn pragma(self) -> &'static str {
        match self {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
            Synchronous::Off => "OFF",
        }
    }
}

/// Options for [`SqliteStore::open_with`](crate::SqliteStore::open_with).
///
/// ```
/// use std::time::Duration;
/// use scimkit_sqlite::{SqliteOptions, Synchronous};
///
/// let options = SqliteOptions::default()
///     .readers(4)
///     .busy_timeout(Duration::from_secs(2))
///     .synchronous(Synchronous::Full);
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    pub(crate) readers: usize,
    pub(crate) busy_timeout: Duration,
    pub(crate) synchronous: Synchronous,
    pub(crate) check_on_open: bool,
    pub(crate) statement_cache: usize,
    pub(crate) cache_size_kib: u32,
    pub(crate) wal_autocheckpoint: u32,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            readers: cpus.clamp(2, 8),
            busy_timeout: Duration::from_secs(5),
            synchronous: Synchronous::Full,
            check_on_open: true,
            statement_cache: 64,
            cache_size_kib: 16 * 1024,
            wal_autocheckpoint: 10_000,
        }
    }
}

impl SqliteOptions {
    /// The number of reader connections (reads run concurrently with each other
    /// and with the one writer). `0` sends reads through the writer connection.
    ///
    /// Defaults to the number of CPUs, at least 2 and at most 8.
    pub fn readers(mut self, readers: usize) -> Self {
        self.readers = readers;
        self
    }

    /// How long a call waits for a lock held by another connection or process
    /// (and for a free reader connection) before it fails with
    /// `StoreError::Unavailable` (503 with `Retry-After`).
    ///
    /// Defaults to 5 seconds.
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Durability of commits (see [`Synchronous`]).
    ///
    /// Defaults to [`Synchronous::Full`].
    pub fn synchronous(mut self, synchronous: Synchronous) -> Self {
        self.synchronous = synchronous;
        self
    }

    /// Run `PRAGMA quick_check` when opening an existing database, so a corrupt
    /// file is a startup error rather than a failure at some later request. It
    /// reads the whole file once (about a second per few hundred MiB).
    ///
    /// Defaults to `true`.
    pub fn check_on_open(mut self, check: bool) -> Self {
        self.check_on_open = check;
        self
    }

    /// The number of prepared statements cached per connection.
    ///
    /// Defaults to 64.
    pub fn statement_cache(mut self, statements: usize) -> Self {
        self.statement_cache = statements;
        self
    }

    /// SQLite's page cache per connection, in KiB.
    ///
    /// Defaults to 16 MiB.
    pub fn cache_size_kib(mut self, kib: u32) -> Self {
        self.cache_size_kib = kib;
        self
    }

    /// Copy the write-ahead log into the database file (a checkpoint) whenever
    /// it holds this many pages. Larger values make writes cheaper (a page
    /// changed by many commits is copied once, and the database file is flushed
    /// less often) at the cost of a larger log file and a longer recovery after
    /// a crash; the log is truncated back to twice this size after it has grown
    /// beyond it. SQLite's own default is 1 000.
    ///
    /// Defaults to 10 000 pages (40 MiB).
    pub fn wal_autocheckpoint(mut self, pages: u32) -> Self {
        self.wal_autocheckpoint = pages;
        self
    }
}
