//! Latency by store size and by group size, and memory per user: the store is
//! grown to each size (POSTs on every connection), then single requests are
//! timed one at a time on one connection, so the numbers are service times,
//! not queueing.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use bytes::Bytes;
use http::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::entra::{self, Dialect};
use crate::http::{Conn, Target, enc};
use crate::phase::{self, Bound, Lat, rand};
use crate::procfs;

/// Options of `loadgen scale`.
#[derive(Debug, Clone)]
pub(crate) struct ScaleOptions {
    pub(crate) name: String,
    pub(crate) pid: Option<u32>,
    pub(crate) sizes: Vec<usize>,
    pub(crate) group_sizes: Vec<usize>,
    pub(crate) concurrency: usize,
    pub(crate) samples: usize,
    pub(crate) write_limit: Duration,
}

/// Measurements at one store size.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SizePoint {
    pub(crate) users: usize,
    pub(crate) rss_kib: Option<u64>,
    pub(crate) labels: BTreeMap<String, Lat>,
}

/// Measurements at one group size.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct GroupPoint {
    pub(crate) members: usize,
    pub(crate) patch_add_50: Lat,
}

/// Everything one `loadgen scale` measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ScaleResult {
    pub(crate) server: String,
    pub(crate) sizes: Vec<SizePoint>,
    pub(crate) groups: Vec<GroupPoint>,
    /// RSS growth per user between the smallest and the largest size, bytes.
    pub(crate) rss_per_user_bytes: Option<f64>,
    /// Creates per second while growing the store.
    pub(crate) create_rps: f64,
    pub(crate) errors: Vec<String>,
    /// Measurements cut short by a time limit (not a failure).
    #[serde(default)]
    pub(crate) notes: Vec<String>,
    pub(crate) load_avg: (String, String),
}

fn body(v: &Value) -> Option<Bytes> {
    Some(Bytes::from(
        serde_json::to_vec(v).expect("invariant: JSON values serialise"),
    ))
}

