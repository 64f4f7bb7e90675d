//! Group commit: many threads writing through one store. Writes queued at the
//! same time share a transaction (one flush), each in its own savepoint, so a
//! failing write fails alone, and of two creates of one userName exactly one
//! wins — whether or not they land in the same batch.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Barrier};

use scimkit::ResourceKind;
use scimkit::schema::Registry;
use scimkit::store::{Ctx, Member, MemberChange, Members, Query, StoreError, UserStore};
use serde_json::{Value, json};

const T: &str = "2024-01-01T00:00:00.000Z";

fn user(id: &str, user_name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": id,
        "userName": user_name,
        "emails": [{"value": format!("{id}@example.com"), "primary": true}],
        "meta": {"resourceType": "User", "created": T, "lastModified": T},
    })
}

fn group(id: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": id, "displayName": id,
        "meta": {"resourceType": "Group", "created": T, "lastModified": T},
    })
}

fn all_users(store: &common::TempStore, ctx: &Ctx) -> HashMap<String, String> {
    let registry = Registry::default();
    let q = Query::all(Arc::clone(registry.get(ResourceKind::User)));
    let page = store.query(ctx, ResourceKind::User, &q).expect("query");
    assert_eq!(page.resources.len(), page.total_results);
    page.resources
        .into_iter()
        .map(|s| {
            let name = s.resource["userName"]
                .as_str()
                .expect("userName")
                .to_owned();
            (s.id, name)
        })
        .collect()
}

