//! One look at an experiment: every variant against the control, the decision from the
//! confidence sequence, and the verdict in words a marketer can act on.
//!
//! The decision rule: with k arms, alpha is split across the k − 1 comparisons (Bonferroni)
//! inside the sequence. A variant wins when its sequence excludes zero on the good side, is
//! harmful when it excludes zero on the bad side, and is futile when its relative sequence lies
//! entirely inside ± the minimum effect worth shipping. Fixed-horizon p-values and intervals are
//! computed for information only.

use super::bayes::{bayes_view, BayesView};
use super::dist::t_ppf;
use super::hypothesis::{poisson_rate_score, two_proportion_z, welch};
use super::intervals::{
    lift, mean_log_ratio, proportion_log_ratio, rate_log_ratio, wilson, Lift, LogRatio,
};
use super::sequential::{ConfidenceSequence, SequentialLook};
use super::srm::{srm, SrmCheck};
use super::{
    positive, Alpha, Alternative, Interval, MeanStats, Proportion, RateStats, Result, StatsError,
};

/// How the metric is measured, which fixes the test (never chosen from the data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    /// Conversions per unit: two-proportion z-test.
    Proportion,
    /// A continuous value per unit (or counts per unit): Welch's t-test.
    Mean,
    /// Events per unit of exposure: Poisson rate score test.
    Rate,
}

/// One arm's data at a look.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ArmData {
    Proportion(Proportion),
    Mean(MeanStats),
    Rate(RateStats),
}

impl ArmData {
    fn size(&self) -> f64 {
        match self {
            ArmData::Proportion(p) => p.units as f64,
            ArmData::Mean(m) => m.n as f64,
            ArmData::Rate(r) => r.exposure,
        }
    }

    fn units(&self) -> u64 {
        match self {
            ArmData::Proportion(p) => p.units,
            ArmData::Mean(m) => m.n,
            ArmData::Rate(r) => r.exposure.round() as u64,
        }
    }
}

/// What the analysis needs to know of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub metric: MetricKind,
    pub alpha: Alpha,
    /// N*: the planned total sample (units, or exposure for rates) over all arms.
    pub planned_total: f64,
    /// Planned share of each arm, control first.
    pub weights: Vec<f64>,
    /// Units split at random (SRM applies) rather than an observational content test.
    pub randomized: bool,
    pub higher_is_better: bool,
    /// The smallest relative lift worth shipping, e.g. 0.05 for 5%.
    pub min_effect: f64,
}

/// A guardrail metric: shipping must not make it significantly worse.
#[derive(Debug, Clone, PartialEq)]
pub struct Guardrail {
    pub name: String,
    pub metric: MetricKind,
    pub higher_is_better: bool,
    pub arms: Vec<ArmData>,
}

/// A rate or mean of one arm with its interval.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ArmSummary {
    pub units: u64,
    pub value: f64,
    pub interval: Option<Interval>,
}

impl Comparison {
    /// The relative lift shown, `(b − a)/|a|` as observed (a variant with no conversions is
    /// −100%), else from the log ratio.
    pub fn lift(&self) -> Option<f64> {
        self.relative
            .map(|r| r.estimate)
            .or(self.log_ratio.map(|l| l.lift()))
    }
}

/// One variant against the control.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Comparison {
    /// Index of the variant (1-based among arms; 0 is the control).
    pub arm: usize,
    pub absolute: Lift,
    /// The relative lift by the delta method on the ratio, as GrowthBook computes it: the
    /// Bayesian view's posterior. Intervals of the lift come from `log_ratio`.
    pub relative: Option<Lift>,
    /// The log of the ratio variant / control, on which lift intervals are built; absent when
    /// a mean is zero or negative (those lifts keep the delta method's interval).
    pub log_ratio: Option<LogRatio>,
    /// Always-valid interval of the absolute difference, at the split alpha.
    pub sequential: SequentialLook,
    /// Always-valid interval of the relative lift: the sequence's width on the log ratio,
    /// mapped back, so it never passes −100%.
    pub sequential_relative: Option<SequentialLook>,
    /// Fixed-horizon two-sided p-value, for information only.
    pub fixed_p_value: Option<f64>,
    /// Fixed-horizon interval of the relative lift (log scale), for information only.
    pub fixed_relative_interval: Option<Interval>,
    pub bayes: Option<BayesView>,
    pub outcome: Outcome,
}

