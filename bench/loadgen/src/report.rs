//! The Markdown table and the SVG plot of a results directory: every server's
//! `run-NAME.json` and `scale-NAME.json`, the ratios the targets are stated
//! in, and whether each target is met.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::phase::{Lat, PhaseResult};
use crate::scale::ScaleResult;
use crate::workload::RunResult;

/// The order servers are shown in (others follow, by name).
const ORDER: [&str; 7] = [
    "limit",
    "scimkit-memory",
    "scimkit-sqlite",
    "scimkit-postgres",
    "scimkit-python",
    "scim2-server",
    "scimmy",
];

/// Phases that only read.
const READS: [&str; 6] = [
    "get",
    "filter userName",
    "filter externalId",
    "page",
    "GET group excl. members",
    "membership check",
];

/// The label whose latency stands for the phase.
fn main_label(phase: &str) -> &'static str {
    match phase {
        "create" => "create: POST /Users",
        "get" => "GET /Users/{id}",
        "filter userName" => "filter userName eq",
        "filter externalId" => "filter externalId eq",
        "patch" => "PATCH /Users/{id}",
        "page" => "GET /Users?startIndex&count",
        "groups create" => "create: POST /Groups",
        "groups fill (PATCH Add 50)" => "PATCH /Groups/{id} Add 50",
        "GET group excl. members" => "GET /Groups/{id}?excludedAttributes=members",
        "membership check" => "membership filter",
        "delete users" => "DELETE /Users/{id}",
        "delete groups" => "DELETE /Groups/{id}",
        _ => "",
    }
}

fn describe(phase: &str) -> &'static str {
    match phase {
        "create" => "create: `filter userName eq` (miss) then POST the full Entra user",
        "get" => "GET /Users/{id}",
        "filter userName" => "GET /Users?filter=userName eq",
        "filter externalId" => "GET /Users?filter=externalId eq",
        "patch" => "PATCH /Users/{id} (Entra dialect, 7 operations)",
        "page" => "paging through all users (startIndex, count=100)",
        "groups create" => "create group: `filter displayName eq` then POST",
        "groups fill (PATCH Add 50)" => "PATCH group: Add 50 members",
        "GET group excl. members" => "GET /Groups/{id}?excludedAttributes=members",
        "membership check" => "`filter=id eq … and members[value eq …]`",
        "delete users" => "DELETE /Users/{id}",
        "delete groups" => "DELETE /Groups/{id}",
        _ => "",
    }
}

fn order_key(name: &str) -> (usize, String) {
    (
        ORDER.iter().position(|o| *o == name).unwrap_or(ORDER.len()),
        name.to_owned(),
    )
}

fn ms(us: u64) -> String {
    let m = us as f64 / 1000.0;
    if m >= 100.0 {
        format!("{m:.0}")
    } else if m >= 10.0 {
        format!("{m:.1}")
    } else {
        format!("{m:.2}")
    }
}

fn thousands(x: f64) -> String {
    let n = x.round() as u64;
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ratio(x: f64) -> String {
    if x >= 10.0 {
        format!("{x:.0}×")
    } else {
        format!("{x:.2}×")
    }
}

fn read_dir<T: serde::de::DeserializeOwned>(dir: &Path, prefix: &str) -> Result<Vec<T>, String> {
    let mut out = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix) && n.ends_with(".json"))
        })
        .collect();
    names.sort();
    for p in names {
        let text = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        out.push(serde_json::from_str(&text).map_err(|e| format!("{}: {e}", p.display()))?);
    }
    Ok(out)
}

/// A phase of a server, if it ran (not n/a).
fn ran<'a>(r: &'a RunResult, phase: &str) -> Option<&'a PhaseResult> {
    r.phases.iter().find(|p| p.name == phase && p.na.is_none())
}

/// The outcome of one target check.
struct Check {
    target: String,
    measured: String,
    met: Option<bool>,
}

