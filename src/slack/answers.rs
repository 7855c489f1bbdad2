//! The application's answers in Slack (reference/slack-message-design.md): a test's results
//! as a card with a row per variant, the list of tests with the button that applies, plans and
//! calculations as short answers, schedules, health. Sections, fields and context only; the
//! terminal renders the same answers as text (`cli`).

use chrono::{DateTime, Utc};

use super::actions::Action;
use super::blocks::{self, escape, Message};
use super::modal::{when, who};
use crate::app::abtest::AbtestAnswer;
use crate::app::schedule::{ScheduleAnswer, Scheduled};
use crate::experiments::calc::{CalcResult, PlanResult};
use crate::experiments::design::{Kind, Status};
use crate::experiments::render::{abs_diff, confidence, unit_name, value, verdict_sentence, Unit};
use crate::experiments::ExperimentResult;
use crate::format::thousands;
use crate::format::{number as num, p_value, signed_percent as signed_pct};
use crate::health::{Health, State};
use crate::stats::analysis::{Outcome, Verdict};
use crate::store::{ExperimentEvent, StoredExperiment};

/// Tests listed in one answer; the terminal lists them all.
const LIST_MAX: usize = 20;

fn count(n: u64) -> String {
    thousands(i64::try_from(n).unwrap_or(i64::MAX))
}

/// The mark of a test's state (the design reference's vocabulary).
fn status_mark(e: &StoredExperiment) -> &'static str {
    match e.status {
        Status::Draft => "📝",
        Status::Running => "🧪",
        Status::Stopped => "⏹️",
        Status::Concluded => "🏁",
    }
}

fn verdict_mark(v: &Verdict) -> &'static str {
    match v {
        Verdict::Ship { .. } => "🏆",
        Verdict::StopHarm { .. } => "⛔",
        Verdict::StopFutility | Verdict::Inconclusive => "🤷",
        Verdict::SampleRatioMismatch => "⚠️",
        Verdict::KeepRunning => "🧪",
    }
}

fn outcome_words(o: Outcome) -> &'static str {
    match o {
        Outcome::Better => "🟢 better than the control",
        Outcome::Worse => "🔴 worse than the control",
        Outcome::Futile => "⚪ too small to matter",
        Outcome::Undecided => "⚪ undecided",
    }
}

/// A short answer: one section of mrkdwn the caller has escaped, and its plain text.
fn short(text: &str, mrkdwn: &str) -> Message {
    Message::new(text, vec![blocks::section(mrkdwn)])
}

/// An `abtest` answer.
pub fn abtest(a: &AbtestAnswer) -> Message {
    match a {
        AbtestAnswer::List(all) => list(all),
        AbtestAnswer::Show {
            experiment,
            history,
        } => show(experiment, history),
        AbtestAnswer::Results { experiment, result } => results_card(experiment, result, None),
        AbtestAnswer::Running(all) => running(all),
        AbtestAnswer::Started(e) => match e.design.start_at.filter(|_| e.status == Status::Draft) {
            Some(t) => short(
                &format!("Test #{} {} will start at {}", e.id, e.design.name, t.to_rfc3339()),
                &format!(
                    "⏰ Test #{} *{}* will start {}.",
                    e.id,
                    escape(&e.design.name),
                    when(t.timestamp())
                ),
            ),
            None => short(
                &format!("Test #{} {} is running", e.id, e.design.name),
                &format!(
                    "🧪 Test #{} *{}* is running. The hourly check analyses it; `/vibe abtest results {}` shows where it stands.",
                    e.id,
                    escape(&e.design.name),
                    e.id
                ),
            ),
        },
        AbtestAnswer::Stopped(e) => short(
            &format!("Test #{} {} stopped", e.id, e.design.name),
            &format!("⏹️ Test #{} *{}* is stopped.", e.id, escape(&e.design.name)),
        ),
        AbtestAnswer::Plan(p) => plan(p),
        AbtestAnswer::Calc(r) => calc(r),
        AbtestAnswer::Created(e) => super::render::test_card(e, &[]),
        AbtestAnswer::Imported { id, observations } => short(
            &format!("Imported {observations} observation(s) into test #{id}"),
            &format!("📥 Imported {observations} observation(s) into test #{id}."),
        ),
        AbtestAnswer::Linked { id, variant, posts } => short(
            &format!("Linked {posts} post(s) to {variant} of test #{id}"),
            &format!(
                "🔗 Linked {posts} post(s) to *{}* of test #{id}.",
                escape(variant)
            ),
        ),
        AbtestAnswer::Checked { report, .. } => short(
            "A/B test check done",
            &format!(
                "Started {}, analysed {}, concluded {} test(s).",
                report.started.len(),
                report.analysed.len(),
                report.concluded.len()
            ),
        ),
    }
}

