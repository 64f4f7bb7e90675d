//! Response futures: [`ResponseFuture`] for [`ScimService`](crate::ScimService)
//! and [`RouteFuture`] for [`Scim`](crate::Scim). Neither boxes.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::request::Parts;
use http::{Request, Response};
use http_body::Body;
use pin_project_lite::pin_project;
use scimkit::{ScimError, ScimServer};

use crate::body::{ResponseBody, ScimBody};
use crate::convert::error_response;
use crate::service::Offload;

/// The engine running on the blocking pool.
#[cfg(feature = "tokio")]
type Offloaded = tokio::task::JoinHandle<Response<Bytes>>;
/// Without tokio nothing is offloaded: the variant cannot be built.
#[cfg(not(feature = "tokio"))]
type Offloaded = Infallible;

pin_project! {
    /// The future of [`ScimService`](crate::ScimService): reads the request body
    /// (up to the limit), runs the engine (inline or on the blocking pool), and
    /// resolves to its response. Never fails.
    pub struct ResponseFuture<B> {
        #[pin]
        state: State<B>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<B> {
        /// A response decided without the engine (413, unreadable body), or the
        /// engine's response once taken.
        Ready { response: Option<Response<ScimBody>> },
        /// Reading the request body.
        Collecting {
            #[pin]
            body: B,
            parts: Option<Parts>,
            buf: BytesMut,
            server: ScimServer,
            limit: usize,
            offload: Offload,
        },
        /// The engine runs on the blocking pool.
        Offloaded { handle: Offloaded },
    }
}

impl<B> fmt::Debug for ResponseFuture<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Ready { .. } => "Ready",
            State::Collecting { .. } => "Collecting",
            State::Offloaded { .. } => "Offloaded",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .finish()
    }
}

impl<B: Body> ResponseFuture<B> {
    pub(crate) fn new(server: ScimServer, req: Request<B>, limit: usize, offload: Offload) -> Self {
        let (parts, body) = req.into_parts();
        // A declared length over the limit is refused before reading anything.
        let declared = body.size_hint().lower();
        let state = if usize::try_from(declared).map_or(true, |n| n > limit) {
            State::Ready {
                response: Some(too_large(limit)),
            }
        } else {
            State::Collecting {
                body,
                parts: Some(parts),
                // `declared` ≤ limit: reserving it is bounded.
                buf: BytesMut::with_capacity(declared as usize),
                server,
                limit,
                offload,
            }
        };
        Self { state }
    }
}

fn too_large(limit: usize) -> Response<ScimBody> {
    error_response(&ScimError::payload_too_large(limit)).map(ScimBody::new)
}

/// Read the rest of the body into `buf`; `Err` is the response to send instead
/// (413 past the limit, 400 when the body fails).
fn poll_collect<B: Body>(
    mut body: Pin<&mut B>,
    buf: &mut BytesMut,
    limit: usize,
    cx: &mut Context<'_>,
) -> Poll<Result<(), Response<ScimBody>>> {
    while let Some(frame) = ready!(body.as_mut().poll_frame(cx)) {
        let Ok(frame) = frame else {
            let e = ScimError::bad_request("the request body could not be read");
            return Poll::Ready(Err(error_response(&e).map(ScimBody::new)));
        };
        if let Ok(data) = frame.into_data() {
            if buf.len().saturating_add(data.remaining()) > limit {
                return Poll::Ready(Err(too_large(limit)));
            }
            buf.put(data);
        }
    }
    Poll::Ready(Ok(()))
}

/// Run the engine on the calling thread; a panic becomes a SCIM 500.
fn run_inline(server: &ScimServer, parts: &Parts, body: &[u8]) -> Response<Bytes> {
    catch_unwind(AssertUnwindSafe(|| {
        server.handle_parts(&parts.method, &parts.uri, &parts.headers, body)
    }))
    .unwrap_or_else(|_| panicked())
}

fn panicked() -> Response<Bytes> {
    error_response(&ScimError::internal("the SCIM engine panicked"))
}

