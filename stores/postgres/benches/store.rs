//! Criterion benchmarks of the PostgreSQL store at 1 000 and 100 000 users (and
//! group members): create, get, `filter=userName eq`, and adding 50 members to
//! a group (PATCH members → `modify_members`) — the operations the SQLite
//! store's benchmarks measure.
//!
//! The benchmark starts its own PostgreSQL (as the tests do; skipped with a
//! notice when PostgreSQL is not installed) with the server's default
//! durability (`fsync=on`, `synchronous_commit=on`), over TCP on loopback.
//! The databases are filled through a store with `synchronous_commit=off`
//! (set-up only); every measurement uses a store with the defaults. Run with
//! `cargo bench -p scimkit-postgres`.

#[allow(missing_docs)]
#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_main};
use scimkit::ResourceKind;
use scimkit::schema::Registry;
use scimkit::store::{Ctx, Member, MemberChange, Members, Query, UserStore};
use scimkit_postgres::{PostgresOptions, PostgresStore};
use serde_json::{Value, json};

const T: &str = "2024-01-01T00:00:00.000Z";
const SIZES: [(usize, &str); 2] = [(1_000, "1k"), (100_000, "100k")];

fn user(id: &str, i: usize) -> Value {
    json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ],
        "id": id,
        "externalId": format!("ext-{i}"),
        "userName": format!("user{i}@contoso.example"),
        "name": {"givenName": "Given", "familyName": format!("Family{i}"), "formatted": format!("Given Family{i}")},
        "displayName": format!("Given Family{i}"),
        "active": true,
        "emails": [{"value": format!("user{i}@contoso.example"), "type": "work", "primary": true}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "department": "Engineering", "employeeNumber": i.to_string()
        },
        "meta": {"resourceType": "User", "created": T, "lastModified": T},
    })
}

fn member(id: String) -> Member {
    Member {
        value: id,
        kind: Some("User".into()),
        display: None,
    }
}

/// A database with `n` users and a group `g` whose members are all of them;
/// returns its URL.
fn populate(server: &common::PgServer, n: usize) -> String {
    let url = server.fresh_database();
    let fast = PostgresStore::connect(&format!("{url}?options=-c%20synchronous_commit%3Doff"))
        .expect("connect");
    let c = Ctx::new("bench");
    let started = Instant::now();
    let ids: Vec<String> = (0..n).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    std::thread::scope(|s| {
        for part in 0..4 {
            let (fast, c, ids) = (&fast, &c, &ids);
            s.spawn(move || {
                for (i, id) in ids.iter().enumerate().skip(part).step_by(4) {
                    fast.create(c, ResourceKind::User, user(id, i))
                        .expect("create");
                }
            });
        }
    });
    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "g", "displayName": "Everyone",
        "meta": {"resourceType": "Group", "created": T, "lastModified": T},
    });
    fast.create(&c, ResourceKind::Group, group).expect("group");
    for chunk in ids.chunks(1_000) {
        let change = MemberChange {
            add: chunk.iter().cloned().map(member).collect(),
            last_modified: T.into(),
            ..Default::default()
        };
        fast.modify_members(&c, "g", &change, None)
            .expect("members");
    }
    let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("client");
    client.batch_execute("VACUUM ANALYZE").expect("analyze");
    eprintln!(
        "set-up: {n} users and a {n}-member group in {:.1?}",
        started.elapsed()
    );
    url
}

fn benches(c: &mut Criterion) {
    let server = match common::PgServer::start_with(true, true) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("skipped: no PostgreSQL for the benchmarks ({e})");
            return;
        }
    };
    let registry = Registry::default();
    let ctx = Ctx::new("bench");
    let dbs: Vec<(usize, &str, String)> = SIZES
        .iter()
        .map(|&(n, label)| (n, label, populate(&server, n)))
        .collect();
    let open =
        |url: &str| PostgresStore::connect_with(url, &PostgresOptions::default()).expect("connect");

    let mut group = c.benchmark_group("create");
    group.throughput(Throughput::Elements(1));
    for (n, label, url) in &dbs {
        let store = open(url);
        let mut i = *n;
        group.bench_function(BenchmarkId::from_parameter(label), |b| {
            b.iter(|| {
                i += 1;
                let id = uuid::Uuid::new_v4().to_string();
                store
                    .create(&ctx, ResourceKind::User, user(&id, i))
                    .expect("create")
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("get");
    for (n, label, url) in &dbs {
        let store = open(url);
        let all = store
            .query(
                &ctx,
                ResourceKind::User,
                &Query::all(Arc::clone(registry.get(ResourceKind::User))),
            )
            .expect("ids");
        let ids: Vec<String> = all
            .resources
            .into_iter()
            .take(*n)
            .map(|s| s.id)
            .step_by(7)
            .collect();
        let mut k = 0;
        group.bench_function(BenchmarkId::from_parameter(label), |b| {
            b.iter(|| {
                k = (k + 1) % ids.len();
                store
                    .get(&ctx, ResourceKind::User, &ids[k], Members::Include)
                    .expect("get")
                    .expect("found")
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("filter userName eq");
    for (n, label, url) in &dbs {
        let store = open(url);
        let queries: Vec<Query> = (0..*n)
            .step_by((n / 500).max(1))
            .map(|i| {
                Query::all(Arc::clone(registry.get(ResourceKind::User)))
                    .with_filter(&format!("userName eq \"USER{i}@contoso.example\""))
                    .expect("filter")
            })
            .collect();
        let mut k = 0;
        group.bench_function(BenchmarkId::from_parameter(label), |b| {
            b.iter(|| {
                k = (k + 1) % queries.len();
                let page = store
                    .query(&ctx, ResourceKind::User, &queries[k])
                    .expect("query");
                assert_eq!(page.total_results, 1);
                page
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("modify_members add 50");
    for (n, label, url) in &dbs {
        let store = open(url);
        let mut round = 0usize;
        group.bench_function(
            BenchmarkId::from_parameter(format!("{label} members")),
            |b| {
                b.iter_custom(|iters| {
                    let mut spent = Duration::ZERO;
                    for _ in 0..iters {
                        round += 1;
                        let ids: Vec<String> =
                            (0..50).map(|j| format!("new-{round}-{j}")).collect();
                        let add = MemberChange {
                            add: ids.iter().cloned().map(member).collect(),
                            last_modified: T.into(),
                            ..Default::default()
                        };
                        let started = Instant::now();
                        store.modify_members(&ctx, "g", &add, None).expect("add");
                        spent += started.elapsed();
                        // Back to n members, untimed.
                        let remove = MemberChange {
                            remove: ids,
                            last_modified: T.into(),
                            ..Default::default()
                        };
                        store
                            .modify_members(&ctx, "g", &remove, None)
                            .expect("remove");
                    }
                    spent
                })
            },
        );
        let g = store
            .get(&ctx, ResourceKind::Group, "g", Members::Include)
            .expect("get")
            .expect("group");
        assert_eq!(g.resource["members"].as_array().map(Vec::len), Some(*n));
    }
    group.finish();
}

mod harness {
    //! The criterion harness (its generated function has no docs).
    #![allow(missing_docs)]

    use std::time::Duration;

    use criterion::{Criterion, criterion_group};

    criterion_group! {
        name = store;
        config = Criterion::default()
            .sample_size(20)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));
        targets = super::benches
    }
}
criterion_main!(harness::store);
