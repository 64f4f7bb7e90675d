//! Criterion benchmarks of the core: filter parse/eval, PATCH apply, and
//! `ScimServer::handle` on the MemoryStore at 1k and 100k users.
//!
//! `cargo bench -p scimkit-core --bench engine` (numbers in bench/README.md).
#![allow(missing_docs)]

use std::hint::black_box;

use bytes::Bytes;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use scimkit::schema::{Registry, ResourceKind};
use scimkit::{MemoryStore, ScimServer, UnknownAttributes, filter, patch};
use serde_json::{Value, json};

const TOKEN: &str = "bench";

fn req(method: &str, uri: &str, body: Option<&Value>) -> http::Request<Bytes> {
    http::Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", "Bearer bench")
        .body(body.map(|b| Bytes::from(b.to_string())).unwrap_or_default())
        .unwrap()
}

fn entra_user(i: usize) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": format!("{i:08x}-8d2a-4f8e-bf98-7363c4aed4ef"),
        "userName": format!("user{i}@contoso.com"),
        "active": true,
        "displayName": format!("User {i}"),
        "title": "Engineer",
        "name": {"formatted": format!("User {i}"), "familyName": "User", "givenName": format!("U{i}")},
        "emails": [{"primary": true, "type": "work", "value": format!("user{i}@contoso.com")}],
        "phoneNumbers": [{"type": "work", "value": "+1 425 555 0100"}, {"type": "mobile", "value": "+1 425 555 0101"}],
        "addresses": [{"type": "work", "streetAddress": "1 Microsoft Way", "locality": "Redmond", "region": "WA", "postalCode": "98052", "country": "US"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D", "employeeNumber": format!("{i}")}
    })
}

/// A server with `n` users; returns it and the id of user 0.
fn populated(n: usize) -> (ScimServer, String) {
    let s = ScimServer::builder()
        .store(MemoryStore::new())
        .token(TOKEN, "t")
        .build()
        .unwrap();
    let mut first = String::new();
    for i in 0..n {
        let r = s.handle(req("POST", "/scim/v2/Users", Some(&entra_user(i))));
        assert_eq!(r.status(), 201);
        if i == 0 {
            let v: Value = serde_json::from_slice(r.body()).unwrap();
            first = v["id"].as_str().unwrap().to_owned();
        }
    }
    (s, first)
}