/// Tests with their state and, where one applies, the button that moves them on.
fn list(all: &[StoredExperiment]) -> Message {
    if all.is_empty() {
        return short(
            "No A/B tests yet",
            "No A/B tests yet. Design one with `/vibe abtest new`.",
        );
    }
    let mut b = vec![blocks::header(&format!("🧪 A/B tests ({})", all.len()))];
    for e in all.iter().take(LIST_MAX) {
        let mut line = format!(
            "{} *#{} {}* · {}\n{} · {} · {} {} planned",
            status_mark(e),
            e.id,
            escape(&e.design.name),
            e.status,
            e.design.kind,
            escape(&e.design.target_metric),
            count(e.design.planned_units),
            unit_name(e)
        );
        if let Some(v) = &e.verdict {
            line.push_str(&format!("\n_{}_", escape(&blocks::truncate(v, 300))));
        }
        let button = match e.status {
            Status::Draft => Some(Action::StartTest(e.id).button()),
            Status::Running => Some(Action::StopTest(e.id).button()),
            Status::Stopped | Status::Concluded => None,
        };
        b.push(match button {
            Some(button) => blocks::section_with_button(&line, button),
            None => blocks::section(&line),
        });
    }
    let mut footer = "`/vibe abtest results ID` for a test's numbers".to_string();
    if all.len() > LIST_MAX {
        footer = format!(
            "{} more: `vibe abtest list` in the terminal lists them all · {footer}",
            all.len() - LIST_MAX
        );
    }
    b.push(blocks::context(&[footer]));
    let text = format!(
        "{} A/B test(s): {} running, {} draft(s)",
        all.len(),
        all.iter().filter(|e| e.status == Status::Running).count(),
        all.iter().filter(|e| e.status == Status::Draft).count()
    );
    blocks::split(&text, b).remove(0)
}

/// The design as labelled fields: what a reader checks before pressing Start.
pub fn design_fields(e: &StoredExperiment) -> Vec<String> {
    let d = &e.design;
    let variants: Vec<String> = d
        .variants
        .iter()
        .enumerate()
        .map(|(i, v)| {
            format!(
                "{}{}",
                escape(&v.name),
                if i == 0 { " (control)" } else { "" }
            )
        })
        .collect();
    let baseline = crate::experiments::render::baseline_text(d);
    let duration = match d.planned_days {
        Some(days) => format!(
            "{} {} · about {days} day{} at the expected traffic",
            count(d.planned_units),
            unit_name(e),
            if days == 1 { "" } else { "s" }
        ),
        None => format!("{} {}", count(d.planned_units), unit_name(e)),
    };
    vec![
        format!("*Variants*\n{}", variants.join(", ")),
        format!(
            "*Metric*\n{} ({}, {} is better)",
            escape(&d.target_metric),
            d.metric_type,
            if d.higher_is_better {
                "higher"
            } else {
                "lower"
            }
        ),
        format!("*Baseline*\n{baseline}"),
        format!(
            "*Detects*\n{} relative (worth shipping: {})",
            signed_pct(d.mde),
            signed_pct(d.min_effect)
        ),
        format!("*Sample size*\n{duration}"),
        format!(
            "*Method*\n{} · decided by an always-valid {} confidence sequence, power {}",
            match d.kind {
                Kind::Randomized => "randomized",
                Kind::Content => "content (observational)",
            },
            confidence(d.alpha),
            d.power
        ),
    ]
}

