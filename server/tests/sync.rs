//! `scimkit sync run` and the scheduled syncs of `scimkit serve`, end to end:
//! the real binary on a temporary SQLite file against the Microsoft Graph fake
//! of scimkit-graph's tests, on 127.0.0.1.

mod common;
#[path = "../../graph/tests/fake/mod.rs"]
mod fake;

use std::path::Path;

use serde_json::json;

use common::Start;
use fake::{CLIENT_ID, CLIENT_SECRET, Directory, ENTRA_TENANT, FakeGraph, oid};

fn sync_table(fake: &FakeGraph, tenant: &str, extra: &str) -> String {
    format!(
        "[[sync]]\ntenant = \"{tenant}\"\nentra_tenant = \"{ENTRA_TENANT}\"\nclient_id = \"{CLIENT_ID}\"\n\
         client_secret = \"{CLIENT_SECRET}\"\ngraph_url = \"{}\"\ntoken_url = \"{}\"\n{extra}\n\
         [sync.retry]\nmax_retries = 2\ninitial_backoff_ms = 50\nmax_backoff_secs = 1\n",
        fake.graph_url(),
        fake.token_url()
    )
}

fn run(db: &Path, config: &Path, args: &[&str]) -> (bool, String, String) {
    let mut argv = vec!["--config", config.to_str().unwrap()];
    argv.extend_from_slice(args);
    let (status, out, err) = common::scimkit(db, &argv);
    (status.success(), out, err)
}

fn token(db: &Path, tenant: &str) -> String {
    let (status, out, err) = common::scimkit(db, &["token", "create", "--tenant", tenant]);
    assert!(status.success(), "{err}");
    out.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.contains(' '))
        .expect("the token line")
        .to_owned()
}

#[test]
fn sync_run_pulls_users_into_the_database_and_serve_runs_scheduled_syncs() {
    let fake = FakeGraph::start(Directory::generate(120));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("scimkit.db");
    let config = dir.path().join("scimkit.toml");
    std::fs::write(
        &config,
        format!(
            "{}\n{}",
            sync_table(&fake, "pull", "schedule = \"manual\""),
            sync_table(
                &fake,
                "nightly",
                &format!(
                    "schedule = \"nightly\"\nscope = {{ groups = [\"{}\"] }}",
                    fake::gid("Engineering")
                )
            )
        ),
    )
    .unwrap();

    // The plan, then the run.
    let (ok, out, err) = run(
        &db,
        &config,
        &["sync", "run", "--tenant", "pull", "--dry-run"],
    );
    assert!(ok, "{err}");
    assert!(
        out.starts_with("planned sync of tenant \"pull\" (full): 120 seen, 120 created"),
        "{out}"
    );
    let (ok, out, err) = run(&db, &config, &["sync", "run", "--tenant", "pull"]);
    assert!(ok, "{err}");
    assert!(
        out.starts_with("completed sync of tenant \"pull\" (full): 120 seen, 120 created"),
        "{out}"
    );
    assert!(dir.path().join("scimkit.db.sync-state.json").exists());

    // Incremental: an update and a deletion (queued for review, not removed).
    fake.with(|d| {
        d.update(&oid(1), json!({"displayName": "User One"}));
        d.delete(&oid(3));
    });
    let (ok, out, err) = run(&db, &config, &["sync", "run", "--tenant", "pull"]);
    assert!(ok, "{err}");
    assert!(out.starts_with("completed sync of tenant \"pull\" (incremental): 2 seen, 0 created, 0 linked, 0 restored, 1 updated, 0 deactivated, 0 reactivated, 1 queued for deletion"), "{out}");

    // Unknown tenant: a clear error.
    let (ok, _, err) = run(&db, &config, &["sync", "run", "--tenant", "nobody"]);
    assert!(!ok);
    assert!(
        err.contains("no [[sync]] table for tenant \"nobody\""),
        "{err}"
    );

    // The pulled users are served over SCIM like pushed ones.
    let pull_token = token(&db, "pull");
    let (status, _, err) = common::scimkit(&db, &["tenant", "create", "nightly"]);
    assert!(status.success(), "{err}");
    let nightly_token = token(&db, "nightly");
    // The server runs the scheduled sync at once (it never ran): --sync-schedule
    // replaces "nightly" by an interval.
    let cfg = config.to_str().unwrap();
    let mut server = Start::new(&db)
        .args(&["--config", cfg, "--sync-schedule", "every 1h"])
        .spawn();
    let done = server
        .wait_log(|v| v["message"] == "scheduled graph sync finished" && v["tenant"] == "nightly");
    assert_eq!(
        (done["created"].as_u64(), done["errors"].as_u64()),
        (Some(49), Some(0)),
        "{done}"
    );
    let c = server.client(&pull_token);
    let (st, users) = c.call("GET", "/Users?count=500", None);
    assert_eq!((st, users["totalResults"].as_u64()), (200, Some(119)));
    let filter = common::q(&format!("externalId eq \"{}\"", oid(1)));
    let (_, one) = c.call("GET", &format!("/Users?filter={filter}"), None);
    assert_eq!(one["Resources"][0]["displayName"], "User One");
    // The scheduled groups-scope sync of tenant "nightly": the transitive members
    // of Engineering among 120 users (0..50, through Platform) less deleted user 3.
    let (_, n) = server
        .client(&nightly_token)
        .call("GET", "/Users?count=500", None);
    assert_eq!(n["totalResults"], 49);
    // Tenant "pull" has a manual schedule: the server did not run it.
    assert!(!server.logs().contains("\"tenant\":\"pull\",\"seen\""));
    let status = server.stop();
    assert!(status.success());
}
