//! `/Bulk` (RFC 7644 §3.7): several operations in one request, with `bulkId`
//! references between them and `failOnErrors`.

use std::collections::HashMap;

use http::Method;
use http::header::{self, HeaderMap, HeaderValue};
use serde_json::{Map, Value, json};

use crate::auth::Principal;
use crate::error::{Result, ScimError};
use crate::protocol::{Call, Reply};
use crate::schema::{BULK_REQUEST_SCHEMA, BULK_RESPONSE_SCHEMA};
use crate::server::ScimServer;
use crate::store::Ctx;

struct BulkOp {
    index: usize,
    method: Method,
    bulk_id: Option<String>,
    path: String,
    data: Option<Value>,
    version: Option<String>,
}

fn parse_op(i: usize, v: &Value) -> Result<BulkOp> {
    let ctx = |e: ScimError| e.context(&format!("bulk operation {}", i + 1));
    let obj = v.as_object().ok_or_else(|| {
        ctx(ScimError::invalid_syntax(
            "an operation must be a JSON object",
        ))
    })?;
    let get = |k: &str| {
        obj.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(k))
            .map(|(_, v)| v)
    };
    let method = match get("method")
        .and_then(Value::as_str)
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        Some("POST") => Method::POST,
        Some("PUT") => Method::PUT,
        Some("PATCH") => Method::PATCH,
        Some("DELETE") => Method::DELETE,
        other => {
            return Err(ctx(ScimError::invalid_syntax(format!(
                "method must be POST, PUT, PATCH or DELETE, got {other:?}"
            ))));
        }
    };
    let path = get("path")
        .and_then(Value::as_str)
        .filter(|p| p.starts_with('/'))
        .ok_or_else(|| {
            ctx(ScimError::invalid_syntax(
                "path must be a string starting with '/'",
            ))
        })?
        .to_owned();
    let bulk_id = get("bulkId").and_then(Value::as_str).map(str::to_owned);
    if method == Method::POST && bulk_id.as_deref().is_none_or(str::is_empty) {
        return Err(ctx(ScimError::invalid_syntax(
            "a POST operation needs a bulkId",
        )));
    }
    let data = get("data").cloned();
    if matches!(method, Method::POST | Method::PUT | Method::PATCH) && data.is_none() {
        return Err(ctx(ScimError::invalid_syntax("this operation needs data")));
    }
    Ok(BulkOp {
        index: i,
        method,
        bulk_id,
        path,
        data,
        version: get("version").and_then(Value::as_str).map(str::to_owned),
    })
}

/// Replace `bulkId:x` references; `Err(x)` names the first unresolved one.
fn substitute(v: &Value, ids: &HashMap<String, String>) -> std::result::Result<Value, String> {
    Ok(match v {
        Value::String(s) => match s.strip_prefix("bulkId:") {
            Some(r) => Value::String(ids.get(r).cloned().ok_or_else(|| r.to_owned())?),
            None => v.clone(),
        },
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| substitute(x, ids))
                .collect::<std::result::Result<_, _>>()?,
        ),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| Ok((k.clone(), substitute(x, ids)?)))
                .collect::<std::result::Result<Map<_, _>, String>>()?,
        ),
        other => other.clone(),
    })
}

fn substitute_path(
    path: &str,
    ids: &HashMap<String, String>,
) -> std::result::Result<String, String> {
    let mut out = Vec::new();
    for seg in path.split('/') {
        match seg.strip_prefix("bulkId:") {
            Some(r) => out.push(ids.get(r).cloned().ok_or_else(|| r.to_owned())?),
            None => out.push(seg.to_owned()),
        }
    }
    Ok(out.join("/"))
}