/// `/vibe abtest show`: the design, its state and its history.
fn show(e: &StoredExperiment, history: &[ExperimentEvent]) -> Message {
    let mut b = vec![
        blocks::header(&format!(
            "{} A/B test #{}: {}",
            status_mark(e),
            e.id,
            e.design.name
        )),
        blocks::context(&[format!("Status: *{}*", e.status)]),
    ];
    if let Some(line) = crate::experiments::render::start_line(e) {
        b.push(blocks::context(&[
            line.replace("`vibe abtest start", "`/vibe abtest start")
        ]));
    }
    if let Some(h) = &e.design.hypothesis {
        b.push(blocks::section(&format!("*Hypothesis* {}", escape(h))));
    }
    b.push(blocks::fields(&design_fields(e)));
    if let Some(v) = &e.verdict {
        b.push(blocks::section(&format!("*Verdict* {}", escape(v))));
    }
    let lines: Vec<String> = history
        .iter()
        .rev()
        .take(8)
        .rev()
        .map(|ev| {
            format!(
                "{} → {} by {} · {}{}",
                escape(ev.from_status.as_deref().unwrap_or("new")),
                escape(&ev.to_status),
                who(&ev.actor),
                when(ev.at),
                ev.note
                    .as_ref()
                    .map(|n| format!(": {}", escape(&blocks::truncate(n, 200))))
                    .unwrap_or_default()
            )
        })
        .collect();
    if !lines.is_empty() {
        b.push(blocks::context(&[lines.join("\n")]));
    }
    b.push(blocks::context(&[format!(
        "`/vibe abtest results {}` for its numbers",
        e.id
    )]));
    let text = format!("A/B test #{} {} ({})", e.id, e.design.name, e.status);
    blocks::split(&text, b).remove(0)
}

