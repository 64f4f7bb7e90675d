//! `limit-server`: the ceiling of scimkit's HTTP benchmark.
//!
//! hyper (HTTP/1.1, keep-alive, the same tokio runtime as the scimkit server)
//! and a few `HashMap`s behind one lock; no SCIM semantics. It answers the
//! routes the benchmark uses with the least work that still gives the load
//! generator right answers: JSON bodies are parsed once and stored as bytes
//! by id; filters are the three equality lookups Entra sends (userName,
//! externalId, displayName) and its membership check; a user PATCH sets simple
//! paths and path-less values only (no value filters, no schema); a group
//! PATCH adds or removes member ids in a set. No validation, no meta, no
//! projection, no durability.
//!
//! `limit-server --listen 127.0.0.1:PORT --token T [--base-path /scim/v2]`

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use indexmap::IndexSet;
use parking_lot::Mutex;
use serde_json::{Map, Value};

#[derive(Default)]
struct Group {
    name: String,
    /// The group JSON without members.
    base: Bytes,
    members: IndexSet<String>,
}

#[derive(Default)]
struct State {
    users: BTreeMap<String, Bytes>,
    user_names: HashMap<String, String>,
    external_ids: HashMap<String, String>,
    groups: HashMap<String, Group>,
    group_names: HashMap<String, String>,
    next: u64,
}

struct App {
    state: Mutex<State>,
    auth: String,
    base: String,
}

type Resp = Response<Full<Bytes>>;

fn resp(status: StatusCode, body: Bytes) -> Resp {
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/scim+json"),
    );
    r
}

fn status(code: StatusCode) -> Resp {
    resp(code, Bytes::new())
}

fn list(total: usize, start: usize, items: &[&[u8]]) -> Resp {
    let mut out = Vec::with_capacity(128 + items.iter().map(|i| i.len() + 1).sum::<usize>());
    out.extend_from_slice(
        format!(
            r#"{{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":{total},"startIndex":{start},"itemsPerPage":{},"Resources":["#,
            items.len()
        )
        .as_bytes(),
    );
    for (i, it) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(it);
    }
    out.extend_from_slice(b"]}");
    resp(StatusCode::OK, out.into())
}

/// `value` of `attr eq "value"` inside `filter`.
fn eq_value<'a>(filter: &'a str, attr: &str) -> Option<&'a str> {
    let i = filter.find(&format!("{attr} eq \""))? + attr.len() + 5;
    let rest = &filter[i..];
    Some(&rest[..rest.find('"')?])
}

