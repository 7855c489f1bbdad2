//! Experiments in words: the verdict sentence and the terminal views of designs and results.
//! Slack renders from the same data in its own adapter.

use std::fmt::Write;

use super::design::{Design, Kind, MetricType};
use super::model::{ExperimentEvent, StoredExperiment};
use super::ExperimentResult;
use crate::format::{count, number, p_value, percent, points, signed_percent as signed_pct};
use crate::stats::analysis::{Comparison, GuardrailLook, MetricKind, Verdict};

/// How a test's values read: conversion rates, and the per-post engagement rates of content
/// tests, as percentages (differences in percentage points); other metrics as numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Rate,
    Number,
}

impl Unit {
    pub fn of(d: &Design) -> Unit {
        if d.kind == Kind::Content {
            Unit::Rate
        } else {
            Unit::of_metric(d.metric_type)
        }
    }

    pub fn of_metric(m: MetricType) -> Unit {
        match m {
            MetricType::Proportion => Unit::Rate,
            _ => Unit::Number,
        }
    }
}

pub fn value(unit: Unit, x: f64) -> String {
    match unit {
        Unit::Rate => percent(x),
        Unit::Number => number(x),
    }
}

/// An absolute difference in the metric's unit: percentage points for rates.
pub fn abs_diff(unit: Unit, x: f64) -> String {
    match unit {
        Unit::Rate => points(x),
        Unit::Number => {
            let n = number(x);
            if x > 0.0 {
                format!("+{n}")
            } else {
                n
            }
        }
    }
}

pub fn confidence(alpha: f64) -> String {
    let c = (1.0 - alpha) * 100.0;
    if (c - c.round()).abs() < 1e-9 {
        format!("{c:.0}%")
    } else {
        format!("{c:.1}%")
    }
}

pub fn unit_name(e: &StoredExperiment) -> &'static str {
    match (e.design.kind, e.design.metric_type) {
        (Kind::Content, _) => "posts",
        (_, MetricType::Rate) => "units of exposure",
        _ => "units",
    }
}

fn variant_name(e: &StoredExperiment, arm: usize) -> &str {
    e.design.variants.get(arm).map_or("?", |v| v.name.as_str())
}

fn lift_phrase(e: &StoredExperiment, c: &Comparison) -> String {
    match &c.sequential_relative {
        Some(r) => format!(
            "{} {} (always-valid {} interval {} to {})",
            signed_pct(c.lift().unwrap_or(0.0)),
            e.design.target_metric,
            confidence(e.design.alpha),
            signed_pct(r.interval.low),
            signed_pct(r.interval.high)
        ),
        None => format!(
            "{} {} (always-valid interval {} to {})",
            abs_diff(Unit::of(&e.design), c.absolute.estimate),
            e.design.target_metric,
            abs_diff(Unit::of(&e.design), c.sequential.interval.low),
            abs_diff(Unit::of(&e.design), c.sequential.interval.high)
        ),
    }
}

/// One sentence a marketer can act on, stating statistical and practical significance.
pub fn verdict_sentence(e: &StoredExperiment, r: &ExperimentResult) -> String {
    let Some(a) = &r.analysis else {
        return r.note.clone().unwrap_or_else(|| "No data yet.".into());
    };
    let worth = signed_pct(e.design.min_effect);
    let comparison = |arm: usize| a.comparisons.iter().find(|c| c.arm == arm);
    let observational = if r.observational {
        " Observational: posts were not assigned at random, so timing or topic may explain part of the difference."
    } else {
        ""
    };
    let s = match &a.verdict {
        Verdict::Ship { arm, practical } => {
            let lift = comparison(*arm).map(|c| lift_phrase(e, c)).unwrap_or_default();
            if *practical {
                format!("Ship \"{}\": {lift}; even the low end clears the {worth} worth shipping.", variant_name(e, *arm))
            } else {
                format!(
                    "Ship \"{}\" if a small gain is worth it: {lift} is a real improvement, but it may be below the {worth} worth shipping.",
                    variant_name(e, *arm)
                )
            }
        }
        Verdict::StopHarm { arm, metric } => {
            let lift = comparison(*arm).map(|c| lift_phrase(e, c)).unwrap_or_default();
            if metric == "the primary metric" {
                format!("Stop: \"{}\" does worse than the control: {lift}.", variant_name(e, *arm))
            } else {
                format!("Stop: \"{}\" harms the guardrail {metric}.", variant_name(e, *arm))
            }
        }
        Verdict::StopFutility => format!(
            "Stop: no variant can reach the {worth} worth shipping; the differences are too small to matter."
        ),
        Verdict::SampleRatioMismatch => {
            let p = a.srm.map(|s| s.p_value).unwrap_or(0.0);
            format!("Don't trust these results yet: units were not split as planned (sample ratio mismatch, p = {p:.1e}). Check the split.")
        }
        Verdict::KeepRunning => format!(
            "Keep running: no decision yet ({} of {} planned {}).",
            count(r.units_seen),
            count(r.planned_units),
            unit_name(e)
        ),
        Verdict::Inconclusive => format!(
            "Inconclusive: the planned sample is spent and no variant differs from the control by a clear margin (worth shipping: {worth})."
        ),
    };
    format!("{s}{observational}")
}

