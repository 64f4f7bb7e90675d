//! Opaque paging cursors (RFC 9865).
//!
//! A cursor is base64url (no padding) of a small JSON object: a format version,
//! a fingerprint of the query it belongs to (kind, filter, sort), and the
//! position: a keyset position (the sort key and id of the last row returned)
//! when the query runs in SQL, or an offset when the store evaluates the query
//! in Rust. Keyset positions stay correct while resources are created and
//! deleted between pages, and any replica can continue a cursor another one
//! issued. A cursor that does not decode, or that belongs to another query, is
//! [`StoreError::InvalidCursor`].

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use scimkit::ResourceKind;
use scimkit::store::{Query, StoreError, StoreResult};
use serde_json::{Value, json};

const FORMAT: u64 = 1;

/// A sort key value of the last row of a page.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Key {
    /// An absent value (or no sort).
    Null,
    /// A text column.
    Text(String),
    /// A boolean column.
    Bool(bool),
}

/// Where a page starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Position {
    /// The first page.
    Start,
    /// After the row with this sort key and id.
    After {
        /// The last row's sort column.
        key: Key,
        /// The last row's id.
        id: String,
    },
    /// After this many rows (Rust-evaluated queries).
    Offset(usize),
}

/// A stable fingerprint of the query a cursor belongs to (FNV-1a, 64 bits, over
/// the canonical filter and sort), so a cursor cannot be replayed against
/// another query.
pub(crate) fn fingerprint(kind: ResourceKind, q: &Query) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |s: &str| {
        for b in s.bytes().chain(std::iter::once(0xff)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    feed(kind.as_str());
    feed(
        &q.filter
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
    );
    match &q.sort {
        Some(s) => {
            feed(&s.path.to_string());
            feed(if s.descending { "d" } else { "a" });
        }
        None => feed("-"),
    }
    h
}

/// Encode a position as an opaque cursor.
pub(crate) fn encode(fp: u64, pos: &Position) -> String {
    let mut obj = json!({"v": FORMAT, "f": format!("{fp:016x}")});
    match pos {
        Position::Start => {}
        Position::After { key, id } => {
            obj["k"] = match key {
                Key::Null => Value::Null,
                Key::Text(s) => Value::String(s.clone()),
                Key::Bool(b) => Value::Bool(*b),
            };
            obj["i"] = Value::String(id.clone());
        }
        Position::Offset(n) => obj["o"] = Value::from(*n),
    }
    URL_SAFE_NO_PAD.encode(obj.to_string())
}

/// Decode a cursor of the query with fingerprint `fp`.
pub(crate) fn decode(cursor: &str, fp: u64) -> StoreResult<Position> {
    let bad = || StoreError::InvalidCursor;
    let raw = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let obj: Value = serde_json::from_slice(&raw).map_err(|_| bad())?;
    let obj = obj.as_object().ok_or_else(bad)?;
    if obj.get("v").and_then(Value::as_u64) != Some(FORMAT)
        || obj.get("f").and_then(Value::as_str) != Some(format!("{fp:016x}").as_str())
    {
        return Err(bad());
    }
    match (obj.get("k"), obj.get("i"), obj.get("o")) {
        (None, None, None) => Ok(Position::Start),
        (Some(k), Some(Value::String(id)), None) => {
            let key = match k {
                Value::Null => Key::Null,
                Value::String(s) => Key::Text(s.clone()),
                Value::Bool(b) => Key::Bool(*b),
                _ => return Err(bad()),
            };
            Ok(Position::After {
                key,
                id: id.clone(),
            })
        }
        (None, None, Some(o)) => {
            let n = o
                .as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(bad)?;
            Ok(Position::Offset(n))
        }
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_foreign_or_garbled_cursors() {
        for pos in [
            Position::Start,
            Position::After {
                key: Key::Text("ä\"b".into()),
                id: "u1".into(),
            },
            Position::After {
                key: Key::Null,
                id: "u2".into(),
            },
            Position::After {
                key: Key::Bool(true),
                id: "u3".into(),
            },
            Position::Offset(42),
        ] {
            let c = encode(7, &pos);
            assert_eq!(decode(&c, 7).unwrap(), pos);
            assert!(matches!(decode(&c, 8), Err(StoreError::InvalidCursor)));
        }
        for garbage in [
            "garbage!",
            "",
            "e30",
            "bnVsbA",
            "eyJ2IjoxLCJmIjoiMDAwMDAwMDAwMDAwMDAwNyIsIm8iOi0xfQ",
        ] {
            assert!(
                matches!(decode(garbage, 7), Err(StoreError::InvalidCursor)),
                "{garbage}"
            );
        }
    }
}
