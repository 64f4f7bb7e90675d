//! The transport-free protocol engine: routing, authentication, status codes and
//! the SCIM error JSON. `ScimServer::handle` is the only way in.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use serde_json::{Map, Value, json};

use crate::auth::Principal;
use crate::error::{Result, ScimError, ScimType};
use crate::filter::{self, AttrPath, Filter};
use crate::patch::{self, PatchOpKind, PatchOperation};
use crate::projection::Projection;
use crate::schema::{
    LIST_RESPONSE_SCHEMA, ResourceKind, ResourceSchema, SERVICE_PROVIDER_CONFIG_SCHEMA,
    validate_resource,
};
use crate::server::ScimServer;
use crate::store::{
    Ctx, Member, MemberChange, Members, Page, PageRequest, Query, SharedStored, Sort, StoreError,
    Stored, paginate,
};

/// The SCIM media type.
pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";

/// An engine response before it becomes an `http::Response`.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: Option<Value>,
    /// A body already serialised (single-resource reads); `body` is then `None`.
    raw: Option<Vec<u8>>,
    /// The id and name of the resource a `raw` body holds, for the
    /// provisioning log (which reads them from `body` otherwise).
    pub(crate) logged: Option<(String, Option<String>)>,
    pub(crate) headers: Vec<(header::HeaderName, String)>,
}

impl Reply {
    pub(crate) fn from_json_body(status: u16, body: Value) -> Self {
        Self::json(status, body)
    }

    pub(crate) fn no_content() -> Self {
        Self::empty(204)
    }

    fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            body: Some(body),
            raw: None,
            logged: None,
            headers: Vec::new(),
        }
    }

    /// A JSON body serialised by the caller.
    fn raw_json(status: u16, body: Vec<u8>) -> Self {
        Self {
            status,
            body: None,
            raw: Some(body),
            logged: None,
            headers: Vec::new(),
        }
    }

    fn empty(status: u16) -> Self {
        Self {
            status,
            body: None,
            raw: None,
            logged: None,
            headers: Vec::new(),
        }
    }

    fn header(mut self, name: header::HeaderName, value: String) -> Self {
        self.headers.push((name, value));
        self
    }

    pub(crate) fn from_error(e: &ScimError) -> Self {
        let mut r = Reply::json(e.status(), e.to_json());
        if e.status() == 401 {
            r = r.header(
                header::WWW_AUTHENTICATE,
                "Bearer realm=\"scimkit\"".to_owned(),
            );
        }
        if let Some(secs) = e.retry_after() {
            r = r.header(header::RETRY_AFTER, secs.to_string());
        }
        r
    }

    fn into_http(self) -> Response<Bytes> {
        let has_body = self.body.is_some() || self.raw.is_some();
        let body = match (&self.body, self.raw) {
            (Some(v), _) => {
                // Room for a typical resource up front: no regrowth while writing.
                let mut out = Vec::with_capacity(2048);
                match serde_json::to_writer(&mut out, v) {
                    Ok(()) => Bytes::from(out),
                    Err(_) => Bytes::new(),
                }
            }
            (None, Some(raw)) => Bytes::from(raw),
            (None, None) => Bytes::new(),
        };
        let mut resp = Response::new(body);
        *resp.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if has_body {
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(SCIM_CONTENT_TYPE),
            );
        }
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                resp.headers_mut().append(name, v);
            }
        }
        resp
    }
}

/// See [`ScimError::to_response`].
pub(crate) fn error_response(e: &ScimError) -> Response<Bytes> {
    Reply::from_error(e).into_http()
}

/// The parts of a request the engine reads, owned so that Bulk can make its own.
pub(crate) struct Call<'a> {
    /// The tenant's policies (the defaults until the principal is known).
    pub(crate) policies: Arc<crate::policy::Policies>,
    /// Set when a policy made the request a no-op (for the provisioning log).
    pub(crate) ignored: std::cell::Cell<bool>,
    pub(crate) method: Method,
    /// The path below the base path, e.g. `/Users/123`.
    pub(crate) path: String,
    pub(crate) query: HashMap<String, String>,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) body: &'a [u8],
    /// The absolute (or base-path-relative) URL prefix for locations.
    pub(crate) base_url: String,
}

fn status_of(e: &StoreError) -> &'static str {
    match e {
        StoreError::NotFound => "not found",
        StoreError::Uniqueness { .. } => "uniqueness",
        StoreError::PreconditionFailed => "precondition failed",
        StoreError::Unsupported => "unsupported",
        StoreError::InvalidCursor => "invalid cursor",
        StoreError::Invalid { .. } => "invalid value",
        StoreError::Unavailable { .. } => "unavailable",
        StoreError::Other(_) => "other",
    }
}

/// Whether the response view can write a resource under this projection: the
/// default one, or one whose `excludedAttributes` names only whole core
/// attributes (the view then declines any resource that has one of them; a
/// Group read without its members, a User without `groups`, is written as
/// with the default projection). The canonical names excluded, or `None`.
fn view_exclusions<'r>(rs: &'r ResourceSchema, proj: &Projection) -> Option<Vec<&'r str>> {
    if !proj.attributes.is_empty() || crate::view::disabled() {
        return None;
    }
    proj.excluded
        .iter()
        .map(|p| {
            let core = p
                .uri
                .as_deref()
                .is_none_or(|u| u.eq_ignore_ascii_case(&rs.core.id));
            if !core || p.sub_attr.is_some() {
                return None;
            }
            rs.core_attribute(&p.name).map(|a| a.name.as_str())
        })
        .collect()
}

/// The tree of a stored resource (parsed when the store shared JSON text).
fn tree_of(ctx: &Ctx, kind: ResourceKind, s: &SharedStored) -> Result<Arc<Value>> {
    s.resource
        .tree()
        .map_err(|e| store_error(ctx, kind, &s.id, e))
}

/// Whether an administrator marked a stored resource as ignored by provisioning.
fn ignored(ctx: &Ctx, kind: ResourceKind, s: &SharedStored) -> Result<bool> {
    crate::provision::is_ignored_shared(&s.resource).map_err(|e| store_error(ctx, kind, &s.id, e))
}

/// The one place a [`StoreError`] becomes a [`ScimError`]. Failures are logged
/// with their cause; the client gets a generic detail.
pub(crate) fn store_error(ctx: &Ctx, kind: ResourceKind, id: &str, e: StoreError) -> ScimError {
    match e {
        StoreError::NotFound => ScimError::not_found(kind.as_str(), id),
        StoreError::Uniqueness { attribute } => ScimError::uniqueness(&attribute),
        StoreError::PreconditionFailed => ScimError::precondition_failed(),
        StoreError::Invalid { scim_type, detail } => match scim_type {
            Some(t) => ScimError::new(t, detail),
            None => ScimError::bad_request(detail),
        },
        StoreError::InvalidCursor => ScimError::new(
            ScimType::InvalidCursor,
            "the cursor is invalid or has expired; start again without a cursor",
        ),
        StoreError::Unavailable {
            retry_after,
            source,
        } => {
            tracing::warn!(request_id = %ctx.request_id, tenant = %ctx.tenant, error = %source, "store unavailable");
            ScimError::unavailable(source, retry_after)
        }
        other => {
            let kind_str = status_of(&other);
            tracing::error!(request_id = %ctx.request_id, tenant = %ctx.tenant, kind = kind_str, error = ?other, "store failure");
            ScimError::internal(other)
        }
    }
}

