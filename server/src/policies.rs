//! Provisioning policies per tenant: their names in the config file and the
//! admin page's forms, and [`DbPolicies`], the engine's [`PolicySource`] over
//! the `scimkit_server_policies` table with a small cache.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::RwLock;
use scimkit::policy::PolicySource;
use scimkit::{DeletionPolicy, GroupPolicy, LinkPolicy, Policies};
use serde::Deserialize;

use crate::db::{AdminDb, DbError, PolicyRow};

/// How long a tenant's policies are cached. Changes made through this process
/// (the admin page) apply at once; changes by another process within this time.
const CACHE_TTL: Duration = Duration::from_secs(5);

/// The config-file / form name of a deletion policy.
pub(crate) fn deletion_name(p: DeletionPolicy) -> &'static str {
    match p {
        DeletionPolicy::Hard => "hard",
        DeletionPolicy::Soft => "soft",
        DeletionPolicy::Review => "review",
    }
}

/// The config-file / form name of a group policy.
pub(crate) fn group_name(p: GroupPolicy) -> &'static str {
    match p {
        GroupPolicy::Full => "full",
        GroupPolicy::UpdateOnly => "update-only",
        GroupPolicy::Refuse => "refuse",
        GroupPolicy::Ignore => "ignore",
    }
}

/// The config-file / form name of a link policy.
pub(crate) fn link_name(p: LinkPolicy) -> &'static str {
    match p {
        LinkPolicy::Off => "off",
        LinkPolicy::ByUserName => "username",
        LinkPolicy::ByUserNameOrEmail => "username-or-email",
    }
}

fn parse_deletion(s: &str) -> Result<DeletionPolicy, String> {
    match s {
        "hard" => Ok(DeletionPolicy::Hard),
        "soft" => Ok(DeletionPolicy::Soft),
        "review" => Ok(DeletionPolicy::Review),
        _ => Err(format!(
            "deletion must be \"hard\", \"soft\" or \"review\", not {s:?}"
        )),
    }
}

fn parse_groups(s: &str) -> Result<GroupPolicy, String> {
    match s {
        "full" => Ok(GroupPolicy::Full),
        "update-only" => Ok(GroupPolicy::UpdateOnly),
        "refuse" => Ok(GroupPolicy::Refuse),
        "ignore" => Ok(GroupPolicy::Ignore),
        _ => Err(format!(
            "groups must be \"full\", \"update-only\", \"refuse\" or \"ignore\", not {s:?}"
        )),
    }
}

fn parse_link(s: &str) -> Result<LinkPolicy, String> {
    match s {
        "off" => Ok(LinkPolicy::Off),
        "username" => Ok(LinkPolicy::ByUserName),
        "username-or-email" => Ok(LinkPolicy::ByUserNameOrEmail),
        _ => Err(format!(
            "link_existing must be \"off\", \"username\" or \"username-or-email\", not {s:?}"
        )),
    }
}

/// A rename template must name the id (or renamed users could collide).
fn check_rename(t: Option<&str>) -> Result<Option<String>, String> {
    match t.map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) if t.contains("{id}") => Ok(Some(t.to_owned())),
        Some(t) => Err(format!(
            "rename_on_deactivate must contain {{id}} (and may contain {{userName}}), e.g. \"deactivated-{{id}}-{{userName}}\", not {t:?}"
        )),
    }
}

/// Policies as written in the config file (`[policies]` for every tenant,
/// `[tenants.NAME.policies]` for one); unset keys keep the default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PolicyFile {
    enabled: Option<bool>,
    deletion: Option<String>,
    groups: Option<String>,
    link_existing: Option<String>,
    require_guid_external_id: Option<bool>,
    rename_on_deactivate: Option<String>,
}

