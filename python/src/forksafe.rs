//! Stores that survive `fork()`: pre-fork servers (gunicorn `--preload`,
//! uWSGI, `multiprocessing`) import the application — and open its store —
//! in a parent process, then fork the workers.
//!
//! Neither a database connection nor a thread survives a fork: SQLite forbids
//! using a connection in a forked child, a PostgreSQL connection's socket would
//! be shared by two processes, and the stores' background threads (SQLite's
//! writer, the connection pools' helpers) do not exist in the child, so a write
//! queued for them would wait forever. [`ForkSafe`] notices that it runs in
//! another process (its id changed) and opens the store again there. The store
//! inherited from the parent is leaked, never dropped: dropping it would wait
//! for threads that are not in this process, and close connections that are
//! still the parent's.
//!
//! Worse, a thread parked on a `parking_lot` lock at the moment of the fork
//! (the connection pools' helper threads are) leaves that library's global
//! table pointing at a thread the child does not have, and the child's next
//! parked thread crashes. So before Python forks (`os.register_at_fork`,
//! which gunicorn, `multiprocessing` and uWSGI's Python plugin go through),
//! [`before_fork`] closes every open store of this process — joining its
//! threads — and each store opens again on its next use, in the parent and in
//! the child alike.

use std::sync::{Arc, Weak};

use parking_lot::Mutex;
use scimkit::ResourceKind;
use scimkit::store::{
    Ctx, GroupRef, MemberChange, Members, Page, Query, SharedStored, StoreError, StoreResult,
    Stored, UserStore,
};
use serde_json::Value;

/// How to open the store again (in a forked child).
type Opener<S> = Box<dyn Fn() -> Result<S, String> + Send + Sync>;

/// A store opened again in each process that uses it (see the module docs).
pub(crate) struct ForkSafe<S> {
    open: Opener<S>,
    /// The process the store was opened in, and the store (`None` only while
    /// the wrapper is dropped).
    current: Mutex<(u32, Option<Arc<S>>)>,
}

impl<S> Drop for ForkSafe<S> {
    /// A store inherited from the parent (never used in this process) is
    /// leaked, not dropped: its threads are not here to be joined.
    fn drop(&mut self) {
        let (pid, store) = self.current.get_mut();
        if *pid != std::process::id() {
            if let Some(inherited) = store.take() {
                std::mem::forget(inherited);
            }
        }
    }
}

impl<S> std::fmt::Debug for ForkSafe<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForkSafe")
            .field("pid", &self.current.lock().0)
            .finish_non_exhaustive()
    }
}

/// The stores [`before_fork`] closes (std's lock: `parking_lot` is what must
/// be quiet at the fork).
static OPEN: std::sync::Mutex<Vec<Weak<dyn CloseForFork>>> = std::sync::Mutex::new(Vec::new());

trait CloseForFork: Send + Sync {
    fn close_for_fork(&self);
}

/// Close every store of this process before a fork (their threads joined);
/// each opens again on its next use. Registered with `os.register_at_fork`.
pub(crate) fn before_fork() {
    let stores: Vec<Arc<dyn CloseForFork>> = {
        let mut open = OPEN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        open.retain(|w| w.strong_count() > 0);
        open.iter().filter_map(Weak::upgrade).collect()
    };
    for store in stores {
        store.close_for_fork();
    }
}

impl<S: UserStore> CloseForFork for ForkSafe<S> {
    fn close_for_fork(&self) {
        let closed = {
            let mut current = self.current.lock();
            if current.0 == std::process::id() {
                current.1.take()
            } else {
                None
            }
        };
        // Dropped outside the lock: this joins the store's threads (unless a
        // request elsewhere still holds it — pre-fork servers fork when idle).
        drop(closed);
    }
}

impl<S: UserStore> ForkSafe<S> {
    /// `store`, opened in this process; `open` opens it again.
    pub(crate) fn new(
        store: S,
        open: impl Fn() -> Result<S, String> + Send + Sync + 'static,
    ) -> Arc<Self> {
        let this = Arc::new(Self {
            open: Box::new(open),
            current: Mutex::new((std::process::id(), Some(Arc::new(store)))),
        });
        let weak = Arc::downgrade(&this) as Weak<dyn CloseForFork>;
        let mut open = OPEN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        open.retain(|w| w.strong_count() > 0);
        open.push(weak);
        drop(open);
        this
    }

    /// The store of this process, opened now if this is a forked child or if
    /// it was closed for a fork.
    pub(crate) fn current(&self) -> StoreResult<Arc<S>> {
        let pid = std::process::id();
        let mut current = self.current.lock();
        if current.0 != pid || current.1.is_none() {
            let fresh = (self.open)().map_err(|e| {
                StoreError::other(format!("cannot open the store again after fork(): {e}"))
            })?;
            let inherited = current.1.replace(Arc::new(fresh));
            if current.0 != pid {
                // The parent's: never dropped here (see the module docs).
                std::mem::forget(inherited);
                tracing::info!(pid, "store opened again in a forked process");
            }
            current.0 = pid;
        }
        current
            .1
            .clone()
            .ok_or_else(|| StoreError::other("the store is closed"))
    }
}

impl<S: UserStore> UserStore for ForkSafe<S> {
    fn create(&self, ctx: &Ctx, kind: ResourceKind, resource: Value) -> StoreResult<Stored> {
        self.current()?.create(ctx, kind, resource)
    }

    fn get(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        id: &str,
        members: Members,
    ) -> StoreResult<Option<Stored>> {
        self.current()?.get(ctx, kind, id, members)
    }

    fn get_shared(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        id: &str,
        members: Members,
    ) -> StoreResult<Option<SharedStored>> {
        self.current()?.get_shared(ctx, kind, id, members)
    }

    fn groups_of(&self, ctx: &Ctx, member_id: &str) -> StoreResult<Vec<GroupRef>> {
        self.current()?.groups_of(ctx, member_id)
    }

    fn replace(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        id: &str,
        resource: Value,
        if_version: Option<u64>,
    ) -> StoreResult<Stored> {
        self.current()?.replace(ctx, kind, id, resource, if_version)
    }

    fn create_shared(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        resource: Value,
    ) -> StoreResult<SharedStored> {
        self.current()?.create_shared(ctx, kind, resource)
    }

    fn replace_shared(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        id: &str,
        resource: Value,
        if_version: Option<u64>,
    ) -> StoreResult<SharedStored> {
        self.current()?
            .replace_shared(ctx, kind, id, resource, if_version)
    }

    fn delete(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        id: &str,
        if_version: Option<u64>,
    ) -> StoreResult<()> {
        self.current()?.delete(ctx, kind, id, if_version)
    }

    fn query(&self, ctx: &Ctx, kind: ResourceKind, query: &Query) -> StoreResult<Page> {
        self.current()?.query(ctx, kind, query)
    }

    fn query_shared(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        query: &Query,
    ) -> StoreResult<Page<SharedStored>> {
        self.current()?.query_shared(ctx, kind, query)
    }

    fn modify_members(
        &self,
        ctx: &Ctx,
        group_id: &str,
        change: &MemberChange,
        if_version: Option<u64>,
    ) -> StoreResult<Stored> {
        self.current()?
            .modify_members(ctx, group_id, change, if_version)
    }
}
