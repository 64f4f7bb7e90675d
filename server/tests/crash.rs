//! Crash safety of the real server on SQLite: SIGKILL `scimkit serve` in the
//! middle of a write load, 20 times; after every restart each acknowledged
//! create and PATCH is present, no PATCH is half-applied, and at the end
//! `PRAGMA integrity_check` is clean.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::Start;
use serde_json::{Value, json};

/// One request; `None` when the connection breaks (the server was killed).
fn try_call(
    addr: SocketAddr,
    token: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Option<(u16, Value)> {
    let mut tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).ok()?;
    tcp.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let body = body.map(Value::to_string).unwrap_or_default();
    let head = format!(
        "{method} /scim/v2{path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAuthorization: Bearer {token}\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    tcp.write_all(head.as_bytes()).ok()?;
    tcp.write_all(body.as_bytes()).ok()?;
    let mut raw = Vec::new();
    tcp.read_to_end(&mut raw).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status: u16 = head.split(' ').nth(1)?.parse().ok()?;
    // Only a complete response counts as an acknowledgement.
    let len: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().to_owned())
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if body.len() < len {
        return None;
    }
    let v = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(body).ok()?
    };
    Some((status, v))
}

#[derive(Default)]
struct Acked {
    /// (id, patch value or None if only the create was acknowledged)
    users: Vec<(String, Option<String>)>,
}

#[test]
fn sigkill_during_writes_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("scim.db");
    let mut server = Start::new(&db).spawn();
    let token = server.banner_token();
    let mut all: Vec<(String, Option<String>)> = Vec::new();
    for round in 0..20 {
        let addr = server.addr;
        let acked = Arc::new(Mutex::new(Acked::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..4)
            .map(|t| {
                let (acked, stop, token) = (acked.clone(), stop.clone(), token.clone());
                std::thread::spawn(move || {
                    for i in 0..100_000 {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let user = json!({"userName": format!("r{round}-t{t}-{i}@crash.example")});
                        let Some((201, v)) = try_call(addr, &token, "POST", "/Users", Some(&user)) else { break };
                        let id = v["id"].as_str().unwrap().to_owned();
                        let slot = {
                            let mut a = acked.lock().unwrap();
                            a.users.push((id.clone(), None));
                            a.users.len() - 1
                        };
                        let mark = format!("p{round}-{t}-{i}");
                        let patch = json!({"Operations": [
                            {"op": "Replace", "path": "title", "value": mark},
                            {"op": "Replace", "path": "nickName", "value": mark},
                            {"op": "Add", "path": "emails[type eq \"work\"].value", "value": format!("{mark}@crash.example")}]});
                        let Some((200, _)) = try_call(addr, &token, "PATCH", &format!("/Users/{id}"), Some(&patch)) else { break };
                        acked.lock().unwrap().users[slot].1 = Some(mark);
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(150 + (round * 53 % 300)));
        let killed = std::process::Command::new("kill")
            .args(["-9", &server.pid().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        stop.store(true, Ordering::Relaxed);
        for w in writers {
            w.join().unwrap();
        }
        server.wait_exit();
        server = Start::new(&db).spawn();
        let acked = std::mem::take(&mut acked.lock().unwrap().users);
        assert!(
            !acked.is_empty(),
            "round {round}: no write was acknowledged before the kill"
        );
        all.extend(acked);
        // Every acknowledged write of every round so far is there, whole.
        let client_addr = server.addr;
        for (id, mark) in &all {
            let (status, u) = try_call(client_addr, &token, "GET", &format!("/Users/{id}"), None)
                .expect("GET after restart");
            assert_eq!(status, 200, "round {round}: acknowledged user {id} lost");
            let (title, nick) = (u.get("title").cloned(), u.get("nickName").cloned());
            assert_eq!(
                title, nick,
                "round {round}: half-applied PATCH on {id}: {u}"
            );
            if let Some(mark) = mark {
                assert_eq!(
                    u["title"],
                    mark.as_str(),
                    "round {round}: acknowledged PATCH on {id} lost"
                );
                assert_eq!(u["emails"][0]["value"], format!("{mark}@crash.example"));
            }
        }
        eprintln!(
            "round {round}: {} acknowledged writes so far, all present",
            all.len()
        );
    }
    assert!(server.stop().success());
    let store = scimkit_sqlite::SqliteStore::open(&db).unwrap();
    let problems = store.integrity_check().unwrap();
    assert!(
        problems.is_empty() || problems == ["ok"],
        "integrity_check: {problems:?}"
    );
}