fn set_path(obj: &mut Map<String, Value>, path: &str, v: Value) {
    match path.split_once('.') {
        Some((head, tail)) => {
            let e = obj
                .entry(head.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(m) = e {
                set_path(m, tail, v);
            }
        }
        None => {
            obj.insert(path.to_owned(), v);
        }
    }
}

impl App {
    async fn handle(&self, req: Request<Incoming>) -> Resp {
        let ok = req
            .headers()
            .get(http::header::AUTHORIZATION)
            .is_some_and(|v| v.as_bytes() == self.auth.as_bytes());
        if !ok {
            return status(StatusCode::UNAUTHORIZED);
        }
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        let query: HashMap<String, String> = req
            .uri()
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        let body = match req.into_body().collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => return status(StatusCode::BAD_REQUEST),
        };
        let Some(rest) = path.strip_prefix(self.base.as_str()) else {
            return status(StatusCode::NOT_FOUND);
        };
        let mut parts = rest.trim_start_matches('/').splitn(2, '/');
        let res = parts.next().unwrap_or("");
        let id = parts.next();
        match (res, id, method) {
            ("Users", None, Method::GET) => self.list_users(&query),
            ("Users", None, Method::POST) => self.create_user(&body),
            ("Users", Some(id), Method::GET) => match self.state.lock().users.get(id) {
                Some(b) => resp(StatusCode::OK, b.clone()),
                None => status(StatusCode::NOT_FOUND),
            },
            ("Users", Some(id), Method::PATCH) => self.patch_user(id, &body),
            ("Users", Some(id), Method::DELETE) => self.delete_user(id),
            ("Groups", None, Method::GET) => self.list_groups(&query),
            ("Groups", None, Method::POST) => self.create_group(&body),
            ("Groups", Some(id), Method::GET) => {
                let st = self.state.lock();
                let Some(g) = st.groups.get(id) else {
                    return status(StatusCode::NOT_FOUND);
                };
                if query
                    .get("excludedAttributes")
                    .is_some_and(|e| e == "members")
                {
                    return resp(StatusCode::OK, g.base.clone());
                }
                let mut out = g.base[..g.base.len() - 1].to_vec();
                out.extend_from_slice(br#","members":["#);
                for (i, m) in g.members.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(format!(r#"{{"value":"{m}"}}"#).as_bytes());
                }
                out.extend_from_slice(b"]}");
                resp(StatusCode::OK, out.into())
            }
            ("Groups", Some(id), Method::PATCH) => self.patch_group(id, &body),
            ("Groups", Some(id), Method::DELETE) => {
                let mut st = self.state.lock();
                match st.groups.remove(id) {
                    Some(g) => {
                        st.group_names.remove(&g.name);
                        status(StatusCode::NO_CONTENT)
                    }
                    None => status(StatusCode::NOT_FOUND),
                }
            }
            _ => status(StatusCode::NOT_FOUND),
        }
    }

    fn list_users(&self, q: &HashMap<String, String>) -> Resp {
        let st = self.state.lock();
        if let Some(f) = q.get("filter") {
            let id = if let Some(v) = eq_value(f, "userName") {
                st.user_names.get(&v.to_lowercase())
            } else if let Some(v) = eq_value(f, "externalId") {
                st.external_ids.get(v)
            } else {
                return status(StatusCode::BAD_REQUEST);
            };
            return match id.and_then(|id| st.users.get(id)) {
                Some(b) => list(1, 1, &[b]),
                None => list(0, 1, &[]),
            };
        }
        let start: usize = q
            .get("startIndex")
            .and_then(|s| s.parse().ok())
            .unwrap_or(1)
            .max(1);
        let count: usize = q
            .get("count")
            .and_then(|s| s.parse().ok())
            .unwrap_or(100)
            .min(1000);
        let items: Vec<&[u8]> = st
            .users
            .values()
            .skip(start - 1)
            .take(count)
            .map(|b| &b[..])
            .collect();
        list(st.users.len(), start, &items)
    }

    fn next_id(st: &mut State) -> String {
        st.next += 1;
        format!("{:032x}", st.next.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    fn create_user(&self, body: &[u8]) -> Resp {
        let Ok(Value::Object(mut obj)) = serde_json::from_slice::<Value>(body) else {
            return status(StatusCode::BAD_REQUEST);
        };
        let Some(name) = obj
            .get("userName")
            .and_then(Value::as_str)
            .map(str::to_lowercase)
        else {
            return status(StatusCode::BAD_REQUEST);
        };
        let ext = obj
            .get("externalId")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let mut st = self.state.lock();
        if st.user_names.contains_key(&name) {
            return status(StatusCode::CONFLICT);
        }
        let id = Self::next_id(&mut st);
        obj.insert("id".to_owned(), Value::String(id.clone()));
        let bytes = Bytes::from(serde_json::to_vec(&obj).unwrap_or_default());
        st.user_names.insert(name, id.clone());
        if let Some(e) = ext {
            st.external_ids.insert(e, id.clone());
        }
        st.users.insert(id, bytes.clone());
        resp(StatusCode::CREATED, bytes)
    }

    fn patch_user(&self, id: &str, body: &[u8]) -> Resp {
        let Ok(patch) = serde_json::from_slice::<Value>(body) else {
            return status(StatusCode::BAD_REQUEST);
        };
        let mut st = self.state.lock();
        let Some(stored) = st.users.get(id) else {
            return status(StatusCode::NOT_FOUND);
        };
        let Ok(Value::Object(mut obj)) = serde_json::from_slice::<Value>(stored) else {
            return status(StatusCode::INTERNAL_SERVER_ERROR);
        };
        for op in patch["Operations"]
            .as_array()
            .map_or(&[][..], Vec::as_slice)
        {
            match (op["path"].as_str(), &op["value"]) {
                (Some(p), v) if !p.contains('[') && !p.contains(':') => {
                    set_path(&mut obj, p, v.clone())
                }
                (None, Value::Object(m)) => {
                    for (k, v) in m {
                        set_path(&mut obj, k, v.clone());
                    }
                }
                _ => {} // value filters and URN paths: not implemented here
            }
        }
        let bytes = Bytes::from(serde_json::to_vec(&obj).unwrap_or_default());
        st.users.insert(id.to_owned(), bytes.clone());
        resp(StatusCode::OK, bytes)
    }

    fn delete_user(&self, id: &str) -> Resp {
        let mut st = self.state.lock();
        let Some(b) = st.users.remove(id) else {
            return status(StatusCode::NOT_FOUND);
        };
        if let Ok(v) = serde_json::from_slice::<Value>(&b) {
            if let Some(n) = v["userName"].as_str() {
                st.user_names.remove(&n.to_lowercase());
            }
            if let Some(e) = v["externalId"].as_str() {
                st.external_ids.remove(e);
            }
        }
        for g in st.groups.values_mut() {
            g.members.swap_remove(id);
        }
        status(StatusCode::NO_CONTENT)
    }

    fn list_groups(&self, q: &HashMap<String, String>) -> Resp {
        let st = self.state.lock();
        let Some(f) = q.get("filter") else {
            return status(StatusCode::BAD_REQUEST);
        };
        if let (Some(gid), Some(member)) = (eq_value(f, "id"), eq_value(f, "members[value")) {
            return match st.groups.get(gid) {
                Some(g) if g.members.contains(member) => list(1, 1, &[&g.base]),
                _ => list(0, 1, &[]),
            };
        }
        match eq_value(f, "displayName")
            .and_then(|n| st.group_names.get(n))
            .and_then(|id| st.groups.get(id))
        {
            Some(g) => list(1, 1, &[&g.base]),
            None => list(0, 1, &[]),
        }
    }

    fn create_group(&self, body: &[u8]) -> Resp {
        let Ok(Value::Object(mut obj)) = serde_json::from_slice::<Value>(body) else {
            return status(StatusCode::BAD_REQUEST);
        };
        let name = obj
            .get("displayName")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        obj.remove("members");
        let mut st = self.state.lock();
        let id = Self::next_id(&mut st);
        obj.insert("id".to_owned(), Value::String(id.clone()));
        let base = Bytes::from(serde_json::to_vec(&obj).unwrap_or_default());
        st.group_names.insert(name.clone(), id.clone());
        st.groups.insert(
            id,
            Group {
                name,
                base: base.clone(),
                members: IndexSet::new(),
            },
        );
        resp(StatusCode::CREATED, base)
    }

    fn patch_group(&self, id: &str, body: &[u8]) -> Resp {
        let Ok(patch) = serde_json::from_slice::<Value>(body) else {
            return status(StatusCode::BAD_REQUEST);
        };
        let mut st = self.state.lock();
        let Some(g) = st.groups.get_mut(id) else {
            return status(StatusCode::NOT_FOUND);
        };
        for op in patch["Operations"]
            .as_array()
            .map_or(&[][..], Vec::as_slice)
        {
            let add = op["op"]
                .as_str()
                .is_some_and(|o| o.eq_ignore_ascii_case("add"));
            for m in op["value"].as_array().map_or(&[][..], Vec::as_slice) {
                if let Some(v) = m["value"].as_str() {
                    if add {
                        g.members.insert(v.to_owned());
                    } else {
                        g.members.swap_remove(v);
                    }
                }
            }
        }
        status(StatusCode::NO_CONTENT)
    }
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let listen: SocketAddr = arg(&args, "--listen")
        .unwrap_or_else(|| "127.0.0.1:8090".into())
        .parse()?;
    if !listen.ip().is_loopback() {
        return Err("limit-server listens on loopback addresses only".into());
    }
    let app = Arc::new(App {
        state: Mutex::new(State::default()),
        auth: format!("Bearer {}", arg(&args, "--token").unwrap_or_default()),
        base: arg(&args, "--base-path").unwrap_or_else(|| "/scim/v2".into()),
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        println!("limit-server listening on {listen}");
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let (tcp, _) = accepted?;
                    let _ = tcp.set_nodelay(true);
                    let app = app.clone();
                    tokio::spawn(async move {
                        let svc = service_fn(move |req| {
                            let app = app.clone();
                            async move { Ok::<_, Infallible>(app.handle(req).await) }
                        });
                        let _ = http1::Builder::new().serve_connection(TokioIo::new(tcp), svc).await;
                    });
                }
                _ = tokio::signal::ctrl_c() => break,
            }
        }
        Ok::<(), Box<dyn std::error::Error>>(())
    })
}
