//! Planner statistics after a bulk load (`PostgresOptions::analyze_on_growth`):
//! the store refreshes them itself once its creates reach the table's size, so
//! Entra's `userName eq` lookup probes the unique index right after an initial
//! provisioning cycle instead of scanning until autovacuum's next round.

mod common;

use std::time::Duration;

use scimkit::ResourceKind;
use scimkit::store::testkit::user;
use scimkit::store::{Ctx, UserStore};
use scimkit_postgres::PostgresStore;
use serde_json::json;

/// Manual ANALYZEs of `scimkit_resources` (autovacuum's are counted apart,
/// in `autoanalyze_count`).
fn manual_analyzes(client: &mut postgres::Client) -> i64 {
    client
        .query_one(
            "SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'scimkit_resources'",
            &[],
        )
        .and_then(|r| r.try_get(0))
        .expect("pg_stat_user_tables")
}

/// Create users `from..to`.
fn load(store: &PostgresStore, ctx: &Ctx, from: usize, to: usize) {
    for i in from..to {
        store
            .create(
                ctx,
                ResourceKind::User,
                user(
                    &format!("u{i:05}"),
                    &format!("user{i}@contoso.com"),
                    json!({}),
                ),
            )
            .expect("create");
    }
}

#[test]
fn a_bulk_load_refreshes_the_statistics_and_the_lookup_uses_the_index() {
    let Some(server) = common::server() else {
        return;
    };
    let db = server.fresh_database();
    let store = PostgresStore::connect_with(&db, &common::options()).expect("connect");
    let mut client = server.client(db.rsplit('/').next().expect("database name"));
    let ctx = Ctx::new("t1");
    load(&store, &ctx, 0, 499);
    assert_eq!(
        manual_analyzes(&mut client),
        0,
        "no refresh below 500 creates"
    );
    load(&store, &ctx, 499, 500);
    // The statistics views lag the backends by up to a second.
    assert!(
        common::wait_for(Duration::from_secs(10), || manual_analyzes(&mut client)
            >= 1),
        "the 500th create refreshes the statistics"
    );
    let plan: String = client
        .query(
            "EXPLAIN SELECT id FROM scimkit_resources t WHERE t.tenant = 't1' AND t.kind = 'User' \
             AND t.user_name_key = 'user42@contoso.com' ORDER BY t.id",
            &[],
        )
        .expect("explain")
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        plan.contains("scimkit_resources_user_name"),
        "the lookup probes the userName index:\n{plan}"
    );
}

#[test]
fn the_refresh_can_be_turned_off() {
    let Some(server) = common::server() else {
        return;
    };
    let db = server.fresh_database();
    let store = PostgresStore::connect_with(&db, &common::options().analyze_on_growth(false))
        .expect("connect");
    let mut client = server.client(db.rsplit('/').next().expect("database name"));
    load(&store, &Ctx::new("t1"), 0, 600);
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(manual_analyzes(&mut client), 0);
}
