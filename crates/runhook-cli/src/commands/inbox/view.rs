//! How `runhook inbox list` and `show` print rows: a table or JSON Lines, and every field of one
//! row with its body pretty-printed.

use runhook::inbox::{InboxAttempt, InboxEntry};
use serde_json::{Value, json};

use crate::out;
use crate::timefmt::rfc3339;

/// The table's columns, in order.
const COLUMNS: [&str; 8] = [
    "KEY",
    "STATE",
    "ATTEMPTS",
    "EVENT",
    "RUN_ID",
    "RECEIVED_AT",
    "NEXT_AT",
    "LAST_ERROR",
];

/// Prints `rows` as a table (a header, then one line per row) or as JSON Lines.
pub(super) fn list(rows: &[InboxEntry], json: bool) -> anyhow::Result<()> {
    if json {
        for entry in rows {
            out::line(&summary(entry).to_string())?;
        }
        return Ok(());
    }
    let cells: Vec<[String; 8]> = rows.iter().map(cells).collect();
    let mut widths = COLUMNS.map(str::len);
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    out::line(&format_row(&COLUMNS.map(str::to_owned), &widths))?;
    for row in &cells {
        out::line(&format_row(row, &widths))?;
    }
    if rows.is_empty() {
        eprintln!("runhook: no rows");
    }
    Ok(())
}

/// One row of the table: every column padded but the last.
fn format_row(cells: &[String; 8], widths: &[usize; 8]) -> String {
    let mut line = String::new();
    for (index, (cell, width)) in cells.iter().zip(widths).enumerate() {
        if index + 1 == cells.len() {
            line.push_str(cell);
        } else {
            line.push_str(&format!("{cell:<width$}  "));
        }
    }
    line.trim_end().to_owned()
}

/// A row's table cells.
fn cells(entry: &InboxEntry) -> [String; 8] {
    let dash = || "-".to_owned();
    [
        entry.key.to_string(),
        entry.state.to_string(),
        entry.attempts.to_string(),
        entry.event.clone(),
        entry.run_id.clone().unwrap_or_else(dash),
        rfc3339(entry.received_at),
        if entry.state == runhook::inbox::InboxState::Pending {
            rfc3339(entry.next_at)
        } else {
            dash()
        },
        entry
            .last_error
            .as_deref()
            .map(one_line)
            .unwrap_or_else(dash),
    ]
}

/// A message on one line, cut at 100 characters.
fn one_line(text: &str) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match flat.char_indices().nth(100) {
        Some((cut, _)) => format!("{}…", &flat[..cut]),
        None => flat,
    }
}

/// The fields of a row but its body and drift, as JSON.
fn summary(entry: &InboxEntry) -> Value {
    json!({
        "key": entry.key.as_str(),
        "state": entry.state.as_str(),
        "attempts": entry.attempts,
        "event": entry.event,
        "run_id": entry.run_id,
        "received_at": rfc3339(entry.received_at),
        "next_at": rfc3339(entry.next_at),
        "lease_until": entry.lease_until.map(rfc3339),
        "finished_at": entry.finished_at.map(rfc3339),
        "last_error": entry.last_error,
        "source": entry.source.as_str(),
    })
}