/// A test's results: the verdict first, then a row per variant (rate, lift, always-valid
/// interval, what the sequence says), then the checks behind it. `concluded` is the verdict
/// recorded when the test concluded: the card then announces the conclusion.
pub fn results_card(
    e: &StoredExperiment,
    r: &ExperimentResult,
    concluded: Option<&str>,
) -> Message {
    let d = &e.design;
    let verdict = concluded
        .map(str::to_string)
        .unwrap_or_else(|| verdict_sentence(e, r));
    let header = match concluded {
        Some(_) => format!("🏁 A/B test #{} concluded: {}", e.id, d.name),
        None => format!("{} A/B test #{}: {}", status_mark(e), e.id, d.name),
    };
    let mark = r
        .analysis
        .as_ref()
        .map(|a| verdict_mark(&a.verdict))
        .unwrap_or("⏳");
    let progress = if r.planned_units > 0 {
        format!(
            "{} of {} planned {} ({:.0}%)",
            count(r.units_seen),
            count(r.planned_units),
            unit_name(e),
            100.0 * r.units_seen as f64 / r.planned_units as f64
        )
    } else {
        format!("{} {}", count(r.units_seen), unit_name(e))
    };
    let mut b = vec![
        blocks::header(&header),
        blocks::section(&format!("{mark} *{}*", escape(&verdict))),
        blocks::context(&[format!(
            "{} · {progress} · {} {}",
            e.status,
            escape(&d.target_metric),
            d.metric_type
        )]),
    ];
    if let Some(a) = &r.analysis {
        let conf = confidence(d.alpha);
        for (i, arm) in a.arms.iter().enumerate() {
            let name = d.variants.get(i).map_or("?", |v| v.name.as_str());
            let mut row = format!(
                "*{}*{} · {} · {} {}",
                escape(name),
                if i == 0 { " (control)" } else { "" },
                value(Unit::of(d), arm.value),
                count(arm.units),
                unit_name(e)
            );
            if let Some(c) = a.comparisons.iter().find(|c| c.arm == i) {
                let lift = match (c.lift(), c.sequential_relative) {
                    (Some(rel), Some(seq)) => format!(
                        "lift *{}* (always-valid {conf}: {} to {})",
                        signed_pct(rel),
                        signed_pct(seq.interval.low),
                        signed_pct(seq.interval.high)
                    ),
                    _ => format!(
                        "difference *{}* (always-valid {conf}: {} to {})",
                        abs_diff(Unit::of(d), c.absolute.estimate),
                        abs_diff(Unit::of(d), c.sequential.interval.low),
                        abs_diff(Unit::of(d), c.sequential.interval.high)
                    ),
                };
                row.push_str(&format!("\n{lift} · {}", outcome_words(c.outcome)));
            }
            b.push(blocks::section(&row));
        }
        let mut notes = Vec::new();
        match (&a.srm, r.observational) {
            (_, true) => notes.push("Observational: posts were not assigned at random".to_string()),
            (Some(srm), false) if srm.mismatch() => notes.push(format!(
                "⚠️ Sample ratio mismatch (p = {:.1e}): units were not split as planned",
                srm.p_value
            )),
            (Some(srm), false) => {
                notes.push(format!("Split as planned (p = {})", p_value(srm.p_value)))
            }
            (None, false) => {}
        }
        for c in &a.comparisons {
            let name = d.variants.get(c.arm).map_or("?", |v| v.name.as_str());
            let mut parts = Vec::new();
            if let Some(b) = c.bayes {
                let chance = match b.chance_to_win * 100.0 {
                    x if x > 99.0 => ">99%".to_string(),
                    x if x < 1.0 => "<1%".to_string(),
                    x => format!("{x:.0}%"),
                };
                parts.push(format!("{chance} chance to beat the control"));
            }
            if let Some(p) = c.fixed_p_value {
                parts.push(format!(
                    "fixed-horizon p = {} (for information only)",
                    p_value(p)
                ));
            }
            if !parts.is_empty() {
                notes.push(format!("{}: {}", escape(name), parts.join(", ")));
            }
        }
        for g in &a.guardrails {
            let name = d.variants.get(g.arm).map_or("?", |v| v.name.as_str());
            notes.push(format!(
                "{} {}",
                if g.harmed { "⛔" } else { "🛡️" },
                escape(&crate::experiments::render::guardrail_line(name, g, &conf))
            ));
        }
        notes.push(
            "Decisions come from the always-valid confidence sequence: safe to check every hour"
                .into(),
        );
        b.push(blocks::context(&[notes.join("\n")]));
    }
    let text = match concluded {
        Some(_) => format!("A/B test #{} concluded: {verdict}", e.id),
        None => format!("A/B test #{} {}: {verdict}", e.id, d.name),
    };
    blocks::split(&text, b).remove(0)
}

/// `/vibe abtest results` without an id: every running test with its verdict.
fn running(all: &[(StoredExperiment, Result<ExperimentResult, String>)]) -> Message {
    if all.is_empty() {
        return short("No running A/B tests", "No running A/B tests.");
    }
    let mut b = vec![blocks::header(&format!(
        "🧪 Running A/B tests ({})",
        all.len()
    ))];
    for (e, r) in all.iter().take(LIST_MAX) {
        let line = match r {
            Ok(r) => {
                let mark = r
                    .analysis
                    .as_ref()
                    .map(|a| verdict_mark(&a.verdict))
                    .unwrap_or("⏳");
                format!("{mark} {}", escape(&verdict_sentence(e, r)))
            }
            Err(err) => format!("⚠️ can't analyse: {}", escape(err)),
        };
        b.push(blocks::section(&format!(
            "*#{} {}*\n{line}",
            e.id,
            escape(&e.design.name)
        )));
    }
    b.push(blocks::context(&[
        "`/vibe abtest results ID` for a test's rows and intervals".into(),
    ]));
    blocks::split(&format!("{} running A/B test(s)", all.len()), b).remove(0)
}

