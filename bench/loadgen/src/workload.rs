//! The Entra provisioning workload against one server: create (filter, then
//! POST), reads, PATCH, paging, groups and their membership, deletes; every
//! response checked.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use bytes::Bytes;
use http::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::entra::{self, Dialect};
use crate::http::{Conn, Target, enc};
use crate::phase::{self, Bound, PhaseResult, rand};
use crate::procfs;

/// Options of `loadgen run`.
#[derive(Debug, Clone)]
pub(crate) struct RunOptions {
    pub(crate) name: String,
    pub(crate) pid: Option<u32>,
    pub(crate) users: usize,
    pub(crate) concurrency: usize,
    /// Duration of each read phase.
    pub(crate) secs: f64,
    /// Time limit of each write phase.
    pub(crate) write_limit: Duration,
    /// Groups besides the all-users group.
    pub(crate) groups: usize,
    /// Members of each of those groups.
    pub(crate) group_members: usize,
    /// Groups created (and deleted) without members besides the filled ones:
    /// the group create and DELETE phases measure a rate, not a few requests.
    pub(crate) extra_groups: usize,
    /// Page size of the paging phase.
    pub(crate) page_size: usize,
    /// A server that must support every phase (scimkit, the limit server).
    pub(crate) strict: bool,
    /// Check every PATCHed attribute (off for the limit server, which only
    /// stores simple paths).
    pub(crate) full_patch_check: bool,
}

/// Everything one `loadgen run` measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RunResult {
    pub(crate) server: String,
    pub(crate) users: usize,
    pub(crate) concurrency: usize,
    pub(crate) phases: Vec<PhaseResult>,
    /// RSS of the server's process tree (KiB) at points of the run.
    pub(crate) rss_kib: BTreeMap<String, u64>,
    /// Wrong answers outside phases (verification steps).
    pub(crate) verify_errors: Vec<String>,
    /// Load average at the start and at the end.
    pub(crate) load_avg: (String, String),
    /// PATCH dialect used.
    pub(crate) dialect: Option<Dialect>,
}

impl RunResult {
    /// Wrong answers in total.
    pub(crate) fn wrong_answers(&self) -> u64 {
        self.phases.iter().map(|p| p.errors).sum::<u64>() + self.verify_errors.len() as u64
    }
}

/// The created users: index → id.
type Ids = RefCell<Vec<Option<String>>>;

fn list_total(v: &Value) -> Option<u64> {
    v["totalResults"].as_u64()
}

fn resources(v: &Value) -> &[Value] {
    v["Resources"].as_array().map_or(&[], Vec::as_slice)
}

/// GET a filter and return the ListResponse.
async fn filter(
    c: &mut Conn,
    label: &'static str,
    res: &str,
    expr: &str,
    extra: &str,
) -> Result<Value, String> {
    let pq = format!("/{res}?filter={}{extra}", enc(expr));
    let r = c.send(label, Method::GET, &pq, None).await?;
    r.expect(label, &[200])?;
    r.json(label)
}

