//! `runhook validate FILE|-...`: check payloads against the schema and the consistency rules.

use std::path::PathBuf;

use anyhow::Context;
use runhook_schema::SchemaValidator;

use crate::exit::Exit;
use crate::{out, payload};

/// Arguments of `runhook validate`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Webhook bodies (JSON files) to check; `-` reads standard input. A fixture wrapper (an
    /// object with `why`, `rejected_by` and `payload`, as in fixtures/invalid/) is said to be
    /// one, and its `payload` is checked.
    #[arg(value_name = "FILE|-", required = true)]
    files: Vec<PathBuf>,
}

/// How the files fared.
#[derive(Debug, Default)]
struct Tally {
    valid: usize,
    invalid: usize,
    unreadable: usize,
}

/// Prints every problem as `FILE#POINTER: message (check)` on stdout and a count on stderr.
pub(crate) fn run(args: Args) -> anyhow::Result<Exit> {
    let validator = SchemaValidator::embedded().context("cannot load the webhook schema")?;
    let mut tally = Tally::default();
    for file in &args.files {
        let read = if file.as_os_str() == "-" {
            payload::read(file)
        } else {
            std::fs::read(file)
                .map(|body| (file.display().to_string(), body))
                .with_context(|| format!("cannot read {}", file.display()))
        };
        let (name, body) = match read {
            Ok(read) => read,
            Err(error) => {
                eprintln!("runhook: {error:#}");
                tally.unreadable += 1;
                continue;
            }
        };
        // A wrapper's problems point into the file: under /payload.
        let (body, prefix) = match payload::wrapped_payload(&body) {
            Some(inner) => {
                eprintln!(
                    "runhook: {name} is a fixture wrapper (why, rejected_by, payload); validating \
                     its payload"
                );
                (inner, "/payload")
            }
            None => (body, ""),
        };
        let problems = payload::problems(&validator, &body);
        if problems.is_empty() {
            tally.valid += 1;
            continue;
        }
        tally.invalid += 1;
        for problem in problems {
            out::line(&format!(
                "{name}#{prefix}{}: {} ({})",
                problem.pointer, problem.message, problem.check
            ))?;
        }
    }
    let count = args.files.len();
    eprintln!(
        "{count} file{}: {} valid, {} invalid{}",
        if count == 1 { "" } else { "s" },
        tally.valid,
        tally.invalid,
        if tally.unreadable > 0 {
            format!(", {} unreadable", tally.unreadable)
        } else {
            String::new()
        }
    );
    Ok(if tally.unreadable > 0 {
        Exit::Usage
    } else if tally.invalid > 0 {
        Exit::Failure
    } else {
        Exit::Success
    })
}
