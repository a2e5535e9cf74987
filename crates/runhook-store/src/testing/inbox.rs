//! The inbox conformance suite: the semantics of [`MemoryInbox`](runhook::inbox::MemoryInbox)
//! that every durable [`Inbox`] must have, checked the same way against each.
//!
//! Time is an argument of every inbox operation, so the suite runs on virtual times (whole
//! milliseconds, as durable inboxes keep them): each case has its own ten days, starting ten
//! days after the previous one, and ends by settling and purging every row it left, so cases
//! never see each other's rows.

mod claims;
mod console;
mod history;
mod retry;
mod rows;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use runhook::inbox::{Inbox, InboxClaim, InboxEntry, Inserted, NewInboxEntry, Purge, Settlement};
use runhook::store::IdempotencyKey;

/// The lease the cases claim with.
const LEASE: Duration = Duration::from_secs(5);
const SECOND: Duration = Duration::from_secs(1);
/// The virtual time each case has to itself.
const CASE_SPAN: Duration = Duration::from_secs(10 * 24 * 60 * 60);

/// Runs every case against `inbox` and returns the problems found (empty: the inbox conforms).
///
/// `inbox` must start empty and have no other user while the suite runs (its `claim_due`
/// would take their rows); `namespace` prefixes every key and `run_id` the suite writes.
pub async fn run_inbox_conformance<I>(inbox: Arc<I>, namespace: &str) -> Vec<String>
where
    I: Inbox + 'static,
{
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let start = UNIX_EPOCH + Duration::from_millis(u64::try_from(now.as_millis()).unwrap_or(0));
    let mut suite = Suite {
        inbox,
        namespace: namespace.to_owned(),
        next: start,
        problems: Vec::new(),
    };
    let c = suite.case();
    suite
        .end(
            "insert: new, then a duplicate in every state",
            &c,
            rows::insert(&c).await,
        )
        .await;
    let c = suite.case();
    suite
        .end(
            "concurrent inserts of one key",
            &c,
            rows::concurrent_inserts(&c).await,
        )
        .await;
    let c = suite.case();
    suite
        .end(
            "claim order, and one row of a run at a time",
            &c,
            claims::order(&c).await,
        )
        .await;
    let c = suite.case();
    suite
        .end(
            "lease takeover after expiry, with fencing",
            &c,
            claims::takeover(&c).await,
        )
        .await;
    let c = suite.case();
    suite
        .end("settle: done, retry, dead", &c, rows::settle(&c).await)
        .await;
    let c = suite.case();
    suite
        .end("replay and replay_dead", &c, rows::replay(&c).await)
        .await;
    let c = suite.case();
    suite
        .end(
            "retry_pending: waiting rows due now, by filter",
            &c,
            retry::retry_pending(&c).await,
        )
        .await;
    let c = suite.case();
    suite.end("purge", &c, rows::purge(&c).await).await;
    let c = suite.case();
    suite
        .end("list: state filter and paging", &c, rows::list(&c).await)
        .await;
    let c = suite.case();
    suite.end("depth", &c, rows::depth(&c).await).await;
    let c = suite.case();
    suite
        .end(
            "body and drift round-trip exactly",
            &c,
            rows::round_trip(&c).await,
        )
        .await;
    let c = suite.case();
    suite
        .end(
            "the source (webhook or reconciler) round-trips",
            &c,
            rows::source(&c).await,
        )
        .await;
    let c = suite.case();
    suite
        .end(
            "browse: newest first, by state, filter and cursor",
            &c,
            console::browse_pages(&c).await,
        )
        .await;
    let c = suite.case();
    suite
        .end("activity per minute", &c, console::activity(&c).await)
        .await;
    let c = suite.case();
    suite
        .end(
            "depth: retrying rows and the oldest pending row",
            &c,
            console::depth_retrying(&c).await,
        )
        .await;
    let c = suite.case();
    suite
        .end(
            "attempt history: series across a replay",
            &c,
            history::attempts(&c).await,
        )
        .await;
    let c = suite.case();
    suite
        .end(
            "attempt history: the newest 100 kept",
            &c,
            history::bounded(&c).await,
        )
        .await;
    let c = suite.case();
    suite
        .end(
            "replay_finished and replay_dead_matching",
            &c,
            history::replays(&c).await,
        )
        .await;
    let c = suite.case();
    suite
        .end("purge_key", &c, history::purge_key(&c).await)
        .await;
    let c = suite.case();
    suite
        .end(
            "concurrent claims from 8 tasks",
            &c,
            claims::concurrent(&c).await,
        )
        .await;
    suite.problems
}

struct Suite<I> {
    inbox: Arc<I>,
    namespace: String,
    next: SystemTime,
    problems: Vec<String>,
}

