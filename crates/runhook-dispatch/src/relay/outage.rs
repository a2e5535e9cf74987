//! Whether the target is up or down: the state behind [`TargetHealth::Down`], `StillDown` and
//! `Up`, the probe and the periodic count while it is down, the pull-forward of waiting rows
//! when it comes back, and the [`TARGET_UP`] gauge.
//!
//! Times are the tokio clock's ([`Instant`]): a test pauses it and moves it on.

use std::net::SocketAddr;
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};

use runhook::inbox::{Inbox, InboxFilter, InboxState, RowFilter};
use tokio::net::{TcpStream, lookup_host};
use tokio::time::{Instant, sleep, timeout};

use super::forwarder::POLICY;
use super::health::{Health, TargetHealth};
use crate::sender::Target;

/// Gauge, by `target` (the forward URL, its secrets redacted): 1 while the relay's target is up,
/// 0 while it is down (see [`TargetHealth::Down`]). Recorded through the `metrics` facade.
pub const TARGET_UP: &str = "runhook_relay_target_up";

/// The label of [`TARGET_UP`]: the target's URL, redacted.
pub const TARGET: &str = "target";

/// How long the inbox may take to pull rows forward or count them before the forwarder goes on
/// without the answer.
const INBOX_WAIT: Duration = Duration::from_secs(10);

/// How long a probe's connection to the target may take to open.
const PROBE_WAIT: Duration = Duration::from_secs(1);

/// Registers the description of the relay's metrics ([`TARGET_UP`]) with the installed
/// recorder (call it once, after installing the recorder; recording works without it).
pub fn describe_metrics() {
    metrics::describe_gauge!(
        TARGET_UP,
        metrics::Unit::Count,
        "Whether the relay's forward target is up (1) or down (0)."
    );
}

/// Sets [`TARGET_UP`] of `target`.
pub(super) fn record_up(target: &Target, up: bool) {
    let value = if up { 1.0 } else { 0.0 };
    metrics::gauge!(TARGET_UP, TARGET => target.to_string()).set(value);
}

/// Records that `target` went down.
pub(super) fn went_down(target: &Target) {
    record_up(target, false);
}

/// Records that `target` came back.
pub(super) fn came_back(target: &Target) {
    record_up(target, true);
}

/// Up or down, and the failures in a row that count towards down.
#[derive(Debug, Default)]
pub(crate) struct Outage {
    /// While up: failures in a row, and when the first of them happened.
    failures: u32,
    first_failure: Option<Instant>,
    /// While down: since when (the first failure of the run that made it down).
    down_since: Option<Instant>,
    /// Counts outages, so that a ticker or a recovery acts on its own outage only.
    number: u64,
    /// A 2xx came while down, and the waiting rows are being pulled forward.
    recovering: bool,
}

impl Outage {
    /// Whether the target is down (recovering included: it is told up once its rows are due).
    pub(crate) fn is_down(&self) -> bool {
        self.down_since.is_some()
    }

    /// A failure for the target at `now`: the number of the outage it starts, if it makes the
    /// target down (the `down_after`-th in a row while up).
    pub(crate) fn failed(&mut self, now: Instant, down_after: u32) -> Option<u64> {
        if self.is_down() {
            return None;
        }
        self.failures = self.failures.saturating_add(1);
        let first = *self.first_failure.get_or_insert(now);
        if self.failures < down_after {
            return None;
        }
        self.failures = 0;
        self.first_failure = None;
        self.down_since = Some(first);
        self.number += 1;
        Some(self.number)
    }

    /// A 2xx: ends a run of failures; while down, the number of the outage to recover from (once:
    /// other 2xx during the recovery are not).
    pub(crate) fn succeeded(&mut self) -> Option<u64> {
        self.failures = 0;
        self.first_failure = None;
        if !self.is_down() || self.recovering {
            return None;
        }
        self.recovering = true;
        Some(self.number)
    }

    /// The recovery from outage `number` is done at `now`: the target is up; how long it was
    /// down.
    pub(crate) fn recovered(&mut self, number: u64, now: Instant) -> Option<Duration> {
        if number != self.number || !self.recovering {
            return None;
        }
        self.recovering = false;
        let since = self.down_since.take()?;
        Some(now.saturating_duration_since(since))
    }

    /// How long outage `number` has lasted at `now`, if it is still on.
    pub(crate) fn down_for(&self, number: u64, now: Instant) -> Option<Duration> {
        let since = self.down_since.filter(|_| number == self.number)?;
        Some(now.saturating_duration_since(since))
    }
}

/// Makes every row of `inbox` waiting for a later attempt due now; how many, or `None` if the
/// inbox failed or took too long (logged: the rows then go at their scheduled times).
pub(super) async fn pull_forward(inbox: &dyn Inbox) -> Option<u64> {
    let every = RowFilter::all();
    let pulling = inbox.retry_pending(&every, SystemTime::now());
    match timeout(INBOX_WAIT, pulling).await {
        Ok(Ok(count)) => Some(count),
        Ok(Err(error)) => {
            tracing::warn!(%error, "the inbox could not make the waiting rows due");
            None
        }
        Err(_) => {
            tracing::warn!("the inbox did not make the waiting rows due in time");
            None
        }
    }
}

