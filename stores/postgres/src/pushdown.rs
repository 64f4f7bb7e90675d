//! Filter and sort push-down: a resolved [`Filter`] becomes a SQL condition over
//! the derived columns, with every value a bound parameter.
//!
//! The SQL text is assembled only from the fixed column names and operators in
//! this file; nothing from the filter but the shape of the tree reaches it.
//! Each condition is two-valued (never SQL `NULL`), so `NOT` and `OR` compose
//! exactly like the core evaluator's `!` and `||`.
//!
//! Semantics mirrored from [`scimkit::filter::matches`] (the same rules as the
//! SQLite store's push-down):
//! * an absent attribute matches `ne` and `eq null`, nothing else;
//!   `x ne null` matches everything;
//! * `pr` needs a value that is not `""`;
//! * on a multi-valued attribute a comparison matches if any value does, and
//!   `ne` is the negation of `eq`;
//! * case-insensitive attributes compare their folded column with the operand
//!   folded in Rust; dateTimes compare as instants (normalised text); text
//!   compares by code point (`COLLATE "C"` columns), as Rust's `str` does.
//!
//! Whatever cannot be translated exactly (extension attributes, `name.*`,
//! substring operators on dateTimes, …) yields `None`; the store then
//! evaluates in Rust over the narrowest candidate set it can select.

use scimkit::ResourceKind;
use scimkit::filter::{AttrPath, CompValue, CompareOp, Filter};
use scimkit::schema::{AttrType, Attribute, ResourceSchema};
use scimkit::store::{Sort, fold_case};

use crate::columns::normalize_time;
use crate::sql::Arg;

/// A SQL condition with `?` placeholders and its parameters, in order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cond {
    pub(crate) sql: String,
    pub(crate) params: Vec<Arg>,
}

impl Cond {
    pub(crate) fn new(sql: impl Into<String>, params: Vec<Arg>) -> Self {
        Self {
            sql: sql.into(),
            params,
        }
    }

    fn always() -> Self {
        Self::new("TRUE", Vec::new())
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
    /// A boolean.
    Bool,
    /// A normalised timestamp (see [`normalize_time`]).
    Time,
}

/// A child table holding the elements of a multi-valued attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Child {
    /// `scimkit_emails e`: the elements of a user's `emails`.
    Emails,
    /// `scimkit_members m`: a group's `members`.
    Members,
}

