//! `cargo xtask bench`'s summary, targets and generated markdown, from a fixed sample summary
//! (code, not figures: nothing here is measured).

use xtask::bench::markdown::{self, BEGIN, END, README_BEGIN, README_END};
use xtask::bench::summary::{Curve, Machine, Record, Summary, meets, ratio_of};
use xtask::bench::wrk::{format_result, parse_result};

fn sample() -> Summary {
    let bare = Record::plain("adapters", "axum/bare", 100_000.0, "req/s");
    let webhook = Record::plain("adapters", "axum/webhook", 60_000.0, "req/s")
        .against(&bare)
        .target(">= 0.7");
    let p99 = Record::plain("adapters", "axum/webhook_p99_at_80pct", 1.5, "ms").target("<= 2");
    let value = Record::plain("parse", "serde_json_value/docs", 2.0, "µs");
    let typed = Record::plain("parse", "typed_event/docs", 1.6, "µs")
        .against(&value)
        .target(">= 1.0");
    let flask = Record::plain("peers", "flask", 2_000.0, "req/s");
    let express = Record::plain("peers", "express", 8_000.0, "req/s");
    let listen = Record::plain("peers", "listen_memory", 40_000.0, "req/s");
    let over_flask = Record::plain("peers", "listen_memory_over_flask", 40_000.0, "req/s")
        .against(&flask)
        .target(">= 9");
    let over_express = Record::plain("peers", "listen_memory_over_express", 40_000.0, "req/s")
        .against(&express)
        .target(">= 6");
    Summary {
        quick: true,
        machine: Machine {
            cores: 2,
            cpu_model: "Test CPU".to_owned(),
        },
        load_before: [0.5, 0.25, 0.125],
        load_after: [1.5, 0.75, 0.5],
        wall_seconds: 180.0,
        records: vec![
            bare,
            webhook,
            p99,
            value,
            typed,
            flask,
            express,
            listen,
            over_flask,
            over_express,
        ],
        curves: vec![Curve {
            group: "adapters".to_owned(),
            name: "axum webhook".to_owned(),
            points: vec![(50.0, 0.4), (99.0, 1.2)],
        }],
        notes: vec!["dispatch: the receiver did not start".to_owned()],
    }
}

#[test]
fn the_summary_has_the_fields_of_the_issue() {
    let json = serde_json::to_value(sample()).unwrap();
    for key in [
        "quick",
        "machine",
        "load_before",
        "load_after",
        "records",
        "notes",
    ] {
        assert!(json.get(key).is_some(), "no {key}");
    }
    assert_eq!(json["machine"]["cores"], 2);
    assert_eq!(json["machine"]["cpu_model"], "Test CPU");
    let record = &json["records"][1];
    for key in [
        "name",
        "value",
        "unit",
        "baseline",
        "baseline_value",
        "ratio",
        "target",
    ] {
        assert!(record.get(key).is_some(), "no {key} in {record}");
    }
    assert_eq!(record["name"], "adapters/axum/webhook");
    assert_eq!(record["baseline"], "adapters/axum/bare");
    assert_eq!(record["baseline_value"], 100_000.0);
    assert_eq!(record["target"], ">= 0.7");
    // A figure without a baseline says so with nulls, not by missing fields.
    assert!(json["records"][0]["baseline"].is_null());
    assert!(json["records"][0]["ratio"].is_null());
    let back: Summary = serde_json::from_value(json).unwrap();
    assert_eq!(back, sample());
}

