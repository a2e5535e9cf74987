//! The receiver each case runs against: a scripted, recording handler and the chosen store.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use http::HeaderMap;
use runhook::receive::{AuthError, Authenticator, UrlToken};
use runhook::store::{
    Claim, ClaimToken, DEFAULT_LEASE, IdempotencyKey, IdempotencyStore, KeyState, MemoryStore,
    StoreError,
};
use runhook::{Event, HandlerOutcome};
use tokio::sync::watch;

use super::vectors::{Behaviour, Call, Case, StoreSetup};
use crate::{Clock, Handler, HandlerContext, Received, Receiver, ReceiverConfig};

/// The header whose value a handler call records, proving the context reaches the handler.
pub(crate) const NOTE_HEADER: &str = "x-conformance-note";

/// What a call records of its context: the `x-conformance-note` header, with the URI's query
/// (`?q`) appended when there is one; `None` when the request had no such header.
fn context_note(context: &HandlerContext) -> Option<String> {
    let note = context.headers().get(NOTE_HEADER)?.to_str().ok()?;
    let received = context.received_at();
    let recent = received
        .elapsed()
        .map_or(true, |age| age < Duration::from_secs(60));
    let mut note = note.to_owned();
    if !recent {
        note.push_str(" (received_at is wrong)");
    }
    if let Some(query) = context.uri().query() {
        note.push_str(&format!(" ?{query}"));
    }
    Some(note)
}

/// How long a `late_retry` handler works before it fails: past a case's short deadline.
const LATE: Duration = Duration::from_millis(300);

/// The header and value the `auth` setup requires.
pub(crate) const TOKEN_HEADER: &str = "x-conformance-token";
const TOKEN: &str = "let-me-in";

/// Records every call and behaves as the case's script says.
pub(crate) struct Recorder {
    script: Vec<Behaviour>,
    calls: Mutex<Vec<Call>>,
    gate: watch::Receiver<bool>,
}

impl Recorder {
    pub(crate) fn calls(&self) -> Vec<Call> {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[async_trait]
impl Handler for Recorder {
    async fn handle(&self, event: Received<Event>) -> HandlerOutcome {
        let index = {
            let mut calls = self.calls.lock().unwrap_or_else(PoisonError::into_inner);
            calls.push(Call {
                event: event.name().to_owned(),
                run_id: event.run_id().map(str::to_owned),
                drift: event
                    .drift_problems()
                    .iter()
                    .map(|problem| problem.pointer.clone())
                    .collect(),
                note: context_note(event.context()),
            });
            calls.len() - 1
        };
        let behaviour = self
            .script
            .get(index)
            .or_else(|| self.script.last())
            .copied()
            .unwrap_or(Behaviour::Ok);
        match behaviour {
            Behaviour::Ok => HandlerOutcome::Ok,
            Behaviour::Retry => {
                HandlerOutcome::retry("conformance: a transient failure on purpose")
            }
            Behaviour::Reject => {
                HandlerOutcome::reject("conformance: a permanent rejection on purpose")
            }
            Behaviour::Panic => panic!("conformance: the handler panics on purpose"),
            Behaviour::Gate => {
                let mut gate = self.gate.clone();
                let _ = gate.wait_for(|open| *open).await;
                HandlerOutcome::Ok
            }
            Behaviour::LateRetry => {
                tokio::time::sleep(LATE).await;
                HandlerOutcome::retry("conformance: a transient failure after the deadline")
            }
        }
    }
}

/// A store that is down.
#[derive(Debug)]
struct Unavailable;

fn down() -> StoreError {
    StoreError::Unavailable {
        message: "conformance: the store is down on purpose".to_owned(),
    }
}

#[async_trait]
impl IdempotencyStore for Unavailable {
    async fn claim(
        &self,
        _: &IdempotencyKey,
        _: SystemTime,
        _: Duration,
    ) -> Result<Claim, StoreError> {
        Err(down())
    }
    async fn complete(
        &self,
        _: &IdempotencyKey,
        _: ClaimToken,
        _: SystemTime,
        _: Duration,
    ) -> Result<(), StoreError> {
        Err(down())
    }
    async fn release(
        &self,
        _: &IdempotencyKey,
        _: ClaimToken,
        _: SystemTime,
    ) -> Result<(), StoreError> {
        Err(down())
    }
    async fn renew(
        &self,
        _: &IdempotencyKey,
        _: ClaimToken,
        _: SystemTime,
        _: Duration,
    ) -> Result<(), StoreError> {
        Err(down())
    }
    async fn state(&self, _: &IdempotencyKey, _: SystemTime) -> Result<KeyState, StoreError> {
        Err(down())
    }
}

/// Requires `x-conformance-token: let-me-in`.
#[derive(Debug)]
struct Token;

impl Authenticator for Token {
    fn verify(&self, _uri: &http::Uri, headers: &HeaderMap, _body: &[u8]) -> Result<(), AuthError> {
        match headers.get(TOKEN_HEADER) {
            None => Err(AuthError::MissingHeader {
                header: TOKEN_HEADER.to_owned(),
            }),
            Some(value) if value == TOKEN => Ok(()),
            Some(_) => Err(AuthError::Invalid {
                reason: "the conformance token does not match".to_owned(),
            }),
        }
    }
}

/// A receiver set up for one case, with handles to inspect and steer it.
pub(crate) struct Harness {
    pub(crate) receiver: Receiver,
    pub(crate) recorder: Arc<Recorder>,
    pub(crate) memory: Option<Arc<MemoryStore>>,
    pub(crate) clock: HarnessClock,
    gate: watch::Sender<bool>,
}

/// The receiver's wall clock in a case: the system's, plus what `advance_clock` steps added.
#[derive(Debug, Clone, Default)]
pub(crate) struct HarnessClock(Arc<Mutex<Duration>>);

impl HarnessClock {
    pub(crate) fn advance(&self, by: Duration) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) += by;
    }
}

