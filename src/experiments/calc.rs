//! `vibe abtest calc` and `plan`: quick answers for results measured elsewhere and for sizing a
//! test before creating it. With no plan there is nothing sequential: `calc` is the plain
//! fixed-horizon two-sided analysis.

use std::fmt::Write;

use serde::Serialize;

use super::design::{plan_sizes, MetricType, PlanError};
use super::render::{abs_diff, value, Unit};
use crate::format::{number as num, p_value, signed_percent as signed_pct};
use crate::stats::dist::{norm_isf, t_ppf};
use crate::stats::hypothesis::{poisson_rate_score, two_proportion_z, welch};
use crate::stats::intervals::{
    lift, mean_log_ratio, newcombe, proportion_log_ratio, rate_log_ratio, wilson,
};
use crate::stats::multiple::{adjust, Correction};
use crate::stats::power::{mde_means, mde_proportions};
use crate::stats::{
    Alpha, Alternative, Interval, MeanStats, Power, Proportion, RateStats, StatsError,
};

/// An arm typed on the command line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CalcArm {
    Proportion(Proportion),
    Mean(MeanStats),
    Rate(RateStats),
}

/// An arm that doesn't read, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{arm:?}: {why}; write conversions/units (200/2000), mean:sd:n (15.2:4.1:1300) or events@exposure (60@120)")]
pub struct ArmError {
    pub arm: String,
    pub why: String,
}

/// Parses `200/2000` (conversions/units), `mean:sd:n`, or `events@exposure`.
pub fn parse_arm(s: &str) -> Result<CalcArm, ArmError> {
    let s = s.trim();
    let bad = |why: &str| ArmError {
        arm: s.to_string(),
        why: why.to_string(),
    };
    // Bounded like counts everywhere else, so no arithmetic downstream overflows.
    let int = |x: &str| {
        x.trim()
            .parse::<u64>()
            .ok()
            .filter(|v| *v <= crate::domain::MAX_COUNT)
            .ok_or_else(|| bad("not a whole number up to 1,000,000,000,000"))
    };
    let float = |x: &str| {
        x.trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && v.abs() <= 1e12)
            .ok_or_else(|| bad("not a number up to 1,000,000,000,000 in size"))
    };
    if let Some((c, n)) = s.split_once('/') {
        return Proportion::new(int(c)?, int(n)?)
            .map(CalcArm::Proportion)
            .map_err(|e| bad(&e.to_string()));
    }
    if let Some((e, t)) = s.split_once('@') {
        let exposure = float(t)?;
        if exposure < 1e-6 {
            return Err(bad("the exposure must be at least 0.000001"));
        }
        return RateStats::new(int(e)?, exposure)
            .map(CalcArm::Rate)
            .map_err(|e| bad(&e.to_string()));
    }
    let parts: Vec<&str> = s.split(':').collect();
    if let [m, sd, n] = parts[..] {
        return MeanStats::from_mean_sd(float(m)?, float(sd)?, int(n)?)
            .map(CalcArm::Mean)
            .map_err(|e| bad(&e.to_string()));
    }
    Err(bad("not an arm"))
}

