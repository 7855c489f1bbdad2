//! Reports and digests as Slack messages: a compact parent for the channel, the details in
//! its thread.

use super::super::blocks::{self, escape, Message};
use super::severity_icon;
use crate::analytics::model::{Severity, StoredAlert};
use crate::analytics::report::{KpiBlock, PeriodKind, PostLine, Report};
use crate::domain::RateBase;
use crate::experiments::design::Status;
use crate::format::thousands;

/// A report as Slack messages: the summary for the channel, the details for its thread.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportMessages {
    pub parent: Message,
    pub thread: Vec<Message>,
}

fn kind_word(k: PeriodKind) -> &'static str {
    match k {
        PeriodKind::Daily => "Daily",
        PeriodKind::Weekly => "Weekly",
        PeriodKind::Monthly => "Monthly",
        PeriodKind::Custom => "Custom",
    }
}

/// "▲ 12%" / "▼ 3%", or nothing when unknown.
fn change(x: Option<f64>) -> String {
    match x {
        Some(v) if v.is_finite() => {
            let arrow = if v > 0.0005 {
                "▲"
            } else if v < -0.0005 {
                "▼"
            } else {
                "±"
            };
            format!("{arrow} {:.1}%", (v * 100.0).abs())
        }
        _ => String::new(),
    }
}

/// Good/bad marker for a change where up is good; ⚪ within 2%.
fn judged(x: Option<f64>) -> &'static str {
    match x {
        Some(v) if v > 0.02 => "🟢 ",
        Some(v) if v < -0.02 => "🔴 ",
        Some(_) => "⚪ ",
        None => "",
    }
}

fn rate(v: Option<f64>) -> String {
    v.map(crate::format::percent).unwrap_or_else(|| "—".into())
}

fn base_word(b: Option<RateBase>) -> &'static str {
    match b {
        Some(RateBase::Reach) => "by reach",
        Some(RateBase::Impressions) => "by impressions",
        Some(RateBase::Views) => "by views",
        Some(RateBase::Followers) => "by followers",
        None => "by each platform's base",
    }
}

fn compact(n: i64) -> String {
    let a = n.unsigned_abs() as f64;
    let sign = if n < 0 { "-" } else { "" };
    if a >= 1e6 {
        format!("{sign}{:.1}M", a / 1e6)
    } else if a >= 1e4 {
        format!("{sign}{:.1}k", a / 1e3)
    } else {
        thousands(n)
    }
}

fn kpi_fields(
    k: &KpiBlock,
    symbol: &str,
    cost_per_lead: Option<(Option<f64>, Option<f64>)>,
) -> Vec<String> {
    let c = &k.current;
    let audience = c.rate_denominator.or(c.reach).or(c.impressions).or(c.views);
    let mut f = vec![
        format!(
            "*Audience*\n{}  {}{}",
            audience.map(compact).unwrap_or_else(|| "—".into()),
            judged(k.changes.seen),
            change(k.changes.seen)
        ),
        format!(
            "*Engagements*\n{}  {}{}",
            c.engagements.map(compact).unwrap_or_else(|| "—".into()),
            judged(k.changes.engagements),
            change(k.changes.engagements)
        ),
        format!(
            "*Engagement rate*\n{}  {}{}",
            rate(c.engagement_rate),
            judged(k.changes.engagement_rate),
            change(k.changes.engagement_rate)
        ),
        format!(
            "*Follower growth*\n{}",
            c.follower_growth
                .map(|g| format!("{}{}", if g >= 0 { "+" } else { "" }, thousands(g)))
                .unwrap_or_else(|| "—".into())
        ),
    ];
    if let Some((now, before)) = cost_per_lead {
        let judged_cost = match (now, before) {
            (Some(a), Some(b)) if b > 0.0 => {
                let d = a / b - 1.0;
                // Cheaper leads are good.
                format!("{}{}", judged(Some(-d)), change(Some(d)))
            }
            _ => String::new(),
        };
        f.push(format!(
            "*Cost per lead*\n{}  {judged_cost}",
            now.map(|x| crate::format::money(x, symbol))
                .unwrap_or_else(|| "—".into())
        ));
    }
    f
}

