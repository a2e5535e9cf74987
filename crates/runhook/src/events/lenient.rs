//! The lenient parse: only the envelope can refuse a body; a value inside `data` that does not
//! have its documented type is left out of the typed [`Run`] and reported as [`Drift`].

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::{Map, Value};

use super::duplicate_keys::{self, DuplicateKey};
use super::event_error::push_token;
use super::nullable::non_null;
use super::{
    Drift, DriftProblem, Event, EventError, EventType, Run, RunEvent, RunId, RunStatus,
    UnknownEvent,
};

/// After this many problems the remaining bad values are dropped a whole top-level field at a
/// time, so a hostile body cannot make the parse quadratic.
const MAX_PROBLEMS: usize = 64;

/// At most this many repeated keys are looked for.
pub(super) const MAX_DUPLICATES: usize = 64;

/// The envelope as the lenient parse reads it: `data` stays a JSON object until the envelope is
/// known to be sound.
#[derive(Deserialize)]
#[serde(expecting = "a webhook object with event, run_id, status and data")]
struct Envelope {
    event: EventType,
    run_id: RunId,
    status: RunStatus,
    #[serde(deserialize_with = "non_null")]
    data: Option<Map<String, Value>>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

impl Event {
    /// Parses a webhook body, refusing only a broken envelope; see the
    /// [`events` module docs](super) for what is refused and what is drift.
    ///
    /// Refused, as by [`Event::from_slice`]: a body that is not a JSON object; `event`, `run_id`
    /// or `status` missing or not strings; an invalid `run_id`; `data` missing or not an object;
    /// event ⇔ status broken; `data.run_id` (a valid run id) or `data.status` (a string)
    /// contradicting the envelope; a key repeated outside `data`.
    ///
    /// Accepted: everything else. A value inside `data` that does not have its documented type
    /// or format (or a key repeated inside `data`) is left out of the typed [`Run`], so it reads
    /// as absent (never as a wrong value), and is reported by [`RunEvent::drift_problems`]; the
    /// received `data` is kept verbatim in [`RunEvent::raw_data`] and is what the event
    /// serializes to. A body [`Event::from_slice`] accepts gives the same event, with no drift.
    pub fn from_slice_lenient(body: &[u8]) -> Result<Self, EventError> {
        parse(body, true)
    }
}

impl Run {
    /// Reads a run object (`GET /v1/runs/{id}`, an item of `GET /v1/runs`) the way
    /// [`Event::from_slice_lenient`] reads a webhook's `data`: a value that does not have its
    /// documented type is left out of the typed run (it reads as absent) and reported as a
    /// [`DriftProblem`] whose pointer is relative to the run object (`/steps/1/timestamp`).
    /// A value that is not an object gives an empty run and one problem at `""`.
    pub fn from_value_lenient(value: &Value) -> (Run, Vec<DriftProblem>) {
        if !value.is_object() {
            let problem =
                DriftProblem::new("", "a run must be a JSON object; nothing could be read");
            return (Run::default(), vec![problem]);
        }
        if let Ok(run) = Run::deserialize(value) {
            return (run, Vec::new());
        }
        let (run, problems) = typed_run(value, &[]);
        let problems = problems
            .into_iter()
            .map(|problem| {
                let pointer = problem
                    .pointer
                    .strip_prefix("/data")
                    .unwrap_or(&problem.pointer);
                DriftProblem::new(pointer, problem.message)
            })
            .collect();
        (run, problems)
    }
}

/// [`Event::from_slice_lenient`]; without `check_duplicates`, a repeated key is not looked for
/// (the last copy wins, as in any `serde_json::Value`).
///
/// The fast path is the one pass of the strict parse (with the repeated-key check); a body it
/// refuses takes the slow path, which parses it to a value once, noting the repeated keys.
pub(crate) fn parse(body: &[u8], check_duplicates: bool) -> Result<Event, EventError> {
    if let Some(Ok(event)) = Event::read_once(body, check_duplicates) {
        return Ok(event);
    }
    let limit = if check_duplicates { MAX_DUPLICATES } else { 0 };
    let (value, duplicates) = duplicate_keys::deserialize::<Value>(body, limit);
    lenient(value.map_err(|e| EventError::syntax(&e))?, &duplicates)
}

/// The slow path on the parsed body, given the repeated keys found in it.
pub(super) fn lenient(value: Value, duplicates: &[DuplicateKey]) -> Result<Event, EventError> {
    if let Some(event) = Event::unknown_event_name(&value) {
        // An unknown event has no typed `data`: a repeated key anywhere is refused, as before.
        if let Some(duplicate) = duplicates.first() {
            return Err(EventError::DuplicateKey {
                object: duplicate.object.clone(),
                key: duplicate.key.clone(),
            });
        }
        return Ok(Event::Unknown(UnknownEvent { event, raw: value }));
    }
    if !value.is_object() {
        return Err(EventError::not_an_object(&value));
    }
    if let Some(duplicate) = duplicates.iter().find(|d| !in_data(&d.object)) {
        return Err(EventError::DuplicateKey {
            object: duplicate.object.clone(),
            key: duplicate.key.clone(),
        });
    }
    let envelope: Envelope =
        serde_path_to_error::deserialize(value).map_err(|err| EventError::from_path(&err))?;
    let data = envelope.data.ok_or_else(|| EventError::Invalid {
        pointer: "/data".to_owned(),
        message: "the required field `data` is missing".to_owned(),
    })?;
    let name = match envelope.event {
        EventType::Completed => "run.completed",
        EventType::Failed => "run.failed",
        EventType::Cancelled => "run.cancelled",
        EventType::Unrecognized(name) => {
            return Err(EventError::Invalid {
                pointer: "/event".to_owned(),
                message: format!("unexpected unknown event {name:?}"),
            });
        }
    };
    let expected = EventType::from_wire(name).status();
    if let Some(expected) = expected
        && expected != envelope.status
    {
        return Err(EventError::EventStatusMismatch {
            event: name.to_owned(),
            expected: expected.as_str().to_owned(),
            found: envelope.status.as_str().to_owned(),
        });
    }
    if let Some(Value::String(data_id)) = data.get("run_id")
        && RunId::validate(data_id).is_ok()
        && data_id != envelope.run_id.as_str()
    {
        return Err(EventError::RunIdMismatch {
            envelope: envelope.run_id.to_string(),
            data: data_id.clone(),
        });
    }
    if let Some(Value::String(data_status)) = data.get("status")
        && data_status != envelope.status.as_str()
    {
        return Err(EventError::StatusMismatch {
            envelope: envelope.status.to_string(),
            data: data_status.clone(),
        });
    }
    let raw_data = Value::Object(data);
    let (run, problems) = typed_run(&raw_data, duplicates);
    let drift = (!problems.is_empty()).then(|| Box::new(Drift { problems, raw_data }));
    let run_event = RunEvent {
        run_id: envelope.run_id,
        status: envelope.status,
        data: run,
        extra: envelope.extra,
        drift,
    };
    Ok(match name {
        "run.completed" => Event::Completed(run_event),
        "run.failed" => Event::Failed(run_event),
        _ => Event::Cancelled(run_event),
    })
}

/// Whether the object at `pointer` is `data` or inside it.
fn in_data(pointer: &str) -> bool {
    pointer == "/data" || pointer.starts_with("/data/")
}

/// One step of a path inside `data`, as the typed parse reports it.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

/// The typed run, and the problems found on the way. Works on a copy of `raw`: each value the
/// typed parse refuses is removed from the copy and the parse retried.
fn typed_run(raw: &Value, duplicates: &[DuplicateKey]) -> (Run, Vec<DriftProblem>) {
    let mut work = raw.clone();
    let mut problems = Vec::new();
    for duplicate in duplicates.iter().filter(|d| in_data(&d.object)) {
        let object = &duplicate.object["/data".len()..];
        let mut field = object.to_owned();
        push_token(&mut field, &duplicate.key);
        // A repeat inside a copy that was itself dropped is not in the received document.
        if raw.pointer(&field).is_none() {
            continue;
        }
        if let Some(Value::Object(map)) = work.pointer_mut(object) {
            map.remove(&duplicate.key);
        }
        problems.push(DriftProblem::new(
            format!("/data{field}"),
            format!(
                "the key {:?} appears more than once in this object; no copy is used",
                duplicate.key
            ),
        ));
    }
    // Original indices of the array elements removed so far, by the array's original pointer.
    let mut removed: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    while problems.len() < MAX_PROBLEMS {
        let err = match serde_path_to_error::deserialize::<_, Run>(&work) {
            Ok(run) => return (run, problems),
            Err(err) => err,
        };
        let Some((mut path, message)) = locate(&err) else {
            break;
        };
        let message = match message {
            Located::Missing(field) => {
                format!("the required field `{field}` is missing, so this value is left out")
            }
            Located::Wrong(message) => format!("{message}; the value is left out"),
        };
        if path.is_empty() {
            break;
        }
        let original = to_original(&path, &removed);
        let Some(last) = path.pop() else { break };
        if !remove(&mut work, &path, &last) {
            break;
        }
        if let Step::Index(_) = last
            && let Some((parent, index)) = original.rsplit_once('/')
            && let Ok(index) = index.parse::<usize>()
        {
            removed.entry(parent.to_owned()).or_default().insert(index);
        }
        problems.push(DriftProblem::new(format!("/data{original}"), message));
    }
    fallback(raw, work, problems)
}

/// Too many problems, or one the typed parse could not place: drop every top-level field that
/// does not parse on its own.
fn fallback(raw: &Value, work: Value, mut problems: Vec<DriftProblem>) -> (Run, Vec<DriftProblem>) {
    let Value::Object(fields) = work else {
        return (Run::default(), problems);
    };
    let mut kept = Map::new();
    for (key, value) in fields {
        let mut single = Map::new();
        single.insert(key.clone(), value);
        match Run::deserialize(&Value::Object(single.clone())) {
            Ok(_) => kept.extend(single),
            Err(err) => {
                let mut pointer = String::new();
                push_token(&mut pointer, &key);
                if raw.pointer(&pointer).is_some() {
                    problems.push(DriftProblem::new(
                        format!("/data{pointer}"),
                        format!("{err}; the whole field is left out"),
                    ));
                }
            }
        }
    }
    match Run::deserialize(&Value::Object(kept)) {
        Ok(run) => (run, problems),
        Err(err) => {
            problems.push(DriftProblem::new(
                "/data",
                format!("{err}; nothing in data could be read"),
            ));
            (Run::default(), problems)
        }
    }
}

enum Located {
    Missing(String),
    Wrong(String),
}

/// Where the typed parse failed (the value to leave out) and why.
fn locate(err: &serde_path_to_error::Error<serde_json::Error>) -> Option<(Vec<Step>, Located)> {
    use serde_path_to_error::Segment;
    let mut path = Vec::new();
    for segment in err.path().iter() {
        match segment {
            Segment::Seq { index } => path.push(Step::Index(*index)),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                path.push(Step::Key(key.clone()))
            }
            Segment::Unknown => return None,
        }
    }
    let message = err.inner().to_string();
    let located = match message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        // serde reports a missing field at its parent: the parent is what is left out.
        Some(field) => Located::Missing(field.to_owned()),
        None => Located::Wrong(message),
    };
    Some((path, located))
}

