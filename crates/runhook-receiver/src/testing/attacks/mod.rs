//! Hostile clients against a server in a process of its own ([`ServerProcess`]): silent and
//! slowloris connections, stalled bodies, h2c connections with stalled streams, and SIGTERM
//! while they hold their connections. `runhook listen`'s attack tests and the adapters' (an
//! axum app on `runhook_axum::serve`) run the same ones.
//!
//! During each attack, valid deliveries must get 200 within [`DELIVERY_BOUND`] (1 s) and the
//! server's resident memory must stay under [`RSS_CEILING_BYTES`] (300 MB); on SIGTERM it must
//! exit within its grace period plus [`EXIT_MARGIN`]. Each attack prints its figures and
//! returns them ([`Figures`]).
//!
//! ```no_run
//! use std::process::Command;
//! use std::time::Duration;
//!
//! use runhook_receiver::testing::attacks::{self, ServerProcess};
//!
//! # async fn test() {
//! // A binary that serves a webhook route, prints `listening on http://ADDR/PATH`, and shuts
//! // down gracefully (grace 2 s) on SIGTERM.
//! let mut server = ServerProcess::start(Command::new("./my-server"));
//! attacks::slowloris(&mut server, Duration::from_secs(2)).await;
//! # }
//! ```

mod clients;
mod process;

use std::future::Future;
use std::time::Duration;

use tokio::sync::{Mutex, MutexGuard};

pub use clients::deliver;
pub use process::{Memory, ServerProcess};

use clients::{
    closed_after, deliveries, h2c_stalled_streams, mb, ms, slowloris as slow_clients,
    stalled_bodies as stalled_clients,
};

/// A valid delivery must be answered 200 within this, attack or not.
pub const DELIVERY_BOUND: Duration = Duration::from_secs(1);
/// The server's resident memory must stay under this during an attack.
pub const RSS_CEILING_BYTES: u64 = 300_000_000;
/// On SIGTERM the server must exit within its grace period plus this. It protects that the
/// exit is set by the grace period, not by the attack's connections (which the 10 s header and
/// body timeouts would otherwise end); the margin is for the process's own exit on a loaded
/// machine.
pub const EXIT_MARGIN: Duration = Duration::from_secs(3);
/// How long a connection the header timeout should close may stay open before the check
/// fails, past the timeout: it protects that the connection is closed at all (before the fix of
/// the silent connection it never was); it is not a measure of promptness.
pub const CLOSE_PATIENCE: Duration = Duration::from_secs(10);

/// The body size the stalled requests declare (the receiver's default limit is 8 MiB; 1 MiB
/// keeps each under it, so the server must hold it rather than refuse it).
const DECLARED: usize = 1024 * 1024;

/// One attack at a time in a test binary: run side by side on a small machine, they would
/// measure each other.
static TURN: Mutex<()> = Mutex::const_new(());

/// Each attack must end within this once its turn has come. It protects the test suite from
/// an attack that hangs (it fails instead); an attack takes about 10 s, more on a loaded
/// machine.
pub const ATTACK_BOUND: Duration = Duration::from_secs(60);

/// Runs `attack` in its turn, within [`ATTACK_BOUND`].
async fn in_turn<T>(name: &str, attack: impl Future<Output = T>) -> T {
    let _turn: MutexGuard<'static, ()> = TURN.lock().await;
    match tokio::time::timeout(ATTACK_BOUND, attack).await {
        Ok(value) => value,
        Err(_) => panic!("[{name}] the attack took longer than {ATTACK_BOUND:?}"),
    }
}

/// What one attack measured.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Figures {
    /// The attack's name.
    pub attack: String,
    /// The time to 200 of each valid delivery made during the attack.
    pub deliveries: Vec<Duration>,
    /// The server's peak resident memory, in bytes.
    pub peak_rss: u64,
    /// How long the server took to exit after SIGTERM, the attack still holding its
    /// connections.
    pub exit: Duration,
}

impl Figures {
    /// The slowest valid delivery.
    pub fn slowest_delivery(&self) -> Duration {
        self.deliveries.iter().copied().max().unwrap_or_default()
    }
}

/// A silent connection, a partial HTTP/1 request head and a partial HTTP/2 preface are each
/// closed by the server, not before `header_timeout` (its configured header timeout) and not
/// later than [`CLOSE_PATIENCE`] after it.
pub async fn header_timeout(server: &ServerProcess, header_timeout: Duration) {
    in_turn(
        "header timeout",
        header_timeout_attack(server, header_timeout),
    )
    .await
}

/// The attack of [`header_timeout`].
async fn header_timeout_attack(server: &ServerProcess, header_timeout: Duration) {
    let partial_head = format!("POST {} HT", server.path());
    let cases: [(&str, &[u8]); 3] = [
        ("silent", b""),
        ("partial head", partial_head.as_bytes()),
        ("partial h2 preface", b"PRI * HTTP/2.0\r\n"),
    ];
    let patience = header_timeout + CLOSE_PATIENCE;
    let closings = cases.map(|(name, sent)| async move {
        (name, closed_after(server.addr(), sent, patience).await)
    });
    for (name, closed) in futures::future::join_all(closings).await {
        let Some(closed) = closed else {
            panic!("{name}: still open {patience:?} after connecting");
        };
        println!(
            "[header timeout {:.0} ms] {name} connection closed after {:.0} ms",
            ms(header_timeout),
            ms(closed)
        );
        assert!(
            closed >= header_timeout.mul_f64(0.9),
            "{name}: closed after {closed:?}, before the header timeout"
        );
    }
}

