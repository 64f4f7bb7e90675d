//! [`SyncConfig`]: what to pull, from where, and how to map it.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::SyncError;
use crate::mapping::{self, ScimPath};
use crate::schedule::Schedule;

/// Microsoft Graph v1.0 (the global cloud).
pub const DEFAULT_GRAPH_URL: &str = "https://graph.microsoft.com/v1.0";
/// The Microsoft identity platform's authority (the global cloud).
pub const DEFAULT_AUTHORITY: &str = "https://login.microsoftonline.com";
/// The client-credentials scope for Microsoft Graph (the global cloud).
pub const DEFAULT_TOKEN_SCOPE: &str = "https://graph.microsoft.com/.default";

/// A secret string: `Debug` and `Display` print `[redacted]`, it is never
/// serialized, logged or put in an error message.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

/// Which users of the directory the application gets.
///
/// In TOML: `scope = "all"` or `scope = { groups = ["<group id>", …] }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Every user of the directory (`/users`, or `/users/delta` for incremental
    /// runs).
    #[default]
    All,
    /// Only users who are members of one of these groups (object ids), directly or
    /// through nested groups (`/groups/{id}/transitiveMembers/microsoft.graph.user`).
    /// Every run lists the members in full; a user who leaves every group is
    /// deactivated (and no longer followed), a user deleted in the directory is
    /// queued for deletion.
    Groups(Vec<String>),
}

