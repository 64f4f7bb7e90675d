//! `ScimLayer` in a tonic server: SCIM under the base path, gRPC routes for
//! everything else, over real HTTP on 127.0.0.1:0.

mod common;

use common::{WAIT, send};
use http::header;
use scimkit::{MemoryStore, ScimServer};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::time::timeout;
use tonic::service::Routes;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tower_scim::ScimLayer;

#[tokio::test]
async fn scim_next_to_grpc_routes_in_tonic() {
    let scim = ScimServer::builder()
        .store(MemoryStore::new())
        .token("s3cret", "contoso")
        .build()
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        Server::builder()
            .accept_http1(true)
            .layer(ScimLayer::new(scim))
            .add_routes(Routes::default())
            .serve_with_incoming_shutdown(TcpIncoming::from(listener), async {
                let _ = stopped.await;
            }),
    );

    let (status, headers, body) = send(
        addr,
        "GET",
        "/scim/v2/Users?filter=userName%20eq%20%22x%22",
        "",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers[header::CONTENT_TYPE], "application/scim+json");
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["totalResults"], 0);

    // Not SCIM: tonic's router answers (an unknown gRPC method).
    let (_, headers, _) = send(addr, "GET", "/pkg.Service/Method", "").await;
    assert_ne!(
        headers.get(header::CONTENT_TYPE).map(|v| v.as_bytes()),
        Some(&b"application/scim+json"[..])
    );

    stop.send(()).unwrap();
    timeout(WAIT, server).await.unwrap().unwrap().unwrap();
}
