//! Push-down beyond the conformance suite: values that are SQL metacharacters,
//! Unicode case folding, code-point ordering whatever the database collation,
//! cursors that survive concurrent inserts, forged cursors, and membership
//! filters across tenants — each answer compared with the core evaluator.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use scimkit::ResourceKind;
use scimkit::filter::AttrPath;
use scimkit::schema::Registry;
use scimkit::store::testkit::{group, user};
use scimkit::store::{Ctx, PageRequest, Query, Sort, StoreError, UserStore};
use scimkit_postgres::PostgresStore;
use serde_json::{Value, json};

fn query(kind: ResourceKind) -> Query {
    static REG: std::sync::OnceLock<Registry> = std::sync::OnceLock::new();
    Query::all(Arc::clone(REG.get_or_init(Registry::default).get(kind)))
}

const NAMES: &[&str] = &[
    "a_b@x.org",
    "a%b@x.org",
    r"a\b@x.org",
    "aXb@x.org",
    "ÄRGER@x.org",
    "ärger2@x.org",
    "Émile@x.org",
    "zed@x.org",
    "Zoë@x.org",
    "ß@x.org",
    "İstanbul@x.org",
    "'quote\"@x.org",
];

fn seed(store: &PostgresStore, ctx: &Ctx) -> Vec<Value> {
    let mut all = Vec::new();
    for (i, name) in NAMES.iter().enumerate() {
        let mut extra = json!({
            "displayName": name.to_uppercase(),
            "externalId": format!("Ext_{i}%"),
            "emails": [{"value": name.to_lowercase(), "type": if i % 2 == 0 { "Work" } else { "home" }}],
        });
        if i % 3 == 0 {
            extra["active"] = json!(i % 2 == 0);
        }
        let u = user(&format!("u{i:02}"), name, extra);
        store
            .create(ctx, ResourceKind::User, u.clone())
            .expect("create");
        all.push(u);
    }
    all
}

fn ids_of(page: &scimkit::store::Page) -> Vec<String> {
    page.resources.iter().map(|s| s.id.clone()).collect()
}

#[test]
fn metacharacters_unicode_and_order_agree_with_the_evaluator() {
    let Some(store) = common::fresh_store() else {
        return;
    };
    let ctx = Ctx::new("t1");
    let all = seed(&store, &ctx);
    for f in [
        r#"userName sw "a_""#,
        r#"userName co "%""#,
        r#"userName co "_b""#,
        r#"userName ew "\\b@x.org""#,
        r#"userName sw "a\\""#,
        r#"userName eq "ärger@X.ORG""#,
        r#"userName eq "émile@x.org""#,
        r#"userName eq "SS@x.org""#,
        r#"userName eq "ß@X.org""#,
        r#"userName gt "z""#,
        r#"userName lt "b""#,
        r#"userName ge "ärger""#,
        r#"displayName co "Ë""#,
        r#"externalId sw "Ext_1""#,
        r#"externalId ew "_1%""#,
        r#"externalId co "%""#,
        r#"emails[type eq "WORK" and value co "_"]"#,
        r#"emails.value sw "'quote""#,
        r#"userName co "'""#,
        "active eq true",
        "active ne true",
        "not (active pr)",
        r#"userName sw "i̇""#,
    ] {
        let q = query(ResourceKind::User).with_filter(f).expect(f);
        let expected: Vec<String> = all
            .iter()
            .filter(|u| q.matches(u))
            .map(|u| u["id"].as_str().unwrap().to_owned())
            .collect();
        let page = store.query(&ctx, ResourceKind::User, &q).expect(f);
        assert_eq!(ids_of(&page), expected, "matches for {f}");
        assert_eq!(page.total_results, expected.len(), "total for {f}");
    }
    for (path, descending) in [
        ("userName", false),
        ("userName", true),
        ("displayName", false),
        ("externalId", true),
        ("emails", false),
        ("active", true),
        ("active", false),
    ] {
        let q = query(ResourceKind::User).sort(Some(Sort {
            path: scimkit::filter::parse_attr_path(path).unwrap().unwrap(),
            descending,
        }));
        let mut expected: Vec<&Value> = all.iter().collect();
        expected.sort_by(|a, b| q.compare(a, b));
        let expected: Vec<String> = expected
            .iter()
            .map(|u| u["id"].as_str().unwrap().to_owned())
            .collect();
        let page = store.query(&ctx, ResourceKind::User, &q).unwrap();
        assert_eq!(
            ids_of(&page),
            expected,
            "order by {path} descending={descending}"
        );
        // The same order through cursor pages of 5.
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let page = store
                .query(
                    &ctx,
                    ResourceKind::User,
                    &q.clone().page(PageRequest::Cursor {
                        cursor: cursor.clone(),
                        count: 5,
                    }),
                )
                .unwrap();
            seen.extend(ids_of(&page));
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(
            seen, expected,
            "cursor pages by {path} descending={descending}"
        );
    }
}

