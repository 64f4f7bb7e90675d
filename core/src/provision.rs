//! The provisioning policies at work inside the engine (linking, ignoring,
//! renaming, soft delete and review, group policy), the events they emit, the
//! provisioning log, and the administrator's operations.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use http::Method;
use serde_json::{Map, Value, json};

use crate::auth::Principal;
use crate::error::{Result, ScimError};
use crate::events::{Event, EventKind};
use crate::filter::{AttrPath, CompValue, CompareOp, Filter};
use crate::log::{LogEntry, Outcome, ProvisioningLog};
use crate::policy::{
    GroupPolicy, HiddenState, INTERNAL_KEY, LinkPolicy, Policies, is_guid, shadow_tenant,
};
use crate::projection::Projection;
use crate::protocol::{Call, Reply, store_error};
use crate::schema::{LIST_RESPONSE_SCHEMA, ResourceKind};
use crate::server::ScimServer;
use crate::store::{
    Ctx, GroupRef, Member, MemberChange, Members, PageRequest, Query, SharedJson, StoreError,
    StoreResult, Stored,
};

pub(crate) fn default_policies() -> Arc<Policies> {
    static DEFAULT: OnceLock<Arc<Policies>> = OnceLock::new();
    DEFAULT
        .get_or_init(|| Arc::new(Policies::default()))
        .clone()
}

/// scimkit's metadata on a stored resource.
pub(crate) fn internal(resource: &Value) -> Option<Value> {
    resource.get(INTERNAL_KEY).cloned()
}

/// Whether an administrator marked the resource as ignored by provisioning.
pub(crate) fn is_ignored(resource: &Value) -> bool {
    resource[INTERNAL_KEY]["ignored"] == Value::Bool(true)
}

/// [`is_ignored`] for a shared resource (for text, only the internal member is
/// parsed).
pub(crate) fn is_ignored_shared(resource: &SharedJson) -> StoreResult<bool> {
    Ok(resource
        .member(INTERNAL_KEY)?
        .is_some_and(|i| i["ignored"] == Value::Bool(true)))
}

/// [`name_of`] for a shared resource (for text, only those members are
/// parsed); `None` also when the text does not parse (the name is only for
/// events and the log).
pub(crate) fn name_of_shared(resource: &SharedJson) -> Option<String> {
    match resource.as_tree() {
        Some(tree) => name_of(tree),
        None => ["userName", "displayName"]
            .into_iter()
            .find_map(|k| resource.member(k).ok().flatten())
            .and_then(|v| v.as_str().map(str::to_owned)),
    }
}

/// The keys of a stored resource that validation does not produce.
const NOT_VALIDATED: [&str; 4] = ["schemas", "id", "meta", INTERNAL_KEY];

/// Whether the client-visible attributes of a stored resource are exactly
/// `validated` (for "did anything change?"), without copying either.
pub(crate) fn unchanged(resource: &Value, validated: &Map<String, Value>) -> bool {
    let Some(stored) = resource.as_object() else {
        return validated.is_empty();
    };
    let visible = stored
        .keys()
        .filter(|k| !NOT_VALIDATED.contains(&k.as_str()))
        .count();
    visible == validated.len()
        && validated
            .iter()
            .all(|(k, v)| !NOT_VALIDATED.contains(&k.as_str()) && stored.get(k) == Some(v))
}

