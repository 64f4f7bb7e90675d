//! The admin page over real HTTP on 127.0.0.1: the whole application (SCIM,
//! admin page, middleware) on a temporary SQLite file, driven by a small
//! blocking HTTP/1.1 client. Every wait is bounded.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use scimkit::{BatchingLog, DeletionPolicy, LogQuery, Policies, ProvisioningLog, ScimServer};
use serde_json::{Value, json};

use super::*;
use crate::app::{self, AppState};
use crate::cli::Database;
use crate::db::TokenAuth;
use crate::metrics::Metrics;
use crate::provlog::ServerLog;

const PASSWORD: &str = "correct-horse-battery";
const TIMEOUT: Duration = Duration::from_secs(30);

struct Rig {
    addr: SocketAddr,
    admin: Arc<AdminDb>,
    /// The log as the admin page reads it (written in the background, as in
    /// `serve`).
    log: LogReader,
    policies: Arc<DbPolicies>,
    /// A token of tenant "contoso" (deletion = review).
    token: String,
    _rt: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

fn rig(secure: bool) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("admin.db");
    let (store, admin) = crate::store::open_database(&Database::Sqlite(path.clone())).unwrap();
    let admin = Arc::new(admin);
    let table = Arc::new(ServerLog::open(&path).unwrap());
    let writer =
        Arc::new(BatchingLog::new(table.clone() as Arc<dyn ProvisioningLog>, 1024).unwrap());
    let log = LogReader::new(table, Some(writer.clone()));
    let policies = Arc::new(DbPolicies::new(admin.clone(), Policies::default()));
    admin
        .set_admin_password_hash(&scimkit::auth::hash_password(PASSWORD).unwrap())
        .unwrap();
    admin.create_tenant("contoso").unwrap();
    policies
        .set(
            "contoso",
            &Policies {
                deletion: DeletionPolicy::Review,
                ..Policies::default()
            },
            "config",
        )
        .unwrap();
    let token = admin.create_token("contoso", Some("test")).unwrap().secret;
    let scim = ScimServer::builder()
        .shared_store(store)
        .authenticator(TokenAuth(admin.clone()))
        .policy_source({
            let p = policies.clone();
            move |t: &str| scimkit::policy::PolicySource::policies(&*p, t)
        })
        .shared_log(writer as Arc<dyn ProvisioningLog>)
        .build()
        .unwrap();
    let web = WebState {
        admin: admin.clone(),
        log: log.clone(),
        policies: policies.clone(),
        scim: scim.clone(),
        sessions: Arc::new(Sessions::default()),
        secure,
        file_tenants: Arc::new(["contoso".to_owned()].into_iter().collect()),
        public_url: None,
        login_gate: Arc::new(tokio::sync::Semaphore::new(1)),
    };
    let state = AppState {
        admin: admin.clone(),
        metrics: Arc::new(Metrics::default()),
        base_path: "/scim/v2".into(),
    };
    let app = app::router(scim, tower_scim::Offload::All, state, web);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let svc = TowerToHyperService::new(app.clone());
            tokio::spawn(async move {
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tcp), svc)
                    .await;
            });
        }
    });
    Rig {
        addr,
        admin,
        log,
        policies,
        token,
        _rt: rt,
        _dir: dir,
    }
}

#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

impl Rig {
    fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Resp {
        let mut tcp = TcpStream::connect_timeout(&self.addr, TIMEOUT).unwrap();
        tcp.set_read_timeout(Some(TIMEOUT)).unwrap();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        tcp.write_all(head.as_bytes()).unwrap();
        tcp.write_all(body.as_bytes()).unwrap();
        let mut raw = Vec::new();
        tcp.read_to_end(&mut raw).unwrap();
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        let chunked = headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
        let body = if chunked {
            dechunk(body)
        } else {
            body.to_owned()
        };
        Resp {
            status,
            headers,
            body,
        }
    }

    fn get(&self, path: &str, cookie: &str) -> Resp {
        self.request("GET", path, &[("Cookie", cookie)], "")
    }

