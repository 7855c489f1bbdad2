//! Power, sample size and minimum detectable effect.
//!
//! - Proportions: the pooled-variance normal formula (Fleiss, no continuity correction), as
//!   statsmodels' `samplesize_proportions_2indep_onetail` and `power_proportions_2indep`.
//! - Means: the normal approximation of statsmodels' `NormalIndPower`, in units of the metric's
//!   standard deviation (marketing tests have hundreds of units per arm, where t and normal agree).
//! - Counts (events per exposure): the Wald normal approximation for a difference of Poisson
//!   rates; sizes are exposure per arm.
//!
//! `ratio` is the size of the control arm relative to the treatment arm (statsmodels' `ratio`:
//! nobs2 = ratio · nobs1, arm 1 being the treatment).

use super::dist::{norm_cdf, norm_isf, norm_sf};
use super::{checked, positive, Alpha, Alternative, Power, Result, StatsError};

/// Units (or exposure) needed in each arm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleSize {
    pub treatment: f64,
    pub control: f64,
}

impl SampleSize {
    pub fn total(&self) -> f64 {
        self.treatment + self.control
    }
}

fn one_tail_alpha(alpha: Alpha, alt: Alternative) -> f64 {
    match alt {
        Alternative::TwoSided => alpha.get() / 2.0,
        _ => alpha.get(),
    }
}

/// Power of a normal test whose statistic has standard deviation `std_null` under the null and
/// `std_alt` under the alternative (statsmodels' `normal_power_het`).
fn normal_power_het(
    diff: f64,
    n: f64,
    alpha: Alpha,
    std_null: f64,
    std_alt: f64,
    alt: Alternative,
) -> f64 {
    let a = one_tail_alpha(alpha, alt);
    let crit = norm_isf(a);
    let shift = diff * n.sqrt();
    let mut power = 0.0;
    if matches!(alt, Alternative::TwoSided | Alternative::Larger) {
        power += norm_sf((crit * std_null - shift) / std_alt);
    }
    if matches!(alt, Alternative::TwoSided | Alternative::Smaller) {
        power += norm_cdf((-crit * std_null - shift) / std_alt);
    }
    power
}

fn proportion_stds(baseline: f64, diff: f64, ratio: f64) -> Result<(f64, f64)> {
    let p2 = baseline;
    let p1 = p2 + diff;
    if !(p2 > 0.0 && p2 < 1.0) {
        return Err(StatsError::Proportion(p2));
    }
    if diff == 0.0 || !(p1 > 0.0 && p1 < 1.0) {
        return Err(StatsError::Effect);
    }
    let pooled = (p1 + p2 * ratio) / (1.0 + ratio);
    let std = |x: f64, y: f64| (x * (1.0 - x) + y * (1.0 - y) / ratio).sqrt();
    Ok((std(pooled, pooled), std(p1, p2)))
}

/// Sample size per arm to detect `diff` (absolute) from a `baseline` rate.
pub fn sample_size_proportions(
    baseline: f64,
    diff: f64,
    alpha: Alpha,
    power: Power,
    ratio: f64,
    alt: Alternative,
) -> Result<SampleSize> {
    positive("allocation ratio", ratio)?;
    let (std_null, std_alt) = proportion_stds(baseline, diff, ratio)?;
    let crit = norm_isf(one_tail_alpha(alpha, alt));
    let crit_power = norm_isf(power.get());
    let n1 = ((crit * std_null - crit_power * std_alt).abs() / diff).powi(2);
    let n1 = checked("sample size", n1)?;
    Ok(SampleSize {
        treatment: n1,
        control: n1 * ratio,
    })
}

/// Power to detect `diff` from `baseline` with `n_treatment` units in the treatment arm.
pub fn power_proportions(
    baseline: f64,
    diff: f64,
    n_treatment: f64,
    alpha: Alpha,
    ratio: f64,
    alt: Alternative,
) -> Result<f64> {
    positive("allocation ratio", ratio)?;
    positive("sample size", n_treatment)?;
    let (std_null, std_alt) = proportion_stds(baseline, diff, ratio)?;
    checked(
        "power",
        normal_power_het(diff, n_treatment, alpha, std_null, std_alt, alt),
    )
}

/// Power of the normal test for a standardised effect `d` (statsmodels' `NormalIndPower.power`).
pub fn power_means(
    d: f64,
    n_treatment: f64,
    alpha: Alpha,
    ratio: f64,
    alt: Alternative,
) -> Result<f64> {
    positive("allocation ratio", ratio)?;
    positive("sample size", n_treatment)?;
    let n = 1.0 / (1.0 / n_treatment + 1.0 / (n_treatment * ratio));
    checked("power", normal_power_het(d, n, alpha, 1.0, 1.0, alt))
}

/// Finds x in (lo, hi) with f(x) = target for an increasing f, to full double precision.
fn solve_increasing(f: impl Fn(f64) -> f64, target: f64, lo: f64, mut hi: f64) -> Result<f64> {
    let mut grow = 0;
    while f(hi) < target {
        hi *= 2.0;
        grow += 1;
        if grow > 200 {
            return Err(StatsError::Invalid(
                "no sample size reaches that power".into(),
            ));
        }
    }
    Ok(bisect(f, target, lo, hi))
}