fn post_line(p: &PostLine) -> String {
    let text = p
        .text
        .as_deref()
        .map(|t| blocks::truncate(&t.split_whitespace().collect::<Vec<_>>().join(" "), 80))
        .unwrap_or_else(|| p.post_id.clone());
    format!(
        "{} @{} · {} engagements{} · “{}”",
        p.platform.display_name(),
        escape(&p.account),
        thousands(p.engagements),
        match p.engagement_rate {
            Some(_) => format!(
                " · {} {}",
                rate(p.engagement_rate),
                base_word(p.rate_base).trim_start_matches("by ")
            ),
            None => String::new(),
        },
        escape(&text)
    )
}

/// The report: a compact parent (score, key numbers, top post, next steps) and thread replies
/// (per-platform table, posts, funnel, forecasts).
pub fn report(r: &Report, symbol: &str) -> ReportMessages {
    let p = &r.period;
    let platform = r
        .platform
        .map(|p| format!(" · {}", p.display_name()))
        .unwrap_or_default();
    let kind = kind_word(p.kind);
    let icon = if p.kind == PeriodKind::Daily {
        "☀️"
    } else {
        "📊"
    };
    let mut parent = vec![
        blocks::header(&format!(
            "{icon} {kind} report · {}{platform}",
            r.brand.as_deref().unwrap_or("All accounts")
        )),
        blocks::context(&[format!(
            "{} to {} · vs {} to {} · {}",
            p.from, p.to, p.previous_from, p.previous_to, r.timezone
        )]),
    ];
    let score_line = score_text(r);
    parent.push(blocks::section(&score_line));
    let cpl = r
        .funnel
        .as_ref()
        .map(|f| (f.rates.cost_per_lead, f.previous_rates.cost_per_lead));
    parent.push(blocks::fields(&kpi_fields(&r.total, symbol, cpl)));
    let mut notable = Vec::new();
    if let Some(top) = r.top_posts.first() {
        notable.push(format!("*Top post* {}", post_line(top)));
    }
    if !r.alerts.is_empty() {
        let first = &r.alerts[0];
        notable.push(format!(
            "*Alerts* {} open · {}",
            r.alerts.len(),
            escape(&blocks::truncate(&first.alert.message, 200))
        ));
    }
    if !notable.is_empty() {
        parent.push(blocks::section(&notable.join("\n")));
    }
    if !r.recommendations.is_empty() {
        let lines: Vec<String> = r
            .recommendations
            .iter()
            .take(3)
            .enumerate()
            .map(|(i, rec)| format!("{}. {}", i + 1, escape(&rec.text)))
            .collect();
        parent.push(blocks::section(&format!(
            "*Next steps*\n{}",
            lines.join("\n")
        )));
    }
    parent.push(blocks::context(&[format!(
        "Engagement rate {} · {}chart, per-platform table, posts and funnel in the thread 🧵",
        base_word(r.total.current.rate_base),
        r.data_through
            .map(|d| format!("data ends {d} · "))
            .unwrap_or_default()
    )]));

    // Message::new escapes the top-level text itself.
    let raw_scope = r.brand.as_deref().unwrap_or("All accounts");
    let text = format!(
        "{kind} report, {raw_scope}{platform}, {} to {}: {}. Engagements {}, engagement rate {}.",
        p.from,
        p.to,
        score_phrase(r),
        engagements_phrase(r),
        rate(r.total.current.engagement_rate)
    );

    ReportMessages {
        parent: Message::new(&text, parent),
        thread: thread_messages(r, symbol, &text),
    }
}

/// "score 72/100", or "no score yet": the headline of a report's notification text.
fn score_phrase(r: &Report) -> String {
    match r.score {
        Some(s) => format!("score {s}/100"),
        None => "no score yet".into(),
    }
}

/// "12,345 (+4%)": the period's engagements and their change, for notification text.
fn engagements_phrase(r: &Report) -> String {
    let e = &r.total;
    format!(
        "{}{}",
        e.current
            .engagements
            .map(thousands)
            .unwrap_or_else(|| "—".into()),
        e.changes
            .engagements
            .map(|c| format!(" ({})", crate::format::signed_percent(c)))
            .unwrap_or_default()
    )
}

