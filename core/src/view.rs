//! Rendering a stored resource straight into response bytes, without copying it.
//!
//! The general renderer (`ScimServer::render`) takes the stored resource by
//! value, edits it (`schemas`, `id`, `meta`, `members.$ref`, `groups`, hidden
//! attributes) and serialises the result. For a single-resource read with the
//! default projection (no `attributes` / `excludedAttributes`) — the request
//! Entra and most clients send — [`ResourceView`] writes the same JSON, key for
//! key and in the same order, while borrowing the stored resource: the store can
//! hand out a shared reference ([`UserStore::get_shared`]) and nothing is cloned.
//!
//! A store may also share the resource as JSON text ([`SharedJson`]): the
//! view then copies the stored members verbatim (`serde_json` wrote them; the
//! bytes are the ones the tree would serialise to) and parses only the members
//! it edits (`meta`, `members`, an extension with hidden attributes).
//!
//! [`ResourceView::new`] declines (returns `None`) whenever the resource has a
//! shape the view does not reproduce exactly; the caller then uses the general
//! renderer. The tests at the bottom compare both renderers byte for byte.
//!
//! [`UserStore::get_shared`]: crate::store::UserStore::get_shared

use std::borrow::Cow;

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Value};

use crate::schema::{Attribute, ResourceSchema, Returned};
use crate::store::{SharedJson, raw_members};

/// The top-level members of a stored object: from a tree, or raw from text.
enum Fields<'a> {
    Tree(&'a Map<String, Value>),
    Raw(Vec<(&'a str, &'a str)>),
}

/// One member's value: a tree, or its JSON text (valid JSON: the store's
/// index or a scan found it).
#[derive(Clone, Copy)]
enum Field<'a> {
    Tree(&'a Value),
    Raw(&'a str),
}

impl<'a> Fields<'a> {
    /// The members of a shared resource: from the text's index, by scanning
    /// text without one, or from the tree.
    fn of_shared(resource: &'a SharedJson) -> Option<Self> {
        if let Some(members) = resource.raw_members() {
            return Some(Fields::Raw(members.collect()));
        }
        match resource.as_text() {
            Some(text) => Fields::of_raw(text),
            None => resource.as_tree()?.as_object().map(Fields::Tree),
        }
    }

    fn of_raw(text: &'a str) -> Option<Self> {
        raw_members(text).map(|m| Fields::Raw(m.into_iter().map(|(k, v)| (k, v.get())).collect()))
    }

    fn iter(&self) -> FieldIter<'a, '_> {
        match self {
            Fields::Tree(m) => FieldIter::Tree(m.iter()),
            Fields::Raw(v) => FieldIter::Raw(v.iter()),
        }
    }

    fn get(&self, key: &str) -> Option<Field<'a>> {
        match self {
            Fields::Tree(m) => m.get(key).map(Field::Tree),
            Fields::Raw(v) => v
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| Field::Raw(v)),
        }
    }

    fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
}

/// The members of [`Fields`] in order.
enum FieldIter<'a, 'f> {
    Tree(serde_json::map::Iter<'a>),
    Raw(std::slice::Iter<'f, (&'a str, &'a str)>),
}

impl<'a> Iterator for FieldIter<'a, '_> {
    type Item = (&'a str, Field<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            FieldIter::Tree(i) => i.next().map(|(k, v)| (k.as_str(), Field::Tree(v))),
            FieldIter::Raw(i) => i.next().map(|(k, v)| (*k, Field::Raw(v))),
        }
    }
}

impl<'a> Field<'a> {
    fn is_object(self) -> bool {
        match self {
            Field::Tree(v) => v.is_object(),
            Field::Raw(r) => r.starts_with('{'),
        }
    }

    fn is_array(self) -> bool {
        match self {
            Field::Tree(v) => v.is_array(),
            Field::Raw(r) => r.starts_with('['),
        }
    }

