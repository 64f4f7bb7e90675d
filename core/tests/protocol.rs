//! Engine behaviours that depend on configuration: tenants, tokens, `/Me`,
//! custom extensions, unknown-attribute policy, limits, concurrency.

use std::sync::Arc;

use bytes::Bytes;
use scimkit::schema::{AttrType, Attribute, Mutability, Returned, Schema};
use scimkit::{MemoryStore, ScimServer, UnknownAttributes, UserStore};
use serde_json::{Value, json};

fn call(s: &ScimServer, token: &str, method: &str, uri: &str, body: Option<Value>) -> (u16, Value) {
    let req = http::Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/scim+json")
        .body(body.map(|b| Bytes::from(b.to_string())).unwrap_or_default())
        .unwrap();
    let resp = s.handle(req);
    let status = resp.status().as_u16();
    let v = if resp.body().is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(resp.body()).unwrap()
    };
    (status, v)
}

fn two_tenants() -> ScimServer {
    ScimServer::builder()
        .store(MemoryStore::new())
        .token("token-a", "tenant-a")
        .token("token-a2", "tenant-a")
        .token("token-b", "tenant-b")
        .build()
        .unwrap()
}

#[test]
fn tenants_cannot_see_match_or_collide() {
    let s = two_tenants();
    let (st, a) = call(
        &s,
        "token-a",
        "POST",
        "/scim/v2/Users",
        Some(json!({"userName": "same@x.com", "externalId": "E1"})),
    );
    assert_eq!(st, 201);
    let id = a["id"].as_str().unwrap();
    // The second token of tenant A sees it.
    assert_eq!(
        call(&s, "token-a2", "GET", &format!("/scim/v2/Users/{id}"), None).0,
        200
    );
    // Tenant B: 404 (not 403), no filter match, no uniqueness collision.
    for (m, body) in [
        ("GET", None),
        ("DELETE", None),
        ("PUT", Some(json!({"userName": "x"}))),
        (
            "PATCH",
            Some(json!({"Operations": [{"op": "replace", "path": "title", "value": "x"}]})),
        ),
    ] {
        let (st, e) = call(&s, "token-b", m, &format!("/scim/v2/Users/{id}"), body);
        assert_eq!(st, 404, "{m}: {e}");
    }
    for f in [
        "userName%20eq%20%22same%40x.com%22",
        "externalId%20eq%20%22E1%22",
        &format!("id%20eq%20%22{id}%22"),
    ] {
        let (_, l) = call(
            &s,
            "token-b",
            "GET",
            &format!("/scim/v2/Users?filter={f}"),
            None,
        );
        assert_eq!(l["totalResults"], 0, "{f}");
    }
    assert_eq!(
        call(
            &s,
            "token-b",
            "POST",
            "/scim/v2/Users",
            Some(json!({"userName": "SAME@x.com"}))
        )
        .0,
        201
    );
    assert_eq!(
        call(
            &s,
            "token-a",
            "POST",
            "/scim/v2/Users",
            Some(json!({"userName": "SAME@x.com"}))
        )
        .0,
        409
    );
    // Bulk and root search stay in the tenant too.
    let (_, r) = call(
        &s,
        "token-b",
        "POST",
        "/scim/v2/.search",
        Some(json!({"filter": "userName pr"})),
    );
    assert_eq!(r["totalResults"], 1);
}

#[test]
fn me_is_501_unless_mapped() {
    let s = two_tenants();
    assert_eq!(call(&s, "token-a", "GET", "/scim/v2/Me", None).0, 501);
    let store = Arc::new(MemoryStore::new());
    let s = ScimServer::builder()
        .shared_store(store.clone() as Arc<dyn UserStore>)
        .token("t", "tenant")
        .me(|p| (p.tenant == "tenant").then(|| "me-id".to_owned()))
        .build()
        .unwrap();
    // The mapped user does not exist yet: 404.
    assert_eq!(call(&s, "t", "GET", "/scim/v2/Me", None).0, 404);
    store
        .create(&scimkit::Ctx::new("tenant"), scimkit::ResourceKind::User, json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "me-id", "userName": "me",
            "meta": {"resourceType": "User", "created": "2024-01-01T00:00:00.000Z", "lastModified": "2024-01-01T00:00:00.000Z"}}))
        .unwrap();
    let (st, me) = call(&s, "t", "GET", "/scim/v2/Me", None);
    assert_eq!((st, me["userName"].as_str()), (200, Some("me")));
    let (st, me) = call(
        &s,
        "t",
        "PATCH",
        "/scim/v2/Me",
        Some(json!({"Operations": [{"op": "add", "path": "nickName", "value": "Me"}]})),
    );
    assert_eq!((st, me["nickName"].as_str()), (200, Some("Me")));
}