/// What the sequence says about one variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Better,
    Worse,
    /// Its effect is surely smaller than the minimum worth shipping.
    Futile,
    Undecided,
}

/// The verdict of a look.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Verdict {
    /// Ship this variant. `practical` says whether even the low end of its lift clears the
    /// minimum effect worth shipping.
    Ship {
        arm: usize,
        practical: bool,
    },
    /// Stop: a variant hurts the primary metric or a guardrail.
    StopHarm {
        arm: usize,
        metric: String,
    },
    /// Stop: no variant can reach the minimum effect worth shipping.
    StopFutility,
    /// Units were not split as planned: the results can't be trusted.
    SampleRatioMismatch,
    KeepRunning,
    /// The planned sample or duration is spent without a decision.
    Inconclusive,
}

/// A guardrail of one variant against the control: both values, the change and its
/// always-valid interval.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GuardrailLook {
    pub name: String,
    pub arm: usize,
    pub metric: MetricKind,
    pub higher_is_better: bool,
    pub control: f64,
    pub variant: f64,
    /// Variant minus control, with its always-valid interval at the split alpha.
    pub change: SequentialLook,
    pub harmed: bool,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Analysis {
    pub arms: Vec<ArmSummary>,
    pub comparisons: Vec<Comparison>,
    pub alpha_per_comparison: Alpha,
    pub srm: Option<SrmCheck>,
    pub guardrail_harm: Vec<(usize, String)>,
    /// Every guardrail of every variant, harmed or not.
    pub guardrails: Vec<GuardrailLook>,
    pub verdict: Verdict,
}

fn as_mean(d: &ArmData) -> Option<(MeanStats, bool)> {
    match d {
        ArmData::Proportion(p) => Some((p.as_mean(), true)),
        ArmData::Mean(m) => Some((*m, false)),
        ArmData::Rate(_) => None,
    }
}

fn check_arms(metric: MetricKind, arms: &[ArmData]) -> Result<()> {
    if !(2..=5).contains(&arms.len()) {
        return Err(StatsError::Arms(arms.len()));
    }
    for a in arms {
        let ok = matches!(
            (metric, a),
            (MetricKind::Proportion, ArmData::Proportion(_))
                | (MetricKind::Mean, ArmData::Mean(_))
                | (MetricKind::Rate, ArmData::Rate(_))
        );
        if !ok {
            return Err(StatsError::Invalid(format!(
                "arm data {a:?} doesn't match the {metric:?} metric"
            )));
        }
    }
    Ok(())
}

/// The difference of rates with its Poisson standard error.
fn rate_lift(a: &RateStats, b: &RateStats, relative: bool) -> Result<Lift> {
    let (ra, rb) = (a.rate(), b.rate());
    let (va, vb) = (ra / a.exposure, rb / b.exposure);
    if va + vb <= 0.0 {
        return Err(StatsError::NoEvents);
    }
    let (estimate, se2) = if relative {
        if ra == 0.0 {
            return Err(StatsError::ZeroBaseline);
        }
        ((rb - ra) / ra, vb / (ra * ra) + va * rb * rb / ra.powi(4))
    } else {
        (rb - ra, va + vb)
    };
    Ok(Lift {
        estimate,
        std_error: se2.sqrt(),
        df: f64::INFINITY,
    })
}

fn lifts(a: &ArmData, b: &ArmData) -> Result<(Lift, Option<Lift>)> {
    match (a, b) {
        (ArmData::Rate(x), ArmData::Rate(y)) => {
            Ok((rate_lift(x, y, false)?, rate_lift(x, y, true).ok()))
        }
        _ => {
            let (Some((x, prop)), Some((y, _))) = (as_mean(a), as_mean(b)) else {
                return Err(StatsError::Invalid("arms of different kinds".into()));
            };
            Ok((lift(&x, &y, prop, false)?, lift(&x, &y, prop, true).ok()))
        }
    }
}

