//! Provisioning policies: what the application does with what the IdP sends
//! (see shared/ENTRA.md, "What the receiving apps do with it"). Configured per
//! tenant.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// What `DELETE /Users/{id}` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeletionPolicy {
    /// The user is removed (RFC 7644 §3.6).
    #[default]
    Hard,
    /// The user is deactivated and hidden: clients get 404 afterwards, the data is
    /// kept and an administrator can restore it.
    Soft,
    /// The user is deactivated, hidden and queued for an administrator, who
    /// approves the deletion or restores the user. Nothing is removed until then.
    Review,
}

/// What the server does with Group requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GroupPolicy {
    /// Groups are created, changed and deleted as asked.
    #[default]
    Full,
    /// The application's groups already exist: a POST is matched to an existing
    /// group by `displayName` (and linked), never creates one; DELETE is refused.
    /// Membership changes are applied.
    UpdateOnly,
    /// Groups are not provisioned: every Group request is answered 403 with a
    /// clear SCIM error.
    Refuse,
    /// Groups are not provisioned: Group requests are accepted and ignored (lists
    /// are empty, writes answer success, nothing is stored).
    Ignore,
}

/// When a POST /Users may adopt an existing user instead of answering 409.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LinkPolicy {
    /// Never: a duplicate userName is 409 `uniqueness`.
    #[default]
    Off,
    /// A user with the same userName (case-insensitively) and no externalId is
    /// linked: it gets the POST's attributes and externalId, and the POST
    /// answers 201 with it.
    ByUserName,
    /// As `ByUserName`, matching the POST's work (or primary) email against the
    /// existing users' `emails.value` when no userName matches.
    ByUserNameOrEmail,
}

/// The policies of one tenant. `Default` is plain RFC behaviour.
#[derive(Debug, Clone, PartialEq)]
pub struct Policies {
    /// Provisioning enabled. When false every SCIM request of the tenant is
    /// answered 403 and nothing is changed (and nothing is deleted).
    pub enabled: bool,
    /// What DELETE does to users (groups are always deleted).
    pub deletion: DeletionPolicy,
    /// What happens with groups.
    pub groups: GroupPolicy,
    /// Whether a POST adopts an existing local user.
    pub link_existing: LinkPolicy,
    /// Require `externalId` to be a GUID (Entra objectId); others are
    /// 400 `invalidValue`.
    pub require_guid_external_id: bool,
    /// Rename a user when it is deactivated, to free its address (and rename it
    /// back on reactivation). A template with `{userName}` and `{id}`, e.g.
    /// `"deactivated-{id}-{userName}"`.
    pub rename_on_deactivate: Option<String>,
}

impl Default for Policies {
    fn default() -> Self {
        Self {
            enabled: true,
            deletion: DeletionPolicy::Hard,
            groups: GroupPolicy::Full,
            link_existing: LinkPolicy::Off,
            require_guid_external_id: false,
            rename_on_deactivate: None,
        }
    }
}

impl Policies {
    /// Read policies from JSON (as the C and Python bindings and config files
    /// give them): an object with any of `enabled` (bool), `deletion`
    /// (`"hard"`, `"soft"`, `"review"`), `groups` (`"full"`, `"update-only"`,
    /// `"refuse"`, `"ignore"`), `link_existing` (`"off"`, `"username"`,
    /// `"username-or-email"`), `require_guid_external_id` (bool),
    /// `rename_on_deactivate` (template string or null). Missing keys keep the
    /// defaults; `_` and `-` are interchangeable; unknown keys are errors.
    pub fn from_json(v: &serde_json::Value) -> Result<Self, String> {
        let obj = v.as_object().ok_or("policies must be a JSON object")?;
        let mut p = Policies::default();
        for (k, v) in obj {
            let word = || -> Result<String, String> {
                v.as_str()
                    .map(|s| s.to_ascii_lowercase().replace('_', "-"))
                    .ok_or_else(|| format!("policy {k} must be a string"))
            };
            let flag = || {
                v.as_bool()
                    .ok_or_else(|| format!("policy {k} must be true or false"))
            };
            match k.replace('-', "_").as_str() {
                "enabled" => p.enabled = flag()?,
                "require_guid_external_id" => p.require_guid_external_id = flag()?,
                "deletion" => {
                    p.deletion = match word()?.as_str() {
                        "hard" => DeletionPolicy::Hard,
                        "soft" => DeletionPolicy::Soft,
                        "review" => DeletionPolicy::Review,
                        other => {
                            return Err(format!(
                                "deletion must be hard, soft or review, not {other:?}"
                            ));
                        }
                    }
                }
                "groups" => {
                    p.groups = match word()?.as_str() {
                        "full" => GroupPolicy::Full,
                        "update-only" => GroupPolicy::UpdateOnly,
                        "refuse" => GroupPolicy::Refuse,
                        "ignore" => GroupPolicy::Ignore,
                        other => {
                            return Err(format!(
                                "groups must be full, update-only, refuse or ignore, not {other:?}"
                            ));
                        }
                    }
                }
                "link_existing" => {
                    p.link_existing = match word()?.as_str() {
                        "off" => LinkPolicy::Off,
                        "username" => LinkPolicy::ByUserName,
                        "username-or-email" => LinkPolicy::ByUserNameOrEmail,
                        other => {
                            return Err(format!(
                                "link_existing must be off, username or username-or-email, not {other:?}"
                            ));
                        }
                    }
                }
                "rename_on_deactivate" => {
                    p.rename_on_deactivate = match v {
                        serde_json::Value::Null => None,
                        serde_json::Value::String(t)
                            if t.contains("{userName}") || t.contains("{id}") =>
                        {
                            Some(t.clone())
                        }
                        _ => {
                            return Err(
                                "rename_on_deactivate must be a template with {userName} or {id}, or null".into(),
                            );
                        }
                    }
                }
                other => return Err(format!("unknown policy {other:?}")),
            }
        }
        Ok(p)
    }
}

