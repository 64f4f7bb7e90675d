//! Push-down agrees with the core evaluator: every filter, sort and page the
//! store answers (in SQL or not) is compared with `Query::matches` /
//! `Query::compare` over all resources, on data chosen to trip SQL up
//! (Unicode case, GLOB and LIKE metacharacters, empty, null and absent values,
//! timestamps in other offsets and precisions).

mod common;

use std::sync::Arc;

use common::TempStore;
use scimkit::ResourceKind;
use scimkit::filter::parse_attr_path;
use scimkit::schema::Registry;
use scimkit::store::{
    Ctx, Member, MemberChange, Members, PageRequest, Query, Sort, StoreError, UserStore,
};
use serde_json::{Value, json};

fn registry() -> &'static Registry {
    static REG: std::sync::OnceLock<Registry> = std::sync::OnceLock::new();
    REG.get_or_init(Registry::default)
}

fn query(kind: ResourceKind) -> Query {
    Query::all(Arc::clone(registry().get(kind)))
}

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn users() -> Vec<Value> {
    let names = [
        "alice@contoso.com",
        "ÉMILE@Example.FR",
        "émile2@example.fr",
        "Straße@example.de",
        "STRASSE@example.de",
        "İstanbul@example.tr",
        "ǅemal@example.ba",
        "a*b@glob.test",
        "a?b@glob.test",
        "[br]@glob.test",
        "100%_sure@like.test",
        "O'Brien@quote.test",
        "zed",
        "Zed2",
        "",
    ];
    let times = [
        "2024-01-01T00:00:00.000Z",
        "2024-01-01T01:00:00+01:00",
        "2024-01-01T00:00:00.5Z",
        "2024-01-01T00:00:00.123456789Z",
        "2023-12-31T23:59:59.999Z",
        "2024-06-15T12:30:00-07:00",
    ];
    let display = [
        json!("Alice Smith"),
        json!(""),
        Value::Null,
        json!("ÉMILE Zola"),
        json!("a*b"),
    ];
    let mut out = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let mut u = json!({
            "schemas": [USER],
            "id": format!("u{i:02}"),
            "userName": name,
            "meta": {
                "resourceType": "User",
                "created": times[i % times.len()],
                "lastModified": times[(i * 5 + 1) % times.len()],
            },
        });
        let o = u.as_object_mut().expect("object");
        match i % 4 {
            0 => {
                o.insert("externalId".into(), json!(format!("E-{i}")));
            }
            1 => {
                o.insert("externalId".into(), json!(format!("e-{}", i - 1)));
            }
            2 => {
                o.insert("externalId".into(), Value::Null);
            }
            _ => {}
        }
        if i % 6 != 5 {
            o.insert("displayName".into(), display[i % display.len()].clone());
        }
        match i % 3 {
            0 => {
                o.insert("active".into(), json!(true));
            }
            1 => {
                o.insert("active".into(), json!(false));
            }
            _ => {}
        }
        let emails = match i % 5 {
            0 => json!([{"value": name.to_lowercase(), "type": "work", "primary": true}]),
            1 => json!([
                {"value": format!("Other{i}@Example.com"), "type": "Work"},
                {"value": name, "type": "home", "primary": true}
            ]),
            2 => json!([{"type": "other"}, {"value": "", "type": "work"}]),
            3 => json!([{"value": "SHARED@example.com", "primary": false}]),
            _ => Value::Null,
        };
        if !emails.is_null() {
            o.insert("emails".into(), emails);
        }
        if i % 2 == 0 {
            o.insert(
                ENTERPRISE.into(),
                json!({"department": if i % 4 == 0 { "Eng" } else { "Sales" }}),
            );
            o.insert(
                "name".into(),
                json!({"familyName": name.split('@').next().unwrap_or("")}),
            );
        }
        out.push(u);
    }
    out
}

fn operands() -> Vec<&'static str> {
    vec![
        "alice@contoso.com",
        "ALICE",
        "émile",
        "ÉMILE@EXAMPLE.FR",
        "straße",
        "strasse@example.de",
        "i̇stanbul",
        "ǆemal",
        "a*",
        "a*b@glob.test",
        "*",
        "?",
        "[br]",
        "%",
        "_",
        "'",
        "",
        ".test",
        "e-0",
        "E-0",
        "work",
        "zed",
        "m",
    ]
}

