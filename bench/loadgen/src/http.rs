//! One keep-alive HTTP/1.1 connection to the server under test, recording the
//! latency of every request in a histogram per label.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use hdrhistogram::Histogram;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HOST};
use http::{HeaderValue, Method, Request, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Latencies in microseconds, up to one minute, 3 significant digits.
pub(crate) fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("invariant: valid histogram bounds")
}

/// Where the server is and how to talk to it.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// The server's loopback address.
    pub(crate) addr: SocketAddr,
    /// The SCIM base path, e.g. `/scim/v2` (no trailing slash).
    pub(crate) base: String,
    host: HeaderValue,
    auth: HeaderValue,
}

impl Target {
    /// Parse `http://127.0.0.1:PORT/base` (loopback only) and the bearer token.
    pub(crate) fn new(url: &str, token: &str) -> Result<Self, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("--url must start with http://, not {url:?}"))?;
        let (hostport, base) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
            None => (rest, ""),
        };
        let addr: SocketAddr = hostport
            .parse()
            .map_err(|e| format!("--url must name IP:PORT ({hostport:?}: {e})"))?;
        if !addr.ip().is_loopback() {
            return Err(format!(
                "the benchmark only talks to loopback addresses, not {addr}"
            ));
        }
        Ok(Self {
            addr,
            base: base.to_owned(),
            host: HeaderValue::from_str(hostport).map_err(|e| e.to_string())?,
            auth: HeaderValue::from_str(&format!("Bearer {token}")).map_err(|e| e.to_string())?,
        })
    }
}

/// A response: status and the whole body.
#[derive(Debug)]
pub(crate) struct Resp {
    pub(crate) status: StatusCode,
    pub(crate) body: Bytes,
}

impl Resp {
    /// The body as JSON, or an error naming what was expected.
    pub(crate) fn json(&self, what: &str) -> Result<serde_json::Value, String> {
        serde_json::from_slice(&self.body).map_err(|e| {
            format!(
                "{what}: body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body[..self.body.len().min(200)])
            )
        })
    }

    /// Fails unless the status is one of `ok`.
    pub(crate) fn expect(&self, what: &str, ok: &[u16]) -> Result<(), String> {
        if ok.contains(&self.status.as_u16()) {
            Ok(())
        } else {
            Err(format!(
                "{what}: status {} (expected {ok:?}): {}",
                self.status.as_u16(),
                String::from_utf8_lossy(&self.body[..self.body.len().min(300)])
            ))
        }
    }
}

/// One keep-alive connection and the latencies measured on it.
pub(crate) struct Conn {
    target: Target,
    sender: Option<SendRequest<Full<Bytes>>>,
    /// Latency histograms by request label (µs).
    pub(crate) hist: BTreeMap<&'static str, Histogram<u64>>,
    /// How often the connection had to be opened again.
    pub(crate) reconnects: u64,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("addr", &self.target.addr)
            .field("reconnects", &self.reconnects)
            .finish_non_exhaustive()
    }
}

impl Conn {
    /// A connection (opened lazily).
    pub(crate) fn new(target: &Target) -> Self {
        Self {
            target: target.clone(),
            sender: None,
            hist: BTreeMap::new(),
            reconnects: 0,
        }
    }

    async fn connect(&mut self) -> Result<(), String> {
        let tcp = TcpStream::connect(self.target.addr)
            .await
            .map_err(|e| format!("connect {}: {e}", self.target.addr))?;
        tcp.set_nodelay(true).map_err(|e| e.to_string())?;
        let (sender, conn) = http1::handshake(TokioIo::new(tcp))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        self.sender = Some(sender);
        Ok(())
    }

    /// A ready sender, reconnecting when the server closed the connection.
    async fn ready(&mut self) -> Result<&mut SendRequest<Full<Bytes>>, String> {
        let usable = match self.sender.as_mut() {
            Some(s) => s.ready().await.is_ok(),
            None => false,
        };
        if !usable {
            if self.sender.is_some() {
                self.reconnects += 1;
            }
            self.connect().await?;
        }
        Ok(self.sender.as_mut().expect("invariant: connected above"))
    }

    /// Send one request (path and query under the base path) and record its
    /// latency under `label`.
    pub(crate) async fn send(
        &mut self,
        label: &'static str,
        method: Method,
        path_and_query: &str,
        body: Option<Bytes>,
    ) -> Result<Resp, String> {
        let uri = format!("{}{}", self.target.base, path_and_query);
        let mut builder = Request::builder()
            .method(method)
            .uri(&uri)
            .header(HOST, self.target.host.clone())
            .header(AUTHORIZATION, self.target.auth.clone())
            .header(ACCEPT, "application/scim+json");
        if body.is_some() {
            builder = builder.header(CONTENT_TYPE, "application/scim+json");
        }
        let req = builder
            .body(Full::new(body.unwrap_or_default()))
            .map_err(|e| format!("request {uri}: {e}"))?;
        let sender = self.ready().await?;
        let start = Instant::now();
        let resp = sender.send_request(req).await;
        let resp = match resp {
            Ok(r) => r,
            Err(e) => {
                self.sender = None;
                return Err(format!("{uri}: {e}"));
            }
        };
        let (parts, body) = resp.into_parts();
        let body = match body.collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) => {
                self.sender = None;
                return Err(format!("{uri}: reading the body: {e}"));
            }
        };
        let us = (start.elapsed().as_micros() as u64).max(1);
        let h = self.hist.entry(label).or_insert_with(new_histogram);
        h.saturating_record(us);
        Ok(Resp {
            status: parts.status,
            body,
        })
    }
}

/// Percent-encode a query parameter value (everything but unreserved bytes).
pub(crate) fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