/// One extra mapping: a Microsoft Graph user property to a SCIM attribute.
///
/// `graph` is a property name (`officeLocation`) or a dotted path into a complex
/// property (`onPremisesExtensionAttributes.extensionAttribute1`); an array value
/// maps its first element. `scim` is a SCIM PATCH path as Entra sends them:
/// `title`, `name.middleName`, `addresses[type eq "work"].locality`,
/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter`, or an
/// attribute of a custom extension registered on the server. A mapping to a SCIM
/// path that a default mapping also writes replaces the default (e.g.
/// `{ graph = "mail", scim = "userName" }`); `externalId` is always the object
/// id and cannot be remapped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// The Graph property.
    pub graph: String,
    /// The SCIM path.
    pub scim: String,
}

/// Retries of Microsoft Graph and token requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryConfig {
    /// Retries after a throttled (429), unavailable (503/504, 500/502) or failed
    /// (network) request before the run stops. Defaults to 6.
    pub max_retries: u32,
    /// The first wait when the answer has no `Retry-After`, in milliseconds;
    /// doubled on each retry. Defaults to 1000.
    pub initial_backoff_ms: u64,
    /// The longest wait without `Retry-After`, in seconds. Defaults to 60.
    pub max_backoff_secs: u64,
    /// The longest `Retry-After` honoured, in seconds: when Graph asks for a
    /// longer wait the run stops with [`SyncError::Throttled`]. Defaults to 300.
    pub max_wait_secs: u64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_retries: 6,
            initial_backoff_ms: 1000,
            max_backoff_secs: 60,
            max_wait_secs: 300,
        }
    }
}

impl RetryConfig {
    /// The wait before retry number `attempt` (0-based) when the server gave no
    /// `Retry-After`: `initial_backoff × 2^attempt`, at most `max_backoff`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let ms = self
            .initial_backoff_ms
            .saturating_mul(1u64 << attempt.min(20));
        Duration::from_millis(ms).min(Duration::from_secs(self.max_backoff_secs))
    }
}

/// The pull-sync configuration of one scimkit tenant.
///
/// Deserializes from TOML (or any serde format); unknown keys are errors.
///
/// ```toml
/// tenant = "contoso"                      # the scimkit tenant the users land in
/// entra_tenant = "contoso.onmicrosoft.com" # the directory: tenant id or domain
/// client_id = "00000000-0000-0000-0000-000000000000"
/// client_secret = "…"                     # never logged; Debug prints [redacted]
/// scope = { groups = ["4a1c…"] }          # or "all" (the default)
/// mirror_groups = true                    # also create the scoped groups as SCIM Groups
/// schedule = "nightly"                    # "manual", "hourly", "every 30m", "daily at 03:15"
/// mappings = [
///   { graph = "officeLocation", scim = "addresses[type eq \"work\"].locality" },
/// ]
/// ```
///
/// ## The SCIM server the sync writes through
///
/// A sync run does not touch the store directly: it sends SCIM requests to the
/// host's [`scimkit::ScimServer`], so the same store, policies, provisioning log
/// and events apply as for users Entra pushes. For pull sync, configure the
/// tenant's policies as the apps that pull expect:
///
/// * `deletion: DeletionPolicy::Review`: a user deleted in the directory is
///   deactivated and listed for an administrator
///   (`ScimServer::hidden_users(tenant, HiddenState::Review)`), never removed
///   automatically. With `Hard` the sync's DELETE would remove the user.
/// * `link_existing: LinkPolicy::ByUserName` (or `ByUserNameOrEmail`): an
///   existing local user with the same userName and no externalId is linked
///   instead of duplicated. With `Off` such a user is reported as an error.
/// * The ignore flag (`ScimServer::set_ignored`) keeps a user out of the sync.
///
/// The server must authenticate the sync's requests (sent without a bearer
/// token) as `tenant`: build a server for the sync with
/// `.authenticator(SyncAuthenticator::new(tenant))` sharing the host's store,
/// log, policies and event handler — and never serve that one over HTTP.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncConfig {
    /// The scimkit tenant the users are written to.
    pub tenant: String,
    /// Whether the sync may run. A disabled configuration refuses to run
    /// ([`SyncError::Disabled`]) and deletes nothing. Defaults to true.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The Entra directory: its tenant id (GUID) or a verified domain
    /// (`contoso.onmicrosoft.com`). Part of the token endpoint.
    pub entra_tenant: String,
    /// The application (client) id of the app registration. It needs the
    /// `User.Read.All` application permission (and `GroupMember.Read.All` for
    /// the groups scope), granted by an administrator (admin consent).
    pub client_id: String,
    /// The client secret. Never logged.
    pub client_secret: Secret,
    /// The Microsoft Graph base URL. Defaults to
    /// `https://graph.microsoft.com/v1.0`.
    #[serde(default = "default_graph_url")]
    pub graph_url: String,
    /// The authority the token endpoint is derived from when `token_url` is
    /// unset. Defaults to `https://login.microsoftonline.com`.
    #[serde(default = "default_authority")]
    pub authority: String,
    /// The token endpoint. Defaults to
    /// `{authority}/{entra_tenant}/oauth2/v2.0/token`.
    #[serde(default)]
    pub token_url: Option<String>,
    /// The OAuth2 scope asked for. Defaults to
    /// `https://graph.microsoft.com/.default`.
    #[serde(default = "default_token_scope")]
    pub token_scope: String,
    /// All users or selected groups. Defaults to all users.
    #[serde(default)]
    pub scope: Scope,
    /// With the groups scope: also create the configured groups as SCIM Groups
    /// (displayName, externalId = the group's object id) whose members are their
    /// transitive user members. Defaults to false.
    #[serde(default)]
    pub mirror_groups: bool,
    /// With the all-users scope: use delta queries (`/users/delta`), so a run
    /// after the first reads only what changed. Defaults to true.
    #[serde(default = "yes")]
    pub delta: bool,
    /// Extra mappings, applied after the default ones (see [`Mapping`]).
    #[serde(default)]
    pub mappings: Vec<Mapping>,
    /// When the host runs the sync (see [`crate::Scheduler`]). Defaults to manual.
    #[serde(default)]
    pub schedule: Schedule,
    /// Compute and report the plan without changing anything (usually set by a
    /// `--dry-run` flag). Defaults to false.
    #[serde(default)]
    pub dry_run: bool,
    /// Stop before removing (queueing for deletion, or deactivating because they
    /// left the scope) more users than this in one run, like Entra's accidental
    /// deletions threshold. `0` disables the check. Defaults to 500.
    #[serde(default = "default_removal_threshold")]
    pub removal_threshold: usize,
    /// Retries and backoff.
    #[serde(default)]
    pub retry: RetryConfig,
    /// The timeout of one HTTP request, in seconds. Defaults to 60.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

