//! Report charts as PNG: daily engagements and audience by platform (log scale, so a small
//! platform's drop shows beside a large one's), the paid funnel, and the score over time. Text is
//! drawn with the bundled DejaVu Sans, so charts look the same on any machine.

use chrono::NaiveDate;
use plotters::prelude::*;
use plotters::style::FontStyle;

use super::kpi::Funnel;
use super::report::{PlatformSeries, Report};
use crate::domain::Platform;

const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const FAMILY: &str = "vibe-sans";
/// Slack shows images about 360 px wide inline; twice that stays sharp when opened.
const SIZE: (u32, u32) = (960, 480);

#[derive(Debug, thiserror::Error)]
#[error("can't draw the chart: {0}")]
pub struct ChartError(String);

fn err(e: impl std::fmt::Display) -> ChartError {
    ChartError(e.to_string())
}

fn register() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = plotters::style::register_font(FAMILY, FontStyle::Normal, FONT);
    });
}

fn colour(p: Platform) -> RGBColor {
    match p {
        Platform::X => RGBColor(20, 23, 26),
        Platform::Instagram => RGBColor(193, 53, 132),
        Platform::Tiktok => RGBColor(0, 160, 160),
        Platform::Linkedin => RGBColor(10, 102, 194),
        Platform::Reddit => RGBColor(255, 69, 0),
        Platform::Facebook => RGBColor(66, 103, 178),
    }
}

/// Draws into an RGB buffer and encodes it as PNG.
fn png(
    draw: impl FnOnce(DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>) -> Result<(), ChartError>,
) -> Result<Vec<u8>, ChartError> {
    register();
    let (w, h) = SIZE;
    let mut buffer = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buffer, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        draw(root.clone())?;
        root.present().map_err(err)?;
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(err)?;
        writer.write_image_data(&buffer).map_err(err)?;
    }
    Ok(out)
}

fn day_label(first: NaiveDate) -> impl Fn(&f64) -> String {
    move |x: &f64| {
        let d = first + chrono::Days::new(x.max(0.0).round() as u64);
        d.format("%b %d").to_string()
    }
}

/// Lines of one platform: runs of consecutive days with a known value. A day with no row, or
/// whose value is unknown, breaks the line; a zero is drawn (at the chart's floor).
fn segments(
    days: &[(NaiveDate, i64, Option<i64>)],
    pick: fn(&(NaiveDate, i64, Option<i64>)) -> Option<i64>,
    first: NaiveDate,
) -> Vec<Vec<(f64, i64)>> {
    let mut out: Vec<Vec<(f64, i64)>> = Vec::new();
    let mut last: Option<NaiveDate> = None;
    for d in days {
        match pick(d) {
            Some(v) => {
                let follows = last.is_some_and(|l| d.0 == l + chrono::Days::new(1));
                if !follows || out.is_empty() {
                    out.push(Vec::new());
                }
                if let Some(seg) = out.last_mut() {
                    seg.push(((d.0 - first).num_days() as f64, v.max(0)));
                }
                last = Some(d.0);
            }
            None => last = None,
        }
    }
    out
}