/// `/vibe abtest plan`: the sample and duration, in one answer.
fn plan(p: &PlanResult) -> Message {
    let per_arm = p.per_arm.first().copied().unwrap_or(0);
    let days = p
        .days
        .map(|d| {
            format!(
                " · about *{d} day{}* at the expected traffic",
                if d == 1 { "" } else { "s" }
            )
        })
        .unwrap_or_default();
    let text = format!(
        "{} per arm, {} in all, to detect a {} relative change",
        count(per_arm),
        count(p.total),
        signed_pct(p.mde)
    );
    let b = vec![
        blocks::section(&format!(
            "📐 *{} per arm* × {} arms = {} in all{days}",
            count(per_arm),
            p.arms,
            count(p.total)
        )),
        blocks::context(&[format!(
            "To detect a {} relative change in a {} metric · each variant compared with the control · `/vibe abtest new` designs it",
            signed_pct(p.mde),
            p.metric
        )]),
    ];
    Message::new(&text, b)
}

/// `/vibe abtest calc`: each variant against the control, the p-value and the lift.
fn calc(r: &CalcResult) -> Message {
    let conf = confidence(r.alpha);
    let unit = Unit::of_metric(r.metric);
    let fmt = |x: f64| value(unit, x);
    let mut b = Vec::new();
    let arms: Vec<String> = r
        .arms
        .iter()
        .map(|a| {
            format!(
                "*{}*\n{} of {}",
                escape(&a.label),
                fmt(a.value),
                num(a.units)
            )
        })
        .collect();
    for c in &r.comparisons {
        let mut lift = format!(
            "difference *{}* ({conf}: {} to {})",
            abs_diff(unit, c.difference),
            abs_diff(unit, c.difference_interval.low),
            abs_diff(unit, c.difference_interval.high)
        );
        if let (Some(l), Some(iv)) = (c.relative_lift, c.relative_interval) {
            lift.push_str(&format!(
                " · lift *{}* ({conf}: {} to {})",
                signed_pct(l),
                signed_pct(iv.low),
                signed_pct(iv.high)
            ));
        }
        let p = match c.p_value_adjusted {
            Some(adj) => format!(
                "p = {} (Holm-adjusted {})",
                p_value(c.p_value),
                p_value(adj)
            ),
            None => format!("p = {}", p_value(c.p_value)),
        };
        let mark = if c.p_value_adjusted.unwrap_or(c.p_value) < r.alpha {
            "🟢"
        } else {
            "⚪"
        };
        b.push(blocks::section(&format!(
            "{mark} *Variant {} vs control*: {lift} · {p}",
            c.arm
        )));
    }
    b.push(blocks::fields(&arms));
    let mut note = format!(
        "{} · fixed-horizon, two-sided: valid for one look at a sample fixed in advance",
        r.comparisons.first().map_or("", |c| c.test)
    );
    if r.comparisons.len() > 1 {
        note.push_str(&format!(
            "\n{}",
            crate::experiments::calc::multiplicity_note(r)
        ));
    }
    b.push(blocks::context(&[note]));
    let text = match r.p_value {
        Some(p) => format!("A/B calculation: p = {}", p_value(p)),
        None => format!("A/B calculation of {} arms", r.arms.len()),
    };
    blocks::split(&text, b).remove(0)
}

/// A schedule as a line: the digest, its channel, when it runs.
fn schedule_line(s: &Scheduled) -> String {
    let d = &s.schedule;
    format!(
        "*#{} {} digest* → <#{}>\n{} ({}) · next {}",
        d.id,
        escape(&d.kind),
        escape(&d.channel),
        escape(&s.described),
        escape(&d.timezone),
        next(s.next)
    )
}

fn next(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| when(t.timestamp()))
        .unwrap_or_else(|| "never".into())
}