fn yes() -> bool {
    true
}
fn default_graph_url() -> String {
    DEFAULT_GRAPH_URL.to_owned()
}
fn default_authority() -> String {
    DEFAULT_AUTHORITY.to_owned()
}
fn default_token_scope() -> String {
    DEFAULT_TOKEN_SCOPE.to_owned()
}
fn default_removal_threshold() -> usize {
    500
}
fn default_timeout() -> u64 {
    60
}

impl fmt::Debug for SyncConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncConfig")
            .field("tenant", &self.tenant)
            .field("enabled", &self.enabled)
            .field("entra_tenant", &self.entra_tenant)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("graph_url", &self.graph_url)
            .field("token_url", &self.token_url())
            .field("token_scope", &self.token_scope)
            .field("scope", &self.scope)
            .field("mirror_groups", &self.mirror_groups)
            .field("delta", &self.delta)
            .field("mappings", &self.mappings)
            .field("schedule", &self.schedule)
            .field("dry_run", &self.dry_run)
            .field("removal_threshold", &self.removal_threshold)
            .field("retry", &self.retry)
            .field("timeout_secs", &self.timeout_secs)
            .finish()
    }
}

impl SyncConfig {
    /// A configuration with every default: all users, delta queries, the
    /// default mappings, manual schedule, Microsoft's global-cloud endpoints.
    pub fn new(
        tenant: impl Into<String>,
        entra_tenant: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        Self {
            tenant: tenant.into(),
            enabled: true,
            entra_tenant: entra_tenant.into(),
            client_id: client_id.into(),
            client_secret: Secret::new(client_secret),
            graph_url: default_graph_url(),
            authority: default_authority(),
            token_url: None,
            token_scope: default_token_scope(),
            scope: Scope::All,
            mirror_groups: false,
            delta: true,
            mappings: Vec::new(),
            schedule: Schedule::Manual,
            dry_run: false,
            removal_threshold: default_removal_threshold(),
            retry: RetryConfig::default(),
            timeout_secs: default_timeout(),
        }
    }

    /// The token endpoint: `token_url`, or
    /// `{authority}/{entra_tenant}/oauth2/v2.0/token`.
    pub fn token_url(&self) -> String {
        match &self.token_url {
            Some(u) => u.clone(),
            None => format!(
                "{}/{}/oauth2/v2.0/token",
                self.authority.trim_end_matches('/'),
                self.entra_tenant
            ),
        }
    }

    /// Check the configuration: required fields, URLs, mapping paths, group ids.
    pub fn validate(&self) -> Result<(), SyncError> {
        let bad = |m: String| Err(SyncError::Config(m));
        for (name, v) in [
            ("tenant", &self.tenant),
            ("entra_tenant", &self.entra_tenant),
            ("client_id", &self.client_id),
        ] {
            if v.trim().is_empty() {
                return bad(format!("{name} is required"));
            }
        }
        if self.tenant.contains('\0') {
            return bad("tenant must not contain NUL".into());
        }
        if self.entra_tenant.contains(['/', '?', '#', ' ']) {
            return bad(format!(
                "entra_tenant {:?} must be a tenant id or domain",
                self.entra_tenant
            ));
        }
        if self.client_secret.is_empty() {
            return bad("client_secret is required".into());
        }
        for (name, url) in [
            ("graph_url", self.graph_url.clone()),
            ("token_url", self.token_url()),
        ] {
            if crate::client::origin(&url).is_none() {
                return bad(format!("{name} {url:?} is not an http(s) URL"));
            }
        }
        if let Scope::Groups(ids) = &self.scope {
            if ids.is_empty() {
                return bad("scope.groups lists no group".into());
            }
            if let Some(id) = ids.iter().find(|id| {
                id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            }) {
                return bad(format!("{id:?} is not a group object id"));
            }
        }
        if self.mirror_groups && self.scope == Scope::All {
            return bad("mirror_groups needs scope = { groups = [...] }".into());
        }
        if self.timeout_secs == 0 {
            return bad("timeout_secs must be greater than zero".into());
        }
        for m in &self.mappings {
            mapping::check_graph_property(&m.graph).map_err(SyncError::Config)?;
            let p = ScimPath::parse(&m.scim).map_err(SyncError::Config)?;
            if p.is_external_id() {
                return bad(
                    "externalId is always the Graph object id and cannot be remapped".into(),
                );
            }
        }
        Ok(())
    }

