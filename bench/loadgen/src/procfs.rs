//! Resident memory of the server under test: `VmRSS` of its process and of
//! every descendant (gunicorn workers, PostgreSQL backends), from `/proc`.

use std::collections::BTreeSet;

fn vm_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // pid (comm) state ppid …: comm may contain spaces and parentheses.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// The process and all its descendants.
pub(crate) fn tree(pid: u32) -> BTreeSet<u32> {
    let mut all: Vec<(u32, u32)> = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            if let Some(p) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) {
                if let Some(pp) = parent_of(p) {
                    all.push((p, pp));
                }
            }
        }
    }
    let mut set = BTreeSet::from([pid]);
    // Bounded: each pass adds at least one process or stops.
    for _ in 0..64 {
        let before = set.len();
        for (p, pp) in &all {
            if set.contains(pp) {
                set.insert(*p);
            }
        }
        if set.len() == before {
            break;
        }
    }
    set
}

/// Sum of `VmRSS` over the process tree, in KiB (`None` without a pid or when
/// the process is gone).
pub(crate) fn rss_kib(pid: Option<u32>) -> Option<u64> {
    let pid = pid?;
    vm_rss_kib(pid)?;
    Some(tree(pid).into_iter().filter_map(vm_rss_kib).sum())
}

/// The 1, 5 and 15 minute load averages.
pub(crate) fn load_avg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}
