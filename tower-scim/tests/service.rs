//! In-process tests of `ScimService` and `ScimLayer` (`ServiceExt::oneshot`).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Router;
use axum::routing::get;
use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Full};
use scimkit::store::{Members, Page, Query, StoreResult};
use scimkit::{Ctx, MemoryStore, ResourceKind, ScimServer, Stored, UserStore};
use serde_json::{Value, json};
use tower::{Layer, ServiceExt, service_fn};
use tower_scim::{ScimLayer, ScimService};

const TOKEN: &str = "Bearer s3cret";

fn server() -> ScimServer {
    ScimServer::builder()
        .store(MemoryStore::new())
        .token("s3cret", "contoso")
        .build()
        .unwrap()
}

fn req(method: &str, uri: &str, body: &str) -> Request<Full<Bytes>> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, TOKEN)
        .header(header::CONTENT_TYPE, "application/scim+json")
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap()
}

async fn json_of<B>(resp: Response<B>) -> (StatusCode, Value)
where
    B: Body,
    B::Error: std::fmt::Debug,
{
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let v = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (status, v)
}

fn assert_scim_error(status: StatusCode, body: &Value, expected: u16) {
    assert_eq!(status.as_u16(), expected, "{body}");
    assert_eq!(
        body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
    assert_eq!(body["status"], expected.to_string());
}

/// A body of several chunks that does not announce its length.
struct Chunks(VecDeque<Bytes>);

impl Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.get_mut().0.pop_front().map(|b| Ok(Frame::data(b))))
    }
}

/// A body that fails (a client that went away mid-upload).
struct Broken;

impl Body for Broken {
    type Data = Bytes;
    type Error = std::io::Error;
    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::other("connection reset"))))
    }
    fn size_hint(&self) -> SizeHint {
        SizeHint::new()
    }
}

#[tokio::test]
async fn test_connection_answers_an_empty_list() {
    let svc = ScimService::new(server());
    let resp = svc
        .oneshot(req(
            "GET",
            "/scim/v2/Users?filter=userName%20eq%20%22probe%40contoso.com%22",
            "",
        ))
        .await
        .unwrap();
    assert_eq!(
        resp.headers()[header::CONTENT_TYPE],
        "application/scim+json"
    );
    let (status, body) = json_of(resp).await;
    assert_eq!(status, 200);
    assert_eq!(body["totalResults"], 0);
}

#[tokio::test]
async fn create_then_read_inline_and_offloaded() {
    for offload in [false, true] {
        let svc = ScimService::new(server()).spawn_blocking(offload);
        let created = svc
            .clone()
            .oneshot(req(
                "POST",
                "/scim/v2/Users",
                r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"alice@contoso.com","active":true}"#,
            ))
            .await
            .unwrap();
        let (status, body) = json_of(created).await;
        assert_eq!(status, 201, "{body}");
        let id = body["id"].as_str().unwrap().to_owned();
        let got = svc
            .oneshot(req("GET", &format!("/scim/v2/Users/{id}"), ""))
            .await
            .unwrap();
        let (status, body) = json_of(got).await;
        assert_eq!(status, 200);
        assert_eq!(body["userName"], "alice@contoso.com");
    }
}

#[tokio::test]
async fn missing_token_is_401_scim_error() {
    let svc = ScimService::new(server());
    let r = Request::get("/scim/v2/Users")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let resp = svc.oneshot(r).await.unwrap();
    assert!(resp.headers().contains_key(header::WWW_AUTHENTICATE));
    let (status, body) = json_of(resp).await;
    assert_scim_error(status, &body, 401);
}

#[tokio::test]
async fn declared_length_over_limit_is_413_before_reading() {
    let svc = ScimService::new(server()).max_body_size(16);
    let resp = svc
        .oneshot(req("POST", "/scim/v2/Users", &"x".repeat(17)))
        .await
        .unwrap();
    let (status, body) = json_of(resp).await;
    assert_scim_error(status, &body, 413);
    assert_eq!(body["detail"], "request body larger than 16 bytes");
}

#[tokio::test]
async fn streamed_body_over_limit_is_413() {
    let svc = ScimService::new(server()).max_body_size(10);
    let body = Chunks(VecDeque::from([
        Bytes::from_static(b"{\"a\":"),
        Bytes::from_static(b"\"0123456789\"}"),
    ]));
    let r = Request::post("/scim/v2/Users")
        .header(header::AUTHORIZATION, TOKEN)
        .body(body)
        .unwrap();
    let (status, body) = json_of(svc.oneshot(r).await.unwrap()).await;
    assert_scim_error(status, &body, 413);
}

#[tokio::test]
async fn streamed_body_in_chunks_is_reassembled() {
    let svc = ScimService::new(server());
    let text = r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bob"}"#;
    let (a, b) = text.split_at(20);
    let body = Chunks(VecDeque::from([
        Bytes::copy_from_slice(a.as_bytes()),
        Bytes::copy_from_slice(b.as_bytes()),
    ]));
    let r = Request::post("/scim/v2/Users")
        .header(header::AUTHORIZATION, TOKEN)
        .body(body)
        .unwrap();
    let (status, body) = json_of(svc.oneshot(r).await.unwrap()).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["userName"], "bob");
}

