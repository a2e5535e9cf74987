//! Directives in the goal text, for quick scripting without a scenario file:
//!
//! | directive | effect |
//! |---|---|
//! | `[complete]`, `[fail]`, `[cancel]` | the outcome |
//! | `[fail:CATEGORY]` | FAILED with that error category (`AGENT_FAILURE`, `SYSTEM_FAILURE`, ...) |
//! | `[error:MESSAGE]`, `[code:CODE]` | the error's message and code |
//! | `[duration:2s]` (`ms`, `s`, `m`) | how long the run takes |
//! | `[steps:5]` | how many steps |
//! | `[result:{...}]` | the result object (JSON) |
//! | `[webhook:drop=2]`, `[webhook:timeout=1]`, `[webhook:duplicate]` | webhook faults (may be combined with commas) |
//!
//! Any other bracketed text is left alone; a known directive with a bad value is refused.

use std::time::Duration;

use serde_json::Value;

use super::file::{category, outcome};
use super::{MAX_DURATION, MAX_FAULTS, MAX_STEPS, Outcome, Script};
use crate::api_error::Issue;

/// The directives of a goal, and the goal without them.
#[derive(Debug, Default)]
pub(super) struct Parsed {
    pub(super) script: Script,
    /// The goal with its directives removed (trimmed).
    pub(super) text: String,
}

const NAMES: [&str; 9] = [
    "complete", "fail", "cancel", "error", "code", "duration", "steps", "result", "webhook",
];

/// Parses the directives of `goal`; a malformed one is an issue at `path`.
pub(super) fn parse(goal: &str, path: &[Value]) -> Result<Parsed, Issue> {
    let mut parsed = Parsed::default();
    let mut rest = goal;
    while let Some(open) = rest.find('[') {
        parsed.text.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let name_len = after
            .find(|c: char| !c.is_ascii_lowercase())
            .unwrap_or(after.len());
        let name = &after[..name_len];
        let next = after[name_len..].chars().next();
        if !NAMES.contains(&name) || !matches!(next, Some(':' | ']')) {
            parsed.text.push('[');
            rest = after;
            continue;
        }
        let body = &after[name_len..];
        let (value, consumed) = if let Some(tail) = body.strip_prefix(':') {
            let (value, used) = if name == "result" {
                json_value(tail).ok_or_else(|| bad(path, "[result:...] must hold a JSON object"))?
            } else {
                let end = tail
                    .find(']')
                    .ok_or_else(|| bad(path, &format!("[{name}:...] is not closed with ]")))?;
                (Some(tail[..end].trim().to_owned()), end)
            };
            let tail = &tail[used..];
            let close = tail.len() - tail.trim_start().len();
            if !tail[close..].starts_with(']') {
                return Err(bad(path, &format!("[{name}:...] is not closed with ]")));
            }
            (value, name_len + 1 + used + close + 1)
        } else {
            (None, name_len + 1)
        };
        apply(&mut parsed.script, name, value.as_deref(), path)?;
        rest = &after[consumed..];
    }
    parsed.text.push_str(rest);
    parsed.text = parsed.text.split_whitespace().collect::<Vec<_>>().join(" ");
    Ok(parsed)
}

/// A JSON value at the start of `text`, and how many bytes it took.
fn json_value(text: &str) -> Option<(Option<String>, usize)> {
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    match stream.next() {
        Some(Ok(value @ Value::Object(_))) => Some((Some(value.to_string()), stream.byte_offset())),
        _ => None,
    }
}

fn bad(path: &[Value], message: &str) -> Issue {
    Issue::new(
        "custom",
        path.to_vec(),
        format!("Bad emulator directive: {message}"),
    )
}

fn apply(
    script: &mut Script,
    name: &str,
    value: Option<&str>,
    path: &[Value],
) -> Result<(), Issue> {
    let need = |what: &str| {
        value
            .filter(|v| !v.is_empty())
            .ok_or_else(|| bad(path, &format!("[{name}:...] needs {what}")))
    };
    match name {
        "complete" | "cancel" => script.outcome = outcome(name),
        "fail" => {
            script.outcome = Some(Outcome::Failed);
            if let Some(text) = value {
                script.error.category = Some(category(text).map_err(|m| bad(path, &m))?);
            }
        }
        "error" => script.error.message = Some(need("a message")?.to_owned()),
        "code" => script.error.code = Some(need("a code")?.to_owned()),
        "duration" => {
            let duration = duration(need("a duration such as 2s")?)
                .filter(|d| *d <= MAX_DURATION)
                .ok_or_else(|| {
                    bad(
                        path,
                        "[duration:...] takes e.g. 500ms, 2s or 1.5m (at most 1 hour)",
                    )
                })?;
            script.duration = Some(duration);
        }
        "steps" => {
            let steps = need("a number")?
                .parse::<u32>()
                .ok()
                .filter(|n| *n <= MAX_STEPS)
                .ok_or_else(|| bad(path, &format!("[steps:N] takes 0 to {MAX_STEPS}")))?;
            script.steps = Some(steps);
        }
        "result" => {
            let json = need("a JSON object")?;
            script.result = serde_json::from_str(json).ok();
        }
        "webhook" => webhook(script, need("drop=N, timeout=N or duplicate")?, path)?,
        _ => {}
    }
    Ok(())
}

fn webhook(script: &mut Script, text: &str, path: &[Value]) -> Result<(), Issue> {
    for part in text.split(',').map(str::trim) {
        let count = |value: &str| {
            value
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n <= MAX_FAULTS)
                .ok_or_else(|| bad(path, &format!("[webhook:...] counts are 0 to {MAX_FAULTS}")))
        };
        match part.split_once('=') {
            Some(("drop", n)) => script.drop = Some(count(n)?),
            Some(("timeout", n)) => script.timeout = Some(count(n)?),
            None if part == "duplicate" => script.duplicate = Some(true),
            _ => {
                return Err(bad(
                    path,
                    &format!("unknown webhook fault {part:?}: use drop=N, timeout=N or duplicate"),
                ));
            }
        }
    }
    if script.drop.unwrap_or(0) + script.timeout.unwrap_or(0) > MAX_FAULTS {
        return Err(bad(
            path,
            &format!("drop + timeout is at most {MAX_FAULTS}"),
        ));
    }
    Ok(())
}

/// `500ms`, `2s`, `1.5s`, `1m`.
fn duration(text: &str) -> Option<Duration> {
    let (number, scale) = if let Some(n) = text.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60.0)
    } else {
        return None;
    };
    let seconds = number.trim().parse::<f64>().ok()? * scale;
    (seconds.is_finite() && seconds >= 0.0 && seconds <= MAX_DURATION.as_secs_f64())
        .then(|| Duration::from_secs_f64(seconds))
}
