//! The server handle and its responses: `scimkit_server_handle`,
//! `scimkit_response_*`, `scimkit_server_free`.

use std::ffi::c_char;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use scimkit::{ScimError, ScimServer};

use crate::boundary::{EventBridge, free_box, into_raw, str_bytes, write_out};
use crate::result::{scimkit_result, scimkit_str};

/// A configured SCIM server, made by `scimkit_config_builder_build`.
///
/// Immutable and thread-safe: any number of threads may call
/// [`scimkit_server_handle`] on the same `const scimkit_server *` at once. The
/// caller owns it and frees it with [`scimkit_server_free`] once no call on it
/// is running; responses it gave stay valid after that.
#[derive(Debug)]
pub struct scimkit_server {
    server: ScimServer,
    /// The C event callback, closed when the server is freed.
    events: Option<Arc<EventBridge>>,
}

impl scimkit_server {
    pub(crate) fn new(server: ScimServer, events: Option<Arc<EventBridge>>) -> Self {
        Self { server, events }
    }
}

impl Drop for scimkit_server {
    fn drop(&mut self) {
        // No event callback after scimkit_server_free returns (events still
        // queued are discarded by the closed bridge).
        if let Some(e) = &self.events {
            e.close();
        }
    }
}

/// One request header: name and value, each borrowed for the duration of the
/// call. Both are raw bytes as received (they need not be UTF-8); an invalid
/// header name or value makes the response a SCIM 400.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct scimkit_header {
    /// The header name, any case (e.g. `Authorization`).
    pub name: scimkit_str,
    /// The header value (e.g. `Bearer s3cret`).
    pub value: scimkit_str,
}

/// The HTTP response to one request: status, headers, body. Made by
/// [`scimkit_server_handle`]; owned by the caller, who frees it with
/// [`scimkit_response_free`]. Everything read from it borrows from it. Not
/// thread-safe: use it from one thread at a time (it may move between threads).
#[derive(Debug)]
pub struct scimkit_response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Bytes,
}

impl scimkit_response {
    fn from_http(resp: http::Response<Bytes>) -> Self {
        let (parts, body) = resp.into_parts();
        let headers = parts
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        Self {
            status: parts.status.as_u16(),
            headers,
            body,
        }
    }

    /// A SCIM error response made here, for requests the engine cannot be
    /// given (unparseable method, target or header; body over the limit).
    fn from_error(e: &ScimError) -> Self {
        Self::from_http(e.to_response())
    }
}

/// The request, checked and converted, or the SCIM error to answer instead.
fn build_request(
    method: &str,
    target: &str,
    headers: &[scimkit_header],
) -> Result<(Method, Uri, HeaderMap), ScimError> {
    let method = Method::from_bytes(method.as_bytes())
        .map_err(|_| ScimError::bad_request(format!("invalid HTTP method {method:?}")))?;
    let uri: Uri = target
        .parse()
        .ok()
        .filter(|u: &Uri| u.path().starts_with('/'))
        .ok_or_else(|| ScimError::bad_request("invalid request target"))?;
    let mut map = HeaderMap::with_capacity(headers.len());
    for h in headers {
        let (Some(name), Some(value)) = (str_bytes(&h.name), str_bytes(&h.value)) else {
            return Err(ScimError::bad_request(
                "invalid header (NULL with a length)",
            ));
        };
        let name = HeaderName::from_bytes(name)
            .map_err(|_| ScimError::bad_request("invalid header name"))?;
        let value = HeaderValue::from_bytes(value)
            .map_err(|_| ScimError::bad_request(format!("invalid value for header {name}")))?;
        map.append(name, value);
    }
    Ok((method, uri, map))
}

/// Handle one HTTP request and give its response in `*response_out`.
///
/// * `method` / `method_len`: the HTTP method, e.g. `GET` (UTF-8);
/// * `target` / `target_len`: the request target as received — path and query,
///   still percent-encoded, e.g. `/scim/v2/Users?filter=userName%20eq%20%22x%22`
///   (UTF-8);
/// * `headers` / `headers_len`: the request headers (NULL if 0);
/// * `body` / `body_len`: the request body (NULL if 0).
///
/// All inputs are borrowed for the duration of the call. Every HTTP outcome —
/// success, a SCIM error (401, 404, 409, …), a store failure (500/503), a
/// malformed method, target or header (400), a body over the limit (413) — is a
/// response with `SCIMKIT_RESULT_OK`; write its status, headers and body back
/// to the client. The caller owns `*response_out` and frees it with
/// [`scimkit_response_free`].
///
/// Thread-safe: call it from any number of threads at once on one server.
/// Returns NULL_PARAMETER (a NULL server, output, or buffer with a length),
/// INVALID_UTF8 (method or target) or PANIC; then `*response_out` is NULL.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn scimkit_server_handle(
    server: *const scimkit_server,
    method: *const c_char,
    method_len: usize,
    target: *const c_char,
    target_len: usize,
    headers: *const scimkit_header,
    headers_len: usize,
    body: *const u8,
    body_len: usize,
    response_out: *mut *mut scimkit_response,
) -> scimkit_result {
    ffi_panic_boundary! {
        let response_out = try_out!(response_out);
        write_out(response_out, std::ptr::null_mut());
        let server = &try_ref!(server).server;
        let method = try_str!(method, method_len);
        let target = try_str!(target, target_len);
        let headers = try_slice!(headers, headers_len);
        let body = try_bytes!(body, body_len);
        let response = match build_request(method, target, headers) {
            Err(e) => scimkit_response::from_error(&e),
            Ok(_) if body.len() > server.config().max_body_size => {
                scimkit_response::from_error(&ScimError::payload_too_large(
                    server.config().max_body_size,
                ))
            }
            Ok((method, uri, headers)) => {
                scimkit_response::from_http(server.handle_parts(&method, &uri, &headers, body))
            }
        };
        write_out(response_out, into_raw(response));
        scimkit_result::Ok
    }
}

