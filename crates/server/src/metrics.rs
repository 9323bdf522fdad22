//! Prometheus metrics, rendered in the text exposition format at `GET /metrics`: request
//! counts and latency histograms per operation, errors by `__type`, requests in flight and
//! refused for load, and the engine's gauges (tables, items, storage). Kept by hand with
//! atomics: a handful of fixed series does not need a metrics library.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use ferrodyn_protocol::Operation;

/// Latency bucket bounds, in seconds.
const BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5,
];

struct OpStats {
    count: AtomicU64,
    /// Cumulative per bucket, plus one for +Inf.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_micros: AtomicU64,
}

impl OpStats {
    fn new() -> Self {
        OpStats {
            count: AtomicU64::new(0),
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_micros: AtomicU64::new(0),
        }
    }
}

pub struct Metrics {
    ops: Vec<OpStats>,
    errors: Mutex<BTreeMap<(&'static str, String), u64>>,
    pub in_flight: AtomicU64,
    pub throttled: AtomicU64,
    pub connections: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            ops: Operation::ALL.iter().map(|_| OpStats::new()).collect(),
            errors: Mutex::new(BTreeMap::new()),
            in_flight: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
            connections: AtomicU64::new(0),
        }
    }
}

fn index(op: Operation) -> usize {
    Operation::ALL.iter().position(|o| *o == op).unwrap_or(0)
}

impl Metrics {
    /// Record one request of `op` that took `took`, and its error type if it failed.
    pub fn record(&self, op: Operation, took: Duration, error: Option<&str>) {
        if let Some(s) = self.ops.get(index(op)) {
            s.count.fetch_add(1, Ordering::Relaxed);
            let secs = took.as_secs_f64();
            let slot = BUCKETS
                .iter()
                .position(|b| secs <= *b)
                .unwrap_or(BUCKETS.len());
            if let Some(b) = s.buckets.get(slot) {
                b.fetch_add(1, Ordering::Relaxed);
            }
            s.sum_micros
                .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
        }
        if let Some(t) = error {
            let short = t.rsplit('#').next().unwrap_or(t).to_owned();
            if let Ok(mut m) = self.errors.lock() {
                *m.entry((op.name(), short)).or_insert(0) += 1;
            }
        }
    }

    /// The exposition text; `gauges` are extra (name, help, value) lines from the engine.
    pub fn render(
        &self,
        gauges: &[(&str, &str, f64)],
        tables: &[ferrodyn_engine::TableSeries],
    ) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP ferrodyn_requests_total Requests answered, by operation.\n# TYPE ferrodyn_requests_total counter"
        );
        for (op, s) in Operation::ALL.iter().zip(&self.ops) {
            let n = s.count.load(Ordering::Relaxed);
            if n > 0 {
                let _ = writeln!(
                    out,
                    "ferrodyn_requests_total{{operation=\"{}\"}} {n}",
                    op.name()
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP ferrodyn_request_duration_seconds Time to answer a request, by operation.\n# TYPE ferrodyn_request_duration_seconds histogram"
        );
        for (op, s) in Operation::ALL.iter().zip(&self.ops) {
            let n = s.count.load(Ordering::Relaxed);
            if n == 0 {
                continue;
            }
            let mut cumulative = 0;
            for (i, b) in s.buckets.iter().enumerate() {
                cumulative += b.load(Ordering::Relaxed);
                let le = BUCKETS.get(i).map_or("+Inf".to_owned(), |x| format!("{x}"));
                let _ = writeln!(
                    out,
                    "ferrodyn_request_duration_seconds_bucket{{operation=\"{}\",le=\"{le}\"}} {cumulative}",
                    op.name()
                );
            }
            let _ = writeln!(
                out,
                "ferrodyn_request_duration_seconds_sum{{operation=\"{}\"}} {}",
                op.name(),
                s.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
            );
            let _ = writeln!(
                out,
                "ferrodyn_request_duration_seconds_count{{operation=\"{}\"}} {n}",
                op.name()
            );
        }
        let _ = writeln!(
            out,
            "# HELP ferrodyn_errors_total Error answers, by operation and __type.\n# TYPE ferrodyn_errors_total counter"
        );
        if let Ok(m) = self.errors.lock() {
            for ((op, t), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "ferrodyn_errors_total{{operation=\"{op}\",type=\"{t}\"}} {n}"
                );
            }
        }
        for (name, help, value, kind) in [
            (
                "ferrodyn_requests_in_flight",
                "Requests being handled now.",
                self.in_flight.load(Ordering::Relaxed) as f64,
                "gauge",
            ),
            (
                "ferrodyn_throttled_total",
                "Requests refused because too many were in flight.",
                self.throttled.load(Ordering::Relaxed) as f64,
                "counter",
            ),
            (
                "ferrodyn_connections",
                "Open client connections.",
                self.connections.load(Ordering::Relaxed) as f64,
                "gauge",
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        }
        for (name, help, value) in gauges {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        }
        for s in tables {
            let _ = writeln!(
                out,
                "# HELP {} {}\n# TYPE {} {}",
                s.name, s.help, s.name, s.kind
            );
            for (table, v) in &s.values {
                // Table names are [A-Za-z0-9_.-]: nothing to escape in a label value.
                let _ = writeln!(out, "{}{{table=\"{table}\"}} {v}", s.name);
            }
        }
        out
    }
}
