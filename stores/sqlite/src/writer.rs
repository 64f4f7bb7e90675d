//! The writer thread: group commit.
//!
//! One thread owns the writes to the writer connection. A store call packs its
//! write into a [`Job`], queues it and waits for the answer. The thread takes
//! everything queued at that moment (at most [`MAX_BATCH`] jobs; it never waits
//! for more to arrive), runs them in one transaction, each inside its own
//! savepoint, commits once (one flush of the write-ahead log with
//! `synchronous=FULL`), and only then answers every caller of the batch:
//!
//! ```text
//! BEGIN IMMEDIATE
//!   SAVEPOINT w  job 1  RELEASE w                      -- succeeded
//!   SAVEPOINT w  job 2  ROLLBACK TO w; RELEASE w       -- failed (409, 412, 404, …): only its own changes undone
//!   SAVEPOINT w  job 3  RELEASE w
//! COMMIT                                               -- one flush; then answer jobs 1, 2, 3
//! ```
//!
//! Jobs run in the order they were queued and see the effects of the jobs
//! before them (of two creates of the same userName in one batch, the first
//! wins and the second fails with a uniqueness error). If the transaction
//! cannot begin, or the commit fails, no job of the batch is acknowledged:
//! each is answered with that error. A job that panics is answered with an
//! internal error and its changes are rolled back; the thread carries on.
//!
//! The queue is bounded ([`QUEUE`] jobs): when it is full, callers block until
//! the thread has taken a batch (backpressure, not unbounded memory).
//! Dropping the [`Writer`] closes the queue; the thread finishes every job
//! already queued and exits, and the drop joins it.

use std::collections::VecDeque;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rusqlite::Connection;
use scimkit::store::{StoreError, StoreResult};

use crate::error::shared_store_error;

/// The most writes one transaction (and one flush) carries.
pub(crate) const MAX_BATCH: usize = 256;

/// The most writes waiting for the writer thread; further callers block until
/// it has taken a batch.
pub(crate) const QUEUE: usize = 1024;

/// A queued write, type-erased.
pub(crate) type Job = Box<dyn Op>;

/// A write as the writer thread sees it.
pub(crate) trait Op: Send {
    /// Run the write on `conn` (inside the transaction and this job's
    /// savepoint); return whether it succeeded. A panic is caught and turned
    /// into a failure.
    fn execute(&mut self, conn: &Connection) -> bool;
    /// Answer the caller with the outcome of [`Op::execute`] (the batch
    /// committed).
    fn answer(self: Box<Self>);
    /// Answer the caller with `error` instead (the batch was not committed).
    fn fail(self: Box<Self>, error: StoreError);
}

/// A caller's write: the work, its outcome once run, and where the answer goes.
struct Call<T, F> {
    work: Option<F>,
    outcome: Option<StoreResult<T>>,
    reply: SyncSender<StoreResult<T>>,
}

impl<T, F> Op for Call<T, F>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
{
    fn execute(&mut self, conn: &Connection) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        // The connection is only used after this through SQL statements that
        // undo the job's changes (ROLLBACK TO), so a panic cannot leave
        // anything half-done that is later relied on.
        let outcome = match catch_unwind(AssertUnwindSafe(|| work(conn))) {
            Ok(outcome) => outcome,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                tracing::error!(panic = %what, "a SQLite store write panicked; it was rolled back");
                Err(StoreError::other("internal error: the write panicked"))
            }
        };
        let ok = outcome.is_ok();
        self.outcome = Some(outcome);
        ok
    }

    fn answer(self: Box<Self>) {
        let outcome = self
            .outcome
            .unwrap_or_else(|| Err(StoreError::other("internal error: the write did not run")));
        // The caller waits for this answer; if it is gone there is no one to tell.
        let _ = self.reply.send(outcome);
    }

    fn fail(self: Box<Self>, error: StoreError) {
        let _ = self.reply.send(Err(error));
    }
}

/// The handle of the writer thread: queue writes with [`Writer::write`].
/// Dropping it finishes the queued writes and joins the thread.
pub(crate) struct Writer {
    queue: Option<SyncSender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for Writer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Writer")
            .field("running", &self.thread.is_some())
            .finish()
    }
}

