//! `loadgen`: the HTTP load generator of scimkit's benchmark (`bench/run.sh`).
//!
//! * `loadgen run` replays Microsoft Entra ID's provisioning workload against
//!   one SCIM server on a fixed number of keep-alive connections and writes
//!   what it measured (throughput, p50/p99 per request, RSS of the server) as
//!   JSON;
//! * `loadgen scale` grows a server's store and one group to given sizes and
//!   times single requests at each size;
//! * `loadgen report` turns the JSON files of one run into the Markdown table
//!   and the SVG plot of `bench/results/`.
//!
//! It only talks to loopback addresses, and every loop is bounded by a count
//! and a time limit. It exits with status 2 when a server gave a wrong answer.

mod entra;
mod http;
mod phase;
mod procfs;
mod report;
mod scale;
mod workload;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// The load generator of `bench/run.sh`.
#[derive(Debug, Parser)]
#[command(name = "loadgen")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Replay Entra's provisioning workload against one server.
    Run(RunArgs),
    /// Latency by store size and group size, memory per user.
    Scale(ScaleArgs),
    /// Write the Markdown table and the SVG plot from a results directory.
    Report(ReportArgs),
}

#[derive(Debug, Args)]
struct Common {
    /// The SCIM base URL, http://127.0.0.1:PORT/BASE (loopback only).
    #[arg(long)]
    url: String,
    /// The bearer token.
    #[arg(long, default_value = "")]
    token: String,
    /// The server's name in the results.
    #[arg(long)]
    name: String,
    /// The server's process id (its RSS and its children's are read from /proc).
    #[arg(long)]
    pid: Option<u32>,
    /// Keep-alive connections (concurrent requests).
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Time limit of each write phase, seconds.
    #[arg(long, default_value_t = 600)]
    write_limit: u64,
    /// Where to write the JSON result.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, Args)]
struct RunArgs {
    #[command(flatten)]
    common: Common,
    /// Users to provision.
    #[arg(long, default_value_t = 10_000)]
    users: usize,
    /// Duration of each read phase (and of the PATCH phase), seconds.
    #[arg(long, default_value_t = 5.0)]
    secs: f64,
    /// Groups besides the all-users group.
    #[arg(long, default_value_t = 9)]
    groups: usize,
    /// Members of each of those groups.
    #[arg(long, default_value_t = 1000)]
    group_members: usize,
    /// Groups created and deleted without members besides the filled ones,
    /// so that the group create and DELETE phases measure a rate.
    #[arg(long, default_value_t = 990)]
    extra_groups: usize,
    /// Page size of the paging phase.
    #[arg(long, default_value_t = 100)]
    page_size: usize,
    /// Every phase must work (scimkit, the limit server): a refused phase is
    /// a wrong answer, not "n/a".
    #[arg(long)]
    strict: bool,
    /// Check only the simple-path attribute after PATCH (the limit server
    /// implements no value-path PATCH).
    #[arg(long)]
    title_only: bool,
}

#[derive(Debug, Args)]
struct ScaleArgs {
    #[command(flatten)]
    common: Common,
    /// Store sizes to measure at.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000,100000")]
    sizes: Vec<usize>,
    /// Group sizes to measure at.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000,100000")]
    group_sizes: Vec<usize>,
    /// Requests timed at each size.
    #[arg(long, default_value_t = 200)]
    samples: usize,
}

#[derive(Debug, Args)]
struct ReportArgs {
    /// The directory with the run-*.json and scale-*.json files.
    #[arg(long)]
    dir: PathBuf,
    /// A description of the machine and the run, put above the tables.
    #[arg(long, default_value = "")]
    machine: String,
}

fn runtime() -> tokio::runtime::Runtime {
    // One thread: the generator leaves the other core to the server.
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn write_json<T: serde::Serialize>(path: &PathBuf, v: &T) -> Result<(), String> {
    let text = serde_json::to_string_pretty(v).map_err(|e| e.to_string())?;
    std::fs::write(path, text).map_err(|e| format!("writing {}: {e}", path.display()))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result: Result<bool, String> = match cli.command {
        Command::Run(a) => (|| {
            let target = http::Target::new(&a.common.url, &a.common.token)?;
            let o = workload::RunOptions {
                name: a.common.name.clone(),
                pid: a.common.pid,
                users: a.users,
                concurrency: a.common.concurrency.max(1),
                secs: a.secs,
                write_limit: Duration::from_secs(a.common.write_limit),
                groups: a.groups,
                group_members: a.group_members,
                extra_groups: a.extra_groups,
                page_size: a.page_size.max(1),
                strict: a.strict,
                full_patch_check: !a.title_only,
            };
            eprintln!(
                "loadgen run: {} ({} users, c={})",
                o.name, o.users, o.concurrency
            );
            let r = runtime().block_on(workload::run(&target, &o));
            write_json(&a.common.out, &r)?;
            Ok(r.wrong_answers() == 0)
        })(),
        Command::Scale(a) => (|| {
            let target = http::Target::new(&a.common.url, &a.common.token)?;
            let o = scale::ScaleOptions {
                name: a.common.name.clone(),
                pid: a.common.pid,
                sizes: a.sizes,
                group_sizes: a.group_sizes,
                concurrency: a.common.concurrency.max(1),
                samples: a.samples.max(1),
                write_limit: Duration::from_secs(a.common.write_limit),
            };
            eprintln!("loadgen scale: {} (sizes {:?})", o.name, o.sizes);
            let r = runtime().block_on(scale::run(&target, &o));
            for e in &r.errors {
                eprintln!("  scale: {e}");
            }
            write_json(&a.common.out, &r)?;
            Ok(r.errors.is_empty())
        })(),
        Command::Report(a) => report::write(&a.dir, &a.machine),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("loadgen: wrong answers (see above and the JSON result)");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("loadgen: error: {e}");
            ExitCode::FAILURE
        }
    }
}
