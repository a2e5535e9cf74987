//! The model-based property test: generated operation sequences run against a store, each
//! answer compared with the reference model's.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use proptest::strategy::{Strategy, ValueTree};
use runhook::store::{Claim, ClaimToken, IdempotencyKey, IdempotencyStore, StoreError};

use super::model::{
    Action, Answer, KEYS, MAX_OPS, Millis, Model, Step, TokenId, runner, sequences,
};

/// How many sequences [`run_store_conformance`](super::run_store_conformance) runs through
/// [`run_store_model`]: about 1,400 operations, about a second against a local PostgreSQL or
/// Redis server at rest (several on a busy machine).
pub const MODEL_CASES: u32 = 64;

/// The most sequences run while shrinking a failing one.
const MAX_SHRINK_RUNS: u32 = 256;

/// Runs `cases` generated sequences of operations against `store` and compares every answer
/// with a reference model of the [`IdempotencyStore`] semantics; returns the problems found
/// (empty: the store agrees with the model).
///
/// Each sequence has 1 to 40 operations (claim, renew, complete, release, state) on 3 keys of
/// its own (`{namespace}{case}:k0` to `k2`, so sequences never interfere, also on a shared
/// server), at virtual times that start at the current time (whole milliseconds) and move
/// forward by random steps: none, whole seconds (landing exactly on lease and retention ends),
/// fractions of a second, and steps longer than any lease (1 to 5 s) and retention (3 to 30
/// s), so lease expiry, takeovers and the end of retention all occur. Renew, complete and
/// release use a token handed out earlier in the sequence (the current holder's, a stale one,
/// another key's) or one never handed out, so fencing is exercised. A whole sequence spans
/// well under [`PURGE_MARGIN`](crate::PURGE_MARGIN), the time durable stores keep an abandoned claim.
///
/// Tokens are opaque: the model numbers its own (`#0`, `#1`, … in the order of acquisition)
/// and maps each token a store returns with `Acquired` to the model's; an acquisition must
/// return a token not handed out before in the sequence. The time left of `InFlight` must
/// match to the millisecond (the unit durable stores keep).
///
/// Sequences run one after another, never at once: a store may purge expired keys with the
/// `now` of any call (as `SqliteStore` does every 100 claims), which must not reach into a
/// sequence still running at an earlier virtual time.
///
/// The sequences come from a fixed seed, so a failure reproduces. The first failing sequence
/// is shrunk (up to 256 reruns, on fresh keys), and reported with the operation that
/// disagreed (its index, time, expected and actual answer) and the whole sequence up to it.
pub async fn run_store_model<S>(store: Arc<S>, namespace: &str, cases: u32) -> Vec<String>
where
    S: IdempotencyStore + ?Sized,
{
    let t0 = start();
    let mut runner = runner(cases);
    let strategy = sequences();
    let mut first = None;
    let mut failed = 0;
    for case in 0..cases {
        let tree = match strategy.new_tree(&mut runner) {
            Ok(tree) => tree,
            Err(reason) => return vec![format!("model: cannot generate case {case}: {reason}")],
        };
        if let Err(failure) = run(&*store, namespace, &case.to_string(), t0, &tree.current()).await
        {
            failed += 1;
            first.get_or_insert((case, tree, failure));
        }
    }
    let Some((case, tree, failure)) = first else {
        return Vec::new();
    };
    let original = tree.current().len();
    let (steps, failure, runs) = shrink(&*store, namespace, case, t0, tree, failure).await;
    vec![format!(
        "model case {case} ({failed} of {cases} cases failed; shrunk from {original} to {} ops \
         in {runs} reruns, keys {}k0..k{}): op {} at {}: {}: expected {}, got {}\n{}",
        steps.len(),
        failure.keys,
        KEYS - 1,
        failure.index,
        seconds(failure.at),
        failure.op,
        failure.expected,
        failure.actual,
        failure.transcript.join("\n"),
    )]
}

/// The first disagreement of a sequence with the model.
struct Failure {
    /// The prefix of the sequence's keys.
    keys: String,
    /// The index of the operation (past the last one for the final state checks).
    index: usize,
    /// When it ran, from the start of the sequence.
    at: Millis,
    /// The operation.
    op: String,
    expected: Answer,
    actual: Answer,
    /// Every operation up to this one, with the store's answer.
    transcript: Vec<String>,
}

/// One operation run, as the transcript of a failure shows it.
struct Record {
    at: Millis,
    op: Op,
    actual: Answer,
}

/// An operation with its token resolved; `last` for the state checks after the sequence.
struct Op {
    action: Action,
    token: Option<Option<TokenId>>,
    last: bool,
}

impl Op {
    fn describe(&self) -> String {
        let op = self.action.describe(self.token);
        if self.last {
            format!("{op} after the last op")
        } else {
            op
        }
    }
}

