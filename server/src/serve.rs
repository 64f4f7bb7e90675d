//! `scimkit serve`: open the database, print the first token, accept HTTP(S)
//! connections, and shut down gracefully on SIGTERM / SIGINT.

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use scimkit::ScimServer;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::Error;
use crate::app::{self, AppState};
use crate::cli::{ServeSettings, StoreKind};
use crate::db::{AdminDb, NewToken, TokenAuth};
use crate::metrics::Metrics;
use crate::policies::DbPolicies;
use crate::provlog::{LogReader, ServerLog};
use crate::store::Opened;
use crate::web::{Sessions, WebState};

/// Provisioning log entries that may wait for the writer thread before a
/// request blocks (backpressure).
const LOG_QUEUE: usize = 8192;

/// How long the provisioning log's writer waits for more entries before a
/// commit: under a stream of writes, one transaction per ~25 ms instead of
/// one per few entries (the admin page and shutdown flush first, so they
/// see every entry).
const LOG_LINGER: Duration = Duration::from_millis(25);

/// How often old provisioning log entries are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(60 * 60);

/// How long a client may take for the TLS handshake or to send request headers.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// Which SCIM requests run on tokio's blocking pool rather than on the async
/// workers.
///
/// Everything that talks to PostgreSQL (the store, or the token lookup every
/// request makes) waits for the network: always offloaded. The memory store
/// never waits, and the token lookup in the SQLite file is a short local read:
/// inline. SQLite writes wait for a disk flush (group commit): offloaded; its
/// reads are short local reads on a pool with a connection per core: inline.
pub(crate) fn offload_for(store: StoreKind, postgres: bool) -> tower_scim::Offload {
    match (store, postgres) {
        (_, true) => tower_scim::Offload::All,
        (StoreKind::Memory, false) => tower_scim::Offload::None,
        (StoreKind::Sqlite, false) => tower_scim::Offload::Writes,
    }
}

