//! Soak: mixed Entra load on the real server for a while (15 s by default; 10
//! minutes with `SCIMKIT_LONG=1`, or `SCIMKIT_SOAK_SECS`): no error, RSS flat.
//! Latency per interval is printed (never asserted: timing is the benchmark's
//! job, not a test's).

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::Start;
use serde_json::json;

fn rss_kib(pid: i32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

#[test]
fn mixed_entra_load_keeps_rss_flat_and_errors_at_zero() {
    let secs: u64 = std::env::var("SCIMKIT_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if std::env::var("SCIMKIT_LONG").is_ok_and(|v| v == "1") {
            600
        } else {
            15
        });
    let dir = tempfile::tempdir().unwrap();
    let server = Start::new(&dir.path().join("scim.db")).spawn();
    let token = server.banner_token();
    let pid = server.pid();
    let errors = Arc::new(AtomicU64::new(0));
    let requests = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(Mutex::new(Vec::<u128>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    // A working set of users that is created once and then updated: memory must
    // not grow with the number of requests.
    let c = server.client(&token);
    let (_, g) = c.call("POST", "/Groups", Some(&json!({"displayName": "soak"})));
    let gid = g["id"].as_str().unwrap().to_owned();
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let (c, errors, requests, latencies, stop, gid) =
                (server.client(&token), errors.clone(), requests.clone(), latencies.clone(), stop.clone(), gid.clone());
            std::thread::spawn(move || {
                let mut ids = Vec::new();
                for i in 0..50 {
                    let (st, u) = c.call("POST", "/Users", Some(&json!({"userName": format!("soak-{w}-{i}@contoso.com"), "active": true})));
                    if st != 201 {
                        errors.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    ids.push(u["id"].as_str().unwrap().to_owned());
                }
                let mut k = 0usize;
                // Bounded: at most one request per millisecond of the soak per worker.
                while !stop.load(Ordering::Relaxed) && k < 100_000_000 {
                    k += 1;
                    let id = &ids[k % ids.len()];
                    let t = Instant::now();
                    let st = match k % 5 {
                        0 => c.call("GET", &format!("/Users?filter={}", common::q(&format!("userName eq \"soak-{w}-{}@contoso.com\"", k % 50))), None).0,
                        1 => c.call("PATCH", &format!("/Users/{id}"), Some(&json!({"Operations": [{"op": "Replace", "path": "active", "value": if k % 2 == 0 { "False" } else { "True" }}]}))).0,
                        2 => c.call("GET", &format!("/Users/{id}"), None).0,
                        3 => c.call("PATCH", &format!("/Groups/{gid}"), Some(&json!({"Operations": [{"op": if k % 2 == 0 { "Add" } else { "Remove" }, "path": "members", "value": [{"value": id}]}]}))).0,
                        _ => c.call("GET", &format!("/Groups?excludedAttributes=members&filter={}", common::q("displayName eq \"soak\"")), None).0,
                    };
                    latencies.lock().unwrap().push(t.elapsed().as_micros());
                    requests.fetch_add(1, Ordering::Relaxed);
                    if !(200..300).contains(&st) {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    let start = Instant::now();
    let mut samples = Vec::new();
    let interval = Duration::from_secs((secs / 10).max(1));
    while start.elapsed() < Duration::from_secs(secs) {
        std::thread::sleep(interval);
        let mut l = std::mem::take(&mut *latencies.lock().unwrap());
        l.sort_unstable();
        let p50 = l.get(l.len() / 2).copied().unwrap_or(0);
        let p99 = l.get(l.len() * 99 / 100).copied().unwrap_or(0);
        let rss = rss_kib(pid);
        samples.push(rss);
        println!(
            "soak t={:>4}s requests={} errors={} rss={rss} KiB p50={p50} µs p99={p99} µs",
            start.elapsed().as_secs(),
            requests.load(Ordering::Relaxed),
            errors.load(Ordering::Relaxed)
        );
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    assert_eq!(
        errors.load(Ordering::Relaxed),
        0,
        "requests failed during the soak"
    );
    assert!(requests.load(Ordering::Relaxed) > 0);
    // After warm-up (the first fifth), RSS stays within 25% + 8 MiB of its level.
    let warm = samples[samples.len() / 5];
    let last = *samples.last().unwrap();
    assert!(
        last <= warm + warm / 4 + 8 * 1024,
        "RSS grew from {warm} KiB to {last} KiB"
    );
    assert!(server.stop().success());
}
