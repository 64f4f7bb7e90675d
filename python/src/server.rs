//! `Server` and `Response`: one request in, one response out.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use http::{HeaderMap, Method, Uri};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyList, PyMapping, PyString, PyTuple};
use scimkit::{
    DeletionPolicy, GroupPolicy, LinkPolicy, Policies, ScimError, ScimServer, UnknownAttributes,
    UserStore,
};

use crate::errors::config_error;
use crate::events::PyEventHandler;
use crate::json::to_py;
use crate::store::store_from_py;

/// The SCIM engine. Thread-safe; `handle` releases the GIL while the engine
/// works (and re-acquires it inside Python store callbacks).
#[pyclass(name = "Server", module = "scimkit._native", frozen)]
#[derive(Debug)]
pub(crate) struct PyServer {
    server: ScimServer,
    store: Py<PyAny>,
}

#[pymethods]
impl PyServer {
    #[new]
    #[pyo3(signature = (
        store,
        tokens = None,
        *,
        trusted_tenant = None,
        base_path = "/scim/v2",
        base_url = None,
        reject_unknown_attributes = false,
        max_results = None,
        default_count = None,
        max_body_size = None,
        max_patch_operations = None,
        bulk_max_operations = None,
        max_unindexed_scan = None,
        deletion = "hard",
        groups = "full",
        link_existing = "off",
        require_guid_external_id = false,
        rename_on_deactivate = None,
        on_event = None,
        event_queue = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        store: &Bound<'_, PyAny>,
        tokens: Option<&Bound<'_, PyAny>>,
        trusted_tenant: Option<&str>,
        base_path: &str,
        base_url: Option<&str>,
        reject_unknown_attributes: bool,
        max_results: Option<usize>,
        default_count: Option<usize>,
        max_body_size: Option<usize>,
        max_patch_operations: Option<usize>,
        bulk_max_operations: Option<usize>,
        max_unindexed_scan: Option<usize>,
        deletion: &str,
        groups: &str,
        link_existing: &str,
        require_guid_external_id: bool,
        rename_on_deactivate: Option<String>,
        on_event: Option<&Bound<'_, PyAny>>,
        event_queue: Option<usize>,
    ) -> PyResult<Self> {
        let backend: Arc<dyn UserStore> = store_from_py(store)?;
        let policies = Policies {
            deletion: choose(
                "deletion",
                deletion,
                &[
                    ("hard", DeletionPolicy::Hard),
                    ("soft", DeletionPolicy::Soft),
                    ("review", DeletionPolicy::Review),
                ],
            )?,
            groups: choose(
                "groups",
                groups,
                &[
                    ("full", GroupPolicy::Full),
                    ("update_only", GroupPolicy::UpdateOnly),
                    ("refuse", GroupPolicy::Refuse),
                    ("ignore", GroupPolicy::Ignore),
                ],
            )?,
            link_existing: choose(
                "link_existing",
                link_existing,
                &[
                    ("off", LinkPolicy::Off),
                    ("by_user_name", LinkPolicy::ByUserName),
                    ("by_user_name_or_email", LinkPolicy::ByUserNameOrEmail),
                ],
            )?,
            require_guid_external_id,
            rename_on_deactivate,
            ..Policies::default()
        };
        let mut b = ScimServer::builder()
            .shared_store(backend)
            .base_path(base_path)
            .policies(policies);
        if let Some(cb) = on_event.filter(|c| !c.is_none()) {
            if !cb.is_callable() {
                return Err(PyTypeError::new_err("on_event must be callable"));
            }
            b = b.on_event(PyEventHandler::new(cb.clone().unbind()));
        }
        if let Some(n) = event_queue {
            b = b.event_queue(n);
        }
        if let Some(tokens) = tokens.filter(|t| !t.is_none()) {
            let map = tokens.cast::<PyMapping>().map_err(|_| {
                PyTypeError::new_err("tokens must be a mapping of bearer token -> tenant")
            })?;
            for item in map.items()?.iter() {
                let (token, tenant): (String, String) = item.extract().map_err(|_| {
                    PyTypeError::new_err("tokens must map str tokens to str tenants")
                })?;
                if token.is_empty() {
                    return Err(PyValueError::new_err("a bearer token must not be empty"));
                }
                b = b.token(&token, &tenant);
            }
        }
        if let Some(t) = trusted_tenant {
            b = b.trusted_tenant(t);
        }
        if let Some(u) = base_url {
            b = b.base_url(u);
        }
        if reject_unknown_attributes {
            b = b.unknown_attributes(UnknownAttributes::Reject);
        }
        if let Some(n) = max_results {
            b = b.max_results(n);
        }
        if let Some(n) = default_count {
            b = b.default_count(n);
        }
        if let Some(n) = max_body_size {
            b = b.max_body_size(n);
        }
        if let Some(n) = max_patch_operations {
            b = b.max_patch_operations(n);
        }
        if let Some(n) = bulk_max_operations {
            b = b.bulk_max_operations(n);
        }
        if max_unindexed_scan.is_some() {
            b = b.max_unindexed_scan(max_unindexed_scan);
        }
        let server = b.build().map_err(config_error)?;
        Ok(Self {
            server,
            store: store.clone().unbind(),
        })
    }

    /// The base path served, e.g. `"/scim/v2"`.
    #[getter]
    fn base_path(&self) -> &str {
        self.server.base_path()
    }

    /// The largest request body accepted, in bytes (larger ones get 413).
    #[getter]
    fn max_body_size(&self) -> usize {
        self.server.config().max_body_size
    }

    /// Wait (at most `timeout` seconds, with the GIL released) until every event
    /// queued so far was delivered to `on_event`; `True` when done (or without
    /// `on_event`).
    #[pyo3(signature = (timeout = 5.0))]
    fn flush_events(&self, py: Python<'_>, timeout: f64) -> PyResult<bool> {
        let timeout = Duration::try_from_secs_f64(timeout).map_err(|_| {
            PyValueError::new_err("timeout must be a non-negative number of seconds")
        })?;
        let server = &self.server;
        Ok(py.detach(|| server.flush_events(timeout)))
    }

    /// Events dropped because the event queue was full.
    #[getter]
    fn events_dropped(&self) -> u64 {
        self.server.events_dropped()
    }

    /// The store given to the constructor.
    #[getter]
    fn store(&self, py: Python<'_>) -> Py<PyAny> {
        self.store.clone_ref(py)
    }

    /// Handle one request. `path` is the URL path as sent (percent-encoded),
    /// `query` the raw query string (without `?`). SCIM errors (including 401,
    /// 404, 409, 413, 500) are returned as responses; only misuse raises.
    #[pyo3(signature = (method, path, *, query = "", headers = None, body = None))]
    fn handle(
        &self,
        py: Python<'_>,
        method: &str,
        path: &str,
        query: &str,
        headers: Option<&Bound<'_, PyAny>>,
        body: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyResponse> {
        let method = Method::from_bytes(method.as_bytes())
            .map_err(|_| PyValueError::new_err(format!("invalid HTTP method {method:?}")))?;
        let uri = build_uri(path, query)?;
        let headers = header_map(headers)?;
        let limit = self.server.config().max_body_size;
        let server = &self.server;
        let response = match body_of(body)? {
            Body::Borrowed(b) => {
                let bytes = b.as_bytes();
                if bytes.len() > limit {
                    too_large(limit)
                } else {
                    // `bytes` objects are immutable and `b` keeps this one alive, so
                    // the engine can read it while the GIL is released.
                    py.detach(|| server.handle_parts(&method, &uri, &headers, bytes))
                }
            }
            Body::Owned(data) => {
                if data.len() > limit {
                    too_large(limit)
                } else {
                    py.detach(|| server.handle_parts(&method, &uri, &headers, &data))
                }
            }
        };
        PyResponse::from_http(py, response)
    }

    fn __repr__(&self) -> String {
        format!("Server(base_path={:?})", self.server.base_path())
    }
}