fn custom_extension() -> Schema {
    Schema::new(
        "urn:example:params:scim:schemas:extension:telephony:2.0:User",
        "Telephony",
        vec![
            Attribute::new("extension", AttrType::String).required(),
            Attribute::new("pinCode", AttrType::String)
                .returned(Returned::Never)
                .mutability(Mutability::WriteOnly),
            Attribute::new("licenseTier", AttrType::Integer),
            Attribute::new("siteId", AttrType::String)
                .mutability(Mutability::Immutable)
                .case_exact(),
            Attribute::new("devices", AttrType::Complex)
                .multi()
                .subs(vec![
                    Attribute::new("value", AttrType::String),
                    Attribute::new("type", AttrType::String),
                ]),
        ],
    )
}

#[test]
fn custom_extensions_are_validated_filtered_and_advertised() {
    let urn = "urn:example:params:scim:schemas:extension:telephony:2.0:User";
    let s = ScimServer::builder()
        .store(MemoryStore::new())
        .token("t", "x")
        .user_extension(custom_extension(), false)
        .build()
        .unwrap();
    let (st, u) = call(
        &s,
        "t",
        "POST",
        "/scim/v2/Users",
        Some(json!({
        "userName": "a", "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", urn],
        urn: {"Extension": "4711", "pinCode": "1234", "licenseTier": 2, "siteId": "S1", "devices": [{"value": "d1", "type": "desk"}]}})),
    );
    assert_eq!(st, 201, "{u}");
    assert_eq!(u[urn]["extension"], "4711", "canonical casing");
    assert!(u[urn].get("pinCode").is_none(), "returned: never");
    assert_eq!(u["schemas"][1], urn);
    let id = u["id"].as_str().unwrap();
    let (_, l) = call(
        &s,
        "t",
        "GET",
        &format!("/scim/v2/Users?filter={urn}:licenseTier%20ge%202"),
        None,
    );
    assert_eq!(l["totalResults"], 1);
    let (_, l) = call(
        &s,
        "t",
        "GET",
        &format!("/scim/v2/Users?filter={urn}:devices%5Btype%20eq%20%22desk%22%5D"),
        None,
    );
    assert_eq!(l["totalResults"], 1);
    // Immutable: cannot change once set.
    let (st, e) = call(
        &s,
        "t",
        "PATCH",
        &format!("/scim/v2/Users/{id}"),
        Some(
            json!({"Operations": [{"op": "replace", "path": format!("{urn}:siteId"), "value": "S2"}]}),
        ),
    );
    assert_eq!((st, e["scimType"].as_str()), (400, Some("mutability")));
    // Type checked.
    let (st, e) = call(
        &s,
        "t",
        "PATCH",
        &format!("/scim/v2/Users/{id}"),
        Some(
            json!({"Operations": [{"op": "replace", "path": format!("{urn}:licenseTier"), "value": "two"}]}),
        ),
    );
    assert_eq!((st, e["scimType"].as_str()), (400, Some("invalidValue")));
    // Required attribute of the extension, when the extension is present; a User
    // without the (optional) extension needs none of its attributes.
    let (st, e) = call(
        &s,
        "t",
        "POST",
        "/scim/v2/Users",
        Some(json!({"userName": "b", urn: {"licenseTier": 1}})),
    );
    assert_eq!(
        (st, e["detail"].as_str()),
        (
            400,
            Some(format!("required attribute {urn}:extension is missing").as_str())
        )
    );
    assert_eq!(
        call(
            &s,
            "t",
            "POST",
            "/scim/v2/Users",
            Some(json!({"userName": "c"}))
        )
        .0,
        201
    );
    // Advertised.
    let (_, schemas) = call(&s, "t", "GET", "/scim/v2/Schemas", None);
    assert_eq!(schemas["totalResults"], 4);
    let (st, _) = call(&s, "t", "GET", &format!("/scim/v2/Schemas/{urn}"), None);
    assert_eq!(st, 200);
}

