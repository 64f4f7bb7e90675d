//! Real HTTP on 127.0.0.1:0: a bare hyper server with `ScimService`, and axum
//! with `ScimLayer` next to an app route.

mod common;

use std::net::SocketAddr;

use common::send;
use http::header;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use scimkit::{MemoryStore, ScimServer};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tower_scim::{ScimLayer, ScimService};

fn engine() -> ScimServer {
    ScimServer::builder()
        .store(MemoryStore::new())
        .token("s3cret", "contoso")
        .max_body_size(4096)
        .build()
        .unwrap()
}

/// A hyper server with `ScimService` on a free loopback port.
async fn hyper_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = TowerToHyperService::new(ScimService::new(engine()));
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let service = service.clone();
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
    addr
}

/// axum with an app route and `ScimLayer`, on a free loopback port.
async fn axum_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new()
        .route("/", axum::routing::get(|| async { "home" }))
        .layer(ScimLayer::new(engine()));
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

async fn send_json(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, Value) {
    let (status, _, bytes) = send(addr, method, path, body).await;
    let v = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (status.as_u16(), v)
}

#[tokio::test]
async fn hyper_user_lifecycle_over_http() {
    let addr = hyper_server().await;
    let (s, body) = send_json(
        addr,
        "POST",
        "/scim/v2/Users",
        &json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "alice@contoso.com",
            "externalId": "a-1",
            "active": true
        })
        .to_string(),
    )
    .await;
    assert_eq!(s, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    // meta.location is derived from the Host header.
    assert_eq!(
        body["meta"]["location"],
        format!("http://{addr}/scim/v2/Users/{id}")
    );

    let (s, body) = send_json(
        addr,
        "PATCH",
        &format!("/scim/v2/Users/{id}"),
        r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}"#,
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["active"], false);

    let (s, _) = send_json(addr, "DELETE", &format!("/scim/v2/Users/{id}"), "").await;
    assert_eq!(s, 204);
    let (s, body) = send_json(addr, "GET", &format!("/scim/v2/Users/{id}"), "").await;
    assert_eq!(s, 404);
    assert_eq!(body["status"], "404");
}

#[tokio::test]
async fn hyper_huge_body_is_413_and_the_server_keeps_serving() {
    let addr = hyper_server().await;
    let (s, body) = send_json(addr, "POST", "/scim/v2/Users", &"x".repeat(100_000)).await;
    assert_eq!(s, 413);
    assert_eq!(body["status"], "413");
    let (s, body) = send_json(addr, "GET", "/scim/v2/Users", "").await;
    assert_eq!(s, 200);
    assert_eq!(body["totalResults"], 0);
}

#[tokio::test]
async fn axum_layer_serves_scim_and_the_app_over_http() {
    let addr = axum_server().await;
    let (s, _, bytes) = send(addr, "GET", "/", "").await;
    assert_eq!((s.as_u16(), &bytes[..]), (200, &b"home"[..]));
    let (s, headers, bytes) = send(addr, "GET", "/scim/v2/Schemas", "").await;
    assert_eq!(s, 200);
    assert_eq!(headers[header::CONTENT_TYPE], "application/scim+json");
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert!(v["totalResults"].as_u64().unwrap() >= 3);
}