/// Write `results.md` and `latency.svg` into `dir`; `Ok(false)` when a server
/// gave wrong answers.
pub(crate) fn write(dir: &Path, machine: &str) -> Result<bool, String> {
    let mut runs: Vec<RunResult> = read_dir(dir, "run-")?;
    let mut scales: Vec<ScaleResult> = read_dir(dir, "scale-")?;
    runs.sort_by_key(|r| order_key(&r.server));
    scales.sort_by_key(|s| order_key(&s.server));
    let mut skipped: Vec<(String, String)> = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(server) = name
                .strip_prefix("skipped-")
                .and_then(|n| n.strip_suffix(".txt"))
            {
                let why = std::fs::read_to_string(e.path()).unwrap_or_default();
                skipped.push((server.to_owned(), why.trim().to_owned()));
            }
        }
    }
    skipped.sort();
    let mut md = String::new();
    let by_name: BTreeMap<&str, &RunResult> = runs.iter().map(|r| (r.server.as_str(), r)).collect();
    let users = runs.first().map_or(0, |r| r.users);
    let conc = runs.first().map_or(0, |r| r.concurrency);
    let _ = writeln!(md, "# HTTP load benchmark (bench/run.sh)\n");
    let _ = writeln!(md, "Machine: {machine}.\n");
    let _ = writeln!(
        md,
        "Workload: N = {users} users, {conc} keep-alive connections, every response checked. \
         Servers run one after the other in this run; load average (1/5/15 min) at the start → end of each:\n"
    );
    for r in &runs {
        let _ = writeln!(md, "* {}: {} → {}", r.server, r.load_avg.0, r.load_avg.1);
    }
    for s in &scales {
        let _ = writeln!(
            md,
            "* {} (sizes): {} → {}",
            s.server, s.load_avg.0, s.load_avg.1
        );
    }
    for (s, why) in &skipped {
        let _ = writeln!(md, "* {s}: not run — {why}");
    }

    // Throughput.
    let names: Vec<&str> = runs.iter().map(|r| r.server.as_str()).collect();
    let mut phases: Vec<String> = Vec::new();
    for r in &runs {
        for p in &r.phases {
            if !phases.contains(&p.name) {
                phases.push(p.name.clone());
            }
        }
    }
    let header = |md: &mut String, first: &str| {
        let _ = write!(md, "| {first} |");
        for n in &names {
            let _ = write!(md, " {n} |");
        }
        let _ = write!(md, "\n|---|");
        for _ in &names {
            let _ = write!(md, "---:|");
        }
        md.push('\n');
    };
    let _ = writeln!(md, "\n## Throughput (requests/s over the phase)\n");
    header(&mut md, "phase");
    for ph in &phases {
        let _ = write!(md, "| {} |", describe(ph));
        for r in &runs {
            let cell = match r.phases.iter().find(|p| &p.name == ph) {
                None => "—".to_owned(),
                Some(p) if p.na.is_some() => "n/a¹".to_owned(),
                Some(p) => {
                    let mut c = thousands(p.rps);
                    if p.errors > 0 {
                        c.push_str(&format!(" **{} wrong**", p.errors));
                    }
                    if p.note.as_deref().is_some_and(|n| n.starts_with("stopped")) {
                        c.push_str(" ²");
                    }
                    c
                }
            };
            let _ = write!(md, " {cell} |");
        }
        md.push('\n');
    }
    let _ = writeln!(md, "\n## Latency p50 / p99 (ms, under the same load)\n");
    header(&mut md, "request");
    let mut labels: Vec<(String, String)> = Vec::new(); // (phase, label)
    for ph in &phases {
        let main = main_label(ph);
        labels.push((ph.clone(), main.to_owned()));
        for r in &runs {
            if let Some(p) = r.phases.iter().find(|p| &p.name == ph) {
                for l in p.labels.keys() {
                    if l != main && l != "verify" && !labels.iter().any(|(a, b)| a == ph && b == l)
                    {
                        labels.push((ph.clone(), l.clone()));
                    }
                }
            }
        }
    }
    for (ph, l) in &labels {
        let shown = match l.as_str() {
            "page first" | "page last" => format!("{l} (one connection alone)"),
            "create: filter (miss)" if ph == "groups create" => {
                "create group: filter (miss)".to_owned()
            }
            _ => l.clone(),
        };
        let _ = write!(md, "| {shown} |");
        for r in &runs {
            let cell = match r.phases.iter().find(|p| &p.name == ph) {
                Some(p) if p.na.is_some() => "n/a".to_owned(),
                Some(p) => p.labels.get(l).map_or("—".to_owned(), |x| {
                    format!("{} / {}", ms(x.p50_us), ms(x.p99_us))
                }),
                None => "—".to_owned(),
            };
            let _ = write!(md, " {cell} |");
        }
        md.push('\n');
    }
    let _ = writeln!(md, "\nRSS of the server's process tree (MiB):\n");
    let mut points: Vec<String> = Vec::new();
    for r in &runs {
        for k in r.rss_kib.keys() {
            if !points.contains(k) {
                points.push(k.clone());
            }
        }
    }
    points.sort();
    header(&mut md, "when");
    for pt in &points {
        let _ = write!(md, "| {} |", &pt[2..]);
        for r in &runs {
            let cell = r
                .rss_kib
                .get(pt)
                .map_or("—".to_owned(), |k| format!("{:.1}", *k as f64 / 1024.0));
            let _ = write!(md, " {cell} |");
        }
        md.push('\n');
    }
    // Footnotes: n/a reasons and notes.
    let mut notes = String::new();
    for r in &runs {
        for p in &r.phases {
            if let Some(why) = &p.na {
                let _ = writeln!(
                    notes,
                    "* ¹ {} — {}: {}",
                    r.server,
                    p.name,
                    why.replace('\n', " ")
                );
            }
            if let Some(n) = &p.note {
                let mark = if n.starts_with("stopped") { "² " } else { "" };
                if !(p.name.starts_with("groups fill") && r.server != names[0]) {
                    let _ = writeln!(
                        notes,
                        "* {mark}{} — {}: {}",
                        r.server,
                        p.name,
                        n.replace('\n', " ")
                    );
                }
            }
        }
    }
    for s in &scales {
        for n in &s.notes {
            let _ = writeln!(notes, "* {} — sizes: {n}", s.server);
        }
    }
    if !notes.is_empty() {
        let _ = writeln!(md, "\nNotes:\n\n{notes}");
    }

    // Ratios.
    let rps = |s: &str, ph: &str| by_name.get(s).and_then(|r| ran(r, ph)).map(|p| p.rps);
    let pairs: [(&str, &str); 6] = [
        ("scimkit-memory", "limit"),
        ("scimkit-sqlite", "limit"),
        ("scimkit-memory", "scim2-server"),
        ("scimkit-memory", "scimmy"),
        ("scimkit-python", "scim2-server"),
        ("scimkit-postgres", "limit"),
    ];
    let pairs: Vec<(&str, &str)> = pairs
        .into_iter()
        .filter(|(a, b)| by_name.contains_key(a) && by_name.contains_key(b))
        .collect();
    if !pairs.is_empty() {
        let _ = writeln!(md, "\n## Throughput ratios (same run)\n");
        let _ = write!(md, "| phase |");
        for (a, b) in &pairs {
            let _ = write!(md, " {a} / {b} |");
        }
        let _ = write!(md, "\n|---|");
        for _ in &pairs {
            let _ = write!(md, "---:|");
        }
        md.push('\n');
        for ph in &phases {
            let _ = write!(md, "| {ph} |");
            for (a, b) in &pairs {
                let cell = match (rps(a, ph), rps(b, ph)) {
                    (Some(x), Some(y)) if y > 0.0 => ratio(x / y),
                    _ => "n/a".to_owned(),
                };
                let _ = write!(md, " {cell} |");
            }
            md.push('\n');
        }
    }

    // Scale.
    if !scales.is_empty() {
        let _ = writeln!(
            md,
            "\n## Latency by store size (p50 / p99 ms, one request at a time)\n"
        );
        let _ = writeln!(
            md,
            "| server | users | filter userName eq | GET /Users/{{id}} | page first | page last | RSS MiB |"
        );
        let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|");
        for s in &scales {
            for pt in &s.sizes {
                let f = |l: &str| {
                    pt.labels.get(l).map_or("—".to_owned(), |x| {
                        format!("{} / {}", ms(x.p50_us), ms(x.p99_us))
                    })
                };
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} | {} | {} | {} |",
                    s.server,
                    thousands(pt.users as f64),
                    f("filter userName eq"),
                    f("GET /Users/{id}"),
                    f("page first"),
                    f("page last"),
                    pt.rss_kib
                        .map_or("—".to_owned(), |k| format!("{:.1}", k as f64 / 1024.0))
                );
            }
        }
        let _ = writeln!(
            md,
            "\n## Latency by group size (PATCH Add 50 members, p50 / p99 ms, one at a time)\n"
        );
        let _ = writeln!(md, "| server | members | PATCH Add 50 |");
        let _ = writeln!(md, "|---|---:|---:|");
        for s in &scales {
            for g in &s.groups {
                let _ = writeln!(
                    md,
                    "| {} | {} | {} / {} |",
                    s.server,
                    thousands(g.members as f64),
                    ms(g.patch_add_50.p50_us),
                    ms(g.patch_add_50.p99_us)
                );
            }
        }
        let _ = writeln!(
            md,
            "\nMemory: RSS growth per user between the smallest and the largest store size; creates/s while growing (32 connections):\n"
        );
        let _ = writeln!(md, "| server | bytes per user | creates/s |");
        let _ = writeln!(md, "|---|---:|---:|");
        for s in &scales {
            let _ = writeln!(
                md,
                "| {} | {} | {} |",
                s.server,
                s.rss_per_user_bytes.map_or("—".to_owned(), thousands),
                thousands(s.create_rps)
            );
        }
    }

    // Targets.
    let checks = targets(&by_name, &scales, &phases);
    if !checks.is_empty() {
        let _ = writeln!(md, "\n## Targets\n");
        let _ = writeln!(md, "| target | measured | |");
        let _ = writeln!(md, "|---|---|---|");
        for c in &checks {
            let verdict = match c.met {
                Some(true) => "met",
                Some(false) => "**missed**",
                None => "not measured",
            };
            let _ = writeln!(md, "| {} | {} | {verdict} |", c.target, c.measured);
        }
    }

    // Wrong answers.
    let mut wrong = String::new();
    for r in &runs {
        for p in &r.phases {
            for e in &p.first_errors {
                let _ = writeln!(
                    wrong,
                    "* {} — {}: {}",
                    r.server,
                    p.name,
                    e.replace('\n', " ")
                );
            }
        }
        for e in &r.verify_errors {
            let _ = writeln!(
                wrong,
                "* {} — verification: {}",
                r.server,
                e.replace('\n', " ")
            );
        }
    }
    for s in &scales {
        for e in &s.errors {
            let _ = writeln!(wrong, "* {} — sizes: {}", s.server, e.replace('\n', " "));
        }
    }
    let ok = wrong.is_empty();
    let _ = writeln!(md, "\n## Wrong answers\n");
    if ok {
        let _ = writeln!(
            md,
            "None: every response of every server had the expected status and content."
        );
    } else {
        md.push_str(&wrong);
    }
    let md_path = dir.join("results.md");
    std::fs::write(&md_path, &md).map_err(|e| format!("{}: {e}", md_path.display()))?;
    let svg_path = dir.join("latency.svg");
    std::fs::write(&svg_path, svg(&scales)).map_err(|e| format!("{}: {e}", svg_path.display()))?;
    print!("{md}");
    Ok(ok)
}