fn filters(c: &mut Criterion) {
    c.bench_function("filter/parse userName eq", |b| {
        b.iter(|| filter::parse(black_box(r#"userName eq "x""#)).unwrap())
    });
    let complex = r#"userType eq "Employee" and (emails[type eq "work" and value co "@example.com"] or not (title pr))"#;
    c.bench_function("filter/parse complex", |b| {
        b.iter(|| filter::parse(black_box(complex)).unwrap())
    });
    let reg = Registry::default();
    let rs = reg.get(ResourceKind::User);
    let user = entra_user(7);
    let f = filter::resolve(
        &filter::parse(r#"userName eq "USER7@contoso.com""#).unwrap(),
        rs,
    )
    .unwrap();
    c.bench_function("filter/eval userName eq", |b| {
        b.iter(|| filter::matches(black_box(&f), black_box(&user), rs))
    });
    let f = filter::resolve(
        &filter::parse(r#"emails[type eq "work" and value ew "contoso.com"] and active eq true"#)
            .unwrap(),
        rs,
    )
    .unwrap();
    c.bench_function("filter/eval valuePath and", |b| {
        b.iter(|| filter::matches(black_box(&f), black_box(&user), rs))
    });
}

fn patches(c: &mut Criterion) {
    let reg = Registry::default();
    let rs = reg.get(ResourceKind::User);
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        {"op": "Replace", "path": "active", "value": "False"},
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "new@contoso.com"},
        {"op": "Replace", "value": {"name.givenName": "X", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Sales"}}
    ]});
    let ops = patch::parse_request(&body, 100).unwrap();
    let user = entra_user(1).as_object().unwrap().clone();
    c.bench_function("patch/apply entra dialect (3 ops)", |b| {
        b.iter_batched(
            || user.clone(),
            |mut u| patch::apply(&mut u, &ops, rs, UnknownAttributes::Ignore).unwrap(),
            BatchSize::SmallInput,
        )
    });
}

fn handle(c: &mut Criterion) {
    for n in [1_000usize, 100_000] {
        let (s, id) = populated(n);
        let get = format!("/scim/v2/Users/{id}");
        c.bench_function(&format!("handle/GET by id ({n} users)"), |b| {
            b.iter(|| s.handle(req("GET", &get, None)))
        });
        let filter = format!(
            "/scim/v2/Users?filter=userName%20eq%20%22user{}%40contoso.com%22",
            n / 2
        );
        c.bench_function(&format!("handle/GET filter userName eq ({n} users)"), |b| {
            b.iter(|| {
                let r = s.handle(req("GET", &filter, None));
                debug_assert_eq!(r.status(), 200);
                r
            })
        });
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
            {"op": "Replace", "path": "active", "value": "False"}, {"op": "Replace", "path": "title", "value": "Lead"}]});
        let body2 = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
            {"op": "Replace", "path": "active", "value": "True"}, {"op": "Replace", "path": "title", "value": "Engineer"}]});
        let mut flip = false;
        c.bench_function(
            &format!("handle/PATCH user entra dialect ({n} users)"),
            |b| {
                b.iter(|| {
                    flip = !flip;
                    s.handle(req("PATCH", &get, Some(if flip { &body } else { &body2 })))
                })
            },
        );
        let mut i = n;
        c.bench_function(&format!("handle/POST full entra user ({n} users)"), |b| {
            b.iter(|| {
                i += 1;
                s.handle(req("POST", "/scim/v2/Users", Some(&entra_user(i))))
            })
        });
    }
}

/// PATCH add 50 members to groups of 1k and 100k members.
fn group_members(c: &mut Criterion) {
    for size in [1_000usize, 100_000] {
        let s = ScimServer::builder()
            .store(MemoryStore::new())
            .token(TOKEN, "t")
            .build()
            .unwrap();
        let r = s.handle(req(
            "POST",
            "/scim/v2/Groups",
            Some(&json!({"displayName": "Big"})),
        ));
        let g: Value = serde_json::from_slice(r.body()).unwrap();
        let uri = format!("/scim/v2/Groups/{}", g["id"].as_str().unwrap());
        for batch in 0..size / 500 {
            let members: Vec<Value> = (0..500)
                .map(|i| json!({"value": format!("m{}", batch * 500 + i)}))
                .collect();
            let r = s.handle(req(
                "PATCH",
                &uri,
                Some(&json!({"Operations": [{"op": "Add", "path": "members", "value": members}]})),
            ));
            assert_eq!(r.status(), 204);
        }
        let mut next = size;
        c.bench_function(&format!("handle/PATCH add 50 members (group of {size})"), |b| {
            b.iter(|| {
                let members: Vec<Value> = (0..50).map(|i| json!({"value": format!("m{}", next + i)})).collect();
                next += 50;
                let r = s.handle(req("PATCH", &uri, Some(&json!({"Operations": [{"op": "Add", "path": "members", "value": members}]}))));
                debug_assert_eq!(r.status(), 204);
                r
            })
        });
        let check = format!(
            "/scim/v2/Groups?excludedAttributes=members&filter=id%20eq%20%22{}%22%20and%20members%5Bvalue%20eq%20%22m7%22%5D",
            g["id"].as_str().unwrap()
        );
        c.bench_function(
            &format!("handle/GET membership check (group of {size})"),
            |b| b.iter(|| s.handle(req("GET", &check, None))),
        );
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).warm_up_time(std::time::Duration::from_millis(500)).measurement_time(std::time::Duration::from_secs(2));
    targets = filters, patches, handle, group_members
}
criterion_main!(benches);