/// The rows of `inbox` not yet forwarded (pending, held or not), or `None` if it failed.
async fn waiting(inbox: &dyn Inbox) -> Option<u64> {
    match timeout(INBOX_WAIT, inbox.depth(SystemTime::now())).await {
        Ok(Ok(depth)) => Some(depth.pending + depth.in_flight),
        _ => None,
    }
}

/// Spawns the task that, while outage `number` lasts, probes the target every `probe_every` (a
/// TCP connection: when its port opens after being closed, the oldest waiting row of `inbox` is
/// made due, so that its attempt finds out whether the target is back, however long the rows'
/// backoff has grown) and tells
/// [`TargetHealth::StillDown`] every `still_down_every` (on the current tokio runtime; none
/// outside one). It holds the health weakly: a dropped forwarder stops it.
pub(super) fn spawn_ticker(
    health: &Arc<Health>,
    target: &Target,
    inbox: Option<&Arc<dyn Inbox>>,
    number: u64,
) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let ticker = still_down(
        Arc::downgrade(health),
        target.clone(),
        inbox.cloned(),
        number,
        (health.probe_every, health.still_down_every),
    );
    runtime.spawn(ticker);
}

async fn still_down(
    health: Weak<Health>,
    target: Target,
    inbox: Option<Arc<dyn Inbox>>,
    number: u64,
    (probe_every, still_down_every): (Duration, Duration),
) {
    let mut next_count = still_down_every;
    let mut was_reachable = false;
    loop {
        sleep(probe_every.min(still_down_every)).await;
        let Some(down_for) = health
            .upgrade()
            .and_then(|health| health.lock().outage.down_for(number, Instant::now()))
        else {
            return;
        };
        if let Some(inbox) = &inbox {
            // One attempt when the target's port opens again, not one per probe: a row's
            // attempts are not spent on a target that is known to be down.
            let reachable = reachable(&target).await;
            if reachable && !was_reachable {
                probe(inbox.as_ref()).await;
            }
            was_reachable = reachable;
        }
        if down_for < next_count {
            continue;
        }
        next_count = next_count.saturating_add(still_down_every);
        let waiting = match &inbox {
            Some(inbox) => waiting(inbox.as_ref()).await,
            None => None,
        };
        let Some(health) = health.upgrade() else {
            return;
        };
        let state = health.lock();
        let Some(down_for) = state.outage.down_for(number, Instant::now()) else {
            return;
        };
        let down_ms = u64::try_from(down_for.as_millis()).unwrap_or(u64::MAX);
        tracing::warn!(url = %target, waiting, down_ms, "the forward target is still down");
        health.tell(&target, &TargetHealth::StillDown { waiting, down_for });
        drop(state);
    }
}

/// Whether a TCP connection to `target` opens, within [`PROBE_WAIT`] (its addresses checked
/// against the relay's address rules, as for a forward; nothing is sent, and it is closed at
/// once).
async fn reachable(target: &Target) -> bool {
    let addresses: Vec<SocketAddr> = match target.ip() {
        Some(ip) => vec![SocketAddr::new(ip, target.port())],
        None => match timeout(PROBE_WAIT, lookup_host((target.host(), target.port()))).await {
            Ok(Ok(found)) => found.collect(),
            _ => return false,
        },
    };
    for address in addresses.into_iter().filter(|a| POLICY.allows(a.ip())) {
        if let Ok(Ok(_)) = timeout(PROBE_WAIT, TcpStream::connect(address)).await {
            return true;
        }
    }
    false
}

