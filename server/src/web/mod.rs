//! The admin page at `/admin`: server-rendered HTML behind its own password
//! (never a SCIM token), a session cookie (HttpOnly, SameSite=Strict, Secure
//! with TLS) and a per-session CSRF token in every form.
//!
//! Pages: overview (counts, error rates and charts per tenant), tenants and
//! tokens, the provisioning log (filters, paging, JSON-lines export), the
//! review queue (approve / restore), users and groups per tenant with their
//! provisioning history, and each tenant's policies.

mod session;
mod view;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::header::{self, HeaderValue};
use http::{HeaderMap, StatusCode, Uri};
use maud::Markup;
use scimkit::store::{Members, PageRequest, Query};
use scimkit::{Ctx, HiddenState, LogQuery, Outcome, ProvisioningLog, ResourceKind, ScimServer};
use serde_json::Value;
use time::OffsetDateTime;

use crate::db::AdminDb;
use crate::policies::{DbPolicies, from_row};
use crate::provlog::{LogReader, parse_time};

pub(crate) use session::Sessions;
use session::{Active, clear_cookie, cookie_value, set_cookie};
use view::{Hidden, LogFilters, TenantSummary};

/// Rows per page of the log and the user lists.
const PER_PAGE: usize = 50;

/// What the admin handlers share.
#[derive(Debug, Clone)]
pub(crate) struct WebState {
    pub(crate) admin: Arc<AdminDb>,
    /// The provisioning log (reads wait for queued entries to be written).
    pub(crate) log: LogReader,
    pub(crate) policies: Arc<DbPolicies>,
    pub(crate) scim: ScimServer,
    pub(crate) sessions: Arc<Sessions>,
    /// TLS: cookies are Secure (and `__Host-`).
    pub(crate) secure: bool,
    /// Tenants the config file sets policies for.
    pub(crate) file_tenants: Arc<BTreeSet<String>>,
    /// `--public-url`, for the tenant URL shown with a new token.
    pub(crate) public_url: Option<Arc<str>>,
    /// One password check at a time (Argon2 is deliberately expensive).
    pub(crate) login_gate: Arc<tokio::sync::Semaphore>,
}

/// The admin routes (under `/admin`).
pub(crate) fn router(state: WebState) -> Router {
    Router::new()
        .route("/admin", get(overview))
        .route("/admin/", get(overview))
        .route("/admin/static/admin.css", get(css))
        .route("/admin/login", get(login_form).post(login))
        .route("/admin/logout", post(logout))
        .route("/admin/tokens", get(tokens).post(create_token))
        .route("/admin/tokens/{id}/revoke", post(revoke_token))
        .route("/admin/tenants", post(create_tenant))
        .route("/admin/tenants/{tenant}", get(tenant))
        .route("/admin/tenants/{tenant}/policies", post(save_policies))
        .route("/admin/tenants/{tenant}/{kind}", get(resources))
        .route("/admin/tenants/{tenant}/{kind}/{id}", get(resource))
        .route("/admin/tenants/{tenant}/{kind}/{id}/ignore", post(ignore))
        .route("/admin/review/{tenant}/{id}/approve", post(approve))
        .route("/admin/review/{tenant}/{id}/restore", post(restore))
        .route("/admin/log", get(log_page))
        .route("/admin/log/export", get(export))
        .route("/admin/review", get(review))
        .route("/admin/{*rest}", get(not_found).post(not_found))
        .with_state(state)
}

// ===== responses =====

type Result<T = Response> = std::result::Result<T, Response>;

fn secure_headers(resp: &mut Response) {
    let h = resp.headers_mut();
    for (k, v) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        h.insert(k, HeaderValue::from_static(v));
    }
}

fn page(status: StatusCode, markup: Markup) -> Response {
    let mut resp = Response::new(Body::from(markup.into_string()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    secure_headers(&mut resp);
    resp
}

fn ok(markup: Markup) -> Response {
    page(StatusCode::OK, markup)
}

fn redirect(location: &str) -> Response {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    secure_headers(&mut resp);
    resp
}

fn to_login() -> Response {
    redirect("/admin/login")
}

fn failure(status: StatusCode, title: &str, text: &str, csrf: Option<&str>) -> Response {
    page(status, view::message(title, text, csrf))
}

fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "admin page error");
    failure(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The server could not complete this; the cause is in its log.",
        None,
    )
}