    fn post(&self, path: &str, cookie: &str, form: &[(&str, &str)]) -> Resp {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        self.request(
            "POST",
            path,
            &[
                ("Cookie", cookie),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            &body,
        )
    }

    /// Log in; returns the cookie pair and the session's CSRF token.
    fn login(&self) -> (String, String) {
        let r = self.post("/admin/login", "", &[("password", PASSWORD)]);
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(r.header("location"), Some("/admin"));
        let set = r.header("set-cookie").unwrap().to_owned();
        let cookie = set.split(';').next().unwrap().to_owned();
        let page = self.get("/admin", &cookie);
        assert_eq!(page.status, 200);
        (cookie, csrf_of(&page.body))
    }

    fn scim(&self, token: &str, method: &str, path: &str, body: Option<Value>) -> Resp {
        let auth = format!("Bearer {token}");
        self.request(
            method,
            &format!("/scim/v2{path}"),
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/scim+json"),
            ],
            &body.map(|b| b.to_string()).unwrap_or_default(),
        )
    }
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&after[..n]);
        rest = &after[n + 2..];
    }
    out
}

/// The CSRF token in a page's forms.
fn csrf_of(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token")
        + 19;
    html[at..].split('"').next().unwrap().to_owned()
}

#[test]
fn without_a_session_every_page_redirects_to_login() {
    let r = rig(false);
    for path in [
        "/admin",
        "/admin/log",
        "/admin/review",
        "/admin/tokens",
        "/admin/nope",
    ] {
        let resp = r.get(path, "");
        assert_eq!(resp.status, 303, "{path}");
        assert_eq!(resp.header("location"), Some("/admin/login"), "{path}");
    }
    let resp = r.post("/admin/tokens", "", &[("tenant", "contoso"), ("csrf", "x")]);
    assert_eq!(
        (resp.status, resp.header("location")),
        (303, Some("/admin/login"))
    );
    // A forged or expired cookie is no session either.
    let resp = r.get("/admin", "scimkit_admin=forged");
    assert_eq!(resp.status, 303);
    let login = r.get("/admin/login", "");
    assert_eq!(login.status, 200);
    assert!(login.body.contains("type=\"password\""));
    assert!(
        login
            .header("content-security-policy")
            .unwrap()
            .contains("default-src 'none'")
    );
    assert_eq!(login.header("x-frame-options"), Some("DENY"));
}

#[test]
fn a_wrong_password_is_401_and_opens_no_session() {
    let r = rig(false);
    let resp = r.post("/admin/login", "", &[("password", "wrong password!")]);
    assert_eq!(resp.status, 401);
    assert!(resp.header("set-cookie").is_none());
    assert!(resp.body.contains("Wrong password."));
    let resp = r.post("/admin/login", "", &[]);
    assert_eq!(resp.status, 401);
    assert!(resp.header("set-cookie").is_none());
}

#[test]
fn login_sets_a_strict_http_only_cookie_and_logout_ends_the_session() {
    let r = rig(false);
    let resp = r.post("/admin/login", "", &[("password", PASSWORD)]);
    let set = resp.header("set-cookie").unwrap();
    assert!(set.starts_with("scimkit_admin="), "{set}");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    assert!(!set.contains("Secure"), "{set}");
    let (cookie, csrf) = r.login();
    let out = r.post("/admin/logout", &cookie, &[("csrf", &csrf)]);
    assert_eq!(out.status, 303);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(r.get("/admin", &cookie).status, 303);
}

#[test]
fn with_tls_the_cookie_is_secure_and_host_prefixed() {
    let r = rig(true);
    let resp = r.post("/admin/login", "", &[("password", PASSWORD)]);
    let set = resp.header("set-cookie").unwrap();
    assert!(set.starts_with("__Host-scimkit_admin="), "{set}");
    assert!(set.contains("; Secure"), "{set}");
}

