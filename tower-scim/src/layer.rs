//! [`ScimLayer`] and the middleware it builds, [`Scim`].

use std::task::{Context, Poll};

use http::{Request, Response};
use http_body::Body;
use scimkit::ScimServer;
use tower_layer::Layer;
use tower_service::Service;

use crate::ScimService;
use crate::body::ResponseBody;
use crate::future::RouteFuture;

/// Serves SCIM under the engine's base path (e.g. `/scim/v2`) and forwards every
/// other request to the inner service, untouched.
///
/// A request belongs to SCIM when its path is the base path or continues it with
/// `/` (`/scim/v2`, `/scim/v2/Users/1`, but not `/scim/v2x`). With an empty
/// base path, every request does.
///
/// ```
/// use axum::{Router, routing::get};
/// use scimkit::{MemoryStore, ScimServer};
/// use tower_scim::ScimLayer;
///
/// let scim = ScimServer::builder()
///     .store(MemoryStore::new())
///     .token("s3cret", "contoso")
///     .build()?;
/// let app: Router = Router::new()
///     .route("/", get(|| async { "my app" }))
///     .layer(ScimLayer::new(scim));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct ScimLayer {
    scim: ScimService,
}

impl ScimLayer {
    /// Serve `server` under its base path.
    pub fn new(server: ScimServer) -> Self {
        Self {
            scim: ScimService::new(server),
        }
    }

    /// The largest request body accepted by the SCIM routes, in bytes (413 past
    /// it). Requests forwarded to the inner service are not limited.
    ///
    /// Defaults to the engine's
    /// [`Config::max_body_size`](scimkit::Config::max_body_size) (1 MiB unless
    /// configured).
    pub fn max_body_size(mut self, limit: usize) -> Self {
        self.scim = self.scim.max_body_size(limit);
        self
    }

    /// Whether the engine runs on tokio's blocking pool; see
    /// [`ScimService::spawn_blocking`].
    ///
    /// Defaults to `true`.
    #[cfg(feature = "tokio")]
    pub fn spawn_blocking(mut self, on: bool) -> Self {
        self.scim = self.scim.spawn_blocking(on);
        self
    }

    /// Which requests run the engine on tokio's blocking pool; see
    /// [`ScimService::offload`].
    ///
    /// Defaults to [`Offload::All`](crate::Offload::All).
    #[cfg(feature = "tokio")]
    pub fn offload(mut self, offload: crate::Offload) -> Self {
        self.scim = self.scim.offload(offload);
        self
    }
}

impl From<ScimService> for ScimLayer {
    fn from(scim: ScimService) -> Self {
        Self { scim }
    }
}

impl<S> Layer<S> for ScimLayer {
    type Service = Scim<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Scim {
            scim: self.scim.clone(),
            inner,
        }
    }
}

/// Middleware that answers requests under the SCIM base path with a
/// [`ScimService`] and passes every other request to `S`. Built by
/// [`ScimLayer`].
///
/// The response body is a [`ResponseBody`]: the SCIM engine's JSON, or the
/// inner service's body passed through. `poll_ready` is the inner service's.
#[derive(Debug, Clone)]
pub struct Scim<S> {
    scim: ScimService,
    inner: S,
}

impl<S> Scim<S> {
    /// Wrap `inner`, serving `server` under its base path.
    pub fn new(inner: S, server: ScimServer) -> Self {
        ScimLayer::new(server).layer(inner)
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }

    /// The SCIM service answering under the base path.
    pub fn scim(&self) -> &ScimService {
        &self.scim
    }

    fn is_scim(&self, path: &str) -> bool {
        under(path, self.scim.get_ref().base_path())
    }
}

/// Whether `path` is `base` or below it.
fn under(path: &str, base: &str) -> bool {
    match path.strip_prefix(base) {
        Some(rest) => rest.is_empty() || rest.starts_with('/') || base.is_empty(),
        None => false,
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Scim<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ReqBody: Body,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = RouteFuture<ReqBody, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        if self.is_scim(req.uri().path()) {
            RouteFuture::scim(self.scim.start(req))
        } else {
            RouteFuture::inner(self.inner.call(req))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::under;

    #[test]
    fn base_path_prefix_is_segment_aligned() {
        assert!(under("/scim/v2", "/scim/v2"));
        assert!(under("/scim/v2/", "/scim/v2"));
        assert!(under("/scim/v2/Users/1", "/scim/v2"));
        assert!(!under("/scim/v2x", "/scim/v2"));
        assert!(!under("/scim", "/scim/v2"));
        assert!(!under("/", "/scim/v2"));
        assert!(under("/anything", ""));
    }
}