#[derive(Debug, Clone, Serialize)]
pub struct CalcArmSummary {
    pub label: String,
    pub units: f64,
    pub value: f64,
    pub interval: Option<Interval>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CalcComparison {
    pub arm: usize,
    pub test: &'static str,
    pub statistic: f64,
    pub p_value: f64,
    /// Holm-adjusted across the comparisons when there are several.
    pub p_value_adjusted: Option<f64>,
    pub difference: f64,
    pub difference_interval: Interval,
    pub relative_lift: Option<f64>,
    pub relative_interval: Option<Interval>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CalcResult {
    pub metric: MetricType,
    pub alpha: f64,
    pub arms: Vec<CalcArmSummary>,
    pub comparisons: Vec<CalcComparison>,
    /// The p-value of the only comparison, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p_value: Option<f64>,
}

fn metric_of(a: &CalcArm) -> MetricType {
    match a {
        CalcArm::Proportion(_) => MetricType::Proportion,
        CalcArm::Mean(_) => MetricType::Mean,
        CalcArm::Rate(_) => MetricType::Rate,
    }
}

/// The fixed-horizon two-sided analysis of each arm against the first.
pub fn calc(arms: &[CalcArm], alpha: Alpha) -> Result<CalcResult, StatsError> {
    if !(2..=5).contains(&arms.len()) {
        return Err(StatsError::Arms(arms.len()));
    }
    let metric = metric_of(&arms[0]);
    if arms.iter().any(|a| metric_of(a) != metric) {
        return Err(StatsError::Invalid(
            "all arms must be of one kind: conversions/units, mean:sd:n or events@exposure".into(),
        ));
    }
    let two = Alternative::TwoSided;
    let z = norm_isf(alpha.get() / 2.0);
    let mut summaries = Vec::new();
    for (i, a) in arms.iter().enumerate() {
        let label = if i == 0 {
            "control".to_string()
        } else {
            format!("variant {i}")
        };
        summaries.push(match a {
            CalcArm::Proportion(p) => CalcArmSummary {
                label,
                units: p.units as f64,
                value: p.rate()?,
                interval: Some(wilson(*p, alpha)?),
            },
            CalcArm::Mean(m) => {
                let half = t_ppf(1.0 - alpha.get() / 2.0, m.n as f64 - 1.0)
                    * (m.variance()? / m.n as f64).sqrt();
                CalcArmSummary {
                    label,
                    units: m.n as f64,
                    value: m.mean()?,
                    interval: Some(Interval::around(m.mean()?, half)),
                }
            }
            CalcArm::Rate(r) => {
                let half = z * (r.rate() / r.exposure).sqrt();
                CalcArmSummary {
                    label,
                    units: r.exposure,
                    value: r.rate(),
                    interval: Some(Interval::around(r.rate(), half)),
                }
            }
        });
    }
    let mut comparisons = Vec::new();
    for (i, b) in arms.iter().enumerate().skip(1) {
        let c = match (&arms[0], b) {
            (CalcArm::Proportion(a), CalcArm::Proportion(b)) => {
                let t = two_proportion_z(*a, *b, two)?;
                let log = proportion_log_ratio(*a, *b).ok();
                let (pa, pb) = (a.rate()?, b.rate()?);
                CalcComparison {
                    arm: i,
                    test: "two-proportion z-test (pooled)",
                    statistic: t.statistic,
                    p_value: t.p_value,
                    p_value_adjusted: None,
                    difference: pb - pa,
                    difference_interval: newcombe(*a, *b, alpha)?,
                    relative_lift: (a.conversions > 0).then(|| {
                        (b.rate().unwrap_or(0.0) - a.rate().unwrap_or(0.0))
                            / a.rate().unwrap_or(1.0)
                    }),
                    relative_interval: log.and_then(|l| l.interval(alpha).ok()),
                }
            }
            (CalcArm::Mean(a), CalcArm::Mean(b)) => {
                let w = welch(*a, *b, two)?;
                let rel = lift(a, b, false, true).ok();
                let half = t_ppf(1.0 - alpha.get() / 2.0, w.df) * w.std_error;
                CalcComparison {
                    arm: i,
                    test: "Welch's t-test",
                    statistic: w.t,
                    p_value: w.p_value,
                    p_value_adjusted: None,
                    difference: w.difference,
                    difference_interval: Interval::around(w.difference, half),
                    // On the log scale for positive means; a mean that can be zero or
                    // negative has no ratio, and keeps the delta method's interval.
                    relative_lift: rel.map(|l| l.estimate),
                    relative_interval: match mean_log_ratio(a, b) {
                        Ok(l) => l.interval(alpha).ok(),
                        Err(_) => rel.and_then(|l| l.interval(alpha).ok()),
                    },
                }
            }
            (CalcArm::Rate(a), CalcArm::Rate(b)) => {
                let t = poisson_rate_score(*a, *b, two)?;
                let d = b.rate() - a.rate();
                let se = (a.rate() / a.exposure + b.rate() / b.exposure).sqrt();
                let rel = (a.rate() > 0.0).then(|| d / a.rate());
                let rel_iv = rate_log_ratio(*a, *b).and_then(|l| l.interval(alpha)).ok();
                CalcComparison {
                    arm: i,
                    test: "Poisson rate score test",
                    statistic: t.statistic,
                    p_value: t.p_value,
                    p_value_adjusted: None,
                    difference: d,
                    difference_interval: Interval::around(d, z * se),
                    relative_lift: rel,
                    relative_interval: rel_iv,
                }
            }
            _ => unreachable!("arms were checked to be of one kind"),
        };
        comparisons.push(c);
    }
    if comparisons.len() > 1 {
        let p: Vec<f64> = comparisons.iter().map(|c| c.p_value).collect();
        for (c, adj) in comparisons.iter_mut().zip(adjust(&p, Correction::Holm)?) {
            c.p_value_adjusted = Some(adj);
        }
    }
    let p_value = (comparisons.len() == 1).then(|| comparisons[0].p_value);
    Ok(CalcResult {
        metric,
        alpha: alpha.get(),
        arms: summaries,
        comparisons,
        p_value,
    })
}

/// What the intervals and p-values of several comparisons account for.
pub fn multiplicity_note(r: &CalcResult) -> String {
    format!(
        "Intervals and p-values are per comparison, at {} each; the Holm-adjusted p-value accounts for the {} comparisons.",
        super::render::confidence(r.alpha),
        r.comparisons.len()
    )
}

pub fn calc_text(r: &CalcResult) -> String {
    let mut s = String::new();
    let unit = Unit::of_metric(r.metric);
    let fmt = |x: f64| value(unit, x);
    let conf = super::render::confidence(r.alpha);
    let _ = writeln!(
        s,
        "{:<10} {:>12} {:>12}   {conf} interval",
        "arm", "units", "value"
    );
    for a in &r.arms {
        let iv = a
            .interval
            .map(|i| format!("{} to {}", fmt(i.low), fmt(i.high)))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "{:<10} {:>12} {:>12}   {iv}",
            a.label,
            num(a.units),
            fmt(a.value)
        );
    }
    for c in &r.comparisons {
        let _ = writeln!(s);
        let _ = writeln!(s, "variant {} vs control ({}):", c.arm, c.test);
        let diff = |x: f64| abs_diff(unit, x);
        let _ = writeln!(
            s,
            "  difference  {}  ({conf}: {} to {})",
            diff(c.difference),
            diff(c.difference_interval.low),
            diff(c.difference_interval.high)
        );
        if let (Some(l), Some(iv)) = (c.relative_lift, c.relative_interval) {
            let _ = writeln!(
                s,
                "  lift        {}  ({conf}: {} to {})",
                signed_pct(l),
                signed_pct(iv.low),
                signed_pct(iv.high)
            );
        }
        let _ = write!(
            s,
            "  p-value     {}  (statistic {:.3})",
            p_value(c.p_value),
            c.statistic
        );
        if let Some(adj) = c.p_value_adjusted {
            let _ = write!(s, "; Holm-adjusted {}", p_value(adj));
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(
        s,
        "\nFixed-horizon analysis: valid for one look at a sample fixed in advance."
    );
    if r.comparisons.len() > 1 {
        let _ = writeln!(s, "{}", multiplicity_note(r));
    }
    s
}

/// A test's size before it exists: per arm, total, days; or the MDE for a given size.
#[derive(Debug, Clone, Serialize)]
pub struct PlanResult {
    pub metric: MetricType,
    pub arms: usize,
    pub per_arm: Vec<u64>,
    pub total: u64,
    pub days: Option<u32>,
    /// Relative MDE when sizes were given instead of an MDE.
    pub mde: f64,
}

#[allow(clippy::too_many_arguments)]
pub fn plan(
    metric: MetricType,
    baseline: f64,
    baseline_sd: Option<f64>,
    mde: Option<f64>,
    units_per_arm: Option<u64>,
    alpha: f64,
    power: f64,
    arms: usize,
    daily_traffic: Option<f64>,
) -> Result<PlanResult, PlanError> {
    if !(2..=5).contains(&arms) {
        return Err(PlanError::Arms(arms));
    }
    let weights = vec![1.0; arms];
    let a = Alpha::new(alpha)?;
    let p = Power::new(power)?;
    let (per_arm, mde) = match (mde, units_per_arm) {
        (Some(m), None) => (
            plan_sizes(metric, baseline, baseline_sd, m, alpha, power, &weights)?,
            m,
        ),
        (None, Some(n)) => {
            if n == 0 || n > super::design::MAX_PLANNED_UNITS {
                return Err(PlanError::Units);
            }
            let ai = a.split(arms - 1);
            let m = match metric {
                MetricType::Proportion => {
                    mde_proportions(baseline, n as f64, ai, p, 1.0, Alternative::TwoSided)?
                        / baseline
                }
                MetricType::Mean => {
                    let sd = baseline_sd.ok_or(PlanError::NoSd)?;
                    mde_means(n as f64, ai, p, 1.0, Alternative::TwoSided)? * sd / baseline
                }
                MetricType::Rate => {
                    // Invert the Wald formula: solve t = z²(λ(1+m) + λ)/(λm)² for m.
                    let z = norm_isf(ai.get() / 2.0) + norm_isf(1.0 - power);
                    let k = z * z / (baseline * n as f64);
                    (k + (k * k + 8.0 * k).sqrt()) / 2.0
                }
            };
            (vec![n; arms], m)
        }
        _ => return Err(PlanError::MdeOrUnits),
    };
    let total = per_arm.iter().sum();
    let days = match daily_traffic {
        Some(t) if !(t.is_finite() && (0.01..=1e12).contains(&t)) => {
            return Err(PlanError::Traffic)
        }
        Some(t) => Some(super::design::planned_days(total, t)?),
        None => None,
    };
    Ok(PlanResult {
        metric,
        arms,
        per_arm,
        total,
        days,
        mde,
    })
}

pub fn plan_text(p: &PlanResult) -> String {
    let mut s = format!(
        "{} per arm × {} arms = {} in all to detect a {} relative change",
        p.per_arm.first().copied().unwrap_or(0),
        p.arms,
        p.total,
        signed_pct(p.mde)
    );
    if let Some(d) = p.days {
        let _ = write!(
            s,
            "; about {d} day{} at the expected traffic",
            if d == 1 { "" } else { "s" }
        );
    }
    s.push_str(".\n");
    s
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn arms_parse() {
        assert_eq!(
            parse_arm("200/2000").unwrap(),
            CalcArm::Proportion(Proportion::new(200, 2000).unwrap())
        );
        assert!(matches!(parse_arm("60@120").unwrap(), CalcArm::Rate(_)));
        assert!(matches!(parse_arm("15:3:40").unwrap(), CalcArm::Mean(_)));
        for bad in [
            "300/200",
            "a/b",
            "1:2",
            "5@0",
            "",
            "12",
            // Beyond what any test holds: refused rather than printed as inf or NaN.
            "60@1e-320",
            "1@1e-10",
            "60@1e308",
            "9223372036854775807/9223372036854775807",
            "1e300:1:10",
        ] {
            assert!(parse_arm(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn calc_reference_proportions() {
        let arms = [
            parse_arm("200/2000").unwrap(),
            parse_arm("250/2000").unwrap(),
        ];
        let r = calc(&arms, Alpha::new(0.05).unwrap()).unwrap();
        assert!((r.p_value.unwrap() - 0.012351).abs() < 1e-6);
        let iv = r.comparisons[0].difference_interval;
        assert!((iv.low - 0.005410).abs() < 1e-6 && (iv.high - 0.044624).abs() < 1e-6);
    }

    /// The difference and the lift of each comparison are at one level and agree about zero,
    /// and a lift interval never passes −100%.
    #[test]
    fn difference_and_lift_intervals_agree() {
        for arms in [
            vec!["200/2000", "250/2000", "240/2000"],
            vec!["50/400", "3/400"],
            vec!["50/400", "0/400"],
            vec!["0.05:0.02:8", "0.03:0.015:9"],
            vec!["15.2:4.1:1300", "16.0:4.4:1280"],
            vec!["60@120", "30@100", "2@100"],
        ] {
            let parsed: Vec<CalcArm> = arms.iter().map(|a| parse_arm(a).unwrap()).collect();
            let r = calc(&parsed, Alpha::new(0.05).unwrap()).unwrap();
            for c in &r.comparisons {
                let d = c.difference_interval;
                let l = c.relative_interval.unwrap();
                // Never past −100%; at it only when the variant converted no one.
                assert!(l.low >= -1.0, "{arms:?}: {l:?}");
                assert_eq!(
                    l.low == -1.0,
                    arms[c.arm].starts_with("0/"),
                    "{arms:?}: {l:?}"
                );
                assert!(l.low <= c.relative_lift.unwrap() && c.relative_lift.unwrap() <= l.high);
                assert_eq!(
                    d.low > 0.0,
                    l.low > 0.0,
                    "{arms:?} arm {}: {d:?} {l:?}",
                    c.arm
                );
                assert_eq!(
                    d.high < 0.0,
                    l.high < 0.0,
                    "{arms:?} arm {}: {d:?} {l:?}",
                    c.arm
                );
            }
        }
        // The example of the issue: variant 2 is significant, and its lift says so.
        let arms: Vec<CalcArm> = ["200/2000", "250/2000", "240/2000"]
            .iter()
            .map(|a| parse_arm(a).unwrap())
            .collect();
        let r = calc(&arms, Alpha::new(0.05).unwrap()).unwrap();
        let v2 = &r.comparisons[1];
        assert!(v2.p_value < 0.05);
        let l = v2.relative_interval.unwrap();
        assert!((l.low - 0.0052139185410878).abs() < 1e-9, "{l:?}");
        assert!((l.high - 0.4325309005768012).abs() < 1e-9, "{l:?}");
        let text = calc_text(&r);
        assert!(
            text.contains("lift        +20.0%  (95%: +0.5% to +43.3%)"),
            "{text}"
        );
        assert!(
            text.contains("Holm-adjusted p-value accounts for the 2 comparisons"),
            "{text}"
        );
    }

    #[test]
    fn calc_refuses_mixed_or_too_many_arms() {
        let a = parse_arm("1/10").unwrap();
        let m = parse_arm("1:1:10").unwrap();
        assert!(calc(&[a, m], Alpha::new(0.05).unwrap()).is_err());
        assert!(calc(&[a], Alpha::new(0.05).unwrap()).is_err());
        assert!(calc(&[a; 6], Alpha::new(0.05).unwrap()).is_err());
    }

    #[test]
    fn plan_both_ways() {
        let p = plan(
            MetricType::Proportion,
            0.1,
            None,
            Some(0.2),
            None,
            0.05,
            0.8,
            2,
            Some(1000.0),
        )
        .unwrap();
        assert_eq!(p.per_arm, vec![3841, 3841]);
        assert_eq!(p.days, Some(8));
        let back = plan(
            MetricType::Proportion,
            0.1,
            None,
            None,
            Some(3841),
            0.05,
            0.8,
            2,
            None,
        )
        .unwrap();
        assert!((back.mde - 0.2).abs() < 1e-3, "{}", back.mde);
        let r = plan(
            MetricType::Rate,
            2.0,
            None,
            Some(0.1),
            None,
            0.05,
            0.8,
            2,
            None,
        )
        .unwrap();
        let back = plan(
            MetricType::Rate,
            2.0,
            None,
            None,
            Some(r.per_arm[0]),
            0.05,
            0.8,
            2,
            None,
        )
        .unwrap();
        assert!((back.mde - 0.1).abs() < 1e-3, "{}", back.mde);
        assert!(plan(
            MetricType::Mean,
            1.0,
            None,
            Some(0.1),
            None,
            0.05,
            0.8,
            2,
            None
        )
        .is_err());
    }
}
