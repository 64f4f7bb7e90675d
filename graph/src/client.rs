//! The Microsoft Graph client: client-credentials token (cached until shortly
//! before it expires), GET with throttling and bounded retries, page links
//! checked against the configured Graph origin.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::Value;

use crate::SyncError;
use crate::config::{RetryConfig, Secret, SyncConfig};

/// The largest response body read (a page of 999 users is far smaller).
const MAX_BODY: u64 = 64 * 1024 * 1024;

/// How long before its expiry a cached token is replaced.
const TOKEN_SKEW: Duration = Duration::from_secs(120);

/// `scheme://authority` of an http(s) URL.
pub(crate) fn origin(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let host_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    if host_len == 0 {
        return None;
    }
    Some(&url[..url.len() - rest.len() + host_len])
}

/// The path of a URL, without origin and query (for messages and logs: query
/// strings carry delta and skip tokens).
fn path_of(url: &str) -> &str {
    let after = origin(url).map_or(url, |o| &url[o.len()..]);
    after.split(['?', '#']).next().unwrap_or(after)
}

/// A GET answer the engine acts on.
#[derive(Debug)]
pub(crate) enum Fetched {
    /// 200 with a JSON body.
    Json(Value),
    /// 404.
    NotFound,
    /// 410: a delta link that expired (Graph's `syncStateNotFound`).
    Gone,
}

struct CachedToken {
    value: Secret,
    until: Instant,
}

/// What a client did, for the report.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) token_requests: AtomicU64,
    pub(crate) requests: AtomicU64,
    pub(crate) retries: AtomicU64,
}

/// A blocking Microsoft Graph client for one configuration.
pub(crate) struct GraphClient {
    agent: ureq::Agent,
    graph_url: String,
    graph_origin: String,
    token_url: String,
    client_id: String,
    secret: Secret,
    scope: String,
    retry: RetryConfig,
    token: Mutex<Option<CachedToken>>,
    pub(crate) stats: Stats,
}

impl std::fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphClient")
            .field("graph_url", &self.graph_url)
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

enum Attempt {
    Done(u16, Vec<u8>),
    Retry {
        wait: Duration,
        asked: Option<Duration>,
        why: String,
    },
}

