//! [`Console`] and [`ConsoleBuilder`]: what the console shows, and how it is served.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use runhook::inbox::Inbox;

use crate::auth::Auth;
use crate::inspector::Inspector;
use crate::state::{Shared, Source, Streams};

/// The default number of rows on a page of the events table.
pub const DEFAULT_PAGE_SIZE: usize = 50;

/// The largest page size [`ConsoleBuilder::page_size`] accepts (larger values are lowered to it).
pub const MAX_PAGE_SIZE: usize = 500;

/// The default interval at which a live table checks for changes.
pub const DEFAULT_STREAM_INTERVAL: Duration = Duration::from_secs(1);

/// The default number of live tables (server-sent event streams) served at once; one more is
/// answered 503.
pub const DEFAULT_MAX_STREAMS: usize = 64;

/// How long one live-table stream lasts before the server ends it (the browser reconnects).
pub const STREAM_LIFETIME: Duration = Duration::from_secs(300);

/// The web console: its constructors. Each gives a [`ConsoleBuilder`], whose
/// [`router`](ConsoleBuilder::router) is the console as an [`axum::Router`] to serve or to nest
/// in an application (behind the application's own authentication, or with
/// [`ConsoleBuilder::token`]).
#[derive(Debug)]
#[non_exhaustive]
pub struct Console;

impl Console {
    /// A console over an inbox: an overview of its rows by state and its activity, a table of
    /// its events with filters and live updates, each event's run and attempt history, and
    /// replay and purge.
    pub fn over_inbox(inbox: Arc<dyn Inbox>) -> ConsoleBuilder {
        ConsoleBuilder::new(Source::Inbox(inbox))
    }

    /// A console over an [`Inspector`]: the deliveries a receiver without an inbox got, with
    /// their headers, bodies and answers. "Send again" posts a delivery once more through
    /// `receiver` (in-process) at `webhook_path`, with the query and headers it had; wrap the
    /// receiver's webhook route with [`Inspector::layer`] so that the delivery sent again is
    /// recorded too.
    pub fn over_inspector(
        inspector: Inspector,
        receiver: Router,
        webhook_path: impl Into<String>,
    ) -> ConsoleBuilder {
        ConsoleBuilder::new(Source::Inspector {
            inspector,
            receiver,
            webhook_path: webhook_path.into(),
        })
    }
}

/// How a console is served: its token, where it is mounted, its page size.
#[must_use]
pub struct ConsoleBuilder {
    source: Source,
    token: Option<String>,
    prefix: String,
    page_size: usize,
    stream_interval: Duration,
    max_streams: usize,
}

impl std::fmt::Debug for ConsoleBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleBuilder")
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("prefix", &self.prefix)
            .field("page_size", &self.page_size)
            .field("stream_interval", &self.stream_interval)
            .field("max_streams", &self.max_streams)
            .finish_non_exhaustive()
    }
}

impl ConsoleBuilder {
    fn new(source: Source) -> Self {
        ConsoleBuilder {
            source,
            token: None,
            prefix: String::new(),
            page_size: DEFAULT_PAGE_SIZE,
            stream_interval: DEFAULT_STREAM_INTERVAL,
            max_streams: DEFAULT_MAX_STREAMS,
        }
    }

    /// Requires `token` on every page: as `Authorization: Bearer <token>`, or through the
    /// session cookie the login page (`/login`) sets. Without a token the console is open to
    /// whoever reaches it; nest it behind your own authentication then.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The path the router is nested at (`"/console"`), which every link, form and asset URL
    /// starts with. Default: `""` (served at the root).
    pub fn mounted_at(mut self, prefix: impl Into<String>) -> Self {
        let prefix = prefix.into();
        self.prefix = prefix.trim_end_matches('/').to_owned();
        if !self.prefix.is_empty() && !self.prefix.starts_with('/') {
            self.prefix.insert(0, '/');
        }
        self
    }

    /// Rows on a page of the events table: default [`DEFAULT_PAGE_SIZE`], between 1 and
    /// [`MAX_PAGE_SIZE`].
    pub fn page_size(mut self, n: usize) -> Self {
        self.page_size = n.clamp(1, MAX_PAGE_SIZE);
        self
    }

    /// How often a live table checks for changes: default [`DEFAULT_STREAM_INTERVAL`] (at
    /// least 10 ms). Tests shorten it.
    pub fn stream_interval(mut self, interval: Duration) -> Self {
        self.stream_interval = interval.max(Duration::from_millis(10));
        self
    }

    /// How many live tables are served at once: default [`DEFAULT_MAX_STREAMS`]; one more is
    /// answered 503 (the page still works, without live updates).
    pub fn max_streams(mut self, n: usize) -> Self {
        self.max_streams = n;
        self
    }

    /// The console as a router: serve it, or nest it at the path given to
    /// [`mounted_at`](Self::mounted_at).
    pub fn router(self) -> Router {
        let shared = Arc::new(Shared {
            auth: self.token.as_deref().map(Auth::new),
            csrf: crate::csrf::new_token(),
            prefix: self.prefix,
            page_size: self.page_size,
            streams: Streams::new(self.stream_interval, STREAM_LIFETIME, self.max_streams),
            source: self.source,
        });
        crate::routes::router(shared)
    }
}