impl<B: Body> Future for ResponseFuture<B> {
    type Output = Result<Response<ScimBody>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        loop {
            match state.as_mut().project() {
                StateProj::Ready { response } => {
                    let response = response
                        .take()
                        .expect("invariant: ResponseFuture polled after completion");
                    return Poll::Ready(Ok(response));
                }
                StateProj::Collecting {
                    body,
                    parts,
                    buf,
                    server,
                    limit,
                    offload,
                } => {
                    let next = match ready!(poll_collect(body, buf, *limit, cx)) {
                        Err(response) => State::Ready {
                            response: Some(response),
                        },
                        Ok(()) => {
                            let parts = parts
                                .take()
                                .expect("invariant: parts are taken once, when the body ends");
                            let body = std::mem::take(buf).freeze();
                            start_engine(server, parts, body, *offload)
                        }
                    };
                    state.set(next);
                }
                StateProj::Offloaded { handle } => return poll_offloaded(handle, cx),
            }
        }
    }
}

/// The state after the body is read: the engine's response (inline) or its
/// running task.
fn start_engine<B>(server: &ScimServer, parts: Parts, body: Bytes, offload: Offload) -> State<B> {
    #[cfg(feature = "tokio")]
    if offload.applies_to(&parts.method) {
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let server = server.clone();
            let handle = rt.spawn_blocking(move || run_inline(&server, &parts, &body));
            return State::Offloaded { handle };
        }
    }
    #[cfg(not(feature = "tokio"))]
    let _ = offload;
    State::Ready {
        response: Some(run_inline(server, &parts, &body).map(ScimBody::new)),
    }
}

#[cfg(feature = "tokio")]
fn poll_offloaded(
    handle: &mut Offloaded,
    cx: &mut Context<'_>,
) -> Poll<Result<Response<ScimBody>, Infallible>> {
    let resp = match ready!(Pin::new(handle).poll(cx)) {
        Ok(resp) => resp,
        // The task panicked (caught inside already) or the runtime is shutting down.
        Err(_) => panicked(),
    };
    Poll::Ready(Ok(resp.map(ScimBody::new)))
}

#[cfg(not(feature = "tokio"))]
fn poll_offloaded(
    handle: &mut Offloaded,
    _cx: &mut Context<'_>,
) -> Poll<Result<Response<ScimBody>, Infallible>> {
    match *handle {}
}

pin_project! {
    /// The future of [`Scim`](crate::Scim): the SCIM engine's response for a
    /// request under the base path, the inner service's otherwise.
    pub struct RouteFuture<B, F> {
        #[pin]
        kind: RouteKind<B, F>,
    }
}

pin_project! {
    #[project = RouteKindProj]
    enum RouteKind<B, F> {
        Scim { #[pin] future: ResponseFuture<B> },
        Inner { #[pin] future: F },
    }
}

impl<B, F> RouteFuture<B, F> {
    pub(crate) fn scim(future: ResponseFuture<B>) -> Self {
        Self {
            kind: RouteKind::Scim { future },
        }
    }

    pub(crate) fn inner(future: F) -> Self {
        Self {
            kind: RouteKind::Inner { future },
        }
    }
}

impl<B, F> fmt::Debug for RouteFuture<B, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.kind {
            RouteKind::Scim { .. } => "Scim",
            RouteKind::Inner { .. } => "Inner",
        };
        f.debug_struct("RouteFuture").field("kind", &kind).finish()
    }
}

impl<B, F, ResBody, E> Future for RouteFuture<B, F>
where
    B: Body,
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<ResponseBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            RouteKindProj::Scim { future } => {
                let Ok(resp) = ready!(future.poll(cx));
                Poll::Ready(Ok(resp.map(ResponseBody::scim)))
            }
            RouteKindProj::Inner { future } => {
                Poll::Ready(ready!(future.poll(cx)).map(|r| r.map(ResponseBody::inner)))
            }
        }
    }
}
