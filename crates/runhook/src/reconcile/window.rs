//! The sweep's time rules: where a listing starts, how the watermark moves, when a watched run
//! is given up.

use std::time::{Duration, SystemTime};

/// How far back the first sweep looks when no watermark is set: 72 hours.
pub const DEFAULT_LOOKBACK: Duration = Duration::from_secs(72 * 3600);

/// How far behind the newest creation time seen the watermark is set: 60 seconds. The list's
/// order among runs created at the same time is not guaranteed, and a run created a moment
/// before another may be committed after it, so the next sweep lists this margin again (runs
/// already seen are skipped).
pub const DEFAULT_OVERLAP: Duration = Duration::from_secs(60);

/// The creation time a sweep lists runs after: the watermark, or `now - lookback` for the first
/// sweep.
pub fn list_from(watermark: Option<SystemTime>, now: SystemTime, lookback: Duration) -> SystemTime {
    watermark.unwrap_or_else(|| not_before_epoch(now.checked_sub(lookback)))
}

/// The watermark after a sweep that saw runs created up to `newest`: `newest - overlap`, never
/// behind `current` (a watermark only moves forward).
pub fn advance(current: SystemTime, newest: SystemTime, overlap: Duration) -> SystemTime {
    not_before_epoch(newest.checked_sub(overlap)).max(current)
}

/// `time`, or the Unix epoch if it is earlier or out of range (no run is created before it).
fn not_before_epoch(time: Option<SystemTime>) -> SystemTime {
    time.map_or(SystemTime::UNIX_EPOCH, |time| {
        time.max(SystemTime::UNIX_EPOCH)
    })
}

/// Whether a run watched since `since` has been watched for longer than `lookback` at `now`,
/// and is given up.
pub fn expired(since: SystemTime, now: SystemTime, lookback: Duration) -> bool {
    now.duration_since(since)
        .is_ok_and(|watched| watched > lookback)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn the_first_sweep_looks_back_and_later_ones_start_at_the_watermark() {
        let lookback = Duration::from_secs(100);
        assert_eq!(list_from(None, at(1_000), lookback), at(900));
        assert_eq!(list_from(Some(at(950)), at(1_000), lookback), at(950));
        // A watermark older than the lookback is kept: nothing between is skipped.
        assert_eq!(list_from(Some(at(10)), at(1_000), lookback), at(10));
        assert_eq!(list_from(None, at(5), lookback), SystemTime::UNIX_EPOCH);
    }

    #[test]
    fn the_watermark_trails_the_newest_run_by_the_overlap_and_never_moves_back() {
        let overlap = Duration::from_secs(60);
        assert_eq!(advance(at(100), at(1_000), overlap), at(940));
        assert_eq!(advance(at(990), at(1_000), overlap), at(990));
        assert_eq!(advance(at(0), at(30), overlap), at(0));
    }

    #[test]
    fn a_run_is_given_up_only_once_watched_for_longer_than_the_lookback() {
        let lookback = Duration::from_secs(100);
        assert!(!expired(at(900), at(1_000), lookback));
        assert!(expired(at(899), at(1_000), lookback));
        // A `since` in the future (another replica's clock) is not expired.
        assert!(!expired(at(2_000), at(1_000), lookback));
    }
}
