//! The HTTP application: SCIM under the base path (tower-scim's `ScimLayer`),
//! `/healthz`, `/metrics`, a SCIM 404 for everything else, and the request
//! middleware (request id, metrics, one log line per request).

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use http::header::{self, HeaderValue};
use http::{HeaderMap, StatusCode};
use scimkit::{SCIM_CONTENT_TYPE, ScimError, ScimServer};
use tower_scim::ScimLayer;

use crate::db::AdminDb;
use crate::metrics::Metrics;
use crate::web::WebState;

/// The request id header: taken from the client when usable, generated
/// otherwise, passed to the engine and echoed in the response.
pub(crate) const X_REQUEST_ID: &str = "x-request-id";

/// What the handlers and the middleware share.
#[derive(Debug, Clone)]
pub(crate) struct AppState {
    pub(crate) admin: Arc<AdminDb>,
    pub(crate) metrics: Arc<Metrics>,
    /// The SCIM base path, for the 404 hint.
    pub(crate) base_path: Arc<str>,
}

/// The whole application: SCIM, the admin page, health and metrics.
pub(crate) fn router(
    scim: ScimServer,
    offload: tower_scim::Offload,
    state: AppState,
    web: WebState,
) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .with_state(state.clone())
        .merge(crate::web::router(web))
        .layer(ScimLayer::new(scim).offload(offload))
        .layer(middleware::from_fn_with_state(state, track))
}

/// `GET /healthz`: 200 when the database answers, 503 otherwise.
async fn healthz(State(st): State<AppState>) -> Response {
    let admin = st.admin.clone();
    let ok = tokio::task::spawn_blocking(move || admin.ping())
        .await
        .unwrap_or(false);
    let (status, body) = if ok {
        (StatusCode::OK, r#"{"status":"ok"}"#)
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            r#"{"status":"unavailable"}"#,
        )
    };
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// `GET /metrics`: Prometheus text format.
async fn metrics(State(st): State<AppState>) -> Response {
    let mut resp = Response::new(Body::from(st.metrics.render()));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
}

/// Anything else: a SCIM 404 that names the tenant URL path, for an
/// administrator who pasted the host without the base path.
async fn not_found(State(st): State<AppState>, req: Request) -> Response {
    let e = ScimError::with_status(
        404,
        format!(
            "no such endpoint: {}; SCIM is served under {}",
            req.uri().path(),
            st.base_path
        ),
    );
    let mut resp = Response::new(Body::from(e.to_json().to_string()));
    *resp.status_mut() = StatusCode::NOT_FOUND;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(SCIM_CONTENT_TYPE),
    );
    resp
}

/// The bearer token of a request, if any.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
}

/// A client-supplied request id the engine also accepts (1 to 128 visible
/// characters).
fn usable_request_id(v: &HeaderValue) -> Option<&str> {
    v.to_str()
        .ok()
        .filter(|s| !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_graphic()))
}

/// Request id, metrics and one log line per request. Logged: request id,
/// tenant, method, path (no query), status, latency. Never the token, the query
/// string or a body.
async fn track(State(st): State<AppState>, mut req: Request, next: Next) -> Response {
    let start = Instant::now();
    let request_id = match req.headers().get(X_REQUEST_ID).and_then(usable_request_id) {
        Some(id) => id.to_owned(),
        None => {
            // Time-ordered: the provisioning log's request-id index grows at its end.
            let id = uuid::Uuid::now_v7().to_string();
            if let Ok(v) = HeaderValue::from_str(&id) {
                req.headers_mut().insert(X_REQUEST_ID, v);
            }
            id
        }
    };
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    // Kept only to find the tenant the engine authenticated; never logged.
    let token = bearer(req.headers()).map(str::to_owned);

    let mut resp = next.run(req).await;

    let latency = start.elapsed();
    let status = resp.status().as_u16();
    st.metrics.observe(status, latency);
    // The engine puts the principal it authenticated in the response.
    let tenant = resp
        .extensions()
        .get::<scimkit::Principal>()
        .map(|p| p.tenant.clone())
        .or_else(|| match (&token, status) {
            (Some(t), s) if s != 401 => st.admin.recent_principal(t).map(|p| p.tenant),
            _ => None,
        });
    let tenant = tenant.as_deref().unwrap_or("-");
    // Whole microseconds, shown in milliseconds.
    let latency_ms = latency.as_micros() as f64 / 1000.0;
    if status >= 500 {
        tracing::warn!(request_id, tenant, %method, path, status, latency_ms, "request");
    } else {
        tracing::info!(request_id, tenant, %method, path, status, latency_ms, "request");
    }
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        resp.headers_mut().insert(X_REQUEST_ID, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_is_case_insensitive_and_trimmed() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer  abc "),
        );
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&h), None);
    }

    #[test]
    fn request_ids_are_bounded() {
        assert_eq!(
            usable_request_id(&HeaderValue::from_static("abc-1")),
            Some("abc-1")
        );
        assert_eq!(usable_request_id(&HeaderValue::from_static("")), None);
        assert_eq!(usable_request_id(&HeaderValue::from_static("a b")), None);
        let long = HeaderValue::from_str(&"x".repeat(129)).unwrap();
        assert_eq!(usable_request_id(&long), None);
    }
}
