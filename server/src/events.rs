//! Provisioning events (created, deactivated, deleted, …) as structured log
//! lines — kind, tenant, resource type, id and name, never a body — and,
//! optionally, as JSON POSTed to a webhook.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Body;
use http::Uri;
use hyper_util::rt::TokioIo;
use scimkit::Event;
use tokio::sync::mpsc;

/// Events waiting for the webhook; more are dropped (and counted).
const WEBHOOK_QUEUE: usize = 1000;
/// The longest one webhook delivery (connect, send, answer) may take.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(5);

/// One `info` line per event under the `scimkit::events` target (filter with
/// `--log scimkit::events=info`).
pub(crate) fn log_event(e: &Event) {
    tracing::info!(
        target: "scimkit::events",
        kind = e.kind.as_str(),
        tenant = %e.tenant,
        resource_type = e.resource_type.as_str(),
        id = %e.id,
        name = e.name.as_deref().unwrap_or(""),
        changed = %e.changed.join(","),
        members = e.members.len(),
        request_id = %e.request_id,
        "provisioning event"
    );
}

/// A webhook address: `http://host:port/path` (plain HTTP, e.g. a relay on
/// the same machine).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Webhook {
    uri: Uri,
    authority: String,
}

impl Webhook {
    /// Parse and check a webhook URL.
    pub(crate) fn parse(url: &str) -> Result<Self, String> {
        let uri: Uri = url
            .parse()
            .map_err(|e| format!("invalid --event-webhook URL {url:?}: {e}"))?;
        if uri.scheme_str() != Some("http") {
            return Err(format!(
                "--event-webhook must be an http:// URL (https is not supported yet; use a local relay), not {url:?}"
            ));
        }
        let authority = uri
            .authority()
            .ok_or_else(|| format!("--event-webhook {url:?} has no host"))?;
        let authority = if authority.port().is_some() {
            authority.to_string()
        } else {
            format!("{}:80", authority.host())
        };
        Ok(Self { uri, authority })
    }
}

/// Hands events to the webhook task without ever blocking the engine's event
/// thread.
#[derive(Debug, Clone)]
pub(crate) struct WebhookSender {
    tx: mpsc::Sender<Arc<Event>>,
    dropped: Arc<AtomicU64>,
}

impl WebhookSender {
    /// Queue an event for delivery; drops it when the queue is full.
    pub(crate) fn send(&self, e: &Event) {
        if self.tx.try_send(Arc::new(e.clone())).is_err() {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::warn!(
                dropped_total = n,
                "event webhook queue full: event not delivered"
            );
        }
    }
}

/// Start the delivery task (on the current tokio runtime): each event is
/// POSTed as JSON (`Event::to_json`), one at a time, in order. A failed
/// delivery is logged and not retried.
pub(crate) fn start_webhook(hook: Webhook) -> WebhookSender {
    let (tx, mut rx) = mpsc::channel::<Arc<Event>>(WEBHOOK_QUEUE);
    tokio::spawn(async move {
        while let Some(e) = rx.recv().await {
            match tokio::time::timeout(WEBHOOK_TIMEOUT, post(&hook, &e)).await {
                Ok(Ok(status)) if (200..300).contains(&status) => {}
                Ok(Ok(status)) => {
                    tracing::warn!(status, kind = e.kind.as_str(), id = %e.id, "event webhook answered an error")
                }
                Ok(Err(err)) => {
                    tracing::warn!(error = %err, kind = e.kind.as_str(), id = %e.id, "event webhook failed")
                }
                Err(_) => {
                    tracing::warn!(kind = e.kind.as_str(), id = %e.id, "event webhook timed out")
                }
            }
        }
    });
    WebhookSender {
        tx,
        dropped: Arc::new(AtomicU64::new(0)),
    }
}

async fn post(hook: &Webhook, e: &Event) -> Result<u16, crate::Error> {
    let tcp = tokio::net::TcpStream::connect(&hook.authority).await?;
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
    let conn = tokio::spawn(conn);
    let path = hook
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let req = http::Request::post(path)
        .header(http::header::HOST, hook.authority.as_str())
        .header(http::header::CONTENT_TYPE, "application/json")
        .header("x-scimkit-event", e.kind.as_str())
        .body(Body::from(e.to_json().to_string()))?;
    let resp = send.send_request(req).await?;
    let status = resp.status().as_u16();
    drop(resp);
    drop(send);
    conn.abort();
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls() {
        let w = Webhook::parse("http://127.0.0.1:9000/hooks/scim?x=1").unwrap();
        assert_eq!(w.authority, "127.0.0.1:9000");
        assert_eq!(
            Webhook::parse("http://relay/x").unwrap().authority,
            "relay:80"
        );
        assert!(
            Webhook::parse("https://example.com/x")
                .unwrap_err()
                .contains("http://")
        );
        assert!(Webhook::parse("not a url").is_err());
    }
}
