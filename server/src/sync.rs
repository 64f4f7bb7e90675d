//! Pull sync from Microsoft Graph (scimkit-graph): `scimkit sync run` and the
//! scheduled runs of `scimkit serve`.
//!
//! The sync writes through a `ScimServer` of its own over the same store, which
//! trusts every request as the synced tenant (it is never served over HTTP) and
//! applies the policies apps that pull expect: a user deleted in Entra is
//! deactivated and queued for review, an existing user with the same userName is
//! linked.

use std::io::Write as _;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

use scimkit::{DeletionPolicy, LinkPolicy, Policies, ScimServer, UserStore};
use scimkit_graph::{
    JsonFileStateStore, Progress, Schedule, Scheduler, StateError, SyncAuthenticator, SyncConfig,
    SyncState, SyncStateStore, Syncer,
};

use crate::Error;
use crate::cli::{GlobalArgs, SyncCommand, SyncSettings};
use crate::db::{AdminDb, DbError};
use crate::pg::PgDb;

/// The policies of the server the sync writes through.
fn pull_policies() -> Policies {
    Policies {
        deletion: DeletionPolicy::Review,
        link_existing: LinkPolicy::ByUserName,
        ..Policies::default()
    }
}

/// The in-process server a tenant's sync writes through.
fn sync_server(store: Arc<dyn UserStore>, tenant: &str) -> Result<ScimServer, Error> {
    Ok(ScimServer::builder()
        .shared_store(store)
        .authenticator(SyncAuthenticator::new(tenant))
        .policies(pull_policies())
        .build()?)
}

/// Create the synced tenant when it does not exist yet (so that its tokens
/// can be made and the pulled users served).
fn ensure_tenant(admin: &AdminDb, tenant: &str) -> Result<(), Error> {
    match admin.create_tenant(tenant) {
        Ok(()) => {
            tracing::info!(tenant, "tenant created for the graph sync");
            Ok(())
        }
        Err(DbError::TenantExists(_)) => Ok(()),
        Err(e) => Err(format!("tenant {tenant:?} of the graph sync: {e}").into()),
    }
}

/// `scimkit sync …`.
pub(crate) fn command(cmd: SyncCommand, global: &GlobalArgs) -> Result<(), Error> {
    let SyncCommand::Run { tenant, dry_run } = cmd;
    let (db, settings) = global.sync_settings()?;
    let mut config = settings.get(&tenant).cloned().ok_or_else(|| -> Error {
        match &global.config {
            Some(p) => format!("no [[sync]] table for tenant {tenant:?} in {}", p.display()).into(),
            None => "no sync is configured: add a [[sync]] table to a --config file".into(),
        }
    })?;
    config.dry_run |= dry_run;
    let (store, admin) = crate::store::open_database(&db.database)?;
    ensure_tenant(&admin, &tenant)?;
    let server = sync_server(store, &tenant)?;
    let state = state_store(&admin, &settings);
    // On PostgreSQL a scheduled run of a replica may hold the tenant's lock.
    let _lock = match admin.pg() {
        Some(pg) => Some(pg.sync_lock(&tenant)?.ok_or_else(|| {
            format!("the sync of tenant {tenant:?} is running on another scimkit process; try again later")
        })?),
        None => None,
    };
    let report = Syncer::new(config)?.run(&server, &*state, &mut Progress::new())?;
    let mut out = std::io::stdout().lock();
    write!(out, "{report}")?;
    out.flush()?;
    Ok(())
}

/// The scheduled syncs of a running server; they stop when this is dropped
/// (a run in progress finishes first, in the background).
#[derive(Debug)]
pub(crate) struct Scheduled {
    _stop: Vec<Sender<()>>,
}

