//! [`ServerLimits`]: the timeouts and limits of [`serve`](super::serve).

use std::time::Duration;

/// The timeouts and limits of [`serve`](super::serve). `Default` holds the values
/// `runhook listen` uses; change a field with its `with_` method or by assignment.
///
/// Each bounds one way a hostile or broken client could hold sockets or memory: a silent or
/// slowloris connection (`header_timeout`), connections left open (`idle_timeout`,
/// `max_connections`), HTTP/2 streams and windows, and a shutdown waiting for ever (`grace`).
/// How long a *body* may take and how many body bytes are buffered at once is bounded by the
/// body reader ([`read_body`](crate::read_body)), not the server.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerLimits {
    /// How long a client may take to send a complete request head, counted from the moment the
    /// connection waits for one (accept, or the end of the previous request). 10 s: a sender on
    /// a slow network sends a few hundred bytes of head in well under a second, while a
    /// slowloris or silent connection is cut before it holds a socket for long. It also covers a
    /// connection that sends nothing at all, or dribbles the HTTP/2 preface, which hyper's own
    /// HTTP/1 header timeout does not see. For HTTP/1 it also bounds the idle time between
    /// keep-alive requests.
    pub header_timeout: Duration,
    /// How long a connection that has served a request may stay open with no request in
    /// progress. 30 s: long enough for an HTTP/2 sender to reuse its connection across
    /// deliveries a few seconds apart, short enough that idle connections do not pile up
    /// towards `max_connections`. HTTP/1 connections are closed sooner, by `header_timeout`.
    pub idle_timeout: Duration,
    /// How many connections are served at once. 4096: far more than one webhook sender opens,
    /// few enough that the sockets, buffers and tasks stay within a small process (keep it
    /// below `ulimit -n`). When reached, accepting waits until a connection closes; new
    /// connections wait in the kernel's backlog instead of being reset.
    pub max_connections: usize,
    /// How long in-flight requests may take to finish once shutdown starts; then the remaining
    /// connections (partial requests included) are dropped. 10 s: above the receiver's default
    /// 8 s deadline, so a request being handled gets its answer.
    pub grace: Duration,
    /// HTTP/1: the largest read buffer of a connection, which also caps the request head.
    /// 16 KiB: a webhook's head is well under 1 KiB, and 4096 connections then buffer at most
    /// 64 MiB in hyper (hyper's own default is about 400 KiB per connection). Values under
    /// 8 KiB, hyper's minimum, are raised to it.
    pub h1_max_buf_size: usize,
    /// HTTP/2: the streams one connection may have open at once. 32: a webhook sender needs a
    /// handful, and fewer streams per connection leave more of the receiver's body budget to
    /// other connections (hyper's default is 200).
    pub h2_max_concurrent_streams: u32,
    /// HTTP/2: the initial flow-control window of each stream. 256 KiB: enough to keep a
    /// loopback or LAN upload moving, and what hyper buffers at most per stream before the
    /// handler reads it.
    pub h2_stream_window: u32,
    /// HTTP/2: the initial flow-control window of a connection, shared by its streams. 1 MiB:
    /// bounds what hyper buffers per connection to 1 MiB whatever the number of streams.
    pub h2_connection_window: u32,
    /// HTTP/2: the largest header list accepted (decoded). 16 KiB, as for HTTP/1.
    pub h2_max_header_list_size: u32,
    /// HTTP/2: how often to ping a connection to detect a dead peer. 20 s.
    pub h2_keep_alive_interval: Duration,
    /// HTTP/2: how long to wait for the ping's acknowledgement before closing. 10 s.
    pub h2_keep_alive_timeout: Duration,
    /// HTTP/2: streams the peer may open and reset before the server accepts them (the "rapid
    /// reset" attack, CVE-2023-44487). 20, hyper's default, kept explicit.
    pub h2_max_pending_accept_reset_streams: usize,
}

impl ServerLimits {
    /// These limits with another header timeout.
    pub fn with_header_timeout(mut self, header_timeout: Duration) -> Self {
        self.header_timeout = header_timeout;
        self
    }

    /// These limits with another idle timeout.
    pub fn with_idle_timeout(mut self, idle_timeout: Duration) -> Self {
        self.idle_timeout = idle_timeout;
        self
    }

    /// These limits with another connection limit (0 counts as 1).
    pub fn with_max_connections(mut self, max_connections: usize) -> Self {
        self.max_connections = max_connections;
        self
    }

    /// These limits with another shutdown grace period.
    pub fn with_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            max_connections: 4096,
            grace: Duration::from_secs(10),
            h1_max_buf_size: 16 * 1024,
            h2_max_concurrent_streams: 32,
            h2_stream_window: 256 * 1024,
            h2_connection_window: 1024 * 1024,
            h2_max_header_list_size: 16 * 1024,
            h2_keep_alive_interval: Duration::from_secs(20),
            h2_keep_alive_timeout: Duration::from_secs(10),
            h2_max_pending_accept_reset_streams: 20,
        }
    }
}