#[test]
fn posts_need_this_sessions_csrf_token() {
    let r = rig(false);
    let (cookie, csrf) = r.login();
    let (_other_cookie, other_csrf) = r.login();
    assert_ne!(csrf, other_csrf);
    for form in [
        vec![("name", "fabrikam")],
        vec![("name", "fabrikam"), ("csrf", "")],
        vec![("name", "fabrikam"), ("csrf", other_csrf.as_str())],
    ] {
        let resp = r.post("/admin/tenants", &cookie, &form);
        assert_eq!(resp.status, 403, "{form:?}");
        assert!(resp.body.contains("CSRF"));
    }
    assert!(!r.admin.tenant_exists("fabrikam").unwrap());
    let ok = r.post(
        "/admin/tenants",
        &cookie,
        &[("name", "fabrikam"), ("csrf", &csrf)],
    );
    assert_eq!(
        (ok.status, ok.header("location")),
        (303, Some("/admin/tokens?done=tenant"))
    );
    assert!(r.admin.tenant_exists("fabrikam").unwrap());
}

#[test]
fn a_new_password_ends_open_sessions() {
    let r = rig(false);
    let (cookie, _) = r.login();
    r.admin
        .set_admin_password_hash(&scimkit::auth::hash_password("another long password").unwrap())
        .unwrap();
    assert_eq!(r.get("/admin", &cookie).status, 303);
}

#[test]
fn scim_tokens_and_admin_sessions_do_not_cross() {
    let r = rig(false);
    // A SCIM bearer token opens no admin page.
    let auth = format!("Bearer {}", r.token);
    let resp = r.request("GET", "/admin", &[("Authorization", &auth)], "");
    assert_eq!(resp.status, 303);
    let resp = r.request(
        "POST",
        "/admin/login",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        &format!("password={}", r.token),
    );
    assert_eq!(resp.status, 401);
    // An admin session authenticates no SCIM request.
    let (cookie, _) = r.login();
    let resp = r.request("GET", "/scim/v2/Users", &[("Cookie", &cookie)], "");
    assert_eq!(resp.status, 401);
}

#[test]
fn review_queue_approve_and_restore() {
    let r = rig(false);
    let mk = |name: &str| {
        let resp = r.scim(
            &r.token,
            "POST",
            "/Users",
            Some(json!({"userName": name, "displayName": "<script>alert(1)</script>"})),
        );
        assert_eq!(resp.status, 201, "{}", resp.body);
        resp.json()["id"].as_str().unwrap().to_owned()
    };
    let (alice, bob) = (mk("alice@contoso.com"), mk("bob@contoso.com"));
    for id in [&alice, &bob] {
        assert_eq!(
            r.scim(&r.token, "DELETE", &format!("/Users/{id}"), None)
                .status,
            204
        );
        assert_eq!(
            r.scim(&r.token, "GET", &format!("/Users/{id}"), None)
                .status,
            404
        );
    }
    let (cookie, csrf) = r.login();
    let page = r.get("/admin/review", &cookie);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("alice@contoso.com") && page.body.contains("bob@contoso.com"));
    // Every value is HTML-escaped.
    assert!(!page.body.contains("<script>"));
    assert!(page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));

    let approve = format!("/admin/review/contoso/{alice}/approve");
    assert_eq!(r.post(&approve, &cookie, &[]).status, 403);
    let resp = r.post(&approve, &cookie, &[("csrf", &csrf)]);
    assert_eq!(
        (resp.status, resp.header("location")),
        (303, Some("/admin/review?done=approved"))
    );
    let resp = r.post(
        &format!("/admin/review/contoso/{bob}/restore"),
        &cookie,
        &[("csrf", &csrf)],
    );
    assert_eq!(resp.status, 303);
    let page = r.get("/admin/review?done=approved", &cookie);
    assert!(!page.body.contains("alice@contoso.com") && !page.body.contains("bob@contoso.com"));
    assert!(page.body.contains("Deletion approved"));
    let back = r.scim(&r.token, "GET", &format!("/Users/{bob}"), None);
    assert_eq!((back.status, &back.json()["active"]), (200, &json!(true)));
    // Approving again: the user is gone.
    assert_eq!(r.post(&approve, &cookie, &[("csrf", &csrf)]).status, 404);

    // Alice's history: created, deleted (queued), approved by the admin.
    let page = r.get(&format!("/admin/tenants/contoso/users/{alice}"), &cookie);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("approve_deletion"), "{}", page.body);
    assert!(page.body.contains("DELETE /Users/"));
    let users = r.get("/admin/tenants/contoso/users?q=bob", &cookie);
    assert!(users.body.contains("bob@contoso.com") && !users.body.contains("alice@"));
}