    /// The members of an object value.
    fn fields(self) -> Option<Fields<'a>> {
        match self {
            Field::Tree(v) => v.as_object().map(Fields::Tree),
            Field::Raw(r) => Fields::of_raw(r),
        }
    }

    /// The value as a tree (parsed when raw).
    fn tree(self) -> serde_json::Result<Cow<'a, Value>> {
        match self {
            Field::Tree(v) => Ok(Cow::Borrowed(v)),
            Field::Raw(r) => serde_json::from_str(r).map(Cow::Owned),
        }
    }

    /// Append the value's JSON: raw text verbatim.
    fn write(self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        match self {
            Field::Tree(v) => serde_json::to_writer(out, v),
            Field::Raw(r) => {
                out.extend_from_slice(r.as_bytes());
                Ok(())
            }
        }
    }
}

/// Writes a JSON object member by member into a buffer.
struct ObjectWriter<'o> {
    out: &'o mut Vec<u8>,
    first: bool,
}

impl<'o> ObjectWriter<'o> {
    fn new(out: &'o mut Vec<u8>) -> Self {
        out.push(b'{');
        Self { out, first: true }
    }

    /// Starts a member: writes its key; the caller writes the value.
    fn key(&mut self, k: &str) -> serde_json::Result<&mut Vec<u8>> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        serde_json::to_writer(&mut *self.out, k)?;
        self.out.push(b':');
        Ok(self.out)
    }

    fn entry(&mut self, k: &str, v: &(impl Serialize + ?Sized)) -> serde_json::Result<()> {
        let out = self.key(k)?;
        serde_json::to_writer(out, v)
    }

    fn end(self) {
        self.out.push(b'}');
    }
}

/// Names dropped by the default projection (`returned: never` or `request`).
fn hidden_names(attrs: &[Attribute]) -> impl Iterator<Item = &str> {
    attrs
        .iter()
        .filter(|a| matches!(a.returned, Returned::Never | Returned::Request))
        .map(|a| a.name.as_str())
}

/// Whether an attribute has `returned: never` sub-attributes (which the default
/// projection strips from inside its values: left to the general renderer).
fn has_never_sub(a: &Attribute) -> bool {
    a.sub_attributes
        .iter()
        .any(|s| s.returned == Returned::Never)
}

/// A stored resource as the response body of a single-resource read.
pub(crate) struct ResourceView<'a> {
    rs: &'a ResourceSchema,
    obj: Fields<'a>,
    id: &'a str,
    location: &'a str,
    version: &'a str,
    resource_type: &'a str,
    base_url: &'a str,
    /// The user's computed `groups` (replacing a stored one in place, or
    /// appended), if any.
    groups: Option<&'a Value>,
    /// Core (and common) attribute names the default projection drops.
    hidden: Vec<&'a str>,
    /// Per present extension: its URN and the attribute names it drops.
    ext_hidden: Vec<(&'a str, Vec<&'a str>)>,
}

