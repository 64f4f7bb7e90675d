//! [`MemoryStore`]: the reference [`UserStore`], in memory, on a
//! `parking_lot::RwLock`.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use indexmap::IndexMap;
use parking_lot::RwLock;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value};

use super::{
    Ctx, GroupRef, Member, MemberChange, Members, Page, Query, SharedJson, SharedStored,
    StoreError, StoreResult, Stored, UserStore, fold_case, paginate, unique_key,
};
use crate::filter::{CompValue, CompareOp, Filter};
use crate::schema::{AttrType, ResourceKind};

/// An in-memory store: for tests, examples, and hosts that keep their directory
/// elsewhere. Nothing survives the process.
///
/// Indexes: userName (case-folded, O(1)), externalId, `emails.value`
/// (case-folded), the groups' displayName (case-folded: Entra looks a group
/// up by it before creating it) and group membership both ways, so
/// `filter=userName eq "…"` is O(1) and adding 50 members to a 100 000-member
/// group is O(50).
///
/// Users are kept as compact JSON text (one allocation each, about the size of
/// the JSON; a parsed tree takes about seven times that) and handed out as text
/// ([`SharedJson`]): reads are written from it without parsing it whole. A
/// write parses the user it changes; a filter the indexes cannot answer parses,
/// per user, only the members the filter names (such a scan costs about 15×
/// what it cost over trees).
#[derive(Debug, Default)]
pub struct MemoryStore {
    tenants: RwLock<HashMap<String, Tenant>>,
}

#[derive(Debug, Default)]
struct Tenant {
    users: BTreeMap<String, Entry>,
    groups: BTreeMap<String, GroupEntry>,
    /// folded userName → user id
    user_names: HashMap<String, String>,
    /// externalId → ids, per kind
    external_ids: HashMap<(ResourceKind, String), HashSet<String>>,
    /// folded `emails.value` → user ids (Entra can match users by e-mail)
    emails: HashMap<String, HashSet<String>>,
    /// folded group `displayName` → group ids (Entra matches groups by it)
    group_names: HashMap<String, HashSet<String>>,
    /// folded member value → the groups it is in, each with how many of
    /// that group's member values fold to it (normally one): `members.value`
    /// is compared case-insensitively, as the other stores do.
    member_of: HashMap<String, HashMap<String, u32>>,
    /// The users' and the groups' ids in order, for paging by `startIndex`
    /// without walking the map to the page: built by the first unfiltered
    /// page after a create or a delete, dropped by the next one.
    order: parking_lot::Mutex<[Option<Arc<[String]>>; 2]>,
}

/// The slot of a kind in [`Tenant::order`].
fn slot(kind: ResourceKind) -> usize {
    match kind {
        ResourceKind::User => 0,
        ResourceKind::Group => 1,
    }
}

/// A user: its indexed JSON text ([`SharedJson::text_of`]), shared with
/// readers ([`UserStore::get_shared`]); a write replaces it.
#[derive(Debug)]
struct Entry {
    json: SharedJson,
    version: u64,
}

impl Entry {
    fn shared(&self, id: &str) -> SharedStored {
        SharedStored {
            id: id.to_owned(),
            resource: self.json.clone(),
            version: self.version,
        }
    }

    fn text(&self) -> &str {
        self.json.as_text().unwrap_or_default()
    }
}

/// The index keys of a stored user (folded userName, externalId), read from its
/// text without parsing the rest.
fn user_keys(json: &SharedJson) -> StoreResult<(Option<String>, Option<String>)> {
    let string = |k: &str| -> StoreResult<Option<String>> {
        Ok(match json.member(k)? {
            Some(Value::String(s)) => Some(s),
            _ => None,
        })
    };
    Ok((
        string("userName")?.map(|n| fold_case(&n)),
        string("externalId")?,
    ))
}

/// The folded `emails.value`s of a user (what the e-mail index holds).
fn email_keys(emails: Option<&Value>) -> Vec<String> {
    let mut keys: Vec<String> = emails
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| e.get("value").and_then(Value::as_str))
        .map(fold_case)
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// The top-level members a filter can look at: for each path, the
/// attribute's canonical name, or its extension's URN. `None` when a path
/// does not resolve against the schema (then the whole user is parsed).
fn filter_names(q: &Query, f: &Filter, out: &mut Vec<String>) -> Option<()> {
    match f {
        Filter::Or(a, b) | Filter::And(a, b) => {
            filter_names(q, a, out)?;
            filter_names(q, b, out)
        }
        Filter::Not(a) => filter_names(q, a, out),
        Filter::Present(p) | Filter::Compare(p, ..) | Filter::ValuePath(p, _) => {
            let r = q.schema().resolve(p)?;
            out.push(match r.extension {
                Some(ext) => ext.id.clone(),
                None => r.attr.name.clone(),
            });
            Some(())
        }
    }
}

