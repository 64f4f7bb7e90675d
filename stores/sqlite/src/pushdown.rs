//! Filter and sort push-down: a resolved [`Filter`] becomes a SQL condition over
//! the derived columns, with every value a bound parameter.
//!
//! The SQL text is assembled only from the fixed column names and operators in
//! this file; nothing from the filter but the shape of the tree reaches it.
//! Each condition is two-valued (never SQL `NULL`), so `NOT` and `OR` compose
//! exactly like the core evaluator's `!` and `||`.
//!
//! Semantics mirrored from [`scimkit::filter::matches`]:
//! * an absent attribute matches `ne` and `eq null`, nothing else;
//!   `x ne null` matches everything;
//! * `pr` needs a value that is not `""`;
//! * on a multi-valued attribute a comparison matches if any value does, and
//!   `ne` is the negation of `eq`;
//! * case-insensitive attributes compare their folded column with the folded
//!   operand; dateTimes compare as instants (normalised text).
//!
//! Whatever cannot be translated exactly (extension attributes, `name.*`,
//! substring operators on dateTimes, …) yields `None`; the store then
//! evaluates in Rust over the narrowest candidate set it can select.

use std::cell::Cell;

use rusqlite::types::Value as SqlValue;
use scimkit::ResourceKind;
use scimkit::filter::{AttrPath, CompValue, CompareOp, Filter};
use scimkit::schema::{AttrType, Attribute, ResourceSchema};
use scimkit::store::{Sort, fold_case};

use crate::columns::normalize_time;

/// A SQL condition and its parameters, in order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cond {
    pub(crate) sql: String,
    pub(crate) params: Vec<SqlValue>,
}

impl Cond {
    fn new(sql: impl Into<String>, params: Vec<SqlValue>) -> Self {
        Self {
            sql: sql.into(),
            params,
        }
    }

    fn join(a: Cond, op: &str, b: Cond) -> Self {
        let mut params = a.params;
        params.extend(b.params);
        Self::new(format!("({} {op} {})", a.sql, b.sql), params)
    }

    fn not(a: Cond) -> Self {
        Self::new(format!("(NOT {})", a.sql), a.params)
    }
}

/// How a column is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    /// A string; `fold`: the column holds the folded value (caseExact=false).
    Text { fold: bool },
    /// `0`/`1`.
    Bool,
    /// A normalised timestamp (see [`normalize_time`]).
    Time,
}

/// A child table holding the elements of a multi-valued attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Child {
    /// `user_emails e`: the elements of a user's `emails`.
    Emails,
    /// `members m`: a group's `members`.
    Members,
}

impl Child {
    /// `t.pk [NOT] IN (SELECT owner FROM table WHERE tenant = ? AND `, or for
    /// a query already narrowed to one row by `id eq` (`anchored`): `[NOT]
    /// EXISTS (SELECT 1 FROM table WHERE owner = t.pk AND tenant = ? AND ` —
    /// the list form would build a temporary table of every group of the
    /// member (or user of the address) to probe one row; the correlated form
    /// looks that one row's element up in the index.
    fn select(self, negate: bool, anchored: bool) -> &'static str {
        match (self, negate, anchored) {
            (Child::Emails, false, true) => {
                "EXISTS (SELECT 1 FROM user_emails e WHERE e.user_pk = t.pk AND e.tenant = ? AND "
            }
            (Child::Emails, true, true) => {
                "NOT EXISTS (SELECT 1 FROM user_emails e WHERE e.user_pk = t.pk AND e.tenant = ? AND "
            }
            (Child::Members, false, true) => {
                "EXISTS (SELECT 1 FROM members m WHERE m.group_pk = t.pk AND m.tenant = ? AND "
            }
            (Child::Members, true, true) => {
                "NOT EXISTS (SELECT 1 FROM members m WHERE m.group_pk = t.pk AND m.tenant = ? AND "
            }
            (child, negate, false) => child.list(negate),
        }
    }

    fn list(self, negate: bool) -> &'static str {
        match (self, negate) {
            (Child::Emails, false) => {
                "t.pk IN (SELECT e.user_pk FROM user_emails e WHERE e.tenant = ? AND "
            }
            (Child::Emails, true) => {
                "t.pk NOT IN (SELECT e.user_pk FROM user_emails e WHERE e.tenant = ? AND "
            }
            (Child::Members, false) => {
                "t.pk IN (SELECT m.group_pk FROM members m WHERE m.tenant = ? AND "
            }
            (Child::Members, true) => {
                "t.pk NOT IN (SELECT m.group_pk FROM members m WHERE m.tenant = ? AND "
            }
        }
    }

    fn attribute(self) -> &'static str {
        match self {
            Child::Emails => "emails",
            Child::Members => "members",
        }
    }
}

