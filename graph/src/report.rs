//! What a run did (or, dry, would do): [`Counts`], updated live in
//! [`Progress`], and the final [`Report`] with every [`Change`].

use std::fmt;

use scimkit::ResourceKind;
use serde::Serialize;

/// Counters of one run. In a dry run they count what the run would do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    /// Graph users (and deletions) read.
    pub seen: u64,
    /// Users created.
    pub created: u64,
    /// Existing local users (same userName, no externalId) linked by the
    /// server's link policy.
    pub linked: u64,
    /// Users restored from the review (or soft-delete) list because they are
    /// back in the directory.
    pub restored: u64,
    /// Users updated (including those deactivated or reactivated).
    pub updated: u64,
    /// Users deactivated: disabled in the directory (`accountEnabled` false) or
    /// out of the groups scope.
    pub deactivated: u64,
    /// Users reactivated.
    pub reactivated: u64,
    /// Users deleted in the directory, sent as DELETE (queued for review under
    /// `DeletionPolicy::Review`).
    pub queued: u64,
    /// Users already up to date.
    pub unchanged: u64,
    /// Users the application marked as ignored; the server kept them as they are.
    pub ignored: u64,
    /// Users whose change failed (see [`Report::issues`]).
    pub errors: u64,
    /// SCIM Groups created (with `mirror_groups`).
    pub groups_created: u64,
    /// SCIM Groups whose name or members changed.
    pub groups_updated: u64,
    /// SCIM Groups already up to date.
    pub groups_unchanged: u64,
}

type Callback = Box<dyn FnMut(&Counts) + Send>;

/// Live progress of a run: the counters so far, and an optional callback called
/// after every user (and group) handled.
#[derive(Default)]
pub struct Progress {
    /// The counters so far.
    pub counts: Counts,
    callback: Option<Callback>,
}

impl fmt::Debug for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Progress")
            .field("counts", &self.counts)
            .field("callback", &self.callback.is_some())
            .finish()
    }
}

impl Progress {
    /// Progress without a callback.
    pub fn new() -> Self {
        Self::default()
    }

    /// Progress that calls `f` with the counters after every user handled.
    pub fn with_callback(f: impl FnMut(&Counts) + Send + 'static) -> Self {
        Self {
            counts: Counts::default(),
            callback: Some(Box::new(f)),
        }
    }

    pub(crate) fn tick(&mut self) {
        if let Some(cb) = self.callback.as_mut() {
            cb(&self.counts);
        }
    }
}

/// What happened (or would happen) to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Action {
    /// POST: a new resource.
    Create,
    /// POST that the server's link policy turns into adopting an existing user
    /// with the same userName and no externalId.
    Link,
    /// An administrator-hidden user (review or soft-delete list) is back in the
    /// directory: restored, then updated.
    Restore,
    /// PATCH of changed attributes.
    Update,
    /// PATCH `active` = false (disabled in the directory or out of scope).
    Deactivate,
    /// PATCH `active` = true.
    Reactivate,
    /// DELETE: the user was deleted in the directory. Under
    /// `DeletionPolicy::Review` it is deactivated and queued for an
    /// administrator; nothing is removed.
    QueueDelete,
}

impl Action {
    /// A stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Link => "link",
            Action::Restore => "restore",
            Action::Update => "update",
            Action::Deactivate => "deactivate",
            Action::Reactivate => "reactivate",
            Action::QueueDelete => "queue_delete",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One change, applied or (dry run) planned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// What.
    pub action: Action,
    /// User or Group.
    #[serde(serialize_with = "kind_str")]
    pub kind: ResourceKind,
    /// The Graph object id (the SCIM externalId).
    pub object_id: String,
    /// The userName (or group displayName), when known.
    pub name: Option<String>,
    /// The SCIM id, when the resource exists (not for planned creations).
    pub scim_id: Option<String>,
    /// The SCIM paths changed (for updates), or members added/removed
    /// (`members +3 -1`) for groups.
    pub attributes: Vec<String>,
}

fn kind_str<S: serde::Serializer>(k: &ResourceKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(k.as_str())
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<12} {:<5} {}",
            self.action.as_str(),
            self.kind.as_str(),
            self.name.as_deref().unwrap_or("?")
        )?;
        write!(f, " ({})", self.object_id)?;
        if !self.attributes.is_empty() {
            write!(f, ": {}", self.attributes.join(", "))?;
        }
        Ok(())
    }
}

/// A user (or group) the run could not bring in line; the run went on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Issue {
    /// The Graph object id.
    pub object_id: String,
    /// The userName, when known.
    pub name: Option<String>,
    /// What went wrong (the SCIM error detail and a hint).
    pub message: String,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.name.as_deref().unwrap_or("?"),
            self.object_id,
            self.message
        )
    }
}

/// How a run read the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunMode {
    /// Every user in scope was listed (first run, groups scope, delta off, delta
    /// link expired or configuration changed).
    Full,
    /// Only changes since the last run (delta query).
    Incremental,
}

/// The result of a run (or, dry, the plan).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The scimkit tenant.
    pub tenant: String,
    /// Whether nothing was changed (the counts and changes are a plan).
    pub dry_run: bool,
    /// Full listing or delta.
    pub mode: RunMode,
    /// The counters.
    pub counts: Counts,
    /// Every change made (or planned), in order. Unchanged and ignored users are
    /// not listed.
    pub changes: Vec<Change>,
    /// Users that failed.
    pub issues: Vec<Issue>,
    /// Start, fixed-width UTC.
    pub started: String,
    /// End, fixed-width UTC.
    pub finished: String,
    /// Token requests made (one per run while the token lives).
    pub token_requests: u64,
    /// Graph requests made (retries included).
    pub graph_requests: u64,
    /// Graph or token requests retried after throttling or a failure.
    pub retries: u64,
}

impl Report {
    /// Whether the run (or plan) changes nothing.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.counts;
        writeln!(
            f,
            "{} sync of tenant {:?} ({}): {} seen, {} created, {} linked, {} restored, {} updated, {} deactivated, {} reactivated, {} queued for deletion, {} unchanged, {} ignored, {} errors",
            if self.dry_run { "planned" } else { "completed" },
            self.tenant,
            match self.mode {
                RunMode::Full => "full",
                RunMode::Incremental => "incremental",
            },
            c.seen,
            c.created,
            c.linked,
            c.restored,
            c.updated,
            c.deactivated,
            c.reactivated,
            c.queued,
            c.unchanged,
            c.ignored,
            c.errors
        )?;
        if c.groups_created + c.groups_updated + c.groups_unchanged > 0 {
            writeln!(
                f,
                "groups: {} created, {} updated, {} unchanged",
                c.groups_created, c.groups_updated, c.groups_unchanged
            )?;
        }
        for ch in &self.changes {
            writeln!(f, "  {ch}")?;
        }
        for i in &self.issues {
            writeln!(f, "  error        {i}")?;
        }
        Ok(())
    }
}