/// The log ratio of the variant to the control, where the metric has one.
fn log_ratio(a: &ArmData, b: &ArmData) -> Option<LogRatio> {
    match (a, b) {
        (ArmData::Proportion(x), ArmData::Proportion(y)) => proportion_log_ratio(*x, *y).ok(),
        (ArmData::Mean(x), ArmData::Mean(y)) => mean_log_ratio(x, y).ok(),
        (ArmData::Rate(x), ArmData::Rate(y)) => rate_log_ratio(*x, *y).ok(),
        _ => None,
    }
}

/// A look of the sequence on the log ratio, mapped back to a lift.
fn lift_look(cs: &ConfidenceSequence, l: &LogRatio, n: f64) -> Result<SequentialLook> {
    let look = cs.look(l.log_ratio, l.std_error, n)?;
    Ok(SequentialLook {
        interval: l.lift_of(look.interval),
        p_value: look.p_value,
    })
}

fn fixed_p(a: &ArmData, b: &ArmData) -> Option<f64> {
    let two = Alternative::TwoSided;
    match (a, b) {
        (ArmData::Proportion(x), ArmData::Proportion(y)) => {
            two_proportion_z(*x, *y, two).ok().map(|r| r.p_value)
        }
        (ArmData::Mean(x), ArmData::Mean(y)) => welch(*x, *y, two).ok().map(|r| r.p_value),
        (ArmData::Rate(x), ArmData::Rate(y)) => {
            poisson_rate_score(*x, *y, two).ok().map(|r| r.p_value)
        }
        _ => None,
    }
}

fn summarise(d: &ArmData, alpha: Alpha) -> ArmSummary {
    match d {
        ArmData::Proportion(p) => ArmSummary {
            units: p.units,
            value: p.rate().unwrap_or(0.0),
            interval: wilson(*p, alpha).ok(),
        },
        ArmData::Mean(m) => {
            let value = m.mean().unwrap_or(0.0);
            let interval = m.variance().ok().map(|v| {
                let half =
                    t_ppf(1.0 - alpha.get() / 2.0, m.n as f64 - 1.0) * (v / m.n as f64).sqrt();
                Interval::around(value, half)
            });
            ArmSummary {
                units: m.n,
                value,
                interval,
            }
        }
        ArmData::Rate(r) => ArmSummary {
            units: r.exposure.round() as u64,
            value: r.rate(),
            interval: None,
        },
    }
}

/// Sign that turns "better" into "positive".
fn good(higher_is_better: bool) -> f64 {
    if higher_is_better {
        1.0
    } else {
        -1.0
    }
}

/// Which side of zero the sequence lies on, in the metric's good direction.
fn side(look: &SequentialLook, higher_is_better: bool) -> Outcome {
    let s = good(higher_is_better);
    let (lo, hi) = (look.interval.low * s, look.interval.high * s);
    let (lo, hi) = (lo.min(hi), lo.max(hi));
    if lo > 0.0 {
        Outcome::Better
    } else if hi < 0.0 {
        Outcome::Worse
    } else {
        Outcome::Undecided
    }
}

