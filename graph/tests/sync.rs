//! The sync engine against the Graph fake (loopback only), writing through a real
//! `ScimServer` on a `MemoryStore`.

mod fake;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::Mutex;
use scimkit::{
    DeletionPolicy, Event, EventKind, HiddenState, LinkPolicy, LogQuery, MemoryLog, MemoryStore,
    Outcome, Policies, ProvisioningLog, ResourceKind, ScimServer,
};
use scimkit_graph::{
    Action, JsonFileStateStore, MemoryStateStore, Progress, RetryConfig, RunMode, Scope,
    SyncAuthenticator, SyncConfig, SyncError, SyncStateStore, Syncer, run_sync,
};
use serde_json::{Value, json};

use fake::{CLIENT_ID, CLIENT_SECRET, Directory, ENTRA_TENANT, FakeGraph, gid, oid, upn};

const USERS: usize = 300;

fn pull_policies() -> Policies {
    Policies {
        deletion: DeletionPolicy::Review,
        link_existing: LinkPolicy::ByUserName,
        ..Policies::default()
    }
}

struct Rig {
    fake: FakeGraph,
    server: ScimServer,
    log: Arc<MemoryLog>,
    events: Arc<Mutex<Vec<Event>>>,
    state: Box<dyn SyncStateStore>,
    config: SyncConfig,
}

impl Rig {
    /// A fake directory of `USERS` users and a sync server for `tenant` (each
    /// test its own tenant: runs of one tenant are exclusive per process).
    fn new(tenant: &str) -> Self {
        Self::with(tenant, Directory::generate(USERS), pull_policies())
    }

    fn with(tenant: &str, dir: Directory, policies: Policies) -> Self {
        let fake = FakeGraph::start(dir);
        let log = Arc::new(MemoryLog::default());
        let events = Arc::new(Mutex::new(Vec::new()));
        let e = Arc::clone(&events);
        let server = ScimServer::builder()
            .store(MemoryStore::new())
            .authenticator(SyncAuthenticator::new(tenant))
            .policies(policies)
            .shared_log(log.clone() as Arc<dyn ProvisioningLog>)
            .on_event(move |ev: &Event| e.lock().push(ev.clone()))
            .build()
            .unwrap();
        let mut config = SyncConfig::new(tenant, ENTRA_TENANT, CLIENT_ID, CLIENT_SECRET);
        config.graph_url = fake.graph_url();
        config.token_url = Some(fake.token_url());
        config.retry = RetryConfig {
            max_retries: 3,
            initial_backoff_ms: 50,
            max_backoff_secs: 1,
            max_wait_secs: 5,
        };
        config.timeout_secs = 10;
        Self {
            fake,
            server,
            log,
            events,
            state: Box::new(MemoryStateStore::new()),
            config,
        }
    }

    fn run(&self) -> scimkit_graph::Report {
        self.try_run()
            .unwrap_or_else(|e| panic!("sync failed: {e}"))
    }

    fn try_run(&self) -> Result<scimkit_graph::Report, SyncError> {
        run_sync(
            &self.server,
            &self.config,
            &*self.state,
            &mut Progress::new(),
        )
    }

    fn scim(&self, method: &str, uri: &str, body: Option<Value>) -> (u16, Value) {
        let req = http::Request::builder()
            .method(method)
            .uri(format!("/scim/v2{uri}"))
            .header("content-type", "application/scim+json")
            .body(body.map(|b| Bytes::from(b.to_string())).unwrap_or_default())
            .unwrap();
        let resp = self.server.handle(req);
        let status = resp.status().as_u16();
        let v = serde_json::from_slice(resp.body()).unwrap_or(Value::Null);
        (status, v)
    }

    fn users(&self) -> Vec<Value> {
        let (st, v) = self.scim("GET", "/Users?count=1000", None);
        assert_eq!(st, 200, "{v}");
        v["Resources"].as_array().cloned().unwrap_or_default()
    }

    fn user(&self, object_id: &str) -> Option<Value> {
        let f = format!("externalId eq \"{object_id}\"");
        let q = form_urlencoded::Serializer::new(String::new())
            .append_pair("filter", &f)
            .finish();
        let (st, v) = self.scim("GET", &format!("/Users?{q}"), None);
        assert_eq!(st, 200, "{v}");
        v["Resources"].as_array().and_then(|a| a.first().cloned())
    }

