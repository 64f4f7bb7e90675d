//! From a Microsoft Graph user to an Entra-style SCIM User: the default
//! mappings (ENTRA.md, "Default attribute mapping"), the configured extra ones,
//! and the PATCH operations that bring a stored user in line.

use std::fmt;

use serde_json::{Map, Value, json};

use scimkit::schema::{PATCH_OP_SCHEMA, USER_SCHEMA};

use crate::config::Mapping;

/// The mappings every sync applies (Graph property, SCIM path). `id` →
/// `externalId` is implicit and cannot be changed.
pub const DEFAULT_MAPPINGS: &[(&str, &str)] = &[
    ("userPrincipalName", "userName"),
    ("accountEnabled", "active"),
    ("displayName", "displayName"),
    ("givenName", "name.givenName"),
    ("surname", "name.familyName"),
    ("mail", "emails[type eq \"work\"].value"),
    ("jobTitle", "title"),
    ("mobilePhone", "phoneNumbers[type eq \"mobile\"].value"),
    ("businessPhones", "phoneNumbers[type eq \"work\"].value"),
    (
        "department",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
    ),
    (
        "employeeId",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
    ),
];

/// A SCIM attribute path of the forms Entra sends: `attr`, `attr.sub`,
/// `attr[name eq "value"].sub`, each optionally prefixed by a schema URN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScimPath {
    urn: Option<String>,
    attr: String,
    filter: Option<(String, String)>,
    sub: Option<String>,
}

fn is_name(s: &str) -> bool {
    let mut b = s.bytes();
    b.next().is_some_and(|c| c.is_ascii_alphabetic())
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'$')
}

impl ScimPath {
    /// Parse a path; the error says what is wrong.
    pub(crate) fn parse(raw: &str) -> Result<Self, String> {
        let err = |why: &str| format!("invalid SCIM path {raw:?}: {why}");
        let s = raw.trim();
        let head_end = s.find('[').unwrap_or(s.len());
        let (urn, rest) = if s.len() >= 4 && s[..4].eq_ignore_ascii_case("urn:") {
            let colon = s[..head_end]
                .rfind(':')
                .filter(|&i| i > 4)
                .ok_or_else(|| err("a URN needs an attribute after its last ':'"))?;
            (Some(s[..colon].to_owned()), &s[colon + 1..])
        } else {
            (None, s)
        };
        let (attr, filter, after) = match rest.find('[') {
            Some(open) => {
                let close = rest[open..]
                    .find(']')
                    .map(|i| open + i)
                    .ok_or_else(|| err("missing ']'"))?;
                let inner = rest[open + 1..close].trim();
                let mut parts = inner.splitn(3, char::is_whitespace);
                let (name, op, value) = (
                    parts.next().unwrap_or_default(),
                    parts.next().unwrap_or_default(),
                    parts.next().unwrap_or_default().trim(),
                );
                if !is_name(name) || !op.eq_ignore_ascii_case("eq") {
                    return Err(err("a filter must read [name eq \"value\"]"));
                }
                let value = value
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .filter(|v| !v.contains('"'))
                    .ok_or_else(|| err("the filter value must be a quoted string"))?;
                (
                    &rest[..open],
                    Some((name.to_owned(), value.to_owned())),
                    &rest[close + 1..],
                )
            }
            None => match rest.split_once('.') {
                Some((a, _)) => (a, None, &rest[a.len()..]),
                None => (rest, None, ""),
            },
        };
        let sub = match after {
            "" => None,
            a => Some(
                a.strip_prefix('.')
                    .filter(|x| is_name(x))
                    .ok_or_else(|| err("expected .subAttribute"))?
                    .to_owned(),
            ),
        };
        if !is_name(attr) {
            return Err(err("expected an attribute name"));
        }
        if filter.is_some() && sub.is_none() {
            return Err(err(
                "a filtered path needs a sub-attribute, e.g. emails[type eq \"work\"].value",
            ));
        }
        Ok(Self {
            urn,
            attr: attr.to_owned(),
            filter,
            sub,
        })
    }

