//! [`SyncError`]: why a sync run stopped, and [`StateError`]: why the sync state
//! could not be read or written.

use std::time::Duration;

/// Why a sync run did not complete. Per-user failures (a 409 from the store, a
/// user the SCIM engine refused) do **not** stop a run: they are counted in
/// [`crate::Counts::errors`] and listed in [`crate::Report::issues`]. A
/// `SyncError` means the run as a whole stopped; what it applied before stopping
/// stays applied (every step is idempotent) and the saved state is not advanced,
/// so the next run repeats the same work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The configuration is switched off (`enabled = false`). Nothing was read,
    /// changed or deleted.
    #[error("sync is disabled for tenant {tenant:?}; nothing was changed")]
    Disabled {
        /// The scimkit tenant.
        tenant: String,
    },
    /// The configuration is invalid.
    #[error("invalid sync configuration: {0}")]
    Config(String),
    /// Another run for the same tenant is in progress in this process.
    #[error("a sync run for tenant {tenant:?} is already in progress")]
    AlreadyRunning {
        /// The scimkit tenant.
        tenant: String,
    },
    /// The token endpoint refused the client credentials (or answered
    /// something that is not a token). The secret is never part of the message.
    #[error("token request failed: {0}")]
    Auth(String),
    /// Microsoft Graph answered an error that retrying does not fix.
    #[error("Microsoft Graph answered {status} for {path}: {message}")]
    Graph {
        /// The HTTP status.
        status: u16,
        /// The request path (without the host and without query secrets).
        path: String,
        /// Graph's `error.code` and `error.message`, when it sent them.
        message: String,
    },
    /// Microsoft Graph kept throttling after every allowed retry, or asked to
    /// wait longer than `retry.max_wait_secs`.
    #[error(
        "Microsoft Graph throttled {path} (retry after {retry_after:?}) beyond the configured retries"
    )]
    Throttled {
        /// The request path.
        path: String,
        /// The last wait Graph asked for, when it said.
        retry_after: Option<Duration>,
    },
    /// The network failed on every allowed attempt.
    #[error("could not reach {what}: {message}")]
    Transport {
        /// `Microsoft Graph` or `the token endpoint`.
        what: &'static str,
        /// The client's error.
        message: String,
    },
    /// Graph answered something that is not the documented shape (e.g. a page
    /// link to another host).
    #[error("unexpected answer from Microsoft Graph: {0}")]
    Protocol(String),
    /// A configured group does not exist in the directory. The run stops rather
    /// than treat its members as out of scope.
    #[error(
        "group {0} was not found in Microsoft Graph; fix the sync scope (nothing was deactivated)"
    )]
    GroupNotFound(String),
    /// The SCIM engine refused the sync as a whole (401/403: the server does not
    /// authenticate the sync's requests for the tenant, or provisioning is
    /// disabled for it) or its store failed (5xx).
    #[error("the SCIM engine answered {status}: {detail}")]
    Target {
        /// The HTTP status the engine answered.
        status: u16,
        /// The SCIM error detail.
        detail: String,
    },
    /// More users would be removed from the application (queued for deletion or
    /// deactivated because they left the scope) than `removal_threshold` allows.
    /// Nothing was removed; raise the threshold or run once with it unset.
    #[error(
        "{removals} users would be removed, more than the threshold of {threshold}; nothing was removed"
    )]
    RemovalThreshold {
        /// How many removals the run found.
        removals: usize,
        /// The configured threshold.
        threshold: usize,
    },
    /// The sync state could not be read or written.
    #[error(transparent)]
    State(#[from] StateError),
}

/// The sync state could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// A file operation failed.
    #[error("sync state file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The stored state is not valid JSON of the expected shape.
    #[error("sync state is corrupt: {0}")]
    Corrupt(#[from] serde_json::Error),
    /// Any other failure of a host's own [`crate::SyncStateStore`].
    #[error("sync state store failed: {0}")]
    Other(Box<dyn std::error::Error + Send + Sync>),
}