#[test]
fn tokens_are_created_shown_once_and_revoked() {
    let r = rig(false);
    let (cookie, csrf) = r.login();
    let resp = r.post(
        "/admin/tokens",
        &cookie,
        &[
            ("tenant", "contoso"),
            ("label", "Entra <prod>"),
            ("csrf", &csrf),
        ],
    );
    assert_eq!(resp.status, 200);
    let at = resp.body.find("id=\"token-secret\">").unwrap() + 18;
    let secret = resp.body[at..].split('<').next().unwrap().to_owned();
    assert!(secret.starts_with("scimkit_"), "{secret}");
    assert!(resp.body.contains("Entra &lt;prod&gt;"));
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    // Never shown again.
    assert!(!r.get("/admin/tokens", &cookie).body.contains(&secret));
    assert_eq!(r.scim(&secret, "GET", "/Users", None).status, 200);

    let id = scimkit::auth::token_id(&secret);
    let resp = r.post(
        &format!("/admin/tokens/{id}/revoke"),
        &cookie,
        &[("csrf", &csrf)],
    );
    assert_eq!(
        (resp.status, resp.header("location")),
        (303, Some("/admin/tokens?done=revoked"))
    );
    let denied = r.scim(&secret, "GET", "/Users", None);
    assert_eq!(denied.status, 401);
    // The 401 is in the log, attributed to the revoked token and its tenant.
    let entries = r
        .log
        .current()
        .query(&LogQuery {
            tenant: Some("contoso".into()),
            ..Default::default()
        })
        .unwrap();
    let e = entries
        .iter()
        .find(|e| e.status == 401)
        .expect("the 401 is logged");
    assert_eq!(
        (e.token_id.as_str(), e.operation.as_str()),
        (id.as_str(), "auth")
    );
    let page = r.get("/admin/log?tenant=contoso&outcome=failure", &cookie);
    assert!(page.body.contains("token revoked"), "{}", page.body);
    assert_eq!(
        r.post("/admin/tokens/ffffffff/revoke", &cookie, &[("csrf", &csrf)])
            .status,
        404
    );
}

#[test]
fn policies_are_edited_and_apply_to_the_next_request() {
    let r = rig(false);
    let kept = r.scim(
        &r.token,
        "POST",
        "/Users",
        Some(json!({"userName": "kept@contoso.com"})),
    );
    let kept = kept.json()["id"].as_str().unwrap().to_owned();
    let (cookie, csrf) = r.login();
    let page = r.get("/admin/tenants/contoso", &cookie);
    assert!(
        page.body.contains("<option value=\"review\" selected>"),
        "{}",
        page.body
    );
    let save = |form: &[(&str, &str)]| {
        let mut f = form.to_vec();
        f.push(("csrf", &csrf));
        r.post("/admin/tenants/contoso/policies", &cookie, &f)
    };
    let resp = save(&[
        ("deletion", "soft"),
        ("groups", "refuse"),
        ("link_existing", "username"),
        ("rename_on_deactivate", ""),
    ]);
    assert_eq!(resp.status, 303);
    let (p, origin) = r.policies.load("contoso").unwrap();
    assert_eq!(origin, crate::policies::PolicyOrigin::Admin);
    assert!(!p.enabled, "an unchecked box is off");
    assert_eq!(p.groups, scimkit::GroupPolicy::Refuse);
    // Disabled: every SCIM request is 403, nothing changes, nothing is deleted.
    assert_eq!(r.scim(&r.token, "GET", "/Users", None).status, 403);
    assert_eq!(
        r.scim(&r.token, "DELETE", &format!("/Users/{kept}"), None)
            .status,
        403
    );
    let resp = save(&[
        ("enabled", "on"),
        ("deletion", "hard"),
        ("groups", "refuse"),
        ("link_existing", "off"),
    ]);
    assert_eq!(resp.status, 303);
    assert_eq!(r.scim(&r.token, "GET", "/Groups", None).status, 403);
    assert_eq!(r.scim(&r.token, "GET", "/Users", None).status, 200);
    assert_eq!(
        r.scim(&r.token, "GET", &format!("/Users/{kept}"), None)
            .status,
        200
    );
    // Bad values are explained, nothing saved.
    let resp = save(&[
        ("enabled", "on"),
        ("deletion", "never"),
        ("groups", "full"),
        ("link_existing", "off"),
    ]);
    assert_eq!(resp.status, 400);
    assert!(resp.body.contains("deletion must be"));
    assert_eq!(
        r.policies.load("contoso").unwrap().0.deletion,
        DeletionPolicy::Hard
    );
    assert_eq!(r.get("/admin/tenants/nobody", &cookie).status, 404);
}

