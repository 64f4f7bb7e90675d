//! Property tests over real HTTP on 127.0.0.1: random filters, PATCH bodies and
//! paths sent through a hyper server running `ScimService` never get a 5xx, and
//! every error is an RFC 7644 §3.12 body. `PROPTEST_CASES` sets the number of
//! cases per property (default 96).

mod common;

use std::net::SocketAddr;

use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use proptest::prelude::*;
use scimkit::{MemoryStore, ScimServer};
use serde_json::Value;
use tokio::net::TcpListener;
use tower_scim::ScimService;

fn start(rt: &tokio::runtime::Runtime) -> SocketAddr {
    rt.block_on(async {
        let engine = ScimServer::builder()
            .store(MemoryStore::new())
            .token("s3cret", "contoso")
            .max_body_size(4096)
            .build()
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let service = TowerToHyperService::new(ScimService::new(engine));
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
    })
}

fn check(status: u16, bytes: &[u8]) -> Result<(), TestCaseError> {
    prop_assert!(
        status < 500,
        "5xx over HTTP: {status} {}",
        String::from_utf8_lossy(bytes)
    );
    if status >= 400 && !bytes.is_empty() {
        let v: Value = serde_json::from_slice(bytes)
            .map_err(|e| TestCaseError::fail(format!("error body is not JSON: {e}")))?;
        prop_assert_eq!(
            &v["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:Error"
        );
        let s = status.to_string();
        prop_assert_eq!(v["status"].as_str(), Some(s.as_str()));
    }
    Ok(())
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(96)
}

fn fragments() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "userName", "emails", "members", "value", " eq ", " co ", " pr", " and ", " or ", "not ",
        "(", ")", "[", "]", "\"x\"", "\"", "true", "null", "12", " ", "é", ".", ":", "urn:", "{",
        "}", ",", "op", "path",
    ]);
    prop::collection::vec(atoms, 0..16).prop_map(|v| v.concat())
}

#[test]
fn random_requests_over_http_never_5xx() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let addr = start(&rt);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let methods = prop::sample::select(vec!["GET", "POST", "PUT", "PATCH", "DELETE"]);
    let paths = prop::sample::select(vec![
        "/scim/v2/Users",
        "/scim/v2/Groups",
        "/scim/v2/Users/x",
        "/scim/v2/Bulk",
        "/scim/v2/.search",
        "/scim/v2/",
    ]);
    let result = runner.run(
        &(methods, paths, fragments(), fragments()),
        |(method, path, filter, body)| {
            let q: String = form_urlencoded::byte_serialize(filter.as_bytes()).collect();
            let uri = format!("{path}?filter={q}");
            let (status, _, bytes) = rt.block_on(common::send(addr, method, &uri, &body));
            check(status.as_u16(), &bytes)
        },
    );
    if let Err(e) = result {
        panic!("{e}");
    }
}
