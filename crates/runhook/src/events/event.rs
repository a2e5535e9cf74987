//! The webhook envelope: `{event, run_id, status, data}`.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::duplicate_keys::{self, DuplicateKey};
use super::nullable::non_null;
use super::{Drift, DriftProblem, EventError, EventType, Run, RunId, RunStatus};

/// A webhook event as TinyFish sends it when a run reaches a terminal state.
///
/// Parse one with [`Event::from_slice`] (or serde: `Deserialize` runs the same checks). A known
/// event is fully typed; an event type runhook does not know yet becomes [`Event::Unknown`] with
/// its raw JSON, so nothing breaks when TinyFish adds events.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// `run.completed`: the run finished. `data.result` holds the data.
    Completed(RunEvent),
    /// `run.failed`: an infrastructure error occurred. `data.error` says why.
    Failed(RunEvent),
    /// `run.cancelled`: the run was cancelled.
    Cancelled(RunEvent),
    /// An event type this version of runhook does not know, kept verbatim.
    Unknown(UnknownEvent),
}

/// The body of a `run.*` event.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RunEvent {
    /// The run the event is about; the deduplication key.
    pub run_id: RunId,
    /// The run's terminal status.
    pub status: RunStatus,
    /// The run object; may be partial.
    pub data: Run,
    /// Envelope fields this version of runhook does not know, kept verbatim.
    pub extra: Map<String, Value>,
    /// What a lenient parse left out of [`RunEvent::data`], and the `data` as received; `None`
    /// when nothing drifted (always, for a strict parse).
    pub drift: Option<Box<Drift>>,
}

/// An event whose type runhook does not know. Only `event` is interpreted.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct UnknownEvent {
    /// The event type, e.g. `run.started`.
    pub event: String,
    /// The whole body as JSON.
    pub raw: Value,
}

/// Why an event cannot be built from a run ([`Event::from_run`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventBuildError {
    /// The run has no `run_id`.
    #[error("the run has no run_id; a webhook needs one")]
    MissingRunId,
    /// The run has no `status`.
    #[error("the run has no status; a webhook is sent only for COMPLETED, FAILED or CANCELLED")]
    MissingStatus,
    /// The run is not in a terminal state.
    #[error("the run is {status}; a webhook is sent only for COMPLETED, FAILED or CANCELLED")]
    NotTerminal {
        /// The run's status.
        status: RunStatus,
    },
}

/// The old name of [`EventBuildError`].
#[deprecated(note = "renamed EventBuildError: it is the error of building an event from a run")]
pub type BuildError = EventBuildError;

/// The envelope as serde reads it, before the event type decides what it is.
#[derive(Deserialize)]
#[serde(expecting = "a webhook object with event, run_id, status and data")]
struct EnvelopeIn {
    event: EventType,
    run_id: RunId,
    status: RunStatus,
    #[serde(deserialize_with = "non_null")]
    data: Option<Run>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

/// The envelope as it is written.
#[derive(Serialize)]
struct EnvelopeOut<'a> {
    event: &'a str,
    run_id: &'a RunId,
    status: &'a RunStatus,
    data: DataOut<'a>,
    #[serde(flatten)]
    extra: &'a Map<String, Value>,
}

/// `data` as it is written: the typed run, or the received object when something drifted.
enum DataOut<'a> {
    Typed(&'a Run),
    Raw(&'a Value),
}

impl Serialize for DataOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            DataOut::Typed(run) => run.serialize(serializer),
            DataOut::Raw(value) => value.serialize(serializer),
        }
    }
}

impl Event {
    /// Parses a webhook body and checks its consistency.
    ///
    /// Unknown fields and unknown enum values are kept; an unknown event type gives
    /// [`Event::Unknown`]. The error names the check that failed and the JSON pointer of the
    /// problem.
    pub fn from_slice(body: &[u8]) -> Result<Self, EventError> {
        Self::parse(body, false)
    }

    /// [`Event::from_slice`]; with `refuse_repeats`, a key repeated within one object anywhere in
    /// the body is also refused ([`EventError::DuplicateKey`], the first in document order), once
    /// every other check has passed. The typed parse and the repeated-key check are one pass.
    pub(crate) fn parse(body: &[u8], refuse_repeats: bool) -> Result<Self, EventError> {
        Self::read_once(body, refuse_repeats).unwrap_or_else(|| {
            // The slow path: find out why, and where. The pass above stopped early, so repeats
            // are looked for again, in the parse to a value.
            let (value, repeats) =
                duplicate_keys::deserialize::<Value>(body, usize::from(refuse_repeats));
            let value = value.map_err(|e| EventError::syntax(&e))?;
            let event = if let Some(event) = Self::unknown_event_name(&value) {
                Event::Unknown(UnknownEvent { event, raw: value })
            } else if !value.is_object() {
                return Err(EventError::not_an_object(&value));
            } else {
                Self::typed(&mut serde_json::Deserializer::from_slice(body))?
            };
            refuse_first(repeats, event)
        })
    }