fn id_of(v: &Value, what: &str) -> Result<String, String> {
    v["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("{what}: no id in the response"))
}

fn body(v: &Value) -> Option<Bytes> {
    Some(Bytes::from(
        serde_json::to_vec(v).expect("invariant: JSON values serialise"),
    ))
}

/// Entra's matching query before a create: no such user yet.
async fn match_absent(c: &mut Conn, i: usize) -> Result<(), String> {
    let expr = format!("userName eq \"{}\"", entra::user_name(i));
    let v = filter(c, "create: filter (miss)", "Users", &expr, "").await?;
    match list_total(&v) {
        Some(0) => Ok(()),
        t => Err(format!("matching {expr}: totalResults {t:?}, expected 0")),
    }
}

async fn create_user(c: &mut Conn, i: usize, ids: &Ids) -> Result<(), String> {
    match_absent(c, i).await?;
    let r = c
        .send(
            "create: POST /Users",
            Method::POST,
            "/Users",
            body(&entra::user(i)),
        )
        .await?;
    r.expect("POST /Users", &[201])?;
    let v = r.json("POST /Users")?;
    if v["userName"].as_str() != Some(&entra::user_name(i)) {
        return Err(format!("POST /Users: userName {}", v["userName"]));
    }
    let id = id_of(&v, "POST /Users")?;
    ids.borrow_mut()[i] = Some(id);
    Ok(())
}

/// Runs the whole workload and returns what it measured.
pub(crate) async fn run(target: &Target, o: &RunOptions) -> RunResult {
    let load_start = procfs::load_avg();
    let mut conns: Vec<Conn> = (0..o.concurrency).map(|_| Conn::new(target)).collect();
    let mut phases: Vec<PhaseResult> = Vec::new();
    let mut rss = BTreeMap::new();
    let mut verify_errors: Vec<String> = Vec::new();
    let snap = |rss: &mut BTreeMap<String, u64>, at: &str| {
        if let Some(k) = procfs::rss_kib(o.pid) {
            rss.insert(at.to_owned(), k);
        }
    };
    let reads = Bound {
        ops: 50_000_000,
        time: Duration::from_secs_f64(o.secs),
    };
    let n = o.users;
    snap(&mut rss, "0 start");

    // Entra's "Test connection".
    if let Err(e) = match_absent(&mut conns[0], usize::MAX).await {
        verify_errors.push(format!("test connection: {e}"));
    }

    // Create: filter by userName (miss), then POST the full user.
    let ids: Ids = RefCell::new(vec![None; n]);
    let p = phase::run(
        "create",
        &mut conns,
        Bound {
            ops: n,
            time: o.write_limit,
        },
        async |c: &mut Conn, i| create_user(c, i, &ids).await,
    )
    .await;
    eprintln!("  create: {:.0} req/s", p.rps);
    phases.push(p);
    snap(&mut rss, "1 users created");
    let users: Vec<(usize, String)> = ids
        .into_inner()
        .into_iter()
        .enumerate()
        .filter_map(|(i, id)| id.map(|id| (i, id)))
        .collect();
    let m = users.len();
    if m == 0 {
        verify_errors.push("no user was created".to_owned());
        return finish(o, phases, rss, verify_errors, load_start, None);
    }
    let pick = |i: usize, salt: u64| &users[(rand(i, salt) % m as u64) as usize];

    // GET by id.
    let p = phase::run("get", &mut conns, reads, async |c: &mut Conn, i| {
        let (k, id) = pick(i, 1);
        let r = c
            .send(
                "GET /Users/{id}",
                Method::GET,
                &format!("/Users/{id}"),
                None,
            )
            .await?;
        r.expect("GET /Users/{id}", &[200])?;
        let v = r.json("GET /Users/{id}")?;
        if v["userName"].as_str() != Some(&entra::user_name(*k)) {
            return Err(format!("GET /Users/{id}: userName {}", v["userName"]));
        }
        Ok(())
    })
    .await;
    phases.push(p);

    // filter=userName eq / externalId eq (hits).
    for (name, label, attr, salt) in [
        ("filter userName", "filter userName eq", "userName", 2u64),
        ("filter externalId", "filter externalId eq", "externalId", 3),
    ] {
        let value = |k: usize| {
            if attr == "userName" {
                entra::user_name(k)
            } else {
                entra::external_id(k)
            }
        };
        let one = async |c: &mut Conn, k: usize, id: &str| -> Result<(), String> {
            let expr = format!("{attr} eq \"{}\"", value(k));
            let v = filter(c, label, "Users", &expr, "").await?;
            let got = resources(&v).first().and_then(|r| r["id"].as_str());
            if list_total(&v) != Some(1) || got != Some(id) {
                return Err(format!(
                    "{expr}: totalResults {:?}, first id {got:?}, expected 1 and {id}",
                    list_total(&v)
                ));
            }
            Ok(())
        };
        let (k0, id0) = &users[0];
        if let Err(e) = one(&mut conns[0], *k0, id0).await {
            phases.push(na_or_fail(name, o.strict, e, &mut verify_errors));
            continue;
        }
        let p = phase::run(name, &mut conns, reads, async |c: &mut Conn, i| {
            let (k, id) = pick(i, salt);
            one(c, *k, id).await
        })
        .await;
        phases.push(p);
    }

    // PATCH in the Entra dialect (or, where it is refused, the RFC one).
    let manager_of = |u: usize| users[(u + 1) % m].1.clone();
    let patch_one = async |c: &mut Conn, u: usize, v: usize, d: Dialect| -> Result<(), String> {
        let (k, id) = &users[u];
        let b = entra::user_patch(v, &entra::user_name(*k), &manager_of(u), d);
        let r = c
            .send(
                "PATCH /Users/{id}",
                Method::PATCH,
                &format!("/Users/{id}"),
                body(&b),
            )
            .await?;
        r.expect("PATCH /Users/{id}", &[200, 204])
    };
    let check_user = async |c: &mut Conn, u: usize, v: usize| -> Result<(), String> {
        let id = &users[u].1;
        let r = c
            .send("verify", Method::GET, &format!("/Users/{id}"), None)
            .await?;
        r.expect("GET after PATCH", &[200])?;
        entra::check_patched(
            &r.json("GET after PATCH")?,
            v,
            &manager_of(u),
            o.full_patch_check,
        )
        .map_err(|e| format!("after PATCH of {id}: {e}"))
    };
    let mut dialect = None;
    let mut refused = Vec::new();
    for d in [Dialect::Entra, Dialect::Rfc] {
        let probe = async {
            patch_one(&mut conns[0], 0, 0, d).await?;
            check_user(&mut conns[0], 0, 0).await
        };
        match probe.await {
            Ok(()) => {
                dialect = Some(d);
                break;
            }
            Err(e) => refused.push(format!("{d:?} dialect: {e}")),
        }
        if o.strict {
            break;
        }
    }
    match dialect {
        None => phases.push(na_or_fail(
            "patch",
            o.strict,
            refused.join("; "),
            &mut verify_errors,
        )),
        Some(d) => {
            let last: RefCell<Vec<Option<usize>>> = RefCell::new(vec![None; m]);
            let mut p = phase::run(
                "patch",
                &mut conns,
                Bound {
                    ops: reads.ops,
                    time: reads.time,
                },
                async |c: &mut Conn, i| {
                    // Each user in turn; value i, so the last one written wins.
                    let u = i % m;
                    patch_one(c, u, i, d).await?;
                    let mut l = last.borrow_mut();
                    l[u] = Some(l[u].map_or(i, |x| x.max(i)));
                    Ok(())
                },
            )
            .await;
            if d == Dialect::Rfc {
                p.note = Some(format!(
                    "Entra dialect refused, RFC dialect used ({})",
                    refused.join("; ")
                ));
            }
            phases.push(p);
            let last = last.into_inner();
            let sample: Vec<usize> = (0..m.min(500))
                .map(|i| (rand(i, 9) % m as u64) as usize)
                .collect();
            for u in sample {
                if let Some(v) = last[u] {
                    if let Err(e) = check_user(&mut conns[0], u, v).await {
                        verify_errors.push(e);
                        break;
                    }
                }
            }
            dialect = Some(d);
        }
    }

    // Paging through all users with startIndex.
    let all_ids: HashSet<&str> = users.iter().map(|(_, id)| id.as_str()).collect();
    let ps = o.page_size;
    let pages = m.div_ceil(ps);
    let page = async |c: &mut Conn, label: &'static str, p: usize| -> Result<Vec<String>, String> {
        let pq = format!("/Users?startIndex={}&count={ps}", p * ps + 1);
        let r = c.send(label, Method::GET, &pq, None).await?;
        r.expect(label, &[200])?;
        let v = r.json(label)?;
        let want = ps.min(m - p * ps);
        let got: Vec<String> = resources(&v)
            .iter()
            .filter_map(|r| r["id"].as_str().map(str::to_owned))
            .collect();
        if list_total(&v) != Some(m as u64) || got.len() != want {
            return Err(format!(
                "{pq}: totalResults {:?} and {} resources, expected {m} and {want}",
                list_total(&v),
                got.len()
            ));
        }
        Ok(got)
    };
    match page(&mut conns[0], "verify", 0).await {
        Err(e) => phases.push(na_or_fail("page", o.strict, e, &mut verify_errors)),
        Ok(_) => {
            let seen: RefCell<HashSet<String>> = RefCell::new(HashSet::new());
            let mut p = phase::run(
                "page",
                &mut conns,
                Bound {
                    ops: pages,
                    time: o.write_limit,
                },
                async |c: &mut Conn, i| {
                    let got = page(c, "GET /Users?startIndex&count", i).await?;
                    seen.borrow_mut().extend(got);
                    Ok(())
                },
            )
            .await;
            let seen = seen.into_inner();
            if p.note.is_none()
                && (seen.len() != m || !seen.iter().all(|s| all_ids.contains(s.as_str())))
            {
                verify_errors.push(format!(
                    "paging: {} distinct known ids seen over {pages} pages, expected {m}",
                    seen.iter().filter(|s| all_ids.contains(s.as_str())).count()
                ));
            }
            // First and last page alone, one connection.
            let c = &mut conns[0];
            for _ in 0..20 {
                if let Err(e) = page(c, "page first", 0).await {
                    verify_errors.push(e);
                    break;
                }
                if let Err(e) = page(c, "page last", pages - 1).await {
                    verify_errors.push(e);
                    break;
                }
            }
            for l in ["page first", "page last"] {
                if let Some(h) = c.hist.get(l) {
                    p.labels.insert(l.to_owned(), phase::Lat::of(h));
                }
            }
            phases.push(p);
        }
    }

    let (gids, all_gids) = group_phases(
        o,
        &mut conns,
        &users,
        reads,
        &mut phases,
        &mut verify_errors,
        &mut rss,
        dialect,
    )
    .await;

    // Delete every user.
    let p = phase::run(
        "delete users",
        &mut conns,
        Bound {
            ops: m,
            time: o.write_limit,
        },
        async |c: &mut Conn, i| {
            let id = &users[i].1;
            let r = c
                .send(
                    "DELETE /Users/{id}",
                    Method::DELETE,
                    &format!("/Users/{id}"),
                    None,
                )
                .await?;
            r.expect("DELETE /Users/{id}", &[204, 200])
        },
    )
    .await;
    phases.push(p);
    for (_, id) in users.iter().take(20) {
        match conns[0]
            .send("verify", Method::GET, &format!("/Users/{id}"), None)
            .await
        {
            Ok(r) if r.status == 404 => {}
            Ok(r) => verify_errors.push(format!("GET deleted user {id}: status {}", r.status)),
            Err(e) => verify_errors.push(e),
        }
    }
    // Deleted users leave their groups (RFC 7644 §3.6 leaves it to the
    // server; scimkit does it, so it is checked there).
    if o.strict {
        if let Some((_, gid)) = gids.first() {
            match conns[0]
                .send("verify", Method::GET, &format!("/Groups/{gid}"), None)
                .await
            {
                Ok(r) => match r.json("GET group") {
                    Ok(v) if v["members"].as_array().is_none_or(Vec::is_empty) => {}
                    Ok(v) => verify_errors.push(format!(
                        "group {gid} still has {} members after every user was deleted",
                        v["members"].as_array().map_or(0, Vec::len)
                    )),
                    Err(e) => verify_errors.push(e),
                },
                Err(e) => verify_errors.push(e),
            }
        }
    }
    if !all_gids.is_empty() {
        let ngr = all_gids.len();
        let p = phase::run(
            "delete groups",
            &mut conns,
            Bound {
                ops: ngr,
                time: o.write_limit,
            },
            async |c: &mut Conn, i| {
                let gid = &all_gids[i].1;
                let r = c
                    .send(
                        "DELETE /Groups/{id}",
                        Method::DELETE,
                        &format!("/Groups/{gid}"),
                        None,
                    )
                    .await?;
                r.expect("DELETE /Groups/{id}", &[204, 200])
            },
        )
        .await;
        phases.push(p);
    }
    snap(&mut rss, "4 end");
    finish(o, phases, rss, verify_errors, load_start, dialect)
}