#[test]
fn custom_extension_from_json_and_required_extension() {
    let json = json!({"id": "urn:example:ext:1.0:User", "name": "X", "attributes": [
        {"name": "badge", "type": "string", "multiValued": false, "required": true, "caseExact": true,
         "mutability": "readWrite", "returned": "default", "uniqueness": "none"}]});
    let schema = Schema::from_json(&json).unwrap();
    let s = ScimServer::builder()
        .store(MemoryStore::new())
        .token("t", "x")
        .user_extension(schema, true)
        .build()
        .unwrap();
    let (st, e) = call(
        &s,
        "t",
        "POST",
        "/scim/v2/Users",
        Some(json!({"userName": "a"})),
    );
    assert_eq!(
        (st, e["detail"].as_str()),
        (
            400,
            Some("the required extension urn:example:ext:1.0:User is missing")
        )
    );
    let (st, _) = call(
        &s,
        "t",
        "POST",
        "/scim/v2/Users",
        Some(json!({"userName": "a", "urn:example:ext:1.0:User": {"badge": "B"}})),
    );
    assert_eq!(st, 201);
    assert!(Schema::from_json(&json!({"id": "nourn", "attributes": []})).is_err());
    assert!(
        Schema::from_json(
            &json!({"id": "urn:x", "attributes": [{"name": "c", "type": "complex"}]})
        )
        .is_err()
    );
}

#[test]
fn unknown_attributes_policy() {
    let lenient = two_tenants();
    assert_eq!(
        call(
            &lenient,
            "token-a",
            "POST",
            "/scim/v2/Users",
            Some(json!({"userName": "a", "shoeSize": 9}))
        )
        .0,
        201
    );
    let strict = ScimServer::builder()
        .store(MemoryStore::new())
        .token("t", "x")
        .unknown_attributes(UnknownAttributes::Reject)
        .build()
        .unwrap();
    let (st, e) = call(
        &strict,
        "t",
        "POST",
        "/scim/v2/Users",
        Some(json!({"userName": "a", "shoeSize": 9})),
    );
    assert_eq!((st, e["scimType"].as_str()), (400, Some("invalidSyntax")));
    let (st, e) = call(
        &strict,
        "t",
        "POST",
        "/scim/v2/Users",
        Some(json!({"userName": "a", "schemas": ["urn:nope"]})),
    );
    assert_eq!((st, e["scimType"].as_str()), (400, Some("invalidValue")));
}