/// Daily values by platform as lines on a log scale, with the report's period shaded. Days
/// with a zero sit on the bottom edge (the axis says so); days with no data leave a gap.
pub fn trend(
    series: &[PlatformSeries],
    pick: fn(&(NaiveDate, i64, Option<i64>)) -> Option<i64>,
    title: &str,
    period: (NaiveDate, NaiveDate),
) -> Result<Vec<u8>, ChartError> {
    let first = series
        .iter()
        .flat_map(|s| s.days.first().map(|d| d.0))
        .min()
        .ok_or_else(|| ChartError("no data to chart".into()))?;
    let lines: Vec<(Platform, Vec<Vec<(f64, i64)>>)> = series
        .iter()
        .map(|s| (s.platform, segments(&s.days, pick, first)))
        .filter(|(_, segs)| !segs.is_empty())
        .collect();
    let values = || lines.iter().flat_map(|(_, s)| s.iter().flatten());
    if values().next().is_none() {
        return Err(ChartError("no data to chart".into()));
    }
    let max_x = values().map(|x| x.0).fold(1.0, f64::max);
    let max_y = values().map(|x| x.1 as f64).fold(10.0, f64::max) * 1.5;
    let smallest = values().map(|x| x.1).filter(|v| *v > 0).min().unwrap_or(1) as f64;
    // The floor: a zero is drawn on it.
    let min_y = (smallest / 1.5).max(0.5);
    let floor = |v: i64| if v > 0 { v as f64 } else { min_y };
    png(|root| {
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FAMILY, 24))
            .margin(14)
            // Room for the last date's label, centred on the right edge.
            .margin_right(36)
            .x_label_area_size(36)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..max_x, (min_y..max_y).log_scale())
            .map_err(err)?;
        let (from, to) = (
            (period.0 - first).num_days() as f64 - 0.5,
            (period.1 - first).num_days() as f64 + 0.5,
        );
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(from, min_y), (to, max_y)],
                RGBColor(235, 240, 250).filled(),
            )))
            .map_err(err)?;
        chart
            .configure_mesh()
            .light_line_style(RGBColor(240, 240, 240))
            .x_labels(8)
            .x_label_formatter(&day_label(first))
            .y_label_formatter(&|v| crate::format::thousands(v.round() as i64))
            .y_desc("log scale; a day on the bottom edge had none")
            .label_style((FAMILY, 14))
            .draw()
            .map_err(err)?;
        for (platform, segs) in &lines {
            let c = colour(*platform);
            for (i, seg) in segs.iter().enumerate() {
                let pts = seg.iter().map(|p| (p.0, floor(p.1)));
                // A one-day run is a dot; longer runs are lines.
                let drawn = if seg.len() == 1 {
                    chart
                        .draw_series(pts.map(|p| Circle::new(p, 3, c.filled())))
                        .map_err(err)?
                } else {
                    chart
                        .draw_series(LineSeries::new(pts, c.stroke_width(2)))
                        .map_err(err)?
                };
                if i == 0 {
                    drawn.label(platform.display_name()).legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(3))
                    });
                }
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(200, 200, 200))
            .label_font((FAMILY, 14))
            .draw()
            .map_err(err)?;
        Ok(())
    })
}

/// The funnel as bars from impressions to conversions, with step rates.
pub fn funnel(f: &Funnel, title: &str) -> Result<Vec<u8>, ChartError> {
    let steps: Vec<(&str, i64)> = [
        ("impressions", f.impressions),
        ("clicks", f.clicks),
        ("leads", f.leads),
        ("conversions", f.conversions),
    ]
    .into_iter()
    .filter_map(|(n, v)| v.map(|v| (n, v)))
    .collect();
    if steps.is_empty() {
        return Err(ChartError("no funnel data".into()));
    }
    let max = steps.iter().map(|s| s.1).max().unwrap_or(1).max(1) as f64;
    png(|root| {
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FAMILY, 24))
            .margin(14)
            .margin_right(40)
            .x_label_area_size(48)
            .y_label_area_size(10)
            .build_cartesian_2d((1.0..max * 8.0).log_scale(), 0.0..steps.len() as f64)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .disable_y_axis()
            .light_line_style(RGBColor(240, 240, 240))
            .x_label_formatter(&|v| crate::format::thousands(v.round() as i64))
            .x_desc("people at each step (log scale: each gridline is ten times the last)")
            .label_style((FAMILY, 14))
            .draw()
            .map_err(err)?;
        for (i, (name, v)) in steps.iter().enumerate() {
            let y0 = steps.len() as f64 - 1.0 - i as f64;
            let bar = Rectangle::new(
                [(1.0, y0 + 0.15), ((*v as f64).max(1.0), y0 + 0.85)],
                RGBColor(10, 102, 194).mix(0.85 - 0.12 * i as f64).filled(),
            );
            chart.draw_series(std::iter::once(bar)).map_err(err)?;
            let rate = if i == 0 {
                String::new()
            } else {
                format!(
                    "  ({} of {})",
                    crate::format::percent(*v as f64 / steps[i - 1].1.max(1) as f64),
                    steps[i - 1].0
                )
            };
            let label = format!("{name}: {}{rate}", crate::format::thousands(*v));
            chart
                .draw_series(std::iter::once(Text::new(
                    label,
                    ((*v as f64).max(1.0) * 1.15, y0 + 0.62),
                    (FAMILY, 16),
                )))
                .map_err(err)?;
        }
        Ok(())
    })
}

