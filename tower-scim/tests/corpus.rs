//! The core's golden corpus (`core/tests/data/`), driven through `ScimService`
//! (body collection, size limit, blocking-pool dispatch) instead of the engine
//! directly: the adapter must answer exactly what the engine answers.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use scimkit::{MemoryStore, ScimServer, corpus};
use tower::ServiceExt;
use tower_scim::ScimService;

#[test]
fn corpus_through_the_tower_service() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let result = corpus::replay(&corpus::default_dir(), || {
        let server = ScimServer::builder()
            .store(MemoryStore::new())
            .token(corpus::TOKEN, "corpus")
            .base_url(corpus::BASE_URL)
            .build()
            .unwrap();
        let svc = ScimService::new(server);
        let handle = rt.handle().clone();
        move |req: http::Request<Bytes>| {
            let svc = svc.clone();
            handle.block_on(async move {
                let resp = svc.oneshot(req.map(Full::new)).await.unwrap();
                let (parts, body) = resp.into_parts();
                let bytes = body.collect().await.unwrap().to_bytes();
                http::Response::from_parts(parts, bytes)
            })
        }
    });
    match result {
        Ok((files, steps)) => eprintln!("corpus through tower: {files} files, {steps} steps"),
        Err(failures) => panic!(
            "{} corpus failures:\n{}",
            failures.len(),
            failures.join("\n\n")
        ),
    }
}