#[test]
fn limits_are_enforced_with_scim_errors() {
    let s = ScimServer::builder()
        .store(MemoryStore::new())
        .token("t", "x")
        .max_results(5)
        .default_count(3)
        .max_patch_operations(2)
        .bulk_max_operations(2)
        .filter_limits(64, 3)
        .max_unindexed_scan(Some(4))
        .build()
        .unwrap();
    for i in 0..6 {
        call(
            &s,
            "t",
            "POST",
            "/scim/v2/Users",
            Some(json!({"userName": format!("u{i}")})),
        );
    }
    let (_, l) = call(&s, "t", "GET", "/scim/v2/Users", None);
    assert_eq!(
        (l["totalResults"].as_u64(), l["itemsPerPage"].as_u64()),
        (Some(6), Some(3)),
        "default count"
    );
    let (_, l) = call(&s, "t", "GET", "/scim/v2/Users?count=100", None);
    assert_eq!(l["itemsPerPage"], 5, "count clamped to maxResults");
    let (st, e) = call(
        &s,
        "t",
        "GET",
        &format!(
            "/scim/v2/Users?filter=userName%20eq%20%22{}%22",
            "x".repeat(80)
        ),
        None,
    );
    assert_eq!(
        (st, e["detail"].as_str()),
        (
            400,
            Some("invalid filter: the filter is longer than 64 bytes")
        )
    );
    let (st, _) = call(
        &s,
        "t",
        "GET",
        "/scim/v2/Users?filter=((((userName%20pr))))",
        None,
    );
    assert_eq!(st, 400);
    let (_, u) = call(
        &s,
        "t",
        "GET",
        "/scim/v2/Users?filter=userName%20eq%20%22u1%22",
        None,
    );
    let id = u["Resources"][0]["id"].as_str().unwrap().to_owned();
    let (st, e) = call(
        &s,
        "t",
        "PATCH",
        &format!("/scim/v2/Users/{id}"),
        Some(json!({"Operations": [
        {"op": "add", "path": "title", "value": "a"}, {"op": "add", "path": "title", "value": "b"}, {"op": "add", "path": "title", "value": "c"}]})),
    );
    assert_eq!((st, e["scimType"].as_str()), (400, Some("tooMany")));
    let (st, _) = call(
        &s,
        "t",
        "POST",
        "/scim/v2/Bulk",
        Some(json!({"Operations": [
        {"method": "DELETE", "path": "/Users/a"}, {"method": "DELETE", "path": "/Users/b"}, {"method": "DELETE", "path": "/Users/c"}]})),
    );
    assert_eq!(st, 413);
    let (_, spc) = call(&s, "t", "GET", "/scim/v2/ServiceProviderConfig", None);
    assert_eq!(spc["bulk"]["maxOperations"], 2);
    assert_eq!(spc["filter"]["maxResults"], 5);
    // The memory store answers every filter itself, so no scan limit is hit there;
    // a store that declines a filter makes the engine evaluate it (see below).
    let (st, _) = call(&s, "t", "GET", "/scim/v2/Users?filter=title%20pr", None);
    assert_eq!(st, 200);
}

/// A `MemoryStore` with test hooks: `create` may refuse a resource, `query`
/// may decline (answer `Unsupported`) so the engine evaluates it itself.
struct Hooked {
    inner: MemoryStore,
    refuse_create: fn(&Value) -> Option<scimkit::StoreError>,
    decline_query: fn(&scimkit::store::Query) -> bool,
}

impl Hooked {
    fn new() -> Self {
        Self {
            inner: MemoryStore::new(),
            refuse_create: |_| None,
            decline_query: |_| false,
        }
    }
}

impl UserStore for Hooked {
    fn create(
        &self,
        c: &scimkit::Ctx,
        k: scimkit::ResourceKind,
        r: Value,
    ) -> scimkit::store::StoreResult<scimkit::Stored> {
        match (self.refuse_create)(&r) {
            Some(e) => Err(e),
            None => self.inner.create(c, k, r),
        }
    }
    fn get(
        &self,
        c: &scimkit::Ctx,
        k: scimkit::ResourceKind,
        id: &str,
        m: scimkit::store::Members,
    ) -> scimkit::store::StoreResult<Option<scimkit::Stored>> {
        self.inner.get(c, k, id, m)
    }
    fn replace(
        &self,
        c: &scimkit::Ctx,
        k: scimkit::ResourceKind,
        id: &str,
        r: Value,
        v: Option<u64>,
    ) -> scimkit::store::StoreResult<scimkit::Stored> {
        self.inner.replace(c, k, id, r, v)
    }
    fn delete(
        &self,
        c: &scimkit::Ctx,
        k: scimkit::ResourceKind,
        id: &str,
        v: Option<u64>,
    ) -> scimkit::store::StoreResult<()> {
        self.inner.delete(c, k, id, v)
    }
    fn query(
        &self,
        c: &scimkit::Ctx,
        k: scimkit::ResourceKind,
        q: &scimkit::store::Query,
    ) -> scimkit::store::StoreResult<scimkit::store::Page> {
        if (self.decline_query)(q) {
            return Err(scimkit::StoreError::Unsupported);
        }
        self.inner.query(c, k, q)
    }
}

