//! [`SqliteStore`]: the [`UserStore`] implementation.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, MutexGuard};
use r2d2::Pool;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params, params_from_iter};
use scimkit::ResourceKind;
use scimkit::store::{
    Ctx, GroupRef, Member, MemberChange, Members, Page, PageRequest, Query, SharedJson,
    SharedStored, StoreError, StoreResult, Stored, UserStore, fold_case,
};
use serde_json::Value;

use crate::columns::{EmailColumns, GroupColumns, UserColumns, normalize_time};
use crate::cursor::{self, Position};
use crate::error::{
    OpenError, OpenErrorKind, RETRY_AFTER_SECS, is_id_conflict, is_user_name_conflict, pool_error,
    store_error,
};
use crate::migrate;
use crate::options::SqliteOptions;
use crate::pushdown::{Cond, Translator, mentions_members};
use crate::writer::Writer;

/// The 16-byte header every SQLite database file starts with.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// A [`UserStore`] in a SQLite database file.
///
/// # Threading
///
/// `SqliteStore` is `Send + Sync`; share it with an `Arc` (the core implements
/// [`UserStore`] for `Arc<S>`). Every call blocks its thread while SQLite works:
/// call it from a thread that may block (the tower adapter runs store calls off
/// the async executor).
///
/// Writes (`create`, `replace`, `delete`, `modify_members`) go to one writer
/// thread, which the store starts at open and owns the writer connection. A
/// call queues its write and waits. The thread takes every write queued at that
/// moment (at most 256; it never waits for more to arrive), runs them in one
/// transaction (`BEGIN IMMEDIATE`), each in its own `SAVEPOINT`, commits once,
/// and then answers each caller (**group commit**). So:
///
/// * writes run one at a time, in the order they were queued, and each sees the
///   ones before it (of two concurrent creates of one userName, exactly one
///   succeeds; the other fails with [`StoreError::Uniqueness`]);
/// * a write that fails (uniqueness, version mismatch, not found, …) rolls back
///   to its savepoint: only its own changes are undone, the others in its
///   transaction still commit;
/// * with k callers writing at once, one commit (one flush of the log, see
///   below) carries up to k writes — throughput grows with the number of
///   concurrent writers, while a single caller still waits for one flush per
///   write;
/// * at most 1 024 writes wait in the queue; further callers block until the
///   thread has taken a batch;
/// * a write that panics is answered with [`StoreError::Other`] and rolled
///   back; the thread carries on.
///
/// **Not across `fork()`**: neither the connections nor the writer thread
/// exist in a forked child (SQLite forbids using a connection there, and a
/// write would wait for a thread that is not in the process). Open the store
/// after forking, in each process (the Python binding does this by itself).
///
/// Reads use a pool of reader connections and run concurrently with each other
/// and with the writer (write-ahead logging: a read sees the last commit before
/// it started, and a multi-statement read — count and page, a group and its
/// members — sees one snapshot). With `readers(0)`, and in an in-memory store,
/// reads use the writer connection between two batches.
///
/// Dropping the store closes the reader connections, lets the writer thread
/// finish (no call can be waiting then), joins it, and closes the writer
/// connection, which checkpoints the log into the database file. No thread
/// outlives the store.
///
/// Several processes may open the same file; they then also wait for each other
/// up to the busy timeout, after which a call fails with
/// [`StoreError::Unavailable`] (503 with `Retry-After`) — every write of a batch
/// that could not begin gets that error.
///
/// # Durability
///
/// With the default [`Synchronous::Full`](crate::Synchronous::Full), a write has
/// been flushed to disk when the call returns successfully: the thread answers
/// the callers of a batch only after its `COMMIT` (and the flush) succeeded. If
/// the transaction cannot begin or its commit fails, every write of the batch
/// fails with that error (none is acknowledged, and the transaction is rolled
/// back). Group commit changes how many writes share a flush, not what a
/// successful return promises.
pub struct SqliteStore {
    // Field order is drop order: readers close first; then the writer thread
    // finishes the queued writes and is joined; the last connection to close
    // is the writer connection, which checkpoints the log.
    readers: Option<Pool<SqliteConnectionManager>>,
    writer: Writer,
    /// The writer connection: used by the writer thread one batch at a time,
    /// and by reads when there are no reader connections.
    conn: Arc<Mutex<Connection>>,
    path: Option<PathBuf>,
    busy_timeout: Duration,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .field("readers", &self.readers.as_ref().map(|p| p.max_size()))
            .field("busy_timeout", &self.busy_timeout)
            .finish()
    }
}

// ===== opening =====

/// Refuse paths SQLite would misread: a directory, a missing directory, or a
/// file that is not a SQLite database. Returns whether the file has content.
fn check_file(path: &Path) -> Result<bool, OpenErrorKind> {
    use std::io::Read as _;
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Err(OpenErrorKind::IsADirectory),
        Ok(m) if m.len() == 0 => Ok(false),
        Ok(_) => {
            let mut header = [0u8; 16];
            let mut file = std::fs::File::open(path).map_err(OpenErrorKind::Io)?;
            match file.read_exact(&mut header) {
                Ok(()) if &header == SQLITE_MAGIC => Ok(true),
                Ok(()) => Err(OpenErrorKind::NotADatabase),
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    Err(OpenErrorKind::NotADatabase)
                }
                Err(e) => Err(OpenErrorKind::Io(e)),
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() && !dir.is_dir() => {
                Err(OpenErrorKind::MissingDirectory(dir.to_path_buf()))
            }
            _ => Ok(false),
        },
        Err(e) => Err(OpenErrorKind::Io(e)),
    }
}

/// Per-connection settings. The pragma values are fixed strings from this
/// crate, never input.
fn configure(conn: &Connection, options: &SqliteOptions, reader: bool) -> rusqlite::Result<()> {
    conn.busy_timeout(options.busy_timeout)?;
    conn.set_prepared_statement_cache_capacity(options.statement_cache);
    // Query-planner stability: plans never depend on bound values. Without it
    // SQLite peeks at bound values (LIMIT/OFFSET, LIKE patterns), marks the
    // statement, and re-prepares the cached statement on every new binding —
    // a full parse and plan per query (measured: ~140 000 instructions of a
    // ~320 000-instruction GET went to re-preparing the groups-of-a-user query).
    // The planner statistics are fixed by the migrations anyway.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    conn.execute_batch(&format!(
        "PRAGMA synchronous = {}; PRAGMA cache_size = -{}; PRAGMA temp_store = MEMORY; \
         PRAGMA wal_autocheckpoint = {}; PRAGMA journal_size_limit = {};",
        options.synchronous.pragma(),
        options.cache_size_kib,
        options.wal_autocheckpoint,
        // Keep a log that has grown past twice the checkpoint size from staying large.
        u64::from(options.wal_autocheckpoint) * 2 * 4096,
    ))?;
    if reader {
        conn.execute_batch("PRAGMA query_only = ON;")?;
    }
    Ok(())
}

