//! Reading one retry case, checking its shape with a JSON pointer for every problem.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use runhook::delivery::{AttemptResult, NetworkErrorKind, RetryPolicy, parse_retry_after};
use serde_json::{Map, Value};

use super::Problems;

/// One result of the script: `None` for a timeout, which is never fed.
pub(super) type Scripted = Option<AttemptResult>;

/// A case whose shape is right, ready to run.
pub(super) struct Case {
    pub(super) name: String,
    pub(super) policy: RetryPolicy,
    pub(super) results: Vec<Scripted>,
    pub(super) attempts: u32,
    pub(super) waits_ms: Vec<(u64, u64)>,
    pub(super) delivered: bool,
    pub(super) status: Option<u16>,
    pub(super) last: Option<Scripted>,
    pub(super) elapsed_ms: Option<u64>,
}

fn object<'a>(
    value: &'a Value,
    pointer: &str,
    allowed: &[&str],
    what: &str,
    problems: &mut Problems<'_>,
) -> Option<&'a Map<String, Value>> {
    let Some(map) = value.as_object() else {
        problems.at(pointer, format!("{what} must be an object"));
        return None;
    };
    for key in map.keys().filter(|k| !allowed.contains(&k.as_str())) {
        problems.at(
            format!("{pointer}/{key}"),
            format!("unknown field; {what} has {}", allowed.join(", ")),
        );
    }
    Some(map)
}

fn integer(
    map: &Map<String, Value>,
    key: &str,
    pointer: &str,
    problems: &mut Problems<'_>,
) -> Option<u64> {
    let value = map.get(key)?;
    let number = value.as_u64();
    if number.is_none() {
        problems.at(
            format!("{pointer}/{key}"),
            format!("must be a non-negative integer, found {value}"),
        );
    }
    number
}

fn status_of(map: &Map<String, Value>, pointer: &str, problems: &mut Problems<'_>) -> Option<u16> {
    let status = integer(map, "status", pointer, problems)?;
    match u16::try_from(status) {
        Ok(status) if (100..=999).contains(&status) => Some(status),
        _ => {
            problems.at(
                format!("{pointer}/status"),
                format!("{status} is not an HTTP status code (100 to 999)"),
            );
            None
        }
    }
}

/// The wall-clock instant `retry_after` headers are read at: 2015-10-21T07:28:00Z.
fn wall() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_445_412_480)
}

fn parse_result(value: &Value, pointer: &str, problems: &mut Problems<'_>) -> Option<Scripted> {
    const FIELDS: [&str; 5] = [
        "status",
        "retry_after_s",
        "retry_after",
        "network",
        "timeout",
    ];
    let before = problems.count;
    let map = object(value, pointer, &FIELDS, "a result", problems)?;
    let kinds = ["status", "network", "timeout"]
        .iter()
        .filter(|k| map.contains_key(**k))
        .count();
    if kinds != 1 {
        problems.at(
            pointer,
            "a result has exactly one of status, network or timeout",
        );
        return None;
    }
    if !map.contains_key("status")
        && (map.contains_key("retry_after_s") || map.contains_key("retry_after"))
    {
        problems.at(
            pointer,
            "retry_after_s and retry_after go with a status only",
        );
    }
    if let Some(timeout) = map.get("timeout") {
        if timeout != &Value::Bool(true) {
            problems.at(
                format!("{pointer}/timeout"),
                "write a timeout as \"timeout\": true",
            );
        }
        return (problems.count == before).then_some(None);
    }
    if let Some(kind) = map.get("network") {
        let Some(kind) = kind.as_str().and_then(NetworkErrorKind::from_name) else {
            problems.at(
                format!("{pointer}/network"),
                format!("unknown network error {kind}; use connect, tls, reset, body or other"),
            );
            return None;
        };
        return (problems.count == before).then_some(Some(AttemptResult::Network(kind)));
    }
    let status = status_of(map, pointer, problems)?;
    let retry_after = match (map.get("retry_after_s"), map.get("retry_after")) {
        (Some(_), Some(_)) => {
            problems.at(pointer, "give retry_after_s or retry_after, not both");
            return None;
        }
        (Some(_), None) => Some(Duration::from_secs(integer(
            map,
            "retry_after_s",
            pointer,
            problems,
        )?)),
        (None, Some(Value::String(header))) => parse_retry_after(header, wall()),
        (None, Some(other)) => {
            problems.at(
                format!("{pointer}/retry_after"),
                format!("must be the header value as a string, found {other}"),
            );
            return None;
        }
        (None, None) => None,
    };
    (problems.count == before).then_some(Some(AttemptResult::Response {
        status,
        retry_after,
    }))
}