/// Runs `steps` on the keys `{namespace}{label}:k…` from `t0`, and after them checks the state
/// of every key.
async fn run<S: IdempotencyStore + ?Sized>(
    store: &S,
    namespace: &str,
    label: &str,
    t0: SystemTime,
    steps: &[Step],
) -> Result<(), Failure> {
    let prefix = format!("{namespace}{label}:");
    let keys: [IdempotencyKey; KEYS] =
        std::array::from_fn(|k| IdempotencyKey::new(format!("{prefix}k{k}")));
    let mut model = Model::default();
    let mut tokens: Vec<ClaimToken> = Vec::with_capacity(MAX_OPS);
    let mut records = Vec::with_capacity(steps.len() + KEYS);
    let mut now: Millis = 0;
    let checks = steps
        .iter()
        .map(|step| (step.wait, step.action.clone(), false))
        .chain((0..KEYS).map(|key| (0, Action::State { key }, true)));
    for (wait, action, last) in checks {
        now += wait;
        let token = model.token(&action);
        let expected = model.apply(&action, token, now);
        let key = &keys[action.key() % KEYS];
        let held = token
            .flatten()
            .and_then(|id: TokenId| tokens.get(id).copied());
        let at = t0 + Duration::from_millis(now);
        let actual = ask(store, key, &action, held, at, &mut tokens).await;
        let disagreement = (actual != expected).then(|| actual.clone());
        let op = Op {
            action,
            token,
            last,
        };
        let described = disagreement.as_ref().map(|_| op.describe());
        records.push(Record {
            at: now,
            op,
            actual,
        });
        if let (Some(actual), Some(op)) = (disagreement, described) {
            let transcript = records
                .iter()
                .enumerate()
                .map(|(index, record)| {
                    format!(
                        "  #{index} at {}: {} -> {}",
                        seconds(record.at),
                        record.op.describe(),
                        record.actual
                    )
                })
                .collect();
            return Err(Failure {
                keys: prefix,
                index: records.len() - 1,
                at: now,
                op,
                expected,
                actual,
                transcript,
            });
        }
    }
    Ok(())
}

/// Runs `action` on the store and translates its answer into the model's terms; a token it
/// acquires that was not handed out before is added to `tokens`.
async fn ask<S: IdempotencyStore + ?Sized>(
    store: &S,
    key: &IdempotencyKey,
    action: &Action,
    token: Option<ClaimToken>,
    at: SystemTime,
    tokens: &mut Vec<ClaimToken>,
) -> Answer {
    let settled = |result: Result<(), StoreError>| match result {
        Ok(()) => Answer::Settled,
        Err(StoreError::NotHeld { key: not_held }) if not_held == *key => Answer::NotHeld,
        Err(error) => Answer::Error(error.to_string()),
    };
    // A token never handed out: the largest, which no counter reaches.
    let token = token.unwrap_or(ClaimToken::new(u64::MAX));
    let ms = Duration::from_millis;
    match *action {
        Action::Claim { lease, .. } => match store.claim(key, at, ms(lease)).await {
            Ok(Claim::Acquired(token)) => match tokens.iter().position(|seen| *seen == token) {
                Some(id) => Answer::AcquiredAgain(id),
                None => {
                    tokens.push(token);
                    Answer::Acquired(tokens.len() - 1)
                }
            },
            Ok(Claim::InFlight { retry_after }) => Answer::InFlight(retry_after),
            Ok(Claim::Done) => Answer::Done,
            Err(error) => Answer::Error(error.to_string()),
        },
        Action::Renew { lease, .. } => settled(store.renew(key, token, at, ms(lease)).await),
        Action::Complete { retention, .. } => {
            settled(store.complete(key, token, at, ms(retention)).await)
        }
        Action::Release { .. } => settled(store.release(key, token, at).await),
        Action::State { .. } => match store.state(key, at).await {
            Ok(state) => Answer::State(state),
            Err(error) => Answer::Error(error.to_string()),
        },
    }
}

/// Shrinks a failing sequence the way proptest does (simplify while it fails, complicate when
/// it passes), rerunning each candidate on fresh keys; returns the smallest failing sequence,
/// its failure and the number of reruns.
async fn shrink<S, T>(
    store: &S,
    namespace: &str,
    case: u32,
    t0: SystemTime,
    mut tree: T,
    mut failure: Failure,
) -> (Vec<Step>, Failure, u32)
where
    S: IdempotencyStore + ?Sized,
    T: ValueTree<Value = Vec<Step>>,
{
    let mut steps = tree.current();
    let mut runs = 0;
    if !tree.simplify() {
        return (steps, failure, runs);
    }
    while runs < MAX_SHRINK_RUNS {
        runs += 1;
        let candidate = tree.current();
        let label = format!("{case}.{runs}");
        let more = match run(store, namespace, &label, t0, &candidate).await {
            Err(smaller) => {
                failure = smaller;
                steps = candidate;
                tree.simplify()
            }
            Ok(()) => tree.complicate(),
        };
        if !more {
            break;
        }
    }
    (steps, failure, runs)
}

/// The current time, truncated to whole milliseconds (the unit durable stores keep), so the
/// time left on a lease is exact in every store.
fn start() -> SystemTime {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    UNIX_EPOCH + Duration::new(since.as_secs(), since.subsec_millis() * 1_000_000)
}

/// `+12.345 s`.
fn seconds(at: Millis) -> String {
    format!("+{}.{:03} s", at / 1_000, at % 1_000)
}
