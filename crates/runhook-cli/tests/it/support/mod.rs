//! A blocking HTTP/1.1 receiver on 127.0.0.1 (optionally over TLS with a throwaway CA), and
//! helpers to run the built `runhook` binary.

#![allow(dead_code, unreachable_pub, missing_docs)]
// Test helpers: a failed setup should panic loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use tokio_rustls::rustls;

pub mod app;
pub mod browser;
pub mod console;
pub mod emulate;
pub mod listen;
pub mod relay;

/// Taken for its whole run by each whole-binary stress test (the relay crash scenarios) and by
/// each test that runs several `runhook` processes on PostgreSQL: they share this test binary
/// with every other test of the crate; two of them at once on a 2-core machine would measure the
/// machine rather than the relay, and their pools (16 connections per process) together would
/// pass the server's `max_connections` (100 by default).
pub async fn heavy() -> tokio::sync::MutexGuard<'static, ()> {
    static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    HEAVY.lock().await
}

/// Says on stderr that a test takes long (`cargo test` shows it with `--nocapture`, and with the
/// output of a failed test); the test's name ends in `_slow` so that the list shows it too.
pub fn slow_test(name: &str, about: &str) {
    eprintln!("slow test: {name}, about {about}");
}

/// How the receiver answers one request.
#[derive(Debug, Clone, Copy)]
pub struct Reply {
    pub status: u16,
    pub delay: Duration,
}

pub fn status(status: u16) -> Reply {
    Reply {
        status,
        delay: Duration::ZERO,
    }
}

/// A scripted receiver: the n-th request gets the n-th reply; the last one repeats.
pub struct Receiver {
    pub addr: SocketAddr,
    tls: bool,
    bodies: Arc<Mutex<Vec<Vec<u8>>>>,
    busy: Arc<Busy>,
}

/// Requests being answered now, and the most at once.
#[derive(Default)]
struct Busy {
    now: AtomicUsize,
    most: AtomicUsize,
}

impl Receiver {
    pub fn start(script: Vec<Reply>) -> Receiver {
        Self::start_inner(TcpListener::bind("127.0.0.1:0").unwrap(), script, None)
    }

    /// On `addr` (e.g. 127.0.0.1:8080), or `None` if it is taken.
    pub fn start_at(addr: &str, script: Vec<Reply>) -> Option<Receiver> {
        let listener = TcpListener::bind(addr).ok()?;
        Some(Self::start_inner(listener, script, None))
    }

    pub fn start_tls(script: Vec<Reply>, ca: &TestCa) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        Self::start_inner(listener, script, Some(ca.server_config()))
    }

    fn start_inner(
        listener: TcpListener,
        script: Vec<Reply>,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Receiver {
        let addr = listener.local_addr().unwrap();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let busy = Arc::new(Busy::default());
        let receiver = Receiver {
            addr,
            tls: tls.is_some(),
            bodies: Arc::clone(&bodies),
            busy: Arc::clone(&busy),
        };
        let script = Arc::new(script);
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let (script, bodies, tls) = (Arc::clone(&script), Arc::clone(&bodies), tls.clone());
                let busy = Arc::clone(&busy);
                thread::spawn(move || {
                    stream.set_nodelay(true).unwrap();
                    match tls {
                        None => serve(stream, &script, &bodies, &busy),
                        Some(config) => {
                            let Ok(connection) = rustls::ServerConnection::new(config) else {
                                return;
                            };
                            serve(
                                rustls::StreamOwned::new(connection, stream),
                                &script,
                                &bodies,
                                &busy,
                            );
                        }
                    }
                });
            }
        });
        receiver
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}/hook", self.addr)
    }

    pub fn bodies(&self) -> Vec<Vec<u8>> {
        self.bodies.lock().unwrap().clone()
    }

    /// The most requests that were being answered at once.
    pub fn most_at_once(&self) -> usize {
        self.busy.most.load(Ordering::SeqCst)
    }
}

