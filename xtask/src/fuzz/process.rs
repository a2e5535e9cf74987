//! Running child processes with a time limit each, a few at a time.

use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// How often a running child is looked at.
const POLL: Duration = Duration::from_millis(100);

/// One libFuzzer run to make.
#[derive(Debug)]
pub(crate) struct Job {
    /// The target.
    pub(crate) name: String,
    /// The command; its output goes to `log`.
    pub(crate) command: Command,
    /// Where its output goes.
    pub(crate) log: PathBuf,
    /// Where libFuzzer writes a failing input.
    pub(crate) artifacts: PathBuf,
}

/// Runs `command` (its output to this process's) and waits at most `limit`; a child still
/// running then is killed and the wait is an error.
pub(crate) fn run_bounded(command: &mut Command, limit: Duration) -> io::Result<ExitStatus> {
    let mut child = command.spawn()?;
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if Instant::now() >= deadline {
            stop(&mut child);
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("stopped after {} s", limit.as_secs()),
            ));
        }
        sleep(POLL);
    }
}

/// Runs the jobs, at most `parallel` at once, each with its output in its log and at most
/// `limit` long (then killed: an `Err` naming the overrun); the outcomes in the jobs' order.
pub(crate) fn run_pool(
    jobs: Vec<Job>,
    parallel: usize,
    limit: Duration,
) -> Vec<(Job, Result<ExitStatus, String>)> {
    let count = jobs.len();
    let mut waiting = jobs.into_iter().enumerate();
    let mut running: Vec<(usize, Job, Child, Instant)> = Vec::new();
    let mut done: Vec<(usize, Job, Result<ExitStatus, String>)> = Vec::new();
    while done.len() < count {
        while running.len() < parallel.max(1) {
            let Some((index, mut job)) = waiting.next() else {
                break;
            };
            match spawn(&mut job) {
                Ok(child) => running.push((index, job, child, Instant::now() + limit)),
                Err(error) => done.push((index, job, Err(format!("cannot start: {error}")))),
            }
        }
        let mut still = Vec::new();
        for (index, job, mut child, deadline) in running.drain(..) {
            match child.try_wait() {
                Ok(Some(status)) => done.push((index, job, Ok(status))),
                Ok(None) if Instant::now() >= deadline => {
                    stop(&mut child);
                    let why = format!("overran its time by {} s and was stopped", limit.as_secs());
                    done.push((index, job, Err(why)));
                }
                Ok(None) => still.push((index, job, child, deadline)),
                Err(error) => {
                    stop(&mut child);
                    done.push((index, job, Err(format!("cannot wait for it: {error}"))));
                }
            }
        }
        running = still;
        if !running.is_empty() {
            sleep(POLL);
        }
    }
    done.sort_by_key(|(index, _, _)| *index);
    done.into_iter()
        .map(|(_, job, outcome)| (job, outcome))
        .collect()
}

/// Starts a job with its output (both streams) in its log.
fn spawn(job: &mut Job) -> io::Result<Child> {
    let log = File::create(&job.log)?;
    job.command
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
}

/// Kills a child this process started, and reaps it.
fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(name: &str, script: &str) -> Job {
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        let dir = std::env::temp_dir();
        Job {
            name: name.to_owned(),
            command,
            log: dir.join(format!("xtask-fuzz-pool-{}-{name}.log", std::process::id())),
            artifacts: dir,
        }
    }

    #[test]
    fn jobs_finish_in_order_and_an_overrun_is_stopped() {
        let jobs = vec![
            job("ok", "echo hello"),
            job("fails", "exit 3"),
            job("hangs", "sleep 30"),
        ];
        let outcomes = run_pool(jobs, 2, Duration::from_secs(2));
        assert_eq!(outcomes.len(), 3);
        assert!(outcomes[0].1.as_ref().is_ok_and(ExitStatus::success));
        assert_eq!(
            outcomes[1].1.as_ref().ok().and_then(ExitStatus::code),
            Some(3)
        );
        assert!(
            outcomes[2]
                .1
                .as_ref()
                .is_err_and(|why| why.contains("overran"))
        );
        let log = std::fs::read_to_string(&outcomes[0].0.log).unwrap();
        assert_eq!(log, "hello\n");
        for (job, _) in outcomes {
            let _ = std::fs::remove_file(job.log);
        }
    }
}