fn filters() -> Vec<String> {
    let mut out = Vec::new();
    let text_paths = [
        "userName",
        "externalId",
        "displayName",
        "id",
        "emails.value",
        "emails.type",
        "emails",
        "name.familyName",
    ];
    for p in text_paths {
        for op in ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"] {
            for v in operands() {
                out.push(format!(
                    "{p} {op} {}",
                    serde_json::to_string(v).expect("json")
                ));
            }
        }
        out.push(format!("{p} pr"));
        out.push(format!("not ({p} pr)"));
        out.push(format!("{p} eq null"));
        out.push(format!("{p} ne null"));
    }
    for p in ["meta.created", "meta.lastModified"] {
        for op in ["eq", "ne", "gt", "ge", "lt", "le"] {
            for v in [
                "2024-01-01T00:00:00Z",
                "2024-01-01T00:00:00.000000001Z",
                "2024-01-01T02:00:00+02:00",
                "2024-01-01T00:00:00.5Z",
                "2024-06-15T19:30:00Z",
            ] {
                out.push(format!("{p} {op} \"{v}\""));
            }
        }
        out.push(format!("{p} co \"2024\""));
        out.push(format!("{p} pr"));
    }
    for v in ["true", "false"] {
        out.push(format!("active eq {v}"));
        out.push(format!("active ne {v}"));
        out.push(format!("emails.primary eq {v}"));
        out.push(format!("emails.primary ne {v}"));
    }
    out.extend(
        [
            "active pr",
            "emails.primary pr",
            "active eq null",
            r#"emails[type eq "work"]"#,
            r#"emails[type eq "WORK" and value co "example"]"#,
            r#"emails[primary eq true and type eq "home"]"#,
            r#"emails[not (value pr)]"#,
            r#"emails[value eq null]"#,
            r#"emails[value ne "shared@example.com"]"#,
            r#"emails[type ne "work" or primary eq false]"#,
            r#"userName sw "a" and active eq true"#,
            r#"userName sw "a" or userName ew ".de""#,
            r#"not (userName co "example") and displayName pr"#,
            r#"(userName sw "z" or externalId eq "E-0") and not (active eq false)"#,
            r#"userName co "glob" and name.familyName sw "a""#,
            r#"name.familyName sw "a" or userName eq "zed""#,
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "eng""#,
            r#"userName ew ".test" and urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department pr"#,
            r#"not (emails.value eq "shared@example.com" or emails pr)"#,
            r#"meta.created gt "2024-01-01T00:00:00Z" and meta.lastModified le "2024-06-15T19:30:00Z""#,
        ]
        .map(str::to_owned),
    );
    out
}

fn sorts() -> Vec<Option<Sort>> {
    let mut out = vec![None];
    for p in [
        "userName",
        "displayName",
        "externalId",
        "id",
        "meta.created",
        "meta.lastModified",
        "active",
        "emails",
        "emails.value",
        "name.familyName",
        "emails.type",
    ] {
        for descending in [false, true] {
            out.push(Some(Sort {
                path: parse_attr_path(p).expect("path").expect("not a bare URN"),
                descending,
            }));
        }
    }
    out
}

/// The reference answer: all resources, the core evaluator and order.
fn expected(all: &[scimkit::store::Stored], q: &Query) -> Vec<String> {
    let mut hits: Vec<_> = all.iter().filter(|s| q.matches(&s.resource)).collect();
    hits.sort_by(|a, b| q.compare(&a.resource, &b.resource));
    hits.into_iter().map(|s| s.id.clone()).collect()
}

fn ids(page: &scimkit::store::Page) -> Vec<String> {
    page.resources.iter().map(|s| s.id.clone()).collect()
}

/// Follow cursors (at most `limit` pages) and return the ids in order.
fn walk_cursor(
    store: &dyn UserStore,
    c: &Ctx,
    q: &Query,
    count: usize,
    total: usize,
) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor = None;
    for _ in 0..=total + 1 {
        let page = store
            .query(
                c,
                q.kind(),
                &q.clone().page(PageRequest::Cursor { cursor, count }),
            )
            .unwrap_or_else(|e| panic!("{q:?}: {e:?}"));
        assert_eq!(page.total_results, total, "cursor total for {q:?}");
        seen.extend(ids(&page));
        match page.next_cursor {
            Some(n) => cursor = Some(n),
            None => return seen,
        }
    }
    panic!("cursor paging did not end for {q:?}");
}