impl Writer {
    /// Start the writer thread for `conn`. The thread locks `conn` for the
    /// duration of each batch (so reads sent through the same connection, in
    /// an in-memory store or one without readers, wait between batches).
    /// `busy_timeout`: how long a batch waits for another connection's write
    /// lock (see [`begin`]).
    pub(crate) fn start(
        conn: Arc<Mutex<Connection>>,
        busy_timeout: Duration,
    ) -> std::io::Result<Self> {
        let (queue, jobs) = sync_channel::<Job>(QUEUE);
        let thread = std::thread::Builder::new()
            .name("scimkit-sqlite-writer".into())
            .spawn(move || run(&conn, &jobs, busy_timeout))?;
        Ok(Self {
            queue: Some(queue),
            thread: Some(thread),
        })
    }

    /// Queue `work` for the writer thread and wait until its batch has been
    /// committed (or has failed). `work` runs in a transaction that other
    /// writes share; its changes are rolled back if it returns an error. It
    /// must not call `write` itself (it would wait for its own batch).
    pub(crate) fn write<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let queue = self.queue.as_ref().ok_or_else(stopped)?;
        let (reply, answer) = sync_channel(1);
        let job: Job = Box::new(Call {
            work: Some(work),
            outcome: None,
            reply,
        });
        queue.send(job).map_err(|_| stopped())?;
        // Every queued job is answered, or dropped (closing `reply`) if the
        // thread is gone: this wait ends either way.
        answer.recv().map_err(|_| stopped())?
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the queue ends the thread once it has run every queued job.
        drop(self.queue.take());
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("the SQLite writer thread panicked");
            }
        }
    }
}

fn stopped() -> StoreError {
    StoreError::other("the SQLite writer thread has stopped")
}

/// The writer thread: batches until the queue is closed and empty.
fn run(conn: &Mutex<Connection>, jobs: &Receiver<Job>, busy_timeout: Duration) {
    // Jobs taken from the queue but not run yet (a batch SQLite aborted
    // leaves the jobs after the one that caused it here).
    let mut pending: VecDeque<Job> = VecDeque::new();
    loop {
        if pending.is_empty() {
            match jobs.recv() {
                Ok(job) => pending.push_back(job),
                // Closed and drained: the store is being dropped.
                Err(_) => return,
            }
        }
        // Whatever else is queued right now; no waiting for more.
        while pending.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => pending.push_back(job),
                Err(_) => break,
            }
        }
        let conn = conn.lock();
        commit_batch(&conn, &mut pending, busy_timeout);
    }
}

/// Run up to [`MAX_BATCH`] jobs from the front of `pending` in one
/// transaction and answer them. Removes at least one job from `pending`.
pub(crate) fn commit_batch(conn: &Connection, pending: &mut VecDeque<Job>, busy_timeout: Duration) {
    let n = pending.len().min(MAX_BATCH);
    if let Err(e) = begin(conn, busy_timeout) {
        let e = Arc::new(e);
        for job in pending.drain(..n) {
            job.fail(shared_store_error(&e));
        }
        return;
    }
    let mut ran: Vec<Job> = Vec::with_capacity(n);
    for _ in 0..n {
        let Some(mut job) = pending.pop_front() else {
            break;
        };
        if let Err(e) = exec(conn, "SAVEPOINT w") {
            abandon(conn, ran, Some(job), e);
            return;
        }
        let ok = job.execute(conn);
        if conn.is_autocommit() {
            // SQLite rolled the whole transaction back (an I/O error, a full
            // disk, …): nothing of this batch is written. The job keeps its
            // own error; the jobs after it stay queued for the next batch.
            let why = Arc::new(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ABORT),
                Some("the transaction was rolled back by another write of its batch".into()),
            ));
            if ok {
                job.fail(shared_store_error(&why));
            } else {
                job.answer();
            }
            for done in ran {
                done.fail(shared_store_error(&why));
            }
            return;
        }
        let end = if ok {
            exec(conn, "RELEASE w")
        } else {
            exec(conn, "ROLLBACK TO w").and_then(|()| exec(conn, "RELEASE w"))
        };
        if let Err(e) = end {
            abandon(conn, ran, Some(job), e);
            return;
        }
        ran.push(job);
    }
    match exec(conn, "COMMIT") {
        Ok(()) => {
            for job in ran {
                job.answer();
            }
        }
        Err(e) => abandon(conn, ran, None, e),
    }
}

