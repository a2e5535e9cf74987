//! How the targets are built for libFuzzer on a stable toolchain, and what libFuzzer's output
//! says.
//!
//! libFuzzer comes from the `libfuzzer-sys` crate (a dependency of `fuzz/`), which compiles it
//! from the LLVM sources it ships with the C++ compiler the `cc` crate finds (`c++`, `g++` or
//! `clang++`; `CXX` chooses another): nothing is downloaded and no nightly toolchain is needed.
//! cargo-fuzz's nightly-only part is the sanitizer (`-Zsanitizer`), which runhook does not need
//! (no `unsafe` code): the coverage instrumentation libFuzzer steers by is LLVM's SanitizerCoverage
//! pass, which stable `rustc` runs with the flags below, the ones cargo-fuzz passes.

/// The `rustc` flags of the fuzz build: `cfg(fuzzing)` and SanitizerCoverage's inline 8-bit
/// counters, PC table and comparison tracing (what cargo-fuzz passes, without a sanitizer).
pub const RUSTFLAGS: [&str; 7] = [
    "--cfg=fuzzing",
    "-Cpasses=sancov-module",
    "-Cllvm-args=-sanitizer-coverage-level=4",
    "-Cllvm-args=-sanitizer-coverage-inline-8bit-counters",
    "-Cllvm-args=-sanitizer-coverage-pc-table",
    "-Cllvm-args=-sanitizer-coverage-trace-compares",
    "-Cllvm-args=-sanitizer-coverage-stack-depth",
];

/// The longest input libFuzzer makes (the largest fixture bodies are cut to it).
pub const MAX_LEN: usize = 64 * 1024;

/// The prefixes of the files libFuzzer writes for an input that failed.
pub const ARTIFACT_PREFIXES: [&str; 4] = ["crash-", "timeout-", "oom-", "leak-"];

/// What a run of one target reported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Inputs executed.
    pub execs: u64,
    /// Coverage: the code edges reached (`cov:`).
    pub cov: u64,
    /// Features: libFuzzer's finer coverage signal (`ft:`).
    pub ft: u64,
    /// Inputs in the corpus at the end (`corp:`).
    pub corpus: u64,
    /// Where the target panicked and the first line of the message, if it did.
    pub panic: Option<String>,
}

/// Reads libFuzzer's output: the last status line (`#N ... cov: C ft: F corp: K/...`), the final
/// `stat::number_of_executed_units`, and a panic message.
pub fn parse(log: &str) -> Stats {
    let mut stats = Stats::default();
    let mut lines = log.lines();
    while let Some(line) = lines.next() {
        if let Some(rest) = line.strip_prefix('#')
            && line.contains("cov: ")
        {
            let number = rest.split_whitespace().next().unwrap_or_default();
            stats.execs = number.parse().unwrap_or(stats.execs);
            stats.cov = field(line, "cov:").unwrap_or(stats.cov);
            stats.ft = field(line, "ft:").unwrap_or(stats.ft);
            stats.corpus = field(line, "corp:").unwrap_or(stats.corpus);
        } else if let Some(units) = line.strip_prefix("stat::number_of_executed_units:") {
            stats.execs = units.trim().parse().unwrap_or(stats.execs);
        } else if stats.panic.is_none() && line.contains("panicked at") {
            let message = lines.next().unwrap_or_default();
            stats.panic = Some(format!("{} {}", line.trim(), message.trim()));
        }
    }
    stats
}

/// The number after `name` in a status line (`corp: 12/3Kb` gives 12).
fn field(line: &str, name: &str) -> Option<u64> {
    let after = line.split(name).nth(1)?.trim_start();
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_status_line_and_the_final_stats_are_read() {
        let log = "INFO: Seed: 1\n\
            #2\tINITED cov: 10 ft: 11 corp: 3/1Kb exec/s: 0 rss: 40Mb\n\
            #4096\tpulse  cov: 50 ft: 70 corp: 9/2Kb lim: 4 exec/s: 2048 rss: 41Mb\n\
            #70000\tDONE   cov: 61 ft: 95 corp: 14/3Kb lim: 40 exec/s: 2333 rss: 42Mb\n\
            Done 70000 runs in 31 second(s)\n\
            stat::number_of_executed_units: 70001\n";
        let stats = parse(log);
        assert_eq!(
            (stats.execs, stats.cov, stats.ft, stats.corpus),
            (70001, 61, 95, 14)
        );
        assert_eq!(stats.panic, None);
        let crashed = parse(
            "#5\tNEW cov: 3 ft: 3 corp: 2/9b\nthread '<unnamed>' panicked at src/x.rs:1:2:\nboom\n==1== ERROR: libFuzzer: deadly signal\n",
        );
        assert_eq!(stats.execs, 70001);
        assert_eq!(
            crashed.panic.as_deref(),
            Some("thread '<unnamed>' panicked at src/x.rs:1:2: boom")
        );
    }
}
