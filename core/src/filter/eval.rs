//! Checking a filter against the schema ([`resolve`]) and evaluating it against
//! a resource ([`matches`]), with types and case-exactness from the schema.

use std::cmp::Ordering;

use serde_json::Value;

use super::{AttrPath, CompValue, CompareOp, Filter};
use crate::error::{Result, ScimError};
use crate::schema::{AttrType, Attribute, ResourceSchema};

/// Check `f` against the schema and rewrite it canonically: every path resolved
/// (unknown attribute → `invalidFilter`, as Entra requires), canonical names,
/// comparisons on a multi-valued complex attribute rewritten to its `value`
/// sub-attribute, boolean strings coerced, and operator/type mismatches
/// (`gt` on a boolean, `co` on a number, …) rejected with `invalidFilter`.
pub fn resolve(f: &Filter, rs: &ResourceSchema) -> Result<Filter> {
    resolve_in(f, rs, None)
}

/// `parent`: inside a value filter `attr[…]`, the complex attribute whose
/// sub-attributes the inner paths name.
fn resolve_in(f: &Filter, rs: &ResourceSchema, parent: Option<&Attribute>) -> Result<Filter> {
    Ok(match f {
        Filter::Or(a, b) => Filter::Or(
            Box::new(resolve_in(a, rs, parent)?),
            Box::new(resolve_in(b, rs, parent)?),
        ),
        Filter::And(a, b) => Filter::And(
            Box::new(resolve_in(a, rs, parent)?),
            Box::new(resolve_in(b, rs, parent)?),
        ),
        Filter::Not(a) => Filter::Not(Box::new(resolve_in(a, rs, parent)?)),
        Filter::Present(p) => Filter::Present(resolve_path(p, rs, parent, None)?.0),
        Filter::Compare(p, op, v) => {
            let (path, leaf) = resolve_path(p, rs, parent, Some(*op))?;
            let v = check_value(&path, leaf, *op, v)?;
            Filter::Compare(path, *op, v)
        }
        Filter::ValuePath(p, inner) => {
            if parent.is_some() {
                return Err(ScimError::invalid_filter(
                    "nested value filters are not allowed",
                ));
            }
            let res = rs
                .resolve(p)
                .filter(|r| r.sub.is_none())
                .ok_or_else(|| unknown(p))?;
            if res.attr.ty != AttrType::Complex {
                return Err(ScimError::invalid_filter(format!(
                    "{p}[…]: a value filter needs a complex attribute"
                )));
            }
            Filter::ValuePath(
                res.canonical_path(),
                Box::new(resolve_in(inner, rs, Some(res.attr))?),
            )
        }
    })
}

fn unknown(p: &AttrPath) -> ScimError {
    ScimError::invalid_filter(format!("unknown attribute `{p}` in filter"))
}

/// The pseudo-attribute `schemas` (RFC 7644 §3.4.2.2 uses it in an example).
fn schemas_attr() -> &'static Attribute {
    static ATTR: std::sync::OnceLock<Attribute> = std::sync::OnceLock::new();
    ATTR.get_or_init(|| Attribute::new("schemas", AttrType::Reference).multi())
}

fn resolve_path<'s>(
    p: &AttrPath,
    rs: &'s ResourceSchema,
    parent: Option<&'s Attribute>,
    op: Option<CompareOp>,
) -> Result<(AttrPath, &'s Attribute)> {
    let (mut path, leaf) = match parent {
        Some(parent) => {
            if p.uri.is_some() || p.sub_attr.is_some() {
                return Err(unknown(p));
            }
            let sub = parent.sub(&p.name).ok_or_else(|| unknown(p))?;
            (AttrPath::simple(&sub.name), sub)
        }
        None if p.is("schemas") => (AttrPath::simple("schemas"), schemas_attr()),
        None => {
            let r = rs.resolve(p).ok_or_else(|| unknown(p))?;
            (r.canonical_path(), r.leaf())
        }
    };
    if leaf.ty == AttrType::Complex && op.is_some() {
        // `emails co "example.com"` compares the `value` sub-attribute.
        if let (true, Some(value)) = (
            leaf.multi_valued && path.sub_attr.is_none(),
            leaf.sub("value"),
        ) {
            path.sub_attr = Some(value.name.clone());
            return Ok((path, value));
        }
        return Err(ScimError::invalid_filter(format!(
            "`{path}` is a complex attribute and cannot be compared; name a sub-attribute"
        )));
    }
    Ok((path, leaf))
}

