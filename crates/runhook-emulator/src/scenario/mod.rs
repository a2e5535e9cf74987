//! Scenarios: what each run does. A scenario is a list of rules; the first rule whose pattern
//! matches the goal scripts the run (outcome, duration, steps, result, error, webhook faults),
//! directives in the goal (`[fail]`, `[duration:2s]`, ...) override it, and defaults fill the
//! rest.

mod directives;
mod file;
mod results;

use std::path::Path;
use std::time::Duration;

use regex::Regex;
use serde_json::Value;

use crate::api_error::Issue;
use crate::error::ScenarioError;
pub(crate) use results::step_actions;
use runhook::RunError;

use crate::model::run_error;

/// How a scripted run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Completed,
    Failed,
    Cancelled,
}

/// Which webhook attempts fail on purpose.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub(crate) struct FaultPlan {
    /// The first `drop` attempts never reach the receiver (a simulated network error).
    pub(crate) drop: u32,
    /// The `timeout` attempts after those get no answer (a simulated timeout).
    pub(crate) timeout: u32,
    /// The delivered POST is sent a second time.
    pub(crate) duplicate: bool,
}

/// The error of a failed run, partly given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ErrorSpec {
    pub(crate) category: Option<String>,
    pub(crate) message: Option<String>,
    pub(crate) code: Option<String>,
    pub(crate) retry_after: Option<u64>,
}

/// What a rule or the goal's directives set; `None` leaves the value to what comes next.
#[derive(Debug, Clone, Default)]
pub(crate) struct Script {
    pub(crate) outcome: Option<Outcome>,
    pub(crate) duration: Option<Duration>,
    pub(crate) steps: Option<u32>,
    pub(crate) result: Option<Value>,
    pub(crate) error: ErrorSpec,
    pub(crate) drop: Option<u32>,
    pub(crate) timeout: Option<u32>,
    pub(crate) duplicate: Option<bool>,
}

/// How a rule matches goals.
#[derive(Debug, Clone)]
enum Matcher {
    /// Case-insensitive substring (stored lowercase).
    Substring(String),
    Regex(Regex),
}

impl Matcher {
    fn matches(&self, goal: &str) -> bool {
        match self {
            Matcher::Substring(needle) => goal.to_lowercase().contains(needle),
            Matcher::Regex(regex) => regex.is_match(goal),
        }
    }
}

/// One rule: a goal pattern (none: every goal) and what a matching run does.
#[derive(Debug, Clone)]
struct Rule {
    matcher: Option<Matcher>,
    script: Script,
}

/// The longest scripted run.
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(3600);
/// The most steps a run may script.
pub(crate) const MAX_STEPS: u32 = 100;
/// The most faulty attempts (dropped plus timed out) a run may script.
pub(crate) const MAX_FAULTS: u32 = 10;
/// A run's duration when nothing scripts it.
const DEFAULT_DURATION: Duration = Duration::from_secs(3);
/// A run's number of steps when nothing scripts it.
const DEFAULT_STEPS: u32 = 3;

/// The rules that script runs, loaded from a TOML or JSON file (see docs/emulator.md). The
/// default scenario has no rules: every run completes in 3 s with 3 steps and a plausible result.
#[derive(Debug, Clone, Default)]
pub struct Scenario {
    rules: Vec<Rule>,
}

/// Everything a run does, decided when it is created.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Plan {
    pub(crate) outcome: Outcome,
    pub(crate) duration: Duration,
    pub(crate) steps: u32,
    pub(crate) result: Value,
    pub(crate) error: RunError,
    pub(crate) faults: FaultPlan,
}

impl Scenario {
    /// Reads a scenario file: TOML for `.toml`, JSON for `.json`, and for any other name JSON
    /// if it parses, else TOML.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, ScenarioError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: path.to_owned(),
            source,
        })?;
        match path.extension().and_then(|ext| ext.to_str()) {
            Some("toml") => Self::from_toml_str(&text),
            Some("json") => Self::from_json_str(&text),
            _ => Self::from_json_str(&text).or_else(|_| Self::from_toml_str(&text)),
        }
    }

    /// Parses a scenario written in TOML (`[[rules]]` tables).
    pub fn from_toml_str(text: &str) -> Result<Self, ScenarioError> {
        let value: Value = toml::from_str(text).map_err(|error| ScenarioError::Syntax {
            format: "TOML",
            message: error.to_string(),
        })?;
        file::rules(&value).map(|rules| Scenario { rules })
    }

    /// Parses a scenario written in JSON (`{"rules": [...]}` or a bare list of rules).
    pub fn from_json_str(text: &str) -> Result<Self, ScenarioError> {
        let value: Value = serde_json::from_str(text).map_err(|error| ScenarioError::Syntax {
            format: "JSON",
            message: error.to_string(),
        })?;
        file::rules(&value).map(|rules| Scenario { rules })
    }

    /// How many rules the scenario holds.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether the scenario holds no rules (every run gets the defaults).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The plan of a run: directives in `goal` over the first matching rule over the defaults.
    /// A malformed directive is an issue at `goal_path`.
    pub(crate) fn plan(
        &self,
        goal: &str,
        url: &str,
        output_schema: Option<&Value>,
        goal_path: &[Value],
    ) -> Result<Plan, Issue> {
        let parsed = directives::parse(goal, goal_path)?;
        let rule = self
            .rules
            .iter()
            .find(|rule| rule.matcher.as_ref().is_none_or(|m| m.matches(goal)))
            .map(|rule| &rule.script);
        let pick = |get: &dyn Fn(&Script) -> Option<u32>| {
            get(&parsed.script).or_else(|| rule.and_then(get))
        };
        let outcome = parsed
            .script
            .outcome
            .or_else(|| rule.and_then(|r| r.outcome))
            .unwrap_or(Outcome::Completed);
        let duration = parsed
            .script
            .duration
            .or_else(|| rule.and_then(|r| r.duration))
            .unwrap_or(DEFAULT_DURATION);
        let steps = pick(&|s| s.steps).unwrap_or(DEFAULT_STEPS);
        let result = match parsed
            .script
            .result
            .clone()
            .or_else(|| rule.and_then(|r| r.result.clone()))
        {
            Some(result) => result,
            None => match output_schema {
                Some(schema) => results::generate(schema, &parsed.text, url),
                None => results::default_result(&parsed.text, url),
            },
        };
        let spec = |get: &dyn Fn(&ErrorSpec) -> Option<String>| {
            get(&parsed.script.error).or_else(|| rule.and_then(|r| get(&r.error)))
        };
        let category = spec(&|e| e.category.clone()).unwrap_or_else(|| "AGENT_FAILURE".into());
        let message = spec(&|e| e.message.clone())
            .unwrap_or_else(|| results::default_error_message(&category).to_owned());
        let retry_after = parsed
            .script
            .error
            .retry_after
            .or_else(|| rule.and_then(|r| r.error.retry_after));
        let error = run_error(&category, message, spec(&|e| e.code.clone()), retry_after);
        let faults = FaultPlan {
            drop: pick(&|s| s.drop).unwrap_or(0),
            timeout: pick(&|s| s.timeout).unwrap_or(0),
            duplicate: parsed
                .script
                .duplicate
                .or_else(|| rule.and_then(|r| r.duplicate))
                .unwrap_or(false),
        };
        Ok(Plan {
            outcome,
            duration,
            steps,
            result,
            error,
            faults,
        })
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
