//! Opening: a new file is created with the schema, and every kind of bad file
//! is a clear error naming the path — never a silently created new database.

mod common;

use std::time::Duration;

use scimkit::ResourceKind;
use scimkit::store::{Ctx, Members, StoreError, UserStore};
use scimkit_sqlite::{OpenError, OpenErrorKind, SCHEMA_VERSION, SqliteOptions, SqliteStore};
use serde_json::json;

fn user(id: &str) -> serde_json::Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": id,
        "userName": format!("{id}@example.com"),
        "displayName": format!("User {id} with a name long enough to fill pages"),
        "meta": {"resourceType": "User", "created": "2024-01-01T00:00:00.000Z",
                 "lastModified": "2024-01-01T00:00:00.000Z"},
    })
}

fn open_err(path: &std::path::Path) -> OpenError {
    let err = SqliteStore::open(path).expect_err("open must fail");
    assert_eq!(err.path(), path);
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "the message names the path: {err}"
    );
    err
}

#[test]
fn a_new_file_is_created_with_the_current_schema_and_reopens_with_its_data() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("new.db");
    {
        let store = SqliteStore::open(&path).expect("create");
        assert_eq!(store.path(), Some(path.as_path()));
        store
            .create(&Ctx::new("t"), ResourceKind::User, user("u1"))
            .expect("create user");
    }
    let raw = rusqlite::Connection::open(&path).expect("raw open");
    let version: i64 = raw
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(version, SCHEMA_VERSION);
    let mode: String = raw
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("mode");
    assert_eq!(mode, "wal");
    drop(raw);
    let store = SqliteStore::open(&path).expect("reopen");
    let got = store
        .get(&Ctx::new("t"), ResourceKind::User, "u1", Members::Include)
        .expect("get");
    assert_eq!(got.map(|s| s.version), Some(1));
    assert!(store.integrity_check().expect("check").is_empty());
}

#[test]
fn a_file_that_is_not_sqlite_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("notes.txt");
    let text = "these are my notes, not a database\n".repeat(200);
    std::fs::write(&path, &text).expect("write");
    let err = open_err(&path);
    assert!(matches!(err.kind(), OpenErrorKind::NotADatabase), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "cannot open the SQLite store {}: the file is not a SQLite database",
            path.display()
        )
    );
    assert_eq!(
        std::fs::read_to_string(&path).expect("read"),
        text,
        "the file is untouched"
    );
    let short = dir.path().join("short.db");
    std::fs::write(&short, b"SQLi").expect("write");
    assert!(matches!(
        open_err(&short).kind(),
        OpenErrorKind::NotADatabase
    ));
}

#[test]
fn a_directory_or_a_missing_directory_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    assert!(matches!(
        open_err(dir.path()).kind(),
        OpenErrorKind::IsADirectory
    ));
    let missing = dir.path().join("no-such-dir").join("scim.db");
    let err = open_err(&missing);
    assert!(
        matches!(err.kind(), OpenErrorKind::MissingDirectory(_)),
        "{err:?}"
    );
    assert!(!missing.exists());
}