/// userName or displayName.
pub(crate) fn name_of(resource: &Value) -> Option<String> {
    resource
        .get("userName")
        .or_else(|| resource.get("displayName"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn is_active(resource: &Value) -> bool {
    // An absent `active` counts as active (RFC 7643 leaves it to the provider).
    resource.get("active") != Some(&Value::Bool(false))
}

fn eq_filter(attr: &str, sub: Option<&str>, value: &str) -> Filter {
    Filter::Compare(
        AttrPath::new(None, attr, sub),
        CompareOp::Eq,
        CompValue::Str(value.to_owned()),
    )
}

fn member_ids(resource: &Value) -> Vec<String> {
    resource
        .get("members")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|m| m.get("value").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// An object's map, `empty` when absent, `None` when not an object.
fn object_or_empty<'a>(
    v: Option<&'a Value>,
    empty: &'a Map<String, Value>,
) -> Option<&'a Map<String, Value>> {
    match v {
        Some(Value::Object(o)) => Some(o),
        None => Some(empty),
        _ => None,
    }
}

/// The top-level attributes that differ (extension attributes as `urn:attr`),
/// compared in place.
fn changed_attributes(before: &Value, after: &Value) -> Vec<String> {
    let empty = Map::new();
    let b = before.as_object().unwrap_or(&empty);
    let a = after.as_object().unwrap_or(&empty);
    let visible = |k: &&String| !NOT_VALIDATED.contains(&k.as_str());
    let keys = b
        .keys()
        .filter(visible)
        .chain(a.keys().filter(visible).filter(|k| !b.contains_key(*k)));
    let mut out = Vec::new();
    for k in keys {
        let (x, y) = (b.get(k), a.get(k));
        if x == y {
            continue;
        }
        match (object_or_empty(x, &empty), object_or_empty(y, &empty)) {
            (Some(xo), Some(yo)) if k.contains(':') => {
                for sk in xo.keys().chain(yo.keys()) {
                    if xo.get(sk) != yo.get(sk) {
                        let name = format!("{k}:{sk}");
                        if !out.contains(&name) {
                            out.push(name);
                        }
                    }
                }
            }
            _ => out.push(k.clone()),
        }
    }
    out
}

impl ScimServer {
    // ===== events =====

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn emit(
        &self,
        ctx: &Ctx,
        kind: EventKind,
        resource_type: ResourceKind,
        id: &str,
        name: Option<String>,
        changed: Vec<String>,
        members: Vec<String>,
    ) {
        if let Some(d) = &self.inner.events {
            d.emit(Event {
                kind,
                tenant: ctx.tenant.clone(),
                resource_type,
                id: id.to_owned(),
                name,
                changed,
                members,
                time: crate::time::now(),
                request_id: ctx.request_id.clone(),
            });
        }
    }

    pub(crate) fn created_events(&self, ctx: &Ctx, kind: ResourceKind, id: &str, resource: &Value) {
        if self.inner.events.is_none() {
            return;
        }
        let name = name_of(resource);
        self.emit(
            ctx,
            EventKind::Created,
            kind,
            id,
            name.clone(),
            vec![],
            vec![],
        );
        let members = member_ids(resource);
        if !members.is_empty() {
            self.emit(
                ctx,
                EventKind::MembersAdded,
                kind,
                id,
                name,
                vec![],
                members,
            );
        }
    }

    pub(crate) fn updated_events(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        before: &Value,
        after: &Value,
    ) {
        if self.inner.events.is_none() {
            return;
        }
        let id = after["id"].as_str().unwrap_or_default();
        let name = name_of(after);
        let changed = changed_attributes(before, after);
        if changed.is_empty() {
            return;
        }
        if kind == ResourceKind::Group {
            let (b, a) = (member_ids(before), member_ids(after));
            let added: Vec<String> = a.iter().filter(|m| !b.contains(m)).cloned().collect();
            let removed: Vec<String> = b.iter().filter(|m| !a.contains(m)).cloned().collect();
            let others: Vec<String> = changed
                .iter()
                .filter(|c| *c != "members")
                .cloned()
                .collect();
            if !others.is_empty() {
                self.emit(
                    ctx,
                    EventKind::Updated,
                    kind,
                    id,
                    name.clone(),
                    others,
                    vec![],
                );
            }
            if !added.is_empty() {
                self.emit(
                    ctx,
                    EventKind::MembersAdded,
                    kind,
                    id,
                    name.clone(),
                    vec![],
                    added,
                );
            }
            if !removed.is_empty() {
                self.emit(
                    ctx,
                    EventKind::MembersRemoved,
                    kind,
                    id,
                    name,
                    vec![],
                    removed,
                );
            }
            return;
        }
        self.emit(
            ctx,
            EventKind::Updated,
            kind,
            id,
            name.clone(),
            changed,
            vec![],
        );
        match (is_active(before), is_active(after)) {
            (true, false) => self.emit(ctx, EventKind::Deactivated, kind, id, name, vec![], vec![]),
            (false, true) => self.emit(ctx, EventKind::Reactivated, kind, id, name, vec![], vec![]),
            _ => {}
        }
    }

    pub(crate) fn member_events(&self, ctx: &Ctx, id: &str, group: &Value, change: &MemberChange) {
        let name = name_of(group);
        if change.remove_all {
            self.emit(
                ctx,
                EventKind::MembersRemoved,
                ResourceKind::Group,
                id,
                name.clone(),
                vec!["members".into()],
                vec![],
            );
        }
        if !change.remove.is_empty() {
            self.emit(
                ctx,
                EventKind::MembersRemoved,
                ResourceKind::Group,
                id,
                name.clone(),
                vec![],
                change.remove.clone(),
            );
        }
        if !change.add.is_empty() {
            let added = change.add.iter().map(|m| m.value.clone()).collect();
            self.emit(
                ctx,
                EventKind::MembersAdded,
                ResourceKind::Group,
                id,
                name,
                vec![],
                added,
            );
        }
    }

    /// Wait (at most `timeout`) until every event emitted so far was delivered;
    /// true when done (or when no handler is configured).
    pub fn flush_events(&self, timeout: Duration) -> bool {
        self.inner.events.as_ref().is_none_or(|d| d.flush(timeout))
    }

    /// Events dropped because the queue was full.
    pub fn events_dropped(&self) -> u64 {
        self.inner.events.as_ref().map_or(0, |d| d.dropped())
    }

    // ===== policy checks =====

    pub(crate) fn check_policy_values(
        &self,
        call: &Call<'_>,
        validated: &Map<String, Value>,
    ) -> Result<()> {
        if call.policies.require_guid_external_id {
            if let Some(ext) = validated.get("externalId").and_then(Value::as_str) {
                if !is_guid(ext) {
                    return Err(ScimError::invalid_value(format!(
                        "externalId must be a GUID (the Entra ID objectId), got {ext:?}"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Rename a user on deactivation (and back on reactivation), when the tenant
    /// asks for it.
    pub(crate) fn rename_on_transition(
        &self,
        call: &Call<'_>,
        id: &str,
        before: &Value,
        after: &mut Map<String, Value>,
        internal: &mut Option<Value>,
    ) {
        let Some(template) = &call.policies.rename_on_deactivate else {
            return;
        };
        let was = is_active(before);
        let now = after.get("active") != Some(&Value::Bool(false));
        let meta = internal.get_or_insert_with(|| json!({}));
        match (was, now) {
            (true, false) => {
                if let Some(orig) = after
                    .get("userName")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                {
                    let renamed = template.replace("{userName}", &orig).replace("{id}", id);
                    after.insert("userName".into(), Value::String(renamed));
                    meta["originalUserName"] = Value::String(orig);
                }
            }
            (false, true) => {
                if let Some(orig) = meta
                    .get("originalUserName")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                {
                    // Only when this request did not set a new userName itself.
                    if after.get("userName") == before.get("userName") {
                        after.insert("userName".into(), Value::String(orig));
                    }
                    if let Some(o) = meta.as_object_mut() {
                        o.remove("originalUserName");
                    }
                }
            }
            _ => {}
        }
        if meta.as_object().is_some_and(Map::is_empty) {
            *internal = None;
        }
    }

    // ===== linking =====

    fn find_one(&self, ctx: &Ctx, kind: ResourceKind, filter: Filter) -> Result<Option<Stored>> {
        let rs = self.inner.registry.get(kind);
        let filter = crate::filter::resolve(&filter, rs)?;
        let q = Query::all(Arc::clone(rs))
            .filter(Some(filter))
            .page(PageRequest::Index {
                start_index: 1,
                count: 2,
            })
            .members(Members::Exclude);
        let page = self.run_query(ctx, kind, &q)?;
        Ok(if page.resources.len() == 1 {
            page.resources.into_iter().next()
        } else {
            None
        })
    }

    /// With a link policy, a POST matching an existing user without externalId
    /// adopts it. Returns the 201 reply when it did.
    pub(crate) fn link_existing_user(
        &self,
        call: &Call<'_>,
        ctx: &Ctx,
        validated: &Map<String, Value>,
        proj: &Projection,
    ) -> Result<Option<Reply>> {
        let policy = call.policies.link_existing;
        if policy == LinkPolicy::Off {
            return Ok(None);
        }
        let kind = ResourceKind::User;
        let mut found = None;
        if let Some(un) = validated.get("userName").and_then(Value::as_str) {
            found = self.find_one(ctx, kind, eq_filter("userName", None, un))?;
        }
        if found.is_none() && policy == LinkPolicy::ByUserNameOrEmail {
            let emails = validated.get("emails").and_then(Value::as_array);
            let email = emails.and_then(|list| {
                list.iter()
                    .find(|e| e["type"] == "work")
                    .or_else(|| list.iter().find(|e| e["primary"] == true))
                    .or_else(|| list.first())
                    .and_then(|e| e["value"].as_str())
            });
            if let Some(email) = email {
                found = self.find_one(ctx, kind, eq_filter("emails", Some("value"), email))?;
            }
        }
        let Some(existing) = found else {
            return Ok(None);
        };
        let has_external = existing
            .resource
            .get("externalId")
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty());
        if has_external {
            return Ok(None); // a real duplicate: 409 from the store
        }
        if is_ignored(&existing.resource) {
            call.ignored.set(true);
            return Ok(Some(
                self.resource_reply(call, ctx, kind, 201, existing, proj),
            ));
        }
        let created = existing.resource["meta"]["created"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let resource = self.assemble(
            kind,
            &existing.id,
            validated.clone(),
            &created,
            &crate::time::now(),
            internal(&existing.resource),
        );
        let stored = self
            .inner
            .store
            .replace(ctx, kind, &existing.id, resource, Some(existing.version))
            .map_err(|e| store_error(ctx, kind, &existing.id, e))?;
        self.emit(
            ctx,
            EventKind::Linked,
            kind,
            &stored.id,
            name_of(&stored.resource),
            changed_attributes(&existing.resource, &stored.resource),
            vec![],
        );
        Ok(Some(
            self.resource_reply(call, ctx, kind, 201, stored, proj),
        ))
    }

    /// `GroupPolicy::UpdateOnly`: a POST is matched to an existing group by
    /// displayName and its members are added; no group is ever created.
    pub(crate) fn link_existing_group(
        &self,
        call: &Call<'_>,
        ctx: &Ctx,
        validated: Map<String, Value>,
        proj: &Projection,
    ) -> Result<Reply> {
        let kind = ResourceKind::Group;
        let name = validated
            .get("displayName")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let existing = self.find_one(ctx, kind, eq_filter("displayName", None, name))?.ok_or_else(|| {
            ScimError::forbidden(format!(
                "creating groups is disabled for this application and no group named {name:?} exists; create it in the application first"
            ))
        })?;
        let mut resource = existing.resource.clone();
        let ext = validated.get("externalId").cloned();
        if let (Some(ext), None) = (ext, resource.get("externalId")) {
            resource["externalId"] = ext;
            resource["meta"]["lastModified"] = Value::String(crate::time::now());
            self.inner
                .store
                .replace(
                    ctx,
                    kind,
                    &existing.id,
                    self.with_members(ctx, &existing.id, resource)?,
                    Some(existing.version),
                )
                .map_err(|e| store_error(ctx, kind, &existing.id, e))?;
        }
        let add: Vec<Member> = validated
            .get("members")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Member::from_json).collect())
            .unwrap_or_default();
        if !add.is_empty() {
            let change = MemberChange {
                add,
                last_modified: crate::time::now(),
                ..Default::default()
            };
            let g = self
                .inner
                .store
                .modify_members(ctx, &existing.id, &change, None)
                .map_err(|e| store_error(ctx, kind, &existing.id, e))?;
            self.member_events(ctx, &existing.id, &g.resource, &change);
        }
        let members = if proj.wants(self.inner.registry.get(kind), "members") {
            Members::Include
        } else {
            Members::Exclude
        };
        let fresh = self
            .inner
            .store
            .get(ctx, kind, &existing.id, members)
            .map_err(|e| store_error(ctx, kind, &existing.id, e))?
            .ok_or_else(|| ScimError::not_found(kind.as_str(), &existing.id))?;
        self.emit(
            ctx,
            EventKind::Linked,
            kind,
            &fresh.id,
            name_of(&fresh.resource),
            vec![],
            vec![],
        );
        Ok(self.resource_reply(call, ctx, kind, 201, fresh, proj))
    }

    /// A group's resource with its members (for a full replace).
    fn with_members(&self, ctx: &Ctx, id: &str, mut resource: Value) -> Result<Value> {
        let full = self
            .inner
            .store
            .get(ctx, ResourceKind::Group, id, Members::Include)
            .map_err(|e| store_error(ctx, ResourceKind::Group, id, e))?;
        if let Some(m) = full.and_then(|f| f.resource.get("members").cloned()) {
            resource["members"] = m;
        }
        Ok(resource)
    }

    /// Group requests under `GroupPolicy::Refuse` / `Ignore`.
    pub(crate) fn group_gate(&self, call: &Call<'_>) -> Result<Option<Reply>> {
        let segs: Vec<&str> = call.path.split('/').filter(|s| !s.is_empty()).collect();
        let is_groups = segs
            .first()
            .is_some_and(|s| s.eq_ignore_ascii_case("Groups"));
        if !is_groups {
            return Ok(None);
        }
        match call.policies.groups {
            GroupPolicy::Full | GroupPolicy::UpdateOnly => Ok(None),
            GroupPolicy::Refuse => Err(ScimError::forbidden(
                "groups are not provisioned to this application; remove group mappings or scope in the IdP",
            )),
            GroupPolicy::Ignore => {
                call.ignored.set(true);
                let list = || json!({"schemas": [LIST_RESPONSE_SCHEMA], "totalResults": 0, "itemsPerPage": 0, "startIndex": 1, "Resources": []});
                let echo = |id: &str| -> Value {
                    let mut v: Value =
                        serde_json::from_slice(call.body).unwrap_or_else(|_| json!({}));
                    if !v.is_object() {
                        v = json!({});
                    }
                    v["schemas"] = json!([crate::schema::GROUP_SCHEMA]);
                    v["id"] = Value::String(id.to_owned());
                    v["meta"] = json!({"resourceType": "Group"});
                    v
                };
                Ok(Some(match (&call.method, segs.as_slice()) {
                    (&Method::GET, [_]) => Reply::from_json_body(200, list()),
                    (&Method::POST, [_, s]) if *s == ".search" => {
                        Reply::from_json_body(200, list())
                    }
                    (&Method::POST, [_]) => {
                        Reply::from_json_body(201, echo(&uuid::Uuid::now_v7().to_string()))
                    }
                    (&Method::PUT, [_, id]) => Reply::from_json_body(200, echo(id)),
                    (&Method::PATCH, [_, _]) | (&Method::DELETE, [_, _]) => Reply::no_content(),
                    (_, [_, id]) => return Err(ScimError::not_found("Group", id)),
                    _ => return Err(ScimError::no_endpoint(&call.path)),
                }))
            }
        }
    }

    /// Fill a User's read-only `groups` (RFC 7643 §4.1.2) from the groups that
    /// list it as a member (one indexed query). A store failure leaves it out
    /// (logged): the user itself was read fine.
    pub(crate) fn attach_groups(&self, call: &Call<'_>, ctx: &Ctx, id: &str, user: &mut Value) {
        if let (Some(groups), Some(o)) = (self.user_groups(call, ctx, id), user.as_object_mut()) {
            o.insert("groups".into(), groups);
        }
    }

    /// The `groups` attribute of user `id` (RFC 7643 §4.1.2), or `None` when it
    /// is in no group (or groups are not provisioned).
    pub(crate) fn user_groups(&self, call: &Call<'_>, ctx: &Ctx, id: &str) -> Option<Value> {
        if matches!(
            call.policies.groups,
            GroupPolicy::Refuse | GroupPolicy::Ignore
        ) {
            return None;
        }
        let found = match self.inner.store.groups_of(ctx, id) {
            Err(StoreError::Unsupported) => self.groups_by_query(ctx, id),
            other => other.map_err(|e| store_error(ctx, ResourceKind::User, id, e)),
        };
        match found {
            Ok(groups) if !groups.is_empty() => {
                let groups: Vec<Value> = groups
                    .into_iter()
                    .map(|g| {
                        json!({
                            "value": g.id,
                            "$ref": format!("{}/Groups/{}", call.base_url, g.id),
                            "display": g.display_name,
                            "type": "direct",
                        })
                    })
                    .collect();
                Some(Value::Array(groups))
            }
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(request_id = %ctx.request_id, error = %e.detail(), "could not read a user's groups");
                None
            }
        }
    }

    /// [`UserStore::groups_of`] for stores that do not answer it: the query
    /// `members[value eq "<id>"]`.
    fn groups_by_query(&self, ctx: &Ctx, id: &str) -> Result<Vec<GroupRef>> {
        let rs = self.inner.registry.get(ResourceKind::Group);
        let filter = crate::filter::resolve(&eq_filter("members", Some("value"), id), rs)?;
        let q = Query::all(Arc::clone(rs))
            .filter(Some(filter))
            .members(Members::Exclude);
        let page = self.run_query(ctx, ResourceKind::Group, &q)?;
        Ok(page
            .resources
            .into_iter()
            .map(|g| GroupRef {
                display_name: g
                    .resource
                    .get("displayName")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                id: g.id,
            })
            .collect())
    }

    // ===== hidden users (soft delete and review) =====

    /// Move a user to the shadow tenant of `state`: deactivated, out of its
    /// groups (remembered for a restore), invisible to SCIM clients.
    pub(crate) fn hide_user(
        &self,
        ctx: &Ctx,
        id: &str,
        state: HiddenState,
        if_version: Option<u64>,
    ) -> Result<()> {
        let kind = ResourceKind::User;
        let existing = self
            .inner
            .store
            .get(ctx, kind, id, Members::Include)
            .map_err(|e| store_error(ctx, kind, id, e))?
            .ok_or_else(|| ScimError::not_found(kind.as_str(), id))?;
        if if_version.is_some_and(|v| v != existing.version) {
            return Err(ScimError::precondition_failed());
        }
        let groups_q = Query::all(Arc::clone(self.inner.registry.get(ResourceKind::Group)))
            .filter(Some(crate::filter::resolve(
                &eq_filter("members", Some("value"), id),
                self.inner.registry.get(ResourceKind::Group),
            )?))
            .members(Members::Exclude);
        let groups: Vec<String> = self
            .run_query(ctx, ResourceKind::Group, &groups_q)?
            .resources
            .into_iter()
            .map(|g| g.id)
            .collect();
        let was_active = is_active(&existing.resource);
        let mut hidden = existing.resource.clone();
        let original = hidden["userName"].clone();
        let mut meta = internal(&existing.resource).unwrap_or_else(|| json!({}));
        meta["state"] = json!(state.as_str());
        meta["hiddenAt"] = json!(crate::time::now());
        meta["groups"] = json!(groups);
        meta["userName"] = original;
        meta["wasActive"] = json!(was_active);
        hidden[INTERNAL_KEY] = meta;
        hidden["active"] = Value::Bool(false);
        // In the shadow tenant the userName is the id, so hidden users never
        // collide with each other (the original is kept in the metadata).
        hidden["userName"] = Value::String(id.to_owned());
        let shadow = Ctx {
            tenant: shadow_tenant(&ctx.tenant, state),
            ..ctx.clone()
        };
        // A previous hide of the same id (restored and hidden again) is replaced.
        match self.inner.store.delete(&shadow, kind, id, None) {
            Ok(()) | Err(StoreError::NotFound) => {}
            Err(e) => return Err(store_error(ctx, kind, id, e)),
        }
        self.inner
            .store
            .create(&shadow, kind, hidden)
            .map_err(|e| store_error(ctx, kind, id, e))?;
        if let Err(e) = self
            .inner
            .store
            .delete(ctx, kind, id, Some(existing.version))
        {
            // Undo the copy; the user stays where it was.
            let _ = self.inner.store.delete(&shadow, kind, id, None);
            return Err(store_error(ctx, kind, id, e));
        }
        let name = name_of(&existing.resource);
        if was_active {
            self.emit(
                ctx,
                EventKind::Deactivated,
                kind,
                id,
                name.clone(),
                vec![],
                vec![],
            );
        }
        let ev = match state {
            HiddenState::Deleted => EventKind::Deleted,
            HiddenState::Review => EventKind::QueuedForReview,
        };
        self.emit(ctx, ev, kind, id, name, vec![], vec![]);
        Ok(())
    }

    /// Users hidden by the soft-delete or review policy in `tenant`, with their
    /// original userName and hiding time under `_scimkit`.
    pub fn hidden_users(&self, tenant: &str, state: HiddenState) -> Result<Vec<Value>> {
        let ctx = admin_ctx(&shadow_tenant(tenant, state));
        let q = Query::all(Arc::clone(self.inner.registry.get(ResourceKind::User)));
        let page = self
            .inner
            .store
            .query(&ctx, ResourceKind::User, &q)
            .map_err(|e| store_error(&ctx, ResourceKind::User, "", e))?;
        Ok(page
            .resources
            .into_iter()
            .map(|s| {
                let mut r = s.resource;
                if let Some(orig) = r[INTERNAL_KEY].get("userName").cloned() {
                    r["userName"] = orig;
                }
                r
            })
            .collect())
    }

    /// Approve the deletion of a hidden user: it is removed for good.
    pub fn approve_deletion(&self, tenant: &str, id: &str) -> Result<()> {
        let kind = ResourceKind::User;
        for state in [HiddenState::Review, HiddenState::Deleted] {
            let shadow = admin_ctx(&shadow_tenant(tenant, state));
            match self.inner.store.delete(&shadow, kind, id, None) {
                Ok(()) => {
                    let ctx = admin_ctx(tenant);
                    self.emit(&ctx, EventKind::Deleted, kind, id, None, vec![], vec![]);
                    self.record_admin(&ctx, "approve_deletion", id, 204, None);
                    return Ok(());
                }
                Err(StoreError::NotFound) => continue,
                Err(e) => return Err(store_error(&shadow, kind, id, e)),
            }
        }
        Err(ScimError::not_found("hidden User", id))
    }

    /// Restore a hidden user: back in the tenant, active, in its groups again.
    /// Fails with 409 `uniqueness` when its userName was taken in the meantime.
    pub fn restore_user(&self, tenant: &str, id: &str) -> Result<Value> {
        let kind = ResourceKind::User;
        let ctx = admin_ctx(tenant);
        for state in [HiddenState::Review, HiddenState::Deleted] {
            let shadow = admin_ctx(&shadow_tenant(tenant, state));
            let Some(hidden) = self
                .inner
                .store
                .get(&shadow, kind, id, Members::Include)
                .map_err(|e| store_error(&shadow, kind, id, e))?
            else {
                continue;
            };
            let mut r = hidden.resource;
            let meta = r[INTERNAL_KEY].take();
            r["userName"] = meta["userName"].clone();
            r["active"] = Value::Bool(true);
            r["meta"]["lastModified"] = Value::String(crate::time::now());
            let ignored = meta["ignored"] == Value::Bool(true);
            let orig = meta.get("originalUserName").cloned();
            match (ignored, orig) {
                (false, None) => {
                    r.as_object_mut().map(|o| o.shift_remove(INTERNAL_KEY));
                }
                (ig, orig) => {
                    let mut keep = json!({});
                    if ig {
                        keep["ignored"] = Value::Bool(true);
                    }
                    if let Some(o) = orig {
                        // Restored users are active: give the original name back.
                        r["userName"] = o;
                    }
                    r[INTERNAL_KEY] = keep;
                }
            }
            let stored = self
                .inner
                .store
                .create(&ctx, kind, r)
                .map_err(|e| store_error(&ctx, kind, id, e))?;
            for g in meta["groups"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                let change = MemberChange {
                    add: vec![Member {
                        value: id.to_owned(),
                        kind: Some("User".into()),
                        display: None,
                    }],
                    last_modified: crate::time::now(),
                    ..Default::default()
                };
                match self.inner.store.modify_members(&ctx, g, &change, None) {
                    Ok(_) | Err(StoreError::NotFound) => {}
                    Err(e) => return Err(store_error(&ctx, ResourceKind::Group, g, e)),
                }
            }
            if let Err(e) = self.inner.store.delete(&shadow, kind, id, None) {
                tracing::warn!(tenant, id, error = ?e, "restored user still in the hidden list");
            }
            self.emit(
                &ctx,
                EventKind::Reactivated,
                kind,
                id,
                name_of(&stored.resource),
                vec![],
                vec![],
            );
            self.record_admin(&ctx, "restore", id, 200, name_of(&stored.resource));
            return Ok(stored.resource);
        }
        Err(ScimError::not_found("hidden User", id))
    }

    /// Mark a resource as ignored (or not) by provisioning: while ignored, PUT,
    /// PATCH and DELETE from the IdP answer success and change nothing.
    pub fn set_ignored(
        &self,
        tenant: &str,
        kind: ResourceKind,
        id: &str,
        ignored: bool,
    ) -> Result<()> {
        let ctx = admin_ctx(tenant);
        for _ in 0..16 {
            let cur = self
                .inner
                .store
                .get(&ctx, kind, id, Members::Include)
                .map_err(|e| store_error(&ctx, kind, id, e))?
                .ok_or_else(|| ScimError::not_found(kind.as_str(), id))?;
            let mut r = cur.resource;
            let mut meta = r.get(INTERNAL_KEY).cloned().unwrap_or_else(|| json!({}));
            if ignored {
                meta["ignored"] = Value::Bool(true);
            } else if let Some(o) = meta.as_object_mut() {
                o.remove("ignored");
            }
            if meta.as_object().is_some_and(Map::is_empty) {
                r.as_object_mut().map(|o| o.shift_remove(INTERNAL_KEY));
            } else {
                r[INTERNAL_KEY] = meta;
            }
            match self
                .inner
                .store
                .replace(&ctx, kind, id, r, Some(cur.version))
            {
                Ok(_) => {
                    self.record_admin(
                        &ctx,
                        if ignored { "ignore" } else { "unignore" },
                        id,
                        200,
                        None,
                    );
                    return Ok(());
                }
                Err(StoreError::PreconditionFailed) => continue,
                Err(e) => return Err(store_error(&ctx, kind, id, e)),
            }
        }
        Err(ScimError::conflict(
            "the resource is being modified concurrently; retry",
        ))
    }

    /// The administrator's operations as JSON, for bindings (C, Python) and
    /// tools: `{"op": …, …}` → a JSON answer.
    ///
    /// | op | arguments | answer |
    /// |---|---|---|
    /// | `hidden_users` | `tenant`, `state` (`"review"`/`"deleted"`) | `{"Resources": [users]}` |
    /// | `approve_deletion` | `tenant`, `id` | `{}` |
    /// | `restore_user` | `tenant`, `id` | the restored user |
    /// | `set_ignored` | `tenant`, `id`, `ignored`, optional `resourceType` (`"User"`/`"Group"`) | `{}` |
    /// | `log` | optional `tenant`, `since`, `until`, `resourceId`, `name`, `outcome`, `offset`, `limit` | `{"entries": [...]}` |
    /// | `flush_events` | optional `timeoutMs` (default 5000) | `{"flushed": bool, "dropped": n}` |
    ///
    /// Failures are [`ScimError`]s (400 for bad arguments, 404, 409, …).
    pub fn admin_json(&self, request: &Value) -> Result<Value> {
        let s = |k: &str| request.get(k).and_then(Value::as_str);
        let need =
            |k: &str| s(k).ok_or_else(|| ScimError::invalid_value(format!("{k} is required")));
        let op = need("op")?;
        match op {
            "hidden_users" => {
                let state = match s("state").unwrap_or("review") {
                    "review" => HiddenState::Review,
                    "deleted" => HiddenState::Deleted,
                    other => {
                        return Err(ScimError::invalid_value(format!(
                            "state must be review or deleted, not {other:?}"
                        )));
                    }
                };
                let users = self.hidden_users(need("tenant")?, state)?;
                Ok(json!({"Resources": users}))
            }
            "approve_deletion" => self
                .approve_deletion(need("tenant")?, need("id")?)
                .map(|()| json!({})),
            "restore_user" => self.restore_user(need("tenant")?, need("id")?),
            "set_ignored" => {
                let kind = match s("resourceType").unwrap_or("User") {
                    "User" => ResourceKind::User,
                    "Group" => ResourceKind::Group,
                    other => {
                        return Err(ScimError::invalid_value(format!(
                            "resourceType must be User or Group, not {other:?}"
                        )));
                    }
                };
                let ignored = request
                    .get("ignored")
                    .and_then(Value::as_bool)
                    .ok_or_else(|| {
                        ScimError::invalid_value("ignored (true or false) is required")
                    })?;
                self.set_ignored(need("tenant")?, kind, need("id")?, ignored)
                    .map(|()| json!({}))
            }
            "log" => {
                let log = self
                    .provisioning_log()
                    .ok_or_else(|| ScimError::not_found("provisioning log", "(none configured)"))?;
                let outcome = match s("outcome") {
                    None => None,
                    Some(o) => Some(Outcome::parse(o).ok_or_else(|| {
                        ScimError::invalid_value(format!("unknown outcome {o:?}"))
                    })?),
                };
                let q = crate::log::LogQuery {
                    tenant: s("tenant").map(str::to_owned),
                    since: s("since").map(str::to_owned),
                    until: s("until").map(str::to_owned),
                    resource_id: s("resourceId").map(str::to_owned),
                    name: s("name").map(str::to_owned),
                    outcome,
                    offset: request.get("offset").and_then(Value::as_u64).unwrap_or(0) as usize,
                    limit: request.get("limit").and_then(Value::as_u64).unwrap_or(0) as usize,
                };
                let entries = log
                    .query(&q)
                    .map_err(|e| store_error(&admin_ctx(""), ResourceKind::User, "", e))?;
                Ok(json!({"entries": entries.iter().map(LogEntry::to_json).collect::<Vec<_>>()}))
            }
            "flush_events" => {
                let ms = request
                    .get("timeoutMs")
                    .and_then(Value::as_u64)
                    .unwrap_or(5000);
                let flushed = self.flush_events(Duration::from_millis(ms));
                Ok(json!({"flushed": flushed, "dropped": self.events_dropped()}))
            }
            other => Err(ScimError::invalid_value(format!(
                "unknown admin op {other:?}"
            ))),
        }
    }

    // ===== provisioning log =====

    /// The provisioning log, when one is configured.
    pub fn provisioning_log(&self) -> Option<&Arc<dyn ProvisioningLog>> {
        self.inner.log.as_ref()
    }

    fn write_log(&self, entry: LogEntry) {
        if let Some(log) = &self.inner.log {
            if let Err(e) = log.record(&entry) {
                tracing::error!(error = ?e, request_id = %entry.request_id, "could not record the provisioning log entry");
            }
        }
    }

    /// Record a routed call when it changes (or tried to change) something.
    pub(crate) fn record(
        &self,
        call: &Call<'_>,
        ctx: &Ctx,
        principal: &Principal,
        result: &Result<Reply>,
    ) {
        if self.inner.log.is_none() {
            return;
        }
        let segs: Vec<&str> = call.path.split('/').filter(|s| !s.is_empty()).collect();
        let is_search = segs.last().is_some_and(|s| *s == ".search");
        let is_bulk = segs.first().is_some_and(|s| s.eq_ignore_ascii_case("Bulk"));
        let mutating = matches!(
            call.method,
            Method::POST | Method::PUT | Method::PATCH | Method::DELETE
        );
        let (status, body, logged, err) = match result {
            Ok(r) => (r.status, r.body.as_ref(), r.logged.as_ref(), None),
            Err(e) => (e.status(), None, None, Some(e)),
        };
        let denied = status == 401 || status == 403;
        let changes = mutating && !is_search && !is_bulk;
        if !(changes || denied) {
            return;
        }
        let resource_type = segs.first().and_then(|s| {
            ResourceKind::ALL
                .into_iter()
                .find(|k| k.endpoint()[1..].eq_ignore_ascii_case(s))
        });
        let resource_id = body
            .and_then(|b| b.get("id"))
            .and_then(Value::as_str)
            .or(logged.map(|(id, _)| id.as_str()))
            .map(str::to_owned)
            .or_else(|| segs.get(1).map(|s| (*s).to_owned()));
        let name = body
            .and_then(name_of)
            .or_else(|| logged.and_then(|(_, name)| name.clone()))
            .or_else(|| {
                serde_json::from_slice::<Value>(call.body)
                    .ok()
                    .as_ref()
                    .and_then(name_of)
            });
        let outcome = if call.ignored.get() {
            Outcome::Ignored
        } else if status < 400 {
            Outcome::Success
        } else {
            Outcome::Failure
        };
        let operation = match call.method {
            Method::POST => "create",
            Method::PUT => "replace",
            Method::PATCH => "patch",
            Method::DELETE => "delete",
            _ => "read",
        };
        self.write_log(LogEntry {
            time: crate::time::now(),
            tenant: ctx.tenant.clone(),
            token_id: principal.token_id.clone(),
            request_id: ctx.request_id.clone(),
            method: call.method.as_str().to_owned(),
            path: call.path.clone(),
            operation: operation.to_owned(),
            resource_type,
            resource_id,
            name,
            status,
            outcome,
            scim_type: err
                .and_then(|e| e.scim_type())
                .map(|t| t.as_str().to_owned()),
            detail: err.map(|e| e.detail().to_owned()),
        });
    }

    /// Record a request whose credential was rejected.
    pub(crate) fn record_rejected(
        &self,
        call: &Call<'_>,
        request_id: &str,
        e: &ScimError,
        known: Option<Principal>,
    ) {
        let detail = match &known {
            Some(_) => format!("{} (token revoked or no longer valid)", e.detail()),
            None => e.detail().to_owned(),
        };
        let (tenant, token_id) = known.map(|p| (p.tenant, p.token_id)).unwrap_or_default();
        self.write_log(LogEntry {
            time: crate::time::now(),
            tenant,
            token_id,
            request_id: request_id.to_owned(),
            method: call.method.as_str().to_owned(),
            path: call.path.clone(),
            operation: "auth".to_owned(),
            resource_type: None,
            resource_id: None,
            name: None,
            status: e.status(),
            outcome: Outcome::Failure,
            scim_type: None,
            detail: Some(detail),
        });
    }

    fn record_admin(
        &self,
        ctx: &Ctx,
        operation: &str,
        id: &str,
        status: u16,
        name: Option<String>,
    ) {
        self.write_log(LogEntry {
            time: crate::time::now(),
            tenant: ctx.tenant.clone(),
            token_id: "admin".to_owned(),
            request_id: ctx.request_id.clone(),
            method: "ADMIN".to_owned(),
            path: format!("/Users/{id}"),
            operation: operation.to_owned(),
            resource_type: Some(ResourceKind::User),
            resource_id: Some(id.to_owned()),
            name,
            status,
            outcome: Outcome::Success,
            scim_type: None,
            detail: None,
        });
    }
}

fn admin_ctx(tenant: &str) -> Ctx {
    Ctx {
        actor: Some("admin".to_owned()),
        ..Ctx::new(tenant)
    }
}
