//! `runhook validate FILE...`: check payloads against the schema and the consistency rules.

use std::path::PathBuf;

use anyhow::Context;
use runhook_schema::SchemaValidator;

use crate::exit::Exit;
use crate::payload;

/// Arguments of `runhook validate`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Webhook bodies (JSON files) to check.
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
}

/// Prints every problem as `FILE#POINTER: message (check)` on stdout and a count on stderr.
pub(crate) fn run(args: Args) -> anyhow::Result<Exit> {
    let validator = SchemaValidator::embedded().context("cannot load the webhook schema")?;
    let (mut valid, mut invalid, mut unreadable) = (0usize, 0usize, 0usize);
    for file in &args.files {
        let name = file.display();
        let body = match std::fs::read(file) {
            Ok(body) => body,
            Err(error) => {
                eprintln!("runhook: cannot read {name}: {error}");
                unreadable += 1;
                continue;
            }
        };
        let problems = payload::problems(&validator, &body);
        if problems.is_empty() {
            valid += 1;
            continue;
        }
        invalid += 1;
        for problem in problems {
            println!(
                "{name}#{}: {} ({})",
                problem.pointer, problem.message, problem.check
            );
        }
    }
    eprintln!(
        "{} file{}: {valid} valid, {invalid} invalid{}",
        args.files.len(),
        if args.files.len() == 1 { "" } else { "s" },
        if unreadable > 0 {
            format!(", {unreadable} unreadable")
        } else {
            String::new()
        }
    );
    Ok(if unreadable > 0 {
        Exit::Usage
    } else if invalid > 0 {
        Exit::Failure
    } else {
        Exit::Success
    })
}