/// A store that pushes nothing down: every filtered or sorted query (and
/// cursor paging) is `Unsupported`, so the engine evaluates it itself.
fn no_push_down() -> Hooked {
    Hooked {
        decline_query: |q| {
            q.filter.is_some()
                || q.sort.is_some()
                || matches!(q.page, scimkit::store::PageRequest::Cursor { .. })
        },
        ..Hooked::new()
    }
}

#[test]
fn engine_evaluates_what_the_store_declines() {
    let s = ScimServer::builder()
        .store(no_push_down())
        .token("t", "x")
        .max_unindexed_scan(Some(4))
        .build()
        .unwrap();
    for i in 0..4 {
        call(
            &s,
            "t",
            "POST",
            "/scim/v2/Users",
            Some(
                json!({"userName": format!("u{i}"), "title": if i % 2 == 0 { "even" } else { "odd" }}),
            ),
        );
    }
    let (_, l) = call(
        &s,
        "t",
        "GET",
        "/scim/v2/Users?filter=title%20eq%20%22even%22&sortBy=userName&sortOrder=descending",
        None,
    );
    assert_eq!(l["totalResults"], 2);
    assert_eq!(l["Resources"][0]["userName"], "u2");
    let (_, l) = call(&s, "t", "GET", "/scim/v2/Users?cursor=&count=3", None);
    assert_eq!(l["itemsPerPage"], 3);
    let next = l["nextCursor"].as_str().unwrap().to_owned();
    let (_, l) = call(
        &s,
        "t",
        "GET",
        &format!("/scim/v2/Users?cursor={next}&count=3"),
        None,
    );
    assert_eq!(l["itemsPerPage"], 1);
    call(
        &s,
        "t",
        "POST",
        "/scim/v2/Users",
        Some(json!({"userName": "u4"})),
    );
    let (st, e) = call(&s, "t", "GET", "/scim/v2/Users?filter=title%20pr", None);
    assert_eq!((st, e["scimType"].as_str()), (400, Some("tooMany")), "{e}");
}

#[test]
fn builder_rejects_bad_configuration() {
    assert!(
        ScimServer::builder().token("t", "x").build().is_err(),
        "no store"
    );
    assert!(
        ScimServer::builder()
            .store(MemoryStore::new())
            .build()
            .is_err(),
        "no auth"
    );
    let e = ScimServer::builder()
        .store(MemoryStore::new())
        .token("t", "x")
        .base_path("scim")
        .build()
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid base path \"scim\": it must start with '/' and contain no '?', '#' or '//'"
    );
    assert!(
        ScimServer::builder()
            .store(MemoryStore::new())
            .token("t", "x")
            .max_results(0)
            .build()
            .is_err()
    );
    let dup = Schema::new(scimkit::schema::ENTERPRISE_USER_SCHEMA, "E", vec![]);
    assert!(
        ScimServer::builder()
            .store(MemoryStore::new())
            .token("t", "x")
            .user_extension(dup, false)
            .build()
            .is_err()
    );
}

