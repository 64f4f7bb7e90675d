//! SCIM filters (RFC 7644 §3.4.2.2): the AST, the parser, the canonical printer
//! and the evaluator.
//!
//! ```
//! use scimkit::filter::{self, Filter, CompareOp};
//!
//! let f = filter::parse(r#"userName Eq "alice@contoso.com" and not (active eq false)"#)?;
//! // The canonical printer round-trips.
//! assert_eq!(f.to_string(), r#"userName eq "alice@contoso.com" and not (active eq false)"#);
//! assert_eq!(filter::parse(&f.to_string())?, f);
//! # Ok::<(), scimkit::filter::FilterError>(())
//! ```
//!
//! Errors carry the byte span of the offending input and render the column:
//!
//! ```
//! let err = scimkit::filter::parse(r#"userName eqq "x""#).unwrap_err();
//! assert_eq!(err.to_string(), "expected a comparison operator at column 10, found `eqq`");
//! ```

mod error;
mod eval;
mod parse;

use std::fmt;

pub use error::{FilterError, FilterErrorKind};
pub(crate) use eval::matches_sub as matches_element;
pub use eval::{compare_values, matches, resolve, sort_key};
pub use parse::{MAX_DEPTH, MAX_LEN, parse, parse_attr_path, parse_value_path, parse_with_limits};

/// A parsed filter. Grouping parentheses are not a node: the tree's shape carries
/// them, and the printer adds them back where precedence needs them.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `a or b`
    Or(Box<Filter>, Box<Filter>),
    /// `a and b`
    And(Box<Filter>, Box<Filter>),
    /// `not (a)`
    Not(Box<Filter>),
    /// `attr pr`
    Present(AttrPath),
    /// `attr op value`
    Compare(AttrPath, CompareOp, CompValue),
    /// `attr[filter]` — the inner filter applies to each value of a (multi-valued,
    /// complex) attribute; its paths are relative to that value.
    ValuePath(AttrPath, Box<Filter>),
}

/// An attribute path: `[URI ":"] ATTRNAME ["." subAttr]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrPath {
    /// The schema URN, when the path is qualified with one.
    pub uri: Option<String>,
    /// The attribute name.
    pub name: String,
    /// The sub-attribute name.
    pub sub_attr: Option<String>,
}

impl AttrPath {
    /// A path from its parts.
    pub fn new(uri: Option<&str>, name: &str, sub_attr: Option<&str>) -> Self {
        Self {
            uri: uri.map(str::to_owned),
            name: name.to_owned(),
            sub_attr: sub_attr.map(str::to_owned),
        }
    }

    /// A path naming a core attribute without sub-attribute.
    pub fn simple(name: &str) -> Self {
        Self::new(None, name, None)
    }

    /// Whether this path names `name` (case-insensitively) with no URN (or a core
    /// URN, which the canonical form drops) and no sub-attribute.
    pub fn is(&self, name: &str) -> bool {
        self.uri.is_none() && self.sub_attr.is_none() && self.name.eq_ignore_ascii_case(name)
    }

