//! `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9) and the
//! `returned` characteristic (RFC 7643 §2.2) applied to responses.

use serde_json::{Map, Value};

use crate::error::Result;
use crate::filter::AttrPath;
use crate::schema::{Attribute, Resolved, ResourceSchema, Returned};

/// Which attributes a response carries.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Projection {
    /// `attributes=`: only these (plus `returned: always`).
    pub attributes: Vec<AttrPath>,
    /// `excludedAttributes=`: everything returned by default except these.
    pub excluded: Vec<AttrPath>,
}

/// A canonical reference to an attribute: (extension URN or "" for core, name, sub).
type Key = (String, String, Option<String>);

fn key_of(r: &Resolved<'_>) -> Key {
    (
        r.extension.map(|s| s.id.clone()).unwrap_or_default(),
        r.attr.name.clone(),
        r.sub.map(|s| s.name.clone()),
    )
}

impl Projection {
    /// Parse the comma-separated parameter values. Unknown names are ignored (the
    /// RFC gives no error for them); malformed names are `invalidValue`.
    pub fn parse(
        rs: &ResourceSchema,
        attributes: Option<&str>,
        excluded: Option<&str>,
    ) -> Result<Self> {
        Ok(Self {
            attributes: Self::parse_list(rs, attributes)?,
            excluded: Self::parse_list(rs, excluded)?,
        })
    }

