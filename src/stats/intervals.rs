//! Confidence intervals for rates and for differences and lifts between arms.

use super::dist::{norm_isf, t_ppf};
use super::{checked, Alpha, Interval, MeanStats, Proportion, RateStats, Result, StatsError};

/// Wilson score interval for a rate (statsmodels' `proportion_confint`, method "wilson").
pub fn wilson(p: Proportion, alpha: Alpha) -> Result<Interval> {
    let n = p.units as f64;
    let rate = p.rate()?;
    let z = norm_isf(alpha.get() / 2.0);
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let centre = (rate + z2 / (2.0 * n)) / denom;
    let half = z / denom * (rate * (1.0 - rate) / n + z2 / (4.0 * n * n)).sqrt();
    Ok(Interval {
        low: checked("interval", centre - half)?,
        high: checked("interval", centre + half)?,
    })
}

/// Newcombe's hybrid score interval for the difference of rates `b − a` (statsmodels'
/// `confint_proportions_2indep`, method "newcomb", compare "diff").
pub fn newcombe(a: Proportion, b: Proportion, alpha: Alpha) -> Result<Interval> {
    let (pa, pb) = (a.rate()?, b.rate()?);
    let (la, ua) = {
        let i = wilson(a, alpha)?;
        (i.low, i.high)
    };
    let (lb, ub) = {
        let i = wilson(b, alpha)?;
        (i.low, i.high)
    };
    let d = pb - pa;
    Ok(Interval {
        low: d - ((pb - lb).powi(2) + (ua - pa).powi(2)).sqrt(),
        high: d + ((ub - pb).powi(2) + (pa - la).powi(2)).sqrt(),
    })
}

/// A difference between arms with its standard error and Welch degrees of freedom, absolute
/// (`b − a`) or relative (`(b − a) / |a|`, variance by the delta method).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Lift {
    pub estimate: f64,
    pub std_error: f64,
    pub df: f64,
}

/// How a metric's per-unit variance is taken: proportions use p(1 − p) as GrowthBook does, means
/// the sample variance.
fn arm_moments(s: &MeanStats, proportion: bool) -> Result<(f64, f64, f64)> {
    let mean = s.mean()?;
    let var = if proportion {
        mean * (1.0 - mean)
    } else {
        s.variance()?
    };
    Ok((mean, var, s.n as f64))
}

/// A lift needs two units in each arm.
fn two_units_each(a: &MeanStats, b: &MeanStats) -> Result<()> {
    match [a, b].into_iter().find(|s| s.n < 2) {
        Some(s) => Err(StatsError::TooFewUnits {
            what: "a lift",
            min: 2,
            got: s.n,
        }),
        None => Ok(()),
    }
}

/// Welch–Satterthwaite degrees of freedom of two variances of means `qa`, `qb` from `na`, `nb`
/// units.
fn welch_df(qa: f64, qb: f64, na: f64, nb: f64) -> f64 {
    (qa + qb).powi(2) / (qa * qa / (na - 1.0) + qb * qb / (nb - 1.0))
}

/// The absolute or relative lift of `b` over `a`.
pub fn lift(a: &MeanStats, b: &MeanStats, proportion: bool, relative: bool) -> Result<Lift> {
    two_units_each(a, b)?;
    let (ma, va, na) = arm_moments(a, proportion)?;
    let (mb, vb, nb) = arm_moments(b, proportion)?;
    if va + vb <= 0.0 {
        return Err(StatsError::NoVariation);
    }
    let (estimate, se2) = if relative {
        if ma == 0.0 {
            return Err(StatsError::ZeroBaseline);
        }
        (
            (mb - ma) / ma.abs(),
            vb / (ma * ma * nb) + va * mb * mb / (ma.powi(4) * na),
        )
    } else {
        (mb - ma, va / na + vb / nb)
    };
    let df = welch_df(va / na, vb / nb, na, nb);
    Ok(Lift {
        estimate: checked("lift", estimate)?,
        std_error: checked("standard error", se2.sqrt())?,
        df: checked("degrees of freedom", df)?,
    })
}

impl Lift {
    /// The fixed-horizon two-sided interval with the t quantile (GrowthBook's
    /// `TwoSidedTTest`).
    pub fn interval(&self, alpha: Alpha) -> Result<Interval> {
        let q = t_ppf(1.0 - alpha.get() / 2.0, self.df);
        let half = checked("interval", q * self.std_error)?;
        Ok(Interval::around(self.estimate, half))
    }
}

/// The ratio of `b` to `a` on the log scale: ln(b/a) with its standard error and the degrees of
/// freedom of its quantile (infinite for the normal). Relative lifts are built from it, so their
/// intervals are never symmetric around the estimate and never pass −100%.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct LogRatio {
    pub log_ratio: f64,
    pub std_error: f64,
    pub df: f64,
    /// The variant had no conversions: the data can't rule out losing everything, so the lift
    /// interval starts at −100% (the log ratio, with 0.5 added, gives its upper end).
    #[serde(skip)]
    pub open_below: bool,
}

impl LogRatio {
    /// The relative lift `b/a − 1`.
    pub fn lift(&self) -> f64 {
        self.log_ratio.exp_m1()
    }

    /// The lift interval for `ln(b/a) ± half`.
    pub fn lift_interval(&self, half: f64) -> Interval {
        self.lift_of(Interval {
            low: self.log_ratio - half,
            high: self.log_ratio + half,
        })
    }

    /// An interval of the log ratio as one of the lift.
    pub fn lift_of(&self, log: Interval) -> Interval {
        Interval {
            low: if self.open_below {
                -1.0
            } else {
                log.low.exp_m1()
            },
            high: log.high.exp_m1(),
        }
    }