impl GraphClient {
    pub(crate) fn new(cfg: &SyncConfig) -> Result<Self, SyncError> {
        let graph_url = cfg.graph_url.trim_end_matches('/').to_owned();
        let graph_origin = origin(&graph_url)
            .ok_or_else(|| {
                SyncError::Config(format!("graph_url {graph_url:?} is not an http(s) URL"))
            })?
            .to_owned();
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // A redirect would carry the token elsewhere; Graph does not redirect.
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(cfg.timeout_secs)))
            .user_agent(concat!("scimkit-graph/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(Self {
            agent: ureq::Agent::new_with_config(config),
            graph_url,
            graph_origin,
            token_url: cfg.token_url(),
            client_id: cfg.client_id.clone(),
            secret: cfg.client_secret.clone(),
            scope: cfg.token_scope.clone(),
            retry: cfg.retry.clone(),
            token: Mutex::new(None),
            stats: Stats::default(),
        })
    }

    /// The absolute URL of a Graph path (`/users?...`).
    pub(crate) fn url(&self, path_and_query: &str) -> String {
        format!("{}{}", self.graph_url, path_and_query)
    }

    /// Whether a page or delta link points at the configured Graph (the token is
    /// only ever sent there).
    pub(crate) fn is_graph_link(&self, link: &str) -> bool {
        origin(link).is_some_and(|o| o.eq_ignore_ascii_case(&self.graph_origin))
    }

    /// GET a Graph URL (absolute, on the configured origin) with retries.
    pub(crate) fn get(&self, url: &str) -> Result<Fetched, SyncError> {
        if !self.is_graph_link(url) {
            return Err(SyncError::Protocol(format!(
                "a page link points outside {}: {}",
                self.graph_origin,
                origin(url).unwrap_or("?")
            )));
        }
        let path = path_of(url).to_owned();
        let mut refreshed = false;
        let mut attempt = 0u32;
        loop {
            let token = self.token()?;
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let result = self
                .agent
                .get(url)
                .header("authorization", format!("Bearer {}", token.expose()))
                .header("accept", "application/json")
                .call();
            match self.classify(result, attempt) {
                Attempt::Done(200, body) => {
                    return serde_json::from_slice(&body)
                        .map(Fetched::Json)
                        .map_err(|e| {
                            SyncError::Protocol(format!("{path}: the body is not JSON: {e}"))
                        });
                }
                Attempt::Done(404, _) => return Ok(Fetched::NotFound),
                Attempt::Done(410, _) => return Ok(Fetched::Gone),
                Attempt::Done(401, _) if !refreshed => {
                    // Revoked or expired early: one new token, then give up.
                    refreshed = true;
                    *self.token.lock() = None;
                }
                Attempt::Done(0, body) => {
                    return Err(SyncError::Transport {
                        what: "Microsoft Graph",
                        message: String::from_utf8_lossy(&body).into_owned(),
                    });
                }
                Attempt::Done(status, body) => {
                    return Err(SyncError::Graph {
                        status,
                        path,
                        message: graph_error_message(&body),
                    });
                }
                Attempt::Retry { wait, asked, why } => {
                    let too_long =
                        asked.is_some_and(|a| a > Duration::from_secs(self.retry.max_wait_secs));
                    if attempt >= self.retry.max_retries || too_long {
                        return Err(if why.starts_with("network") {
                            SyncError::Transport {
                                what: "Microsoft Graph",
                                message: why,
                            }
                        } else {
                            SyncError::Throttled {
                                path,
                                retry_after: asked,
                            }
                        });
                    }
                    tracing::warn!(path, attempt, wait_ms = wait.as_millis() as u64, reason = %why, "Microsoft Graph request will be retried");
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    std::thread::sleep(wait);
                    attempt += 1;
                }
            }
        }
    }

    /// Sort an answer into done / retry (429, 500, 502, 503, 504, network).
    fn classify(
        &self,
        result: Result<http::Response<ureq::Body>, ureq::Error>,
        attempt: u32,
    ) -> Attempt {
        match result {
            Ok(mut resp) => {
                let status = resp.status().as_u16();
                if matches!(status, 429 | 500 | 502 | 503 | 504) {
                    let asked = resp
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    return Attempt::Retry {
                        wait: asked.unwrap_or_else(|| self.retry.backoff(attempt)),
                        asked,
                        why: format!("status {status}"),
                    };
                }
                match resp.body_mut().with_config().limit(MAX_BODY).read_to_vec() {
                    Ok(body) => Attempt::Done(status, body),
                    Err(e) => Attempt::Retry {
                        wait: self.retry.backoff(attempt),
                        asked: None,
                        why: format!("network: reading the body failed: {e}"),
                    },
                }
            }
            Err(e) if transient(&e) => Attempt::Retry {
                wait: self.retry.backoff(attempt),
                asked: None,
                why: format!("network: {e}"),
            },
            Err(e) => Attempt::Done(0, format!("request failed: {e}").into_bytes()),
        }
    }

    /// A valid access token (cached; one token request per expiry).
    fn token(&self) -> Result<Secret, SyncError> {
        let mut slot = self.token.lock();
        if let Some(t) = slot.as_ref() {
            if Instant::now() < t.until {
                return Ok(t.value.clone());
            }
        }
        let mut attempt = 0u32;
        loop {
            self.stats.token_requests.fetch_add(1, Ordering::Relaxed);
            let result = self.agent.post(&self.token_url).send_form([
                ("client_id", self.client_id.as_str()),
                ("client_secret", self.secret.expose()),
                ("scope", self.scope.as_str()),
                ("grant_type", "client_credentials"),
            ]);
            match self.classify(result, attempt) {
                Attempt::Done(200, body) => {
                    let (value, ttl) = parse_token(&body)?;
                    let keep = if ttl > TOKEN_SKEW * 2 {
                        ttl - TOKEN_SKEW
                    } else {
                        ttl / 2
                    };
                    *slot = Some(CachedToken {
                        value: value.clone(),
                        until: Instant::now() + keep,
                    });
                    return Ok(value);
                }
                Attempt::Done(0, body) => {
                    return Err(SyncError::Transport {
                        what: "the token endpoint",
                        message: String::from_utf8_lossy(&body).into_owned(),
                    });
                }
                Attempt::Done(status, body) => {
                    return Err(SyncError::Auth(format!(
                        "{status}: {}",
                        token_error_message(&body)
                    )));
                }
                Attempt::Retry { wait, asked, why } => {
                    let too_long =
                        asked.is_some_and(|a| a > Duration::from_secs(self.retry.max_wait_secs));
                    if attempt >= self.retry.max_retries || too_long {
                        return Err(SyncError::Transport {
                            what: "the token endpoint",
                            message: why,
                        });
                    }
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    std::thread::sleep(wait);
                    attempt += 1;
                }
            }
        }
    }
}

