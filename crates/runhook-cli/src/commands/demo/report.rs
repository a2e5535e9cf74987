//! The end of the demo: the summary table, and the checks that decide the exit code.

use runhook::Source;
use runhook_emulator::DeliveryRecord;
use runhook_receiver::reconcile::SweepReport;

use super::observed::{Observed, Path};
use super::sweeps::Sweeps;
use super::timeline::{Timeline, stamp};

/// One run the demo created.
pub(super) struct DemoRun {
    /// Which path it shows.
    pub(super) path: Path,
    /// Its id.
    pub(super) run_id: String,
    /// Its last status read from the API.
    pub(super) status: Option<String>,
}

/// The first 8 characters of a run id.
pub(super) fn short(run_id: &str) -> &str {
    run_id.get(..8).unwrap_or(run_id)
}

/// The delivery log's records of `run_id`.
fn records<'a>(log: &'a [DeliveryRecord], run_id: &str) -> Vec<&'a DeliveryRecord> {
    log.iter()
        .filter(|record| record.run_id == run_id)
        .collect()
}

/// The attempts of `run_id`'s delivery (a duplicate is not an attempt).
fn attempts(log: &[DeliveryRecord], run_id: &str) -> usize {
    records(log, run_id)
        .iter()
        .filter(|record| record.fault.as_deref() != Some("duplicate"))
        .count()
}

/// The runs a sweep recovered (`None` if it failed), and them (or its error) in words.
fn recovered(sweep: &Result<SweepReport, String>) -> (Option<&[String]>, String) {
    match sweep {
        Ok(report) if report.recovered.is_empty() => (Some(&[]), "none".to_owned()),
        Ok(report) => {
            let ids: Vec<&str> = report.recovered.iter().map(|id| short(id)).collect();
            (Some(&report.recovered), ids.join(", "))
        }
        Err(error) => (None, format!("the sweep failed: {error}")),
    }
}

/// How `source` is named in a check: `its webhook` or `the reconciler`.
fn by(source: Source) -> &'static str {
    if source.is_recovered() {
        "the reconciler"
    } else {
        "its webhook"
    }
}

/// Prints the summary table.
pub(super) fn summary(
    timeline: &Timeline,
    runs: &[DemoRun],
    log: &[DeliveryRecord],
    seen: &Observed,
) {
    let mut rows = vec![[
        "run".to_owned(),
        "label".to_owned(),
        "event".to_owned(),
        "attempts".to_owned(),
        "receiver".to_owned(),
        "time".to_owned(),
    ]];
    for run in runs {
        let verdicts: Vec<String> = seen
            .verdicts_of(&run.run_id)
            .iter()
            .map(|verdict| {
                format!(
                    "{} {}{}",
                    verdict.status,
                    verdict.outcome,
                    super::from(verdict.source)
                )
            })
            .collect();
        let processed = seen.processed_of(&run.run_id);
        let duplicates = records(log, &run.run_id)
            .iter()
            .filter(|record| record.fault.as_deref() == Some("duplicate"))
            .count();
        let mut attempts = attempts(log, &run.run_id).to_string();
        if duplicates > 0 {
            attempts.push_str(&format!(" +{duplicates} dup"));
        }
        if records(log, &run.run_id)
            .iter()
            .any(|record| record.outcome.as_deref() == Some("failed"))
        {
            attempts.push_str(" gave up");
        }
        rows.push([
            short(&run.run_id).to_owned(),
            run.path.label().to_owned(),
            run.path.event().to_owned(),
            attempts,
            format!("{}; processed {}x", verdicts.join(", "), processed.len()),
            processed
                .first()
                .map_or_else(|| "-".to_owned(), |p| stamp(p.at).trim().to_owned()),
        ]);
    }
    for forged in seen.forged_posts() {
        let answer = match &forged.status {
            Ok(status) => format!("{status} refused"),
            Err(error) => format!("no answer: {error}"),
        };
        rows.push([
            "forged".to_owned(),
            forged.label.to_owned(),
            "run.completed".to_owned(),
            "1".to_owned(),
            format!("{answer}; processed 0x"),
            stamp(forged.at).trim().to_owned(),
        ]);
    }
    let mut widths = [0usize; 6];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    timeline.plain("");
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        timeline.plain(cells.join("  ").trim_end());
    }
    timeline.plain("");
}

