//! What the demo saw, from the three sides: the receiver's verdicts, the handler's processing,
//! and the forged POSTs' answers. The emulator's delivery log is read from the emulator itself.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use runhook::Source;
use runhook_receiver::Report;

/// The paths the demo shows, one run each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Path {
    /// Completes; its webhook is delivered on the first attempt.
    Completed,
    /// Fails (`[fail]`).
    Failed,
    /// Cancelled with `cancel_run` while it runs.
    Cancelled,
    /// Completes; its webhook fails twice at the network, then arrives (`[webhook:drop=2]`).
    Retried,
    /// Completes; its webhook is delivered twice (`[webhook:duplicate]`).
    Duplicate,
    /// Completes; every attempt of its webhook fails at the network, as when the receiver is
    /// down (`[webhook:drop=4]`), and the reconciler's sweep recovers it.
    Recovered,
}

impl Path {
    /// Every path, in the order the runs are created.
    pub(super) const ALL: [Path; 6] = [
        Path::Completed,
        Path::Failed,
        Path::Cancelled,
        Path::Retried,
        Path::Duplicate,
        Path::Recovered,
    ];

    /// The label in the timeline and the summary.
    pub(super) fn label(self) -> &'static str {
        match self {
            Path::Completed => "completed",
            Path::Failed => "failed",
            Path::Cancelled => "cancelled",
            Path::Retried => "retried",
            Path::Duplicate => "duplicate",
            Path::Recovered => "recovered",
        }
    }

    /// The run's goal, with the emulator's directives that script it.
    pub(super) fn goal(self) -> &'static str {
        match self {
            Path::Completed => "Extract the product name and price [duration:2s]",
            Path::Failed => "Check out the cart [fail] [duration:2s]",
            Path::Cancelled => "Watch the price for a week [duration:60s]",
            Path::Retried => "Extract the product name and price [duration:2s] [webhook:drop=2]",
            Path::Duplicate => {
                "Extract the product name and price [duration:3s] [webhook:duplicate]"
            }
            Path::Recovered => "Extract the product name and price [duration:1s] [webhook:drop=4]",
        }
    }

    /// The terminal status the run must reach.
    pub(super) fn status(self) -> &'static str {
        match self {
            Path::Failed => "FAILED",
            Path::Cancelled => "CANCELLED",
            _ => "COMPLETED",
        }
    }

    /// How its event reaches the handler: by its webhook, or recovered by the reconciler.
    pub(super) fn source(self) -> Source {
        match self {
            Path::Recovered => Source::Reconciler,
            _ => Source::Webhook,
        }
    }

    /// The webhook's event.
    pub(super) fn event(self) -> &'static str {
        match self {
            Path::Failed => "run.failed",
            Path::Cancelled => "run.cancelled",
            _ => "run.completed",
        }
    }
}

/// A receiver's answer to one delivery.
#[derive(Debug, Clone)]
pub(super) struct Verdict {
    /// The status sent.
    pub(super) status: u16,
    /// `accepted`, `duplicate`, `invalid`, ...
    pub(super) outcome: &'static str,
    /// A webhook's, or an event recovered by the reconciler.
    pub(super) source: Source,
}

/// One call of the handler.
#[derive(Debug, Clone)]
pub(super) struct Processing {
    /// The event's name.
    pub(super) event: String,
    /// How the event arrived.
    pub(super) source: Source,
    /// When.
    pub(super) at: Duration,
}

/// A forged POST and its answer.
#[derive(Debug, Clone)]
pub(super) struct Forged {
    /// What was forged.
    pub(super) label: &'static str,
    /// The answer's status, or why there was none.
    pub(super) status: Result<u16, String>,
    /// When it was answered.
    pub(super) at: Duration,
}

#[derive(Default)]
struct Inner {
    /// Verdicts by run id.
    verdicts: HashMap<String, Vec<Verdict>>,
    /// Handler calls by run id.
    processed: HashMap<String, Vec<Processing>>,
    forged: Vec<Forged>,
}

/// Shared by the observers, the handler and the demo.
#[derive(Default)]
pub(super) struct Observed {
    inner: Mutex<Inner>,
}

impl Observed {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Notes the receiver's report of one delivery.
    pub(super) fn verdict(&self, report: &Report) {
        let run_id = report.run_id.clone().unwrap_or_default();
        self.lock()
            .verdicts
            .entry(run_id)
            .or_default()
            .push(Verdict {
                status: report.status,
                outcome: report.outcome.as_str(),
                source: report.source,
            });
    }

    /// Notes that the handler processed an event of `run_id`.
    pub(super) fn processed(&self, run_id: &str, processing: Processing) {
        self.lock()
            .processed
            .entry(run_id.to_owned())
            .or_default()
            .push(processing);
    }

    /// Notes a forged POST's answer.
    pub(super) fn forged(&self, forged: Forged) {
        self.lock().forged.push(forged);
    }

    /// The receiver's verdicts on `run_id`'s deliveries.
    pub(super) fn verdicts_of(&self, run_id: &str) -> Vec<Verdict> {
        self.lock()
            .verdicts
            .get(run_id)
            .cloned()
            .unwrap_or_default()
    }

    /// The handler's calls for `run_id`.
    pub(super) fn processed_of(&self, run_id: &str) -> Vec<Processing> {
        self.lock()
            .processed
            .get(run_id)
            .cloned()
            .unwrap_or_default()
    }

    /// Every run id the handler processed.
    pub(super) fn processed_runs(&self) -> Vec<String> {
        self.lock().processed.keys().cloned().collect()
    }

    /// The forged POSTs.
    pub(super) fn forged_posts(&self) -> Vec<Forged> {
        self.lock().forged.clone()
    }
}
