//! Provisioning events, delivered to the host after the store commit.
//!
//! Events go through a bounded queue to one background thread that calls the
//! host's [`EventHandler`]; a slow handler never delays a SCIM response. When the
//! queue is full, new events are **dropped** (counted in
//! [`EventDispatcher::dropped`] and logged with `tracing::warn!`), never blocking
//! the request: size the queue (`ScimServerBuilder::event_queue`) for your
//! handler's worst stall. A handler that panics loses that one event; the thread
//! goes on.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::Duration;

use serde_json::{Value, json};

use crate::schema::ResourceKind;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventKind {
    /// A resource was created.
    Created,
    /// An existing local user was linked to the IdP (a POST adopted it).
    Linked,
    /// A resource changed; [`Event::changed`] lists the attributes.
    Updated,
    /// A user's `active` went from true to false (Entra soft delete, unassignment,
    /// blocked sign-in): revoke its sessions and tokens.
    Deactivated,
    /// A user's `active` went from false to true, or an administrator restored it.
    Reactivated,
    /// A resource was deleted (or hidden by the soft-delete policy).
    Deleted,
    /// A DELETE was queued for an administrator's review (the user is deactivated).
    QueuedForReview,
    /// Members were added to a group ([`Event::members`]).
    MembersAdded,
    /// Members were removed from a group ([`Event::members`]).
    MembersRemoved,
}

impl EventKind {
    /// A stable snake_case name (`"created"`, `"members_added"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Created => "created",
            EventKind::Linked => "linked",
            EventKind::Updated => "updated",
            EventKind::Deactivated => "deactivated",
            EventKind::Reactivated => "reactivated",
            EventKind::Deleted => "deleted",
            EventKind::QueuedForReview => "queued_for_review",
            EventKind::MembersAdded => "members_added",
            EventKind::MembersRemoved => "members_removed",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One provisioning event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// The tenant.
    pub tenant: String,
    /// User or Group.
    pub resource_type: ResourceKind,
    /// The resource id.
    pub id: String,
    /// The user's `userName` or the group's `displayName`, when known.
    pub name: Option<String>,
    /// For `Updated`: the top-level attributes whose value changed.
    pub changed: Vec<String>,
    /// For membership events: the member ids.
    pub members: Vec<String>,
    /// When (fixed-width UTC).
    pub time: String,
    /// The request that caused it.
    pub request_id: String,
}

impl Event {
    /// The JSON form (for C and Python hosts and logs).
    pub fn to_json(&self) -> Value {
        json!({
            "kind": self.kind.as_str(),
            "tenant": self.tenant,
            "resourceType": self.resource_type.as_str(),
            "id": self.id,
            "name": self.name,
            "changed": self.changed,
            "members": self.members,
            "time": self.time,
            "requestId": self.request_id,
        })
    }
}

/// Receives events (on the dispatcher's background thread).
pub trait EventHandler: Send + Sync + 'static {
    /// Called once per event, in order.
    fn handle(&self, event: &Event);
}

impl<F: Fn(&Event) + Send + Sync + 'static> EventHandler for F {
    fn handle(&self, event: &Event) {
        self(event)
    }
}

enum Msg {
    Event(Box<Event>),
    Flush(SyncSender<()>),
}

/// The bounded queue and the thread that delivers events.
///
/// A forked child (a pre-fork server such as gunicorn `--preload` builds the
/// engine, then forks its workers) has no delivery thread — threads do not
/// survive `fork()` — so the first event in a new process starts one there;
/// events still queued in the parent at the fork stay the parent's.
pub struct EventDispatcher {
    handler: Arc<dyn EventHandler>,
    capacity: usize,
    /// The process the delivery thread runs in, and its queue.
    queue: parking_lot::Mutex<(u32, SyncSender<Msg>)>,
    dropped: Arc<AtomicU64>,
    delivered: Arc<AtomicU64>,
}

impl fmt::Debug for EventDispatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventDispatcher")
            .field("dropped", &self.dropped())
            .field("delivered", &self.delivered())
            .finish()
    }
}

impl EventDispatcher {
    /// Start the delivery thread with a queue of `capacity` events.
    pub fn new(handler: Arc<dyn EventHandler>, capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let delivered = Arc::new(AtomicU64::new(0));
        let tx = start(Arc::clone(&handler), capacity, Arc::clone(&delivered));
        Self {
            handler,
            capacity,
            queue: parking_lot::Mutex::new((std::process::id(), tx)),
            dropped: Arc::new(AtomicU64::new(0)),
            delivered,
        }
    }