#[test]
fn the_log_page_filters_pages_and_exports() {
    let r = rig(false);
    for i in 0..60 {
        let resp = r.scim(
            &r.token,
            "POST",
            "/Users",
            Some(json!({"userName": format!("user{i}@contoso.com")})),
        );
        assert_eq!(resp.status, 201);
    }
    let dup = r.scim(
        &r.token,
        "POST",
        "/Users",
        Some(json!({"userName": "user1@contoso.com"})),
    );
    assert_eq!(dup.status, 409);
    assert_eq!(r.scim("wrong", "GET", "/Users", None).status, 401);
    let (cookie, _) = r.login();
    let page = r.get("/admin/log", &cookie);
    assert!(
        page.body.contains("62 entries · page 1 of 2"),
        "{}",
        page.body
    );
    let page2 = r.get("/admin/log?page=2", &cookie);
    assert!(page2.body.contains("page 2 of 2"));
    let failures = r.get("/admin/log?tenant=contoso&outcome=failure", &cookie);
    assert!(failures.body.contains("1 entries"), "{}", failures.body);
    assert!(failures.body.contains("uniqueness"));
    let user = r.get("/admin/log?user=USER7%40contoso.com", &cookie);
    assert!(user.body.contains("1 entries"));
    let unknown = r.get("/admin/log?tenant=-", &cookie);
    assert!(unknown.body.contains("1 entries") && unknown.body.contains("(unknown token)"));
    let bad = r.get("/admin/log?since=yesterday", &cookie);
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("invalid time"));

    let export = r.get("/admin/log/export?outcome=success&since=1h", &cookie);
    assert_eq!(export.status, 200);
    assert_eq!(export.header("content-type"), Some("application/x-ndjson"));
    assert!(
        export
            .header("content-disposition")
            .unwrap()
            .starts_with("attachment;")
    );
    let lines: Vec<Value> = export
        .body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 60);
    assert_eq!(lines[0]["name"], "user0@contoso.com");
    assert!(!export.body.contains(&r.token));

    let overview = r.get("/admin", &cookie);
    assert!(overview.body.contains("<svg"), "a chart per tenant");
    assert!(overview.body.contains("61 requests"), "{}", overview.body);
    assert!(overview.body.contains("60 users"));
    assert!(
        r.get("/admin?by=hour", &cookie)
            .body
            .contains("requests per hour")
    );
}

#[test]
fn groups_are_listed_with_their_history() {
    let r = rig(false);
    let g = r.scim(
        &r.token,
        "POST",
        "/Groups",
        Some(json!({"displayName": "Finance & <Ops>"})),
    );
    assert_eq!(g.status, 201, "{}", g.body);
    let id = g.json()["id"].as_str().unwrap().to_owned();
    let (cookie, _) = r.login();
    let list = r.get("/admin/tenants/contoso/groups", &cookie);
    assert_eq!(list.status, 200);
    assert!(
        list.body.contains("Finance &amp; &lt;Ops&gt;"),
        "{}",
        list.body
    );
    let one = r.get(&format!("/admin/tenants/contoso/groups/{id}"), &cookie);
    assert_eq!(one.status, 200);
    assert!(one.body.contains("POST /Groups"));
    assert_eq!(r.get("/admin/tenants/contoso/widgets", &cookie).status, 404);
    let gone = r.get("/admin/tenants/contoso/users/no-such-id", &cookie);
    assert!(gone.body.contains("Not found"));
}
