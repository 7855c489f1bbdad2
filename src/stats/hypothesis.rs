//! Fixed-horizon hypothesis tests. vibe shows their p-values for information only: decisions
//! on running experiments come from the confidence sequence (see `sequential`).

use super::dist::{norm_cdf, p_value, t_cdf};
use super::{checked, Alternative, MeanStats, Proportion, RateStats, Result, StatsError};

/// A test statistic and its p-value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TestResult {
    pub statistic: f64,
    pub p_value: f64,
}

/// Pooled two-proportion z-test of `b − a` (statsmodels' `proportions_ztest`).
pub fn two_proportion_z(a: Proportion, b: Proportion, alt: Alternative) -> Result<TestResult> {
    let (pa, pb) = (a.rate()?, b.rate()?);
    let (na, nb) = (a.units as f64, b.units as f64);
    let pooled = (a.conversions + b.conversions) as f64 / (na + nb);
    let var = pooled * (1.0 - pooled) * (1.0 / na + 1.0 / nb);
    if var <= 0.0 {
        return Err(StatsError::NoVariation);
    }
    let z = checked("z", (pb - pa) / var.sqrt())?;
    Ok(TestResult {
        statistic: z,
        p_value: checked("p-value", p_value(z, alt, norm_cdf))?,
    })
}

/// Welch's t-test with the Welch–Satterthwaite degrees of freedom.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WelchResult {
    pub t: f64,
    pub df: f64,
    pub p_value: f64,
    /// Mean of b minus mean of a.
    pub difference: f64,
    /// Standard error of the difference.
    pub std_error: f64,
}

/// Welch's unequal-variance t-test of `b − a` (scipy's `ttest_ind_from_stats`, equal_var=False).
pub fn welch(a: MeanStats, b: MeanStats, alt: Alternative) -> Result<WelchResult> {
    for s in [a, b] {
        if s.n < 2 {
            return Err(StatsError::TooFewUnits {
                what: "Welch's t-test",
                min: 2,
                got: s.n,
            });
        }
    }
    let (va, vb) = (a.variance()? / a.n as f64, b.variance()? / b.n as f64);
    let se2 = va + vb;
    if se2 <= 0.0 {
        return Err(StatsError::NoVariation);
    }
    let difference = b.mean()? - a.mean()?;
    let std_error = se2.sqrt();
    let t = checked("t", difference / std_error)?;
    let df = checked(
        "degrees of freedom",
        se2 * se2 / (va * va / (a.n as f64 - 1.0) + vb * vb / (b.n as f64 - 1.0)),
    )?;
    let p = p_value(t, alt, |x| t_cdf(x, df));
    Ok(WelchResult {
        t,
        df,
        p_value: checked("p-value", p)?,
        difference,
        std_error,
    })
}

/// The score test of equal Poisson rates for `b` vs `a` (statsmodels' `test_poisson_2indep`,
/// method "score", ratio compared with 1).
pub fn poisson_rate_score(a: RateStats, b: RateStats, alt: Alternative) -> Result<TestResult> {
    let total = (a.events + b.events) as f64;
    if total == 0.0 {
        return Err(StatsError::NoEvents);
    }
    let d = b.exposure / a.exposure;
    let z = checked(
        "z",
        (b.events as f64 - d * a.events as f64) / (d * total).sqrt(),
    )?;
    Ok(TestResult {
        statistic: z,
        p_value: checked("p-value", p_value(z, alt, norm_cdf))?,
    })
}

#[cfg(test)]
mod unit {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300)
    }

    /// The worked values of `shared/reference/statistics.md` (full coverage is in the golden
    /// tests).
    #[test]
    fn reference_examples() {
        let a = MeanStats::from_mean_sd(12.0, 39f64.sqrt(), 11).unwrap();
        let b = MeanStats::from_mean_sd(15.0, 87.5f64.sqrt(), 13).unwrap();
        let w = welch(a, b, Alternative::TwoSided).unwrap();
        assert!(close(w.t, 0.935846, 1e-6), "{w:?}");
        assert!(close(w.p_value, 0.359998, 1e-5), "{w:?}");
        assert!(close(w.df, 20.9846, 1e-5), "{w:?}");

        let z = two_proportion_z(
            Proportion::new(200, 2000).unwrap(),
            Proportion::new(250, 2000).unwrap(),
            Alternative::TwoSided,
        )
        .unwrap();
        assert!(close(z.statistic, 2.501955, 1e-6), "{z:?}");
        assert!(close(z.p_value, 0.012351, 1e-4), "{z:?}");

        let p = poisson_rate_score(
            RateStats::new(30, 100.0).unwrap(),
            RateStats::new(60, 120.0).unwrap(),
            Alternative::TwoSided,
        )
        .unwrap();
        assert!(close(p.statistic, 2.309401, 1e-6), "{p:?}");
        assert!(close(p.p_value, 0.020921, 1e-4), "{p:?}");
    }

    #[test]
    fn degenerate_inputs_are_errors_not_nan() {
        let zero = Proportion::new(0, 100).unwrap();
        assert_eq!(
            two_proportion_z(zero, zero, Alternative::TwoSided),
            Err(StatsError::NoVariation)
        );
        let empty = Proportion::new(0, 0).unwrap();
        assert!(two_proportion_z(empty, zero, Alternative::TwoSided).is_err());
        let flat = MeanStats::new(5, 10.0, 20.0).unwrap();
        assert_eq!(
            welch(flat, flat, Alternative::TwoSided),
            Err(StatsError::NoVariation)
        );
        let one = MeanStats::new(1, 3.0, 9.0).unwrap();
        assert!(welch(one, flat, Alternative::TwoSided).is_err());
        let none = RateStats::new(0, 10.0).unwrap();
        assert_eq!(
            poisson_rate_score(none, none, Alternative::TwoSided),
            Err(StatsError::NoEvents)
        );
    }
}
