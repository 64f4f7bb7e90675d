//! # scimkit-graph
//!
//! Pull sync from Microsoft Graph, for applications that pull their users from
//! Microsoft Entra ID instead of receiving SCIM: an administrator connects the
//! application to the directory (an app registration with admin consent),
//! chooses all users or selected groups, maps the default fields plus extra
//! ones, and the host runs the sync manually or on a schedule.
//!
//! The sync **writes through the SCIM engine in-process**: every Graph user is
//! mapped to the SCIM User Entra would have pushed (ENTRA.md's default mapping),
//! looked up by `externalId` (then `userName`), and sent as POST / PATCH /
//! DELETE to the host's [`scimkit::ScimServer`]. So the same store, policies
//! (link existing users, ignored users, review queue for deletions),
//! provisioning log and events apply, and a pulled user looks exactly like a
//! pushed one.
//!
//! * [`SyncConfig`] — what to pull and how (serde, e.g. from TOML).
//! * [`run_sync`] / [`Syncer`] — one run; [`Report`] says what changed, a dry
//!   run says what would.
//! * [`SyncStateStore`] — the delta link and the synced ids between runs
//!   ([`MemoryStateStore`], [`JsonFileStateStore`]).
//! * [`Scheduler`] — when the next run is due (`"nightly"`, `"every 30m"`).
//! * [`SyncAuthenticator`] — the authenticator of a server dedicated to the sync.
//!
//! ```no_run
//! use std::sync::Arc;
//! use scimkit::{DeletionPolicy, LinkPolicy, MemoryStore, Policies, ScimServer, UserStore};
//! use scimkit_graph::{JsonFileStateStore, Progress, SyncAuthenticator, SyncConfig, run_sync};
//!
//! let store: Arc<dyn UserStore> = Arc::new(MemoryStore::new());
//! // The server the sync writes through: the host's store and policies, trusted
//! // in-process only (never served over HTTP).
//! let server = ScimServer::builder()
//!     .shared_store(store.clone())
//!     .authenticator(SyncAuthenticator::new("contoso"))
//!     .policies(Policies {
//!         deletion: DeletionPolicy::Review,    // deleted in Entra → listed for an admin
//!         link_existing: LinkPolicy::ByUserName, // existing local users are linked
//!         ..Policies::default()
//!     })
//!     .build()?;
//! let config = SyncConfig::new("contoso", "contoso.onmicrosoft.com", "<client id>", "<secret>");
//! let state = JsonFileStateStore::new("/var/lib/app/graph-sync.json");
//! let report = run_sync(&server, &config, &state, &mut Progress::new())?;
//! println!("{report}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Users deleted in the directory are sent as DELETE: configure the tenant with
//! `DeletionPolicy::Review` so they are deactivated and listed
//! (`ScimServer::hidden_users(tenant, HiddenState::Review)`) rather than removed.
//! A disabled configuration refuses to run and deletes nothing.
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

mod client;
mod config;
mod engine;
mod error;
mod mapping;
mod report;
mod schedule;
mod state;
mod target;

pub use config::{
    DEFAULT_AUTHORITY, DEFAULT_GRAPH_URL, DEFAULT_TOKEN_SCOPE, Mapping, RetryConfig, Scope, Secret,
    SyncConfig,
};
pub use engine::{Syncer, run_sync};
pub use error::{StateError, SyncError};
pub use mapping::DEFAULT_MAPPINGS;
pub use report::{Action, Change, Counts, Issue, Progress, Report, RunMode};
pub use schedule::{MIN_INTERVAL, Schedule, ScheduleError, Scheduler};
pub use state::{JsonFileStateStore, MemoryStateStore, SyncState, SyncStateStore};
pub use target::{SYNC_TOKEN_ID, SyncAuthenticator};
