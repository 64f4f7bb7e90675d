//! [`ScimService`]: the SCIM engine as a tower end service.

use std::convert::Infallible;
use std::task::{Context, Poll};

use http::{Request, Response};
use http_body::Body;
use scimkit::ScimServer;
use tower_service::Service;

use crate::ScimLayer;
use crate::body::ScimBody;
use crate::future::ResponseFuture;

/// Serves a [`ScimServer`] as a tower [`Service`]: collects the request body (up
/// to a limit), runs the engine, and answers with its response.
///
/// * `Error = Infallible`: every failure — a malformed request, a body over the
///   limit (413), an unknown route, a store failure, even a panic in the engine
///   or the store (500) — is a SCIM error response
///   (`application/scim+json`, RFC 7644 §3.12).
/// * Generic over the request body ([`http_body::Body`]): hyper's `Incoming`,
///   axum's `Body`, tonic's body, `Full<Bytes>`, …
/// * With the `tokio` feature (default), the engine — and so every store call —
///   runs on tokio's blocking pool, so a store that blocks (SQLite, PostgreSQL,
///   a file) does not stall the executor; see [`ScimService::spawn_blocking`].
///
/// Every request is handed to the engine, whatever its path: paths outside the
/// base path answer a SCIM 404. To serve SCIM next to other routes, use
/// [`ScimLayer`] or mount the service under the base path (for axum,
/// `Router::nest_service` **does not** fit, as it strips the prefix the engine
/// routes on: use `Router::route_service("/scim/v2/{*rest}", service)` or
/// [`ScimLayer`]).
///
/// ```
/// use bytes::Bytes;
/// use http_body_util::Full;
/// use scimkit::{MemoryStore, ScimServer};
/// use tower::ServiceExt;
/// use tower_scim::ScimService;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let server = ScimServer::builder()
///     .store(MemoryStore::new())
///     .token("s3cret", "contoso")
///     .build()?;
/// // The memory store never blocks: run it inline.
/// let service = ScimService::new(server).spawn_blocking(false);
///
/// let req = http::Request::get("/scim/v2/Users?filter=userName%20eq%20%22x%22")
///     .header("authorization", "Bearer s3cret")
///     .body(Full::new(Bytes::new()))?;
/// let resp = service.oneshot(req).await?;
/// assert_eq!(resp.status(), 200);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ScimService {
    server: ScimServer,
    max_body_size: usize,
    offload: Offload,
}

/// Which requests run the engine on tokio's blocking pool
/// (`tokio::task::spawn_blocking`) rather than inline in the future's `poll`;
/// see [`ScimService::offload`].
///
/// The hop to the blocking pool costs a thread handoff per request (a few
/// microseconds and two context switches), which is most of the cost of a
/// small read on a store that never waits. It is what keeps a store that
/// waits — on a disk flush, a lock held by a writer, a network round trip —
/// from stalling every other connection on that executor thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Offload {
    /// Every request (the default): right for any store, and the only safe
    /// choice for a store that does network I/O (PostgreSQL) or whose reads
    /// can wait.
    #[default]
    All,
    /// Only requests that may write (every method but `GET` and `HEAD`): for a
    /// store whose reads are short and never wait long but whose writes do
    /// (an embedded database such as SQLite, whose writes wait for a disk
    /// flush).
    Writes,
    /// None: the engine runs inline. For a store that never blocks
    /// ([`MemoryStore`](scimkit::MemoryStore)).
    None,
}

impl Offload {
    /// Whether a request with this method goes to the blocking pool.
    pub fn applies_to(self, method: &http::Method) -> bool {
        match self {
            Offload::All => true,
            Offload::Writes => !(method == http::Method::GET || method == http::Method::HEAD),
            Offload::None => false,
        }
    }
}

impl ScimService {
    /// Serve `server`.
    pub fn new(server: ScimServer) -> Self {
        let max_body_size = server.config().max_body_size;
        Self {
            server,
            max_body_size,
            offload: if cfg!(feature = "tokio") {
                Offload::All
            } else {
                Offload::None
            },
        }
    }

    /// A [`ScimLayer`] serving `server` under its base path in front of another
    /// service.
    pub fn layer(server: ScimServer) -> ScimLayer {
        ScimLayer::new(server)
    }

    /// The largest request body accepted, in bytes; larger ones answer 413 with
    /// a SCIM error body, without reading past the limit. A `Content-Length`
    /// over the limit is refused before any of the body is read.
    ///
    /// Defaults to the engine's [`Config::max_body_size`](scimkit::Config::max_body_size)
    /// (1 MiB unless configured).
    pub fn max_body_size(mut self, limit: usize) -> Self {
        self.max_body_size = limit;
        self
    }

    /// Whether to run the engine with `tokio::task::spawn_blocking` (on the
    /// blocking pool) instead of inline in the future's `poll`. Turn it off for a
    /// store that never blocks ([`MemoryStore`](scimkit::MemoryStore)); keep it on
    /// for SQLite, PostgreSQL or any store doing I/O. Outside a tokio runtime the
    /// engine runs inline whatever this says.
    ///
    /// `true` is [`Offload::All`], `false` [`Offload::None`]; for the choice in
    /// between see [`ScimService::offload`]. Defaults to `true`.
    #[cfg(feature = "tokio")]
    pub fn spawn_blocking(self, on: bool) -> Self {
        self.offload(if on { Offload::All } else { Offload::None })
    }

    /// Which requests run the engine on tokio's blocking pool (see
    /// [`Offload`]). Outside a tokio runtime the engine runs inline whatever
    /// this says.
    ///
    /// Defaults to [`Offload::All`].
    #[cfg(feature = "tokio")]
    pub fn offload(mut self, offload: Offload) -> Self {
        self.offload = offload;
        self
    }

    /// The engine.
    pub fn get_ref(&self) -> &ScimServer {
        &self.server
    }

    /// The engine, mutably.
    pub fn get_mut(&mut self) -> &mut ScimServer {
        &mut self.server
    }

    /// The engine.
    pub fn into_inner(self) -> ScimServer {
        self.server
    }

    /// Start handling `req` (the future the [`Service`] impl returns).
    pub(crate) fn start<B: Body>(&self, req: Request<B>) -> ResponseFuture<B> {
        ResponseFuture::new(self.server.clone(), req, self.max_body_size, self.offload)
    }
}

impl<B> Service<Request<B>> for ScimService
where
    B: Body,
{
    type Response = Response<ScimBody>;
    type Error = Infallible;
    type Future = ResponseFuture<B>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        self.start(req)
    }
}