#[test]
fn ratios_and_targets_are_evaluated() {
    let summary = sample();
    let webhook = summary.get("adapters/axum/webhook").unwrap();
    assert_eq!(webhook.ratio, Some(0.6));
    assert_eq!(webhook.met, Some(false), "0.6 misses >= 0.7");
    // A time's ratio is baseline / value: above 1 is faster.
    let typed = summary.get("parse/typed_event/docs").unwrap();
    assert!((typed.ratio.unwrap() - 1.25).abs() < 1e-9);
    assert_eq!(typed.met, Some(true));
    // Without a baseline, the target applies to the value.
    assert_eq!(
        summary
            .get("adapters/axum/webhook_p99_at_80pct")
            .unwrap()
            .met,
        Some(true)
    );
    assert_eq!(
        summary.get("peers/listen_memory_over_flask").unwrap().met,
        Some(true)
    );
    assert_eq!(
        summary.get("peers/listen_memory_over_express").unwrap().met,
        Some(false)
    );
    assert_eq!(meets(">= 0.7", 0.7), Some(true));
    assert_eq!(meets("<= 2", 2.5), Some(false));
    assert_eq!(meets("about 3", 3.0), None);
    assert_eq!(ratio_of("req/s", 1.0, 0.0), None);
    let (met, missed) = summary.targets();
    assert_eq!(met.len(), 3);
    assert_eq!(missed.len(), 2);
}

#[test]
fn the_markdown_names_targets_met_and_missed() {
    let block = markdown::block(&sample());
    assert!(block.starts_with(BEGIN) && block.ends_with(END));
    assert!(block.contains("### Targets: 3 met, 2 missed"));
    assert!(block.contains(
        "| `adapters/axum/webhook` | 60 000 req/s | `adapters/axum/bare` (100 000 req/s) | 0.60 | >= 0.7 | **missed** |"
    ));
    assert!(block.contains("| `parse/typed_event/docs` | 1.60 µs |"));
    assert!(block.contains("Missed: `adapters/axum/webhook`, `peers/listen_memory_over_express`."));
    assert!(block.contains("- dispatch: the receiver did not start"));
    assert!(
        block.contains(
            "![Latency distribution of the adapters' routes](benchmarks/latency-cdf.svg)"
        )
    );
    assert!(block.contains("load average 0.50 0.25 0.12 before"));
    // The same summary gives the same text.
    assert_eq!(block, markdown::block(&sample()));
}

#[test]
fn generated_blocks_replace_only_what_lies_between_their_markers() {
    let page = format!("# Benchmarks\n\nProse.\n\n{BEGIN}\nold tables\n{END}\n\nMore prose.\n");
    let new = markdown::replace_between(&page, BEGIN, END, &markdown::block(&sample())).unwrap();
    assert!(new.starts_with("# Benchmarks\n\nProse.\n\n<!-- bench:begin -->"));
    assert!(new.ends_with("<!-- bench:end -->\n\nMore prose.\n"));
    assert!(!new.contains("old tables"));
    assert!(markdown::replace_between("no markers", BEGIN, END, "x").is_err());

    let line = markdown::readme_line(&sample());
    assert!(line.starts_with(README_BEGIN) && line.ends_with(README_END));
    assert!(line.contains("40 000 webhooks per second"));
    assert!(line.contains("**20.0× the Flask receiver**"));
    assert!(line.contains("**5.0× the Express one**"));
}

#[test]
fn numbers_are_formatted_for_tables() {
    assert_eq!(markdown::number(75_123.4), "75 123");
    assert_eq!(markdown::number(1_234_567.0), "1 234 567");
    assert_eq!(markdown::number(123.4), "123");
    assert_eq!(markdown::number(12.34), "12.3");
    assert_eq!(markdown::number(1.234), "1.23");
    assert_eq!(markdown::number(0.1234), "0.123");
    assert_eq!(markdown::number(0.0), "0");
    assert_eq!(markdown::number(f64::NAN), "n/a");
}

#[test]
fn load_results_round_trip_through_the_result_line() {
    let line = "RESULT requests=300 duration_us=3000000 rps=100.0 p50_us=400 p99_us=1200 \
                non2xx=1 socket_errors=2 cdf=50:400,99:1200";
    let result = parse_result(line).unwrap();
    assert_eq!(result.requests, 300);
    assert_eq!(result.p99_ms, 1.2);
    assert_eq!(result.cdf, vec![(50.0, 0.4), (99.0, 1.2)]);
    assert!(result.warning().is_some());
    let again = parse_result(&format_result(&result, std::time::Duration::from_secs(3))).unwrap();
    assert_eq!(again, result);
    assert!(parse_result("RESULT requests=1").is_err());
}
