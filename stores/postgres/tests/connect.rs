//! Connecting: clear errors for bad URLs, unreachable servers, failed
//! authentication and missing databases, never showing the password;
//! migrations that are idempotent and safe when replicas start at once.

mod common;

use std::time::{Duration, Instant};

use scimkit::ResourceKind;
use scimkit::store::{Ctx, Members, UserStore};
use scimkit_postgres::{ConnectErrorKind, PostgresOptions, PostgresStore, SCHEMA_VERSION};
use serde_json::json;

fn assert_no_secret(text: &str, secret: &str) {
    assert!(!text.contains(secret), "the password leaked: {text}");
}

#[test]
fn a_bad_url_is_invalid_url_without_the_password() {
    for url in [
        "postgresql://u:hunter2-secret@host:notaport/db",
        "host=localhost password=hunter2-secret port=x",
        "postgresql://u:hunter2-secret@host/db?sslmode=bogus",
        "host=localhost password='hunter2-secret",
    ] {
        let e = PostgresStore::connect(url).expect_err(url);
        assert!(
            matches!(e.kind(), ConnectErrorKind::InvalidUrl(_)),
            "{url}: {e:?}"
        );
        assert_no_secret(&e.to_string(), "hunter2-secret");
        assert_no_secret(&format!("{e:?}"), "hunter2-secret");
        assert!(
            e.to_string().starts_with(
                "cannot open the PostgreSQL store at <unparsable connection string>: invalid connection string"
            ),
            "{e}"
        );
    }
}

#[test]
fn an_unreachable_server_fails_fast_and_names_the_target() {
    // Nothing listens on a port we just freed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    let url = format!("postgresql://scim:hunter2-secret@127.0.0.1:{port}/scim");
    let started = Instant::now();
    let options = PostgresOptions::default().connect_timeout(Duration::from_secs(2));
    let e = PostgresStore::connect_with(&url, &options).expect_err("nothing listens");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        matches!(e.kind(), ConnectErrorKind::Unreachable(_)),
        "{e:?}"
    );
    assert_eq!(
        e.target().as_str(),
        format!("postgresql://scim@127.0.0.1:{port}/scim")
    );
    let text = e.to_string();
    assert!(
        text.starts_with(&format!(
            "cannot open the PostgreSQL store at postgresql://scim@127.0.0.1:{port}/scim: the server is unreachable"
        )),
        "{text}"
    );
    assert_no_secret(&text, "hunter2-secret");
    assert_no_secret(&format!("{e:?}"), "hunter2-secret");
}

#[test]
fn a_wrong_password_is_an_authentication_error_without_the_password() {
    let Some(server) = common::server() else {
        return;
    };
    let url = server.auth_url("postgres", "Wrong-Pa55word-xyz");
    let e = PostgresStore::connect(&url).expect_err("wrong password");
    assert!(
        matches!(e.kind(), ConnectErrorKind::Authentication(_)),
        "{e:?}"
    );
    assert!(e.to_string().contains("authentication failed"), "{e}");
    assert_no_secret(&e.to_string(), "Wrong-Pa55word-xyz");
    assert_no_secret(&format!("{e:?}"), "Wrong-Pa55word-xyz");
    // The right password works, and the store never shows it either.
    let db = server.fresh_database();
    let dbname = db.rsplit('/').next().unwrap().to_owned();
    let store = PostgresStore::connect(&server.auth_url(&dbname, common::AUTH_PASSWORD))
        .expect("the right password");
    assert_no_secret(&format!("{store:?}"), common::AUTH_PASSWORD);
    assert_no_secret(&store.target().to_string(), common::AUTH_PASSWORD);
    store.ping().expect("ping");
}

#[test]
fn a_missing_database_is_named() {
    let Some(server) = common::server() else {
        return;
    };
    let e = PostgresStore::connect(&server.url("no_such_db")).expect_err("no database");
    assert!(
        matches!(e.kind(), ConnectErrorKind::NoSuchDatabase(_)),
        "{e:?}"
    );
    assert_no_secret(&e.to_string(), common::PASSWORD);
}

#[test]
fn replicas_starting_at_once_migrate_exactly_once() {
    let Some(server) = common::server() else {
        return;
    };
    let url = server.fresh_database();
    let barrier = std::sync::Barrier::new(6);
    std::thread::scope(|s| {
        for _ in 0..6 {
            s.spawn(|| {
                barrier.wait();
                PostgresStore::connect_with(&url, &common::options())
                    .expect("every replica connects")
            });
        }
    });
    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let rows = c
        .query(
            "SELECT version FROM scimkit_migrations ORDER BY version",
            &[],
        )
        .unwrap();
    let versions: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(versions, (1..=SCHEMA_VERSION).collect::<Vec<_>>());
    // Reconnecting is a no-op migration and keeps the data.
    let store = PostgresStore::connect_with(&url, &common::options()).unwrap();
    let ctx = Ctx::new("t");
    store
        .create(
            &ctx,
            ResourceKind::User,
            scimkit::store::testkit::user("u1", "a", json!({})),
        )
        .unwrap();
    drop(store);
    let store = PostgresStore::connect_with(&url, &common::options()).unwrap();
    assert!(
        store
            .get(&ctx, ResourceKind::User, "u1", Members::Include)
            .unwrap()
            .is_some()
    );
}

#[test]
fn a_newer_schema_is_refused() {
    let Some(server) = common::server() else {
        return;
    };
    let url = server.fresh_database();
    drop(PostgresStore::connect(&url).unwrap());
    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    c.execute(
        "INSERT INTO scimkit_migrations (version) VALUES ($1)",
        &[&(SCHEMA_VERSION + 1)],
    )
    .unwrap();
    let e = PostgresStore::connect(&url).expect_err("newer schema");
    assert!(
        matches!(e.kind(), ConnectErrorKind::TooNew { found, supported }
            if *found == SCHEMA_VERSION + 1 && *supported == SCHEMA_VERSION),
        "{e:?}"
    );
}