/// The value named `given` among `choices`, or `ValueError` listing them.
fn choose<T: Copy>(what: &str, given: &str, choices: &[(&str, T)]) -> PyResult<T> {
    choices
        .iter()
        .find(|(name, _)| *name == given)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let names: Vec<String> = choices.iter().map(|(n, _)| format!("{n:?}")).collect();
            PyValueError::new_err(format!(
                "{what} must be one of {}, not {given:?}",
                names.join(", ")
            ))
        })
}

enum Body<'py> {
    Borrowed(Bound<'py, PyBytes>),
    Owned(Vec<u8>),
}

fn body_of<'py>(body: Option<&Bound<'py, PyAny>>) -> PyResult<Body<'py>> {
    let Some(body) = body.filter(|b| !b.is_none()) else {
        return Ok(Body::Owned(Vec::new()));
    };
    if let Ok(b) = body.cast::<PyBytes>() {
        return Ok(Body::Borrowed(b.clone()));
    }
    if let Ok(b) = body.cast::<PyByteArray>() {
        return Ok(Body::Owned(b.to_vec()));
    }
    if let Ok(s) = body.cast::<PyString>() {
        return Ok(Body::Owned(s.to_str()?.as_bytes().to_vec()));
    }
    Err(PyTypeError::new_err(format!(
        "body must be bytes (or str), not {}",
        body.get_type().name()?
    )))
}

fn too_large(limit: usize) -> http::Response<Bytes> {
    let e = ScimError::payload_too_large(limit);
    let mut r = http::Response::new(Bytes::from(e.to_json().to_string()));
    *r.status_mut() =
        http::StatusCode::from_u16(e.status()).unwrap_or(http::StatusCode::PAYLOAD_TOO_LARGE);
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static(scimkit::SCIM_CONTENT_TYPE),
    );
    r
}

