//! SVG plots of a summary into `docs/benchmarks/` (plotters, SVG backend).

use std::path::Path;

use anyhow::{Result, anyhow};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::adapters::FRAMEWORKS;
use super::summary::{Curve, Summary};

/// Every plot: file name and title.
pub const PLOTS: [(&str, &str); 6] = [
    (
        "adapters.svg",
        "Throughput of each adapter's routes: bare, parse only, webhook",
    ),
    (
        "latency-cdf.svg",
        "Latency distribution of the adapters' routes",
    ),
    (
        "peers.svg",
        "runhook listen beside the receivers users would write instead",
    ),
    (
        "dispatch.svg",
        "The dispatcher against wrk and a bare reqwest loop",
    ),
    ("stores.svg", "Each store against its baseline (ratio)"),
    ("inbox-ack.svg", "Inbox: time to ack"),
];

/// One bar: label, value, colour index.
type Bar = (String, f64, usize);

/// Draws every plot of `summary` into `dir`.
pub fn draw(summary: &Summary, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let value = |name: &str| summary.get(name).map(|r| r.value);
    let ratio = |name: &str| summary.get(name).and_then(|r| r.ratio);

    let mut adapters = Vec::new();
    for fw in FRAMEWORKS {
        for (i, route) in ["bare", "parse", "webhook"].iter().enumerate() {
            if let Some(v) = value(&format!("adapters/{fw}/{route}")) {
                adapters.push((format!("{fw} {route}"), v, i));
            }
        }
    }
    bars(&dir.join(PLOTS[0].0), PLOTS[0].1, "requests / s", &adapters)?;
    cdf(
        &dir.join(PLOTS[1].0),
        PLOTS[1].1,
        &curves(summary, "adapters"),
    )?;

    let peers: Vec<Bar> = [
        ("listen_memory", "listen, memory"),
        ("listen_sqlite", "listen, SQLite"),
        ("relay_sqlite", "relay, SQLite"),
        ("axum_webhook", "axum route"),
        ("express", "Express"),
        ("flask", "Flask (gunicorn)"),
    ]
    .iter()
    .enumerate()
    .filter_map(|(i, (name, label))| {
        Some(((*label).to_owned(), value(&format!("peers/{name}"))?, i))
    })
    .collect();
    bars(&dir.join(PLOTS[2].0), PLOTS[2].1, "requests / s", &peers)?;

    let dispatch: Vec<Bar> = [
        ("wrk", "wrk"),
        ("reqwest_loop", "bare reqwest"),
        ("dispatcher", "Dispatcher"),
    ]
    .iter()
    .enumerate()
    .filter_map(|(i, (name, label))| {
        Some(((*label).to_owned(), value(&format!("dispatch/{name}"))?, i))
    })
    .collect();
    bars(&dir.join(PLOTS[3].0), PLOTS[3].1, "requests / s", &dispatch)?;

    let stores: Vec<Bar> = [
        ("stores/sqlite", "route SQLite ÷ memory", 0),
        ("stores/postgres", "route PostgreSQL ÷ memory", 0),
        ("stores/redis", "route Redis ÷ memory", 0),
        ("claims/sqlite_normal_store", "claims SQLite ÷ raw", 1),
        ("claims/postgres_store", "claims PostgreSQL ÷ raw", 1),
        ("claims/redis_store", "claims Redis ÷ raw", 1),
        ("inbox/sqlite_ack", "inbox ack SQLite ÷ raw", 2),
        ("inbox/postgres_ack", "inbox ack PostgreSQL ÷ raw", 2),
    ]
    .iter()
    .filter_map(|(name, label, colour)| Some(((*label).to_owned(), ratio(name)?, *colour)))
    .collect();
    bars(&dir.join(PLOTS[4].0), PLOTS[4].1, "ratio", &stores)?;
    cdf(&dir.join(PLOTS[5].0), PLOTS[5].1, &curves(summary, "inbox"))
}

/// The curves of `group`.
fn curves<'a>(summary: &'a Summary, group: &str) -> Vec<&'a Curve> {
    summary.curves.iter().filter(|c| c.group == group).collect()
}

/// A bar chart.
fn bars(path: &Path, title: &str, unit: &str, bars: &[Bar]) -> Result<()> {
    let root = SVGBackend::new(path, (1000, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let top = bars.iter().map(|b| b.1).fold(0.0_f64, f64::max).max(1e-9) * 1.12;
    let n = bars.len().max(1);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d((0..n - 1).into_segmented(), 0.0..top)
        .map_err(plot_error)?;
    let labels: Vec<String> = bars.iter().map(|b| b.0.clone()).collect();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(WHITE)
        .x_labels(n)
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => labels.get(*i).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .x_label_style(("sans-serif", 11))
        .y_label_formatter(&|v| super::markdown::number(*v))
        .y_desc(unit)
        .draw()
        .map_err(plot_error)?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, (_, v, colour))| {
            let mut bar = Rectangle::new(
                [
                    (SegmentValue::Exact(i), 0.0),
                    (SegmentValue::Exact(i + 1), *v),
                ],
                Palette99::pick(*colour).filled(),
            );
            bar.set_margin(0, 0, 6, 6);
            bar
        }))
        .map_err(plot_error)?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, (_, v, _))| {
            Text::new(
                super::markdown::number(*v),
                (SegmentValue::CenterOf(i), *v),
                TextStyle::from(("sans-serif", 11)).pos(Pos::new(HPos::Center, VPos::Bottom)),
            )
        }))
        .map_err(plot_error)?;
    root.present().map_err(plot_error)
}

/// Latency CDFs: percentile against latency (ms, log scale).
fn cdf(path: &Path, title: &str, curves: &[&Curve]) -> Result<()> {
    let root = SVGBackend::new(path, (1000, 520)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let points = || {
        curves
            .iter()
            .flat_map(|c| c.points.iter())
            .filter(|p| p.1 > 0.0)
    };
    let low = points().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let high = points().map(|p| p.1).fold(0.0_f64, f64::max);
    let (low, high) = if low.is_finite() && high > low {
        (low * 0.8, high * 1.25)
    } else {
        (0.01, 10.0)
    };
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d((low..high).log_scale(), 0.0..100.0)
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .x_desc("latency (ms, log scale)")
        .y_desc("percentile")
        .draw()
        .map_err(plot_error)?;
    for (i, curve) in curves.iter().enumerate() {
        let colour = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(
                curve
                    .points
                    .iter()
                    .filter(|p| p.1 > 0.0)
                    .map(|(p, ms)| (*ms, *p)),
                colour.stroke_width(2),
            ))
            .map_err(plot_error)?
            .label(curve.name.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 11))
        .draw()
        .map_err(plot_error)?;
    root.present().map_err(plot_error)
}

/// plotters' errors, whose backend error type is generic, as anyhow errors.
fn plot_error(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("plot: {e}")
}
