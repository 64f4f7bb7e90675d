//! SCIM under `/scim/v2` next to an app's own routes, with axum.
//!
//! ```text
//! cargo run -p tower-scim --example axum
//! curl -H 'Authorization: Bearer s3cret' \
//!     'http://127.0.0.1:3000/scim/v2/Users?filter=userName%20eq%20%22alice%22'
//! curl http://127.0.0.1:3000/        # the app's own route
//! ```

use axum::Router;
use axum::routing::get;
use scimkit::{MemoryStore, ScimServer};
use tower_scim::ScimLayer;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let scim = ScimServer::builder()
        .store(MemoryStore::new())
        .token("s3cret", "contoso")
        .base_path("/scim/v2")
        .build()?;

    let app = Router::new()
        .route("/", get(|| async { "my app\n" }))
        .route("/healthz", get(|| async { "ok\n" }))
        // Everything under /scim/v2 is SCIM; the rest reaches the routes above.
        // The memory store never blocks, so the engine may run inline.
        .layer(ScimLayer::new(scim).spawn_blocking(false));

    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!(
        "SCIM at http://{}/scim/v2 (token: s3cret)",
        listener.local_addr()?
    );
    axum::serve(listener, app).await?;
    Ok(())
}
