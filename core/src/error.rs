//! The one SCIM error type and its wire form (RFC 7644 §3.12).
//!
//! Every failure the engine can answer with is a [`ScimError`]: it knows its HTTP
//! status, its optional `scimType` keyword and a human-readable `detail`. The single
//! place that turns it into the RFC 7644 §3.12 JSON body is [`ScimError::to_json`].
//!
//! Store failures ([`crate::store::StoreError::Other`]) become a generic 500 whose
//! detail never contains the cause; the cause is kept as the error's
//! [`source`](std::error::Error::source) so the host can log it.

use std::fmt;

use serde_json::{Value, json};

/// The URN of the SCIM error message schema (RFC 7644 §3.12).
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The `scimType` keywords of RFC 7644 §3.12 (Table 9) and RFC 9865 (cursors).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ScimType {
    /// `invalidFilter`: the filter syntax is invalid or the filter names an unknown
    /// attribute (RFC 7644 §3.4.2.2). Status 400.
    InvalidFilter,
    /// `tooMany`: the filter yields more results than the server is willing to
    /// compute or return (RFC 7644 §3.4.2.4). Status 400.
    TooMany,
    /// `uniqueness`: one or more attribute values are already in use (RFC 7644
    /// §3.3). Status 409.
    Uniqueness,
    /// `mutability`: an attempt to modify an immutable attribute (RFC 7644 §3.5.2).
    /// Status 400.
    Mutability,
    /// `invalidSyntax`: the request body structure is invalid or does not conform
    /// to the schema (RFC 7644 §3.12). Status 400.
    InvalidSyntax,
    /// `invalidPath`: the PATCH `path` is invalid (RFC 7644 §3.5.2). Status 400.
    InvalidPath,
    /// `noTarget`: the PATCH `path` matched nothing for an operation that needs a
    /// target (RFC 7644 §3.5.2.3). Status 400.
    NoTarget,
    /// `invalidValue`: a required value is missing or a value is not compatible
    /// with the attribute type (RFC 7644 §3.12). Status 400.
    InvalidValue,
    /// `invalidVers`: the specified SCIM protocol version is not supported (RFC 7644
    /// §3.13). Status 400.
    InvalidVers,
    /// `sensitive`: sensitive information was passed in a request URI (RFC 7644
    /// §7.5.2). Status 403.
    Sensitive,
    /// `invalidCursor`: the cursor is malformed or unknown (RFC 9865 §2). Status 400.
    InvalidCursor,
    /// `expiredCursor`: the cursor has expired (RFC 9865 §2). Status 400.
    ExpiredCursor,
}

impl ScimType {
    /// The wire keyword, e.g. `"invalidFilter"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
            ScimType::InvalidCursor => "invalidCursor",
            ScimType::ExpiredCursor => "expiredCursor",
        }
    }

    /// The HTTP status that goes with this keyword, one row per keyword:
    ///
    /// | keyword | status | source |
    /// |---|---|---|
    /// | uniqueness | 409 | RFC 7644 §3.3 ("409 (Conflict) with a scimType error code of uniqueness") |
    /// | sensitive | 403 | RFC 7644 §7.5.2 (sensitive data in a URI is refused, not malformed) |
    /// | all others | 400 | RFC 7644 §3.12 ("For HTTP status code 400 (Bad Request) responses …"), RFC 9865 §2 |
    pub fn status(self) -> u16 {
        match self {
            ScimType::Uniqueness => 409,
            ScimType::Sensitive => 403,
            _ => 400,
        }
    }
}

impl fmt::Display for ScimType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A SCIM protocol error: an HTTP status, an optional `scimType` and a detail
/// message, rendered as the RFC 7644 §3.12 error body by [`ScimError::to_json`].
///
/// Construct it with the constructor named after the situation
/// ([`ScimError::not_found`], [`ScimError::uniqueness`], …).
#[derive(Debug, thiserror::Error)]
#[error("{status} {detail}")]
pub struct ScimError {
    status: u16,
    scim_type: Option<ScimType>,
    detail: String,
    retry_after: Option<u32>,
    #[source]
    source: Option<Source>,
}

impl ScimError {
    /// A 400/403/409 error with the given keyword (status from [`ScimType::status`]).
    pub fn new(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self {
            status: scim_type.status(),
            scim_type: Some(scim_type),
            detail: detail.into(),
            retry_after: None,
            source: None,
        }
    }

    /// An error with a status and no `scimType`.
    pub fn with_status(status: u16, detail: impl Into<String>) -> Self {
        Self {
            status,
            scim_type: None,
            detail: detail.into(),
            retry_after: None,
            source: None,
        }
    }

