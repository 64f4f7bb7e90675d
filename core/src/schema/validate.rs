//! Input validation: turn a client's resource JSON into the canonical stored form.
//!
//! * names (attributes, sub-attributes, extension URNs) are matched
//!   case-insensitively and rewritten in canonical casing;
//! * readOnly attributes are ignored on input (RFC 7643 §2.2);
//! * immutable attributes may be set once, never changed (RFC 7644 §3.5.1);
//! * values are type-checked; the Entra dialect's `"True"`/`"False"` strings are
//!   accepted for booleans; `null` means "no value" (RFC 7644 §3.5.1);
//! * required attributes must be present;
//! * unknown attributes are ignored or rejected, as configured.

use serde_json::{Map, Value};

use super::{AttrType, Attribute, Mutability, ResourceSchema};
use crate::error::{Result, ScimError};

/// What to do with attributes that no registered schema defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnknownAttributes {
    /// Drop them silently (the default: IdPs often send more than a target knows).
    #[default]
    Ignore,
    /// Answer 400 `invalidSyntax` naming the attribute.
    Reject,
}

/// An attribute's name for error messages, built only when one is needed
/// (validation formats no string on the success path): `userName`,
/// `name.givenName`, `urn:…:enterprise:2.0:User:department`.
#[derive(Clone, Copy)]
pub(crate) struct AttrName<'a> {
    parent: Option<(&'a AttrName<'a>, char)>,
    name: &'a str,
}

impl<'a> AttrName<'a> {
    /// A top-level name.
    pub(crate) fn top(name: &'a str) -> Self {
        Self { parent: None, name }
    }

    /// `name` under `parent`, joined by `sep` (`.` for sub-attributes, `:` for
    /// an extension's attributes), or at the top without a parent.
    fn under(parent: Option<(&'a AttrName<'a>, char)>, name: &'a str) -> Self {
        Self { parent, name }
    }
}

impl std::fmt::Display for AttrName<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some((p, sep)) = self.parent {
            write!(f, "{p}{sep}")?;
        }
        f.write_str(self.name)
    }
}

/// Validate `input` against `rs`. `existing` is the stored resource for PUT
/// and PATCH (to enforce immutability and carry immutable values the client
/// omitted); an attribute equal to its stored value is taken as it is, not
/// validated again.
///
/// Takes the input by value: its strings and arrays move into the result
/// instead of being copied.
pub(crate) fn validate_resource(
    rs: &ResourceSchema,
    input: Value,
    unknown: UnknownAttributes,
    existing: Option<&Value>,
) -> Result<Map<String, Value>> {
    let Value::Object(obj) = input else {
        return Err(ScimError::invalid_syntax(
            "the request body must be a JSON object",
        ));
    };

    // Collect the input per schema: core/common attributes and extension objects.
    let mut core_in: Map<String, Value> = Map::new();
    let mut ext_in: Vec<Map<String, Value>> = vec![Map::new(); rs.extensions.len()];
    for (key, value) in obj {
        if key.eq_ignore_ascii_case("schemas") {
            check_schemas(rs, &value, unknown)?;
            continue;
        }
        if let Some(attr) = rs.core_attribute(&key) {
            core_in.insert(attr.name.clone(), value);
            continue;
        }
        if let Some(i) = rs
            .extensions
            .iter()
            .position(|e| e.schema.id.eq_ignore_ascii_case(&key))
        {
            match value {
                Value::Object(m) => {
                    for (k, v) in m {
                        ext_in[i].insert(k, v);
                    }
                }
                Value::Null => {}
                _ => {
                    return Err(ScimError::invalid_syntax(format!(
                        "extension {} must be a JSON object",
                        rs.extensions[i].schema.id
                    )));
                }
            }
            continue;
        }
        // A URN-qualified attribute at the top level ("urn:…:User:department").
        if key.contains(':') {
            if let Ok(Some(res)) = rs.resolve_str(&key) {
                if res.sub.is_none() {
                    match res.extension {
                        None => {
                            core_in.insert(res.attr.name.clone(), value);
                        }
                        Some(ext) => {
                            let i = rs
                                .extensions
                                .iter()
                                .position(|e| e.schema.id == ext.id)
                                .expect("invariant: resolved extension is registered");
                            ext_in[i].insert(res.attr.name.clone(), value);
                        }
                    }
                    continue;
                }
            }
        }
        if unknown == UnknownAttributes::Reject {
            return Err(ScimError::invalid_syntax(format!(
                "unknown attribute {key:?} for resource type {}",
                rs.kind
            )));
        }
    }

    let mut out = Map::new();
    let existing_obj = existing.and_then(Value::as_object);
    let attrs = rs.common().iter().chain(rs.core.attributes.iter());
    validate_attrs(attrs, core_in, existing_obj, unknown, None, &mut out)?;
    for (ext, ext_in) in rs.extensions.iter().zip(ext_in) {
        if ext_in.values().all(is_empty) {
            // An absent extension: its required attributes do not apply.
            if ext.required {
                return Err(ScimError::invalid_value(format!(
                    "the required extension {} is missing",
                    ext.schema.id
                )));
            }
            continue;
        }
        let existing_ext = existing_obj
            .and_then(|e| e.get(&ext.schema.id))
            .and_then(Value::as_object);
        let mut ext_out = Map::new();
        let urn = AttrName::top(&ext.schema.id);
        validate_attrs(
            ext.schema.attributes.iter(),
            ext_in,
            existing_ext,
            unknown,
            Some((&urn, ':')),
            &mut ext_out,
        )?;
        if !ext_out.is_empty() {
            out.insert(ext.schema.id.clone(), Value::Object(ext_out));
        }
    }
    Ok(out)
}

