//! [`ScimServer`]: the engine's entry point, and its builder.

use std::fmt;
use std::sync::Arc;

use crate::auth::{Authenticator, Principal, StaticTokens, TrustedTenant};
use crate::events::{EventDispatcher, EventHandler};
use crate::log::ProvisioningLog;
use crate::policy::{Policies, PolicySource, TenantPolicies};
use crate::schema::{Extension, Registry, Schema, UnknownAttributes};
use crate::store::UserStore;

/// Maps the authenticated principal to the id of "their" User, for `/Me`
/// (RFC 7644 §3.11). Without one, `/Me` answers 501.
pub type MeResolver = dyn Fn(&Principal) -> Option<String> + Send + Sync;

/// The limits and switches of a [`ScimServer`]. Every field has a documented
/// default; set them through [`ScimServerBuilder`].
#[derive(Clone)]
pub struct Config {
    /// The path prefix the engine serves, without trailing slash.
    pub base_path: String,
    /// Absolute URL prefix for `meta.location` and `Location` (e.g.
    /// `https://app.example.com/scim/v2`); derived from the request's `Host` (and
    /// `X-Forwarded-Proto`) when unset.
    pub base_url: Option<String>,
    /// What to do with attributes no schema defines.
    pub unknown_attributes: UnknownAttributes,
    /// The largest page (`count` is clamped to it; advertised as
    /// `filter.maxResults`).
    pub max_results: usize,
    /// The page size when the client gives no `count`.
    pub default_count: usize,
    /// The longest filter accepted, in bytes.
    pub max_filter_len: usize,
    /// The deepest filter nesting accepted.
    pub max_filter_depth: usize,
    /// The most operations in one PATCH request.
    pub max_patch_operations: usize,
    /// The most operations in one Bulk request (advertised).
    pub bulk_max_operations: usize,
    /// The largest request body, in bytes (advertised as `bulk.maxPayloadSize`,
    /// enforced by the transport adapters).
    pub max_body_size: usize,
    /// When a filter cannot be answered by the store's indexes, the most
    /// resources the engine evaluates itself before answering 400 `tooMany`.
    /// `None`: no limit.
    pub max_unindexed_scan: Option<usize>,
    /// The `/Me` mapping.
    pub me: Option<Arc<MeResolver>>,
    /// What happens to `password` values.
    pub passwords: crate::auth::PasswordPolicy,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("base_path", &self.base_path)
            .field("base_url", &self.base_url)
            .field("unknown_attributes", &self.unknown_attributes)
            .field("max_results", &self.max_results)
            .field("default_count", &self.default_count)
            .field("max_filter_len", &self.max_filter_len)
            .field("max_filter_depth", &self.max_filter_depth)
            .field("max_patch_operations", &self.max_patch_operations)
            .field("bulk_max_operations", &self.bulk_max_operations)
            .field("max_body_size", &self.max_body_size)
            .field("max_unindexed_scan", &self.max_unindexed_scan)
            .field("me", &self.me.is_some())
            .field("passwords", &self.passwords)
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            base_path: "/scim/v2".to_owned(),
            base_url: None,
            unknown_attributes: UnknownAttributes::Ignore,
            max_results: 1000,
            default_count: 100,
            max_filter_len: crate::filter::MAX_LEN,
            max_filter_depth: crate::filter::MAX_DEPTH,
            max_patch_operations: 1000,
            bulk_max_operations: 1000,
            max_body_size: 1024 * 1024,
            max_unindexed_scan: None,
            me: None,
            passwords: crate::auth::PasswordPolicy::Hash,
        }
    }
}

/// An invalid server configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No store was given.
    #[error("no store configured: call .store(...)")]
    NoStore,
    /// No authenticator and no token was given.
    #[error(
        "no authentication configured: add a token with .token(...), or .authenticator(...) / .trusted_tenant(...)"
    )]
    NoAuth,
    /// The base path is not `/` followed by path segments.
    #[error("invalid base path {0:?}: it must start with '/' and contain no '?', '#' or '//'")]
    BasePath(String),
    /// A limit is zero where it must be positive.
    #[error("{0} must be greater than zero")]
    ZeroLimit(&'static str),
    /// A custom extension is invalid.
    #[error("invalid schema extension: {0}")]
    Extension(String),
}

pub(crate) struct Inner {
    pub(crate) store: Arc<dyn UserStore>,
    pub(crate) policies: Arc<dyn PolicySource>,
    pub(crate) events: Option<EventDispatcher>,
    pub(crate) log: Option<Arc<dyn ProvisioningLog>>,
    pub(crate) auth: Arc<dyn Authenticator>,
    pub(crate) registry: Registry,
    pub(crate) config: Config,
}

