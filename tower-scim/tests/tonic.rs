//! `ScimLayer` in a tonic server: SCIM under the base path, gRPC routes for
//! everything else, over real HTTP on 127.0.0.1:0.

use std::time::Duration;

use bytes::Bytes;
use http::{Request, header};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use scimkit::{MemoryStore, ScimServer};
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;
use tonic::service::Routes;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tower_scim::ScimLayer;

const WAIT: Duration = Duration::from_secs(20);

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

    let get = |path: &'static str| async move {
        timeout(WAIT, async {
            let tcp = TcpStream::connect(addr).await.unwrap();
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
                .await
                .unwrap();
            tokio::spawn(conn);
            let req = Request::get(path)
                .header(header::HOST, addr.to_string())
                .header(header::AUTHORIZATION, "Bearer s3cret")
                .body(Full::new(Bytes::new()))
                .unwrap();
            let resp = sender.send_request(req).await.unwrap();
            let (parts, body) = resp.into_parts();
            (parts, body.collect().await.unwrap().to_bytes())
        })
        .await
        .expect("request timed out")
    };

    let (parts, body) = get("/scim/v2/Users?filter=userName%20eq%20%22x%22").await;
    assert_eq!(parts.status, 200);
    assert_eq!(parts.headers[header::CONTENT_TYPE], "application/scim+json");
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["totalResults"], 0);

    // Not SCIM: tonic's router answers (an unknown gRPC method).
    let (parts, _) = get("/pkg.Service/Method").await;
    assert_ne!(
        parts
            .headers
            .get(header::CONTENT_TYPE)
            .map(|v| v.as_bytes()),
        Some(&b"application/scim+json"[..])
    );

    stop.send(()).unwrap();
    timeout(WAIT, server).await.unwrap().unwrap().unwrap();
}