/// Run the server on the `opened` database until a shutdown signal, then
/// drain.
///
/// The database clients block: everything here that talks to the database
/// directly runs in `block_in_place` (the PostgreSQL client must never run on
/// an async worker); requests reach it through `spawn_blocking` as
/// [`offload_for`] decides.
pub(crate) async fn run(s: ServeSettings, opened: Opened) -> Result<(), Error> {
    // Signals are caught from here on, before anything is announced.
    let mut signals = Signals::new()?;

    let (mut store, describe) = (opened.store, opened.describe);
    if s.store == StoreKind::Memory {
        store = Arc::new(scimkit::MemoryStore::new());
    }
    let log = Arc::new(crate::store::open_log(&s.db.database, &opened.admin)?);
    // The engine's entries are written by a background thread, many per
    // commit: a request does not wait for the log's disk write (entries still
    // queued when the process is killed — up to LOG_LINGER's worth — are
    // lost; see BatchingLog).
    let log_writer = Arc::new(
        scimkit::BatchingLog::with_linger(
            log.clone() as Arc<dyn scimkit::ProvisioningLog>,
            LOG_QUEUE,
            LOG_LINGER,
        )
        .map_err(|e| format!("cannot start the provisioning log writer: {e}"))?,
    );
    let admin = Arc::new(opened.admin);
    let policies = Arc::new(DbPolicies::new(admin.clone(), s.default_policies.clone()));
    let (first_token, active_tokens) = tokio::task::block_in_place(|| -> Result<_, Error> {
        apply_file_policies(&admin, &policies, &s.tenant_policies)?;
        admin_password_from_env(&admin)?;
        Ok((admin.bootstrap()?, admin.active_tokens()?))
    })?;
    let tls = match &s.tls {
        Some((cert, key)) => Some(crate::tls::acceptor(cert, key)?),
        None => None,
    };
    let listener = TcpListener::bind(s.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", s.listen))?;
    let local = listener.local_addr()?;
    let tenant_url = tenant_url(&s, local, tls.is_some());

    let mut builder = ScimServer::builder()
        .shared_store(store.clone())
        .authenticator(TokenAuth(admin.clone()))
        .base_path(&s.base_path)
        .max_body_size(s.max_body_size)
        .policy_source({
            let p = policies.clone();
            move |tenant: &str| scimkit::policy::PolicySource::policies(&*p, tenant)
        })
        .shared_log(log_writer.clone() as Arc<dyn scimkit::ProvisioningLog>)
        .on_event({
            let hook = s.event_webhook.clone().map(crate::events::start_webhook);
            move |e: &scimkit::Event| {
                crate::events::log_event(e);
                if let Some(h) = &hook {
                    h.send(e);
                }
            }
        });
    if let Some(public) = &s.public_url {
        builder = builder.base_url(&format!("{public}{}", s.base_path));
    }
    let scim = builder.build()?;

    match first_token {
        Some(token) => {
            print_first_token(&token, &tenant_url, tls.is_some() || s.public_url.is_some())?
        }
        None if active_tokens == 0 => tracing::warn!(
            "no active token: every request will answer 401; create one with `scimkit token create --tenant NAME`"
        ),
        None => {}
    }

    let pruner = tokio::spawn(prune_periodically(log.clone(), s.log_retention_days));
    let web = WebState {
        admin: admin.clone(),
        log: LogReader::new(log.clone(), Some(log_writer.clone())),
        policies,
        scim: scim.clone(),
        // On PostgreSQL sessions are shared by the replicas.
        sessions: Arc::new(match admin.pg() {
            Some(pg) => Sessions::shared(pg),
            None => Sessions::default(),
        }),
        secure: tls.is_some(),
        file_tenants: Arc::new(s.tenant_policies.iter().map(|(n, _)| n.clone()).collect()),
        public_url: s.public_url.as_deref().map(Arc::from),
        login_gate: Arc::new(tokio::sync::Semaphore::new(1)),
    };
    let state = AppState {
        admin: admin.clone(),
        metrics: Arc::new(Metrics::default()),
        base_path: s.base_path.as_str().into(),
    };
    let app = app::router(scim, offload_for(s.store, admin.pg().is_some()), state, web);
    // Scheduled Graph syncs; they stop with the server.
    let syncs =
        tokio::task::block_in_place(|| crate::sync::spawn_scheduled(&store, &admin, &s.sync))?;
    drop(store);
    tracing::info!(
        listen = %local,
        tls = tls.is_some(),
        database = %describe,
        store = match (s.store, &s.db.database) {
            (StoreKind::Memory, _) => "memory",
            (StoreKind::Sqlite, crate::cli::Database::Sqlite(_)) => "sqlite",
            (StoreKind::Sqlite, crate::cli::Database::Postgres(_)) => "postgres",
        },
        tenant_url,
        "scimkit {} serving SCIM",
        env!("CARGO_PKG_VERSION")
    );

    let mut http = auto::Builder::new(TokioExecutor::new());
    http.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HANDSHAKE_TIMEOUT);
    let graceful = GracefulShutdown::new();
    let signal = loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (tcp, _peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors and the like: back off a little.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let service = TowerToHyperService::new(app.clone());
                let conn = Conn { http: http.clone(), service, watcher: graceful.watcher() };
                let tls = tls.clone();
                tokio::spawn(async move {
                    match tls {
                        None => conn.serve(tcp).await,
                        Some(acceptor) => conn.serve_tls(&acceptor, tcp).await,
                    }
                });
            }
            signal = signals.recv() => break signal,
        }
    };

    drop(listener);
    tracing::info!(
        signal,
        connections = graceful.count(),
        "shutting down: no new connections; waiting for in-flight requests"
    );
    let drained = tokio::time::timeout(s.shutdown_timeout, graceful.shutdown())
        .await
        .is_ok();
    if !drained {
        tracing::warn!(
            timeout_secs = s.shutdown_timeout.as_secs(),
            "in-flight requests did not finish in time; stopping anyway"
        );
    }
    // The engine (and the store it holds) goes with the app; PostgreSQL
    // clients close (blocking) as they are dropped.
    pruner.abort();
    let _ = pruner.await;
    tokio::task::block_in_place(move || -> Result<(), Error> {
        drop(syncs);
        drop(app);
        // Write what the engine queued before the database closes (the drop of
        // the last reference also joins the writer thread).
        log_writer.flush();
        drop(log_writer);
        drop(log);
        match Arc::try_unwrap(admin) {
            Ok(admin) => admin
                .close()
                .map_err(|e| format!("closing the database: {e}"))?,
            Err(_) => tracing::warn!("the database is still in use; it was not checkpointed"),
        }
        Ok(())
    })?;
    tracing::info!("shutdown complete");
    Ok(())
}

