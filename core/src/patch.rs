//! PATCH (RFC 7644 §3.5.2) with the Microsoft Entra ID dialect.
//!
//! Operations are applied to a copy of the stored resource; the result is then
//! validated against the schema like a PUT body (types, immutability, required),
//! so a PATCH is atomic: all operations or none.
//!
//! Entra tolerances (see shared/ENTRA.md), each covered by a test:
//! * `op` in any case (`"Add"`, `"Replace"`, `"Remove"`);
//! * booleans as strings (`"False"`), coerced by validation;
//! * path-less `add`/`replace` whose `value` keys are dotted (`name.givenName`) or
//!   URN-qualified (`urn:…:enterprise:2.0:User:department`);
//! * `add`/`replace` on a filtered path that matches nothing
//!   (`emails[type eq "work"].value`) creates the element with the filter's
//!   `eq` values (`type: "work"`);
//! * a complex attribute set from a bare string (`manager: "id"` → `{value: "id"}`);
//! * stray fields are ignored: `id`/`meta`/`schemas` inside a path-less value,
//!   unknown keys in an operation;
//! * `remove` of `members` with a `value` list removes those members only.

use serde_json::{Map, Value};

use crate::error::{Result, ScimError};
use crate::filter::{self, AttrPath, CompValue, CompareOp, Filter, PatchPath};
use crate::schema::{
    AttrType, Attribute, Mutability, PATCH_OP_SCHEMA, ResourceSchema, UnknownAttributes,
};

/// The three PATCH operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchOpKind {
    /// `add`
    Add,
    /// `replace`
    Replace,
    /// `remove`
    Remove,
}

/// One PATCH operation.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOperation {
    /// The operation.
    pub op: PatchOpKind,
    /// The target; `None` means the resource itself.
    pub path: Option<PatchPath>,
    /// The value (required for add and replace).
    pub value: Option<Value>,
}

/// Parse a PatchOp request body (RFC 7644 §3.5.2), with at most `max_ops`
/// operations.
pub fn parse_request(body: &Value, max_ops: usize) -> Result<Vec<PatchOperation>> {
    parse_request_owned(body.clone(), max_ops)
}

/// [`parse_request`] taking the body by value: the operations' values are
/// moved out of it, not copied.
pub(crate) fn parse_request_owned(body: Value, max_ops: usize) -> Result<Vec<PatchOperation>> {
    let Value::Object(mut obj) = body else {
        return Err(ScimError::invalid_syntax(
            "the PATCH body must be a JSON object",
        ));
    };
    if let Some(schemas) = get_ci(&obj, "schemas") {
        let ok = schemas.as_array().is_some_and(|a| {
            a.iter().any(|s| {
                s.as_str()
                    .is_some_and(|s| s.eq_ignore_ascii_case(PATCH_OP_SCHEMA))
            })
        });
        if !ok {
            return Err(ScimError::invalid_value(format!(
                "a PATCH body's schemas must contain {PATCH_OP_SCHEMA}"
            )));
        }
    }
    let ops = match take_ci(&mut obj, "Operations") {
        Some(Value::Array(ops)) => ops,
        _ => {
            return Err(ScimError::invalid_syntax(
                "a PATCH body needs an \"Operations\" array",
            ));
        }
    };
    if ops.is_empty() {
        return Err(ScimError::invalid_syntax("\"Operations\" is empty"));
    }
    if ops.len() > max_ops {
        return Err(ScimError::too_many(format!(
            "a PATCH request may carry at most {max_ops} operations, this one has {}",
            ops.len()
        )));
    }
    ops.into_iter()
        .enumerate()
        .map(|(i, op)| parse_operation(op).map_err(|e| e.context(&format!("operation {}", i + 1))))
        .collect()
}

/// Remove and return a member (exact key first, else any key case).
fn take_ci(obj: &mut Map<String, Value>, key: &str) -> Option<Value> {
    if let Some(v) = obj.shift_remove(key) {
        return Some(v);
    }
    let k = obj.keys().find(|k| k.eq_ignore_ascii_case(key))?.clone();
    obj.shift_remove(&k)
}

fn get_ci<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

