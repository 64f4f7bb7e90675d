//! The searchable columns derived from a resource's JSON on every write.
//!
//! Each column holds exactly what the core evaluator ([`scimkit::filter::matches`])
//! looks at, so a comparison on the column gives the evaluator's answer: the
//! string value of a single-valued attribute (case-folded when the attribute is
//! not caseExact), `NULL` when the attribute is absent or `null`.

use scimkit::store::fold_case;
use serde_json::Value;
use time::UtcOffset;

/// The columns of a `users` row.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct UserColumns {
    /// `userName`, case-folded: the uniqueness key ([`scimkit::store::unique_key`]).
    pub(crate) user_name_key: Option<String>,
    pub(crate) external_id: Option<String>,
    pub(crate) display_name_key: Option<String>,
    /// The sort key of `emails`: the primary address, else the first, folded.
    pub(crate) email_key: Option<String>,
    pub(crate) active: Option<bool>,
    pub(crate) created: Option<String>,
    pub(crate) last_modified: Option<String>,
    /// One row per element of `emails`.
    pub(crate) emails: Vec<EmailColumns>,
}

/// The columns of a `user_emails` row (one element of `emails`).
#[derive(Debug, Default, PartialEq)]
pub(crate) struct EmailColumns {
    pub(crate) value_key: Option<String>,
    pub(crate) type_key: Option<String>,
    pub(crate) primary: Option<bool>,
}

/// The columns of a `groups` row.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct GroupColumns {
    pub(crate) external_id: Option<String>,
    pub(crate) display_name_key: Option<String>,
    pub(crate) created: Option<String>,
    pub(crate) last_modified: Option<String>,
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
/// (`2024-01-31T12:00:00.123000000Z`), which orders like the instants; `None`
/// if it does not parse (or leaves the four-digit years in UTC).
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

impl UserColumns {
    pub(crate) fn of(resource: &Value) -> Self {
        let items: Vec<&Value> = match resource.get("emails") {
            Some(Value::Array(items)) => items.iter().collect(),
            Some(item @ Value::Object(_)) => vec![item],
            _ => Vec::new(),
        };
        let emails = items
            .iter()
            .map(|item| EmailColumns {
                value_key: folded(item.get("value")),
                type_key: folded(item.get("type")),
                primary: item.get("primary").and_then(Value::as_bool),
            })
            .collect();
        // RFC 7643 §3.4.2.3 via the core's sort_key: the primary value, else the first.
        let sort_item = items
            .iter()
            .find(|i| i.get("primary") == Some(&Value::Bool(true)))
            .or_else(|| items.first());
        Self {
            user_name_key: scimkit::store::unique_key(scimkit::ResourceKind::User, resource),
            external_id: string(resource.get("externalId")),
            display_name_key: folded(resource.get("displayName")),
            email_key: sort_item.and_then(|i| folded(i.get("value"))),
            active: resource.get("active").and_then(Value::as_bool),
            created: meta_time(resource, "created"),
            last_modified: meta_time(resource, "lastModified"),
            emails,
        }
    }
}

impl GroupColumns {
    pub(crate) fn of(resource: &Value) -> Self {
        Self {
            external_id: string(resource.get("externalId")),
            display_name_key: folded(resource.get("displayName")),
            created: meta_time(resource, "created"),
            last_modified: meta_time(resource, "lastModified"),
        }
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
        assert_eq!(
            normalize_time("2024-01-01T00:00:00Z").as_deref(),
            Some("2024-01-01T00:00:00.000000000Z")
        );
        assert_eq!(normalize_time("yesterday"), None);
    }

    #[test]
    fn user_columns_fold_unicode_and_pick_the_primary_email() {
        let c = UserColumns::of(&json!({
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
        }));
        assert_eq!(c.user_name_key.as_deref(), Some("émile@example.com"));
        assert_eq!(c.display_name_key.as_deref(), Some("émile zola"));
        assert_eq!(
            c.external_id.as_deref(),
            Some("Ext-1"),
            "externalId is caseExact"
        );
        assert_eq!(c.email_key.as_deref(), Some("primary@x.org"));
        assert_eq!(c.active, Some(true));
        assert_eq!(c.last_modified, None);
        assert_eq!(c.emails.len(), 3, "one row per element, objects or not");
        assert_eq!(c.emails[0].type_key.as_deref(), Some("work"));
        assert_eq!(c.emails[2], EmailColumns::default());
    }
}
