//! Experiments in words: the verdict sentence and the terminal views of designs and results.
//! Slack renders from the same data in its own adapter.

use std::fmt::Write;

use super::design::{Kind, MetricType};
use super::model::{ExperimentEvent, StoredExperiment};
use super::ExperimentResult;
use crate::stats::analysis::{Comparison, Verdict};

/// `+12.3%` from 0.123.
pub fn signed_pct(x: f64) -> String {
    format!("{}{:.1}%", if x >= 0.0 { "+" } else { "" }, x * 100.0)
}

/// `12.30%` from 0.123.
pub fn pct(x: f64) -> String {
    format!("{:.2}%", x * 100.0)
}

/// A number with four significant digits, without exponent for everyday magnitudes.
pub fn num(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let digits = (3 - x.abs().log10().floor() as i32).clamp(0, 8) as usize;
    format!("{x:.digits$}")
}

pub fn value(metric: MetricType, x: f64) -> String {
    match metric {
        MetricType::Proportion => pct(x),
        _ => num(x),
    }
}

/// An absolute difference in the metric's unit: percentage points for rates.
pub fn abs_diff(metric: MetricType, x: f64) -> String {
    match metric {
        MetricType::Proportion => format!("{}{:.2} pp", if x >= 0.0 { "+" } else { "" }, x * 100.0),
        _ => format!("{}{}", if x >= 0.0 { "+" } else { "" }, num(x)),
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
            signed_pct(c.relative.map_or(0.0, |l| l.estimate)),
            e.design.target_metric,
            confidence(e.design.alpha),
            signed_pct(r.interval.low),
            signed_pct(r.interval.high)
        ),
        None => format!(
            "{} {} (always-valid interval {} to {})",
            abs_diff(e.design.metric_type, c.absolute.estimate),
            e.design.target_metric,
            abs_diff(e.design.metric_type, c.sequential.interval.low),
            abs_diff(e.design.metric_type, c.sequential.interval.high)
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
            r.units_seen,
            r.planned_units,
            unit_name(e)
        ),
        Verdict::Inconclusive => format!(
            "Inconclusive: the planned sample is spent and no variant differs from the control by a clear margin (worth shipping: {worth})."
        ),
    };
    format!("{s}{observational}")
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
    let baseline = match d.metric_type {
        MetricType::Mean => format!(
            "{} (sd {})",
            num(d.baseline),
            d.baseline_sd.map(num).unwrap_or_default()
        ),
        m => value(m, d.baseline),
    };
    let _ = writeln!(
        s,
        "Plan: baseline {baseline}, minimum detectable effect {}, alpha {}, power {}; worth shipping: {}",
        signed_pct(d.mde),
        d.alpha,
        d.power,
        signed_pct(d.min_effect)
    );
    let unit = unit_name(e);
    let per_arm: Vec<String> = d.planned_per_arm.iter().map(|n| n.to_string()).collect();
    let _ = write!(
        s,
        "Sample size: {} {unit} ({} per arm)",
        d.planned_units,
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
            r.planned_units
        )
    } else {
        String::new()
    };
    let unit = if d.kind == Kind::Content {
        "posts"
    } else {
        "units"
    };
    let _ = writeln!(s, "Seen: {} {unit}{progress}", r.units_seen);
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
                    value(d.metric_type, iv.low),
                    value(d.metric_type, iv.high)
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
            arm.units,
            value(d.metric_type, arm.value)
        );
    }
    for c in &a.comparisons {
        let _ = writeln!(s);
        let _ = writeln!(s, "{} vs control:", variant_name(e, c.arm));
        if let (Some(rel), Some(seq)) = (c.relative, c.sequential_relative) {
            let _ = writeln!(
                s,
                "  lift            {}  (always-valid {conf}: {} to {})",
                signed_pct(rel.estimate),
                signed_pct(seq.interval.low),
                signed_pct(seq.interval.high)
            );
        }
        let _ = writeln!(
            s,
            "  difference      {}  (always-valid {conf}: {} to {})",
            abs_diff(d.metric_type, c.absolute.estimate),
            abs_diff(d.metric_type, c.sequential.interval.low),
            abs_diff(d.metric_type, c.sequential.interval.high)
        );
        let _ = writeln!(
            s,
            "  sequential      p = {:.4}, {}  (valid however often it is checked; decisions use this)",
            c.sequential.p_value,
            match c.outcome {
                crate::stats::analysis::Outcome::Better => "better than control",
                crate::stats::analysis::Outcome::Worse => "worse than control",
                crate::stats::analysis::Outcome::Futile => "too small to matter",
                crate::stats::analysis::Outcome::Undecided => "undecided",
            }
        );
        if let Some(p) = c.fixed_p_value {
            let _ = writeln!(s, "  fixed-horizon   p = {p:.4}  (for information only: not valid when checked repeatedly)");
        }
        if let Some(b) = c.bayes {
            let chance = match b.chance_to_win * 100.0 {
                c if c > 99.9 => ">99.9%".to_string(),
                c if c < 0.1 => "<0.1%".to_string(),
                c => format!("{c:.1}%"),
            };
            let _ = writeln!(
                s,
                "  Bayesian        {chance} chance to beat control; expected relative loss if shipped {:.2}%",
                b.risk_treatment * 100.0
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
                "Sample ratio: {} (chi-square p = {:.4})",
                if srm.mismatch() {
                    "MISMATCH: units were not split as planned"
                } else {
                    "as planned"
                },
                srm.p_value
            );
        }
        (None, false) => {}
    }
    if let Some((arm, name)) = a.guardrail_harm.first() {
        let _ = writeln!(s, "Guardrail: {} hurts {name}", variant_name(e, *arm));
    }
    let _ = writeln!(s, "Verdict: {}", verdict_sentence(e, r));
    s
}

/// The design, status and audit trail.
pub fn show_text(e: &StoredExperiment, events: &[ExperimentEvent]) -> String {
    let mut s = design_text(e);
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