    /// Whether this is `externalId`.
    pub(crate) fn is_external_id(&self) -> bool {
        self.urn.is_none() && self.attr.eq_ignore_ascii_case("externalId") && self.sub.is_none()
    }

    fn is_core(&self, attr: &str) -> bool {
        self.urn
            .as_deref()
            .is_none_or(|u| u.eq_ignore_ascii_case(USER_SCHEMA))
            && self.attr.eq_ignore_ascii_case(attr)
            && self.sub.is_none()
    }

    /// Paths naming the same attribute compare equal this way.
    fn key(&self) -> String {
        self.to_string().to_ascii_lowercase()
    }

    /// The value at this path in a SCIM resource (`None` when absent or null).
    pub(crate) fn read<'a>(&self, resource: &'a Value) -> Option<&'a Value> {
        let container = match &self.urn {
            Some(u) if !u.eq_ignore_ascii_case(USER_SCHEMA) => get_ci(resource, u)?,
            _ => resource,
        };
        let v = get_ci(container, &self.attr)?;
        let v = match &self.filter {
            Some((name, want)) => v.as_array()?.iter().find(|e| {
                get_ci(e, name)
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.eq_ignore_ascii_case(want))
            })?,
            None => v,
        };
        let v = match &self.sub {
            Some(s) => get_ci(v, s)?,
            None => v,
        };
        (!v.is_null()).then_some(v)
    }

    /// Set this path in a resource being built (for a POST body).
    fn write(&self, resource: &mut Map<String, Value>, value: Value) {
        let container = match &self.urn {
            Some(u) if !u.eq_ignore_ascii_case(USER_SCHEMA) => {
                let c = resource.entry(u.clone()).or_insert_with(|| json!({}));
                match c.as_object_mut() {
                    Some(m) => m,
                    None => return,
                }
            }
            _ => resource,
        };
        match (&self.filter, &self.sub) {
            (Some((name, want)), Some(sub)) => {
                let list = container
                    .entry(self.attr.clone())
                    .or_insert_with(|| json!([]));
                let Some(list) = list.as_array_mut() else {
                    return;
                };
                let pos = list.iter().position(|e| {
                    e.get(name)
                        .and_then(Value::as_str)
                        .is_some_and(|t| t.eq_ignore_ascii_case(want))
                });
                let i = pos.unwrap_or_else(|| {
                    list.push(json!({ name.clone(): want.clone() }));
                    list.len() - 1
                });
                list[i][sub.as_str()] = value;
            }
            (None, Some(sub)) => {
                let c = container
                    .entry(self.attr.clone())
                    .or_insert_with(|| json!({}));
                if c.is_object() {
                    c[sub.as_str()] = value;
                }
            }
            _ => {
                container.insert(self.attr.clone(), value);
            }
        }
    }
}

impl fmt::Display for ScimPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(u) = &self.urn {
            write!(f, "{u}:")?;
        }
        f.write_str(&self.attr)?;
        if let Some((n, v)) = &self.filter {
            write!(f, "[{n} eq \"{v}\"]")?;
        }
        if let Some(s) = &self.sub {
            write!(f, ".{s}")?;
        }
        Ok(())
    }
}

