//! Durability: every write the store acknowledged is on disk. A child process
//! (this test binary, re-executed) writes in a loop and prints each id after the
//! store call returned; the parent kills it with SIGKILL mid-stream, reopens the
//! database and checks every acknowledged write and `PRAGMA integrity_check`.
//! Once with one writing thread, once with many (group commit: the writes of
//! concurrent threads share commits).
#![cfg(unix)]

use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::process::ExitStatusExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use scimkit::ResourceKind;
use scimkit::store::{Ctx, Member, MemberChange, Members, UserStore};
use scimkit_sqlite::SqliteStore;
use serde_json::{Value, json};

const DB_ENV: &str = "SCIMKIT_SQLITE_DURABILITY_DB";
const ROUND_ENV: &str = "SCIMKIT_SQLITE_DURABILITY_ROUND";
const T: &str = "2024-01-01T00:00:00.000Z";

fn user(id: &str, nick: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": id,
        "userName": format!("{id}@example.com"),
        "nickName": nick,
        "emails": [{"value": format!("{id}@example.com"), "primary": true}],
        "meta": {"resourceType": "User", "created": T, "lastModified": T},
    })
}

/// The child: writes until killed (or, bounded, for at most 20 000 iterations
/// or 60 seconds), printing `ACK <what> <id>` after each store call returned.
#[test]
#[ignore = "the child process of acknowledged_writes_survive_sigkill"]
fn durability_child() {
    let Ok(path) = std::env::var(DB_ENV) else {
        return;
    };
    let round = std::env::var(ROUND_ENV).unwrap_or_default();
    let store = SqliteStore::open(&path).expect("child: open");
    let c = Ctx::new("t");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut out = std::io::stdout().lock();
    for i in 0..20_000 {
        if Instant::now() > deadline {
            break;
        }
        let id = format!("r{round}-u{i}");
        store
            .create(&c, ResourceKind::User, user(&id, "v1"))
            .expect("child: create");
        writeln!(out, "ACK create {id}")
            .and_then(|()| out.flush())
            .expect("child: stdout");
        if i % 3 == 0 {
            let change = MemberChange {
                add: vec![Member {
                    value: id.clone(),
                    kind: Some("User".into()),
                    display: None,
                }],
                last_modified: T.into(),
                ..Default::default()
            };
            store
                .modify_members(&c, "g", &change, None)
                .expect("child: add member");
            writeln!(out, "ACK member {id}")
                .and_then(|()| out.flush())
                .expect("child: stdout");
        }
        if i % 5 == 0 {
            store
                .replace(&c, ResourceKind::User, &id, user(&id, "v2"), Some(1))
                .expect("child: replace");
            writeln!(out, "ACK replace {id}")
                .and_then(|()| out.flush())
                .expect("child: stdout");
        }
    }
}

/// The threads of `concurrent_durability_child`.
const THREADS: usize = 16;

/// The child of the concurrent test: [`THREADS`] threads write until killed
/// (or, bounded, 2 000 iterations each or 60 seconds). Threads `2k` and
/// `2k + 1` race to create the same userName in every iteration: the winner
/// prints `ACK create <id>`, the loser `REJ create <id>` (its uniqueness
/// error was answered, so that user must never appear).
#[test]
#[ignore = "the child process of acknowledged_concurrent_writes_survive_sigkill"]
fn concurrent_durability_child() {
    let Ok(path) = std::env::var(DB_ENV) else {
        return;
    };
    let round = std::env::var(ROUND_ENV).unwrap_or_default();
    let store = SqliteStore::open(&path).expect("child: open");
    let deadline = Instant::now() + Duration::from_secs(60);
    let print = |line: String| {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}")
            .and_then(|()| out.flush())
            .expect("child: stdout");
    };
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (store, round, print) = (&store, &round, &print);
            s.spawn(move || {
                let c = Ctx::new("t");
                for i in 0..2_000 {
                    if Instant::now() > deadline {
                        break;
                    }
                    let id = format!("r{round}-t{t}-u{i}");
                    let mut u = user(&id, "v1");
                    u["userName"] = json!(format!("r{round}-pair{}-{i}@example.com", t / 2));
                    match store.create(&c, ResourceKind::User, u) {
                        Ok(_) => print(format!("ACK create {id}")),
                        Err(scimkit::StoreError::Uniqueness { .. }) => {
                            print(format!("REJ create {id}"));
                            continue;
                        }
                        Err(e) => panic!("child: create {id}: {e:?}"),
                    }
                    if i % 3 == 0 {
                        let change = MemberChange {
                            add: vec![Member {
                                value: id.clone(),
                                kind: Some("User".into()),
                                display: None,
                            }],
                            last_modified: T.into(),
                            ..Default::default()
                        };
                        store
                            .modify_members(&c, "g", &change, None)
                            .expect("child: add member");
                        print(format!("ACK member {id}"));
                    }
                    if i % 5 == 0 {
                        let mut u = user(&id, "v2");
                        u["userName"] = json!(format!("r{round}-pair{}-{i}@example.com", t / 2));
                        store
                            .replace(&c, ResourceKind::User, &id, u, Some(1))
                            .expect("child: replace");
                        print(format!("ACK replace {id}"));
                    }
                }
            });
        }
    });
}

/// Run one child until it acknowledged `target` writes, wait `grace`, SIGKILL
/// it, and return every acknowledgement it printed.
fn run_child(path: &Path, round: usize, target: usize, grace: Duration) -> Vec<String> {
    run_named_child("durability_child", path, round, target, grace)
}