/// The score of each recent period.
pub fn score_history(points: &[(NaiveDate, u8)], title: &str) -> Result<Vec<u8>, ChartError> {
    if points.len() < 2 {
        return Err(ChartError("not enough scored periods".into()));
    }
    let first = points[0].0;
    let xs: Vec<(f64, f64)> = points
        .iter()
        .map(|(d, s)| ((*d - first).num_days() as f64, f64::from(*s)))
        .collect();
    let max_x = xs.last().map(|p| p.0).unwrap_or(1.0).max(1.0);
    png(|root| {
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FAMILY, 24))
            .margin(14)
            .x_label_area_size(36)
            .y_label_area_size(50)
            .build_cartesian_2d(-0.5..max_x + 0.5, 0.0..100.0)
            .map_err(err)?;
        chart
            .configure_mesh()
            .light_line_style(RGBColor(240, 240, 240))
            .x_labels(points.len())
            .x_label_formatter(&day_label(first))
            .y_label_formatter(&|v| format!("{v:.0}"))
            .label_style((FAMILY, 14))
            .draw()
            .map_err(err)?;
        let c = RGBColor(193, 53, 132);
        chart
            .draw_series(LineSeries::new(xs.iter().copied(), c.stroke_width(3)))
            .map_err(err)?;
        chart
            .draw_series(xs.iter().map(|p| Circle::new(*p, 5, c.filled())))
            .map_err(err)?;
        chart
            .draw_series(xs.iter().map(|p| {
                Text::new(
                    format!("{:.0}", p.1),
                    (p.0 - 0.1 * max_x / points.len() as f64, p.1 + 6.0),
                    (FAMILY, 15),
                )
            }))
            .map_err(err)?;
        Ok(())
    })
}

/// A forest plot of each variant's lift over the control: the estimate and its interval, with
/// the line of no effect. `rows` are (variant, estimate, low, high), in percent.
pub fn lift_intervals(
    rows: &[(String, f64, f64, f64)],
    title: &str,
) -> Result<Vec<u8>, ChartError> {
    if rows.is_empty()
        || rows
            .iter()
            .any(|r| !(r.1.is_finite() && r.2.is_finite() && r.3.is_finite()))
    {
        return Err(ChartError("no finite intervals to draw".into()));
    }
    let lo = rows.iter().map(|r| r.2).fold(0.0_f64, f64::min);
    let hi = rows.iter().map(|r| r.3).fold(0.0_f64, f64::max);
    let pad = ((hi - lo) * 0.1).max(1.0);
    let (x0, x1) = (lo - pad, hi + pad);
    let n = rows.len();
    let names: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    png(|root| {
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FAMILY, 24))
            .margin(14)
            .x_label_area_size(40)
            .y_label_area_size(140)
            .build_cartesian_2d(x0..x1, -0.5..n as f64 - 0.5)
            .map_err(err)?;
        chart
            .configure_mesh()
            .light_line_style(RGBColor(240, 240, 240))
            .y_labels(n)
            .y_label_formatter(&|v| {
                let i = v.round();
                if (v - i).abs() < 1e-6 && i >= 0.0 {
                    names.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .x_label_formatter(&|v| format!("{v:+.0}%"))
            .x_desc("lift over the control (always-valid interval)")
            .label_style((FAMILY, 14))
            .draw()
            .map_err(err)?;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(0.0, -0.5), (0.0, n as f64 - 0.5)],
                RGBColor(120, 120, 120).stroke_width(2),
            )))
            .map_err(err)?;
        for (i, (_, est, low, high)) in rows.iter().enumerate() {
            let y = i as f64;
            let c = if *low > 0.0 {
                RGBColor(46, 125, 50)
            } else if *high < 0.0 {
                RGBColor(198, 40, 40)
            } else {
                RGBColor(84, 110, 122)
            };
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(*low, y), (*high, y)],
                    c.stroke_width(4),
                )))
                .map_err(err)?;
            chart
                .draw_series(std::iter::once(Circle::new((*est, y), 7, c.filled())))
                .map_err(err)?;
            chart
                .draw_series(std::iter::once(Text::new(
                    format!("{est:+.1}% [{low:+.1}%, {high:+.1}%]"),
                    (*est, y + 0.22),
                    (FAMILY, 15),
                )))
                .map_err(err)?;
        }
        Ok(())
    })
}

/// The report's charts, named for files and HTML: (file stem, title, PNG).
/// A drawn chart: its file stem, its title, a description for screen readers naming what it
/// shows and over which days, and the PNG.
pub struct Chart {
    pub stem: &'static str,
    pub title: String,
    pub alt: String,
    pub png: Vec<u8>,
}

