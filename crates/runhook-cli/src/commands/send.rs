//! `runhook send [FILE|-] --to URL`: validate a payload, then deliver it as TinyFish would.

use std::path::PathBuf;

use anyhow::Context;
use bytes::Bytes;
use runhook_schema::SchemaValidator;

use crate::delivery_args::{DeliveryArgs, Target};
use crate::exit::Exit;
use crate::payload;

/// Arguments of `runhook send`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The webhook body (a JSON file), or `-` for standard input.
    #[arg(value_name = "FILE|-", default_value = "-")]
    file: PathBuf,
    /// The webhook URL. https only; plain http only to a loopback host with --insecure-localhost.
    #[arg(long, value_name = "URL")]
    to: String,
    /// Send the payload even if it is not a valid TinyFish webhook (an unknown event, a drifted
    /// field), to see how a receiver copes; a warning line goes to stderr.
    #[arg(long)]
    no_validate: bool,
    #[command(flatten)]
    delivery: DeliveryArgs,
}

/// Reads, checks (unless --no-validate) and delivers the payload.
pub(crate) fn run(args: Args) -> anyhow::Result<Exit> {
    let (name, body) = payload::read(&args.file)?;
    let validator = SchemaValidator::embedded().context("cannot load the webhook schema")?;
    payload::check(&validator, &name, &body, args.no_validate)?;
    let target = Target {
        url: args.to,
        implied_loopback: false,
    };
    args.delivery.deliver(&target, Bytes::from(body), None)
}
