//! A Microsoft Graph fake on 127.0.0.1:0: the client-credentials token endpoint,
//! `/users` (paged), `/users/delta` (initial round + delta links, `@removed`),
//! `/users/{id}`, `/groups/{id}` and
//! `/groups/{id}/transitiveMembers/microsoft.graph.user` (nested groups, cycles),
//! `$select` honoured, throttling on demand, every request recorded with its time.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;
use serde_json::{Map, Value, json};

pub(crate) const CLIENT_ID: &str = "app-0001";
pub(crate) const CLIENT_SECRET: &str = "s3cret-value-never-logged";
pub(crate) const ENTRA_TENANT: &str = "contoso.example";

/// One recorded request.
#[derive(Debug, Clone)]
pub(crate) struct Logged {
    pub(crate) at: Instant,
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) query: String,
    pub(crate) status: u16,
}

/// Answer `status` (with `Retry-After`) to the next `times` requests whose path
/// contains `path` (and, when set, whose query contains `query`).
#[derive(Debug, Clone)]
pub(crate) struct Throttle {
    pub(crate) path: String,
    pub(crate) query: Option<String>,
    pub(crate) times: usize,
    pub(crate) status: u16,
    pub(crate) retry_after: Option<u64>,
}

#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub(crate) display_name: String,
    /// User or group object ids.
    pub(crate) members: Vec<String>,
}

#[derive(Debug, Clone)]
enum ChangeKind {
    /// These properties changed.
    Props(Vec<String>),
    /// New (or restored) object: everything.
    Full,
    /// Deleted.
    Removed,
}

/// The directory behind the fake, and what the fake saw.
#[derive(Debug, Default)]
pub(crate) struct Directory {
    pub(crate) users: BTreeMap<String, Value>,
    pub(crate) groups: BTreeMap<String, Group>,
    version: u64,
    changes: Vec<(u64, String, ChangeKind)>,
    /// Delta tokens older than this answer 410.
    expired_before: u64,
    pub(crate) requests: Vec<Logged>,
    pub(crate) token_requests: usize,
    pub(crate) throttles: Vec<Throttle>,
    pub(crate) page_size: usize,
    tokens: HashSet<String>,
    pub(crate) selects: Vec<String>,
}

pub(crate) fn oid(i: usize) -> String {
    format!("{:08x}-0000-4000-8000-{:012x}", 0x1000 + i, i)
}

pub(crate) fn upn(i: usize) -> String {
    format!("user{i:03}@contoso.example")
}

pub(crate) fn gid(name: &str) -> String {
    let n: u64 = name.bytes().map(u64::from).sum();
    format!("{n:08x}-6000-4000-8000-000000000000")
}

const TITLES: [&str; 3] = ["Engineer", "Manager", "Designer"];

/// User `i`, deterministic.
pub(crate) fn user(i: usize) -> Value {
    json!({
        "id": oid(i),
        "userPrincipalName": upn(i),
        "accountEnabled": true,
        "displayName": format!("User {i:03}"),
        "givenName": format!("Given{i}"),
        "surname": format!("Sur{i}"),
        "mail": upn(i),
        "jobTitle": TITLES[i % 3],
        "department": format!("Dept {}", i % 7),
        "employeeId": format!("E{i:05}"),
        "mobilePhone": if i % 2 == 0 { json!(format!("+1 555 01{i:03}")) } else { Value::Null },
        "businessPhones": [format!("+1 555 02{i:03}")],
        "officeLocation": format!("Building {}", i % 5),
        "usageLocation": "US",
    })
}

impl Directory {
    /// `n` users; groups Engineering (users 0..40 + Platform), Platform (35..50 +
    /// SRE), SRE (200..205 + Engineering: a cycle), Sales (100..150).
    pub(crate) fn generate(n: usize) -> Self {
        let mut d = Directory {
            page_size: 50,
            ..Default::default()
        };
        for i in 0..n {
            d.users.insert(oid(i), user(i));
        }
        let ids = |r: std::ops::Range<usize>| r.filter(|i| *i < n).map(oid).collect::<Vec<_>>();
        let mut eng = ids(0..40);
        eng.push(gid("Platform"));
        let mut plat = ids(35..50);
        plat.push(gid("SRE"));
        let mut sre = ids(200..205);
        sre.push(gid("Engineering"));
        for (name, members) in [
            ("Engineering", eng),
            ("Platform", plat),
            ("SRE", sre),
            ("Sales", ids(100..150)),
        ] {
            d.groups.insert(
                gid(name),
                Group {
                    display_name: name.to_owned(),
                    members,
                },
            );
        }
        d
    }