fn problems(conn: &Connection, pragma: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(pragma)?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for row in rows {
        let row = row?;
        if row != "ok" {
            out.push(row);
        }
    }
    Ok(out)
}

impl SqliteStore {
    /// Open the database at `path` with default [`SqliteOptions`], creating it
    /// (and its schema) if the file does not exist, and applying pending schema
    /// migrations.
    ///
    /// Fails with an [`OpenError`] naming the path if the file is not a SQLite
    /// database, is corrupt, belongs to another application, was written by a
    /// newer scimkit, or cannot be opened; such a file is never modified.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, OpenError> {
        Self::open_with(path, &SqliteOptions::default())
    }

    /// Open the database at `path` with `options` (see [`SqliteStore::open`]).
    pub fn open_with(path: impl AsRef<Path>, options: &SqliteOptions) -> Result<Self, OpenError> {
        let path = path.as_ref();
        let fail = |kind: OpenErrorKind| OpenError::new(path, kind);
        let existed = check_file(path).map_err(fail)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut writer = Connection::open_with_flags(path, flags).map_err(|e| fail(e.into()))?;
        configure(&writer, options, false).map_err(|e| fail(e.into()))?;
        // The first statement reads the header: a damaged file fails here.
        let mode: String = writer
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(|e| fail(e.into()))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(fail(OpenErrorKind::NoWal(mode)));
        }
        migrate::migrate(&mut writer).map_err(fail)?;
        if existed && options.check_on_open {
            let found = problems(&writer, "PRAGMA quick_check").map_err(|e| fail(e.into()))?;
            if !found.is_empty() {
                return Err(fail(OpenErrorKind::Corrupt {
                    detail: found.into_iter().take(5).collect::<Vec<_>>().join("; "),
                }));
            }
        }
        let readers = if options.readers == 0 {
            None
        } else {
            let reader_options = options.clone();
            let manager = SqliteConnectionManager::file(path)
                .with_flags(OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
                .with_init(move |c| configure(c, &reader_options, true));
            let size = u32::try_from(options.readers).unwrap_or(u32::MAX);
            let pool = Pool::builder()
                .max_size(size)
                .min_idle(Some(size))
                .test_on_check_out(false)
                // A fixed-size reader pool has nothing to reap; without these the
                // pool schedules a reaper that keeps r2d2's worker threads alive
                // after the store is dropped.
                .idle_timeout(None)
                .max_lifetime(None)
                .connection_timeout(options.busy_timeout.max(Duration::from_millis(1)))
                .build(manager)
                .map_err(|e| fail(OpenErrorKind::Pool(e)))?;
            Some(pool)
        };
        let conn = Arc::new(Mutex::new(writer));
        let writer = Writer::start(Arc::clone(&conn), options.busy_timeout)
            .map_err(|e| fail(OpenErrorKind::Io(e)))?;
        tracing::debug!(path = %path.display(), readers = options.readers, "opened SQLite store");
        Ok(Self {
            readers,
            writer,
            conn,
            path: Some(path.to_path_buf()),
            busy_timeout: options.busy_timeout,
        })
    }

    /// A private in-memory database (one connection, nothing survives the
    /// store): for tests and examples.
    pub fn open_in_memory() -> Result<Self, OpenError> {
        let path = Path::new(":memory:");
        let fail = |e: rusqlite::Error| OpenError::new(path, e.into());
        let options = SqliteOptions::default();
        let mut conn = Connection::open_in_memory().map_err(fail)?;
        configure(&conn, &options, false).map_err(fail)?;
        migrate::migrate(&mut conn).map_err(|k| OpenError::new(path, k))?;
        let conn = Arc::new(Mutex::new(conn));
        let writer = Writer::start(Arc::clone(&conn), options.busy_timeout)
            .map_err(|e| OpenError::new(path, OpenErrorKind::Io(e)))?;
        Ok(Self {
            readers: None,
            writer,
            conn,
            path: None,
            busy_timeout: options.busy_timeout,
        })
    }

    /// The database file, or `None` for an in-memory store.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Run `PRAGMA integrity_check` and return the problems SQLite finds (empty
    /// when the database is intact). It reads the whole database.
    pub fn integrity_check(&self) -> StoreResult<Vec<String>> {
        self.read(|conn| problems(conn, "PRAGMA integrity_check").map_err(store_error))
    }

    fn lock_writer(&self) -> StoreResult<MutexGuard<'_, Connection>> {
        self.conn
            .try_lock_for(self.busy_timeout)
            .ok_or_else(|| StoreError::Unavailable {
                retry_after: RETRY_AFTER_SECS,
                source: "timed out waiting for the writer connection".into(),
            })
    }

    /// Run `f` on the writer thread, in a transaction shared with the other
    /// writes queued at the same time (group commit, see [`crate::writer`]);
    /// its changes are rolled back if it fails. Returns once the transaction
    /// has committed (and, with `synchronous=FULL`, been flushed).
    fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        self.writer.write(f)
    }

    /// A query in one read transaction: `from_sql` turns the rows of a query
    /// answered in SQL into the page, `from_rust` converts the page of one
    /// evaluated here.
    fn query_in<T>(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        q: &Query,
        from_sql: impl FnOnce(&Connection, SqlPage) -> StoreResult<Page<T>>,
        from_rust: impl FnOnce(Page) -> Page<T>,
    ) -> StoreResult<Page<T>> {
        let tenant = ctx.tenant.as_str();
        let t = Translator::new(kind, q.schema(), tenant);
        // The query's fingerprint binds a cursor to it (index pages need none).
        let fp = match q.page {
            PageRequest::Cursor { .. } => cursor::fingerprint(kind, q),
            PageRequest::Index { .. } => 0,
        };
        // `Some(cond)`: the whole filter in SQL (`cond` None without a filter).
        let exact: Option<Option<Cond>> = match &q.filter {
            None => Some(None),
            Some(f) => t.exact(f).map(Some),
        };
        // `Some(col)`: the sort in SQL (`col` None without a sort: by id).
        let sort: Option<Option<(&'static str, bool)>> = match &q.sort {
            None => Some(None),
            Some(s) => t.sort_column(s).map(|c| Some((c, s.descending))),
        };
        self.read(|conn| {
            let tx = conn.unchecked_transaction().map_err(store_error)?;
            match (exact, sort) {
                (Some(cond), Some(sort)) => {
                    let page = query_sql(&tx, tenant, kind, q, cond, sort, fp)?;
                    from_sql(&tx, page)
                }
                (Some(cond), None) => {
                    query_rust(&tx, tenant, kind, q, cond, true, fp).map(from_rust)
                }
                (None, _) => {
                    let narrow = q.filter.as_ref().and_then(|f| t.narrow(f));
                    query_rust(&tx, tenant, kind, q, narrow, false, fp).map(from_rust)
                }
            }
        })
    }

    /// Run `f` on a reader connection (the writer for an in-memory store).
    fn read<T>(&self, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        match &self.readers {
            Some(pool) => {
                let conn = pool.get().map_err(pool_error)?;
                f(&conn)
            }
            None => {
                let conn = self.lock_writer()?;
                f(&conn)
            }
        }
    }
}