/// Where a (resolved) attribute path lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    /// A column of the resource's own row (`t.…`).
    Main(&'static str, Ty),
    /// A column of a child table; one row per element.
    Multi(Child, &'static str, Ty),
}

/// Translates filters and sorts of one query.
#[derive(Debug)]
pub(crate) struct Translator<'a> {
    kind: ResourceKind,
    schema: &'a ResourceSchema,
    tenant: &'a str,
    /// Inside a conjunction with `id eq …` (at most one row): child-table
    /// conditions use the correlated form (see [`Child::select`]).
    anchored: Cell<bool>,
}

impl<'a> Translator<'a> {
    pub(crate) fn new(kind: ResourceKind, schema: &'a ResourceSchema, tenant: &'a str) -> Self {
        Self {
            kind,
            schema,
            tenant,
            anchored: Cell::new(false),
        }
    }

    /// The column of a path, if it has one whose comparison semantics agree with
    /// the schema's definition of the attribute (checked, not assumed).
    fn column(&self, p: &AttrPath) -> Option<Col> {
        if p.uri.is_some() {
            return None;
        }
        let text = |fold| Ty::Text { fold };
        let sub = p.sub_attr.as_deref();
        let col = match (self.kind, p.name.as_str(), sub) {
            (_, "id", None) => Col::Main("t.id", text(false)),
            (_, "externalId", None) => Col::Main("t.external_id", text(false)),
            (_, "displayName", None) => Col::Main("t.display_name_key", text(true)),
            (_, "meta", Some("created")) => Col::Main("t.created", Ty::Time),
            (_, "meta", Some("lastModified")) => Col::Main("t.last_modified", Ty::Time),
            (ResourceKind::User, "userName", None) => Col::Main("t.user_name_key", text(true)),
            (ResourceKind::User, "active", None) => Col::Main("t.active", Ty::Bool),
            (ResourceKind::User, "emails", Some("value")) => {
                Col::Multi(Child::Emails, "e.value_key", text(true))
            }
            (ResourceKind::User, "emails", Some("type")) => {
                Col::Multi(Child::Emails, "e.type_key", text(true))
            }
            (ResourceKind::User, "emails", Some("primary")) => {
                Col::Multi(Child::Emails, "e.is_primary", Ty::Bool)
            }
            (ResourceKind::Group, "members", Some("value")) => {
                Col::Multi(Child::Members, "m.member_key", text(true))
            }
            _ => return None,
        };
        let resolved = self.schema.resolve(p)?;
        let (ty, single) = match col {
            Col::Main(_, ty) => (ty, !resolved.attr.multi_valued),
            Col::Multi(_, _, ty) => (ty, resolved.attr.multi_valued),
        };
        (single && agrees(ty, resolved.leaf())).then_some(col)
    }

