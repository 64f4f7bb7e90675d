//! The store conformance suite: every [`UserStore`] (memory, SQLite, PostgreSQL,
//! a C vtable store, a Python store) runs the same checks.
//!
//! Run it from a test module with one macro call; the expression is evaluated
//! once per test and must give a fresh, empty store:
//!
//! ```ignore
//! #[cfg(test)]
//! mod conformance {
//!     scimkit::store_conformance_tests!(my_crate::MyStore::open_temp());
//! }
//! ```
//!
//! or call [`run_all`] (or a single check) with a store factory. Each check
//! panics with a message naming the broken rule.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::{Value, json};

use super::{
    Ctx, Member, MemberChange, Members, PageRequest, Query, SharedJson, SharedStored, Sort,
    StoreError, UserStore,
};
use crate::filter::AttrPath;
use crate::schema::{ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, Registry, ResourceKind, USER_SCHEMA};

/// One conformance check: it panics with a message naming the broken rule.
pub type Check = fn(&dyn UserStore);

/// The names of all checks, in order, with the function running each.
pub const CHECKS: &[(&str, Check)] = &[
    ("crud", crud),
    (
        "uniqueness_is_case_insensitive",
        uniqueness_is_case_insensitive,
    ),
    ("tenants_are_isolated", tenants_are_isolated),
    ("versions_are_compare_and_set", versions_are_compare_and_set),
    (
        "filters_agree_with_the_evaluator",
        filters_agree_with_the_evaluator,
    ),
    (
        "sort_agrees_with_the_reference_order",
        sort_agrees_with_the_reference_order,
    ),
    ("index_paging", index_paging),
    ("cursor_paging", cursor_paging),
    ("membership_deltas", membership_deltas),
    ("delete_cascades_to_groups", delete_cascades_to_groups),
    ("members_can_be_excluded", members_can_be_excluded),
    (
        "concurrent_writers_lose_nothing",
        concurrent_writers_lose_nothing,
    ),
    ("shared_reads_agree", shared_reads_agree),
    ("groups_of_agrees_with_query", groups_of_agrees_with_query),
    ("shared_writes_agree", shared_writes_agree),
];

/// Run every check, each on a fresh store from `factory`.
pub fn run_all<S: UserStore, F: Fn() -> S>(factory: F) {
    for (name, check) in CHECKS {
        let store = factory();
        eprintln!("testkit: {name}");
        check(&store);
    }
}

/// Generate one `#[test]` per conformance check; `$store` is evaluated once per test
/// and must produce a fresh, empty store. With `deref $guard`, the expression is a
/// guard (e.g. a store plus its temp dir) that derefs to the store.
#[macro_export]
macro_rules! store_conformance_tests {
    (deref $guard:expr) => {
        $crate::store_conformance_tests!(@each_deref $guard;
            crud, uniqueness_is_case_insensitive, tenants_are_isolated,
            versions_are_compare_and_set, filters_agree_with_the_evaluator,
            sort_agrees_with_the_reference_order, index_paging, cursor_paging,
            membership_deltas, delete_cascades_to_groups, members_can_be_excluded,
            concurrent_writers_lose_nothing, shared_reads_agree, groups_of_agrees_with_query,
            shared_writes_agree);
    };
    (@each_deref $guard:expr; $($name:ident),*) => {
        $(
            #[test]
            fn $name() {
                let guard = $guard;
                $crate::store::testkit::$name(&*guard);
            }
        )*
    };
    ($store:expr) => {
        $crate::store_conformance_tests!(@each $store;
            crud, uniqueness_is_case_insensitive, tenants_are_isolated,
            versions_are_compare_and_set, filters_agree_with_the_evaluator,
            sort_agrees_with_the_reference_order, index_paging, cursor_paging,
            membership_deltas, delete_cascades_to_groups, members_can_be_excluded,
            concurrent_writers_lose_nothing, shared_reads_agree, groups_of_agrees_with_query,
            shared_writes_agree);
    };
    (@each $store:expr; $($name:ident),*) => {
        $(
            #[test]
            fn $name() {
                let store = $store;
                $crate::store::testkit::$name(&store);
            }
        )*
    };
}

fn registry() -> &'static Registry {
    static REG: std::sync::OnceLock<Registry> = std::sync::OnceLock::new();
    REG.get_or_init(Registry::default)
}

fn query(kind: ResourceKind) -> Query {
    Query::all(Arc::clone(registry().get(kind)))
}

const T: &str = "2024-01-01T00:00:00.000Z";

/// A canonical User resource as the engine would store it.
pub fn user(id: &str, user_name: &str, extra: Value) -> Value {
    let mut v = json!({
        "schemas": [USER_SCHEMA],
        "id": id,
        "userName": user_name,
        "meta": {"resourceType": "User", "created": T, "lastModified": T},
    });
    if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        for (k, x) in e {
            o.insert(k.clone(), x.clone());
        }
    }
    v
}

/// A canonical Group resource with members.
pub fn group(id: &str, display_name: &str, members: &[&str]) -> Value {
    let mut v = json!({
        "schemas": [GROUP_SCHEMA],
        "id": id,
        "displayName": display_name,
        "meta": {"resourceType": "Group", "created": T, "lastModified": T},
    });
    if !members.is_empty() {
        v["members"] = Value::Array(
            members
                .iter()
                .map(|m| json!({"value": m, "type": "User"}))
                .collect(),
        );
    }
    v
}

fn ctx(tenant: &str) -> Ctx {
    Ctx::new(tenant)
}