    /// The queue of this process's delivery thread (started now in a forked
    /// child).
    fn sender(&self) -> SyncSender<Msg> {
        let pid = std::process::id();
        let mut queue = self.queue.lock();
        if queue.0 != pid {
            let fresh = start(
                Arc::clone(&self.handler),
                self.capacity,
                Arc::clone(&self.delivered),
            );
            // The parent's queue: left alone (its thread is not in this process).
            std::mem::forget(std::mem::replace(&mut queue.1, fresh));
            queue.0 = pid;
        }
        queue.1.clone()
    }

    /// Queue an event; drops it (and counts it) when the queue is full.
    pub fn emit(&self, event: Event) {
        match self.sender().try_send(Msg::Event(Box::new(event))) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::warn!(dropped_total = n, "event queue full: event dropped");
            }
            Err(TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Wait (at most `timeout`) until every event queued so far was handled.
    /// Returns whether it finished in time.
    pub fn flush(&self, timeout: Duration) -> bool {
        let (done_tx, done_rx) = sync_channel(1);
        if self.sender().send(Msg::Flush(done_tx)).is_err() {
            return false;
        }
        done_rx.recv_timeout(timeout).is_ok()
    }

    /// Events dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Events handed to the handler.
    pub fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }
}

/// Start a delivery thread; returns its queue.
fn start(
    handler: Arc<dyn EventHandler>,
    capacity: usize,
    delivered: Arc<AtomicU64>,
) -> SyncSender<Msg> {
    let (tx, rx) = sync_channel::<Msg>(capacity);
    let spawned = std::thread::Builder::new()
        .name("scimkit-events".into())
        .spawn(move || deliver(rx, handler, delivered));
    if let Err(e) = spawned {
        tracing::error!(error = %e, "could not start the event thread; events will be dropped");
    }
    tx
}

fn deliver(rx: Receiver<Msg>, handler: Arc<dyn EventHandler>, delivered: Arc<AtomicU64>) {
    // Ends when the dispatcher (the sender) is dropped.
    while let Ok(msg) = rx.recv() {
        match msg {
            Msg::Event(e) => {
                let h = Arc::clone(&handler);
                let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| h.handle(&e)));
                if ok.is_err() {
                    tracing::error!(kind = %e.kind, id = %e.id, "event handler panicked; event lost");
                }
                delivered.fetch_add(1, Ordering::Relaxed);
            }
            Msg::Flush(done) => {
                let _ = done.send(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use parking_lot::Mutex;

    use super::*;

    fn ev(i: usize) -> Event {
        Event {
            kind: EventKind::Created,
            tenant: "t".into(),
            resource_type: ResourceKind::User,
            id: i.to_string(),
            name: None,
            changed: vec![],
            members: vec![],
            time: crate::time::now(),
            request_id: "r".into(),
        }
    }

    #[test]
    fn delivers_in_order_after_flush() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = Arc::clone(&seen);
        let d = EventDispatcher::new(Arc::new(move |e: &Event| s.lock().push(e.id.clone())), 100);
        for i in 0..10 {
            d.emit(ev(i));
        }
        assert!(d.flush(Duration::from_secs(5)));
        assert_eq!(
            *seen.lock(),
            (0..10).map(|i| i.to_string()).collect::<Vec<_>>()
        );
        assert_eq!((d.delivered(), d.dropped()), (10, 0));
    }

    #[test]
    fn a_full_queue_drops_instead_of_blocking() {
        let gate = Arc::new(Mutex::new(()));
        let held = gate.lock();
        let g = Arc::clone(&gate);
        let d = EventDispatcher::new(Arc::new(move |_: &Event| drop(g.lock())), 2);
        let start = std::time::Instant::now();
        for i in 0..50 {
            d.emit(ev(i));
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "emit never blocks"
        );
        assert!(d.dropped() >= 40, "dropped {}", d.dropped());
        drop(held);
        assert!(d.flush(Duration::from_secs(5)));
        assert_eq!(d.delivered() + d.dropped(), 50);
    }

    #[test]
    fn a_panicking_handler_loses_only_its_event() {
        let d = EventDispatcher::new(
            Arc::new(|e: &Event| {
                if e.id == "1" {
                    panic!("boom")
                }
            }),
            10,
        );
        for i in 0..3 {
            d.emit(ev(i));
        }
        assert!(d.flush(Duration::from_secs(5)));
        assert_eq!(d.delivered(), 3);
    }
}