#[test]
fn keyset_cursors_survive_inserts_and_deletes_between_pages() {
    let Some(store) = common::fresh_store() else {
        return;
    };
    let ctx = Ctx::new("t1");
    for i in 0..10 {
        store
            .create(
                &ctx,
                ResourceKind::User,
                user(&format!("k{i:02}"), &format!("name{i:02}"), json!({})),
            )
            .unwrap();
    }
    let q = query(ResourceKind::User).sort(Some(Sort {
        path: AttrPath::simple("userName"),
        descending: false,
    }));
    let page = |cursor: Option<String>| {
        store
            .query(
                &ctx,
                ResourceKind::User,
                &q.clone().page(PageRequest::Cursor { cursor, count: 4 }),
            )
            .unwrap()
    };
    let first = page(None);
    assert_eq!(ids_of(&first), ["k00", "k01", "k02", "k03"]);
    // Before the cursor: not seen again, nothing skipped.
    store.delete(&ctx, ResourceKind::User, "k01", None).unwrap();
    store
        .create(&ctx, ResourceKind::User, user("k99", "name00a", json!({})))
        .unwrap();
    let second = page(first.next_cursor.clone());
    assert_eq!(ids_of(&second), ["k04", "k05", "k06", "k07"]);
    assert_eq!(second.total_results, 10);
}

#[test]
fn forged_and_foreign_cursors_are_invalid_never_a_failure() {
    let Some(store) = common::fresh_store() else {
        return;
    };
    let ctx = Ctx::new("t1");
    for i in 0..6 {
        store
            .create(
                &ctx,
                ResourceKind::User,
                user(
                    &format!("f{i}"),
                    &format!("f{i}"),
                    json!({"active": i % 2 == 0}),
                ),
            )
            .unwrap();
    }
    let by_active = query(ResourceKind::User).sort(Some(Sort {
        path: AttrPath::simple("active"),
        descending: false,
    }));
    let cursor = store
        .query(
            &ctx,
            ResourceKind::User,
            &by_active.clone().page(PageRequest::Cursor {
                cursor: None,
                count: 2,
            }),
        )
        .unwrap()
        .next_cursor
        .expect("more pages");
    // The same cursor with a text key where the column is boolean.
    let mut obj: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&cursor).unwrap()).unwrap();
    obj["k"] = json!("' OR 1=1 --");
    let forged = URL_SAFE_NO_PAD.encode(obj.to_string());
    let offset = {
        let mut o = obj.clone();
        o.as_object_mut().unwrap().remove("k");
        o.as_object_mut().unwrap().remove("i");
        o["o"] = json!(2);
        URL_SAFE_NO_PAD.encode(o.to_string())
    };
    let by_name = query(ResourceKind::User).sort(Some(Sort {
        path: AttrPath::simple("userName"),
        descending: false,
    }));
    for (q, c) in [
        (&by_active, forged),
        (&by_active, offset),
        (&by_name, cursor.clone()),
        (&by_active, "x".repeat(5000)),
    ] {
        let r = store.query(
            &ctx,
            ResourceKind::User,
            &q.clone().page(PageRequest::Cursor {
                cursor: Some(c),
                count: 2,
            }),
        );
        assert!(matches!(r, Err(StoreError::InvalidCursor)), "{r:?}");
    }
}

#[test]
fn membership_filters_fold_case_and_stay_in_their_tenant() {
    let Some(store) = common::fresh_store() else {
        return;
    };
    let a = Ctx::new("tenant-a");
    let b = Ctx::new("tenant-b");
    store
        .create(&a, ResourceKind::Group, group("ga", "A", &["User-1", "u2"]))
        .unwrap();
    store
        .create(&b, ResourceKind::Group, group("gb", "B", &["user-1"]))
        .unwrap();
    for (ctx, f, expected) in [
        (&a, r#"members[value eq "USER-1"]"#, vec!["ga"]),
        (&a, r#"members.value eq "user-1""#, vec!["ga"]),
        (&b, r#"members[value eq "USER-1"]"#, vec!["gb"]),
        (&b, r#"members.value eq "u2""#, vec![]),
        (&a, r#"members.value ne "u2""#, vec![]),
        (&b, r#"members.value ne "u2""#, vec!["gb"]),
        (&a, r#"members[value sw "user"]"#, vec!["ga"]),
    ] {
        let q = query(ResourceKind::Group).with_filter(f).unwrap();
        let page = store.query(ctx, ResourceKind::Group, &q).unwrap();
        let got: BTreeSet<String> = ids_of(&page).into_iter().collect();
        let want: BTreeSet<String> = expected.iter().map(|s| s.to_string()).collect();
        assert_eq!(got, want, "{} {f}", ctx.tenant);
    }
    // Deleting a user in tenant b leaves tenant a's membership alone.
    store
        .create(&b, ResourceKind::User, user("User-1", "x", json!({})))
        .unwrap();
    store
        .delete(&b, ResourceKind::User, "User-1", None)
        .unwrap();
    let ga = store
        .get(
            &a,
            ResourceKind::Group,
            "ga",
            scimkit::store::Members::Include,
        )
        .unwrap()
        .unwrap();
    assert_eq!(ga.version, 1, "another tenant's cascade is no change here");
    assert_eq!(ga.resource["members"].as_array().unwrap().len(), 2);
}
