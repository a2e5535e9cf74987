//! What every handler shares: the data source, the secrets, the links' prefix.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use runhook::inbox::Inbox;
use tokio::sync::Semaphore;

use crate::auth::Auth;
use crate::inspector::Inspector;

/// What the console shows.
pub(crate) enum Source {
    /// An inbox's rows.
    Inbox(Arc<dyn Inbox>),
    /// The deliveries an inspector recorded, and the receiver to send them again through.
    Inspector {
        inspector: Inspector,
        receiver: Router,
        webhook_path: String,
    },
}

/// How live tables are served.
pub(crate) struct Streams {
    /// How often a stream checks for changes.
    pub(crate) interval: Duration,
    /// How long one stream lasts.
    pub(crate) lifetime: Duration,
    /// One permit per stream served at once.
    pub(crate) permits: Arc<Semaphore>,
}

impl Streams {
    pub(crate) fn new(interval: Duration, lifetime: Duration, max: usize) -> Self {
        Streams {
            interval,
            lifetime,
            permits: Arc::new(Semaphore::new(max.min(Semaphore::MAX_PERMITS))),
        }
    }
}

/// The state of one console router.
pub(crate) struct Shared {
    pub(crate) source: Source,
    /// The token check, if the console requires one.
    pub(crate) auth: Option<Auth>,
    /// The CSRF token every form carries.
    pub(crate) csrf: String,
    /// What every link starts with: `""` or `/console`.
    pub(crate) prefix: String,
    pub(crate) page_size: usize,
    pub(crate) streams: Streams,
}

impl Shared {
    /// The console's URL of `path` (which starts with `/`): prefixed.
    pub(crate) fn url(&self, path: &str) -> String {
        if path == "/" && !self.prefix.is_empty() {
            return self.prefix.clone();
        }
        format!("{}{path}", self.prefix)
    }

    /// The inbox, for the inbox console's handlers (`None` on an inspector console).
    pub(crate) fn inbox(&self) -> Option<&Arc<dyn Inbox>> {
        match &self.source {
            Source::Inbox(inbox) => Some(inbox),
            Source::Inspector { .. } => None,
        }
    }
}

/// The handlers' state.
pub(crate) type AppState = Arc<Shared>;
