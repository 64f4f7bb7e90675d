//! Test harness: a throw-away PostgreSQL server per test binary, a fresh
//! database per test.
//!
//! The server is initialised (`initdb`) in a temp dir and started (`pg_ctl`) on
//! a free loopback port the first time a test asks for it. As root, PostgreSQL
//! refuses to run, so its commands run as the `postgres` system user (created
//! if missing) through `runuser`. The server is stopped by [`PgServer`]'s
//! `Drop` when a test owns one, and — for the per-binary server in a static,
//! which is never dropped — by a watchdog process that waits for the test
//! process to exit and then stops the server and removes its directory.
//!
//! Without PostgreSQL binaries, tests print a notice and pass, unless
//! `SCIMKIT_REQUIRE_POSTGRES=1` is set (CI), which makes them fail.

#![allow(dead_code, unreachable_pub)]

use std::net::TcpListener;
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use scimkit_postgres::{PostgresOptions, PostgresStore};

/// The superuser of the test cluster and a password in its URLs (the server
/// trusts it on loopback: SCRAM's key derivation in an unoptimised test build
/// would cost a noticeable time per connection).
pub const USER: &str = "scimkit";
pub const PASSWORD: &str = "s3cret-Test-Pa55word";
/// A role that must authenticate with its password (SCRAM), for the
/// authentication tests.
pub const AUTH_USER: &str = "scimkit_auth";
pub const AUTH_PASSWORD: &str = "An0ther-Secret-Pa55";

/// A running PostgreSQL server in a temp dir.
#[derive(Debug)]
pub struct PgServer {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    as_postgres: bool,
    /// Stop and remove on drop (the static server leaves that to its watchdog).
    owned: bool,
    /// Default durability (`fsync=on`) instead of the tests' `fsync=off`.
    durable: bool,
}