#[test]
fn base_path_and_locations() {
    let s = ScimServer::builder()
        .store(MemoryStore::new())
        .token("t", "x")
        .base_path("/tenant/scim/")
        .build()
        .unwrap();
    let req = http::Request::post("/tenant/scim/Users")
        .header("authorization", "Bearer t")
        .header("host", "app.example.com")
        .header("x-forwarded-proto", "https")
        .body(Bytes::from(r#"{"userName":"a"}"#))
        .unwrap();
    let resp = s.handle(req);
    assert_eq!(resp.status(), 201);
    let loc = resp.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        loc.starts_with("https://app.example.com/tenant/scim/Users/"),
        "{loc}"
    );
    let v: Value = serde_json::from_slice(resp.body()).unwrap();
    assert_eq!(v["meta"]["location"], loc);
    assert_eq!(
        call(&s, "t", "GET", "/scim/v2/Users", None).0,
        404,
        "outside the base path"
    );
    assert_eq!(call(&s, "t", "GET", "/tenant/scimUsers", None).0, 404);
    assert_eq!(
        call(&s, "t", "GET", "/tenant/scim/Users/", None).0,
        200,
        "trailing slash"
    );
}

#[test]
fn concurrent_patches_lose_no_member_and_no_update() {
    let s = two_tenants();
    let (_, g) = call(
        &s,
        "token-a",
        "POST",
        "/scim/v2/Groups",
        Some(json!({"displayName": "G"})),
    );
    let gid = g["id"].as_str().unwrap().to_owned();
    let (_, u) = call(
        &s,
        "token-a",
        "POST",
        "/scim/v2/Users",
        Some(json!({"userName": "counter", "emails": []})),
    );
    let uid = u["id"].as_str().unwrap().to_owned();
    std::thread::scope(|sc| {
        for t in 0..8 {
            let (s, gid, uid) = (&s, &gid, &uid);
            sc.spawn(move || {
                for i in 0..20 {
                    let (st, _) = call(s, "token-a", "PATCH", &format!("/scim/v2/Groups/{gid}"),
                        Some(json!({"Operations": [{"op": "Add", "path": "members", "value": [{"value": format!("m{t}-{i}")}]}]})));
                    assert_eq!(st, 204);
                    // Different emails added concurrently to the same user: every one survives.
                    let (st, e) = call(s, "token-a", "PATCH", &format!("/scim/v2/Users/{uid}"),
                        Some(json!({"Operations": [{"op": "add", "path": "emails", "value": [{"value": format!("e{t}-{i}@x")}]}]})));
                    assert_eq!(st, 200, "{e}");
                }
            });
        }
    });
    let (_, g) = call(
        &s,
        "token-a",
        "GET",
        &format!("/scim/v2/Groups/{gid}"),
        None,
    );
    assert_eq!(g["members"].as_array().unwrap().len(), 160);
    let (_, u) = call(&s, "token-a", "GET", &format!("/scim/v2/Users/{uid}"), None);
    assert_eq!(u["emails"].as_array().unwrap().len(), 160);
    assert_eq!(u["meta"]["version"], "W/\"161\"");
}

#[test]
fn trusted_tenant_needs_no_token() {
    let s = ScimServer::builder()
        .store(MemoryStore::new())
        .trusted_tenant("django")
        .build()
        .unwrap();
    let req = http::Request::get("/scim/v2/Users")
        .body(Bytes::new())
        .unwrap();
    assert_eq!(s.handle(req).status(), 200);
}

#[test]
fn passwords_are_write_only_and_hashed_or_refused() {
    let store = Arc::new(MemoryStore::new());
    let s = ScimServer::builder()
        .shared_store(store.clone() as Arc<dyn UserStore>)
        .token("t", "x")
        .build()
        .unwrap();
    let (st, u) = call(
        &s,
        "t",
        "POST",
        "/scim/v2/Users",
        Some(json!({"userName": "p", "password": "t1meMa$heen"})),
    );
    assert_eq!(st, 201);
    assert!(u.get("password").is_none(), "never returned");
    let id = u["id"].as_str().unwrap();
    let stored = store
        .get(
            &scimkit::Ctx::new("x"),
            scimkit::ResourceKind::User,
            id,
            scimkit::store::Members::Include,
        )
        .unwrap()
        .unwrap();
    let hash = stored.resource["password"].as_str().unwrap().to_owned();
    assert!(
        hash.starts_with("$argon2id$") && !hash.contains("t1meMa"),
        "stored hashed: {hash}"
    );
    assert!(scimkit::auth::verify_password(&hash, "t1meMa$heen"));
    // A PUT without a password keeps it; a PATCH of another attribute keeps it.
    call(
        &s,
        "t",
        "PUT",
        &format!("/scim/v2/Users/{id}"),
        Some(json!({"userName": "p", "title": "x"})),
    );
    call(
        &s,
        "t",
        "PATCH",
        &format!("/scim/v2/Users/{id}"),
        Some(json!({"Operations": [{"op": "replace", "path": "title", "value": "y"}]})),
    );
    let again = store
        .get(
            &scimkit::Ctx::new("x"),
            scimkit::ResourceKind::User,
            id,
            scimkit::store::Members::Include,
        )
        .unwrap()
        .unwrap();
    assert_eq!(again.resource["password"].as_str(), Some(hash.as_str()));
    // PATCH to a new password re-hashes.
    call(
        &s,
        "t",
        "PATCH",
        &format!("/scim/v2/Users/{id}"),
        Some(json!({"Operations": [{"op": "replace", "path": "password", "value": "n3w"}]})),
    );
    let again = store
        .get(
            &scimkit::Ctx::new("x"),
            scimkit::ResourceKind::User,
            id,
            scimkit::store::Members::Include,
        )
        .unwrap()
        .unwrap();
    assert!(scimkit::auth::verify_password(
        again.resource["password"].as_str().unwrap(),
        "n3w"
    ));
    // Refused by configuration.
    let strict = ScimServer::builder()
        .store(MemoryStore::new())
        .token("t", "x")
        .passwords(scimkit::auth::PasswordPolicy::Reject)
        .build()
        .unwrap();
    let (st, e) = call(
        &strict,
        "t",
        "POST",
        "/scim/v2/Users",
        Some(json!({"userName": "p", "password": "x"})),
    );
    assert_eq!(
        (st, e["detail"].as_str()),
        (400, Some("this service provider does not accept passwords"))
    );
}

#[test]
fn principal_in_response_extensions_and_auth_unavailable_is_503() {
    let s = two_tenants();
    let req = http::Request::get("/scim/v2/Users")
        .header("authorization", "Bearer token-b")
        .body(Bytes::new())
        .unwrap();
    let resp = s.handle(req);
    let p = resp.extensions().get::<scimkit::Principal>().unwrap();
    assert_eq!(p.tenant, "tenant-b");
    assert_eq!(p.token_id, scimkit::auth::token_id("token-b"));
    struct Down;
    impl scimkit::Authenticator for Down {
        fn authenticate(&self, _: Option<&str>) -> Option<scimkit::Principal> {
            None
        }
        fn try_authenticate(
            &self,
            _: Option<&str>,
        ) -> Result<Option<scimkit::Principal>, scimkit::auth::AuthUnavailable> {
            Err(scimkit::auth::AuthUnavailable("db down".into()))
        }
    }
    let s = ScimServer::builder()
        .store(MemoryStore::new())
        .authenticator(Down)
        .build()
        .unwrap();
    let resp = s.handle(
        http::Request::get("/scim/v2/Users")
            .header("authorization", "Bearer x")
            .body(Bytes::new())
            .unwrap(),
    );
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["retry-after"], "5");
    assert!(!String::from_utf8_lossy(resp.body()).contains("db down"));
    let e = scimkit::ScimError::payload_too_large(10).to_response();
    assert_eq!(
        (
            e.status().as_u16(),
            e.headers()["content-type"].to_str().unwrap()
        ),
        (413, "application/scim+json")
    );
}

