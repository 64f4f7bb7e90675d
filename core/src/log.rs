//! The provisioning log: every request that changes (or fails to change)
//! something, and every rejected credential, with its outcome.
//!
//! The engine records through the [`ProvisioningLog`] trait; [`MemoryLog`] keeps a
//! bounded window in memory, the SQLite and PostgreSQL stores keep it in a table.
//! Entries never contain tokens, passwords or resource bodies.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError, sync_channel};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};
use serde_json::{Value, json};

use crate::schema::ResourceKind;
use crate::store::StoreResult;

/// How a logged request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// 2xx: the change was made.
    Success,
    /// 4xx/5xx: nothing was changed.
    Failure,
    /// The request was accepted without effect by policy (ignored user, groups
    /// not provisioned).
    Ignored,
}

impl Outcome {
    /// `"success"`, `"failure"` or `"ignored"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Ignored => "ignored",
        }
    }

    /// Parse the name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "success" => Some(Outcome::Success),
            "failure" => Some(Outcome::Failure),
            "ignored" => Some(Outcome::Ignored),
            _ => None,
        }
    }
}

/// One provisioning log entry.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    /// When (fixed-width UTC, sorts as text).
    pub time: String,
    /// The tenant (empty when the credential was rejected).
    pub tenant: String,
    /// The credential's id (never the secret).
    pub token_id: String,
    /// The request id.
    pub request_id: String,
    /// HTTP method.
    pub method: String,
    /// The path below the base path.
    pub path: String,
    /// `create`, `replace`, `patch`, `delete`, `bulk`, `auth`, …
    pub operation: String,
    /// User or Group, when the request addressed one.
    pub resource_type: Option<ResourceKind>,
    /// The resource id, when known.
    pub resource_id: Option<String>,
    /// The user's userName or the group's displayName, when known.
    pub name: Option<String>,
    /// The HTTP status answered.
    pub status: u16,
    /// The outcome.
    pub outcome: Outcome,
    /// The SCIM error keyword, if any.
    pub scim_type: Option<String>,
    /// The SCIM error detail (as sent to the client), if any.
    pub detail: Option<String>,
}

impl LogEntry {
    /// The JSON form (one line of the JSON-lines export).
    pub fn to_json(&self) -> Value {
        json!({
            "time": self.time,
            "tenant": self.tenant,
            "tokenId": self.token_id,
            "requestId": self.request_id,
            "method": self.method,
            "path": self.path,
            "operation": self.operation,
            "resourceType": self.resource_type.map(ResourceKind::as_str),
            "resourceId": self.resource_id,
            "name": self.name,
            "status": self.status,
            "outcome": self.outcome.as_str(),
            "scimType": self.scim_type,
            "detail": self.detail,
        })
    }
}

/// A query over the log; every field narrows it. Newest entries first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogQuery {
    /// Only this tenant.
    pub tenant: Option<String>,
    /// Only entries at or after this time.
    pub since: Option<String>,
    /// Only entries before this time.
    pub until: Option<String>,
    /// Only this resource id.
    pub resource_id: Option<String>,
    /// Only this name (userName/displayName), case-insensitively.
    pub name: Option<String>,
    /// Only this outcome.
    pub outcome: Option<Outcome>,
    /// Skip this many (paging).
    pub offset: usize,
    /// At most this many; 0 means 100.
    pub limit: usize,
}

impl LogQuery {
    /// Whether an entry passes the query's conditions (not offset/limit).
    pub fn accepts(&self, e: &LogEntry) -> bool {
        self.tenant.as_ref().is_none_or(|t| *t == e.tenant)
            && self
                .since
                .as_ref()
                .is_none_or(|s| e.time.as_str() >= s.as_str())
            && self
                .until
                .as_ref()
                .is_none_or(|u| e.time.as_str() < u.as_str())
            && self
                .resource_id
                .as_ref()
                .is_none_or(|r| e.resource_id.as_ref() == Some(r))
            && self.name.as_ref().is_none_or(|n| {
                e.name
                    .as_ref()
                    .is_some_and(|x| crate::store::fold_case(x) == crate::store::fold_case(n))
            })
            && self.outcome.is_none_or(|o| o == e.outcome)
    }

    /// The effective limit.
    pub fn effective_limit(&self) -> usize {
        if self.limit == 0 { 100 } else { self.limit }
    }
}