/// Makes the oldest pending row of `inbox` due now, if it waits for a later attempt (errors are
/// ignored: the next probe tries again).
async fn probe(inbox: &dyn Inbox) {
    let oldest = InboxFilter::first(1).in_state(InboxState::Pending);
    let Ok(Ok(rows)) = timeout(INBOX_WAIT, inbox.list(&oldest)).await else {
        return;
    };
    if let Some(row) = rows.into_iter().next() {
        let one = RowFilter::all().with_key(row.key);
        let _ = timeout(INBOX_WAIT, inbox.retry_pending(&one, SystemTime::now())).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use bytes::Bytes;
    use runhook::inbox::{MemoryInbox, NewInboxEntry, Settlement};
    use runhook::store::IdempotencyKey;

    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    type Told = Arc<Mutex<Vec<TargetHealth>>>;

    fn health(told: &Told) -> Arc<Health> {
        let told = Arc::clone(told);
        let observer = Box::new(move |_: &Target, change: &TargetHealth| {
            told.lock().unwrap().push(change.clone());
        });
        Arc::new(Health::new(Some(observer), 3, SECOND * 2, SECOND * 30))
    }

    /// A target on a closed port: probes never find it open.
    fn target() -> Target {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Target::check(
            &format!("http://127.0.0.1:{port}/hook?token=s3cret"),
            runhook::AddressPolicy::local_development(),
        )
        .unwrap()
    }

    /// An inbox of `rows` rows, each failed once and waiting an hour for its next attempt.
    async fn waiting_inbox(rows: usize) -> Arc<dyn Inbox> {
        let inbox = MemoryInbox::new();
        let now = SystemTime::now();
        for i in 0..rows {
            let key = IdempotencyKey::new(format!("run-{i}"));
            let record = NewInboxEntry::new(key, "run.completed", now, Bytes::new());
            inbox.insert(record, now).await.unwrap();
        }
        for claim in inbox.claim_due(now, SECOND * 30, rows).await.unwrap() {
            let retry = Settlement::Retry {
                at: now + SECOND * 3600,
                error: "down".into(),
            };
            inbox
                .settle(&claim.entry.key, claim.token, now, retry)
                .await
                .unwrap();
        }
        Arc::new(inbox)
    }

    #[test]
    fn down_after_n_failures_in_a_row_and_a_success_resets_the_run() {
        let t0 = Instant::now();
        let mut outage = Outage::default();
        assert_eq!(outage.failed(t0, 3), None);
        assert_eq!(outage.failed(t0 + SECOND, 3), None);
        assert_eq!(outage.succeeded(), None, "up: nothing to recover");
        assert_eq!(outage.failed(t0 + SECOND * 2, 3), None);
        assert_eq!(outage.failed(t0 + SECOND * 3, 3), None);
        assert_eq!(outage.failed(t0 + SECOND * 4, 3), Some(1));
        assert!(outage.is_down());
        assert_eq!(outage.failed(t0 + SECOND * 5, 3), None, "told once");
        // Down since the first failure of the run that made it down.
        assert_eq!(outage.down_for(1, t0 + SECOND * 10), Some(SECOND * 8));
        assert_eq!(outage.succeeded(), Some(1));
        assert_eq!(outage.succeeded(), None, "one recovery per outage");
        assert!(outage.is_down(), "down until its rows are due");
        assert_eq!(outage.recovered(1, t0 + SECOND * 12), Some(SECOND * 10));
        assert!(!outage.is_down());
        assert_eq!(outage.down_for(1, t0 + SECOND * 13), None);
        assert_eq!(outage.failed(t0 + SECOND * 14, 1), Some(2));
    }

    #[tokio::test(start_paused = true)]
    async fn one_line_down_a_count_every_30_s_and_one_line_up_with_the_rows_pulled_forward() {
        let told = Told::default();
        let health = health(&told);
        let target = target();
        let inbox = waiting_inbox(20).await;
        for _ in 0..50 {
            health.failed(&target, "cannot connect to the app", Some(&inbox));
        }
        assert!(health.is_down());
        assert_eq!(
            *told.lock().unwrap(),
            vec![TargetHealth::Down {
                error: "cannot connect to the app".into()
            }],
            "one change for 50 failures"
        );
        tokio::time::sleep(SECOND * 65).await;
        let still: Vec<TargetHealth> = told.lock().unwrap().drain(1..).collect();
        assert_eq!(
            still,
            vec![
                TargetHealth::StillDown {
                    waiting: Some(20),
                    down_for: SECOND * 30
                },
                TargetHealth::StillDown {
                    waiting: Some(20),
                    down_for: SECOND * 60
                },
            ]
        );
        health.succeeded(&target, Some(&inbox)).await;
        health.succeeded(&target, Some(&inbox)).await;
        assert!(!health.is_down());
        let up: Vec<TargetHealth> = told.lock().unwrap().drain(1..).collect();
        assert_eq!(
            up,
            vec![TargetHealth::Up {
                waiting: Some(20),
                down_for: SECOND * 65
            }],
            "its port stayed closed: no row was probed, all 20 waited"
        );
        let due = inbox.claim_due(SystemTime::now(), SECOND, 100).await;
        assert_eq!(due.unwrap().len(), 20, "every waiting row is due at once");
        // Up: the ticker has stopped.
        tokio::time::sleep(SECOND * 120).await;
        assert_eq!(told.lock().unwrap().len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn without_an_inbox_the_counts_are_unknown_and_a_dropped_forwarder_stops_the_ticker() {
        let told = Told::default();
        let health = health(&told);
        let target = target();
        for _ in 0..3 {
            health.failed(&target, "the app answered 503 Service Unavailable", None);
        }
        tokio::time::sleep(SECOND * 31).await;
        assert_eq!(
            told.lock().unwrap()[1],
            TargetHealth::StillDown {
                waiting: None,
                down_for: SECOND * 30
            }
        );
        drop(health);
        tokio::time::sleep(SECOND * 300).await;
        assert_eq!(told.lock().unwrap().len(), 2, "no count after the drop");
    }
}
