//! The searchable columns derived from a resource's JSON on every write.
//!
//! Each column holds exactly what the core evaluator ([`scimkit::filter::matches`])
//! looks at, so a comparison on the column gives the evaluator's answer: the
//! string value of a single-valued attribute (case-folded in Rust with
//! [`fold_case`] when the attribute is not caseExact — PostgreSQL's `lower()`
//! depends on the database locale), `NULL` when the attribute is absent or
//! `null`. The shape follows the SQLite store's columns.

use scimkit::ResourceKind;
use scimkit::store::{Member, fold_case, unique_key};
use serde_json::Value;
use time::UtcOffset;

/// The columns of a `scimkit_resources` row.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Columns {
    /// `userName`, case-folded: the uniqueness key ([`unique_key`]); Users only.
    pub(crate) user_name_key: Option<String>,
    pub(crate) external_id: Option<String>,
    pub(crate) display_name_key: Option<String>,
    /// The sort key of `emails`: the primary address, else the first, folded.
    pub(crate) email_key: Option<String>,
    pub(crate) active: Option<bool>,
    pub(crate) created: Option<String>,
    pub(crate) last_modified: Option<String>,
    /// One row per element of `emails` (Users only).
    pub(crate) emails: Emails,
}

/// The `scimkit_emails` rows of a user, column by column (for `unnest`).
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Emails {
    pub(crate) ord: Vec<i32>,
    pub(crate) value_key: Vec<Option<String>>,
    pub(crate) type_key: Vec<Option<String>>,
    pub(crate) primary: Vec<Option<bool>>,
}

/// The `scimkit_members` rows of a group, column by column (for `unnest`).
#[derive(Debug, Default, PartialEq)]
pub(crate) struct MemberRows {
    pub(crate) id: Vec<String>,
    pub(crate) key: Vec<String>,
    pub(crate) kind: Vec<Option<String>>,
    pub(crate) display: Vec<Option<String>>,
}

impl MemberRows {
    pub(crate) fn of(members: &[Member]) -> Self {
        let mut rows = Self::default();
        for m in members {
            rows.id.push(m.value.clone());
            rows.key.push(fold_case(&m.value));
            rows.kind.push(m.kind.clone());
            rows.display.push(m.display.clone());
        }
        rows
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.id.is_empty()
    }
}

fn string(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(str::to_owned)
}

fn folded(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(fold_case)
}

fn meta_time(resource: &Value, key: &str) -> Option<String> {
    resource
        .get("meta")
        .and_then(|m| m.get(key))
        .and_then(Value::as_str)
        .and_then(normalize_time)
}

/// An RFC 3339 timestamp as fixed-width UTC text with nanoseconds
/// (`2024-01-31T12:00:00.123000000Z`), which orders like the instants (the
/// columns use the `C` collation); `None` if it does not parse or leaves the
/// four-digit years in UTC. Text rather than `timestamptz`, which keeps only
/// microseconds while the core compares nanoseconds.
pub(crate) fn normalize_time(s: &str) -> Option<String> {
    let t = scimkit::time::parse(s)
        .ok()?
        .checked_to_offset(UtcOffset::UTC)?;
    if !(0..=9999).contains(&t.year()) {
        return None;
    }
    Some(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond()
    ))
}

impl Columns {
    pub(crate) fn of(kind: ResourceKind, resource: &Value) -> Self {
        let mut c = Self {
            user_name_key: unique_key(kind, resource),
            external_id: string(resource.get("externalId")),
            display_name_key: folded(resource.get("displayName")),
            created: meta_time(resource, "created"),
            last_modified: meta_time(resource, "lastModified"),
            ..Self::default()
        };
        if kind == ResourceKind::User {
            c.active = resource.get("active").and_then(Value::as_bool);
            let items: Vec<&Value> = match resource.get("emails") {
                Some(Value::Array(items)) => items.iter().collect(),
                Some(item @ Value::Object(_)) => vec![item],
                _ => Vec::new(),
            };
            for (i, item) in items.iter().enumerate() {
                c.emails.ord.push(i32::try_from(i).unwrap_or(i32::MAX));
                c.emails.value_key.push(folded(item.get("value")));
                c.emails.type_key.push(folded(item.get("type")));
                c.emails
                    .primary
                    .push(item.get("primary").and_then(Value::as_bool));
            }
            // RFC 7644 §3.4.2.3 as the core's sort key: the primary value, else the first.
            let sort_item = items
                .iter()
                .find(|i| i.get("primary") == Some(&Value::Bool(true)))
                .or_else(|| items.first());
            c.email_key = sort_item.and_then(|i| folded(i.get("value")));
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn timestamps_normalise_to_utc_nanoseconds() {
        assert_eq!(
            normalize_time("2011-05-13T06:42:34.5+02:00").as_deref(),
            Some("2011-05-13T04:42:34.500000000Z")
        );
        assert_eq!(normalize_time("yesterday"), None);
    }

    #[test]
    fn user_columns_fold_unicode_and_pick_the_primary_email() {
        let c = Columns::of(
            ResourceKind::User,
            &json!({
                "userName": "ÉMILE@Example.COM",
                "displayName": "Émile Zola",
                "externalId": "Ext-1",
                "active": true,
                "emails": [
                    {"value": "First@x.org", "type": "Work"},
                    {"value": "Primary@X.org", "primary": true},
                    "not an object"
                ],
                "meta": {"created": "2024-01-01T00:00:00.000Z"}
            }),
        );
        assert_eq!(c.user_name_key.as_deref(), Some("émile@example.com"));
        assert_eq!(c.display_name_key.as_deref(), Some("émile zola"));
        assert_eq!(c.external_id.as_deref(), Some("Ext-1"));
        assert_eq!(c.email_key.as_deref(), Some("primary@x.org"));
        assert_eq!(c.active, Some(true));
        assert_eq!(c.last_modified, None);
        assert_eq!(c.emails.ord, vec![0, 1, 2]);
        assert_eq!(c.emails.type_key[0].as_deref(), Some("work"));
        assert_eq!(c.emails.value_key[2], None);
    }

    #[test]
    fn groups_have_no_user_name_key() {
        let c = Columns::of(
            ResourceKind::Group,
            &json!({"displayName": "Admins", "userName": "x", "active": true}),
        );
        assert_eq!(c.user_name_key, None);
        assert_eq!(c.active, None);
        assert_eq!(c.display_name_key.as_deref(), Some("admins"));
    }
}