/// Where provisioning log entries go.
pub trait ProvisioningLog: Send + Sync + 'static {
    /// Record one entry.
    fn record(&self, entry: &LogEntry) -> StoreResult<()>;
    /// Record several entries, in order. The default records them one by one;
    /// a database log should write them in one transaction (what
    /// [`BatchingLog`] relies on).
    fn record_batch(&self, entries: &[LogEntry]) -> StoreResult<()> {
        entries.iter().try_for_each(|e| self.record(e))
    }
    /// Entries matching the query, newest first.
    fn query(&self, query: &LogQuery) -> StoreResult<Vec<LogEntry>>;
    /// Delete entries older than `before`; returns how many.
    fn prune(&self, before: &str) -> StoreResult<usize>;
}

/// An in-memory log keeping the newest `capacity` entries.
#[derive(Debug)]
pub struct MemoryLog {
    entries: RwLock<VecDeque<LogEntry>>,
    capacity: usize,
}

impl MemoryLog {
    /// A log keeping at most `capacity` entries (oldest dropped first).
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: RwLock::new(VecDeque::new()),
            capacity: capacity.max(1),
        }
    }
}

impl Default for MemoryLog {
    fn default() -> Self {
        Self::new(100_000)
    }
}

impl ProvisioningLog for MemoryLog {
    fn record(&self, entry: &LogEntry) -> StoreResult<()> {
        let mut e = self.entries.write();
        if e.len() >= self.capacity {
            e.pop_front();
        }
        e.push_back(entry.clone());
        Ok(())
    }

    fn query(&self, q: &LogQuery) -> StoreResult<Vec<LogEntry>> {
        let e = self.entries.read();
        Ok(e.iter()
            .rev()
            .filter(|x| q.accepts(x))
            .skip(q.offset)
            .take(q.effective_limit())
            .cloned()
            .collect())
    }

    fn prune(&self, before: &str) -> StoreResult<usize> {
        let mut e = self.entries.write();
        let n = e.len();
        e.retain(|x| x.time.as_str() >= before);
        Ok(n - e.len())
    }
}

/// What the writer thread of a [`BatchingLog`] receives.
enum Message {
    Entry(Box<LogEntry>),
    /// Answer once everything sent before has been written.
    Flush(SyncSender<()>),
}

/// The most entries written in one [`ProvisioningLog::record_batch`] call.
const MAX_BATCH: usize = 512;

/// A [`ProvisioningLog`] that writes in the background, in batches.
///
/// [`record`](ProvisioningLog::record) only queues the entry; one writer thread
/// takes everything queued and writes it with one
/// [`record_batch`](ProvisioningLog::record_batch) call (one transaction in a
/// database log). A request then no longer waits for the log's disk write, and
/// many requests share one commit.
///
/// * **Reads see every earlier write**: [`query`](ProvisioningLog::query),
///   [`prune`](ProvisioningLog::prune) and [`BatchingLog::flush`] first wait
///   until everything queued before them is written.
/// * **Backpressure, not loss**: the queue is bounded; when the writer falls
///   behind, `record` waits for room.
/// * **What can be lost**: entries still queued when the process is killed
///   (normally milliseconds' worth). A failed batch write is logged (`tracing`
///   error with the number of entries) and counted in
///   [`BatchingLog::failed`]; it is not retried.
/// * Dropping the log writes what is queued and joins the thread.
pub struct BatchingLog {
    inner: Arc<dyn ProvisioningLog>,
    sender: Mutex<Option<SyncSender<Message>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    /// The writer thread, to wake it from a linger (see [`write_loop`]).
    thread: Thread,
    /// Entries recorded and not yet written (or failed) by the writer.
    pending: Arc<AtomicUsize>,
    failed: Arc<AtomicU64>,
}

impl std::fmt::Debug for BatchingLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchingLog")
            .field("failed", &self.failed())
            .finish_non_exhaustive()
    }
}

impl BatchingLog {
    /// Write to `inner` from a background thread, with a queue of `capacity`
    /// entries (at least 1).
    ///
    /// # Errors
    ///
    /// The thread cannot be started.
    pub fn new(inner: Arc<dyn ProvisioningLog>, capacity: usize) -> std::io::Result<Self> {
        Self::with_linger(inner, capacity, Duration::ZERO)
    }