fn parse_operation(v: Value) -> Result<PatchOperation> {
    let Value::Object(mut obj) = v else {
        return Err(ScimError::invalid_syntax(
            "an operation must be a JSON object",
        ));
    };
    let value = take_ci(&mut obj, "value");
    let op_name = get_ci(&obj, "op")
        .and_then(Value::as_str)
        .ok_or_else(|| ScimError::invalid_syntax("an operation needs \"op\""))?;
    let op = match op_name.to_ascii_lowercase().as_str() {
        "add" => PatchOpKind::Add,
        "replace" => PatchOpKind::Replace,
        "remove" => PatchOpKind::Remove,
        other => {
            return Err(ScimError::invalid_syntax(format!(
                "unknown op {other:?}: expected add, replace or remove"
            )));
        }
    };
    let path = match get_ci(&obj, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(
            filter::parse_value_path(s)
                .map_err(|e| ScimError::invalid_path(format!("invalid path {s:?}: {e}")))?,
        ),
        Some(_) => return Err(ScimError::invalid_path("\"path\" must be a string")),
    };
    match op {
        PatchOpKind::Add | PatchOpKind::Replace if value.is_none() => {
            return Err(ScimError::invalid_value(format!(
                "{op_name} needs a \"value\""
            )));
        }
        PatchOpKind::Remove if path.is_none() => {
            return Err(ScimError::no_target(
                "remove needs a \"path\" (RFC 7644 §3.5.2.2)",
            ));
        }
        PatchOpKind::Add | PatchOpKind::Replace
            if path.is_none() && !value.as_ref().is_some_and(Value::is_object) =>
        {
            return Err(ScimError::invalid_value(format!(
                "{op_name} without a path needs an object \"value\""
            )));
        }
        _ => {}
    }
    Ok(PatchOperation { op, path, value })
}

/// Apply operations to `resource` (a canonical resource object) in order.
pub fn apply(
    resource: &mut Map<String, Value>,
    ops: &[PatchOperation],
    rs: &ResourceSchema,
    unknown: UnknownAttributes,
) -> Result<()> {
    for (i, op) in ops.iter().enumerate() {
        apply_one(resource, op, rs, unknown)
            .map_err(|e| e.context(&format!("operation {}", i + 1)))?;
    }
    Ok(())
}

fn apply_one(
    resource: &mut Map<String, Value>,
    op: &PatchOperation,
    rs: &ResourceSchema,
    unknown: UnknownAttributes,
) -> Result<()> {
    match &op.path {
        Some(path) => apply_path(resource, op.op, path, op.value.as_ref(), rs, unknown, true),
        None => {
            let value = op
                .value
                .as_ref()
                .and_then(Value::as_object)
                .expect("invariant: checked in parse");
            for (key, v) in value {
                if key.eq_ignore_ascii_case("schemas") {
                    continue;
                }
                let path = if rs.extension(key).is_some() {
                    PatchPath {
                        attr: AttrPath::new(Some(key), "", None),
                        filter: None,
                        sub_attr: None,
                    }
                } else {
                    match filter::parse_attr_path(key) {
                        Ok(Some(p)) => PatchPath {
                            attr: p,
                            filter: None,
                            sub_attr: None,
                        },
                        _ if unknown == UnknownAttributes::Ignore => continue,
                        _ => {
                            return Err(ScimError::invalid_value(format!(
                                "unknown attribute {key:?}"
                            )));
                        }
                    }
                };
                apply_path(resource, op.op, &path, Some(v), rs, unknown, false)?;
            }
            Ok(())
        }
    }
}

