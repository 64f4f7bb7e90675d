//! SCIM alone on plain hyper: every request goes to the engine.
//!
//! ```text
//! cargo run -p tower-scim --example hyper
//! curl -H 'Authorization: Bearer s3cret' http://127.0.0.1:3000/scim/v2/Users
//! ```

use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use scimkit::{MemoryStore, ScimServer};
use tower_scim::ScimService;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let scim = ScimServer::builder()
        .store(MemoryStore::new())
        .token("s3cret", "contoso")
        .build()?;
    let service = TowerToHyperService::new(ScimService::new(scim));

    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!(
        "SCIM at http://{}/scim/v2 (token: s3cret)",
        listener.local_addr()?
    );
    loop {
        let (tcp, _) = listener.accept().await?;
        let service = service.clone();
        tokio::spawn(async move {
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), service)
                .await
            {
                eprintln!("connection error: {e}");
            }
        });
    }
}
