//! The golden corpus harness: replays the JSON exchanges in `core/tests/data/`
//! (RFC examples and IdP recordings) through any transport, so the core, the
//! tower adapter and the bindings all answer the same corpus.
//!
//! A corpus file is `{"description": …, "steps": [step, …]}`; each step is
//!
//! ```json
//! {"method": "POST", "path": "/Users?x=y", "headers": {"If-Match": "W/\"1\""},
//!  "auth": true, "request": {…} | "raw": "text body",
//!  "status": 201, "response": {…}, "response_headers": {"ETag": "W/\"1\""},
//!  "absent": ["password", "meta.version"], "capture": {"uid": "id"}}
//! ```
//!
//! `path` is relative to the base path `/scim/v2`; `{name}` in paths, headers and
//! request bodies is replaced by a captured value. `response` matches as a subset:
//! objects need the listed keys, arrays need the same length and element-wise
//! matches, `"$any"` matches anything present, and strings compare exactly.
//! `capture` takes a dotted path into the response body. Every error must be an
//! RFC 7644 §3.12 body and every body `application/scim+json`.
//!
//! The server under test must serve `/scim/v2` with the bearer token [`TOKEN`]
//! and the base URL [`BASE_URL`], on an empty store per file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use serde_json::Value;

/// The bearer token the corpus sends.
pub const TOKEN: &str = "corpus-token";
/// The base URL the corpus expects in locations.
pub const BASE_URL: &str = "https://example.com/scim/v2";

/// The directory of the corpus shipped with the core's tests.
pub fn default_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// Replay every file under `dir`; `new_handler` makes a fresh server (empty
/// store) per file. Returns (files, steps) or every failure, one per file.
pub fn replay<H>(dir: &Path, new_handler: impl Fn() -> H) -> Result<(usize, usize), Vec<String>>
where
    H: Fn(http::Request<Bytes>) -> http::Response<Bytes>,
{
    let mut all = Vec::new();
    files(dir, &mut all);
    let mut failures = Vec::new();
    let mut steps = 0;
    for f in &all {
        let handler = new_handler();
        match run_file(f, &handler) {
            Ok(n) => steps += n,
            Err(e) => failures.push(format!(
                "{}: {e}",
                f.strip_prefix(dir).unwrap_or(f).display()
            )),
        }
    }
    if failures.is_empty() {
        Ok((all.len(), steps))
    } else {
        Err(failures)
    }
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|e| e == "json") {
            out.push(p);
        }
    }
}

fn subst(s: &str, vars: &HashMap<String, String>) -> String {
    let mut out = s.to_owned();
    for (k, v) in vars {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

fn subst_value(v: &Value, vars: &HashMap<String, String>) -> Value {
    match v {
        Value::String(s) => Value::String(subst(s, vars)),
        Value::Array(a) => Value::Array(a.iter().map(|x| subst_value(x, vars)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (subst(k, vars), subst_value(x, vars)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Subset match; returns the first mismatch as a path.
fn matches(expected: &Value, actual: &Value, at: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::String(s), _) if s == "$any" => Ok(()),
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                let av = a.get(k).ok_or_else(|| format!("{at}.{k}: missing"))?;
                matches(ev, av, &format!("{at}.{k}"))?;
            }
            Ok(())
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                return Err(format!(
                    "{at}: expected {} elements, got {}",
                    e.len(),
                    a.len()
                ));
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                matches(ev, av, &format!("{at}[{i}]"))?;
            }
            Ok(())
        }
        (e, a) if e == a => Ok(()),
        (e, a) => Err(format!("{at}: expected {e}, got {a}")),
    }
}

fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(v, |cur, seg| match seg.parse::<usize>() {
            Ok(i) => cur.get(i),
            Err(_) => cur.get(seg),
        })
}

fn run_file(
    path: &Path,
    handle: &dyn Fn(http::Request<Bytes>) -> http::Response<Bytes>,
) -> Result<usize, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| format!("bad corpus JSON: {e}"))?;
    let mut vars: HashMap<String, String> = HashMap::new();
    let steps = doc["steps"].as_array().ok_or("no steps")?;
    for (i, step) in steps.iter().enumerate() {
        let ctx = |m: String| format!("step {} ({} {}): {m}", i + 1, step["method"], step["path"]);
        let method = step["method"]
            .as_str()
            .ok_or_else(|| ctx("no method".into()))?;
        let path = subst(
            step["path"].as_str().ok_or_else(|| ctx("no path".into()))?,
            &vars,
        );
        let mut req = http::Request::builder()
            .method(method)
            .uri(format!("/scim/v2{path}"));
        if step.get("auth") != Some(&Value::Bool(false)) {
            req = req.header("authorization", format!("Bearer {TOKEN}"));
        }
        if let Some(h) = step.get("headers").and_then(Value::as_object) {
            for (k, v) in h {
                req = req.header(k.as_str(), subst(v.as_str().unwrap_or(""), &vars));
            }
        }
        let body = if let Some(raw) = step.get("raw").and_then(Value::as_str) {
            Bytes::from(raw.to_owned())
        } else if let Some(r) = step.get("request") {
            Bytes::from(serde_json::to_vec(&subst_value(r, &vars)).unwrap_or_default())
        } else {
            Bytes::new()
        };
        let resp = handle(req.body(body).map_err(|e| ctx(e.to_string()))?);
        let status = resp.status().as_u16();
        let body: Value = if resp.body().is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(resp.body())
                .map_err(|e| ctx(format!("response is not JSON: {e}")))?
        };
        if let Some(c) = step.get("capture").and_then(Value::as_object) {
            for (name, p) in c {
                let v = lookup(&body, p.as_str().unwrap_or(""))
                    .and_then(Value::as_str)
                    .ok_or_else(|| ctx(format!("cannot capture {p} from {body}")))?;
                vars.insert(name.clone(), v.to_owned());
            }
        }
        let want = step["status"]
            .as_u64()
            .ok_or_else(|| ctx("no status".into()))? as u16;
        if status != want {
            return Err(ctx(format!(
                "status {status}, expected {want}; body {body}"
            )));
        }
        if status >= 400 {
            // Every error is an RFC 7644 §3.12 body.
            matches(
                &serde_json::json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": status.to_string(), "detail": "$any"}),
                &body,
                "$",
            )
            .map_err(|m| ctx(format!("not a SCIM error: {m}")))?;
        }
        if !resp.body().is_empty() {
            let ct = resp
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if ct != "application/scim+json" {
                return Err(ctx(format!("content-type {ct:?}")));
            }
        }
        if let Some(expected) = step.get("response") {
            matches(&subst_value(expected, &vars), &body, "$")
                .map_err(|m| ctx(format!("{m}\nbody: {body}")))?;
        }
        if let Some(h) = step.get("response_headers").and_then(Value::as_object) {
            for (k, v) in h {
                let got = resp
                    .headers()
                    .get(k.as_str())
                    .and_then(|x| x.to_str().ok())
                    .unwrap_or("<absent>");
                let want = subst(v.as_str().unwrap_or(""), &vars);
                if want != "$any" && got != want {
                    return Err(ctx(format!("header {k}: {got:?}, expected {want:?}")));
                }
                if want == "$any" && got == "<absent>" {
                    return Err(ctx(format!("header {k} missing")));
                }
            }
        }
        if let Some(absent) = step.get("absent").and_then(Value::as_array) {
            for a in absent.iter().filter_map(Value::as_str) {
                if lookup(&body, a).is_some() {
                    return Err(ctx(format!("{a} must be absent; body {body}")));
                }
            }
        }
    }
    Ok(steps.len())
}