    /// The exact SQL equivalent of `f`, or `None` if some part has none.
    pub(crate) fn exact(&self, f: &Filter) -> Option<Cond> {
        match f {
            Filter::And(a, b) => {
                let id_eq = |f: &Filter| {
                    matches!(f, Filter::Compare(p, CompareOp::Eq, CompValue::Str(_))
                        if p.uri.is_none() && p.name == "id" && p.sub_attr.is_none())
                };
                let outer = self.anchored.get();
                self.anchored.set(outer || id_eq(a) || id_eq(b));
                let cond = self
                    .exact(a)
                    .and_then(|a| Some(Cond::join(a, "AND", self.exact(b)?)));
                self.anchored.set(outer);
                cond
            }
            Filter::Or(a, b) => Some(Cond::join(self.exact(a)?, "OR", self.exact(b)?)),
            Filter::Not(a) => Some(Cond::not(self.exact(a)?)),
            Filter::Present(p) => {
                if self.kind == ResourceKind::Group && p.uri.is_none() && p.name == "members" {
                    // Every stored member is a non-empty object (it has a value).
                    return match p.sub_attr.as_deref() {
                        None => Some(Cond::new(
                            "EXISTS (SELECT 1 FROM members m WHERE m.group_pk = t.pk)",
                            Vec::new(),
                        )),
                        Some(_) => self.present_multi(p),
                    };
                }
                match self.column(p)? {
                    Col::Main(c, ty) => present(c, ty),
                    Col::Multi(..) => self.present_multi(p),
                }
            }
            Filter::Compare(p, op, v) => match self.column(p)? {
                Col::Main(c, ty) => leaf(c, ty, *op, v),
                Col::Multi(child, c, ty) => {
                    let (negate, inner) = match (op, v) {
                        // `ne null` means "has a value".
                        (CompareOp::Ne, CompValue::Null) => {
                            if ty == Ty::Time {
                                return None;
                            }
                            (false, Cond::new(format!("{c} IS NOT NULL"), Vec::new()))
                        }
                        (CompareOp::Eq, CompValue::Null) => {
                            if ty == Ty::Time {
                                return None;
                            }
                            (true, Cond::new(format!("{c} IS NOT NULL"), Vec::new()))
                        }
                        (CompareOp::Ne, _) => (true, leaf(c, ty, CompareOp::Eq, v)?),
                        _ => (false, leaf(c, ty, *op, v)?),
                    };
                    Some(self.in_child(child, negate, inner))
                }
            },
            Filter::ValuePath(p, inner) => {
                let child = match (self.kind, p.uri.as_deref(), p.name.as_str(), &p.sub_attr) {
                    (ResourceKind::User, None, "emails", None) => Child::Emails,
                    (ResourceKind::Group, None, "members", None) => Child::Members,
                    _ => return None,
                };
                let cond = self.element(child, inner)?;
                Some(self.in_child(child, false, cond))
            }
        }
    }

    /// A condition selecting a superset of `f`'s matches (exact where possible),
    /// or `None` when nothing narrows it.
    pub(crate) fn narrow(&self, f: &Filter) -> Option<Cond> {
        if let Some(c) = self.exact(f) {
            return Some(c);
        }
        match f {
            Filter::And(a, b) => match (self.narrow(a), self.narrow(b)) {
                (Some(x), Some(y)) => Some(Cond::join(x, "AND", y)),
                (x, y) => x.or(y),
            },
            Filter::Or(a, b) => Some(Cond::join(self.narrow(a)?, "OR", self.narrow(b)?)),
            _ => None,
        }
    }

    /// The sort column and direction, if the sort can be done in SQL.
    pub(crate) fn sort_column(&self, sort: &Sort) -> Option<&'static str> {
        let p = &sort.path;
        if self.kind == ResourceKind::User
            && p.uri.is_none()
            && p.name == "emails"
            && matches!(p.sub_attr.as_deref(), None | Some("value"))
        {
            // The core sorts by the primary (else first) element's value,
            // caseExact=false: the precomputed `email_key`.
            let value = self
                .schema
                .resolve(&AttrPath::new(None, "emails", Some("value")))?;
            return agrees(Ty::Text { fold: true }, value.leaf()).then_some("t.email_key");
        }
        match self.column(p)? {
            Col::Main(c, _) => Some(c),
            Col::Multi(..) => None,
        }
    }

    fn present_multi(&self, p: &AttrPath) -> Option<Cond> {
        match self.column(p)? {
            Col::Multi(child, c, ty) => Some(self.in_child(child, false, present(c, ty)?)),
            Col::Main(..) => None,
        }
    }

    fn in_child(&self, child: Child, negate: bool, cond: Cond) -> Cond {
        let mut params = Vec::with_capacity(cond.params.len() + 1);
        params.push(SqlValue::Text(self.tenant.to_owned()));
        params.extend(cond.params);
        let select = child.select(negate, self.anchored.get());
        Cond::new(format!("{select}{})", cond.sql), params)
    }

    /// The inner filter of `attr[…]` as a condition on one element's row.
    fn element(&self, child: Child, f: &Filter) -> Option<Cond> {
        let column = |p: &AttrPath| -> Option<(&'static str, Ty)> {
            if p.uri.is_some() || p.sub_attr.is_some() {
                return None;
            }
            let full = AttrPath::new(None, child.attribute(), Some(&p.name));
            match self.column(&full)? {
                Col::Multi(c, col, ty) if c == child => Some((col, ty)),
                _ => None,
            }
        };
        match f {
            Filter::And(a, b) => Some(Cond::join(
                self.element(child, a)?,
                "AND",
                self.element(child, b)?,
            )),
            Filter::Or(a, b) => Some(Cond::join(
                self.element(child, a)?,
                "OR",
                self.element(child, b)?,
            )),
            Filter::Not(a) => Some(Cond::not(self.element(child, a)?)),
            Filter::Present(p) => {
                let (c, ty) = column(p)?;
                present(c, ty)
            }
            Filter::Compare(p, op, v) => {
                let (c, ty) = column(p)?;
                leaf(c, ty, *op, v)
            }
            Filter::ValuePath(..) => None,
        }
    }
}

