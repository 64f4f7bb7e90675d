//! Running a phase: a fixed set of keep-alive connections, each a worker
//! taking the next operation number until the count or the deadline is
//! reached; per-label latency histograms merged at the end.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::http::{Conn, new_histogram};

/// Latency summary of one request label, in microseconds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Lat {
    /// Requests measured.
    pub(crate) count: u64,
    /// Median.
    pub(crate) p50_us: u64,
    /// 99th percentile.
    pub(crate) p99_us: u64,
    /// Mean.
    pub(crate) mean_us: f64,
    /// Largest.
    pub(crate) max_us: u64,
}

impl Lat {
    pub(crate) fn of(h: &Histogram<u64>) -> Self {
        Self {
            count: h.len(),
            p50_us: h.value_at_quantile(0.5),
            p99_us: h.value_at_quantile(0.99),
            mean_us: h.mean(),
            max_us: h.max(),
        }
    }
}

/// What one phase measured.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct PhaseResult {
    /// Phase name (`get`, `patch`, …).
    pub(crate) name: String,
    /// Operations done (an operation may be several requests).
    pub(crate) ops: u64,
    /// Requests sent.
    pub(crate) requests: u64,
    /// Wall time of the phase.
    pub(crate) secs: f64,
    /// Requests per second over the phase.
    pub(crate) rps: f64,
    /// Latency per request label.
    pub(crate) labels: BTreeMap<String, Lat>,
    /// Failed operations (wrong answers).
    pub(crate) errors: u64,
    /// The first few failures.
    pub(crate) first_errors: Vec<String>,
    /// Why the phase was not run on this server ("n/a").
    pub(crate) na: Option<String>,
    /// Anything worth saying next to the numbers.
    pub(crate) note: Option<String>,
}

impl PhaseResult {
    /// A phase this server does not support.
    pub(crate) fn na(name: &str, why: String) -> Self {
        Self {
            name: name.to_owned(),
            na: Some(why),
            ..Self::default()
        }
    }
}

/// Limits of a phase: at most `ops` operations, at most `time`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bound {
    pub(crate) ops: usize,
    pub(crate) time: Duration,
}

/// Run `op(conn, i)` for i = 0, 1, … on every connection concurrently until
/// `bound` is reached. The operation records its own requests (through
/// `Conn::send`); its `Err` is a wrong answer.
pub(crate) async fn run<F>(name: &str, conns: &mut [Conn], bound: Bound, op: F) -> PhaseResult
where
    F: AsyncFn(&mut Conn, usize) -> Result<(), String>,
{
    for c in conns.iter_mut() {
        c.hist.clear();
    }
    let next = Cell::new(0usize);
    let errors = Cell::new(0u64);
    let first: RefCell<Vec<String>> = RefCell::new(Vec::new());
    let start = Instant::now();
    let stop_at = start + bound.time;
    let op = &op;
    let workers = conns.iter_mut().map(|c| {
        let (next, errors, first) = (&next, &errors, &first);
        async move {
            loop {
                let i = next.get();
                if i >= bound.ops || Instant::now() >= stop_at {
                    break;
                }
                next.set(i + 1);
                if let Err(e) = op(c, i).await {
                    errors.set(errors.get() + 1);
                    let mut f = first.borrow_mut();
                    if f.len() < 5 {
                        f.push(e);
                    }
                }
            }
        }
    });
    futures_util::future::join_all(workers).await;
    let secs = start.elapsed().as_secs_f64();
    let ops = next.get().min(bound.ops) as u64;
    let mut merged: BTreeMap<&'static str, Histogram<u64>> = BTreeMap::new();
    for c in conns.iter() {
        for (label, h) in &c.hist {
            merged
                .entry(label)
                .or_insert_with(new_histogram)
                .add(h)
                .expect("invariant: same bounds");
        }
    }
    let requests: u64 = merged.values().map(Histogram::len).sum();
    let mut note = None;
    if (ops as usize) < bound.ops && bound.ops < 50_000_000 && secs >= bound.time.as_secs_f64() {
        note = Some(format!(
            "stopped at the time limit ({} s) after {ops} of {} operations",
            bound.time.as_secs(),
            bound.ops
        ));
    }
    let errors = errors.get();
    let first_errors = first.into_inner();
    if errors > 0 {
        eprintln!(
            "  {name}: {errors} wrong answers, first: {}",
            first_errors.first().map_or("", String::as_str)
        );
    }
    PhaseResult {
        name: name.to_owned(),
        ops,
        requests,
        secs,
        rps: if secs > 0.0 {
            requests as f64 / secs
        } else {
            0.0
        },
        labels: merged
            .iter()
            .map(|(k, h)| ((*k).to_owned(), Lat::of(h)))
            .collect(),
        errors,
        first_errors,
        na: None,
        note,
    }
}

/// A deterministic pseudo-random number for operation `i` (splitmix64).
pub(crate) fn rand(i: usize, salt: u64) -> u64 {
    let mut z = (i as u64)
        .wrapping_add(salt.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