#[test]
fn oversized_bodies_are_413_in_the_engine_and_stores_can_refuse_values() {
    let s = ScimServer::builder()
        .store(MemoryStore::new())
        .token("t", "x")
        .max_body_size(64)
        .build()
        .unwrap();
    let (st, e) = call(
        &s,
        "t",
        "POST",
        "/scim/v2/Users",
        Some(json!({"userName": "x".repeat(100)})),
    );
    assert_eq!((st, e["status"].as_str()), (413, Some("413")));
    let picky = Hooked {
        refuse_create: |r| {
            r["userName"]
                .as_str()
                .is_some_and(|u| u.len() > 10)
                .then(|| scimkit::StoreError::Invalid {
                    scim_type: Some(scimkit::ScimType::InvalidValue),
                    detail: "userName is longer than 10 characters".into(),
                })
        },
        ..Hooked::new()
    };
    let s = ScimServer::builder()
        .store(picky)
        .token("t", "x")
        .build()
        .unwrap();
    let (st, e) = call(
        &s,
        "t",
        "POST",
        "/scim/v2/Users",
        Some(json!({"userName": "much-too-long"})),
    );
    assert_eq!(
        (st, e["scimType"].as_str(), e["detail"].as_str()),
        (
            400,
            Some("invalidValue"),
            Some("userName is longer than 10 characters")
        )
    );
}