#[test]
fn another_applications_database_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("app.db");
    {
        let raw = rusqlite::Connection::open(&path).expect("raw");
        raw.execute_batch("CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT);")
            .expect("schema");
    }
    let err = open_err(&path);
    assert!(
        matches!(err.kind(), OpenErrorKind::ForeignDatabase { tables: 1, .. }),
        "{err:?}"
    );
    let raw = rusqlite::Connection::open(&path).expect("raw");
    let n: i64 = raw
        .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
        .expect("count");
    assert_eq!(n, 1, "no scimkit tables were added");
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("scim.db");
    drop(SqliteStore::open(&path).expect("create"));
    rusqlite::Connection::open(&path)
        .and_then(|c| c.execute_batch("PRAGMA user_version = 99;"))
        .expect("bump version");
    let err = open_err(&path);
    assert!(
        matches!(
            err.kind(),
            OpenErrorKind::TooNew {
                found: 99,
                supported: SCHEMA_VERSION
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_corrupt_database_is_a_startup_error() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("scim.db");
    {
        let store = SqliteStore::open(&path).expect("create");
        let c = Ctx::new("t");
        for i in 0..300 {
            store
                .create(&c, ResourceKind::User, user(&format!("u{i:03}")))
                .expect("create");
        }
    }
    assert!(
        !dir.path().join("scim.db-wal").exists(),
        "closing checkpoints the log"
    );
    let mut bytes = std::fs::read(&path).expect("read");
    assert!(bytes.len() > 40 * 4096, "{} bytes", bytes.len());
    for b in &mut bytes[10 * 4096..30 * 4096] {
        *b = 0xA5;
    }
    std::fs::write(&path, &bytes).expect("corrupt");
    let err = open_err(&path);
    assert!(
        matches!(err.kind(), OpenErrorKind::Corrupt { .. }),
        "{err:?}"
    );
    // A damaged first page is refused as well.
    let mut bytes = std::fs::read(&path).expect("read");
    for b in &mut bytes[16..100] {
        *b = 0xFF;
    }
    std::fs::write(&path, &bytes).expect("corrupt header");
    let err = open_err(&path);
    assert!(
        matches!(
            err.kind(),
            OpenErrorKind::NotADatabase | OpenErrorKind::Corrupt { .. }
        ),
        "{err:?}"
    );
}

#[test]
fn a_locked_database_is_unavailable_not_a_failure() {
    let store =
        common::TempStore::with(&SqliteOptions::default().busy_timeout(Duration::from_millis(100)));
    let c = Ctx::new("t");
    store
        .create(&c, ResourceKind::User, user("u1"))
        .expect("create");
    // Another process (here: connection) holds the write lock.
    let other = rusqlite::Connection::open(store.dir().join("scim.db")).expect("raw");
    other.execute_batch("BEGIN IMMEDIATE;").expect("lock");
    match store.create(&c, ResourceKind::User, user("u2")) {
        Err(StoreError::Unavailable { retry_after, .. }) => assert!(retry_after >= 1),
        other => panic!("expected Unavailable, got {other:?}"),
    }
    // Readers are not blocked by a writer (write-ahead logging).
    assert!(
        store
            .get(&c, ResourceKind::User, "u1", Members::Include)
            .expect("read")
            .is_some()
    );
    other.execute_batch("ROLLBACK;").expect("unlock");
    store
        .create(&c, ResourceKind::User, user("u2"))
        .expect("the lock is gone");
}

/// A write waits for another connection's (another process's) write lock
/// and then goes through; two stores on one file (two processes) writing at
/// once lose nothing.
#[test]
fn writers_in_two_processes_wait_for_each_other() {
    let store =
        common::TempStore::with(&SqliteOptions::default().busy_timeout(Duration::from_secs(30)));
    let path = store.dir().join("scim.db");
    let c = Ctx::new("t");
    let other = rusqlite::Connection::open(&path).expect("raw");
    other.execute_batch("BEGIN IMMEDIATE;").expect("lock");
    let started = std::time::Instant::now();
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        other.execute_batch("COMMIT;").expect("unlock");
    });
    store
        .create(&c, ResourceKind::User, user("waiting"))
        .expect("the create waits for the lock, then writes");
    assert!(
        started.elapsed() >= Duration::from_millis(100),
        "it cannot have written while the lock was held"
    );
    release.join().expect("release");

    let second = SqliteStore::open_with(
        &path,
        &SqliteOptions::default().busy_timeout(Duration::from_secs(30)),
    )
    .expect("second store");
    std::thread::scope(|s| {
        for (n, st) in [(0, &*store), (1, &second)] {
            let c = c.clone();
            s.spawn(move || {
                for i in 0..150 {
                    st.create(&c, ResourceKind::User, user(&format!("p{n}-{i}")))
                        .expect("no write is refused");
                }
            });
        }
    });
    for st in [&*store, &second] {
        let q = scimkit::store::Query::all(std::sync::Arc::clone(
            scimkit::schema::Registry::default().get(ResourceKind::User),
        ));
        assert_eq!(
            st.query(&c, ResourceKind::User, &q)
                .expect("query")
                .total_results,
            301
        );
    }
}

#[test]
fn an_in_memory_store_works_without_a_file() {
    let store = SqliteStore::open_in_memory().expect("open");
    assert_eq!(store.path(), None);
    store
        .create(&Ctx::new("t"), ResourceKind::User, user("u1"))
        .expect("create");
    assert!(store.integrity_check().expect("check").is_empty());
}

/// Opening and dropping stores does not leave threads behind (a host that
/// opens a store per tenant or per test must not leak).
#[test]
fn dropping_a_store_leaves_no_threads() {
    fn threads() -> usize {
        std::fs::read_dir("/proc/self/task")
            .map(|d| d.count())
            .unwrap_or(0)
    }
    let dir = tempfile::tempdir().unwrap();
    // Warm up once (lazy statics may start threads of their own).
    drop(scimkit_sqlite::SqliteStore::open(dir.path().join("w.db")).unwrap());
    std::thread::sleep(std::time::Duration::from_millis(200));
    let before = threads();
    for i in 0..5 {
        drop(scimkit_sqlite::SqliteStore::open(dir.path().join(format!("{i}.db"))).unwrap());
    }
    // Threads wind down asynchronously: bounded wait.
    let mut after = threads();
    for _ in 0..50 {
        if after <= before {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        after = threads();
    }
    assert!(
        after <= before,
        "threads before: {before}, after 5 open/drop: {after}"
    );
}