/// An administrator's operation, as JSON in and a response out (status 200
/// with a JSON body, or a SCIM error response): `{"op": "hidden_users",
/// "tenant": "t", "state": "review"}`, `{"op": "approve_deletion", "tenant",
/// "id"}`, `{"op": "restore_user", "tenant", "id"}`, `{"op": "set_ignored",
/// "tenant", "id", "ignored": true}`, `{"op": "log", "tenant"?, "outcome"?,
/// "limit"?, …}`, `{"op": "flush_events", "timeoutMs"?}` (see
/// `ScimServer::admin_json` in the Rust docs). Never expose this to SCIM
/// clients: it is the host's own administration.
///
/// `request` is UTF-8, `len` bytes, borrowed for the call. The caller owns
/// `*response_out` and frees it with [`scimkit_response_free`]. Thread-safe.
/// Returns NULL_PARAMETER, INVALID_UTF8 or PANIC (then `*response_out` is
/// NULL); a request that is not JSON is a 400 response.
#[unsafe(no_mangle)]
pub extern "C" fn scimkit_server_admin(
    server: *const scimkit_server,
    request: *const c_char,
    len: usize,
    response_out: *mut *mut scimkit_response,
) -> scimkit_result {
    ffi_panic_boundary! {
        let response_out = try_out!(response_out);
        write_out(response_out, std::ptr::null_mut());
        let server = &try_ref!(server).server;
        let request = try_str!(request, len);
        let answer = serde_json::from_str::<serde_json::Value>(request)
            .map_err(|e| ScimError::invalid_syntax(format!("the admin request is not JSON: {e}")))
            .and_then(|v| server.admin_json(&v));
        let response = match answer {
            Ok(v) => {
                let mut resp = http::Response::new(Bytes::from(v.to_string()));
                resp.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static("application/json"),
                );
                scimkit_response::from_http(resp)
            }
            Err(e) => scimkit_response::from_error(&e),
        };
        write_out(response_out, into_raw(response));
        scimkit_result::Ok
    }
}

/// Free a server. Responses it gave remain valid. A C store's `free_userdata`
/// is called here; the event callback is not called after this returns.
///
/// Calling with NULL is fine. Must not be called twice with the same value, nor
/// while another thread is inside a call on it.
#[unsafe(no_mangle)]
pub extern "C" fn scimkit_server_free(server: *mut scimkit_server) {
    ffi_panic_boundary! {
        free_box(server)
    }
}

/// The HTTP status code (e.g. 200, 404); 0 for a NULL response.
#[unsafe(no_mangle)]
pub extern "C" fn scimkit_response_status(response: *const scimkit_response) -> u16 {
    ffi_panic_boundary! {
        crate::boundary::as_ref(response).map_or(0, |r| r.status)
    }
}

/// The number of response headers; 0 for a NULL response.
#[unsafe(no_mangle)]
pub extern "C" fn scimkit_response_header_count(response: *const scimkit_response) -> usize {
    ffi_panic_boundary! {
        crate::boundary::as_ref(response).map_or(0, |r| r.headers.len())
    }
}

/// Header number `index` (from 0): its lower-case name in `*name_out` and its
/// value in `*value_out`, both borrowing from `response` (valid until it is
/// freed). A header name may repeat.
///
/// Returns NULL_PARAMETER or INVALID_PARAMETER (`index` not below
/// `scimkit_response_header_count`).
#[unsafe(no_mangle)]
pub extern "C" fn scimkit_response_header(
    response: *const scimkit_response,
    index: usize,
    name_out: *mut scimkit_str,
    value_out: *mut scimkit_str,
) -> scimkit_result {
    ffi_panic_boundary! {
        let response = try_ref!(response);
        let name_out = try_out!(name_out);
        let value_out = try_out!(value_out);
        let Some((name, value)) = response.headers.get(index) else {
            return scimkit_result::InvalidParameter;
        };
        write_out(name_out, scimkit_str::borrow(name));
        write_out(value_out, scimkit_str::borrow(value));
        scimkit_result::Ok
    }
}

/// The response body (SCIM JSON, or empty for 204) in `*body_out` and
/// `*body_len_out`; it borrows from `response` (valid until it is freed) and
/// may be NULL when the length is 0.
///
/// Returns NULL_PARAMETER.
#[unsafe(no_mangle)]
pub extern "C" fn scimkit_response_body(
    response: *const scimkit_response,
    body_out: *mut *const u8,
    body_len_out: *mut usize,
) -> scimkit_result {
    ffi_panic_boundary! {
        let response = try_ref!(response);
        let body_out = try_out!(body_out);
        let body_len_out = try_out!(body_len_out);
        write_out(body_out, response.body.as_ptr());
        write_out(body_len_out, response.body.len());
        scimkit_result::Ok
    }
}

/// Free a response.
///
/// Calling with NULL is fine. Must not be called twice with the same value.
#[unsafe(no_mangle)]
pub extern "C" fn scimkit_response_free(response: *mut scimkit_response) {
    ffi_panic_boundary! {
        free_box(response)
    }
}