/// A key of a JSON object, case-insensitively (SCIM attribute names are).
fn get_ci<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    let o = v.as_object()?;
    o.get(key).or_else(|| {
        o.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// Check a Graph property path (`name` or `name.sub…`).
pub(crate) fn check_graph_property(p: &str) -> Result<(), String> {
    if !p.is_empty() && p.split('.').all(is_name) {
        Ok(())
    } else {
        Err(format!(
            "invalid Graph property {p:?}: expected a property name or name.sub"
        ))
    }
}

/// What a Graph user says about one property.
enum Lookup<'a> {
    /// The key is not in the object (a delta item that did not change it).
    Absent,
    /// Present, null, or an empty list.
    Empty,
    /// A value.
    Value(&'a Value),
}

fn lookup<'a>(user: &'a Value, property: &str) -> Lookup<'a> {
    let mut v = user;
    for part in property.split('.') {
        v = match v {
            Value::Object(_) => match get_ci(v, part) {
                Some(x) => x,
                None if std::ptr::eq(v, user) => return Lookup::Absent,
                None => return Lookup::Empty,
            },
            _ => return Lookup::Empty,
        };
    }
    if let Value::Array(a) = v {
        v = match a.first() {
            Some(x) => x,
            None => return Lookup::Empty,
        };
    }
    match v {
        Value::Null => Lookup::Empty,
        Value::String(s) if s.is_empty() => Lookup::Empty,
        v => Lookup::Value(v),
    }
}

/// One mapped value: set `path` to `value`, or remove it (`None`).
#[derive(Debug, Clone)]
pub(crate) struct Assignment<'m> {
    pub(crate) path: &'m ScimPath,
    pub(crate) value: Option<Value>,
}

/// The default mappings merged with the configured ones, parsed once per run.
#[derive(Debug, Clone)]
pub(crate) struct Mapper {
    entries: Vec<(String, ScimPath)>,
}

impl Mapper {
    /// Merge the defaults and `extra` (an extra mapping to a path a default
    /// writes replaces it).
    pub(crate) fn new(extra: &[Mapping]) -> Result<Self, String> {
        let mut entries: Vec<(String, ScimPath)> = DEFAULT_MAPPINGS
            .iter()
            .map(|(g, s)| Ok(((*g).to_owned(), ScimPath::parse(s)?)))
            .collect::<Result<_, String>>()?;
        for m in extra {
            check_graph_property(&m.graph)?;
            let p = ScimPath::parse(&m.scim)?;
            if p.is_external_id() {
                return Err("externalId is always the Graph object id".into());
            }
            match entries.iter_mut().find(|(_, q)| q.key() == p.key()) {
                Some(e) => *e = (m.graph.clone(), p),
                None => entries.push((m.graph.clone(), p)),
            }
        }
        Ok(Self { entries })
    }

    /// The `$select` list: every mapped top-level property and `id`.
    pub(crate) fn select(&self) -> String {
        let mut out: Vec<&str> = vec!["id", "userPrincipalName"];
        for (g, _) in &self.entries {
            let top = g.split('.').next().unwrap_or(g);
            if !out.iter().any(|o| o.eq_ignore_ascii_case(top)) {
                out.push(top);
            }
        }
        out.join(",")
    }

    /// The SCIM values a Graph user maps to. With `partial` (a delta item),
    /// properties the item does not carry are left alone; otherwise a missing
    /// property clears the attribute. `userName` and `active` are never cleared.
    pub(crate) fn assignments<'m>(&'m self, user: &Value, partial: bool) -> Vec<Assignment<'m>> {
        let mut out = Vec::with_capacity(self.entries.len());
        for (g, path) in &self.entries {
            let value = match lookup(user, g) {
                Lookup::Absent if partial => continue,
                Lookup::Absent | Lookup::Empty => None,
                Lookup::Value(v) => Some(v.clone()),
            };
            if value.is_none() && (path.is_core("userName") || path.is_core("active")) {
                continue;
            }
            out.push(Assignment { path, value });
        }
        out
    }
}