/// Runs every check, prints one `check ok` or `check FAILED` line each; true if all passed.
pub(super) fn checks(
    timeline: &Timeline,
    runs: &[DemoRun],
    log: &[DeliveryRecord],
    seen: &Observed,
    sweeps: &Sweeps,
) -> bool {
    let mut all = true;
    let mut check = |passed: bool, what: String| {
        all &= passed;
        let verdict = if passed { "ok    " } else { "FAILED" };
        timeline.plain(&format!("check {verdict} {what}"));
    };
    for run in runs {
        let status = run.status.as_deref().unwrap_or("unknown");
        check(
            status == run.path.status(),
            format!(
                "{} run {} reached {} (it is {status})",
                run.path.label(),
                short(&run.run_id),
                run.path.status()
            ),
        );
    }
    for run in runs {
        let processed = seen.processed_of(&run.run_id);
        let sources: Vec<&str> = processed.iter().map(|p| p.source.as_str()).collect();
        check(
            processed.len() == 1
                && processed
                    .iter()
                    .all(|p| p.event == run.path.event() && p.source == run.path.source()),
            format!(
                "{} run processed once, as {} from {} (processed {}x: {})",
                run.path.label(),
                run.path.event(),
                by(run.path.source()),
                processed.len(),
                if sources.is_empty() {
                    "-".to_owned()
                } else {
                    sources.join(", ")
                }
            ),
        );
    }
    if let Some(run) = runs.iter().find(|run| run.path == Path::Retried) {
        let records = records(log, &run.run_id);
        let dropped = records
            .iter()
            .filter(|r| r.fault.as_deref() == Some("drop"))
            .count();
        let delivered_on = records
            .iter()
            .find(|r| r.outcome.as_deref() == Some("delivered"))
            .map_or_else(|| "none".to_owned(), |r| r.attempt.to_string());
        check(
            dropped == 2 && delivered_on == "3",
            format!(
                "retried run: 2 attempts dropped, delivered on attempt 3 (dropped {dropped}, delivered on {delivered_on})"
            ),
        );
    }
    if let Some(run) = runs.iter().find(|run| run.path == Path::Duplicate) {
        let answered_200 = records(log, &run.run_id)
            .iter()
            .filter(|r| r.status == Some(200))
            .count();
        let verdicts = seen.verdicts_of(&run.run_id);
        let duplicate = verdicts
            .iter()
            .any(|v| v.status == 200 && v.outcome == "duplicate");
        check(
            answered_200 == 2 && duplicate,
            format!(
                "duplicate run: two deliveries answered 200, the second as a duplicate ({answered_200} answered 200)"
            ),
        );
    }
    if let Some(run) = runs.iter().find(|run| run.path == Path::Recovered) {
        let records = records(log, &run.run_id);
        let dropped = records
            .iter()
            .filter(|r| r.fault.as_deref() == Some("drop"))
            .count();
        let outcome = records
            .iter()
            .find_map(|r| r.outcome.as_deref())
            .unwrap_or("none");
        check(
            dropped == 4 && outcome == "failed",
            format!(
                "recovered run: all 4 webhook attempts dropped, the delivery gave up (dropped {dropped}, outcome {outcome})"
            ),
        );
        let (first, listed) = recovered(&sweeps.first);
        check(
            first == Some(std::slice::from_ref(&run.run_id)),
            format!(
                "recovered run: the sweep after its webhook gave up recovered it, and nothing else (recovered: {listed})"
            ),
        );
        let (second, listed) = recovered(&sweeps.second);
        check(
            second.is_some_and(<[String]>::is_empty),
            format!("a second sweep recovered nothing (recovered: {listed})"),
        );
    }
    let forged = seen.forged_posts();
    check(
        forged.len() == 2 && forged.iter().all(|f| f.status == Ok(401)),
        format!(
            "forged POSTs refused 401 ({})",
            forged
                .iter()
                .map(|f| match &f.status {
                    Ok(status) => status.to_string(),
                    Err(error) => error.clone(),
                })
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    let ours: Vec<&str> = runs.iter().map(|run| run.run_id.as_str()).collect();
    let others: Vec<String> = seen
        .processed_runs()
        .into_iter()
        .filter(|id| !ours.contains(&id.as_str()))
        .collect();
    check(
        others.is_empty(),
        format!("nothing else processed ({} other runs)", others.len()),
    );
    all
}
