//! The relay's lines of its target's state: `target_down` (once, with its error),
//! `target_still_down` (every 30 s while it is, with the rows waiting) and `target_up` (once,
//! with how many rows waited and for how long), as text or JSON. While the target is down, its
//! failed attempts print no `forward_failed` line of their own.

use std::time::Duration;

use runhook_dispatch::relay::TargetHealth;
use serde::Serialize;

use super::output::Lines;

/// One `--json` line of the target's state.
#[derive(Debug, Serialize, PartialEq)]
struct TargetLine<'a> {
    /// `target_down`, `target_still_down` or `target_up`.
    kind: &'static str,
    /// The forward URL, its secrets redacted.
    target: &'a str,
    /// For `target_down`: what the forward that made it down came to.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    /// For `target_still_down`, the rows not yet forwarded; for `target_up`, the rows that
    /// waited for a later attempt, now due.
    #[serde(skip_serializing_if = "Option::is_none")]
    waiting: Option<u64>,
    /// How long the target has been (`target_still_down`) or was (`target_up`) down.
    #[serde(skip_serializing_if = "Option::is_none")]
    down_for_ms: Option<u64>,
}

impl<'a> TargetLine<'a> {
    /// The line of `change`, if it is about the target being up or down.
    fn of(target: &'a str, change: &'a TargetHealth) -> Option<TargetLine<'a>> {
        let line = |kind, error, waiting, down_for: Option<&Duration>| TargetLine {
            kind,
            target,
            error,
            waiting,
            down_for_ms: down_for.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        };
        Some(match change {
            TargetHealth::Down { error } => line("target_down", Some(error), None, None),
            TargetHealth::StillDown { waiting, down_for } => {
                line("target_still_down", None, *waiting, Some(down_for))
            }
            TargetHealth::Up { waiting, down_for } => {
                line("target_up", None, *waiting, Some(down_for))
            }
            _ => return None,
        })
    }

    /// The text form.
    fn text(&self) -> String {
        let seconds = |ms: Option<u64>| format!("{:.1} s", ms.unwrap_or(0) as f64 / 1000.0);
        let waiting = |what: &str| {
            self.waiting
                .map_or_else(String::new, |n| format!("; {n} row(s) {what}"))
        };
        match self.kind {
            "target_down" => format!(
                "{:<14} {}: {}; rows wait and are retried, their failed attempts not printed \
                 while it is down",
                self.kind,
                self.target,
                self.error.unwrap_or_default()
            ),
            "target_still_down" => format!(
                "{} {}: down for {}{}",
                self.kind,
                self.target,
                seconds(self.down_for_ms),
                waiting("waiting")
            ),
            _ => format!(
                "{:<14} {}: answers again after {} down{}",
                self.kind,
                self.target,
                seconds(self.down_for_ms),
                waiting("that waited are sent now")
            ),
        }
    }
}

impl Lines {
    /// The line of a change of the target's state (`target` redacted); other changes print
    /// nothing here. Whether it printed one.
    pub(crate) fn target(&self, target: &str, change: &TargetHealth) -> bool {
        let Some(line) = TargetLine::of(target, change) else {
            return false;
        };
        let text = if self.is_json() {
            serde_json::to_string(&line).unwrap_or_default()
        } else {
            line.text()
        };
        self.emit(text);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TARGET: &str = "http://127.0.0.1:3000/hook?token=***";

    #[test]
    fn each_state_has_its_kind_and_fields() {
        let down = TargetHealth::Down {
            error: "cannot connect to the app: refused".into(),
        };
        let line = TargetLine::of(TARGET, &down).unwrap();
        assert_eq!(
            serde_json::to_value(&line).unwrap(),
            serde_json::json!({"kind": "target_down", "target": TARGET,
                               "error": "cannot connect to the app: refused"})
        );
        assert!(
            line.text()
                .starts_with("target_down    http://127.0.0.1:3000/hook?token=***: cannot connect")
        );
        let still = TargetHealth::StillDown {
            waiting: Some(20),
            down_for: Duration::from_millis(30_000),
        };
        let line = TargetLine::of(TARGET, &still).unwrap();
        assert_eq!(
            serde_json::to_value(&line).unwrap(),
            serde_json::json!({"kind": "target_still_down", "target": TARGET, "waiting": 20,
                               "down_for_ms": 30_000})
        );
        assert_eq!(
            line.text(),
            format!("target_still_down {TARGET}: down for 30.0 s; 20 row(s) waiting")
        );
        let up = TargetHealth::Up {
            waiting: Some(19),
            down_for: Duration::from_millis(61_250),
        };
        let line = TargetLine::of(TARGET, &up).unwrap();
        assert_eq!(line.kind, "target_up");
        assert_eq!(line.down_for_ms, Some(61_250));
        assert_eq!(
            line.text(),
            format!(
                "target_up      {TARGET}: answers again after 61.2 s down; 19 row(s) that \
                 waited are sent now"
            )
        );
        assert!(TargetLine::of(TARGET, &TargetHealth::Misconfigured { status: 404 }).is_none());
    }
}