/// The userName a user maps to, when the Graph object carries it.
pub(crate) fn user_name(assignments: &[Assignment<'_>]) -> Option<String> {
    assignments
        .iter()
        .find(|a| a.path.is_core("userName"))
        .and_then(|a| a.value.as_ref())
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// The `active` a user maps to, when the Graph object carries it.
pub(crate) fn active(assignments: &[Assignment<'_>]) -> Option<bool> {
    assignments
        .iter()
        .find(|a| a.path.is_core("active"))
        .and_then(|a| a.value.as_ref())
        .and_then(Value::as_bool)
}

/// The POST body of a new user (Entra's shape: core + the extension schemas
/// used).
pub(crate) fn user_body(object_id: &str, assignments: &[Assignment<'_>]) -> Value {
    let mut m = Map::new();
    let mut schemas = vec![USER_SCHEMA.to_owned()];
    m.insert("externalId".into(), Value::String(object_id.to_owned()));
    for a in assignments {
        if let Some(v) = &a.value {
            a.path.write(&mut m, v.clone());
            if let Some(u) = &a.path.urn {
                if !schemas.iter().any(|s| s.eq_ignore_ascii_case(u)) {
                    schemas.push(u.clone());
                }
            }
        }
    }
    m.insert("schemas".into(), json!(schemas));
    Value::Object(m)
}

/// The changes that bring `current` (a SCIM resource) in line with the
/// assignments: `(path, Some(value))` to set, `(path, None)` to remove.
pub(crate) fn diff<'m>(current: &Value, assignments: &[Assignment<'m>]) -> Vec<Assignment<'m>> {
    assignments
        .iter()
        .filter(|a| match (&a.value, a.path.read(current)) {
            (Some(want), Some(have)) => !same(want, have),
            (Some(_), None) => true,
            (None, have) => have.is_some(),
        })
        .cloned()
        .collect()
}

fn same(want: &Value, have: &Value) -> bool {
    match (want, have) {
        // The engine stores what the schema says; Graph may send a number where
        // SCIM keeps a string (or the reverse).
        (Value::Number(n), Value::String(s)) | (Value::String(s), Value::Number(n)) => {
            n.to_string() == *s
        }
        _ => want == have,
    }
}

/// A PATCH request body (RFC 7644 §3.5.2, as Entra sends them: one operation per
/// attribute).
pub(crate) fn patch_body(changes: &[Assignment<'_>]) -> Value {
    let ops: Vec<Value> = changes
        .iter()
        .map(|a| match &a.value {
            Some(v) => json!({"op": "replace", "path": a.path.to_string(), "value": v}),
            None => json!({"op": "remove", "path": a.path.to_string()}),
        })
        .collect();
    json!({"schemas": [PATCH_OP_SCHEMA], "Operations": ops})
}

/// The attribute names of a change list, for reports.
pub(crate) fn names(changes: &[Assignment<'_>]) -> Vec<String> {
    changes.iter().map(|a| a.path.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use scimkit::schema::ENTERPRISE_USER_SCHEMA;

    use super::*;

    #[test]
    fn paths_parse_and_print_back() {
        for p in [
            "userName",
            "name.givenName",
            "emails[type eq \"work\"].value",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
            "urn:example:custom:1.0:User:badge",
        ] {
            assert_eq!(ScimPath::parse(p).unwrap().to_string(), p);
        }
        let p = ScimPath::parse(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
        )
        .unwrap();
        assert_eq!(p.urn.as_deref(), Some(ENTERPRISE_USER_SCHEMA));
        assert_eq!(p.attr, "department");
    }

    #[test]
    fn bad_paths_say_why() {
        let cases = [
            ("", "invalid SCIM path \"\": expected an attribute name"),
            (
                "emails[type eq \"work\"",
                "invalid SCIM path \"emails[type eq \\\"work\\\"\": missing ']'",
            ),
            (
                "emails[type ne \"work\"].value",
                "invalid SCIM path \"emails[type ne \\\"work\\\"].value\": a filter must read [name eq \"value\"]",
            ),
            (
                "emails[type eq \"work\"]",
                "invalid SCIM path \"emails[type eq \\\"work\\\"]\": a filtered path needs a sub-attribute, e.g. emails[type eq \"work\"].value",
            ),
            (
                "name.",
                "invalid SCIM path \"name.\": expected .subAttribute",
            ),
            (
                "urn:x",
                "invalid SCIM path \"urn:x\": a URN needs an attribute after its last ':'",
            ),
        ];
        for (p, msg) in cases {
            assert_eq!(ScimPath::parse(p).unwrap_err(), msg);
        }
    }

    fn graph_user() -> Value {
        json!({
            "id": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
            "userPrincipalName": "alice@contoso.com",
            "accountEnabled": true,
            "displayName": "Alice Doe",
            "givenName": "Alice",
            "surname": "Doe",
            "mail": "alice@contoso.com",
            "jobTitle": null,
            "department": "R&D",
            "employeeId": "42",
            "mobilePhone": "+1 555 0101",
            "businessPhones": ["+1 555 0100"],
            "officeLocation": "Building 7",
            "onPremisesExtensionAttributes": {"extensionAttribute1": "E1"}
        })
    }

    #[test]
    fn a_graph_user_becomes_an_entra_style_scim_user() {
        let m = Mapper::new(&[
            Mapping {
                graph: "officeLocation".into(),
                scim: "addresses[type eq \"work\"].locality".into(),
            },
            Mapping {
                graph: "onPremisesExtensionAttributes.extensionAttribute1".into(),
                scim: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter"
                    .into(),
            },
        ])
        .unwrap();
        let a = m.assignments(&graph_user(), false);
        let body = user_body("0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef", &a);
        assert_eq!(
            body,
            json!({
                "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
                "userName": "alice@contoso.com",
                "active": true,
                "displayName": "Alice Doe",
                "name": {"givenName": "Alice", "familyName": "Doe"},
                "emails": [{"type": "work", "value": "alice@contoso.com"}],
                "phoneNumbers": [{"type": "mobile", "value": "+1 555 0101"}, {"type": "work", "value": "+1 555 0100"}],
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D", "employeeNumber": "42", "costCenter": "E1"},
                "addresses": [{"type": "work", "locality": "Building 7"}],
                "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
            })
        );
        assert_eq!(
            m.select(),
            "id,userPrincipalName,accountEnabled,displayName,givenName,surname,mail,jobTitle,mobilePhone,businessPhones,department,employeeId,officeLocation,onPremisesExtensionAttributes"
        );
    }

    #[test]
    fn an_extra_mapping_replaces_the_default_for_its_path() {
        let m = Mapper::new(&[Mapping {
            graph: "mail".into(),
            scim: "UserName".into(),
        }])
        .unwrap();
        let mut u = graph_user();
        u["mail"] = json!("a.doe@contoso.com");
        assert_eq!(
            user_name(&m.assignments(&u, false)).as_deref(),
            Some("a.doe@contoso.com")
        );
    }

    #[test]
    fn diff_yields_replace_and_remove_operations() {
        let m = Mapper::new(&[]).unwrap();
        let a = m.assignments(&graph_user(), false);
        let mut stored = user_body("x", &a);
        stored["id"] = json!("scim-id");
        assert!(
            diff(&stored, &a).is_empty(),
            "a user equal to its mapping needs no change"
        );
        stored["title"] = json!("Old title");
        stored["displayName"] = json!("Alice D.");
        stored["emails"] = json!([{"type": "Work", "value": "old@contoso.com", "primary": true}]);
        let changes = diff(&stored, &a);
        assert_eq!(
            patch_body(&changes)["Operations"],
            json!([
                {"op": "replace", "path": "displayName", "value": "Alice Doe"},
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "alice@contoso.com"},
                {"op": "remove", "path": "title"},
            ])
        );
    }

    #[test]
    fn partial_delta_items_touch_only_what_they_carry() {
        let m = Mapper::new(&[]).unwrap();
        let item = json!({"id": "x", "displayName": "New", "jobTitle": null});
        let a = m.assignments(&item, true);
        assert_eq!(names(&a), ["displayName", "title"]);
        assert_eq!(user_name(&a), None);
        assert_eq!(
            active(&m.assignments(&json!({"id": "x", "accountEnabled": false}), true)),
            Some(false)
        );
        // A full object without userPrincipalName never clears userName.
        assert!(
            m.assignments(&json!({"id": "x"}), false)
                .iter()
                .all(|a| a.path.to_string() != "userName")
        );
    }
}