fn finish(
    o: &RunOptions,
    phases: Vec<PhaseResult>,
    rss_kib: BTreeMap<String, u64>,
    verify_errors: Vec<String>,
    load_start: String,
    dialect: Option<Dialect>,
) -> RunResult {
    for e in &verify_errors {
        eprintln!("  verify: {e}");
    }
    RunResult {
        server: o.name.clone(),
        users: o.users,
        concurrency: o.concurrency,
        phases,
        rss_kib,
        verify_errors,
        load_avg: (load_start, procfs::load_avg()),
        dialect,
    }
}

/// A phase the server cannot do: n/a for a peer, a wrong answer for scimkit.
fn na_or_fail(name: &str, strict: bool, why: String, errors: &mut Vec<String>) -> PhaseResult {
    if strict {
        errors.push(format!("{name}: {why}"));
    }
    let short: String = why.chars().take(240).collect();
    PhaseResult::na(name, short)
}

/// Creates the groups (Entra's lookup by `displayName`, then POST), fills
/// the first `groups + 1` by PATCH Add of 50 members, reads them back and
/// times the group reads. Returns the filled groups and every group created
/// (the filled ones first), as (group number, id).
#[allow(clippy::too_many_arguments)]
async fn group_phases(
    o: &RunOptions,
    conns: &mut [Conn],
    users: &[(usize, String)],
    reads: Bound,
    phases: &mut Vec<PhaseResult>,
    verify_errors: &mut Vec<String>,
    rss: &mut BTreeMap<String, u64>,
    dialect: Option<Dialect>,
) -> (Vec<(usize, String)>, Vec<(usize, String)>) {
    let m = users.len();
    let d = dialect.unwrap_or(Dialect::Entra);
    let ng = o.groups + 1;
    let total = ng + o.extra_groups;
    // Group 0 gets every user; group g ≥ 1 gets `group_members` users.
    let members_of = |g: usize| -> Vec<String> {
        if g == 0 {
            users.iter().map(|(_, id)| id.clone()).collect()
        } else {
            let k = o.group_members.min(m);
            (0..k)
                .map(|j| users[(g * 7919 + j) % m].1.clone())
                .collect::<HashSet<_>>()
                .into_iter()
                .collect()
        }
    };
    let create_group = async |c: &mut Conn, g: usize| -> Result<String, String> {
        let expr = format!("displayName eq \"{}\"", entra::group_name(g));
        let v = filter(
            c,
            "create: filter (miss)",
            "Groups",
            &expr,
            "&excludedAttributes=members",
        )
        .await?;
        if list_total(&v) != Some(0) {
            return Err(format!(
                "{expr}: totalResults {:?}, expected 0",
                list_total(&v)
            ));
        }
        let r = c
            .send(
                "create: POST /Groups",
                Method::POST,
                "/Groups",
                body(&entra::group(g)),
            )
            .await?;
        r.expect("POST /Groups", &[201])?;
        id_of(&r.json("POST /Groups")?, "POST /Groups")
    };
    let gids: RefCell<Vec<Option<String>>> = RefCell::new(vec![None; total]);
    if let Err(e) = create_group(&mut conns[0], 0).await {
        for n in [
            "groups create",
            "groups fill (PATCH Add 50)",
            "GET group excl. members",
            "membership check",
        ] {
            phases.push(na_or_fail(n, o.strict, e.clone(), verify_errors));
        }
        return (Vec::new(), Vec::new());
    }
    let mut p = phase::run(
        "groups create",
        conns,
        Bound {
            ops: total - 1,
            time: o.write_limit,
        },
        async |c: &mut Conn, i| {
            let id = create_group(c, i + 1).await?;
            gids.borrow_mut()[i + 1] = Some(id);
            Ok(())
        },
    )
    .await;
    let created = format!("{total} groups, {ng} of them filled next");
    p.note = Some(match p.note.take() {
        Some(stopped) => format!("{stopped} ({created})"),
        None => created,
    });
    phases.push(p);
    // Group 0 was the probe: find its id again (Entra's lookup).
    let g0 = {
        let expr = format!("displayName eq \"{}\"", entra::group_name(0));
        match filter(
            &mut conns[0],
            "verify",
            "Groups",
            &expr,
            "&excludedAttributes=members",
        )
        .await
        {
            Ok(v) => resources(&v)
                .first()
                .and_then(|r| r["id"].as_str())
                .map(str::to_owned),
            Err(e) => {
                verify_errors.push(e);
                None
            }
        }
    };
    gids.borrow_mut()[0] = g0;
    let all: Vec<(usize, String)> = gids
        .into_inner()
        .into_iter()
        .enumerate()
        .filter_map(|(g, id)| id.map(|id| (g, id)))
        .collect();
    let gids: Vec<(usize, String)> = all.iter().filter(|(g, _)| *g < ng).cloned().collect();
    // PATCH Add, 50 members at a time, the groups' batches interleaved.
    let wanted: Vec<Vec<String>> = gids.iter().map(|(g, _)| members_of(*g)).collect();
    let mut jobs: Vec<(usize, usize)> = Vec::new(); // (index into gids, batch)
    let batches: Vec<usize> = wanted.iter().map(|w| w.len().div_ceil(50)).collect();
    let most = batches.iter().copied().max().unwrap_or(0);
    for b in 0..most {
        for (gi, nb) in batches.iter().enumerate() {
            if b < *nb {
                jobs.push((gi, b));
            }
        }
    }
    let add =
        async |c: &mut Conn, gi: usize, b: usize, label: &'static str| -> Result<(), String> {
            let w = &wanted[gi];
            let chunk = &w[b * 50..((b + 1) * 50).min(w.len())];
            let r = c
                .send(
                    label,
                    Method::PATCH,
                    &format!("/Groups/{}", gids[gi].1),
                    body(&entra::add_members(chunk, d)),
                )
                .await?;
            r.expect("PATCH /Groups/{id} Add members", &[200, 204])
        };
    if jobs.is_empty() {
        return (gids, all);
    }
    if let Err(e) = add(&mut conns[0], jobs[0].0, jobs[0].1, "verify").await {
        for n in [
            "groups fill (PATCH Add 50)",
            "GET group excl. members",
            "membership check",
        ] {
            phases.push(na_or_fail(n, o.strict, e.clone(), verify_errors));
        }
        return (gids, all);
    }
    let mut p = phase::run(
        "groups fill (PATCH Add 50)",
        conns,
        Bound {
            ops: jobs.len() - 1,
            time: o.write_limit,
        },
        async |c: &mut Conn, i| {
            let (gi, b) = jobs[i + 1];
            add(c, gi, b, "PATCH /Groups/{id} Add 50").await
        },
    )
    .await;
    let filled = p.ops as usize + 1 == jobs.len();
    // The members actually sent (all of them unless a time limit cut the
    // phase short): the membership check asks only about those.
    let mut sent: Vec<Vec<String>> = vec![Vec::new(); wanted.len()];
    for &(gi, b) in &jobs[..(p.ops as usize + 1).min(jobs.len())] {
        let w = &wanted[gi];
        sent[gi].extend_from_slice(&w[b * 50..((b + 1) * 50).min(w.len())]);
    }
    let groups = format!(
        "{} groups: one of {} members, {} of {}",
        gids.len(),
        wanted.first().map_or(0, Vec::len),
        gids.len() - 1,
        wanted.get(1).map_or(0, Vec::len)
    );
    p.note = Some(match p.note.take() {
        Some(stopped) => format!("{stopped} ({groups})"),
        None => groups,
    });
    phases.push(p);
    if let Some(k) = procfs::rss_kib(o.pid) {
        rss.insert("2 groups filled".to_owned(), k);
    }
    // No lost member: every group has exactly the members sent.
    if filled {
        for (gi, (_, gid)) in gids.iter().enumerate() {
            let r = match conns[0]
                .send("verify", Method::GET, &format!("/Groups/{gid}"), None)
                .await
            {
                Ok(r) => r,
                Err(e) => {
                    verify_errors.push(e);
                    continue;
                }
            };
            let v = match r
                .expect("GET /Groups/{id}", &[200])
                .and_then(|()| r.json("GET /Groups/{id}"))
            {
                Ok(v) => v,
                Err(e) => {
                    verify_errors.push(e);
                    continue;
                }
            };
            let got: HashSet<&str> = v["members"]
                .as_array()
                .map(|a| a.iter().filter_map(|x| x["value"].as_str()).collect())
                .unwrap_or_default();
            let want: HashSet<&str> = wanted[gi].iter().map(String::as_str).collect();
            if got != want {
                verify_errors.push(format!(
                    "group {gid}: {} members, expected {} ({} missing)",
                    got.len(),
                    want.len(),
                    want.difference(&got).count()
                ));
            }
        }
    }

    // GET group without members, as Entra reads groups (the filled ones: the
    // members a server must leave out are what this measures).
    let ngr = gids.len();
    let p = phase::run(
        "GET group excl. members",
        conns,
        reads,
        async |c: &mut Conn, i| {
            let (g, gid) = &gids[(rand(i, 5) % ngr as u64) as usize];
            let r = c
                .send(
                    "GET /Groups/{id}?excludedAttributes=members",
                    Method::GET,
                    &format!("/Groups/{gid}?excludedAttributes=members"),
                    None,
                )
                .await?;
            r.expect("GET group", &[200])?;
            let v = r.json("GET group")?;
            if v["displayName"].as_str() != Some(&entra::group_name(*g))
                || v.get("members")
                    .is_some_and(|m| m.as_array().is_some_and(|a| !a.is_empty()))
            {
                return Err(format!(
                    "GET group {gid} excl. members: displayName {}, members present: {}",
                    v["displayName"],
                    v.get("members").is_some()
                ));
            }
            Ok(())
        },
    )
    .await;
    phases.push(p);

    // Entra's membership check.
    let with_members: Vec<usize> = (0..sent.len()).filter(|g| !sent[*g].is_empty()).collect();
    let check = async |c: &mut Conn, gi: usize, j: usize| -> Result<(), String> {
        let w = &sent[gi];
        let u = &w[j % w.len()];
        let gid = &gids[gi].1;
        let expr = format!("id eq \"{gid}\" and members[value eq \"{u}\"]");
        let v = filter(
            c,
            "membership filter",
            "Groups",
            &expr,
            "&excludedAttributes=members",
        )
        .await?;
        if list_total(&v) != Some(1) {
            return Err(format!(
                "{expr}: totalResults {:?}, expected 1",
                list_total(&v)
            ));
        }
        Ok(())
    };
    if let Err(e) = check(&mut conns[0], 0, 0).await {
        phases.push(na_or_fail("membership check", o.strict, e, verify_errors));
    } else {
        let p = phase::run("membership check", conns, reads, async |c: &mut Conn, i| {
            let gi = with_members[(rand(i, 6) % with_members.len() as u64) as usize];
            check(c, gi, rand(i, 7) as usize).await
        })
        .await;
        phases.push(p);
    }

    (gids, all)
}
