//! PostgreSQL restarted under load, and down for a while: calls fail only with
//! `Unavailable` during the outage, no acknowledged write is lost, and the same
//! store serves again once the server is back — without being reopened.
//!
//! This binary has one test, as it restarts its server.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use scimkit::ResourceKind;
use scimkit::schema::Registry;
use scimkit::store::testkit::{group, user};
use scimkit::store::{Ctx, Member, MemberChange, Query, StoreError, UserStore};
use scimkit_postgres::PostgresStore;
use serde_json::json;

const WRITERS: usize = 4;

#[derive(Debug, Default)]
struct Tally {
    ok: Vec<(String, Instant)>,
    unavailable: usize,
    other: Vec<String>,
}

fn all_user_ids(store: &PostgresStore, ctx: &Ctx) -> BTreeSet<String> {
    let q = Query::all(Arc::clone(Registry::default().get(ResourceKind::User)));
    store
        .query(ctx, ResourceKind::User, &q)
        .expect("list users")
        .resources
        .into_iter()
        .map(|s| s.id)
        .collect()
}

#[test]
fn restart_mid_load_and_an_outage_lose_no_acknowledged_write() {
    let Some(server) = common::server() else {
        return;
    };
    let url = server.fresh_database();
    let options = common::options().checkout_timeout(Duration::from_secs(2));
    let store = PostgresStore::connect_with(&url, &options).expect("connect");
    let ctx = Ctx::new("acme");
    store
        .create(&ctx, ResourceKind::Group, group("g", "Everyone", &[]))
        .unwrap();

    // ===== restart while writers run =====
    let stop = AtomicBool::new(false);
    let tally = Mutex::new(Tally::default());
    let restarted_at = std::thread::scope(|s| {
        for w in 0..WRITERS {
            let (store, ctx, stop, tally) = (&store, &ctx, &stop, &tally);
            s.spawn(move || {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let id = format!("w{w}-{i}");
                    let result = store
                        .create(
                            ctx,
                            ResourceKind::User,
                            user(&id, &id, json!({"active": true})),
                        )
                        .and_then(|_| {
                            let change = MemberChange {
                                add: vec![Member {
                                    value: id.clone(),
                                    kind: Some("User".into()),
                                    display: None,
                                }],
                                last_modified: "2024-01-01T00:00:00.000Z".into(),
                                ..Default::default()
                            };
                            store.modify_members(ctx, "g", &change, None).map(|_| ())
                        });
                    let mut t = tally.lock();
                    match result {
                        Ok(()) => t.ok.push((id, Instant::now())),
                        Err(StoreError::Unavailable { .. }) => t.unavailable += 1,
                        Err(e) => t.other.push(format!("{id}: {e:?}")),
                    }
                }
            });
        }
        std::thread::sleep(Duration::from_millis(1500));
        let before = tally.lock().ok.len();
        let t0 = Instant::now();
        server.restart().expect("pg_ctl restart -m fast");
        let restarted_at = Instant::now();
        eprintln!(
            "restarted PostgreSQL in {:.1?} with {before} writes acknowledged before",
            restarted_at - t0
        );
        std::thread::sleep(Duration::from_millis(2500));
        stop.store(true, Ordering::Relaxed);
        restarted_at
    });
    let tally = tally.into_inner();
    let after = tally.ok.iter().filter(|(_, t)| *t > restarted_at).count();
    eprintln!(
        "restart under load: {} acknowledged ({after} after the restart), {} Unavailable, {} other errors",
        tally.ok.len(),
        tally.unavailable,
        tally.other.len()
    );
    assert!(
        tally.other.is_empty(),
        "only Unavailable during a restart: {:?}",
        &tally.other[..tally.other.len().min(10)]
    );
    assert!(after > 0, "the same store serves again after the restart");
    let present = all_user_ids(&store, &ctx);
    let lost: Vec<&String> = tally
        .ok
        .iter()
        .map(|(id, _)| id)
        .filter(|id| !present.contains(*id))
        .collect();
    assert!(lost.is_empty(), "acknowledged creates lost: {lost:?}");
    let g = store
        .get(
            &ctx,
            ResourceKind::Group,
            "g",
            scimkit::store::Members::Include,
        )
        .unwrap()
        .unwrap();
    let members: BTreeSet<&str> = g.resource["members"]
        .as_array()
        .map(|a| a.iter().filter_map(|m| m["value"].as_str()).collect())
        .unwrap_or_default();
    let lost: Vec<&String> = tally
        .ok
        .iter()
        .map(|(id, _)| id)
        .filter(|id| !members.contains(id.as_str()))
        .collect();
    assert!(lost.is_empty(), "acknowledged memberships lost: {lost:?}");

    // ===== down for a while =====
    server.stop().expect("pg_ctl stop");
    let t0 = Instant::now();
    let e = store
        .create(&ctx, ResourceKind::User, user("down", "down", json!({})))
        .expect_err("the server is down");
    assert!(
        matches!(e, StoreError::Unavailable { retry_after: 1, .. }),
        "{e:?}"
    );
    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "fails within the checkout timeout"
    );
    assert!(matches!(
        store.get(
            &ctx,
            ResourceKind::User,
            "w0-1",
            scimkit::store::Members::Include
        ),
        Err(StoreError::Unavailable { .. })
    ));
    assert!(matches!(store.ping(), Err(StoreError::Unavailable { .. })));
    server.start_again().expect("pg_ctl start");
    let back = common::wait_for(Duration::from_secs(20), || store.ping().is_ok());
    assert!(back, "the store recovers by itself");
    store
        .create(&ctx, ResourceKind::User, user("up", "up", json!({})))
        .expect("writes work again");
    assert!(all_user_ids(&store, &ctx).contains("up"));
    eprintln!("outage: Unavailable while down, recovered without reopening the store");
}
