//! [`SharedJson`]: a stored resource's JSON as a store hands it out without
//! copying it — a parsed tree behind an `Arc`, or the compact JSON text the
//! store keeps.
//!
//! Text is what makes a store small (the memory store keeps each user as one
//! string instead of a tree of a hundred allocations) and a read cheap: for the
//! default projection the engine writes a response straight from the text,
//! copying the stored members verbatim and parsing only the few it edits
//! (`meta`, `members`, an extension with hidden attributes). Everything else
//! asks for the tree ([`SharedJson::tree`]), parsed on demand.

use std::fmt;
use std::sync::Arc;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use super::{StoreError, StoreResult};

/// A stored resource's JSON, shared with the store: a parsed tree or JSON text
/// (see [`SharedJson::from_text`]).
#[derive(Clone)]
pub struct SharedJson(Repr);

#[derive(Clone)]
enum Repr {
    Tree(Arc<Value>),
    Text(Arc<str>),
}

impl SharedJson {
    /// A shared tree.
    pub fn from_tree(tree: Arc<Value>) -> Self {
        Self(Repr::Tree(tree))
    }

    /// JSON text: the resource the store was given (a JSON object), written by
    /// `serde_json` in its compact form (`serde_json::to_string`). The engine
    /// copies members of it verbatim into responses, so it must be exactly
    /// that form (a store that keeps JSON in another form hands out a tree).
    /// Text that does not parse makes the request that reads it fail with a
    /// store error (500), never a panic.
    pub fn from_text(text: impl Into<Arc<str>>) -> Self {
        Self(Repr::Text(text.into()))
    }

    /// The JSON text, when this is text.
    pub fn as_text(&self) -> Option<&str> {
        match &self.0 {
            Repr::Text(t) => Some(t),
            Repr::Tree(_) => None,
        }
    }

    /// The tree, when this is a tree.
    pub fn as_tree(&self) -> Option<&Value> {
        match &self.0 {
            Repr::Tree(v) => Some(v),
            Repr::Text(_) => None,
        }
    }

    /// The tree: shared when this is a tree, parsed from the text otherwise.
    pub fn tree(&self) -> StoreResult<Arc<Value>> {
        match &self.0 {
            Repr::Tree(v) => Ok(Arc::clone(v)),
            Repr::Text(t) => parse(t).map(Arc::new),
        }
    }

    /// The tree, owned: moved out when no one else holds it, copied or parsed
    /// otherwise.
    pub fn into_value(self) -> StoreResult<Value> {
        match self.0 {
            Repr::Tree(v) => Ok(Arc::unwrap_or_clone(v)),
            Repr::Text(t) => parse(&t),
        }
    }

    /// One top-level member of the object (`None` when absent or when the
    /// JSON is not an object); for text, only that member is parsed.
    pub fn member(&self, key: &str) -> StoreResult<Option<Value>> {
        match &self.0 {
            Repr::Tree(v) => Ok(v.get(key).cloned()),
            Repr::Text(t) => {
                let mut de = serde_json::Deserializer::from_str(t);
                de.deserialize_any(MemberVisitor(key)).map_err(unreadable)
            }
        }
    }
}

fn parse(text: &str) -> StoreResult<Value> {
    serde_json::from_str(text).map_err(unreadable)
}

fn unreadable(e: serde_json::Error) -> StoreError {
    StoreError::other(format!("stored JSON text does not parse: {e}"))
}

impl From<Value> for SharedJson {
    fn from(v: Value) -> Self {
        Self::from_tree(Arc::new(v))
    }
}

impl From<Arc<Value>> for SharedJson {
    fn from(v: Arc<Value>) -> Self {
        Self::from_tree(v)
    }
}

impl fmt::Debug for SharedJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Tree(v) => fmt::Debug::fmt(v, f),
            Repr::Text(t) => f.debug_tuple("Text").field(t).finish(),
        }
    }
}

/// Equal when both parse to the same JSON (text that does not parse equals
/// nothing).
impl PartialEq for SharedJson {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Repr::Text(a), Repr::Text(b)) if a == b => true,
            _ => match (self.tree(), other.tree()) {
                (Ok(a), Ok(b)) => a == b,
                _ => false,
            },
        }
    }
}

/// Finds one top-level member and skips the rest without building them.
struct MemberVisitor<'k>(&'k str);

impl<'de> Visitor<'de> for MemberVisitor<'_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(k) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if found.is_none() && k == self.0 {
                found = Some(map.next_value::<Value>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// The top-level members of a JSON object text, in order, each as its raw
/// text: what the response writer copies verbatim. `None` when the text is
/// not an object or a key carries an escape (the caller then parses the tree).
pub(crate) fn raw_members(text: &str) -> Option<Vec<(&str, &RawValue)>> {
    struct Members;
    impl<'de> Visitor<'de> for Members {
        type Value = Vec<(&'de str, &'de RawValue)>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::with_capacity(map.size_hint().unwrap_or(16));
            while let Some(k) = map.next_key::<&'de str>()? {
                out.push((k, map.next_value::<&'de RawValue>()?));
            }
            Ok(out)
        }
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let members = de.deserialize_map(Members).ok()?;
    de.end().ok()?;
    Some(members)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_and_tree_agree() {
        let v = json!({"id": "1", "userName": "a\"b", "emails": [{"value": "x"}], "n": 1.5});
        let text = SharedJson::from_text(serde_json::to_string(&v).unwrap());
        let tree = SharedJson::from(v.clone());
        assert_eq!(text, tree);
        assert_eq!(*text.tree().unwrap(), v);
        assert_eq!(text.clone().into_value().unwrap(), v);
        assert_eq!(text.member("userName").unwrap(), Some(json!("a\"b")));
        assert_eq!(tree.member("userName").unwrap(), Some(json!("a\"b")));
        assert_eq!(
            text.member("emails").unwrap(),
            Some(json!([{"value": "x"}]))
        );
        assert_eq!(text.member("missing").unwrap(), None);
        assert!(text.as_text().is_some() && tree.as_text().is_none());
    }

    #[test]
    fn raw_members_copy_values_verbatim() {
        let text = r#"{"a":{"b":[1,2]},"c":"d\n","e":null}"#;
        let m = raw_members(text).unwrap();
        let got: Vec<(&str, &str)> = m.iter().map(|(k, v)| (*k, v.get())).collect();
        assert_eq!(
            got,
            [("a", r#"{"b":[1,2]}"#), ("c", r#""d\n""#), ("e", "null")]
        );
        // Not an object, an escaped key, trailing text: declined.
        assert!(raw_members("[1]").is_none());
        assert!(raw_members(r#"{"a\u0062":1}"#).is_none());
        assert!(raw_members(r#"{"a":1} x"#).is_none());
    }

    #[test]
    fn unreadable_text_is_a_store_error_not_a_panic() {
        let bad = SharedJson::from_text("{\"id\": ");
        assert!(matches!(bad.tree(), Err(StoreError::Other(_))));
        assert!(matches!(bad.member("id"), Err(StoreError::Other(_))));
        assert!(matches!(
            bad.clone().into_value(),
            Err(StoreError::Other(_))
        ));
        assert_ne!(bad, SharedJson::from(json!({})));
        assert!(raw_members("{\"id\": ").is_none());
    }
}