    fn events(&self) -> Vec<Event> {
        assert!(self.server.flush_events(Duration::from_secs(5)));
        self.events.lock().drain(..).collect()
    }

    fn log(&self) -> Vec<scimkit::LogEntry> {
        self.log
            .query(&LogQuery {
                limit: 100_000,
                ..LogQuery::default()
            })
            .unwrap()
    }
}

#[test]
fn first_full_sync_creates_every_user_through_the_scim_engine() {
    let rig = Rig::new("first-sync");
    let last = Arc::new(Mutex::new(None));
    let l = Arc::clone(&last);
    let mut progress = Progress::with_callback(move |c| *l.lock() = Some(*c));
    let report = run_sync(&rig.server, &rig.config, &*rig.state, &mut progress).unwrap();
    assert_eq!(report.mode, RunMode::Full);
    let c = report.counts;
    assert_eq!(
        (c.seen, c.created, c.updated, c.unchanged, c.errors),
        (300, 300, 0, 0, 0),
        "{report}"
    );
    assert_eq!(report.changes.len(), 300);
    assert!(
        report
            .changes
            .iter()
            .all(|ch| ch.action == Action::Create && ch.kind == ResourceKind::User)
    );
    assert_eq!(*last.lock(), Some(c), "the callback saw the final counts");
    assert_eq!(progress.counts, c);

    // Stored like Entra would have pushed it.
    assert_eq!(rig.users().len(), 300);
    let u = rig.user(&oid(4)).expect("user 4");
    assert_eq!(u["userName"], upn(4));
    assert_eq!(u["active"], true);
    assert_eq!(u["displayName"], "User 004");
    assert_eq!(u["name"]["givenName"], "Given4");
    assert_eq!(u["name"]["familyName"], "Sur4");
    assert_eq!(u["title"], "Manager");
    assert_eq!(u["emails"], json!([{"type": "work", "value": upn(4)}]));
    let ent = &u["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"];
    assert_eq!(ent["department"], "Dept 4");
    assert_eq!(ent["employeeNumber"], "E00004");
    let phones = u["phoneNumbers"].as_array().unwrap();
    assert!(phones.contains(&json!({"type": "mobile", "value": "+1 555 01004"})));
    assert!(phones.contains(&json!({"type": "work", "value": "+1 555 02004"})));
    // User 5 has no mobile phone: only the work number.
    let u5 = rig.user(&oid(5)).unwrap();
    assert_eq!(
        u5["phoneNumbers"],
        json!([{"type": "work", "value": "+1 555 02005"}])
    );

    // The provisioning log has one entry per creation, from the sync's token id.
    let log = rig.log();
    assert_eq!(log.len(), 300);
    assert!(log.iter().all(|e| e.operation == "create"
        && e.status == 201
        && e.outcome == Outcome::Success
        && e.token_id == "graph-sync"
        && e.tenant == "first-sync"));
    assert!(log[0].request_id.starts_with("graph-sync-"));
    let created = rig
        .events()
        .iter()
        .filter(|e| e.kind == EventKind::Created)
        .count();
    assert_eq!(created, 300);

    // One token for the whole run; $select sent; paged (50 a page).
    assert_eq!(report.token_requests, 1);
    assert_eq!(rig.fake.with(|d| d.token_requests), 1);
    let pages = rig.fake.with(|d| d.requests_to("/users/delta").len());
    assert_eq!(pages, 6);
    assert_eq!(report.graph_requests, 6);
    let selects = rig.fake.with(|d| d.selects.clone());
    assert!(
        selects
            .iter()
            .all(|s| s.starts_with("id,userPrincipalName,accountEnabled,displayName")),
        "{selects:?}"
    );
    let state = rig.state.load("first-sync").unwrap().unwrap();
    assert!(state.delta_link.as_deref().unwrap().contains("deltatoken="));
    assert_eq!(state.synced.len(), 300);

    // A second run reads only the (empty) delta.
    let again = rig.run();
    assert_eq!(again.mode, RunMode::Incremental);
    assert_eq!(again.counts.seen, 0);
    assert!(again.is_empty());
    assert_eq!(rig.log().len(), 300, "nothing written");
}

