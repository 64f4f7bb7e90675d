//! The sync's side of the SCIM engine: in-process requests to the host's
//! [`ScimServer`], exactly as Entra would send them over HTTP.

use std::cell::Cell;

use bytes::Bytes;
use http::Method;
use scimkit::{Authenticator, Principal, SCIM_CONTENT_TYPE, ScimServer};
use serde_json::Value;

use crate::SyncError;

/// The token id the sync's requests carry in the provisioning log.
pub const SYNC_TOKEN_ID: &str = "graph-sync";

/// Authenticates every request as the sync of one tenant (token id
/// `graph-sync` in the provisioning log).
///
/// For a [`ScimServer`] dedicated to the sync, which shares the host's store,
/// log, policies and event handler: it trusts every request, so such a server
/// must never be reachable over HTTP.
///
/// ```
/// use std::sync::Arc;
/// use scimkit::{DeletionPolicy, LinkPolicy, MemoryStore, Policies, ScimServer, UserStore};
/// use scimkit_graph::SyncAuthenticator;
///
/// let store: Arc<dyn UserStore> = Arc::new(MemoryStore::new());
/// let sync_server = ScimServer::builder()
///     .shared_store(store.clone())
///     .authenticator(SyncAuthenticator::new("contoso"))
///     .policies(Policies {
///         deletion: DeletionPolicy::Review,
///         link_existing: LinkPolicy::ByUserName,
///         ..Policies::default()
///     })
///     .build()?;
/// # Ok::<(), scimkit::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct SyncAuthenticator {
    tenant: String,
}

impl SyncAuthenticator {
    /// Every request acts as the sync of `tenant`.
    pub fn new(tenant: impl Into<String>) -> Self {
        Self {
            tenant: tenant.into(),
        }
    }
}

impl Authenticator for SyncAuthenticator {
    fn authenticate(&self, _token: Option<&str>) -> Option<Principal> {
        Some(Principal {
            tenant: self.tenant.clone(),
            token_id: SYNC_TOKEN_ID.to_owned(),
        })
    }
}

/// A SCIM answer.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: Value,
}

impl Reply {
    pub(crate) fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The SCIM error detail (or the status).
    pub(crate) fn detail(&self) -> String {
        match self.body["detail"].as_str() {
            Some(d) => format!("{} {}", self.status, d),
            None => format!("status {}", self.status),
        }
    }
}

/// Sends the sync's requests to a server.
pub(crate) struct Target<'a> {
    server: &'a ScimServer,
    run_id: String,
    seq: Cell<u64>,
}

/// A SCIM filter string literal.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

impl<'a> Target<'a> {
    pub(crate) fn new(server: &'a ScimServer) -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        Self {
            server,
            run_id: id[..12].to_owned(),
            seq: Cell::new(0),
        }
    }

    /// The run's id, the prefix of every request id it sends.
    pub(crate) fn run_id(&self) -> &str {
        &self.run_id
    }

    /// One request. 401/403 and 5xx stop the run; other errors are the caller's.
    pub(crate) fn call(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&Value>,
    ) -> Result<Reply, SyncError> {
        let n = self.seq.get() + 1;
        self.seq.set(n);
        let uri = format!("{}{}", self.server.base_path(), path_and_query);
        let req = http::Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", SCIM_CONTENT_TYPE)
            .header("accept", SCIM_CONTENT_TYPE)
            .header("x-request-id", format!("graph-sync-{}-{n}", self.run_id))
            .body(body.map(|b| Bytes::from(b.to_string())).unwrap_or_default())
            .map_err(|e| SyncError::Protocol(format!("could not build a SCIM request: {e}")))?;
        let resp = self.server.handle(req);
        let status = resp.status().as_u16();
        let body = if resp.body().is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(resp.body()).unwrap_or(Value::Null)
        };
        let reply = Reply { status, body };
        if status == 401
            || (status == 403 && !path_and_query.starts_with("/Groups"))
            || status >= 500
        {
            return Err(SyncError::Target {
                status,
                detail: reply.body["detail"]
                    .as_str()
                    .unwrap_or("no detail")
                    .to_owned(),
            });
        }
        if status == 403 {
            return Err(SyncError::Target {
                status,
                detail: format!(
                    "the server refuses group requests ({}); turn mirror_groups off or allow groups",
                    reply.body["detail"].as_str().unwrap_or("no detail")
                ),
            });
        }
        Ok(reply)
    }

    /// Resources of `endpoint` (`/Users`, `/Groups`) whose `attr` equals `value`.
    pub(crate) fn find(
        &self,
        endpoint: &str,
        attr: &str,
        value: &str,
    ) -> Result<Vec<Value>, SyncError> {
        let q = form_urlencoded::Serializer::new(String::new())
            .append_pair("filter", &format!("{attr} eq {}", quote(value)))
            .append_pair("count", "2")
            .finish();
        let r = self.call(Method::GET, &format!("{endpoint}?{q}"), None)?;
        if r.status != 200 {
            return Err(SyncError::Target {
                status: r.status,
                detail: format!("searching {endpoint} by {attr}: {}", r.detail()),
            });
        }
        Ok(r.body["Resources"].as_array().cloned().unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_literals_are_escaped() {
        assert_eq!(quote("alice@contoso.com"), "\"alice@contoso.com\"");
        assert_eq!(quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }
}