    /// A digest of what decides which users and values the sync produces (Graph
    /// URL, scope, mappings). When it changes, the next run reads everything
    /// again instead of continuing a delta.
    pub(crate) fn fingerprint(&self) -> String {
        let v = serde_json::json!({
            "graph": self.graph_url,
            "entra": self.entra_tenant,
            "scope": self.scope,
            "mappings": self.mappings,
            "delta": self.delta,
        });
        let d = Sha256::digest(v.to_string().as_bytes());
        d.iter().take(16).map(|b| format!("{b:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_the_secret() {
        let c = SyncConfig::new("t", "contoso.onmicrosoft.com", "app", "hunter2");
        let d = format!("{c:?}");
        assert!(!d.contains("hunter2"), "{d}");
        assert!(d.contains("[redacted]"));
        assert_eq!(
            c.token_url(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        c.validate().unwrap();
    }

    #[test]
    fn from_toml_with_defaults() {
        let c: SyncConfig = toml::from_str(
            r#"
            tenant = "contoso"
            entra_tenant = "4f2c0b1e-0000-4000-8000-000000000001"
            client_id = "app"
            client_secret = "s"
            scope = { groups = ["g1", "g2"] }
            mirror_groups = true
            schedule = "every 30m"
            mappings = [{ graph = "officeLocation", scim = "addresses[type eq \"work\"].locality" }]
            [retry]
            max_retries = 2
            "#,
        )
        .unwrap();
        c.validate().unwrap();
        assert!(c.enabled && c.delta && !c.dry_run);
        assert_eq!(c.scope, Scope::Groups(vec!["g1".into(), "g2".into()]));
        assert_eq!(c.schedule, Schedule::Every(Duration::from_secs(1800)));
        assert_eq!(c.retry.max_retries, 2);
        assert_eq!(c.retry.initial_backoff_ms, 1000);
        assert_eq!(c.graph_url, DEFAULT_GRAPH_URL);
        assert_eq!(c.removal_threshold, 500);
        let all: SyncConfig = toml::from_str(
            "tenant='t'\nentra_tenant='e'\nclient_id='c'\nclient_secret='s'\nscope='all'",
        )
        .unwrap();
        assert_eq!(all.scope, Scope::All);
    }

    #[test]
    fn invalid_configurations_are_refused() {
        let base = SyncConfig::new("t", "e", "c", "s");
        type Edit = Box<dyn Fn(&mut SyncConfig)>;
        let cases: Vec<(Edit, &str)> = vec![
            (Box::new(|c| c.tenant.clear()), "tenant is required"),
            (
                Box::new(|c| c.client_secret = Secret::default()),
                "client_secret is required",
            ),
            (Box::new(|c| c.graph_url = "ftp://x".into()), "graph_url"),
            (
                Box::new(|c| c.scope = Scope::Groups(vec![])),
                "lists no group",
            ),
            (Box::new(|c| c.mirror_groups = true), "mirror_groups needs"),
            (
                Box::new(|c| {
                    c.mappings.push(Mapping {
                        graph: "mailNickname".into(),
                        scim: "externalId".into(),
                    })
                }),
                "cannot be remapped",
            ),
            (
                Box::new(|c| {
                    c.mappings.push(Mapping {
                        graph: "x".into(),
                        scim: "emails[type eq".into(),
                    })
                }),
                "invalid SCIM path",
            ),
        ];
        for (change, expected) in cases {
            let mut c = base.clone();
            change(&mut c);
            let e = c.validate().unwrap_err().to_string();
            assert!(e.contains(expected), "{e} should contain {expected}");
        }
        assert!(
            toml::from_str::<SyncConfig>(
                "tenant='t'\nentra_tenant='e'\nclient_id='c'\nclient_secret='s'\nbogus=1"
            )
            .is_err()
        );
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let r = RetryConfig {
            initial_backoff_ms: 100,
            max_backoff_secs: 1,
            ..RetryConfig::default()
        };
        assert_eq!(r.backoff(0), Duration::from_millis(100));
        assert_eq!(r.backoff(2), Duration::from_millis(400));
        assert_eq!(r.backoff(10), Duration::from_secs(1));
        assert_eq!(r.backoff(200), Duration::from_secs(1));
    }
}