/// The planned baseline, with its standard deviation for means: `4.50% (sd 2.00%)`.
pub fn baseline_text(d: &Design) -> String {
    let unit = Unit::of(d);
    match (d.metric_type, d.baseline_sd) {
        (MetricType::Mean, Some(sd)) => {
            format!("{} (sd {})", value(unit, d.baseline), value(unit, sd))
        }
        _ => value(unit, d.baseline),
    }
}

/// The design as created, with its plan.
pub fn design_text(e: &StoredExperiment) -> String {
    let d = &e.design;
    let mut s = String::new();
    let _ = writeln!(s, "Experiment {}: {}  [{}]", e.id, d.name, e.status);
    if let Some(h) = &d.hypothesis {
        let _ = writeln!(s, "Hypothesis: {h}");
    }
    let _ = writeln!(
        s,
        "{} test, {} metric: {} ({} is better)",
        match d.kind {
            Kind::Randomized => "Randomized",
            Kind::Content => "Content (observational)",
        },
        d.metric_type,
        d.target_metric,
        if d.higher_is_better {
            "higher"
        } else {
            "lower"
        }
    );
    let names: Vec<String> = d
        .variants
        .iter()
        .enumerate()
        .map(|(i, v)| {
            format!(
                "{}{} (weight {})",
                v.name,
                if i == 0 { " [control]" } else { "" },
                v.weight
            )
        })
        .collect();
    let _ = writeln!(s, "Variants: {}", names.join(", "));
    let baseline = baseline_text(d);
    let _ = writeln!(
        s,
        "Plan: baseline {baseline}, minimum detectable effect {}, alpha {}, power {}; worth shipping: {}",
        signed_pct(d.mde),
        d.alpha,
        d.power,
        signed_pct(d.min_effect)
    );
    let unit = unit_name(e);
    let per_arm: Vec<String> = d.planned_per_arm.iter().map(|n| count(*n)).collect();
    let _ = write!(
        s,
        "Sample size: {} {unit} ({} per arm)",
        count(d.planned_units),
        per_arm.join(" / ")
    );
    match d.planned_days {
        Some(days) => {
            let _ = writeln!(
                s,
                ", about {days} day{} at the expected traffic",
                if days == 1 { "" } else { "s" }
            );
        }
        None => s.push('\n'),
    }
    let _ = writeln!(
        s,
        "Decisions: an always-valid confidence sequence (safe to check every hour){}; fixed-horizon p-values are shown for information only.",
        if d.variants.len() > 2 {
            format!(", alpha split across {} comparisons", d.variants.len() - 1)
        } else {
            String::new()
        }
    );
    for g in &d.guardrails {
        let _ = writeln!(
            s,
            "Guardrail: {} ({}, {} is better)",
            g.name,
            g.metric_type,
            if g.higher_is_better {
                "higher"
            } else {
                "lower"
            }
        );
    }
    s
}

