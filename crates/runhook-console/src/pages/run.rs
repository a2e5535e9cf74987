//! The run an event carries, as the event page shows it: goal, status, result, steps, error.

use maud::{Markup, html};
use runhook::endpoint::redact_url;
use runhook::{Event, Run, RunEvent};

/// Bodies longer than this are folded (`<details>`), closed.
pub(crate) const FOLD_AT: usize = 4_096;

/// Text in a `<pre>`, folded under `summary` when it is long.
pub(crate) fn folded(summary: &str, text: &str) -> Markup {
    html! {
        @if text.len() > FOLD_AT {
            details {
                summary { (summary) " (" (text.len()) " bytes; show)" }
                pre { (text) }
            }
        } @else {
            pre { (text) }
        }
    }
}

/// The section of the run the body holds, parsed leniently; a note when it does not parse (the
/// raw body is shown in any case).
pub(crate) fn section(body: &[u8]) -> Markup {
    match Event::from_slice_lenient(body) {
        Ok(event) => match event.run_event() {
            Some(run_event) => run(run_event),
            None => html! {
                p.note { "An event this version of runhook does not know: "
                    code { (event.name()) } ". Its body is shown below as received." }
            },
        },
        Err(error) => html! {
            p.note { "The body does not parse as a webhook event (" (error)
                "). It is shown below as received." }
        },
    }
}

fn run(event: &RunEvent) -> Markup {
    let data: &Run = &event.data;
    let result = data
        .result
        .value()
        .and_then(|result| serde_json::to_string_pretty(result).ok());
    html! {
        section.card {
            h2 { "Run" }
            dl.facts {
                dt { "Run id" } dd { (event.run_id) }
                dt { "Status" } dd { (event.status) }
                @if let Some(goal) = &data.goal { dt { "Goal" } dd { (goal) } }
                @if let Some(created) = &data.created_at { dt { "Created" } dd { (created) } }
                @if let Some(finished) = data.finished_at.value() { dt { "Finished" } dd { (finished) } }
                @if let Some(steps) = data.num_of_steps.value() { dt { "Steps taken" } dd { (steps) } }
                @if let Some(url) = data.streaming_url() {
                    // Event data never goes into a link: the URL is text, without its secrets.
                    dt { "Live view" } dd { code { (redact_url(url)) } }
                }
            }
            @if let Some(error) = data.error.value() {
                h2 { "Error" }
                dl.facts {
                    dt { "Message" } dd { (error.message) }
                    @if let Some(category) = error.category.value() { dt { "Category" } dd { (category) } }
                    @if let Some(code) = error.code.value() { dt { "Code" } dd { code { (code) } } }
                    @if let Some(help) = error.help_message.value() { dt { "Advice" } dd { (help) } }
                    @if let Some(url) = error.help_url.value() { dt { "Help" } dd { code { (redact_url(url)) } } }
                }
            }
            @if let Some(result) = result {
                h2 { "Result" }
                (folded("Result", &result))
            }
            @if let Some(steps) = data.steps.as_ref().filter(|steps| !steps.is_empty()) {
                h2 { "Steps (" (steps.len()) ")" }
                div.table-wrap { table {
                    thead { tr { th scope="col" { "#" } th scope="col" { "Time" }
                        th scope="col" { "Status" } th scope="col" { "Action" } th scope="col" { "Duration" } } }
                    tbody {
                        @for (i, step) in steps.iter().enumerate() {
                            tr {
                                td { (i + 1) }
                                td.nowrap { (step.timestamp) }
                                td { (step.status) }
                                td { (step.action.value().map(String::as_str).unwrap_or("—")) }
                                td { (step.duration.value().map(String::as_str).unwrap_or("—")) }
                            }
                        }
                    }
                } }
            }
            @if !event.drift_problems().is_empty() {
                h2 { "Drift" }
                p.note { "Values the lenient parse left out (not of their documented type):" }
                ul { @for problem in event.drift_problems() { li { code { (problem.pointer) } ": " (problem.message) } } }
            }
        }
    }
}