#[tokio::test]
async fn body_error_is_400_scim_error() {
    let svc = ScimService::new(server());
    let r = Request::post("/scim/v2/Users")
        .header(header::AUTHORIZATION, TOKEN)
        .body(Broken)
        .unwrap();
    let (status, body) = json_of(svc.oneshot(r).await.unwrap()).await;
    assert_scim_error(status, &body, 400);
}

#[tokio::test]
async fn malformed_json_is_400_invalid_syntax() {
    let svc = ScimService::new(server());
    let resp = svc
        .oneshot(req("POST", "/scim/v2/Users", "{not json"))
        .await
        .unwrap();
    let (status, body) = json_of(resp).await;
    assert_scim_error(status, &body, 400);
    assert_eq!(body["scimType"], "invalidSyntax");
}

/// A store whose every call panics: a bug must become a 500, not a dropped
/// connection or a panicking service.
struct PanickingStore;

impl UserStore for PanickingStore {
    fn create(&self, _: &Ctx, _: ResourceKind, _: Value) -> StoreResult<Stored> {
        panic!("store bug")
    }
    fn get(&self, _: &Ctx, _: ResourceKind, _: &str, _: Members) -> StoreResult<Option<Stored>> {
        panic!("store bug")
    }
    fn replace(
        &self,
        _: &Ctx,
        _: ResourceKind,
        _: &str,
        _: Value,
        _: Option<u64>,
    ) -> StoreResult<Stored> {
        panic!("store bug")
    }
    fn delete(&self, _: &Ctx, _: ResourceKind, _: &str, _: Option<u64>) -> StoreResult<()> {
        panic!("store bug")
    }
    fn query(&self, _: &Ctx, _: ResourceKind, _: &Query) -> StoreResult<Page> {
        panic!("store bug")
    }
}

#[tokio::test]
async fn store_panic_is_a_scim_500_inline_and_offloaded() {
    let scim = ScimServer::builder()
        .store(PanickingStore)
        .token("s3cret", "contoso")
        .build()
        .unwrap();
    for offload in [false, true] {
        let svc = ScimService::new(scim.clone()).spawn_blocking(offload);
        let resp = svc.oneshot(req("GET", "/scim/v2/Users", "")).await.unwrap();
        let (status, body) = json_of(resp).await;
        assert_scim_error(status, &body, 500);
        assert_eq!(body["detail"], "internal server error");
    }
}

/// A memory store that notes the thread of every call.
struct ThreadNoting {
    inner: MemoryStore,
    threads: std::sync::Mutex<Vec<std::thread::ThreadId>>,
}

impl ThreadNoting {
    fn note(&self) {
        self.threads
            .lock()
            .unwrap()
            .push(std::thread::current().id());
    }
}

impl UserStore for ThreadNoting {
    fn create(&self, ctx: &Ctx, kind: ResourceKind, r: Value) -> StoreResult<Stored> {
        self.note();
        self.inner.create(ctx, kind, r)
    }
    fn get(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        id: &str,
        m: Members,
    ) -> StoreResult<Option<Stored>> {
        self.note();
        self.inner.get(ctx, kind, id, m)
    }
    fn replace(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        id: &str,
        r: Value,
        v: Option<u64>,
    ) -> StoreResult<Stored> {
        self.note();
        self.inner.replace(ctx, kind, id, r, v)
    }
    fn delete(&self, ctx: &Ctx, kind: ResourceKind, id: &str, v: Option<u64>) -> StoreResult<()> {
        self.note();
        self.inner.delete(ctx, kind, id, v)
    }
    fn query(&self, ctx: &Ctx, kind: ResourceKind, q: &Query) -> StoreResult<Page> {
        self.note();
        self.inner.query(ctx, kind, q)
    }
}

#[tokio::test]
async fn offload_decides_by_method() {
    use tower_scim::Offload;
    let here = std::thread::current().id();
    // (policy, POST on this thread?, GET on this thread?)
    for (offload, post_here, get_here) in [
        (Offload::All, false, false),
        (Offload::Writes, false, true),
        (Offload::None, true, true),
    ] {
        let store = std::sync::Arc::new(ThreadNoting {
            inner: MemoryStore::new(),
            threads: Default::default(),
        });
        let scim = ScimServer::builder()
            .shared_store(store.clone())
            .token("s3cret", "contoso")
            .build()
            .unwrap();
        let svc = ScimService::new(scim).offload(offload);
        let (status, body) = json_of(
            svc.clone()
                .oneshot(req(
                    "POST",
                    "/scim/v2/Users",
                    r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"t@contoso.com"}"#,
                ))
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        let posted: Vec<_> = std::mem::take(&mut *store.threads.lock().unwrap());
        let id = body["id"].as_str().unwrap();
        let (status, _) = json_of(
            svc.oneshot(req("GET", &format!("/scim/v2/Users/{id}"), ""))
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200);
        let got: Vec<_> = std::mem::take(&mut *store.threads.lock().unwrap());
        assert!(!posted.is_empty() && !got.is_empty(), "{offload:?}");
        assert!(
            posted.iter().all(|t| (*t == here) == post_here),
            "{offload:?}: POST"
        );
        assert!(
            got.iter().all(|t| (*t == here) == get_here),
            "{offload:?}: GET"
        );
    }
    assert!(Offload::Writes.applies_to(&http::Method::PATCH));
    assert!(!Offload::Writes.applies_to(&http::Method::HEAD));
    assert_eq!(Offload::default(), Offload::All);
}