/// A readable result: per-variant values with intervals, lifts, the sequential status, the
/// fixed-horizon p-value for information, SRM, the Bayesian view and the verdict.
pub fn results_text(e: &StoredExperiment, r: &ExperimentResult) -> String {
    let d = &e.design;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Experiment {}: {}  [{}, {} {}]",
        e.id, d.name, e.status, d.kind, d.metric_type
    );
    let progress = if r.planned_units > 0 {
        format!(
            " ({:.0}% of the {} planned)",
            100.0 * r.units_seen as f64 / r.planned_units as f64,
            count(r.planned_units)
        )
    } else {
        String::new()
    };
    let unit = if d.kind == Kind::Content {
        "posts"
    } else {
        "units"
    };
    let _ = writeln!(s, "Seen: {} {unit}{progress}", count(r.units_seen));
    let Some(a) = &r.analysis else {
        let _ = writeln!(s, "{}", r.note.as_deref().unwrap_or("No data yet."));
        return s;
    };
    let conf = confidence(d.alpha);
    let _ = writeln!(s);
    let width = d.target_metric.chars().count().clamp(8, 24);
    let name_width = d
        .variants
        .iter()
        .map(|v| v.name.chars().count())
        .max()
        .unwrap_or(7)
        + 10;
    let _ = writeln!(
        s,
        "{:<name_width$} {:>10} {:>width$}   {conf} interval",
        "variant", unit, d.target_metric
    );
    for (i, arm) in a.arms.iter().enumerate() {
        let interval = arm
            .interval
            .map(|iv| {
                format!(
                    "{} to {}",
                    value(Unit::of(d), iv.low),
                    value(Unit::of(d), iv.high)
                )
            })
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "{:<name_width$} {:>10} {:>width$}   {interval}",
            format!(
                "{}{}",
                variant_name(e, i),
                if i == 0 { " (control)" } else { "" }
            ),
            count(arm.units),
            value(Unit::of(d), arm.value)
        );
    }
    for c in &a.comparisons {
        let _ = writeln!(s);
        let _ = writeln!(s, "{} vs control:", variant_name(e, c.arm));
        if let (Some(rel), Some(seq)) = (c.lift(), c.sequential_relative) {
            let _ = writeln!(
                s,
                "  lift            {}  (always-valid {conf}: {} to {})",
                signed_pct(rel),
                signed_pct(seq.interval.low),
                signed_pct(seq.interval.high)
            );
        }
        let _ = writeln!(
            s,
            "  difference      {}  (always-valid {conf}: {} to {})",
            abs_diff(Unit::of(d), c.absolute.estimate),
            abs_diff(Unit::of(d), c.sequential.interval.low),
            abs_diff(Unit::of(d), c.sequential.interval.high)
        );
        let _ = writeln!(
            s,
            "  sequential      p = {}, {}  (valid however often it is checked; decisions use this)",
            p_value(c.sequential.p_value),
            match c.outcome {
                crate::stats::analysis::Outcome::Better => "better than control",
                crate::stats::analysis::Outcome::Worse => "worse than control",
                crate::stats::analysis::Outcome::Futile => "too small to matter",
                crate::stats::analysis::Outcome::Undecided => "undecided",
            }
        );
        if let Some(p) = c.fixed_p_value {
            let _ = writeln!(
                s,
                "  fixed-horizon   p = {}  (for information only: not valid when checked repeatedly)",
                p_value(p)
            );
        }
        if let Some(b) = c.bayes {
            let chance = match b.chance_to_win * 100.0 {
                c if c > 99.9 => ">99.9%".to_string(),
                c if c < 0.1 => "<0.1%".to_string(),
                c => format!("{c:.1}%"),
            };
            let _ = writeln!(
                s,
                "  Bayesian        {chance} chance to beat control; expected relative loss if shipped {}",
                percent(b.risk_treatment)
            );
        }
    }
    let _ = writeln!(s);
    match (&a.srm, r.observational) {
        (_, true) => {
            let _ = writeln!(
                s,
                "Sample ratio: not checked (content tests are not randomized)"
            );
        }
        (Some(srm), false) => {
            let _ = writeln!(
                s,
                "Sample ratio: {} (chi-square p = {})",
                if srm.mismatch() {
                    "MISMATCH: units were not split as planned"
                } else {
                    "as planned"
                },
                p_value(srm.p_value)
            );
        }
        (None, false) => {}
    }
    for g in &a.guardrails {
        let _ = writeln!(
            s,
            "Guardrail: {}",
            guardrail_line(variant_name(e, g.arm), g, &conf)
        );
    }
    let _ = writeln!(s, "Verdict: {}", verdict_sentence(e, r));
    s
}

/// A guardrail in numbers: `hide rate, emoji headline: 0.31% vs 0.30% control, +0.01 pp
/// (always-valid 95%: -0.02 pp to +0.04 pp): within bounds`.
pub fn guardrail_line(variant: &str, g: &GuardrailLook, conf: &str) -> String {
    let unit = match g.metric {
        MetricKind::Proportion => Unit::Rate,
        _ => Unit::Number,
    };
    format!(
        "{}, {variant}: {} vs {} control, {} (always-valid {conf}: {} to {}): {}",
        g.name,
        value(unit, g.variant),
        value(unit, g.control),
        abs_diff(unit, g.variant - g.control),
        abs_diff(unit, g.change.interval.low),
        abs_diff(unit, g.change.interval.high),
        if g.harmed {
            "significantly worse: it blocks shipping"
        } else {
            "not significantly worse"
        }
    )
}

/// When a draft with a start time begins: `Starts 2026-12-05 09:00 UTC (the hourly check
/// starts it)`.
pub fn start_line(e: &StoredExperiment) -> Option<String> {
    let at = e.design.start_at?;
    (e.status == super::design::Status::Draft).then(|| {
        format!(
            "Starts {} (the hourly check starts it; `vibe abtest start {}` starts it now)",
            at.format("%Y-%m-%d %H:%M UTC"),
            e.id
        )
    })
}

/// The design, status and audit trail.
pub fn show_text(e: &StoredExperiment, events: &[ExperimentEvent]) -> String {
    let mut s = design_text(e);
    if let Some(line) = start_line(e) {
        let _ = writeln!(s, "{line}");
    }
    if let Some(v) = &e.verdict {
        let _ = writeln!(s, "Verdict: {v}");
    }
    let _ = writeln!(s, "History:");
    for ev in events {
        let when = chrono::DateTime::from_timestamp(ev.at, 0)
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "  {when}  {} → {} by {}{}",
            ev.from_status.as_deref().unwrap_or("new"),
            ev.to_status,
            ev.actor,
            ev.note
                .as_ref()
                .map(|n| format!(": {n}"))
                .unwrap_or_default()
        );
    }
    s
}
