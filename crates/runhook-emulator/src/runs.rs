//! The runs kept in memory, with the indexes lists use: by creation number, by status and by
//! creation time. A page of `GET /v1/runs` walks only the index entries between its bounds and
//! stops once it has its runs; its total counts index entries and reads runs only for a `goal`
//! filter. The oldest finished run is found in the status indexes, for eviction.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;

use serde_json::Value;
use time::OffsetDateTime;
use tokio::sync::watch;

use runhook::{RunStatus, Timestamp};

use crate::model::StoredRun;

/// A run and what follows it live.
pub(crate) struct Entry {
    pub(crate) run: StoredRun,
    /// The goal in lower case, for the `goal` filter.
    goal: String,
    /// The SSE frames so far (empty for runs read back from the store).
    pub(crate) frames: Vec<Value>,
    /// Bumped on every change.
    pub(crate) changed: watch::Sender<u64>,
    /// Set when a cancel request stopped the run.
    pub(crate) cancel: watch::Sender<bool>,
}

impl Entry {
    fn new(run: StoredRun) -> Self {
        Entry {
            goal: run.goal().to_lowercase(),
            run,
            frames: Vec::new(),
            changed: watch::Sender::new(0),
            cancel: watch::Sender::new(false),
        }
    }

    /// Tells the watchers of the run that it changed.
    pub(crate) fn bump(&self) {
        self.changed.send_modify(|version| *version += 1);
    }
}

/// The filters, order and page of a `GET /v1/runs`, checked.
#[derive(Debug, Default, Clone)]
pub(crate) struct ListQuery {
    pub(crate) status: Option<RunStatus>,
    /// Lower case: runs whose goal contains it, ignoring case.
    pub(crate) goal: Option<String>,
    pub(crate) after: Option<OffsetDateTime>,
    pub(crate) before: Option<OffsetDateTime>,
    pub(crate) descending: bool,
    /// The creation number of the last run of the previous page.
    pub(crate) cursor: Option<u64>,
    pub(crate) limit: Option<usize>,
}

/// One page of a list.
#[derive(Debug, Default)]
pub(crate) struct Page {
    pub(crate) runs: Vec<StoredRun>,
    /// How many runs match the filters (whatever the cursor).
    pub(crate) total: usize,
    /// The creation number to continue after, when more runs follow.
    pub(crate) next: Option<u64>,
}

/// The index of `status` in [`RunStatus::KNOWN`] (a status the emulator does not know, which
/// it never sets, goes with PENDING).
fn status_slot(status: &RunStatus) -> usize {
    RunStatus::KNOWN
        .iter()
        .position(|s| s == status)
        .unwrap_or_default()
}

/// The creation time of `run`, as an instant (the epoch for a run object without one, which
/// the emulator never makes).
fn created(run: &StoredRun) -> OffsetDateTime {
    run.run
        .created_at
        .as_ref()
        .map_or(OffsetDateTime::UNIX_EPOCH, Timestamp::as_offset_date_time)
}

/// The runs in memory and their indexes. Creation times never decrease with the creation
/// number ([`Runs::created_at`]), so a time range is a range of creation numbers.
#[derive(Default)]
pub(crate) struct Runs {
    entries: HashMap<String, Entry>,
    /// Run ids by creation number.
    by_seq: BTreeMap<u64, String>,
    /// Creation numbers by status.
    by_status: [BTreeSet<u64>; 5],
    /// Creation numbers by creation time.
    by_time: BTreeSet<(OffsetDateTime, u64)>,
    next_seq: u64,
    last_created: Option<Timestamp>,
}

impl Runs {
    /// How many runs are kept.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The creation number of the next run.
    pub(crate) fn next_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    /// The creation time of a new run made at `now`: never before the previous run's.
    pub(crate) fn created_at(&mut self, now: Timestamp) -> Timestamp {
        let at = match self.last_created.take() {
            Some(last) if last > now => last,
            _ => now,
        };
        self.last_created = Some(at.clone());
        at
    }

    /// Keeps `run` (from a create, or read back from the store).
    pub(crate) fn insert(&mut self, run: StoredRun) {
        let seq = run.seq;
        self.next_seq = self.next_seq.max(seq + 1);
        if let Some(created_at) = &run.run.created_at
            && self
                .last_created
                .as_ref()
                .is_none_or(|last| last < created_at)
        {
            self.last_created = Some(created_at.clone());
        }
        self.by_status[status_slot(run.status())].insert(seq);
        self.by_time.insert((created(&run), seq));
        self.by_seq.insert(seq, run.id().to_owned());
        self.entries.insert(run.id().to_owned(), Entry::new(run));
    }

    pub(crate) fn get(&self, id: &str) -> Option<&Entry> {
        self.entries.get(id)
    }

    /// The entry of run `id`, to change. Call [`Runs::restatus`] after changing its status.
    pub(crate) fn get_mut(&mut self, id: &str) -> Option<&mut Entry> {
        self.entries.get_mut(id)
    }

    /// Moves run `seq` from the index of status `old` to that of `new`.
    pub(crate) fn restatus(&mut self, seq: u64, old: &RunStatus, new: &RunStatus) {
        if old != new {
            self.by_status[status_slot(old)].remove(&seq);
            self.by_status[status_slot(new)].insert(seq);
        }
    }

    /// How many runs have finished (and may be evicted).
    pub(crate) fn finished(&self) -> usize {
        RunStatus::KNOWN
            .iter()
            .filter(|status| status.is_terminal())
            .map(|status| self.by_status[status_slot(status)].len())
            .sum()
    }