fn check_schemas(rs: &ResourceSchema, value: &Value, unknown: UnknownAttributes) -> Result<()> {
    let list = value
        .as_array()
        .ok_or_else(|| ScimError::invalid_syntax("\"schemas\" must be an array of URNs"))?;
    for urn in list {
        let urn = urn
            .as_str()
            .ok_or_else(|| ScimError::invalid_syntax("\"schemas\" must be an array of URNs"))?;
        if !rs.knows_schema(urn) && unknown == UnknownAttributes::Reject {
            return Err(ScimError::invalid_value(format!(
                "schema {urn:?} is not supported for resource type {}",
                rs.kind
            )));
        }
    }
    Ok(())
}

/// Validate the attributes of one schema (or of one complex value) from `input`
/// (keys possibly in any case) into `out` (canonical keys, schema order).
/// `parent` names what the attributes belong to, for error messages.
fn validate_attrs<'a>(
    defs: impl Iterator<Item = &'a Attribute>,
    input: Map<String, Value>,
    existing: Option<&Map<String, Value>>,
    unknown: UnknownAttributes,
    parent: Option<(&AttrName<'_>, char)>,
    out: &mut Map<String, Value>,
) -> Result<()> {
    let defs: Vec<&Attribute> = defs.collect();
    if unknown == UnknownAttributes::Reject {
        for key in input.keys() {
            if !defs.iter().any(|d| d.name.eq_ignore_ascii_case(key)) {
                return Err(ScimError::invalid_syntax(format!(
                    "unknown attribute \"{}\"",
                    AttrName::under(parent, key)
                )));
            }
        }
    }
    // Values are taken out as their attribute is validated (the first key
    // matching case-insensitively, as a lookup would find it).
    let mut input: Vec<(String, Value)> = input.into_iter().collect();
    for def in defs {
        let given = input
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case(&def.name))
            .map(|(_, v)| std::mem::take(v));
        let old = existing.and_then(|e| e.get(&def.name));
        let name = AttrName::under(parent, &def.name);
        if def.mutability == Mutability::ReadOnly {
            // Ignored on input (RFC 7643 §2.2); the engine sets id and meta itself.
            continue;
        }
        let value = match given {
            // The stored value, unchanged (the part of a PATCH it did not
            // touch, or a PUT repeating it): it was validated and
            // canonicalised when it was written, so comparing is enough.
            Some(v) if !is_empty(&v) && old == Some(&v) => Some(v),
            Some(v) if !is_empty(&v) => Some(validate_value(def, v, unknown, &name)?),
            _ => None,
        };
        if def.mutability == Mutability::Immutable {
            if let Some(old) = old.filter(|o| !is_empty(o)) {
                match &value {
                    Some(new) if new != old => {
                        return Err(ScimError::mutability(format!(
                            "attribute {name} is immutable and cannot be changed"
                        )));
                    }
                    _ => {
                        out.insert(def.name.clone(), old.clone());
                        continue;
                    }
                }
            }
        }
        match value {
            Some(v) => {
                out.insert(def.name.clone(), v);
            }
            None if def.required => {
                return Err(ScimError::invalid_value(format!(
                    "required attribute {name} is missing"
                )));
            }
            None => {}
        }
    }
    Ok(())
}