/// [`run_child`] for the child test named `child`; `REJ` lines count as
/// acknowledgements (of a failure).
fn run_named_child(
    child: &str,
    path: &Path,
    round: usize,
    target: usize,
    grace: Duration,
) -> Vec<String> {
    let exe = std::env::current_exe().expect("test binary");
    let mut child = Command::new(exe)
        .args([
            "--exact",
            child,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(DB_ENV, path)
        .env(ROUND_ENV, round.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut r = BufReader::new(stdout);
        let mut line = String::new();
        // Bounded by the child's own bounds: EOF comes when it exits or is killed.
        loop {
            line.clear();
            match r.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                // A line cut by the kill has no newline: it was not acknowledged.
                Ok(_)
                    if line.ends_with('\n')
                        && (line.starts_with("ACK ") || line.starts_with("REJ ")) =>
                {
                    if tx.send(line.trim_end().to_owned()).is_err() {
                        break;
                    }
                }
                Ok(_) => {}
            }
        }
    });
    let mut acks = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while acks.len() < target {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) => acks.push(l),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the child acknowledged only {} writes in time", acks.len());
            }
        }
    }
    std::thread::sleep(grace);
    child.kill().expect("SIGKILL");
    let status = child.wait().expect("wait");
    reader.join().expect("reader");
    acks.extend(rx.try_iter());
    assert_eq!(
        status.signal(),
        Some(9),
        "the child was killed mid-stream, not finished: {status:?}"
    );
    acks
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("scim.db");
    {
        let store = SqliteStore::open(&path).expect("create");
        let group = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "id": "g", "displayName": "G",
            "meta": {"resourceType": "Group", "created": T, "lastModified": T},
        });
        store
            .create(&Ctx::new("t"), ResourceKind::Group, group)
            .expect("group");
    }
    let c = Ctx::new("t");
    let mut total = 0;
    for (round, (target, grace_ms)) in [(150, 0), (300, 5), (200, 20)].into_iter().enumerate() {
        let acks = run_child(&path, round, target, Duration::from_millis(grace_ms));
        total += acks.len();
        let store = SqliteStore::open(&path).expect("reopen after SIGKILL");
        assert_eq!(
            store.integrity_check().expect("integrity_check"),
            Vec::<String>::new()
        );
        let group = store
            .get(&c, ResourceKind::Group, "g", Members::Include)
            .expect("get group")
            .expect("group exists");
        let members: std::collections::HashSet<&str> = group.resource["members"]
            .as_array()
            .map(|a| a.iter().filter_map(|m| m["value"].as_str()).collect())
            .unwrap_or_default();
        for ack in &acks {
            let mut parts = ack.split(' ').skip(1);
            let (what, id) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            let got = store
                .get(&c, ResourceKind::User, id, Members::Include)
                .expect("get");
            let got =
                got.unwrap_or_else(|| panic!("round {round}: acknowledged user {id} is lost"));
            match what {
                "create" => {}
                "member" => assert!(
                    members.contains(id),
                    "round {round}: acknowledged member {id} is lost"
                ),
                "replace" => {
                    assert_eq!(
                        got.version, 2,
                        "round {round}: acknowledged replace of {id} is lost"
                    );
                    assert_eq!(got.resource["nickName"], "v2");
                }
                other => panic!("unexpected acknowledgement {other:?}"),
            }
        }
    }
    assert!(total >= 650, "{total} acknowledgements checked");
}

#[test]
fn acknowledged_concurrent_writes_survive_sigkill() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("scim.db");
    {
        let store = SqliteStore::open(&path).expect("create");
        let group = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "id": "g", "displayName": "G",
            "meta": {"resourceType": "Group", "created": T, "lastModified": T},
        });
        store
            .create(&Ctx::new("t"), ResourceKind::Group, group)
            .expect("group");
    }
    let c = Ctx::new("t");
    let (mut created, mut rejected) = (0, 0);
    for (round, (target, grace_ms)) in [(400, 0), (800, 5), (600, 20)].into_iter().enumerate() {
        let acks = run_named_child(
            "concurrent_durability_child",
            &path,
            round,
            target,
            Duration::from_millis(grace_ms),
        );
        let store = SqliteStore::open(&path).expect("reopen after SIGKILL");
        assert_eq!(
            store.integrity_check().expect("integrity_check"),
            Vec::<String>::new()
        );
        let group = store
            .get(&c, ResourceKind::Group, "g", Members::Include)
            .expect("get group")
            .expect("group exists");
        let members: std::collections::HashSet<&str> = group.resource["members"]
            .as_array()
            .map(|a| a.iter().filter_map(|m| m["value"].as_str()).collect())
            .unwrap_or_default();
        for ack in &acks {
            let mut parts = ack.split(' ');
            let (verdict, what, id) = (
                parts.next().unwrap_or(""),
                parts.next().unwrap_or(""),
                parts.next().unwrap_or(""),
            );
            let got = store
                .get(&c, ResourceKind::User, id, Members::Include)
                .expect("get");
            match (verdict, what) {
                ("REJ", "create") => {
                    rejected += 1;
                    assert!(got.is_none(), "round {round}: rejected user {id} exists");
                    continue;
                }
                ("ACK", _) => {}
                _ => panic!("unexpected line {ack:?}"),
            }
            let got =
                got.unwrap_or_else(|| panic!("round {round}: acknowledged user {id} is lost"));
            match what {
                "create" => created += 1,
                "member" => assert!(
                    members.contains(id),
                    "round {round}: acknowledged member {id} is lost"
                ),
                "replace" => {
                    assert_eq!(
                        got.version, 2,
                        "round {round}: acknowledged replace of {id} is lost"
                    );
                    assert_eq!(got.resource["nickName"], "v2");
                }
                other => panic!("unexpected acknowledgement {other:?}"),
            }
        }
    }
    assert!(created >= 400, "{created} acknowledged creates checked");
    assert!(rejected >= 200, "{rejected} rejected creates checked");
}
