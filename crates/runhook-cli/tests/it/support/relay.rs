//! Relays (`runhook listen --forward-to`) on fixed loopback ports, killed with SIGKILL and
//! restarted on the same port and store; a TinyFish-policy sender; and `runhook inbox` read back.

use std::collections::{BTreeSet, HashMap};
use std::fs::OpenOptions;
use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use runhook::RetryPolicy;
use runhook::endpoint::AddressPolicy;
use runhook_dispatch::{DispatchOutcome, DispatcherBuilder};
use serde_json::Value;

use super::listen::Listen;

/// A free port on 127.0.0.1 (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `runhook inbox ARGS`.
pub fn inbox(args: &[&str]) -> Output {
    super::runhook(&[&["inbox"], args].concat(), None)
}

/// The pending rows of the inbox at `store`, as `inbox list --json` prints them.
pub fn pending(store: &str) -> Vec<Value> {
    let output = inbox(&[
        "list", "--state", "pending", "--json", "--limit", "1000000", "--store", store,
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", super::stderr(&output));
    super::json_lines(&output)
}

/// A TinyFish `run.completed` body for `run_id`.
pub fn completed(run_id: &str) -> String {
    format!(
        r#"{{"event":"run.completed","run_id":"{run_id}","status":"COMPLETED","data":{{"result":{{"n":1}}}}}}"#
    )
}

/// Relays sharing one store, each on a port of its own.
pub struct Relays {
    pub ports: Vec<u16>,
    running: Vec<Option<Listen>>,
    store: String,
    app_url: String,
    log: PathBuf,
}

impl Relays {
    /// Starts `count` relays on `store`, forwarding to `app_url`; their stderr goes to `log`.
    pub fn start(count: usize, store: &str, app_url: &str, log: PathBuf) -> Relays {
        let mut relays = Relays {
            ports: (0..count).map(|_| free_port()).collect(),
            running: Vec::new(),
            store: store.to_owned(),
            app_url: app_url.to_owned(),
            log,
        };
        relays.running = (0..count).map(|i| Some(relays.spawn(i))).collect();
        relays
    }

    fn spawn(&self, index: usize) -> Listen {
        let addr = format!("127.0.0.1:{}", self.ports[index]);
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        Listen::spawn(
            &[
                "--addr",
                &addr,
                "--store",
                &self.store,
                "--forward-to",
                &self.app_url,
                "--json",
                "--retry-base-ms",
                "50",
                // Long enough that the snapshot of held rows taken right after a kill (a
                // process of its own, slow on a loaded machine) still sees the killed relay's
                // rows before another relay may take them over.
                "--lease-ms",
                "3000",
                "--grace-ms",
                "500",
            ],
            &[],
            Stdio::from(log),
        )
    }

    /// The webhook URLs of the relays.
    pub fn urls(&self) -> Vec<String> {
        self.ports
            .iter()
            .map(|port| format!("http://127.0.0.1:{port}/webhooks/tinyfish"))
            .collect()
    }

    /// Kills relay `index` with SIGKILL, reads which rows were held under a lease then (by any
    /// relay), and starts it again on the same port and store. Returns the held keys and how long
    /// the relay was down.
    pub fn kill_and_restart(&mut self, index: usize) -> (BTreeSet<String>, Duration) {
        let down = Instant::now();
        if let Some(relay) = self.running[index].take() {
            relay.kill();
        }
        // The snapshot (a process of its own) starts at once, as the restart does: the relay is
        // down for the slower of the two, not for both one after the other (on a loaded machine
        // their sum outlasted the sender's 7 s of retries).
        let store = self.store.clone();
        let snapshot = std::thread::spawn(move || {
            pending(&store)
                .into_iter()
                .filter(|row| !row["lease_until"].is_null())
                .map(|row| row["key"].as_str().unwrap().to_owned())
                .collect()
        });
        self.running[index] = Some(self.spawn(index));
        let down = down.elapsed();
        (snapshot.join().unwrap(), down)
    }

    /// Stops every relay with SIGTERM.
    pub fn stop(&mut self) {
        for relay in self.running.iter_mut().filter_map(Option::take) {
            let (status, _) = relay.stop("-TERM");
            assert!(status.success(), "a relay ended {status} on SIGTERM");
        }
    }
}

/// What the sender saw.
#[derive(Debug, Default)]
pub struct Sent {
    /// Runs submitted.
    pub runs: usize,
    /// Runs a relay answered 200 (delivered, for the sender).
    pub acked: BTreeSet<String>,
    /// Runs that were not delivered, with their outcome.
    pub failed: Vec<(String, String)>,
}

/// Sends `runs` run.completed events, run `i` to `urls[pick(i)]`, with the TinyFish policy
/// (4 attempts; 1 s, 2 s, 4 s), at most 32 at once; returns what was acknowledged.
pub async fn send_runs(
    prefix: &str,
    runs: usize,
    urls: &[String],
    pick: impl Fn(usize) -> usize,
) -> Sent {
    let dispatcher = DispatcherBuilder::new()
        .address_policy(AddressPolicy {
            allow_loopback: true,
            allow_private: false,
        })
        .max_in_flight(32)
        .max_per_host(32)
        .build()
        .unwrap();
    let results = Arc::new(Mutex::new(HashMap::new()));
    let mut waits = tokio::task::JoinSet::new();
    for i in 0..runs {
        let run_id = format!("{prefix}-{i}");
        let url = &urls[pick(i) % urls.len()];
        let handle = dispatcher
            .submit(
                url,
                Bytes::from(completed(&run_id)),
                RetryPolicy::tinyfish(),
            )
            .unwrap();
        let results = Arc::clone(&results);
        waits.spawn(async move {
            let outcome = handle.outcome().await;
            results.lock().unwrap().insert(run_id, outcome);
        });
    }
    while waits.join_next().await.is_some() {}
    dispatcher.shutdown(Duration::from_secs(1)).await;
    let mut sent = Sent {
        runs,
        ..Sent::default()
    };
    for (run_id, outcome) in results.lock().unwrap().drain() {
        match outcome {
            DispatchOutcome::Delivered { status: 200, .. } => {
                sent.acked.insert(run_id);
            }
            other => sent.failed.push((run_id, format!("{other:?}"))),
        }
    }
    sent
}

/// Waits (at most `patience`) until the inbox at `store` has no pending row; whether it got there.
pub fn wait_until_drained(store: &str, patience: Duration) -> bool {
    let deadline = Instant::now() + patience;
    loop {
        if pending(store).is_empty() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// A deterministic generator (splitmix64) for kill moments and relay choices.
pub struct Draws(pub u64);

impl Draws {
    /// The next number.
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `low..high`.
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low).max(1)
    }
}
