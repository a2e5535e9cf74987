//! What a console reads of an inbox: pages of rows, newest first; activity per minute; the
//! history of a row's attempts.

use std::time::{Duration, SystemTime};

use super::{InboxEntry, RowFilter, RowState, Settlement};
use crate::store::IdempotencyKey;

/// How many attempts of one row its history keeps: the newest ones (a row replayed again and
/// again does not grow without bound).
pub const ATTEMPT_HISTORY_LIMIT: usize = 100;

/// The most rows one [`Inbox::browse`](super::Inbox::browse) returns, whatever its `limit`.
pub const BROWSE_LIMIT_MAX: usize = 500;

/// Which rows [`Inbox::browse`](super::Inbox::browse) returns: newest first (by `received_at`,
/// then key, both descending), optionally of one state and matching a [`RowFilter`], before a
/// cursor, at most `limit` (and never more than [`BROWSE_LIMIT_MAX`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BrowseQuery {
    /// Only rows in this state; `None`: every state.
    pub state: Option<RowState>,
    /// Only rows matching these conditions.
    pub matching: RowFilter,
    /// Only rows before this one in browse order (the last row of the previous page).
    pub before: Option<(SystemTime, IdempotencyKey)>,
    /// At most this many rows.
    pub limit: usize,
}

impl BrowseQuery {
    /// The newest `limit` rows.
    pub fn newest(limit: usize) -> Self {
        BrowseQuery {
            limit,
            ..BrowseQuery::default()
        }
    }

    /// The same query, for rows in `state` only.
    pub fn in_state(mut self, state: RowState) -> Self {
        self.state = Some(state);
        self
    }

    /// The same query, for rows matching `filter` only.
    pub fn matching(mut self, filter: RowFilter) -> Self {
        self.matching = filter;
        self
    }

    /// The same query, for the page after `entry` (older rows).
    pub fn before(mut self, entry: &InboxEntry) -> Self {
        self.before = Some((entry.received_at, entry.key.clone()));
        self
    }

    /// The limit a backend applies: `limit`, at most [`BROWSE_LIMIT_MAX`].
    pub fn effective_limit(&self) -> usize {
        self.limit.min(BROWSE_LIMIT_MAX)
    }

    /// Whether `entry` passes the state, filter and cursor conditions (not the limit).
    pub fn admits(&self, entry: &InboxEntry) -> bool {
        self.state.is_none_or(|state| entry.row_state() == state)
            && self.matching.admits(entry)
            && self
                .before
                .as_ref()
                .is_none_or(|(at, key)| (entry.received_at, &entry.key) < (*at, key))
    }
}

/// What happened in an inbox in one minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ActivityMinute {
    /// The minute's start.
    pub minute: SystemTime,
    /// Rows received in it (by `received_at`).
    pub received: u64,
    /// Rows that became done in it and are still done (by `finished_at`).
    pub processed: u64,
    /// Rows that became dead in it and are still dead (by `finished_at`).
    pub dead: u64,
}

impl ActivityMinute {
    /// An empty minute starting at `minute`.
    pub fn empty(minute: SystemTime) -> Self {
        ActivityMinute {
            minute,
            received: 0,
            processed: 0,
            dead: 0,
        }
    }
}

/// The minutes of an activity window: `minutes` of them, the first starting at `from` rounded
/// down to a whole minute (of the Unix epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ActivityWindow {
    /// The first minute's start, a whole minute.
    pub start: SystemTime,
    /// How many minutes.
    pub minutes: u32,
}

impl ActivityWindow {
    /// The window of `minutes` minutes (at most 1 440) whose first starts at `from` rounded down.
    pub fn new(from: SystemTime, minutes: u32) -> Self {
        let since_epoch = from
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        let start = SystemTime::UNIX_EPOCH
            + Duration::from_secs(since_epoch.as_secs() - since_epoch.as_secs() % 60);
        ActivityWindow {
            start,
            minutes: minutes.min(1_440),
        }
    }

    /// The window of the `minutes` minutes that end with the one holding `now`.
    pub fn ending_at(now: SystemTime, minutes: u32) -> Self {
        let minutes = minutes.clamp(1, 1_440);
        let back = Duration::from_secs(60 * u64::from(minutes - 1));
        Self::new(
            now.checked_sub(back).unwrap_or(SystemTime::UNIX_EPOCH),
            minutes,
        )
    }