    /// Whether this path names `name.sub` (case-insensitively) with no URN.
    pub fn is_sub(&self, name: &str, sub: &str) -> bool {
        self.uri.is_none()
            && self.name.eq_ignore_ascii_case(name)
            && self
                .sub_attr
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case(sub))
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(uri) = &self.uri {
            write!(f, "{uri}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// A PATCH path (RFC 7644 §3.5.2): `attrPath` or `valuePath [subAttr]`.
///
/// A path that is a bare extension URN (the whole extension object) has an empty
/// `attr.name` and the URN in `attr.uri`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    /// The attribute (with its own sub-attribute for `name.givenName`).
    pub attr: AttrPath,
    /// The value filter of `emails[type eq "work"]`.
    pub filter: Option<Filter>,
    /// The sub-attribute after a value filter: `.value` in `emails[…].value`.
    pub sub_attr: Option<String>,
}

impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.attr.name.is_empty() {
            return f.write_str(self.attr.uri.as_deref().unwrap_or(""));
        }
        write!(f, "{}", self.attr)?;
        if let Some(filter) = &self.filter {
            write!(f, "[{filter}]")?;
        }
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// The comparison operators of RFC 7644 §3.4.2.2 (`pr` is [`Filter::Present`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// equal
    Eq,
    /// not equal
    Ne,
    /// contains
    Co,
    /// starts with
    Sw,
    /// ends with
    Ew,
    /// greater than
    Gt,
    /// less than
    Lt,
    /// greater than or equal to
    Ge,
    /// less than or equal to
    Le,
}

impl CompareOp {
    /// The lower-case keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Lt => "lt",
            CompareOp::Ge => "ge",
            CompareOp::Le => "le",
        }
    }

    /// Parse a keyword, case-insensitively.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "eq" => CompareOp::Eq,
            "ne" => CompareOp::Ne,
            "co" => CompareOp::Co,
            "sw" => CompareOp::Sw,
            "ew" => CompareOp::Ew,
            "gt" => CompareOp::Gt,
            "lt" => CompareOp::Lt,
            "ge" => CompareOp::Ge,
            "le" => CompareOp::Le,
            _ => return None,
        })
    }

    /// Whether this is an ordering operator (gt, lt, ge, le).
    pub fn is_ordering(self) -> bool {
        matches!(
            self,
            CompareOp::Gt | CompareOp::Lt | CompareOp::Ge | CompareOp::Le
        )
    }

    /// Whether this is a substring operator (co, sw, ew).
    pub fn is_substring(self) -> bool {
        matches!(self, CompareOp::Co | CompareOp::Sw | CompareOp::Ew)
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A comparison value: `false / null / true / number / string` (RFC 7644
/// §3.4.2.2). dateTime values are strings; the evaluator compares them as instants
/// when the attribute is a dateTime.
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    /// A JSON string.
    Str(String),
    /// A JSON number.
    Num(serde_json::Number),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
}

impl fmt::Display for CompValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompValue::Str(s) => {
                // JSON string escaping is exactly what the grammar wants.
                let quoted = serde_json::to_string(s).map_err(|_| fmt::Error)?;
                f.write_str(&quoted)
            }
            CompValue::Num(n) => write!(f, "{n}"),
            CompValue::Bool(b) => write!(f, "{b}"),
            CompValue::Null => f.write_str("null"),
        }
    }
}

impl Filter {
    /// Binding strength, for the printer: or < and < not/atoms.
    fn precedence(&self) -> u8 {
        match self {
            Filter::Or(..) => 1,
            Filter::And(..) => 2,
            _ => 3,
        }
    }

    fn fmt_child(&self, child: &Filter, f: &mut fmt::Formatter<'_>, strict: bool) -> fmt::Result {
        // `strict`: the right operand of a left-associative operator needs parens at
        // equal precedence to round-trip the tree's shape.
        let needs = if strict {
            child.precedence() <= self.precedence()
        } else {
            child.precedence() < self.precedence()
        };
        if needs {
            write!(f, "({child})")
        } else {
            write!(f, "{child}")
        }
    }
}

impl fmt::Display for Filter {
    /// The canonical form: lower-case operators, single spaces, parentheses only
    /// where the tree needs them; `parse(f.to_string()) == f`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Or(a, b) => {
                self.fmt_child(a, f, false)?;
                f.write_str(" or ")?;
                self.fmt_child(b, f, true)
            }
            Filter::And(a, b) => {
                self.fmt_child(a, f, false)?;
                f.write_str(" and ")?;
                self.fmt_child(b, f, true)
            }
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::Present(p) => write!(f, "{p} pr"),
            Filter::Compare(p, op, v) => write!(f, "{p} {op} {v}"),
            Filter::ValuePath(p, inner) => write!(f, "{p}[{inner}]"),
        }
    }
}