/// The x in [lo, hi] where an increasing `f` crosses `target`, to full double precision.
fn bisect(f: impl Fn(f64) -> f64, target: f64, mut lo: f64, mut hi: f64) -> f64 {
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if f(mid) < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Units per arm to detect a standardised effect `d` (effect / standard deviation), as
/// `NormalIndPower.solve_power`.
pub fn sample_size_means(
    d: f64,
    alpha: Alpha,
    power: Power,
    ratio: f64,
    alt: Alternative,
) -> Result<SampleSize> {
    positive("allocation ratio", ratio)?;
    if d == 0.0 || !d.is_finite() {
        return Err(StatsError::Effect);
    }
    let d_eff = match alt {
        Alternative::Smaller => -d.abs(),
        _ => d.abs(),
    };
    let n1 = solve_increasing(
        |n| power_means(d_eff, n, alpha, ratio, alt).unwrap_or(0.0),
        power.get(),
        1e-9,
        2.0,
    )?;
    Ok(SampleSize {
        treatment: n1,
        control: n1 * ratio,
    })
}

/// The smallest standardised effect detectable with `n_treatment` units (`NormalIndPower`).
pub fn mde_means(
    n_treatment: f64,
    alpha: Alpha,
    power: Power,
    ratio: f64,
    alt: Alternative,
) -> Result<f64> {
    positive("sample size", n_treatment)?;
    positive("allocation ratio", ratio)?;
    let sign = if alt == Alternative::Smaller {
        -1.0
    } else {
        1.0
    };
    let d = solve_increasing(
        |d| power_means(sign * d, n_treatment, alpha, ratio, alt).unwrap_or(0.0),
        power.get(),
        0.0,
        1.0,
    )?;
    Ok(sign * d)
}

/// The smallest absolute increase over `baseline` detectable with `n_treatment` units.
pub fn mde_proportions(
    baseline: f64,
    n_treatment: f64,
    alpha: Alpha,
    power: Power,
    ratio: f64,
    alt: Alternative,
) -> Result<f64> {
    positive("sample size", n_treatment)?;
    if !(baseline > 0.0 && baseline < 1.0) {
        return Err(StatsError::Proportion(baseline));
    }
    let sign = if alt == Alternative::Smaller {
        -1.0
    } else {
        1.0
    };
    let room = if sign > 0.0 { 1.0 - baseline } else { baseline };
    let f = |d: f64| {
        power_proportions(baseline, sign * d, n_treatment, alpha, ratio, alt).unwrap_or(0.0)
    };
    if f(room * (1.0 - 1e-12)) < power.get() {
        return Err(StatsError::Invalid(format!(
            "{n_treatment:.0} units per arm can't reach that power from a {baseline} baseline"
        )));
    }
    Ok(sign * bisect(f, power.get(), 0.0, room * (1.0 - 1e-12)))
}

/// Exposure per arm to detect rates `rate_control` → `rate_treatment` (Wald normal
/// approximation: var = λ_b/t_b + λ_a/t_a).
pub fn sample_size_rates(
    rate_control: f64,
    rate_treatment: f64,
    alpha: Alpha,
    power: Power,
    ratio: f64,
    alt: Alternative,
) -> Result<SampleSize> {
    positive("control rate", rate_control)?;
    positive("treatment rate", rate_treatment)?;
    positive("allocation ratio", ratio)?;
    let diff = rate_treatment - rate_control;
    if diff == 0.0 {
        return Err(StatsError::Effect);
    }
    let z = norm_isf(one_tail_alpha(alpha, alt)) + norm_isf(1.0 - power.get());
    let t1 = z * z * (rate_treatment + rate_control / ratio) / (diff * diff);
    let t1 = checked("exposure", t1)?;
    Ok(SampleSize {
        treatment: t1,
        control: t1 * ratio,
    })
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn reference_sample_size() {
        let n = sample_size_proportions(
            0.10,
            0.02,
            Alpha::new(0.05).unwrap(),
            Power::new(0.8).unwrap(),
            1.0,
            Alternative::TwoSided,
        )
        .unwrap();
        assert!((n.treatment - 3840.85).abs() < 0.01, "{n:?}");
    }

    #[test]
    fn power_and_sample_size_agree() {
        let (alpha, pw) = (Alpha::new(0.05).unwrap(), Power::new(0.8).unwrap());
        let n = sample_size_proportions(0.05, 0.01, alpha, pw, 1.0, Alternative::TwoSided).unwrap();
        let p =
            power_proportions(0.05, 0.01, n.treatment, alpha, 1.0, Alternative::TwoSided).unwrap();
        // The sample-size formula ignores the far tail, so power is a hair above the target.
        assert!((p - 0.8).abs() < 1e-6, "{p}");
        let m = sample_size_means(0.2, alpha, pw, 2.0, Alternative::Larger).unwrap();
        assert!(
            (power_means(0.2, m.treatment, alpha, 2.0, Alternative::Larger).unwrap() - 0.8).abs()
                < 1e-12
        );
        let d = mde_means(m.treatment, alpha, pw, 2.0, Alternative::Larger).unwrap();
        assert!((d - 0.2).abs() < 1e-9, "{d}");
        let mde =
            mde_proportions(0.05, n.treatment, alpha, pw, 1.0, Alternative::TwoSided).unwrap();
        assert!((mde - 0.01).abs() < 1e-6, "{mde}");
    }

    #[test]
    fn impossible_plans_are_errors() {
        let (alpha, pw) = (Alpha::new(0.05).unwrap(), Power::new(0.8).unwrap());
        assert!(sample_size_proportions(0.1, 0.0, alpha, pw, 1.0, Alternative::TwoSided).is_err());
        assert!(sample_size_proportions(0.95, 0.1, alpha, pw, 1.0, Alternative::TwoSided).is_err());
        assert!(sample_size_proportions(0.0, 0.1, alpha, pw, 1.0, Alternative::TwoSided).is_err());
        assert!(sample_size_means(0.0, alpha, pw, 1.0, Alternative::TwoSided).is_err());
        assert!(mde_proportions(0.5, 3.0, alpha, pw, 1.0, Alternative::TwoSided).is_err());
    }
}
