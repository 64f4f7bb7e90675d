//! The sync engine: read the directory, decide per user, write through the SCIM
//! engine.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::OnceLock;
use std::sync::atomic::Ordering;

use http::Method;
use parking_lot::Mutex;
use scimkit::schema::{GROUP_SCHEMA, PATCH_OP_SCHEMA};
use scimkit::{HiddenState, ResourceKind, ScimServer};
use serde_json::{Value, json};

use crate::SyncError;
use crate::client::{Fetched, GraphClient};
use crate::config::{Scope, SyncConfig};
use crate::mapping::{self, Assignment, Mapper};
use crate::report::{Action, Change, Counts, Issue, Progress, Report, RunMode};
use crate::state::{SyncState, SyncStateStore};
use crate::target::Target;

/// The most pages one listing may have (a loop guard: 999 users a page).
const MAX_PAGES: usize = 100_000;

/// Run one sync of `config.tenant`: read the directory, bring the tenant's users
/// in line through `server`, save the new state (unless dry).
///
/// A convenience for [`Syncer::new`] + [`Syncer::run`]; hosts that run the sync
/// repeatedly keep a [`Syncer`] to reuse its access token.
pub fn run_sync(
    server: &ScimServer,
    config: &SyncConfig,
    state: &dyn SyncStateStore,
    progress: &mut Progress,
) -> Result<Report, SyncError> {
    Syncer::new(config.clone())?.run(server, state, progress)
}

/// A configured sync: the validated configuration, its mappings and a Graph
/// client whose access token is cached across runs until it expires.
#[derive(Debug)]
pub struct Syncer {
    config: SyncConfig,
    mapper: Mapper,
    client: GraphClient,
}

/// Tenants with a run in progress in this process.
fn running() -> &'static Mutex<HashSet<String>> {
    static RUNNING: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    RUNNING.get_or_init(Default::default)
}

struct RunGuard(String);

impl RunGuard {
    fn acquire(tenant: &str) -> Result<Self, SyncError> {
        if running().lock().insert(tenant.to_owned()) {
            Ok(Self(tenant.to_owned()))
        } else {
            Err(SyncError::AlreadyRunning {
                tenant: tenant.to_owned(),
            })
        }
    }
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        running().lock().remove(&self.0);
    }
}