impl Clock for HarnessClock {
    fn now(&self) -> SystemTime {
        SystemTime::now() + *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Harness {
    pub(crate) fn new(case: &Case) -> Result<Self, String> {
        let (gate, gate_rx) = watch::channel(false);
        let recorder = Arc::new(Recorder {
            script: case.setup.handler.clone(),
            calls: Mutex::new(Vec::new()),
            gate: gate_rx,
        });
        let mut config = ReceiverConfig::default();
        if let Some(ms) = case.setup.deadline_ms {
            config = config.with_deadline(Duration::from_millis(ms));
        }
        if case.setup.auth {
            config = config.with_authenticator(Token);
        }
        if !case.setup.url_token.is_empty() {
            let tokens = UrlToken::in_query(case.setup.url_token.iter().cloned())
                .map_err(|error| format!("the case's url_token: {error}"))?;
            config = config.with_authenticator(tokens);
        }
        if let Some(bytes) = case.setup.max_body_bytes {
            config = config.with_max_body_bytes(bytes);
        }
        config.receive = config.receive.with_strict(case.setup.strict);
        let clock = HarnessClock::default();
        let (store, memory): (Arc<dyn IdempotencyStore>, _) = match case.setup.store {
            StoreSetup::Memory => {
                let memory = Arc::new(MemoryStore::new());
                // Claims taken by a holder that died at once: never renewed nor settled.
                for key in &case.setup.abandoned {
                    let _ = memory.claim(
                        &IdempotencyKey::new(key.as_str()),
                        clock.now(),
                        DEFAULT_LEASE,
                    );
                }
                (memory.clone(), Some(memory))
            }
            StoreSetup::Full => {
                let memory = Arc::new(MemoryStore::with_capacity(1));
                // A live claim that nobody settles: the store has no room for another key.
                let _ = memory.claim(
                    &IdempotencyKey::new("occupant"),
                    SystemTime::now(),
                    Duration::from_secs(3600),
                );
                (memory.clone(), Some(memory))
            }
            StoreSetup::Unavailable => (Arc::new(Unavailable), None),
        };
        let receiver = Receiver::builder(Arc::clone(&recorder))
            .config(config)
            .store(store)
            .clock(clock.clone())
            .build()
            .map_err(|error| format!("the case's receiver cannot be built: {error}"))?;
        Ok(Harness {
            receiver,
            recorder,
            memory,
            clock,
            gate,
        })
    }

    pub(crate) fn open_gate(&self) {
        let _ = self.gate.send(true);
    }

    /// The store state of `key` now, if the case's store can be inspected.
    pub(crate) fn state(&self, key: &str) -> Option<KeyState> {
        let memory = self.memory.as_ref()?;
        Some(memory.state(&IdempotencyKey::new(key), self.clock.now()))
    }
}
