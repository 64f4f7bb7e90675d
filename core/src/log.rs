//! The provisioning log: every request that changes (or fails to change)
//! something, and every rejected credential, with its outcome.
//!
//! The engine records through the [`ProvisioningLog`] trait; [`MemoryLog`] keeps a
//! bounded window in memory, the SQLite and PostgreSQL stores keep it in a table.
//! Entries never contain tokens, passwords or resource bodies.

use std::collections::VecDeque;

use parking_lot::RwLock;
use serde_json::{Value, json};

use crate::schema::ResourceKind;
use crate::store::StoreResult;

/// How a logged request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// 2xx: the change was made.
    Success,
    /// 4xx/5xx: nothing was changed.
    Failure,
    /// The request was accepted without effect by policy (ignored user, groups
    /// not provisioned).
    Ignored,
}

impl Outcome {
    /// `"success"`, `"failure"` or `"ignored"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Ignored => "ignored",
        }
    }

    /// Parse the name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "success" => Some(Outcome::Success),
            "failure" => Some(Outcome::Failure),
            "ignored" => Some(Outcome::Ignored),
            _ => None,
        }
    }
}

/// One provisioning log entry.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    /// When (fixed-width UTC, sorts as text).
    pub time: String,
    /// The tenant (empty when the credential was rejected).
    pub tenant: String,
    /// The credential's id (never the secret).
    pub token_id: String,
    /// The request id.
    pub request_id: String,
    /// HTTP method.
    pub method: String,
    /// The path below the base path.
    pub path: String,
    /// `create`, `replace`, `patch`, `delete`, `bulk`, `auth`, …
    pub operation: String,
    /// User or Group, when the request addressed one.
    pub resource_type: Option<ResourceKind>,
    /// The resource id, when known.
    pub resource_id: Option<String>,
    /// The user's userName or the group's displayName, when known.
    pub name: Option<String>,
    /// The HTTP status answered.
    pub status: u16,
    /// The outcome.
    pub outcome: Outcome,
    /// The SCIM error keyword, if any.
    pub scim_type: Option<String>,
    /// The SCIM error detail (as sent to the client), if any.
    pub detail: Option<String>,
}

impl LogEntry {
    /// The JSON form (one line of the JSON-lines export).
    pub fn to_json(&self) -> Value {
        json!({
            "time": self.time,
            "tenant": self.tenant,
            "tokenId": self.token_id,
            "requestId": self.request_id,
            "method": self.method,
            "path": self.path,
            "operation": self.operation,
            "resourceType": self.resource_type.map(ResourceKind::as_str),
            "resourceId": self.resource_id,
            "name": self.name,
            "status": self.status,
            "outcome": self.outcome.as_str(),
            "scimType": self.scim_type,
            "detail": self.detail,
        })
    }
}

/// A query over the log; every field narrows it. Newest entries first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogQuery {
    /// Only this tenant.
    pub tenant: Option<String>,
    /// Only entries at or after this time.
    pub since: Option<String>,
    /// Only entries before this time.
    pub until: Option<String>,
    /// Only this resource id.
    pub resource_id: Option<String>,
    /// Only this name (userName/displayName), case-insensitively.
    pub name: Option<String>,
    /// Only this outcome.
    pub outcome: Option<Outcome>,
    /// Skip this many (paging).
    pub offset: usize,
    /// At most this many; 0 means 100.
    pub limit: usize,
}

impl LogQuery {
    /// Whether an entry passes the query's conditions (not offset/limit).
    pub fn accepts(&self, e: &LogEntry) -> bool {
        self.tenant.as_ref().is_none_or(|t| *t == e.tenant)
            && self
                .since
                .as_ref()
                .is_none_or(|s| e.time.as_str() >= s.as_str())
            && self
                .until
                .as_ref()
                .is_none_or(|u| e.time.as_str() < u.as_str())
            && self
                .resource_id
                .as_ref()
                .is_none_or(|r| e.resource_id.as_ref() == Some(r))
            && self.name.as_ref().is_none_or(|n| {
                e.name
                    .as_ref()
                    .is_some_and(|x| crate::store::fold_case(x) == crate::store::fold_case(n))
            })
            && self.outcome.is_none_or(|o| o == e.outcome)
    }

    /// The effective limit.
    pub fn effective_limit(&self) -> usize {
        if self.limit == 0 { 100 } else { self.limit }
    }
}

/// Where provisioning log entries go.
pub trait ProvisioningLog: Send + Sync + 'static {
    /// Record one entry.
    fn record(&self, entry: &LogEntry) -> StoreResult<()>;
    /// Entries matching the query, newest first.
    fn query(&self, query: &LogQuery) -> StoreResult<Vec<LogEntry>>;
    /// Delete entries older than `before`; returns how many.
    fn prune(&self, before: &str) -> StoreResult<usize>;
}

/// An in-memory log keeping the newest `capacity` entries.
#[derive(Debug)]
pub struct MemoryLog {
    entries: RwLock<VecDeque<LogEntry>>,
    capacity: usize,
}

impl MemoryLog {
    /// A log keeping at most `capacity` entries (oldest dropped first).
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: RwLock::new(VecDeque::new()),
            capacity: capacity.max(1),
        }
    }
}

impl Default for MemoryLog {
    fn default() -> Self {
        Self::new(100_000)
    }
}

impl ProvisioningLog for MemoryLog {
    fn record(&self, entry: &LogEntry) -> StoreResult<()> {
        let mut e = self.entries.write();
        if e.len() >= self.capacity {
            e.pop_front();
        }
        e.push_back(entry.clone());
        Ok(())
    }

    fn query(&self, q: &LogQuery) -> StoreResult<Vec<LogEntry>> {
        let e = self.entries.read();
        Ok(e.iter()
            .rev()
            .filter(|x| q.accepts(x))
            .skip(q.offset)
            .take(q.effective_limit())
            .cloned()
            .collect())
    }

    fn prune(&self, before: &str) -> StoreResult<usize> {
        let mut e = self.entries.write();
        let n = e.len();
        e.retain(|x| x.time.as_str() >= before);
        Ok(n - e.len())
    }
}