    /// Where the window ends (exclusive).
    pub fn end(&self) -> SystemTime {
        self.start + Duration::from_secs(60 * u64::from(self.minutes))
    }

    /// The index of the minute holding `at`, if the window holds it.
    pub fn index(&self, at: SystemTime) -> Option<usize> {
        let offset = at.duration_since(self.start).ok()?;
        let index = usize::try_from(offset.as_secs() / 60).ok()?;
        (index < self.minutes as usize).then_some(index)
    }

    /// Every minute of the window, empty.
    pub fn empty_minutes(&self) -> Vec<ActivityMinute> {
        (0..u64::from(self.minutes))
            .map(|i| ActivityMinute::empty(self.start + Duration::from_secs(60 * i)))
            .collect()
    }
}

/// How an attempt of a row ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AttemptOutcome {
    /// Processed: the row became done.
    Done,
    /// Failed, to be tried again.
    Retry,
    /// Given up: the row became dead.
    Dead,
}

impl AttemptOutcome {
    /// The outcome's name: `done`, `retry` or `dead` (the form stored and printed).
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptOutcome::Done => "done",
            AttemptOutcome::Retry => "retry",
            AttemptOutcome::Dead => "dead",
        }
    }

    /// The outcome named `name` (`done`, `retry` or `dead`).
    pub fn parse(name: &str) -> Option<Self> {
        [
            AttemptOutcome::Done,
            AttemptOutcome::Retry,
            AttemptOutcome::Dead,
        ]
        .into_iter()
        .find(|outcome| outcome.as_str() == name)
    }
}

/// One settled attempt of a row, as its history keeps it. An attempt whose worker died before
/// settling it is counted in the row's `attempts` but has no entry here.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InboxAttempt {
    /// The row's life it belongs to: 0, then one more after each replay.
    pub series: u32,
    /// Its number in its series, from 1.
    pub attempt: u32,
    /// When it was claimed.
    pub started_at: SystemTime,
    /// When it was settled.
    pub finished_at: SystemTime,
    /// How it ended.
    pub outcome: AttemptOutcome,
    /// What went wrong, for a failed attempt (the handler's or the target's answer, or the error).
    pub error: Option<String>,
    /// When the next attempt was due, for an attempt to be retried.
    pub next_at: Option<SystemTime>,
}

impl InboxAttempt {
    /// The history entry of the attempt `attempt` of series `series`, claimed at `started_at` and
    /// settled at `finished_at` as `settlement` says. Every backend records this, and only this.
    pub fn settled(
        series: u32,
        attempt: u32,
        started_at: SystemTime,
        finished_at: SystemTime,
        settlement: &Settlement,
    ) -> Self {
        let (outcome, error, next_at) = match settlement {
            Settlement::Done => (AttemptOutcome::Done, None, None),
            Settlement::Retry { at, error } => {
                (AttemptOutcome::Retry, Some(error.clone()), Some(*at))
            }
            Settlement::Dead { error } => (AttemptOutcome::Dead, Some(error.clone()), None),
        };
        InboxAttempt {
            series,
            attempt,
            started_at,
            finished_at,
            outcome,
            error,
            next_at,
        }
    }

    /// How long it ran (zero if the clocks disagree).
    pub fn duration(&self) -> Duration {
        self.finished_at
            .duration_since(self.started_at)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_starts_on_a_whole_minute_and_holds_its_minutes() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(3_600 + 59);
        let window = ActivityWindow::ending_at(now, 60);
        assert_eq!(
            window.start,
            SystemTime::UNIX_EPOCH + Duration::from_secs(60)
        );
        assert_eq!(
            window.end(),
            SystemTime::UNIX_EPOCH + Duration::from_secs(3_660)
        );
        assert_eq!(window.index(now), Some(59));
        assert_eq!(window.index(window.end()), None);
        assert_eq!(window.index(SystemTime::UNIX_EPOCH), None);
        assert_eq!(window.empty_minutes().len(), 60);
    }
}