fn require() -> bool {
    std::env::var("SCIMKIT_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

/// The directory holding `initdb`, `pg_ctl` and `postgres`, if any.
fn find_bin() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("SCIMKIT_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, b)| b)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn ensure_postgres_user() -> Result<(), String> {
    let exists = Command::new("id")
        .arg("postgres")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if exists {
        return Ok(());
    }
    let status = Command::new("useradd")
        .args([
            "--system",
            "--no-create-home",
            "--shell",
            "/bin/sh",
            "postgres",
        ])
        .status()
        .map_err(|e| format!("useradd: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("useradd postgres failed: {status}"))
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl PgServer {
    /// A command running `program` from the PostgreSQL bin dir, as the
    /// `postgres` user when we are root.
    fn cmd(&self, program: &str) -> Command {
        let exe = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        }
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let out = self
            .cmd(program)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("{program}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{program} {args:?} failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// Initialise and start a new server, or explain why not: with `fsync`
    /// off (tests).
    pub fn start(owned: bool) -> Result<Self, String> {
        Self::start_with(owned, false)
    }

    /// Initialise and start a new server; `durable`: PostgreSQL's default
    /// durability settings (benchmarks) instead of `fsync=off`.
    pub fn start_with(owned: bool, durable: bool) -> Result<Self, String> {
        let bin = find_bin().ok_or(
            "PostgreSQL binaries not found (looked for /usr/lib/postgresql/*/bin/initdb; \
             set SCIMKIT_PG_BIN or install the `postgresql` package)",
        )?;
        let as_postgres = is_root();
        if as_postgres {
            ensure_postgres_user()?;
        }
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "scimkit-pg-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let pwfile = dir.join("pwfile");
        std::fs::write(&pwfile, PASSWORD).map_err(|e| e.to_string())?;
        if as_postgres {
            let status = Command::new("chown")
                .args(["-R", "postgres:"])
                .arg(&dir)
                .status()
                .map_err(|e| format!("chown: {e}"))?;
            if !status.success() {
                return Err(format!("chown {} failed", dir.display()));
            }
        }
        let mut server = Self {
            bin,
            dir,
            port: 0,
            as_postgres,
            owned: true,
            durable,
        };
        let data = server.data_dir();
        let data_s = data.to_string_lossy().into_owned();
        server.run(
            "initdb",
            &[
                "-D",
                &data_s,
                "-U",
                USER,
                &format!("--pwfile={}", pwfile.display()),
                "--auth-host=trust",
                "--auth-local=trust",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",
            ],
        )?;
        // Password authentication for AUTH_USER only (pg_hba.conf is read top-down).
        let hba = data.join("pg_hba.conf");
        let rules = std::fs::read_to_string(&hba).map_err(|e| e.to_string())?;
        std::fs::write(
            &hba,
            format!("host all {AUTH_USER} 127.0.0.1/32 scram-sha-256\n{rules}"),
        )
        .map_err(|e| e.to_string())?;
        let mut last = String::new();
        for _ in 0..3 {
            server.port = free_port();
            match server.pg_ctl_start() {
                Ok(()) => {
                    let mut c = server.client("postgres");
                    c.batch_execute(&format!(
                        "CREATE ROLE {AUTH_USER} LOGIN SUPERUSER PASSWORD '{AUTH_PASSWORD}'"
                    ))
                    .map_err(|e| e.to_string())?;
                    server.owned = owned;
                    if !owned {
                        server.watchdog();
                    }
                    return Ok(server);
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn pg_ctl_start(&self) -> Result<(), String> {
        let durability = if self.durable {
            ""
        } else {
            "-c fsync=off -c full_page_writes=off"
        };
        let opts = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} {durability} \
             -c max_connections=300 -c shared_buffers=128MB",
            self.port,
            self.dir.display()
        );
        let data = self.data_dir().to_string_lossy().into_owned();
        let log = self.dir.join("server.log").to_string_lossy().into_owned();
        self.run(
            "pg_ctl",
            &[
                "start", "-D", &data, "-l", &log, "-w", "-t", "60", "-o", &opts,
            ],
        )
    }

    /// Stop the server when this process exits, even if it is never dropped.
    fn watchdog(&self) {
        let pg_ctl = self.bin.join("pg_ctl");
        let script = format!(
            "while [ -d /proc/{pid} ]; do sleep 0.5; done; \
             '{pg_ctl}' stop -D '{data}' -m immediate -w -t 20 >/dev/null 2>&1; rm -rf '{dir}'",
            pid = std::process::id(),
            pg_ctl = pg_ctl.display(),
            data = self.data_dir().display(),
            dir = self.dir.display(),
        );
        let mut c = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", "sh", "-c", &script]);
            c
        } else {
            let mut c = Command::new("sh");
            c.args(["-c", &script]);
            c
        };
        // Its own process group: killing the test's group must not kill it.
        // It outlives this process on purpose, so it is never waited for.
        #[allow(clippy::zombie_processes)]
        let _watchdog = c
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the PostgreSQL watchdog");
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A URL for `dbname` with the test password.
    pub fn url(&self, dbname: &str) -> String {
        format!(
            "postgresql://{USER}:{PASSWORD}@127.0.0.1:{}/{dbname}",
            self.port
        )
    }

    /// A URL for `dbname` as the password-authenticated role.
    pub fn auth_url(&self, dbname: &str, password: &str) -> String {
        format!(
            "postgresql://{AUTH_USER}:{password}@127.0.0.1:{}/{dbname}",
            self.port
        )
    }

    /// A superuser connection to `dbname`.
    pub fn client(&self, dbname: &str) -> postgres::Client {
        postgres::Client::connect(&self.url(dbname), postgres::NoTls).expect("superuser connection")
    }

    /// A new, empty database; returns its URL.
    pub fn fresh_database(&self) -> String {
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "t{}_{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let mut c = self.client("postgres");
        // FILE_COPY (PostgreSQL 15+) is the faster strategy with fsync=off.
        c.batch_execute(&format!("CREATE DATABASE {name} STRATEGY FILE_COPY"))
            .or_else(|_| c.batch_execute(&format!("CREATE DATABASE {name}")))
            .expect("create database");
        self.url(&name)
    }

    /// `pg_ctl restart -m fast` (bounded wait). The new server logs to the
    /// log file (it must not inherit our pipes, or reading them never ends).
    pub fn restart(&self) -> Result<(), String> {
        let data = self.data_dir().to_string_lossy().into_owned();
        let log = self.dir.join("server.log").to_string_lossy().into_owned();
        self.run(
            "pg_ctl",
            &[
                "restart", "-D", &data, "-l", &log, "-m", "fast", "-w", "-t", "60",
            ],
        )
    }

    /// `pg_ctl stop -m fast` (bounded wait).
    pub fn stop(&self) -> Result<(), String> {
        let data = self.data_dir().to_string_lossy().into_owned();
        self.run(
            "pg_ctl",
            &["stop", "-D", &data, "-m", "fast", "-w", "-t", "60"],
        )
    }

    /// Start a stopped server again on the same port.
    pub fn start_again(&self) -> Result<(), String> {
        self.pg_ctl_start()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        if !self.owned {
            return;
        }
        let data = self.data_dir().to_string_lossy().into_owned();
        let _ = self.run(
            "pg_ctl",
            &["stop", "-D", &data, "-m", "immediate", "-w", "-t", "20"],
        );
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The server shared by the tests of this binary, or `None` (with a notice)
/// when PostgreSQL is not installed and not required.
pub fn server() -> Option<&'static PgServer> {
    static SERVER: OnceLock<Result<PgServer, String>> = OnceLock::new();
    match SERVER.get_or_init(|| {
        let started = Instant::now();
        let s = PgServer::start(false);
        if let Ok(s) = &s {
            eprintln!(
                "test PostgreSQL on 127.0.0.1:{} (started in {:.1?})",
                s.port,
                started.elapsed()
            );
        }
        s
    }) {
        Ok(s) => Some(s),
        Err(e) if require() => {
            panic!("SCIMKIT_REQUIRE_POSTGRES=1 but no PostgreSQL server could be started: {e}")
        }
        Err(e) => {
            eprintln!(
                "skipped: no PostgreSQL for this test ({e}); set SCIMKIT_REQUIRE_POSTGRES=1 to fail instead"
            );
            None
        }
    }
}

/// Options for tests: small pool, short waits.
pub fn options() -> PostgresOptions {
    PostgresOptions::default()
        .max_connections(8)
        .checkout_timeout(Duration::from_secs(10))
}

/// A store on a fresh database of the shared server.
pub fn fresh_store() -> Option<PostgresStore> {
    let server = server()?;
    let url = server.fresh_database();
    Some(PostgresStore::connect_with(&url, &options()).expect("connect to the test database"))
}

/// Wait until `f` is true, at most `limit`.
pub fn wait_for(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    f()
}