fn parse_query(q: Option<&str>) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for (k, v) in form_urlencoded::parse(q.unwrap_or("").as_bytes()) {
        // Parameter names are case-insensitive in practice (Entra, Okta).
        out.entry(k.to_ascii_lowercase())
            .or_insert_with(|| v.into_owned());
    }
    out
}

fn parse_json(body: &[u8]) -> Result<Value> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ScimError::invalid_syntax("the request body is empty"));
    }
    serde_json::from_slice(body)
        .map_err(|e| ScimError::invalid_syntax(format!("the request body is not valid JSON: {e}")))
}

fn check_content_type(headers: &HeaderMap) -> Result<()> {
    let Some(ct) = headers.get(header::CONTENT_TYPE) else {
        return Ok(()); // lenient: no content type means JSON
    };
    let ct = ct.to_str().unwrap_or("");
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime == SCIM_CONTENT_TYPE || mime == "application/json" || mime.is_empty() {
        Ok(())
    } else {
        Err(ScimError::unsupported_media_type(ct))
    }
}

/// `W/"3"` (or `"3"`) → 3.
fn etag_version(tag: &str) -> Option<u64> {
    let t = tag.trim();
    let t = t.strip_prefix("W/").unwrap_or(t);
    t.strip_prefix('"')?.strip_suffix('"')?.parse().ok()
}

fn etag(version: u64) -> String {
    format!("W/\"{version}\"")
}

/// An `If-Match` / `If-None-Match` header: `*` or a list of entity tags.
enum Precondition {
    Any,
    Versions(Vec<u64>),
}

impl Precondition {
    fn from_header(headers: &HeaderMap, name: header::HeaderName) -> Option<Self> {
        let mut versions = Vec::new();
        let mut any = false;
        let mut seen = false;
        for v in headers.get_all(name) {
            seen = true;
            for tag in v.to_str().unwrap_or("").split(',') {
                if tag.trim() == "*" {
                    any = true;
                } else if let Some(n) = etag_version(tag) {
                    versions.push(n);
                }
            }
        }
        if !seen {
            None
        } else if any {
            Some(Precondition::Any)
        } else {
            Some(Precondition::Versions(versions))
        }
    }

    fn matches(&self, version: u64) -> bool {
        match self {
            Precondition::Any => true,
            Precondition::Versions(v) => v.contains(&version),
        }
    }
}

/// Parameters of a list or search request.
#[derive(Debug, Default)]
struct ListParams {
    filter: Option<String>,
    sort_by: Option<String>,
    sort_order: Option<String>,
    start_index: Option<i64>,
    count: Option<i64>,
    cursor: Option<String>,
    attributes: Option<String>,
    excluded: Option<String>,
}

fn parse_int(name: &str, v: &str) -> Result<i64> {
    v.trim()
        .parse::<i64>()
        .map_err(|_| ScimError::invalid_value(format!("{name} must be an integer, got {v:?}")))
}

impl ListParams {
    fn from_query(q: &HashMap<String, String>) -> Result<Self> {
        Ok(Self {
            filter: q.get("filter").cloned(),
            sort_by: q.get("sortby").cloned(),
            sort_order: q.get("sortorder").cloned(),
            start_index: q
                .get("startindex")
                .map(|v| parse_int("startIndex", v))
                .transpose()?,
            count: q.get("count").map(|v| parse_int("count", v)).transpose()?,
            cursor: q.get("cursor").cloned(),
            attributes: q.get("attributes").cloned(),
            excluded: q.get("excludedattributes").cloned(),
        })
    }

    /// A SearchRequest body (RFC 7644 §3.4.3).
    fn from_search(body: &Value) -> Result<Self> {
        let obj = body
            .as_object()
            .ok_or_else(|| ScimError::invalid_syntax("a SearchRequest must be a JSON object"))?;
        let get = |k: &str| {
            obj.iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(k))
                .map(|(_, v)| v)
        };
        let string = |k: &str| -> Result<Option<String>> {
            match get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Array(a)) => Ok(Some(
                    a.iter()
                        .map(|x| {
                            x.as_str().map(str::to_owned).ok_or_else(|| {
                                ScimError::invalid_value(format!("{k} must be a list of strings"))
                            })
                        })
                        .collect::<Result<Vec<_>>>()?
                        .join(","),
                )),
                Some(_) => Err(ScimError::invalid_value(format!("{k} must be a string"))),
            }
        };
        let int = |k: &str| -> Result<Option<i64>> {
            match get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Number(n)) => n
                    .as_i64()
                    .map(Some)
                    .ok_or_else(|| ScimError::invalid_value(format!("{k} must be an integer"))),
                Some(Value::String(s)) => parse_int(k, s).map(Some),
                Some(_) => Err(ScimError::invalid_value(format!("{k} must be an integer"))),
            }
        };
        Ok(Self {
            filter: string("filter")?,
            sort_by: string("sortBy")?,
            sort_order: string("sortOrder")?,
            start_index: int("startIndex")?,
            count: int("count")?,
            cursor: string("cursor")?,
            attributes: string("attributes")?,
            excluded: string("excludedAttributes")?,
        })
    }
}

/// What a request's handling tells the transport besides the reply.
struct Extra {
    principal: Option<Principal>,
    ignored: bool,
}

/// How many times a write without `If-Match` is retried after losing a race.
const WRITE_RETRIES: usize = 16;

impl ScimServer {
    /// Handle one request. Never panics on any input and never answers 5xx for a
    /// client mistake: every failure is a SCIM error response. The response's
    /// extensions carry the authenticated [`Principal`] (tenant and token id),
    /// for the transport's logs.
    pub fn handle(&self, req: Request<Bytes>) -> Response<Bytes> {
        let (parts, body) = req.into_parts();
        self.handle_parts(&parts.method, &parts.uri, &parts.headers, &body)
    }