/// Slowloris: 1020 connections, half silent, half dribbling a request head; 4 valid
/// deliveries 1 s apart; SIGTERM with the connections open.
pub async fn slowloris(server: &mut ServerProcess, grace: Duration) -> Figures {
    in_turn("slowloris", slowloris_attack(server, grace)).await
}

/// The attack of [`slowloris`].
async fn slowloris_attack(server: &mut ServerProcess, grace: Duration) -> Figures {
    const ATTACK: &str = "slowloris 1020";
    let memory = Memory::watch(server.pid());
    let (silent, dribble) = slow_clients(server.addr(), server.path(), 1020).await;
    println!("[{ATTACK}] 1020 connections open (half silent, half dribbling a head)");
    let latencies = deliveries(server.url(), ATTACK, 4, Duration::from_secs(1)).await;
    assert!(!dribble.is_finished(), "the head is still being dribbled");
    let figures = finish(server, memory, ATTACK, latencies, grace);
    dribble.abort();
    drop(silent);
    figures
}

/// 1500 connections each stalled one byte short of a 1 MiB body; 4 valid deliveries while
/// they are sent and held; SIGTERM with the connections open.
pub async fn stalled_bodies(server: &mut ServerProcess, grace: Duration) -> Figures {
    in_turn("stalled bodies", stalled_bodies_attack(server, grace)).await
}

/// The attack of [`stalled_bodies`].
async fn stalled_bodies_attack(server: &mut ServerProcess, grace: Duration) -> Figures {
    const ATTACK: &str = "1500 stalled 1 MiB bodies";
    let memory = Memory::watch(server.pid());
    let url = server.url().to_owned();
    let during =
        tokio::spawn(async move { deliveries(&url, ATTACK, 3, Duration::from_millis(1500)).await });
    let (held, refused) = stalled_clients(
        server.addr(),
        server.path(),
        1500,
        DECLARED,
        Duration::from_secs(10),
    )
    .await;
    println!(
        "[{ATTACK}] {} connections hold {} of {DECLARED} bytes ({refused} cut off by the server)",
        held.len(),
        DECLARED - 1
    );
    let mut latencies = match during.await {
        Ok(latencies) => latencies,
        Err(error) => std::panic::resume_unwind(error.into_panic()),
    };
    latencies.push(deliver(server.url(), ATTACK).await);
    println!(
        "[{ATTACK}] VmRSS while the bodies stall: {:.1} MB",
        mb(memory.now_bytes())
    );
    let figures = finish(server, memory, ATTACK, latencies, grace);
    drop(held);
    figures
}

/// 5 h2c connections requesting 200 streams each, every stream one byte short of a 1 MiB
/// body; 4 valid deliveries 1 s apart; SIGTERM with the streams open.
pub async fn h2c_streams(server: &mut ServerProcess, grace: Duration) -> Figures {
    in_turn("h2c streams", h2c_streams_attack(server, grace)).await
}

/// The attack of [`h2c_streams`].
async fn h2c_streams_attack(server: &mut ServerProcess, grace: Duration) -> Figures {
    const ATTACK: &str = "h2c 5x200 stalled streams";
    let memory = Memory::watch(server.pid());
    let held = h2c_stalled_streams(server.addr(), server.path(), 5, 200, DECLARED).await;
    println!(
        "[{ATTACK}] 1000 streams requested, {} of {DECLARED} bytes each",
        DECLARED - 1
    );
    let latencies = deliveries(server.url(), ATTACK, 4, Duration::from_secs(1)).await;
    let allowed: Vec<usize> = held
        .senders
        .iter()
        .map(h2::client::SendRequest::current_max_send_streams)
        .collect();
    println!("[{ATTACK}] concurrent streams the server allows per connection: {allowed:?}");
    let figures = finish(server, memory, ATTACK, latencies, grace);
    drop(held);
    figures
}

/// Reads the peak memory, sends SIGTERM (the attack's connections still open), prints the
/// figures and checks them.
fn finish(
    server: &mut ServerProcess,
    memory: Memory,
    attack: &str,
    deliveries: Vec<Duration>,
    grace: Duration,
) -> Figures {
    let peak_rss = memory.finish();
    let exit = server.terminate(grace + EXIT_MARGIN);
    println!(
        "[{attack}] exit after SIGTERM: {:.0} ms (grace {:.0} ms)",
        ms(exit),
        ms(grace)
    );
    println!("[{attack}] peak VmRSS: {:.1} MB", mb(peak_rss));
    assert!(
        peak_rss < RSS_CEILING_BYTES,
        "[{attack}] peak VmRSS {:.1} MB is over the {:.0} MB ceiling",
        mb(peak_rss),
        mb(RSS_CEILING_BYTES)
    );
    Figures {
        attack: attack.to_owned(),
        deliveries,
        peak_rss,
        exit,
    }
}