#[test]
fn filters_and_sorts_agree_with_the_evaluator() {
    let store = TempStore::new();
    let c = Ctx::new("t1");
    for u in users() {
        store.create(&c, ResourceKind::User, u).expect("create");
    }
    // Another tenant with the same data must never show up.
    for u in users() {
        store
            .create(&Ctx::new("t2"), ResourceKind::User, u)
            .expect("create in t2");
    }
    let all = store
        .query(&c, ResourceKind::User, &query(ResourceKind::User))
        .expect("all")
        .resources;
    assert_eq!(all.len(), users().len());
    let mut checked = 0;
    for f in filters() {
        let Ok(q) = query(ResourceKind::User).with_filter(&f) else {
            continue; // rejected by the schema (e.g. `co` on a dateTime with a bad value)
        };
        let want = expected(&all, &q);
        let page = store
            .query(&c, ResourceKind::User, &q)
            .unwrap_or_else(|e| panic!("{f}: {e:?}"));
        assert_eq!(ids(&page), want, "matches for {f}");
        assert_eq!(page.total_results, want.len(), "totalResults for {f}");
        checked += 1;
    }
    assert!(checked > 500, "only {checked} filters checked");
    // Sorts, alone and with filters, as one page and by cursor.
    for sort in sorts() {
        for f in [
            None,
            Some(r#"userName co "e""#),
            Some(r#"name.familyName pr or active eq true"#),
        ] {
            let mut q = query(ResourceKind::User).sort(sort.clone());
            if let Some(f) = f {
                q = q.with_filter(f).expect("filter");
            }
            let want = expected(&all, &q);
            let page = store.query(&c, ResourceKind::User, &q).expect("query");
            assert_eq!(ids(&page), want, "order for {sort:?} {f:?}");
            let walked = walk_cursor(&*store, &c, &q, 4, want.len());
            assert_eq!(walked, want, "cursor order for {sort:?} {f:?}");
            let q2 = q.clone().page(PageRequest::Index {
                start_index: 3,
                count: 5,
            });
            let page = store.query(&c, ResourceKind::User, &q2).expect("query");
            let window: Vec<String> = want.iter().skip(2).take(5).cloned().collect();
            assert_eq!(ids(&page), window, "index page for {sort:?} {f:?}");
        }
    }
}

#[test]
fn group_filters_agree_with_the_evaluator() {
    let store = TempStore::new();
    let c = Ctx::new("t1");
    let groups = [
        ("g1", "Engineering", vec!["u1", "U2", "ü3"]),
        ("g2", "engineering", vec!["u2"]),
        ("g3", "Sales*", vec![]),
        ("g4", "", vec!["Ü3", "x?y"]),
        ("g5", "Ops", vec!["g1"]),
    ];
    for (id, name, members) in &groups {
        let mut g = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "id": id,
            "displayName": name,
            "meta": {"resourceType": "Group", "created": "2024-01-01T00:00:00.000Z",
                     "lastModified": "2024-01-01T00:00:00.000Z"},
        });
        if *id == "g1" {
            g["externalId"] = json!("X1");
        }
        if !members.is_empty() {
            g["members"] = Value::Array(
                members
                    .iter()
                    .map(|m| json!({"value": m, "type": "User", "display": m.to_uppercase()}))
                    .collect(),
            );
        }
        store
            .create(&c, ResourceKind::Group, g)
            .expect("create group");
    }
    let all = store
        .query(&c, ResourceKind::Group, &query(ResourceKind::Group))
        .expect("all")
        .resources;
    for f in [
        r#"members[value eq "u2"]"#,
        r#"members[value eq "Ü3"]"#,
        r#"members.value eq "ü3""#,
        r#"members.value ne "u2""#,
        r#"members.value sw "u""#,
        r#"members.value co "?""#,
        r#"members.value eq null"#,
        r#"members pr"#,
        r#"not (members pr)"#,
        r#"members.value pr"#,
        r#"members[type eq "user"]"#,
        r#"members[display co "Ü"]"#,
        r#"members.display eq "U2""#,
        r#"members[value eq "u1" or value eq "x?y"]"#,
        r#"members[not (value eq "u2")]"#,
        r#"displayName eq "ENGINEERING""#,
        r#"displayName co "*""#,
        r#"displayName pr"#,
        r#"displayName eq "engineering" and members[value eq "u1"]"#,
        r#"displayName sw "e" or members.value eq "g1""#,
        r#"externalId eq "X1" or externalId eq "x1""#,
        r#"id eq "g3" or not (members pr)"#,
    ] {
        let q = query(ResourceKind::Group).with_filter(f).expect(f);
        let want = expected(&all, &q);
        for members in [Members::Include, Members::Exclude] {
            let page = store
                .query(&c, ResourceKind::Group, &q.clone().members(members))
                .unwrap_or_else(|e| panic!("{f}: {e:?}"));
            assert_eq!(ids(&page), want, "groups matching {f}");
            assert_eq!(page.total_results, want.len(), "totalResults for {f}");
            for g in &page.resources {
                assert_eq!(
                    g.resource.get("members").is_some(),
                    members == Members::Include
                        && all
                            .iter()
                            .any(|a| a.id == g.id && a.resource.get("members").is_some()),
                    "{f}: members of {} with {members:?}",
                    g.id
                );
            }
        }
    }
}