/// The config file's per-tenant policies, stored at every start (tenants
/// created when missing).
fn apply_file_policies(
    admin: &AdminDb,
    policies: &DbPolicies,
    tenants: &[(String, scimkit::Policies)],
) -> Result<(), Error> {
    for (name, p) in tenants {
        if !admin.tenant_exists(name)? {
            match admin.create_tenant(name) {
                Ok(()) => tracing::info!(tenant = %name, "tenant created from the config file"),
                // Another replica starting at the same moment was first.
                Err(crate::db::DbError::TenantExists(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        policies.set(name, p, "config")?;
        tracing::info!(
            tenant = %name,
            enabled = p.enabled,
            deletion = crate::policies::deletion_name(p.deletion),
            groups = crate::policies::group_name(p.groups),
            link_existing = crate::policies::link_name(p.link_existing),
            "policies set from the config file"
        );
    }
    Ok(())
}

/// First start: the admin password from `SCIMKIT_ADMIN_PASSWORD`, when none is
/// stored yet (a stored one is only changed by `scimkit admin set-password`).
fn admin_password_from_env(admin: &AdminDb) -> Result<(), Error> {
    let env = std::env::var("SCIMKIT_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty());
    match (admin.admin_password_hash()?, env) {
        (None, Some(pw)) => {
            let hash = scimkit::auth::hash_password(&pw)
                .map_err(|e| format!("cannot hash the admin password: {e}"))?;
            admin.set_admin_password_hash(&hash)?;
            tracing::info!(
                "admin password set from SCIMKIT_ADMIN_PASSWORD; the admin page is at /admin"
            );
        }
        (None, None) => tracing::warn!(
            "the admin page (/admin) has no password yet: set one with `scimkit admin set-password`"
        ),
        (Some(_), Some(_)) => tracing::info!(
            "SCIMKIT_ADMIN_PASSWORD ignored: an admin password is already set (change it with `scimkit admin set-password`)"
        ),
        (Some(_), None) => {}
    }
    Ok(())
}

/// Delete provisioning log entries older than the retention, now and then
/// every hour.
async fn prune_periodically(log: Arc<ServerLog>, days: u32) {
    loop {
        let l = log.clone();
        match tokio::task::spawn_blocking(move || l.prune_days(days)).await {
            Ok(Ok(n)) if n > 0 => {
                tracing::info!(
                    deleted = n,
                    retention_days = days,
                    "provisioning log pruned"
                )
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(error = ?e, "cannot prune the provisioning log"),
            Err(e) => tracing::error!(error = %e, "provisioning log pruning failed"),
        }
        tokio::time::sleep(PRUNE_EVERY).await;
    }
}

/// The URL an administrator pastes into Entra as "Tenant URL".
fn tenant_url(s: &ServeSettings, local: SocketAddr, tls: bool) -> String {
    if let Some(public) = &s.public_url {
        return format!("{public}{}", s.base_path);
    }
    let scheme = if tls { "https" } else { "http" };
    let host = if local.ip().is_unspecified() {
        format!("localhost:{}", local.port())
    } else {
        local.to_string()
    };
    format!("{scheme}://{host}{}", s.base_path)
}

/// The first-start banner on stdout: the only time this token is shown.
fn print_first_token(token: &NewToken, tenant_url: &str, https: bool) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    let rule = "=".repeat(78);
    writeln!(out, "{rule}")?;
    writeln!(
        out,
        "scimkit: first start. A token was created for tenant \"{}\".",
        token.tenant
    )?;
    writeln!(out)?;
    writeln!(out, "  Tenant URL:    {tenant_url}")?;
    writeln!(out, "  Secret Token:  {}", token.secret)?;
    writeln!(out)?;
    writeln!(
        out,
        "In the Microsoft Entra admin center: Enterprise applications > your app >"
    )?;
    writeln!(
        out,
        "Provisioning > Provisioning Mode \"Automatic\" > Admin Credentials: paste both,"
    )?;
    writeln!(out, "then click \"Test Connection\".")?;
    writeln!(
        out,
        "The token is shown only this once (only its SHA-256 is stored, id {}).",
        token.id
    )?;
    writeln!(
        out,
        "More tokens: `scimkit token create`; revoke: `scimkit token revoke {}`.",
        token.id
    )?;
    if !https {
        writeln!(out)?;
        writeln!(
            out,
            "Entra only accepts an https:// tenant URL: start with --tls-cert/--tls-key,"
        )?;
        writeln!(
            out,
            "or put scimkit behind an HTTPS proxy and set --public-url."
        )?;
    }
    writeln!(out, "{rule}")?;
    out.flush()
}

/// One accepted connection's serving parts.
struct Conn {
    http: auto::Builder<TokioExecutor>,
    service: TowerToHyperService<axum::Router>,
    watcher: Watcher,
}

impl Conn {
    async fn serve<I>(self, io: I)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let conn = self
            .http
            .serve_connection_with_upgrades(TokioIo::new(io), self.service);
        if let Err(e) = self.watcher.watch(conn.into_owned()).await {
            tracing::debug!(error = %e, "connection ended with an error");
        }
    }

    async fn serve_tls(self, acceptor: &TlsAcceptor, tcp: tokio::net::TcpStream) {
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
            Ok(Ok(stream)) => self.serve(stream).await,
            Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
            Err(_) => tracing::debug!("TLS handshake timed out"),
        }
    }
}

/// SIGTERM and SIGINT (Ctrl-C), registered when created.
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> Result<Self, Error> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                term: signal(SignalKind::terminate())?,
                int: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    /// The name of the first signal received.
    async fn recv(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.term.recv() => "SIGTERM",
                _ = self.int.recv() => "SIGINT",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower_scim::Offload;

    #[test]
    fn only_stores_that_never_wait_for_the_network_run_inline() {
        assert_eq!(offload_for(StoreKind::Memory, false), Offload::None);
        assert_eq!(offload_for(StoreKind::Sqlite, false), Offload::Writes);
        // PostgreSQL: the store, or the token lookup every request makes.
        assert_eq!(offload_for(StoreKind::Sqlite, true), Offload::All);
        assert_eq!(offload_for(StoreKind::Memory, true), Offload::All);
    }
}