impl ScimServer {
    pub(crate) fn bulk(&self, call: &Call<'_>, ctx: &Ctx, principal: &Principal) -> Result<Reply> {
        let cfg = &self.inner.config;
        if call.body.len() > cfg.max_body_size {
            return Err(ScimError::payload_too_large(cfg.max_body_size));
        }
        let body: Value = serde_json::from_slice(call.body).map_err(|e| {
            ScimError::invalid_syntax(format!("the request body is not valid JSON: {e}"))
        })?;
        let obj = body
            .as_object()
            .ok_or_else(|| ScimError::invalid_syntax("a BulkRequest must be a JSON object"))?;
        let get = |k: &str| {
            obj.iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(k))
                .map(|(_, v)| v)
        };
        if let Some(s) = get("schemas") {
            let ok = s.as_array().is_some_and(|a| {
                a.iter().any(|x| {
                    x.as_str()
                        .is_some_and(|x| x.eq_ignore_ascii_case(BULK_REQUEST_SCHEMA))
                })
            });
            if !ok {
                return Err(ScimError::invalid_value(format!(
                    "a BulkRequest's schemas must contain {BULK_REQUEST_SCHEMA}"
                )));
            }
        }
        let fail_on_errors = match get("failOnErrors") {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.as_u64().filter(|n| *n > 0).ok_or_else(|| {
                ScimError::invalid_value("failOnErrors must be a positive integer")
            })? as usize),
        };
        let ops = get("Operations").and_then(Value::as_array).ok_or_else(|| {
            ScimError::invalid_syntax("a BulkRequest needs an \"Operations\" array")
        })?;
        if ops.len() > cfg.bulk_max_operations {
            // RFC 7644 §3.7.4: too many operations is 413.
            return Err(ScimError::with_status(
                413,
                format!(
                    "a Bulk request may carry at most {} operations, this one has {}",
                    cfg.bulk_max_operations,
                    ops.len()
                ),
            ));
        }
        let mut pending: Vec<BulkOp> = ops
            .iter()
            .enumerate()
            .map(|(i, v)| parse_op(i, v))
            .collect::<Result<_>>()?;
        let mut ids: HashMap<String, String> = HashMap::new();
        let mut results: Vec<(usize, Value)> = Vec::new();
        let mut errors = 0usize;
        // Operations run in order; one whose bulkId references are not resolved yet
        // waits for a later pass. A pass that makes no progress ends the loop.
        'passes: for _ in 0..=ops.len() {
            if pending.is_empty() {
                break;
            }
            let mut waiting = Vec::new();
            let mut progressed = false;
            for op in std::mem::take(&mut pending) {
                let resolved = substitute_path(&op.path, &ids).and_then(|p| {
                    op.data
                        .as_ref()
                        .map(|d| substitute(d, &ids))
                        .transpose()
                        .map(|d| (p, d))
                });
                let (path, data) = match resolved {
                    Ok(x) => x,
                    Err(_) => {
                        waiting.push(op);
                        continue;
                    }
                };
                progressed = true;
                let result = self.bulk_one(call, ctx, principal, &op, &path, data.as_ref());
                let status: u16 = result["status"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(500);
                if status == 201 {
                    if let (Some(bid), Some(loc)) = (&op.bulk_id, result["location"].as_str()) {
                        if let Some(id) = loc.rsplit('/').next() {
                            ids.insert(bid.clone(), id.to_owned());
                        }
                    }
                }
                results.push((op.index, result));
                if status >= 400 {
                    errors += 1;
                    if fail_on_errors.is_some_and(|n| errors >= n) {
                        break 'passes;
                    }
                }
            }
            pending = waiting;
            if !progressed {
                break;
            }
        }
        if fail_on_errors.is_none_or(|n| errors < n) {
            for op in pending {
                let e = ScimError::conflict(format!(
                    "bulk operation {}: a bulkId reference cannot be resolved (unknown or circular)",
                    op.index + 1
                ));
                results.push((
                    op.index,
                    op_result(&op, None, None, e.status(), Some(e.to_json())),
                ));
            }
        }
        results.sort_by_key(|(i, _)| *i);
        Ok(Reply::from_json_body(
            200,
            json!({
                "schemas": [BULK_RESPONSE_SCHEMA],
                "Operations": results.into_iter().map(|(_, r)| r).collect::<Vec<_>>(),
            }),
        ))
    }

    fn bulk_one(
        &self,
        call: &Call<'_>,
        ctx: &Ctx,
        principal: &Principal,
        op: &BulkOp,
        path: &str,
        data: Option<&Value>,
    ) -> Value {
        let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let valid = match segs.as_slice() {
            [t] => {
                op.method == Method::POST
                    && (t.eq_ignore_ascii_case("Users") || t.eq_ignore_ascii_case("Groups"))
            }
            [t, _] => {
                op.method != Method::POST
                    && (t.eq_ignore_ascii_case("Users") || t.eq_ignore_ascii_case("Groups"))
            }
            _ => false,
        };
        if !valid {
            let e = ScimError::invalid_syntax(format!(
                "{} {path} is not a valid bulk operation",
                op.method
            ));
            return op_result(op, None, None, e.status(), Some(e.to_json()));
        }
        let mut headers = HeaderMap::new();
        if let Some(v) = op
            .version
            .as_deref()
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            headers.insert(header::IF_MATCH, v);
        }
        let body = data
            .map(|d| serde_json::to_vec(d).unwrap_or_default())
            .unwrap_or_default();
        let sub = Call {
            policies: call.policies.clone(),
            ignored: std::cell::Cell::new(false),
            method: op.method.clone(),
            path: path.to_owned(),
            query: HashMap::new(),
            headers: &headers,
            body: &body,
            base_url: call.base_url.clone(),
        };
        let reply = match self.dispatch(&sub, ctx, principal) {
            Ok(r) => r,
            Err(e) => Reply::from_error(&e),
        };
        let find = |name: &header::HeaderName| {
            reply
                .headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        let location = find(&header::LOCATION).or_else(|| {
            reply
                .body
                .as_ref()
                .and_then(|b| b["meta"]["location"].as_str())
                .map(str::to_owned)
        });
        let version = find(&header::ETAG);
        let error = (reply.status >= 400).then(|| reply.body.clone().unwrap_or(Value::Null));
        op_result(op, location, version, reply.status, error)
    }
}

fn op_result(
    op: &BulkOp,
    location: Option<String>,
    version: Option<String>,
    status: u16,
    response: Option<Value>,
) -> Value {
    let mut r = Map::new();
    r.insert(
        "method".into(),
        Value::String(op.method.as_str().to_owned()),
    );
    if let Some(b) = &op.bulk_id {
        r.insert("bulkId".into(), Value::String(b.clone()));
    }
    if let Some(v) = version {
        r.insert("version".into(), Value::String(v));
    }
    if let Some(l) = location {
        r.insert("location".into(), Value::String(l));
    }
    r.insert("status".into(), Value::String(status.to_string()));
    if let Some(resp) = response {
        r.insert("response".into(), resp);
    }
    Value::Object(r)
}