/// A user parsed for a filter: only the top-level members named in `names`
/// (case-insensitively; all of them when `names` is `None`); the rest is
/// skipped without being built.
fn parse_for(text: &str, names: Option<&[String]>) -> StoreResult<Value> {
    let Some(names) = names else {
        return serde_json::from_str(text).map_err(StoreError::other);
    };
    struct Sparse<'n>(&'n [String]);
    impl<'de> Visitor<'de> for Sparse<'_> {
        type Value = Map<String, Value>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = Map::new();
            while let Some(k) = map.next_key::<Cow<'de, str>>()? {
                if self.0.iter().any(|n| n.eq_ignore_ascii_case(&k)) {
                    let v = map.next_value::<Value>()?;
                    out.insert(k.into_owned(), v);
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(out)
        }
    }
    let mut de = serde_json::Deserializer::from_str(text);
    de.deserialize_map(Sparse(names))
        .map(Value::Object)
        .map_err(StoreError::other)
}

/// Whether the index candidates of a user filter are exactly its matches (a
/// single `eq` on `id`, `userName` or `externalId`, or an `or` of those), so
/// the users need not be parsed to check them. Checked against the schema,
/// not assumed: the userName index is case-folded, the others are exact.
fn exact_for_users(q: &Query, f: &Filter) -> bool {
    match f {
        Filter::Compare(p, CompareOp::Eq, CompValue::Str(_)) if p.sub_attr.is_none() => {
            let folded = if p.is("userName") {
                true
            } else if p.is("id") || p.is("externalId") {
                false
            } else {
                return false;
            };
            q.schema().resolve(p).is_some_and(|r| {
                let a = r.leaf();
                r.extension.is_none() && a.ty == AttrType::String && a.case_exact != folded
            })
        }
        Filter::Or(a, b) => exact_for_users(q, a) && exact_for_users(q, b),
        _ => false,
    }
}

#[derive(Debug)]
struct GroupEntry {
    /// The group without `members`.
    resource: Arc<Value>,
    members: IndexMap<String, Member>,
    version: u64,
}

impl GroupEntry {
    fn shared(&self, id: &str, members: Members) -> SharedStored {
        if members == Members::Exclude || self.members.is_empty() {
            SharedStored {
                id: id.to_owned(),
                resource: SharedJson::from_tree(Arc::clone(&self.resource)),
                version: self.version,
            }
        } else {
            self.materialize(id, members).into()
        }
    }

    fn materialize(&self, id: &str, members: Members) -> Stored {
        let mut resource = Value::clone(&self.resource);
        if members == Members::Include && !self.members.is_empty() {
            if let Some(obj) = resource.as_object_mut() {
                obj.insert(
                    "members".into(),
                    Value::Array(self.members.values().map(Member::to_json).collect()),
                );
            }
        }
        Stored {
            id: id.to_owned(),
            resource,
            version: self.version,
        }
    }
}

/// `s` case-folded, borrowed when folding changes nothing (ASCII without
/// capitals, as ids are).
fn folded(s: &str) -> Cow<'_, str> {
    if s.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(fold_case(s))
    }
}

fn external_id(resource: &Value) -> Option<String> {
    resource
        .get("externalId")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn id_of(resource: &Value) -> StoreResult<String> {
    resource
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| StoreError::other("resource without id"))
}

/// Split a group resource into (resource without members, members).
fn split_members(mut resource: Value) -> (Value, IndexMap<String, Member>) {
    let mut members = IndexMap::new();
    if let Some(Value::Array(list)) = resource.as_object_mut().and_then(|o| o.remove("members")) {
        for m in list.iter().filter_map(Member::from_json) {
            members.entry(m.value.clone()).or_insert(m);
        }
    }
    (resource, members)
}

impl Tenant {
    /// The ids of `kind` in order (see [`Tenant::order`]).
    fn order(&self, kind: ResourceKind) -> Arc<[String]> {
        let mut order = self.order.lock();
        let cached = &mut order[slot(kind)];
        if let Some(ids) = cached {
            return Arc::clone(ids);
        }
        let ids: Arc<[String]> = match kind {
            ResourceKind::User => self.users.keys().cloned().collect(),
            ResourceKind::Group => self.groups.keys().cloned().collect(),
        };
        *cached = Some(Arc::clone(&ids));
        ids
    }

    fn index_external_id(&mut self, kind: ResourceKind, resource: &Value, id: &str, add: bool) {
        if add {
            if let Some(ext) = external_id(resource) {
                self.external_ids
                    .entry((kind, ext))
                    .or_default()
                    .insert(id.to_owned());
            }
        } else {
            self.unindex_external_id(kind, external_id(resource), id);
        }
    }

    fn unindex_external_id(&mut self, kind: ResourceKind, external_id: Option<String>, id: &str) {
        if let Some(ext) = external_id {
            let key = (kind, ext);
            if let Some(set) = self.external_ids.get_mut(&key) {
                set.remove(id);
                if set.is_empty() {
                    self.external_ids.remove(&key);
                }
            }
        }
    }

    /// Adds (or removes) a group under its folded `displayName`.
    fn index_group_name(&mut self, group: &Value, id: &str, add: bool) {
        let Some(key) = group.get("displayName").and_then(Value::as_str) else {
            return;
        };
        let key = fold_case(key);
        if add {
            self.group_names
                .entry(key)
                .or_default()
                .insert(id.to_owned());
        } else if let Some(set) = self.group_names.get_mut(&key) {
            set.remove(id);
            if set.is_empty() {
                self.group_names.remove(&key);
            }
        }
    }