impl PolicyFile {
    /// `base` with this file's keys applied.
    pub(crate) fn apply(&self, base: &Policies) -> Result<Policies, String> {
        let mut p = base.clone();
        if let Some(v) = self.enabled {
            p.enabled = v;
        }
        if let Some(v) = &self.deletion {
            p.deletion = parse_deletion(v)?;
        }
        if let Some(v) = &self.groups {
            p.groups = parse_groups(v)?;
        }
        if let Some(v) = &self.link_existing {
            p.link_existing = parse_link(v)?;
        }
        if let Some(v) = self.require_guid_external_id {
            p.require_guid_external_id = v;
        }
        if let Some(v) = &self.rename_on_deactivate {
            p.rename_on_deactivate = check_rename(Some(v))?;
        }
        Ok(p)
    }
}

/// The stored form of policies.
pub(crate) fn to_row(p: &Policies) -> PolicyRow {
    PolicyRow {
        enabled: p.enabled,
        deletion: deletion_name(p.deletion).to_owned(),
        groups: group_name(p.groups).to_owned(),
        link_existing: link_name(p.link_existing).to_owned(),
        require_guid_external_id: p.require_guid_external_id,
        rename_on_deactivate: p.rename_on_deactivate.clone(),
    }
}

/// Policies from their stored (or submitted) form.
pub(crate) fn from_row(r: &PolicyRow) -> Result<Policies, String> {
    Ok(Policies {
        enabled: r.enabled,
        deletion: parse_deletion(&r.deletion)?,
        groups: parse_groups(&r.groups)?,
        link_existing: parse_link(&r.link_existing)?,
        require_guid_external_id: r.require_guid_external_id,
        rename_on_deactivate: check_rename(r.rename_on_deactivate.as_deref())?,
    })
}

/// The tenants' policies: stored rows, else the configured default; cached.
pub(crate) struct DbPolicies {
    db: Arc<AdminDb>,
    default: Arc<Policies>,
    cache: RwLock<HashMap<String, (Arc<Policies>, Instant)>>,
}

impl std::fmt::Debug for DbPolicies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbPolicies")
            .field("default", &self.default)
            .finish_non_exhaustive()
    }
}

/// Where a tenant's policies come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PolicyOrigin {
    /// No row: the configured default.
    Default,
    /// Set from the config file at start.
    Config,
    /// Set on the admin page.
    Admin,
}

impl DbPolicies {
    /// Policies over `db`, with `default` for tenants without a stored row.
    pub(crate) fn new(db: Arc<AdminDb>, default: Policies) -> Self {
        Self {
            db,
            default: Arc::new(default),
            cache: RwLock::new(HashMap::new()),
        }
    }

    /// A tenant's policies and where they come from (uncached).
    pub(crate) fn load(&self, tenant: &str) -> Result<(Policies, PolicyOrigin), DbError> {
        Ok(match self.db.tenant_policies(tenant)? {
            None => ((*self.default).clone(), PolicyOrigin::Default),
            Some((row, by)) => {
                let p = from_row(&row).unwrap_or_else(|e| {
                    // Only a hand-edited row can be invalid: refuse to provision.
                    tracing::error!(tenant, error = %e, "invalid stored policies; provisioning disabled for the tenant");
                    Policies {
                        enabled: false,
                        ..Policies::default()
                    }
                });
                let origin = if by == "config" {
                    PolicyOrigin::Config
                } else {
                    PolicyOrigin::Admin
                };
                (p, origin)
            }
        })
    }

    /// Store a tenant's policies (`by`: `config` or `admin`); applies to the
    /// next request.
    pub(crate) fn set(&self, tenant: &str, p: &Policies, by: &str) -> Result<(), DbError> {
        self.db.set_tenant_policies(tenant, &to_row(p), by)?;
        self.cache.write().remove(tenant);
        Ok(())
    }
}

