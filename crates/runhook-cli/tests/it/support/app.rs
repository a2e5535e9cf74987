//! A test app for the relay to forward to, on 127.0.0.1 in the test process (axum): it fails a
//! seeded share of requests with 503, or answers a fixed status (with a `Retry-After` if set),
//! and records every key it answered 2xx, how many times, and any request that lacks the
//! relay's headers.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

/// The app's state, shared with its handler.
struct Shared {
    /// The generator's state (splitmix64), seeded.
    rng: Mutex<u64>,
    /// The share of requests answered 503, drawn from `rng`.
    fail_rate: f64,
    /// A fixed status to answer every request with (0: none; answer by `fail_rate`).
    fixed: AtomicU16,
    /// A `Retry-After` header for every answer that is not 2xx.
    retry_after: Mutex<Option<String>>,
    /// Keys answered 2xx, and how many times.
    delivered: Mutex<HashMap<String, u32>>,
    /// Bodies of the keys answered 2xx (the first one).
    bodies: Mutex<HashMap<String, Vec<u8>>>,
    /// Requests received.
    requests: AtomicU64,
    /// Requests whose headers were not what the relay sends.
    malformed: Mutex<Vec<String>>,
}

/// A running test app.
pub struct App {
    /// Where the relay forwards to.
    pub url: String,
    shared: Arc<Shared>,
}

impl App {
    /// Starts the app on 127.0.0.1 on the current tokio runtime: 503 with probability
    /// `fail_rate` (drawn from `seed`), 200 otherwise.
    pub async fn start(seed: u64, fail_rate: f64) -> App {
        let shared = Arc::new(Shared {
            rng: Mutex::new(seed),
            fail_rate,
            fixed: AtomicU16::new(0),
            retry_after: Mutex::new(None),
            delivered: Mutex::new(HashMap::new()),
            bodies: Mutex::new(HashMap::new()),
            requests: AtomicU64::new(0),
            malformed: Mutex::new(Vec::new()),
        });
        let router = axum::Router::new()
            .route("/webhooks/tinyfish", axum::routing::post(receive))
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        App {
            url: format!("http://{addr}/webhooks/tinyfish"),
            shared,
        }
    }

    /// From now on, answer every request `status` (0: back to the random answers).
    pub fn answer(&self, status: u16) {
        self.shared.fixed.store(status, Ordering::SeqCst);
    }

    /// From now on, send `value` as `Retry-After` with every answer that is not 2xx (`None`: no
    /// header).
    pub fn retry_after(&self, value: Option<&str>) {
        *self.shared.retry_after.lock().unwrap() = value.map(str::to_owned);
    }

    /// Keys answered 2xx, with how many times each.
    pub fn delivered(&self) -> HashMap<String, u32> {
        self.shared.delivered.lock().unwrap().clone()
    }

    /// The body of the first 2xx answer for `key`.
    pub fn body(&self, key: &str) -> Option<Vec<u8>> {
        self.shared.bodies.lock().unwrap().get(key).cloned()
    }

    /// Requests received so far.
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// Descriptions of requests that lacked the relay's headers.
    pub fn malformed(&self) -> Vec<String> {
        self.shared.malformed.lock().unwrap().clone()
    }
}

/// The next draw in [0, 1) of splitmix64.
fn draw(state: &Mutex<u64>) -> f64 {
    let mut state = state.lock().unwrap();
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

async fn receive(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> (StatusCode, HeaderMap) {
    shared.requests.fetch_add(1, Ordering::SeqCst);
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let key = header("idempotency-key").unwrap_or_default().to_owned();
    let attempt_ok = header("x-runhook-attempt").is_some_and(|n| n.parse::<u32>().is_ok());
    if key.is_empty() || !attempt_ok || header("content-type") != Some("application/json") {
        shared
            .malformed
            .lock()
            .unwrap()
            .push(format!("{headers:?}"));
    }
    let fixed = shared.fixed.load(Ordering::SeqCst);
    let status = if fixed != 0 {
        fixed
    } else if draw(&shared.rng) < shared.fail_rate {
        503
    } else {
        200
    };
    if (200..300).contains(&status) {
        *shared
            .delivered
            .lock()
            .unwrap()
            .entry(key.clone())
            .or_insert(0) += 1;
        shared
            .bodies
            .lock()
            .unwrap()
            .entry(key)
            .or_insert_with(|| body.to_vec());
    }
    let mut answer = HeaderMap::new();
    if !(200..300).contains(&status)
        && let Some(value) = shared.retry_after.lock().unwrap().as_deref()
    {
        answer.insert("retry-after", value.parse().unwrap());
    }
    (StatusCode::from_u16(status).unwrap(), answer)
}