/// `BEGIN IMMEDIATE`, waiting up to `timeout` for a write lock that another
/// connection holds (another process on the same file) in short steps: 20 µs,
/// doubling up to 1 ms. SQLite's own busy handler sleeps 1 ms first and up to
/// 100 ms later, while another process's commit holds the lock for well under
/// a millisecond: with two processes writing, most of a write's time went to
/// those sleeps. The connection's busy timeout is off for these attempts only.
fn begin(conn: &Connection, timeout: Duration) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::ZERO)?;
    let started = Instant::now();
    let mut pause = Duration::from_micros(20);
    let result = loop {
        match exec(conn, "BEGIN IMMEDIATE") {
            Err(e) if is_busy(&e) && started.elapsed() < timeout => {
                std::thread::sleep(pause.min(timeout.saturating_sub(started.elapsed())));
                pause = (pause * 2).min(Duration::from_millis(1));
            }
            other => break other,
        }
    };
    conn.busy_timeout(timeout)?;
    result
}

fn is_busy(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
}

/// Run one statement without parameters or rows (prepared once per connection).
fn exec(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

/// Roll the open transaction back and answer every job with `e`: none of
/// them is acknowledged.
fn abandon(conn: &Connection, ran: Vec<Job>, current: Option<Job>, e: rusqlite::Error) {
    if !conn.is_autocommit() {
        if let Err(rollback) = conn.execute_batch("ROLLBACK") {
            tracing::error!(error = %rollback, "rolling back a failed SQLite batch failed");
        }
    }
    let e = Arc::new(e);
    tracing::warn!(error = %e, jobs = ran.len() + usize::from(current.is_some()), "a SQLite write batch failed");
    for job in ran.into_iter().chain(current) {
        job.fail(shared_store_error(&e));
    }
}

/// A job for `work` and the receiver of its answer, for tests that build
/// batches by hand (see [`commit_batch`]).
#[cfg(test)]
pub(crate) fn job<T, F>(work: F) -> (Job, Receiver<StoreResult<T>>)
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
{
    let (reply, answer) = sync_channel(1);
    let job: Job = Box::new(Call {
        work: Some(work),
        outcome: None,
        reply,
    });
    (job, answer)
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc::Receiver;

    use rusqlite::params;

    use super::*;

    /// Insert `name` into `t` (UNIQUE); a duplicate is a uniqueness error.
    fn insert(name: &'static str) -> (Job, Receiver<StoreResult<i64>>) {
        job(move |conn: &Connection| {
            conn.execute("INSERT INTO t (name) VALUES (?1)", params![name])
                .map_err(|e| match e.sqlite_error_code() {
                    Some(rusqlite::ErrorCode::ConstraintViolation) => StoreError::user_name_taken(),
                    _ => StoreError::other(e),
                })?;
            Ok(conn.last_insert_rowid())
        })
    }

    fn db() -> Connection {
        let conn = Connection::open_in_memory().expect("open");
        conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL);")
            .expect("schema");
        conn
    }

    fn names(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT name FROM t ORDER BY id")
            .expect("prepare");
        let rows = stmt.query_map([], |r| r.get(0)).expect("query");
        rows.map(|r| r.expect("row")).collect()
    }

    fn answer<T>(rx: &Receiver<StoreResult<T>>) -> StoreResult<T> {
        rx.try_recv().expect("answered when the batch ended")
    }

    #[test]
    fn writes_in_one_batch_see_each_other_in_order_and_a_duplicate_fails_alone() {
        let conn = db();
        let (a, ra) = insert("alice");
        let (b, rb) = insert("bob");
        let (dup, rdup) = insert("alice");
        let (c, rc) = insert("carol");
        let mut pending: VecDeque<Job> = [a, b, dup, c].into();
        commit_batch(&conn, &mut pending, Duration::from_secs(5));
        assert!(pending.is_empty());
        assert_eq!(answer(&ra).expect("first alice"), 1);
        assert_eq!(answer(&rb).expect("bob"), 2);
        assert!(matches!(
            answer(&rdup),
            Err(StoreError::Uniqueness { attribute }) if attribute == "userName"
        ));
        assert_eq!(answer(&rc).expect("carol"), 3);
        assert_eq!(names(&conn), ["alice", "bob", "carol"]);
        assert!(conn.is_autocommit(), "the batch committed");
    }

    #[test]
    fn a_failed_write_rolls_back_its_own_changes_only() {
        let conn = db();
        let (a, ra) = insert("alice");
        // Writes a row, then fails: its row must go, alice and carol stay.
        let (bad, rbad) = job(|conn: &Connection| -> StoreResult<()> {
            conn.execute("INSERT INTO t (name) VALUES ('half-done')", [])
                .map_err(StoreError::other)?;
            Err(StoreError::PreconditionFailed)
        });
        let (c, rc) = insert("carol");
        let mut pending: VecDeque<Job> = [a, bad, c].into();
        commit_batch(&conn, &mut pending, Duration::from_secs(5));
        assert!(answer(&ra).is_ok());
        assert!(matches!(answer(&rbad), Err(StoreError::PreconditionFailed)));
        assert!(answer(&rc).is_ok());
        assert_eq!(names(&conn), ["alice", "carol"]);
    }

    #[test]
    fn a_panicking_write_is_answered_with_an_error_and_rolled_back() {
        let conn = db();
        let (a, ra) = insert("alice");
        let (boom, rboom) = job(|conn: &Connection| -> StoreResult<()> {
            conn.execute("INSERT INTO t (name) VALUES ('half-done')", [])
                .map_err(StoreError::other)?;
            panic!("a bug in a write");
        });
        let (c, rc) = insert("carol");
        let mut pending: VecDeque<Job> = [a, boom, c].into();
        commit_batch(&conn, &mut pending, Duration::from_secs(5));
        assert!(answer(&ra).is_ok());
        match answer(&rboom) {
            Err(StoreError::Other(e)) => {
                assert_eq!(e.to_string(), "internal error: the write panicked");
            }
            other => panic!("expected an internal error, got {other:?}"),
        }
        assert!(answer(&rc).is_ok());
        assert_eq!(names(&conn), ["alice", "carol"]);
    }

    #[test]
    fn a_failed_commit_acknowledges_no_write_of_the_batch() {
        let conn = db();
        // A deferred foreign key is only checked at COMMIT.
        conn.execute_batch(
            "PRAGMA foreign_keys = ON; CREATE TABLE parent (id INTEGER PRIMARY KEY); \
             CREATE TABLE child (parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);",
        )
        .expect("schema");
        let (a, ra) = insert("alice");
        let (orphan, rorphan) = job(|conn: &Connection| {
            conn.execute("INSERT INTO child (parent) VALUES (42)", [])
                .map_err(StoreError::other)
        });
        let (dup, rdup) = insert("alice");
        let mut pending: VecDeque<Job> = [a, orphan, dup].into();
        commit_batch(&conn, &mut pending, Duration::from_secs(5));
        for outcome in [
            answer(&ra).map(|_| ()),
            answer(&rorphan).map(|_| ()),
            answer(&rdup).map(|_| ()),
        ] {
            match outcome {
                Err(StoreError::Other(e)) => {
                    assert!(e.to_string().contains("FOREIGN KEY"), "{e}");
                }
                other => panic!("expected the commit's error, got {other:?}"),
            }
        }
        assert!(conn.is_autocommit(), "the transaction was rolled back");
        assert!(names(&conn).is_empty());
        // The connection is usable for the next batch.
        let (b, rb) = insert("bob");
        let mut pending: VecDeque<Job> = [b].into();
        commit_batch(&conn, &mut pending, Duration::from_secs(5));
        assert!(answer(&rb).is_ok());
        assert_eq!(names(&conn), ["bob"]);
    }

    #[test]
    fn a_transaction_sqlite_aborts_fails_the_writes_before_and_keeps_the_rest_queued() {
        let conn = db();
        let (a, ra) = insert("alice");
        // Stands in for an I/O error or a full disk, after which SQLite rolls
        // the whole transaction back.
        let (abort, rabort) = job(|conn: &Connection| -> StoreResult<()> {
            conn.execute_batch("ROLLBACK").map_err(StoreError::other)?;
            Err(StoreError::other("disk full"))
        });
        let (c, rc) = insert("carol");
        let mut pending: VecDeque<Job> = [a, abort, c].into();
        commit_batch(&conn, &mut pending, Duration::from_secs(5));
        assert!(matches!(answer(&ra), Err(StoreError::Other(_))));
        match answer(&rabort) {
            Err(StoreError::Other(e)) => assert_eq!(e.to_string(), "disk full"),
            other => panic!("expected its own error, got {other:?}"),
        }
        assert_eq!(pending.len(), 1, "carol waits for the next batch");
        assert!(rc.try_recv().is_err(), "carol is not answered yet");
        assert!(names(&conn).is_empty());
        commit_batch(&conn, &mut pending, Duration::from_secs(5));
        assert!(answer(&rc).is_ok());
        assert_eq!(names(&conn), ["carol"]);
    }

    #[test]
    fn a_batch_takes_at_most_max_batch_writes() {
        let conn = db();
        let mut pending = VecDeque::new();
        let mut answers = Vec::new();
        for i in 0..MAX_BATCH + 3 {
            let (j, r) = job(move |conn: &Connection| {
                conn.execute("INSERT INTO t (name) VALUES (?1)", params![format!("n{i}")])
                    .map_err(StoreError::other)
            });
            pending.push_back(j);
            answers.push(r);
        }
        commit_batch(&conn, &mut pending, Duration::from_secs(5));
        assert_eq!(pending.len(), 3);
        assert_eq!(names(&conn).len(), MAX_BATCH);
        assert!(answers[MAX_BATCH - 1].try_recv().is_ok());
        assert!(answers[MAX_BATCH].try_recv().is_err());
        commit_batch(&conn, &mut pending, Duration::from_secs(5));
        assert!(pending.is_empty());
        assert_eq!(names(&conn).len(), MAX_BATCH + 3);
    }

    #[test]
    fn a_panic_does_not_stop_the_thread_and_drop_joins_it() {
        let conn = Arc::new(Mutex::new(db()));
        let writer = Writer::start(Arc::clone(&conn), Duration::from_secs(5)).expect("start");
        let panicked = writer.write(|_: &Connection| -> StoreResult<()> { panic!("boom") });
        assert!(matches!(panicked, Err(StoreError::Other(_))));
        let id = writer
            .write(|conn: &Connection| {
                conn.execute("INSERT INTO t (name) VALUES ('after')", [])
                    .map_err(StoreError::other)?;
                Ok(conn.last_insert_rowid())
            })
            .expect("the thread carries on");
        assert_eq!(id, 1);
        drop(writer);
        // The thread held the other reference to the connection until joined.
        assert_eq!(Arc::strong_count(&conn), 1);
        assert_eq!(names(&conn.lock()), ["after"]);
    }

    #[test]
    fn concurrent_writes_each_get_their_own_answer_one_winner_per_name() {
        const THREADS: usize = 16;
        const EACH: usize = 50;
        let conn = Arc::new(Mutex::new(db()));
        let writer = Writer::start(Arc::clone(&conn), Duration::from_secs(5)).expect("start");
        let start = std::sync::Barrier::new(THREADS);
        let ok = std::thread::scope(|s| {
            let handles: Vec<_> = (0..THREADS)
                .map(|t| {
                    let (writer, start) = (&writer, &start);
                    s.spawn(move || {
                        start.wait();
                        let mut ok = 0;
                        for i in 0..EACH {
                            // Threads t and t ^ 1 race for the same names.
                            let name = format!("n{}-{i}", t / 2);
                            let r = writer.write(move |conn: &Connection| {
                                conn.execute("INSERT INTO t (name) VALUES (?1)", params![name])
                                    .map_err(StoreError::other)
                            });
                            ok += usize::from(r.is_ok());
                        }
                        ok
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("thread"))
                .sum::<usize>()
        });
        drop(writer);
        let stored = names(&conn.lock());
        assert_eq!(ok, THREADS / 2 * EACH, "one write per name succeeded");
        assert_eq!(stored.len(), ok);
        let distinct: std::collections::HashSet<_> = stored.iter().collect();
        assert_eq!(distinct.len(), stored.len());
    }
}
