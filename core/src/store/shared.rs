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
    /// Text, and its tree when one is at hand (a resource just written:
    /// responses are copied from the text, events read the tree).
    Text(Arc<Text>, Option<Arc<Value>>),
}

/// JSON text and where its top-level members are, so that a member is found
/// (and a response written) without scanning the text.
struct Text {
    json: Box<str>,
    /// Per top-level member: the byte ranges of its key (inside the quotes;
    /// no escapes) and of its value. `None` when the text is not an object, a
    /// key has an escape, or the text is over 4 GiB.
    members: Option<Box<[[u32; 4]]>>,
}

impl Text {
    fn new(json: Box<str>) -> Self {
        let members = raw_members(&json).and_then(|m| {
            let base = json.as_ptr() as usize;
            m.iter()
                .map(|(k, v)| {
                    let (k0, v0) = (k.as_ptr() as usize - base, v.get().as_ptr() as usize - base);
                    let span = [k0, k0 + k.len(), v0, v0 + v.get().len()];
                    let mut out = [0u32; 4];
                    for (o, x) in out.iter_mut().zip(span) {
                        *o = u32::try_from(x).ok()?;
                    }
                    Some(out)
                })
                .collect()
        });
        Self { json, members }
    }

    /// The top-level members as (key, raw value text), when indexed.
    fn members(&self) -> Option<impl Iterator<Item = (&str, &str)>> {
        let at = |a: u32, b: u32| self.json.get(a as usize..b as usize).unwrap_or_default();
        Some(
            self.members
                .as_deref()?
                .iter()
                .map(move |[k0, k1, v0, v1]| (at(*k0, *k1), at(*v0, *v1))),
        )
    }
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
    /// The text is scanned once, to find its top-level members.
    pub fn from_text(text: impl Into<Box<str>>) -> Self {
        Self(Repr::Text(Arc::new(Text::new(text.into())), None))
    }

    /// The compact JSON text of `value` (what `serde_json::to_string` writes),
    /// written and indexed in one pass: how a store that keeps text makes it.
    pub fn text_of(value: &Value) -> StoreResult<Self> {
        let Some(obj) = value.as_object() else {
            return serde_json::to_string(value)
                .map(Self::from_text)
                .map_err(StoreError::other);
        };
        let mut out: Vec<u8> = Vec::with_capacity(1024);
        let mut members = Vec::with_capacity(obj.len());
        let mut indexed = true;
        out.push(b'{');
        for (i, (k, v)) in obj.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let plain = !k.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20);
            indexed &= plain;
            let k0 = out.len() + 1;
            serde_json::to_writer(&mut out, k).map_err(StoreError::other)?;
            let k1 = out.len() - 1;
            out.push(b':');
            let v0 = out.len();
            serde_json::to_writer(&mut out, v).map_err(StoreError::other)?;
            members.push([k0, k1, v0, out.len()]);
        }
        out.push(b'}');
        let members = if indexed {
            members
                .into_iter()
                .map(|m| {
                    let mut o = [0u32; 4];
                    for (o, x) in o.iter_mut().zip(m) {
                        *o = u32::try_from(x).ok()?;
                    }
                    Some(o)
                })
                .collect()
        } else {
            None
        };
        let json = String::from_utf8(out).map_err(StoreError::other)?;
        Ok(Self(Repr::Text(
            Arc::new(Text {
                json: json.into_boxed_str(),
                members,
            }),
            None,
        )))
    }

    /// Text that also carries `tree`, the value it was written from
    /// ([`SharedJson::text_of`]): a store hands a resource it has just
    /// written back this way, so that neither the response (copied from the
    /// text) nor the engine's events (reading the tree) parse or serialise it
    /// again. A tree stays a tree.
    pub fn with_tree(self, tree: Value) -> Self {
        match self.0 {
            Repr::Text(t, _) => Self(Repr::Text(t, Some(Arc::new(tree)))),
            tree_repr @ Repr::Tree(_) => Self(tree_repr),
        }
    }

    /// The JSON text, when this is text.
    pub fn as_text(&self) -> Option<&str> {
        match &self.0 {
            Repr::Text(t, _) => Some(&t.json),
            Repr::Tree(_) => None,
        }
    }

    /// The top-level members of text as (key, raw value text), without
    /// scanning; `None` for a tree or text that is not indexed.
    pub(crate) fn raw_members(&self) -> Option<impl Iterator<Item = (&str, &str)>> {
        match &self.0 {
            Repr::Text(t, _) => t.members(),
            Repr::Tree(_) => None,
        }
    }

    /// The tree, when this is a tree.
    pub fn as_tree(&self) -> Option<&Value> {
        match &self.0 {
            Repr::Tree(v) | Repr::Text(_, Some(v)) => Some(v),
            Repr::Text(_, None) => None,
        }
    }

    /// The tree: shared when this is a tree, parsed from the text otherwise.
    pub fn tree(&self) -> StoreResult<Arc<Value>> {
        match &self.0 {
            Repr::Tree(v) | Repr::Text(_, Some(v)) => Ok(Arc::clone(v)),
            Repr::Text(t, None) => parse(&t.json).map(Arc::new),
        }
    }

    /// The tree, owned: moved out when no one else holds it, copied or parsed
    /// otherwise.
    pub fn into_value(self) -> StoreResult<Value> {
        match self.0 {
            Repr::Tree(v) | Repr::Text(_, Some(v)) => Ok(Arc::unwrap_or_clone(v)),
            Repr::Text(t, None) => parse(&t.json),
        }
    }

    /// One top-level member of the object (`None` when absent or when the
    /// JSON is not an object); for text, only that member is parsed.
    pub fn member(&self, key: &str) -> StoreResult<Option<Value>> {
        match &self.0 {
            Repr::Tree(v) | Repr::Text(_, Some(v)) => Ok(v.get(key).cloned()),
            Repr::Text(t, None) => match t.members() {
                Some(mut members) => match members.find(|(k, _)| *k == key) {
                    Some((_, raw)) => parse(raw).map(Some),
                    None => Ok(None),
                },
                None => {
                    let mut de = serde_json::Deserializer::from_str(&t.json);
                    de.deserialize_any(MemberVisitor(key)).map_err(unreadable)
                }
            },
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
            Repr::Text(t, _) => f.debug_tuple("Text").field(&t.json).finish(),
        }
    }
}