/// Analyses one look. `budget_spent` is true once the planned sample or duration is reached.
pub fn analyse(
    plan: &Plan,
    arms: &[ArmData],
    guardrails: &[Guardrail],
    budget_spent: bool,
) -> Result<Analysis> {
    check_arms(plan.metric, arms)?;
    positive("planned sample size", plan.planned_total)?;
    if plan.weights.len() != arms.len() {
        return Err(StatsError::Invalid(format!(
            "{} planned weights for {} arms",
            plan.weights.len(),
            arms.len()
        )));
    }
    if !(plan.min_effect.is_finite() && plan.min_effect >= 0.0) {
        return Err(StatsError::Invalid(
            "the minimum effect worth shipping can't be negative".into(),
        ));
    }
    let comparisons_n = arms.len() - 1;
    let alpha_i = plan.alpha.split(comparisons_n);
    let cs = ConfidenceSequence::new(alpha_i, plan.planned_total)?;
    let summaries: Vec<ArmSummary> = arms.iter().map(|a| summarise(a, plan.alpha)).collect();

    let srm_check = if plan.randomized {
        let units: Vec<u64> = arms.iter().map(ArmData::units).collect();
        srm(&units, &plan.weights).ok()
    } else {
        None
    };

    let mut comparisons = Vec::with_capacity(comparisons_n);
    for (i, arm) in arms.iter().enumerate().skip(1) {
        let control = &arms[0];
        let n = control.size() + arm.size();
        let (absolute, relative) = match lifts(control, arm) {
            Ok(l) => l,
            // Nothing to compare yet (no variation, no events): not a decision.
            Err(
                StatsError::NoVariation | StatsError::NoEvents | StatsError::TooFewUnits { .. },
            ) => continue,
            Err(e) => return Err(e),
        };
        let sequential = cs.look(absolute.estimate, absolute.std_error, n)?;
        let log_ratio = log_ratio(control, arm);
        let sequential_relative = match (&log_ratio, &relative) {
            (Some(l), _) if l.std_error > 0.0 => Some(lift_look(&cs, l, n)?),
            (None, Some(r)) if r.std_error > 0.0 => Some(cs.look(r.estimate, r.std_error, n)?),
            _ => None,
        };
        let mut outcome = side(&sequential, plan.higher_is_better);
        if outcome == Outcome::Undecided {
            if let Some(r) = &sequential_relative {
                if r.interval.low > -plan.min_effect && r.interval.high < plan.min_effect {
                    outcome = Outcome::Futile;
                }
            }
        }
        let bayes = if plan.metric == MetricKind::Rate {
            None
        } else {
            relative
                .as_ref()
                .and_then(|r| bayes_view(r.estimate, r.std_error, plan.higher_is_better).ok())
        };
        comparisons.push(Comparison {
            arm: i,
            fixed_p_value: fixed_p(control, arm),
            fixed_relative_interval: match &log_ratio {
                Some(l) => l.interval(plan.alpha).ok(),
                None => relative.as_ref().and_then(|r| {
                    if r.df.is_finite() {
                        r.interval(plan.alpha).ok()
                    } else {
                        Some(Interval::around(
                            r.estimate,
                            super::dist::norm_isf(plan.alpha.get() / 2.0) * r.std_error,
                        ))
                    }
                }),
            },
            absolute,
            relative,
            log_ratio,
            sequential,
            sequential_relative,
            bayes,
            outcome,
        });
    }

    let mut guardrail_harm = Vec::new();
    let mut guardrail_looks = Vec::new();
    for g in guardrails {
        check_arms(g.metric, &g.arms)?;
        if g.arms.len() != arms.len() {
            return Err(StatsError::Invalid(format!(
                "guardrail {} has a different number of arms",
                g.name
            )));
        }
        for (i, arm) in g.arms.iter().enumerate().skip(1) {
            let Ok((absolute, _)) = lifts(&g.arms[0], arm) else {
                continue;
            };
            let look = cs.look(
                absolute.estimate,
                absolute.std_error,
                g.arms[0].size() + arm.size(),
            )?;
            let harmed = side(&look, g.higher_is_better) == Outcome::Worse;
            if harmed {
                guardrail_harm.push((i, g.name.clone()));
            }
            guardrail_looks.push(GuardrailLook {
                name: g.name.clone(),
                arm: i,
                metric: g.metric,
                higher_is_better: g.higher_is_better,
                control: summarise(&g.arms[0], plan.alpha).value,
                variant: summarise(arm, plan.alpha).value,
                change: look,
                harmed,
            });
        }
    }

    let verdict = decide(
        plan,
        &comparisons,
        &guardrail_harm,
        srm_check.as_ref(),
        budget_spent,
    );
    Ok(Analysis {
        arms: summaries,
        comparisons,
        alpha_per_comparison: alpha_i,
        srm: srm_check,
        guardrail_harm,
        guardrails: guardrail_looks,
        verdict,
    })
}

