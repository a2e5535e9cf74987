//! `runhook trigger EVENT [--to URL]`: send a realistic built-in event with a fresh run id (or
//! `--run-id`), optionally changed with `--set`, once or `--repeat N` times.

use anyhow::Context;
use bytes::Bytes;
use runhook::{Event, Run, RunStatus};
use runhook_schema::SchemaValidator;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::delivery_args::{DeliveryArgs, Target};
use crate::exit::Exit;
use crate::overrides::{self, Override};
use crate::payload;
use crate::repeat::{Repeat, deliver_many};

/// Where `trigger` delivers without `--to`: `runhook listen`'s default URL.
const DEFAULT_URL: &str = "http://127.0.0.1:8080/webhooks/tinyfish";

/// Arguments of `runhook trigger`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The event to send.
    #[arg(value_enum, value_name = "EVENT")]
    event: EventName,
    /// The webhook URL [default: http://127.0.0.1:8080/webhooks/tinyfish, `runhook listen`'s,
    /// for which --insecure-localhost is implied]. https only; plain http only to a loopback
    /// host with --insecure-localhost.
    #[arg(long, value_name = "URL")]
    to: Option<String>,
    /// The run id (in `run_id` and `data.run_id`) instead of a fresh UUID.
    #[arg(long, value_name = "ID")]
    run_id: Option<String>,
    /// Set one field of the built event: PATH is a JSON pointer (`/data/result`,
    /// `/data/steps/0/status`; `~1` for `/` in a key, `-` appends to an array), JSON the value
    /// (`--set '/data/goal="Buy"'`, `--set /data/result=null`). Repeatable; applied in order.
    /// The parent must exist. The result is validated unless --no-validate.
    #[arg(long, value_name = "PATH=JSON", value_parser = overrides::parse)]
    set: Vec<Override>,
    /// Send the event even if --set/--run-id made it invalid; a warning line goes to stderr.
    #[arg(long)]
    no_validate: bool,
    /// Send the same event (same body, same run id) N times: one line per delivery as it ends,
    /// then a summary; exit 0 only if every delivery was delivered.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    repeat: u64,
    /// With --repeat: how many deliveries may be under way at once.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1024))]
    concurrency: u64,
    #[command(flatten)]
    delivery: DeliveryArgs,
}

/// The events `trigger` can build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum EventName {
    /// A completed run whose result holds a product name and price.
    #[value(name = "run.completed")]
    Completed,
    /// A run that failed with AGENT_FAILURE "Site blocked access".
    #[value(name = "run.failed")]
    Failed,
    /// A run cancelled while it was running.
    #[value(name = "run.cancelled")]
    Cancelled,
}

/// Builds the event (with --run-id and --set), checks it and delivers it once or --repeat times.
pub(crate) fn run(args: Args) -> anyhow::Result<Exit> {
    let fresh = args.run_id.is_none() && args.set.is_empty();
    let run_id = args
        .run_id
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let now = OffsetDateTime::now_utc();
    let mut body = build(args.event, &run_id, now)?;
    let validator = SchemaValidator::embedded().context("cannot load the webhook schema")?;
    let mut shown_run_id = run_id;
    if fresh {
        // The built event must pass the same checks `send` applies.
        if let Some(problem) = payload::problems(&validator, &body).first() {
            anyhow::bail!(
                "internal error: the built-in {:?} event is invalid at {}: {}",
                args.event,
                problem.pointer,
                problem.message
            );
        }
    } else {
        let mut value: Value =
            serde_json::from_slice(&body).context("internal error: the built event")?;
        for change in &args.set {
            overrides::apply(&mut value, change)?;
        }
        if let Some(id) = value.get("run_id").and_then(Value::as_str) {
            shown_run_id = id.to_owned();
        }
        body = serde_json::to_vec(&value).context("cannot serialize the event")?;
        let what = format!("the {} event", name(args.event));
        payload::check(&validator, &what, &body, args.no_validate)?;
    }
    let target = match args.to {
        Some(url) => Target {
            url,
            implied_loopback: false,
        },
        None => Target {
            url: DEFAULT_URL.to_owned(),
            implied_loopback: true,
        },
    };
    let count = usize::try_from(args.repeat).unwrap_or(usize::MAX);
    let mut header = format!("sending {} for run {shown_run_id}", name(args.event));
    if count == 1 {
        return args
            .delivery
            .deliver(&target, Bytes::from(body), Some(header));
    }
    let concurrency = usize::try_from(args.concurrency).unwrap_or(1);
    header.push_str(&format!(
        " {count} times, up to {} at once",
        concurrency.min(count)
    ));
    let repeat = Repeat { count, concurrency };
    deliver_many(
        &args.delivery,
        &target,
        Bytes::from(body),
        Some(header),
        repeat,
    )
}

/// The event's wire name.
fn name(event: EventName) -> &'static str {
    match event {
        EventName::Completed => "run.completed",
        EventName::Failed => "run.failed",
        EventName::Cancelled => "run.cancelled",
    }
}