/// Resolves a tenant's policies.
pub trait PolicySource: Send + Sync + 'static {
    /// The policies of `tenant`.
    fn policies(&self, tenant: &str) -> Arc<Policies>;
}

/// One default for every tenant, with per-tenant overrides.
#[derive(Debug, Clone, Default)]
pub struct TenantPolicies {
    default: Arc<Policies>,
    tenants: HashMap<String, Arc<Policies>>,
}

impl TenantPolicies {
    /// Every tenant gets `default`.
    pub fn new(default: Policies) -> Self {
        Self {
            default: Arc::new(default),
            tenants: HashMap::new(),
        }
    }

    /// Take the per-tenant overrides of `other` (keeping this default).
    pub(crate) fn merge_overrides(&mut self, other: TenantPolicies) {
        for (k, v) in other.tenants {
            self.tenants.entry(k).or_insert(v);
        }
    }

    /// Override the policies of one tenant.
    pub fn set(&mut self, tenant: &str, policies: Policies) {
        self.tenants.insert(tenant.to_owned(), Arc::new(policies));
    }
}

impl PolicySource for TenantPolicies {
    fn policies(&self, tenant: &str) -> Arc<Policies> {
        self.tenants.get(tenant).unwrap_or(&self.default).clone()
    }
}

impl<F: Fn(&str) -> Arc<Policies> + Send + Sync + 'static> PolicySource for F {
    fn policies(&self, tenant: &str) -> Arc<Policies> {
        self(tenant)
    }
}

/// Whether `s` is a GUID: 8-4-4-4-12 hex digits, optionally in braces.
pub fn is_guid(s: &str) -> bool {
    let s = s
        .strip_prefix('{')
        .and_then(|x| x.strip_suffix('}'))
        .unwrap_or(s);
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Where a hidden user is kept (see [`DeletionPolicy`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HiddenState {
    /// Soft-deleted.
    Deleted,
    /// Waiting for an administrator's review.
    Review,
}

impl HiddenState {
    /// `"deleted"` or `"review"`.
    pub fn as_str(self) -> &'static str {
        match self {
            HiddenState::Deleted => "deleted",
            HiddenState::Review => "review",
        }
    }
}

impl fmt::Display for HiddenState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The reserved key holding scimkit's own per-resource metadata (ignored flag,
/// hidden state, original userName). Never returned, never writable by clients.
pub const INTERNAL_KEY: &str = "_scimkit";

/// The tenant under which hidden users of `tenant` are kept. `\0` cannot occur
/// in a real tenant name (the engine refuses such principals).
pub(crate) fn shadow_tenant(tenant: &str, state: HiddenState) -> String {
    format!("{tenant}\u{0}{}", state.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids() {
        assert!(is_guid("0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"));
        assert!(is_guid("{0A21F0F2-8D2A-4F8E-BF98-7363C4AED4EF}"));
        assert!(!is_guid("0a21f0f2-8d2a-4f8e-bf98-7363c4aed4e"));
        assert!(!is_guid("bjensen"));
        assert!(!is_guid("0a21f0f2x8d2a-4f8e-bf98-7363c4aed4ef"));
    }

    #[test]
    fn policies_from_json() {
        let p = Policies::from_json(&serde_json::json!({
            "deletion": "review", "groups": "update_only", "link-existing": "username-or-email",
            "require_guid_external_id": true, "rename_on_deactivate": "x-{userName}", "enabled": false
        }))
        .unwrap();
        assert_eq!(p.deletion, DeletionPolicy::Review);
        assert_eq!(p.groups, GroupPolicy::UpdateOnly);
        assert_eq!(p.link_existing, LinkPolicy::ByUserNameOrEmail);
        assert!(p.require_guid_external_id && !p.enabled);
        assert_eq!(
            Policies::from_json(&serde_json::json!({"deletion": "later"})).unwrap_err(),
            "deletion must be hard, soft or review, not \"later\""
        );
        assert!(Policies::from_json(&serde_json::json!({"colour": "red"})).is_err());
        assert!(
            Policies::from_json(&serde_json::json!({"rename_on_deactivate": "static"})).is_err()
        );
        assert_eq!(
            Policies::from_json(&serde_json::json!({})).unwrap(),
            Policies::default()
        );
    }

    #[test]
    fn tenant_overrides() {
        let mut p = TenantPolicies::new(Policies::default());
        p.set(
            "strict",
            Policies {
                deletion: DeletionPolicy::Review,
                ..Policies::default()
            },
        );
        assert_eq!(p.policies("strict").deletion, DeletionPolicy::Review);
        assert_eq!(p.policies("other").deletion, DeletionPolicy::Hard);
    }
}
