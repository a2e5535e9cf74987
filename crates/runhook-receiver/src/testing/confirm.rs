//! The conformance suite of a [`RunConfirmer`]: what it answers for runs the API knows and
//! runs it does not, and what a receiver confirming with it does with genuine and forged events.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use runhook::{Event, HandlerOutcome, Run, RunId, RunStatus};

use crate::testing::post_event;
use crate::{Receiver, RunConfirmer, handler_fn};

/// Checks `confirmer` against an API that knows every run of `known` (each with a run id and a
/// terminal status) and does not know `unknown`, then panics with every problem found.
///
/// 1. `fetch` of each known run answers that run: same id, same status (and same goal, when the
///    known run has one); eight concurrent fetches agree.
/// 2. `fetch` of `unknown` answers `Ok(None)`.
/// 3. A receiver that confirms with it accepts each known run's webhook (200, the handler
///    called once, with the confirmer's run as its data), refuses the same run with another
///    terminal status (401, the handler not called, the run still processable afterwards), and
///    refuses a webhook for `unknown` (401).
///
/// Call it from a `#[tokio::test]`, with a confirmer of your own or runhook-tinyfish's client
/// against an emulator.
pub async fn run_confirmer_suite(confirmer: Arc<dyn RunConfirmer>, known: &[Run], unknown: &RunId) {
    let mut problems = Vec::new();
    for run in known {
        if let Err(problem) = check_known(confirmer.as_ref(), run).await {
            problems.push(problem);
        }
    }
    match confirmer.fetch(unknown).await {
        Ok(None) => {}
        other => problems.push(format!(
            "fetch({unknown}) of an unknown run gave {other:?}, not Ok(None)"
        )),
    }
    for run in known {
        if let Err(problem) = check_receiver(Arc::clone(&confirmer), run, unknown).await {
            problems.push(problem);
        }
    }
    assert!(
        problems.is_empty(),
        "the confirmer does not conform:\n  {}",
        problems.join("\n  ")
    );
}

/// Step 1 for one run.
async fn check_known(confirmer: &dyn RunConfirmer, known: &Run) -> Result<(), String> {
    let (id, status) = id_and_status(known)?;
    let fetches = (0..8).map(|_| confirmer.fetch(&id));
    for answer in futures::future::join_all(fetches).await {
        let run = match answer {
            Ok(Some(run)) => run,
            other => return Err(format!("fetch({id}) gave {other:?}, not the run")),
        };
        if run.run_id.as_ref() != Some(&id) || run.status.as_ref() != Some(&status) {
            return Err(format!(
                "fetch({id}) gave run {:?} in status {:?}, not {id} in {status}",
                run.run_id, run.status
            ));
        }
        if known.goal.is_some() && run.goal != known.goal {
            return Err(format!(
                "fetch({id}) gave the goal {:?}, not {:?}",
                run.goal, known.goal
            ));
        }
    }
    Ok(())
}

/// Step 3 for one run.
async fn check_receiver(
    confirmer: Arc<dyn RunConfirmer>,
    known: &Run,
    unknown: &RunId,
) -> Result<(), String> {
    let (id, status) = id_and_status(known)?;
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(std::sync::Mutex::new(None));
    let (counter, data) = (Arc::clone(&calls), Arc::clone(&seen));
    let receiver = Receiver::builder(handler_fn(move |event| {
        counter.fetch_add(1, Ordering::SeqCst);
        let goal = event.run_event().and_then(|run| run.data.goal.clone());
        if let Ok(mut data) = data.lock() {
            *data = goal;
        }
        async { HandlerOutcome::Ok }
    }))
    .confirm_with(confirmer)
    .build()
    .map_err(|err| err.to_string())?;

    // A forged status first: refused, and it must not block the genuine event.
    let other = [
        RunStatus::Completed,
        RunStatus::Failed,
        RunStatus::Cancelled,
    ]
    .into_iter()
    .find(|other| *other != status)
    .unwrap_or(RunStatus::Failed);
    let forged = webhook(&id, other.clone(), "forged")?;
    let answer = post_event(&receiver, &forged).await;
    if answer.status != 401 {
        return Err(format!(
            "a webhook saying {id} is {other} (the API: {status}) got {}",
            answer.status
        ));
    }
    let stranger = webhook(unknown, RunStatus::Completed, "forged")?;
    let answer = post_event(&receiver, &stranger).await;
    if answer.status != 401 {
        return Err(format!(
            "a webhook for the unknown run {unknown} got {}",
            answer.status
        ));
    }
    if calls.load(Ordering::SeqCst) != 0 {
        return Err("the handler was called for a refused webhook".to_owned());
    }
    let genuine = webhook(&id, status.clone(), "from the webhook")?;
    let answer = post_event(&receiver, &genuine).await;
    if answer.status != 200 || calls.load(Ordering::SeqCst) != 1 {
        return Err(format!(
            "the genuine webhook of {id} got {} with {} handler call(s), not 200 with 1",
            answer.status,
            calls.load(Ordering::SeqCst)
        ));
    }
    let goal = seen.lock().map_err(|err| err.to_string())?.clone();
    if goal.as_deref() == Some("from the webhook") || (known.goal.is_some() && goal != known.goal) {
        return Err(format!(
            "the handler of {id} saw the goal {goal:?}: the webhook's copy, not the API's run"
        ));
    }
    Ok(())
}

fn id_and_status(run: &Run) -> Result<(RunId, RunStatus), String> {
    match (&run.run_id, &run.status) {
        (Some(id), Some(status)) if status.is_terminal() => Ok((id.clone(), status.clone())),
        _ => Err(format!(
            "a known run needs a run id and a terminal status: {run:?}"
        )),
    }
}

/// A webhook for `id` in `status`, whose data carries `goal` (to tell the copies apart).
fn webhook(id: &RunId, status: RunStatus, goal: &str) -> Result<Event, String> {
    let mut run = Run::new(id.clone(), status);
    run.goal = Some(goal.to_owned());
    Event::from_run(run).map_err(|err| err.to_string())
}