    /// Parse a JSON list (as in a SearchRequest body).
    pub fn parse_list(rs: &ResourceSchema, list: Option<&str>) -> Result<Vec<AttrPath>> {
        let mut out = Vec::new();
        for item in list.unwrap_or("").split(',') {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            match rs.resolve_str(item) {
                Ok(Some(r)) => out.push(r.canonical_path()),
                // A bare extension URN selects the whole extension.
                Ok(None) => out.push(AttrPath::new(Some(item), "", None)),
                Err(e) if e.detail().starts_with("unknown attribute") => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Whether the response needs a Group's `members` (so the store may skip them).
    pub fn wants(&self, rs: &ResourceSchema, name: &str) -> bool {
        let Some(attr) = rs.core_attribute(name) else {
            return false;
        };
        let named = |list: &[AttrPath], whole_only: bool| {
            list.iter().any(|p| {
                p.uri
                    .as_deref()
                    .is_none_or(|u| u.eq_ignore_ascii_case(&rs.core.id))
                    && p.name.eq_ignore_ascii_case(&attr.name)
                    && (!whole_only || p.sub_attr.is_none())
            })
        };
        if attr.returned == Returned::Never {
            return false;
        }
        if !self.attributes.is_empty() {
            return attr.returned == Returned::Always || named(&self.attributes, false);
        }
        if attr.returned == Returned::Request {
            return false;
        }
        attr.returned == Returned::Always || !named(&self.excluded, true)
    }

    /// Apply to an owned resource; without `attributes`/`excludedAttributes` only
    /// `returned: never`/`request` attributes are removed, in place (the common
    /// case, with no copy).
    pub fn apply_owned(&self, rs: &ResourceSchema, mut resource: Value) -> Value {
        if !self.attributes.is_empty() || !self.excluded.is_empty() {
            return self.apply(rs, &resource);
        }
        let Some(obj) = resource.as_object_mut() else {
            return resource;
        };
        let hidden = |a: &Attribute| matches!(a.returned, Returned::Never | Returned::Request);
        let has_never_sub = |a: &Attribute| {
            a.sub_attributes
                .iter()
                .any(|s| s.returned == Returned::Never)
        };
        let attrs = rs.common().iter().chain(&rs.core.attributes);
        for a in attrs {
            if hidden(a) {
                obj.shift_remove(&a.name);
            } else if has_never_sub(a) {
                if let Some(v) = obj.get_mut(&a.name) {
                    *v = Self::strip_never(a, v);
                }
            }
        }
        for e in &rs.extensions {
            if let Some(Value::Object(eo)) = obj.get_mut(&e.schema.id) {
                for a in &e.schema.attributes {
                    if hidden(a) {
                        eo.shift_remove(&a.name);
                    } else if has_never_sub(a) {
                        if let Some(v) = eo.get_mut(&a.name) {
                            *v = Self::strip_never(a, v);
                        }
                    }
                }
            }
        }
        resource
    }

    /// Apply to a full resource in canonical form.
    pub fn apply(&self, rs: &ResourceSchema, resource: &Value) -> Value {
        let Some(obj) = resource.as_object() else {
            return resource.clone();
        };
        let selected: Vec<Key> = self.keys(rs, &self.attributes);
        let excluded: Vec<Key> = self.keys(rs, &self.excluded);
        let whole_ext = |list: &[AttrPath], urn: &str| {
            list.iter().any(|p| {
                p.name.is_empty()
                    && p.uri
                        .as_deref()
                        .is_some_and(|u| u.eq_ignore_ascii_case(urn))
            })
        };
        let mut out = Map::new();
        for (k, v) in obj {
            if k == "schemas" {
                out.insert(k.clone(), v.clone());
                continue;
            }
            if let Some(attr) = rs.core_attribute(k) {
                if let Some(v) = self.project_attr("", attr, v, &selected, &excluded) {
                    out.insert(k.clone(), v);
                }
                continue;
            }
            if let Some(ext) = rs.extension(k) {
                let Some(ext_obj) = v.as_object() else {
                    continue;
                };
                let urn = ext.schema.id.as_str();
                let mut eo = Map::new();
                let all_selected = whole_ext(&self.attributes, urn);
                if whole_ext(&self.excluded, urn) {
                    continue;
                }
                for (ek, ev) in ext_obj {
                    let Some(attr) = ext.schema.attribute(ek) else {
                        continue;
                    };
                    let sel = if all_selected { &[][..] } else { &selected[..] };
                    let projected = if all_selected {
                        Self::by_returned(attr, ev, false)
                    } else {
                        self.project_attr(urn, attr, ev, sel, &excluded)
                    };
                    if let Some(pv) = projected {
                        eo.insert(ek.clone(), pv);
                    }
                }
                if !eo.is_empty() {
                    out.insert(k.clone(), Value::Object(eo));
                }
            }
        }
        // `schemas` lists only the extensions still present.
        if let Some(Value::Array(schemas)) = out.get("schemas").cloned() {
            let kept: Vec<Value> = schemas
                .into_iter()
                .filter(|s| {
                    s.as_str()
                        .is_some_and(|s| s.eq_ignore_ascii_case(&rs.core.id) || out.contains_key(s))
                })
                .collect();
            out.insert("schemas".into(), Value::Array(kept));
        }
        Value::Object(out)
    }

    fn keys(&self, rs: &ResourceSchema, list: &[AttrPath]) -> Vec<Key> {
        list.iter()
            .filter(|p| !p.name.is_empty())
            .filter_map(|p| rs.resolve(p).map(|r| key_of(&r)))
            .collect()
    }

    /// Keep an attribute by its `returned` characteristic alone (`requested`:
    /// whether it was named in `attributes`).
    fn by_returned(attr: &Attribute, v: &Value, requested: bool) -> Option<Value> {
        match attr.returned {
            Returned::Never => None,
            Returned::Request if !requested => None,
            _ => Some(v.clone()),
        }
    }

    fn project_attr(
        &self,
        urn: &str,
        attr: &Attribute,
        v: &Value,
        selected: &[Key],
        excluded: &[Key],
    ) -> Option<Value> {
        if attr.returned == Returned::Never {
            return None;
        }
        if attr.returned == Returned::Always {
            return Some(v.clone());
        }
        let mine = |k: &&Key| k.0 == urn && k.1 == attr.name;
        if !selected.is_empty() {
            let picks: Vec<&Key> = selected.iter().filter(mine).collect();
            if picks.is_empty() {
                return None;
            }
            if picks.iter().any(|k| k.2.is_none()) {
                return Some(v.clone());
            }
            // Only the named sub-attributes (plus `returned: always` ones).
            let subs: Vec<&str> = picks.iter().filter_map(|k| k.2.as_deref()).collect();
            let keep = |item: &Value| -> Option<Value> {
                let o = item.as_object()?;
                let m: Map<String, Value> = o
                    .iter()
                    .filter(|(sk, _)| {
                        subs.iter().any(|s| s.eq_ignore_ascii_case(sk))
                            || attr.sub(sk).is_some_and(|d| d.returned == Returned::Always)
                    })
                    .map(|(a, b)| (a.clone(), b.clone()))
                    .collect();
                (!m.is_empty()).then_some(Value::Object(m))
            };
            return match v {
                Value::Array(items) => {
                    let items: Vec<Value> = items.iter().filter_map(keep).collect();
                    (!items.is_empty()).then_some(Value::Array(items))
                }
                other => keep(other),
            };
        }
        if attr.returned == Returned::Request {
            return None;
        }
        let drops: Vec<&Key> = excluded.iter().filter(mine).collect();
        if drops.iter().any(|k| k.2.is_none()) {
            return None;
        }
        if drops.is_empty() {
            return Some(Self::strip_never(attr, v));
        }
        let subs: Vec<&str> = drops.iter().filter_map(|k| k.2.as_deref()).collect();
        let strip = |item: &Value| -> Value {
            match item.as_object() {
                Some(o) => Value::Object(
                    o.iter()
                        .filter(|(sk, _)| {
                            !subs.iter().any(|s| s.eq_ignore_ascii_case(sk))
                                || attr.sub(sk).is_some_and(|d| d.returned == Returned::Always)
                        })
                        .map(|(a, b)| (a.clone(), b.clone()))
                        .collect(),
                ),
                None => item.clone(),
            }
        };
        Some(match v {
            Value::Array(items) => Value::Array(items.iter().map(strip).collect()),
            other => strip(other),
        })
    }

    /// Remove `returned: never` sub-attributes.
    fn strip_never(attr: &Attribute, v: &Value) -> Value {
        if !attr
            .sub_attributes
            .iter()
            .any(|s| s.returned == Returned::Never)
        {
            return v.clone();
        }
        let strip = |item: &Value| match item.as_object() {
            Some(o) => Value::Object(
                o.iter()
                    .filter(|(k, _)| attr.sub(k).is_none_or(|d| d.returned != Returned::Never))
                    .map(|(a, b)| (a.clone(), b.clone()))
                    .collect(),
            ),
            None => item.clone(),
        };
        match v {
            Value::Array(items) => Value::Array(items.iter().map(strip).collect()),
            other => strip(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::schema::{ENTERPRISE_USER_SCHEMA, Registry, ResourceKind};

    fn user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_USER_SCHEMA],
            "id": "1",
            "userName": "a",
            "password": "secret",
            "name": {"givenName": "A", "familyName": "B"},
            "emails": [{"value": "a@x", "type": "work"}, {"value": "b@x", "type": "home"}],
            ENTERPRISE_USER_SCHEMA: {"department": "D", "costCenter": "C"},
            "meta": {"resourceType": "User"}
        })
    }

    fn project(attrs: Option<&str>, excl: Option<&str>) -> Value {
        let reg = Registry::default();
        let rs = reg.get(ResourceKind::User);
        Projection::parse(rs, attrs, excl)
            .unwrap()
            .apply(rs, &user())
    }

    #[test]
    fn in_place_default_projection_equals_the_general_one() {
        let reg = Registry::default();
        let rs = reg.get(ResourceKind::User);
        let p = Projection::default();
        assert_eq!(p.apply_owned(rs, user()), p.apply(rs, &user()));
        assert!(p.apply_owned(rs, user()).get("password").is_none());
    }

    #[test]
    fn password_is_never_returned() {
        assert!(project(None, None).get("password").is_none());
        assert!(project(Some("password"), None).get("password").is_none());
    }

    #[test]
    fn attributes_selects_plus_always() {
        let v = project(Some("userName,name.givenName,emails.value"), None);
        assert_eq!(
            v,
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "id": "1",
                "userName": "a",
                "name": {"givenName": "A"},
                "emails": [{"value": "a@x"}, {"value": "b@x"}],
            })
        );
    }