    /// [`BatchingLog::new`], where the writer, having taken what is queued,
    /// waits up to `linger` for more entries before it writes (unless the
    /// batch is full or a flush is waiting): fewer, larger transactions under
    /// a steady stream of writes, at the price of entries reaching the log up
    /// to `linger` later (and `linger` more of them lost if the process is
    /// killed). Reads through this log still see every earlier write.
    ///
    /// # Errors
    ///
    /// The thread cannot be started.
    pub fn with_linger(
        inner: Arc<dyn ProvisioningLog>,
        capacity: usize,
        linger: Duration,
    ) -> std::io::Result<Self> {
        let (sender, receiver) = sync_channel(capacity.max(1));
        let failed = Arc::new(AtomicU64::new(0));
        let pending = Arc::new(AtomicUsize::new(0));
        let writer = {
            let inner = Arc::clone(&inner);
            let failed = Arc::clone(&failed);
            let pending = Arc::clone(&pending);
            std::thread::Builder::new()
                .name("scimkit-log".into())
                .spawn(move || write_loop(&*inner, &receiver, &failed, &pending, linger))?
        };
        Ok(Self {
            inner,
            sender: Mutex::new(Some(sender)),
            thread: writer.thread().clone(),
            writer: Mutex::new(Some(writer)),
            pending,
            failed,
        })
    }

    /// Wait until every entry recorded so far has been written (or its batch
    /// has failed).
    pub fn flush(&self) {
        let (tx, rx) = sync_channel(1);
        let sender = self.sender.lock().clone();
        let sent = sender.is_some_and(|s| self.send(&s, Message::Flush(tx)));
        if sent {
            // A lingering writer sleeps outside the queue: wake it.
            self.thread.unpark();
            // The writer answers after the batch that holds earlier entries; an
            // error means it is gone, and so is anything to wait for.
            let _ = rx.recv();
        }
    }

    /// Queue `message`; while the queue is full, wake the writer (a lingering
    /// writer sleeps outside the queue, and only it makes room) and retry.
    /// False when the writer is gone.
    fn send(&self, sender: &SyncSender<Message>, message: Message) -> bool {
        let mut message = message;
        loop {
            match sender.try_send(message) {
                Ok(()) => return true,
                Err(TrySendError::Disconnected(_)) => return false,
                Err(TrySendError::Full(back)) => {
                    message = back;
                    self.thread.unpark();
                    std::thread::sleep(Duration::from_micros(50));
                }
            }
        }
    }

    /// Entries that could not be written (their batch failed) since the start.
    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }

    /// The log written to.
    pub fn inner(&self) -> &Arc<dyn ProvisioningLog> {
        &self.inner
    }
}

/// The writer: takes the first entry (waiting in the queue), lingers, writes
/// the batch, and again until the queue is closed and empty.
///
/// The linger is a sleep outside the queue (`park_timeout`), so the entries
/// sent meanwhile do not wake the writer one by one (a futex wake and two
/// context switches each); a flush, the log's drop, a full queue and a
/// batch's worth of `pending` entries wake it early (`unpark`).
fn write_loop(
    inner: &dyn ProvisioningLog,
    receiver: &Receiver<Message>,
    failed: &AtomicU64,
    pending: &AtomicUsize,
    linger: Duration,
) {
    let mut batch: Vec<LogEntry> = Vec::new();
    let mut waiting: Vec<SyncSender<()>> = Vec::new();
    // Ends when every sender is gone and the queue is empty.
    while let Ok(first) = receiver.recv() {
        let deadline = Instant::now() + linger;
        let mut next = Some(first);
        let mut open = true;
        loop {
            // Take what is queued, up to a full batch.
            while let Some(message) = next.take() {
                match message {
                    Message::Entry(e) => batch.push(*e),
                    Message::Flush(done) => waiting.push(done),
                }
                if batch.len() < MAX_BATCH {
                    next = take(receiver, &mut open);
                }
            }
            if batch.len() >= MAX_BATCH || !waiting.is_empty() || !open {
                break;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            // Linger for more (a flush, a full batch, the deadline or a
            // closed queue ends it; a spurious wake-up only loops).
            std::thread::park_timeout(left);
            next = take(receiver, &mut open);
        }
        if !batch.is_empty() {
            // A panicking log must not take the writer (and every later entry)
            // with it.
            let written = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                inner.record_batch(&batch)
            }));
            let error = match written {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e.to_string()),
                Err(_) => Some("the log panicked".to_owned()),
            };
            if let Some(error) = error {
                failed.fetch_add(batch.len() as u64, Ordering::Relaxed);
                tracing::error!(entries = batch.len(), %error, "provisioning log entries could not be written");
            }
            pending.fetch_sub(batch.len(), Ordering::Relaxed);
            batch.clear();
        }
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
    }
}

/// The next queued message, if any (`open` turns false once the queue is
/// closed and empty).
fn take(receiver: &Receiver<Message>, open: &mut bool) -> Option<Message> {
    match receiver.try_recv() {
        Ok(m) => Some(m),
        Err(TryRecvError::Empty) => None,
        Err(TryRecvError::Disconnected) => {
            *open = false;
            None
        }
    }
}