#[test]
fn incremental_delta_updates_deactivates_and_queues_deletions_for_review() {
    let mut rig = Rig::new("delta");
    let dir = tempfile::tempdir().unwrap();
    rig.state = Box::new(JsonFileStateStore::new(dir.path().join("state.json")));
    rig.run();
    let before: Vec<String> = rig
        .users()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect();
    rig.events();
    let deleted_id = rig.user(&oid(3)).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let disabled_id = rig.user(&oid(2)).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    rig.fake.with(|d| {
        d.update(
            &oid(1),
            json!({"displayName": "User One", "jobTitle": null, "department": "Sales"}),
        );
        d.disable(&oid(2));
        d.delete(&oid(3));
    });

    let report = rig.run();
    assert_eq!(report.mode, RunMode::Incremental);
    let c = report.counts;
    assert_eq!(
        (
            c.seen,
            c.updated,
            c.deactivated,
            c.queued,
            c.created,
            c.errors
        ),
        (3, 2, 1, 1, 0, 0),
        "{report}"
    );
    let actions: Vec<(Action, String)> = report
        .changes
        .iter()
        .map(|c| (c.action, c.object_id.clone()))
        .collect();
    assert_eq!(
        actions,
        [
            (Action::Update, oid(1)),
            (Action::Deactivate, oid(2)),
            (Action::QueueDelete, oid(3))
        ]
    );
    assert_eq!(
        report.changes[0].attributes,
        [
            "displayName",
            "title",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"
        ]
    );

    // Update applied, only what changed (the delta item was partial).
    let u1 = rig.user(&oid(1)).unwrap();
    assert_eq!(u1["displayName"], "User One");
    assert!(u1.get("title").is_none());
    assert_eq!(
        u1["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"],
        "Sales"
    );
    assert_eq!(u1["name"]["givenName"], "Given1");
    // Disabled: active=false and a Deactivated event.
    assert_eq!(rig.user(&oid(2)).unwrap()["active"], false);
    let events = rig.events();
    assert!(
        events
            .iter()
            .any(|e| e.kind == EventKind::Deactivated && e.id == disabled_id)
    );
    assert!(
        events
            .iter()
            .any(|e| e.kind == EventKind::QueuedForReview && e.id == deleted_id)
    );
    assert!(!events.iter().any(|e| e.kind == EventKind::Deleted));
    // Deleted: in the review queue, with its data; nothing hard-deleted.
    assert!(rig.user(&oid(3)).is_none());
    let review = rig
        .server
        .hidden_users("delta", HiddenState::Review)
        .unwrap();
    assert_eq!(review.len(), 1);
    assert_eq!(review[0]["id"], deleted_id.as_str());
    assert_eq!(review[0]["externalId"], oid(3).as_str());
    assert_eq!(review[0]["userName"], upn(3).as_str());
    assert_eq!(rig.users().len() + review.len(), before.len());

    // The state file was written and is used by the next run: nothing new.
    let text = std::fs::read_to_string(dir.path().join("state.json")).unwrap();
    assert!(text.contains("deltaLink"));
    assert!(
        !text.contains(&oid(3)),
        "the deleted user left the synced set"
    );
    let again = rig.run();
    assert_eq!((again.mode, again.counts.seen), (RunMode::Incremental, 0));
}