    #[test]
    fn excluded_attributes_drop() {
        let v = project(None, Some("EMAILS,name.familyName,id"));
        assert!(v.get("emails").is_none());
        assert_eq!(v["name"], json!({"givenName": "A"}));
        assert_eq!(v["id"], "1", "returned: always cannot be excluded");
        assert_eq!(v[ENTERPRISE_USER_SCHEMA]["department"], "D");
    }

    #[test]
    fn extension_attributes_by_urn() {
        let v = project(Some(&format!("{ENTERPRISE_USER_SCHEMA}:department")), None);
        assert_eq!(v[ENTERPRISE_USER_SCHEMA], json!({"department": "D"}));
        let v = project(Some(ENTERPRISE_USER_SCHEMA), None);
        assert_eq!(
            v[ENTERPRISE_USER_SCHEMA],
            json!({"department": "D", "costCenter": "C"})
        );
        let v = project(None, Some(ENTERPRISE_USER_SCHEMA));
        assert!(v.get(ENTERPRISE_USER_SCHEMA).is_none());
        assert_eq!(
            v["schemas"],
            json!(["urn:ietf:params:scim:schemas:core:2.0:User"])
        );
    }

    #[test]
    fn members_wanted() {
        let reg = Registry::default();
        let rs = reg.get(ResourceKind::Group);
        assert!(Projection::default().wants(rs, "members"));
        assert!(
            !Projection::parse(rs, None, Some("members"))
                .unwrap()
                .wants(rs, "members")
        );
        assert!(
            !Projection::parse(rs, Some("displayName"), None)
                .unwrap()
                .wants(rs, "members")
        );
        assert!(
            Projection::parse(rs, Some("members.value"), None)
                .unwrap()
                .wants(rs, "members")
        );
    }
}
