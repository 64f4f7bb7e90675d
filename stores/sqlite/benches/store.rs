//! Criterion benchmarks of the SQLite store at 1 000 and 100 000 users (and
//! group members): create (one caller, and 1/8/32 concurrent callers sharing
//! one store, as an HTTP server's request threads do), get, `filter=userName
//! eq`, and adding 50 members to a group (PATCH members → `modify_members`).
//!
//! The databases are filled with `synchronous=OFF` (set-up only) and then
//! reopened with the default `synchronous=FULL`, which every measurement uses
//! unless its name says otherwise. Run with
//! `cargo bench -p scimkit-sqlite -- --measurement-time 3`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_main};
use scimkit::ResourceKind;
use scimkit::schema::Registry;
use scimkit::store::{Ctx, Member, MemberChange, Members, Query, UserStore};
use scimkit_sqlite::{SqliteOptions, SqliteStore, Synchronous};
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

/// A database with `n` users and a group `g` whose members are all of them.
fn populate(dir: &Path, n: usize) -> PathBuf {
    let path = dir.join(format!("bench-{n}.db"));
    let fast = SqliteOptions::default().synchronous(Synchronous::Off);
    let store = SqliteStore::open_with(&path, &fast).expect("open");
    let c = Ctx::new("bench");
    let started = Instant::now();
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let id = uuid::Uuid::new_v4().to_string();
        store
            .create(&c, ResourceKind::User, user(&id, i))
            .expect("create");
        ids.push(id);
    }
    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "g", "displayName": "Everyone",
        "meta": {"resourceType": "Group", "created": T, "lastModified": T},
    });
    store.create(&c, ResourceKind::Group, group).expect("group");
    for chunk in ids.chunks(1_000) {
        let change = MemberChange {
            add: chunk.iter().cloned().map(member).collect(),
            last_modified: T.into(),
            ..Default::default()
        };
        store
            .modify_members(&c, "g", &change, None)
            .expect("members");
    }
    eprintln!(
        "set-up: {n} users and a {n}-member group in {:.1?}",
        started.elapsed()
    );
    path
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let registry = Registry::default();
    let ctx = Ctx::new("bench");
    let dbs: Vec<(usize, &str, PathBuf)> = SIZES
        .iter()
        .map(|&(n, label)| (n, label, populate(dir.path(), n)))
        .collect();

    let mut group = c.benchmark_group("create");
    group.throughput(Throughput::Elements(1));
    // userNames above every populated one, never repeated across the loops.
    let mut i = 10_000_000;
    for (_, label, path) in &dbs {
        for (sync, name) in [(Synchronous::Full, "full"), (Synchronous::Normal, "normal")] {
            let store = SqliteStore::open_with(path, &SqliteOptions::default().synchronous(sync))
                .expect("open");
            group.bench_function(
                BenchmarkId::new(format!("synchronous={name}"), label),
                |b| {
                    b.iter(|| {
                        i += 1;
                        let id = uuid::Uuid::new_v4().to_string();
                        store
                            .create(&ctx, ResourceKind::User, user(&id, i))
                            .expect("create")
                    })
                },
            );
        }
    }
    group.finish();

    // Many callers, one store (one writer connection): creates are group
    // committed, so a flush carries the creates queued while the last one ran.
    let mut group = c.benchmark_group("concurrent create");
    group.throughput(Throughput::Elements(1));
    let mut next = 20_000_000;
    for (_, label, path) in &dbs {
        let store = SqliteStore::open(path).expect("open");
        for callers in [1usize, 8, 32] {
            let id = BenchmarkId::new(
                format!("synchronous=full, {callers} callers"),
                format!("{label} users"),
            );
            group.bench_function(id, |b| {
                b.iter_custom(|iters| {
                    let first = next;
                    next += usize::try_from(iters).expect("iters");
                    create_concurrently(&store, &ctx, callers, first, iters)
                })
            });
        }
    }
    group.finish();

    let mut group = c.benchmark_group("get");
    for (n, label, path) in &dbs {
        let store = SqliteStore::open(path).expect("open");
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
    for (n, label, path) in &dbs {
        let store = SqliteStore::open(path).expect("open");
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
    for (n, label, path) in &dbs {
        for (sync, name) in [(Synchronous::Full, "full"), (Synchronous::Normal, "normal")] {
            let store = SqliteStore::open_with(path, &SqliteOptions::default().synchronous(sync))
                .expect("open");
            let mut round = 0usize;
            let id = BenchmarkId::new(format!("synchronous={name}"), format!("{label} members"));
            group.bench_function(id, |b| {
                b.iter_custom(|iters| {
                    let mut spent = Duration::ZERO;
                    for _ in 0..iters {
                        round += 1;
                        let ids: Vec<String> =
                            (0..50).map(|j| format!("new-{name}-{round}-{j}")).collect();
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
            });
            let g = store
                .get(&ctx, ResourceKind::Group, "g", Members::Include)
                .expect("get")
                .expect("group");
            assert_eq!(g.resource["members"].as_array().map(Vec::len), Some(*n));
        }
    }
    group.finish();
}

/// Create `iters` users (numbered from `first`) through `store` from
/// `callers` threads; the time from the common start to the last create.
fn create_concurrently(
    store: &SqliteStore,
    ctx: &Ctx,
    callers: usize,
    first: usize,
    iters: u64,
) -> Duration {
    let iters = usize::try_from(iters).expect("iters");
    let start = Barrier::new(callers + 1);
    std::thread::scope(|s| {
        let threads: Vec<_> = (0..callers)
            .map(|t| {
                let start = &start;
                s.spawn(move || {
                    // Thread t creates users first+t, first+t+callers, …
                    let mine: Vec<(String, Value)> = (t..iters)
                        .step_by(callers)
                        .map(|k| {
                            let id = uuid::Uuid::new_v4().to_string();
                            let u = user(&id, first + k);
                            (id, u)
                        })
                        .collect();
                    start.wait();
                    for (_, u) in mine {
                        store.create(ctx, ResourceKind::User, u).expect("create");
                    }
                })
            })
            .collect();
        start.wait();
        let started = Instant::now();
        for t in threads {
            t.join().expect("caller");
        }
        started.elapsed()
    })
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