fn check_value(
    path: &AttrPath,
    leaf: &Attribute,
    op: CompareOp,
    v: &CompValue,
) -> Result<CompValue> {
    let bad = |why: &str| ScimError::invalid_filter(format!("`{path} {op} {v}`: {why}"));
    if matches!(v, CompValue::Null) {
        return if matches!(op, CompareOp::Eq | CompareOp::Ne) {
            Ok(CompValue::Null)
        } else {
            Err(bad("null can only be compared with eq or ne"))
        };
    }
    match leaf.ty {
        AttrType::Boolean => {
            if op != CompareOp::Eq && op != CompareOp::Ne {
                return Err(bad(
                    "boolean attributes support only eq and ne (RFC 7644 §3.4.2.2)",
                ));
            }
            match v {
                CompValue::Bool(_) => Ok(v.clone()),
                CompValue::Str(s) if s.eq_ignore_ascii_case("true") => Ok(CompValue::Bool(true)),
                CompValue::Str(s) if s.eq_ignore_ascii_case("false") => Ok(CompValue::Bool(false)),
                _ => Err(bad("expected true or false")),
            }
        }
        AttrType::Binary if op.is_ordering() => Err(bad(
            "binary attributes cannot be ordered (RFC 7644 §3.4.2.2)",
        )),
        AttrType::Integer | AttrType::Decimal => match v {
            CompValue::Num(_) if !op.is_substring() => Ok(v.clone()),
            CompValue::Num(_) => Err(bad("co, sw and ew apply to strings only")),
            _ => Err(bad("expected a number")),
        },
        AttrType::DateTime => match v {
            CompValue::Str(s) => {
                if !op.is_substring() && crate::time::parse(s).is_err() {
                    return Err(bad("expected a dateTime such as \"2011-05-13T04:42:34Z\""));
                }
                Ok(v.clone())
            }
            _ => Err(bad("expected a dateTime string")),
        },
        _ => match v {
            CompValue::Str(_) => Ok(v.clone()),
            _ => Err(bad("expected a string")),
        },
    }
}

/// Whether `resource` matches a filter that went through [`resolve`].
pub fn matches(f: &Filter, resource: &Value, rs: &ResourceSchema) -> bool {
    match f {
        Filter::Or(a, b) => matches(a, resource, rs) || matches(b, resource, rs),
        Filter::And(a, b) => matches(a, resource, rs) && matches(b, resource, rs),
        Filter::Not(a) => !matches(a, resource, rs),
        Filter::Present(p) => {
            let Some((leaf, values)) = top_values(p, resource, rs) else {
                return false;
            };
            values.iter().any(|v| present(v, leaf))
        }
        Filter::Compare(p, op, v) => {
            let Some((leaf, values)) = top_values(p, resource, rs) else {
                return absent_matches(*op, v);
            };
            compare_any(&values, leaf, *op, v)
        }
        Filter::ValuePath(p, inner) => {
            let Some(res) = rs.resolve(p) else {
                return false;
            };
            match res.top_value(resource) {
                Some(Value::Array(items)) => {
                    items.iter().any(|item| matches_sub(inner, item, res.attr))
                }
                Some(item @ Value::Object(_)) => matches_sub(inner, item, res.attr),
                _ => false,
            }
        }
    }
}

/// Evaluate the inner filter of a value path against one element.
pub(crate) fn matches_sub(f: &Filter, item: &Value, parent: &Attribute) -> bool {
    match f {
        Filter::Or(a, b) => matches_sub(a, item, parent) || matches_sub(b, item, parent),
        Filter::And(a, b) => matches_sub(a, item, parent) && matches_sub(b, item, parent),
        Filter::Not(a) => !matches_sub(a, item, parent),
        Filter::Present(p) | Filter::Compare(p, ..) => {
            let Some(leaf) = parent.sub(&p.name) else {
                return false;
            };
            let value = item.get(&leaf.name);
            match f {
                Filter::Present(_) => value.is_some_and(|v| present(v, leaf)),
                Filter::Compare(_, op, cv) => match value {
                    Some(v) if !v.is_null() => compare_any(&[v], leaf, *op, cv),
                    _ => absent_matches(*op, cv),
                },
                _ => unreachable!("matched above"),
            }
        }
        Filter::ValuePath(..) => false,
    }
}

