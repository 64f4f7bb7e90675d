//! Two scimkit processes on one database: the test binary re-executes itself
//! as two worker processes (selected by `SCIMKIT_PG_WORKER`), each with its own
//! `PostgresStore` on the same database, started together through a "go" file.
//!
//! * 32 concurrent clients (16 threads in each process) add different members
//!   to the same group: every member is present afterwards, and the group's
//!   version counts every change.
//! * The same userNames (in different case) created through both processes at
//!   once: for each, exactly one success and one `Uniqueness`. The workers
//!   also connect to a fresh database at the same moment, so both run the
//!   schema migration concurrently.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use scimkit::ResourceKind;
use scimkit::store::testkit::{group, user};
use scimkit::store::{Ctx, Member, MemberChange, Members, StoreError, UserStore};
use scimkit_postgres::PostgresStore;
use serde_json::json;

const THREADS_PER_PROCESS: usize = 16;
const ROUNDS: usize = 10;
const PER_ROUND: usize = 5;
const RACES: usize = 24;
const T: &str = "2024-01-01T00:00:00.000Z";

/// The worker entry point: a no-op unless this process was started as a worker.
#[test]
fn worker() {
    let Ok(role) = std::env::var("SCIMKIT_PG_WORKER") else {
        return;
    };
    let url = std::env::var("SCIMKIT_PG_URL").expect("SCIMKIT_PG_URL");
    let me: usize = std::env::var("SCIMKIT_PG_INDEX")
        .expect("SCIMKIT_PG_INDEX")
        .parse()
        .expect("index");
    let go = PathBuf::from(std::env::var("SCIMKIT_PG_GO").expect("SCIMKIT_PG_GO"));
    let out = PathBuf::from(std::env::var("SCIMKIT_PG_OUT").expect("SCIMKIT_PG_OUT"));
    assert!(
        common::wait_for(Duration::from_secs(60), || go.exists()),
        "no go signal"
    );
    let store = PostgresStore::connect_with(&url, &common::options().max_connections(16))
        .expect("worker connects");
    let ctx = Ctx::new("acme");
    // Both connected: start the work together (1 ms polling).
    let dir = go.parent().expect("dir").to_path_buf();
    std::fs::write(dir.join(format!("ready-{role}-{me}")), b"").expect("ready file");
    let both = |d: &Path| (0..2).all(|i| d.join(format!("ready-{role}-{i}")).exists());
    let started = std::time::Instant::now();
    while !both(&dir) && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut lines = Vec::new();
    match role.as_str() {
        "members" => {
            let results: Vec<Vec<String>> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..THREADS_PER_PROCESS)
                    .map(|t| {
                        let store = &store;
                        let ctx = &ctx;
                        s.spawn(move || {
                            let mut out = Vec::new();
                            for r in 0..ROUNDS {
                                let add = (0..PER_ROUND)
                                    .map(|k| Member {
                                        value: format!("p{me}-t{t}-r{r}-{k}"),
                                        kind: Some("User".into()),
                                        display: None,
                                    })
                                    .collect();
                                let change = MemberChange {
                                    add,
                                    last_modified: T.into(),
                                    ..Default::default()
                                };
                                match store.modify_members(ctx, "g", &change, None) {
                                    Ok(_) => out.push("ok".to_owned()),
                                    Err(e) => out.push(format!("error {e:?}")),
                                }
                            }
                            out
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("thread"))
                    .collect()
            });
            lines.extend(results.into_iter().flatten());
        }
        "unique" => {
            // One thread per userName, all at once, in both processes.
            let results: Vec<String> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..RACES)
                    .map(|r| {
                        let store = &store;
                        let ctx = &ctx;
                        s.spawn(move || {
                            let name = if me == 0 {
                                format!("race{r}@contoso.com")
                            } else {
                                format!("RACE{r}@Contoso.COM")
                            };
                            let id = format!("p{me}-u{r}");
                            match store.create(ctx, ResourceKind::User, user(&id, &name, json!({})))
                            {
                                Ok(_) => format!("ok {r}"),
                                Err(StoreError::Uniqueness { attribute }) => {
                                    format!("uniqueness {r} {attribute}")
                                }
                                Err(e) => format!("error {r} {e:?}"),
                            }
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("thread"))
                    .collect()
            });
            lines.extend(results);
        }
        other => panic!("unknown worker role {other}"),
    }
    std::fs::write(&out, lines.join("\n")).expect("write results");
}

struct Workers {
    children: Vec<Child>,
    outs: Vec<PathBuf>,
}

fn spawn_workers(role: &str, url: &str, dir: &Path) -> Workers {
    let exe = std::env::current_exe().expect("test binary");
    let go = dir.join("go");
    let mut children = Vec::new();
    let mut outs = Vec::new();
    for i in 0..2 {
        let out = dir.join(format!("out-{role}-{i}"));
        let child = Command::new(&exe)
            .args(["--exact", "worker", "--test-threads", "1"])
            .env("SCIMKIT_PG_WORKER", role)
            .env("SCIMKIT_PG_URL", url)
            .env("SCIMKIT_PG_INDEX", i.to_string())
            .env("SCIMKIT_PG_GO", &go)
            .env("SCIMKIT_PG_OUT", &out)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn a worker process");
        children.push(child);
        outs.push(out);
    }
    // Both processes are up and waiting: start them together.
    std::thread::sleep(Duration::from_millis(300));
    std::fs::write(go, b"go").expect("go file");
    Workers { children, outs }
}