#[test]
fn keyset_cursors_survive_concurrent_changes() {
    let store = TempStore::new();
    let c = Ctx::new("t1");
    let user = |id: &str, name: &str| {
        json!({"schemas": [USER], "id": id, "userName": name,
        "meta": {"resourceType": "User", "created": "2024-01-01T00:00:00.000Z", "lastModified": "2024-01-01T00:00:00.000Z"}})
    };
    for i in 0..10 {
        store
            .create(
                &c,
                ResourceKind::User,
                user(&format!("k{i}"), &format!("n{i}")),
            )
            .expect("create");
    }
    let q = query(ResourceKind::User).sort(Some(Sort {
        path: parse_attr_path("userName").expect("path").expect("path"),
        descending: false,
    }));
    let first = store
        .query(
            &c,
            ResourceKind::User,
            &q.clone().page(PageRequest::Cursor {
                cursor: None,
                count: 4,
            }),
        )
        .expect("page 1");
    assert_eq!(ids(&first), ["k0", "k1", "k2", "k3"]);
    // Delete a seen row and insert one before the position: nothing is repeated or skipped.
    store
        .delete(&c, ResourceKind::User, "k1", None)
        .expect("delete");
    store
        .create(&c, ResourceKind::User, user("k-early", "n00"))
        .expect("create");
    let second = store
        .query(
            &c,
            ResourceKind::User,
            &q.clone().page(PageRequest::Cursor {
                cursor: first.next_cursor.clone(),
                count: 4,
            }),
        )
        .expect("page 2");
    assert_eq!(ids(&second), ["k4", "k5", "k6", "k7"]);
    // A cursor of one query is refused by another.
    let other = query(ResourceKind::User).page(PageRequest::Cursor {
        cursor: first.next_cursor,
        count: 4,
    });
    assert!(matches!(
        store.query(&c, ResourceKind::User, &other),
        Err(StoreError::InvalidCursor)
    ));
}

#[test]
fn membership_changes_touch_only_the_changed_rows() {
    let store = TempStore::new();
    let c = Ctx::new("t1");
    store
        .create(&c, ResourceKind::Group, json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "id": "g", "displayName": "G", "meta": {"resourceType": "Group", "created": "2024-01-01T00:00:00.000Z",
            "lastModified": "2024-01-01T00:00:00.000Z"}}))
        .expect("group");
    let member = |v: String| Member {
        value: v,
        kind: Some("User".into()),
        display: None,
    };
    let change = MemberChange {
        add: (0..500).map(|i| member(format!("m{i}"))).collect(),
        last_modified: "2024-02-02T00:00:00.000Z".into(),
        ..Default::default()
    };
    let g = store
        .modify_members(&c, "g", &change, Some(1))
        .expect("add 500");
    assert!(
        g.resource.get("members").is_none(),
        "modify_members returns the group without members"
    );
    assert_eq!(
        g.resource["meta"]["lastModified"],
        "2024-02-02T00:00:00.000Z"
    );
    let got = store
        .get(&c, ResourceKind::Group, "g", Members::Exclude)
        .expect("get")
        .expect("exists");
    assert!(
        got.resource.get("members").is_none(),
        "Members::Exclude reads no members"
    );
    assert_eq!(got.version, 2);
    let got = store
        .get(&c, ResourceKind::Group, "g", Members::Include)
        .expect("get")
        .expect("exists");
    assert_eq!(got.resource["members"].as_array().map(Vec::len), Some(500));
}