fn parse_wait(value: &Value, pointer: &str, problems: &mut Problems<'_>) -> Option<(u64, u64)> {
    if let Some(ms) = value.as_u64() {
        return Some((ms, ms));
    }
    if let Some([low, high]) = value.as_array().map(Vec::as_slice)
        && let (Some(low), Some(high)) = (low.as_u64(), high.as_u64())
        && low <= high
    {
        return Some((low, high));
    }
    problems.at(
        pointer,
        format!("a wait is milliseconds (1000) or an inclusive range ([750, 1250]), found {value}"),
    );
    None
}

/// The case in `value`, or `None` after reporting what is wrong with it.
pub(super) fn parse_case(value: &Value, problems: &mut Problems<'_>) -> Option<Case> {
    let map = object(
        value,
        "",
        &["name", "policy", "results", "expect"],
        "a case",
        problems,
    )?;
    let name = match map.get("name").and_then(Value::as_str) {
        Some(name) if !name.trim().is_empty() => name.to_owned(),
        _ => {
            problems.at("/name", "give the case a name (a non-empty string)");
            String::new()
        }
    };
    let policy = match map.get("policy").and_then(Value::as_str) {
        Some("tinyfish") => Some(RetryPolicy::tinyfish()),
        Some("standard") => Some(RetryPolicy::standard()),
        _ => {
            problems.at("/policy", "the policy must be \"tinyfish\" or \"standard\"");
            None
        }
    };
    let results: Vec<Option<Scripted>> = match map.get("results").and_then(Value::as_array) {
        Some(list) if !list.is_empty() => list
            .iter()
            .enumerate()
            .map(|(j, r)| parse_result(r, &format!("/results/{j}"), problems))
            .collect(),
        _ => {
            problems.at("/results", "results must be a non-empty list");
            Vec::new()
        }
    };
    let expect = map.get("expect").and_then(|e| {
        object(
            e,
            "/expect",
            &[
                "attempts",
                "waits_ms",
                "outcome",
                "status",
                "last",
                "elapsed_ms",
            ],
            "expect",
            problems,
        )
    });
    let Some(expect) = expect else {
        if !map.contains_key("expect") {
            problems.at("/expect", "say what to expect");
        }
        return None;
    };
    let attempts = match integer(expect, "attempts", "/expect", problems) {
        Some(n) if n >= 1 => u32::try_from(n).ok(),
        Some(_) => {
            problems.at("/expect/attempts", "a delivery makes at least 1 attempt");
            None
        }
        None => {
            problems.at("/expect/attempts", "say how many attempts to expect");
            None
        }
    };
    let waits_ms: Vec<Option<(u64, u64)>> = match expect.get("waits_ms").and_then(Value::as_array) {
        Some(list) => list
            .iter()
            .enumerate()
            .map(|(j, w)| parse_wait(w, &format!("/expect/waits_ms/{j}"), problems))
            .collect(),
        None => {
            problems.at(
                "/expect/waits_ms",
                "waits_ms must be a list (empty for no retry)",
            );
            Vec::new()
        }
    };
    let delivered = match expect.get("outcome").and_then(Value::as_str) {
        Some("delivered") => Some(true),
        Some("failed") => Some(false),
        _ => {
            problems.at(
                "/expect/outcome",
                "the outcome must be \"delivered\" or \"failed\"",
            );
            None
        }
    };
    let status = expect
        .contains_key("status")
        .then(|| status_of(expect, "/expect", problems))
        .flatten();
    let last = expect
        .get("last")
        .map(|last| parse_result(last, "/expect/last", problems));
    match (delivered, status.is_some(), last.is_some()) {
        (Some(true), false, _) => {
            problems.at("/expect/status", "a delivered case names its status")
        }
        (Some(true), _, true) => {
            problems.at("/expect/last", "a delivered case has no last; use status")
        }
        (Some(false), false, false) => problems.at(
            "/expect",
            "a failed case names its last result: status or last",
        ),
        (Some(false), true, true) => problems.at("/expect/last", "give status or last, not both"),
        _ => {}
    }
    let elapsed_ms = integer(expect, "elapsed_ms", "/expect", problems);
    if problems.count > 0 {
        return None;
    }
    Some(Case {
        name,
        policy: policy?,
        results: results.into_iter().collect::<Option<_>>()?,
        attempts: attempts?,
        waits_ms: waits_ms.into_iter().collect::<Option<_>>()?,
        delivered: delivered?,
        status,
        last: last.flatten(),
        elapsed_ms,
    })
}