pub(crate) fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

pub(crate) fn validate_value(
    def: &Attribute,
    v: Value,
    unknown: UnknownAttributes,
    name: &AttrName<'_>,
) -> Result<Value> {
    if def.multi_valued {
        let items: Vec<Value> = match v {
            Value::Array(a) => a,
            other => vec![other],
        };
        let mut out = Vec::with_capacity(items.len());
        let mut primaries = 0;
        for item in items {
            if is_empty(&item) {
                continue;
            }
            let item = validate_single(def, item, unknown, name)?;
            if item.get("primary") == Some(&Value::Bool(true)) {
                primaries += 1;
            }
            out.push(item);
        }
        if primaries > 1 {
            return Err(ScimError::invalid_value(format!(
                "attribute {name}: the primary value \"true\" may appear at most once (RFC 7643 §2.4)"
            )));
        }
        Ok(Value::Array(out))
    } else {
        if v.is_array() {
            return Err(ScimError::invalid_value(format!(
                "attribute {name} is single-valued but an array was given"
            )));
        }
        validate_single(def, v, unknown, name)
    }
}

pub(crate) fn validate_single(
    def: &Attribute,
    v: Value,
    unknown: UnknownAttributes,
    name: &AttrName<'_>,
) -> Result<Value> {
    let got = kind_of(&v);
    let wrong = |expected: &str| {
        ScimError::invalid_value(format!("attribute {name} must be {expected}, got {got}"))
    };
    match def.ty {
        AttrType::Complex => {
            let Value::Object(m) = v else {
                return Err(wrong("a JSON object"));
            };
            let mut out = Map::new();
            validate_attrs(
                def.sub_attributes.iter(),
                m,
                None,
                unknown,
                Some((name, '.')),
                &mut out,
            )?;
            Ok(Value::Object(out))
        }
        AttrType::Boolean => coerce_bool(&v)
            .map(Value::Bool)
            .ok_or_else(|| wrong("a boolean")),
        AttrType::Integer => match v {
            Value::Number(ref n) if n.is_i64() || n.is_u64() => Ok(v),
            Value::Number(n) => match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Value::from(f as i64)),
                _ => Err(wrong("an integer")),
            },
            _ => Err(wrong("an integer")),
        },
        AttrType::Decimal => match v {
            Value::Number(_) => Ok(v),
            _ => Err(wrong("a number")),
        },
        AttrType::DateTime => {
            let s = v.as_str().ok_or_else(|| wrong("a dateTime string"))?;
            crate::time::parse(s).map_err(|_| {
                ScimError::invalid_value(format!(
                    "attribute {name} must be an xsd:dateTime such as 2024-01-31T12:00:00Z, got {s:?}"
                ))
            })?;
            Ok(v)
        }
        AttrType::String | AttrType::Reference | AttrType::Binary => match v {
            Value::String(_) => Ok(v),
            Value::Number(n) => Ok(Value::String(n.to_string())),
            _ => Err(wrong("a string")),
        },
    }
}

