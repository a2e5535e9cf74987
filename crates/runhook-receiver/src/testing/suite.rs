//! Running the cases against an integration.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{Instant, sleep, timeout_at};

use super::HttpIntegration;
use super::client::{Answer, Client};
use super::harness::Harness;
use super::vectors::{Action, Built, Case, Scenario, Step};

/// How long the suite waits for something it expects to happen (a background handler to
/// finish, held requests to answer).
const PATIENCE: Duration = Duration::from_secs(5);

/// Runs one case; `Err` lists every problem found.
pub(crate) async fn run_case<I: HttpIntegration>(case: &Case) -> Result<(), Vec<String>> {
    let harness = Harness::new(case).map_err(|problem| vec![problem])?;
    let server = I::start(harness.receiver.clone())
        .await
        .map_err(|e| vec![format!("the integration could not start a server: {e}")])?;
    let client = Client::new();
    let mut problems = Vec::new();
    match case.scenario {
        Scenario::Sequential => {
            sequential(case, &harness, &client, server.url(), &mut problems).await
        }
        Scenario::ConcurrentDuplicates => {
            concurrent(case, &harness, &client, server.url(), &mut problems).await
        }
    }
    let calls = harness.recorder.calls();
    if calls != case.calls {
        problems.push(format!(
            "handler calls: expected {:?}, got {:?}",
            case.calls, calls
        ));
    }
    for (key, expected) in &case.store_after {
        if let Some(state) = harness.state(key)
            && state.as_str() != expected
        {
            problems.push(format!(
                "store: key {key:?} is {state}, expected {expected}"
            ));
        }
    }
    server.stop().await;
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

async fn sequential(
    case: &Case,
    harness: &Harness,
    client: &Client,
    url: &str,
    problems: &mut Vec<String>,
) {
    let mut previous: Option<Built> = None;
    for (index, step) in case.steps.iter().enumerate() {
        let at = format!("step {}", index + 1);
        match step.action {
            Some(Action::OpenGate) => harness.open_gate(),
            Some(Action::AdvanceClock) => {
                let Some(ms) = step.ms else {
                    problems.push(format!("{at}: advance_clock needs ms"));
                    return;
                };
                harness.clock.advance(Duration::from_millis(ms));
            }
            Some(Action::AwaitDeadLetter) => {
                let Some(run_id) = &step.key else {
                    problems.push(format!("{at}: await_dead_letter needs key (the run id)"));
                    return;
                };
                if !await_dead_letter(harness, run_id).await {
                    problems.push(format!(
                        "{at}: no dead letter for run {run_id:?} within {PATIENCE:?}"
                    ));
                    return;
                }
            }
            Some(Action::AwaitStore) => {
                let (Some(key), Some(expected)) = (&step.key, &step.state) else {
                    problems.push(format!("{at}: await_store needs key and state"));
                    return;
                };
                if !await_state(harness, key, expected).await {
                    problems.push(format!(
                        "{at}: key {key:?} did not become {expected} within {PATIENCE:?}"
                    ));
                    return;
                }
            }
            None => {
                let request = match (&step.request, &previous) {
                    (Some(request), _) => match request.build() {
                        Ok(built) => built,
                        Err(e) => {
                            problems.push(format!("{at}: {e}"));
                            return;
                        }
                    },
                    (None, Some(previous)) => previous.clone(),
                    (None, None) => {
                        problems.push(format!("{at}: no request to repeat"));
                        return;
                    }
                };
                match client.send(url, &request).await {
                    Ok(answer) => check_answer(&at, step, &answer, problems),
                    Err(e) => problems.push(format!("{at}: {e}")),
                }
                previous = Some(request);
            }
        }
    }
}

/// Sends the first step's request `parallel` times at once while the handler is held.
async fn concurrent(
    case: &Case,
    harness: &Harness,
    client: &Client,
    url: &str,
    problems: &mut Vec<String>,
) {
    let parallel = case.parallel.unwrap_or(8).max(2);
    let Some(request) = case.steps.first().and_then(|s| s.request.as_ref()) else {
        problems.push("the scenario needs a first step with a request".to_owned());
        return;
    };
    let request = match request.build() {
        Ok(request) => request,
        Err(e) => {
            problems.push(e);
            return;
        }
    };
    let (sender, mut answers) = mpsc::unbounded_channel();
    for _ in 0..parallel {
        let (client, url, request, sender) = (
            client.clone(),
            url.to_owned(),
            request.clone(),
            sender.clone(),
        );
        tokio::spawn(async move {
            let _ = sender.send(client.send(&url, &request).await);
        });
    }
    drop(sender);
    // The handler is held, so all but one must answer without it.
    let mut got: Vec<Result<Answer, String>> = Vec::new();
    let deadline = Instant::now() + PATIENCE;
    while got.len() < parallel - 1 {
        match timeout_at(deadline, answers.recv()).await {
            Ok(Some(answer)) => got.push(answer),
            _ => {
                problems.push(format!(
                    "only {} of {} duplicate deliveries were answered while the first was being \
                     processed",
                    got.len(),
                    parallel - 1
                ));
                break;
            }
        }
    }
    harness.open_gate();
    let deadline = Instant::now() + PATIENCE;
    while got.len() < parallel {
        match timeout_at(deadline, answers.recv()).await {
            Ok(Some(answer)) => got.push(answer),
            _ => break,
        }
    }
    if got.len() < parallel {
        problems.push(format!(
            "{} of {parallel} deliveries were answered",
            got.len()
        ));
    }
    let mut ok = 0;
    for answer in got {
        match answer {
            Ok(answer) if answer.status == 200 => ok += 1,
            Ok(answer) if answer.status == 503 && answer.headers.contains_key("retry-after") => {}
            Ok(answer) => problems.push(format!(
                "a duplicate got {} (headers {:?}); expected 503 with Retry-After, or 200",
                answer.status, answer.headers
            )),
            Err(e) => problems.push(e),
        }
    }
    if ok == 0 {
        problems.push("no delivery got 200".to_owned());
    }
}

fn check_answer(at: &str, step: &Step, answer: &Answer, problems: &mut Vec<String>) {
    let body = String::from_utf8_lossy(&answer.body);
    if step.status != Some(answer.status) {
        problems.push(format!(
            "{at}: status {}, expected {:?} (body: {body})",
            answer.status, step.status
        ));
    }
    for (name, expected) in &step.headers {
        match answer.headers.get(name.as_str()) {
            None => problems.push(format!("{at}: no {name} header in the response")),
            Some(value) if expected != "*" && value.as_bytes() != expected.as_bytes() => {
                problems.push(format!("{at}: {name} is {value:?}, expected {expected:?}"))
            }
            Some(_) => {}
        }
    }
    if answer.status >= 400 && answer.body.is_empty() {
        problems.push(format!(
            "{at}: a {} response must say why in its body",
            answer.status
        ));
    }
}

async fn await_dead_letter(harness: &Harness, run_id: &str) -> bool {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let dead = harness.receiver.dead_letters();
        if dead
            .iter()
            .any(|letter| letter.run_id.as_deref() == Some(run_id))
        {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        sleep(Duration::from_millis(5)).await;
    }
}

async fn await_state(harness: &Harness, key: &str, expected: &str) -> bool {
    let deadline = Instant::now() + PATIENCE;
    loop {
        match harness.state(key) {
            Some(state) if state.as_str() == expected => return true,
            None => return false,
            Some(_) if Instant::now() >= deadline => return false,
            Some(_) => sleep(Duration::from_millis(5)).await,
        }
    }
}
