//! Idempotency keys and how they are derived from an event.

use std::fmt;
use std::sync::Arc;

use crate::events::{Event, RunId};

/// The key under which an event is processed at most once: the `run_id` by default.
///
/// Cheap to clone (a shared string). Ordered and hashable, so stores can index it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdempotencyKey(Arc<str>);

impl IdempotencyKey {
    /// A key from any string.
    pub fn new(key: impl Into<Arc<str>>) -> Self {
        IdempotencyKey(key.into())
    }

    /// The key as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for IdempotencyKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<&RunId> for IdempotencyKey {
    fn from(run_id: &RunId) -> Self {
        IdempotencyKey::new(run_id.as_str())
    }
}

impl From<&str> for IdempotencyKey {
    fn from(key: &str) -> Self {
        IdempotencyKey::new(key)
    }
}

/// A user-supplied key function; `None` means "do not deduplicate this event".
pub type KeyFn = dyn Fn(&Event) -> Option<IdempotencyKey> + Send + Sync;

/// How the idempotency key of an event is chosen.
///
/// With [`KeyStrategy::RunId`] and [`KeyStrategy::RunIdAndEvent`], an event type runhook does
/// not know is keyed by `{run_id}:{event}` when its top-level `run_id` is a valid run id and its
/// name is 1 to 128 printable ASCII characters, so a future non-terminal event (say
/// `run.started`) never shadows the terminal event of the same run; otherwise it has no key and is
/// handled without deduplication (there is nothing to deduplicate on). A
/// [`KeyStrategy::Custom`] function is called for every event, unknown ones included, and its
/// answer is used as is: that rule does not apply to it.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum KeyStrategy {
    /// The `run_id`: a run is processed once, whatever events arrive for it (docs/protocol.md §4.3).
    /// The default: TinyFish sends one terminal event per run.
    #[default]
    RunId,
    /// `{run_id}:{event}`: each event type of a run is processed once.
    RunIdAndEvent,
    /// A function of the event; see [`KeyStrategy::custom`]. It is called for every event,
    /// including [`Event::Unknown`] ones, and decides their key too.
    Custom(Arc<KeyFn>),
}

impl KeyStrategy {
    /// A strategy from a function, called for every event (unknown event types included);
    /// returning `None` handles the event without deduplication.
    pub fn custom(key: impl Fn(&Event) -> Option<IdempotencyKey> + Send + Sync + 'static) -> Self {
        KeyStrategy::Custom(Arc::new(key))
    }

    /// The key of `event`, or `None` if it is to be handled without deduplication.
    pub fn key(&self, event: &Event) -> Option<IdempotencyKey> {
        if let KeyStrategy::Custom(key) = self {
            return key(event);
        }
        match event.run_event() {
            Some(run) => Some(match self {
                KeyStrategy::RunIdAndEvent => {
                    IdempotencyKey::new(format!("{}:{}", run.run_id, event.name()))
                }
                _ => IdempotencyKey::from(&run.run_id),
            }),
            None => {
                let run_id = event.run_id()?;
                let name = event.name();
                let usable = RunId::validate(run_id).is_ok()
                    && (1..=128).contains(&name.len())
                    && name.bytes().all(|b| b.is_ascii_graphic());
                usable.then(|| IdempotencyKey::new(format!("{run_id}:{name}")))
            }
        }
    }
}

impl fmt::Debug for KeyStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyStrategy::RunId => f.write_str("RunId"),
            KeyStrategy::RunIdAndEvent => f.write_str("RunIdAndEvent"),
            KeyStrategy::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}