impl PolicySource for DbPolicies {
    fn policies(&self, tenant: &str) -> Arc<Policies> {
        if let Some((p, at)) = self.cache.read().get(tenant) {
            if at.elapsed() < CACHE_TTL {
                return Arc::clone(p);
            }
        }
        match self.load(tenant) {
            Ok((p, _)) => {
                let p = Arc::new(p);
                let mut cache = self.cache.write();
                if cache.len() > 10_000 {
                    cache.clear();
                }
                cache.insert(tenant.to_owned(), (Arc::clone(&p), Instant::now()));
                p
            }
            Err(e) => {
                // While the database is briefly unreachable (PostgreSQL
                // restarting), the tenant's last known policies still hold:
                // the request then fails with 503 at the store, not 403 here.
                if let Some((p, _)) = self.cache.read().get(tenant) {
                    tracing::warn!(tenant, error = %e, "cannot read the tenant's policies; using the last known ones");
                    return Arc::clone(p);
                }
                // Fail closed: never fall back to a default that may hard-delete
                // where the tenant asked for review.
                tracing::error!(tenant, error = %e, "cannot read the tenant's policies; answering 403");
                Arc::new(Policies {
                    enabled: false,
                    ..Policies::default()
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> (tempfile::TempDir, Arc<AdminDb>) {
        let dir = tempfile::tempdir().unwrap();
        let db = AdminDb::open(&dir.path().join("p.db")).unwrap();
        (dir, Arc::new(db))
    }

    #[test]
    fn file_policies_parse_and_apply_over_the_default() {
        let f: PolicyFile = toml::from_str(
            "deletion = \"review\"\ngroups = \"update-only\"\nlink_existing = \"username-or-email\"\n\
             require_guid_external_id = true\nrename_on_deactivate = \"gone-{id}-{userName}\"\n",
        )
        .unwrap();
        let p = f.apply(&Policies::default()).unwrap();
        assert_eq!(p.deletion, DeletionPolicy::Review);
        assert_eq!(p.groups, GroupPolicy::UpdateOnly);
        assert_eq!(p.link_existing, LinkPolicy::ByUserNameOrEmail);
        assert!(p.require_guid_external_id && p.enabled);
        assert_eq!(
            p.rename_on_deactivate.as_deref(),
            Some("gone-{id}-{userName}")
        );
        assert_eq!(from_row(&to_row(&p)).unwrap(), p);
    }

    #[test]
    fn bad_policy_values_are_explained() {
        for (text, want) in [
            ("deletion = \"never\"", "deletion must be"),
            ("groups = \"some\"", "groups must be"),
            ("link_existing = \"email\"", "link_existing must be"),
            (
                "rename_on_deactivate = \"old-{userName}\"",
                "must contain {id}",
            ),
        ] {
            let f: PolicyFile = toml::from_str(text).unwrap();
            let e = f.apply(&Policies::default()).unwrap_err();
            assert!(e.contains(want), "{text}: {e}");
        }
        assert!(toml::from_str::<PolicyFile>("delete = \"hard\"").is_err());
    }

    #[test]
    fn stored_policies_override_the_default_and_apply_at_once() {
        let (_d, db) = db();
        db.create_tenant("contoso").unwrap();
        let default = Policies {
            deletion: DeletionPolicy::Soft,
            ..Policies::default()
        };
        let src = DbPolicies::new(db.clone(), default);
        assert_eq!(src.policies("contoso").deletion, DeletionPolicy::Soft);
        assert_eq!(src.load("contoso").unwrap().1, PolicyOrigin::Default);
        let review = Policies {
            deletion: DeletionPolicy::Review,
            ..Policies::default()
        };
        src.set("contoso", &review, "admin").unwrap();
        // The cached value was dropped: the next request sees the change.
        assert_eq!(src.policies("contoso").deletion, DeletionPolicy::Review);
        assert_eq!(src.load("contoso").unwrap(), (review, PolicyOrigin::Admin));
        assert_eq!(src.policies("other").deletion, DeletionPolicy::Soft);
        assert!(matches!(
            src.set("nobody", &Policies::default(), "admin"),
            Err(DbError::NoTenant(_))
        ));
    }

    #[test]
    fn a_broken_database_disables_provisioning() {
        let (dir, db) = db();
        let src = DbPolicies::new(db, Policies::default());
        // Drop the table under it: reads fail.
        let conn = rusqlite::Connection::open(dir.path().join("p.db")).unwrap();
        conn.execute_batch("DROP TABLE scimkit_server_policies")
            .unwrap();
        assert!(!src.policies("default").enabled);
    }
}
