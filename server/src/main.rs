//! `scimkit`: the SCIM 2.0 provisioning server for Microsoft Entra ID.
//!
//! `scimkit serve` serves SCIM (tower-scim over axum/hyper, HTTP or HTTPS) on a
//! SQLite file or a PostgreSQL database (several replicas on one database);
//! `scimkit token …` and `scimkit tenant …` manage bearer tokens (only their
//! SHA-256 is stored) and tenants in the same database; `scimkit sync
//! run` pulls a tenant's users from Microsoft Graph (also on a schedule while
//! serving). Run
//! `scimkit --help` for every option.

mod admin;
mod app;
mod cli;
mod db;
mod events;
mod metrics;
mod pg;
mod policies;
mod provlog;
mod serve;
mod store;
mod sync;
mod telemetry;
mod tls;
mod web;

use std::process::ExitCode;

/// mimalloc: the engine allocates many small JSON nodes per request; glibc's
/// allocator spent ~15% of the server's CPU in `malloc`/`free` under load and
/// kept freed memory of busy threads' arenas resident (bench/README.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::time::Duration;

use clap::Parser;

use crate::cli::{Cli, Command};

/// Every failure the binary reports (then exits with status 1).
pub(crate) type Error = Box<dyn std::error::Error + Send + Sync>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(args, &cli.global),
        Command::Token(cmd) => cli
            .global
            .db_settings()
            .map_err(Error::from)
            .and_then(|db| admin::token(cmd, &db)),
        Command::Tenant(cmd) => cli
            .global
            .db_settings()
            .map_err(Error::from)
            .and_then(|db| admin::tenant(cmd, &db)),
        Command::Sync(cmd) => sync::command(cmd, &cli.global),
        Command::Admin(cmd) => cli
            .global
            .db_settings()
            .map_err(Error::from)
            .and_then(|db| admin::admin(cmd, &db)),
        Command::Log(cmd) => cli
            .global
            .db_settings()
            .map_err(Error::from)
            .and_then(|db| admin::log(cmd, &db)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scimkit: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: cli::ServeArgs, global: &cli::GlobalArgs) -> Result<(), Error> {
    let settings = args.resolve(global)?;
    let _log_guard = telemetry::init(settings.log_format, &settings.log)?;
    // Opened before the runtime starts and released after it stopped: the
    // PostgreSQL client blocks, and must neither connect nor close its
    // connections on an async worker thread (the last handles could otherwise
    // be dropped by a connection task at shutdown).
    let result = store::open(&settings.db.database).and_then(|opened| {
        let keep = (opened.store.clone(), opened.admin.pg());
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        let result = rt.block_on(serve::run(settings, opened));
        // Blocking tasks still running after the drain timeout are not waited for.
        rt.shutdown_timeout(Duration::from_secs(1));
        drop(keep);
        result
    });
    if let Err(e) = &result {
        tracing::error!(error = %e, "scimkit stopped");
    }
    result
}
