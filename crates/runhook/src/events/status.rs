//! Run statuses and event types.

use super::string_enum::string_enum;

string_enum! {
    /// The status of a run. `Completed`, `Failed` and `Cancelled` are terminal and never change.
    ///
    /// `Completed` means the infrastructure worked, not that the goal succeeded: a goal failure can
    /// come back as `Completed` with a result such as `{"status":"failure","reason":"..."}`.
    pub enum RunStatus {
        /// Queued.
        Pending => "PENDING",
        /// The browser is working.
        Running => "RUNNING",
        /// Finished; `result` holds the data.
        Completed => "COMPLETED",
        /// Failed; `error` says why.
        Failed => "FAILED",
        /// Stopped on request.
        Cancelled => "CANCELLED",
    }
    expecting = "a run status string such as \"COMPLETED\"";
}

impl RunStatus {
    /// Whether the status is terminal (`COMPLETED`, `FAILED` or `CANCELLED`).
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            RunStatus::Completed | RunStatus::Failed | RunStatus::Cancelled
        )
    }

    /// The webhook event a run in this status triggers, if the status is terminal.
    pub fn event_type(&self) -> Option<EventType> {
        match self {
            RunStatus::Completed => Some(EventType::Completed),
            RunStatus::Failed => Some(EventType::Failed),
            RunStatus::Cancelled => Some(EventType::Cancelled),
            _ => None,
        }
    }
}

string_enum! {
    /// The `event` field of a webhook.
    pub enum EventType {
        /// `run.completed`: the run finished.
        Completed => "run.completed",
        /// `run.failed`: an infrastructure error occurred.
        Failed => "run.failed",
        /// `run.cancelled`: the run was cancelled.
        Cancelled => "run.cancelled",
    }
    expecting = "an event type string such as \"run.completed\"";
}

impl EventType {
    /// The status this event is paired with (`run.completed` ⇔ `COMPLETED`, and so on).
    pub fn status(&self) -> Option<RunStatus> {
        match self {
            EventType::Completed => Some(RunStatus::Completed),
            EventType::Failed => Some(RunStatus::Failed),
            EventType::Cancelled => Some(RunStatus::Cancelled),
            EventType::Unrecognized(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_round_trip_and_unknown_ones_are_kept() {
        for status in RunStatus::KNOWN {
            assert_eq!(&RunStatus::from_wire(status.as_str()), status);
        }
        let paused = RunStatus::from_wire("PAUSED");
        assert_eq!(paused, RunStatus::Unrecognized("PAUSED".into()));
        assert_eq!(paused.as_str(), "PAUSED");
        assert!(!paused.is_terminal());
        let json = serde_json::to_string(&paused).unwrap();
        assert_eq!(json, "\"PAUSED\"");
        let back: RunStatus = serde_json::from_str(&json).unwrap();
        assert_eq!(back, paused);
    }

    #[test]
    fn events_pair_with_statuses_both_ways() {
        for event in EventType::KNOWN {
            let status = event.status().unwrap();
            assert_eq!(status.event_type().as_ref(), Some(event));
        }
        assert_eq!(RunStatus::Running.event_type(), None);
        assert_eq!(EventType::from_wire("run.started").status(), None);
    }
}
