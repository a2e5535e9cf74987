//! [`Source`]: how an event reached the receiver.

use std::fmt;
use std::str::FromStr;

/// How an event reached the receiver: posted by the sender (a webhook), or found by a sweep of
/// the runs API (recovered by the reconciler). Handlers read it from their context, inbox rows
/// keep it, and reports and metrics count recovered events on their own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Source {
    /// Posted to the receiver by the sender.
    #[default]
    Webhook,
    /// Recovered by a reconciler's sweep of the runs API: its webhook never arrived (or has not
    /// arrived yet).
    Reconciler,
}

impl Source {
    /// Every source, in order.
    pub const ALL: [Source; 2] = [Source::Webhook, Source::Reconciler];

    /// Its name: `webhook` or `reconciler` (the form stored and printed).
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Webhook => "webhook",
            Source::Reconciler => "reconciler",
        }
    }

    /// Whether the event was recovered by the reconciler.
    pub fn is_recovered(self) -> bool {
        self == Source::Reconciler
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Source {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Source::ALL
            .into_iter()
            .find(|source| source.as_str() == s)
            .ok_or_else(|| format!("unknown source {s:?}: expected webhook or reconciler"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_are_refused() {
        for source in Source::ALL {
            assert_eq!(source.as_str().parse::<Source>(), Ok(source));
        }
        assert_eq!(Source::default(), Source::Webhook);
        assert!(Source::Reconciler.is_recovered());
        assert!(!Source::Webhook.is_recovered());
        let error = "sweep".parse::<Source>().unwrap_err();
        assert!(error.contains("\"sweep\""), "{error}");
    }
}