impl<'a> ResourceView<'a> {
    /// A view of `resource`, or `None` if only the general renderer renders it
    /// exactly (not an object; no `schemas`, `id` or a `meta` object; an
    /// attribute with `returned: never` sub-attributes in the schema; text
    /// with an escaped top-level key; one of the `excluded` attributes —
    /// `excludedAttributes`, which the view does not apply — is present).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        rs: &'a ResourceSchema,
        resource: &'a SharedJson,
        id: &'a str,
        location: &'a str,
        version: &'a str,
        resource_type: &'a str,
        base_url: &'a str,
        groups: Option<&'a Value>,
        excluded: &[&str],
    ) -> Option<Self> {
        let obj = Fields::of_shared(resource)?;
        if !obj.contains_key("schemas") || !obj.contains_key("id") {
            return None;
        }
        if excluded.iter().any(|k| obj.contains_key(k)) {
            return None;
        }
        if !obj.get("meta").is_some_and(Field::is_object) {
            return None;
        }
        let core = rs.common().iter().chain(&rs.core.attributes);
        if core.clone().any(has_never_sub)
            || rs
                .extensions
                .iter()
                .any(|e| e.schema.attributes.iter().any(has_never_sub))
        {
            return None;
        }
        let hidden = hidden_names(rs.common())
            .chain(hidden_names(&rs.core.attributes))
            .collect();
        let ext_hidden = rs
            .extensions
            .iter()
            .filter(|e| obj.get(&e.schema.id).is_some_and(Field::is_object))
            .map(|e| {
                (
                    e.schema.id.as_str(),
                    hidden_names(&e.schema.attributes).collect(),
                )
            })
            .filter(|(_, names): &(&str, Vec<&str>)| !names.is_empty())
            .collect();
        Some(Self {
            rs,
            obj,
            id,
            location,
            version,
            resource_type,
            base_url,
            groups,
            hidden,
            ext_hidden,
        })
    }

    /// The JSON text; `None` if a stored member the view edits does not parse
    /// (the caller then uses the general renderer, which reports it).
    pub(crate) fn to_vec(&self) -> Option<Vec<u8>> {
        // Most resources are under 2 KB: one allocation, no regrowth.
        let mut out = Vec::with_capacity(2048);
        self.write(&mut out).ok()?;
        Some(out)
    }

    /// Append the JSON text: stored members in their order, raw text copied
    /// verbatim, the edited ones written here.
    fn write(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        let mut w = ObjectWriter::new(out);
        let mut groups_done = self.groups.is_none();
        for (k, v) in self.obj.iter() {
            match k {
                crate::policy::INTERNAL_KEY => {}
                _ if self.hidden.contains(&k) => {}
                "schemas" => w.entry(k, &Schemas(self))?,
                "id" => w.entry(k, self.id)?,
                "meta" => self.write_meta(w.key(k)?, v)?,
                "groups" if self.groups.is_some() => {
                    w.entry(k, &self.groups)?;
                    groups_done = true;
                }
                "members" if v.is_array() => w.entry(k, &MembersView(self, v.tree()?.as_ref()))?,
                _ => match self.ext_hidden.iter().find(|(urn, _)| *urn == k) {
                    Some((_, names)) => w.entry(k, &Without(v.tree()?.as_ref(), names))?,
                    None => v.write(w.key(k)?)?,
                },
            }
        }
        if !groups_done {
            w.entry("groups", &self.groups)?;
        }
        w.end();
        Ok(())
    }

    /// `meta` with `resourceType`, `location` and `version` set (in place when
    /// stored, else appended in that order).
    fn write_meta(&self, out: &mut Vec<u8>, stored: Field<'_>) -> serde_json::Result<()> {
        let set = [
            ("resourceType", self.resource_type),
            ("location", self.location),
            ("version", self.version),
        ];
        let stored = stored
            .fields()
            .ok_or_else(|| serde::ser::Error::custom("meta is not an object"))?;
        let mut w = ObjectWriter::new(out);
        for (k, v) in stored.iter() {
            match set.iter().find(|(name, _)| *name == k) {
                Some((_, value)) => w.entry(k, value)?,
                None => v.write(w.key(k)?)?,
            }
        }
        for (name, value) in set {
            if !stored.contains_key(name) {
                w.entry(name, &value)?;
            }
        }
        w.end();
        Ok(())
    }
}

/// A list response: the `head` members (`schemas`, `totalResults`, …) then
/// `Resources` holding the views; `None` as [`ResourceView::to_vec`].
pub(crate) fn list_to_vec(
    head: &Map<String, Value>,
    views: &[ResourceView<'_>],
) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(256 + 2048 * views.len().min(100));
    let mut w = ObjectWriter::new(&mut out);
    for (k, v) in head {
        w.entry(k, v).ok()?;
    }
    let list = w.key("Resources").ok()?;
    list.push(b'[');
    for (i, view) in views.iter().enumerate() {
        if i > 0 {
            list.push(b',');
        }
        view.write(list).ok()?;
    }
    list.push(b']');
    w.end();
    Some(out)
}