/// Reads one request, records its body, answers with the scripted reply and closes.
fn serve(
    mut stream: impl Read + Write,
    script: &[Reply],
    bodies: &Mutex<Vec<Vec<u8>>>,
    busy: &Busy,
) {
    let mut data = Vec::new();
    let mut buffer = [0u8; 8192];
    let head_end = loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(n) => data.extend_from_slice(&buffer[..n]),
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0);
    while data.len() < head_end + length {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(n) => data.extend_from_slice(&buffer[..n]),
        }
    }
    let reply = {
        let mut bodies = bodies.lock().unwrap();
        bodies.push(data[head_end..head_end + length].to_vec());
        script[(bodies.len() - 1).min(script.len() - 1)]
    };
    let now = busy.now.fetch_add(1, Ordering::SeqCst) + 1;
    busy.most.fetch_max(now, Ordering::SeqCst);
    thread::sleep(reply.delay);
    busy.now.fetch_sub(1, Ordering::SeqCst);
    let response = format!(
        "HTTP/1.1 {} Scripted\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}",
        reply.status
    );
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.flush();
}

/// A throwaway CA and a server certificate for `localhost` and 127.0.0.1.
pub struct TestCa {
    pub ca_pem: String,
    chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    key: rustls::pki_types::PrivateKeyDer<'static>,
}

impl TestCa {
    pub fn new() -> TestCa {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "runhook CLI test CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let key = KeyPair::generate().unwrap();
        let params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        let cert = params.signed_by(&key, &issuer).unwrap();
        TestCa {
            ca_pem: ca_cert.pem(),
            chain: vec![cert.der().clone()],
            key: rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        }
    }

    fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), self.key.clone_key())
            .unwrap();
        Arc::new(config)
    }
}

/// The workspace's `fixtures/` directory.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// The `.json` files of `fixtures/DIR`, sorted.
pub fn json_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(fixtures().join(dir))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    files
}

/// Runs `runhook ARGS`, with `stdin` as standard input.
pub fn runhook(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_runhook"))
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    child.wait_with_output().unwrap()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// The JSON Lines of stdout.
pub fn json_lines(output: &Output) -> Vec<serde_json::Value> {
    stdout(output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?}: {e}")))
        .collect()
}

/// The PostgreSQL of the tests (`RUNHOOK_TEST_POSTGRES_URL`, default the local `test` database),
/// or `None` (said on stderr) when it cannot be reached outside CI; with `CI=true` an unreachable
/// server fails the test.
pub fn postgres_url() -> Option<String> {
    let url = std::env::var("RUNHOOK_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let reachable = std::net::TcpStream::connect_timeout(
        &"127.0.0.1:5432".parse().unwrap(),
        Duration::from_secs(2),
    )
    .is_ok()
        || !url.contains("127.0.0.1:5432");
    if reachable {
        return Some(url);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "PostgreSQL at {} is needed in CI",
        runhook::endpoint::redact_url(&url)
    );
    eprintln!(
        "SKIPPED: no PostgreSQL at {}",
        runhook::endpoint::redact_url(&url)
    );
    None
}

/// `url` with `schema=NAME` added (the CLI strips it and keeps its tables there).
pub fn in_schema(url: &str, schema: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}schema={schema}")
}

/// Drops `schema` and everything in it.
pub async fn drop_schema(url: &str, schema: &str) {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .await
        .unwrap();
}

/// `runhook ARGS` (the subcommand first) with `env` set, expected to exit at once: its exit code
/// (`None` if it was still running after [`listen::PATIENCE`], then killed) and stderr.
pub fn exit_of(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_runhook"))
        .args(args)
        .env_remove("RUST_LOG")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log.reopen().unwrap()))
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + listen::PATIENCE;
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        thread::sleep(Duration::from_millis(50));
    };
    (code, std::fs::read_to_string(log.path()).unwrap())
}
