//! A fixed workload for instruction-count profiling (valgrind --tool=callgrind),
//! which is repeatable on a shared machine where wall-clock benchmarks are not:
//! `profile_get USERS GETS` creates USERS Entra-style users, then runs GETS
//! `GET /Users/{id}` through `ScimServer::handle`. Run it with GETS = 0 and
//! GETS = N; the difference divided by N is the cost of one GET. With
//! `PROFILE_FILTER=1` the requests are `filter=userName eq` lists, with
//! `PROFILE_PATCH=1` Entra's seven-operation user PATCH, with
//! `PROFILE_DELETE=1` one DELETE per user (GETS ≤ USERS).

use bytes::Bytes;
use scimkit::{MemoryStore, ScimServer};
use serde_json::{Value, json};

fn main() {
    let mut args = std::env::args()
        .skip(1)
        .map(|a| a.parse::<usize>().unwrap_or(0));
    let users = args.next().unwrap_or(1000);
    let gets = args.next().unwrap_or(0);
    let s = ScimServer::builder()
        .store(MemoryStore::new())
        .token("t", "x")
        .build()
        .expect("server");
    let mut ids = Vec::with_capacity(users);
    for i in 0..users {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "externalId": format!("{i:08x}-8d2a-4f8e-bf98-7363c4aed4ef"),
            "userName": format!("user{i}@contoso.com"), "active": true, "displayName": format!("User {i}"),
            "title": "Engineer", "name": {"formatted": format!("User {i}"), "familyName": "User", "givenName": format!("U{i}")},
            "emails": [{"primary": true, "type": "work", "value": format!("user{i}@contoso.com")}],
            "phoneNumbers": [{"type": "work", "value": "+1 425 555 0100"}, {"type": "mobile", "value": "+1 425 555 0101"}],
            "addresses": [{"type": "work", "streetAddress": "1 Microsoft Way", "locality": "Redmond", "region": "WA", "postalCode": "98052", "country": "US"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D", "employeeNumber": format!("{i}")}
        });
        let req = http::Request::post("/scim/v2/Users")
            .header("authorization", "Bearer t")
            .body(Bytes::from(body.to_string()))
            .expect("request");
        let v: Value = serde_json::from_slice(s.handle(req).body()).expect("json");
        ids.push(v["id"].as_str().expect("id").to_owned());
    }
    let bytes = run_gets(&s, &ids, gets);
    println!("{users} users, {gets} GETs, {bytes} response bytes");
}

/// The measured part (`--toggle-collect=profile_get::run_gets` profiles only it).
#[inline(never)]
fn run_gets(s: &ScimServer, ids: &[String], gets: usize) -> usize {
    let mut bytes = 0usize;
    for i in 0..gets {
        let id = &ids[i % ids.len()];
        // PROFILE_DELETE=1: DELETE each user once (GETS ≤ USERS) instead.
        if std::env::var_os("PROFILE_DELETE").is_some() {
            let req = http::Request::delete(format!("/scim/v2/Users/{id}"))
                .header("authorization", "Bearer t")
                .body(Bytes::new())
                .expect("request");
            let resp = s.handle(req);
            assert_eq!(resp.status(), 204);
            continue;
        }
        // PROFILE_PATCH=1: Entra's seven-operation PATCH of a user instead.
        if std::env::var_os("PROFILE_PATCH").is_some() {
            let body = json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [
                    {"op": "Replace", "path": "title", "value": format!("Title {i}")},
                    {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": format!("user{}@contoso.com", i % ids.len())},
                    {"op": "Replace", "path": "phoneNumbers[type eq \"mobile\"].value", "value": format!("+1 425 555 {i:04}")},
                    {"op": "Replace", "path": "addresses[type eq \"work\"].locality", "value": "Seattle"},
                    {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": format!("D{i}")},
                    {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": &ids[(i + 1) % ids.len()]},
                    {"op": "Replace", "value": {"active": "True", "name.givenName": format!("G{i}")}}
                ]
            });
            let req = http::Request::patch(format!("/scim/v2/Users/{id}"))
                .header("authorization", "Bearer t")
                .body(Bytes::from(body.to_string()))
                .expect("request");
            let resp = s.handle(req);
            assert_eq!(resp.status(), 200);
            bytes += resp.body().len();
            continue;
        }
        // PROFILE_FILTER=1: `filter=userName eq` instead (ids are `user{i}`-named).
        let uri = if std::env::var_os("PROFILE_FILTER").is_some() {
            format!(
                "/scim/v2/Users?filter=userName%20eq%20%22user{}%40contoso.com%22",
                i % ids.len()
            )
        } else {
            format!("/scim/v2/Users/{id}")
        };
        let req = http::Request::get(uri)
            .header("authorization", "Bearer t")
            .body(Bytes::new())
            .expect("request");
        bytes += s.handle(req).body().len();
    }
    bytes
}