    fn bump(&mut self, id: &str, kind: ChangeKind) {
        self.version += 1;
        self.changes.push((self.version, id.to_owned(), kind));
    }

    /// Change some properties of a user.
    pub(crate) fn update(&mut self, id: &str, props: Value) {
        let u = self.users.get_mut(id).expect("known user");
        let mut keys = Vec::new();
        for (k, v) in props.as_object().expect("object") {
            u[k] = v.clone();
            keys.push(k.clone());
        }
        self.bump(id, ChangeKind::Props(keys));
    }

    /// Block sign-in.
    pub(crate) fn disable(&mut self, id: &str) {
        self.update(id, json!({"accountEnabled": false}));
    }

    /// Delete a user (and its memberships).
    pub(crate) fn delete(&mut self, id: &str) {
        self.users.remove(id).expect("known user");
        for g in self.groups.values_mut() {
            g.members.retain(|m| m != id);
        }
        self.bump(id, ChangeKind::Removed);
    }

    /// Add (or restore) a user.
    pub(crate) fn add(&mut self, user: Value) {
        let id = user["id"].as_str().unwrap().to_owned();
        self.users.insert(id.clone(), user);
        self.bump(&id, ChangeKind::Full);
    }

    /// Remove a direct member from a group (not a change of the user).
    pub(crate) fn remove_member(&mut self, group: &str, member: &str) {
        self.groups
            .get_mut(group)
            .expect("known group")
            .members
            .retain(|m| m != member);
    }

    /// Make every delta link issued so far answer 410.
    pub(crate) fn expire_delta_links(&mut self) {
        self.version += 1;
        self.expired_before = self.version;
    }

    /// The transitive user members of a group.
    pub(crate) fn transitive_users(&self, group: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut visited = HashSet::new();
        let mut stack = vec![group.to_owned()];
        while let Some(g) = stack.pop() {
            if !visited.insert(g.clone()) {
                continue;
            }
            if let Some(grp) = self.groups.get(&g) {
                for m in &grp.members {
                    if self.groups.contains_key(m) {
                        stack.push(m.clone());
                    } else if self.users.contains_key(m) {
                        out.insert(m.clone());
                    }
                }
            }
        }
        out
    }

    /// Requests whose path contains `p`.
    pub(crate) fn requests_to(&self, p: &str) -> Vec<Logged> {
        self.requests
            .iter()
            .filter(|r| r.path.contains(p))
            .cloned()
            .collect()
    }
}

type Shared = Arc<Mutex<Directory>>;

/// The running fake. Stops when dropped.
pub(crate) struct FakeGraph {
    pub(crate) addr: SocketAddr,
    pub(crate) dir: Shared,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeGraph {
    pub(crate) fn start(dir: Directory) -> Self {
        let dir: Shared = Arc::new(Mutex::new(dir));
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let d = Arc::clone(&dir);
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                let app = axum::Router::new().fallback(handle).with_state(d);
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stop_rx.await;
                    })
                    .await
                    .unwrap();
            });
        });
        let addr = addr_rx.recv().unwrap();
        Self {
            addr,
            dir,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    pub(crate) fn graph_url(&self) -> String {
        format!("http://{}/v1.0", self.addr)
    }

    pub(crate) fn token_url(&self) -> String {
        format!("http://{}/{ENTRA_TENANT}/oauth2/v2.0/token", self.addr)
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut Directory) -> R) -> R {
        f(&mut self.dir.lock())
    }
}

