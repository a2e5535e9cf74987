//! The scripted agent: drives one run through PENDING, RUNNING and its steps to the outcome of
//! its plan, unless a cancel request or the emulator's stop comes first.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::clock::{Speed, until_true};
use runhook::{Nullable, RunStatus, Step};
use serde_json::Value;

use crate::model::{StoredRun, frames};
use crate::scenario::{Outcome, Plan, step_actions};
use crate::state::Shared;
use crate::{timefmt, webhook};

/// Starts the agent of `run`.
pub(crate) fn start(shared: &Arc<Shared>, run: &StoredRun, plan: Plan) {
    let Some(cancel) = shared.cancelled(run.id()) else {
        return;
    };
    let agent = Agent {
        shared: Arc::clone(shared),
        run_id: run.id().to_owned(),
        url: run.url.clone(),
        cancel,
        stop: shared.stop_signal(),
    };
    tokio::spawn(agent.drive(plan));
}

struct Agent {
    shared: Arc<Shared>,
    run_id: String,
    url: String,
    cancel: watch::Receiver<bool>,
    stop: watch::Receiver<bool>,
}

impl Agent {
    /// Sleeps `scripted` (scaled by the speed); `false` if the run was cancelled or the emulator
    /// stops first.
    async fn pause(&mut self, speed: Speed, scripted: Duration) -> bool {
        tokio::select! {
            () = speed.sleep(scripted) => true,
            () = until_true(&mut self.cancel) => false,
            () = until_true(&mut self.stop) => false,
        }
    }

    async fn drive(mut self, plan: Plan) {
        let speed = self.shared.settings.speed;
        let queued = (plan.duration / 20).min(Duration::from_secs(1));
        let step_time = match plan.steps {
            0 => Duration::ZERO,
            steps => plan.duration.saturating_sub(queued) / steps,
        };
        let final_pause = if plan.steps == 0 {
            plan.duration.saturating_sub(queued)
        } else {
            Duration::ZERO
        };
        if !self.pause(speed, queued).await {
            return;
        }
        let id = self.run_id.clone();
        let streaming_url = format!("{}/_emulator/stream/{id}", self.shared.settings.base_url);
        let running = self.shared.update(&id, |run, frames| {
            run.set_status(RunStatus::Running);
            run.run.started_at = Nullable::Value(timefmt::stamp(timefmt::now()));
            run.run.streaming_url = Nullable::Value(streaming_url.clone());
            frames.push(frames::started(&id));
            frames.push(frames::streaming_url(&id, &streaming_url));
        });
        if running.is_none() {
            return;
        }
        let failure = (plan.outcome == Outcome::Failed).then_some(plan.error.message.as_str());
        let actions = step_actions(&self.url, plan.steps, failure);
        let count = actions.len();
        for (index, action) in actions.into_iter().enumerate() {
            let last = index + 1 == count;
            let started = timefmt::stamp(timefmt::now());
            let progressed = self.shared.update(&id, |_, frames| {
                frames.push(frames::progress(&id, &action));
            });
            if progressed.is_none() || !self.pause(speed, step_time).await {
                return;
            }
            let status = if last && failure.is_some() {
                RunStatus::Failed
            } else {
                RunStatus::Completed
            };
            let mut step = Step::new(uuid::Uuid::new_v4().to_string(), started, status);
            step.action = Nullable::Value(action);
            step.screenshot = Nullable::Null;
            // Shown to the millisecond, as it always was.
            let millis = u64::try_from(step_time.as_millis()).unwrap_or(u64::MAX);
            step.duration = Nullable::Value(timefmt::seconds(Duration::from_millis(millis)));
            let stepped = self.shared.update(&id, |run, frames| {
                run.run.steps.get_or_insert_with(Vec::new).push(step);
                if !last {
                    frames.push(frames::heartbeat());
                }
            });
            if stepped.is_none() {
                return;
            }
        }
        if !self.pause(speed, final_pause).await {
            return;
        }
        let finished = self.shared.update(&id, |run, _| finish(run, &plan));
        if let Some(run) = finished {
            webhook::start(&self.shared, &run);
        }
    }
}

/// Puts the plan's outcome into `run`.
fn finish(run: &mut StoredRun, plan: &Plan) {
    let now = timefmt::stamp(timefmt::now());
    run.run.finished_at = Nullable::Value(now.clone());
    match plan.outcome {
        Outcome::Completed => {
            // A scripted result is always an object (the scenario and the directives refuse
            // anything else), as the API's `result` is.
            let result = match &plan.result {
                Value::Object(result) => result.clone(),
                _ => serde_json::Map::new(),
            };
            run.complete(result);
        }
        Outcome::Failed => {
            run.set_status(RunStatus::Failed);
            run.run.error = Nullable::Value(plan.error.clone());
        }
        Outcome::Cancelled => {
            run.set_status(RunStatus::Cancelled);
            run.cancelled_at = Some(now);
        }
    }
}
