//! Responses built outside the engine.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Response, StatusCode};
use scimkit::{SCIM_CONTENT_TYPE, ScimError};

/// The RFC 7644 §3.12 error response for `e`, as the engine would render it.
pub(crate) fn error_response(e: &ScimError) -> Response<Bytes> {
    let body = Bytes::from(e.to_json().to_string());
    let mut resp = Response::new(body);
    *resp.status_mut() =
        StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(SCIM_CONTENT_TYPE));
    resp
}