/// Time `samples` calls of `f(conn, i)` on one connection under `label`.
async fn timed<F>(c: &mut Conn, label: &'static str, samples: usize, errors: &mut Vec<String>, f: F)
where
    F: AsyncFn(&mut Conn, usize) -> Result<(), String>,
{
    for i in 0..samples {
        if let Err(e) = f(c, i).await {
            errors.push(format!("{label}: {e}"));
            return;
        }
    }
}

/// Runs the scale measurements.
pub(crate) async fn run(target: &Target, o: &ScaleOptions) -> ScaleResult {
    let load_start = procfs::load_avg();
    let mut conns: Vec<Conn> = (0..o.concurrency).map(|_| Conn::new(target)).collect();
    let mut errors = Vec::new();
    let mut notes = Vec::new();
    let mut sizes = Vec::new();
    let extra = 20 * 50;
    let max = o.sizes.iter().copied().max().unwrap_or(0);
    let mut stops: Vec<usize> = o.sizes.clone();
    stops.sort_unstable();
    stops.push(max + extra);
    let ids: RefCell<Vec<Option<String>>> = RefCell::new(vec![None; max + extra]);
    let mut have = 0usize;
    let mut create_secs = 0.0;
    for (si, &size) in stops.iter().enumerate() {
        let from = have;
        let p = phase::run(
            "grow",
            &mut conns,
            Bound {
                ops: size - from,
                time: o.write_limit,
            },
            async |c: &mut Conn, i| {
                let k = from + i;
                let r = c
                    .send("POST", Method::POST, "/Users", body(&entra::user(k)))
                    .await?;
                r.expect("POST /Users", &[201])?;
                let v = r.json("POST /Users")?;
                let id = v["id"].as_str().ok_or("POST /Users: no id")?.to_owned();
                ids.borrow_mut()[k] = Some(id);
                Ok(())
            },
        )
        .await;
        create_secs += p.secs;
        if p.errors == 0 && p.ops as usize != size - from {
            notes.push(format!(
                "growing to {size} users stopped at the time limit ({} of {} created): larger sizes not measured",
                p.ops,
                size - from
            ));
            break;
        }
        if p.errors > 0 {
            errors.push(format!(
                "growing to {size} users: {} of {} created, {} wrong answers ({:?})",
                p.ops,
                size - from,
                p.errors,
                p.first_errors.first()
            ));
            break;
        }
        have = size;
        eprintln!("  {size} users ({:.0} creates/s)", p.rps);
        if si == stops.len() - 1 {
            break; // the extra users, for the group sizes
        }
        let ids_now = ids.borrow().clone();
        let id = |k: usize| ids_now[k].clone().unwrap_or_default();
        let c = &mut conns[0];
        c.hist.clear();
        let n = o.samples;
        timed(
            c,
            "filter userName eq",
            n,
            &mut errors,
            async |c: &mut Conn, i| {
                let k = (rand(i, 11) % size as u64) as usize;
                let pq = format!(
                    "/Users?filter={}",
                    enc(&format!("userName eq \"{}\"", entra::user_name(k)))
                );
                let r = c.send("filter userName eq", Method::GET, &pq, None).await?;
                r.expect("filter", &[200])?;
                let v = r.json("filter")?;
                if v["totalResults"].as_u64() != Some(1)
                    || v["Resources"][0]["id"].as_str() != Some(&id(k))
                {
                    return Err(format!("{pq}: wrong answer"));
                }
                Ok(())
            },
        )
        .await;
        timed(
            c,
            "GET /Users/{id}",
            n,
            &mut errors,
            async |c: &mut Conn, i| {
                let k = (rand(i, 12) % size as u64) as usize;
                let r = c
                    .send(
                        "GET /Users/{id}",
                        Method::GET,
                        &format!("/Users/{}", id(k)),
                        None,
                    )
                    .await?;
                r.expect("GET", &[200])
            },
        )
        .await;
        let pages = size.div_ceil(100);
        for (label, start) in [("page first", 1), ("page last", (pages - 1) * 100 + 1)] {
            timed(
                c,
                label,
                (n / 4).max(10),
                &mut errors,
                async |c: &mut Conn, _| {
                    let pq = format!("/Users?startIndex={start}&count=100");
                    let r = c.send(label, Method::GET, &pq, None).await?;
                    r.expect(label, &[200])?;
                    let v = r.json(label)?;
                    let want = 100.min(size - (start - 1));
                    if v["totalResults"].as_u64() != Some(size as u64)
                        || v["Resources"].as_array().map_or(0, Vec::len) != want
                    {
                        return Err(format!(
                            "{pq}: totalResults {} (expected {size}), expected {want} resources",
                            v["totalResults"]
                        ));
                    }
                    Ok(())
                },
            )
            .await;
        }
        let rss_kib = procfs::rss_kib(o.pid);
        let labels = c
            .hist
            .iter()
            .map(|(k, h)| ((*k).to_owned(), Lat::of(h)))
            .collect();
        sizes.push(SizePoint {
            users: size,
            rss_kib,
            labels,
        });
        if !errors.is_empty() {
            break;
        }
    }
    let rss_per_user_bytes = match (sizes.first(), sizes.last()) {
        (Some(a), Some(b)) if b.users > a.users => match (a.rss_kib, b.rss_kib) {
            (Some(x), Some(y)) => Some((y as f64 - x as f64) * 1024.0 / (b.users - a.users) as f64),
            _ => None,
        },
        _ => None,
    };
    let all: Vec<String> = ids.into_inner().into_iter().flatten().collect();

    // One group, filled 50 at a time; at each size the next 20 batches are
    // timed one at a time.
    let mut groups = Vec::new();
    if errors.is_empty() && notes.is_empty() {
        group_sizes(o, &mut conns, &all, &mut groups, &mut errors, &mut notes).await;
    }
    ScaleResult {
        server: o.name.clone(),
        sizes,
        groups,
        rss_per_user_bytes,
        notes,
        create_rps: if create_secs > 0.0 {
            have as f64 / create_secs
        } else {
            0.0
        },
        errors,
        load_avg: (load_start, procfs::load_avg()),
    }
}

async fn group_sizes(
    o: &ScaleOptions,
    conns: &mut [Conn],
    all: &[String],
    out: &mut Vec<GroupPoint>,
    errors: &mut Vec<String>,
    notes: &mut Vec<String>,
) {
    let r = match conns[0]
        .send(
            "POST group",
            Method::POST,
            "/Groups",
            body(&entra::group(9999)),
        )
        .await
    {
        Ok(r) => r,
        Err(e) => return errors.push(e),
    };
    let gid = match r
        .expect("POST /Groups", &[201])
        .and_then(|()| r.json("POST /Groups"))
    {
        Ok(v) => v["id"].as_str().unwrap_or_default().to_owned(),
        Err(e) => return errors.push(e),
    };
    let batch = |b: usize| -> Option<Bytes> {
        let chunk = &all[b * 50..((b + 1) * 50).min(all.len())];
        body(&entra::add_members(chunk, Dialect::Entra))
    };
    let path = format!("/Groups/{gid}");
    let mut sizes = o.group_sizes.clone();
    sizes.sort_unstable();
    let mut filled = 0usize; // batches sent
    for size in sizes {
        let target_batches = size / 50;
        if (target_batches + 20) * 50 > all.len() {
            errors.push(format!("group size {size}: not enough users"));
            break;
        }
        let from = filled;
        let p = phase::run(
            "fill",
            conns,
            Bound {
                ops: target_batches.saturating_sub(from),
                time: o.write_limit,
            },
            async |c: &mut Conn, i| {
                let r = c
                    .send("fill", Method::PATCH, &path, batch(from + i))
                    .await?;
                r.expect("PATCH Add 50", &[200, 204])
            },
        )
        .await;
        if p.errors > 0 {
            errors.push(format!(
                "filling the group to {size}: {:?}",
                p.first_errors.first()
            ));
            break;
        }
        if p.ops as usize != target_batches.saturating_sub(from) {
            notes.push(format!(
                "filling the group to {size} stopped at the time limit: larger groups not measured"
            ));
            filled = from + p.ops as usize;
            break;
        }
        filled = target_batches.max(from);
        let c = &mut conns[0];
        c.hist.clear();
        let first = filled;
        timed(c, "PATCH Add 50", 20, errors, async |c: &mut Conn, i| {
            let r = c
                .send("PATCH Add 50", Method::PATCH, &path, batch(first + i))
                .await?;
            r.expect("PATCH Add 50", &[200, 204])
        })
        .await;
        filled += 20;
        if let Some(h) = c.hist.get("PATCH Add 50") {
            out.push(GroupPoint {
                members: size,
                patch_add_50: Lat::of(h),
            });
        }
        eprintln!("  group of {size} members");
    }
    // No lost member.
    let expect: HashSet<&str> = all[..(filled * 50).min(all.len())]
        .iter()
        .map(String::as_str)
        .collect();
    match conns[0].send("verify", Method::GET, &path, None).await {
        Ok(r) => match r.json("GET group") {
            Ok(v) => {
                let got: HashSet<&str> = v["members"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|m| m["value"].as_str()).collect())
                    .unwrap_or_default();
                if got != expect {
                    errors.push(format!(
                        "group: {} members, expected {}",
                        got.len(),
                        expect.len()
                    ));
                }
            }
            Err(e) => errors.push(e),
        },
        Err(e) => errors.push(e),
    }
}