impl ProvisioningLog for BatchingLog {
    fn record(&self, entry: &LogEntry) -> StoreResult<()> {
        let sender = self.sender.lock().clone();
        match sender {
            Some(s) => {
                // Counted before the send: the writer's count down must not
                // run ahead of it.
                let pending = self.pending.fetch_add(1, Ordering::Relaxed) + 1;
                if !self.send(&s, Message::Entry(Box::new(entry.clone()))) {
                    self.pending.fetch_sub(1, Ordering::Relaxed);
                    return Err(crate::store::StoreError::other(
                        "the provisioning log writer has stopped",
                    ));
                }
                if pending >= MAX_BATCH {
                    // A batch's worth is waiting: end the writer's linger.
                    self.thread.unpark();
                }
                Ok(())
            }
            None => self.inner.record(entry),
        }
    }

    fn query(&self, query: &LogQuery) -> StoreResult<Vec<LogEntry>> {
        self.flush();
        self.inner.query(query)
    }

    fn prune(&self, before: &str) -> StoreResult<usize> {
        self.flush();
        self.inner.prune(before)
    }
}

impl Drop for BatchingLog {
    fn drop(&mut self) {
        // Closing the queue ends the writer after it has written what is queued.
        self.sender.lock().take();
        // A lingering writer sleeps outside the queue: wake it to see it closed.
        self.thread.unpark();
        if let Some(writer) = self.writer.lock().take() {
            let _ = writer.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    fn entry(i: usize) -> LogEntry {
        LogEntry {
            time: format!("2026-11-23T00:00:{:02}.{i:06}Z", i % 60),
            tenant: "t".into(),
            token_id: "k".into(),
            request_id: format!("r{i}"),
            method: "POST".into(),
            path: "/Users".into(),
            operation: "create".into(),
            resource_type: Some(ResourceKind::User),
            resource_id: Some(format!("u{i}")),
            name: None,
            status: 201,
            outcome: Outcome::Success,
            scim_type: None,
            detail: None,
        }
    }

    /// A log that counts batch calls, and fails or panics on request.
    #[derive(Default)]
    struct Probe {
        log: MemoryLog,
        batches: AtomicUsize,
        fail: std::sync::atomic::AtomicBool,
        panic: std::sync::atomic::AtomicBool,
    }

    impl ProvisioningLog for Probe {
        fn record(&self, e: &LogEntry) -> StoreResult<()> {
            self.log.record(e)
        }
        fn record_batch(&self, entries: &[LogEntry]) -> StoreResult<()> {
            self.batches.fetch_add(1, Ordering::SeqCst);
            assert!(!self.panic.load(Ordering::SeqCst), "probe panics");
            if self.fail.load(Ordering::SeqCst) {
                return Err(crate::store::StoreError::other("disk full"));
            }
            entries.iter().try_for_each(|e| self.log.record(e))
        }
        fn query(&self, q: &LogQuery) -> StoreResult<Vec<LogEntry>> {
            self.log.query(q)
        }
        fn prune(&self, before: &str) -> StoreResult<usize> {
            self.log.prune(before)
        }
    }

    fn all(log: &dyn ProvisioningLog) -> Vec<LogEntry> {
        log.query(&LogQuery {
            limit: 100_000,
            ..LogQuery::default()
        })
        .expect("query")
    }

    #[test]
    fn batching_log_loses_nothing_and_reads_its_writes() {
        let probe = Arc::new(Probe::default());
        let log = Arc::new(BatchingLog::new(probe.clone(), 64).expect("thread"));
        std::thread::scope(|s| {
            for t in 0..8 {
                let log = &log;
                s.spawn(move || {
                    for i in 0..500 {
                        log.record(&entry(t * 1000 + i)).expect("record");
                    }
                });
            }
        });
        // A read right after the writes sees all of them.
        let seen = all(&*log);
        assert_eq!(seen.len(), 4000);
        // Each thread's entries stay in order (newest first in the answer).
        let mine: Vec<String> = seen
            .iter()
            .rev()
            .filter(|e| e.request_id.len() == 5 && e.request_id.starts_with("r3"))
            .map(|e| e.request_id.clone())
            .collect();
        let expected: Vec<String> = (0..500).map(|i| format!("r{}", 3000 + i)).collect();
        assert_eq!(mine, expected);
        // Writes were batched (the queue holds 64: fewer calls than entries).
        assert!(probe.batches.load(Ordering::SeqCst) < 4000);
        assert_eq!(log.failed(), 0);
    }

    #[test]
    fn dropping_a_batching_log_writes_what_is_queued() {
        let probe = Arc::new(Probe::default());
        let log = BatchingLog::new(probe.clone(), 1000).expect("thread");
        for i in 0..700 {
            log.record(&entry(i)).expect("record");
        }
        drop(log);
        assert_eq!(all(&*probe).len(), 700);
    }

    #[test]
    fn failed_and_panicking_batches_are_counted_and_the_writer_goes_on() {
        let probe = Arc::new(Probe::default());
        let log = BatchingLog::new(probe.clone(), 16).expect("thread");
        probe.fail.store(true, Ordering::SeqCst);
        log.record(&entry(1)).expect("queued");
        log.flush();
        assert_eq!(log.failed(), 1);
        probe.fail.store(false, Ordering::SeqCst);
        probe.panic.store(true, Ordering::SeqCst);
        log.record(&entry(2)).expect("queued");
        log.flush();
        assert_eq!(log.failed(), 2);
        probe.panic.store(false, Ordering::SeqCst);
        log.record(&entry(3)).expect("queued");
        let seen = all(&log);
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].request_id, "r3");
        assert_eq!(log.prune("9999").expect("prune"), 1);
    }

