//! Headless Chromium for the console's browser tests, driven over WebDriver (fantoccini) through
//! a `chromedriver` of its own on a free loopback port (chromedriver accepts local connections
//! only unless `--allowed-ips` is given, and listens on 127.0.0.1 and ::1). Browser tests take
//! turns: one Chromium at a time on a 2-core machine.
//!
//! Chromium and chromedriver are Debian's (`chromium`, `chromium-driver`), which `.ci/run`
//! installs. Missing, a test is skipped loudly, or fails with `CI=true`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

/// Debian's Chromium.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Debian's chromedriver (package `chromium-driver`).
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long to wait for what the page should show promptly (an element, an attribute, a value).
pub const WAIT: Duration = Duration::from_secs(20);
/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(75);
/// How long chromedriver and then Chromium may take to start.
const START: Duration = Duration::from_secs(20);

/// A phone's viewport (an iPhone 12-14), for the narrow screenshots.
pub const PHONE: (u32, u32) = (390, 844);
/// The window size Chromium starts with.
pub const DESKTOP: (u32, u32) = (1280, 900);

/// A Chromium session and its chromedriver; both are killed on drop.
pub struct Browser {
    client: Client,
    driver: Child,
    /// Chromium's profile, fresh for each browser (removed on drop, after the kill).
    profile: tempfile::TempDir,
    /// This test's turn: one browser at a time.
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

/// Whether Chromium and chromedriver are installed; outside CI a missing one skips the test
/// (said on stderr), with `CI=true` it fails it.
fn installed() -> bool {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|path| !Path::new(path).exists())
        .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "the browser tests need {} in CI (Debian packages chromium and chromium-driver; \
         .ci/run installs them)",
        missing.join(" and ")
    );
    eprintln!(
        "SKIPPED: no {} (apt-get install chromium chromium-driver)",
        missing.join(" and ")
    );
    false
}