    fn set_membership(&mut self, group_id: &str, member: &str, add: bool) {
        let key = folded(member);
        if add {
            *self
                .member_of
                .entry(key.into_owned())
                .or_default()
                .entry(group_id.to_owned())
                .or_default() += 1;
        } else if let Some(groups) = self.member_of.get_mut(key.as_ref()) {
            if let Some(n) = groups.get_mut(group_id) {
                *n -= 1;
                if *n == 0 {
                    groups.remove(group_id);
                }
            }
            if groups.is_empty() {
                self.member_of.remove(key.as_ref());
            }
        }
    }

    /// Candidate ids for a filter from the indexes, or `None` to scan everything.
    fn candidates(&self, kind: ResourceKind, f: &Filter) -> Option<Vec<String>> {
        match f {
            Filter::Compare(p, CompareOp::Eq, CompValue::Str(v)) => {
                if p.is("id") {
                    Some(vec![v.clone()])
                } else if kind == ResourceKind::User && p.is("userName") {
                    Some(
                        self.user_names
                            .get(&super::fold_case(v))
                            .cloned()
                            .into_iter()
                            .collect(),
                    )
                } else if p.is("externalId") {
                    Some(
                        self.external_ids
                            .get(&(kind, v.clone()))
                            .map(|s| s.iter().cloned().collect())
                            .unwrap_or_default(),
                    )
                } else if kind == ResourceKind::Group && p.is_sub("members", "value") {
                    Some(self.groups_of(v))
                } else if kind == ResourceKind::Group && p.is("displayName") {
                    // Folded: a superset of the matches, each checked by
                    // `group_matches` whatever the schema's caseExact.
                    Some(
                        self.group_names
                            .get(&fold_case(v))
                            .map(|s| s.iter().cloned().collect())
                            .unwrap_or_default(),
                    )
                } else if kind == ResourceKind::User && p.is_sub("emails", "value") {
                    Some(self.with_email(v))
                } else {
                    None
                }
            }
            Filter::ValuePath(p, inner) if kind == ResourceKind::User && p.is("emails") => {
                // `emails[… value eq "x" …]`: the users with that address.
                fn value_eq(f: &Filter) -> Option<&str> {
                    match f {
                        Filter::Compare(ip, CompareOp::Eq, CompValue::Str(v)) if ip.is("value") => {
                            Some(v)
                        }
                        Filter::And(a, b) => value_eq(a).or_else(|| value_eq(b)),
                        _ => None,
                    }
                }
                value_eq(inner).map(|v| self.with_email(v))
            }
            Filter::ValuePath(p, inner) if kind == ResourceKind::Group && p.is("members") => {
                match &**inner {
                    Filter::Compare(ip, CompareOp::Eq, CompValue::Str(v)) if ip.is("value") => {
                        Some(self.groups_of(v))
                    }
                    _ => None,
                }
            }
            Filter::And(a, b) => self
                .candidates(kind, a)
                .or_else(|| self.candidates(kind, b)),
            Filter::Or(a, b) => {
                let mut x = self.candidates(kind, a)?;
                x.extend(self.candidates(kind, b)?);
                x.sort();
                x.dedup();
                Some(x)
            }
            _ => None,
        }
    }

