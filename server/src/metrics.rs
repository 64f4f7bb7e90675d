//! Request metrics in the Prometheus text format (`GET /metrics`): counts by
//! status class and a latency histogram. Labels carry no tenant, path or token.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// Counters shared by every request.
#[derive(Debug)]
pub(crate) struct Metrics {
    /// Responses by class: 1xx … 5xx.
    by_class: [AtomicU64; 5],
    /// Non-cumulative bucket counts; the last slot is +Inf.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_micros: AtomicU64,
    count: AtomicU64,
    started: Instant,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            by_class: Default::default(),
            buckets: Default::default(),
            sum_micros: AtomicU64::new(0),
            count: AtomicU64::new(0),
            started: Instant::now(),
        }
    }
}

impl Metrics {
    /// Count one response.
    pub(crate) fn observe(&self, status: u16, latency: Duration) {
        if let Some(c) = (status / 100)
            .checked_sub(1)
            .and_then(|i| self.by_class.get(usize::from(i)))
        {
            c.fetch_add(1, Ordering::Relaxed);
        }
        let secs = latency.as_secs_f64();
        let slot = BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(BUCKETS.len());
        self.buckets[slot].fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP scimkit_http_requests_total HTTP responses sent, by status class.\n\
             # TYPE scimkit_http_requests_total counter\n",
        );
        for (i, c) in self.by_class.iter().enumerate() {
            let _ = writeln!(
                out,
                "scimkit_http_requests_total{{class=\"{}xx\"}} {}",
                i + 1,
                c.load(Ordering::Relaxed)
            );
        }
        out.push_str(
            "# HELP scimkit_http_request_duration_seconds Time from request to response headers.\n\
             # TYPE scimkit_http_request_duration_seconds histogram\n",
        );
        let mut cumulative = 0;
        for (i, b) in self.buckets.iter().enumerate() {
            cumulative += b.load(Ordering::Relaxed);
            let le = BUCKETS
                .get(i)
                .map_or_else(|| "+Inf".to_owned(), |b| b.to_string());
            let _ = writeln!(
                out,
                "scimkit_http_request_duration_seconds_bucket{{le=\"{le}\"}} {cumulative}"
            );
        }
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "scimkit_http_request_duration_seconds_sum {sum}");
        let _ = writeln!(
            out,
            "scimkit_http_request_duration_seconds_count {}",
            self.count.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP scimkit_uptime_seconds Seconds since the server started.\n\
             # TYPE scimkit_uptime_seconds gauge\n\
             scimkit_uptime_seconds {}",
            self.started.elapsed().as_secs()
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_counts_classes_and_cumulative_buckets() {
        let m = Metrics::default();
        m.observe(200, Duration::from_micros(500));
        m.observe(201, Duration::from_millis(30));
        m.observe(404, Duration::from_secs(20));
        let text = m.render();
        for line in [
            "scimkit_http_requests_total{class=\"2xx\"} 2",
            "scimkit_http_requests_total{class=\"4xx\"} 1",
            "scimkit_http_requests_total{class=\"5xx\"} 0",
            "scimkit_http_request_duration_seconds_bucket{le=\"0.001\"} 1",
            "scimkit_http_request_duration_seconds_bucket{le=\"0.05\"} 2",
            "scimkit_http_request_duration_seconds_bucket{le=\"10\"} 2",
            "scimkit_http_request_duration_seconds_bucket{le=\"+Inf\"} 3",
            "scimkit_http_request_duration_seconds_count 3",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }
}