/// Run blocking database work off the async executor.
async fn blocking<T, E>(f: impl FnOnce() -> std::result::Result<T, E> + Send + 'static) -> Result<T>
where
    T: Send + 'static,
    E: std::fmt::Display + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(internal(e)),
        Err(e) => Err(internal(e)),
    }
}

/// A URL-encoded body or query string.
#[derive(Debug, Default)]
struct Form(HashMap<String, String>);

impl Form {
    fn parse(bytes: &[u8]) -> Self {
        Self(form_urlencoded::parse(bytes).into_owned().collect())
    }

    fn query(uri: &Uri) -> Self {
        Self::parse(uri.query().unwrap_or("").as_bytes())
    }

    fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(String::as_str)
    }

    /// A value, trimmed; empty when absent.
    fn text(&self, k: &str) -> String {
        self.get(k).unwrap_or("").trim().to_owned()
    }
}

/// The flash message named by `?done=` after a POST (a fixed set: nothing
/// from the URL is shown).
fn done_message(q: &Form) -> Option<&'static str> {
    Some(match q.get("done")? {
        "revoked" => "Token revoked: requests with it answer 401 from now on.",
        "tenant" => "Tenant created. Give it a token below.",
        "approved" => "Deletion approved: the user was removed.",
        "restored" => "User restored: active again, back in its groups.",
        "policies" => "Policies saved: they apply from the next request on.",
        "ignored" => "Saved.",
        _ => return None,
    })
}

// ===== authentication =====

/// The request's session, or a redirect to the login page.
async fn session(st: &WebState, headers: &HeaderMap) -> Result<Active> {
    let Some(id) = cookie_value(headers, st.secure).map(str::to_owned) else {
        return Err(to_login());
    };
    let admin = st.admin.clone();
    let sessions = st.sessions.clone();
    blocking(move || {
        let hash = admin.admin_password_hash()?;
        sessions.check(&id, hash.as_deref())
    })
    .await?
    .ok_or_else(to_login)
}

/// A POST's session and form; 403 unless the form carries the session's CSRF
/// token.
async fn post_form(st: &WebState, headers: &HeaderMap, body: &Bytes) -> Result<(Active, Form)> {
    let active = session(st, headers).await?;
    let form = Form::parse(body);
    if !active.csrf_ok(form.get("csrf")) {
        tracing::warn!("admin POST refused: missing or wrong CSRF token");
        return Err(failure(
            StatusCode::FORBIDDEN,
            "Refused",
            "This form is stale or did not come from this admin page (CSRF check failed). Reload the page and try again.",
            Some(&active.csrf),
        ));
    }
    Ok((active, form))
}

async fn css() -> Response {
    let mut resp = Response::new(Body::from(view::CSS));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=3600"),
    );
    resp
}

async fn login_form(State(st): State<WebState>) -> Result {
    let admin = st.admin.clone();
    let hash = blocking(move || admin.admin_password_hash()).await?;
    Ok(ok(view::login(None, hash.is_none())))
}