impl Drop for FakeGraph {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn json_response(status: u16, body: Value) -> Response {
    let mut r = (StatusCode::from_u16(status).unwrap(), body.to_string()).into_response();
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    r
}

fn graph_error(status: u16, code: &str, message: &str) -> Response {
    json_response(status, json!({"error": {"code": code, "message": message}}))
}

fn params(query: &str) -> BTreeMap<String, String> {
    form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

async fn handle(State(dir): State<Shared>, req: Request) -> Response {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or_default().to_owned();
    let host = req
        .headers()
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned);
    let body = axum::body::to_bytes(req.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    let mut d = dir.lock();
    let resp = route(
        &mut d,
        &method,
        &path,
        &query,
        &host,
        auth.as_deref(),
        &body,
    );
    d.requests.push(Logged {
        at: Instant::now(),
        method,
        path,
        query,
        status: resp.status().as_u16(),
    });
    resp
}

fn route(
    d: &mut Directory,
    method: &str,
    path: &str,
    query: &str,
    host: &str,
    auth: Option<&str>,
    body: &[u8],
) -> Response {
    if let Some(t) = d.throttles.iter_mut().find(|t| {
        t.times > 0 && path.contains(&t.path) && t.query.as_ref().is_none_or(|q| query.contains(q))
    }) {
        t.times -= 1;
        let mut r = graph_error(t.status, "TooManyRequests", "Too many requests");
        if let Some(s) = t.retry_after {
            r.headers_mut().insert(
                "retry-after",
                HeaderValue::from_str(&s.to_string()).unwrap(),
            );
        }
        return r;
    }
    if path == format!("/{ENTRA_TENANT}/oauth2/v2.0/token") {
        return token(d, method, body);
    }
    let token_ok = auth
        .and_then(|a| a.strip_prefix("Bearer "))
        .is_some_and(|t| d.tokens.contains(t));
    if !token_ok {
        return graph_error(
            401,
            "InvalidAuthenticationToken",
            "Access token is empty or invalid.",
        );
    }
    if method != "GET" {
        return graph_error(405, "Request_BadRequest", "method not allowed");
    }
    let p = params(query);
    if let Some(s) = p.get("$select") {
        d.selects.push(s.clone());
    }
    let select: Option<Vec<String>> = p
        .get("$select")
        .map(|s| s.split(',').map(str::to_owned).collect());
    let base = format!("http://{host}");
    let segs: Vec<&str> = path.trim_start_matches("/v1.0/").split('/').collect();
    match segs.as_slice() {
        ["users"] => {
            let all: Vec<Value> = d.users.values().cloned().collect();
            paged(d, all, &p, &select, &format!("{base}{path}"), None)
        }
        ["users", "delta"] => delta(d, &p, &select, &format!("{base}{path}")),
        ["users", id] => match d.users.get(*id) {
            Some(u) => json_response(200, project(u, &select)),
            None => graph_error(404, "Request_ResourceNotFound", "Resource does not exist."),
        },
        ["groups", id] => match d.groups.get(*id) {
            Some(g) => json_response(200, json!({"id": id, "displayName": g.display_name})),
            None => graph_error(404, "Request_ResourceNotFound", "Resource does not exist."),
        },
        ["groups", id, "transitiveMembers", "microsoft.graph.user"] => {
            if !d.groups.contains_key(*id) {
                return graph_error(404, "Request_ResourceNotFound", "Resource does not exist.");
            }
            let users: Vec<Value> = d
                .transitive_users(id)
                .iter()
                .map(|u| d.users[u].clone())
                .collect();
            paged(d, users, &p, &select, &format!("{base}{path}"), None)
        }
        _ => graph_error(400, "BadRequest", "unsupported path"),
    }
}

fn token(d: &mut Directory, method: &str, body: &[u8]) -> Response {
    d.token_requests += 1;
    let f = params(std::str::from_utf8(body).unwrap_or_default());
    let ok = method == "POST"
        && f.get("client_id").map(String::as_str) == Some(CLIENT_ID)
        && f.get("client_secret").map(String::as_str) == Some(CLIENT_SECRET)
        && f.get("grant_type").map(String::as_str) == Some("client_credentials")
        && f.get("scope").map(String::as_str) == Some("https://graph.microsoft.com/.default");
    if !ok {
        return json_response(
            401,
            json!({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 0"}),
        );
    }
    let t = format!("tok-{}", d.token_requests);
    d.tokens.insert(t.clone());
    json_response(
        200,
        json!({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": t}),
    )
}

/// Only the selected properties (and `id`, and `@removed`).
fn project(u: &Value, select: &Option<Vec<String>>) -> Value {
    let Some(sel) = select else {
        return u.clone();
    };
    let mut m = Map::new();
    for (k, v) in u.as_object().unwrap() {
        if k == "id" || k == "@removed" || sel.iter().any(|s| s.eq_ignore_ascii_case(k)) {
            m.insert(k.clone(), v.clone());
        }
    }
    Value::Object(m)
}

/// One page of `items`; `$skiptoken` is the offset. `delta_token` set: the last
/// page carries a delta link with it.
fn paged(
    d: &Directory,
    items: Vec<Value>,
    p: &BTreeMap<String, String>,
    select: &Option<Vec<String>>,
    self_url: &str,
    delta_token: Option<u64>,
) -> Response {
    let size = p
        .get("$top")
        .and_then(|t| t.parse().ok())
        .unwrap_or(d.page_size)
        .min(d.page_size)
        .max(1);
    let offset: usize = p
        .get("$skiptoken")
        .and_then(|s| s.rsplit('-').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let page: Vec<Value> = items
        .iter()
        .skip(offset)
        .take(size)
        .map(|u| project(u, select))
        .collect();
    let mut body = json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users", "value": page});
    let mut carry = form_urlencoded::Serializer::new(String::new());
    for (k, v) in p {
        if k != "$skiptoken" {
            carry.append_pair(k, v);
        }
    }
    let carry = carry.finish();
    if offset + size < items.len() {
        let mut next = form_urlencoded::Serializer::new(String::new());
        next.append_pair("$skiptoken", &format!("page-{}", offset + size));
        body["@odata.nextLink"] = json!(format!("{self_url}?{}&{carry}", next.finish()));
    } else if let Some(v) = delta_token {
        body["@odata.deltaLink"] = json!(delta_link(self_url, v, p));
    }
    json_response(200, body)
}

fn delta(
    d: &Directory,
    p: &BTreeMap<String, String>,
    select: &Option<Vec<String>>,
    self_url: &str,
) -> Response {
    let Some(token) = p.get("$deltatoken") else {
        // The initial round: every user; the delta link continues from now.
        let upto = p
            .get("upto")
            .and_then(|v| v.parse().ok())
            .unwrap_or(d.version);
        let mut q = p.clone();
        q.insert("upto".into(), upto.to_string());
        let all: Vec<Value> = d.users.values().cloned().collect();
        return paged(d, all, &q, select, self_url, Some(upto));
    };
    let since: u64 = token.parse().unwrap_or(0);
    if since < d.expired_before {
        return graph_error(410, "syncStateNotFound", "The delta token has expired.");
    }
    let upto = d.version;
    let mut by_id: BTreeMap<String, Option<BTreeSet<String>>> = BTreeMap::new();
    let mut removed = BTreeSet::new();
    for (v, id, kind) in &d.changes {
        if *v <= since || *v > upto {
            continue;
        }
        match kind {
            ChangeKind::Removed => {
                removed.insert(id.clone());
                by_id.remove(id);
            }
            ChangeKind::Full => {
                removed.remove(id);
                by_id.insert(id.clone(), None);
            }
            ChangeKind::Props(keys) => {
                let e = by_id
                    .entry(id.clone())
                    .or_insert_with(|| Some(BTreeSet::new()));
                if let Some(set) = e {
                    set.extend(keys.iter().cloned());
                }
            }
        }
    }
    let mut items = Vec::new();
    for (id, keys) in by_id {
        let Some(u) = d.users.get(&id) else { continue };
        items.push(match keys {
            None => u.clone(),
            Some(keys) => {
                let mut m = Map::new();
                m.insert("id".into(), json!(id));
                for k in keys {
                    m.insert(k.clone(), u[&k].clone());
                }
                Value::Object(m)
            }
        });
    }
    for id in removed {
        items.push(json!({"id": id, "@removed": {"reason": "deleted"}}));
    }
    // Changes come in one page: the next link is the delta link.
    let mut body = json!({"value": items.iter().map(|u| project(u, select)).collect::<Vec<_>>()});
    body["@odata.deltaLink"] = json!(delta_link(self_url, upto, p));
    json_response(200, body)
}

/// A delta link remembers the `$select` of the round that issued it.
fn delta_link(self_url: &str, version: u64, p: &BTreeMap<String, String>) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("$deltatoken", &version.to_string());
    if let Some(s) = p.get("$select") {
        q.append_pair("$select", s);
    }
    format!("{self_url}?{}", q.finish())
}
