//! Owned SQL parameters and the numbering of placeholders.

use std::error::Error;

use bytes::BytesMut;
use postgres::types::{IsNull, ToSql, Type, to_sql_checked};

/// One bound parameter of a dynamically assembled statement.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    /// A text value.
    Text(String),
    /// A boolean.
    Bool(bool),
    /// A 64-bit integer (`LIMIT`, `OFFSET`).
    Int(i64),
}

impl ToSql for Arg {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match self {
            Arg::Text(s) => s.to_sql(ty, out),
            Arg::Bool(b) => b.to_sql(ty, out),
            Arg::Int(i) => i.to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        <String as ToSql>::accepts(ty)
            || <bool as ToSql>::accepts(ty)
            || <i64 as ToSql>::accepts(ty)
    }

    to_sql_checked!();
}

/// Replace each `?` placeholder with `$1`, `$2`, … in order.
///
/// The SQL given here is assembled only from this crate's fixed fragments,
/// none of which contains a `?` other than a placeholder (no string literal
/// or operator uses one).
pub(crate) fn number(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for ch in sql.chars() {
        if ch == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(ch);
        }
    }
    out
}

/// The parameters with their PostgreSQL types, as `query_typed` takes them:
/// the statement is then parsed, bound and run in one round trip, without a
/// named prepared statement to create and close.
pub(crate) fn typed(args: &[Arg]) -> Vec<(&(dyn ToSql + Sync), Type)> {
    args.iter()
        .map(|a| {
            let ty = match a {
                Arg::Text(_) => Type::TEXT,
                Arg::Bool(_) => Type::BOOL,
                Arg::Int(_) => Type::INT8,
            };
            (a as &(dyn ToSql + Sync), ty)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_order() {
        assert_eq!(
            number("a = ? AND (b LIKE ? OR c IS NULL) LIMIT ?"),
            "a = $1 AND (b LIKE $2 OR c IS NULL) LIMIT $3"
        );
    }
}
