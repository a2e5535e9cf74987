//! Judging a payload: the JSON Schema and the typed parser with its consistency rules.

use runhook::Event;
use runhook_schema::SchemaValidator;

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
    let typed = Event::from_slice(body).err().map(|error| Problem {
        pointer: error.pointer().to_owned(),
        message: error.to_string(),
        check: error.check().as_str(),
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
        let not_json = problems(&validator, b"{nope");
        assert_eq!(not_json.len(), 1);
        assert_eq!(
            (not_json[0].pointer.as_str(), not_json[0].check),
            ("", "parse")
        );
    }
}