    /// The fixed-horizon two-sided lift interval at `alpha`: the t quantile at `df`, the normal
    /// one when `df` is infinite.
    pub fn interval(&self, alpha: Alpha) -> Result<Interval> {
        let q = if self.df.is_finite() {
            t_ppf(1.0 - alpha.get() / 2.0, self.df)
        } else {
            norm_isf(alpha.get() / 2.0)
        };
        Ok(self.lift_interval(checked("interval", q * self.std_error)?))
    }
}

/// The log of the ratio of two rates `b/a` (Katz): Var = 1/c − 1/n per arm (statsmodels'
/// `confint_proportions_2indep`, compare "ratio", method "log"); `adjusted` adds 0.5 to every
/// count and total first (method "log-adjusted"), which keeps the log defined when an arm has
/// no conversions.
pub fn katz(a: Proportion, b: Proportion, adjusted: bool) -> Result<LogRatio> {
    let add = if adjusted { 0.5 } else { 0.0 };
    let (ca, na) = (a.conversions as f64 + add, a.units as f64 + add);
    let (cb, nb) = (b.conversions as f64 + add, b.units as f64 + add);
    if ca <= 0.0 {
        return Err(StatsError::ZeroBaseline);
    }
    if cb <= 0.0 {
        return Err(StatsError::NoEvents);
    }
    let var = 1.0 / ca - 1.0 / na + 1.0 / cb - 1.0 / nb;
    Ok(LogRatio {
        log_ratio: checked("lift", (cb / nb).ln() - (ca / na).ln())?,
        std_error: checked("standard error", var.max(0.0).sqrt())?,
        df: f64::INFINITY,
        open_below: false,
    })
}

/// The log ratio vibe uses for two rates: Katz's, adjusted only when the variant has no
/// conversions, and then open below (a control without any has no lift to speak of).
pub fn proportion_log_ratio(a: Proportion, b: Proportion) -> Result<LogRatio> {
    if a.conversions == 0 {
        return Err(StatsError::ZeroBaseline);
    }
    let none = b.conversions == 0;
    Ok(LogRatio {
        open_below: none,
        ..katz(a, b, none)?
    })
}

/// The log of the ratio of two Poisson rates: Var = 1/events per arm (statsmodels'
/// `confint_poisson_2indep`, compare "ratio", method "wald-log").
pub fn rate_log_ratio(a: RateStats, b: RateStats) -> Result<LogRatio> {
    if a.events == 0 {
        return Err(StatsError::ZeroBaseline);
    }
    if b.events == 0 {
        return Err(StatsError::NoEvents);
    }
    Ok(LogRatio {
        log_ratio: checked("lift", (b.rate() / a.rate()).ln())?,
        std_error: checked(
            "standard error",
            (1.0 / a.events as f64 + 1.0 / b.events as f64).sqrt(),
        )?,
        df: f64::INFINITY,
        open_below: false,
    })
}

/// The log of the ratio of two means by the delta method, Var(ln m) = s²/(n m²) per arm, with
/// the Welch–Satterthwaite degrees of freedom of those variances. Only for positive means: a
/// metric that can be zero or negative on average has no ratio, and its lift stays on the
/// delta method of [`lift`].
pub fn mean_log_ratio(a: &MeanStats, b: &MeanStats) -> Result<LogRatio> {
    two_units_each(a, b)?;
    let (ma, mb) = (a.mean()?, b.mean()?);
    if ma <= 0.0 || mb <= 0.0 {
        return Err(StatsError::ZeroBaseline);
    }
    let (na, nb) = (a.n as f64, b.n as f64);
    let qa = a.variance()? / (na * ma * ma);
    let qb = b.variance()? / (nb * mb * mb);
    if qa + qb <= 0.0 {
        return Err(StatsError::NoVariation);
    }
    let df = welch_df(qa, qb, na, nb);
    Ok(LogRatio {
        log_ratio: checked("lift", (mb / ma).ln())?,
        std_error: checked("standard error", (qa + qb).sqrt())?,
        df: checked("degrees of freedom", df)?,
        open_below: false,
    })
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn reference_intervals() {
        let alpha = Alpha::new(0.05).unwrap();
        let w = wilson(Proportion::new(200, 2000).unwrap(), alpha).unwrap();
        assert!(
            (w.low - 0.087609).abs() < 1e-6 && (w.high - 0.113924).abs() < 1e-6,
            "{w:?}"
        );
        let n = newcombe(
            Proportion::new(200, 2000).unwrap(),
            Proportion::new(250, 2000).unwrap(),
            alpha,
        )
        .unwrap();
        assert!(
            (n.low - 0.005410).abs() < 1e-6 && (n.high - 0.044624).abs() < 1e-6,
            "{n:?}"
        );
    }

    #[test]
    fn wilson_stays_inside_zero_one_at_the_edges() {
        let alpha = Alpha::new(0.05).unwrap();
        for (c, n) in [(0, 10), (10, 10), (0, 1), (1, 1)] {
            let i = wilson(Proportion::new(c, n).unwrap(), alpha).unwrap();
            assert!(i.low >= -1e-15 && i.high <= 1.0 + 1e-15, "{c}/{n}: {i:?}");
        }
    }

    #[test]
    fn relative_lift_needs_a_baseline() {
        let zero = MeanStats::new(10, 0.0, 0.0).unwrap();
        let b = MeanStats::new(10, 5.0, 5.0).unwrap();
        assert_eq!(lift(&zero, &b, true, true), Err(StatsError::ZeroBaseline));
        assert!(lift(&zero, &b, true, false).is_ok());
    }
}