    /// [`ScimServer::handle`] on borrowed parts (for adapters that hold them
    /// separately).
    pub fn handle_parts(
        &self,
        method: &Method,
        uri: &http::Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Response<Bytes> {
        self.handle_inner(method, uri, headers, body, None)
    }

    /// Handle a request **as** `principal`, without asking the authenticator:
    /// for in-process callers that are the principal's own code (a pull sync, an
    /// import tool). Never route network requests here.
    pub fn handle_as(&self, principal: &Principal, req: Request<Bytes>) -> Response<Bytes> {
        let (parts, body) = req.into_parts();
        self.handle_inner(
            &parts.method,
            &parts.uri,
            &parts.headers,
            &body,
            Some(principal),
        )
    }

    fn handle_inner(
        &self,
        method: &Method,
        uri: &http::Uri,
        headers: &HeaderMap,
        body: &[u8],
        as_principal: Option<&Principal>,
    ) -> Response<Bytes> {
        let request_id = headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .filter(|s| !s.is_empty() && s.len() <= 128)
            .map(str::to_owned)
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        if body.len() > self.inner.config.max_body_size {
            // Adapters usually stop reading earlier; this holds for every caller.
            return ScimError::payload_too_large(self.inner.config.max_body_size).to_response();
        }
        let mut extra = Extra {
            principal: as_principal.cloned(),
            ignored: false,
        };
        let reply = match self.route_request(method, uri, headers, body, &request_id, &mut extra) {
            Ok(r) => r,
            Err(e) => Reply::from_error(&e),
        };
        let mut resp = reply.into_http();
        if extra.ignored {
            // Accepted without effect by policy (ignored resource, groups not
            // provisioned): callers such as a sync can tell.
            resp.headers_mut()
                .insert("x-scimkit-ignored", HeaderValue::from_static("true"));
        }
        // For the transport's logs: who the request acted as (never the token).
        if let Some(p) = extra.principal {
            resp.extensions_mut().insert(p);
        }
        resp
    }

    /// The policies in force for `tenant`.
    pub fn policies(&self, tenant: &str) -> Arc<crate::policy::Policies> {
        self.inner.policies.policies(tenant)
    }

    fn route_request(
        &self,
        method: &Method,
        uri: &http::Uri,
        headers: &HeaderMap,
        body: &[u8],
        request_id: &str,
        extra: &mut Extra,
    ) -> Result<Reply> {
        let cfg = &self.inner.config;
        let full_path = percent_encoding::percent_decode_str(uri.path())
            .decode_utf8()
            .map_err(|_| ScimError::bad_request("the request path is not valid UTF-8"))?;
        let rest = full_path
            .strip_prefix(cfg.base_path.as_str())
            .filter(|r| r.is_empty() || r.starts_with('/'))
            .ok_or_else(|| ScimError::no_endpoint(&full_path))?;
        let base_url = match &cfg.base_url {
            Some(u) => u.clone(),
            None => derive_base_url(uri, headers, &cfg.base_path),
        };
        let mut call = Call {
            policies: crate::provision::default_policies(),
            ignored: std::cell::Cell::new(false),
            method: method.clone(),
            path: rest.trim_end_matches('/').to_owned(),
            query: parse_query(uri.query()),
            headers,
            body,
            base_url,
        };
        // Discovery endpoints are public (RFC 7644 §4).
        if let Some(reply) = self.discovery(&call)? {
            return Ok(reply);
        }
        let token = crate::auth::bearer_token(headers);
        let authenticated = match &extra.principal {
            Some(p) => Ok(Some(p.clone())),
            None => self.inner.auth.try_authenticate(token),
        };
        // `\0` separates a tenant from its hidden-user shadow tenants; no real
        // tenant may contain it.
        let principal = match authenticated {
            Ok(Some(p)) if !p.tenant.contains('\0') => p,
            Ok(_) => {
                let e = ScimError::unauthorized();
                let known = token.and_then(|t| self.inner.auth.rejected_principal(t));
                self.record_rejected(&call, request_id, &e, known);
                return Err(e);
            }
            Err(e) => {
                tracing::warn!(request_id, error = ?e, "authentication unavailable");
                return Err(ScimError::unavailable(e, 5));
            }
        };
        extra.principal = Some(principal.clone());
        let ctx = Ctx {
            tenant: principal.tenant.clone(),
            request_id: request_id.to_owned(),
            actor: Some(principal.token_id.clone()),
        };
        call.policies = self.inner.policies.policies(&principal.tenant);
        if !call.policies.enabled {
            let e = ScimError::forbidden(
                "provisioning is disabled for this tenant; nothing was changed",
            );
            self.record(
                &call,
                &ctx,
                &principal,
                &Err(ScimError::forbidden(e.detail())),
            );
            return Err(e);
        }
        let result = self.dispatch(&call, &ctx, &principal);
        extra.ignored = call.ignored.get();
        result
    }

    /// Route an authenticated call (also used by Bulk for each operation) and
    /// record it in the provisioning log.
    pub(crate) fn dispatch(
        &self,
        call: &Call<'_>,
        ctx: &Ctx,
        principal: &Principal,
    ) -> Result<Reply> {
        let result = self.route(call, ctx, principal);
        self.record(call, ctx, principal, &result);
        result
    }

    fn route(&self, call: &Call<'_>, ctx: &Ctx, principal: &Principal) -> Result<Reply> {
        if let Some(reply) = self.group_gate(call)? {
            return Ok(reply);
        }
        let segs: Vec<&str> = call.path.split('/').filter(|s| !s.is_empty()).collect();
        let m = &call.method;
        let kind_of = |s: &str| {
            if s.eq_ignore_ascii_case("Users") {
                Some(ResourceKind::User)
            } else if s.eq_ignore_ascii_case("Groups") {
                Some(ResourceKind::Group)
            } else {
                None
            }
        };
        let not_allowed = |allow: &str| -> Result<Reply> {
            let e = ScimError::method_not_allowed(m.as_str(), &call.path);
            Ok(Reply::from_error(&e).header(header::ALLOW, allow.to_owned()))
        };
        match segs.as_slice() {
            [".search"] => match *m {
                Method::POST => self.search_root(call, ctx),
                _ => not_allowed("POST"),
            },
            ["Bulk"] | ["bulk"] => match *m {
                Method::POST => self.bulk(call, ctx, principal),
                _ => not_allowed("POST"),
            },
            [me] if me.eq_ignore_ascii_case("Me") => self.me(call, ctx, principal, None),
            [me, rest @ ..] if me.eq_ignore_ascii_case("Me") && !rest.is_empty() => {
                Err(ScimError::no_endpoint(&call.path))
            }
            [t] if kind_of(t).is_some() => {
                let kind = kind_of(t).expect("checked");
                match *m {
                    Method::GET => self.list(call, ctx, kind),
                    Method::POST => self.create(call, ctx, kind),
                    _ => not_allowed("GET, POST"),
                }
            }
            [t, s] if kind_of(t).is_some() && *s == ".search" => match *m {
                Method::POST => self.search(call, ctx, kind_of(t).expect("checked")),
                _ => not_allowed("POST"),
            },
            [t, id] if kind_of(t).is_some() => {
                let kind = kind_of(t).expect("checked");
                self.resource(call, ctx, kind, id)
            }
            _ => Err(ScimError::no_endpoint(&call.path)),
        }
    }

    fn resource(&self, call: &Call<'_>, ctx: &Ctx, kind: ResourceKind, id: &str) -> Result<Reply> {
        match call.method {
            Method::GET => self.get(call, ctx, kind, id),
            Method::PUT => self.put(call, ctx, kind, id),
            Method::PATCH => self.patch(call, ctx, kind, id),
            Method::DELETE => self.delete(call, ctx, kind, id),
            _ => {
                let e = ScimError::method_not_allowed(call.method.as_str(), &call.path);
                Ok(Reply::from_error(&e)
                    .header(header::ALLOW, "GET, PUT, PATCH, DELETE".to_owned()))
            }
        }
    }

    fn me(
        &self,
        call: &Call<'_>,
        ctx: &Ctx,
        principal: &Principal,
        _: Option<()>,
    ) -> Result<Reply> {
        let Some(resolver) = &self.inner.config.me else {
            return Err(ScimError::not_implemented(
                "/Me is not supported by this service provider",
            ));
        };
        let id = resolver(principal).ok_or_else(|| ScimError::not_found("User", "for /Me"))?;
        match call.method {
            Method::POST => Err(ScimError::not_implemented("creating /Me is not supported")),
            _ => self.resource(call, ctx, ResourceKind::User, &id),
        }
    }

    fn schema(&self, kind: ResourceKind) -> &Arc<ResourceSchema> {
        self.inner.registry.get(kind)
    }

    fn location(&self, call: &Call<'_>, kind: ResourceKind, id: &str) -> String {
        format!("{}{}/{}", call.base_url, kind.endpoint(), id)
    }

    /// The response form of a stored resource: `schemas` listing the extensions
    /// present, `meta.location` and `meta.version`, then the projection.
    fn render(
        &self,
        call: &Call<'_>,
        ctx: &Ctx,
        kind: ResourceKind,
        stored: Stored,
        proj: &Projection,
    ) -> Value {
        let rs = self.schema(kind);
        let id = stored.id;
        let version = stored.version;
        let mut v = stored.resource;
        if kind == ResourceKind::User && proj.wants(rs, "groups") {
            self.attach_groups(call, ctx, &id, &mut v);
        }
        if let Some(Value::Array(members)) = v.get_mut("members") {
            // members.$ref (RFC 7643 §4.2) is this server's URL of the member.
            for m in members.iter_mut().filter_map(Value::as_object_mut) {
                if let (None, Some(value)) = (m.get("$ref"), m.get("value").and_then(Value::as_str))
                {
                    let endpoint = if m.get("type").and_then(Value::as_str) == Some("Group") {
                        "Groups"
                    } else {
                        "Users"
                    };
                    let r = format!("{}/{endpoint}/{value}", call.base_url);
                    m.insert("$ref".into(), Value::String(r));
                }
            }
        }
        if let Some(obj) = v.as_object_mut() {
            obj.shift_remove(crate::policy::INTERNAL_KEY);
            let mut schemas = vec![Value::String(rs.core.id.clone())];
            for e in &rs.extensions {
                if obj.contains_key(&e.schema.id) {
                    schemas.push(Value::String(e.schema.id.clone()));
                }
            }
            obj.insert("schemas".into(), Value::Array(schemas));
            obj.insert("id".into(), Value::String(id.clone()));
            let meta = obj
                .entry("meta")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Some(meta) = meta.as_object_mut() {
                meta.insert(
                    "resourceType".into(),
                    Value::String(kind.as_str().to_owned()),
                );
                meta.insert(
                    "location".into(),
                    Value::String(self.location(call, kind, &id)),
                );
                meta.insert("version".into(), Value::String(etag(version)));
            }
        }
        proj.apply_owned(rs, v)
    }

    fn projection(&self, call: &Call<'_>, kind: ResourceKind) -> Result<Projection> {
        Projection::parse(
            self.schema(kind),
            call.query.get("attributes").map(String::as_str),
            call.query.get("excludedattributes").map(String::as_str),
        )
    }

    pub(crate) fn resource_reply(
        &self,
        call: &Call<'_>,
        ctx: &Ctx,
        kind: ResourceKind,
        status: u16,
        stored: Stored,
        proj: &Projection,
    ) -> Reply {
        let tag = etag(stored.version);
        let location = (status == 201).then(|| self.location(call, kind, &stored.id));
        let body = self.render(call, ctx, kind, stored, proj);
        let mut r = Reply::json(status, body).header(header::ETAG, tag);
        if let Some(l) = location {
            r = r.header(header::LOCATION, l);
        }
        r
    }

    /// A validated resource assembled into the stored form.
    pub(crate) fn assemble(
        &self,
        kind: ResourceKind,
        id: &str,
        validated: Map<String, Value>,
        created: &str,
        modified: &str,
        internal: Option<Value>,
    ) -> Value {
        let rs = self.schema(kind);
        let mut out = Map::new();
        let mut schemas = vec![Value::String(rs.core.id.clone())];
        for e in &rs.extensions {
            if validated.contains_key(&e.schema.id) {
                schemas.push(Value::String(e.schema.id.clone()));
            }
        }
        out.insert("schemas".into(), Value::Array(schemas));
        out.insert("id".into(), Value::String(id.to_owned()));
        for (k, v) in validated {
            out.insert(k, v);
        }
        out.insert(
            "meta".into(),
            json!({"resourceType": kind.as_str(), "created": created, "lastModified": modified}),
        );
        if let Some(i) = internal {
            out.insert(crate::policy::INTERNAL_KEY.into(), i);
        }
        Value::Object(out)
    }

    /// Apply the password policy to a validated User: hash a new cleartext
    /// password (a value equal to the stored hash is kept as it is), or refuse it.
    fn protect_password(
        &self,
        validated: &mut Map<String, Value>,
        existing: Option<&Value>,
    ) -> Result<()> {
        let Some(Value::String(pw)) = validated.get("password") else {
            return Ok(());
        };
        if existing
            .and_then(|e| e.get("password"))
            .and_then(Value::as_str)
            == Some(pw.as_str())
            && crate::auth::is_password_hash(pw)
        {
            return Ok(());
        }
        match self.inner.config.passwords {
            crate::auth::PasswordPolicy::Reject => Err(ScimError::invalid_value(
                "this service provider does not accept passwords",
            )),
            crate::auth::PasswordPolicy::Hash => {
                let hash = crate::auth::hash_password(pw)
                    .map_err(|e| ScimError::internal(e.to_string()))?;
                validated.insert("password".into(), Value::String(hash));
                Ok(())
            }
        }
    }

    /// Validate a client body into canonical form (plus group member checks).
    fn validate(
        &self,
        kind: ResourceKind,
        body: Value,
        existing: Option<&Value>,
    ) -> Result<Map<String, Value>> {
        let mut validated = validate_resource(
            self.schema(kind),
            body,
            self.inner.config.unknown_attributes,
            existing,
        )?;
        if kind == ResourceKind::Group {
            if let Some(Value::Array(members)) = validated.get("members") {
                for m in members {
                    if m.get("value")
                        .and_then(Value::as_str)
                        .is_none_or(str::is_empty)
                    {
                        return Err(ScimError::invalid_value(
                            "every member needs a \"value\" (the member's id)",
                        ));
                    }
                }
            }
        }
        if kind == ResourceKind::User {
            self.protect_password(&mut validated, existing)?;
        }
        Ok(validated)
    }

    // ===== create =====

    fn create(&self, call: &Call<'_>, ctx: &Ctx, kind: ResourceKind) -> Result<Reply> {
        check_content_type(call.headers)?;
        let body = parse_json(call.body)?;
        let proj = self.projection(call, kind)?;
        let validated = self.validate(kind, body, None)?;
        self.check_policy_values(call, &validated)?;
        if kind == ResourceKind::User {
            if let Some(reply) = self.link_existing_user(call, ctx, &validated, &proj)? {
                return Ok(reply);
            }
        } else if call.policies.groups == crate::policy::GroupPolicy::UpdateOnly {
            return self.link_existing_group(call, ctx, validated, &proj);
        }
        // UUIDv7: time-ordered (the creation time is `meta.created` anyway),
        // so a store's id index grows at its end instead of at random pages.
        let id = uuid::Uuid::now_v7().to_string();
        let now = crate::time::now();
        let resource = self.assemble(kind, &id, validated, &now, &now, None);
        let stored = self
            .inner
            .store
            .create_shared(ctx, kind, resource)
            .map_err(|e| store_error(ctx, kind, &id, e))?;
        if self.inner.events.is_some() {
            let tree = tree_of(ctx, kind, &stored)?;
            self.created_events(ctx, kind, &stored.id, &tree);
        }
        self.shared_reply(call, ctx, kind, 201, stored, &proj)
    }

    // ===== read =====

    fn get(&self, call: &Call<'_>, ctx: &Ctx, kind: ResourceKind, id: &str) -> Result<Reply> {
        let proj = self.projection(call, kind)?;
        let members = if kind == ResourceKind::Group && !proj.wants(self.schema(kind), "members") {
            Members::Exclude
        } else {
            Members::Include
        };
        let shared = self
            .inner
            .store
            .get_shared(ctx, kind, id, members)
            .map_err(|e| store_error(ctx, kind, id, e))?
            .ok_or_else(|| ScimError::not_found(kind.as_str(), id))?;
        if let Some(p) = Precondition::from_header(call.headers, header::IF_NONE_MATCH) {
            if p.matches(shared.version) {
                return Ok(Reply::empty(304).header(header::ETAG, etag(shared.version)));
            }
        }
        self.shared_reply(call, ctx, kind, 200, shared, &proj)
    }

    /// [`ScimServer::resource_reply`] for a resource the store shares: the
    /// common case (no `attributes`/`excludedAttributes`) is serialised
    /// straight from it, without a copy (`ResourceView`).
    fn shared_reply(
        &self,
        call: &Call<'_>,
        ctx: &Ctx,
        kind: ResourceKind,
        status: u16,
        shared: SharedStored,
        proj: &Projection,
    ) -> Result<Reply> {
        let rs = self.schema(kind);
        if let Some(excluded) = view_exclusions(rs, proj) {
            let groups = if kind == ResourceKind::User && proj.wants(rs, "groups") {
                self.user_groups(call, ctx, &shared.id)
            } else {
                None
            };
            let tag = etag(shared.version);
            let location = self.location(call, kind, &shared.id);
            let view = crate::view::ResourceView::new(
                rs,
                &shared.resource,
                &shared.id,
                &location,
                &tag,
                kind.as_str(),
                &call.base_url,
                groups.as_ref(),
                &excluded,
            );
            if let Some(body) = view.and_then(|v| v.to_vec()) {
                let mut r = Reply::raw_json(status, body).header(header::ETAG, tag);
                if call.method != Method::GET {
                    r.logged = Some((
                        shared.id.clone(),
                        crate::provision::name_of_shared(&shared.resource),
                    ));
                }
                return Ok(if status == 201 {
                    r.header(header::LOCATION, location)
                } else {
                    r
                });
            }
        }
        let id = shared.id.clone();
        let owned = Stored::try_from(shared).map_err(|e| store_error(ctx, kind, &id, e))?;
        Ok(self.resource_reply(call, ctx, kind, status, owned, proj))
    }

    /// The stored resource, shared when the store can (reads only).
    fn load(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        id: &str,
        members: Members,
    ) -> Result<SharedStored> {
        self.inner
            .store
            .get_shared(ctx, kind, id, members)
            .map_err(|e| store_error(ctx, kind, id, e))?
            .ok_or_else(|| ScimError::not_found(kind.as_str(), id))
    }

    // ===== replace and patch =====

    fn put(&self, call: &Call<'_>, ctx: &Ctx, kind: ResourceKind, id: &str) -> Result<Reply> {
        check_content_type(call.headers)?;
        let body = parse_json(call.body)?;
        self.write(call, ctx, kind, id, |existing| {
            let mut v = self.validate(kind, body.clone(), Some(existing))?;
            // A client cannot read the write-only password back, so a PUT
            // without one keeps the stored one.
            if let (false, Some(pw)) = (v.contains_key("password"), existing.get("password")) {
                v.insert("password".into(), pw.clone());
            }
            Ok(v)
        })
    }

    fn patch(&self, call: &Call<'_>, ctx: &Ctx, kind: ResourceKind, id: &str) -> Result<Reply> {
        check_content_type(call.headers)?;
        let body = parse_json(call.body)?;
        let ops = patch::parse_request_owned(body, self.inner.config.max_patch_operations)?;
        if kind == ResourceKind::Group {
            if let Some(change) = member_only_change(&ops)? {
                return self.patch_members(call, ctx, id, change);
            }
        }
        let rs = Arc::clone(self.schema(kind));
        self.write(call, ctx, kind, id, |existing| {
            let mut working = existing.as_object().cloned().unwrap_or_default();
            patch::apply(
                &mut working,
                &ops,
                &rs,
                self.inner.config.unknown_attributes,
            )?;
            self.validate(kind, Value::Object(working), Some(existing))
        })
    }

    /// The read-modify-write shared by PUT and PATCH: `make` turns the stored
    /// resource into the validated new one. Retries (bounded) when a concurrent
    /// writer wins and the client sent no `If-Match`; skips the write when
    /// nothing changes; applies the ignore and rename policies; emits events.
    fn write(
        &self,
        call: &Call<'_>,
        ctx: &Ctx,
        kind: ResourceKind,
        id: &str,
        make: impl Fn(&Value) -> Result<Map<String, Value>>,
    ) -> Result<Reply> {
        let proj = self.projection(call, kind)?;
        let if_match = Precondition::from_header(call.headers, header::IF_MATCH);
        for _ in 0..WRITE_RETRIES {
            let existing = self.load(ctx, kind, id, Members::Include)?;
            if if_match
                .as_ref()
                .is_some_and(|p| !p.matches(existing.version))
            {
                return Err(ScimError::precondition_failed());
            }
            let before = tree_of(ctx, kind, &existing)?;
            if crate::provision::is_ignored(&before) {
                call.ignored.set(true);
                return self.shared_reply(call, ctx, kind, 200, existing, &proj);
            }
            let mut validated = make(&before)?;
            self.check_policy_values(call, &validated)?;
            let mut internal = crate::provision::internal(&before);
            if kind == ResourceKind::User {
                self.rename_on_transition(call, id, &before, &mut validated, &mut internal);
            }
            // Nothing changed: no write, no new version.
            if crate::provision::unchanged(&before, &validated) {
                return self.shared_reply(call, ctx, kind, 200, existing, &proj);
            }
            let created = before["meta"]["created"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(crate::time::now);
            let resource =
                self.assemble(kind, id, validated, &created, &crate::time::now(), internal);
            match self
                .inner
                .store
                .replace_shared(ctx, kind, id, resource, Some(existing.version))
            {
                Ok(stored) => {
                    if self.inner.events.is_some() {
                        let after = tree_of(ctx, kind, &stored)?;
                        self.updated_events(ctx, kind, &before, &after);
                    }
                    return self.shared_reply(call, ctx, kind, 200, stored, &proj);
                }
                Err(StoreError::PreconditionFailed) if if_match.is_none() => continue,
                Err(e) => return Err(store_error(ctx, kind, id, e)),
            }
        }
        Err(ScimError::conflict(
            "the resource is being modified concurrently; retry",
        ))
    }

    /// The O(changes) path for membership-only PATCHes of a Group: answers 204
    /// (RFC 7644 §3.5.2 allows it) unless `attributes`/`excludedAttributes` ask
    /// for a body.
    fn patch_members(
        &self,
        call: &Call<'_>,
        ctx: &Ctx,
        id: &str,
        mut change: MemberChange,
    ) -> Result<Reply> {
        let kind = ResourceKind::Group;
        let proj = self.projection(call, kind)?;
        change.last_modified = crate::time::now();
        let if_match = Precondition::from_header(call.headers, header::IF_MATCH);
        let current = self.load(ctx, kind, id, Members::Exclude)?;
        if if_match
            .as_ref()
            .is_some_and(|p| !p.matches(current.version))
        {
            return Err(ScimError::precondition_failed());
        }
        if ignored(ctx, kind, &current)? {
            call.ignored.set(true);
            return Ok(Reply::empty(204).header(header::ETAG, etag(current.version)));
        }
        let if_version = if_match.map(|_| current.version);
        let stored = self
            .inner
            .store
            .modify_members(ctx, id, &change, if_version)
            .map_err(|e| store_error(ctx, kind, id, e))?;
        self.member_events(ctx, id, &stored.resource, &change);
        let wants_body =
            call.query.contains_key("attributes") || call.query.contains_key("excludedattributes");
        if !wants_body {
            return Ok(Reply::empty(204).header(header::ETAG, etag(stored.version)));
        }
        let members = if proj.wants(self.schema(kind), "members") {
            Members::Include
        } else {
            Members::Exclude
        };
        let fresh = self.load(ctx, kind, id, members)?;
        self.shared_reply(call, ctx, kind, 200, fresh, &proj)
    }

    // ===== delete =====

    fn delete(&self, call: &Call<'_>, ctx: &Ctx, kind: ResourceKind, id: &str) -> Result<Reply> {
        let precondition = Precondition::from_header(call.headers, header::IF_MATCH);
        let current = self.load(ctx, kind, id, Members::Exclude)?;
        if precondition
            .as_ref()
            .is_some_and(|p| !p.matches(current.version))
        {
            return Err(ScimError::precondition_failed());
        }
        if ignored(ctx, kind, &current)? {
            call.ignored.set(true);
            return Ok(Reply::empty(204));
        }
        if kind == ResourceKind::Group
            && call.policies.groups == crate::policy::GroupPolicy::UpdateOnly
        {
            return Err(ScimError::forbidden(
                "deleting groups is disabled for this application; nothing was changed",
            ));
        }
        let if_version = precondition.map(|_| current.version);
        let state = match call.policies.deletion {
            _ if kind == ResourceKind::Group => None,
            crate::policy::DeletionPolicy::Hard => None,
            crate::policy::DeletionPolicy::Soft => Some(crate::policy::HiddenState::Deleted),
            crate::policy::DeletionPolicy::Review => Some(crate::policy::HiddenState::Review),
        };
        match state {
            None => {
                self.inner
                    .store
                    .delete(ctx, kind, id, if_version)
                    .map_err(|e| store_error(ctx, kind, id, e))?;
                self.emit(
                    ctx,
                    crate::events::EventKind::Deleted,
                    kind,
                    id,
                    crate::provision::name_of_shared(&current.resource),
                    vec![],
                    vec![],
                );
            }
            Some(state) => self.hide_user(ctx, id, state, if_version)?,
        }
        Ok(Reply::empty(204))
    }

    // ===== list and search =====

    fn list(&self, call: &Call<'_>, ctx: &Ctx, kind: ResourceKind) -> Result<Reply> {
        let params = ListParams::from_query(&call.query)?;
        self.run_list(call, ctx, kind, params)
    }

    fn search(&self, call: &Call<'_>, ctx: &Ctx, kind: ResourceKind) -> Result<Reply> {
        check_content_type(call.headers)?;
        let params = ListParams::from_search(&parse_json(call.body)?)?;
        self.run_list(call, ctx, kind, params)
    }

    fn parse_filter(&self, text: &str, rs: &ResourceSchema) -> Result<Filter> {
        let cfg = &self.inner.config;
        let parsed = filter::parse_with_limits(text, cfg.max_filter_len, cfg.max_filter_depth)
            .map_err(|e| ScimError::invalid_filter(format!("invalid filter: {e}")))?;
        filter::resolve(&parsed, rs)
    }

    fn page_request(&self, params: &ListParams) -> PageRequest {
        let cfg = &self.inner.config;
        let count = match params.count {
            None => cfg.default_count,
            Some(c) if c < 0 => 0, // RFC 7644 §3.4.2.4: negative is 0
            Some(c) => (c as u64).min(cfg.max_results as u64) as usize,
        };
        match &params.cursor {
            Some(c) => PageRequest::Cursor {
                cursor: (!c.is_empty()).then(|| c.clone()),
                count,
            },
            None => PageRequest::Index {
                start_index: params.start_index.unwrap_or(1).max(1) as usize,
                count,
            },
        }
    }

    fn build_query(
        &self,
        kind: ResourceKind,
        params: &ListParams,
        proj: &Projection,
    ) -> Result<Query> {
        let rs = self.schema(kind);
        let filter = params
            .filter
            .as_deref()
            .filter(|f| !f.trim().is_empty())
            .map(|f| self.parse_filter(f, rs))
            .transpose()?;
        let sort = match &params.sort_by {
            None => None,
            Some(s) if s.trim().is_empty() => None,
            Some(s) => {
                let r = rs
                    .resolve_str(s)?
                    .ok_or_else(|| ScimError::invalid_value(format!("cannot sort by {s:?}")))?;
                let descending = match params
                    .sort_order
                    .as_deref()
                    .map(str::to_ascii_lowercase)
                    .as_deref()
                {
                    None | Some("") | Some("ascending") => false,
                    Some("descending") => true,
                    Some(o) => {
                        return Err(ScimError::invalid_value(format!(
                            "sortOrder must be \"ascending\" or \"descending\", got {o:?}"
                        )));
                    }
                };
                Some(Sort {
                    path: r.canonical_path(),
                    descending,
                })
            }
        };
        let members = if kind == ResourceKind::Group && !proj.wants(rs, "members") {
            Members::Exclude
        } else {
            Members::Include
        };
        Ok(Query::all(Arc::clone(rs))
            .filter(filter)
            .sort(sort)
            .page(self.page_request(params))
            .members(members))
    }

    /// Run a query; when the store cannot answer it, evaluate it here over all
    /// resources of the kind.
    pub(crate) fn run_query(&self, ctx: &Ctx, kind: ResourceKind, q: &Query) -> Result<Page> {
        match self.inner.store.query(ctx, kind, q) {
            Err(StoreError::Unsupported) => self.evaluate_query(ctx, kind, q),
            other => other.map_err(|e| store_error(ctx, kind, "", e)),
        }
    }

    /// A query the store cannot push down: the engine filters, sorts and pages
    /// every resource of the kind itself.
    fn evaluate_query(&self, ctx: &Ctx, kind: ResourceKind, q: &Query) -> Result<Page> {
        let needs_members = q.members == Members::Include
            || q.filter
                .as_ref()
                .is_some_and(|f| f.to_string().contains("members"))
            || q.sort.as_ref().is_some_and(|s| s.path.name == "members");
        let all_q = Query::all(Arc::clone(q.schema())).members(if needs_members {
            Members::Include
        } else {
            Members::Exclude
        });
        let all = self
            .inner
            .store
            .query(ctx, kind, &all_q)
            .map_err(|e| store_error(ctx, kind, "", e))?;
        if let Some(limit) = self.inner.config.max_unindexed_scan {
            if all.resources.len() > limit {
                return Err(ScimError::too_many(format!(
                    "this filter cannot use an index and would scan {} resources (the limit is {limit}); narrow it with userName, externalId or id",
                    all.resources.len()
                )));
            }
        }
        let mut hits: Vec<Stored> = all
            .resources
            .into_iter()
            .filter(|s| q.matches(&s.resource))
            .collect();
        hits.sort_by(|a, b| q.compare(&a.resource, &b.resource));
        let total_results = hits.len();
        let (mut resources, next_cursor) =
            paginate(hits, &q.page).map_err(|e| store_error(ctx, kind, "", e))?;
        if q.members == Members::Exclude {
            for s in &mut resources {
                if let Some(o) = s.resource.as_object_mut() {
                    o.remove("members");
                }
            }
        }
        Ok(Page {
            resources,
            total_results,
            next_cursor,
        })
    }

    /// [`ScimServer::run_query`] with the resources shared with the store.
    fn run_query_shared(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        q: &Query,
    ) -> Result<Page<SharedStored>> {
        match self.inner.store.query_shared(ctx, kind, q) {
            Err(StoreError::Unsupported) => self.evaluate_query(ctx, kind, q).map(Page::from),
            other => other.map_err(|e| store_error(ctx, kind, "", e)),
        }
    }

    fn run_list(
        &self,
        call: &Call<'_>,
        ctx: &Ctx,
        kind: ResourceKind,
        params: ListParams,
    ) -> Result<Reply> {
        let rs = self.schema(kind);
        let proj = Projection::parse(rs, params.attributes.as_deref(), params.excluded.as_deref())?;
        let q = self.build_query(kind, &params, &proj)?;
        let page = self.run_query_shared(ctx, kind, &q)?;
        let total_results = page.total_results;
        if let Some(excluded) = view_exclusions(rs, &proj) {
            if let Some(body) = self.list_view(call, ctx, kind, &page, &q.page, &proj, &excluded) {
                return Ok(Reply::raw_json(200, body));
            }
        }
        let resources: Vec<Value> = page
            .resources
            .into_iter()
            .map(|s| {
                let id = s.id.clone();
                let s = Stored::try_from(s).map_err(|e| store_error(ctx, kind, &id, e))?;
                Ok(self.render(call, ctx, kind, s, &proj))
            })
            .collect::<Result<_>>()?;
        Ok(Reply::json(
            200,
            list_response(resources, total_results, &q.page, page.next_cursor),
        ))
    }

    /// The list response with the default projection (or one that only
    /// excludes absent attributes, [`view_exclusions`]), each resource written
    /// by a [`ResourceView`](crate::view::ResourceView) (no edited copies), or
    /// `None` if one of them needs the general renderer.
    #[allow(clippy::too_many_arguments)]
    fn list_view(
        &self,
        call: &Call<'_>,
        ctx: &Ctx,
        kind: ResourceKind,
        page: &Page<SharedStored>,
        request: &PageRequest,
        proj: &Projection,
        excluded: &[&str],
    ) -> Option<Vec<u8>> {
        let rs = self.schema(kind);
        let wants_groups = kind == ResourceKind::User && proj.wants(rs, "groups");
        let extras: Vec<(String, String, Option<Value>)> = page
            .resources
            .iter()
            .map(|s| {
                let groups = if wants_groups {
                    self.user_groups(call, ctx, &s.id)
                } else {
                    None
                };
                (self.location(call, kind, &s.id), etag(s.version), groups)
            })
            .collect();
        let views = page
            .resources
            .iter()
            .zip(&extras)
            .map(|(s, (location, tag, groups))| {
                crate::view::ResourceView::new(
                    rs,
                    &s.resource,
                    &s.id,
                    location,
                    tag,
                    kind.as_str(),
                    &call.base_url,
                    groups.as_ref(),
                    excluded,
                )
            })
            .collect::<Option<Vec<_>>>()?;
        let head = list_response(
            Vec::new(),
            page.total_results,
            request,
            page.next_cursor.clone(),
        );
        let mut head = match head {
            Value::Object(m) => m,
            _ => return None,
        };
        head.shift_remove("Resources");
        head.insert("itemsPerPage".into(), json!(views.len()));
        crate::view::list_to_vec(&head, &views)
    }

    /// `POST /.search` across Users and Groups (RFC 7644 §3.4.3).
    fn search_root(&self, call: &Call<'_>, ctx: &Ctx) -> Result<Reply> {
        check_content_type(call.headers)?;
        let params = ListParams::from_search(&parse_json(call.body)?)?;
        let page = self.page_request(&params);
        let mut all: Vec<(ResourceKind, Stored)> = Vec::new();
        let mut first_err = None;
        let mut answered = false;
        for kind in ResourceKind::ALL {
            if kind == ResourceKind::Group
                && matches!(
                    call.policies.groups,
                    crate::policy::GroupPolicy::Refuse | crate::policy::GroupPolicy::Ignore
                )
            {
                continue;
            }
            let proj = Projection::parse(
                self.schema(kind),
                params.attributes.as_deref(),
                params.excluded.as_deref(),
            )?;
            let q = match self.build_query(kind, &params, &proj) {
                Ok(q) => q.page(PageRequest::ALL),
                Err(e) => {
                    // An attribute only one type knows: that type matches nothing.
                    first_err.get_or_insert(e);
                    continue;
                }
            };
            answered = true;
            let p = self.run_query(ctx, kind, &q)?;
            all.extend(p.resources.into_iter().map(|s| (kind, s)));
        }
        if !answered {
            return Err(first_err.expect("invariant: an error when nothing answered"));
        }
        let total = all.len();
        let (items, next) =
            paginate(all, &page).map_err(|e| store_error(ctx, ResourceKind::User, "", e))?;
        let resources = items
            .into_iter()
            .map(|(kind, s)| {
                let proj = Projection::parse(
                    self.schema(kind),
                    params.attributes.as_deref(),
                    params.excluded.as_deref(),
                )
                .unwrap_or_default();
                self.render(call, ctx, kind, s, &proj)
            })
            .collect();
        Ok(Reply::json(
            200,
            list_response(resources, total, &page, next),
        ))
    }

    // ===== discovery =====

    fn discovery(&self, call: &Call<'_>) -> Result<Option<Reply>> {
        let segs: Vec<&str> = call.path.split('/').filter(|s| !s.is_empty()).collect();
        let is = |s: &str, name: &str| s.eq_ignore_ascii_case(name);
        let endpoint = match segs.first() {
            Some(s) if is(s, "ServiceProviderConfig") || is(s, "ServiceProviderConfigs") => 0,
            Some(s) if is(s, "Schemas") => 1,
            Some(s) if is(s, "ResourceTypes") => 2,
            _ => return Ok(None),
        };
        if call.method != Method::GET {
            let e = ScimError::method_not_allowed(call.method.as_str(), &call.path);
            return Ok(Some(
                Reply::from_error(&e).header(header::ALLOW, "GET".to_owned()),
            ));
        }
        if call.query.contains_key("filter") {
            // RFC 7644 §4: filtering discovery endpoints is refused with 403.
            return Err(ScimError::forbidden(
                "filtering is not supported on discovery endpoints",
            ));
        }
        let base = &call.base_url;
        let reg = &self.inner.registry;
        let reply = match (endpoint, &segs[1..]) {
            (0, []) => Reply::json(200, self.service_provider_config(base)),
            (1, []) => {
                let items: Vec<Value> = reg
                    .all_schemas()
                    .into_iter()
                    .map(|s| s.to_json(&format!("{base}/Schemas/{}", s.id)))
                    .collect();
                let n = items.len();
                Reply::json(200, list_response(items, n, &PageRequest::ALL, None))
            }
            (1, [urn]) => {
                let s = reg
                    .schema(urn)
                    .ok_or_else(|| ScimError::not_found("Schema", urn))?;
                Reply::json(200, s.to_json(&format!("{base}/Schemas/{}", s.id)))
            }
            (2, []) => {
                let items: Vec<Value> = ResourceKind::ALL
                    .iter()
                    .map(|k| {
                        reg.get(*k)
                            .resource_type_json(&format!("{base}/ResourceTypes/{}", k.as_str()))
                    })
                    .collect();
                let n = items.len();
                Reply::json(200, list_response(items, n, &PageRequest::ALL, None))
            }
            (2, [name]) => {
                let kind = ResourceKind::ALL
                    .into_iter()
                    .find(|k| k.as_str().eq_ignore_ascii_case(name))
                    .ok_or_else(|| ScimError::not_found("ResourceType", name))?;
                Reply::json(
                    200,
                    reg.get(kind)
                        .resource_type_json(&format!("{base}/ResourceTypes/{}", kind.as_str())),
                )
            }
            _ => return Err(ScimError::no_endpoint(&call.path)),
        };
        Ok(Some(reply))
    }

    fn service_provider_config(&self, base: &str) -> Value {
        let c = &self.inner.config;
        json!({
            "schemas": [SERVICE_PROVIDER_CONFIG_SCHEMA],
            "documentationUri": "https://docs.rs/scimkit-core",
            "patch": {"supported": true},
            "bulk": {"supported": true, "maxOperations": c.bulk_max_operations, "maxPayloadSize": c.max_body_size},
            "filter": {"supported": true, "maxResults": c.max_results},
            "changePassword": {"supported": false},
            "sort": {"supported": true},
            "etag": {"supported": true},
            "pagination": {
                "cursor": true,
                "index": true,
                "defaultPaginationMethod": "index",
                "defaultPageSize": c.default_count,
                "maxPageSize": c.max_results,
            },
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "Authentication scheme using the OAuth Bearer Token Standard",
                "specUri": "https://www.rfc-editor.org/info/rfc6750",
                "primary": true,
            }],
            "meta": {
                "resourceType": "ServiceProviderConfig",
                "location": format!("{base}/ServiceProviderConfig"),
            },
        })
    }
}