    /// The one pass of [`Event::parse`]: its outcome, or `None` when the typed parse failed (the
    /// caller finds out why).
    pub(super) fn read_once(body: &[u8], refuse_repeats: bool) -> Option<Result<Self, EventError>> {
        let (parsed, repeats) =
            duplicate_keys::deserialize::<EnvelopeIn>(body, usize::from(refuse_repeats));
        let envelope = parsed.ok()?;
        let event = match envelope.event {
            EventType::Unrecognized(name) => match serde_json::from_slice(body) {
                Ok(raw) => Event::Unknown(UnknownEvent {
                    event: name.into(),
                    raw,
                }),
                Err(err) => return Some(Err(EventError::syntax(&err))),
            },
            _ => match Self::from_envelope(envelope) {
                Ok(event) => event,
                Err(err) => return Some(Err(err)),
            },
        };
        Some(refuse_first(repeats, event))
    }

    /// Parses a webhook body from a string; see [`Event::from_slice`].
    pub fn from_json_str(body: &str) -> Result<Self, EventError> {
        Self::from_slice(body.as_bytes())
    }

    /// Interprets an already-parsed JSON value; see [`Event::from_slice`].
    pub fn from_value(value: Value) -> Result<Self, EventError> {
        if let Some(event) = Self::unknown_event_name(&value) {
            return Ok(Event::Unknown(UnknownEvent { event, raw: value }));
        }
        if !value.is_object() {
            return Err(EventError::not_an_object(&value));
        }
        Self::typed(&value)
    }

    /// Builds the event a sender posts for a run in a terminal state. Screenshots are always
    /// stripped (set to `null`): webhook payloads never carry them.
    pub fn from_run(mut run: Run) -> Result<Self, EventBuildError> {
        let run_id = run.run_id.clone().ok_or(EventBuildError::MissingRunId)?;
        let status = run.status.clone().ok_or(EventBuildError::MissingStatus)?;
        run.strip_screenshots();
        let event = RunEvent {
            run_id,
            status: status.clone(),
            data: run,
            extra: Map::new(),
            drift: None,
        };
        match status {
            RunStatus::Completed => Ok(Event::Completed(event)),
            RunStatus::Failed => Ok(Event::Failed(event)),
            RunStatus::Cancelled => Ok(Event::Cancelled(event)),
            status => Err(EventBuildError::NotTerminal { status }),
        }
    }

    /// The event type.
    pub fn event_type(&self) -> EventType {
        match self {
            Event::Completed(_) => EventType::Completed,
            Event::Failed(_) => EventType::Failed,
            Event::Cancelled(_) => EventType::Cancelled,
            Event::Unknown(unknown) => EventType::from_wire(&unknown.event),
        }
    }

    /// The event type as it appears on the wire, e.g. `run.completed`.
    pub fn name(&self) -> &str {
        match self {
            Event::Completed(_) => "run.completed",
            Event::Failed(_) => "run.failed",
            Event::Cancelled(_) => "run.cancelled",
            Event::Unknown(unknown) => &unknown.event,
        }
    }

    /// The run id: always there for `run.*` events; for an unknown event, its top-level `run_id`
    /// if that is a string.
    pub fn run_id(&self) -> Option<&str> {
        match self {
            Event::Completed(e) | Event::Failed(e) | Event::Cancelled(e) => Some(e.run_id.as_str()),
            Event::Unknown(unknown) => unknown.raw.get("run_id").and_then(Value::as_str),
        }
    }

    /// The run event, unless the event type is unknown.
    pub fn run_event(&self) -> Option<&RunEvent> {
        match self {
            Event::Completed(e) | Event::Failed(e) | Event::Cancelled(e) => Some(e),
            Event::Unknown(_) => None,
        }
    }

    /// The problems a lenient parse found inside `data` (see [`RunEvent::drift_problems`]); empty
    /// for an unknown event and for an event without drift.
    pub fn drift_problems(&self) -> &[DriftProblem] {
        self.run_event().map_or(&[], RunEvent::drift_problems)
    }