/// 32 threads create 40 users each; every userName is tried by 4 threads at
/// once (in different letter case), so duplicates meet in the same batches.
#[test]
fn concurrent_creates_keep_exactly_one_winner_per_user_name_and_lose_nothing() {
    const THREADS: usize = 32;
    const RACERS: usize = 4;
    const EACH: usize = 40;
    let store = common::TempStore::new();
    let ctx = Ctx::new("t");
    let start = Barrier::new(THREADS);
    // (id, userName as sent, outcome) of every create.
    let outcomes: Vec<(String, String, Result<(), StoreError>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (store, ctx, start) = (&store, &ctx, &start);
                s.spawn(move || {
                    start.wait();
                    (0..EACH)
                        .map(|i| {
                            let id = format!("u{t}-{i}");
                            let base = format!("name{i}-{}@example.com", t / RACERS);
                            let name = if t % 2 == 0 {
                                base
                            } else {
                                base.to_uppercase()
                            };
                            let r = store
                                .create(ctx, ResourceKind::User, user(&id, &name))
                                .map(|stored| assert_eq!(stored.version, 1));
                            (id, name, r)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("thread"))
            .collect()
    });
    assert_eq!(outcomes.len(), THREADS * EACH);
    let mut winners: HashMap<String, String> = HashMap::new();
    for (id, name, r) in &outcomes {
        match r {
            Ok(()) => {
                let previous = winners.insert(name.to_lowercase(), id.clone());
                assert!(previous.is_none(), "{name} created twice");
            }
            Err(StoreError::Uniqueness { attribute }) => assert_eq!(attribute, "userName"),
            Err(e) => panic!("create {id} failed: {e:?}"),
        }
    }
    assert_eq!(
        winners.len(),
        THREADS / RACERS * EACH,
        "one winner per name"
    );
    let stored = all_users(&store, &ctx);
    assert_eq!(stored.len(), winners.len(), "nothing lost, nothing extra");
    for (name, id) in &winners {
        assert_eq!(
            stored.get(id).map(|n| n.to_lowercase()).as_deref(),
            Some(name.as_str())
        );
    }
    assert!(store.integrity_check().expect("check").is_empty());
}

/// Failing writes (409, 412, 404) run beside succeeding ones from other
/// threads; every success is stored, every failure left nothing behind.
#[test]
fn a_failing_write_does_not_roll_back_its_neighbours() {
    const THREADS: usize = 16;
    const EACH: usize = 30;
    let store = common::TempStore::new();
    let ctx = Ctx::new("t");
    store
        .create(&ctx, ResourceKind::User, user("taken", "taken@example.com"))
        .expect("seed user");
    store
        .create(&ctx, ResourceKind::Group, group("g"))
        .expect("seed group");
    let start = Barrier::new(THREADS);
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (store, ctx, start) = (&store, &ctx, &start);
            s.spawn(move || {
                start.wait();
                for i in 0..EACH {
                    let id = format!("u{t}-{i}");
                    match (t + i) % 4 {
                        // Succeeds: a new user, added to g.
                        0 | 1 => {
                            store
                                .create(ctx, ResourceKind::User, user(&id, &format!("{id}@x")))
                                .expect("create");
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
                                .modify_members(ctx, "g", &change, None)
                                .expect("add member");
                        }
                        // 409: the userName is taken; the user must not exist.
                        2 => {
                            let r = store.create(
                                ctx,
                                ResourceKind::User,
                                user(&id, "TAKEN@example.com"),
                            );
                            assert!(matches!(r, Err(StoreError::Uniqueness { .. })), "{r:?}");
                        }
                        // 412 and 404: a stale version, a missing resource.
                        _ => {
                            let r = store.replace(
                                ctx,
                                ResourceKind::User,
                                "taken",
                                user("taken", &format!("{id}@stolen")),
                                Some(99),
                            );
                            assert!(matches!(r, Err(StoreError::PreconditionFailed)), "{r:?}");
                            let r = store.delete(ctx, ResourceKind::User, &id, None);
                            assert!(matches!(r, Err(StoreError::NotFound)), "{r:?}");
                            let r = store.modify_members(
                                ctx,
                                "no-such-group",
                                &MemberChange::default(),
                                None,
                            );
                            assert!(matches!(r, Err(StoreError::NotFound)), "{r:?}");
                        }
                    }
                }
            });
        }
    });
    let expected: HashSet<String> = (0..THREADS)
        .flat_map(|t| (0..EACH).map(move |i| (t, i)))
        .filter(|(t, i)| (t + i) % 4 < 2)
        .map(|(t, i)| format!("u{t}-{i}"))
        .collect();
    let stored = all_users(&store, &ctx);
    let mut ids: HashSet<String> = stored.keys().cloned().collect();
    assert!(ids.remove("taken"));
    assert_eq!(ids, expected);
    let taken = store
        .get(&ctx, ResourceKind::User, "taken", Members::Include)
        .expect("get")
        .expect("taken exists");
    assert_eq!(taken.version, 1, "no stale replace went through");
    assert_eq!(taken.resource["userName"], "taken@example.com");
    let g = store
        .get(&ctx, ResourceKind::Group, "g", Members::Include)
        .expect("get")
        .expect("g exists");
    let members: HashSet<String> = g.resource["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| m["value"].as_str().expect("value").to_owned())
        .collect();
    assert_eq!(members, expected);
    assert_eq!(g.version, 1 + expected.len() as u64, "one bump per add");
}

/// Concurrent writers, then the store is dropped: every answered write is in
/// the file, the log was checkpointed, and the file reopens intact.
#[test]
fn dropping_a_store_after_concurrent_writes_keeps_them_and_checkpoints() {
    const THREADS: usize = 8;
    const EACH: usize = 25;
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("scim.db");
    let ctx = Ctx::new("t");
    {
        let store = Arc::new(scimkit_sqlite::SqliteStore::open(&path).expect("open"));
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (store, ctx) = (Arc::clone(&store), ctx.clone());
                std::thread::spawn(move || {
                    for i in 0..EACH {
                        let id = format!("u{t}-{i}");
                        store
                            .create(&ctx, ResourceKind::User, user(&id, &id))
                            .expect("create");
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().expect("thread");
        }
        assert_eq!(Arc::strong_count(&store), 1);
    }
    assert!(
        !dir.path().join("scim.db-wal").exists(),
        "closing checkpoints the log"
    );
    let store = scimkit_sqlite::SqliteStore::open(&path).expect("reopen");
    assert!(store.integrity_check().expect("check").is_empty());
    for t in 0..THREADS {
        for i in 0..EACH {
            let id = format!("u{t}-{i}");
            assert!(
                store
                    .get(&ctx, ResourceKind::User, &id, Members::Exclude)
                    .expect("get")
                    .is_some(),
                "{id} is lost"
            );
        }
    }
}