    /// 400 `invalidFilter`.
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::new(ScimType::InvalidFilter, detail)
    }

    /// 400 `invalidSyntax`.
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::new(ScimType::InvalidSyntax, detail)
    }

    /// 400 `invalidValue`.
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::new(ScimType::InvalidValue, detail)
    }

    /// 400 `invalidPath`.
    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::new(ScimType::InvalidPath, detail)
    }

    /// 400 `noTarget`.
    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::new(ScimType::NoTarget, detail)
    }

    /// 400 `mutability`.
    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::new(ScimType::Mutability, detail)
    }

    /// 400 `tooMany`.
    pub fn too_many(detail: impl Into<String>) -> Self {
        Self::new(ScimType::TooMany, detail)
    }

    /// 409 `uniqueness` for the named attribute.
    pub fn uniqueness(attribute: &str) -> Self {
        Self::new(
            ScimType::Uniqueness,
            format!("{attribute} is already in use by another resource"),
        )
    }

    /// 400 without a keyword (RFC 7644 §3.12: "Request is unparsable, syntactically
    /// incorrect, or violates schema" where no keyword fits).
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::with_status(400, detail)
    }

    /// 401: no or an unknown bearer token.
    pub fn unauthorized() -> Self {
        Self::with_status(
            401,
            "authorization failure: a valid bearer token is required",
        )
    }

    /// 403 without a keyword: the operation is not permitted.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::with_status(403, detail)
    }

    /// 404 for a resource that does not exist (or is hidden from this tenant).
    pub fn not_found(what: &str, id: &str) -> Self {
        Self::with_status(404, format!("{what} {id} not found"))
    }

    /// 404 for an unknown endpoint.
    pub fn no_endpoint(path: &str) -> Self {
        Self::with_status(404, format!("no SCIM endpoint at {path}"))
    }

    /// 405 for a method the endpoint does not support.
    pub fn method_not_allowed(method: &str, path: &str) -> Self {
        Self::with_status(405, format!("method {method} is not supported on {path}"))
    }

    /// 409 without a keyword (a write conflicted with a concurrent write).
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::with_status(409, detail)
    }

    /// 412: an `If-Match` precondition failed (RFC 7644 §3.14).
    pub fn precondition_failed() -> Self {
        Self::with_status(
            412,
            "the resource version does not match the If-Match precondition",
        )
    }

    /// 413: the request body is larger than the server accepts.
    pub fn payload_too_large(limit: usize) -> Self {
        Self::with_status(413, format!("request body larger than {limit} bytes"))
    }

    /// 415: the request body is not JSON.
    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::with_status(
            415,
            format!(
                "unsupported content type {content_type:?}: use application/scim+json or application/json"
            ),
        )
    }

    /// 500 with a generic detail; `source` is kept for logging and never rendered.
    pub fn internal(source: impl Into<Source>) -> Self {
        Self {
            status: 500,
            scim_type: None,
            detail: "internal server error".to_owned(),
            retry_after: None,
            source: Some(source.into()),
        }
    }

    /// 501: the feature is not implemented by this server.
    pub fn not_implemented(detail: impl Into<String>) -> Self {
        Self::with_status(501, detail)
    }

    /// 503 with a generic detail and a `Retry-After` in seconds; `source` is kept for
    /// logging and never rendered.
    pub fn unavailable(source: impl Into<Source>, retry_after: u32) -> Self {
        Self {
            status: 503,
            scim_type: None,
            detail: "service temporarily unavailable, retry later".to_owned(),
            retry_after: Some(retry_after),
            source: Some(source.into()),
        }
    }

    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The `scimType` keyword, if any.
    pub fn scim_type(&self) -> Option<ScimType> {
        self.scim_type
    }

    /// The human-readable detail sent to the client.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// Seconds the client should wait before retrying (503 only).
    pub fn retry_after(&self) -> Option<u32> {
        self.retry_after
    }

    /// Prefix the detail with some context (e.g. the bulk operation it belongs to).
    pub fn context(mut self, prefix: &str) -> Self {
        self.detail = format!("{prefix}: {}", self.detail);
        self
    }

    /// The complete HTTP response for this error: status, `Content-Type:
    /// application/scim+json`, `WWW-Authenticate` on 401, `Retry-After` on 503,
    /// and the JSON body (for adapters that fail before reaching the engine).
    pub fn to_response(&self) -> http::Response<bytes::Bytes> {
        crate::protocol::error_response(self)
    }

    /// The RFC 7644 §3.12 error body: `schemas`, `status` (a string), `scimType`
    /// (when defined) and `detail`.
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.to_string(),
        });
        if let Some(t) = self.scim_type {
            v["scimType"] = Value::String(t.as_str().to_owned());
        }
        v["detail"] = Value::String(self.detail.clone());
        v
    }
}

/// `Result` with [`ScimError`].
pub type Result<T, E = ScimError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_form_has_status_as_string_and_scim_type() {
        let e = ScimError::uniqueness("userName");
        assert_eq!(
            e.to_json(),
            json!({
                "schemas": [ERROR_SCHEMA],
                "status": "409",
                "scimType": "uniqueness",
                "detail": "userName is already in use by another resource",
            })
        );
    }

    #[test]
    fn errors_without_keyword_omit_scim_type() {
        let v = ScimError::not_found("User", "abc").to_json();
        assert_eq!(v["status"], "404");
        assert!(v.get("scimType").is_none());
    }

    #[test]
    fn internal_errors_do_not_leak_their_source() {
        let e = ScimError::internal("disk /var/secret.db is on fire");
        let body = e.to_json().to_string();
        assert!(!body.contains("secret"), "{body}");
        assert_eq!(e.status(), 500);
        assert!(
            std::error::Error::source(&e)
                .unwrap()
                .to_string()
                .contains("fire")
        );
    }

    #[test]
    fn status_table() {
        // RFC 7644 §3.12: the keywords are defined for 400 responses, except
        // uniqueness (409, §3.3) and sensitive (403, §7.5.2).
        assert_eq!(ScimType::InvalidFilter.status(), 400);
        assert_eq!(ScimType::Uniqueness.status(), 409);
        assert_eq!(ScimType::Sensitive.status(), 403);
        assert_eq!(ScimType::InvalidVers.as_str(), "invalidVers");
    }
}