fn member_ids(resource: &Value) -> BTreeSet<String> {
    resource
        .get("members")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|m| m.get("value").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn ids(page: &super::Page) -> Vec<String> {
    page.resources.iter().map(|s| s.id.clone()).collect()
}

/// Query, falling back to the engine's evaluation on `Unsupported` exactly as the
/// engine does; returns the matching ids (in order) and the total.
fn run_query(store: &dyn UserStore, c: &Ctx, q: &Query) -> (Vec<String>, usize) {
    match store.query(c, q.kind(), q) {
        Ok(page) => (ids(&page), page.total_results),
        Err(StoreError::Unsupported) => {
            let all = store
                .query(c, q.kind(), &query(q.kind()))
                .expect("a query without filter and sort must always be answered");
            let mut hits: Vec<_> = all
                .resources
                .into_iter()
                .filter(|s| q.matches(&s.resource))
                .collect();
            hits.sort_by(|a, b| q.compare(&a.resource, &b.resource));
            let total = hits.len();
            let (page, _) = super::paginate(hits, &q.page).expect("paging");
            (page.into_iter().map(|s| s.id).collect(), total)
        }
        Err(e) => panic!("query {q:?} failed: {e:?}"),
    }
}

/// Create, read, replace and delete; versions start at 1 and grow by one.
pub fn crud(store: &dyn UserStore) {
    let c = ctx("t1");
    let s = store
        .create(
            &c,
            ResourceKind::User,
            user("u1", "alice", json!({"active": true})),
        )
        .expect("create");
    assert_eq!(
        (s.id.as_str(), s.version),
        ("u1", 1),
        "create returns id and version 1"
    );
    let got = store
        .get(&c, ResourceKind::User, "u1", Members::Include)
        .expect("get")
        .expect("created user is readable");
    assert_eq!(got.resource["userName"], "alice");
    assert_eq!(got.resource["active"], true);
    assert_eq!(got.version, 1);
    let r = store
        .replace(
            &c,
            ResourceKind::User,
            "u1",
            user("u1", "alice2", json!({})),
            None,
        )
        .expect("replace");
    assert_eq!(r.version, 2, "replace bumps the version");
    let got = store
        .get(&c, ResourceKind::User, "u1", Members::Include)
        .unwrap()
        .unwrap();
    assert_eq!(got.resource["userName"], "alice2");
    assert!(
        got.resource.get("active").is_none(),
        "replace drops omitted attributes"
    );
    assert!(
        store
            .get(&c, ResourceKind::Group, "u1", Members::Include)
            .unwrap()
            .is_none(),
        "a user is not a group"
    );
    assert!(matches!(
        store.replace(
            &c,
            ResourceKind::User,
            "nope",
            user("nope", "x", json!({})),
            None
        ),
        Err(StoreError::NotFound)
    ));
    store
        .delete(&c, ResourceKind::User, "u1", None)
        .expect("delete");
    assert!(
        store
            .get(&c, ResourceKind::User, "u1", Members::Include)
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        store.delete(&c, ResourceKind::User, "u1", None),
        Err(StoreError::NotFound)
    ));
    // The userName is free again.
    store
        .create(&c, ResourceKind::User, user("u2", "alice2", json!({})))
        .expect("a deleted user's userName can be reused");
    // Groups.
    let g = store
        .create(&c, ResourceKind::Group, group("g1", "Admins", &["u2"]))
        .expect("create group");
    assert_eq!(g.version, 1);
    let g = store
        .get(&c, ResourceKind::Group, "g1", Members::Include)
        .unwrap()
        .unwrap();
    assert_eq!(g.resource["displayName"], "Admins");
    assert_eq!(member_ids(&g.resource), BTreeSet::from(["u2".to_owned()]));
    store.delete(&c, ResourceKind::Group, "g1", None).unwrap();
    assert!(
        store
            .get(&c, ResourceKind::Group, "g1", Members::Include)
            .unwrap()
            .is_none()
    );
}

/// userName is unique per tenant, case-insensitively, on create and replace.
pub fn uniqueness_is_case_insensitive(store: &dyn UserStore) {
    let c = ctx("t1");
    store
        .create(
            &c,
            ResourceKind::User,
            user("u1", "Alice@Contoso.com", json!({})),
        )
        .unwrap();
    let e = store
        .create(
            &c,
            ResourceKind::User,
            user("u2", "alice@contoso.COM", json!({})),
        )
        .expect_err("same userName in another case must conflict");
    assert!(
        matches!(&e, StoreError::Uniqueness { attribute } if attribute == "userName"),
        "{e:?}"
    );
    store
        .create(&c, ResourceKind::User, user("u2", "bob", json!({})))
        .unwrap();
    let e = store
        .replace(
            &c,
            ResourceKind::User,
            "u2",
            user("u2", "ALICE@contoso.com", json!({})),
            None,
        )
        .expect_err("renaming onto a taken userName must conflict");
    assert!(matches!(e, StoreError::Uniqueness { .. }), "{e:?}");
    // Changing only the case of one's own userName is fine.
    store
        .replace(
            &c,
            ResourceKind::User,
            "u1",
            user("u1", "ALICE@CONTOSO.COM", json!({})),
            None,
        )
        .expect("a user may change the case of its own userName");
    // After a failed rename, bob is unchanged.
    let bob = store
        .get(&c, ResourceKind::User, "u2", Members::Include)
        .unwrap()
        .unwrap();
    assert_eq!(bob.resource["userName"], "bob");
    assert_eq!(bob.version, 1, "a rejected write changes nothing");
}

/// Tenants never see, match or collide with each other's resources.
pub fn tenants_are_isolated(store: &dyn UserStore) {
    let a = ctx("tenant-a");
    let b = ctx("tenant-b");
    store
        .create(
            &a,
            ResourceKind::User,
            user("ua", "same@x.com", json!({"externalId": "E1"})),
        )
        .unwrap();
    store
        .create(
            &b,
            ResourceKind::User,
            user("ub", "same@x.com", json!({"externalId": "E1"})),
        )
        .expect("the same userName in another tenant is no collision");
    assert!(
        store
            .get(&b, ResourceKind::User, "ua", Members::Include)
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        store.replace(
            &b,
            ResourceKind::User,
            "ua",
            user("ua", "hijack", json!({})),
            None
        ),
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.delete(&b, ResourceKind::User, "ua", None),
        Err(StoreError::NotFound)
    ));
    for f in [
        r#"userName eq "same@x.com""#,
        r#"externalId eq "E1""#,
        r#"id eq "ua""#,
    ] {
        let q = query(ResourceKind::User).with_filter(f).unwrap();
        let (found, total) = run_query(store, &b, &q);
        assert!(
            !found.contains(&"ua".to_owned()),
            "{f} in tenant-b found tenant-a's user"
        );
        assert_eq!(total, found.len());
    }
    let (all_b, _) = run_query(store, &b, &query(ResourceKind::User));
    assert_eq!(all_b, vec!["ub".to_owned()]);
    let (none, total) = run_query(store, &ctx("tenant-c"), &query(ResourceKind::User));
    assert!(none.is_empty() && total == 0, "an unknown tenant is empty");
    store
        .create(&a, ResourceKind::Group, group("ga", "G", &["ua"]))
        .unwrap();
    assert!(
        store
            .get(&b, ResourceKind::Group, "ga", Members::Include)
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        store.modify_members(
            &b,
            "ga",
            &MemberChange {
                add: vec![member("ub")],
                last_modified: T.into(),
                ..Default::default()
            },
            None
        ),
        Err(StoreError::NotFound)
    ));
}

fn member(id: &str) -> Member {
    Member {
        value: id.to_owned(),
        kind: Some("User".to_owned()),
        display: None,
    }
}