fn targets(
    by_name: &BTreeMap<&str, &RunResult>,
    scales: &[ScaleResult],
    phases: &[String],
) -> Vec<Check> {
    let mut out = Vec::new();
    let rps = |s: &str, ph: &str| by_name.get(s).and_then(|r| ran(r, ph)).map(|p| p.rps);
    let mut vs = |a: &str, b: &str, phs: &[&str], min: f64, what: &str| {
        let mut parts = Vec::new();
        let mut met = true;
        let mut any = false;
        for ph in phs {
            if let (Some(x), Some(y)) = (rps(a, ph), rps(b, ph)) {
                if y > 0.0 {
                    any = true;
                    let r = x / y;
                    met &= r >= min;
                    parts.push(format!("{ph} {}", ratio(r)));
                }
            }
        }
        out.push(Check {
            target: format!("{a} ≥ {min}× {b} on {what}"),
            measured: parts.join(", "),
            met: any.then_some(met),
        });
    };
    vs(
        "scimkit-memory",
        "limit",
        &["get", "filter userName", "filter externalId", "patch"],
        0.5,
        "get, filter, PATCH",
    );
    let every: Vec<&str> = phases.iter().map(String::as_str).collect();
    vs(
        "scimkit-memory",
        "scim2-server",
        &every,
        20.0,
        "every phase",
    );
    vs("scimkit-memory", "scimmy", &every, 5.0, "every phase");
    vs("scimkit-sqlite", "limit", &READS, 0.3, "reads");
    let writes: Vec<&str> = every
        .iter()
        .copied()
        .filter(|p| !READS.contains(p))
        .collect();
    vs("scimkit-sqlite", "limit", &writes, 0.15, "writes");
    for s in scales.iter().filter(|s| s.server.starts_with("scimkit")) {
        let p50 = |i: usize, l: &str| {
            s.sizes
                .get(i)
                .and_then(|p| p.labels.get(l))
                .map(|x: &Lat| x.p50_us as f64)
        };
        let last = s.sizes.len().saturating_sub(1);
        if let (Some(a), Some(b)) = (
            p50(0, "filter userName eq"),
            p50(last, "filter userName eq"),
        ) {
            out.push(Check {
                target: format!(
                    "{}: p50 filter userName eq at {} users ≤ 1.5× at {}",
                    s.server, s.sizes[last].users, s.sizes[0].users
                ),
                measured: format!("{} vs {} ms: {}", ms(b as u64), ms(a as u64), ratio(b / a)),
                met: Some(b / a <= 1.5),
            });
        }
        if let (Some(f), Some(l)) = (p50(last, "page first"), p50(last, "page last")) {
            out.push(Check {
                target: format!(
                    "{}: last page ≤ 3× first page (startIndex, {} users)",
                    s.server, s.sizes[last].users
                ),
                measured: format!("{} vs {} ms: {}", ms(l as u64), ms(f as u64), ratio(l / f)),
                met: Some(l / f <= 3.0),
            });
        }
        if let (Some(a), Some(b)) = (s.groups.first(), s.groups.last()) {
            if b.members > a.members {
                let r = b.patch_add_50.p50_us as f64 / a.patch_add_50.p50_us as f64;
                out.push(Check {
                    target: format!(
                        "{}: p50 PATCH Add 50 at group size {} ≤ 2× at {}",
                        s.server, b.members, a.members
                    ),
                    measured: format!(
                        "{} vs {} ms: {}",
                        ms(b.patch_add_50.p50_us),
                        ms(a.patch_add_50.p50_us),
                        ratio(r)
                    ),
                    met: Some(r <= 2.0),
                });
            }
        }
        let limit = match s.server.as_str() {
            "scimkit-memory" => Some(4096.0),
            "scimkit-sqlite" => Some(1024.0),
            _ => None,
        };
        if let (Some(max), Some(b)) = (limit, s.rss_per_user_bytes) {
            out.push(Check {
                target: format!("{}: RSS per user ≤ {} bytes", s.server, max as u64),
                measured: format!(
                    "{} bytes ({} users)",
                    thousands(b),
                    s.sizes.last().map_or(0, |p| p.users)
                ),
                met: Some(b <= max),
            });
        }
    }
    out
}

