//! Latency samples and counters of a load run.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

/// Latencies of one kind of exchange, in microseconds.
#[derive(Debug, Default, Clone)]
pub struct Samples {
    pub micros: Vec<u32>,
}

impl Samples {
    pub fn push(&mut self, d: Duration) {
        self.micros.push(d.as_micros().min(u32::MAX as u128) as u32);
    }

    pub fn merge(&mut self, other: Samples) {
        self.micros.extend(other.micros);
    }

    pub fn summary(&mut self, wall: Duration) -> Summary {
        self.micros.sort_unstable();
        let n = self.micros.len();
        let pct = |p: f64| -> f64 {
            if n == 0 {
                0.0
            } else {
                self.micros[((n as f64 - 1.0) * p).round() as usize] as f64 / 1000.0
            }
        };
        Summary {
            count: n as u64,
            per_second: n as f64 / wall.as_secs_f64().max(1e-9),
            p50_ms: pct(0.5),
            p90_ms: pct(0.9),
            p99_ms: pct(0.99),
            max_ms: pct(1.0),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub count: u64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// What a worker saw.
#[derive(Debug, Default)]
pub struct Tally {
    pub kinds: BTreeMap<&'static str, Samples>,
    pub errors: BTreeMap<String, u64>,
}

impl Tally {
    pub fn sample(&mut self, kind: &'static str, d: Duration) {
        self.kinds.entry(kind).or_default().push(d);
    }

    pub fn error(&mut self, kind: impl Into<String>) {
        *self.errors.entry(kind.into()).or_default() += 1;
    }

    pub fn merge(&mut self, other: Tally) {
        for (k, v) in other.kinds {
            self.kinds.entry(k).or_default().merge(v);
        }
        for (k, v) in other.errors {
            *self.errors.entry(k).or_default() += v;
        }
    }
}

/// Resident memory of a process from /proc: (current, peak) in bytes.
pub fn rss_of(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        status
            .lines()
            .find(|l| l.starts_with(name))?
            .split_whitespace()
            .nth(1)?
            .parse::<u64>()
            .ok()
            .map(|kb| kb * 1024)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}