/// The pointer (relative to `data`) of `path` in the received document: indices are shifted
/// back over the elements removed before them.
fn to_original(path: &[Step], removed: &BTreeMap<String, BTreeSet<usize>>) -> String {
    let mut pointer = String::new();
    for step in path {
        match step {
            Step::Key(key) => push_token(&mut pointer, key),
            Step::Index(index) => {
                let mut original = *index;
                if let Some(gone) = removed.get(&pointer) {
                    for &g in gone {
                        if g <= original {
                            original += 1;
                        } else {
                            break;
                        }
                    }
                }
                pointer.push('/');
                pointer.push_str(&original.to_string());
            }
        }
    }
    pointer
}

/// Removes `last` from the value at `parent` in `work`; whether there was something to remove.
fn remove(work: &mut Value, parent: &[Step], last: &Step) -> bool {
    let mut at = work;
    for step in parent {
        let next = match (step, at) {
            (Step::Key(key), Value::Object(map)) => map.get_mut(key),
            (Step::Index(index), Value::Array(items)) => items.get_mut(*index),
            _ => None,
        };
        match next {
            Some(next) => at = next,
            None => return false,
        }
    }
    match (last, at) {
        (Step::Key(key), Value::Object(map)) => map.remove(key).is_some(),
        (Step::Index(index), Value::Array(items)) if *index < items.len() => {
            items.remove(*index);
            true
        }
        _ => false,
    }
}