/// Prints every field of `entry`, as text or one JSON object (`body` parsed when it is JSON).
pub(super) fn show(entry: &InboxEntry, history: &[InboxAttempt], json: bool) -> anyhow::Result<()> {
    let body: Option<Value> = serde_json::from_slice(&entry.body).ok();
    if json {
        let mut object = summary(entry);
        object["replays"] = Value::from(entry.replays);
        object["history"] = history.iter().map(attempt_json).collect();
        object["drift"] = serde_json::to_value(&entry.drift).unwrap_or(Value::Null);
        object["body"] = body
            .unwrap_or_else(|| Value::String(String::from_utf8_lossy(&entry.body).into_owned()));
        return out::line(&object.to_string());
    }
    let optional = |at: Option<std::time::SystemTime>| at.map_or_else(|| "-".to_owned(), rfc3339);
    let fields = [
        ("key", entry.key.to_string()),
        ("state", entry.state.to_string()),
        ("attempts", entry.attempts.to_string()),
        ("event", entry.event.clone()),
        ("run_id", entry.run_id.clone().unwrap_or_else(|| "-".into())),
        ("received_at", rfc3339(entry.received_at)),
        ("next_at", rfc3339(entry.next_at)),
        ("lease_until", optional(entry.lease_until)),
        ("finished_at", optional(entry.finished_at)),
        (
            "last_error",
            entry.last_error.clone().unwrap_or_else(|| "-".into()),
        ),
        ("source", entry.source.to_string()),
        ("replays", entry.replays.to_string()),
    ];
    for (name, value) in fields {
        out::line(&format!("{name:<12} {value}"))?;
    }
    if history.is_empty() {
        out::line(&format!("{:<12} none settled", "history"))?;
    } else {
        out::line("history")?;
        for attempt in history {
            out::line(&format!(
                "  series {} attempt {} at {} ({} ms): {}{}",
                attempt.series,
                attempt.attempt,
                rfc3339(attempt.started_at),
                attempt.duration().as_millis(),
                attempt.outcome.as_str(),
                attempt
                    .error
                    .as_deref()
                    .map(|error| format!(": {error}"))
                    .unwrap_or_default()
            ))?;
        }
    }
    if entry.drift.is_empty() {
        out::line(&format!("{:<12} none", "drift"))?;
    } else {
        out::line("drift")?;
        for problem in &entry.drift {
            out::line(&format!("  {}: {}", problem.pointer, problem.message))?;
        }
    }
    out::line(&format!("body ({} bytes)", entry.body.len()))?;
    let text = match (body, std::str::from_utf8(&entry.body)) {
        (Some(_), Ok(json)) => pretty(json),
        _ => String::from_utf8_lossy(&entry.body).into_owned(),
    };
    out::line(&text)
}

/// One settled attempt as JSON: series, attempt, started_at, finished_at, outcome, error,
/// next_at.
fn attempt_json(attempt: &InboxAttempt) -> Value {
    json!({
        "series": attempt.series,
        "attempt": attempt.attempt,
        "started_at": rfc3339(attempt.started_at),
        "finished_at": rfc3339(attempt.finished_at),
        "outcome": attempt.outcome.as_str(),
        "error": attempt.error,
        "next_at": attempt.next_at.map(rfc3339),
    })
}

/// Valid JSON `json` re-indented by two spaces, its members in the order received.
fn pretty(json: &str) -> String {
    let mut out = String::with_capacity(json.len() * 2);
    let mut depth = 0usize;
    let (mut in_string, mut escaped) = (false, false);
    let mut chars = json.chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                while chars.peek().is_some_and(|next| next.is_ascii_whitespace()) {
                    chars.next();
                }
                out.push(c);
                if chars.peek().is_some_and(|next| matches!(next, '}' | ']')) {
                    continue;
                }
                depth += 1;
                newline(&mut out, depth);
            }
            '}' | ']' => {
                if !out.ends_with(['{', '[']) {
                    depth = depth.saturating_sub(1);
                    newline(&mut out, depth);
                }
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_ascii_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_keeps_the_members_in_order_and_strings_intact() {
        let json = r#"{"z":1,"a":{"b":[1, 2,{}],"e":[]},"s":"x, {y}: \"q\" \\"}"#;
        let text = pretty(json);
        assert_eq!(
            text,
            "{\n  \"z\": 1,\n  \"a\": {\n    \"b\": [\n      1,\n      2,\n      {}\n    ],\n    \"e\": []\n  },\n  \"s\": \"x, {y}: \\\"q\\\" \\\\\"\n}"
        );
        let again: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(again, serde_json::from_str::<Value>(json).unwrap());
    }
}