/// The SCIM engine: `handle(http::Request<Bytes>) -> http::Response<Bytes>`.
///
/// `Send + Sync` and cheap to clone (an `Arc` inside). Build it with
/// [`ScimServer::builder`]:
///
/// ```
/// use bytes::Bytes;
/// use scimkit::{MemoryStore, ScimServer};
///
/// let server = ScimServer::builder()
///     .store(MemoryStore::new())
///     .token("s3cret", "contoso")
///     .build()?;
/// let req = http::Request::get("/scim/v2/Users?filter=userName%20eq%20%22x%22")
///     .header("authorization", "Bearer s3cret")
///     .body(Bytes::new())?;
/// let resp = server.handle(req);
/// assert_eq!(resp.status(), 200);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct ScimServer {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for ScimServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScimServer")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl ScimServer {
    /// A builder with the defaults of [`Config`].
    pub fn builder() -> ScimServerBuilder {
        ScimServerBuilder::default()
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The base path served (e.g. `/scim/v2`).
    pub fn base_path(&self) -> &str {
        &self.inner.config.base_path
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn UserStore> {
        &self.inner.store
    }

    /// The schema registry.
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }
}

/// Builds a [`ScimServer`].
pub struct ScimServerBuilder {
    store: Option<Arc<dyn UserStore>>,
    policies: TenantPolicies,
    policy_source: Option<Arc<dyn PolicySource>>,
    events: Option<Arc<dyn EventHandler>>,
    event_queue: usize,
    log: Option<Arc<dyn ProvisioningLog>>,
    auth: Option<Arc<dyn Authenticator>>,
    tokens: StaticTokens,
    user_extensions: Vec<Extension>,
    group_extensions: Vec<Extension>,
    config: Config,
}

impl Default for ScimServerBuilder {
    fn default() -> Self {
        Self {
            store: None,
            policies: TenantPolicies::default(),
            policy_source: None,
            events: None,
            event_queue: 10_000,
            log: None,
            auth: None,
            tokens: StaticTokens::default(),
            user_extensions: Vec::new(),
            group_extensions: Vec::new(),
            config: Config::default(),
        }
    }
}

impl fmt::Debug for ScimServerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScimServerBuilder")
            .field("config", &self.config)
            .field("tokens", &self.tokens)
            .finish_non_exhaustive()
    }
}