pub(crate) fn coerce_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::schema::{ENTERPRISE_USER_SCHEMA, Registry, ResourceKind};

    fn user(input: Value) -> Result<Map<String, Value>> {
        let reg = Registry::default();
        validate_resource(
            reg.get(ResourceKind::User),
            input,
            UnknownAttributes::Ignore,
            None,
        )
    }

    #[test]
    fn canonicalises_names_and_drops_read_only() {
        let out = user(json!({
            "USERNAME": "a@x", "id": "mine", "meta": {"created": "x"},
            "NAME": {"GivenName": "A"}, "Active": "False",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user": {"DEPARTMENT": "R&D"},
        }))
        .unwrap();
        assert_eq!(
            Value::Object(out),
            json!({
                "userName": "a@x",
                "name": {"givenName": "A"},
                "active": false,
                ENTERPRISE_USER_SCHEMA: {"department": "R&D"},
            })
        );
    }

    #[test]
    fn required_user_name_is_checked() {
        let e = user(json!({"displayName": "x"})).unwrap_err();
        assert_eq!(e.detail(), "required attribute userName is missing");
        assert_eq!(e.scim_type(), Some(crate::ScimType::InvalidValue));
    }

    #[test]
    fn wrong_types_are_invalid_value() {
        let e = user(json!({"userName": "a", "active": 3})).unwrap_err();
        assert_eq!(
            e.detail(),
            "attribute active must be a boolean, got a number"
        );
        let e = user(json!({"userName": "a", "emails": [{"value": 1.5, "primary": "yes"}]}))
            .unwrap_err();
        assert_eq!(
            e.detail(),
            "attribute emails.primary must be a boolean, got a string"
        );
    }

    #[test]
    fn two_primaries_are_rejected() {
        let e = user(json!({"userName": "a", "emails": [
            {"value": "a@x", "primary": true}, {"value": "b@x", "primary": true}]}))
        .unwrap_err();
        assert!(e.detail().contains("at most once"), "{}", e.detail());
    }

    #[test]
    fn unknown_attributes_follow_policy() {
        let reg = Registry::default();
        let rs = reg.get(ResourceKind::User);
        let input = json!({"userName": "a", "shoeSize": 42});
        assert!(validate_resource(rs, input.clone(), UnknownAttributes::Ignore, None).is_ok());
        let e = validate_resource(rs, input, UnknownAttributes::Reject, None).unwrap_err();
        assert_eq!(
            e.detail(),
            "unknown attribute \"shoeSize\" for resource type User"
        );
    }

    #[test]
    fn top_level_urn_qualified_keys_land_in_the_extension() {
        let out = user(json!({"userName": "a",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": 42}))
        .unwrap();
        assert_eq!(out[ENTERPRISE_USER_SCHEMA], json!({"employeeNumber": "42"}));
    }

    #[test]
    fn stored_values_pass_as_they_are_and_changed_ones_are_validated() {
        let reg = Registry::default();
        let rs = reg.get(ResourceKind::User);
        let stored = json!({"userName": "a", "emails": [{"value": "a@x", "primary": true}],
            ENTERPRISE_USER_SCHEMA: {"department": "R&D"}});
        // Unchanged attributes (here all of them) come out equal.
        let out = validate_resource(rs, stored.clone(), UnknownAttributes::Ignore, Some(&stored))
            .unwrap();
        assert_eq!(Value::Object(out), stored);
        // A changed one is checked as on create, in the core and in an extension.
        let mut changed = stored.clone();
        changed["emails"] = json!([{"value": "a@x", "primary": "yes"}]);
        let e =
            validate_resource(rs, changed, UnknownAttributes::Ignore, Some(&stored)).unwrap_err();
        assert_eq!(
            e.detail(),
            "attribute emails.primary must be a boolean, got a string"
        );
        let mut changed = stored.clone();
        changed[ENTERPRISE_USER_SCHEMA]["employeeNumber"] = json!(7);
        let out = validate_resource(rs, changed, UnknownAttributes::Ignore, Some(&stored)).unwrap();
        assert_eq!(out[ENTERPRISE_USER_SCHEMA]["employeeNumber"], json!("7"));
        // A required attribute removed is still missing.
        let mut changed = stored.clone();
        changed.as_object_mut().unwrap().remove("userName");
        let e =
            validate_resource(rs, changed, UnknownAttributes::Ignore, Some(&stored)).unwrap_err();
        assert_eq!(e.detail(), "required attribute userName is missing");
    }
}