/// `if_version` is a compare-and-set for replace, delete and modify_members.
pub fn versions_are_compare_and_set(store: &dyn UserStore) {
    let c = ctx("t1");
    store
        .create(&c, ResourceKind::User, user("u1", "a", json!({})))
        .unwrap();
    let e = store
        .replace(
            &c,
            ResourceKind::User,
            "u1",
            user("u1", "b", json!({})),
            Some(7),
        )
        .expect_err("a stale version must fail");
    assert!(matches!(e, StoreError::PreconditionFailed), "{e:?}");
    let s = store
        .replace(
            &c,
            ResourceKind::User,
            "u1",
            user("u1", "b", json!({})),
            Some(1),
        )
        .expect("the current version succeeds");
    assert_eq!(s.version, 2);
    assert!(matches!(
        store.delete(&c, ResourceKind::User, "u1", Some(1)),
        Err(StoreError::PreconditionFailed)
    ));
    store.delete(&c, ResourceKind::User, "u1", Some(2)).unwrap();
    store
        .create(&c, ResourceKind::Group, group("g1", "G", &[]))
        .unwrap();
    let change = MemberChange {
        add: vec![member("x")],
        last_modified: "2024-02-02T00:00:00.000Z".into(),
        ..Default::default()
    };
    assert!(matches!(
        store.modify_members(&c, "g1", &change, Some(9)),
        Err(StoreError::PreconditionFailed)
    ));
    let g = store.modify_members(&c, "g1", &change, Some(1)).unwrap();
    assert_eq!(g.version, 2, "modify_members bumps the version");
    assert_eq!(
        g.resource["meta"]["lastModified"],
        "2024-02-02T00:00:00.000Z"
    );
    assert!(matches!(
        store.modify_members(&c, "nope", &change, None),
        Err(StoreError::NotFound)
    ));
}

fn sample_users(store: &dyn UserStore, c: &Ctx) {
    let people = [
        (
            "u01",
            "alice@contoso.com",
            "Alice",
            "Smith",
            "Engineering",
            true,
            "E-01",
            "work",
        ),
        (
            "u02",
            "Bob@Contoso.com",
            "Bob",
            "Jones",
            "Sales",
            true,
            "E-02",
            "home",
        ),
        (
            "u03",
            "carol@fabrikam.com",
            "Carol",
            "O'Brien",
            "Engineering",
            false,
            "e-03",
            "work",
        ),
        (
            "u04",
            "dave@contoso.com",
            "Dave",
            "smith",
            "Marketing",
            true,
            "E-04",
            "work",
        ),
        (
            "u05",
            "eve@fabrikam.com",
            "Eve",
            "Adams",
            "Sales",
            false,
            "E-05",
            "other",
        ),
        (
            "u06",
            "frank@contoso.com",
            "Frank",
            "Zimmer",
            "",
            true,
            "E-06",
            "work",
        ),
        (
            "u07",
            "grace@contoso.com",
            "Grace",
            "Hopper",
            "Engineering",
            true,
            "E-07",
            "home",
        ),
        (
            "u08",
            "heidi@example.org",
            "Heidi",
            "Klum",
            "Design",
            true,
            "E-08",
            "work",
        ),
        (
            "u09",
            "ivan@example.org",
            "Ivan",
            "Petrov",
            "Design",
            false,
            "E-09",
            "work",
        ),
        (
            "u10",
            "judy@contoso.com",
            "Judy",
            "Smithers",
            "Sales",
            true,
            "E-10",
            "work",
        ),
        (
            "u11",
            "mallory@contoso.com",
            "Mallory",
            "Évian",
            "Security",
            true,
            "E-11",
            "work",
        ),
        (
            "u12",
            "zed@contoso.com",
            "Zed",
            "Zed",
            "Engineering",
            true,
            "E-12",
            "work",
        ),
    ];
    for (i, (id, un, given, family, dept, active, ext, etype)) in people.iter().enumerate() {
        let mut extra = json!({
            "externalId": ext,
            "displayName": format!("{given} {family}"),
            "name": {"givenName": given, "familyName": family},
            "active": active,
            "emails": [{"value": un.to_lowercase(), "type": etype, "primary": true}],
            "meta": {"resourceType": "User",
                     "created": format!("2024-01-{:02}T00:00:00.000Z", i + 1),
                     "lastModified": format!("2024-02-{:02}T00:00:00.000Z", 12 - i)},
        });
        if !dept.is_empty() {
            extra[ENTERPRISE_USER_SCHEMA] =
                json!({"department": dept, "employeeNumber": format!("{}", 100 + i)});
        }
        if i % 3 == 0 {
            extra["title"] = json!("Engineer");
        }
        if i == 4 {
            extra["emails"] = json!([
                {"value": "eve@fabrikam.com", "type": "work"},
                {"value": "eve@home.example", "type": "home", "primary": true}
            ]);
        }
        store
            .create(c, ResourceKind::User, user(id, un, extra))
            .unwrap();
    }
    // A user with nothing but a userName: absent attributes for `pr`, `eq null`
    // and `ne` to see.
    store
        .create(
            c,
            ResourceKind::User,
            user("u13", "nobody@nowhere.test", json!({})),
        )
        .unwrap();
}