const COLORS: [&str; 8] = [
    "#555555", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#d62728", "#8c564b", "#17becf",
];

/// One line of a panel: name, color, dashed, points.
type Series = (String, &'static str, bool, Vec<(f64, f64)>);

/// A log-log panel.
struct Panel<'a> {
    title: &'a str,
    xlabel: &'a str,
    series: Vec<Series>,
}

fn svg(scales: &[ScaleResult]) -> String {
    let mut left = Panel {
        title: "p50 latency by store size (one request at a time)",
        xlabel: "users in the store",
        series: Vec::new(),
    };
    let mut right = Panel {
        title: "p50 of PATCH Add 50 members by group size",
        xlabel: "members in the group",
        series: Vec::new(),
    };
    for (i, s) in scales.iter().enumerate() {
        let color = COLORS[order_key(&s.server).0.min(COLORS.len() - 1)];
        let _ = i;
        for (label, short, dashed) in [
            ("filter userName eq", "filter userName", false),
            ("page last", "last page", true),
        ] {
            let pts: Vec<(f64, f64)> = s
                .sizes
                .iter()
                .filter_map(|p| {
                    p.labels
                        .get(label)
                        .map(|l| (p.users as f64, l.p50_us as f64 / 1000.0))
                })
                .collect();
            if !pts.is_empty() {
                left.series
                    .push((format!("{} {short}", s.server), color, dashed, pts));
            }
        }
        let pts: Vec<(f64, f64)> = s
            .groups
            .iter()
            .map(|g| (g.members as f64, g.patch_add_50.p50_us as f64 / 1000.0))
            .collect();
        if !pts.is_empty() {
            right.series.push((s.server.clone(), color, false, pts));
        }
    }
    let (w, h) = (1000.0, 430.0);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    panel(&mut out, &left, 60.0, 500.0);
    panel(&mut out, &right, 560.0, 420.0);
    out.push_str("</svg>\n");
    out
}