/// The score with its components and explanation, or why there is none yet.
fn score_text(r: &Report) -> String {
    match &r.score_detail {
        Some(sc) => {
            let parts = sc.component_words();
            let before = r
                .score_history
                .iter()
                .rev()
                .nth(1)
                .map(|(_, s)| format!(" (was {s})"))
                .unwrap_or_default();
            format!(
                "*Score {}/100*{before}\n{}\n{}",
                sc.value,
                parts.join(" · "),
                escape(&sc.explanation)
            )
        }
        None => format!(
            "*Score —*\nNot enough history yet. {}",
            crate::analytics::render::no_score_reason(r)
        ),
    }
}

/// A test as a digest lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct TestLine {
    pub id: i64,
    pub name: String,
    pub status: Status,
    /// The verdict (concluded) or where it stands (running).
    pub line: String,
}

fn test_lines(tests: &[TestLine]) -> String {
    tests
        .iter()
        .map(|t| {
            let icon = match t.status {
                Status::Concluded => "🏁",
                Status::Running => "▶️",
                _ => "•",
            };
            format!(
                "{icon} #{} {}: {}",
                t.id,
                escape(&t.name),
                escape(&blocks::truncate(&t.line, 300))
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The most important alerts (they come ordered), at least `max` of them and every critical
/// one however many there are.
fn alert_lines(alerts: &[StoredAlert], max: usize) -> String {
    let critical = alerts
        .iter()
        .filter(|a| a.alert.severity == Severity::Critical)
        .count();
    let max = max.max(critical);
    let mut lines: Vec<String> = alerts
        .iter()
        .take(max)
        .map(|a| {
            format!(
                "{} {}",
                severity_icon(a.alert.severity),
                escape(&blocks::truncate(&a.alert.message, 200))
            )
        })
        .collect();
    if alerts.len() > max {
        lines.push(format!("…and {} more: `/vibe alerts`", alerts.len() - max));
    }
    lines.join("\n")
}

/// The daily digest: one compact message (score, headline changes vs the day before, open
/// alerts, running tests and the ones concluded since yesterday).
pub fn daily_digest(r: &Report, tests: &[TestLine], symbol: &str) -> Message {
    let p = &r.period;
    let scope = r.brand.as_deref().unwrap_or("All accounts");
    let mut b = vec![
        blocks::header(&format!("☀️ Daily digest · {scope} · {}", p.to)),
        blocks::context(&[format!(
            "{} vs {} · {}{}",
            p.to,
            p.previous_to,
            r.timezone,
            r.data_through
                .map(|d| format!(" · data ends {d}"))
                .unwrap_or_default()
        )]),
        blocks::section(&score_text(r)),
    ];
    let cpl = r
        .funnel
        .as_ref()
        .map(|f| (f.rates.cost_per_lead, f.previous_rates.cost_per_lead));
    b.push(blocks::fields(&kpi_fields(&r.total, symbol, cpl)));
    if let Some(top) = r.top_posts.first() {
        b.push(blocks::section(&format!("*Top post* {}", post_line(top))));
    }
    b.extend(blocks::sections(&if r.alerts.is_empty() {
        "*Alerts* none open ✅".to_string()
    } else {
        format!(
            "*Alerts* ({} open)\n{}",
            r.alerts.len(),
            alert_lines(&r.alerts, 3)
        )
    }));
    if !tests.is_empty() {
        b.extend(blocks::sections(&format!(
            "*A/B tests*\n{}",
            test_lines(tests)
        )));
    }
    b.push(blocks::context(&[
        "Full report: `/vibe report daily` · the weekly deep dive has trends, forecasts and charts"
            .into(),
    ]));
    let text = format!(
        "Daily digest, {scope}, {}: {}. Engagements {}; {} open alert(s); {} test(s).",
        p.to,
        score_phrase(r),
        engagements_phrase(r),
        r.alerts.len(),
        tests.len()
    );
    let mut parts = blocks::split(&text, b);
    parts.remove(0)
}

/// The weekly deep dive: a summary (score and its trend, KPIs with week-over-week changes,
/// trends, forecasts, alerts, tests) and a thread with the per-platform table, posts, funnel,
/// recommendations and test results; the charts go in the thread as files.
pub fn weekly_digest(r: &Report, tests: &[TestLine], symbol: &str) -> ReportMessages {
    let p = &r.period;
    let scope = r.brand.as_deref().unwrap_or("All accounts");
    let mut b = vec![
        blocks::header(&format!("📈 Weekly deep dive · {scope}")),
        blocks::context(&[format!(
            "{} to {} · vs {} to {} · {}",
            p.from, p.to, p.previous_from, p.previous_to, r.timezone
        )]),
        blocks::section(&score_text(r)),
    ];
    let cpl = r
        .funnel
        .as_ref()
        .map(|f| (f.rates.cost_per_lead, f.previous_rates.cost_per_lead));
    b.push(blocks::fields(&kpi_fields(&r.total, symbol, cpl)));
    let mut trends = Vec::new();
    let per_day = |x: f64| {
        format!(
            "{}{:.1}% a day",
            if x >= 0.0 { "+" } else { "−" },
            (x * 100.0).abs()
        )
    };
    if let Some(t) = r.engagement_trend_7d {
        trends.push(format!("Engagements over the last 7 days: {}", per_day(t)));
    }
    if let Some(t) = r.engagement_trend_30d {
        trends.push(format!("over the last 30 days: {}", per_day(t)));
    }
    let scores: Vec<String> = r
        .score_history
        .iter()
        .rev()
        .take(6)
        .rev()
        .map(|(_, s)| s.to_string())
        .collect();
    if scores.len() > 1 {
        trends.push(format!("Score by week: {}", scores.join(" → ")));
    }
    if !trends.is_empty() {
        b.push(blocks::section(&format!(
            "*Trends*\n{}",
            trends.join(" · ")
        )));
    }
    let forecast: Vec<String> = crate::analytics::render::forecast_lines(r)
        .iter()
        .map(|l| escape(l))
        .collect();
    if !forecast.is_empty() {
        b.push(blocks::section(&format!(
            "*Forecasts*\n{}",
            forecast.join("\n")
        )));
    }
    if !r.alerts.is_empty() {
        b.extend(blocks::sections(&format!(
            "*Alerts* ({} open)\n{}",
            r.alerts.len(),
            alert_lines(&r.alerts, 5)
        )));
    }
    if !tests.is_empty() {
        b.extend(blocks::sections(&format!(
            "*A/B tests this week*\n{}",
            test_lines(tests)
        )));
    }
    b.push(blocks::context(&[
        "Charts, per-platform table, posts, funnel and recommendations in the thread 🧵".into(),
    ]));
    let text = format!(
        "Weekly deep dive, {scope}, {} to {}: {}. Engagements {}.",
        p.from,
        p.to,
        score_phrase(r),
        engagements_phrase(r)
    );
    let mut parts = blocks::split(&text, b);
    let parent = parts.remove(0);
    let mut thread = parts;
    thread.extend(thread_messages(r, symbol, &text));
    ReportMessages { parent, thread }
}

fn thread_messages(r: &Report, symbol: &str, text: &str) -> Vec<Message> {
    let mut out = Vec::new();
    // The per-platform table, preformatted so the columns line up.
    let mut table = String::from("```\n");
    table.push_str(&format!(
        "{:<10} {:>5} {:>9} {:>8} {:>11} {:>8} {:>8}\n",
        "platform", "posts", "audience", "Δ", "engagements", "Δ", "ER"
    ));
    let row = |name: &str, k: &KpiBlock| {
        let c = &k.current;
        format!(
            "{:<10} {:>5} {:>9} {:>8} {:>11} {:>8} {:>8}\n",
            name,
            c.posts,
            c.rate_denominator
                .map(compact)
                .unwrap_or_else(|| "—".into()),
            change(k.changes.seen),
            c.engagements.map(compact).unwrap_or_else(|| "—".into()),
            change(k.changes.engagements),
            rate(c.engagement_rate)
        )
    };
    for b in &r.platforms {
        table.push_str(&row(b.platform.display_name(), &b.kpis));
    }
    table.push_str(&row("Total", &r.total));
    table.push_str("```");
    let mut details = vec![blocks::section("*KPIs by platform*")];
    details.extend(blocks::sections(&table));
    if !r.top_posts.is_empty() {
        let lines: Vec<String> = r
            .top_posts
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{}. {}", i + 1, post_line(p)))
            .collect();
        details.extend(blocks::sections(&format!(
            "*Top posts* (engagements added in the period)\n{}",
            lines.join("\n")
        )));
    }
    if !r.bottom_posts.is_empty() {
        let lines: Vec<String> = r
            .bottom_posts
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{}. {}", i + 1, post_line(p)))
            .collect();
        details.extend(blocks::sections(&format!(
            "*Lowest engagement rate* (posts published in the period)\n{}",
            lines.join("\n")
        )));
    }
    if let Some(f) = &r.funnel {
        use crate::analytics::render::{cost, funnel_flow, money};
        let opt = |v: Option<i64>| v.map(thousands).unwrap_or_else(|| "—".into());
        let mut s = format!(
            "*Paid funnel*\n{}\nSpend {} · cost per lead {} (was {}) · ROAS {}",
            funnel_flow(f, symbol),
            money(f.current.spend_cents, symbol),
            cost(f.rates.cost_per_lead, symbol),
            cost(f.previous_rates.cost_per_lead, symbol),
            f.rates
                .roas
                .map(crate::format::multiple)
                .unwrap_or_else(|| "—".into()),
        );
        for c in &f.campaigns {
            s.push_str(&format!(
                "\n• {} ({}): spend {}, {} leads, cost per lead {}",
                escape(&c.campaign),
                escape(&c.platform),
                money(c.funnel.spend_cents, symbol),
                opt(c.funnel.leads),
                cost(c.rates.cost_per_lead, symbol)
            ));
        }
        details.extend(blocks::sections(&s));
    }
    let forecast: Vec<String> = crate::analytics::render::forecast_lines(r)
        .iter()
        .map(|l| escape(l))
        .collect();
    if !forecast.is_empty() {
        details.push(blocks::section(&format!(
            "*Forecasts*\n{}",
            forecast.join("\n")
        )));
    }
    if !r.recommendations.is_empty() {
        let lines: Vec<String> = r
            .recommendations
            .iter()
            .map(|rec| format!("• {} _({})_", escape(&rec.text), escape(&rec.evidence)))
            .collect();
        details.extend(blocks::sections(&format!(
            "*Recommendations and their evidence*\n{}",
            lines.join("\n")
        )));
    }
    out.extend(blocks::split(&format!("Details: {text}"), details));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::model::Evidence;

    #[test]
    fn a_digest_shows_every_critical_alert_first() {
        let alert = |id: i64, severity: Severity| {
            StoredAlert::open_for_test(
                id,
                severity,
                Evidence::Other(Default::default()),
                id,
                format!("alert {id} ({severity})"),
            )
        };
        let mut alerts: Vec<StoredAlert> = (1..=5)
            .map(|i| alert(i, Severity::Warning))
            .chain((6..=10).map(|i| alert(i, Severity::Critical)))
            .collect();
        alerts.sort_by(StoredAlert::importance);
        let text = alert_lines(&alerts, 3);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 6, "{text}");
        for (line, id) in lines.iter().zip([10, 9, 8, 7, 6]) {
            assert!(line.ends_with(&format!("alert {id} (critical)")), "{text}");
        }
        assert_eq!(lines[5], "…and 5 more: `/vibe alerts`");
        // Under the limit, the limit holds.
        let text = alert_lines(&alerts[5..], 3);
        assert_eq!(text.lines().count(), 4, "{text}");
        assert!(text.starts_with(severity_icon(Severity::Warning)), "{text}");
    }

    #[test]
    fn changes_show_direction_and_judgement_apart() {
        let cases = [
            (Some(0.124), "▲ 12.4%", "🟢 "),
            (Some(-0.3), "▼ 30.0%", "🔴 "),
            (Some(0.01), "▲ 1.0%", "⚪ "),
            (Some(0.0), "± 0.0%", "⚪ "),
            (None, "", ""),
            (Some(f64::NAN), "", "⚪ "),
        ];
        for (x, c, j) in cases {
            assert_eq!(change(x), c, "{x:?}");
            if x.is_some_and(|v| v.is_nan()) {
                continue;
            }
            assert_eq!(judged(x), j, "{x:?}");
        }
    }
}
