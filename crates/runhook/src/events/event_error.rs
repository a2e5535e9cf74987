//! Why a webhook body is not a valid event.

use serde_json::Value;

/// Which check found a problem: typed parsing, or the cross-field consistency rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Check {
    /// The body is not JSON, not an object, or a field has the wrong type.
    Parse,
    /// The fields parse but disagree with each other (event ⇔ status, `data` vs the envelope).
    Consistency,
}

impl Check {
    /// The check's name, as used in fixtures (`parse`, `consistency`).
    pub fn as_str(self) -> &'static str {
        match self {
            Check::Parse => "parse",
            Check::Consistency => "consistency",
        }
    }
}

/// Why a webhook body is not a valid event. Every variant names the place (a JSON pointer) and
/// the problem, so the message can be returned to the sender as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    /// The body is not well-formed JSON (or nests deeper than 128 levels).
    #[error("the body is not valid JSON (line {line}, column {column}): {message}")]
    Syntax {
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What the JSON parser objected to.
        message: String,
    },
    /// The top level is valid JSON but not an object.
    #[error("the body must be a JSON object, found {found}")]
    NotAnObject {
        /// What was found instead (`an array`, `a string`, …).
        found: &'static str,
    },
    /// A field is missing or has the wrong type or value.
    #[error("{}: {message}", describe_pointer(.pointer))]
    Invalid {
        /// JSON pointer of the field.
        pointer: String,
        /// What is wrong with it.
        message: String,
    },
    /// The event and the status do not pair (`run.completed` ⇔ `COMPLETED`, …).
    #[error("event {event:?} requires status {expected:?}, but status is {found:?}")]
    EventStatusMismatch {
        /// The event type.
        event: String,
        /// The status it pairs with.
        expected: String,
        /// The status the body has.
        found: String,
    },
    /// `data.run_id` differs from the envelope's `run_id`.
    #[error("data.run_id {data:?} differs from run_id {envelope:?}")]
    RunIdMismatch {
        /// The envelope's run id.
        envelope: String,
        /// `data.run_id`.
        data: String,
    },
    /// A key appears more than once in one object outside `data` (parsers disagree on which
    /// copy wins).
    #[error("the key {key:?} appears twice in {}; each key may appear once", describe_object(.object))]
    DuplicateKey {
        /// JSON pointer of the object holding the key twice (`""` is the top level).
        object: String,
        /// The repeated key.
        key: String,
    },
    /// `data.status` differs from the envelope's `status`.
    #[error("data.status {data:?} differs from status {envelope:?}")]
    StatusMismatch {
        /// The envelope's status.
        envelope: String,
        /// `data.status`.
        data: String,
    },
}

impl EventError {
    /// The JSON pointer of the problem (`""` is the whole body).
    pub fn pointer(&self) -> &str {
        match self {
            EventError::Syntax { .. } | EventError::NotAnObject { .. } => "",
            EventError::Invalid { pointer, .. } => pointer,
            EventError::DuplicateKey { object, .. } => object,
            EventError::EventStatusMismatch { .. } => "/status",
            EventError::RunIdMismatch { .. } => "/data/run_id",
            EventError::StatusMismatch { .. } => "/data/status",
        }
    }

    /// Which check found the problem.
    pub fn check(&self) -> Check {
        match self {
            EventError::Syntax { .. }
            | EventError::NotAnObject { .. }
            | EventError::Invalid { .. }
            | EventError::DuplicateKey { .. } => Check::Parse,
            EventError::EventStatusMismatch { .. }
            | EventError::RunIdMismatch { .. }
            | EventError::StatusMismatch { .. } => Check::Consistency,
        }
    }

    /// Builds the error for a JSON syntax failure.
    pub(crate) fn syntax(err: &serde_json::Error) -> Self {
        EventError::Syntax {
            line: err.line(),
            column: err.column(),
            message: strip_position(err),
        }
    }

    /// Builds the error for a value that is not an object at the top level.
    pub(crate) fn not_an_object(value: &Value) -> Self {
        let found = match value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        };
        EventError::NotAnObject { found }
    }

    /// Builds the error for a typed-parse failure, with the path serde reported.
    pub(crate) fn from_path(err: &serde_path_to_error::Error<serde_json::Error>) -> Self {
        let mut pointer = String::new();
        for segment in err.path().iter() {
            use serde_path_to_error::Segment;
            match segment {
                Segment::Seq { index } => {
                    pointer.push('/');
                    pointer.push_str(&index.to_string());
                }
                Segment::Map { key } | Segment::Enum { variant: key } => {
                    push_token(&mut pointer, key)
                }
                Segment::Unknown => {}
            }
        }
        let message = strip_position(err.inner());
        // serde reports a missing field at its parent; point at the field itself.
        if let Some(field) = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.strip_suffix('`'))
        {
            push_token(&mut pointer, field);
            return EventError::Invalid {
                pointer,
                message: format!("the required field `{field}` is missing"),
            };
        }
        EventError::Invalid { pointer, message }
    }
}

/// Appends one reference token to a JSON pointer, escaped per RFC 6901.
pub(super) fn push_token(pointer: &mut String, token: &str) {
    pointer.push('/');
    pointer.push_str(&token.replace('~', "~0").replace('/', "~1"));
}

/// serde_json appends " at line L column C"; the variants carry positions separately.
fn strip_position(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(at) if err.line() > 0 => text[..at].to_owned(),
        _ => text,
    }
}

fn describe_pointer(pointer: &str) -> String {
    if pointer.is_empty() {
        "the body".to_owned()
    } else {
        format!("field {pointer}")
    }
}

fn describe_object(pointer: &str) -> String {
    if pointer.is_empty() {
        "the top-level object".to_owned()
    } else {
        format!("the object at {pointer}")
    }
}