/// Whether a comparison matches an absent (or null) attribute: `eq null` does,
/// `ne` anything but null does; `ne null` means "present", so it does not.
fn absent_matches(op: CompareOp, v: &CompValue) -> bool {
    match op {
        CompareOp::Eq => *v == CompValue::Null,
        CompareOp::Ne => *v != CompValue::Null,
        _ => false,
    }
}

/// The values a (resolved) path reaches, flattened over multi-valued attributes.
/// `None` when the attribute is unknown or absent.
fn top_values<'v, 's>(
    p: &AttrPath,
    resource: &'v Value,
    rs: &'s ResourceSchema,
) -> Option<(&'s Attribute, Vec<&'v Value>)> {
    if p.is("schemas") {
        let list = resource.get("schemas")?.as_array()?;
        return Some((schemas_attr(), list.iter().collect()));
    }
    let res = rs.resolve(p)?;
    let top = res.top_value(resource)?;
    let leaf = res.leaf();
    let mut out = Vec::new();
    let mut push = |v: &'v Value| match res.sub {
        None => out.push(v),
        Some(sub) => {
            if let Some(x) = v.get(&sub.name) {
                out.push(x)
            }
        }
    };
    match top {
        Value::Array(items) => items.iter().for_each(&mut push),
        other => push(other),
    }
    out.retain(|v| !v.is_null());
    if out.is_empty() {
        None
    } else {
        Some((leaf, out))
    }
}

fn present(v: &Value, _leaf: &Attribute) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

fn compare_any(values: &[&Value], leaf: &Attribute, op: CompareOp, cv: &CompValue) -> bool {
    match op {
        // `ne` is the negation of `eq` over all values.
        CompareOp::Ne => !values
            .iter()
            .any(|v| compare_one(v, leaf, CompareOp::Eq, cv)),
        _ => values.iter().any(|v| compare_one(v, leaf, op, cv)),
    }
}

fn compare_one(v: &Value, leaf: &Attribute, op: CompareOp, cv: &CompValue) -> bool {
    match (v, cv) {
        (_, CompValue::Null) => false,
        (Value::Bool(a), CompValue::Bool(b)) => op == CompareOp::Eq && a == b,
        (Value::Number(a), CompValue::Num(b)) => {
            let ord = cmp_numbers(a, b);
            ordering_matches(op, ord)
        }
        (Value::String(a), CompValue::Str(b)) => {
            if leaf.ty == AttrType::DateTime && !op.is_substring() {
                return match (crate::time::parse(a), crate::time::parse(b)) {
                    (Ok(x), Ok(y)) => ordering_matches(op, x.cmp(&y)),
                    _ => false,
                };
            }
            let (a, b) = if leaf.case_exact {
                (
                    std::borrow::Cow::Borrowed(a.as_str()),
                    std::borrow::Cow::Borrowed(b.as_str()),
                )
            } else {
                (fold(a), fold(b))
            };
            match op {
                CompareOp::Co => a.contains(&*b),
                CompareOp::Sw => a.starts_with(&*b),
                CompareOp::Ew => a.ends_with(&*b),
                _ => ordering_matches(op, a.cmp(&b)),
            }
        }
        _ => false,
    }
}

/// Case folding for caseExact=false comparisons (the same folding the stores'
/// unique keys use: [`crate::store::fold_case`]).
fn fold(s: &str) -> std::borrow::Cow<'_, str> {
    if s.bytes().all(|b| !b.is_ascii_uppercase() && b.is_ascii()) {
        std::borrow::Cow::Borrowed(s)
    } else {
        std::borrow::Cow::Owned(crate::store::fold_case(s))
    }
}

fn cmp_numbers(a: &serde_json::Number, b: &serde_json::Number) -> Ordering {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return x.cmp(&y);
    }
    let x = a.as_f64().unwrap_or(f64::NAN);
    let y = b.as_f64().unwrap_or(f64::NAN);
    x.partial_cmp(&y).unwrap_or(Ordering::Equal)
}

