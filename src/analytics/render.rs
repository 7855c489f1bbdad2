//! Reports as text: for a terminal or as Markdown. (JSON is the report's serde form; Slack and
//! HTML render from the same data in their adapters.)

use std::fmt::Write;

use super::kpi::Kpis;
use super::report::{FunnelBlock, KpiBlock, PostLine, Report};
use crate::analytics::forecast::Forecast;
use crate::domain::RateBase;
use crate::format::{percent, signed_percent, thousands};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Text,
    Markdown,
    /// The body of a self-contained HTML page (see [`html_page`]).
    Html,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A paragraph.
fn para(out: &mut String, style: Style, text: &str) {
    match style {
        Style::Html => {
            let _ = writeln!(out, "<p>{}</p>", esc(text));
        }
        _ => {
            let _ = writeln!(out, "{text}");
        }
    }
}

/// A list item; consecutive items form a list.
fn bullet(out: &mut String, style: Style, text: &str) {
    match style {
        Style::Html => {
            let _ = writeln!(out, "<li>{}</li>", esc(text).replace('\n', "<br>"));
        }
        _ => {
            let _ = writeln!(out, "- {}", text.replace('\n', "\n  "));
        }
    }
}

fn list_start(out: &mut String, style: Style) {
    if style == Style::Html {
        out.push_str("<ul>\n");
    }
}

fn list_end(out: &mut String, style: Style) {
    if style == Style::Html {
        out.push_str("</ul>\n");
    }
}

fn opt(v: Option<i64>) -> String {
    v.map(thousands).unwrap_or_else(|| "–".into())
}

fn rate(v: Option<f64>) -> String {
    v.map(percent).unwrap_or_else(|| "–".into())
}

/// A post's rate with the base it divides by, or a dash where the platform reports none.
fn rate_with_base(v: Option<f64>, base: Option<RateBase>) -> String {
    match v {
        Some(r) => format!("{} {}", percent(r), base_name(base)),
        None => "–".into(),
    }
}

fn delta(v: Option<f64>) -> String {
    v.map(signed_percent).unwrap_or_default()
}

fn base_name(b: Option<RateBase>) -> &'static str {
    match b {
        Some(RateBase::Reach) => "reach",
        Some(RateBase::Impressions) => "impr.",
        Some(RateBase::Views) => "views",
        Some(RateBase::Followers) => "followers",
        None => "mixed",
    }
}

/// What the KPI table's engagement numbers mean, naming only what applies to this report.
fn rate_footnote(r: &Report) -> String {
    let mut s = "Engagements are likes + comments + shares + saves. Engagement rate divides them by reach, else impressions, else views, whichever the platform reports".to_string();
    if r.platforms.len() > 1 {
        s.push_str("; the total divides by each platform's own base");
    }
    s.push('.');
    if r.platforms
        .iter()
        .any(|p| p.platform == crate::domain::Platform::Reddit)
    {
        s.push_str(" Reddit reports no reach, impressions or views: it has no rate.");
    }
    s
}

/// Why a report has no score: how much history a score needs and how much there is.
pub fn no_score_reason(r: &Report) -> String {
    let need = crate::analytics::score::MIN_HISTORY as i64;
    let days = r.period.days();
    let since = r.period.from - chrono::Days::new((need * days) as u64);
    let first = r
        .daily_by_platform
        .iter()
        .filter_map(|s| s.days.first().map(|d| d.0))
        .min();
    let has = match first {
        Some(f) => format!("the data starts {f}"),
        None => "there is no earlier data".to_string(),
    };
    format!(
        "A score ranks this period against at least {need} earlier periods of {days} days, so it needs data from {since}; {has}."
    )
}

/// Columns of words rather than numbers: aligned left, numbers right.
fn is_text_column(header: &str) -> bool {
    matches!(
        header,
        "text" | "campaign" | "platform" | "post" | "published" | "account"
    )
}