/// `explicit`: the path came from the operation's `path` (an explicit target),
/// not from a key of a path-less value (where read-only strays are ignored).
fn apply_path(
    resource: &mut Map<String, Value>,
    op: PatchOpKind,
    path: &PatchPath,
    value: Option<&Value>,
    rs: &ResourceSchema,
    unknown: UnknownAttributes,
    explicit: bool,
) -> Result<()> {
    // A whole extension object.
    if path.attr.name.is_empty() {
        let urn = path.attr.uri.as_deref().unwrap_or("");
        let Some(ext) = rs.extension(urn) else {
            return skip_unknown(unknown, &path.to_string());
        };
        let id = ext.schema.id.clone();
        match op {
            PatchOpKind::Remove => {
                resource.remove(&id);
            }
            PatchOpKind::Add | PatchOpKind::Replace => {
                let v = value.and_then(Value::as_object).ok_or_else(|| {
                    ScimError::invalid_value(format!("the value for {id} must be an object"))
                })?;
                for (k, sub) in v {
                    let Some(attr) = ext.schema.attribute(k) else {
                        skip_unknown(unknown, &format!("{id}:{k}"))?;
                        continue;
                    };
                    let p = PatchPath {
                        attr: AttrPath::new(Some(&id), &attr.name, None),
                        filter: None,
                        sub_attr: None,
                    };
                    apply_path(resource, op, &p, Some(sub), rs, unknown, false)?;
                }
            }
        }
        return Ok(());
    }
    let Some(res) = rs.resolve(&path.attr) else {
        return skip_unknown(unknown, &path.to_string());
    };
    let attr = res.attr;
    if attr.mutability == Mutability::ReadOnly
        || res
            .sub
            .is_some_and(|s| s.mutability == Mutability::ReadOnly)
    {
        if explicit {
            return Err(ScimError::mutability(format!(
                "attribute {} is read-only",
                res.canonical_path()
            )));
        }
        return Ok(()); // a stray `id` or `meta` inside a path-less value
    }
    // The JSON object holding the attribute: the resource, or its extension object.
    let container: &mut Map<String, Value> = match res.extension {
        None => resource,
        Some(ext) => {
            if op == PatchOpKind::Remove && !resource.contains_key(&ext.id) {
                return Ok(());
            }
            let entry = resource
                .entry(ext.id.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            entry
                .as_object_mut()
                .expect("invariant: made an object above")
        }
    };
    let sub_name = res.sub.map(|s| s.name.clone()).or_else(|| {
        path.sub_attr
            .as_ref()
            .and_then(|s| attr.sub(s))
            .map(|s| s.name.clone())
    });
    if path.sub_attr.is_some() && sub_name.is_none() {
        return skip_unknown(unknown, &path.to_string());
    }
    let result = if let Some(f) = &path.filter {
        apply_filtered(
            container,
            op,
            attr,
            f,
            sub_name.as_deref(),
            value,
            rs,
            &path.attr,
        )
    } else {
        apply_plain(container, op, attr, sub_name.as_deref(), value)
    };
    // An extension object left empty is removed.
    if let Some(ext) = res.extension {
        if resource
            .get(&ext.id)
            .and_then(Value::as_object)
            .is_some_and(Map::is_empty)
        {
            resource.remove(&ext.id);
        }
    }
    result
}

fn skip_unknown(unknown: UnknownAttributes, what: &str) -> Result<()> {
    match unknown {
        UnknownAttributes::Ignore => Ok(()),
        UnknownAttributes::Reject => Err(ScimError::invalid_path(format!(
            "no attribute {what} in the schema"
        ))),
    }
}

/// A bare string for a complex attribute with a `value` sub-attribute (Entra's
/// `manager: "id"`) becomes `{"value": "id"}`.
fn complexify(attr: &Attribute, v: &Value) -> Value {
    match v {
        Value::String(_) | Value::Number(_) | Value::Bool(_)
            if attr.ty == AttrType::Complex && attr.sub("value").is_some() =>
        {
            let mut m = Map::new();
            m.insert("value".into(), v.clone());
            Value::Object(m)
        }
        other => other.clone(),
    }
}

/// Canonicalise the keys of a complex value (sub-attribute names).
fn canon_keys(attr: &Attribute, v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, x)| match attr.sub(&k) {
                    Some(s) => (s.name.clone(), x),
                    None => (k, x),
                })
                .collect(),
        ),
        other => other,
    }
}

fn is_primary(v: &Value) -> bool {
    v.get("primary")
        .and_then(crate::schema::coerce_bool_value)
        .unwrap_or(false)
}

/// RFC 7644 §3.5.2: setting `primary` true on one value sets it false on the others.
fn enforce_primary(list: &mut [Value], keep: usize) {
    if !list.get(keep).is_some_and(is_primary) {
        return;
    }
    for (i, item) in list.iter_mut().enumerate() {
        if i != keep && is_primary(item) {
            if let Some(o) = item.as_object_mut() {
                o.insert("primary".into(), Value::Bool(false));
            }
        }
    }
}