/// The first and last day of the daily series.
fn series_span(series: &[PlatformSeries]) -> Option<(NaiveDate, NaiveDate)> {
    let days = || series.iter().flat_map(|s| s.days.iter().map(|d| d.0));
    Some((days().min()?, days().max()?))
}

fn trend_alt(r: &Report, what: &str) -> String {
    match series_span(&r.daily_by_platform) {
        Some((a, b)) => format!(
            "Line chart of daily {what} by platform from {a} to {b}, log scale; the report's period, {} to {}, is shaded.",
            r.period.from, r.period.to
        ),
        None => format!("Line chart of daily {what} by platform."),
    }
}

/// Daily engagements by platform: the chart a report posts beside its message.
pub fn engagement_chart(r: &Report) -> Option<Chart> {
    let png = trend(
        &r.daily_by_platform,
        |d| Some(d.1),
        "Daily engagements by platform (log scale)",
        (r.period.from, r.period.to),
    )
    .ok()?;
    Some(Chart {
        stem: "engagement",
        title: "Daily engagements by platform".to_string(),
        alt: trend_alt(r, "engagements"),
        png,
    })
}

pub fn charts(r: &Report) -> Vec<Chart> {
    let mut out: Vec<Chart> = engagement_chart(r).into_iter().collect();
    let period = (r.period.from, r.period.to);
    if let Ok(png) = trend(
        &r.daily_by_platform,
        |d| d.2,
        "Daily audience reached by platform (log scale)",
        period,
    ) {
        out.push(Chart {
            stem: "audience",
            title: "Daily audience reached by platform".to_string(),
            alt: trend_alt(r, "audience reached"),
            png,
        });
    }
    if let Some(f) = &r.funnel {
        if let Ok(png) = funnel(&f.current, "Paid funnel this period") {
            out.push(Chart {
                stem: "funnel",
                title: "Paid funnel".to_string(),
                alt: format!(
                    "Bar chart of the paid funnel from {} to {}, log scale: {}.",
                    period.0,
                    period.1,
                    crate::analytics::render::funnel_flow(
                        f,
                        crate::format::currency_symbol(&r.currency)
                    )
                ),
                png,
            });
        }
    }
    if let Ok(png) = score_history(&r.score_history, "Performance score by period (0-100)") {
        let scores: Vec<String> = r
            .score_history
            .iter()
            .map(|(d, s)| format!("{s} for the period ending {d}"))
            .collect();
        out.push(Chart {
            stem: "score",
            title: "Score over time".to_string(),
            alt: format!(
                "Line chart of the performance score (0 to 100): {}.",
                scores.join(", ")
            ),
            png,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeros_are_drawn_and_unknown_days_leave_gaps() {
        let d = |n: u64| NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Days::new(n);
        let days = vec![
            (d(0), 5, Some(50)),
            (d(1), 0, Some(0)),
            (d(2), 3, None),
            // Day 3 has no row at all.
            (d(4), 7, Some(70)),
            (d(5), 0, Some(10)),
        ];
        // Engagements: the zero on day 1 stays in the line; the missing day 3 breaks it.
        assert_eq!(
            segments(&days, |x| Some(x.1), d(0)),
            vec![vec![(0.0, 5), (1.0, 0), (2.0, 3)], vec![(4.0, 7), (5.0, 0)]]
        );
        // Audience: unknown on day 2 breaks it too.
        assert_eq!(
            segments(&days, |x| x.2, d(0)),
            vec![vec![(0.0, 50), (1.0, 0)], vec![(4.0, 70), (5.0, 10)]]
        );
        let series = [PlatformSeries {
            platform: Platform::Reddit,
            days,
        }];
        let png = trend(&series, |x| Some(x.1), "t", (d(3), d(5))).unwrap();
        assert_eq!(&png[1..4], b"PNG");
    }

    #[test]
    fn lift_charts_are_pngs_and_refuse_nothing_to_draw() {
        let rows = vec![
            ("Question".to_string(), 12.0, 4.0, 20.0),
            ("Emoji".to_string(), -3.0, -9.0, 2.5),
        ];
        let png = lift_intervals(&rows, "Lift").unwrap();
        assert_eq!(&png[1..4], b"PNG");
        assert!(lift_intervals(&[], "Lift").is_err());
        assert!(lift_intervals(&[("A".into(), f64::NAN, 0.0, 1.0)], "Lift").is_err());
    }
}