/// Whether a column of type `ty` compares like the schema's attribute `a`.
fn agrees(ty: Ty, a: &Attribute) -> bool {
    match ty {
        Ty::Text { fold } => {
            matches!(a.ty, AttrType::String | AttrType::Reference) && a.case_exact != fold
        }
        Ty::Bool => a.ty == AttrType::Boolean,
        Ty::Time => a.ty == AttrType::DateTime,
    }
}

/// `c pr`: a value that is not the empty string.
fn present(c: &str, ty: Ty) -> Option<Cond> {
    match ty {
        Ty::Text { .. } => Some(Cond::new(
            format!("({c} IS NOT NULL AND {c} <> '')"),
            Vec::new(),
        )),
        Ty::Bool => Some(Cond::new(format!("{c} IS NOT NULL"), Vec::new())),
        // A stored timestamp that does not parse has a NULL column but is present.
        Ty::Time => None,
    }
}

/// `c op v` on one (possibly absent) value.
fn leaf(c: &str, ty: Ty, op: CompareOp, v: &CompValue) -> Option<Cond> {
    if let CompValue::Null = v {
        // An unparseable stored timestamp has a NULL column but is not absent.
        if ty == Ty::Time {
            return None;
        }
        return match op {
            CompareOp::Eq => Some(Cond::new(format!("{c} IS NULL"), Vec::new())),
            // `ne null` means "has a value".
            CompareOp::Ne => Some(Cond::new(format!("{c} IS NOT NULL"), Vec::new())),
            _ => None,
        };
    }
    let operand = match (ty, v) {
        (Ty::Text { fold }, CompValue::Str(s)) => {
            if fold {
                fold_case(s)
            } else {
                s.clone()
            }
        }
        (Ty::Time, CompValue::Str(s)) if !op.is_substring() => normalize_time(s)?,
        (Ty::Bool, CompValue::Bool(b)) if matches!(op, CompareOp::Eq | CompareOp::Ne) => {
            let p = vec![SqlValue::Integer(i64::from(*b))];
            let sql = if op == CompareOp::Eq {
                format!("{c} IS ?")
            } else {
                format!("{c} IS NOT ?")
            };
            return Some(Cond::new(sql, p));
        }
        _ => return None,
    };
    let (sql, operand) = match op {
        CompareOp::Eq => (format!("{c} IS ?"), operand),
        CompareOp::Ne => (format!("{c} IS NOT ?"), operand),
        CompareOp::Gt => (format!("({c} IS NOT NULL AND {c} > ?)"), operand),
        CompareOp::Ge => (format!("({c} IS NOT NULL AND {c} >= ?)"), operand),
        CompareOp::Lt => (format!("({c} IS NOT NULL AND {c} < ?)"), operand),
        CompareOp::Le => (format!("({c} IS NOT NULL AND {c} <= ?)"), operand),
        CompareOp::Sw => (
            format!("({c} IS NOT NULL AND {c} GLOB ?)"),
            format!("{}*", glob_escape(&operand)),
        ),
        CompareOp::Ew => (
            format!("({c} IS NOT NULL AND {c} GLOB ?)"),
            format!("*{}", glob_escape(&operand)),
        ),
        CompareOp::Co => (
            format!("({c} IS NOT NULL AND {c} GLOB ?)"),
            format!("*{}*", glob_escape(&operand)),
        ),
    };
    Some(Cond::new(sql, vec![SqlValue::Text(operand)]))
}

/// Escape GLOB's metacharacters so the operand matches literally (GLOB is
/// case-sensitive and, for a prefix pattern, uses the index).
fn glob_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '*' => out.push_str("[*]"),
            '?' => out.push_str("[?]"),
            '[' => out.push_str("[[]"),
            c => out.push(c),
        }
    }
    out
}