/// Start one thread per configured sync whose schedule is not manual.
pub(crate) fn spawn_scheduled(
    store: &Arc<dyn UserStore>,
    admin: &AdminDb,
    settings: &SyncSettings,
) -> Result<Scheduled, Error> {
    let active: Vec<&SyncConfig> = settings
        .configs
        .iter()
        .filter(|c| c.enabled && c.schedule != Schedule::Manual)
        .collect();
    if active.is_empty() {
        return Ok(Scheduled { _stop: Vec::new() });
    }
    let mut stop = Vec::new();
    let state = state_store(admin, settings);
    for config in active {
        ensure_tenant(admin, &config.tenant)?;
        let server = sync_server(store.clone(), &config.tenant)?;
        let syncer = Syncer::new(config.clone())?;
        let state = state.clone();
        let pg = admin.pg();
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        stop.push(tx);
        tracing::info!(tenant = %config.tenant, schedule = %config.schedule, "graph sync scheduled");
        std::thread::Builder::new()
            .name(format!("graph-sync-{}", config.tenant))
            .spawn(move || scheduled_loop(&syncer, &server, &*state, pg.as_deref(), &rx))?;
    }
    Ok(Scheduled { _stop: stop })
}

/// Where the sync state is kept: the JSON file (SQLite), or the database's
/// `scimkit_server_sync_state` table (PostgreSQL, shared by the replicas).
fn state_store(admin: &AdminDb, settings: &SyncSettings) -> Arc<dyn SyncStateStore> {
    match admin.pg() {
        Some(pg) => Arc::new(PgSyncState(pg)),
        None => Arc::new(JsonFileStateStore::new(&settings.state)),
    }
}

/// Sync state in PostgreSQL.
#[derive(Debug)]
struct PgSyncState(Arc<PgDb>);

impl SyncStateStore for PgSyncState {
    fn load(&self, tenant: &str) -> Result<Option<SyncState>, StateError> {
        self.0
            .sync_load(tenant)
            .map_err(|e| StateError::Other(Box::new(e)))
    }

    fn save(&self, tenant: &str, state: &SyncState) -> Result<(), StateError> {
        self.0
            .sync_save(tenant, state)
            .map_err(|e| StateError::Other(Box::new(e)))
    }

    fn clear(&self, tenant: &str) -> Result<(), StateError> {
        self.0
            .sync_clear(tenant)
            .map_err(|e| StateError::Other(Box::new(e)))
    }
}

fn scheduled_loop(
    syncer: &Syncer,
    server: &ScimServer,
    state: &dyn SyncStateStore,
    pg: Option<&PgDb>,
    stop: &Receiver<()>,
) {
    let tenant = &syncer.config().tenant;
    let last = state
        .load(tenant)
        .ok()
        .flatten()
        .and_then(|s| s.last_run_time());
    let mut scheduler = Scheduler::resume(syncer.config().schedule, last);
    loop {
        let now = time::OffsetDateTime::now_utc();
        let Some(wait) = scheduler.until_next(now) else {
            return;
        };
        // Wake at least hourly, so a clock change does not delay a run for long.
        let wait = wait.min(Duration::from_secs(3600));
        if !wait.is_zero() {
            match stop.recv_timeout(wait) {
                Err(RecvTimeoutError::Timeout) => continue,
                _ => return,
            }
        }
        scheduler.record_run(now);
        // Replicas on one PostgreSQL database: only one runs a tenant's sync.
        let _lock = match pg.map(|pg| pg.sync_lock(tenant)) {
            None => None,
            Some(Ok(Some(lock))) => Some(lock),
            Some(Ok(None)) => {
                tracing::info!(tenant = %tenant, "scheduled graph sync skipped: another replica is running it");
                continue;
            }
            Some(Err(e)) => {
                tracing::error!(tenant = %tenant, error = %e, "scheduled graph sync skipped: the database is unavailable");
                continue;
            }
        };
        match syncer.run(server, state, &mut Progress::new()) {
            Ok(r) => {
                let c = r.counts;
                tracing::info!(
                    tenant = %tenant,
                    seen = c.seen,
                    created = c.created,
                    linked = c.linked,
                    updated = c.updated,
                    deactivated = c.deactivated,
                    queued = c.queued,
                    unchanged = c.unchanged,
                    ignored = c.ignored,
                    errors = c.errors,
                    "scheduled graph sync finished"
                );
                for issue in &r.issues {
                    tracing::warn!(tenant = %tenant, %issue, "graph sync: a user was not synced");
                }
            }
            Err(e) => tracing::error!(tenant = %tenant, error = %e, "scheduled graph sync failed"),
        }
    }
}
