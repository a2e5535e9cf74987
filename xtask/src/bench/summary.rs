//! `target/bench/summary.json`: one record per figure, the machine, the load before and after.

use serde::{Deserialize, Serialize};

/// Everything one `cargo xtask bench` run measured.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    /// `true` for `--quick` (short durations, few samples).
    pub quick: bool,
    /// The machine the figures come from.
    pub machine: Machine,
    /// `/proc/loadavg`'s 1, 5 and 15 minute averages before the first benchmark.
    pub load_before: [f64; 3],
    /// The same after the last one.
    pub load_after: [f64; 3],
    /// Wall time of the whole run, build excluded, in seconds.
    pub wall_seconds: f64,
    /// One record per figure.
    pub records: Vec<Record>,
    /// Latency distributions, for the CDF plots.
    pub curves: Vec<Curve>,
    /// What could not be measured, and why (a suite that failed, a server that did not start).
    pub notes: Vec<String>,
}

/// The machine: cores and CPU model.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Machine {
    /// Logical CPUs available to this process.
    pub cores: usize,
    /// `model name` of `/proc/cpuinfo`, or `unknown`.
    pub cpu_model: String,
}

/// One figure, with the baseline it is compared with (measured in the same run) and its target.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Record {
    /// Section of the report this figure belongs to (`adapters`, `stores`, …).
    pub group: String,
    /// Unique name, `group/what`.
    pub name: String,
    /// The figure.
    pub value: f64,
    /// Its unit (`req/s`, `ms`, `ns`, `ops/s`).
    pub unit: String,
    /// Name of the record it is compared with, if any.
    pub baseline: Option<String>,
    /// That record's value.
    pub baseline_value: Option<f64>,
    /// `value / baseline_value` (for times: `baseline_value / value`, so above 1 is faster).
    pub ratio: Option<f64>,
    /// The target, such as `>= 0.7` (on the ratio when there is one, else on the value).
    pub target: Option<String>,
    /// Whether the target is met; `None` without a target.
    pub met: Option<bool>,
}

/// A latency distribution: `(percentile, milliseconds)` points.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Curve {
    /// Which plot it belongs to (`adapters`, `inbox`, …).
    pub group: String,
    /// The series' name.
    pub name: String,
    /// `(percentile 0–100, latency in ms)`, by increasing percentile.
    pub points: Vec<(f64, f64)>,
}

impl Record {
    /// A figure without baseline or target.
    pub fn plain(group: &str, name: &str, value: f64, unit: &str) -> Record {
        Record {
            group: group.to_owned(),
            name: format!("{group}/{name}"),
            value,
            unit: unit.to_owned(),
            baseline: None,
            baseline_value: None,
            ratio: None,
            target: None,
            met: None,
        }
    }

    /// Compares with `baseline` (a record of the same run): a rate's ratio is `value / baseline`.
    pub fn against(mut self, baseline: &Record) -> Record {
        self.ratio = ratio_of(&self.unit, self.value, baseline.value);
        self.baseline = Some(baseline.name.clone());
        self.baseline_value = Some(baseline.value);
        self.evaluate()
    }

    /// Sets the target (`>= X` or `<= X`) and evaluates it.
    pub fn target(mut self, target: &str) -> Record {
        self.target = Some(target.to_owned());
        self.evaluate()
    }

    fn evaluate(mut self) -> Record {
        self.met = self
            .target
            .as_deref()
            .and_then(|t| meets(t, self.ratio.unwrap_or(self.value)));
        self
    }
}

/// Whether `unit` is a time (smaller is better) rather than a rate.
pub fn is_time(unit: &str) -> bool {
    matches!(unit, "ns" | "µs" | "ms" | "s")
}

/// The ratio of a figure to its baseline, so that above 1 is always better for rates and
/// `baseline / value` for times; `None` when the denominator is not positive.
pub fn ratio_of(unit: &str, value: f64, baseline: f64) -> Option<f64> {
    let (top, bottom) = if is_time(unit) {
        (baseline, value)
    } else {
        (value, baseline)
    };
    (bottom > 0.0 && top.is_finite()).then(|| top / bottom)
}

/// Evaluates a target such as `>= 0.7` or `<= 2` on `x`; `None` if the target does not parse.
pub fn meets(target: &str, x: f64) -> Option<bool> {
    let target = target.trim();
    let (op, rest) = if let Some(rest) = target.strip_prefix(">=") {
        (">=", rest)
    } else if let Some(rest) = target.strip_prefix("<=") {
        ("<=", rest)
    } else {
        return None;
    };
    let bound: f64 = rest.trim().parse().ok()?;
    Some(if op == ">=" { x >= bound } else { x <= bound })
}

impl Summary {
    /// The record named `name`.
    pub fn get(&self, name: &str) -> Option<&Record> {
        self.records.iter().find(|r| r.name == name)
    }

    /// The records that have a target, met first then missed, each in run order.
    pub fn targets(&self) -> (Vec<&Record>, Vec<&Record>) {
        let with: Vec<&Record> = self.records.iter().filter(|r| r.target.is_some()).collect();
        with.into_iter().partition(|r| r.met == Some(true))
    }
}

/// `/proc/loadavg`'s three averages (zeros where it cannot be read).
pub fn load_average() -> [f64; 3] {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut out = [0.0; 3];
    for (slot, field) in out.iter_mut().zip(text.split_whitespace()) {
        *slot = field.parse().unwrap_or(0.0);
    }
    out
}

/// This machine's cores and CPU model.
pub fn machine() -> Machine {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or_else(|| "unknown".to_owned(), |(_, m)| m.trim().to_owned());
    Machine { cores, cpu_model }
}
