//! Provisioning policies, events and the provisioning log, through `handle`.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;
use scimkit::{
    DeletionPolicy, Event, EventKind, GroupPolicy, HiddenState, LinkPolicy, LogQuery, MemoryLog,
    MemoryStore, Outcome, Policies, ProvisioningLog, ResourceKind, ScimServer,
};
use serde_json::{Value, json};

struct Rig {
    s: ScimServer,
    events: Arc<Mutex<Vec<Event>>>,
    log: Arc<MemoryLog>,
}

fn rig(policies: Policies) -> Rig {
    let events = Arc::new(Mutex::new(Vec::new()));
    let e = Arc::clone(&events);
    let log = Arc::new(MemoryLog::default());
    let s = ScimServer::builder()
        .store(MemoryStore::new())
        .token("tok", "acme")
        .token("tok-off", "off")
        .policies(policies)
        .tenant_policies(
            "off",
            Policies {
                enabled: false,
                ..Policies::default()
            },
        )
        .on_event(move |ev: &Event| e.lock().push(ev.clone()))
        .shared_log(log.clone() as Arc<dyn ProvisioningLog>)
        .build()
        .unwrap();
    Rig { s, events, log }
}

impl Rig {
    fn call(&self, method: &str, uri: &str, body: Option<Value>) -> (u16, Value) {
        self.call_as("tok", method, uri, body)
    }

    fn call_as(&self, token: &str, method: &str, uri: &str, body: Option<Value>) -> (u16, Value) {
        let req = http::Request::builder()
            .method(method)
            .uri(format!("/scim/v2{uri}"))
            .header("authorization", format!("Bearer {token}"))
            .body(body.map(|b| Bytes::from(b.to_string())).unwrap_or_default())
            .unwrap();
        let resp = self.s.handle(req);
        let st = resp.status().as_u16();
        let v = if resp.body().is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(resp.body()).unwrap()
        };
        (st, v)
    }

    fn user(&self, user_name: &str, extra: Value) -> String {
        let mut body = json!({"userName": user_name});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (st, u) = self.call("POST", "/Users", Some(body));
        assert_eq!(st, 201, "{u}");
        u["id"].as_str().unwrap().to_owned()
    }

    fn events(&self) -> Vec<(EventKind, String)> {
        assert!(self.s.flush_events(Duration::from_secs(5)));
        self.events
            .lock()
            .drain(..)
            .map(|e| (e.kind, e.id))
            .collect()
    }
}

fn patch(ops: Value) -> Option<Value> {
    Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops}))
}

