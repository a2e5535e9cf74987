//! The servers a benchmark runs: started, waited for on their port, stopped with SIGTERM.

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// A server process of a benchmark; stopped (SIGTERM, then SIGKILL) when dropped.
#[derive(Debug)]
pub struct Server {
    name: String,
    child: Option<Child>,
    /// Its address on 127.0.0.1.
    pub addr: SocketAddr,
    log: std::path::PathBuf,
}

impl Server {
    /// Starts `command` (its stdout and stderr into `logs/NAME.log`) and waits up to `wait` for
    /// `port` on 127.0.0.1 to accept connections.
    pub fn start(
        name: &str,
        mut command: Command,
        port: u16,
        logs: &Path,
        wait: Duration,
    ) -> Result<Server> {
        let log = logs.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).with_context(|| format!("{}", log.display()))?;
        command
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file);
        let child = command
            .spawn()
            .with_context(|| format!("starting {name} ({command:?})"))?;
        let mut server = Server {
            name: name.to_owned(),
            child: Some(child),
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            log,
        };
        let deadline = Instant::now() + wait;
        loop {
            if TcpStream::connect_timeout(&server.addr, Duration::from_millis(200)).is_ok() {
                // A moment for the accept loop to settle after the bind.
                std::thread::sleep(Duration::from_millis(200));
                return Ok(server);
            }
            if let Some(child) = server.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                bail!("{name} exited at start ({status}): {}", server.log_tail());
            }
            if Instant::now() > deadline {
                bail!("{name} did not listen on {} in {wait:?}", server.addr);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The last lines of its log (for errors).
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(8)..].join("\n")
    }

    /// Its whole log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, then up to 10 s for it to exit (SIGKILL after); returns its log.
    pub fn stop(mut self) -> String {
        self.terminate();
        self.log()
    }

    fn terminate(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("bench: {} did not stop on SIGTERM; killed", self.name);
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// A free port on 127.0.0.1 (bound and released).
pub fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// `GET path` on 127.0.0.1:`port` (HTTP/1.0); the response body.
pub fn http_get(port: u16, path: &str) -> Result<String> {
    use std::io::{Read, Write};
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, body)| body.trim().to_owned()))
}

/// Runs `command` to its end and returns its stdout; an error with its stderr on failure.
pub fn output(mut command: Command) -> Result<String> {
    let out = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {command:?}"))?;
    if !out.status.success() {
        bail!(
            "{command:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .rev()
                .take(6)
                .collect::<Vec<_>>()
                .join(" | ")
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