fn ordering_matches(op: CompareOp, ord: Ordering) -> bool {
    match op {
        CompareOp::Eq => ord == Ordering::Equal,
        CompareOp::Ne => ord != Ordering::Equal,
        CompareOp::Gt => ord == Ordering::Greater,
        CompareOp::Ge => ord != Ordering::Less,
        CompareOp::Lt => ord == Ordering::Less,
        CompareOp::Le => ord != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

/// Order two values of attribute `leaf` for `sortBy` (RFC 7644 §3.4.2.3): by type,
/// case-folded unless caseExact. Missing values (`None`) sort last.
pub fn compare_values(a: Option<&Value>, b: Option<&Value>, leaf: &Attribute) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(a), Some(b)) => match (a, b) {
            (Value::Number(x), Value::Number(y)) => cmp_numbers(x, y),
            (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
            (Value::String(x), Value::String(y)) => {
                if leaf.ty == AttrType::DateTime {
                    if let (Ok(p), Ok(q)) = (crate::time::parse(x), crate::time::parse(y)) {
                        return p.cmp(&q);
                    }
                }
                if leaf.case_exact {
                    x.cmp(y)
                } else {
                    fold(x).cmp(&fold(y))
                }
            }
            _ => Ordering::Equal,
        },
    }
}