fn transient(e: &ureq::Error) -> bool {
    matches!(
        e,
        ureq::Error::Io(_)
            | ureq::Error::Timeout(_)
            | ureq::Error::HostNotFound
            | ureq::Error::ConnectionFailed
            | ureq::Error::Protocol(_)
            | ureq::Error::BodyStalled
    )
}

fn parse_token(body: &[u8]) -> Result<(Secret, Duration), SyncError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|_| SyncError::Auth("the token endpoint answered no JSON".into()))?;
    let token = v["access_token"]
        .as_str()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| SyncError::Auth("the token endpoint answered no access_token".into()))?;
    // v2.0 sends a number; v1.0 sent a string.
    let ttl = v["expires_in"]
        .as_u64()
        .or_else(|| v["expires_in"].as_str().and_then(|s| s.parse().ok()))
        .unwrap_or(300);
    Ok((Secret::new(token), Duration::from_secs(ttl)))
}

/// `error: first line of error_description` of an OAuth2 error body.
fn token_error_message(body: &[u8]) -> String {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let code = v["error"].as_str().unwrap_or("unknown error");
    match v["error_description"]
        .as_str()
        .and_then(|d| d.lines().next())
    {
        Some(d) => format!("{code}: {d}"),
        None => code.to_owned(),
    }
}

/// `code: message` of a Graph error body.
fn graph_error_message(body: &[u8]) -> String {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    match (v["error"]["code"].as_str(), v["error"]["message"].as_str()) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c.to_owned(),
        _ => String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        assert_eq!(
            origin("https://graph.microsoft.com/v1.0"),
            Some("https://graph.microsoft.com")
        );
        assert_eq!(
            origin("http://127.0.0.1:8080/v1.0/users?$top=1"),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(origin("https://x.example"), Some("https://x.example"));
        assert_eq!(origin("ftp://x"), None);
        assert_eq!(origin("https:///path"), None);
        assert_eq!(
            path_of("https://g.example/v1.0/users/delta?$deltatoken=secret"),
            "/v1.0/users/delta"
        );
    }

    #[test]
    fn error_bodies_become_short_messages() {
        assert_eq!(
            token_error_message(br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x"}"#),
            "invalid_client: AADSTS7000215: Invalid client secret provided."
        );
        assert_eq!(
            graph_error_message(br#"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}"#),
            "Authorization_RequestDenied: Insufficient privileges to complete the operation."
        );
        let (t, ttl) = parse_token(br#"{"access_token":"abc","expires_in":"3599"}"#).unwrap();
        assert_eq!((t.expose(), ttl), ("abc", Duration::from_secs(3599)));
        assert!(parse_token(b"{}").is_err());
    }
}