    /// Removes the oldest finished run: its id, or `None` when every run is in progress.
    pub(crate) fn evict_oldest_finished(&mut self) -> Option<String> {
        let oldest = RunStatus::KNOWN
            .iter()
            .filter(|status| status.is_terminal())
            .filter_map(|status| self.by_status[status_slot(status)].first().copied())
            .min()?;
        let id = self.by_seq.remove(&oldest)?;
        let entry = self.entries.remove(&id)?;
        self.by_status[status_slot(entry.run.status())].remove(&oldest);
        self.by_time.remove(&(created(&entry.run), oldest));
        Some(id)
    }

    /// Every run, in creation order (for `/_emulator/runs`).
    pub(crate) fn all(&self) -> Vec<StoredRun> {
        self.by_seq
            .values()
            .filter_map(|id| self.entries.get(id))
            .map(|entry| entry.run.clone())
            .collect()
    }

    /// The creation numbers a time filter allows, as bounds.
    fn time_bounds(&self, query: &ListQuery) -> Option<(Bound<u64>, Bound<u64>)> {
        let low = match query.after {
            // The first run created strictly after `after`.
            Some(after) => match self
                .by_time
                .range((Bound::Excluded((after, u64::MAX)), Bound::Unbounded))
                .next()
            {
                Some((_, seq)) => Bound::Included(*seq),
                None => return None,
            },
            None => Bound::Unbounded,
        };
        let high = match query.before {
            // The last run created strictly before `before`.
            Some(before) => match self.by_time.range(..(before, 0)).next_back() {
                Some((_, seq)) => Bound::Included(*seq),
                None => return None,
            },
            None => Bound::Unbounded,
        };
        if is_empty((low, high)) {
            return None;
        }
        Some((low, high))
    }

    /// The creation numbers between `bounds`, from the status index when the query has one.
    fn candidates<'a>(
        &'a self,
        query: &ListQuery,
        bounds: (Bound<u64>, Bound<u64>),
    ) -> Box<dyn DoubleEndedIterator<Item = u64> + 'a> {
        match &query.status {
            Some(status) => Box::new(self.by_status[status_slot(status)].range(bounds).copied()),
            None => Box::new(self.by_seq.range(bounds).map(|(seq, _)| *seq)),
        }
    }

    fn entry_of(&self, seq: u64) -> Option<&Entry> {
        self.by_seq.get(&seq).and_then(|id| self.entries.get(id))
    }

    fn goal_matches(&self, seq: u64, goal: Option<&str>) -> bool {
        goal.is_none_or(|goal| self.entry_of(seq).is_some_and(|e| e.goal.contains(goal)))
    }

    /// The page `query` asks for, `limit` runs at most.
    pub(crate) fn page(&self, query: &ListQuery, limit: usize) -> Page {
        let Some(bounds) = self.time_bounds(query) else {
            return Page::default();
        };
        let goal = query.goal.as_deref();
        let total = match (goal, &query.status, bounds) {
            (None, None, (Bound::Unbounded, Bound::Unbounded)) => self.by_seq.len(),
            (None, Some(status), (Bound::Unbounded, Bound::Unbounded)) => {
                self.by_status[status_slot(status)].len()
            }
            (None, _, _) => self.candidates(query, bounds).count(),
            (Some(_), _, _) => self
                .candidates(query, bounds)
                .filter(|seq| self.goal_matches(*seq, goal))
                .count(),
        };
        let (low, high) = bounds;
        let bounds = match query.cursor {
            Some(cursor) if query.descending => (low, tighter_high(high, cursor)),
            Some(cursor) => (tighter_low(low, cursor), high),
            None => (low, high),
        };
        if is_empty(bounds) {
            return Page {
                total,
                ..Page::default()
            };
        }
        let wanted = limit.saturating_add(1);
        let seqs = self.candidates(query, bounds);
        let matching = |seq: &u64| self.goal_matches(*seq, goal);
        let mut shown: Vec<u64> = if query.descending {
            seqs.rev().filter(matching).take(wanted).collect()
        } else {
            seqs.filter(matching).take(wanted).collect()
        };
        let more = shown.len() > limit;
        shown.truncate(limit);
        Page {
            next: if more { shown.last().copied() } else { None },
            runs: shown
                .iter()
                .filter_map(|seq| self.entry_of(*seq))
                .map(|entry| entry.run.clone())
                .collect(),
            total,
        }
    }
}

/// `high`, and below `cursor`.
fn tighter_high(high: Bound<u64>, cursor: u64) -> Bound<u64> {
    match high {
        Bound::Included(h) if h < cursor => Bound::Included(h),
        Bound::Excluded(h) if h <= cursor => Bound::Excluded(h),
        _ => Bound::Excluded(cursor),
    }
}

/// `low`, and above `cursor`.
fn tighter_low(low: Bound<u64>, cursor: u64) -> Bound<u64> {
    match low {
        Bound::Included(l) if l > cursor => Bound::Included(l),
        Bound::Excluded(l) if l >= cursor => Bound::Excluded(l),
        _ => Bound::Excluded(cursor),
    }
}

/// Whether `bounds` hold no number (a `BTreeMap` range of them would panic).
fn is_empty(bounds: (Bound<u64>, Bound<u64>)) -> bool {
    match bounds {
        (Bound::Included(l), Bound::Included(h)) => l > h,
        (Bound::Included(l) | Bound::Excluded(l), Bound::Included(h) | Bound::Excluded(h)) => {
            l >= h
        }
        _ => false,
    }
}