/// Whether a filter or path needs a group's members to be evaluated.
pub(crate) fn mentions_members(f: &Filter) -> bool {
    let is = |p: &AttrPath| p.uri.is_none() && p.name == "members";
    match f {
        Filter::And(a, b) | Filter::Or(a, b) => mentions_members(a) || mentions_members(b),
        Filter::Not(a) => mentions_members(a),
        Filter::Present(p) | Filter::Compare(p, ..) | Filter::ValuePath(p, _) => is(p),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use scimkit::schema::Registry;
    use scimkit::store::Query;

    use super::*;

    fn translate(kind: ResourceKind, filter: &str) -> (Option<Cond>, Option<Cond>) {
        let reg = Registry::default();
        let q = Query::all(Arc::clone(reg.get(kind)))
            .with_filter(filter)
            .unwrap_or_else(|e| panic!("{filter}: {e}"));
        let f = q.filter.as_ref().expect("a filter");
        let t = Translator::new(kind, q.schema(), "tenant-1");
        (t.exact(f), t.narrow(f))
    }

    #[test]
    fn user_name_eq_is_a_folded_indexed_equality_with_a_bound_parameter() {
        let (exact, _) = translate(ResourceKind::User, r#"userName eq "Ärger@X.com""#);
        let c = exact.expect("pushed down");
        assert_eq!(c.sql, "t.user_name_key IS ?");
        assert_eq!(c.params, vec![SqlValue::Text("ärger@x.com".into())]);
    }

    #[test]
    fn input_never_reaches_the_sql_text() {
        let evil = r#"x' OR 1=1; DROP TABLE users; --"#;
        for f in [
            format!("userName eq {evil:?}"),
            format!("externalId sw {evil:?}"),
            format!("emails[type eq {evil:?}]"),
            format!("displayName co {evil:?} or not (id ne {evil:?})"),
        ] {
            let (exact, _) = translate(ResourceKind::User, &f);
            let c = exact.unwrap_or_else(|| panic!("{f} should be pushed down"));
            for fragment in ["DROP", "1=1", "x'", "--"] {
                assert!(!c.sql.contains(fragment), "{f}: {}", c.sql);
            }
        }
    }

    #[test]
    fn glob_metacharacters_are_literal() {
        assert_eq!(glob_escape("a*b?c[d]"), "a[*]b[?]c[[]d]");
        let (exact, _) = translate(ResourceKind::User, r#"userName sw "a*""#);
        assert_eq!(exact.unwrap().params, vec![SqlValue::Text("a[*]*".into())]);
    }

    #[test]
    fn what_is_not_indexed_narrows_or_falls_back() {
        let (exact, narrow) = translate(ResourceKind::User, r#"name.familyName eq "x""#);
        assert!(exact.is_none() && narrow.is_none());
        let (exact, narrow) = translate(
            ResourceKind::User,
            r#"userName eq "a" and name.familyName eq "x""#,
        );
        assert!(exact.is_none());
        assert_eq!(narrow.unwrap().sql, "t.user_name_key IS ?");
        let (exact, narrow) = translate(
            ResourceKind::User,
            r#"userName eq "a" or name.familyName eq "x""#,
        );
        assert!(exact.is_none() && narrow.is_none());
        let (exact, _) = translate(ResourceKind::User, r#"meta.created co "2024""#);
        assert!(
            exact.is_none(),
            "substring operators on dateTimes stay in Rust"
        );
    }

    #[test]
    fn members_filters_use_the_membership_table() {
        let (exact, _) = translate(ResourceKind::Group, r#"members[value eq "U1"]"#);
        let c = exact.unwrap();
        assert_eq!(
            c.sql,
            "t.pk IN (SELECT m.group_pk FROM members m WHERE m.tenant = ? AND m.member_key IS ?)"
        );
        assert_eq!(
            c.params,
            vec![
                SqlValue::Text("tenant-1".into()),
                SqlValue::Text("u1".into())
            ]
        );
        let (exact, _) = translate(ResourceKind::Group, r#"members.value ne "u1""#);
        assert!(exact.unwrap().sql.starts_with("t.pk NOT IN"));
        let (exact, _) = translate(ResourceKind::Group, r#"members[type eq "User"]"#);
        assert!(exact.is_none());
    }
}