impl ScimServerBuilder {
    /// The store. Required.
    pub fn store(mut self, store: impl UserStore) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// The store, already shared.
    pub fn shared_store(mut self, store: Arc<dyn UserStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// The policies of every tenant (see [`Policies`]). Defaults to plain RFC
    /// behaviour (hard delete, full groups, no linking).
    pub fn policies(mut self, policies: Policies) -> Self {
        let mut p = TenantPolicies::new(policies);
        std::mem::swap(&mut p, &mut self.policies);
        // Keep overrides set before.
        self.policies.merge_overrides(p);
        self
    }

    /// Override the policies of one tenant.
    pub fn tenant_policies(mut self, tenant: &str, policies: Policies) -> Self {
        self.policies.set(tenant, policies);
        self
    }

    /// Resolve policies dynamically (e.g. from the server's database); replaces
    /// `policies`/`tenant_policies`.
    pub fn policy_source(mut self, source: impl PolicySource) -> Self {
        self.policy_source = Some(Arc::new(source));
        self
    }

    /// Deliver provisioning events to `handler` on a background thread (see
    /// [`crate::events`]). Defaults to no handler.
    pub fn on_event(mut self, handler: impl EventHandler) -> Self {
        self.events = Some(Arc::new(handler));
        self
    }

    /// The event queue's capacity; events beyond it are dropped and counted.
    /// Defaults to 10 000.
    pub fn event_queue(mut self, capacity: usize) -> Self {
        self.event_queue = capacity;
        self
    }

    /// Record the provisioning log here. Defaults to no log.
    pub fn provisioning_log(mut self, log: impl ProvisioningLog) -> Self {
        self.log = Some(Arc::new(log));
        self
    }

    /// Record the provisioning log here (shared with, e.g., an admin page).
    pub fn shared_log(mut self, log: Arc<dyn ProvisioningLog>) -> Self {
        self.log = Some(log);
        self
    }

    /// Accept `Authorization: Bearer <token>` for `tenant`. May be called many
    /// times (several tokens, several tenants). Only a digest of the token is kept.
    pub fn token(mut self, token: &str, tenant: &str) -> Self {
        self.tokens.insert(token, tenant);
        self
    }

    /// Use a custom authenticator (replaces the tokens given with `token`).
    pub fn authenticator(mut self, auth: impl Authenticator) -> Self {
        self.auth = Some(Arc::new(auth));
        self
    }

    /// Trust every request as belonging to `tenant` (authentication happens
    /// upstream).
    pub fn trusted_tenant(self, tenant: &str) -> Self {
        self.authenticator(TrustedTenant(tenant.to_owned()))
    }

    /// The base path. Defaults to `/scim/v2`.
    pub fn base_path(mut self, path: &str) -> Self {
        self.config.base_path = path.trim_end_matches('/').to_owned();
        self
    }

    /// The absolute URL prefix for `meta.location`. Defaults to one derived from
    /// the request's `Host` header.
    pub fn base_url(mut self, url: &str) -> Self {
        self.config.base_url = Some(url.trim_end_matches('/').to_owned());
        self
    }

    /// Unknown attributes: ignored or rejected. Defaults to ignored.
    pub fn unknown_attributes(mut self, policy: UnknownAttributes) -> Self {
        self.config.unknown_attributes = policy;
        self
    }

    /// The largest page. Defaults to 1000.
    pub fn max_results(mut self, n: usize) -> Self {
        self.config.max_results = n;
        self
    }

    /// The page size without `count`. Defaults to 100.
    pub fn default_count(mut self, n: usize) -> Self {
        self.config.default_count = n;
        self
    }

    /// Filter limits: length in bytes and nesting depth. Default to 16 KiB and 32.
    pub fn filter_limits(mut self, max_len: usize, max_depth: usize) -> Self {
        self.config.max_filter_len = max_len;
        self.config.max_filter_depth = max_depth;
        self
    }

    /// The most operations in a PATCH. Defaults to 1000.
    pub fn max_patch_operations(mut self, n: usize) -> Self {
        self.config.max_patch_operations = n;
        self
    }

    /// The most operations in a Bulk request. Defaults to 1000.
    pub fn bulk_max_operations(mut self, n: usize) -> Self {
        self.config.bulk_max_operations = n;
        self
    }

    /// The largest request body in bytes. Defaults to 1 MiB.
    pub fn max_body_size(mut self, n: usize) -> Self {
        self.config.max_body_size = n;
        self
    }

    /// Limit the engine's own filter evaluation. Defaults to no limit.
    pub fn max_unindexed_scan(mut self, n: Option<usize>) -> Self {
        self.config.max_unindexed_scan = n;
        self
    }

    /// What to do with `password` values: store an Argon2id hash, or refuse
    /// them. Defaults to hashing.
    pub fn passwords(mut self, policy: crate::auth::PasswordPolicy) -> Self {
        self.config.passwords = policy;
        self
    }

    /// Serve `/Me` by mapping the principal to a User id. Defaults to 501.
    pub fn me(mut self, f: impl Fn(&Principal) -> Option<String> + Send + Sync + 'static) -> Self {
        self.config.me = Some(Arc::new(f));
        self
    }

    /// Register a custom schema extension on Users (`required`: every User must
    /// carry it).
    pub fn user_extension(mut self, schema: Schema, required: bool) -> Self {
        self.user_extensions.push(Extension {
            schema: Arc::new(schema),
            required,
        });
        self
    }

    /// Register a custom schema extension on Groups.
    pub fn group_extension(mut self, schema: Schema, required: bool) -> Self {
        self.group_extensions.push(Extension {
            schema: Arc::new(schema),
            required,
        });
        self
    }

    /// Check the configuration and build the server.
    pub fn build(self) -> Result<ScimServer, ConfigError> {
        let store = self.store.ok_or(ConfigError::NoStore)?;
        let auth: Arc<dyn Authenticator> = match self.auth {
            Some(a) => a,
            None if !self.tokens.is_empty() => Arc::new(self.tokens),
            None => return Err(ConfigError::NoAuth),
        };
        let c = &self.config;
        let bp = &c.base_path;
        if !(bp.is_empty() || bp.starts_with('/')) || bp.contains(['?', '#']) || bp.contains("//") {
            return Err(ConfigError::BasePath(bp.clone()));
        }
        for (name, v) in [
            ("max_results", c.max_results),
            ("default_count", c.default_count),
            ("max_filter_len", c.max_filter_len),
            ("max_filter_depth", c.max_filter_depth),
            ("max_patch_operations", c.max_patch_operations),
            ("bulk_max_operations", c.bulk_max_operations),
            ("max_body_size", c.max_body_size),
        ] {
            if v == 0 {
                return Err(ConfigError::ZeroLimit(name));
            }
        }
        for e in self.user_extensions.iter().chain(&self.group_extensions) {
            if e.schema.id.eq_ignore_ascii_case(crate::schema::USER_SCHEMA)
                || e.schema
                    .id
                    .eq_ignore_ascii_case(crate::schema::GROUP_SCHEMA)
                || e.schema
                    .id
                    .eq_ignore_ascii_case(crate::schema::ENTERPRISE_USER_SCHEMA)
            {
                return Err(ConfigError::Extension(format!(
                    "{} is built in",
                    e.schema.id
                )));
            }
            if !e.schema.id.to_ascii_lowercase().starts_with("urn:") {
                return Err(ConfigError::Extension(format!(
                    "{:?} is not a URN",
                    e.schema.id
                )));
            }
        }
        let mut config = self.config;
        config.default_count = config.default_count.min(config.max_results);
        Ok(ScimServer {
            inner: Arc::new(Inner {
                store,
                policies: self
                    .policy_source
                    .unwrap_or_else(|| Arc::new(self.policies)),
                events: self
                    .events
                    .map(|h| EventDispatcher::new(h, self.event_queue)),
                log: self.log,
                auth,
                registry: Registry::new(self.user_extensions, self.group_extensions),
                config,
            }),
        })
    }
}
