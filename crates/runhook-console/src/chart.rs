//! The overview's chart: events received, processed and dead per minute, as inline SVG drawn
//! here (no chart library, no script).

use std::fmt::Write as _;

use maud::{Markup, html};
use runhook::inbox::ActivityMinute;

use crate::timefmt::utc_text;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 200.0;
const LEFT: f64 = 40.0;
const RIGHT: f64 = 10.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 24.0;

/// A series of the chart: its name (a CSS class) and its value in a minute.
type Series = (&'static str, fn(&ActivityMinute) -> u64);

/// The smallest "round" even number (2, 4 or 10 times a power of ten) at least `max`: the
/// scale's top, whose half labels the middle line.
fn ceiling(max: u64) -> u64 {
    let mut step: u64 = 1;
    loop {
        for factor in [2, 4, 10] {
            if step * factor >= max {
                return step * factor;
            }
        }
        match step.checked_mul(10) {
            Some(next) if next <= u64::MAX / 10 => step = next,
            _ => return u64::MAX,
        }
    }
}

/// The points of one series as an SVG `points` list.
fn points(minutes: &[ActivityMinute], top: u64, value: impl Fn(&ActivityMinute) -> u64) -> String {
    let plot_width = WIDTH - LEFT - RIGHT;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let step = plot_width / (minutes.len().max(2) - 1) as f64;
    let mut out = String::with_capacity(minutes.len() * 12);
    for (i, minute) in minutes.iter().enumerate() {
        let x = LEFT + step * i as f64;
        let y = TOP + plot_height * (1.0 - value(minute) as f64 / top as f64);
        let _ = write!(out, "{x:.1},{y:.1} ");
    }
    out
}

/// The chart of `minutes` (oldest first), with a title and a description in words.
pub(crate) fn activity(minutes: &[ActivityMinute]) -> Markup {
    let total = |value: fn(&ActivityMinute) -> u64| minutes.iter().map(value).sum::<u64>();
    let (received, processed, dead) = (
        total(|m| m.received),
        total(|m| m.processed),
        total(|m| m.dead),
    );
    let busiest = minutes
        .iter()
        .max_by_key(|m| m.received)
        .filter(|m| m.received > 0);
    let top = ceiling(
        minutes
            .iter()
            .map(|m| m.received.max(m.processed).max(m.dead))
            .max()
            .unwrap_or(0),
    );
    let mut description = format!(
        "Over the last {} minutes: {received} received, {processed} processed, {dead} dead.",
        minutes.len()
    );
    if let Some(busiest) = busiest {
        let _ = write!(
            description,
            " The busiest minute, starting {}, received {}.",
            utc_text(busiest.minute),
            busiest.received
        );
    }
    let plot_bottom = HEIGHT - BOTTOM;
    let middle = TOP + (plot_bottom - TOP) / 2.0;
    let series: [Series; 3] = [
        ("received", |m| m.received),
        ("processed", |m| m.processed),
        ("dead", |m| m.dead),
    ];
    html! {
        figure.chart {
            svg viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } role="img"
                aria-labelledby="chart-title chart-desc" {
                title #chart-title { "Events per minute, last hour" }
                desc #chart-desc { (description) }
                @for (y, label) in [(TOP, top.to_string()), (middle, (top / 2).to_string()), (plot_bottom, "0".to_owned())] {
                    line.grid x1=(LEFT) x2=(WIDTH - RIGHT) y1=(y) y2=(y) {}
                    text.axis x=(LEFT - 6.0) y=(y + 4.0) text-anchor="end" { (label) }
                }
                text.axis x=(LEFT) y=(HEIGHT - 6.0) { "60 min ago" }
                text.axis x=(WIDTH - RIGHT) y=(HEIGHT - 6.0) text-anchor="end" { "now" }
                @for (name, value) in series {
                    polyline class={ "line " (name) } points=(points(minutes, top, value)) {}
                }
            }
            figcaption {
                ul.legend {
                    li.received { "Received (" (received) ")" }
                    li.processed { "Processed (" (processed) ")" }
                    li.dead { "Dead (" (dead) ")" }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;

    #[test]
    fn the_scale_is_round() {
        assert_eq!(ceiling(0), 2);
        assert_eq!(ceiling(1), 2);
        assert_eq!(ceiling(3), 4);
        assert_eq!(ceiling(5), 10);
        assert_eq!(ceiling(11), 20);
        assert_eq!(ceiling(400), 400);
        assert_eq!(ceiling(401), 1_000);
        assert_eq!(ceiling(u64::MAX), u64::MAX);
    }

    #[test]
    fn the_chart_describes_itself() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_774_434_600);
        let mut minutes: Vec<ActivityMinute> = (0..60)
            .map(|i| ActivityMinute::empty(start + Duration::from_secs(60 * i)))
            .collect();
        minutes[10].received = 7;
        minutes[11].processed = 6;
        minutes[12].dead = 1;
        let svg = activity(&minutes).into_string();
        assert!(svg.contains("<title id=\"chart-title\">"), "{svg}");
        assert!(svg.contains("7 received, 6 processed, 1 dead"), "{svg}");
        assert!(svg.contains("2026-03-25 10:40:00 UTC"), "{svg}");
        assert_eq!(svg.matches("<polyline").count(), 3);
        assert!(
            !svg.contains("style="),
            "no inline style under the CSP: {svg}"
        );
    }
}