async fn login(State(st): State<WebState>, body: Bytes) -> Result {
    let form = Form::parse(&body);
    let password = form.get("password").unwrap_or("").to_owned();
    let admin = st.admin.clone();
    let hash = blocking(move || admin.admin_password_hash()).await?;
    let Some(hash) = hash else {
        return Ok(page(StatusCode::UNAUTHORIZED, view::login(None, true)));
    };
    let valid = {
        let _permit = st.login_gate.acquire().await.map_err(internal)?;
        let h = hash.clone();
        blocking(move || {
            Ok::<_, std::convert::Infallible>(scimkit::auth::verify_password(&h, &password))
        })
        .await?
    };
    if !valid {
        tracing::warn!("admin login failed: wrong password");
        // Slows guessing down; the gate above keeps it to one check at a time.
        tokio::time::sleep(Duration::from_millis(300)).await;
        return Ok(page(
            StatusCode::UNAUTHORIZED,
            view::login(Some("Wrong password."), false),
        ));
    }
    let sessions = st.sessions.clone();
    let id = blocking(move || sessions.open(&hash)).await?;
    tracing::info!("admin logged in");
    let mut resp = redirect("/admin");
    if let Ok(v) = HeaderValue::from_str(&set_cookie(&id, st.secure)) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

async fn logout(State(st): State<WebState>, headers: HeaderMap, body: Bytes) -> Result {
    post_form(&st, &headers, &body).await?;
    if let Some(id) = cookie_value(&headers, st.secure).map(str::to_owned) {
        let sessions = st.sessions.clone();
        blocking(move || sessions.close(&id)).await?;
    }
    let mut resp = redirect("/admin/login");
    if let Ok(v) = HeaderValue::from_str(&clear_cookie(st.secure)) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

async fn not_found(State(st): State<WebState>, headers: HeaderMap) -> Result {
    let a = session(&st, &headers).await?;
    Ok(failure(
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no such admin page.",
        Some(&a.csrf),
    ))
}

// ===== overview and tenants =====

fn count(scim: &ScimServer, tenant: &str, kind: ResourceKind) -> Option<usize> {
    let q = Query::all(scim.registry().get(kind).clone())
        .page(PageRequest::Index {
            start_index: 1,
            count: 0,
        })
        .members(Members::Exclude);
    scim.store()
        .query(&Ctx::new(tenant), kind, &q)
        .map(|p| p.total_results)
        .map_err(|e| tracing::warn!(tenant, error = ?e, "cannot count resources"))
        .ok()
}

fn summary(
    st: &WebState,
    tenant: &str,
    since: &str,
    hourly: bool,
) -> std::result::Result<TenantSummary, crate::Error> {
    let q = LogQuery {
        tenant: Some(tenant.to_owned()),
        since: Some(since.to_owned()),
        ..Default::default()
    };
    let total = st.log.current().count(&q)?;
    let failures = st.log.current().count(&LogQuery {
        outcome: Some(Outcome::Failure),
        ..q
    })?;
    Ok(TenantSummary {
        name: tenant.to_owned(),
        users: count(&st.scim, tenant, ResourceKind::User),
        groups: count(&st.scim, tenant, ResourceKind::Group),
        review: st
            .scim
            .hidden_users(tenant, HiddenState::Review)
            .map(|v| v.len())
            .unwrap_or(0),
        total,
        failures,
        enabled: st.policies.load(tenant).map(|(p, _)| p.enabled)?,
        buckets: st.log.current().buckets(Some(tenant), since, hourly)?,
    })
}

async fn overview(State(st): State<WebState>, headers: HeaderMap, uri: Uri) -> Result {
    let a = session(&st, &headers).await?;
    let hourly = Form::query(&uri).get("by") == Some("hour");
    let now = OffsetDateTime::now_utc();
    let since = view::chart_since(now, hourly);
    let s = st.clone();
    let (tenants, rejected) = blocking(move || {
        let mut out = Vec::new();
        for t in s.admin.list_tenants()? {
            out.push(summary(&s, &t.name, &since, hourly)?);
        }
        let rejected = s
            .log
            .current()
            .totals(&since)?
            .into_iter()
            .find(|t| t.tenant.is_empty())
            .map_or((0, 0), |t| (t.total, t.failures));
        Ok::<_, crate::Error>((out, rejected))
    })
    .await?;
    Ok(ok(view::overview(
        &a.csrf,
        &tenants,
        rejected,
        &view::slots(now, hourly),
        hourly,
    )))
}

async fn tokens(State(st): State<WebState>, headers: HeaderMap, uri: Uri) -> Result {
    let a = session(&st, &headers).await?;
    let q = Form::query(&uri);
    let admin = st.admin.clone();
    let (tenants, tokens) =
        blocking(move || Ok::<_, crate::Error>((admin.list_tenants()?, admin.list_tokens(None)?)))
            .await?;
    let url = tenant_url(&st, &headers);
    Ok(ok(view::tokens(
        &a.csrf,
        &tenants,
        &tokens,
        None,
        &url,
        done_message(&q),
    )))
}

fn tenant_url(st: &WebState, headers: &HeaderMap) -> String {
    let base = st.scim.base_path();
    match &st.public_url {
        Some(p) => format!("{p}{base}"),
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost");
            let scheme = if st.secure { "https" } else { "http" };
            format!("{scheme}://{host}{base}")
        }
    }
}

async fn create_token(State(st): State<WebState>, headers: HeaderMap, body: Bytes) -> Result {
    let (a, form) = post_form(&st, &headers, &body).await?;
    let tenant = form.text("tenant");
    let label = form.text("label");
    let admin = st.admin.clone();
    let made = tokio::task::spawn_blocking(move || {
        let label = (!label.is_empty()).then_some(label);
        admin.create_token(&tenant, label.as_deref())
    })
    .await
    .map_err(internal)?;
    let token = match made {
        Ok(t) => t,
        Err(e @ crate::db::DbError::NoTenant(_)) => {
            return Ok(failure(
                StatusCode::BAD_REQUEST,
                "No such tenant",
                &e.to_string(),
                Some(&a.csrf),
            ));
        }
        Err(e) => return Err(internal(e)),
    };
    tracing::info!(token_id = %token.id, tenant = %token.tenant, "token created on the admin page");
    let admin = st.admin.clone();
    let (tenants, tokens) =
        blocking(move || Ok::<_, crate::Error>((admin.list_tenants()?, admin.list_tokens(None)?)))
            .await?;
    let url = tenant_url(&st, &headers);
    // Rendered in the POST's answer (never a redirect): shown once, not stored.
    Ok(ok(view::tokens(
        &a.csrf,
        &tenants,
        &tokens,
        Some(&token),
        &url,
        None,
    )))
}

async fn revoke_token(
    State(st): State<WebState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result {
    let (a, _) = post_form(&st, &headers, &body).await?;
    let admin = st.admin.clone();
    let i = id.clone();
    match tokio::task::spawn_blocking(move || admin.revoke_token(&i))
        .await
        .map_err(internal)?
    {
        Ok(tenant) => {
            tracing::info!(token_id = %id, tenant, "token revoked on the admin page");
            Ok(redirect("/admin/tokens?done=revoked"))
        }
        Err(e @ crate::db::DbError::NoToken(_)) => Ok(failure(
            StatusCode::NOT_FOUND,
            "No such token",
            &e.to_string(),
            Some(&a.csrf),
        )),
        Err(e) => Err(internal(e)),
    }
}

async fn create_tenant(State(st): State<WebState>, headers: HeaderMap, body: Bytes) -> Result {
    let (a, form) = post_form(&st, &headers, &body).await?;
    let name = form.text("name");
    let admin = st.admin.clone();
    let n = name.clone();
    match tokio::task::spawn_blocking(move || admin.create_tenant(&n))
        .await
        .map_err(internal)?
    {
        Ok(()) => {
            tracing::info!(tenant = %name, "tenant created on the admin page");
            Ok(redirect("/admin/tokens?done=tenant"))
        }
        Err(e @ (crate::db::DbError::TenantName(_) | crate::db::DbError::TenantExists(_))) => {
            Ok(failure(
                StatusCode::BAD_REQUEST,
                "Cannot create the tenant",
                &e.to_string(),
                Some(&a.csrf),
            ))
        }
        Err(e) => Err(internal(e)),
    }
}

/// A tenant named in the path that exists, or a 404 page.
async fn existing_tenant(st: &WebState, a: &Active, tenant: &str) -> Result<()> {
    let admin = st.admin.clone();
    let t = tenant.to_owned();
    if blocking(move || admin.tenant_exists(&t)).await? {
        Ok(())
    } else {
        Err(failure(
            StatusCode::NOT_FOUND,
            "No such tenant",
            &format!("There is no tenant {tenant:?}."),
            Some(&a.csrf),
        ))
    }
}

async fn tenant_page(
    st: &WebState,
    a: &Active,
    tenant: &str,
    msg: Option<&str>,
    error: Option<(&str, scimkit::Policies)>,
) -> Result {
    existing_tenant(st, a, tenant).await?;
    let now = OffsetDateTime::now_utc();
    let since = view::chart_since(now, false);
    let s = st.clone();
    let t = tenant.to_owned();
    let (summary, (policies, origin)) = blocking(move || {
        Ok::<_, crate::Error>((summary(&s, &t, &since, false)?, s.policies.load(&t)?))
    })
    .await?;
    let (policies, status, err) = match error {
        Some((e, submitted)) => (submitted, StatusCode::BAD_REQUEST, Some(e)),
        None => (policies, StatusCode::OK, None),
    };
    Ok(page(
        status,
        view::tenant(
            &a.csrf,
            tenant,
            &policies,
            &origin,
            st.file_tenants.contains(tenant),
            &summary,
            &view::slots(now, false),
            msg,
            err,
        ),
    ))
}

async fn tenant(
    State(st): State<WebState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Result {
    let a = session(&st, &headers).await?;
    tenant_page(&st, &a, &tenant, done_message(&Form::query(&uri)), None).await
}

async fn save_policies(
    State(st): State<WebState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result {
    let (a, form) = post_form(&st, &headers, &body).await?;
    existing_tenant(&st, &a, &tenant).await?;
    let row = crate::db::PolicyRow {
        enabled: form.get("enabled") == Some("on"),
        deletion: form.text("deletion"),
        groups: form.text("groups"),
        link_existing: form.text("link_existing"),
        require_guid_external_id: form.get("require_guid_external_id") == Some("on"),
        rename_on_deactivate: Some(form.text("rename_on_deactivate")).filter(|s| !s.is_empty()),
    };
    let policies = match from_row(&row) {
        Ok(p) => p,
        Err(e) => {
            let shown = scimkit::Policies {
                enabled: row.enabled,
                require_guid_external_id: row.require_guid_external_id,
                ..scimkit::Policies::default()
            };
            return tenant_page(&st, &a, &tenant, None, Some((&e, shown))).await;
        }
    };
    let p = st.policies.clone();
    let t = tenant.clone();
    let saved = policies.clone();
    blocking(move || p.set(&t, &saved, "admin")).await?;
    tracing::info!(
        tenant,
        enabled = policies.enabled,
        deletion = crate::policies::deletion_name(policies.deletion),
        groups = crate::policies::group_name(policies.groups),
        "policies changed on the admin page"
    );
    Ok(redirect(&format!("/admin/tenants/{tenant}?done=policies")))
}

// ===== users and groups =====

fn kind_of(segment: &str) -> Option<ResourceKind> {
    match segment {
        "users" => Some(ResourceKind::User),
        "groups" => Some(ResourceKind::Group),
        _ => None,
    }
}

fn no_such_page(a: &Active) -> Response {
    failure(
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no such admin page.",
        Some(&a.csrf),
    )
}

async fn resources(
    State(st): State<WebState>,
    Path((tenant, kind_seg)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Result {
    let a = session(&st, &headers).await?;
    let Some(kind) = kind_of(&kind_seg) else {
        return Ok(no_such_page(&a));
    };
    existing_tenant(&st, &a, &tenant).await?;
    let q = Form::query(&uri);
    let search = q.text("q");
    let page_no: usize = q
        .get("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .max(1);
    let scim = st.scim.clone();
    let t = tenant.clone();
    let s = search.clone();
    let (items, total) = blocking(move || {
        let attr = if kind == ResourceKind::User {
            "userName"
        } else {
            "displayName"
        };
        let mut query = Query::all(scim.registry().get(kind).clone())
            .members(Members::Exclude)
            .page(PageRequest::Index {
                start_index: (page_no - 1) * PER_PAGE + 1,
                count: PER_PAGE,
            });
        if !s.is_empty() {
            let quoted = serde_json::to_string(&s).unwrap_or_default();
            query = query
                .with_filter(&format!("{attr} sw {quoted}"))
                .map_err(|e| e.detail().to_owned())?;
        }
        let ctx = Ctx::new(t);
        let page = match scim.store().query(&ctx, kind, &query) {
            Ok(p) => p,
            Err(scimkit::StoreError::Unsupported) => {
                // The store cannot answer this filter itself: evaluate it here.
                let all = Query::all(scim.registry().get(kind).clone()).members(Members::Exclude);
                let hits: Vec<_> = scim
                    .store()
                    .query(&ctx, kind, &all)
                    .map_err(|e| format!("{e:?}"))?
                    .resources
                    .into_iter()
                    .filter(|r| query.matches(&r.resource))
                    .collect();
                let total = hits.len();
                scimkit::store::Page {
                    resources: hits
                        .into_iter()
                        .skip((page_no - 1) * PER_PAGE)
                        .take(PER_PAGE)
                        .collect(),
                    total_results: total,
                    next_cursor: None,
                }
            }
            Err(e) => return Err(format!("{e:?}")),
        };
        Ok((
            page.resources
                .into_iter()
                .map(|r| r.resource)
                .collect::<Vec<Value>>(),
            page.total_results,
        ))
    })
    .await?;
    Ok(ok(view::resources(
        &a.csrf, &tenant, &kind_seg, &items, total, page_no, PER_PAGE, &search,
    )))
}

async fn resource(
    State(st): State<WebState>,
    Path((tenant, kind_seg, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Result {
    let a = session(&st, &headers).await?;
    let Some(kind) = kind_of(&kind_seg) else {
        return Ok(no_such_page(&a));
    };
    existing_tenant(&st, &a, &tenant).await?;
    let s = st.clone();
    let (t, i) = (tenant.clone(), id.clone());
    let (found, hidden, history) = blocking(move || {
        let found = s
            .scim
            .store()
            .get(&Ctx::new(t.clone()), kind, &i, Members::Include)
            .map_err(|e| format!("{e:?}"))?
            .map(|r| r.resource);
        let mut hidden = None;
        let mut found = found;
        if found.is_none() && kind == ResourceKind::User {
            for state in [HiddenState::Review, HiddenState::Deleted] {
                let list = s.scim.hidden_users(&t, state).map_err(|e| e.to_string())?;
                if let Some(u) = list.into_iter().find(|u| u["id"] == i.as_str()) {
                    found = Some(u);
                    hidden = Some(state.as_str());
                    break;
                }
            }
        }
        let history = s
            .log
            .current()
            .query(&LogQuery {
                tenant: Some(t),
                resource_id: Some(i),
                limit: 200,
                ..Default::default()
            })
            .map_err(|e| format!("{e:?}"))?;
        Ok::<_, String>((found, hidden, history))
    })
    .await?;
    Ok(ok(view::resource(
        &a.csrf,
        &tenant,
        &kind_seg,
        &id,
        found.as_ref(),
        hidden,
        &history,
        done_message(&Form::query(&uri)),
    )))
}

async fn ignore(
    State(st): State<WebState>,
    Path((tenant, kind_seg, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result {
    let (a, form) = post_form(&st, &headers, &body).await?;
    let Some(kind) = kind_of(&kind_seg) else {
        return Ok(no_such_page(&a));
    };
    let ignored = form.get("ignored") == Some("1");
    let scim = st.scim.clone();
    let (t, i) = (tenant.clone(), id.clone());
    let r = tokio::task::spawn_blocking(move || scim.set_ignored(&t, kind, &i, ignored))
        .await
        .map_err(internal)?;
    match r {
        Ok(()) => Ok(redirect(&format!(
            "/admin/tenants/{tenant}/{kind_seg}/{id}?done=ignored"
        ))),
        Err(e) => Ok(scim_failure(&a, &e)),
    }
}

fn scim_failure(a: &Active, e: &scimkit::ScimError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    failure(status, "Not done", e.detail(), Some(&a.csrf))
}

// ===== review queue =====

async fn review(State(st): State<WebState>, headers: HeaderMap, uri: Uri) -> Result {
    let a = session(&st, &headers).await?;
    let q = Form::query(&uri);
    let only = q.text("tenant");
    let s = st.clone();
    let o = only.clone();
    let rows = blocking(move || {
        let mut rows = Vec::new();
        for t in s.admin.list_tenants()? {
            if !o.is_empty() && t.name != o {
                continue;
            }
            for state in [HiddenState::Review, HiddenState::Deleted] {
                for user in s.scim.hidden_users(&t.name, state)? {
                    rows.push(Hidden {
                        tenant: t.name.clone(),
                        state: state.as_str(),
                        user,
                    });
                }
            }
        }
        Ok::<_, crate::Error>(rows)
    })
    .await?;
    Ok(ok(view::review(&a.csrf, &rows, &only, done_message(&q))))
}

async fn approve(
    State(st): State<WebState>,
    Path((tenant, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result {
    let (a, _) = post_form(&st, &headers, &body).await?;
    let scim = st.scim.clone();
    let (t, i) = (tenant.clone(), id.clone());
    match tokio::task::spawn_blocking(move || scim.approve_deletion(&t, &i))
        .await
        .map_err(internal)?
    {
        Ok(()) => {
            tracing::info!(tenant, id, "deletion approved on the admin page");
            Ok(redirect("/admin/review?done=approved"))
        }
        Err(e) => Ok(scim_failure(&a, &e)),
    }
}

async fn restore(
    State(st): State<WebState>,
    Path((tenant, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result {
    let (a, _) = post_form(&st, &headers, &body).await?;
    let scim = st.scim.clone();
    let (t, i) = (tenant.clone(), id.clone());
    match tokio::task::spawn_blocking(move || scim.restore_user(&t, &i))
        .await
        .map_err(internal)?
    {
        Ok(_) => {
            tracing::info!(tenant, id, "user restored on the admin page");
            Ok(redirect("/admin/review?done=restored"))
        }
        Err(e) => Ok(scim_failure(&a, &e)),
    }
}

// ===== provisioning log =====

/// The log filters of a query string, as a `LogQuery` (or why not).
fn log_query(q: &Form) -> (LogFilters, std::result::Result<LogQuery, String>) {
    let f = LogFilters {
        tenant: q.text("tenant"),
        user: q.text("user"),
        resource_id: q.text("id"),
        outcome: q.text("outcome"),
        since: q.text("since"),
        until: q.text("until"),
    };
    let build = || -> std::result::Result<LogQuery, String> {
        Ok(LogQuery {
            tenant: match f.tenant.as_str() {
                "" => None,
                // Rejected credentials carry no tenant.
                "-" => Some(String::new()),
                t => Some(t.to_owned()),
            },
            name: Some(f.user.clone()).filter(|s| !s.is_empty()),
            resource_id: Some(f.resource_id.clone()).filter(|s| !s.is_empty()),
            outcome: match f.outcome.as_str() {
                "" => None,
                o => Some(Outcome::parse(o).ok_or_else(|| format!("unknown outcome {o:?}"))?),
            },
            since: Some(f.since.as_str())
                .filter(|s| !s.is_empty())
                .map(parse_time)
                .transpose()?,
            until: Some(f.until.as_str())
                .filter(|s| !s.is_empty())
                .map(parse_time)
                .transpose()?,
            ..Default::default()
        })
    };
    let q = build();
    (f, q)
}

async fn log_page(State(st): State<WebState>, headers: HeaderMap, uri: Uri) -> Result {
    let a = session(&st, &headers).await?;
    let q = Form::query(&uri);
    let page_no: u64 = q
        .get("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .max(1);
    let (filters, query) = log_query(&q);
    let s = st.clone();
    let (tenants, entries, total, error) = blocking(move || {
        let tenants = s.admin.list_tenants()?;
        Ok::<_, crate::Error>(match query {
            Ok(mut query) => {
                let total = s.log.current().count(&query)?;
                query.offset = usize::try_from((page_no - 1) * PER_PAGE as u64).unwrap_or(0);
                query.limit = PER_PAGE;
                let entries = s
                    .log
                    .current()
                    .query(&query)
                    .map_err(|e| format!("{e:?}"))?;
                (tenants, entries, total, None)
            }
            Err(e) => (tenants, Vec::new(), 0, Some(e)),
        })
    })
    .await?;
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok(page(
        status,
        view::log(
            &a.csrf,
            &tenants,
            &filters,
            &entries,
            total,
            page_no,
            PER_PAGE as u64,
            error.as_deref(),
        ),
    ))
}

async fn export(State(st): State<WebState>, headers: HeaderMap, uri: Uri) -> Result {
    let a = session(&st, &headers).await?;
    let (_, query) = log_query(&Form::query(&uri));
    let query = match query {
        Ok(q) => q,
        Err(e) => {
            return Ok(failure(
                StatusCode::BAD_REQUEST,
                "Bad filter",
                &e,
                Some(&a.csrf),
            ));
        }
    };
    let log = st.log.clone();
    let body = blocking(move || {
        let mut out = Vec::new();
        log.current().export(&query, &mut out)?;
        Ok::<_, crate::Error>(out)
    })
    .await?;
    let mut resp = Body::from(body).into_response();
    let name = format!(
        "attachment; filename=\"scimkit-log-{}.jsonl\"",
        &scimkit::time::now()[..10]
    );
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    if let Ok(v) = HeaderValue::from_str(&name) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    secure_headers(&mut resp);
    Ok(resp)
}

#[cfg(test)]
mod tests;