/// Two elements of a multi-valued attribute are "the same value" when their
/// `value` sub-attributes are equal (case-insensitively unless caseExact), or,
/// without `value`, when they are equal as JSON.
fn same_value(attr: &Attribute, a: &Value, b: &Value) -> bool {
    match (a.get("value"), b.get("value")) {
        (Some(Value::String(x)), Some(Value::String(y))) => {
            let exact = attr.sub("value").is_some_and(|s| s.case_exact);
            if exact {
                x == y
            } else {
                crate::store::fold_case(x) == crate::store::fold_case(y)
            }
        }
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn apply_plain(
    container: &mut Map<String, Value>,
    op: PatchOpKind,
    attr: &Attribute,
    sub: Option<&str>,
    value: Option<&Value>,
) -> Result<()> {
    let name = attr.name.clone();
    match (op, attr.multi_valued, sub) {
        (PatchOpKind::Remove, false, None) => {
            container.remove(&name);
        }
        (PatchOpKind::Remove, false, Some(sub)) => {
            if let Some(Value::Object(o)) = container.get_mut(&name) {
                o.remove(sub);
                if o.is_empty() {
                    container.remove(&name);
                }
            }
        }
        (PatchOpKind::Remove, true, None) => match value {
            // Entra: remove these values only.
            Some(v) if !crate::schema::is_empty_value(v) => {
                let gone: Vec<Value> = match v {
                    Value::Array(a) => a.iter().map(|x| complexify(attr, x)).collect(),
                    other => vec![complexify(attr, other)],
                };
                if let Some(Value::Array(list)) = container.get_mut(&name) {
                    list.retain(|item| !gone.iter().any(|g| same_value(attr, item, g)));
                    if list.is_empty() {
                        container.remove(&name);
                    }
                }
            }
            _ => {
                container.remove(&name);
            }
        },
        (PatchOpKind::Remove, true, Some(sub)) => {
            if let Some(Value::Array(list)) = container.get_mut(&name) {
                for item in list.iter_mut() {
                    if let Some(o) = item.as_object_mut() {
                        o.remove(sub);
                    }
                }
                list.retain(|i| !crate::schema::is_empty_value(i));
                if list.is_empty() {
                    container.remove(&name);
                }
            }
        }
        (_, false, None) => {
            let v = value.expect("invariant: add/replace have a value");
            let v = canon_keys(attr, complexify(attr, v));
            match (attr.ty, v, container.get_mut(&name)) {
                // Complex: merge the given sub-attributes (RFC 7644 §3.5.2.1, §3.5.2.3).
                (AttrType::Complex, Value::Object(new), Some(Value::Object(old))) => {
                    for (k, x) in new {
                        if x.is_null() {
                            old.remove(&k);
                        } else {
                            old.insert(k, x);
                        }
                    }
                }
                (_, v, _) => {
                    container.insert(name, v);
                }
            }
        }
        (_, false, Some(sub)) => {
            let v = value.expect("invariant: add/replace have a value").clone();
            let entry = container
                .entry(name)
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            entry
                .as_object_mut()
                .expect("invariant: made an object above")
                .insert(sub.to_owned(), v);
        }
        (PatchOpKind::Add, true, None) => {
            let v = value.expect("invariant: add has a value");
            let items: Vec<Value> = match v {
                Value::Array(a) => a
                    .iter()
                    .map(|x| canon_keys(attr, complexify(attr, x)))
                    .collect(),
                other => vec![canon_keys(attr, complexify(attr, other))],
            };
            let entry = container
                .entry(name)
                .or_insert_with(|| Value::Array(Vec::new()));
            if !entry.is_array() {
                *entry = Value::Array(Vec::new());
            }
            let list = entry
                .as_array_mut()
                .expect("invariant: made an array above");
            for item in items {
                if crate::schema::is_empty_value(&item) {
                    continue;
                }
                // Adding a value that is already there updates it instead of duplicating.
                let idx = match list.iter().position(|x| same_value(attr, x, &item)) {
                    Some(i) => {
                        if let (Some(old), Value::Object(new)) = (list[i].as_object_mut(), &item) {
                            for (k, x) in new {
                                old.insert(k.clone(), x.clone());
                            }
                        } else {
                            list[i] = item;
                        }
                        i
                    }
                    None => {
                        list.push(item);
                        list.len() - 1
                    }
                };
                enforce_primary(list, idx);
            }
        }
        (PatchOpKind::Replace, true, None) => {
            let v = value.expect("invariant: replace has a value");
            let items: Vec<Value> = match v {
                Value::Array(a) => a
                    .iter()
                    .map(|x| canon_keys(attr, complexify(attr, x)))
                    .collect(),
                other => vec![canon_keys(attr, complexify(attr, other))],
            };
            container.insert(name, Value::Array(items));
        }
        (_, true, Some(sub)) => {
            // `emails.value` without a filter: every value (or a new one).
            let v = value.expect("invariant: add/replace have a value").clone();
            let entry = container
                .entry(name)
                .or_insert_with(|| Value::Array(Vec::new()));
            if !entry.is_array() {
                *entry = Value::Array(Vec::new());
            }
            let list = entry
                .as_array_mut()
                .expect("invariant: made an array above");
            if list.is_empty() {
                list.push(Value::Object(Map::new()));
            }
            for item in list.iter_mut() {
                if let Some(o) = item.as_object_mut() {
                    o.insert(sub.to_owned(), v.clone());
                }
            }
        }
    }
    Ok(())
}

/// The `eq` conditions of a conjunction filter, to create the element a filtered
/// add/replace did not find (`emails[type eq "work"]` → `{"type": "work"}`).
fn eq_template(f: &Filter, out: &mut Map<String, Value>) -> bool {
    match f {
        Filter::And(a, b) => eq_template(a, out) && eq_template(b, out),
        Filter::Compare(p, CompareOp::Eq, v) if p.uri.is_none() && p.sub_attr.is_none() => {
            let v = match v {
                CompValue::Str(s) => Value::String(s.clone()),
                CompValue::Num(n) => Value::Number(n.clone()),
                CompValue::Bool(b) => Value::Bool(*b),
                CompValue::Null => return false,
            };
            out.insert(p.name.clone(), v);
            true
        }
        _ => false,
    }
}

#[allow(clippy::too_many_arguments)]
fn apply_filtered(
    container: &mut Map<String, Value>,
    op: PatchOpKind,
    attr: &Attribute,
    f: &Filter,
    sub: Option<&str>,
    value: Option<&Value>,
    rs: &ResourceSchema,
    attr_path: &AttrPath,
) -> Result<()> {
    if attr.ty != AttrType::Complex {
        return Err(ScimError::invalid_path(format!(
            "{}[…]: a value filter needs a complex attribute",
            attr.name
        )));
    }
    // Resolve the inner filter relative to the attribute (canonical sub-attribute names).
    let resolved = filter::resolve(
        &Filter::ValuePath(attr_path.clone(), Box::new(f.clone())),
        rs,
    )
    .map_err(|e| ScimError::invalid_path(format!("invalid value filter: {}", e.detail())))?;
    let Filter::ValuePath(_, inner) = resolved else {
        unreachable!("resolve keeps the node kind")
    };
    let name = attr.name.clone();
    let matched: Vec<usize> = match container.get(&name) {
        Some(Value::Array(list)) => list
            .iter()
            .enumerate()
            .filter(|(_, item)| filter::matches_element(&inner, item, attr))
            .map(|(i, _)| i)
            .collect(),
        Some(item @ Value::Object(_)) if !attr.multi_valued => {
            if filter::matches_element(&inner, item, attr) {
                vec![0]
            } else {
                vec![]
            }
        }
        _ => vec![],
    };
    if !attr.multi_valued {
        // A filter on a singular complex attribute: operate on it when it matches.
        if matched.is_empty() {
            return if op == PatchOpKind::Remove {
                Ok(())
            } else {
                Err(ScimError::no_target(format!(
                    "{name}[{f}] matched no value"
                )))
            };
        }
        return apply_plain(container, op, attr, sub, value);
    }
    match op {
        PatchOpKind::Remove => {
            if let Some(Value::Array(list)) = container.get_mut(&name) {
                match sub {
                    None => {
                        let mut i = 0;
                        list.retain(|_| {
                            let keep = !matched.contains(&i);
                            i += 1;
                            keep
                        });
                    }
                    Some(sub) => {
                        for &i in &matched {
                            if let Some(o) = list[i].as_object_mut() {
                                o.remove(sub);
                            }
                        }
                        list.retain(|i| !crate::schema::is_empty_value(i));
                    }
                }
                if list.is_empty() {
                    container.remove(&name);
                }
            }
            Ok(())
        }
        PatchOpKind::Add | PatchOpKind::Replace => {
            let v = value.expect("invariant: add/replace have a value");
            let entry = container
                .entry(name.clone())
                .or_insert_with(|| Value::Array(Vec::new()));
            if !entry.is_array() {
                *entry = Value::Array(Vec::new());
            }
            let list = entry
                .as_array_mut()
                .expect("invariant: made an array above");
            if matched.is_empty() {
                // Entra: create the element the filter describes.
                let mut template = Map::new();
                if !eq_template(&inner, &mut template) {
                    return Err(ScimError::no_target(format!(
                        "{name}[{f}] matched no value and does not describe one to create"
                    )));
                }
                match sub {
                    Some(sub) => {
                        template.insert(sub.to_owned(), v.clone());
                    }
                    None => {
                        if let Value::Object(m) = canon_keys(attr, complexify(attr, v)) {
                            for (k, x) in m {
                                template.insert(k, x);
                            }
                        }
                    }
                }
                list.push(Value::Object(template));
                let last = list.len() - 1;
                enforce_primary(list, last);
                return Ok(());
            }
            for &i in &matched {
                match sub {
                    Some(sub) => {
                        if let Some(o) = list[i].as_object_mut() {
                            o.insert(sub.to_owned(), v.clone());
                        }
                    }
                    None => {
                        let new = canon_keys(attr, complexify(attr, v));
                        match (op, list[i].as_object_mut(), new) {
                            (PatchOpKind::Add, Some(old), Value::Object(m)) => {
                                for (k, x) in m {
                                    old.insert(k, x);
                                }
                            }
                            (_, _, new) => list[i] = new,
                        }
                    }
                }
                enforce_primary(list, i);
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::schema::{ENTERPRISE_USER_SCHEMA, Registry, ResourceKind};

    fn patch(resource: Value, ops: Value) -> Result<Value> {
        let reg = Registry::default();
        let rs = reg.get(ResourceKind::User);
        let body = json!({"schemas": [PATCH_OP_SCHEMA], "Operations": ops});
        let ops = parse_request(&body, 100)?;
        let mut m = resource.as_object().unwrap().clone();
        apply(&mut m, &ops, rs, UnknownAttributes::Ignore)?;
        Ok(Value::Object(m))
    }

    fn base() -> Value {
        json!({
            "userName": "a@x",
            "active": true,
            "name": {"givenName": "A", "familyName": "B"},
            "emails": [{"value": "a@x", "type": "work", "primary": true}],
        })
    }

    #[test]
    fn capitalised_ops_and_string_booleans_are_accepted() {
        let v = patch(
            base(),
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
        )
        .unwrap();
        // Coerced to a boolean by validation afterwards; the raw value is kept here.
        assert_eq!(v["active"], "False");
    }

    #[test]
    fn path_less_replace_with_dotted_and_urn_keys() {
        let v = patch(
            base(),
            json!([{"op": "Replace", "value": {
                "active": false,
                "name.givenName": "Alice",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "R&D",
                "id": "stray", "meta": {"x": 1}
            }}]),
        )
        .unwrap();
        assert_eq!(v["active"], false);
        assert_eq!(v["name"], json!({"givenName": "Alice", "familyName": "B"}));
        assert_eq!(v[ENTERPRISE_USER_SCHEMA], json!({"department": "R&D"}));
        assert!(v.get("id").is_none(), "stray id ignored");
    }

    #[test]
    fn filtered_add_creates_missing_element_with_its_type() {
        let v = patch(
            base(),
            json!([
                {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555"},
                {"op": "Replace", "path": "addresses[type eq \"work\"].locality", "value": "Paris"},
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "new@x"},
            ]),
        )
        .unwrap();
        assert_eq!(
            v["phoneNumbers"],
            json!([{"type": "mobile", "value": "+1 555"}])
        );
        assert_eq!(
            v["addresses"],
            json!([{"type": "work", "locality": "Paris"}])
        );
        assert_eq!(
            v["emails"],
            json!([{"value": "new@x", "type": "work", "primary": true}])
        );
    }

    #[test]
    fn manager_as_bare_string_and_removal() {
        let path = format!("{ENTERPRISE_USER_SCHEMA}:manager");
        let v = patch(
            base(),
            json!([{"op": "Add", "path": path, "value": "boss-id"}]),
        )
        .unwrap();
        assert_eq!(
            v[ENTERPRISE_USER_SCHEMA]["manager"],
            json!({"value": "boss-id"})
        );
        let v = patch(
            v,
            json!([{"op": "Replace", "path": path, "value": {"value": "b2"}}]),
        )
        .unwrap();
        assert_eq!(v[ENTERPRISE_USER_SCHEMA]["manager"], json!({"value": "b2"}));
        let v = patch(v, json!([{"op": "Remove", "path": path}])).unwrap();
        assert!(
            v.get(ENTERPRISE_USER_SCHEMA).is_none(),
            "an emptied extension disappears"
        );
    }

    #[test]
    fn add_to_multi_valued_appends_and_moves_primary() {
        let v = patch(
            base(),
            json!([{"op": "add", "path": "emails",
            "value": [{"value": "b@x", "type": "home", "primary": true}]}]),
        )
        .unwrap();
        assert_eq!(
            v["emails"],
            json!([
                {"value": "a@x", "type": "work", "primary": false},
                {"value": "b@x", "type": "home", "primary": true},
            ])
        );
        // Adding an existing value does not duplicate it.
        let v = patch(
            v,
            json!([{"op": "add", "path": "emails", "value": [{"value": "B@X"}]}]),
        )
        .unwrap();
        assert_eq!(v["emails"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn remove_semantics() {
        let v = patch(base(), json!([{"op": "remove", "path": "name.givenName"}])).unwrap();
        assert_eq!(v["name"], json!({"familyName": "B"}));
        let v = patch(
            v,
            json!([{"op": "remove", "path": "emails[type eq \"work\"]"}]),
        )
        .unwrap();
        assert!(v.get("emails").is_none());
        let v = patch(v, json!([{"op": "remove", "path": "title"}])).unwrap();
        assert!(
            v.get("title").is_none(),
            "removing an absent attribute is fine"
        );
        let e = patch(base(), json!([{"op": "remove"}])).unwrap_err();
        assert_eq!(e.scim_type(), Some(crate::ScimType::NoTarget));
    }

    #[test]
    fn remove_values_from_a_multi_valued_attribute() {
        let reg = Registry::default();
        let rs = reg.get(ResourceKind::Group);
        let mut g = json!({"displayName": "G", "members": [{"value": "1"}, {"value": "2"}, {"value": "3"}]})
            .as_object().unwrap().clone();
        let ops = parse_request(
            &json!({"Operations": [
                {"op": "Remove", "path": "members", "value": [{"value": "1"}, {"value": "3"}]},
                {"op": "Remove", "path": "members[value eq \"nope\"]"},
            ]}),
            10,
        )
        .unwrap();
        apply(&mut g, &ops, rs, UnknownAttributes::Ignore).unwrap();
        assert_eq!(g["members"], json!([{"value": "2"}]));
    }

    #[test]
    fn errors() {
        let e = patch(base(), json!([{"op": "jump", "path": "x"}])).unwrap_err();
        assert_eq!(
            e.detail(),
            "operation 1: unknown op \"jump\": expected add, replace or remove"
        );
        let e = patch(
            base(),
            json!([{"op": "add", "path": "emails[type eq]", "value": 1}]),
        )
        .unwrap_err();
        assert_eq!(e.scim_type(), Some(crate::ScimType::InvalidPath));
        let e = patch(
            base(),
            json!([{"op": "replace", "path": "id", "value": "x"}]),
        )
        .unwrap_err();
        assert_eq!(e.scim_type(), Some(crate::ScimType::Mutability));
        let e = patch(base(), json!([{"op": "add", "path": "title"}])).unwrap_err();
        assert_eq!(e.detail(), "operation 1: add needs a \"value\"");
        let e = patch(
            base(),
            json!([{"op": "replace", "path": "emails[value co \"zz\"].type", "value": "x"}]),
        )
        .unwrap_err();
        assert_eq!(e.scim_type(), Some(crate::ScimType::NoTarget));
        let reg = Registry::default();
        let e = parse_request(
            &json!({"Operations": vec![json!({"op": "remove", "path": "x"}); 11]}),
            10,
        )
        .unwrap_err();
        assert_eq!(e.scim_type(), Some(crate::ScimType::TooMany));
        let _ = reg;
    }

    #[test]
    fn unknown_paths_follow_policy() {
        assert!(
            patch(
                base(),
                json!([{"op": "add", "path": "shoeSize", "value": 1}])
            )
            .is_ok()
        );
        let reg = Registry::default();
        let ops = parse_request(
            &json!({"Operations": [{"op": "add", "path": "shoeSize", "value": 1}]}),
            10,
        )
        .unwrap();
        let mut m = base().as_object().unwrap().clone();
        let e = apply(
            &mut m,
            &ops,
            reg.get(ResourceKind::User),
            UnknownAttributes::Reject,
        )
        .unwrap_err();
        assert_eq!(e.scim_type(), Some(crate::ScimType::InvalidPath));
    }
}
