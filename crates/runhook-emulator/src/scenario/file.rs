//! The scenario file: `{"rules": [...]}` (TOML: `[[rules]]` tables) or a bare JSON list.
//!
//! A rule: `goal_pattern` (a case-insensitive substring, or a regex written `/.../`; none
//! matches every goal), `outcome` (`completed`, `failed`, `cancelled`), `duration_ms`, `steps`,
//! `result`, `error` (`{category, message, code, retry_after}`) and `webhook`
//! (`{drop, timeout, duplicate}`).

use std::time::Duration;

use regex::RegexBuilder;
use runhook::ErrorCategory;
use serde::Deserialize;
use serde_json::Value;

use super::{ErrorSpec, MAX_DURATION, MAX_FAULTS, MAX_STEPS, Matcher, Outcome, Rule, Script};
use crate::error::ScenarioError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    goal_pattern: Option<String>,
    outcome: Option<String>,
    duration_ms: Option<u64>,
    steps: Option<u32>,
    result: Option<Value>,
    error: Option<ErrorFile>,
    webhook: Option<FaultFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ErrorFile {
    category: Option<String>,
    message: Option<String>,
    code: Option<String>,
    retry_after: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultFile {
    drop: Option<u32>,
    timeout: Option<u32>,
    duplicate: Option<bool>,
}

/// The rules of a parsed file.
pub(super) fn rules(value: &Value) -> Result<Vec<Rule>, ScenarioError> {
    let list = match value {
        Value::Array(list) => list,
        Value::Object(object) => match object.get("rules") {
            Some(Value::Array(list)) => list,
            None if object.is_empty() => return Ok(Vec::new()),
            _ => {
                return Err(ScenarioError::Syntax {
                    format: "scenario",
                    message: "expected a list of rules under `rules`".into(),
                });
            }
        },
        _ => {
            return Err(ScenarioError::Syntax {
                format: "scenario",
                message: "expected a list of rules".into(),
            });
        }
    };
    list.iter()
        .enumerate()
        .map(|(index, value)| {
            let fail = |message: String| ScenarioError::Rule {
                index: index + 1,
                message,
            };
            let file: RuleFile =
                serde_json::from_value(value.clone()).map_err(|e| fail(e.to_string()))?;
            rule(file).map_err(fail)
        })
        .collect()
}

/// A pattern: `/regex/` (or `/regex/i`), else a case-insensitive substring.
pub(super) fn matcher(pattern: &str) -> Result<Matcher, String> {
    let regex = pattern
        .strip_prefix('/')
        .and_then(|rest| match rest.strip_suffix("/i") {
            Some(body) => Some((body, true)),
            None => rest.strip_suffix('/').map(|body| (body, false)),
        });
    match regex {
        Some((body, insensitive)) => RegexBuilder::new(body)
            .case_insensitive(insensitive)
            .size_limit(1 << 20)
            .build()
            .map(Matcher::Regex)
            .map_err(|e| format!("goal_pattern is not a valid regex: {e}")),
        None => Ok(Matcher::Substring(pattern.to_lowercase())),
    }
}

pub(super) fn outcome(text: &str) -> Option<Outcome> {
    match text.to_ascii_lowercase().as_str() {
        "completed" | "complete" => Some(Outcome::Completed),
        "failed" | "fail" => Some(Outcome::Failed),
        "cancelled" | "canceled" | "cancel" => Some(Outcome::Cancelled),
        _ => None,
    }
}

pub(super) fn category(text: &str) -> Result<String, String> {
    let upper = text.to_ascii_uppercase();
    if ErrorCategory::from_wire(&upper).is_recognized() {
        Ok(upper)
    } else {
        let known: Vec<&str> = ErrorCategory::KNOWN
            .iter()
            .map(ErrorCategory::as_str)
            .collect();
        Err(format!(
            "unknown error category {text:?}: use one of {}",
            known.join(", ")
        ))
    }
}

fn rule(file: RuleFile) -> Result<Rule, String> {
    let matcher = file.goal_pattern.as_deref().map(matcher).transpose()?;
    let outcome = match file.outcome.as_deref() {
        None => None,
        Some(text) => Some(outcome(text).ok_or_else(|| {
            format!("unknown outcome {text:?}: use completed, failed or cancelled")
        })?),
    };
    let duration = file.duration_ms.map(Duration::from_millis);
    if duration.is_some_and(|d| d > MAX_DURATION) {
        return Err(format!(
            "duration_ms is at most {}",
            MAX_DURATION.as_millis()
        ));
    }
    if file.steps.is_some_and(|steps| steps > MAX_STEPS) {
        return Err(format!("steps is at most {MAX_STEPS}"));
    }
    let error = match file.error {
        None => ErrorSpec::default(),
        Some(error) => ErrorSpec {
            category: error.category.as_deref().map(category).transpose()?,
            message: error.message,
            code: error.code,
            retry_after: error.retry_after,
        },
    };
    let (drop, timeout, duplicate) = match file.webhook {
        None => (None, None, None),
        Some(faults) => (faults.drop, faults.timeout, faults.duplicate),
    };
    if drop.unwrap_or(0).saturating_add(timeout.unwrap_or(0)) > MAX_FAULTS {
        return Err(format!("webhook drop + timeout is at most {MAX_FAULTS}"));
    }
    if file
        .result
        .as_ref()
        .is_some_and(|r| !(r.is_object() || r.is_null()))
    {
        return Err("result must be an object (or null)".into());
    }
    Ok(Rule {
        matcher,
        script: Script {
            outcome,
            duration,
            steps: file.steps,
            result: file.result,
            error,
            drop,
            timeout,
            duplicate,
        },
    })
}
