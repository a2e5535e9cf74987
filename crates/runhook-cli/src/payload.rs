//! Reading and judging a payload: the JSON Schema and the typed parser with its consistency
//! rules.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use anyhow::Context;
use runhook::Event;
use runhook_schema::SchemaValidator;
use serde_json::value::RawValue;

/// One thing wrong with a payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    /// JSON pointer into the payload (`""` is the whole payload).
    pub(crate) pointer: String,
    /// What is wrong.
    pub(crate) message: String,
    /// Which check found it: `schema`, `parse` or `consistency`.
    pub(crate) check: &'static str,
}

/// Every problem with `body`; empty when it is a valid webhook.
pub(crate) fn problems(validator: &SchemaValidator, body: &[u8]) -> Vec<Problem> {
    let typed = Event::from_slice(body).err().map(|error| {
        let pointer = error.pointer().to_owned();
        let message = without_pointer(&error.to_string(), &pointer);
        Problem {
            pointer,
            message,
            check: error.check().as_str(),
        }
    });
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        // Not JSON: the parser's syntax error says where.
        return typed.into_iter().collect();
    };
    let mut found: Vec<Problem> = validator
        .validate_webhook(&value)
        .into_iter()
        .map(|violation| Problem {
            pointer: violation.pointer,
            message: violation.message,
            check: "schema",
        })
        .collect();
    found.extend(typed);
    found
}

/// The parser's message without its leading `field POINTER: `, which the caller prints
/// already (`FILE#POINTER: message`).
fn without_pointer(message: &str, pointer: &str) -> String {
    message
        .strip_prefix(&format!("field {pointer}: "))
        .unwrap_or(message)
        .to_owned()
}

/// The payload bytes of `file` (`-`: standard input), exactly as given, and a name for messages.
pub(crate) fn read(file: &Path) -> anyhow::Result<(String, Vec<u8>)> {
    if file.as_os_str() == "-" {
        let mut body = Vec::new();
        std::io::stdin()
            .read_to_end(&mut body)
            .context("cannot read the payload from standard input")?;
        return Ok(("<stdin>".to_owned(), body));
    }
    let body = std::fs::read(file)
        .with_context(|| format!("cannot read the payload {}", file.display()))?;
    Ok((file.display().to_string(), body))
}

/// The bytes of `payload` when `body` is a fixture wrapper (an object with `why`,
/// `rejected_by` and `payload`, as in `fixtures/invalid/`), exactly as written in the file.
pub(crate) fn wrapped_payload(body: &[u8]) -> Option<Vec<u8>> {
    let object: HashMap<String, &RawValue> = serde_json::from_slice(body).ok()?;
    if !["why", "rejected_by"]
        .iter()
        .all(|key| object.contains_key(*key))
    {
        return None;
    }
    object
        .get("payload")
        .map(|payload| payload.get().as_bytes().to_vec())
}

/// Refuses `body` (named `name`) if it has problems; with `no_validate`, prints one warning
/// line on stderr instead and lets it go.
pub(crate) fn check(
    validator: &SchemaValidator,
    name: &str,
    body: &[u8],
    no_validate: bool,
) -> anyhow::Result<()> {
    let found = problems(validator, body);
    if no_validate {
        let count = found.len();
        eprintln!(
            "runhook: warning: --no-validate: sending {name} as is; {}",
            match count {
                0 => "it passes validation".to_owned(),
                1 => "it has 1 problem (`runhook validate` lists it)".to_owned(),
                n => format!("it has {n} problems (`runhook validate` lists them)"),
            }
        );
        return Ok(());
    }
    if found.is_empty() {
        Ok(())
    } else {
        anyhow::bail!(refusal(name, &found))
    }
}

/// The message refusing to send `name` because of `problems`: one line per problem.
pub(crate) fn refusal(name: &str, problems: &[Problem]) -> String {
    let mut message = format!(
        "refusing to send {name}: it is not a valid TinyFish webhook ({} problem{}):",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for problem in problems {
        message.push_str(&format!(
            "\n  {name}#{}: {} ({})",
            problem.pointer, problem.message, problem.check
        ));
    }
    message.push_str(
        "\nfix the payload, check it with `runhook validate`, or send it as is with --no-validate",
    );
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_payload_has_no_problems_and_an_invalid_one_names_its_pointers() {
        let validator = SchemaValidator::embedded().unwrap();
        let good = br#"{"event":"run.failed","run_id":"run-2","status":"FAILED","data":{"error":{"message":"Site blocked access","category":"AGENT_FAILURE"},"result":null}}"#;
        assert_eq!(problems(&validator, good), vec![]);
        let bad = br#"{"event":"run.completed","run_id":"r1","status":"FAILED","data":{}}"#;
        let found = problems(&validator, bad);
        assert!(
            found
                .iter()
                .any(|p| p.check == "schema" && p.pointer == "/status"),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|p| p.check == "consistency" && p.pointer == "/status"),
            "{found:?}"
        );
        let missing = problems(
            &validator,
            br#"{"run_id":"r1","status":"COMPLETED","data":{}}"#,
        );
        let parse = missing.iter().find(|p| p.check == "parse").unwrap();
        assert_eq!(parse.pointer, "/event");
        assert!(!parse.message.contains("/event"), "{parse:?}");
        let not_json = problems(&validator, b"{nope");
        assert_eq!(not_json.len(), 1);
        assert_eq!(
            (not_json[0].pointer.as_str(), not_json[0].check),
            ("", "parse")
        );
    }

    #[test]
    fn a_wrapper_yields_its_payload_bytes_and_a_payload_is_no_wrapper() {
        let wrapper = br#"{"why":"w","rejected_by":["schema"],"payload":{"a":1, "a":2}}"#;
        assert_eq!(
            wrapped_payload(wrapper).as_deref(),
            Some(&br#"{"a":1, "a":2}"#[..])
        );
        assert_eq!(wrapped_payload(br#"{"payload":{}}"#), None);
        assert_eq!(wrapped_payload(b"[1]"), None);
    }
}