#[test]
fn outside_a_runtime_the_engine_runs_inline() {
    let svc = ScimService::new(server()).spawn_blocking(true);
    let mut fut = std::pin::pin!(svc.oneshot(req("GET", "/scim/v2/ServiceProviderConfig", "")));
    let mut cx = Context::from_waker(std::task::Waker::noop());
    match fut.as_mut().poll(&mut cx) {
        Poll::Ready(Ok(resp)) => assert_eq!(resp.status(), 200),
        other => panic!("expected a ready response, got {other:?}"),
    }
}

// ===== ScimLayer =====

fn app() -> Router {
    Router::new()
        .route("/", get(|| async { "home" }))
        .route("/scim/v2x", get(|| async { "not scim" }))
        .layer(ScimLayer::new(server()).spawn_blocking(false))
}

async fn text_of(resp: axum::response::Response) -> (StatusCode, String) {
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

#[tokio::test]
async fn layer_forwards_other_paths_to_the_app() {
    let (status, text) = text_of(app().oneshot(req("GET", "/", "")).await.unwrap()).await;
    assert_eq!((status.as_u16(), text.as_str()), (200, "home"));
    let (status, text) = text_of(app().oneshot(req("GET", "/scim/v2x", "")).await.unwrap()).await;
    assert_eq!((status.as_u16(), text.as_str()), (200, "not scim"));
    let (status, _) = text_of(app().oneshot(req("GET", "/nope", "")).await.unwrap()).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn layer_serves_scim_under_the_base_path() {
    let resp = app()
        .oneshot(req("GET", "/scim/v2/ServiceProviderConfig", ""))
        .await
        .unwrap();
    let (status, body) = json_of(resp).await;
    assert_eq!(status, 200);
    assert_eq!(body["patch"]["supported"], true);

    let resp = app()
        .oneshot(req("GET", "/scim/v2/Nothing", ""))
        .await
        .unwrap();
    let (status, body) = json_of(resp).await;
    assert_scim_error(status, &body, 404);
}

#[tokio::test]
async fn layer_limits_only_scim_bodies() {
    let big = "x".repeat(64);
    let app = Router::new()
        .route(
            "/upload",
            axum::routing::post(|b: Bytes| async move { b.len().to_string() }),
        )
        .layer(ScimLayer::new(server()).max_body_size(32));
    let (status, text) = text_of(
        app.clone()
            .oneshot(req("POST", "/upload", &big))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status.as_u16(), text.as_str()), (200, "64"));
    let resp = app
        .oneshot(req("POST", "/scim/v2/Users", &big))
        .await
        .unwrap();
    let (status, body) = json_of(resp).await;
    assert_scim_error(status, &body, 413);
}

#[tokio::test]
async fn layer_over_a_plain_service_fn() {
    let inner = service_fn(|_: Request<Full<Bytes>>| async {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"inner"))))
    });
    let svc = ScimService::layer(server()).layer(inner);
    let resp = svc.clone().oneshot(req("GET", "/other", "")).await.unwrap();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&bytes[..], b"inner");
    let resp = svc
        .oneshot(req("GET", "/scim/v2/ResourceTypes", ""))
        .await
        .unwrap();
    let (status, body) = json_of(resp).await;
    assert_eq!(status, 200);
    assert_eq!(body["totalResults"], 2);
}

/// A Group member's `$ref` (RFC 7643 §4.2, returned by default) is returned
/// after create; scim2-tester's `check_add_attribute` / `check_replace_attribute`
/// on Group `members` check it.
#[tokio::test]
async fn group_members_keep_their_ref() {
    let svc = ScimService::new(server()).spawn_blocking(false);
    let (s, user) = json_of(
        svc.clone()
            .oneshot(req("POST", "/scim/v2/Users", r#"{"userName":"m"}"#))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 201);
    let uid = user["id"].as_str().unwrap();
    let member = json!({"value": uid, "$ref": format!("http://localhost/scim/v2/Users/{uid}"), "type": "User"});
    let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                      "displayName": "g", "members": [member]});
    let (s, group) = json_of(
        svc.oneshot(req("POST", "/scim/v2/Groups", &body.to_string()))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 201);
    // The server renders `$ref` as its own URL of the member.
    let r = group["members"][0]["$ref"].as_str().unwrap_or_default();
    assert!(r.ends_with(&format!("/scim/v2/Users/{uid}")), "{group}");
}
