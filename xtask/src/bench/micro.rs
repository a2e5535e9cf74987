//! The criterion suites: parse, receive, the delivery state machine, the stores' claims and the
//! inboxes' inserts, each against the baseline it is measured beside.

use anyhow::Result;

use super::context::Context;
use super::criterion;
use super::summary::Record;

/// Runs the criterion benches and records their figures.
pub fn run(ctx: &mut Context) -> Result<()> {
    let home = ctx.criterion_home();
    let quick = ctx.quick;
    // (executable, filter) in the order they run.
    let benches: [(&str, Option<&str>); 5] = [
        ("runhook/parse", None),
        ("runhook/receive", None),
        ("runhook/delivery", Some("delivery_")),
        (
            "runhook-store/claims",
            Some(if quick {
                "claims_64_callers/(memory|sqlite_normal|postgres|redis)"
            } else {
                "claims_64_callers"
            }),
        ),
        ("runhook-store/inbox", None),
    ];
    for (name, filter) in benches {
        eprintln!("bench: criterion {name}");
        let exe = ctx.exes.get(name)?.to_path_buf();
        if let Err(e) = criterion::run(&exe, &home, filter, quick) {
            ctx.note(format!("criterion {name}: {e:#}"));
        }
    }
    let ns = |id: &str| criterion::mean_ns(&home, id);

    // Parse: the typed event against serde_json's Value on the same bytes.
    for payload in ["docs_completed", "200_steps"] {
        let value = ns(&format!("parse/serde_json_value/{payload}"));
        let typed = ns(&format!("parse/typed_event/{payload}"));
        if let (Ok(value), Ok(typed)) = (value, typed) {
            let base = ctx.push(Record::plain(
                "parse",
                &format!("serde_json_value/{payload}"),
                value / 1000.0,
                "µs",
            ));
            let record = Record::plain(
                "parse",
                &format!("typed_event/{payload}"),
                typed / 1000.0,
                "µs",
            )
            .against(&base)
            .target(">= 1.0");
            if payload == "docs_completed" {
                // The documented payload parses in under 5 µs (on the value, not the ratio).
                ctx.push(
                    Record::plain("parse", "typed_event_docs_under_5us", typed / 1000.0, "µs")
                        .target("<= 5"),
                );
            }
            ctx.push(record);
        } else {
            ctx.note(format!("parse/{payload}: no criterion estimates"));
        }
    }

    // Receive: the whole pipeline on the documented payload.
    for bench in ["docs_completed", "docs_completed_no_duplicate_key_pass"] {
        match ns(&format!("receive/{bench}")) {
            Ok(t) => {
                ctx.push(Record::plain("receive", bench, t / 1000.0, "µs"));
            }
            Err(e) => ctx.note(format!("receive/{bench}: {e:#}")),
        }
    }

    // The delivery state machine: a whole delivery of 4 × 503.
    match ns("delivery_full_run/tinyfish_4x503") {
        Ok(t) => {
            ctx.push(Record::plain(
                "delivery",
                "full_run_tinyfish_4x503",
                t,
                "ns",
            ));
        }
        Err(e) => ctx.note(format!("delivery_full_run: {e:#}")),
    }

    // Claims: each store against its backend's raw statements, 64 callers (ops/s).
    let rate = |id: &str| ns(id).map(|t| 1e9 / t);
    let claims = [
        (
            "sqlite_normal_store",
            "sqlite_normal_raw_insert_update",
            ">= 0.5",
        ),
        ("postgres_store", "postgres_raw_insert_update", ">= 1.5"),
        ("redis_store", "redis_raw_set_nx_px", ">= 0.5"),
    ];
    if let Ok(memory) = rate("claims_64_callers/memory") {
        ctx.push(Record::plain("claims", "memory", memory, "ops/s"));
    }
    side_by_side(ctx, "claims", "claims_64_callers", &claims, &rate);

    // Inbox inserts: each inbox against its database's one-commit-per-row loop.
    let inserts = [
        ("sqlite_inbox", "sqlite_raw_insert_commit_per_row", ">= 0.5"),
        (
            "postgres_inbox",
            "postgres_raw_insert_on_conflict",
            ">= 0.5",
        ),
    ];
    side_by_side(
        ctx,
        "inbox_inserts",
        "inbox_inserts_64_callers",
        &inserts,
        &rate,
    );
    Ok(())
}

/// Records each `(figure, baseline, target)` of a criterion group, rates in ops/s.
fn side_by_side(
    ctx: &mut Context,
    group: &str,
    criterion_group: &str,
    pairs: &[(&str, &str, &str)],
    rate: &dyn Fn(&str) -> Result<f64>,
) {
    for (figure, baseline, target) in pairs {
        match (
            rate(&format!("{criterion_group}/{baseline}")),
            rate(&format!("{criterion_group}/{figure}")),
        ) {
            (Ok(b), Ok(f)) => {
                let base = ctx.push(Record::plain(group, baseline, b, "ops/s"));
                ctx.push(
                    Record::plain(group, figure, f, "ops/s")
                        .against(&base)
                        .target(target),
                );
            }
            _ => ctx.note(format!(
                "{criterion_group}/{figure}: no criterion estimates"
            )),
        }
    }
}