/// The event's JSON body, built from a run with [`Event::from_run`].
pub(crate) fn build(
    event: EventName,
    run_id: &str,
    now: OffsetDateTime,
) -> anyhow::Result<Vec<u8>> {
    let at = |seconds_ago: i64| -> anyhow::Result<String> {
        let instant = (now - Duration::seconds(seconds_ago))
            .replace_nanosecond(0)
            .context("cannot build a timestamp")?;
        instant
            .format(&Rfc3339)
            .context("cannot format a timestamp")
    };
    let step = |id: &str, seconds_ago: i64, status: &str, action: &str, duration: Value| {
        Ok::<_, anyhow::Error>(json!({
            "id": id, "timestamp": at(seconds_ago)?, "status": status, "action": action,
            "screenshot": null, "duration": duration,
        }))
    };
    let short = run_id.get(..8).unwrap_or(run_id);
    let common = json!({
        "run_id": run_id,
        "created_at": at(45)?,
        "started_at": at(40)?,
        "streaming_url": format!("https://tf-{short}.fra0-tinyfish.unikraft.app/stream/0"),
        "browser_config": { "proxy_enabled": false, "proxy_country_code": null },
    });
    let specific = match event {
        EventName::Completed => json!({
            "status": "COMPLETED",
            "goal": "Extract the product name and price",
            "finished_at": at(0)?,
            "num_of_steps": 2,
            "result": { "product_name": "Example Product", "price": 29.99 },
            "error": null,
            "steps": [
                step(&step_id(run_id, 1), 40, "COMPLETED", "Navigate to https://shop.example.com/p/4711", json!("1.2s"))?,
                step(&step_id(run_id, 2), 38, "COMPLETED", "Read the product title and price", json!("0.8s"))?,
            ],
        }),
        EventName::Failed => json!({
            "status": "FAILED",
            "goal": "Extract the product name and price",
            "finished_at": at(0)?,
            "num_of_steps": 1,
            "result": null,
            "error": { "message": "Site blocked access", "category": "AGENT_FAILURE" },
            "steps": [
                step(&step_id(run_id, 1), 40, "FAILED", "Navigate to https://shop.example.com/p/4711", json!("2.4s"))?,
            ],
        }),
        EventName::Cancelled => json!({
            "status": "CANCELLED",
            "goal": "Find the cheapest nonstop flight from SFO to JFK on 2026-04-12",
            "finished_at": at(0)?,
            "num_of_steps": 2,
            "result": null,
            "error": null,
            "steps": [
                step(&step_id(run_id, 1), 40, "COMPLETED", "Navigate to https://www.google.com/travel/flights", json!("2.1s"))?,
                step(&step_id(run_id, 2), 36, "CANCELLED", "Type \"SFO\" into the origin field", Value::Null)?,
            ],
        }),
    };
    let mut data = common;
    if let (Some(data), Value::Object(extra)) = (data.as_object_mut(), specific) {
        data.extend(extra);
    }
    let run: Run = serde_json::from_value(data).context("internal error: the built-in run")?;
    debug_assert!(run.status.as_ref().is_some_and(RunStatus::is_terminal));
    let event = Event::from_run(run).context("internal error: the built-in event")?;
    event.to_vec().context("cannot serialize the event")
}

/// A step id derived from the run id, so the payload is reproducible for one run.
fn step_id(run_id: &str, n: u32) -> String {
    format!("evt_{}_{n}", run_id.replace('-', ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_event_is_valid_and_consistent() {
        let validator = SchemaValidator::embedded().unwrap();
        let now = OffsetDateTime::now_utc();
        for (event, expected) in [
            (EventName::Completed, "run.completed"),
            (EventName::Failed, "run.failed"),
            (EventName::Cancelled, "run.cancelled"),
        ] {
            let run_id = uuid::Uuid::new_v4().to_string();
            let body = build(event, &run_id, now).unwrap();
            assert_eq!(payload::problems(&validator, &body), vec![], "{expected}");
            let parsed = Event::from_slice(&body).unwrap();
            assert_eq!(parsed.name(), expected);
            assert_eq!(parsed.run_id(), Some(run_id.as_str()));
        }
    }

    #[test]
    fn the_failed_event_carries_the_documented_error() {
        let body = build(EventName::Failed, "run-2", OffsetDateTime::now_utc()).unwrap();
        let value: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(value["data"]["error"]["message"], "Site blocked access");
        assert_eq!(value["data"]["error"]["category"], "AGENT_FAILURE");
        assert_eq!(value["data"]["result"], Value::Null);
    }

    #[test]
    fn the_completed_event_carries_a_product() {
        let body = build(EventName::Completed, "run-1", OffsetDateTime::now_utc()).unwrap();
        let value: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(value["data"]["result"]["product_name"], "Example Product");
        assert_eq!(value["data"]["result"]["price"], 29.99);
    }
}