/// The value `sortBy` sorts a resource by: for a multi-valued attribute the
/// primary value, else the first (RFC 7644 §3.4.2.3).
pub fn sort_key<'v>(resource: &'v Value, p: &AttrPath, rs: &ResourceSchema) -> Option<&'v Value> {
    let res = rs.resolve(p)?;
    let top = res.top_value(resource)?;
    let item = match top {
        Value::Array(items) => items
            .iter()
            .find(|i| i.get("primary") == Some(&Value::Bool(true)))
            .or_else(|| items.first())?,
        other => other,
    };
    let leaf = match (res.sub, res.attr.ty) {
        (Some(sub), _) => item.get(&sub.name)?,
        (None, AttrType::Complex) => item.get("value")?,
        (None, _) => item,
    };
    (!leaf.is_null()).then_some(leaf)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::filter::parse;
    use crate::schema::{Registry, ResourceKind};

    fn check(filter: &str, resource: &Value) -> bool {
        let reg = Registry::default();
        let rs = reg.get(ResourceKind::User);
        let f = resolve(&parse(filter).unwrap(), rs).unwrap_or_else(|e| panic!("{filter}: {e}"));
        matches(&f, resource, rs)
    }

    fn rejects(filter: &str) -> String {
        let reg = Registry::default();
        resolve(&parse(filter).unwrap(), reg.get(ResourceKind::User))
            .unwrap_err()
            .detail()
            .to_owned()
    }

    fn bjensen() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "2819c223",
            "externalId": "Ext-1",
            "userName": "Bjensen@Example.com",
            "name": {"familyName": "Jensen", "givenName": "Barbara"},
            "active": true,
            "title": "Tour Guide",
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            "meta": {"created": "2010-01-23T04:56:22Z", "lastModified": "2011-05-13T04:42:34Z"},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "701984", "department": "Tour Operations"}
        })
    }

    #[test]
    fn case_insensitive_user_name_and_case_exact_external_id() {
        let u = bjensen();
        assert!(check(r#"userName eq "bjensen@example.com""#, &u));
        assert!(check(r#"USERNAME Eq "BJENSEN@EXAMPLE.COM""#, &u));
        assert!(check(r#"externalId eq "Ext-1""#, &u));
        assert!(!check(r#"externalId eq "ext-1""#, &u));
        assert!(check(r#"id eq "2819c223""#, &u));
    }

    #[test]
    fn every_operator() {
        let u = bjensen();
        assert!(check(r#"name.familyName co "ens""#, &u));
        assert!(check(r#"name.familyName sw "j""#, &u));
        assert!(check(r#"name.familyName ew "SEN""#, &u));
        assert!(check(r#"title ne "CEO""#, &u));
        assert!(!check(r#"title ne "tour guide""#, &u));
        assert!(
            check(r#"nickName ne "x""#, &u),
            "ne matches an absent attribute"
        );
        assert!(check("title pr", &u));
        assert!(!check("nickName pr", &u));
        assert!(check(r#"meta.lastModified gt "2011-05-13T04:42:33Z""#, &u));
        assert!(check(
            r#"meta.lastModified ge "2011-05-13T06:42:34+02:00""#,
            &u
        ));
        assert!(!check(r#"meta.lastModified lt "2011-05-13T04:42:34Z""#, &u));
        assert!(check(r#"meta.lastModified le "2011-05-13T04:42:34Z""#, &u));
        assert!(check(r#"userName gt "a""#, &u));
        assert!(check(r#"userName lt "C""#, &u));
        assert!(check("active eq true", &u));
        assert!(check(r#"active eq "True""#, &u), "Entra's string booleans");
        assert!(!check("active ne true", &u));
        assert!(check("nickName eq null", &u));
        assert!(!check("title eq null", &u));
        assert!(check("title ne null", &u), "ne null means present");
        assert!(!check("nickName ne null", &u));
        assert!(
            check(r#"emails[display ne "x"]"#, &u),
            "ne matches an absent sub-attribute"
        );
        assert!(!check("emails[display ne null]", &u));
    }

    #[test]
    fn multi_valued_and_value_paths() {
        let u = bjensen();
        assert!(check(r#"emails co "jensen.org""#, &u));
        assert!(check(r#"emails.value ew "example.com""#, &u));
        assert!(check(
            r#"emails[type eq "work" and value co "@example.com"]"#,
            &u
        ));
        assert!(!check(
            r#"emails[type eq "home" and value co "@example.com"]"#,
            &u
        ));
        assert!(check(r#"emails[primary eq true]"#, &u));
        assert!(check(r#"emails[not (type eq "work")]"#, &u));
        assert!(check(r#"emails.type eq "home""#, &u));
    }

    #[test]
    fn logical_operators_and_extensions() {
        let u = bjensen();
        assert!(check(r#"title pr and userName sw "b""#, &u));
        assert!(check(r#"title eq "x" or userName sw "b""#, &u));
        assert!(!check(r#"not (title pr)"#, &u));
        assert!(check(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#,
            &u
        ));
        assert!(check(
            r#"urn:ietf:params:scim:schemas:core:2.0:User:name.givenName eq "barbara""#,
            &u
        ));
        assert!(check(
            r#"schemas eq "urn:ietf:params:scim:schemas:core:2.0:User""#,
            &u
        ));
    }

    #[test]
    fn schema_errors_are_invalid_filter() {
        assert_eq!(
            rejects(r#"foo eq "x""#),
            "unknown attribute `foo` in filter"
        );
        assert_eq!(
            rejects(r#"name.nope eq "x""#),
            "unknown attribute `name.nope` in filter"
        );
        assert_eq!(
            rejects("active gt true"),
            "`active gt true`: boolean attributes support only eq and ne (RFC 7644 §3.4.2.2)"
        );
        assert_eq!(
            rejects(r#"active eq "yes""#),
            "`active eq \"yes\"`: expected true or false"
        );
        assert_eq!(
            rejects(r#"meta.created gt "yesterday""#),
            "`meta.created gt \"yesterday\"`: expected a dateTime such as \"2011-05-13T04:42:34Z\""
        );
        assert_eq!(
            rejects(r#"name eq "x""#),
            "`name` is a complex attribute and cannot be compared; name a sub-attribute"
        );
        assert_eq!(
            rejects(r#"userName[value eq "x"]"#),
            "userName[…]: a value filter needs a complex attribute"
        );
        assert_eq!(
            rejects(r#"emails[nope eq "x"]"#),
            "unknown attribute `nope` in filter"
        );
        assert_eq!(
            rejects("userName gt 3"),
            "`userName gt 3`: expected a string"
        );
        assert_eq!(
            rejects("userName co null"),
            "`userName co null`: null can only be compared with eq or ne"
        );
    }

    #[test]
    fn resolve_canonicalises() {
        let reg = Registry::default();
        let f = resolve(
            &parse(r#"USERNAME eq "x" and EMAILS co "y" and urn:ietf:params:scim:schemas:core:2.0:User:Title pr"#).unwrap(),
            reg.get(ResourceKind::User),
        )
        .unwrap();
        assert_eq!(
            f.to_string(),
            r#"userName eq "x" and emails.value co "y" and title pr"#
        );
    }

    #[test]
    fn sort_values_put_missing_last() {
        let a = Attribute::new("x", AttrType::String);
        assert_eq!(
            compare_values(Some(&json!("B")), Some(&json!("a")), &a),
            Ordering::Greater
        );
        assert_eq!(
            compare_values(None, Some(&json!("a")), &a),
            Ordering::Greater
        );
    }
}