/// `schemas`: the core schema and the extensions present.
struct Schemas<'v, 'a>(&'v ResourceView<'a>);

impl Serialize for Schemas<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let view = self.0;
        let mut seq = s.serialize_seq(None)?;
        seq.serialize_element(&view.rs.core.id)?;
        for e in &view.rs.extensions {
            if view.obj.contains_key(&e.schema.id) {
                seq.serialize_element(&e.schema.id)?;
            }
        }
        seq.end()
    }
}

/// `members` with each member's `$ref` (RFC 7643 §4.2) filled in when missing.
struct MembersView<'v, 'a>(&'v ResourceView<'a>, &'v Value);

impl Serialize for MembersView<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let items = self.1.as_array().map(Vec::as_slice).unwrap_or_default();
        let mut seq = s.serialize_seq(Some(items.len()))?;
        for item in items {
            match item.as_object() {
                Some(m) if !m.contains_key("$ref") => {
                    match m.get("value").and_then(Value::as_str) {
                        Some(value) => seq.serialize_element(&Member(self.0, m, value))?,
                        None => seq.serialize_element(item)?,
                    }
                }
                _ => seq.serialize_element(item)?,
            }
        }
        seq.end()
    }
}

struct Member<'v, 'a>(&'v ResourceView<'a>, &'v Map<String, Value>, &'v str);

impl Serialize for Member<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let endpoint = if self.1.get("type").and_then(Value::as_str) == Some("Group") {
            "Groups"
        } else {
            "Users"
        };
        let mut map = s.serialize_map(Some(self.1.len() + 1))?;
        for (k, v) in self.1 {
            map.serialize_entry(k, v)?;
        }
        map.serialize_entry(
            "$ref",
            &format_args!("{}/{endpoint}/{}", self.0.base_url, self.2),
        )?;
        map.end()
    }
}

/// An object without some keys.
struct Without<'v>(&'v Value, &'v [&'v str]);

impl Serialize for Without<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Some(obj) = self.0.as_object() else {
            return self.0.serialize(s);
        };
        let mut map = s.serialize_map(None)?;
        for (k, v) in obj {
            if !self.1.contains(&k.as_str()) {
                map.serialize_entry(k, v)?;
            }
        }
        map.end()
    }
}