    /// Checks the rules a schema cannot fully express: the event pairs with the status,
    /// `data.run_id` equals `run_id` and `data.status` equals `status` where present.
    pub fn check_consistency(&self) -> Result<(), EventError> {
        let Some(event) = self.run_event() else {
            return Ok(());
        };
        let expected = self.event_type().status();
        if let Some(expected) = expected
            && expected != event.status
        {
            return Err(EventError::EventStatusMismatch {
                event: self.name().to_owned(),
                expected: expected.as_str().to_owned(),
                found: event.status.as_str().to_owned(),
            });
        }
        if let Some(data_id) = &event.data.run_id
            && *data_id != event.run_id
        {
            return Err(EventError::RunIdMismatch {
                envelope: event.run_id.to_string(),
                data: data_id.to_string(),
            });
        }
        if let Some(data_status) = &event.data.status
            && *data_status != event.status
        {
            return Err(EventError::StatusMismatch {
                envelope: event.status.to_string(),
                data: data_status.to_string(),
            });
        }
        Ok(())
    }

    /// Serializes the event to JSON bytes, as a sender posts it.
    pub fn to_vec(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }

    /// If `value` is an object whose `event` is a string runhook does not know, that string.
    pub(super) fn unknown_event_name(value: &Value) -> Option<String> {
        let name = value.get("event")?.as_str()?;
        (!EventType::from_wire(name).is_recognized()).then(|| name.to_owned())
    }

    /// Typed parse with path tracking, for the error path and for `Value` input.
    fn typed<'de, D>(deserializer: D) -> Result<Self, EventError>
    where
        D: Deserializer<'de, Error = serde_json::Error>,
    {
        let envelope: EnvelopeIn = serde_path_to_error::deserialize(deserializer)
            .map_err(|err| EventError::from_path(&err))?;
        Self::from_envelope(envelope)
    }

    fn from_envelope(envelope: EnvelopeIn) -> Result<Self, EventError> {
        let data = envelope.data.ok_or_else(|| EventError::Invalid {
            pointer: "/data".to_owned(),
            message: "the required field `data` is missing".to_owned(),
        })?;
        let run_event = RunEvent {
            run_id: envelope.run_id,
            status: envelope.status,
            data,
            extra: envelope.extra,
            drift: None,
        };
        let event = match envelope.event {
            EventType::Completed => Event::Completed(run_event),
            EventType::Failed => Event::Failed(run_event),
            EventType::Cancelled => Event::Cancelled(run_event),
            EventType::Unrecognized(name) => {
                // Only reached from `typed` on a value that was already classified as known;
                // handled for completeness.
                return Err(EventError::Invalid {
                    pointer: "/event".to_owned(),
                    message: format!("unexpected unknown event {name:?}"),
                });
            }
        };
        event.check_consistency()?;
        Ok(event)
    }
}

/// `event`, unless a key was repeated (`repeats` in document order).
fn refuse_first(repeats: Vec<DuplicateKey>, event: Event) -> Result<Event, EventError> {
    match repeats.into_iter().next() {
        Some(DuplicateKey { object, key }) => Err(EventError::DuplicateKey { object, key }),
        None => Ok(event),
    }
}

impl RunEvent {
    /// A run event with an empty envelope extension.
    pub fn new(run_id: RunId, status: RunStatus, data: Run) -> Self {
        RunEvent {
            run_id,
            status,
            data,
            extra: Map::new(),
            drift: None,
        }
    }

    /// The values a lenient parse left out of [`RunEvent::data`] because they did not have
    /// their documented type; empty when nothing drifted.
    pub fn drift_problems(&self) -> &[DriftProblem] {
        self.drift.as_ref().map_or(&[], |drift| &drift.problems)
    }

    /// The `data` object: as received when something drifted (nothing accepted is lost), else
    /// the serialization of [`RunEvent::data`], which gives back the parsed document.
    pub fn raw_data(&self) -> Cow<'_, Value> {
        match &self.drift {
            Some(drift) => Cow::Borrowed(&drift.raw_data),
            None => Cow::Owned(
                serde_json::to_value(&self.data).unwrap_or_else(|_| Value::Object(Map::new())),
            ),
        }
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Event::Completed(e) | Event::Failed(e) | Event::Cancelled(e) => EnvelopeOut {
                event: self.name(),
                run_id: &e.run_id,
                status: &e.status,
                data: match &e.drift {
                    Some(drift) => DataOut::Raw(&drift.raw_data),
                    None => DataOut::Typed(&e.data),
                },
                extra: &e.extra,
            }
            .serialize(serializer),
            Event::Unknown(unknown) => unknown.raw.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Event {
    /// Deserializes through a [`Value`] and applies the checks of [`Event::from_slice`].
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Event::from_value(value).map_err(serde::de::Error::custom)
    }
}
