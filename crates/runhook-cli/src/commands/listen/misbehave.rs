//! `listen --respond`, `--fail-first`, `--fail-rate`: a layer in front of the webhook route that
//! answers some deliveries itself, on purpose, so that a sender's retries can be seen. Such a
//! delivery never reaches the receiver (nothing is recorded as processed), and gets an
//! `injected` line with the status actually sent.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{Method, StatusCode};
use serde_json::Value;

use super::output::Lines;

/// Which deliveries to answer on purpose, and how.
#[derive(Debug)]
pub(crate) struct Misbehaviour {
    /// `--respond STATUS`: every delivery gets STATUS.
    pub(crate) respond: Option<u16>,
    /// `--fail-first N`: deliveries 1..=N get 503.
    pub(crate) fail_first: u64,
    /// `--fail-rate P`: each later delivery gets 503 with probability P.
    pub(crate) fail_rate: f64,
    /// The seed of the draws, shown so a run can be replayed.
    pub(crate) seed: u64,
    /// Bounds reading the body of a delivery answered here (to show its event and run id).
    pub(crate) max_body: usize,
    /// How long reading that body may take (the receiver's deadline).
    pub(crate) deadline: Duration,
}

/// A [`Misbehaviour`] at work: the deliveries counted and the generator's state.
#[derive(Debug)]
pub(crate) struct Injector {
    rules: Misbehaviour,
    deliveries: AtomicU64,
    state: Mutex<u64>,
    lines: Arc<Lines>,
}

impl Injector {
    /// Injects `rules`, printing to `lines`.
    pub(crate) fn new(rules: Misbehaviour, lines: Arc<Lines>) -> Arc<Injector> {
        let state = Mutex::new(rules.seed);
        Arc::new(Injector {
            rules,
            deliveries: AtomicU64::new(0),
            state,
            lines,
        })
    }

    /// Whether any delivery may be answered here.
    pub(crate) fn is_active(&self) -> bool {
        self.rules.respond.is_some() || self.rules.fail_first > 0 || self.rules.fail_rate > 0.0
    }

    /// For the next delivery: the status to answer it with, and why; `None` lets it through.
    fn decide(&self) -> Option<(u16, String)> {
        let n = self.deliveries.fetch_add(1, Ordering::Relaxed) + 1;
        let rules = &self.rules;
        if let Some(status) = rules.respond {
            return Some((
                status,
                format!("--respond {status}: delivery {n} answered {status} on purpose"),
            ));
        }
        if n <= rules.fail_first {
            return Some((
                503,
                format!(
                    "--fail-first {}: delivery {n} answered 503 on purpose",
                    rules.fail_first
                ),
            ));
        }
        if rules.fail_rate > 0.0 && self.draw() < rules.fail_rate {
            return Some((
                503,
                format!(
                    "--fail-rate {} --seed {}: delivery {n} drawn to fail, answered 503",
                    rules.fail_rate, rules.seed
                ),
            ));
        }
        None
    }

    /// The next number of the seeded sequence, uniform in [0, 1) (SplitMix64).
    fn draw(&self) -> f64 {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        // The top 53 bits, as a fraction.
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The middleware: POSTs to the webhook path are counted; those chosen are answered here.
pub(crate) async fn inject(
    State(injector): State<Arc<Injector>>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let Some((status, reason)) = injector.decide() else {
        return next.run(request).await;
    };
    // Read the body (bounded in size and time) so the line can name the event and run.
    let body = request.into_body();
    let read = axum::body::to_bytes(body, injector.rules.max_body);
    let bytes = tokio::time::timeout(injector.rules.deadline, read)
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let event = value.get("event").and_then(Value::as_str);
    let run_id = value.get("run_id").and_then(Value::as_str);
    injector.lines.injected(status, event, run_id, &reason);
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let answer = serde_json::json!({ "kind": "injected", "status": status, "reason": reason });
    let json = [(http::header::CONTENT_TYPE, "application/json")];
    (code, json, answer.to_string()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn injector(respond: Option<u16>, fail_first: u64, fail_rate: f64, seed: u64) -> Arc<Injector> {
        let rules = Misbehaviour {
            respond,
            fail_first,
            fail_rate,
            seed,
            max_body: 1024,
            deadline: Duration::from_secs(1),
        };
        Injector::new(rules, Lines::new(false))
    }

    fn statuses(injector: &Injector, n: usize) -> Vec<Option<u16>> {
        (0..n)
            .map(|_| injector.decide().map(|(status, _)| status))
            .collect()
    }

    #[test]
    fn fail_first_then_through_and_respond_always() {
        assert_eq!(
            statuses(&injector(None, 2, 0.0, 0), 4),
            [Some(503), Some(503), None, None]
        );
        assert_eq!(
            statuses(&injector(Some(410), 0, 0.0, 0), 2),
            [Some(410), Some(410)]
        );
        assert!(!injector(None, 0, 0.0, 0).is_active());
    }

    #[test]
    fn fail_rate_is_seeded_and_roughly_the_rate() {
        let a = statuses(&injector(None, 0, 0.3, 7), 1000);
        assert_eq!(a, statuses(&injector(None, 0, 0.3, 7), 1000));
        assert_ne!(a, statuses(&injector(None, 0, 0.3, 8), 1000));
        let failed = a.iter().filter(|s| s.is_some()).count();
        assert!((200..400).contains(&failed), "{failed}");
        assert!(
            statuses(&injector(None, 0, 1.0, 1), 50)
                .iter()
                .all(Option::is_some)
        );
    }
}