/// Percent-encode what may not appear raw in a request target (space, controls,
/// non-ASCII, `"<>\^`{|}` and, in the path, `?` and `#`); `%` is kept, as the
/// input is taken to be already encoded.
fn encode_target(s: &str, in_path: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        let escape = b <= 0x20
            || b >= 0x7f
            || matches!(
                b,
                b'"' | b'<' | b'>' | b'\\' | b'^' | b'`' | b'{' | b'|' | b'}' | b'#'
            )
            || (in_path && b == b'?');
        if escape {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push(b as char);
        }
    }
    out
}

fn build_uri(path: &str, query: &str) -> PyResult<Uri> {
    if !path.starts_with('/') {
        return Err(PyValueError::new_err(format!(
            "path must start with '/', got {path:?}"
        )));
    }
    let mut target = encode_target(path, true);
    let query = query.strip_prefix('?').unwrap_or(query);
    if !query.is_empty() {
        target.push('?');
        target.push_str(&encode_target(query, false));
    }
    Uri::builder()
        .path_and_query(target)
        .build()
        .map_err(|e| PyValueError::new_err(format!("invalid request target: {e}")))
}

fn header_map(headers: Option<&Bound<'_, PyAny>>) -> PyResult<HeaderMap> {
    let mut map = HeaderMap::new();
    let Some(headers) = headers.filter(|h| !h.is_none()) else {
        return Ok(map);
    };
    let items = match headers.cast::<PyMapping>() {
        Ok(m) => m.items()?.into_any(),
        Err(_) => headers.clone(),
    };
    for item in items.try_iter()? {
        let item = item?;
        let (name, value): (String, String) = item.extract().map_err(|_| {
            PyTypeError::new_err("headers must be (str, str) pairs or a mapping of str to str")
        })?;
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| PyValueError::new_err(format!("invalid header name {name:?}")))?;
        let value = HeaderValue::from_bytes(value.as_bytes())
            .map_err(|_| PyValueError::new_err(format!("invalid value for header {name}")))?;
        map.append(name, value);
    }
    Ok(map)
}

/// An HTTP response: status, headers and body.
#[pyclass(name = "Response", module = "scimkit._native", frozen)]
#[derive(Debug)]
pub(crate) struct PyResponse {
    /// The HTTP status code.
    #[pyo3(get)]
    status: u16,
    header_list: Vec<(String, String)>,
    body: Py<PyBytes>,
}

impl PyResponse {
    fn from_http(py: Python<'_>, r: http::Response<Bytes>) -> PyResult<Self> {
        let (parts, body) = r.into_parts();
        let header_list = parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        Ok(Self {
            status: parts.status.as_u16(),
            header_list,
            body: PyBytes::new(py, &body).unbind(),
        })
    }
}

#[pymethods]
impl PyResponse {
    /// The headers as `(name, value)` pairs (names in lower case).
    #[getter]
    fn headers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let items = self
            .header_list
            .iter()
            .map(|(k, v)| PyTuple::new(py, [k.as_str(), v.as_str()]))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, items)
    }

    /// The body (empty for 204).
    #[getter]
    fn body(&self, py: Python<'_>) -> Py<PyBytes> {
        self.body.clone_ref(py)
    }

    /// The first value of header `name` (case-insensitive), or `None`.
    fn header(&self, name: &str) -> Option<&str> {
        self.header_list
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON (`None` for an empty body). Raises `ValueError` if
    /// the body is not JSON.
    fn json<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let bytes = self.body.bind(py).as_bytes();
        if bytes.is_empty() {
            return Ok(py.None().into_bound(py));
        }
        let v: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| PyValueError::new_err(format!("the body is not JSON: {e}")))?;
        to_py(py, &v)
    }

    fn __repr__(&self) -> String {
        format!("<Response [{}]>", self.status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_encoded_only_where_needed() {
        assert_eq!(
            encode_target("/scim/v2/Users/a b", true),
            "/scim/v2/Users/a%20b"
        );
        assert_eq!(encode_target("/Users/%C3%A9", true), "/Users/%C3%A9");
        assert_eq!(encode_target("/Users/é", true), "/Users/%C3%A9");
        assert_eq!(encode_target("/x?y", true), "/x%3Fy");
        assert_eq!(
            encode_target(r#"filter=userName eq "a""#, false),
            "filter=userName%20eq%20%22a%22"
        );
    }

    #[test]
    fn uris_are_built_from_path_and_query() {
        let u = build_uri("/scim/v2/Users", "?count=1").unwrap();
        assert_eq!(u.path(), "/scim/v2/Users");
        assert_eq!(u.query(), Some("count=1"));
        assert!(build_uri("/scim/v2/Users", "").unwrap().query().is_none());
    }
}