    /// Users with an `emails.value` equal to `v` case-insensitively (a
    /// superset of a filter's matches: they are checked against it).
    fn with_email(&self, v: &str) -> Vec<String> {
        self.emails
            .get(&fold_case(v))
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn index_emails(&mut self, keys: Vec<String>, id: &str, add: bool) {
        for key in keys {
            if add {
                self.emails.entry(key).or_default().insert(id.to_owned());
            } else if let Some(set) = self.emails.get_mut(&key) {
                set.remove(id);
                if set.is_empty() {
                    self.emails.remove(&key);
                }
            }
        }
    }

    /// The groups with a member value equal to `member` case-insensitively.
    fn groups_of(&self, member: &str) -> Vec<String> {
        self.member_of
            .get(folded(member).as_ref())
            .map(|s| s.keys().cloned().collect())
            .unwrap_or_default()
    }
}

/// Whether a group matches, answering membership tests from the index instead of
/// materialising a (possibly huge) member list.
fn group_matches(q: &Query, f: &Filter, g: &GroupEntry, id: &str) -> bool {
    let is_member_eq = |f: &Filter| -> Option<String> {
        match f {
            Filter::Compare(p, CompareOp::Eq, CompValue::Str(v))
                if p.is_sub("members", "value") =>
            {
                Some(v.clone())
            }
            Filter::ValuePath(p, inner) if p.is("members") => match &**inner {
                Filter::Compare(ip, CompareOp::Eq, CompValue::Str(v)) if ip.is("value") => {
                    Some(v.clone())
                }
                _ => None,
            },
            _ => None,
        }
    };
    if let Some(v) = is_member_eq(f) {
        // members.value has caseExact=false: compare folded (without an
        // allocation per member where both are ASCII, as ids are).
        if g.members.contains_key(&v) {
            return true;
        }
        let folded = super::fold_case(&v);
        let ascii = v.is_ascii();
        return g.members.keys().any(|k| {
            if ascii && k.is_ascii() {
                k.eq_ignore_ascii_case(&v)
            } else {
                super::fold_case(k) == folded
            }
        });
    }
    match f {
        Filter::And(a, b) => group_matches(q, a, g, id) && group_matches(q, b, g, id),
        Filter::Or(a, b) => group_matches(q, a, g, id) || group_matches(q, b, g, id),
        Filter::Not(a) => !group_matches(q, a, g, id),
        leaf => {
            let mentions_members = match leaf {
                Filter::Present(p) | Filter::Compare(p, ..) | Filter::ValuePath(p, _) => {
                    p.uri.is_none() && p.name == "members"
                }
                _ => false,
            };
            let single = q.clone().filter(Some(leaf.clone()));
            if mentions_members {
                single.matches(&g.materialize(id, Members::Include).resource)
            } else {
                single.matches(&g.resource)
            }
        }
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of resources of `kind` in `tenant` (for tests and diagnostics).
    pub fn count(&self, tenant: &str, kind: ResourceKind) -> usize {
        let tenants = self.tenants.read();
        tenants.get(tenant).map_or(0, |t| match kind {
            ResourceKind::User => t.users.len(),
            ResourceKind::Group => t.groups.len(),
        })
    }
}

impl MemoryStore {
    /// The query, its results shared with the store.
    fn query_with(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        query: &Query,
    ) -> StoreResult<Page<SharedStored>> {
        let materialize = |t: &Tenant, id: &str, members: Members| match kind {
            ResourceKind::User => t.users[id].shared(id),
            ResourceKind::Group => t.groups[id].shared(id, members),
        };
        let tenants = self.tenants.read();
        let Some(t) = tenants.get(&ctx.tenant) else {
            return Ok(Page::default());
        };
        if query.filter.is_none() && query.sort.is_none() {
            // Everything in id order: walk the map to the page, collect nothing
            // else (a page costs O(offset + page), not a copy of every id).
            let order = t.order(kind);
            let (offset, end, next_cursor) = super::page_bounds(order.len(), &query.page)?;
            let resources = order[offset..end]
                .iter()
                .map(|id| materialize(t, id, query.members))
                .collect();
            let total = order.len();
            return Ok(Page {
                resources,
                total_results: total,
                next_cursor,
            });
        }
        let candidates = query.filter.as_ref().and_then(|f| t.candidates(kind, f));
        // Matching ids in id order (the default order), or sorted later.
        let mut ids: Vec<&str> = Vec::new();
        match kind {
            ResourceKind::User => {
                let exact = candidates.is_some()
                    && query
                        .filter
                        .as_ref()
                        .is_some_and(|f| exact_for_users(query, f));
                let mut names = Vec::new();
                let names = match &query.filter {
                    Some(f) => filter_names(query, f, &mut names).map(|()| names.as_slice()),
                    None => Some(&[][..]),
                };
                let matches = |e: &Entry| -> StoreResult<bool> {
                    Ok(query.filter.is_none() || query.matches(&parse_for(e.text(), names)?))
                };
                match &candidates {
                    Some(c) => {
                        for id in c {
                            if let Some((k, e)) = t.users.get_key_value(id) {
                                if exact || matches(e)? {
                                    ids.push(k);
                                }
                            }
                        }
                    }
                    None => {
                        for (k, e) in &t.users {
                            if matches(e)? {
                                ids.push(k);
                            }
                        }
                    }
                }
            }
            ResourceKind::Group => {
                let ok = |id: &str, g: &GroupEntry| {
                    query
                        .filter
                        .as_ref()
                        .is_none_or(|f| group_matches(query, f, g, id))
                };
                match &candidates {
                    Some(c) => {
                        for id in c {
                            if let Some((k, g)) = t.groups.get_key_value(id) {
                                if ok(k, g) {
                                    ids.push(k);
                                }
                            }
                        }
                    }
                    None => {
                        for (k, g) in &t.groups {
                            if ok(k, g) {
                                ids.push(k);
                            }
                        }
                    }
                }
            }
        }
        if candidates.is_some() {
            ids.sort_unstable();
            ids.dedup();
        }
        let total_results = ids.len();
        let materialize = |id: &str, members: Members| materialize(t, id, members);
        let (resources, next_cursor) = if query.sort.is_some() {
            // Sorting needs the trees, and may need members
            // (sortBy=members.value is unusual but legal).
            let mut all = Vec::with_capacity(ids.len());
            for id in &ids {
                let s = materialize(id, Members::Include);
                all.push((s.resource.tree()?, s));
            }
            all.sort_by(|(a, _), (b, _)| query.compare(a, b));
            let (page, next) = paginate(all, &query.page)?;
            let page = page
                .into_iter()
                .map(|(mut tree, mut s)| {
                    if query.members == Members::Exclude && tree.get("members").is_some() {
                        if let Some(o) = Arc::make_mut(&mut tree).as_object_mut() {
                            o.remove("members");
                        }
                        s.resource = SharedJson::from_tree(tree);
                    }
                    s
                })
                .collect();
            (page, next)
        } else {
            let (page_ids, next) = paginate(ids, &query.page)?;
            (
                page_ids
                    .into_iter()
                    .map(|id| materialize(id, query.members))
                    .collect(),
                next,
            )
        };
        Ok(Page {
            resources,
            total_results,
            next_cursor,
        })
    }
}

impl UserStore for MemoryStore {
    fn create(&self, ctx: &Ctx, kind: ResourceKind, resource: Value) -> StoreResult<Stored> {
        self.create_shared(ctx, kind, resource)?.try_into()
    }

    fn create_shared(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        resource: Value,
    ) -> StoreResult<SharedStored> {
        let id = id_of(&resource)?;
        // Written before the lock is taken (and before any index changes).
        let text = match kind {
            ResourceKind::User => Some(SharedJson::text_of(&resource)?),
            ResourceKind::Group => None,
        };
        let mut tenants = self.tenants.write();
        let t = tenants.entry(ctx.tenant.clone()).or_default();
        if t.users.contains_key(&id) || t.groups.contains_key(&id) {
            return Err(StoreError::Uniqueness {
                attribute: "id".to_owned(),
            });
        }
        match kind {
            ResourceKind::User => {
                if let Some(key) = unique_key(kind, &resource) {
                    if t.user_names.contains_key(&key) {
                        return Err(StoreError::user_name_taken());
                    }
                    t.user_names.insert(key, id.clone());
                }
                t.index_external_id(kind, &resource, &id, true);
                t.index_emails(email_keys(resource.get("emails")), &id, true);
                let json = text.unwrap_or_else(|| SharedJson::from_text("{}"));
                t.users.insert(
                    id.clone(),
                    Entry {
                        json: json.clone(),
                        version: 1,
                    },
                );
                t.order.get_mut()[slot(kind)] = None;
                Ok(SharedStored {
                    id,
                    resource: json.with_tree(resource),
                    version: 1,
                })
            }
            ResourceKind::Group => {
                t.index_external_id(kind, &resource, &id, true);
                t.index_group_name(&resource, &id, true);
                let (bare, members) = split_members(resource);
                for m in members.keys() {
                    t.set_membership(&id, m, true);
                }
                let entry = GroupEntry {
                    resource: Arc::new(bare),
                    members,
                    version: 1,
                };
                let stored = entry.materialize(&id, Members::Include);
                t.groups.insert(id, entry);
                t.order.get_mut()[slot(kind)] = None;
                Ok(stored.into())
            }
        }
    }

    fn get(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        id: &str,
        members: Members,
    ) -> StoreResult<Option<Stored>> {
        let tenants = self.tenants.read();
        let Some(t) = tenants.get(&ctx.tenant) else {
            return Ok(None);
        };
        Ok(match kind {
            ResourceKind::User => match t.users.get(id) {
                Some(e) => Some(e.shared(id).try_into()?),
                None => None,
            },
            ResourceKind::Group => t.groups.get(id).map(|g| g.materialize(id, members)),
        })
    }

    fn get_shared(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        id: &str,
        members: Members,
    ) -> StoreResult<Option<SharedStored>> {
        let tenants = self.tenants.read();
        let Some(t) = tenants.get(&ctx.tenant) else {
            return Ok(None);
        };
        Ok(match kind {
            ResourceKind::User => t.users.get(id).map(|e| e.shared(id)),
            ResourceKind::Group => t.groups.get(id).map(|g| g.shared(id, members)),
        })
    }

    fn replace(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        id: &str,
        resource: Value,
        if_version: Option<u64>,
    ) -> StoreResult<Stored> {
        self.replace_shared(ctx, kind, id, resource, if_version)?
            .try_into()
    }

    fn replace_shared(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        id: &str,
        resource: Value,
        if_version: Option<u64>,
    ) -> StoreResult<SharedStored> {
        let text = match kind {
            ResourceKind::User => Some(SharedJson::text_of(&resource)?),
            ResourceKind::Group => None,
        };
        let mut tenants = self.tenants.write();
        let t = tenants.get_mut(&ctx.tenant).ok_or(StoreError::NotFound)?;
        match kind {
            ResourceKind::User => {
                let (old_version, (old_key, old_external_id), old_emails) = {
                    let e = t.users.get(id).ok_or(StoreError::NotFound)?;
                    (
                        e.version,
                        user_keys(&e.json)?,
                        email_keys(e.json.member("emails")?.as_ref()),
                    )
                };
                if if_version.is_some_and(|v| v != old_version) {
                    return Err(StoreError::PreconditionFailed);
                }
                let new_key = unique_key(kind, &resource);
                if new_key != old_key {
                    if let Some(k) = &new_key {
                        if t.user_names.get(k).is_some_and(|other| other != id) {
                            return Err(StoreError::user_name_taken());
                        }
                    }
                    if let Some(k) = &old_key {
                        t.user_names.remove(k);
                    }
                    if let Some(k) = new_key {
                        t.user_names.insert(k, id.to_owned());
                    }
                }
                t.unindex_external_id(kind, old_external_id, id);
                t.index_external_id(kind, &resource, id, true);
                t.index_emails(old_emails, id, false);
                t.index_emails(email_keys(resource.get("emails")), id, true);
                let version = old_version + 1;
                let json = text.unwrap_or_else(|| SharedJson::from_text("{}"));
                t.users.insert(
                    id.to_owned(),
                    Entry {
                        json: json.clone(),
                        version,
                    },
                );
                Ok(SharedStored {
                    id: id.to_owned(),
                    resource: json.with_tree(resource),
                    version,
                })
            }
            ResourceKind::Group => {
                let (old_version, old_members, old_resource) = {
                    let g = t.groups.get(id).ok_or(StoreError::NotFound)?;
                    (
                        g.version,
                        g.members.keys().cloned().collect::<Vec<_>>(),
                        Arc::clone(&g.resource),
                    )
                };
                if if_version.is_some_and(|v| v != old_version) {
                    return Err(StoreError::PreconditionFailed);
                }
                for m in &old_members {
                    t.set_membership(id, m, false);
                }
                t.index_external_id(kind, &old_resource, id, false);
                t.index_external_id(kind, &resource, id, true);
                t.index_group_name(&old_resource, id, false);
                t.index_group_name(&resource, id, true);
                let (bare, members) = split_members(resource);
                for m in members.keys() {
                    t.set_membership(id, m, true);
                }
                let entry = GroupEntry {
                    resource: Arc::new(bare),
                    members,
                    version: old_version + 1,
                };
                let stored = entry.materialize(id, Members::Include);
                t.groups.insert(id.to_owned(), entry);
                Ok(stored.into())
            }
        }
    }

    fn delete(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        id: &str,
        if_version: Option<u64>,
    ) -> StoreResult<()> {
        let mut tenants = self.tenants.write();
        let t = tenants.get_mut(&ctx.tenant).ok_or(StoreError::NotFound)?;
        let version = match kind {
            ResourceKind::User => t.users.get(id).map(|e| e.version),
            ResourceKind::Group => t.groups.get(id).map(|g| g.version),
        }
        .ok_or(StoreError::NotFound)?;
        if if_version.is_some_and(|v| v != version) {
            return Err(StoreError::PreconditionFailed);
        }
        match kind {
            ResourceKind::User => {
                let (user_name, external_id) = user_keys(&t.users[id].json)?;
                let emails = email_keys(t.users[id].json.member("emails")?.as_ref());
                t.users.remove(id);
                t.index_emails(emails, id, false);
                t.order.get_mut()[slot(kind)] = None;
                if let Some(k) = user_name {
                    t.user_names.remove(&k);
                }
                t.unindex_external_id(kind, external_id, id);
            }
            ResourceKind::Group => {
                let g = t.groups.remove(id).expect("invariant: checked above");
                t.order.get_mut()[slot(kind)] = None;
                t.index_external_id(kind, &g.resource, id, false);
                t.index_group_name(&g.resource, id, false);
                for m in g.members.keys() {
                    t.set_membership(id, m, false);
                }
            }
        }
        // Remove the deleted resource from every group it was a member of
        // (by its exact id, as the other stores do).
        let mut left = Vec::new();
        let mut now = None;
        for gid in t.groups_of(id) {
            if let Some(g) = t.groups.get_mut(&gid) {
                if g.members.swap_remove(id).is_some() {
                    g.version += 1;
                    let now = now.get_or_insert_with(crate::time::now);
                    set_last_modified(Arc::make_mut(&mut g.resource), now);
                    left.push(gid);
                }
            }
        }
        for gid in left {
            t.set_membership(&gid, id, false);
        }
        Ok(())
    }

    fn query(&self, ctx: &Ctx, kind: ResourceKind, query: &Query) -> StoreResult<Page> {
        let page = self.query_with(ctx, kind, query)?;
        Ok(Page {
            resources: page
                .resources
                .into_iter()
                .map(Stored::try_from)
                .collect::<StoreResult<_>>()?,
            total_results: page.total_results,
            next_cursor: page.next_cursor,
        })
    }

    fn groups_of(&self, ctx: &Ctx, member_id: &str) -> StoreResult<Vec<GroupRef>> {
        let tenants = self.tenants.read();
        let Some(ids) = tenants
            .get(&ctx.tenant)
            .and_then(|t| Some((t, t.member_of.get(folded(member_id).as_ref())?)))
        else {
            return Ok(Vec::new());
        };
        let (t, ids) = ids;
        let mut out: Vec<GroupRef> = ids
            .keys()
            .filter_map(|id| {
                let g = t.groups.get(id)?;
                Some(GroupRef {
                    id: id.clone(),
                    display_name: g
                        .resource
                        .get("displayName")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                })
            })
            .collect();
        out.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    fn query_shared(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        query: &Query,
    ) -> StoreResult<Page<SharedStored>> {
        self.query_with(ctx, kind, query)
    }

    fn modify_members(
        &self,
        ctx: &Ctx,
        group_id: &str,
        change: &MemberChange,
        if_version: Option<u64>,
    ) -> StoreResult<Stored> {
        let mut tenants = self.tenants.write();
        let t = tenants.get_mut(&ctx.tenant).ok_or(StoreError::NotFound)?;
        let g = t.groups.get_mut(group_id).ok_or(StoreError::NotFound)?;
        if if_version.is_some_and(|v| v != g.version) {
            return Err(StoreError::PreconditionFailed);
        }
        let mut removed: Vec<String> = Vec::new();
        let mut added: Vec<String> = Vec::new();
        if change.remove_all {
            removed.extend(g.members.drain(..).map(|(k, _)| k));
        }
        for r in &change.remove {
            if g.members.swap_remove(r).is_some() {
                removed.push(r.clone());
            }
        }
        for m in &change.add {
            if !g.members.contains_key(&m.value) {
                g.members.insert(m.value.clone(), m.clone());
                added.push(m.value.clone());
            }
        }
        g.version += 1;
        set_last_modified(Arc::make_mut(&mut g.resource), &change.last_modified);
        let stored = g.materialize(group_id, Members::Exclude);
        for r in removed {
            t.set_membership(group_id, &r, false);
        }
        for a in added {
            t.set_membership(group_id, &a, true);
        }
        Ok(stored)
    }
}

fn set_last_modified(resource: &mut Value, now: &str) {
    if let Some(meta) = resource.get_mut("meta").and_then(Value::as_object_mut) {
        meta.insert("lastModified".into(), Value::String(now.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::store_conformance_tests!(MemoryStore::new());

    /// The cached order of ids follows creates and deletes.
    #[test]
    fn index_pages_follow_creates_and_deletes() {
        use crate::store::testkit::user;
        let store = MemoryStore::new();
        let c = Ctx {
            tenant: "t".into(),
            request_id: "r".into(),
            actor: None,
        };
        let registry = crate::schema::Registry::default();
        let page = |start: usize| -> (Vec<String>, usize) {
            let q = Query::all(Arc::clone(registry.get(ResourceKind::User))).page(
                crate::store::PageRequest::Index {
                    start_index: start,
                    count: 2,
                },
            );
            let p = store.query(&c, ResourceKind::User, &q).expect("query");
            (
                p.resources.into_iter().map(|s| s.id).collect(),
                p.total_results,
            )
        };
        for id in ["b", "d", "f"] {
            store
                .create(&c, ResourceKind::User, user(id, id, serde_json::json!({})))
                .expect("create");
        }
        assert_eq!(page(1), (vec!["b".into(), "d".into()], 3));
        assert_eq!(page(3), (vec!["f".into()], 3));
        store
            .create(
                &c,
                ResourceKind::User,
                user("a", "a", serde_json::json!({})),
            )
            .expect("create");
        assert_eq!(page(1), (vec!["a".into(), "b".into()], 4));
        store
            .delete(&c, ResourceKind::User, "b", None)
            .expect("delete");
        assert_eq!(page(1), (vec!["a".into(), "d".into()], 3));
        assert_eq!(page(3), (vec!["f".into()], 3));
        assert_eq!(page(9), (vec![], 3));
    }

    /// The ids of `kind` matching the filter `f`, in id order.
    fn ids_matching(store: &MemoryStore, c: &Ctx, kind: ResourceKind, f: &str) -> Vec<String> {
        let registry = crate::schema::Registry::default();
        let q = Query::all(Arc::clone(registry.get(kind)))
            .with_filter(f)
            .expect("filter");
        let page = store.query(c, kind, &q).expect("query");
        page.resources.into_iter().map(|s| s.id).collect()
    }

    /// The e-mail index follows creates, replaces and deletes.
    #[test]
    fn the_email_index_follows_writes() {
        use crate::store::testkit::user;
        let store = MemoryStore::new();
        let c = Ctx::new("t");
        let found = |f: &str| ids_matching(&store, &c, ResourceKind::User, f);
        let with_email = |id: &str, email: &str| {
            user(
                id,
                id,
                serde_json::json!({"emails": [{"value": email, "type": "work"}]}),
            )
        };
        store
            .create(&c, ResourceKind::User, with_email("u1", "Ann@Example.com"))
            .expect("create");
        assert_eq!(found(r#"emails.value eq "ann@example.COM""#), ["u1"]);
        assert_eq!(
            found(r#"emails[type eq "work" and value eq "ANN@example.com"]"#),
            ["u1"]
        );
        assert!(found(r#"emails[type eq "home" and value eq "ann@example.com"]"#).is_empty());
        store
            .replace(
                &c,
                ResourceKind::User,
                "u1",
                with_email("u1", "bob@example.com"),
                None,
            )
            .expect("replace");
        assert!(found(r#"emails.value eq "ann@example.com""#).is_empty());
        assert_eq!(found(r#"emails.value eq "Bob@example.com""#), ["u1"]);
        store
            .delete(&c, ResourceKind::User, "u1", None)
            .expect("delete");
        assert!(found(r#"emails.value eq "bob@example.com""#).is_empty());
        assert!(
            store.tenants.read()["t"].emails.is_empty(),
            "no stale entries"
        );
    }

    /// The groups' displayName index follows creates, replaces and deletes,
    /// and its answers are still checked against the filter.
    #[test]
    fn the_group_name_index_follows_writes() {
        let store = MemoryStore::new();
        let c = Ctx::new("t");
        let found = |f: &str| ids_matching(&store, &c, ResourceKind::Group, f);
        let group = |id: &str, name: &str| {
            serde_json::json!({
                "id": id,
                "displayName": name,
                "externalId": format!("ext-{id}"),
                "meta": {"resourceType": "Group"},
            })
        };
        for (id, name) in [("g1", "Sales Team"), ("g2", "sales team"), ("g3", "Ops")] {
            store
                .create(&c, ResourceKind::Group, group(id, name))
                .expect("create");
        }
        assert_eq!(
            store.tenants.read()["t"].group_names["sales team"].len(),
            2,
            "both groups under one folded name"
        );
        assert_eq!(found(r#"displayName eq "SALES team""#), ["g1", "g2"]);
        assert_eq!(
            found(r#"displayName eq "sales team" and externalId eq "ext-g2""#),
            ["g2"]
        );
        assert!(found(r#"displayName eq "Sales""#).is_empty());
        store
            .replace(&c, ResourceKind::Group, "g1", group("g1", "Support"), None)
            .expect("replace");
        assert_eq!(found(r#"displayName eq "sales team""#), ["g2"]);
        assert_eq!(found(r#"displayName eq "support""#), ["g1"]);
        assert_eq!(
            found(r#"displayName eq "Support" or displayName eq "OPS""#),
            ["g1", "g3"]
        );
        for id in ["g1", "g2", "g3"] {
            store
                .delete(&c, ResourceKind::Group, id, None)
                .expect("delete");
        }
        assert!(found(r#"displayName eq "ops""#).is_empty());
        assert!(
            store.tenants.read()["t"].group_names.is_empty(),
            "no stale entries"
        );
    }

    /// The membership index is keyed by the folded member value and counts
    /// each group's spellings: a group stays indexed until its last one
    /// leaves; deleting a resource removes its exact id only.
    #[test]
    fn the_membership_index_folds_and_counts_spellings() {
        use crate::store::testkit::group;
        let store = MemoryStore::new();
        let c = Ctx::new("t");
        let found = |f: &str| ids_matching(&store, &c, ResourceKind::Group, f);
        store
            .create(
                &c,
                ResourceKind::Group,
                group("g1", "G", &["u1", "U1", "u2"]),
            )
            .expect("create");
        let groups_of = |m: &str| -> Vec<String> {
            UserStore::groups_of(&store, &c, m)
                .expect("groups_of")
                .into_iter()
                .map(|g| g.id)
                .collect()
        };
        assert_eq!(found(r#"members[value eq "U1"]"#), ["g1"]);
        assert_eq!(groups_of("u1"), ["g1"]);
        let remove = |ids: &[&str]| {
            store
                .modify_members(
                    &c,
                    "g1",
                    &MemberChange {
                        add: vec![],
                        remove: ids.iter().map(|s| (*s).to_owned()).collect(),
                        remove_all: false,
                        last_modified: "2026-11-24T00:00:00Z".into(),
                    },
                    None,
                )
                .expect("modify")
        };
        remove(&["U1"]);
        assert_eq!(found(r#"members[value eq "u1"]"#), ["g1"], "u1 is still in");
        remove(&["u1"]);
        assert!(found(r#"members[value eq "u1"]"#).is_empty());
        assert!(groups_of("U1").is_empty());
        // Deleting user "u2" takes exactly "u2" out of the group.
        store
            .create(
                &c,
                ResourceKind::User,
                crate::store::testkit::user("u2", "u2", serde_json::json!({})),
            )
            .expect("create user");
        store
            .delete(&c, ResourceKind::User, "u2", None)
            .expect("delete");
        assert!(found(r#"members pr"#).is_empty());
        assert!(
            store.tenants.read()["t"].member_of.is_empty(),
            "no stale entries"
        );
    }

    /// Only filters the indexes answer exactly skip parsing the users.
    #[test]
    fn index_answers_are_exact_only_where_the_schema_agrees() {
        let registry = crate::schema::Registry::default();
        let exact = |f: &str| {
            let q = Query::all(Arc::clone(registry.get(ResourceKind::User)))
                .with_filter(f)
                .expect("filter");
            exact_for_users(&q, q.filter.as_ref().expect("a filter"))
        };
        assert!(exact(r#"userName eq "A@b""#));
        assert!(exact(r#"externalId eq "x""#));
        assert!(exact(r#"id eq "1" or userName eq "a""#));
        assert!(!exact(r#"displayName eq "a""#));
        assert!(!exact(r#"userName eq "a" and active eq true"#));
        assert!(!exact(r#"userName sw "a""#));
        assert!(!exact(r#"emails.value eq "a""#));
    }

    #[test]
    fn concurrent_scim_clients() {
        crate::store::testkit::concurrent_clients(std::sync::Arc::new(MemoryStore::new()));
    }
}