#[test]
fn hard_delete_removes_and_emits_deleted() {
    let r = rig(Policies::default());
    let id = r.user("a@x", json!({}));
    assert_eq!(r.call("DELETE", &format!("/Users/{id}"), None).0, 204);
    assert_eq!(r.call("GET", &format!("/Users/{id}"), None).0, 404);
    assert_eq!(
        r.events(),
        vec![(EventKind::Created, id.clone()), (EventKind::Deleted, id)]
    );
    assert!(
        r.s.hidden_users("acme", HiddenState::Deleted)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn soft_delete_hides_keeps_and_restores_with_groups() {
    let r = rig(Policies {
        deletion: DeletionPolicy::Soft,
        ..Policies::default()
    });
    let id = r.user("a@x", json!({"active": true, "title": "Keep me"}));
    let (_, g) = r.call(
        "POST",
        "/Groups",
        Some(json!({"displayName": "G", "members": [{"value": id}]})),
    );
    let gid = g["id"].as_str().unwrap().to_owned();
    r.events();
    assert_eq!(r.call("DELETE", &format!("/Users/{id}"), None).0, 204);
    assert_eq!(
        r.call("GET", &format!("/Users/{id}"), None).0,
        404,
        "clients see it gone"
    );
    assert_eq!(r.call("DELETE", &format!("/Users/{id}"), None).0, 404);
    let (_, l) = r.call("GET", "/Users?filter=userName%20eq%20%22a%40x%22", None);
    assert_eq!(l["totalResults"], 0);
    let (_, g) = r.call("GET", &format!("/Groups/{gid}"), None);
    assert!(
        g.get("members").is_none(),
        "no longer a member while hidden"
    );
    assert_eq!(
        r.events(),
        vec![
            (EventKind::Deactivated, id.clone()),
            (EventKind::Deleted, id.clone())
        ]
    );
    let hidden = r.s.hidden_users("acme", HiddenState::Deleted).unwrap();
    assert_eq!(hidden.len(), 1);
    assert_eq!(
        (hidden[0]["userName"].as_str(), hidden[0]["title"].as_str()),
        (Some("a@x"), Some("Keep me")),
        "data kept"
    );
    // The address can be provisioned again meanwhile; restoring then conflicts.
    let other = r.user("a@x", json!({}));
    let e = r.s.restore_user("acme", &id).unwrap_err();
    assert_eq!(e.status(), 409);
    assert_eq!(r.call("DELETE", &format!("/Users/{other}"), None).0, 204);
    r.s.approve_deletion("acme", &other).unwrap();
    let back = r.s.restore_user("acme", &id).unwrap();
    assert_eq!(
        (back["active"].as_bool(), back["userName"].as_str()),
        (Some(true), Some("a@x"))
    );
    let (st, u) = r.call("GET", &format!("/Users/{id}"), None);
    assert_eq!((st, u["title"].as_str()), (200, Some("Keep me")));
    assert!(
        u.get("_scimkit").is_none(),
        "internal metadata is never returned"
    );
    let (_, g) = r.call("GET", &format!("/Groups/{gid}"), None);
    assert_eq!(g["members"][0]["value"], id.as_str(), "back in its group");
    assert!(
        r.s.hidden_users("acme", HiddenState::Deleted)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn review_queues_and_approval_deletes() {
    let r = rig(Policies {
        deletion: DeletionPolicy::Review,
        ..Policies::default()
    });
    let id = r.user("rev@x", json!({}));
    r.events();
    assert_eq!(r.call("DELETE", &format!("/Users/{id}"), None).0, 204);
    assert_eq!(r.call("GET", &format!("/Users/{id}"), None).0, 404);
    assert_eq!(
        r.events(),
        vec![
            (EventKind::Deactivated, id.clone()),
            (EventKind::QueuedForReview, id.clone())
        ]
    );
    let queue = r.s.hidden_users("acme", HiddenState::Review).unwrap();
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0]["active"], false);
    r.s.approve_deletion("acme", &id).unwrap();
    assert!(
        r.s.hidden_users("acme", HiddenState::Review)
            .unwrap()
            .is_empty()
    );
    assert_eq!(r.events(), vec![(EventKind::Deleted, id.clone())]);
    assert_eq!(r.s.restore_user("acme", &id).unwrap_err().status(), 404);
    assert_eq!(r.s.approve_deletion("acme", &id).unwrap_err().status(), 404);
}

#[test]
fn deactivation_and_reactivation_events_with_rename() {
    let r = rig(Policies {
        rename_on_deactivate: Some("deactivated-{id}-{userName}".into()),
        ..Policies::default()
    });
    let id = r.user("carol@x", json!({"active": true}));
    r.events();
    let (st, u) = r.call(
        "PATCH",
        &format!("/Users/{id}"),
        patch(json!([{"op": "Replace", "path": "active", "value": "False"}])),
    );
    assert_eq!(st, 200);
    assert_eq!(u["userName"], format!("deactivated-{id}-carol@x"));
    let evs = r.events();
    assert_eq!(evs[0].0, EventKind::Updated);
    assert_eq!(evs[1], (EventKind::Deactivated, id.clone()));
    // The address is free for someone else meanwhile.
    let other = r.user("CAROL@x", json!({}));
    let (st, e) = r.call(
        "PATCH",
        &format!("/Users/{id}"),
        patch(json!([{"op": "Replace", "path": "active", "value": "True"}])),
    );
    assert_eq!(
        (st, e["scimType"].as_str()),
        (409, Some("uniqueness")),
        "the original name is taken"
    );
    assert_eq!(r.call("DELETE", &format!("/Users/{other}"), None).0, 204);
    r.events();
    let (st, u) = r.call(
        "PATCH",
        &format!("/Users/{id}"),
        patch(json!([{"op": "Replace", "path": "active", "value": "True"}])),
    );
    assert_eq!(
        (st, u["userName"].as_str(), u["active"].as_bool()),
        (200, Some("carol@x"), Some(true))
    );
    let evs = r.events();
    assert_eq!(evs.last().unwrap(), &(EventKind::Reactivated, id));
}

#[test]
fn updated_events_name_the_changed_attributes() {
    let r = rig(Policies::default());
    let id = r.user("d@x", json!({"title": "A"}));
    r.events();
    r.call("PATCH", &format!("/Users/{id}"), patch(json!([{"op": "Replace", "value": {"title": "B", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "D"}}])));
    assert!(r.s.flush_events(Duration::from_secs(5)));
    let ev = r.events.lock().pop().unwrap();
    assert_eq!(ev.kind, EventKind::Updated);
    assert_eq!(
        ev.changed,
        vec![
            "title",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"
        ]
    );
    assert_eq!(ev.name.as_deref(), Some("d@x"));
    // A PATCH that changes nothing emits nothing and keeps the version.
    let (_, before) = r.call("GET", &format!("/Users/{id}"), None);
    let (st, after) = r.call(
        "PATCH",
        &format!("/Users/{id}"),
        patch(json!([{"op": "Replace", "path": "title", "value": "B"}])),
    );
    assert_eq!(st, 200);
    assert!(r.events().is_empty());
    assert_eq!(after["meta"]["version"], before["meta"]["version"]);
    assert_eq!(after, before, "the same resource, unchanged");
    // One changed sub-attribute of the extension is a change.
    let (_, changed) = r.call(
        "PATCH",
        &format!("/Users/{id}"),
        patch(json!([{"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "E"}])),
    );
    assert_ne!(changed["meta"]["version"], before["meta"]["version"]);
    assert_eq!(r.events().len(), 1);
}

#[test]
fn membership_events() {
    let r = rig(Policies::default());
    let (_, g) = r.call("POST", "/Groups", Some(json!({"displayName": "G"})));
    let gid = g["id"].as_str().unwrap().to_owned();
    r.events();
    r.call(
        "PATCH",
        &format!("/Groups/{gid}"),
        patch(
            json!([{"op": "Add", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]}]),
        ),
    );
    r.call(
        "PATCH",
        &format!("/Groups/{gid}"),
        patch(json!([{"op": "Remove", "path": "members[value eq \"u1\"]"}])),
    );
    assert!(r.s.flush_events(Duration::from_secs(5)));
    let evs: Vec<(EventKind, Vec<String>)> = r
        .events
        .lock()
        .drain(..)
        .map(|e| (e.kind, e.members))
        .collect();
    assert_eq!(
        evs,
        vec![
            (
                EventKind::MembersAdded,
                vec!["u1".to_owned(), "u2".to_owned()]
            ),
            (EventKind::MembersRemoved, vec!["u1".to_owned()]),
        ]
    );
}

#[test]
fn link_existing_users_by_user_name_and_email() {
    let r = rig(Policies {
        link_existing: LinkPolicy::ByUserNameOrEmail,
        ..Policies::default()
    });
    let local = r.user("Dora@Contoso.com", json!({"title": "local"}));
    let (st, u) = r.call(
        "POST",
        "/Users",
        Some(json!({"userName": "dora@contoso.com", "externalId": "E-1", "displayName": "Dora"})),
    );
    assert_eq!(
        (st, u["id"].as_str()),
        (201, Some(local.as_str())),
        "adopted instead of 409"
    );
    assert_eq!(
        (u["externalId"].as_str(), u["displayName"].as_str()),
        (Some("E-1"), Some("Dora"))
    );
    // Now it has an externalId: a second POST is a real duplicate.
    let (st, _) = r.call(
        "POST",
        "/Users",
        Some(json!({"userName": "dora@contoso.com", "externalId": "E-2"})),
    );
    assert_eq!(st, 409);
    // By work email.
    let by_mail = r.user(
        "eric.local",
        json!({"emails": [{"value": "eric@contoso.com", "type": "work"}]}),
    );
    let (st, u) = r.call(
        "POST",
        "/Users",
        Some(json!({"userName": "eric@contoso.com", "externalId": "E-3",
        "emails": [{"value": "ERIC@contoso.com", "type": "work", "primary": true}]})),
    );
    assert_eq!(
        (st, u["id"].as_str(), u["userName"].as_str()),
        (201, Some(by_mail.as_str()), Some("eric@contoso.com"))
    );
    let kinds: Vec<EventKind> = r.events().into_iter().map(|e| e.0).collect();
    assert_eq!(kinds.iter().filter(|k| **k == EventKind::Linked).count(), 2);
    // Without the policy: 409.
    let plain = rig(Policies::default());
    plain.user("f@x", json!({}));
    assert_eq!(
        plain
            .call(
                "POST",
                "/Users",
                Some(json!({"userName": "f@x", "externalId": "E"}))
            )
            .0,
        409
    );
}

#[test]
fn ignored_users_are_skipped() {
    let r = rig(Policies::default());
    let id = r.user("ign@x", json!({"title": "T"}));
    r.s.set_ignored("acme", ResourceKind::User, &id, true)
        .unwrap();
    let (st, u) = r.call(
        "PATCH",
        &format!("/Users/{id}"),
        patch(json!([{"op": "Replace", "path": "title", "value": "changed"}])),
    );
    assert_eq!(
        (st, u["title"].as_str()),
        (200, Some("T")),
        "answered, not applied"
    );
    assert_eq!(
        r.call(
            "PUT",
            &format!("/Users/{id}"),
            Some(json!({"userName": "renamed"}))
        )
        .0,
        200
    );
    assert_eq!(r.call("DELETE", &format!("/Users/{id}"), None).0, 204);
    let (st, u) = r.call("GET", &format!("/Users/{id}"), None);
    assert_eq!(
        (st, u["userName"].as_str()),
        (200, Some("ign@x")),
        "still there, unchanged"
    );
    let ignored = r
        .log
        .query(&LogQuery {
            outcome: Some(Outcome::Ignored),
            ..LogQuery::default()
        })
        .unwrap();
    assert_eq!(ignored.len(), 3);
    r.s.set_ignored("acme", ResourceKind::User, &id, false)
        .unwrap();
    assert_eq!(r.call("DELETE", &format!("/Users/{id}"), None).0, 204);
    assert_eq!(r.call("GET", &format!("/Users/{id}"), None).0, 404);
}

#[test]
fn group_policy_update_only() {
    let r = rig(Policies {
        groups: GroupPolicy::UpdateOnly,
        ..Policies::default()
    });
    // The application's own group (created through the store, as the host would).
    let (st, e) = r.call("POST", "/Groups", Some(json!({"displayName": "Support"})));
    assert_eq!(
        (st, e["status"].as_str()),
        (403, Some("403")),
        "no group is created"
    );
    let full = rig(Policies::default());
    let _ = full;
    let store = Arc::new(MemoryStore::new());
    let s = ScimServer::builder()
        .shared_store(store.clone())
        .token("t", "acme")
        .policies(Policies {
            groups: GroupPolicy::UpdateOnly,
            ..Policies::default()
        })
        .build()
        .unwrap();
    let ctx = scimkit::Ctx::new("acme");
    scimkit::UserStore::create(&*store, &ctx, ResourceKind::Group, json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "app-support", "displayName": "Support",
        "meta": {"resourceType": "Group", "created": "2024-01-01T00:00:00.000Z", "lastModified": "2024-01-01T00:00:00.000Z"}})).unwrap();
    let call = |m: &str, u: &str, b: Option<Value>| {
        let req = http::Request::builder()
            .method(m)
            .uri(format!("/scim/v2{u}"))
            .header("authorization", "Bearer t")
            .body(b.map(|b| Bytes::from(b.to_string())).unwrap_or_default())
            .unwrap();
        let resp = s.handle(req);
        let st = resp.status().as_u16();
        (
            st,
            if resp.body().is_empty() {
                Value::Null
            } else {
                serde_json::from_slice::<Value>(resp.body()).unwrap()
            },
        )
    };
    let (st, g) = call(
        "POST",
        "/Groups",
        Some(
            json!({"displayName": "support", "externalId": "entra-guid", "members": [{"value": "u1"}]}),
        ),
    );
    assert_eq!(
        (st, g["id"].as_str()),
        (201, Some("app-support")),
        "matched by displayName"
    );
    assert_eq!(g["externalId"], "entra-guid");
    assert_eq!(g["members"][0]["value"], "u1");
    let (st, _) = call("DELETE", "/Groups/app-support", None);
    assert_eq!(st, 403);
    assert_eq!(
        call("GET", "/Groups/app-support", None).0,
        200,
        "nothing deleted"
    );
    assert_eq!(
        call(
            "PATCH",
            "/Groups/app-support",
            patch(json!([{"op": "Add", "path": "members", "value": [{"value": "u2"}]}]))
        )
        .0,
        204
    );
}

#[test]
fn group_policy_refuse_and_ignore() {
    let r = rig(Policies {
        groups: GroupPolicy::Refuse,
        ..Policies::default()
    });
    let (st, e) = r.call("POST", "/Groups", Some(json!({"displayName": "G"})));
    assert_eq!(st, 403);
    assert!(e["detail"].as_str().unwrap().contains("not provisioned"));
    assert_eq!(r.call("GET", "/Groups", None).0, 403);
    let r = rig(Policies {
        groups: GroupPolicy::Ignore,
        ..Policies::default()
    });
    let (st, g) = r.call("POST", "/Groups", Some(json!({"displayName": "G"})));
    assert_eq!((st, g["displayName"].as_str()), (201, Some("G")));
    let gid = g["id"].as_str().unwrap();
    assert_eq!(
        r.call(
            "PATCH",
            &format!("/Groups/{gid}"),
            patch(json!([{"op": "Add", "path": "members", "value": [{"value": "x"}]}]))
        )
        .0,
        204
    );
    let (_, l) = r.call("GET", "/Groups?filter=displayName%20eq%20%22G%22", None);
    assert_eq!(l["totalResults"], 0, "nothing stored");
    assert_eq!(r.call("DELETE", &format!("/Groups/{gid}"), None).0, 204);
    assert_eq!(r.call("GET", &format!("/Groups/{gid}"), None).0, 404);
    let logged = r
        .log
        .query(&LogQuery {
            outcome: Some(Outcome::Ignored),
            ..LogQuery::default()
        })
        .unwrap();
    assert_eq!(logged.len(), 3);
}

#[test]
fn guid_external_ids_can_be_required() {
    let r = rig(Policies {
        require_guid_external_id: true,
        ..Policies::default()
    });
    let (st, e) = r.call(
        "POST",
        "/Users",
        Some(json!({"userName": "g@x", "externalId": "not-a-guid"})),
    );
    assert_eq!((st, e["scimType"].as_str()), (400, Some("invalidValue")));
    r.user(
        "g@x",
        json!({"externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"}),
    );
}

#[test]
fn a_disabled_tenant_changes_and_deletes_nothing() {
    let r = rig(Policies::default());
    let (st, e) = r.call_as("tok-off", "GET", "/Users", None);
    assert_eq!(st, 403, "{e}");
    assert_eq!(r.call_as("tok-off", "DELETE", "/Users/x", None).0, 403);
    assert_eq!(
        r.call_as("tok-off", "POST", "/Users", Some(json!({"userName": "x"})))
            .0,
        403
    );
    let denied = r
        .log
        .query(&LogQuery {
            tenant: Some("off".into()),
            ..LogQuery::default()
        })
        .unwrap();
    assert_eq!(denied.len(), 3);
}

#[test]
fn provisioning_log_records_changes_failures_and_rejected_tokens() {
    let r = rig(Policies::default());
    let id = r.user("log@x", json!({}));
    r.call(
        "PATCH",
        &format!("/Users/{id}"),
        patch(json!([{"op": "Replace", "path": "active", "value": "maybe"}])),
    );
    r.call("GET", &format!("/Users/{id}"), None); // reads are not logged
    r.call_as("wrong-token", "GET", "/Users", None);
    r.call("DELETE", &format!("/Users/{id}"), None);
    let all = r.log.query(&LogQuery::default()).unwrap();
    let ops: Vec<(&str, u16, Outcome)> = all
        .iter()
        .map(|e| (e.operation.as_str(), e.status, e.outcome))
        .collect();
    assert_eq!(
        ops,
        vec![
            ("delete", 204, Outcome::Success),
            ("auth", 401, Outcome::Failure),
            ("patch", 400, Outcome::Failure),
            ("create", 201, Outcome::Success)
        ],
        "newest first"
    );
    let failed = &all[2];
    assert_eq!(
        (failed.scim_type.as_deref(), failed.resource_id.as_deref()),
        (Some("invalidValue"), Some(id.as_str()))
    );
    assert_eq!(all[3].name.as_deref(), Some("log@x"));
    let line = all
        .iter()
        .map(|e| e.to_json().to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        !line.contains("tok") || !line.contains("Bearer"),
        "no token in the log"
    );
    assert!(!line.contains("wrong-token"));
    let by_user = r
        .log
        .query(&LogQuery {
            name: Some("LOG@x".into()),
            ..LogQuery::default()
        })
        .unwrap();
    assert_eq!(by_user.len(), 1);
    let failures = r
        .log
        .query(&LogQuery {
            outcome: Some(Outcome::Failure),
            tenant: Some("acme".into()),
            ..LogQuery::default()
        })
        .unwrap();
    assert_eq!(failures.len(), 1);
    assert_eq!(r.log.prune("9999-01-01T00:00:00.000Z").unwrap(), 4);
    assert!(r.log.query(&LogQuery::default()).unwrap().is_empty());
}

#[test]
fn bulk_operations_are_logged_one_by_one() {
    let r = rig(Policies::default());
    r.call(
        "POST",
        "/Bulk",
        Some(json!({"Operations": [
        {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"userName": "b1"}},
        {"method": "POST", "path": "/Users", "bulkId": "b", "data": {"userName": "b1"}}]})),
    );
    let all = r.log.query(&LogQuery::default()).unwrap();
    assert_eq!(
        all.iter().map(|e| e.status).collect::<Vec<_>>(),
        vec![409, 201]
    );
}

#[test]
fn handle_as_skips_the_authenticator_and_ignored_requests_are_flagged() {
    let r = rig(Policies::default());
    let id = r.user("h@x", json!({}));
    r.s.set_ignored("acme", ResourceKind::User, &id, true)
        .unwrap();
    let p = scimkit::Principal {
        tenant: "acme".into(),
        token_id: "graph-sync".into(),
    };
    let req = http::Request::patch(format!("/scim/v2/Users/{id}"))
        .body(Bytes::from(
            patch(json!([{"op": "replace", "path": "title", "value": "x"}]))
                .unwrap()
                .to_string(),
        ))
        .unwrap();
    let resp = r.s.handle_as(&p, req);
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-scimkit-ignored"], "true");
    let entries = r
        .log
        .query(&LogQuery {
            outcome: Some(Outcome::Ignored),
            ..LogQuery::default()
        })
        .unwrap();
    assert_eq!(entries[0].token_id, "graph-sync");
    let plain = r.s.handle_as(
        &p,
        http::Request::get(format!("/scim/v2/Users/{id}"))
            .body(Bytes::new())
            .unwrap(),
    );
    assert!(plain.headers().get("x-scimkit-ignored").is_none());
    assert_eq!(r.s.policies("acme").deletion, DeletionPolicy::Hard);
    assert!(!r.s.policies("off").enabled);
}

#[test]
fn log_entries_of_successful_writes_name_their_resource() {
    // Writes answer from the stored resource without building a JSON tree;
    // the log still gets the id (POST) and the name (PATCH, whose body has
    // no userName).
    let r = rig(Policies::default());
    let id = r.user("named@x", json!({}));
    let (s, _) = r.call(
        "PATCH",
        &format!("/Users/{id}"),
        patch(json!([{"op": "Replace", "path": "title", "value": "Boss"}])),
    );
    assert_eq!(s, 200);
    let (s, g) = r.call(
        "POST",
        "/Groups",
        Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Staff"})),
    );
    assert_eq!(s, 201);
    let all = r.log.query(&LogQuery::default()).unwrap();
    let seen: Vec<(&str, Option<&str>, Option<&str>)> = all
        .iter()
        .map(|e| {
            (
                e.operation.as_str(),
                e.resource_id.as_deref(),
                e.name.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("create", g["id"].as_str(), Some("Staff")),
            ("patch", Some(id.as_str()), Some("named@x")),
            ("create", Some(id.as_str()), Some("named@x")),
        ]
    );
}
