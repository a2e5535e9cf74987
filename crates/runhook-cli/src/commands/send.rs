//! `runhook send [FILE|-] --to URL`: validate a payload, then deliver it as TinyFish would.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, bail};
use bytes::Bytes;
use runhook_schema::SchemaValidator;

use crate::delivery_args::DeliveryArgs;
use crate::exit::Exit;
use crate::payload;

/// Arguments of `runhook send`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The webhook body (a JSON file), or `-` for standard input.
    #[arg(value_name = "FILE|-", default_value = "-")]
    file: PathBuf,
    #[command(flatten)]
    delivery: DeliveryArgs,
}

pub(crate) fn run(args: Args) -> anyhow::Result<Exit> {
    let (name, body) = read(&args.file)?;
    let validator = SchemaValidator::embedded().context("cannot load the webhook schema")?;
    let problems = payload::problems(&validator, &body);
    if !problems.is_empty() {
        let mut message = format!(
            "refusing to send {name}: it is not a valid TinyFish webhook ({} problem{}):",
            problems.len(),
            if problems.len() == 1 { "" } else { "s" }
        );
        for problem in &problems {
            message.push_str(&format!(
                "\n  {name}#{}: {} ({})",
                problem.pointer, problem.message, problem.check
            ));
        }
        message.push_str("\nfix the payload, or check it with `runhook validate`");
        bail!(message);
    }
    args.delivery.deliver(Bytes::from(body), None)
}

/// The payload bytes, exactly as given, and a name for messages.
fn read(file: &PathBuf) -> anyhow::Result<(String, Vec<u8>)> {
    if file.as_os_str() == "-" {
        let mut body = Vec::new();
        std::io::stdin()
            .read_to_end(&mut body)
            .context("cannot read the payload from standard input")?;
        return Ok(("<stdin>".to_owned(), body));
    }
    let body = std::fs::read(file)
        .with_context(|| format!("cannot read the payload {}", file.display()))?;
    Ok((file.display().to_string(), body))
}
