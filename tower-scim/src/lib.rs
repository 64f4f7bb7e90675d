//! # tower-scim
//!
//! Serve SCIM 2.0 provisioning (Microsoft Entra ID, Okta, any RFC 7644 client)
//! from a [tower] stack — axum, hyper, tonic — with the [`scimkit`] engine.
//!
//! * [`ScimLayer`] serves SCIM under the engine's base path (e.g. `/scim/v2`)
//!   and forwards every other request to the inner service (your app).
//! * [`ScimService`] is the end service: every request goes to the engine.
//!
//! Both are `Error = Infallible`-style: a malformed request, a body over the
//! limit (413), an unknown route or a failing store is a SCIM error response
//! (`application/scim+json`, RFC 7644 §3.12), never a service error. Request
//! bodies are any [`http_body::Body`]; with the `tokio` feature (default) the
//! engine and its store calls run on tokio's blocking pool so a blocking store
//! (SQLite, PostgreSQL) does not stall the executor.
//!
//! ## axum: SCIM next to your own routes
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use scimkit::{MemoryStore, ScimServer};
//! use tower_scim::ScimLayer;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let scim = ScimServer::builder()
//!     .store(MemoryStore::new())
//!     .token("s3cret", "contoso")
//!     .base_path("/scim/v2")
//!     .build()?;
//! let app = Router::new()
//!     .route("/", get(|| async { "my app" }))
//!     .layer(ScimLayer::new(scim));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await?;
//! # Ok(())
//! # }
//! ```
//!
//! ## hyper: SCIM alone
//!
//! ```no_run
//! use hyper_util::rt::{TokioExecutor, TokioIo};
//! use hyper_util::service::TowerToHyperService;
//! use scimkit::{MemoryStore, ScimServer};
//! use tower_scim::ScimService;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let scim = ScimServer::builder()
//!     .store(MemoryStore::new())
//!     .token("s3cret", "contoso")
//!     .build()?;
//! let service = TowerToHyperService::new(ScimService::new(scim));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! loop {
//!     let (tcp, _) = listener.accept().await?;
//!     let service = service.clone();
//!     tokio::spawn(async move {
//!         let _ = hyper::server::conn::http1::Builder::new()
//!             .serve_connection(TokioIo::new(tcp), service)
//!             .await;
//!     });
//! }
//! # }
//! ```
//!
//! ## Feature flags
//!
//! * `tokio` (default): [`ScimService::offload`] — run the engine with
//!   `tokio::task::spawn_blocking` for every request ([`Offload::All`]), for
//!   writes only ([`Offload::Writes`]) or never ([`Offload::None`]). Without
//!   the feature the engine runs inline in the response future's `poll`, which
//!   suits stores that never block.
//!
//! [tower]: https://docs.rs/tower
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

pub mod body;
mod convert;
pub mod future;
mod layer;
mod service;

pub use body::{ResponseBody, ScimBody};
pub use future::{ResponseFuture, RouteFuture};
pub use layer::{Scim, ScimLayer};
pub use service::{Offload, ScimService};
