//! Dead letters: events whose handler failed after their response had gone out.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use bytes::Bytes;
use runhook::ReceiveOutcome;
use runhook::store::IdempotencyKey;

/// An event whose handler failed (asked for a retry, panicked or was stopped at its maximum run
/// time) after the receiver had already answered the sender with 503 at the deadline.
///
/// The sender may still redeliver it (then it is processed, and the dead letter is dropped), but
/// if its attempts are spent, nothing else would: the application can take dead letters with
/// [`Receiver::take_dead_letters`](crate::Receiver::take_dead_letters) and process them again
/// (the body is the request's, byte for byte: parse it with `runhook::Event::from_slice`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeadLetter {
    /// The run, if the event named one.
    pub run_id: Option<String>,
    /// The event type.
    pub event: String,
    /// The idempotency key, if the event had one.
    pub key: Option<IdempotencyKey>,
    /// How the handler ended.
    pub outcome: ReceiveOutcome,
    /// Why, in words (the handler's own reason included).
    pub reason: String,
    /// The request body as received.
    pub body: Bytes,
    /// When the handler ended (the receiver's clock).
    pub failed_at: SystemTime,
}

/// A bounded list of dead letters, oldest first.
#[derive(Debug)]
pub(crate) struct DeadLetters {
    capacity: usize,
    letters: Mutex<VecDeque<DeadLetter>>,
}

impl DeadLetters {
    pub(crate) fn new(capacity: usize) -> Self {
        DeadLetters {
            capacity,
            letters: Mutex::new(VecDeque::new()),
        }
    }

    /// Keeps `letter`, dropping the oldest if full (logged at error level).
    pub(crate) fn push(&self, letter: DeadLetter) {
        let mut letters = self.lock();
        while letters.len() >= self.capacity {
            if let Some(dropped) = letters.pop_front() {
                tracing::error!(
                    run_id = dropped.run_id.as_deref(),
                    event = %dropped.event,
                    capacity = self.capacity,
                    "dead-letter list full: the oldest dead letter is dropped"
                );
            }
        }
        letters.push_back(letter);
        crate::metrics::dead_lettered();
    }

    /// Drops the dead letters of `key`: a later delivery processed it.
    pub(crate) fn resolve(&self, key: &IdempotencyKey) {
        let mut letters = self.lock();
        if !letters.is_empty() {
            letters.retain(|letter| letter.key.as_ref() != Some(key));
        }
    }

    pub(crate) fn snapshot(&self) -> Vec<DeadLetter> {
        self.lock().iter().cloned().collect()
    }

    pub(crate) fn take(&self) -> Vec<DeadLetter> {
        self.lock().drain(..).collect()
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<DeadLetter>> {
        self.letters.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