fn decide(
    plan: &Plan,
    comparisons: &[Comparison],
    guardrail_harm: &[(usize, String)],
    srm_check: Option<&SrmCheck>,
    budget_spent: bool,
) -> Verdict {
    if srm_check.is_some_and(SrmCheck::mismatch) {
        return Verdict::SampleRatioMismatch;
    }
    let harmed = |arm: usize| guardrail_harm.iter().find(|(a, _)| *a == arm);
    let s = good(plan.higher_is_better);
    let best = comparisons
        .iter()
        .filter(|c| c.outcome == Outcome::Better && harmed(c.arm).is_none())
        .max_by(|x, y| (x.absolute.estimate * s).total_cmp(&(y.absolute.estimate * s)));
    if let Some(c) = best {
        let practical = c.sequential_relative.is_some_and(|r| {
            let low = if plan.higher_is_better {
                r.interval.low
            } else {
                -r.interval.high
            };
            low >= plan.min_effect
        });
        return Verdict::Ship {
            arm: c.arm,
            practical,
        };
    }
    if let Some(c) = comparisons.iter().find(|c| c.outcome == Outcome::Worse) {
        let all_done = comparisons.iter().all(|c| c.outcome != Outcome::Undecided);
        if all_done || comparisons.len() == 1 {
            return Verdict::StopHarm {
                arm: c.arm,
                metric: "the primary metric".into(),
            };
        }
    }
    if let Some((arm, name)) = guardrail_harm.first() {
        let others_undecided = comparisons
            .iter()
            .any(|c| c.arm != *arm && c.outcome == Outcome::Undecided);
        if !others_undecided {
            return Verdict::StopHarm {
                arm: *arm,
                metric: name.clone(),
            };
        }
    }
    if !comparisons.is_empty()
        && comparisons
            .iter()
            .all(|c| matches!(c.outcome, Outcome::Futile | Outcome::Worse))
    {
        return Verdict::StopFutility;
    }
    if budget_spent {
        Verdict::Inconclusive
    } else {
        Verdict::KeepRunning
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    fn plan(arms: usize) -> Plan {
        Plan {
            metric: MetricKind::Proportion,
            alpha: Alpha::new(0.05).unwrap(),
            planned_total: 40_000.0,
            weights: vec![1.0; arms],
            randomized: true,
            higher_is_better: true,
            min_effect: 0.05,
        }
    }

    fn p(c: u64, n: u64) -> ArmData {
        ArmData::Proportion(Proportion::new(c, n).unwrap())
    }

    /// A lift interval from the sequence is the sequence on the log ratio: never past −100%,
    /// and on the same side of zero as the difference's.
    #[test]
    fn sequential_lifts_stay_above_minus_100_percent() {
        for arms in [
            vec![p(60, 400), p(2, 400)],
            vec![p(60, 400), p(0, 400)],
            vec![p(2000, 20000), p(2600, 20000)],
            vec![p(200, 2000), p(150, 2000), p(260, 2000)],
        ] {
            let a = analyse(&plan(arms.len()), &arms, &[], false).unwrap();
            for c in &a.comparisons {
                let r = c.sequential_relative.unwrap();
                assert!(r.interval.low >= -1.0, "{arms:?}: {r:?}");
                let fixed = c.fixed_relative_interval.unwrap();
                assert!(fixed.low >= -1.0, "{arms:?}: {fixed:?}");
                assert!(c.lift().unwrap() >= r.interval.low, "{arms:?}: {r:?}");
                let d = c.sequential.interval;
                // With a handful of conversions the normal approximations of the two scales
                // part; the decision follows the difference.
                let few = arms
                    .iter()
                    .any(|a| matches!(a, ArmData::Proportion(x) if x.conversions < 10));
                if !few {
                    assert_eq!(d.low > 0.0, r.interval.low > 0.0, "{arms:?}: {d:?} {r:?}");
                    assert_eq!(d.high < 0.0, r.interval.high < 0.0, "{arms:?}: {d:?} {r:?}");
                }
            }
        }
    }

    #[test]
    fn guardrails_show_their_numbers() {
        let g = Guardrail {
            name: "hide rate".into(),
            metric: MetricKind::Proportion,
            higher_is_better: false,
            arms: vec![p(60, 20000), p(160, 20000)],
        };
        let a = analyse(&plan(2), &[p(2000, 20000), p(2600, 20000)], &[g], false).unwrap();
        let look = &a.guardrails[0];
        assert_eq!((look.arm, look.harmed), (1, true));
        assert!((look.control - 0.003).abs() < 1e-12 && (look.variant - 0.008).abs() < 1e-12);
        assert!(look.change.interval.low > 0.0, "{look:?}");
        assert_eq!(a.guardrail_harm, vec![(1, "hide rate".to_string())]);
    }

    #[test]
    fn verdicts() {
        let cases: Vec<(&str, Plan, Vec<ArmData>, bool, Verdict)> = vec![
            (
                "clear winner",
                plan(2),
                vec![p(2000, 20000), p(2600, 20000)],
                false,
                Verdict::Ship {
                    arm: 1,
                    practical: true,
                },
            ),
            (
                "clear loser",
                plan(2),
                vec![p(2600, 20000), p(2000, 20000)],
                false,
                Verdict::StopHarm {
                    arm: 1,
                    metric: "the primary metric".into(),
                },
            ),
            (
                "too early",
                plan(2),
                vec![p(10, 100), p(13, 100)],
                false,
                Verdict::KeepRunning,
            ),
            (
                "spent without a decision",
                plan(2),
                vec![p(10, 100), p(13, 100)],
                true,
                Verdict::Inconclusive,
            ),
            (
                "equal arms, huge sample",
                Plan {
                    planned_total: 4e6,
                    ..plan(2)
                },
                vec![p(200_000, 2_000_000), p(200_100, 2_000_000)],
                false,
                Verdict::StopFutility,
            ),
            (
                "lower is better",
                Plan {
                    higher_is_better: false,
                    ..plan(2)
                },
                vec![p(2600, 20000), p(2000, 20000)],
                false,
                Verdict::Ship {
                    arm: 1,
                    practical: true,
                },
            ),
            (
                "best of three",
                plan(3),
                vec![p(2000, 20000), p(2300, 20000), p(2700, 20000)],
                false,
                Verdict::Ship {
                    arm: 2,
                    practical: true,
                },
            ),
            (
                "split went wrong",
                plan(2),
                vec![p(2000, 20000), p(2000, 23000)],
                false,
                Verdict::SampleRatioMismatch,
            ),
        ];
        for (name, plan, arms, spent, want) in cases {
            let a = analyse(&plan, &arms, &[], spent).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(a.verdict, want, "{name}: {:#?}", a.comparisons);
        }
    }

    #[test]
    fn a_small_significant_lift_is_not_practical() {
        let a = analyse(
            &Plan {
                planned_total: 4e6,
                min_effect: 0.05,
                ..plan(2)
            },
            &[p(200_000, 2_000_000), p(203_000, 2_000_000)],
            &[],
            false,
        )
        .unwrap();
        assert_eq!(
            a.verdict,
            Verdict::Ship {
                arm: 1,
                practical: false
            }
        );
    }

    #[test]
    fn guardrail_harm_blocks_shipping() {
        let g = Guardrail {
            name: "unsubscribes".into(),
            metric: MetricKind::Proportion,
            higher_is_better: false,
            arms: vec![p(100, 20000), p(300, 20000)],
        };
        let a = analyse(&plan(2), &[p(2000, 20000), p(2600, 20000)], &[g], false).unwrap();
        assert_eq!(
            a.verdict,
            Verdict::StopHarm {
                arm: 1,
                metric: "unsubscribes".into()
            }
        );
    }

    #[test]
    fn invalid_plans_are_errors() {
        assert_eq!(
            analyse(&plan(1), &[p(1, 10)], &[], false).unwrap_err(),
            StatsError::Arms(1)
        );
        assert!(analyse(&plan(3), &[p(1, 10), p(1, 10)], &[], false).is_err());
        let mixed = vec![
            p(1, 10),
            ArmData::Mean(MeanStats::new(10, 1.0, 1.0).unwrap()),
        ];
        assert!(analyse(&plan(2), &mixed, &[], false).is_err());
        // No conversions yet anywhere: nothing to decide, but no error and no NaN.
        let a = analyse(&plan(2), &[p(0, 10), p(0, 10)], &[], false).unwrap();
        assert_eq!(a.verdict, Verdict::KeepRunning);
        assert!(a.comparisons.is_empty());
    }
}