impl Syncer {
    /// Validate `config` and prepare a client. Reads nothing yet.
    pub fn new(config: SyncConfig) -> Result<Self, SyncError> {
        config.validate()?;
        let mapper = Mapper::new(&config.mappings).map_err(SyncError::Config)?;
        let client = GraphClient::new(&config)?;
        Ok(Self {
            config,
            mapper,
            client,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &SyncConfig {
        &self.config
    }

    /// Run the sync (a dry run when `config.dry_run`).
    ///
    /// Refuses to run when the configuration is disabled, deleting nothing.
    /// Per-user failures are reported, not returned; an `Err` means the run
    /// stopped (see [`SyncError`]).
    pub fn run(
        &self,
        server: &ScimServer,
        state: &dyn SyncStateStore,
        progress: &mut Progress,
    ) -> Result<Report, SyncError> {
        self.execute(server, state, progress, self.config.dry_run)
    }

    /// Compute the plan without changing anything (whatever `config.dry_run`
    /// says): the report's counts and changes are what a run would do.
    pub fn plan(
        &self,
        server: &ScimServer,
        state: &dyn SyncStateStore,
    ) -> Result<Report, SyncError> {
        self.execute(server, state, &mut Progress::new(), true)
    }

    fn execute(
        &self,
        server: &ScimServer,
        store: &dyn SyncStateStore,
        progress: &mut Progress,
        dry_run: bool,
    ) -> Result<Report, SyncError> {
        let cfg = &self.config;
        if !cfg.enabled {
            return Err(SyncError::Disabled {
                tenant: cfg.tenant.clone(),
            });
        }
        let _guard = RunGuard::acquire(&cfg.tenant)?;
        let stats = &self.client.stats;
        let before = (
            stats.token_requests.load(Ordering::Relaxed),
            stats.requests.load(Ordering::Relaxed),
            stats.retries.load(Ordering::Relaxed),
        );
        let started = scimkit::time::now();
        let previous = store.load(&cfg.tenant)?.unwrap_or_default();
        progress.counts = Counts::default();
        let mut run = Run {
            syncer: self,
            server,
            target: Target::new(server),
            dry_run,
            progress,
            changes: Vec::new(),
            issues: Vec::new(),
            seen: HashSet::new(),
            in_scope: BTreeSet::new(),
            removals: Vec::new(),
            failed: BTreeSet::new(),
            scim_ids: HashMap::new(),
            hidden: None,
        };
        tracing::info!(tenant = %cfg.tenant, run = run.target.run_id(), dry_run, "graph sync started");
        let outcome = run.sync(&previous)?;
        let mut state = SyncState {
            delta_link: outcome.delta_link,
            synced: match outcome.mode {
                RunMode::Full => run.in_scope.clone(),
                RunMode::Incremental => previous.synced.union(&run.in_scope).cloned().collect(),
            },
            retry: run.failed.clone(),
            last_run: Some(scimkit::time::now()),
            config_fingerprint: Some(cfg.fingerprint()),
        };
        for id in &outcome.removed {
            state.synced.remove(id);
        }
        if !dry_run {
            store.save(&cfg.tenant, &state)?;
        }
        let report = Report {
            tenant: cfg.tenant.clone(),
            dry_run,
            mode: outcome.mode,
            counts: run.progress.counts,
            changes: run.changes,
            issues: run.issues,
            started,
            finished: scimkit::time::now(),
            token_requests: stats.token_requests.load(Ordering::Relaxed) - before.0,
            graph_requests: stats.requests.load(Ordering::Relaxed) - before.1,
            retries: stats.retries.load(Ordering::Relaxed) - before.2,
        };
        tracing::info!(tenant = %cfg.tenant, dry_run, counts = ?report.counts, "graph sync finished");
        Ok(report)
    }
}

/// A per-user failure (reported, the run goes on) or a reason to stop.
enum Fail {
    Issue(String),
    Stop(SyncError),
}

impl From<SyncError> for Fail {
    fn from(e: SyncError) -> Self {
        Fail::Stop(e)
    }
}

/// What the listing phase produced for the new state.
struct Outcome {
    mode: RunMode,
    delta_link: Option<String>,
    /// Object ids removed from the application (deleted or out of scope).
    removed: Vec<String>,
}

/// How a listing ended.
enum Listing {
    /// The last page; its delta link, if it had one.
    Done(Option<String>),
    /// The delta link expired (410): list everything again.
    Expired,
}

/// One group of the groups scope: its name and transitive user members.
struct ScopedGroup {
    id: String,
    name: String,
    members: Vec<String>,
}

struct Run<'a> {
    syncer: &'a Syncer,
    server: &'a ScimServer,
    target: Target<'a>,
    dry_run: bool,
    progress: &'a mut Progress,
    changes: Vec<Change>,
    issues: Vec<Issue>,
    /// Object ids handled this run (each once).
    seen: HashSet<String>,
    /// Object ids in scope this run (listed, not removed).
    in_scope: BTreeSet<String>,
    /// Object ids a delta listing reported as removed; handled after the
    /// listing, once the removal threshold is checked.
    removals: Vec<String>,
    /// Object ids whose change failed.
    failed: BTreeSet<String>,
    /// Object id → SCIM id (None: a creation planned by a dry run).
    scim_ids: HashMap<String, Option<String>>,
    /// Hidden users (review and soft-delete lists) by externalId, loaded on
    /// first need.
    hidden: Option<HashMap<String, String>>,
}

fn is_active(resource: &Value) -> bool {
    resource.get("active") != Some(&Value::Bool(false))
}

fn str_of(v: &Value, key: &str) -> Option<String> {
    v[key].as_str().map(str::to_owned)
}

fn issue(message: impl Into<String>) -> Fail {
    Fail::Issue(message.into())
}

impl Run<'_> {
    fn cfg(&self) -> &SyncConfig {
        &self.syncer.config
    }

    fn client(&self) -> &GraphClient {
        &self.syncer.client
    }

    fn counts(&mut self) -> &mut Counts {
        &mut self.progress.counts
    }

    fn record(
        &mut self,
        action: Action,
        kind: ResourceKind,
        object_id: &str,
        name: Option<String>,
        scim_id: Option<String>,
        attributes: Vec<String>,
    ) {
        let c = Change {
            action,
            kind,
            object_id: object_id.to_owned(),
            name,
            scim_id,
            attributes,
        };
        tracing::debug!(tenant = %self.cfg().tenant, dry_run = self.dry_run, change = %c, "graph sync change");
        self.changes.push(c);
    }

    /// Run one per-object step: a failure becomes an issue, a stop propagates.
    fn guarded(
        &mut self,
        object_id: &str,
        name: Option<String>,
        step: impl FnOnce(&mut Self) -> Result<(), Fail>,
    ) -> Result<(), SyncError> {
        match step(self) {
            Ok(()) => {}
            Err(Fail::Issue(message)) => {
                tracing::warn!(tenant = %self.cfg().tenant, object_id, %message, "graph sync: change failed");
                self.counts().errors += 1;
                self.failed.insert(object_id.to_owned());
                self.issues.push(Issue {
                    object_id: object_id.to_owned(),
                    name,
                    message,
                });
            }
            Err(Fail::Stop(e)) => return Err(e),
        }
        self.progress.tick();
        Ok(())
    }

    // ===== listing =====

    fn sync(&mut self, previous: &SyncState) -> Result<Outcome, SyncError> {
        let fingerprint_ok =
            previous.config_fingerprint.as_deref() == Some(self.cfg().fingerprint().as_str());
        let select = self.syncer.mapper.select();
        let mut groups = Vec::new();
        let (mode, delta_link) = match self.cfg().scope.clone() {
            Scope::All if self.cfg().delta => {
                let link = previous
                    .delta_link
                    .clone()
                    .filter(|l| fingerprint_ok && self.client().is_graph_link(l));
                let initial = self.client().url(&format!("/users/delta?$select={select}"));
                let mut listed = None;
                if let Some(link) = link {
                    for id in &previous.retry {
                        self.refetch(id, &select)?;
                    }
                    match self.list(&link, true, &mut Vec::new())? {
                        Listing::Done(next) => listed = Some((RunMode::Incremental, next)),
                        Listing::Expired => {
                            tracing::warn!(tenant = %self.cfg().tenant, "delta link expired; listing every user");
                        }
                    }
                }
                match listed {
                    Some(l) => l,
                    None => match self.list(&initial, false, &mut Vec::new())? {
                        Listing::Done(next) => (RunMode::Full, next),
                        Listing::Expired => {
                            return Err(SyncError::Protocol(
                                "the initial delta query answered 410".into(),
                            ));
                        }
                    },
                }
            }
            Scope::All => {
                let url = self
                    .client()
                    .url(&format!("/users?$select={select}&$top=999"));
                self.list(&url, false, &mut Vec::new())?;
                (RunMode::Full, None)
            }
            Scope::Groups(ids) => {
                for id in ids {
                    let g = self.list_group(&id, &select)?;
                    groups.push(g);
                }
                (RunMode::Full, None)
            }
        };
        // Users gone from a full listing: deleted, or (groups scope) out of scope.
        let mut deleted = std::mem::take(&mut self.removals);
        let mut out_of_scope = Vec::new();
        if mode == RunMode::Full {
            let missing: Vec<String> = previous
                .synced
                .iter()
                .filter(|id| !self.seen.contains(*id))
                .cloned()
                .collect();
            for id in missing {
                let url = self.client().url(&format!("/users/{id}?$select={select}"));
                match self.client().get(&url)? {
                    Fetched::NotFound | Fetched::Gone => deleted.push(id),
                    Fetched::Json(_) if matches!(self.cfg().scope, Scope::Groups(_)) => {
                        out_of_scope.push(id)
                    }
                    Fetched::Json(user) => self.user(&user, false)?,
                }
            }
        }
        let threshold = self.cfg().removal_threshold;
        let removals = deleted
            .iter()
            .chain(&out_of_scope)
            .filter(|id| previous.synced.contains(*id))
            .count();
        if threshold > 0 && removals > threshold {
            return Err(SyncError::RemovalThreshold {
                removals,
                threshold,
            });
        }
        for id in &deleted {
            self.guarded(id, None, |run| run.removed_user(id))?;
        }
        if !self.dry_run && !deleted.is_empty() {
            self.warn_if_hard_deleted()?;
        }
        for id in &out_of_scope {
            self.guarded(id, None, |run| run.out_of_scope(id))?;
        }
        if self.cfg().mirror_groups {
            for g in &groups {
                self.guarded(&g.id, Some(g.name.clone()), |run| run.mirror_group(g))?;
            }
        }
        let mut removed = deleted;
        removed.extend(out_of_scope);
        for id in &removed {
            self.in_scope.remove(id);
        }
        Ok(Outcome {
            mode,
            delta_link,
            removed,
        })
    }

    /// Follow a listing's pages, handling every user. `members` collects the
    /// object ids listed.
    fn list(
        &mut self,
        first: &str,
        incremental: bool,
        members: &mut Vec<String>,
    ) -> Result<Listing, SyncError> {
        let mut url = first.to_owned();
        for _ in 0..MAX_PAGES {
            let page = match self.client().get(&url)? {
                Fetched::Json(v) => v,
                Fetched::Gone if incremental => return Ok(Listing::Expired),
                Fetched::Gone | Fetched::NotFound => {
                    return Err(SyncError::Protocol(format!(
                        "a listing page answered 404 or 410 ({})",
                        url.split('?').next().unwrap_or_default()
                    )));
                }
            };
            let items = page["value"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default();
            for item in items {
                if let Some(id) = item["id"].as_str() {
                    members.push(id.to_owned());
                }
                self.user(item, incremental)?;
            }
            match page["@odata.nextLink"].as_str() {
                Some(next) if next == url => {
                    return Err(SyncError::Protocol("a page links to itself".into()));
                }
                Some(next) => url = next.to_owned(),
                None => {
                    return Ok(Listing::Done(
                        page["@odata.deltaLink"].as_str().map(str::to_owned),
                    ));
                }
            }
        }
        Err(SyncError::Protocol(format!(
            "a listing has more than {MAX_PAGES} pages"
        )))
    }

    /// A configured group and its transitive user members (each handled).
    fn list_group(&mut self, id: &str, select: &str) -> Result<ScopedGroup, SyncError> {
        let url = self
            .client()
            .url(&format!("/groups/{id}?$select=id,displayName"));
        let group = match self.client().get(&url)? {
            Fetched::Json(g) => g,
            Fetched::NotFound | Fetched::Gone => {
                return Err(SyncError::GroupNotFound(id.to_owned()));
            }
        };
        let mut members = Vec::new();
        let url = self.client().url(&format!(
            "/groups/{id}/transitiveMembers/microsoft.graph.user?$select={select}&$top=999"
        ));
        self.list(&url, false, &mut members)?;
        Ok(ScopedGroup {
            id: id.to_owned(),
            name: str_of(&group, "displayName").unwrap_or_else(|| id.to_owned()),
            members,
        })
    }

    /// Read one user again (its last change failed).
    fn refetch(&mut self, id: &str, select: &str) -> Result<(), SyncError> {
        let url = self.client().url(&format!("/users/{id}?$select={select}"));
        match self.client().get(&url)? {
            Fetched::Json(user) => self.user(&user, false),
            Fetched::NotFound | Fetched::Gone => {
                self.removals.push(id.to_owned());
                Ok(())
            }
        }
    }

    // ===== users =====

    /// One listed user (or, in a delta page, a removal).
    fn user(&mut self, item: &Value, partial: bool) -> Result<(), SyncError> {
        let Some(oid) = item["id"].as_str() else {
            return Ok(());
        };
        if !self.seen.insert(oid.to_owned()) {
            return Ok(());
        }
        self.counts().seen += 1;
        if item.get("@removed").is_some() {
            self.removals.push(oid.to_owned());
            return Ok(());
        }
        self.in_scope.insert(oid.to_owned());
        let name = str_of(item, "userPrincipalName");
        self.guarded(oid, name, |run| run.apply_user(oid, item, partial))
    }

    fn apply_user(&mut self, oid: &str, item: &Value, partial: bool) -> Result<(), Fail> {
        let found = self.target.find("/Users", "externalId", oid)?;
        match found.as_slice() {
            [] => self.create_user(oid, item, partial),
            [current] => {
                self.scim_ids.insert(oid.to_owned(), str_of(current, "id"));
                let syncer = self.syncer;
                let a = syncer.mapper.assignments(item, partial);
                self.update_user(oid, current, &a)
            }
            _ => Err(issue(format!(
                "{} users have externalId {oid}; remove the duplicate",
                found.len()
            ))),
        }
    }

    /// PATCH what differs. The server's ignore flag shows as an answer without a
    /// new version.
    fn update_user(
        &mut self,
        oid: &str,
        current: &Value,
        a: &[Assignment<'_>],
    ) -> Result<(), Fail> {
        let changes = mapping::diff(current, a);
        if changes.is_empty() {
            self.counts().unchanged += 1;
            return Ok(());
        }
        let id = str_of(current, "id").ok_or_else(|| issue("the stored user has no id"))?;
        let action = match (mapping::active(&changes), is_active(current)) {
            (Some(false), true) => Action::Deactivate,
            (Some(true), false) => Action::Reactivate,
            _ => Action::Update,
        };
        if !self.dry_run {
            let r = self.target.call(
                Method::PATCH,
                &format!("/Users/{id}"),
                Some(&mapping::patch_body(&changes)),
            )?;
            if !r.ok() {
                return Err(issue(format!("the update was refused: {}", r.detail())));
            }
            if r.status == 200 && r.body["meta"]["version"] == current["meta"]["version"] {
                // Nothing was written: an ignored user, or values the server
                // normalises to what it has.
                if mapping::diff(&r.body, &changes).is_empty() {
                    self.counts().unchanged += 1;
                } else {
                    self.counts().ignored += 1;
                }
                return Ok(());
            }
        }
        let c = self.counts();
        c.updated += 1;
        match action {
            Action::Deactivate => c.deactivated += 1,
            Action::Reactivate => c.reactivated += 1,
            _ => {}
        }
        let name = str_of(current, "userName");
        self.record(
            action,
            ResourceKind::User,
            oid,
            name,
            Some(id),
            mapping::names(&changes),
        );
        Ok(())
    }

    fn create_user(&mut self, oid: &str, item: &Value, partial: bool) -> Result<(), Fail> {
        // A delta item carries only what changed: read the whole user.
        let fetched;
        let item = if partial {
            let select = self.syncer.mapper.select();
            let url = self.client().url(&format!("/users/{oid}?$select={select}"));
            match self.client().get(&url)? {
                Fetched::Json(u) => {
                    fetched = u;
                    &fetched
                }
                Fetched::NotFound | Fetched::Gone => {
                    self.in_scope.remove(oid);
                    return Ok(());
                }
            }
        } else {
            item
        };
        let syncer = self.syncer;
        let a = syncer.mapper.assignments(item, false);
        let user_name = mapping::user_name(&a)
            .ok_or_else(|| issue("the directory object has no userPrincipalName"))?;
        // Back from the review (or soft-delete) list: restore, then update.
        if let Some(hidden_id) = self.hidden_id(oid)? {
            self.counts().restored += 1;
            self.record(
                Action::Restore,
                ResourceKind::User,
                oid,
                Some(user_name),
                Some(hidden_id.clone()),
                vec![],
            );
            self.scim_ids
                .insert(oid.to_owned(), Some(hidden_id.clone()));
            if self.dry_run {
                return Ok(());
            }
            self.server
                .restore_user(&self.cfg().tenant, &hidden_id)
                .map_err(|e| issue(format!("restoring the user failed: {}", e.detail())))?;
            if let Some(h) = self.hidden.as_mut() {
                h.remove(oid);
            }
            let r = self
                .target
                .call(Method::GET, &format!("/Users/{hidden_id}"), None)?;
            if !r.ok() {
                return Err(issue(format!("the restored user: {}", r.detail())));
            }
            return self.update_user(oid, &r.body, &a);
        }
        let by_name = self.target.find("/Users", "userName", &user_name)?;
        let action = match by_name.as_slice() {
            [] => Action::Create,
            [u] if u["externalId"].as_str().is_none_or(str::is_empty) => Action::Link,
            [u] => {
                return Err(issue(format!(
                    "userName {user_name:?} belongs to a user linked to another directory object ({}); rename one of them",
                    u["externalId"].as_str().unwrap_or_default()
                )));
            }
            _ => return Err(issue(format!("several users have userName {user_name:?}"))),
        };
        if self.dry_run {
            let existing = by_name.first().and_then(|u| str_of(u, "id"));
            self.scim_ids.insert(oid.to_owned(), existing.clone());
            let c = self.counts();
            match action {
                Action::Link => c.linked += 1,
                _ => c.created += 1,
            }
            self.record(
                action,
                ResourceKind::User,
                oid,
                Some(user_name),
                existing,
                vec![],
            );
            return Ok(());
        }
        let body = mapping::user_body(oid, &a);
        let r = self.target.call(Method::POST, "/Users", Some(&body))?;
        match r.status {
            200 | 201 => {
                let id = str_of(&r.body, "id");
                self.scim_ids.insert(oid.to_owned(), id.clone());
                if r.body["externalId"].as_str() != Some(oid) {
                    // The server matched an ignored local user and left it alone.
                    self.counts().ignored += 1;
                    return Ok(());
                }
                let c = self.counts();
                match action {
                    Action::Link => c.linked += 1,
                    _ => c.created += 1,
                }
                self.record(action, ResourceKind::User, oid, Some(user_name), id, vec![]);
                Ok(())
            }
            409 if action == Action::Link => Err(issue(format!(
                "a local user with userName {user_name:?} exists and the server does not link it: configure LinkPolicy::ByUserName for the tenant, or rename the local user ({})",
                r.detail()
            ))),
            _ => Err(issue(format!(
                "creating the user was refused: {}",
                r.detail()
            ))),
        }
    }

    /// The SCIM id of a hidden user (review or soft-delete list) with this
    /// externalId.
    fn hidden_id(&mut self, oid: &str) -> Result<Option<String>, SyncError> {
        if self.hidden.is_none() {
            let mut map = HashMap::new();
            for state in [HiddenState::Review, HiddenState::Deleted] {
                let users = self
                    .server
                    .hidden_users(&self.cfg().tenant, state)
                    .map_err(|e| SyncError::Target {
                        status: e.status(),
                        detail: e.detail().to_owned(),
                    })?;
                for u in users {
                    if let (Some(ext), Some(id)) = (str_of(&u, "externalId"), str_of(&u, "id")) {
                        map.insert(ext, id);
                    }
                }
            }
            self.hidden = Some(map);
        }
        Ok(self.hidden.as_ref().and_then(|h| h.get(oid).cloned()))
    }

    /// A user deleted in the directory: DELETE, which the review policy turns
    /// into "deactivated and queued for an administrator".
    fn removed_user(&mut self, oid: &str) -> Result<(), Fail> {
        let found = self.target.find("/Users", "externalId", oid)?;
        let [current] = found.as_slice() else {
            return Ok(()); // not (or no longer) in the application
        };
        let id = str_of(current, "id").ok_or_else(|| issue("the stored user has no id"))?;
        let name = str_of(current, "userName");
        if !self.dry_run {
            let r = self
                .target
                .call(Method::DELETE, &format!("/Users/{id}"), None)?;
            if !r.ok() {
                return Err(issue(format!("the deletion was refused: {}", r.detail())));
            }
            let after = self
                .target
                .call(Method::GET, &format!("/Users/{id}"), None)?;
            if after.ok() {
                self.counts().ignored += 1; // an ignored user stays
                return Ok(());
            }
        }
        self.counts().queued += 1;
        self.record(
            Action::QueueDelete,
            ResourceKind::User,
            oid,
            name,
            Some(id),
            vec![],
        );
        Ok(())
    }

    /// The sync cannot read the tenant's deletion policy; it can see afterwards
    /// whether its DELETEs were queued (review) or hidden (soft) — or removed.
    fn warn_if_hard_deleted(&mut self) -> Result<(), SyncError> {
        let sent: Vec<String> = self
            .changes
            .iter()
            .filter(|c| c.action == Action::QueueDelete)
            .filter_map(|c| c.scim_id.clone())
            .collect();
        if sent.is_empty() {
            return Ok(());
        }
        self.hidden = None;
        let mut hidden = HashSet::new();
        for state in [HiddenState::Review, HiddenState::Deleted] {
            let users = self
                .server
                .hidden_users(&self.cfg().tenant, state)
                .map_err(|e| SyncError::Target {
                    status: e.status(),
                    detail: e.detail().to_owned(),
                })?;
            hidden.extend(users.iter().filter_map(|u| str_of(u, "id")));
        }
        let removed = sent.iter().filter(|id| !hidden.contains(*id)).count();
        if removed > 0 {
            tracing::warn!(
                tenant = %self.cfg().tenant,
                removed,
                "users deleted in the directory were removed permanently: the tenant's DeletionPolicy is Hard; pull sync expects DeletionPolicy::Review"
            );
        }
        Ok(())
    }

    /// A user who left every group of the scope: deactivated, nothing deleted.
    fn out_of_scope(&mut self, oid: &str) -> Result<(), Fail> {
        let found = self.target.find("/Users", "externalId", oid)?;
        let [current] = found.as_slice() else {
            return Ok(());
        };
        let active = mapping::ScimPath::parse("active").map_err(Fail::Issue)?;
        let a = [Assignment {
            path: &active,
            value: Some(Value::Bool(false)),
        }];
        self.update_user(oid, current, &a)
    }

    // ===== groups =====

    /// Create or update the SCIM Group mirroring a scoped group: displayName,
    /// externalId = object id, members = its transitive users in the application.
    fn mirror_group(&mut self, g: &ScopedGroup) -> Result<(), Fail> {
        let mut desired = BTreeSet::new();
        let mut planned = 0usize;
        for oid in &g.members {
            match self.scim_ids.get(oid) {
                Some(Some(id)) => {
                    desired.insert(id.clone());
                }
                Some(None) => planned += 1,
                None => {}
            }
        }
        let mut found = self.target.find("/Groups", "externalId", &g.id)?;
        if found.is_empty() {
            found = self
                .target
                .find("/Groups", "displayName", &g.name)?
                .into_iter()
                .filter(|x| {
                    x["externalId"]
                        .as_str()
                        .is_none_or(|e| e.is_empty() || e == g.id)
                })
                .collect();
        }
        match found.as_slice() {
            [] => self.create_group(g, &desired, planned),
            [current] => self.update_group(g, current, &desired, planned),
            _ => Err(issue(format!(
                "several groups are named {:?}; give the right one externalId {}",
                g.name, g.id
            ))),
        }
    }

    fn create_group(
        &mut self,
        g: &ScopedGroup,
        desired: &BTreeSet<String>,
        planned: usize,
    ) -> Result<(), Fail> {
        let attrs = vec![format!("members +{}", desired.len() + planned)];
        let mut id = None;
        if !self.dry_run {
            let members: Vec<Value> = desired.iter().map(|m| json!({"value": m})).collect();
            let body = json!({
                "schemas": [GROUP_SCHEMA],
                "displayName": g.name,
                "externalId": g.id,
                "members": members,
            });
            let r = self.target.call(Method::POST, "/Groups", Some(&body))?;
            if !r.ok() {
                return Err(issue(format!(
                    "creating the group was refused: {}",
                    r.detail()
                )));
            }
            id = str_of(&r.body, "id");
        }
        self.counts().groups_created += 1;
        self.record(
            Action::Create,
            ResourceKind::Group,
            &g.id,
            Some(g.name.clone()),
            id,
            attrs,
        );
        Ok(())
    }

    fn update_group(
        &mut self,
        g: &ScopedGroup,
        current: &Value,
        desired: &BTreeSet<String>,
        planned: usize,
    ) -> Result<(), Fail> {
        let id = str_of(current, "id").ok_or_else(|| issue("the stored group has no id"))?;
        let have: BTreeSet<String> = current["members"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| str_of(m, "value"))
            .collect();
        let add: Vec<&String> = desired.difference(&have).collect();
        let remove: Vec<&String> = have.difference(desired).collect();
        let mut attr_ops = Vec::new();
        let mut attrs = Vec::new();
        if current["displayName"].as_str() != Some(g.name.as_str()) {
            attr_ops.push(json!({"op": "replace", "path": "displayName", "value": g.name}));
            attrs.push("displayName".to_owned());
        }
        if current["externalId"].as_str() != Some(g.id.as_str()) {
            attr_ops.push(json!({"op": "replace", "path": "externalId", "value": g.id}));
            attrs.push("externalId".to_owned());
        }
        if !add.is_empty() || planned > 0 || !remove.is_empty() {
            attrs.push(format!(
                "members +{} -{}",
                add.len() + planned,
                remove.len()
            ));
        }
        if attrs.is_empty() {
            self.counts().groups_unchanged += 1;
            return Ok(());
        }
        if !self.dry_run {
            let mut bodies = Vec::new();
            if !attr_ops.is_empty() {
                bodies.push(attr_ops);
            }
            let mut member_ops = Vec::new();
            if !add.is_empty() {
                let values: Vec<Value> = add.iter().map(|m| json!({"value": m})).collect();
                member_ops.push(json!({"op": "add", "path": "members", "value": values}));
            }
            for m in &remove {
                member_ops
                    .push(json!({"op": "remove", "path": format!("members[value eq \"{m}\"]")}));
            }
            for chunk in member_ops.chunks(500) {
                bodies.push(chunk.to_vec());
            }
            for ops in bodies {
                let body = json!({"schemas": [PATCH_OP_SCHEMA], "Operations": ops});
                let r = self
                    .target
                    .call(Method::PATCH, &format!("/Groups/{id}"), Some(&body))?;
                if !r.ok() {
                    return Err(issue(format!(
                        "updating the group was refused: {}",
                        r.detail()
                    )));
                }
            }
        }
        self.counts().groups_updated += 1;
        self.record(
            Action::Update,
            ResourceKind::Group,
            &g.id,
            Some(g.name.clone()),
            Some(id),
            attrs,
        );
        Ok(())
    }
}