fn panel(out: &mut String, p: &Panel<'_>, x0: f64, width: f64) {
    let (top, height) = (40.0, 250.0);
    let pw = width - 20.0;
    let all: Vec<(f64, f64)> = p.series.iter().flat_map(|s| s.3.iter().copied()).collect();
    let _ = writeln!(
        out,
        "<text x=\"{}\" y=\"20\" font-weight=\"bold\">{}</text>",
        x0, p.title
    );
    if all.is_empty() {
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\">no data</text>",
            x0 + 20.0,
            top + 40.0
        );
        return;
    }
    let lg = |v: f64| v.max(1e-6).log10();
    let (mut xmin, mut xmax, mut ymin, mut ymax) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (x, y) in &all {
        xmin = xmin.min(lg(*x));
        xmax = xmax.max(lg(*x));
        ymin = ymin.min(lg(*y));
        ymax = ymax.max(lg(*y));
    }
    let (xmin, xmax) = (xmin.floor(), xmax.ceil().max(xmin.floor() + 1.0));
    let (ymin, ymax) = (ymin.floor(), ymax.ceil().max(ymin.floor() + 1.0));
    let sx = |x: f64| x0 + (lg(x) - xmin) / (xmax - xmin) * pw;
    let sy = |y: f64| top + height - (lg(y) - ymin) / (ymax - ymin) * height;
    let _ = writeln!(
        out,
        "<rect x=\"{x0}\" y=\"{top}\" width=\"{pw}\" height=\"{height}\" fill=\"none\" stroke=\"#999\"/>"
    );
    let mut e = xmin as i32;
    while e <= xmax as i32 {
        let x = sx(10f64.powi(e));
        let _ = writeln!(
            out,
            "<line x1=\"{x:.1}\" y1=\"{top}\" x2=\"{x:.1}\" y2=\"{}\" stroke=\"#eee\"/>",
            top + height
        );
        let label = thousands(10f64.powi(e));
        let _ = writeln!(
            out,
            "<text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\">{label}</text>",
            top + height + 15.0
        );
        e += 1;
    }
    let mut e = ymin as i32;
    while e <= ymax as i32 {
        let y = sy(10f64.powi(e));
        let _ = writeln!(
            out,
            "<line x1=\"{x0}\" y1=\"{y:.1}\" x2=\"{}\" y2=\"{y:.1}\" stroke=\"#eee\"/>",
            x0 + pw
        );
        let v = 10f64.powi(e);
        let label = if v >= 1.0 {
            format!("{v:.0} ms")
        } else {
            format!("{v} ms")
        };
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{label}</text>",
            x0 - 4.0,
            y + 4.0
        );
        e += 1;
    }
    let _ = writeln!(
        out,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
        x0 + pw / 2.0,
        top + height + 32.0,
        p.xlabel
    );
    for (i, (name, color, dashed, pts)) in p.series.iter().enumerate() {
        let path: Vec<String> = pts
            .iter()
            .map(|(x, y)| format!("{:.1},{:.1}", sx(*x), sy(*y)))
            .collect();
        let dash = if *dashed {
            " stroke-dasharray=\"6 4\""
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"{dash}/>",
            path.join(" ")
        );
        for (x, y) in pts {
            let _ = writeln!(
                out,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{color}\"/>",
                sx(*x),
                sy(*y)
            );
        }
        let ly = top + height + 50.0 + 15.0 * (i / 2) as f64;
        let lx = x0 + (i % 2) as f64 * (pw / 2.0);
        let _ = writeln!(
            out,
            "<line x1=\"{lx}\" y1=\"{:.1}\" x2=\"{}\" y2=\"{:.1}\" stroke=\"{color}\" stroke-width=\"2\"{dash}/>",
            ly - 4.0,
            lx + 20.0,
            ly - 4.0
        );
        let _ = writeln!(out, "<text x=\"{}\" y=\"{ly:.1}\">{name}</text>", lx + 25.0);
    }
}