impl Browser {
    /// Starts chromedriver on a free loopback port and opens a headless Chromium session; `None`
    /// (said on stderr) when Chromium or chromedriver is not installed, outside CI.
    pub async fn start() -> Option<Browser> {
        if !installed() {
            return None;
        }
        static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
        let turn = TURN.lock().await;
        let port = super::relay::free_port();
        let profile = tempfile::tempdir().unwrap();
        let mut driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg(format!(
                "--log-path={}",
                profile.path().join("chromedriver.log").display()
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{CHROMEDRIVER}: {e}"));
        let webdriver = format!("http://127.0.0.1:{port}");
        if let Err(problem) = wait_until_ready(&webdriver, &mut driver).await {
            let _ = driver.kill();
            let _ = driver.wait();
            let log = std::fs::read_to_string(profile.path().join("chromedriver.log"));
            panic!("{problem}; its log:\n{}", log.unwrap_or_default());
        }
        let user_data = profile.path().join("chromium");
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    // Loopback only, whatever proxy the environment names.
                    "--no-proxy-server",
                    format!("--user-data-dir={}", user_data.display()),
                    format!("--window-size={},{}", DESKTOP.0, DESKTOP.1),
                ],
            }),
        );
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(capabilities);
        let connecting = builder.connect(&webdriver);
        let client = match tokio::time::timeout(START, connecting).await {
            Ok(Ok(client)) => client,
            failed => {
                let _ = driver.kill();
                let _ = driver.wait();
                let log = std::fs::read_to_string(profile.path().join("chromedriver.log"));
                let problem = match failed {
                    Ok(Err(e)) => e.to_string(),
                    _ => format!("no session within {START:?}"),
                };
                panic!(
                    "Chromium did not start: {problem}; chromedriver's log:\n{}",
                    log.unwrap_or_default()
                );
            }
        };
        Some(Browser {
            client,
            driver,
            profile,
            _turn: turn,
        })
    }

    /// The WebDriver client, for what the helpers below do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Opens `url` and waits for it to load.
    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("opening {url}: {e}"));
    }

    /// The page's URL now.
    pub async fn url(&self) -> String {
        self.client.current_url().await.unwrap().to_string()
    }

    /// Runs `script` (a function body: `return …` gives its value) in the page.
    pub async fn execute(&self, script: &str) -> Value {
        self.client
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("script {script:?}: {e}"))
    }

    /// Waits (at most [`WAIT`]) until `css` matches an element; that element.
    pub async fn wait_for(&self, css: &str) -> fantoccini::elements::Element {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(element) = self.client.find(Locator::Css(css)).await {
                return element;
            }
            assert!(
                Instant::now() < deadline,
                "nothing matched {css:?} within {WAIT:?} at {}; the page says:\n{}",
                self.url().await,
                self.text().await
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits (at most [`WAIT`]) until an element that `css` matches has `attribute` = `value`.
    pub async fn wait_for_attribute(&self, css: &str, attribute: &str, value: &str) {
        let deadline = Instant::now() + WAIT;
        let mut seen = None;
        loop {
            if let Ok(element) = self.client.find(Locator::Css(css)).await
                && let Ok(now) = element.attr(attribute).await
            {
                if now.as_deref() == Some(value) {
                    return;
                }
                seen = Some(now);
            }
            assert!(
                Instant::now() < deadline,
                "{css:?} did not get {attribute}={value:?} within {WAIT:?} (last seen: {seen:?}) \
                 at {}; the page says:\n{}",
                self.url().await,
                self.text().await
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits (at most [`WAIT`]) until `script` (a function body) returns `true`.
    pub async fn wait_until(&self, script: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            if self.client.execute(script, Vec::new()).await.ok() == Some(Value::Bool(true)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{script:?} was not true within {WAIT:?} at {}; the page says:\n{}",
                self.url().await,
                self.text().await
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Clicks the element `css` matches (waited for).
    pub async fn click(&self, css: &str) {
        let element = self.wait_for(css).await;
        element
            .click()
            .await
            .unwrap_or_else(|e| panic!("clicking {css:?}: {e}"));
    }

    /// Clicks the button `css` of a form whose answer redirects with `done=` (the console's
    /// actions), and waits for that answer: a navigation started while the POST is in flight
    /// would race its redirect.
    pub async fn submit(&self, css: &str) {
        self.click(css).await;
        self.wait_until("return location.search.includes('done=')")
            .await;
    }

    /// The visible text of the page.
    pub async fn text(&self) -> String {
        match self
            .client
            .execute(
                "return document.body ? document.body.innerText : ''",
                Vec::new(),
            )
            .await
        {
            Ok(Value::String(text)) => text,
            other => format!("(no text: {other:?})"),
        }
    }

    /// Sets the window's size (e.g. [`PHONE`] before a narrow screenshot, [`DESKTOP`] after).
    pub async fn set_size(&self, (width, height): (u32, u32)) {
        self.client
            .set_window_size(width, height)
            .await
            .unwrap_or_else(|e| panic!("window size {width}x{height}: {e}"));
    }

    /// Saves a screenshot of the window as `NAME.png` in [`screenshots`]; its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self
            .client
            .screenshot()
            .await
            .unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
        let dir = screenshots();
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        eprintln!("screenshot: {}", path.display());
        path
    }

    /// Ends the session (Chromium quits), then chromedriver.
    pub async fn close(self) {
        let client = self.client.clone();
        let _ = tokio::time::timeout(START, client.close()).await;
        // Drop kills whatever is left.
    }
}

impl Drop for Browser {
    /// Kills Chromium (each browser process chromedriver started: its helpers go with it) and
    /// chromedriver, by their own pids.
    fn drop(&mut self) {
        for pid in chromium_children(self.driver.id()) {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &pid.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        // The profile (a field) is removed after this, once Chromium is gone.
    }
}

/// The pids of the Chromium processes among `driver`'s children (any of its threads may have
/// started one).
fn chromium_children(driver: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{driver}/task")) else {
        return Vec::new();
    };
    let mut pids: Vec<u32> = tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|children| {
            children
                .split_whitespace()
                .filter_map(|pid| pid.parse().ok())
                .collect::<Vec<u32>>()
        })
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim().starts_with("chrom"))
        })
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// Waits (at most [`START`]) until chromedriver at `webdriver` says it is ready.
async fn wait_until_ready(webdriver: &str, driver: &mut Child) -> Result<(), String> {
    let client = super::listen::client();
    let deadline = Instant::now() + START;
    loop {
        if let Ok(Some(status)) = driver.try_wait() {
            return Err(format!("{CHROMEDRIVER} exited: {status}"));
        }
        let status = client
            .get(format!("{webdriver}/status"))
            .timeout(Duration::from_secs(2))
            .send()
            .await;
        if let Ok(response) = status
            && let Ok(body) = response.bytes().await
            && let Ok(body) = serde_json::from_slice::<Value>(&body)
            && body["value"]["ready"] == true
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("{CHROMEDRIVER} did not answer within {START:?}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Where screenshots go: `console-screenshots/` in the target directory that holds the
/// `runhook` binary under test (`target/console-screenshots`, or under `CARGO_TARGET_DIR`).
pub fn screenshots() -> PathBuf {
    let binary = Path::new(env!("CARGO_BIN_EXE_runhook"));
    // target/debug/runhook: the profile's folder, then the target directory.
    let target = binary
        .parent()
        .and_then(Path::parent)
        .unwrap_or_else(|| Path::new("target"));
    target.join("console-screenshots")
}

/// Runs a browser test's body, failing it if it takes longer than `limit` (a browser or page
/// that hangs must not hang the suite).
pub async fn bounded<F: std::future::Future<Output = ()>>(limit: Duration, body: F) {
    if tokio::time::timeout(limit, body).await.is_err() {
        panic!("the test did not finish within {limit:?}");
    }
}