#[test]
fn throttled_requests_wait_for_retry_after() {
    let rig = Rig::new("throttle");
    rig.fake.with(|d| {
        // The second page: 429 with Retry-After: 1; the fourth: 503 with Retry-After: 1.
        d.throttles.push(fake::Throttle {
            path: "/users/delta".into(),
            query: Some("page-50".into()),
            times: 1,
            status: 429,
            retry_after: Some(1),
        });
        d.throttles.push(fake::Throttle {
            path: "/users/delta".into(),
            query: Some("page-150".into()),
            times: 1,
            status: 503,
            retry_after: Some(1),
        });
        d.throttles.push(fake::Throttle {
            path: "/oauth2".into(),
            query: None,
            times: 1,
            status: 429,
            retry_after: Some(1),
        });
    });
    let report = rig.run();
    assert_eq!(report.counts.created, 300);
    assert_eq!(report.retries, 3);
    assert_eq!(report.token_requests, 2, "one throttled, one granted");
    let reqs = rig.fake.with(|d| d.requests.clone());
    let mut checked = 0;
    for (i, r) in reqs.iter().enumerate() {
        if r.status == 429 || r.status == 503 {
            let next = reqs[i + 1..]
                .iter()
                .find(|n| n.path == r.path)
                .expect("retried");
            let waited = next.at - r.at;
            assert!(
                waited >= Duration::from_secs(1),
                "{} retried after {waited:?}",
                r.path
            );
            assert!(
                waited < Duration::from_secs(4),
                "{} retried after {waited:?}",
                r.path
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 3);
}

#[test]
fn throttling_is_bounded() {
    let rig = Rig::new("throttle-bounded");
    rig.fake.with(|d| {
        d.throttles.push(fake::Throttle {
            path: "/users/delta".into(),
            query: None,
            times: 1000,
            status: 429,
            retry_after: Some(1),
        });
    });
    let start = Instant::now();
    let err = rig.try_run().unwrap_err();
    assert!(
        matches!(err, SyncError::Throttled { retry_after: Some(d), .. } if d == Duration::from_secs(1)),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "Microsoft Graph throttled /v1.0/users/delta (retry after Some(1s)) beyond the configured retries"
    );
    assert!(start.elapsed() < Duration::from_secs(8));
    assert_eq!(
        rig.fake.with(|d| d.requests_to("/users/delta").len()),
        4,
        "1 try + 3 retries"
    );
    assert!(
        rig.state.load("throttle-bounded").unwrap().is_none(),
        "no state saved"
    );

    // A Retry-After longer than max_wait_secs stops at once.
    let mut rig = Rig::new("throttle-long");
    rig.config.retry.max_wait_secs = 1;
    rig.fake.with(|d| {
        d.throttles.push(fake::Throttle {
            path: "/users/delta".into(),
            query: None,
            times: 1,
            status: 429,
            retry_after: Some(120),
        });
    });
    let start = Instant::now();
    assert!(matches!(rig.try_run(), Err(SyncError::Throttled { .. })));
    assert!(start.elapsed() < Duration::from_secs(2));
}

#[test]
fn an_existing_local_user_is_linked_not_duplicated() {
    let rig = Rig::new("link");
    let (st, local) = rig.scim(
        "POST",
        "/Users",
        Some(json!({"userName": upn(5).to_uppercase(), "displayName": "Local five"})),
    );
    assert_eq!(st, 201, "{local}");
    rig.events();
    let report = rig.run();
    let c = report.counts;
    assert_eq!((c.created, c.linked, c.errors), (299, 1, 0), "{report}");
    assert_eq!(rig.users().len(), 300);
    let u = rig.user(&oid(5)).unwrap();
    assert_eq!(u["id"], local["id"], "the local user was adopted");
    assert_eq!(u["displayName"], "User 005");
    assert!(
        report
            .changes
            .iter()
            .any(|c| c.action == Action::Link && c.object_id == oid(5))
    );
    assert!(
        rig.events()
            .iter()
            .any(|e| e.kind == EventKind::Linked && Some(e.id.as_str()) == local["id"].as_str())
    );

    // Without a link policy the user is reported, not duplicated.
    let rig = Rig::with(
        "no-link",
        Directory::generate(20),
        Policies {
            link_existing: LinkPolicy::Off,
            ..pull_policies()
        },
    );
    rig.scim("POST", "/Users", Some(json!({"userName": upn(5)})));
    let report = rig.run();
    assert_eq!((report.counts.created, report.counts.errors), (19, 1));
    assert_eq!(report.issues[0].object_id, oid(5));
    assert!(
        report.issues[0]
            .message
            .contains("configure LinkPolicy::ByUserName"),
        "{}",
        report.issues[0]
    );
    assert_eq!(rig.users().len(), 20);
    // The failed user is retried by the next run (and fails the same way).
    let state = rig.state.load("no-link").unwrap().unwrap();
    assert!(state.retry.contains(&oid(5)));
    assert_eq!(rig.run().counts.errors, 1);
}

#[test]
fn an_ignored_user_is_left_untouched() {
    let rig = Rig::new("ignored");
    rig.run();
    for i in [7, 8] {
        let id = rig.user(&oid(i)).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        rig.server
            .set_ignored("ignored", ResourceKind::User, &id, true)
            .unwrap();
    }
    let u7 = rig.user(&oid(7)).unwrap();
    let u8 = rig.user(&oid(8)).unwrap();
    rig.events();
    rig.fake.with(|d| {
        d.update(&oid(7), json!({"displayName": "Renamed"}));
        d.disable(&oid(7));
        d.delete(&oid(8));
        d.update(&oid(9), json!({"displayName": "Nine"}));
    });
    let report = rig.run();
    let c = report.counts;
    assert_eq!(
        (c.ignored, c.updated, c.queued, c.deactivated),
        (2, 1, 0, 0),
        "{report}"
    );
    assert_eq!(rig.user(&oid(7)).unwrap(), u7, "unchanged");
    assert_eq!(rig.user(&oid(8)).unwrap(), u8, "not deleted");
    assert!(
        rig.server
            .hidden_users("ignored", HiddenState::Review)
            .unwrap()
            .is_empty()
    );
    assert!(
        !rig.events()
            .iter()
            .any(|e| e.kind == EventKind::Deactivated)
    );
    let ignored = rig
        .log()
        .iter()
        .filter(|e| e.outcome == Outcome::Ignored)
        .count();
    assert_eq!(ignored, 2);
}

#[test]
fn a_dry_run_plans_and_changes_nothing() {
    let mut rig = Rig::new("dry");
    rig.config.dry_run = true;
    let plan = rig.run();
    assert!(plan.dry_run);
    assert_eq!(plan.counts.created, 300);
    assert_eq!(plan.changes.len(), 300);
    assert!(rig.users().is_empty(), "store unchanged");
    assert!(rig.log().is_empty());
    assert!(rig.events().is_empty());
    assert!(
        rig.state.load("dry").unwrap().is_none(),
        "no delta link saved"
    );
    let text = plan.to_string();
    assert!(
        text.starts_with("planned sync of tenant \"dry\" (full): 300 seen, 300 created"),
        "{text}"
    );
    assert!(
        text.contains(&format!("  create       User  {} ({})", upn(0), oid(0))),
        "{text}"
    );

    // After a real first run, a dry run shows the changes a run then makes.
    rig.config.dry_run = false;
    rig.run();
    rig.fake.with(|d| {
        d.update(&oid(1), json!({"displayName": "User One"}));
        d.disable(&oid(2));
        d.delete(&oid(3));
        d.add(fake::user(400));
    });
    let users = rig.users();
    let syncer = Syncer::new(rig.config.clone()).unwrap();
    let plan = syncer.plan(&rig.server, &*rig.state).unwrap();
    let c = plan.counts;
    assert_eq!(
        (c.updated, c.deactivated, c.queued, c.created),
        (2, 1, 1, 1),
        "{plan}"
    );
    assert_eq!(rig.users(), users, "store unchanged");
    assert!(
        rig.server
            .hidden_users("dry", HiddenState::Review)
            .unwrap()
            .is_empty()
    );
    let real = syncer
        .run(&rig.server, &*rig.state, &mut Progress::new())
        .unwrap();
    assert_eq!(real.counts, plan.counts);
    let planned: Vec<_> = plan
        .changes
        .iter()
        .map(|c| (c.action, &c.object_id))
        .collect();
    let done: Vec<_> = real
        .changes
        .iter()
        .map(|c| (c.action, &c.object_id))
        .collect();
    assert_eq!(planned, done);
}

#[test]
fn a_disabled_sync_refuses_to_run_and_deletes_nothing() {
    let mut rig = Rig::new("disabled");
    rig.run();
    let state = rig.state.load("disabled").unwrap();
    let requests = rig.fake.with(|d| d.requests.len());
    rig.fake.with(|d| {
        for i in 0..20 {
            d.delete(&oid(i));
        }
    });
    rig.config.enabled = false;
    let err = rig.try_run().unwrap_err();
    assert!(matches!(err, SyncError::Disabled { .. }));
    assert_eq!(
        err.to_string(),
        "sync is disabled for tenant \"disabled\"; nothing was changed"
    );
    assert_eq!(rig.users().len(), 300);
    assert!(
        rig.server
            .hidden_users("disabled", HiddenState::Review)
            .unwrap()
            .is_empty()
    );
    assert_eq!(rig.state.load("disabled").unwrap(), state);
    assert_eq!(
        rig.fake.with(|d| d.requests.len()),
        requests,
        "Graph was not even asked"
    );

    // Provisioning switched off for the tenant on the server: the run stops at
    // the first write and changes nothing.
    let off = Rig::with(
        "server-off",
        Directory::generate(10),
        Policies {
            enabled: false,
            ..pull_policies()
        },
    );
    let err = off.try_run().unwrap_err();
    assert!(
        matches!(err, SyncError::Target { status: 403, .. }),
        "{err}"
    );
    assert!(off.state.load("server-off").unwrap().is_none());
}

#[test]
fn the_token_is_requested_once_and_reused_across_runs() {
    let rig = Rig::new("token");
    let syncer = Syncer::new(rig.config.clone()).unwrap();
    let first = syncer
        .run(&rig.server, &*rig.state, &mut Progress::new())
        .unwrap();
    rig.fake
        .with(|d| d.update(&oid(1), json!({"displayName": "x"})));
    let second = syncer
        .run(&rig.server, &*rig.state, &mut Progress::new())
        .unwrap();
    assert_eq!((first.token_requests, second.token_requests), (1, 0));
    assert_eq!(rig.fake.with(|d| d.token_requests), 1);

    // A wrong secret: a clear error that does not contain the secret.
    let mut config = rig.config.clone();
    config.client_secret = "wrong-secret-value".into();
    let err = run_sync(&rig.server, &config, &*rig.state, &mut Progress::new()).unwrap_err();
    let msg = err.to_string();
    assert_eq!(
        msg,
        "token request failed: 401: invalid_client: AADSTS7000215: Invalid client secret provided."
    );
    assert!(!format!("{err:?}{config:?}").contains("wrong-secret-value"));
}

#[test]
fn the_groups_scope_syncs_only_transitive_members_and_mirrors_the_groups() {
    let mut rig = Rig::new("groups");
    let eng = gid("Engineering");
    rig.config.scope = Scope::Groups(vec![eng.clone()]);
    rig.config.mirror_groups = true;
    let expected: Vec<String> = rig
        .fake
        .with(|d| d.transitive_users(&eng))
        .into_iter()
        .collect();
    assert_eq!(
        expected.len(),
        55,
        "0..50 and 200..205 through Platform and SRE"
    );
    let report = rig.run();
    let c = report.counts;
    assert_eq!(
        (c.seen, c.created, c.groups_created, c.errors),
        (55, 55, 1, 0),
        "{report}"
    );
    let mut stored: Vec<String> = rig
        .users()
        .iter()
        .map(|u| u["externalId"].as_str().unwrap().to_owned())
        .collect();
    stored.sort();
    assert_eq!(stored, expected);
    assert!(
        rig.user(&oid(120)).is_none(),
        "a Sales member is out of scope"
    );
    let (_, groups) = rig.scim("GET", "/Groups", None);
    let groups = groups["Resources"].as_array().unwrap().clone();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0]["displayName"], "Engineering");
    assert_eq!(groups[0]["externalId"], eng.as_str());
    assert_eq!(groups[0]["members"].as_array().unwrap().len(), 55);

    // User 10 leaves the group, user 36 (a member through Platform) is deleted.
    rig.fake.with(|d| {
        d.remove_member(&eng, &oid(10));
        d.delete(&oid(36));
    });
    rig.events();
    let report = rig.run();
    let c = report.counts;
    assert_eq!(
        (
            c.deactivated,
            c.queued,
            c.created,
            c.unchanged,
            c.groups_updated
        ),
        (1, 1, 0, 53, 1),
        "{report}"
    );
    let u10 = rig.user(&oid(10)).unwrap();
    assert_eq!(
        u10["active"], false,
        "out of scope: deactivated, not deleted"
    );
    assert!(rig.user(&oid(36)).is_none());
    assert_eq!(
        rig.server
            .hidden_users("groups", HiddenState::Review)
            .unwrap()
            .len(),
        1
    );
    let (_, g) = rig.scim(
        "GET",
        &format!("/Groups/{}", groups[0]["id"].as_str().unwrap()),
        None,
    );
    let members: Vec<&str> = g["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    assert_eq!(members.len(), 53);
    assert!(!members.contains(&u10["id"].as_str().unwrap()));
    assert!(
        rig.events()
            .iter()
            .any(|e| e.kind == EventKind::MembersRemoved)
    );

    // A configured group that does not exist stops the run; nothing is removed.
    rig.config.scope = Scope::Groups(vec![gid("Nope")]);
    rig.config.mirror_groups = false;
    assert!(matches!(rig.try_run(), Err(SyncError::GroupNotFound(_))));
}

#[test]
fn a_user_back_in_the_directory_is_restored_from_the_review_queue() {
    let rig = Rig::new("restore");
    rig.run();
    let id = rig.user(&oid(3)).unwrap()["id"].clone();
    rig.fake.with(|d| d.delete(&oid(3)));
    assert_eq!(rig.run().counts.queued, 1);
    rig.fake.with(|d| d.add(fake::user(3)));
    let report = rig.run();
    assert_eq!(
        (report.counts.restored, report.counts.created),
        (1, 0),
        "{report}"
    );
    let u = rig.user(&oid(3)).unwrap();
    assert_eq!(u["id"], id, "the same user, not a duplicate");
    assert_eq!(u["active"], true);
    assert!(
        rig.server
            .hidden_users("restore", HiddenState::Review)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn an_expired_delta_link_falls_back_to_a_full_listing() {
    let rig = Rig::new("expired");
    rig.run();
    rig.fake.with(|d| {
        d.expire_delta_links();
        d.update(&oid(2), json!({"jobTitle": "CTO"}));
    });
    let report = rig.run();
    assert_eq!(report.mode, RunMode::Full);
    assert_eq!(
        (
            report.counts.seen,
            report.counts.updated,
            report.counts.unchanged
        ),
        (300, 1, 299)
    );
    assert_eq!(rig.user(&oid(2)).unwrap()["title"], "CTO");
}

#[test]
fn the_removal_threshold_stops_mass_removals() {
    let mut rig = Rig::new("threshold");
    rig.config.removal_threshold = 5;
    rig.run();
    rig.fake.with(|d| {
        for i in 0..6 {
            d.delete(&oid(i));
        }
    });
    let err = rig.try_run().unwrap_err();
    assert_eq!(
        err.to_string(),
        "6 users would be removed, more than the threshold of 5; nothing was removed"
    );
    assert_eq!(rig.users().len(), 300);
    rig.config.removal_threshold = 0;
    assert_eq!(rig.run().counts.queued, 6);
}

#[test]
fn extra_mappings_and_the_all_users_listing_without_delta() {
    let mut rig = Rig::with("extra", Directory::generate(120), pull_policies());
    rig.config.delta = false;
    rig.config.mappings = vec![
        scimkit_graph::Mapping {
            graph: "officeLocation".into(),
            scim: "addresses[type eq \"work\"].locality".into(),
        },
        scimkit_graph::Mapping {
            graph: "usageLocation".into(),
            scim: "addresses[type eq \"work\"].country".into(),
        },
    ];
    let report = rig.run();
    assert_eq!(report.counts.created, 120);
    assert!(rig.fake.with(|d| d.requests_to("/users/delta").is_empty()));
    assert_eq!(
        rig.fake.with(|d| d.requests_to("/v1.0/users").len()),
        3,
        "pages of 50"
    );
    let u = rig.user(&oid(7)).unwrap();
    assert_eq!(
        u["addresses"],
        json!([{"type": "work", "locality": "Building 2", "country": "US"}])
    );
    let state = rig.state.load("extra").unwrap().unwrap();
    assert_eq!(state.delta_link, None);
    // A deleted user is found missing from the full listing and queued.
    rig.fake.with(|d| d.delete(&oid(7)));
    let report = rig.run();
    assert_eq!((report.counts.queued, report.counts.unchanged), (1, 119));
}
