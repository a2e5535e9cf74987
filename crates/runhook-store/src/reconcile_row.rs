//! The watch list as the durable reconcile states keep it: one row per scope and run id, its
//! `since` in integer milliseconds since the Unix epoch.

use std::collections::HashSet;

use runhook::reconcile::WatchedRun;

use crate::millis::{millis_since_epoch, time_from_millis};

/// `runs` as rows to insert, one per run id: a run id given twice keeps its first `since`, as
/// [`MemoryReconcileState`](runhook::reconcile::MemoryReconcileState) does.
pub(crate) fn watch_rows(runs: &[WatchedRun]) -> Vec<(&str, i64)> {
    let mut seen = HashSet::with_capacity(runs.len());
    runs.iter()
        .filter(|run| seen.insert(run.run_id.as_str()))
        .map(|run| (run.run_id.as_str(), millis_since_epoch(run.since)))
        .collect()
}

/// A row read back as a watched run.
pub(crate) fn watched_run(run_id: String, since_ms: i64) -> WatchedRun {
    WatchedRun::new(run_id, time_from_millis(since_ms))
}

/// A `watched` limit as SQL's `LIMIT`.
pub(crate) fn row_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn a_run_given_twice_keeps_its_first_since() {
        let at = |ms| UNIX_EPOCH + Duration::from_millis(ms);
        let runs = [
            WatchedRun::new("b", at(20)),
            WatchedRun::new("a", at(30)),
            WatchedRun::new("b", at(10)),
        ];
        assert_eq!(watch_rows(&runs), [("b", 20), ("a", 30)]);
        assert_eq!(watched_run("a".into(), 30), runs[1]);
        assert_eq!(row_limit(usize::MAX), i64::MAX);
    }
}