/// Every filter operator gives the same answer through the store (push-down or
/// not) as the engine's evaluator over all resources.
pub fn filters_agree_with_the_evaluator(store: &dyn UserStore) {
    let c = ctx("t1");
    sample_users(store, &c);
    store
        .create(
            &ctx("other"),
            ResourceKind::User,
            user("x1", "alice@contoso.com", json!({})),
        )
        .unwrap();
    let all = store
        .query(&c, ResourceKind::User, &query(ResourceKind::User))
        .unwrap();
    assert_eq!(all.total_results, 13);
    for f in [
        r#"userName eq "alice@contoso.com""#,
        r#"userName eq "BOB@contoso.com""#,
        r#"userName eq "nobody""#,
        r#"userName ne "alice@contoso.com""#,
        r#"userName co "CONTOSO""#,
        r#"userName sw "a""#,
        r#"userName ew ".org""#,
        r#"userName gt "dave@contoso.com""#,
        r#"userName ge "dave@contoso.com""#,
        r#"userName lt "dave@contoso.com""#,
        r#"userName le "dave@contoso.com""#,
        r#"externalId eq "E-01""#,
        r#"externalId eq "e-01""#,
        r#"externalId sw "E""#,
        r#"id eq "u03""#,
        r#"id eq "u03" or id eq "u04""#,
        r#"id eq "u03" and emails co "contoso""#,
        r#"emails[type eq "work"] and id eq "u04""#,
        r#"id eq "u03" and not (emails.value pr)"#,
        r#"id eq "u01" and (emails.type eq "home" or emails.value ew "fabrikam.com")"#,
        r#"displayName eq "alice smith""#,
        r#"displayName co "smith""#,
        r#"name.familyName eq "SMITH""#,
        r#"name.familyName sw "smith""#,
        r#"name.familyName co "'""#,
        r#"name.familyName eq "évian""#,
        "title pr",
        "not (title pr)",
        "active eq true",
        "active eq false",
        "active ne true",
        r#"emails.value eq "eve@fabrikam.com""#,
        r#"emails co "fabrikam""#,
        r#"emails[type eq "work" and value ew "contoso.com"]"#,
        r#"emails[primary eq true and type eq "home"]"#,
        r#"emails.type eq "home""#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "engineering""#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department pr"#,
        r#"meta.created gt "2024-01-06T00:00:00Z""#,
        r#"meta.lastModified le "2024-02-05T00:00:00.000Z""#,
        r#"userName sw "a" and active eq true"#,
        r#"(userName sw "a" or userName sw "b") and not (active eq false)"#,
        r#"userName eq "alice@contoso.com" and externalId eq "E-02""#,
        r#"nickName eq null"#,
        r#"title eq null"#,
        r#"title ne null"#,
        r#"nickName ne null"#,
        r#"externalId ne null"#,
        r#"displayName ne null"#,
        r#"emails.value ne null"#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department ne null"#,
        r#"emails[type ne null and value co "contoso"]"#,
    ] {
        let q = query(ResourceKind::User).with_filter(f).unwrap();
        let expected: Vec<String> = all
            .resources
            .iter()
            .filter(|s| q.matches(&s.resource))
            .map(|s| s.id.clone())
            .collect();
        let (mut got, total) = run_query(store, &c, &q);
        assert_eq!(total, expected.len(), "totalResults for {f}");
        got.sort();
        assert_eq!(got, expected, "matches for {f}");
    }
    // Groups: displayName and membership filters.
    store
        .create(
            &c,
            ResourceKind::Group,
            group("g1", "Engineering", &["u01", "u03"]),
        )
        .unwrap();
    store
        .create(&c, ResourceKind::Group, group("g2", "Sales", &["u02"]))
        .unwrap();
    store
        .create(&c, ResourceKind::Group, group("g3", "engineering", &[]))
        .unwrap();
    for (f, expected) in [
        (r#"displayName eq "Engineering""#, vec!["g1", "g3"]),
        (r#"members[value eq "u01"]"#, vec!["g1"]),
        (r#"members[value eq "U01"]"#, vec!["g1"]),
        (r#"members.value eq "u02""#, vec!["g2"]),
        (r#"members.value eq "U02""#, vec!["g2"]),
        (r#"id eq "g1" and members[value eq "u03"]"#, vec!["g1"]),
        (r#"id eq "g1" and members[value eq "u02"]"#, vec![]),
        (r#"members[value eq "u03"] and id eq "g1""#, vec!["g1"]),
        (r#"id eq "g1" and not (members[value eq "u03"])"#, vec![]),
        (
            r#"id eq "g2" and not (members[value eq "u01"])"#,
            vec!["g2"],
        ),
        (
            r#"id eq "g1" and (members[value eq "u02"] or members.value eq "U01")"#,
            vec!["g1"],
        ),
        (
            r#"id eq "g3" and (members pr or displayName eq "ENGINEERING")"#,
            vec!["g3"],
        ),
        (r#"members pr"#, vec!["g1", "g2"]),
    ] {
        let q = query(ResourceKind::Group).with_filter(f).unwrap();
        let (mut got, total) = run_query(store, &c, &q);
        got.sort();
        assert_eq!(got, expected, "groups matching {f}");
        assert_eq!(total, expected.len(), "totalResults for {f}");
    }
}

/// `sortBy`/`sortOrder` give the reference order ([`Query::compare`]).
pub fn sort_agrees_with_the_reference_order(store: &dyn UserStore) {
    let c = ctx("t1");
    sample_users(store, &c);
    let all = store
        .query(&c, ResourceKind::User, &query(ResourceKind::User))
        .unwrap();
    for (path, descending) in [
        ("userName", false),
        ("userName", true),
        ("name.familyName", false),
        ("meta.lastModified", true),
        ("title", false),
        ("emails", false),
    ] {
        let sort = Sort {
            path: crate::filter::parse_attr_path(path).unwrap().unwrap(),
            descending,
        };
        let q = query(ResourceKind::User).sort(Some(sort));
        let mut expected: Vec<&super::Stored> = all.resources.iter().collect();
        expected.sort_by(|a, b| q.compare(&a.resource, &b.resource));
        let expected: Vec<String> = expected.iter().map(|s| s.id.clone()).collect();
        let (got, _) = run_query(store, &c, &q);
        assert_eq!(
            got, expected,
            "order for sortBy={path} descending={descending}"
        );
    }
    // Sort with a filter and a page.
    let q = query(ResourceKind::User)
        .with_filter(r#"userName co "contoso""#)
        .unwrap()
        .sort(Some(Sort {
            path: AttrPath::simple("userName"),
            descending: false,
        }))
        .page(PageRequest::Index {
            start_index: 2,
            count: 3,
        });
    let (got, total) = run_query(store, &c, &q);
    assert_eq!(total, 8);
    assert_eq!(got, vec!["u02", "u04", "u06"]);
}

/// startIndex/count: pages cover everything once; totals are totals.
pub fn index_paging(store: &dyn UserStore) {
    let c = ctx("t1");
    for i in 0..23 {
        store
            .create(
                &c,
                ResourceKind::User,
                user(&format!("p{i:02}"), &format!("user{i}"), json!({})),
            )
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut start = 1;
    for _ in 0..10 {
        let q = query(ResourceKind::User).page(PageRequest::Index {
            start_index: start,
            count: 5,
        });
        let (page, total) = run_query(store, &c, &q);
        assert_eq!(total, 23, "totalResults is the number of all matches");
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 5);
        seen.extend(page);
        start += 5;
    }
    let unique: BTreeSet<_> = seen.iter().cloned().collect();
    assert_eq!(seen.len(), 23, "paging returns every resource exactly once");
    assert_eq!(unique.len(), 23);
    let q = query(ResourceKind::User).page(PageRequest::Index {
        start_index: 1,
        count: 0,
    });
    let (page, total) = run_query(store, &c, &q);
    assert!(
        page.is_empty() && total == 23,
        "count=0 returns only the total"
    );
    let q = query(ResourceKind::User).page(PageRequest::Index {
        start_index: 100,
        count: 10,
    });
    let (page, total) = run_query(store, &c, &q);
    assert!(
        page.is_empty() && total == 23,
        "a start past the end is an empty page"
    );
}

/// Cursor paging (RFC 9865): following `next_cursor` visits everything once.
pub fn cursor_paging(store: &dyn UserStore) {
    let c = ctx("t1");
    for i in 0..17 {
        store
            .create(
                &c,
                ResourceKind::User,
                user(
                    &format!("c{i:02}"),
                    &format!("cu{i}"),
                    json!({"active": i % 2 == 0}),
                ),
            )
            .unwrap();
    }
    for filter in [None, Some("active eq true")] {
        let mut seen = Vec::new();
        let mut cursor = None;
        let expected = if filter.is_some() { 9 } else { 17 };
        for _ in 0..20 {
            let mut q = query(ResourceKind::User).page(PageRequest::Cursor {
                cursor: cursor.clone(),
                count: 4,
            });
            if let Some(f) = filter {
                q = q.with_filter(f).unwrap();
            }
            let page = match store.query(&c, ResourceKind::User, &q) {
                Err(StoreError::Unsupported) => return, // the engine pages itself
                other => other.expect("cursor query"),
            };
            assert_eq!(page.total_results, expected);
            seen.extend(ids(&page));
            match page.next_cursor {
                Some(n) => cursor = Some(n),
                None => break,
            }
        }
        let unique: BTreeSet<_> = seen.iter().cloned().collect();
        assert_eq!(
            seen.len(),
            expected,
            "cursor paging with filter {filter:?} visits every match once"
        );
        assert_eq!(unique.len(), expected);
        // One page holding every match: the same total, no next cursor.
        let mut q = query(ResourceKind::User).page(PageRequest::Cursor {
            cursor: None,
            count: 100,
        });
        if let Some(f) = filter {
            q = q.with_filter(f).unwrap();
        }
        let page = store.query(&c, ResourceKind::User, &q).expect("one page");
        assert_eq!(page.total_results, expected);
        assert_eq!(page.resources.len(), expected);
        assert!(page.next_cursor.is_none(), "no page after the last");
    }
    let q = query(ResourceKind::User).page(PageRequest::Cursor {
        cursor: Some("garbage!".into()),
        count: 4,
    });
    assert!(
        matches!(
            store.query(&c, ResourceKind::User, &q),
            Err(StoreError::InvalidCursor)
        ),
        "a malformed cursor is InvalidCursor"
    );
}

/// modify_members adds and removes exactly the given members.
pub fn membership_deltas(store: &dyn UserStore) {
    let c = ctx("t1");
    store
        .create(&c, ResourceKind::Group, group("g1", "G", &["a", "b"]))
        .unwrap();
    let change = MemberChange {
        add: vec![member("c"), member("b"), member("d")],
        remove: vec!["a".into(), "zzz".into()],
        remove_all: false,
        last_modified: "2024-03-03T00:00:00.000Z".into(),
    };
    store.modify_members(&c, "g1", &change, None).unwrap();
    let g = store
        .get(&c, ResourceKind::Group, "g1", Members::Include)
        .unwrap()
        .unwrap();
    assert_eq!(
        member_ids(&g.resource),
        ["b", "c", "d"]
            .iter()
            .map(|s| s.to_string())
            .collect::<BTreeSet<_>>(),
        "add is idempotent for present members, remove ignores absent ones"
    );
    assert_eq!(g.resource["displayName"], "G", "other attributes are kept");
    assert_eq!(
        g.resource["meta"]["lastModified"],
        "2024-03-03T00:00:00.000Z"
    );
    let all = MemberChange {
        add: vec![member("e")],
        remove_all: true,
        last_modified: T.into(),
        ..Default::default()
    };
    store.modify_members(&c, "g1", &all, None).unwrap();
    let g = store
        .get(&c, ResourceKind::Group, "g1", Members::Include)
        .unwrap()
        .unwrap();
    assert_eq!(
        member_ids(&g.resource),
        BTreeSet::from(["e".to_owned()]),
        "remove_all then add"
    );
    // Large groups: 2 000 members in batches of 50.
    store
        .create(&c, ResourceKind::Group, group("big", "Big", &[]))
        .unwrap();
    for batch in 0..40 {
        let change = MemberChange {
            add: (0..50)
                .map(|i| member(&format!("m{}", batch * 50 + i)))
                .collect(),
            last_modified: T.into(),
            ..Default::default()
        };
        store.modify_members(&c, "big", &change, None).unwrap();
    }
    let g = store
        .get(&c, ResourceKind::Group, "big", Members::Include)
        .unwrap()
        .unwrap();
    assert_eq!(member_ids(&g.resource).len(), 2000);
    assert_eq!(g.version, 41);
}

/// Deleting a user removes it from every group.
pub fn delete_cascades_to_groups(store: &dyn UserStore) {
    let c = ctx("t1");
    store
        .create(&c, ResourceKind::User, user("u1", "a", json!({})))
        .unwrap();
    store
        .create(&c, ResourceKind::User, user("u2", "b", json!({})))
        .unwrap();
    store
        .create(&c, ResourceKind::Group, group("g1", "G1", &["u1", "u2"]))
        .unwrap();
    store
        .create(&c, ResourceKind::Group, group("g2", "G2", &["u1"]))
        .unwrap();
    let before = store
        .get(&c, ResourceKind::Group, "g2", Members::Include)
        .unwrap()
        .unwrap()
        .version;
    store.delete(&c, ResourceKind::User, "u1", None).unwrap();
    let g1 = store
        .get(&c, ResourceKind::Group, "g1", Members::Include)
        .unwrap()
        .unwrap();
    let g2 = store
        .get(&c, ResourceKind::Group, "g2", Members::Include)
        .unwrap()
        .unwrap();
    assert_eq!(member_ids(&g1.resource), BTreeSet::from(["u2".to_owned()]));
    assert!(member_ids(&g2.resource).is_empty());
    assert!(
        g2.version > before,
        "a cascade is a change: the group's version grows"
    );
    let q = query(ResourceKind::Group)
        .with_filter(r#"members[value eq "u1"]"#)
        .unwrap();
    assert!(
        run_query(store, &c, &q).0.is_empty(),
        "no group still lists a deleted user"
    );
}

/// Members::Exclude may leave members out, Include never does.
pub fn members_can_be_excluded(store: &dyn UserStore) {
    let c = ctx("t1");
    store
        .create(&c, ResourceKind::Group, group("g1", "G", &["a", "b"]))
        .unwrap();
    let g = store
        .get(&c, ResourceKind::Group, "g1", Members::Exclude)
        .unwrap()
        .unwrap();
    assert_eq!(g.resource["displayName"], "G");
    let q = query(ResourceKind::Group).members(Members::Exclude);
    let page = store.query(&c, ResourceKind::Group, &q).unwrap();
    assert_eq!(page.resources.len(), 1);
    let q = query(ResourceKind::Group);
    let page = store.query(&c, ResourceKind::Group, &q).unwrap();
    assert_eq!(
        member_ids(&page.resources[0].resource).len(),
        2,
        "Include returns members"
    );
}

/// Threads writing at once lose nothing.
pub fn concurrent_writers_lose_nothing(store: &dyn UserStore) {
    const THREADS: usize = 8;
    const EACH: usize = 25;
    let c = ctx("t1");
    store
        .create(&c, ResourceKind::Group, group("g", "G", &[]))
        .unwrap();
    store
        .create(
            &c,
            ResourceKind::User,
            user("counter", "counter", json!({"nickName": "0"})),
        )
        .unwrap();
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let c = c.clone();
            s.spawn(move || {
                for i in 0..EACH {
                    let id = format!("t{t}-{i}");
                    store
                        .create(&c, ResourceKind::User, user(&id, &id, json!({})))
                        .unwrap();
                    let change = MemberChange {
                        add: vec![member(&id)],
                        last_modified: T.into(),
                        ..Default::default()
                    };
                    store.modify_members(&c, "g", &change, None).unwrap();
                    // Read-modify-write of a counter with compare-and-set; bounded retries.
                    let mut done = false;
                    for _ in 0..10_000 {
                        let cur = store
                            .get(&c, ResourceKind::User, "counter", Members::Include)
                            .unwrap()
                            .unwrap();
                        let n: u64 = cur.resource["nickName"].as_str().unwrap().parse().unwrap();
                        let next = user(
                            "counter",
                            "counter",
                            json!({"nickName": (n + 1).to_string()}),
                        );
                        match store.replace(
                            &c,
                            ResourceKind::User,
                            "counter",
                            next,
                            Some(cur.version),
                        ) {
                            Ok(_) => {
                                done = true;
                                break;
                            }
                            Err(StoreError::PreconditionFailed) => continue,
                            Err(e) => panic!("counter replace: {e:?}"),
                        }
                    }
                    assert!(done, "compare-and-set retries exhausted");
                }
            });
        }
    });
    let total = THREADS * EACH;
    let g = store
        .get(&c, ResourceKind::Group, "g", Members::Include)
        .unwrap()
        .unwrap();
    assert_eq!(member_ids(&g.resource).len(), total, "no member lost");
    let counter = store
        .get(&c, ResourceKind::User, "counter", Members::Include)
        .unwrap()
        .unwrap();
    assert_eq!(
        counter.resource["nickName"],
        total.to_string(),
        "no update lost"
    );
    let (_, users) = run_query(store, &c, &query(ResourceKind::User));
    assert_eq!(users, total + 1, "no create lost");
}

/// 64 SCIM clients at once, through the engine, on the same users and groups:
/// PATCH (emails added, titles replaced), PUT with `If-Match`, group member adds
/// and removes, creates and DELETEs. Checks: no 5xx, no deadlock (bounded
/// time), no lost update (every acknowledged email and member is present, every
/// acknowledged removal absent, nothing unacknowledged applied), and versions
/// that grow with every acknowledged change.
///
/// For any store: `testkit::concurrent_clients(Arc::new(store))`.
pub fn concurrent_clients(store: Arc<dyn UserStore>) {
    use std::collections::HashSet;
    use std::sync::mpsc;
    use std::time::Duration;

    use bytes::Bytes;

    const CLIENTS: usize = 64;
    const OPS: usize = 12;
    const USERS: usize = 8;
    let server = crate::ScimServer::builder()
        .shared_store(store)
        .token("t", "conc")
        .build()
        .expect("server");
    let call = |method: &str,
                uri: &str,
                body: Option<Value>,
                if_match: Option<&str>|
     -> (u16, Value, Option<String>) {
        let mut req = http::Request::builder()
            .method(method)
            .uri(format!("/scim/v2{uri}"))
            .header("authorization", "Bearer t");
        if let Some(m) = if_match {
            req = req.header("if-match", m);
        }
        let resp = server.handle(
            req.body(body.map(|b| Bytes::from(b.to_string())).unwrap_or_default())
                .expect("request"),
        );
        let status = resp.status().as_u16();
        let etag = resp
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let v = if resp.body().is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(resp.body()).expect("JSON body")
        };
        assert!(status < 500, "{method} {uri}: {status} {v}");
        (status, v, etag)
    };
    let mut users = Vec::new();
    for u in 0..USERS {
        let (st, v, _) = call(
            "POST",
            "/Users",
            Some(json!({"userName": format!("shared{u}")})),
            None,
        );
        assert_eq!(st, 201, "{v}");
        users.push(v["id"].as_str().expect("id").to_owned());
    }
    let (_, g, _) = call(
        "POST",
        "/Groups",
        Some(json!({"displayName": "shared"})),
        None,
    );
    let gid = g["id"].as_str().expect("id").to_owned();
    // What each client got acknowledged.
    #[derive(Default)]
    struct Acks {
        emails: Vec<(usize, String)>,
        members_added: Vec<String>,
        members_removed: Vec<String>,
        deleted: Vec<String>,
    }
    let (done_tx, done_rx) = mpsc::channel::<Acks>();
    std::thread::scope(|s| {
        for c in 0..CLIENTS {
            let done_tx = done_tx.clone();
            let (call, users, gid) = (&call, &users, &gid);
            s.spawn(move || {
                let mut acks = Acks::default();
                for k in 0..OPS {
                    let u = (c + k) % USERS;
                    let uid = &users[u];
                    match (c + k) % 6 {
                        0 | 1 => {
                            let email = format!("c{c}-k{k}@x.example");
                            let (st, _, _) = call("PATCH", &format!("/Users/{uid}"), Some(json!({"Operations": [{"op": "add", "path": "emails", "value": [{"value": email}]}]})), None);
                            assert!(st == 200 || st == 409, "email add: {st}");
                            if st == 200 {
                                acks.emails.push((u, email));
                            }
                        }
                        2 => {
                            let (st, _, _) = call("PATCH", &format!("/Users/{uid}"), Some(json!({"Operations": [{"op": "Replace", "path": "title", "value": format!("c{c}")}]})), None);
                            assert!(st == 200 || st == 409, "title: {st}");
                        }
                        3 => {
                            // Read-modify-write with If-Match: 200 or 412, never a lost update.
                            let (st, cur, etag) = call("GET", &format!("/Users/{uid}"), None, None);
                            assert_eq!(st, 200);
                            let mut body = cur.clone();
                            body["nickName"] = json!(format!("c{c}-k{k}"));
                            let (st, _, _) = call("PUT", &format!("/Users/{uid}"), Some(body), etag.as_deref());
                            assert!(st == 200 || st == 412, "PUT If-Match: {st}");
                        }
                        4 => {
                            let m = format!("m-c{c}-k{k}");
                            let (st, _, _) = call("PATCH", &format!("/Groups/{gid}"), Some(json!({"Operations": [{"op": "Add", "path": "members", "value": [{"value": m}]}]})), None);
                            assert!(st == 204 || st == 503, "member add: {st}");
                            if st == 204 {
                                acks.members_added.push(m.clone());
                                if k % 2 == 0 {
                                    let (st, _, _) = call("PATCH", &format!("/Groups/{gid}"), Some(json!({"Operations": [{"op": "Remove", "path": format!("members[value eq \"{m}\"]")}]})), None);
                                    assert!(st == 204 || st == 503, "member remove: {st}");
                                    if st == 204 {
                                        acks.members_removed.push(m);
                                    }
                                }
                            }
                        }
                        _ => {
                            let (st, v, _) = call("POST", "/Users", Some(json!({"userName": format!("own-c{c}-k{k}")})), None);
                            assert_eq!(st, 201, "{v}");
                            let id = v["id"].as_str().expect("id").to_owned();
                            let (st, _, _) = call("DELETE", &format!("/Users/{id}"), None, None);
                            assert_eq!(st, 204);
                            acks.deleted.push(id);
                        }
                    }
                }
                done_tx.send(acks).expect("report");
            });
        }
        drop(done_tx);
        // No deadlock: every client reports within the bound.
        let mut all = Vec::new();
        for _ in 0..CLIENTS {
            all.push(
                done_rx
                    .recv_timeout(Duration::from_secs(300))
                    .expect("a client did not finish in 300 s (deadlock?)"),
            );
        }
        let mut want_emails: Vec<HashSet<String>> = vec![HashSet::new(); USERS];
        let mut want_members = HashSet::new();
        for a in &all {
            for (u, e) in &a.emails {
                want_emails[*u].insert(e.clone());
            }
            want_members.extend(a.members_added.iter().cloned());
        }
        for a in &all {
            for m in &a.members_removed {
                want_members.remove(m);
            }
        }
        for (u, uid) in users.iter().enumerate() {
            let (_, v, _) = call("GET", &format!("/Users/{uid}"), None, None);
            let got: HashSet<String> = v["emails"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|e| e["value"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            assert_eq!(
                got, want_emails[u],
                "user {u}: acknowledged emails and stored emails differ"
            );
        }
        let (_, g, _) = call("GET", &format!("/Groups/{gid}"), None, None);
        let got: HashSet<String> = member_ids(&g).into_iter().collect();
        assert_eq!(
            got, want_members,
            "group membership differs from the acknowledged operations"
        );
        for a in &all {
            for id in &a.deleted {
                assert_eq!(call("GET", &format!("/Users/{id}"), None, None).0, 404);
            }
        }
    });
}

/// `get_shared` and `query_shared` answer what `get` and `query` answer, and a
/// shared resource is a snapshot: later writes do not change it.
pub fn shared_reads_agree(store: &dyn UserStore) {
    let c = ctx("t1");
    store
        .create(
            &c,
            ResourceKind::User,
            user("u1", "alice", json!({"active": true})),
        )
        .expect("create");
    store
        .create(&c, ResourceKind::User, user("u2", "bob", json!({})))
        .expect("create");
    store
        .create(&c, ResourceKind::Group, group("g1", "Staff", &["u1", "u2"]))
        .expect("create");
    store
        .create(&c, ResourceKind::Group, group("g2", "Empty", &[]))
        .expect("create");
    let reads = [
        (ResourceKind::User, "u1"),
        (ResourceKind::User, "u2"),
        (ResourceKind::User, "nobody"),
        (ResourceKind::Group, "g1"),
        (ResourceKind::Group, "g2"),
    ];
    for (kind, id) in reads {
        for members in [Members::Include, Members::Exclude] {
            let owned = store.get(&c, kind, id, members).expect("get");
            let shared = store.get_shared(&c, kind, id, members).expect("get_shared");
            assert_eq!(
                shared.map(|s| (s.id, tree(&s.resource), s.version)),
                owned.map(|s| (s.id, s.resource, s.version)),
                "get_shared({id}, {members:?}) differs from get"
            );
        }
    }
    let f = |kind, text: &str| {
        let rs = Arc::clone(registry().get(kind));
        let filter = crate::filter::parse(text)
            .ok()
            .and_then(|f| crate::filter::resolve(&f, &rs).ok())
            .expect("filter");
        Query::all(rs).filter(Some(filter))
    };
    let queries = [
        (ResourceKind::User, query(ResourceKind::User)),
        (
            ResourceKind::User,
            f(ResourceKind::User, r#"userName eq "ALICE""#),
        ),
        (
            ResourceKind::User,
            query(ResourceKind::User).sort(Some(Sort {
                path: AttrPath::new(None, "userName", None),
                descending: true,
            })),
        ),
        (ResourceKind::Group, query(ResourceKind::Group)),
        (
            ResourceKind::Group,
            query(ResourceKind::Group).members(Members::Exclude),
        ),
        (
            ResourceKind::Group,
            f(ResourceKind::Group, r#"members[value eq "u2"]"#),
        ),
    ];
    for (kind, q) in &queries {
        match (store.query(&c, *kind, q), store.query_shared(&c, *kind, q)) {
            (Ok(owned), Ok(shared)) => {
                assert_eq!(shared.total_results, owned.total_results);
                assert_eq!(shared.next_cursor, owned.next_cursor);
                let shared: Vec<(String, Value, u64)> = shared
                    .resources
                    .into_iter()
                    .map(|s| (s.id, tree(&s.resource), s.version))
                    .collect();
                let owned: Vec<(String, Value, u64)> = owned
                    .resources
                    .into_iter()
                    .map(|s| (s.id, s.resource, s.version))
                    .collect();
                assert_eq!(shared, owned, "query_shared differs from query");
            }
            (Err(StoreError::Unsupported), Err(StoreError::Unsupported)) => {}
            (a, b) => panic!(
                "query and query_shared disagree: {:?} / {:?}",
                a.map(|p| p.total_results),
                b.map(|p| p.total_results)
            ),
        }
    }
    // A shared read is a snapshot.
    let before = store
        .get_shared(&c, ResourceKind::Group, "g1", Members::Exclude)
        .expect("get_shared")
        .expect("g1");
    let user_before = store
        .get_shared(&c, ResourceKind::User, "u1", Members::Include)
        .expect("get_shared")
        .expect("u1");
    let snapshot = tree(&before.resource);
    let change = MemberChange {
        remove: vec!["u1".into()],
        last_modified: "2030-01-01T00:00:00.000Z".into(),
        ..MemberChange::default()
    };
    store
        .modify_members(&c, "g1", &change, None)
        .expect("modify_members");
    store
        .replace(
            &c,
            ResourceKind::User,
            "u1",
            user("u1", "alice3", json!({})),
            None,
        )
        .expect("replace");
    assert_eq!(
        tree(&before.resource),
        snapshot,
        "a shared group changed under its reader"
    );
    assert_eq!(
        tree(&user_before.resource)["userName"],
        "alice",
        "a shared user changed under its reader"
    );
}

/// The tree of a shared resource. Text must parse, and be exactly what
/// `serde_json` writes for that tree (the engine copies it into responses).
fn tree(shared: &SharedJson) -> Value {
    let tree = Value::clone(&shared.tree().expect("the shared JSON text parses"));
    if let Some(text) = shared.as_text() {
        assert_eq!(
            text,
            serde_json::to_string(&tree).expect("serialise"),
            "shared JSON text is serde_json's compact form of the resource"
        );
    }
    tree
}

/// `create_shared` and `replace_shared` behave as `create` and `replace`:
/// they answer what a following `get` reads, enforce uniqueness and versions
/// the same way, and what they hand out is a snapshot.
pub fn shared_writes_agree(store: &dyn UserStore) {
    let c = ctx("t1");
    let same = |kind, s: &SharedStored| {
        let got = store
            .get(&c, kind, &s.id, Members::Include)
            .expect("get")
            .expect("present");
        assert_eq!(
            (&got.id, &got.resource, got.version),
            (&s.id, &tree(&s.resource), s.version),
            "a shared write answers what get reads"
        );
    };
    let u1 = store
        .create_shared(
            &c,
            ResourceKind::User,
            user("u1", "alice", json!({"active": true})),
        )
        .expect("create_shared");
    same(ResourceKind::User, &u1);
    let u2 = store
        .create(&c, ResourceKind::User, user("u2", "bob", json!({})))
        .expect("create");
    assert!(matches!(
        store.create_shared(&c, ResourceKind::User, user("u3", "ALICE", json!({}))),
        Err(StoreError::Uniqueness { .. })
    ));
    let g = store
        .create_shared(&c, ResourceKind::Group, group("g1", "Staff", &["u1"]))
        .expect("create_shared group");
    same(ResourceKind::Group, &g);
    assert_eq!(
        member_ids(&tree(&g.resource)),
        BTreeSet::from(["u1".to_owned()])
    );

    let r = store
        .replace_shared(
            &c,
            ResourceKind::User,
            "u1",
            user("u1", "alice", json!({"active": false})),
            Some(u1.version),
        )
        .expect("replace_shared");
    assert!(r.version != u1.version, "a replace gives a new version");
    same(ResourceKind::User, &r);
    assert_eq!(
        tree(&u1.resource)["active"],
        json!(true),
        "handed out: a snapshot"
    );
    assert!(matches!(
        store.replace_shared(
            &c,
            ResourceKind::User,
            "u1",
            user("u1", "alice", json!({})),
            Some(u1.version),
        ),
        Err(StoreError::PreconditionFailed)
    ));
    assert!(matches!(
        store.replace_shared(
            &c,
            ResourceKind::User,
            "u1",
            user("u1", "Bob", json!({})),
            None,
        ),
        Err(StoreError::Uniqueness { .. })
    ));
    assert!(matches!(
        store.replace_shared(
            &c,
            ResourceKind::User,
            "nobody",
            user("nobody", "carol", json!({})),
            None,
        ),
        Err(StoreError::NotFound)
    ));
    let rg = store
        .replace_shared(
            &c,
            ResourceKind::Group,
            "g1",
            group("g1", "Staff", &["u1", &u2.id]),
            Some(g.version),
        )
        .expect("replace_shared group");
    same(ResourceKind::Group, &rg);
    assert_eq!(
        member_ids(&tree(&rg.resource)),
        BTreeSet::from(["u1".to_owned(), "u2".to_owned()])
    );
}

/// `groups_of` (when the store answers it) lists what the query
/// `members[value eq "<id>"]` finds, in id order, with display names, within
/// the tenant, and follows membership changes and deletes.
pub fn groups_of_agrees_with_query(store: &dyn UserStore) {
    let c = ctx("t1");
    for (id, name) in [("u1", "alice"), ("u2", "bob"), ("u3", "carol")] {
        store
            .create(&c, ResourceKind::User, user(id, name, json!({})))
            .expect("create user");
    }
    for (id, name, members) in [
        ("g2", "Sales", &["u1", "u2"][..]),
        ("g1", "Staff", &["u1"][..]),
        ("g3", "Nested", &["g1", "u2"][..]),
    ] {
        store
            .create(&c, ResourceKind::Group, group(id, name, members))
            .expect("create group");
    }
    // The same member id in another tenant's group must not show.
    store
        .create(
            &ctx("t2"),
            ResourceKind::Group,
            group("gx", "Other", &["u1"]),
        )
        .expect("create group");
    let by_query = |member: &str| -> Vec<(String, Option<String>)> {
        let rs = Arc::clone(registry().get(ResourceKind::Group));
        let text = format!(r#"members[value eq "{member}"]"#);
        let filter = crate::filter::parse(&text)
            .ok()
            .and_then(|f| crate::filter::resolve(&f, &rs).ok())
            .expect("filter");
        let q = Query::all(rs)
            .filter(Some(filter))
            .members(Members::Exclude);
        let (ids, _) = run_query(store, &c, &q);
        ids.into_iter()
            .map(|id| {
                let g = store
                    .get(&c, ResourceKind::Group, &id, Members::Exclude)
                    .expect("get")
                    .expect("group");
                let name = g.resource["displayName"].as_str().map(str::to_owned);
                (id, name)
            })
            .collect()
    };
    let check = |member: &str, expected: &[(&str, &str)]| {
        let wanted: Vec<(String, Option<String>)> = expected
            .iter()
            .map(|(id, name)| ((*id).to_owned(), Some((*name).to_owned())))
            .collect();
        assert_eq!(
            by_query(member),
            wanted,
            "the membership query for {member}"
        );
        match store.groups_of(&c, member) {
            Ok(found) => {
                let found: Vec<(String, Option<String>)> =
                    found.into_iter().map(|g| (g.id, g.display_name)).collect();
                assert_eq!(found, wanted, "groups_of({member})");
            }
            Err(StoreError::Unsupported) => {}
            Err(e) => panic!("groups_of({member}) failed: {e:?}"),
        }
    };
    check("u1", &[("g1", "Staff"), ("g2", "Sales")]);
    check("u2", &[("g2", "Sales"), ("g3", "Nested")]);
    check("g1", &[("g3", "Nested")]);
    check("u3", &[]);
    check("nobody", &[]);
    let change = MemberChange {
        remove: vec!["u1".into()],
        add: vec![Member {
            value: "u3".into(),
            kind: None,
            display: None,
        }],
        last_modified: T.into(),
        ..MemberChange::default()
    };
    store
        .modify_members(&c, "g1", &change, None)
        .expect("modify_members");
    store
        .delete(&c, ResourceKind::Group, "g2", None)
        .expect("delete");
    check("u1", &[]);
    check("u2", &[("g3", "Nested")]);
    check("u3", &[("g1", "Staff")]);
}