impl Workers {
    /// Wait (bounded) for both workers; their result lines.
    fn finish(mut self) -> Vec<Vec<String>> {
        for c in &mut self.children {
            let ok = common::wait_for(Duration::from_secs(120), || {
                matches!(c.try_wait(), Ok(Some(_)))
            });
            if !ok {
                let _ = c.kill();
                panic!("a worker process did not finish in time");
            }
            let status = c.wait().expect("wait");
            assert!(status.success(), "worker failed: {status}");
        }
        self.outs
            .iter()
            .map(|o| {
                std::fs::read_to_string(o)
                    .expect("worker results")
                    .lines()
                    .map(str::to_owned)
                    .collect()
            })
            .collect()
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("scimkit-replicas-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn two_processes_adding_members_to_one_group_lose_none() {
    if std::env::var("SCIMKIT_PG_WORKER").is_ok() {
        return;
    }
    let Some(server) = common::server() else {
        return;
    };
    let url = server.fresh_database();
    let store = PostgresStore::connect_with(&url, &common::options()).expect("connect");
    let ctx = Ctx::new("acme");
    store
        .create(&ctx, ResourceKind::Group, group("g", "Everyone", &[]))
        .expect("group");
    let dir = temp_dir("members");
    let results = spawn_workers("members", &url, &dir).finish();
    let _ = std::fs::remove_dir_all(&dir);
    let lines: Vec<&String> = results.iter().flatten().collect();
    let calls = 2 * THREADS_PER_PROCESS * ROUNDS;
    assert_eq!(lines.len(), calls, "every call reported");
    let failures: Vec<&&String> = lines.iter().filter(|l| l.as_str() != "ok").collect();
    assert!(failures.is_empty(), "failed calls: {failures:?}");
    let g = store
        .get(&ctx, ResourceKind::Group, "g", Members::Include)
        .unwrap()
        .unwrap();
    let members: BTreeSet<String> = g.resource["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| m["value"].as_str().unwrap().to_owned())
        .collect();
    let expected: BTreeSet<String> = (0..2)
        .flat_map(|p| {
            (0..THREADS_PER_PROCESS).flat_map(move |t| {
                (0..ROUNDS)
                    .flat_map(move |r| (0..PER_ROUND).map(move |k| format!("p{p}-t{t}-r{r}-{k}")))
            })
        })
        .collect();
    assert_eq!(members.len(), expected.len(), "no member lost");
    assert_eq!(members, expected);
    assert_eq!(
        g.version,
        1 + calls as u64,
        "every membership change bumped the version exactly once"
    );
    eprintln!(
        "two processes x {THREADS_PER_PROCESS} threads: {calls} modify_members calls, {} members, version {}",
        members.len(),
        g.version
    );
}

#[test]
fn two_processes_creating_the_same_user_name_one_wins() {
    if std::env::var("SCIMKIT_PG_WORKER").is_ok() {
        return;
    }
    let Some(server) = common::server() else {
        return;
    };
    // A fresh database nobody has connected to: both workers migrate at once.
    let url = server.fresh_database();
    let dir = temp_dir("unique");
    let results = spawn_workers("unique", &url, &dir).finish();
    let _ = std::fs::remove_dir_all(&dir);
    let mut wins = 0;
    for r in 0..RACES {
        let outcomes: Vec<&str> = results
            .iter()
            .map(|lines| {
                lines
                    .iter()
                    .find(|l| l.split(' ').nth(1) == Some(&r.to_string()))
                    .map(String::as_str)
                    .expect("an outcome per race")
            })
            .collect();
        let ok = outcomes.iter().filter(|o| o.starts_with("ok ")).count();
        let taken = outcomes
            .iter()
            .filter(|o| **o == format!("uniqueness {r} userName"))
            .count();
        assert_eq!(
            (ok, taken),
            (1, 1),
            "race {r}: exactly one success and one Uniqueness, got {outcomes:?}"
        );
        if outcomes[0].starts_with("ok ") {
            wins += 1;
        }
    }
    let store = PostgresStore::connect_with(&url, &common::options()).expect("connect");
    let q = scimkit::store::Query::all(std::sync::Arc::clone(
        scimkit::schema::Registry::default().get(ResourceKind::User),
    ));
    let page = store
        .query(&Ctx::new("acme"), ResourceKind::User, &q)
        .unwrap();
    assert_eq!(page.total_results, RACES, "one user per userName");
    eprintln!(
        "{RACES} userName races across two processes: process 0 won {wins}, process 1 won {}",
        RACES - wins
    );
}