/// A table: Markdown pipes, or columns padded for a terminal.
fn table(out: &mut String, style: Style, header: &[&str], rows: &[Vec<String>]) {
    match style {
        Style::Html => {
            // Numbers align right; names and post text align left.
            let class = |i: usize| {
                if i == 0 || is_text_column(header[i]) {
                    " class=\"l\""
                } else {
                    ""
                }
            };
            out.push_str("<table><thead><tr>");
            for (i, h) in header.iter().enumerate() {
                let _ = write!(out, "<th{}>{}</th>", class(i), esc(h));
            }
            out.push_str("</tr></thead><tbody>\n");
            for r in rows {
                out.push_str("<tr>");
                for (i, c) in r.iter().enumerate() {
                    let _ = write!(out, "<td{}>{}</td>", class(i), esc(c));
                }
                out.push_str("</tr>\n");
            }
            out.push_str("</tbody></table>\n");
        }
        Style::Markdown => {
            let _ = writeln!(out, "| {} |", header.join(" | "));
            let _ = writeln!(
                out,
                "|{}|",
                header
                    .iter()
                    .enumerate()
                    .map(|(i, _)| if i == 0 { "---" } else { "---:" })
                    .collect::<Vec<_>>()
                    .join("|")
            );
            for r in rows {
                let _ = writeln!(
                    out,
                    "| {} |",
                    r.iter()
                        .map(|c| c.replace('|', "\\|"))
                        .collect::<Vec<_>>()
                        .join(" | ")
                );
            }
        }
        Style::Text => {
            let widths: Vec<usize> = (0..header.len())
                .map(|i| {
                    rows.iter()
                        .map(|r| r[i].chars().count())
                        .chain([header[i].chars().count()])
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            let line = |cells: Vec<&str>| {
                cells
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        let pad = widths[i].saturating_sub(c.chars().count());
                        if i == 0 || is_text_column(header[i]) {
                            format!("{c}{}", " ".repeat(pad))
                        } else {
                            format!("{}{c}", " ".repeat(pad))
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("  ")
            };
            let _ = writeln!(out, "  {}", line(header.to_vec()));
            for r in rows {
                let _ = writeln!(out, "  {}", line(r.iter().map(String::as_str).collect()));
            }
        }
    }
}

fn heading(out: &mut String, style: Style, text: &str) {
    match style {
        Style::Html => {
            let _ = writeln!(out, "<h2>{}</h2>", esc(text));
        }
        Style::Markdown => {
            let _ = writeln!(out, "\n## {text}\n");
        }
        Style::Text => {
            let _ = writeln!(out, "\n{text}\n{}", "-".repeat(text.chars().count()));
        }
    }
}

fn kpi_row(label: String, b: &KpiBlock) -> Vec<String> {
    let k: &Kpis = &b.current;
    vec![
        label,
        k.posts.to_string(),
        match k.rate_denominator {
            Some(d) => format!("{} {}", thousands(d), base_name(k.rate_base)),
            None => "–".into(),
        },
        delta(b.changes.seen),
        opt(k.engagements),
        delta(b.changes.engagements),
        rate(k.engagement_rate),
        delta(b.changes.engagement_rate),
        rate(k.click_through_rate),
        k.follower_growth
            .map(|g| format!("{}{}", if g >= 0 { "+" } else { "" }, thousands(g)))
            .unwrap_or_else(|| "–".into()),
    ]
}

fn clip(s: &str, n: usize) -> String {
    let one_line: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= n {
        one_line
    } else {
        format!("{}…", one_line.chars().take(n - 1).collect::<String>())
    }
}

fn post_rows(posts: &[PostLine]) -> Vec<Vec<String>> {
    posts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            vec![
                format!("{}. {} @{}", i + 1, p.platform.display_name(), p.account),
                thousands(p.engagements),
                rate_with_base(p.engagement_rate, p.rate_base),
                p.published_at
                    .map(|t| t.format("%Y-%m-%d").to_string())
                    .unwrap_or_default(),
                clip(p.text.as_deref().unwrap_or(&p.post_id), 60),
            ]
        })
        .collect()
}

/// The forecasts in sentences (followers in 30 days; engagements in 7 and 30), or why there are
/// none.
pub fn forecast_lines(r: &Report) -> Vec<String> {
    let mut out = Vec::new();
    let why = |f: &Forecast| match f {
        Forecast::Ready { .. } => None,
        Forecast::TooLittleHistory { have, need } => Some(format!(
            "too little history to forecast ({have} days, needs {need})"
        )),
        Forecast::Failed { reason } => Some(format!("no forecast: {reason}")),
    };
    match (
        r.forecasts.followers.at_horizon(),
        why(&r.forecasts.followers),
    ) {
        (Some((p, lo, hi)), _) => out.push(format!(
            "Followers in 30 days: {} (80% interval {} to {}).",
            thousands(p.round() as i64),
            thousands(lo.round() as i64),
            thousands(hi.round() as i64)
        )),
        (None, Some(w)) => out.push(format!("Followers: {w}.")),
        _ => {}
    }
    match (
        r.forecasts.engagements.total(7),
        r.forecasts.engagements.total(30),
        why(&r.forecasts.engagements),
    ) {
        (Some((p7, l7, h7)), Some((p30, _, _)), _) => out.push(format!(
            "Engagements in the next 7 days: {} (daily 80% bounds add up to {} to {}); next 30 days: {}.",
            thousands(p7.round() as i64),
            thousands(l7.max(0.0).round() as i64),
            thousands(h7.round() as i64),
            thousands(p30.round() as i64)
        )),
        (_, _, Some(w)) => out.push(format!("Engagements: {w}.")),
        _ => {}
    }
    out
}

/// An amount in minor units as whole currency, or "–".
pub fn money(cents: Option<i64>, currency_symbol: &str) -> String {
    cents
        .map(|c| crate::format::money_whole(c, currency_symbol))
        .unwrap_or_else(|| "–".into())
}

/// A cost with cents, or "–".
pub fn cost(v: Option<f64>, currency_symbol: &str) -> String {
    v.map(|x| crate::format::money(x, currency_symbol))
        .unwrap_or_else(|| "–".into())
}

/// The paid funnel as one line: impressions → clicks → leads → conversions → revenue, with the
/// step rates.
pub fn funnel_flow(f: &FunnelBlock, currency_symbol: &str) -> String {
    let cur = &f.current;
    format!(
        "{} impressions → {} clicks ({}) → {} leads ({}) → {} conversions ({}) → {} revenue",
        opt(cur.impressions),
        opt(cur.clicks),
        rate(f.rates.click_through_rate),
        opt(cur.leads),
        rate(f.rates.lead_rate),
        opt(cur.conversions),
        rate(f.rates.conversion_rate),
        money(cur.revenue_cents, currency_symbol)
    )
}

/// The whole report.
pub fn render(r: &Report, style: Style, currency_symbol: &str) -> String {
    let mut s = String::new();
    match style {
        Style::Html => {
            let _ = writeln!(s, "<h1>{}</h1>", esc(&r.title));
        }
        Style::Markdown => {
            let _ = writeln!(s, "# {}\n", r.title);
        }
        Style::Text => {
            let _ = writeln!(s, "{}\n{}", r.title, "=".repeat(r.title.chars().count()));
        }
    }
    let p = &r.period;
    para(
        &mut s,
        style,
        &format!(
            "{} to {} ({} day{}) vs {} to {}; days in {}.",
            p.from,
            p.to,
            p.days(),
            if p.days() == 1 { "" } else { "s" },
            p.previous_from,
            p.previous_to,
            r.timezone
        ),
    );
    if let Some(d) = r.data_through {
        para(
            &mut s,
            style,
            &format!("The data ends on {d}, so the report covers the last days with data."),
        );
    }
    match &r.score_detail {
        Some(sc) => {
            let parts = sc.component_words();
            para(
                &mut s,
                style,
                &format!("Score: {}/100: {}", sc.value, sc.explanation),
            );
            para(
                &mut s,
                style,
                &format!(
                    "Components (percentile vs own history): {}.",
                    parts.join(", ")
                ),
            );
        }
        None => para(
            &mut s,
            style,
            &format!("Score: not enough history yet. {}", no_score_reason(r)),
        ),
    }
    if !r.summary.is_empty() {
        heading(&mut s, style, "Summary");
        list_start(&mut s, style);
        for line in &r.summary {
            bullet(&mut s, style, line);
        }
        list_end(&mut s, style);
    }
    heading(&mut s, style, "KPIs by platform");
    let mut rows: Vec<Vec<String>> = r
        .platforms
        .iter()
        .map(|b| kpi_row(b.platform.display_name().to_string(), &b.kpis))
        .collect();
    rows.push(kpi_row("Total".into(), &r.total));
    table(
        &mut s,
        style,
        &[
            "platform",
            "posts",
            "audience",
            "Δ",
            "engagements",
            "Δ",
            "eng. rate",
            "Δ",
            "CTR",
            "followers",
        ],
        &rows,
    );
    para(&mut s, style, &rate_footnote(r));
    if let Some(k) = r.total.current.engagement_rate_per_post_by_followers {
        para(
            &mut s,
            style,
            &format!(
                "Per post by followers (benchmark definition): {}.",
                percent(k)
            ),
        );
    }
    if !r.top_posts.is_empty() {
        heading(&mut s, style, "Top posts (engagements in the period)");
        table(
            &mut s,
            style,
            &["post", "engagements", "rate", "published", "text"],
            &post_rows(&r.top_posts),
        );
    }
    if !r.bottom_posts.is_empty() {
        heading(
            &mut s,
            style,
            "Lowest engagement rate (posts published in the period)",
        );
        table(
            &mut s,
            style,
            &["post", "engagements", "rate", "published", "text"],
            &post_rows(&r.bottom_posts),
        );
    }
    if let Some(f) = &r.funnel {
        heading(&mut s, style, "Paid funnel");
        let money = |c: Option<i64>| money(c, currency_symbol);
        let cost = |v: Option<f64>| cost(v, currency_symbol);
        let cur = &f.current;
        para(&mut s, style, &funnel_flow(f, currency_symbol));
        para(
            &mut s,
            style,
            &format!(
                "Spend {}; cost per lead {} (was {}); cost per acquisition {}; ROAS {}; ROI {}.",
                money(cur.spend_cents),
                cost(f.rates.cost_per_lead),
                cost(f.previous_rates.cost_per_lead),
                cost(f.rates.cost_per_acquisition),
                f.rates
                    .roas
                    .map(crate::format::multiple)
                    .unwrap_or_else(|| "–".into()),
                f.rates
                    .roi
                    .map(signed_percent)
                    .unwrap_or_else(|| "–".into())
            ),
        );
        let rows: Vec<Vec<String>> = f
            .campaigns
            .iter()
            .map(|c| {
                vec![
                    c.campaign.clone(),
                    c.platform.clone(),
                    money(c.funnel.spend_cents),
                    opt(c.funnel.leads),
                    cost(c.rates.cost_per_lead),
                    opt(c.funnel.conversions),
                    money(c.funnel.revenue_cents),
                    c.rates
                        .roas
                        .map(crate::format::multiple)
                        .unwrap_or_else(|| "–".into()),
                ]
            })
            .collect();
        table(
            &mut s,
            style,
            &[
                "campaign",
                "platform",
                "spend",
                "leads",
                "CPL",
                "conversions",
                "revenue",
                "ROAS",
            ],
            &rows,
        );
    }
    if r.engagement_trend_7d.is_some() || r.engagement_trend_30d.is_some() {
        heading(&mut s, style, "Trends");
        let per_day = |t: Option<f64>| {
            t.map(|x| format!("{}{:.1}% a day", if x >= 0.0 { "+" } else { "" }, x * 100.0))
                .unwrap_or_else(|| "–".into())
        };
        para(
            &mut s,
            style,
            &format!(
                "Daily engagements: {} over the last 7 days, {} over the last 30.",
                per_day(r.engagement_trend_7d),
                per_day(r.engagement_trend_30d)
            ),
        );
    }
    heading(&mut s, style, "Forecasts");
    list_start(&mut s, style);
    for line in forecast_lines(r) {
        bullet(&mut s, style, &line);
    }
    list_end(&mut s, style);
    if !r.sentiment.is_empty() {
        heading(&mut s, style, "Sentiment of post text (VADER)");
        let rows: Vec<Vec<String>> = r
            .sentiment
            .iter()
            .map(|(p, x)| {
                vec![
                    p.map(|p| p.display_name().to_string())
                        .unwrap_or_else(|| "All".into()),
                    x.posts.to_string(),
                    format!("{:+.2}", x.mean_compound),
                    x.positive.to_string(),
                    x.neutral.to_string(),
                    x.negative.to_string(),
                ]
            })
            .collect();
        table(
            &mut s,
            style,
            &[
                "platform", "posts", "mean", "positive", "neutral", "negative",
            ],
            &rows,
        );
    }
    heading(&mut s, style, "Open alerts");
    if r.alerts.is_empty() {
        para(&mut s, style, "None.");
    }
    list_start(&mut s, style);
    for a in &r.alerts {
        bullet(
            &mut s,
            style,
            &format!("[{}] {}", a.alert.severity, a.alert.message),
        );
    }
    list_end(&mut s, style);
    if !r.recommendations.is_empty() {
        heading(&mut s, style, "Recommendations");
        list_start(&mut s, style);
        for rec in &r.recommendations {
            bullet(
                &mut s,
                style,
                &format!("{}\nEvidence: {}", rec.text, rec.evidence),
            );
        }
        list_end(&mut s, style);
    }
    s
}

/// A self-contained HTML page: the report with its charts embedded as PNG data.
pub fn html_page(
    r: &Report,
    currency_symbol: &str,
    charts: &[crate::analytics::charts::Chart],
) -> String {
    use base64::Engine;
    let body = render(r, Style::Html, currency_symbol);
    let mut figures = String::new();
    for c in charts {
        let data = base64::engine::general_purpose::STANDARD.encode(&c.png);
        let _ = writeln!(figures, "<figure><img alt=\"{a}\" src=\"data:image/png;base64,{data}\"><figcaption>{t}</figcaption></figure>", a = esc(&c.alt), t = esc(&c.title));
    }
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>{CSS}</style></head>\n<body><main>\n{body}<h2>Charts</h2>\n{figures}\
         <footer>Generated by vibe at {at}.</footer></main></body></html>\n",
        title = esc(&r.title),
        at = r.generated_at.format("%Y-%m-%d %H:%M UTC"),
    )
}

const CSS: &str = "body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#1d1c1d;background:#f8f8f8;margin:0}\
main{max-width:1000px;margin:0 auto;padding:24px 32px;background:#fff}h1{font-size:26px}h2{font-size:19px;margin-top:28px;border-bottom:1px solid #eee;padding-bottom:4px}\
table{border-collapse:collapse;width:100%;font-size:14px;margin:8px 0}th,td{padding:5px 8px;border-bottom:1px solid #eee;text-align:right}\
.l{text-align:left}th{background:#fafafa}\
figure{margin:16px 0}img{max-width:100%;border:1px solid #eee}figcaption{font-size:13px;color:#616061}footer{margin-top:32px;font-size:12px;color:#888}";