/// Equal when both parse to the same JSON (text that does not parse equals
/// nothing).
impl PartialEq for SharedJson {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Repr::Text(a, _), Repr::Text(b, _)) if a.json == b.json => true,
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
    fn text_of_writes_serde_json_compact_form_and_indexes_it() {
        let values = [
            json!({"schemas": ["a"], "id": "1", "name": {"givenName": "é\u{1}\"x"}, "n": -2.5e10}),
            json!({"we\"ird": 1, "b": [true, null]}),
            json!({}),
            json!([1, 2]),
            json!("text"),
        ];
        for v in values {
            let t = SharedJson::text_of(&v).expect("text");
            assert_eq!(
                t.as_text(),
                Some(serde_json::to_string(&v).expect("json").as_str())
            );
            assert_eq!(*t.tree().expect("tree"), v);
            match v.as_object() {
                Some(obj) if !obj.keys().any(|k| k.contains('"')) => {
                    let got: Vec<(String, Value)> = t
                        .raw_members()
                        .expect("indexed")
                        .map(|(k, raw)| (k.to_owned(), serde_json::from_str(raw).expect("raw")))
                        .collect();
                    let want: Vec<(String, Value)> =
                        obj.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                    assert_eq!(got, want);
                    for (k, v) in obj {
                        assert_eq!(t.member(k).expect("member").as_ref(), Some(v));
                    }
                }
                // An escaped key, or not an object: no index; lookups scan.
                _ => {
                    assert!(t.raw_members().is_none());
                    if let Some(obj) = v.as_object() {
                        for (k, v) in obj {
                            assert_eq!(t.member(k).expect("member").as_ref(), Some(v));
                        }
                    }
                }
            }
            // from_text finds the same members as text_of wrote.
            let scanned = SharedJson::from_text(t.as_text().expect("text"));
            assert_eq!(
                scanned.raw_members().map(Iterator::collect::<Vec<_>>),
                t.raw_members().map(Iterator::collect::<Vec<_>>)
            );
        }
    }

    #[test]
    fn text_with_its_tree_answers_from_both_without_parsing() {
        let v = json!({"id": "1", "userName": "a"});
        let t = SharedJson::text_of(&v).expect("text").with_tree(v.clone());
        assert_eq!(t.as_text(), Some(r#"{"id":"1","userName":"a"}"#));
        assert_eq!(t.as_tree(), Some(&v));
        assert!(Arc::ptr_eq(
            &t.tree().expect("tree"),
            &t.tree().expect("tree")
        ));
        assert_eq!(t.member("userName").expect("member"), Some(json!("a")));
        assert_eq!(t.raw_members().map(|m| m.count()), Some(2));
        assert_eq!(t.clone().into_value().expect("value"), v);
        // A tree stays a tree.
        let tree = SharedJson::from(v.clone()).with_tree(json!({}));
        assert_eq!(tree.as_tree(), Some(&v));
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