/// A `schedule` answer.
pub fn schedule(a: &ScheduleAnswer) -> Message {
    match a {
        ScheduleAnswer::Added(s) => short(
            &format!("Schedule #{} added", s.schedule.id),
            &format!(
                "🗓️ Schedule #{}: the {} digest goes to <#{}> {} ({}). First one: {}.",
                s.schedule.id,
                escape(&s.schedule.kind),
                escape(&s.schedule.channel),
                escape(&s.described),
                escape(&s.schedule.timezone),
                next(s.next)
            ),
        ),
        ScheduleAnswer::AlreadyScheduled(s) => short(
            &format!("Already scheduled as #{}", s.schedule.id),
            &format!(
                "That digest is already scheduled as #{}; nothing was added. Next one: {}.",
                s.schedule.id,
                next(s.next)
            ),
        ),
        ScheduleAnswer::Removed(s) => short(
            &format!("Schedule #{} removed", s.schedule.id),
            &format!(
                "Schedule #{} removed: the {} digest to <#{}> {} no longer runs.",
                s.schedule.id,
                escape(&s.schedule.kind),
                escape(&s.schedule.channel),
                escape(&s.described)
            ),
        ),
        ScheduleAnswer::List(all) if all.is_empty() => short(
            "No digest schedules",
            "No digest schedules. Add one with `/vibe schedule add daily 09:00`.",
        ),
        ScheduleAnswer::List(all) => {
            let mut b = vec![blocks::header(&format!(
                "🗓️ Digest schedules ({})",
                all.len()
            ))];
            for s in all.iter().take(LIST_MAX) {
                b.push(blocks::section(&schedule_line(s)));
                b.push(blocks::context(&[format!(
                    "added by {} · {}",
                    who(&s.schedule.created_by),
                    when(s.schedule.created_at)
                )]));
            }
            if all.len() > LIST_MAX {
                b.push(blocks::context(&[format!(
                    "{} more: `vibe schedule list` in the terminal lists them all",
                    all.len() - LIST_MAX
                )]));
            }
            blocks::split(&format!("{} digest schedule(s)", all.len()), b).remove(0)
        }
    }
}

/// `/vibe health`: the verdict, then each check as a field.
pub fn health(h: &Health) -> Message {
    let headline = if h.healthy {
        "✅ *vibe is healthy*"
    } else {
        "🔴 *Something configured is failing*"
    };
    let items: Vec<String> = h
        .checks
        .iter()
        .map(|c| {
            let (mark, detail) = match &c.state {
                State::Ok(d) => ("✅", d),
                State::NotConfigured(d) => ("⚪", d),
                State::Failed(d) => ("🔴", d),
            };
            format!("{mark} *{}*\n{}", c.name, escape(detail))
        })
        .collect();
    let mut b = vec![blocks::section(headline)];
    for chunk in items.chunks(10) {
        b.push(blocks::fields(chunk));
    }
    b.push(blocks::context(&[
        "`vibe health` in the terminal checks the same · `/readyz` is the probe for load balancers"
            .into(),
    ]));
    let text = if h.healthy {
        "vibe is healthy".to_string()
    } else {
        let failing: Vec<&str> = h
            .checks
            .iter()
            .filter(|c| matches!(c.state, State::Failed(_)))
            .map(|c| c.name)
            .collect();
        format!("vibe health: failing: {}", failing.join(", "))
    };
    Message::new(&text, b)
}

/// A design that needs changes: each problem named as typed.
pub fn design_errors(lines: &[String]) -> Message {
    let bullets: Vec<String> = lines.iter().map(|l| format!("• {}", escape(l))).collect();
    let b = vec![
        blocks::section(&format!(
            "⚠️ *The design needs changes; nothing was created.*\n{}",
            bullets.join("\n")
        )),
        blocks::context(&[
            "Fields as key=value (name=… variants=A,B baseline=4% mde=10%) or flags (--mde 10%) · `/vibe abtest new` alone opens the form".into(),
        ]),
    ];
    Message::new(
        &format!("The design needs changes: {}", lines.join("; ")),
        b,
    )
}