impl Child {
    /// `t.… [NOT] IN (SELECT owner FROM table WHERE tenant = ? AND `
    fn select(self, negate: bool) -> &'static str {
        match (self, negate) {
            (Child::Emails, false) => {
                "t.pk IN (SELECT e.resource_pk FROM scimkit_emails e WHERE e.tenant = ? AND "
            }
            (Child::Emails, true) => {
                "t.pk NOT IN (SELECT e.resource_pk FROM scimkit_emails e WHERE e.tenant = ? AND "
            }
            (Child::Members, false) => {
                "t.id IN (SELECT m.group_id FROM scimkit_members m WHERE m.tenant = ? AND "
            }
            (Child::Members, true) => {
                "t.id NOT IN (SELECT m.group_id FROM scimkit_members m WHERE m.tenant = ? AND "
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

/// Translates the filter and sort of one query.
#[derive(Debug)]
pub(crate) struct Translator<'a> {
    kind: ResourceKind,
    schema: &'a ResourceSchema,
    tenant: &'a str,
}

impl<'a> Translator<'a> {
    pub(crate) fn new(kind: ResourceKind, schema: &'a ResourceSchema, tenant: &'a str) -> Self {
        Self {
            kind,
            schema,
            tenant,
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
            Filter::And(a, b) => Some(Cond::join(self.exact(a)?, "AND", self.exact(b)?)),
            Filter::Or(a, b) => Some(Cond::join(self.exact(a)?, "OR", self.exact(b)?)),
            Filter::Not(a) => Some(Cond::not(self.exact(a)?)),
            Filter::Present(p) => {
                if self.kind == ResourceKind::Group && p.uri.is_none() && p.name == "members" {
                    // Every stored member is a non-empty object (it has a value).
                    return match p.sub_attr.as_deref() {
                        None => Some(Cond::new(
                            "EXISTS (SELECT 1 FROM scimkit_members m \
                             WHERE m.tenant = t.tenant AND m.group_id = t.id)",
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
                        (CompareOp::Ne, CompValue::Null) => return Some(Cond::always()),
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

    /// The sort column, if the sort can be done in SQL.
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
        params.push(Arg::Text(self.tenant.to_owned()));
        params.extend(cond.params);
        Cond::new(format!("{}{})", child.select(negate), cond.sql), params)
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
        Ty::Bool => Some(Cond::new(format!("({c} IS NOT NULL)"), Vec::new())),
        // A stored timestamp that does not parse has a NULL column but is present.
        Ty::Time => None,
    }
}

/// `c op v` on one (possibly absent) value. Every form is two-valued: a `NULL`
/// column gives `FALSE` (or `TRUE` for `ne`), never `NULL`.
fn leaf(c: &str, ty: Ty, op: CompareOp, v: &CompValue) -> Option<Cond> {
    if let CompValue::Null = v {
        // An unparseable stored timestamp has a NULL column but is not absent.
        if ty == Ty::Time {
            return None;
        }
        return match op {
            CompareOp::Eq => Some(Cond::new(format!("({c} IS NULL)"), Vec::new())),
            CompareOp::Ne => Some(Cond::always()),
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
            let sql = if op == CompareOp::Eq {
                format!("({c} IS NOT NULL AND {c} = ?)")
            } else {
                format!("({c} IS NULL OR {c} <> ?)")
            };
            return Some(Cond::new(sql, vec![Arg::Bool(*b)]));
        }
        _ => return None,
    };
    let (sql, operand) = match op {
        CompareOp::Eq => (format!("({c} IS NOT NULL AND {c} = ?)"), operand),
        CompareOp::Ne => (format!("({c} IS NULL OR {c} <> ?)"), operand),
        CompareOp::Gt => (format!("({c} IS NOT NULL AND {c} > ?)"), operand),
        CompareOp::Ge => (format!("({c} IS NOT NULL AND {c} >= ?)"), operand),
        CompareOp::Lt => (format!("({c} IS NOT NULL AND {c} < ?)"), operand),
        CompareOp::Le => (format!("({c} IS NOT NULL AND {c} <= ?)"), operand),
        CompareOp::Sw => (
            format!("({c} IS NOT NULL AND {c} LIKE ?)"),
            format!("{}%", like_escape(&operand)),
        ),
        CompareOp::Ew => (
            format!("({c} IS NOT NULL AND {c} LIKE ?)"),
            format!("%{}", like_escape(&operand)),
        ),
        CompareOp::Co => (
            format!("({c} IS NOT NULL AND {c} LIKE ?)"),
            format!("%{}%", like_escape(&operand)),
        ),
    };
    Some(Cond::new(sql, vec![Arg::Text(operand)]))
}

/// Escape `LIKE`'s metacharacters (with its default escape character, the
/// backslash) so the operand matches literally. With the `C` collation a
/// prefix pattern uses the B-tree index.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// Whether a filter needs a group's members to be evaluated.
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
        assert_eq!(
            c.sql,
            "(t.user_name_key IS NOT NULL AND t.user_name_key = ?)"
        );
        assert_eq!(c.params, vec![Arg::Text("ärger@x.com".into())]);
    }

    #[test]
    fn input_never_reaches_the_sql_text() {
        let evil = r#"x' OR 1=1; DROP TABLE scimkit_resources; -- ? $1"#;
        for f in [
            format!("userName eq {evil:?}"),
            format!("externalId sw {evil:?}"),
            format!("emails[type eq {evil:?}]"),
            format!("displayName co {evil:?} or not (id ne {evil:?})"),
        ] {
            let (exact, _) = translate(ResourceKind::User, &f);
            let c = exact.unwrap_or_else(|| panic!("{f} should be pushed down"));
            for fragment in ["DROP", "1=1", "x'", "--", "$1"] {
                assert!(!c.sql.contains(fragment), "{f}: {}", c.sql);
            }
            assert_eq!(
                c.sql.matches('?').count(),
                c.params.len(),
                "one placeholder per parameter: {}",
                c.sql
            );
        }
    }

    #[test]
    fn like_metacharacters_are_literal() {
        assert_eq!(like_escape(r"a%b_c\d"), r"a\%b\_c\\d");
        let (exact, _) = translate(ResourceKind::User, r#"userName sw "a_%""#);
        assert_eq!(exact.unwrap().params, vec![Arg::Text(r"a\_\%%".into())]);
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
        assert_eq!(
            narrow.unwrap().sql,
            "(t.user_name_key IS NOT NULL AND t.user_name_key = ?)"
        );
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
            "t.id IN (SELECT m.group_id FROM scimkit_members m WHERE m.tenant = ? AND \
             (m.member_key IS NOT NULL AND m.member_key = ?))"
        );
        assert_eq!(
            c.params,
            vec![Arg::Text("tenant-1".into()), Arg::Text("u1".into())]
        );
        let (exact, _) = translate(ResourceKind::Group, r#"members.value ne "u1""#);
        assert!(exact.unwrap().sql.starts_with("t.id NOT IN"));
        let (exact, _) = translate(ResourceKind::Group, r#"members[type eq "User"]"#);
        assert!(exact.is_none());
    }
}