    /// Run `f` on a thread; fail unless it finishes within 20 s (a linger of
    /// an hour would otherwise hang the test, not fail it).
    fn finishes(f: impl FnOnce() + Send + 'static) {
        let (tx, rx) = sync_channel(1);
        std::thread::spawn(move || {
            f();
            let _ = tx.send(());
        });
        assert!(
            rx.recv_timeout(Duration::from_secs(20)).is_ok(),
            "did not finish: a lingering writer held it"
        );
    }

    #[test]
    fn a_lingering_writer_batches_and_flush_and_drop_cut_the_linger_short() {
        let hour = Duration::from_secs(3600);
        let probe = Arc::new(Probe::default());
        let log = Arc::new(BatchingLog::with_linger(probe.clone(), 64, hour).expect("thread"));
        for i in 0..5 {
            log.record(&entry(i)).expect("record");
        }
        // A read waits for the entries before it, not for the linger.
        let l = Arc::clone(&log);
        finishes(move || assert_eq!(all(&*l).len(), 5));
        assert_eq!(
            probe.batches.load(Ordering::SeqCst),
            1,
            "five entries that came one after the other: one batch"
        );
        // Dropping the log writes what lingers and joins the writer.
        log.record(&entry(5)).expect("record");
        let log = Arc::into_inner(log).expect("the only handle");
        finishes(move || drop(log));
        assert_eq!(all(&*probe).len(), 6);
        assert_eq!(probe.batches.load(Ordering::SeqCst), 2);
    }

    /// A writer lingering for an hour is woken by a full queue (smaller than
    /// a batch) and by a batch's worth of queued entries, not only by a flush.
    #[test]
    fn a_full_queue_and_a_full_batch_end_the_linger() {
        let hour = Duration::from_secs(3600);
        // The queue (64) fills long before a batch (512): senders wake the
        // writer instead of waiting out the hour.
        let probe = Arc::new(Probe::default());
        let log = BatchingLog::with_linger(probe.clone(), 64, hour).expect("thread");
        finishes(move || {
            for i in 0..2000 {
                log.record(&entry(i)).expect("record");
            }
            assert_eq!(all(&log).len(), 2000);
        });
        // A flush behind a queue left exactly full (no record saw it full)
        // wakes the writer too; every count up to a few queues' worth.
        for n in 1..=40 {
            let probe = Arc::new(Probe::default());
            let log = BatchingLog::with_linger(probe.clone(), 8, hour).expect("thread");
            finishes(move || {
                for i in 0..n {
                    log.record(&entry(i)).expect("record");
                }
                log.flush();
                assert_eq!(all(&*probe).len(), n);
            });
        }
        // A queue larger than a batch: a batch's worth wakes the writer, which
        // writes without any flush (bounded wait).
        let probe = Arc::new(Probe::default());
        let log = BatchingLog::with_linger(probe.clone(), 8192, hour).expect("thread");
        for i in 0..MAX_BATCH {
            log.record(&entry(i)).expect("record");
        }
        let start = Instant::now();
        while probe.batches.load(Ordering::SeqCst) == 0 && start.elapsed() < Duration::from_secs(20)
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(
            probe.batches.load(Ordering::SeqCst),
            1,
            "a full batch was written without a flush"
        );
        assert_eq!(all(&*probe).len(), MAX_BATCH);
        finishes(move || drop(log));
    }

    #[test]
    fn the_default_record_batch_records_each_entry() {
        let log = MemoryLog::new(10);
        log.record_batch(&[entry(1), entry(2)]).expect("batch");
        assert_eq!(all(&log).len(), 2);
    }
}
