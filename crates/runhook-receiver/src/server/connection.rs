//! One connection of [`super::serve`]: hyper's auto connection plus a watchdog that closes it
//! when no request is in progress for too long.
//!
//! hyper's HTTP/1 `header_read_timeout` only runs once the connection is known to be HTTP/1:
//! while hyper-util's auto builder still reads the first bytes to tell HTTP/1 from the h2
//! preface (a silent connection, or one that dribbles `PRI * HTTP/2.0...`), nothing times out,
//! and HTTP/2 has no header timeout at all. The watchdog covers both, protocol-blind: it counts
//! the requests in progress (handlers running, bodies being read) and closes the connection when
//! there are none for `header` (no request served yet) or `idle` (after one).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, watch};
use tokio::time::Instant;

use super::service::{Handler, Io, PeerAddr, Setup};

/// The watchdog's two timeouts (see [`super::ServerLimits`]).
#[derive(Debug, Clone, Copy)]
pub(super) struct Timeouts {
    /// With no request served yet: how long until the first request's head is complete.
    pub(super) header: Duration,
    /// After a request: how long the connection may stay with no request in progress.
    pub(super) idle: Duration,
}

/// One accepted connection and what serving it needs.
pub(super) struct Connection {
    /// The socket.
    pub(super) stream: TcpStream,
    /// The service its requests go to.
    pub(super) service: Handler,
    /// What turns the TCP stream into the stream HTTP is served on, if anything.
    pub(super) setup: Option<Setup>,
    /// hyper-util's builder, set up from the limits.
    pub(super) builder: Arc<Builder<TokioExecutor>>,
    /// The watchdog's timeouts.
    pub(super) timeouts: Timeouts,
    /// Turns true when the server shuts down.
    pub(super) stopping: watch::Receiver<bool>,
    /// The connection's slot under the limit, released when it ends.
    pub(super) permit: OwnedSemaphorePermit,
}

/// Serves one connection until it ends, the watchdog closes it, or (after `stopping` turns
/// true and a graceful shutdown) it finishes; the task is aborted if the grace period ends
/// first.
pub(super) async fn run(connection: Connection) {
    let Connection {
        stream,
        service,
        setup,
        builder,
        timeouts,
        mut stopping,
        permit: _permit,
    } = connection;
    // Answers are small and go out at once; Nagle would only delay them.
    let _ = stream.set_nodelay(true);
    let peer = stream.peer_addr().ok().map(PeerAddr);
    // The setup (a TLS handshake) must end within the header timeout, as a request head must.
    let stream: Box<dyn Io> = match setup {
        None => Box::new(stream),
        Some(setup) => match tokio::time::timeout(timeouts.header, setup(stream)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(_)) | Err(_) => return,
        },
    };
    let activity = Arc::new(Activity::new());
    let counted = Arc::clone(&activity);
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        let guard = InFlight::start(&counted);
        if let Some(peer) = peer {
            request.extensions_mut().insert(peer);
        }
        let answer = service(request);
        async move {
            let response = answer.await;
            drop(guard);
            response
        }
    });
    // `serve_connection`, not `serve_connection_with_upgrades`: a webhook needs no upgrade.
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    let mut connection = std::pin::pin!(connection);
    let mut shutting_down = false;
    loop {
        let check = activity.next_check(timeouts);
        tokio::select! {
            _ = connection.as_mut() => return,
            () = tokio::time::sleep_until(check) => {
                if activity.expired(timeouts, Instant::now()) {
                    return;
                }
            }
            _ = stopping.changed(), if !shutting_down => {
                shutting_down = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    }
}

/// What the watchdog knows of a connection.
#[derive(Debug)]
struct Activity {
    state: Mutex<State>,
}

/// See [`Activity`].
#[derive(Debug)]
struct State {
    /// Requests whose handler has not answered yet (their body may still be arriving).
    in_flight: usize,
    /// Since when `in_flight` is 0 (the accept, or the end of the last request).
    idle_since: Instant,
    /// Whether a request has started on this connection.
    served: bool,
}

impl Activity {
    /// A connection accepted now.
    fn new() -> Activity {
        Activity {
            state: Mutex::new(State {
                in_flight: 0,
                idle_since: Instant::now(),
                served: false,
            }),
        }
    }

    /// The state; a panic elsewhere while holding the lock leaves it consistent enough.
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// When to look again: the idle deadline, or (with requests in progress) the shorter
    /// timeout from now, which is no later than the deadline once they end.
    fn next_check(&self, timeouts: Timeouts) -> Instant {
        let state = self.lock();
        if state.in_flight > 0 {
            Instant::now() + timeouts.header.min(timeouts.idle)
        } else {
            state.idle_since + state.limit(timeouts)
        }
    }

    /// Whether the connection has had no request in progress for longer than allowed.
    fn expired(&self, timeouts: Timeouts, now: Instant) -> bool {
        let state = self.lock();
        state.in_flight == 0 && now >= state.idle_since + state.limit(timeouts)
    }
}

impl State {
    /// The allowed idle time: `header` before the first request, `idle` after.
    fn limit(&self, timeouts: Timeouts) -> Duration {
        if self.served {
            timeouts.idle
        } else {
            timeouts.header
        }
    }
}

/// One request in progress; ending it (drop) may start the idle time.
struct InFlight(Arc<Activity>);

impl InFlight {
    /// Counts a request that starts now.
    fn start(activity: &Arc<Activity>) -> InFlight {
        let mut state = activity.lock();
        state.in_flight += 1;
        state.served = true;
        InFlight(Arc::clone(activity))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.in_flight = state.in_flight.saturating_sub(1);
        if state.in_flight == 0 {
            state.idle_since = Instant::now();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUTS: Timeouts = Timeouts {
        header: Duration::from_secs(10),
        idle: Duration::from_secs(30),
    };

    #[tokio::test(start_paused = true)]
    async fn header_timeout_before_the_first_request_then_idle_timeout_and_none_while_busy() {
        let activity = Arc::new(Activity::new());
        let start = Instant::now();
        assert_eq!(activity.next_check(TIMEOUTS), start + TIMEOUTS.header);
        assert!(!activity.expired(TIMEOUTS, start + Duration::from_secs(9)));
        assert!(activity.expired(TIMEOUTS, start + TIMEOUTS.header));

        let request = InFlight::start(&activity);
        tokio::time::advance(Duration::from_secs(60)).await;
        assert!(!activity.expired(TIMEOUTS, Instant::now()), "busy");
        let ended = Instant::now();
        drop(request);
        assert_eq!(activity.next_check(TIMEOUTS), ended + TIMEOUTS.idle);
        assert!(!activity.expired(TIMEOUTS, ended + Duration::from_secs(29)));
        assert!(activity.expired(TIMEOUTS, ended + TIMEOUTS.idle));
    }
}
