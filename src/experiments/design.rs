//! Designing an experiment: validating what the user asked for and planning its sample size and
//! duration with a power analysis. Pure: the same input gives the same design.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::MediaType;
use crate::stats::analysis::MetricKind;
use crate::stats::power::{sample_size_means, sample_size_proportions, sample_size_rates};
use crate::stats::{Alpha, Alternative, Power};

/// How units reach the variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// People or sessions split at random (an ad platform's split, a link that assigns visitors).
    Randomized,
    /// Organic posts per variant: the unit is the post, and the result is observational.
    Content,
}

/// What is measured per unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricType {
    /// Conversions out of units.
    Proportion,
    /// A value per unit (or a count per unit).
    Mean,
    /// Events per unit of exposure.
    Rate,
}

/// Where an experiment is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Draft,
    Running,
    Stopped,
    Concluded,
}

macro_rules! text_enum {
    ($t:ty, $what:literal, $($v:ident => $s:literal),+) => {
        impl $t {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s),+ }
            }
        }
        impl FromStr for $t {
            type Err = crate::domain::UnknownWord;
            fn from_str(s: &str) -> Result<Self, crate::domain::UnknownWord> {
                match s.trim().to_ascii_lowercase().as_str() {
                    $($s => Ok(Self::$v),)+
                    other => Err(crate::domain::UnknownWord {
                        what: $what,
                        got: other.to_string(),
                        known: &[$($s),+],
                    }),
                }
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(Kind, "test kind", Randomized => "randomized", Content => "content");
text_enum!(MetricType, "metric type", Proportion => "proportion", Mean => "mean", Rate => "rate");
text_enum!(Status, "status", Draft => "draft", Running => "running", Stopped => "stopped", Concluded => "concluded");

impl MetricType {
    pub fn kind(self) -> MetricKind {
        match self {
            MetricType::Proportion => MetricKind::Proportion,
            MetricType::Mean => MetricKind::Mean,
            MetricType::Rate => MetricKind::Rate,
        }
    }
}

/// One arm as designed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariantSpec {
    pub name: String,
    pub weight: f64,
    pub text: Option<String>,
    pub hashtags: Vec<String>,
    pub media_type: Option<MediaType>,
}

impl VariantSpec {
    pub fn named(name: &str) -> Self {
        VariantSpec {
            name: name.to_string(),
            weight: 1.0,
            text: None,
            hashtags: Vec::new(),
            media_type: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GuardrailSpec {
    pub name: String,
    pub metric_type: MetricType,
    pub higher_is_better: bool,
}

/// What someone asks for, before validation.
#[derive(Debug, Clone, PartialEq)]
pub struct DesignInput {
    pub name: String,
    pub hypothesis: Option<String>,
    pub kind: Kind,
    pub metric_type: MetricType,
    pub target_metric: String,
    pub variants: Vec<VariantSpec>,
    pub baseline: f64,
    pub baseline_sd: Option<f64>,
    /// Relative minimum detectable effect (0.1 = 10%).
    pub mde: f64,
    /// Relative minimum effect worth shipping; defaults to half the MDE.
    pub min_effect: Option<f64>,
    pub alpha: f64,
    pub power: f64,
    /// Expected units per day over all arms (posts per day for content tests).
    pub daily_traffic: Option<f64>,
    pub higher_is_better: bool,
    pub guardrails: Vec<GuardrailSpec>,
    pub start_at: Option<DateTime<Utc>>,
    pub created_by: String,
    pub channel_id: Option<String>,
}

/// A field the user must change, and why. Modal errors map onto these one to one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
pub struct DesignErrors(pub Vec<FieldError>);

/// A validated design with its plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Design {
    pub name: String,
    pub hypothesis: Option<String>,
    pub kind: Kind,
    pub metric_type: MetricType,
    pub target_metric: String,
    pub variants: Vec<VariantSpec>,
    pub baseline: f64,
    pub baseline_sd: Option<f64>,
    pub mde: f64,
    pub min_effect: f64,
    pub alpha: f64,
    pub power: f64,
    pub daily_traffic: Option<f64>,
    pub higher_is_better: bool,
    pub guardrails: Vec<GuardrailSpec>,
    pub start_at: Option<DateTime<Utc>>,
    pub created_by: String,
    pub channel_id: Option<String>,
    /// Units (posts, or exposure for rates) per arm, in arm order.
    pub planned_per_arm: Vec<u64>,
    /// N*: all arms together.
    pub planned_units: u64,
    pub planned_days: Option<u32>,
}

/// Sample size per arm for every arm, given the plan's weights. Each variant is compared with
/// the control at alpha / (arms − 1) (Bonferroni), and the arms are scaled so that the comparison
/// needing the most data gets it.
/// The most units a plan may call for: beyond this no team will ever reach the sample, and the
/// arithmetic on sizes stays far from overflowing.
pub const MAX_PLANNED_UNITS: u64 = 1_000_000_000;
/// The longest a planned test may run: ten years.
pub const MAX_PLANNED_DAYS: u32 = 3650;

/// Why a plan can't be made: each says what to change.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Stats(#[from] crate::stats::StatsError),
    #[error("a test has 2 to 5 arms, not {0}")]
    Arms(usize),
    #[error("a mean metric needs the baseline's standard deviation (--baseline-sd)")]
    NoSd,
    #[error("the baseline's standard deviation must be positive")]
    BadSd,
    #[error("the plan comes to fewer than 2 units an arm, too few to test anything: check the baseline ({0}) and the minimum detectable effect")]
    TooFewUnits(f64),
    #[error("this design would need {0} units, more than a test can reasonably reach (at most {max}): choose a larger minimum detectable effect", max = crate::format::thousands(MAX_PLANNED_UNITS as i64))]
    TooManyUnits(String),
    #[error("at {traffic:.3e} units a day it would take {days} days to reach {total} units; a test can run at most {max} days (ten years): plan on more traffic or a larger effect", max = crate::format::thousands(i64::from(MAX_PLANNED_DAYS)))]
    TooLong {
        traffic: f64,
        days: String,
        total: String,
    },
    #[error("--units is between 1 and {max} per arm", max = crate::format::thousands(MAX_PLANNED_UNITS as i64))]
    Units,
    #[error("give either --mde (to get the sample size) or --units (to get the MDE)")]
    MdeOrUnits,
    #[error("--daily-traffic is a number of units a day, from 0.01 to 1,000,000,000,000")]
    Traffic,
}

/// A count for a message: with thousands separators, or "more than 10¹⁵".
fn big(x: f64) -> String {
    if x.is_finite() && x < 1e15 {
        crate::format::thousands(x as i64)
    } else {
        "more than 10¹⁵".into()
    }
}

/// Days to reach `total` units at `daily_traffic` a day (at least one), or why the plan is
/// beyond reason.
pub fn planned_days(total: u64, daily_traffic: f64) -> Result<u32, PlanError> {
    let days = (total as f64 / daily_traffic).ceil();
    if !(days.is_finite() && days <= f64::from(MAX_PLANNED_DAYS)) {
        return Err(PlanError::TooLong {
            traffic: daily_traffic,
            days: big(days),
            total: crate::format::thousands(total as i64),
        });
    }
    Ok((days as u32).max(1))
}

pub fn plan_sizes(
    metric: MetricType,
    baseline: f64,
    baseline_sd: Option<f64>,
    mde: f64,
    alpha: f64,
    power: f64,
    weights: &[f64],
) -> Result<Vec<u64>, PlanError> {
    let alpha = Alpha::new(alpha)?;
    let power = Power::new(power)?;
    if weights.len() < 2 {
        return Err(PlanError::Arms(weights.len()));
    }
    let alpha_i = alpha.split(weights.len() - 1);
    let mut scale: f64 = 0.0;
    for &w in &weights[1..] {
        let ratio = weights[0] / w;
        let size = match metric {
            MetricType::Proportion => sample_size_proportions(
                baseline,
                baseline * mde,
                alpha_i,
                power,
                ratio,
                Alternative::TwoSided,
            ),
            MetricType::Mean => {
                let sd = baseline_sd.ok_or(PlanError::NoSd)?;
                if sd.is_nan() || sd <= 0.0 {
                    return Err(PlanError::BadSd);
                }
                sample_size_means(
                    baseline * mde / sd,
                    alpha_i,
                    power,
                    ratio,
                    Alternative::TwoSided,
                )
            }
            MetricType::Rate => sample_size_rates(
                baseline,
                baseline * (1.0 + mde),
                alpha_i,
                power,
                ratio,
                Alternative::TwoSided,
            ),
        }?;
        scale = scale.max(size.treatment / w);
    }
    let total: f64 = weights.iter().map(|w| (scale * w).ceil()).sum();
    if weights.iter().any(|w| (scale * w).ceil() < 2.0) {
        return Err(PlanError::TooFewUnits(baseline));
    }
    if !(total.is_finite() && total <= MAX_PLANNED_UNITS as f64) {
        return Err(PlanError::TooManyUnits(big(total)));
    }
    Ok(weights.iter().map(|w| (scale * w).ceil() as u64).collect())
}

/// Validates a design and plans it. Every problem is reported, each against its field.
pub fn design(input: DesignInput) -> Result<Design, DesignErrors> {
    let mut errors = Vec::new();
    let mut err = |field: &'static str, message: &str| {
        errors.push(FieldError {
            field,
            message: message.to_string(),
        })
    };
    let name = input.name.trim().to_string();
    if name.is_empty() {
        err("name", "give the test a name");
    } else if name.chars().count() > 120 {
        err("name", "keep the name under 120 characters");
    }
    if input.target_metric.trim().is_empty() {
        err(
            "target_metric",
            "say which metric decides the test, e.g. click-through rate",
        );
    }
    if !(2..=5).contains(&input.variants.len()) {
        err(
            "variants",
            "a test has 2 to 5 variants, the first being the control",
        );
    }
    let mut names: Vec<&str> = input.variants.iter().map(|v| v.name.trim()).collect();
    if names.iter().any(|n| n.is_empty()) {
        err("variants", "every variant needs a name");
    }
    names.sort_unstable();
    if names.windows(2).any(|w| w[0] == w[1]) {
        err("variants", "variant names must differ");
    }
    if input
        .variants
        .iter()
        .any(|v| !(v.weight.is_finite() && v.weight > 0.0))
    {
        err("variants", "allocation weights must be positive");
    }
    match input.metric_type {
        MetricType::Proportion if !(input.baseline > 0.0 && input.baseline < 1.0) => err(
            "baseline",
            "a baseline rate is between 0 and 1, e.g. 0.04 for 4%",
        ),
        MetricType::Mean | MetricType::Rate
            if !(input.baseline.is_finite() && input.baseline > 0.0 && input.baseline <= 1e12) =>
        {
            err(
                "baseline",
                "the baseline must be a positive number up to 1,000,000,000,000",
            )
        }
        _ => {}
    }
    if input.metric_type == MetricType::Mean
        && !input
            .baseline_sd
            .is_some_and(|s| s.is_finite() && s > 0.0 && s <= 1e12)
    {
        err(
            "baseline_sd",
            "a mean metric needs the baseline's standard deviation",
        );
    }
    if input.kind == Kind::Content && input.metric_type != MetricType::Mean {
        err(
            "metric_type",
            "a content test compares per-post engagement rates: use the mean metric type",
        );
    }
    if !(input.mde.is_finite() && input.mde > 0.0 && input.mde <= 10.0) {
        err(
            "mde",
            "the minimum detectable effect is a relative lift above 0, e.g. 0.1 for 10%",
        );
    } else if input.metric_type == MetricType::Proportion
        && input.baseline * (1.0 + input.mde) >= 1.0
    {
        err("mde", "baseline plus the effect would exceed 100%");
    }
    // Only a minimum effect someone gave is checked: its default follows the MDE, whose own
    // problem is reported once, against the MDE.
    let min_effect = input.min_effect.unwrap_or(input.mde / 2.0);
    if input
        .min_effect
        .is_some_and(|m| !(m.is_finite() && m >= 0.0))
    {
        err(
            "min_effect",
            "the minimum effect worth shipping can't be negative",
        );
    }
    if Alpha::new(input.alpha).is_err() {
        err("alpha", "alpha is between 0 and 0.5, usually 0.05");
    }
    if Power::new(input.power).is_err() {
        err("power", "power is between 0.5 and 1, usually 0.8");
    }
    if let Some(t) = input.daily_traffic {
        if !(t.is_finite() && (0.01..=1e12).contains(&t)) {
            err(
                "daily_traffic",
                "expected daily traffic is a number of units a day, from 0.01 to 1,000,000,000,000",
            );
        }
    }
    for g in &input.guardrails {
        if g.name.trim().is_empty() || g.name == "primary" {
            err(
                "guardrails",
                "a guardrail needs a name other than \"primary\"",
            );
        }
    }
    if !errors.is_empty() {
        return Err(DesignErrors(errors));
    }
    let weights: Vec<f64> = input.variants.iter().map(|v| v.weight).collect();
    let per_arm = plan_sizes(
        input.metric_type,
        input.baseline,
        input.baseline_sd,
        input.mde,
        input.alpha,
        input.power,
        &weights,
    )
    .map_err(|m| {
        DesignErrors(vec![FieldError {
            field: "mde",
            message: m.to_string(),
        }])
    })?;
    let planned_units: u64 = per_arm.iter().sum();
    let planned_days = match input.daily_traffic {
        Some(t) => Some(planned_days(planned_units, t).map_err(|m| {
            DesignErrors(vec![FieldError {
                field: "daily_traffic",
                message: m.to_string(),
            }])
        })?),
        None => None,
    };
    Ok(Design {
        name,
        hypothesis: input.hypothesis.filter(|h| !h.trim().is_empty()),
        kind: input.kind,
        metric_type: input.metric_type,
        target_metric: input.target_metric.trim().to_string(),
        variants: input.variants,
        baseline: input.baseline,
        baseline_sd: input.baseline_sd,
        mde: input.mde,
        min_effect,
        alpha: input.alpha,
        power: input.power,
        daily_traffic: input.daily_traffic,
        higher_is_better: input.higher_is_better,
        guardrails: input.guardrails,
        start_at: input.start_at,
        created_by: input.created_by,
        channel_id: input.channel_id,
        planned_per_arm: per_arm,
        planned_units,
        planned_days,
    })
}

#[cfg(test)]
mod unit {
    use super::*;

    pub(crate) fn input() -> DesignInput {
        DesignInput {
            name: "Hook test".into(),
            hypothesis: Some("A question in the first line lifts clicks".into()),
            kind: Kind::Randomized,
            metric_type: MetricType::Proportion,
            target_metric: "click-through rate".into(),
            variants: vec![
                VariantSpec::named("control"),
                VariantSpec::named("question hook"),
            ],
            baseline: 0.10,
            baseline_sd: None,
            mde: 0.2,
            min_effect: None,
            alpha: 0.05,
            power: 0.8,
            daily_traffic: Some(1000.0),
            higher_is_better: true,
            guardrails: vec![],
            start_at: None,
            created_by: "cli".into(),
            channel_id: None,
        }
    }

    #[test]
    fn plans_beyond_reason_are_refused_with_a_message() {
        // A one-in-a-million baseline and effect need more units than exist.
        let mut i = input();
        i.baseline = 0.000001;
        i.mde = 0.000001;
        i.daily_traffic = Some(1.0);
        let e = design(i).unwrap_err();
        assert_eq!(e.0.len(), 1, "{e:?}");
        assert_eq!(e.0[0].field, "mde");
        assert!(
            e.0[0]
                .message
                .contains("more than a test can reasonably reach"),
            "{e:?}"
        );
        // A reasonable size at a trickle of traffic would take centuries.
        let mut i = input();
        i.daily_traffic = Some(0.5);
        let e = design(i).unwrap_err();
        assert_eq!(e.0[0].field, "daily_traffic");
        assert!(e.0[0].message.contains("at most 3,650 days"), "{e:?}");
        // The edges that are fine stay fine.
        let mut i = input();
        i.daily_traffic = Some(3.0);
        let d = design(i).unwrap();
        assert!(d.planned_days.unwrap() <= MAX_PLANNED_DAYS);
        // Traffic outside what a day can hold is a field error of its own.
        let mut i = input();
        i.daily_traffic = Some(0.001);
        assert_eq!(design(i).unwrap_err().0[0].field, "daily_traffic");
        assert!(d.planned_units > 0);
        assert_eq!(
            planned_days(1, 1e-300).map_err(|e| e.to_string().contains("10¹⁵")),
            Err(true)
        );
        // An absurd baseline that plans no data at all is refused too.
        let mut i = input();
        i.metric_type = MetricType::Rate;
        i.baseline = 1e11;
        i.daily_traffic = None;
        let e = design(i).unwrap_err();
        assert!(e.0[0].message.contains("fewer than 2 units"), "{e:?}");
        assert_eq!(planned_days(3650, 1.0), Ok(3650));
        assert!(planned_days(3651, 1.0).is_err());
    }

    #[test]
    fn plans_the_reference_case() {
        // 10% → 12% at alpha 0.05, power 0.8: 3,841 per arm (statsmodels: 3840.85).
        let d = design(input()).unwrap();
        assert_eq!(d.planned_per_arm, vec![3841, 3841]);
        assert_eq!(d.planned_units, 7682);
        assert_eq!(d.planned_days, Some(8));
        assert!((d.min_effect - 0.1).abs() < 1e-12);
    }

    #[test]
    fn more_arms_split_alpha_and_need_more_per_arm() {
        let mut i = input();
        i.variants.push(VariantSpec::named("emoji hook"));
        let d = design(i).unwrap();
        assert_eq!(d.planned_per_arm.len(), 3);
        assert!(d.planned_per_arm[1] > 3841);
    }

    #[test]
    fn uneven_weights_scale_the_arms() {
        let mut i = input();
        i.variants[0].weight = 2.0;
        let d = design(i).unwrap();
        let (control, variant) = (d.planned_per_arm[0] as i64, d.planned_per_arm[1] as i64);
        assert!(
            (control - 2 * variant).abs() <= 2,
            "{:?}",
            d.planned_per_arm
        );
        assert!(
            variant < 3841,
            "a larger control needs fewer units in the variant"
        );
    }

    #[test]
    fn every_bad_field_is_reported() {
        let cases: Vec<(&str, Box<dyn Fn(&mut DesignInput)>)> = vec![
            ("name", Box::new(|i| i.name = " ".into())),
            ("variants", Box::new(|i| i.variants.truncate(1))),
            (
                "variants",
                Box::new(|i| i.variants[1].name = "control".into()),
            ),
            ("baseline", Box::new(|i| i.baseline = 1.5)),
            ("mde", Box::new(|i| i.mde = 0.0)),
            ("mde", Box::new(|i| i.baseline = 0.9)),
            ("alpha", Box::new(|i| i.alpha = 0.7)),
            ("power", Box::new(|i| i.power = 0.2)),
            (
                "baseline_sd",
                Box::new(|i| i.metric_type = MetricType::Mean),
            ),
            ("metric_type", Box::new(|i| i.kind = Kind::Content)),
            ("daily_traffic", Box::new(|i| i.daily_traffic = Some(-3.0))),
        ];
        for (field, change) in cases {
            let mut i = input();
            change(&mut i);
            let errs = design(i).expect_err(field).0;
            assert!(errs.iter().any(|e| e.field == field), "{field}: {errs:?}");
        }
    }

    #[test]
    fn names_parse() {
        assert_eq!("Randomized".parse::<Kind>(), Ok(Kind::Randomized));
        assert!("ab"
            .parse::<Kind>()
            .unwrap_err()
            .to_string()
            .contains("randomized, content"));
        assert_eq!("rate".parse::<MetricType>(), Ok(MetricType::Rate));
    }
}
