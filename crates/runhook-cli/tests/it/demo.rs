//! `runhook demo` end to end through the real binary, as CI runs it: exit 0, the summary rows
//! (the run the reconciler recovered after its webhook gave up among them), the checks, and that
//! it ends by itself (within 60 s: a bound against a hang or a real-time retry
//! schedule, loose enough for a loaded machine; the demo takes a few seconds).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn the_demo_shows_every_path_and_passes() {
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_runhook"))
        .arg("demo")
        .output()
        .unwrap();
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(took < Duration::from_secs(60), "took {took:?}");

    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .map(|line| line.split_whitespace().collect())
        .collect();
    let row = |label: &str| {
        rows.iter()
            .find(|cells| cells.get(1) == Some(&label))
            .unwrap_or_else(|| panic!("no summary row {label} in:\n{stdout}"))
    };
    assert_eq!(
        rows.iter()
            .find(|cells| cells.first() == Some(&"run"))
            .unwrap()[..6],
        ["run", "label", "event", "attempts", "receiver", "time"]
    );
    for (label, event, attempts) in [
        ("completed", "run.completed", "1"),
        ("failed", "run.failed", "1"),
        ("cancelled", "run.cancelled", "1"),
        ("retried", "run.completed", "3"),
        ("duplicate", "run.completed", "1"),
        ("recovered", "run.completed", "4"),
    ] {
        let cells = row(label);
        assert_eq!(cells[2], event, "{label}");
        assert_eq!(cells[3], attempts, "{label}");
        assert!(
            cells.join(" ").contains("processed 1x"),
            "{label}: {cells:?}"
        );
    }
    let duplicate = row("duplicate").join(" ");
    assert!(duplicate.contains("+1 dup"), "{duplicate}");
    assert!(
        duplicate.contains("200 accepted, 200 duplicate"),
        "{duplicate}"
    );
    // Every attempt of its webhook failed; the reconciler's sweep sent it through the receiver.
    let recovered = row("recovered").join(" ");
    assert!(
        recovered.contains("4 gave up 200 accepted from the reconciler; processed 1x"),
        "{recovered}"
    );
    let forged: Vec<String> = rows
        .iter()
        .filter(|cells| cells.first() == Some(&"forged") && cells.len() > 4)
        .map(|cells| cells.join(" "))
        .collect();
    assert_eq!(forged.len(), 2, "{stdout}");
    assert!(
        forged
            .iter()
            .all(|row| row.contains("401 refused; processed 0x"))
    );

    // The timeline: HTTPS, the attempts, the handler, the forged POSTs.
    assert!(stdout.contains("receiver  listening on https://127.0.0.1:"));
    assert!(stdout.contains("-> dropped (simulated network error)"));
    assert!(stdout.contains("webhook   attempt 3/4 run.completed"));
    assert!(stdout.contains("receiver  200 duplicate run.completed"));
    assert!(stdout.contains("forged    POST run.completed without the URL token -> 401"));
    assert_eq!(
        stdout.matches("handler   processed ").count(),
        6,
        "{stdout}"
    );

    // The recovered path: the 4th attempt dropped, then the first sweep recovered the run (the
    // handler saw it from the reconciler, once) and the second recovered nothing.
    let short = row("recovered")[0];
    assert!(
        stdout.contains(&format!(
            "webhook   attempt 4/4 run.completed {short} -> dropped (simulated network error)"
        )),
        "{stdout}"
    );
    let handled: Vec<&str> = stdout
        .lines()
        .filter(|line| line.contains("handler   processed ") && line.contains(short))
        .collect();
    assert_eq!(handled.len(), 1, "{stdout}");
    assert!(
        handled[0].ends_with(&format!(
            "processed run.completed {short} from the reconciler"
        )),
        "{stdout}"
    );
    let sweeps: Vec<&str> = stdout
        .lines()
        .filter_map(|line| {
            line.split_once("reconcile recovered ")
                .map(|(_, rest)| rest)
        })
        .collect();
    assert_eq!(sweeps.len(), 2, "{stdout}");
    assert!(sweeps[0].starts_with("1 run(s);"), "{stdout}");
    assert!(sweeps[1].starts_with("0 run(s);"), "{stdout}");
    assert!(stdout.contains(&format!(
        "check ok     recovered run: the sweep after its webhook gave up recovered it, and \
         nothing else (recovered: {short})"
    )));
    assert!(stdout.contains(
        "check ok     recovered run processed once, as run.completed from the reconciler \
         (processed 1x: reconciler)"
    ));
    assert!(stdout.contains("check ok     a second sweep recovered nothing (recovered: none)"));

    assert!(!stdout.contains("check FAILED"), "{stdout}");
    assert_eq!(stdout.matches("check ok").count(), 19, "{stdout}");
    assert!(
        stdout
            .trim_end()
            .ends_with("demo passed: every path behaved as documented")
    );
}