// ===== rows =====

fn table(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::User => "users",
        ResourceKind::Group => "groups",
    }
}

fn id_of(resource: &Value) -> StoreResult<String> {
    resource
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| StoreError::other("resource without id"))
}

fn to_json(resource: &Value) -> StoreResult<String> {
    serde_json::to_string(resource).map_err(StoreError::other)
}

fn from_json(text: &str) -> StoreResult<Value> {
    serde_json::from_str(text).map_err(StoreError::other)
}

fn version(v: i64) -> StoreResult<u64> {
    u64::try_from(v).map_err(StoreError::other)
}

fn sql_int(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Split a group into (resource without members, members in first-seen order
/// without duplicates).
fn split_members(mut resource: Value) -> (Value, Vec<Member>) {
    let mut members = Vec::new();
    if let Some(Value::Array(list)) = resource.as_object_mut().and_then(|o| o.remove("members")) {
        let mut seen = HashSet::new();
        for m in list.iter().filter_map(Member::from_json) {
            if seen.insert(m.value.clone()) {
                members.push(m);
            }
        }
    }
    (resource, members)
}

fn attach_members(resource: &mut Value, members: Vec<Value>) {
    if members.is_empty() {
        return;
    }
    if let Some(o) = resource.as_object_mut() {
        o.insert("members".into(), Value::Array(members));
    }
}

fn set_last_modified(resource: &mut Value, now: &str) {
    if let Some(meta) = resource.get_mut("meta").and_then(Value::as_object_mut) {
        meta.insert("lastModified".into(), Value::String(now.to_owned()));
    }
}

/// Fail with `Uniqueness { id }` if `id` is taken by a resource of the other
/// kind (ids are unique per tenant across kinds, as in the memory store).
fn ensure_id_free(tx: &Connection, other: ResourceKind, tenant: &str, id: &str) -> StoreResult<()> {
    let sql = match other {
        ResourceKind::User => "SELECT 1 FROM users WHERE tenant = ?1 AND id = ?2",
        ResourceKind::Group => "SELECT 1 FROM groups WHERE tenant = ?1 AND id = ?2",
    };
    let taken = tx
        .prepare_cached(sql)
        .and_then(|mut s| s.exists(params![tenant, id]))
        .map_err(store_error)?;
    if taken {
        return Err(id_taken());
    }
    Ok(())
}

fn id_taken() -> StoreError {
    StoreError::Uniqueness {
        attribute: "id".to_owned(),
    }
}

/// Map a failed INSERT/UPDATE: a UNIQUE violation is a uniqueness error.
fn write_error(e: rusqlite::Error) -> StoreError {
    if is_user_name_conflict(&e) {
        StoreError::user_name_taken()
    } else if is_id_conflict(&e) {
        id_taken()
    } else {
        store_error(e)
    }
}

/// `(pk, version)` of a resource, if it exists in the tenant.
fn locate(
    tx: &Connection,
    kind: ResourceKind,
    tenant: &str,
    id: &str,
) -> StoreResult<Option<(i64, i64)>> {
    let sql = match kind {
        ResourceKind::User => "SELECT pk, version FROM users WHERE tenant = ?1 AND id = ?2",
        ResourceKind::Group => "SELECT pk, version FROM groups WHERE tenant = ?1 AND id = ?2",
    };
    tx.prepare_cached(sql)
        .and_then(|mut s| {
            s.query_row(params![tenant, id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(store_error)
}

/// The stored version if it matches `if_version`, else the right error.
fn check_version(found: Option<(i64, i64)>, if_version: Option<u64>) -> StoreResult<(i64, i64)> {
    let (pk, v) = found.ok_or(StoreError::NotFound)?;
    if if_version.is_some_and(|want| Some(want) != u64::try_from(v).ok()) {
        return Err(StoreError::PreconditionFailed);
    }
    Ok((pk, v))
}

const INSERT_USER: &str = "INSERT INTO users (tenant, id, version, user_name_key, external_id, display_name_key, \
     email_key, active, created, last_modified, resource) VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";

const UPDATE_USER: &str = "UPDATE users SET version = version + 1, user_name_key = ?3, external_id = ?4, \
     display_name_key = ?5, email_key = ?6, active = ?7, created = ?8, last_modified = ?9, resource = ?10 \
     WHERE pk = ?1 AND version = ?2 AND tenant = ?11";

const INSERT_GROUP: &str = "INSERT INTO groups (tenant, id, version, external_id, display_name_key, created, \
     last_modified, resource) VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6, ?7)";

const UPDATE_GROUP: &str = "UPDATE groups SET version = version + 1, external_id = ?3, display_name_key = ?4, \
     created = ?5, last_modified = ?6, resource = ?7 WHERE pk = ?1 AND version = ?2 AND tenant = ?8";

const INSERT_EMAIL: &str = "INSERT INTO user_emails (user_pk, ord, tenant, value_key, type_key, is_primary) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/// Add members, set-based: `?3` is a JSON array of `[id, folded id, type,
/// display]`; present members (and repeats) are left as they are.
const INSERT_MEMBERS: &str = "INSERT OR IGNORE INTO members (group_pk, member_id, tenant, member_key, type, display) \
     SELECT ?1, j.value ->> 0, ?2, j.value ->> 1, j.value ->> 2, j.value ->> 3 FROM json_each(?3) AS j";

/// Remove members, set-based: `?3` is a JSON array of ids.
const DELETE_MEMBERS: &str = "DELETE FROM members WHERE group_pk = ?1 AND tenant = ?2 \
     AND member_id IN (SELECT j.value FROM json_each(?3) AS j)";

/// The groups a member is in (`member_key` is the folded member id, as the
/// `members[value eq …]` filter compares), in id order.
const GROUPS_OF: &str = "SELECT g.id, g.resource ->> '$.displayName' FROM members m \
     JOIN groups g ON g.pk = m.group_pk WHERE m.tenant = ?1 AND m.member_key = ?2 ORDER BY g.id";

const SELECT_MEMBERS: &str = "SELECT member_id, type, display FROM members WHERE group_pk = ?1 AND tenant = ?2 ORDER BY member_id";

fn insert_emails(
    tx: &Connection,
    tenant: &str,
    user_pk: i64,
    emails: &[EmailColumns],
) -> StoreResult<()> {
    if emails.is_empty() {
        return Ok(());
    }
    let mut stmt = tx.prepare_cached(INSERT_EMAIL).map_err(store_error)?;
    for (ord, e) in emails.iter().enumerate() {
        stmt.execute(params![
            user_pk,
            sql_int(ord),
            tenant,
            e.value_key,
            e.type_key,
            e.primary
        ])
        .map_err(store_error)?;
    }
    Ok(())
}

fn insert_members(
    tx: &Connection,
    tenant: &str,
    group_pk: i64,
    members: &[Member],
) -> StoreResult<()> {
    if members.is_empty() {
        return Ok(());
    }
    let rows: Vec<Value> = members
        .iter()
        .map(|m| {
            serde_json::json!([
                m.value,
                scimkit::store::fold_case(&m.value),
                m.kind,
                m.display
            ])
        })
        .collect();
    let rows = Value::Array(rows).to_string();
    tx.prepare_cached(INSERT_MEMBERS)
        .and_then(|mut s| s.execute(params![group_pk, tenant, rows]))
        .map_err(store_error)?;
    Ok(())
}

fn update_group(
    tx: &Connection,
    tenant: &str,
    pk: i64,
    version: i64,
    resource: &Value,
) -> StoreResult<()> {
    let c = GroupColumns::of(resource);
    let json = to_json(resource)?;
    let changed = tx
        .prepare_cached(UPDATE_GROUP)
        .and_then(|mut s| {
            s.execute(params![
                pk,
                version,
                c.external_id,
                c.display_name_key,
                c.created,
                c.last_modified,
                json,
                tenant
            ])
        })
        .map_err(write_error)?;
    if changed == 1 {
        Ok(())
    } else {
        Err(StoreError::PreconditionFailed)
    }
}

/// Members of a group, in the form the Group resource lists them.
fn load_members(conn: &Connection, tenant: &str, group_pk: i64) -> StoreResult<Vec<Value>> {
    let mut stmt = conn.prepare_cached(SELECT_MEMBERS).map_err(store_error)?;
    let rows = stmt
        .query_map(params![group_pk, tenant], |r| {
            Ok(Member {
                value: r.get(0)?,
                kind: r.get(1)?,
                display: r.get(2)?,
            })
        })
        .map_err(store_error)?;
    let mut out = Vec::new();
    for m in rows {
        out.push(m.map_err(store_error)?.to_json());
    }
    Ok(out)
}

/// Remove `id` from every group of the tenant it is a member of, bumping those
/// groups' versions and `meta.lastModified`.
fn cascade_membership(tx: &Connection, tenant: &str, id: &str) -> StoreResult<()> {
    let now = scimkit::time::now();
    let key = scimkit::store::fold_case(id);
    tx.prepare_cached(
        "UPDATE groups SET version = version + 1, last_modified = ?1, \
         resource = CASE WHEN json_type(resource, '$.meta') = 'object' \
                    THEN json_set(resource, '$.meta.lastModified', ?2) ELSE resource END \
         WHERE pk IN (SELECT group_pk FROM members WHERE tenant = ?3 AND member_key = ?4 AND member_id = ?5)",
    )
    .and_then(|mut s| s.execute(params![normalize_time(&now), now, tenant, key, id]))
    .map_err(store_error)?;
    tx.prepare_cached(
        "DELETE FROM members WHERE tenant = ?1 AND member_key = ?2 AND member_id = ?3",
    )
    .and_then(|mut s| s.execute(params![tenant, key, id]))
    .map_err(store_error)?;
    Ok(())
}

/// One row of a query result.
struct Hit {
    pk: i64,
    stored: Stored,
    /// Whether `stored.resource` carries the group's members.
    with_members: bool,
}

/// A row as read: `pk, id, version, resource[, sort key]`.
struct RawRow {
    pk: i64,
    id: String,
    version: i64,
    json: String,
    /// The sort column (`NULL` without a sort), for keyset cursors.
    key: SqlValue,
}

impl RawRow {
    fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            pk: r.get(0)?,
            id: r.get(1)?,
            version: r.get(2)?,
            json: r.get(3)?,
            key: SqlValue::Null,
        })
    }

    fn read_with_key(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            key: r.get(4)?,
            ..Self::read(r)?
        })
    }

    /// A user row shared as its JSON text (see [`SqlPage::shared`]).
    fn shared(self) -> StoreResult<SharedStored> {
        Ok(SharedStored {
            id: self.id,
            resource: SharedJson::from_text(self.json),
            version: version(self.version)?,
        })
    }
}

impl Hit {
    fn new(row: RawRow) -> StoreResult<Self> {
        Ok(Self {
            pk: row.pk,
            stored: Stored {
                id: row.id,
                resource: from_json(&row.json)?,
                version: version(row.version)?,
            },
            with_members: false,
        })
    }

    /// Make the members match what the caller asked for.
    fn finish(
        mut self,
        conn: &Connection,
        tenant: &str,
        kind: ResourceKind,
        members: Members,
    ) -> StoreResult<Stored> {
        if kind == ResourceKind::Group {
            match (members, self.with_members) {
                (Members::Include, false) => {
                    let list = load_members(conn, tenant, self.pk)?;
                    attach_members(&mut self.stored.resource, list);
                }
                (Members::Exclude, true) => {
                    if let Some(o) = self.stored.resource.as_object_mut() {
                        o.remove("members");
                    }
                }
                _ => {}
            }
        }
        Ok(self.stored)
    }
}

fn run(conn: &Connection, sql: &str, params: &[SqlValue]) -> StoreResult<Vec<RawRow>> {
    let mut stmt = conn.prepare_cached(sql).map_err(store_error)?;
    let rows = stmt
        .query_map(params_from_iter(params.iter()), RawRow::read_with_key)
        .map_err(store_error)?;
    rows.collect::<rusqlite::Result<Vec<_>>>()
        .map_err(store_error)
}

/// The keyset condition "after (key, id)" for the order `(c IS NULL), c, id`.
fn keyset(sort: Option<(&str, bool)>, key: &SqlValue, id: &str) -> Cond {
    let id = SqlValue::Text(id.to_owned());
    match (sort, key) {
        (None, _) => Cond {
            sql: "t.id > ?".into(),
            params: vec![id],
        },
        (Some((c, _)), SqlValue::Null) => Cond {
            sql: format!("({c} IS NULL AND t.id > ?)"),
            params: vec![id],
        },
        (Some((c, descending)), key) => {
            let op = if descending { "<" } else { ">" };
            Cond {
                sql: format!(
                    "(({c} IS NOT NULL AND ({c} {op} ? OR ({c} = ? AND t.id > ?))) OR {c} IS NULL)"
                ),
                params: vec![key.clone(), key.clone(), id],
            }
        }
    }
}

/// A query entirely in SQL: filter, count, order and page.
/// A page answered in SQL, its rows as read.
struct SqlPage {
    rows: Vec<RawRow>,
    total: usize,
    next_cursor: Option<String>,
}

impl SqlPage {
    /// The resources, parsed (with a group's members as asked).
    fn finish(
        self,
        conn: &Connection,
        tenant: &str,
        kind: ResourceKind,
        members: Members,
    ) -> StoreResult<Page> {
        let mut resources = Vec::with_capacity(self.rows.len());
        for row in self.rows {
            resources.push(Hit::new(row)?.finish(conn, tenant, kind, members)?);
        }
        Ok(Page {
            resources,
            total_results: self.total,
            next_cursor: self.next_cursor,
        })
    }

    /// The resources as the stored text (users: their JSON is serde_json's,
    /// never edited in SQL).
    fn shared(self) -> StoreResult<Page<SharedStored>> {
        let mut resources = Vec::with_capacity(self.rows.len());
        for row in self.rows {
            resources.push(row.shared()?);
        }
        Ok(Page {
            resources,
            total_results: self.total,
            next_cursor: self.next_cursor,
        })
    }
}

fn query_sql(
    conn: &Connection,
    tenant: &str,
    kind: ResourceKind,
    q: &Query,
    cond: Option<Cond>,
    sort: Option<(&'static str, bool)>,
    fp: u64,
) -> StoreResult<SqlPage> {
    let table = table(kind);
    let mut where_sql = String::from("t.tenant = ?");
    let mut params = vec![SqlValue::Text(tenant.to_owned())];
    if let Some(c) = cond {
        where_sql.push_str(" AND ");
        where_sql.push_str(&c.sql);
        params.extend(c.params);
    }
    // The filter alone, for the count.
    let count_sql = format!("SELECT count(*) FROM {table} t WHERE {where_sql}");
    let count_params = params.clone();
    let key_expr = sort.map_or("NULL", |(c, _)| c);
    let order = match sort {
        None => "t.id".to_owned(),
        Some((c, descending)) => {
            format!(
                "({c} IS NULL), {c} {}, t.id",
                if descending { "DESC" } else { "ASC" }
            )
        }
    };
    // `known`: the total when the page shows it (a first page that is not full).
    let (rows, next_cursor, known) = match &q.page {
        PageRequest::Index { start_index, count } => {
            if *count == 0 {
                (Vec::new(), None, None)
            } else {
                params.push(SqlValue::Integer(sql_int(*count)));
                params.push(SqlValue::Integer(sql_int(start_index.saturating_sub(1))));
                let sql = format!(
                    "SELECT t.pk, t.id, t.version, t.resource, {key_expr} FROM {table} t \
                     WHERE {where_sql} ORDER BY {order} LIMIT ? OFFSET ?"
                );
                let rows = run(conn, &sql, &params)?;
                let known = (*start_index <= 1 && rows.len() < *count).then_some(rows.len());
                (rows, None, known)
            }
        }
        PageRequest::Cursor { cursor, count } => {
            let pos = match cursor {
                None => Position::Start,
                Some(c) => cursor::decode(c, fp)?,
            };
            match &pos {
                Position::Start => {}
                Position::After { key, id } => {
                    let k = keyset(sort, key, id);
                    where_sql.push_str(" AND ");
                    where_sql.push_str(&k.sql);
                    params.extend(k.params);
                }
                Position::Offset(_) => return Err(StoreError::InvalidCursor),
            }
            params.push(SqlValue::Integer(sql_int(count.saturating_add(1))));
            let sql = format!(
                "SELECT t.pk, t.id, t.version, t.resource, {key_expr} FROM {table} t \
                 WHERE {where_sql} ORDER BY {order} LIMIT ?"
            );
            let mut rows = run(conn, &sql, &params)?;
            let more = rows.len() > *count;
            rows.truncate(*count);
            let next = more.then(|| match rows.last() {
                Some(last) => cursor::encode(
                    fp,
                    &Position::After {
                        key: last.key.clone(),
                        id: last.id.clone(),
                    },
                ),
                None => cursor::encode(fp, &pos),
            });
            let known = (pos == Position::Start && !more).then_some(rows.len());
            (rows, next, known)
        }
    };
    let total = match known {
        Some(n) => n,
        None => {
            let n: i64 = conn
                .prepare_cached(&count_sql)
                .and_then(|mut s| s.query_row(params_from_iter(count_params.iter()), |r| r.get(0)))
                .map_err(store_error)?;
            usize::try_from(n).map_err(StoreError::other)?
        }
    };
    Ok(SqlPage {
        rows,
        total,
        next_cursor,
    })
}

/// A query the SQL cannot answer exactly: select the candidates `narrow` allows
/// (all of the tenant's resources without it), evaluate the filter with the
/// core's [`Query::matches`] unless `exact`, sort with [`Query::compare`], page
/// with offsets.
fn query_rust(
    conn: &Connection,
    tenant: &str,
    kind: ResourceKind,
    q: &Query,
    narrow: Option<Cond>,
    exact: bool,
    fp: u64,
) -> StoreResult<Page> {
    let table = table(kind);
    let mut sql =
        format!("SELECT t.pk, t.id, t.version, t.resource FROM {table} t WHERE t.tenant = ?");
    let mut params = vec![SqlValue::Text(tenant.to_owned())];
    if let Some(c) = narrow {
        sql.push_str(" AND ");
        sql.push_str(&c.sql);
        params.extend(c.params);
    }
    sql.push_str(" ORDER BY t.id");
    let need_members = kind == ResourceKind::Group
        && ((!exact && q.filter.as_ref().is_some_and(mentions_members))
            || q.sort
                .as_ref()
                .is_some_and(|s| s.path.uri.is_none() && s.path.name == "members"));
    let mut hits = Vec::new();
    {
        let mut stmt = conn.prepare_cached(&sql).map_err(store_error)?;
        let mut rows = stmt
            .query(params_from_iter(params.iter()))
            .map_err(store_error)?;
        while let Some(row) = rows.next().map_err(store_error)? {
            let mut h = Hit::new(RawRow::read(row).map_err(store_error)?)?;
            if need_members {
                let list = load_members(conn, tenant, h.pk)?;
                attach_members(&mut h.stored.resource, list);
                h.with_members = true;
            }
            if exact || q.matches(&h.stored.resource) {
                hits.push(h);
            }
        }
    }
    if q.sort.is_some() {
        hits.sort_by(|a, b| q.compare(&a.stored.resource, &b.stored.resource));
    }
    let total = hits.len();
    let (start, end, next_cursor) = match &q.page {
        PageRequest::Index { start_index, count } => {
            let start = start_index.saturating_sub(1).min(total);
            (start, start.saturating_add(*count).min(total), None)
        }
        PageRequest::Cursor { cursor, count } => {
            let start = match cursor
                .as_deref()
                .map(|c| cursor::decode(c, fp))
                .transpose()?
            {
                None | Some(Position::Start) => 0,
                Some(Position::Offset(n)) => n.min(total),
                Some(Position::After { .. }) => return Err(StoreError::InvalidCursor),
            };
            let end = start.saturating_add(*count).min(total);
            (
                start,
                end,
                (end < total).then(|| cursor::encode(fp, &Position::Offset(end))),
            )
        }
    };
    let mut resources = Vec::with_capacity(end - start);
    for h in hits.drain(start..end) {
        resources.push(h.finish(conn, tenant, kind, q.members)?);
    }
    Ok(Page {
        resources,
        total_results: total,
        next_cursor,
    })
}

/// A write the writer thread runs.
type Work = Box<dyn FnOnce(&Connection) -> StoreResult<()> + Send>;

/// A create, split into the write for the writer thread and what the call
/// returns once it has committed.
fn create_work(tenant: String, kind: ResourceKind, resource: Value) -> StoreResult<(Work, Stored)> {
    let id = id_of(&resource)?;
    match kind {
        ResourceKind::User => {
            let c = UserColumns::of(&resource);
            let json = to_json(&resource)?;
            let key = id.clone();
            let work: Work = Box::new(move |tx| {
                let (tenant, id) = (tenant.as_str(), key.as_str());
                ensure_id_free(tx, ResourceKind::Group, tenant, id)?;
                tx.prepare_cached(INSERT_USER)
                    .and_then(|mut s| {
                        s.execute(params![
                            tenant,
                            id,
                            c.user_name_key,
                            c.external_id,
                            c.display_name_key,
                            c.email_key,
                            c.active,
                            c.created,
                            c.last_modified,
                            json
                        ])
                    })
                    .map_err(write_error)?;
                insert_emails(tx, tenant, tx.last_insert_rowid(), &c.emails)
            });
            Ok((
                work,
                Stored {
                    id,
                    resource,
                    version: 1,
                },
            ))
        }
        ResourceKind::Group => {
            let (mut bare, members) = split_members(resource);
            let c = GroupColumns::of(&bare);
            let json = to_json(&bare)?;
            let listed: Vec<Value> = members.iter().map(Member::to_json).collect();
            let key = id.clone();
            let work: Work = Box::new(move |tx| {
                let (tenant, id) = (tenant.as_str(), key.as_str());
                ensure_id_free(tx, ResourceKind::User, tenant, id)?;
                tx.prepare_cached(INSERT_GROUP)
                    .and_then(|mut s| {
                        s.execute(params![
                            tenant,
                            id,
                            c.external_id,
                            c.display_name_key,
                            c.created,
                            c.last_modified,
                            json
                        ])
                    })
                    .map_err(write_error)?;
                insert_members(tx, tenant, tx.last_insert_rowid(), &members)
            });
            attach_members(&mut bare, listed);
            Ok((
                work,
                Stored {
                    id,
                    resource: bare,
                    version: 1,
                },
            ))
        }
    }
}

// ===== UserStore =====

impl UserStore for SqliteStore {
    fn create(&self, ctx: &Ctx, kind: ResourceKind, resource: Value) -> StoreResult<Stored> {
        let (work, stored) = create_work(ctx.tenant.clone(), kind, resource)?;
        self.write(work)?;
        Ok(stored)
    }

    fn get(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        id: &str,
        members: Members,
    ) -> StoreResult<Option<Stored>> {
        let sql = match kind {
            ResourceKind::User => {
                "SELECT pk, id, version, resource FROM users WHERE tenant = ?1 AND id = ?2"
            }
            ResourceKind::Group => {
                "SELECT pk, id, version, resource FROM groups WHERE tenant = ?1 AND id = ?2"
            }
        };
        self.read(|conn| {
            // One snapshot for the group row and its members.
            let snapshot = (kind == ResourceKind::Group && members == Members::Include)
                .then(|| conn.unchecked_transaction())
                .transpose()
                .map_err(store_error)?;
            let row = conn
                .prepare_cached(sql)
                .and_then(|mut s| {
                    s.query_row(params![ctx.tenant, id], RawRow::read)
                        .optional()
                })
                .map_err(store_error)?;
            let Some(row) = row else {
                return Ok(None);
            };
            let stored = Hit::new(row)?.finish(conn, &ctx.tenant, kind, members)?;
            drop(snapshot);
            Ok(Some(stored))
        })
    }

    /// One indexed join (`members_by_member`), instead of the generic
    /// membership filter's `IN (SELECT …)` with its temporary table.
    fn groups_of(&self, ctx: &Ctx, member_id: &str) -> StoreResult<Vec<GroupRef>> {
        let key = fold_case(member_id);
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(GROUPS_OF).map_err(store_error)?;
            let rows = stmt
                .query_map(params![ctx.tenant, key], |r| {
                    Ok(GroupRef {
                        id: r.get(0)?,
                        display_name: r.get(1)?,
                    })
                })
                .map_err(store_error)?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
                .map_err(store_error)
        })
    }

    fn replace(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        id: &str,
        resource: Value,
        if_version: Option<u64>,
    ) -> StoreResult<Stored> {
        let tenant = ctx.tenant.clone();
        let key = id.to_owned();
        match kind {
            ResourceKind::User => {
                let c = UserColumns::of(&resource);
                let json = to_json(&resource)?;
                let v = self.write(move |tx| {
                    let tenant = tenant.as_str();
                    let (pk, v) = check_version(locate(tx, kind, tenant, &key)?, if_version)?;
                    let changed = tx
                        .prepare_cached(UPDATE_USER)
                        .and_then(|mut s| {
                            s.execute(params![
                                pk,
                                v,
                                c.user_name_key,
                                c.external_id,
                                c.display_name_key,
                                c.email_key,
                                c.active,
                                c.created,
                                c.last_modified,
                                json,
                                tenant
                            ])
                        })
                        .map_err(write_error)?;
                    if changed != 1 {
                        return Err(StoreError::PreconditionFailed);
                    }
                    tx.prepare_cached("DELETE FROM user_emails WHERE user_pk = ?1 AND tenant = ?2")
                        .and_then(|mut s| s.execute(params![pk, tenant]))
                        .map_err(store_error)?;
                    insert_emails(tx, tenant, pk, &c.emails)?;
                    Ok(v + 1)
                })?;
                Ok(Stored {
                    id: id.to_owned(),
                    resource,
                    version: version(v)?,
                })
            }
            ResourceKind::Group => {
                let (bare, members) = split_members(resource);
                let listed: Vec<Value> = members.iter().map(Member::to_json).collect();
                let (v, mut bare) = self.write(move |tx| {
                    let tenant = tenant.as_str();
                    let (pk, v) = check_version(locate(tx, kind, tenant, &key)?, if_version)?;
                    update_group(tx, tenant, pk, v, &bare)?;
                    tx.prepare_cached("DELETE FROM members WHERE group_pk = ?1 AND tenant = ?2")
                        .and_then(|mut s| s.execute(params![pk, tenant]))
                        .map_err(store_error)?;
                    insert_members(tx, tenant, pk, &members)?;
                    Ok((v + 1, bare))
                })?;
                attach_members(&mut bare, listed);
                Ok(Stored {
                    id: id.to_owned(),
                    resource: bare,
                    version: version(v)?,
                })
            }
        }
    }

    fn delete(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        id: &str,
        if_version: Option<u64>,
    ) -> StoreResult<()> {
        let tenant = ctx.tenant.clone();
        let id = id.to_owned();
        self.write(move |tx| {
            let (tenant, id) = (tenant.as_str(), id.as_str());
            let (pk, _) = check_version(locate(tx, kind, tenant, id)?, if_version)?;
            let (children, row) = match kind {
                ResourceKind::User => (
                    "DELETE FROM user_emails WHERE user_pk = ?1 AND tenant = ?2",
                    "DELETE FROM users WHERE pk = ?1 AND tenant = ?2",
                ),
                ResourceKind::Group => (
                    "DELETE FROM members WHERE group_pk = ?1 AND tenant = ?2",
                    "DELETE FROM groups WHERE pk = ?1 AND tenant = ?2",
                ),
            };
            for sql in [children, row] {
                tx.prepare_cached(sql)
                    .and_then(|mut s| s.execute(params![pk, tenant]))
                    .map_err(store_error)?;
            }
            cascade_membership(tx, tenant, id)
        })
    }

    fn query(&self, ctx: &Ctx, kind: ResourceKind, q: &Query) -> StoreResult<Page> {
        let tenant = ctx.tenant.as_str();
        self.query_in(
            ctx,
            kind,
            q,
            |conn, page| page.finish(conn, tenant, kind, q.members),
            |page| page,
        )
    }

    /// Users come back as their stored JSON text when the query runs in SQL
    /// (the engine writes responses from the text without parsing it); groups
    /// and queries evaluated here come back parsed.
    fn query_shared(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        q: &Query,
    ) -> StoreResult<Page<SharedStored>> {
        match kind {
            ResourceKind::User => self.query_in(ctx, kind, q, |_, page| page.shared(), Page::from),
            ResourceKind::Group => self.query(ctx, kind, q).map(Page::from),
        }
    }

    /// A user is shared as its stored JSON text; a group is read with `get`.
    fn get_shared(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        id: &str,
        members: Members,
    ) -> StoreResult<Option<SharedStored>> {
        if kind == ResourceKind::Group {
            return Ok(self.get(ctx, kind, id, members)?.map(SharedStored::from));
        }
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT pk, id, version, resource FROM users WHERE tenant = ?1 AND id = ?2",
            )
            .and_then(|mut s| {
                s.query_row(params![ctx.tenant, id], RawRow::read)
                    .optional()
            })
            .map_err(store_error)?
            .map(RawRow::shared)
            .transpose()
        })
    }

    fn modify_members(
        &self,
        ctx: &Ctx,
        group_id: &str,
        change: &MemberChange,
        if_version: Option<u64>,
    ) -> StoreResult<Stored> {
        let tenant = ctx.tenant.clone();
        let group_id = group_id.to_owned();
        let change = change.clone();
        self.write(move |tx| {
            let (tenant, group_id) = (tenant.as_str(), group_id.as_str());
            let row = tx
                .prepare_cached(
                    "SELECT pk, version, resource FROM groups WHERE tenant = ?1 AND id = ?2",
                )
                .and_then(|mut s| {
                    s.query_row(params![tenant, group_id], |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, i64>(1)?,
                            r.get::<_, String>(2)?,
                        ))
                    })
                    .optional()
                })
                .map_err(store_error)?;
            let (pk, v, json) = row.ok_or(StoreError::NotFound)?;
            check_version(Some((pk, v)), if_version)?;
            if change.remove_all {
                tx.prepare_cached("DELETE FROM members WHERE group_pk = ?1 AND tenant = ?2")
                    .and_then(|mut s| s.execute(params![pk, tenant]))
                    .map_err(store_error)?;
            } else if !change.remove.is_empty() {
                let ids = serde_json::to_string(&change.remove).map_err(StoreError::other)?;
                tx.prepare_cached(DELETE_MEMBERS)
                    .and_then(|mut s| s.execute(params![pk, tenant, ids]))
                    .map_err(store_error)?;
            }
            insert_members(tx, tenant, pk, &change.add)?;
            let mut resource = from_json(&json)?;
            set_last_modified(&mut resource, &change.last_modified);
            update_group(tx, tenant, pk, v, &resource)?;
            Ok(Stored {
                id: group_id.to_owned(),
                resource,
                version: version(v + 1)?,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use scimkit::schema::Registry;

    use super::*;

    /// The query plan of the count SQL for `filter` (as `query_sql` builds it).
    fn plan(store: &SqliteStore, kind: ResourceKind, filter: &str) -> String {
        let reg = Registry::default();
        let q = Query::all(Arc::clone(reg.get(kind)))
            .with_filter(filter)
            .expect("filter");
        let t = Translator::new(kind, q.schema(), "t1");
        let cond = t.exact(q.filter.as_ref().expect("filter")).expect("exact");
        let sql = format!(
            "EXPLAIN QUERY PLAN SELECT count(*) FROM {} t WHERE t.tenant = ? AND {}",
            table(kind),
            cond.sql
        );
        let mut params = vec![SqlValue::Text("t1".into())];
        params.extend(cond.params);
        let conn = store.conn.lock();
        let mut stmt = conn.prepare(&sql).expect("prepare");
        let rows = stmt
            .query_map(params_from_iter(params.iter()), |r| r.get::<_, String>(3))
            .expect("plan");
        rows.map(|r| r.expect("row"))
            .collect::<Vec<_>>()
            .join(" | ")
    }

    fn user(id: &str, user_name: &str) -> Value {
        serde_json::json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": id,
            "userName": user_name,
            "meta": {"resourceType": "User", "created": "2024-01-01T00:00:00.000Z",
                     "lastModified": "2024-01-01T00:00:00.000Z"},
        })
    }

    /// Two creates of one userName (in different case) in the same batch: the
    /// first queued wins, the second is a uniqueness error, and the writes
    /// around them commit.
    #[test]
    fn in_one_batch_the_first_create_of_a_user_name_wins() {
        let store = SqliteStore::open_in_memory().expect("open");
        let ctx = Ctx::new("t1");
        let mut pending = std::collections::VecDeque::new();
        let mut answers = Vec::new();
        for (id, name) in [
            ("a", "alice@example.com"),
            ("b", "ALICE@example.com"),
            ("c", "carol@example.com"),
        ] {
            let (work, _) =
                create_work("t1".into(), ResourceKind::User, user(id, name)).expect("work");
            let (job, answer) = crate::writer::job(work);
            pending.push_back(job);
            answers.push(answer);
        }
        crate::writer::commit_batch(&store.conn.lock(), &mut pending, store.busy_timeout);
        let outcomes: Vec<_> = answers
            .iter()
            .map(|a| a.try_recv().expect("answered"))
            .collect();
        assert!(outcomes[0].is_ok(), "{:?}", outcomes[0]);
        assert!(
            matches!(&outcomes[1], Err(StoreError::Uniqueness { attribute }) if attribute == "userName"),
            "{:?}",
            outcomes[1]
        );
        assert!(outcomes[2].is_ok(), "{:?}", outcomes[2]);
        let found = |id: &str| {
            store
                .get(&ctx, ResourceKind::User, id, Members::Include)
                .expect("get")
                .is_some()
        };
        assert!(found("a") && !found("b") && found("c"));
    }

    /// A write that panics is answered with an internal error; the store and
    /// its writer thread carry on, and dropping the store joins the thread.
    #[test]
    fn a_panicking_write_is_an_internal_error_and_the_store_carries_on() {
        let store = SqliteStore::open_in_memory().expect("open");
        let ctx = Ctx::new("t1");
        let r = store.write(|_: &Connection| -> StoreResult<()> { panic!("a bug") });
        assert!(matches!(r, Err(StoreError::Other(_))), "{r:?}");
        store
            .create(&ctx, ResourceKind::User, user("a", "alice@example.com"))
            .expect("create after the panic");
        assert!(
            store
                .get(&ctx, ResourceKind::User, "a", Members::Include)
                .expect("get")
                .is_some()
        );
        let conn = Arc::clone(&store.conn);
        drop(store);
        assert_eq!(Arc::strong_count(&conn), 1, "the writer thread has ended");
    }

    #[test]
    fn membership_changes_are_keyed_lookups() {
        let store = SqliteStore::open_in_memory().expect("open");
        let conn = store.conn.lock();
        for sql in [INSERT_MEMBERS, DELETE_MEMBERS] {
            let mut stmt = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .expect("prepare");
            let plan: Vec<String> = stmt
                .query_map(params![1, "t1", "[]"], |r| r.get::<_, String>(3))
                .expect("plan")
                .map(|r| r.expect("row"))
                .collect();
            let plan = plan.join(" | ");
            assert!(
                !plan.contains("SCAN m") && !plan.contains("SCAN members"),
                "{sql}: {plan}"
            );
        }
    }

    #[test]
    /// Entra's membership check reads one group and probes one member in the
    /// index: no temporary list of the member's groups.
    fn an_id_anchored_membership_check_probes_one_row() {
        let store = SqliteStore::open_in_memory().expect("open");
        for (kind, filter, index) in [
            (
                ResourceKind::Group,
                r#"id eq "g" and members[value eq "u1"]"#,
                "groups_by_id",
            ),
            (
                ResourceKind::Group,
                r#"members[value eq "u1"] and id eq "g""#,
                "groups_by_id",
            ),
            (
                ResourceKind::User,
                r#"id eq "u" and emails.value eq "a@b""#,
                "users_by_id",
            ),
        ] {
            let p = plan(&store, kind, filter);
            assert!(p.contains(index) && p.contains("EXISTS"), "{filter}: {p}");
            assert!(!p.contains("LIST SUBQUERY"), "{filter}: {p}");
        }
        // Without the id, the member's groups come from its index (a list).
        let p = plan(&store, ResourceKind::Group, r#"members[value eq "u1"]"#);
        assert!(
            p.contains("members_by_member") && !p.contains("(tenant=?)"),
            "{p}"
        );
    }

    #[test]
    fn indexed_filters_use_their_indexes() {
        let store = SqliteStore::open_in_memory().expect("open");
        for (kind, filter, index) in [
            (
                ResourceKind::User,
                r#"userName eq "a""#,
                "users_by_user_name",
            ),
            (
                ResourceKind::User,
                r#"userName sw "a""#,
                "users_by_user_name",
            ),
            (
                ResourceKind::User,
                r#"externalId eq "a""#,
                "users_by_external_id",
            ),
            (ResourceKind::User, r#"id eq "a""#, "users_by_id"),
            (
                ResourceKind::User,
                r#"displayName eq "a""#,
                "users_by_display_name",
            ),
            (
                ResourceKind::User,
                r#"emails.value eq "a""#,
                "user_emails_by_value",
            ),
            (
                ResourceKind::User,
                r#"meta.lastModified gt "2024-01-01T00:00:00Z""#,
                "users_by_last_modified",
            ),
            (
                ResourceKind::Group,
                r#"members[value eq "u1"]"#,
                "members_by_member",
            ),
            (
                ResourceKind::Group,
                r#"displayName eq "a""#,
                "groups_by_display_name",
            ),
        ] {
            let p = plan(&store, kind, filter);
            assert!(p.contains(index), "{filter}: {p}");
            assert!(
                !p.contains("(tenant=?)"),
                "{filter} scans a whole tenant: {p}"
            );
        }
    }
}