fn list_response(
    resources: Vec<Value>,
    total: usize,
    page: &PageRequest,
    next_cursor: Option<String>,
) -> Value {
    let mut v = json!({
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": total,
        "itemsPerPage": resources.len(),
    });
    match page {
        PageRequest::Index { start_index, .. } => {
            v["startIndex"] = json!(start_index);
        }
        PageRequest::Cursor { .. } => {
            if let Some(c) = next_cursor {
                v["nextCursor"] = Value::String(c);
            }
        }
    }
    v["Resources"] = Value::Array(resources);
    v
}

fn derive_base_url(uri: &http::Uri, headers: &HeaderMap, base_path: &str) -> String {
    let host = uri.authority().map(|a| a.as_str().to_owned()).or_else(|| {
        headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned)
    });
    match host {
        Some(host) if !host.is_empty() && host.bytes().all(|b| b.is_ascii_graphic()) => {
            let scheme = headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .filter(|s| *s == "https" || *s == "http")
                .or(uri.scheme_str())
                .unwrap_or("http");
            format!("{scheme}://{host}{base_path}")
        }
        _ => base_path.to_owned(),
    }
}

/// If every operation only adds or removes Group members, the change to make.
fn member_only_change(ops: &[PatchOperation]) -> Result<Option<MemberChange>> {
    let mut change = MemberChange::default();
    let members_of = |v: &Value| -> Result<Vec<Member>> {
        let list = match v {
            Value::Array(a) => a.as_slice(),
            other => std::slice::from_ref(other),
        };
        list.iter()
            .filter(|m| !m.is_null())
            .map(|m| {
                // Accept {"value": "id"} (any key case; of two spellings the
                // last counts) or a bare id string.
                let member = match m {
                    Value::String(s) => Some(Member {
                        value: s.clone(),
                        kind: None,
                        display: None,
                    }),
                    Value::Object(o) => {
                        let field = |k: &str| {
                            o.iter()
                                .rfind(|(n, _)| n.eq_ignore_ascii_case(k))
                                .and_then(|(_, v)| v.as_str())
                                .map(str::to_owned)
                        };
                        field("value").map(|value| Member {
                            value,
                            kind: field("type"),
                            display: field("display"),
                        })
                    }
                    _ => None,
                };
                member.filter(|m| !m.value.is_empty()).ok_or_else(|| {
                    ScimError::invalid_value("every member needs a \"value\" (the member's id)")
                })
            })
            .collect()
    };
    for op in ops {
        let is_members = |p: &AttrPath| p.is("members");
        match (&op.path, op.op) {
            (Some(p), PatchOpKind::Add)
                if p.filter.is_none() && p.sub_attr.is_none() && is_members(&p.attr) =>
            {
                change
                    .add
                    .extend(members_of(op.value.as_ref().expect("add has a value"))?);
            }
            (Some(p), PatchOpKind::Replace)
                if p.filter.is_none() && p.sub_attr.is_none() && is_members(&p.attr) =>
            {
                change.remove_all = true;
                change.remove.clear();
                change.add = members_of(op.value.as_ref().expect("replace has a value"))?;
            }
            (Some(p), PatchOpKind::Remove) if p.sub_attr.is_none() && is_members(&p.attr) => {
                match (&p.filter, &op.value) {
                    (None, None) => {
                        change.remove_all = true;
                        change.add.clear();
                    }
                    (None, Some(v)) => {
                        let ids: Vec<String> =
                            members_of(v)?.into_iter().map(|m| m.value).collect();
                        change.add.retain(|m| !ids.contains(&m.value));
                        change.remove.extend(ids);
                    }
                    (
                        Some(filter::Filter::Compare(
                            fp,
                            filter::CompareOp::Eq,
                            filter::CompValue::Str(id),
                        )),
                        None,
                    ) if fp.is("value") => {
                        change.add.retain(|m| &m.value != id);
                        change.remove.push(id.clone());
                    }
                    _ => return Ok(None),
                }
            }
            (None, PatchOpKind::Add | PatchOpKind::Replace) => {
                let obj = op
                    .value
                    .as_ref()
                    .and_then(Value::as_object)
                    .expect("checked in parse");
                let mut keys = obj.keys().filter(|k| !k.eq_ignore_ascii_case("schemas"));
                match (keys.next(), keys.next()) {
                    (Some(k), None) if k.eq_ignore_ascii_case("members") => {
                        let ms = members_of(&obj[k.as_str()])?;
                        if op.op == PatchOpKind::Replace {
                            change.remove_all = true;
                            change.remove.clear();
                            change.add = ms;
                        } else {
                            change.add.extend(ms);
                        }
                    }
                    _ => return Ok(None),
                }
            }
            _ => return Ok(None),
        }
    }
    Ok(Some(change))
}