#[cfg(test)]
thread_local! {
    /// Tests switch the view off to compare it with the general renderer.
    static OFF: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether single reads must use the general renderer (tests only).
pub(crate) fn disabled() -> bool {
    #[cfg(test)]
    return OFF.with(std::cell::Cell::get);
    #[cfg(not(test))]
    false
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use serde_json::json;

    use super::{OFF, ResourceView};
    use crate::schema::{AttrType, Attribute, Mutability, Returned, Schema};
    use crate::{MemoryStore, ScimServer};

    const EXT: &str = "urn:example:params:scim:schemas:extension:view:2.0:User";

    fn server(never_sub: bool) -> ScimServer {
        let mut attrs = vec![
            Attribute::new("pinCode", AttrType::String)
                .returned(Returned::Never)
                .mutability(Mutability::WriteOnly),
            Attribute::new("audit", AttrType::String).returned(Returned::Request),
            Attribute::new("tier", AttrType::Integer),
        ];
        if never_sub {
            attrs.push(
                Attribute::new("devices", AttrType::Complex)
                    .multi()
                    .subs(vec![
                        Attribute::new("value", AttrType::String),
                        Attribute::new("secret", AttrType::String).returned(Returned::Never),
                    ]),
            );
        }
        ScimServer::builder()
            .store(MemoryStore::new())
            .token("t", "acme")
            .user_extension(Schema::new(EXT, "View", attrs), false)
            .build()
            .expect("server")
    }

    fn call(
        s: &ScimServer,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, Vec<u8>, Option<String>) {
        let req = http::Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", "Bearer t")
            .header("content-type", "application/scim+json")
            .header("host", "scim.example.com")
            .body(Bytes::from(body.map(|b| b.to_string()).unwrap_or_default()))
            .expect("request");
        let resp = s.handle(req);
        let etag = resp
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        (resp.status().as_u16(), resp.body().to_vec(), etag)
    }

    fn id(body: &[u8]) -> String {
        let v: serde_json::Value = serde_json::from_slice(body).expect("json");
        v["id"].as_str().expect("id").to_owned()
    }

    /// A resource shared as text renders the same bytes as its tree; the view
    /// declines text it cannot copy safely, and gives up (for the general
    /// renderer to report) when a member it edits does not parse.
    #[test]
    fn text_renders_the_bytes_the_tree_renders() {
        use crate::schema::{Registry, ResourceKind};
        use crate::store::SharedJson;
        let registry = Registry::default();
        let rs = registry.get(ResourceKind::User);
        let v = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "1", "userName": "a\"b\u{e9}", "password": "hash",
            "emails": [{"value": "x@example.com", "primary": true}],
            "meta": {"resourceType": "User", "created": "2026-01-01T00:00:00.000Z"},
        });
        let text = SharedJson::from_text(serde_json::to_string(&v).expect("text"));
        let tree = SharedJson::from(v);
        let render = |s: &SharedJson| {
            ResourceView::new(
                rs,
                s,
                "1",
                "https://h/Users/1",
                "W/\"3\"",
                "User",
                "https://h",
                None,
                &[],
            )
            .expect("a view")
            .to_vec()
            .expect("rendered")
        };
        let (a, b) = (render(&text), render(&tree));
        assert_eq!(String::from_utf8_lossy(&a), String::from_utf8_lossy(&b));
        let out: serde_json::Value = serde_json::from_slice(&a).expect("json");
        assert!(out.get("password").is_none());
        assert_eq!(out["meta"]["version"], "W/\"3\"");
        assert_eq!(out["userName"], "a\"b\u{e9}");
        // An escaped top-level key: declined (the general renderer parses it).
        let escaped =
            SharedJson::from_text(r#"{"schemas":[],"id":"1","user\u004eame":"x","meta":{}}"#);
        assert!(ResourceView::new(rs, &escaped, "1", "l", "v", "User", "b", None, &[]).is_none());
        // A `meta` that does not parse: no body from the view.
        let bad_meta = SharedJson::from_text(r#"{"schemas":[],"id":"1","meta":{"a":tru}}"#);
        assert!(
            ResourceView::new(rs, &bad_meta, "1", "l", "v", "User", "b", None, &[])
                .is_none_or(|view| view.to_vec().is_none())
        );
    }

    /// Every GET answered by the view (single resources and lists) is
    /// byte-for-byte what the general renderer answers.
    #[test]
    fn the_view_renders_exactly_what_the_general_renderer_renders() {
        for never_sub in [false, true] {
            let s = server(never_sub);
            let mut ext = json!({"pinCode": "1234", "audit": "x", "tier": 3});
            if never_sub {
                ext["devices"] = json!([{"value": "d1", "secret": "s"}]);
            }
            let (st, alice, _) = call(
                &s,
                "POST",
                "/scim/v2/Users",
                Some(json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", EXT],
                    "userName": "alice", "password": "Secret-Pa55word!", "active": true,
                    "name": {"givenName": "Alice"},
                    "emails": [{"value": "alice@example.com", "type": "work", "primary": true}],
                    EXT: ext,
                })),
            );
            assert_eq!(st, 201, "{}", String::from_utf8_lossy(&alice));
            let (_, bob, _) = call(
                &s,
                "POST",
                "/scim/v2/Users",
                Some(json!({"userName": "bob"})),
            );
            let (alice, bob) = (id(&alice), id(&bob));
            let (_, inner, _) = call(
                &s,
                "POST",
                "/scim/v2/Groups",
                Some(json!({
                "displayName": "Inner", "members": [{"value": alice}]})),
            );
            let inner = id(&inner);
            let (st, outer, _) = call(
                &s,
                "POST",
                "/scim/v2/Groups",
                Some(json!({
                "displayName": "Outer",
                "members": [{"value": bob, "display": "Bob"}, {"value": inner, "type": "Group"}]})),
            );
            assert_eq!(st, 201);
            let outer = id(&outer);
            let (_, empty, _) = call(
                &s,
                "POST",
                "/scim/v2/Groups",
                Some(json!({"displayName": "Empty"})),
            );
            let empty = id(&empty);
            let paths = [
                format!("/scim/v2/Users/{alice}"),
                format!("/scim/v2/Users/{bob}"),
                format!("/scim/v2/Groups/{inner}"),
                format!("/scim/v2/Groups/{outer}"),
                format!("/scim/v2/Groups/{empty}"),
                format!("/scim/v2/Users/{alice}?attributes=userName"),
                format!("/scim/v2/Groups/{outer}?excludedAttributes=members"),
                "/scim/v2/Users".to_owned(),
                "/scim/v2/Groups".to_owned(),
                "/scim/v2/Users?filter=userName%20eq%20%22ALICE%22".to_owned(),
                "/scim/v2/Groups?startIndex=2&count=1".to_owned(),
                "/scim/v2/Users?cursor&count=1".to_owned(),
                "/scim/v2/Groups?count=0".to_owned(),
                "/scim/v2/Users?excludedAttributes=emails".to_owned(),
                "/scim/v2/Groups?excludedAttributes=members".to_owned(),
                "/scim/v2/Groups?excludedAttributes=displayName,members".to_owned(),
                "/scim/v2/Users?excludedAttributes=groups".to_owned(),
                format!("/scim/v2/Users/{alice}?excludedAttributes=groups,nickName"),
                format!(
                    "/scim/v2/Groups/{inner}?excludedAttributes=urn:ietf:params:scim:schemas:core:2.0:Group:members"
                ),
                format!(
                    "/scim/v2/Groups?filter=id%20eq%20%22{outer}%22%20and%20members%5Bvalue%20eq%20%22{bob}%22%5D&excludedAttributes=members"
                ),
            ];
            for path in &paths {
                let fast = call(&s, "GET", path, None);
                OFF.with(|o| o.set(true));
                let general = call(&s, "GET", path, None);
                OFF.with(|o| o.set(false));
                assert_eq!(fast.0, 200, "{path}");
                assert_eq!(
                    String::from_utf8_lossy(&fast.1),
                    String::from_utf8_lossy(&general.1),
                    "{path} (never_sub: {never_sub})"
                );
                assert_eq!(fast.2, general.2, "{path}");
            }
            // What the view must hide and add, checked directly.
            let (_, body, _) = call(&s, "GET", &paths[0], None);
            let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
            assert!(v.get("password").is_none());
            assert!(v[EXT].get("pinCode").is_none() && v[EXT].get("audit").is_none());
            assert_eq!(v[EXT]["tier"], 3);
            assert_eq!(v["groups"][0]["value"], inner.as_str());
            assert_eq!(
                v["meta"]["location"],
                format!("http://scim.example.com/scim/v2/Users/{alice}")
            );
            let (_, body, _) = call(&s, "GET", &paths[3], None);
            let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
            let refs: Vec<&str> = v["members"]
                .as_array()
                .expect("members")
                .iter()
                .map(|m| m["$ref"].as_str().expect("$ref"))
                .collect();
            assert_eq!(
                refs,
                [
                    format!("http://scim.example.com/scim/v2/Users/{bob}"),
                    format!("http://scim.example.com/scim/v2/Groups/{inner}"),
                ]
            );
        }
    }
}