impl<I: Inbox + 'static> Suite<I> {
    /// The next case's context, in the next stretch of virtual time.
    fn case(&mut self) -> Case<I> {
        let t = self.next;
        self.next = t + CASE_SPAN;
        Case {
            inbox: Arc::clone(&self.inbox),
            namespace: self.namespace.clone(),
            t,
        }
    }

    /// Records the case's result, then settles and purges what it left.
    async fn end(&mut self, name: &str, case: &Case<I>, result: Result<(), String>) {
        if let Err(problem) = result {
            self.problems.push(format!("{name}: {problem}"));
        }
        if let Err(problem) = case.drain().await {
            self.problems
                .push(format!("{name}: cleaning up: {problem}"));
        }
    }
}

/// One case's inbox, namespace and start time `t`.
struct Case<I> {
    inbox: Arc<I>,
    namespace: String,
    t: SystemTime,
}

impl<I: Inbox + 'static> Case<I> {
    /// `secs` seconds into the case.
    fn at(&self, secs: u64) -> SystemTime {
        self.t + SECOND * u32::try_from(secs).unwrap_or(u32::MAX)
    }

    fn key(&self, name: &str) -> IdempotencyKey {
        IdempotencyKey::new(format!("{}{name}", self.namespace))
    }

    /// A record of `name`, of `run` if given, received `secs` seconds into the case.
    fn record(&self, name: &str, run: Option<&str>, secs: u64) -> NewInboxEntry {
        let body = format!(r#"{{"event":"run.completed","name":"{name}"}}"#);
        let record = NewInboxEntry::new(self.key(name), "run.completed", self.at(secs), body);
        match run {
            Some(run) => record.with_run_id(format!("{}{run}", self.namespace)),
            None => record,
        }
    }

    async fn insert(&self, record: NewInboxEntry) -> Result<Inserted, String> {
        let key = record.key.clone();
        let at = record.received_at;
        self.inbox
            .insert(record, at)
            .await
            .map_err(|error| format!("insert of {key}: {error}"))
    }

    /// Inserts `record`, which must be new.
    async fn insert_new(&self, record: NewInboxEntry) -> Result<(), String> {
        let key = record.key.clone();
        let inserted = self.insert(record).await?;
        check(inserted == Inserted::New, || {
            format!("insert of {key}: expected New, got {inserted:?}")
        })
    }

    async fn claim(&self, now: SystemTime, limit: usize) -> Result<Vec<InboxClaim>, String> {
        self.inbox
            .claim_due(now, LEASE, limit)
            .await
            .map_err(|error| format!("claim_due: {error}"))
    }

    /// Claims at `now`, expecting exactly the rows `names`, in that order.
    async fn claim_exactly(
        &self,
        now: SystemTime,
        limit: usize,
        names: &[&str],
    ) -> Result<Vec<InboxClaim>, String> {
        let claims = self.claim(now, limit).await?;
        let got: Vec<&str> = claims
            .iter()
            .map(|claim| claim.entry.key.as_str())
            .collect();
        let expected: Vec<String> = names
            .iter()
            .map(|name| self.key(name).to_string())
            .collect();
        check(got == expected, || {
            format!("claim_due at {now:?} (limit {limit}): expected {expected:?}, got {got:?}")
        })?;
        Ok(claims)
    }

    async fn settle(
        &self,
        claim: &InboxClaim,
        now: SystemTime,
        settlement: Settlement,
    ) -> Result<(), String> {
        let key = &claim.entry.key;
        self.inbox
            .settle(key, claim.token, now, settlement)
            .await
            .map_err(|error| format!("settle of {key}: {error}"))
    }

    async fn get(&self, name: &str) -> Result<InboxEntry, String> {
        let key = self.key(name);
        match self.inbox.get(&key).await {
            Ok(Some(entry)) => Ok(entry),
            other => Err(format!("get of {key}: expected a row, got {other:?}")),
        }
    }

    /// Claims every row left (a day after the case's span began, when every lease and retry
    /// of a case has run out) and settles it done, then purges every finished row: the inbox
    /// must then be empty.
    async fn drain(&self) -> Result<(), String> {
        let late = self.t + CASE_SPAN / 2;
        loop {
            let claims = self.claim(late, 500).await?;
            if claims.is_empty() {
                break;
            }
            for claim in &claims {
                self.settle(claim, late, Settlement::Done).await?;
            }
        }
        for which in [Purge::Done, Purge::Dead] {
            self.inbox
                .purge(which, late + SECOND)
                .await
                .map_err(|error| format!("purge: {error}"))?;
        }
        let depth = self.inbox.depth(late).await;
        check(
            matches!(&depth, Ok(depth) if *depth == Default::default()),
            || format!("rows left after settling and purging everything: {depth:?}"),
        )
    }
}

fn check(condition: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if condition { Ok(()) } else { Err(what()) }
}
