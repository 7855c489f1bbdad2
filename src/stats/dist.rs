//! The distributions the tests need, on statrs, with tails computed without cancellation.

use statrs::distribution::{ChiSquared, Continuous, ContinuousCDF, Normal, StudentsT};

fn std_normal() -> Normal {
    Normal::standard()
}

/// Φ(x).
pub fn norm_cdf(x: f64) -> f64 {
    std_normal().cdf(x)
}

/// 1 − Φ(x), accurate in the upper tail.
pub fn norm_sf(x: f64) -> f64 {
    std_normal().cdf(-x)
}

/// φ(x).
pub fn norm_pdf(x: f64) -> f64 {
    std_normal().pdf(x)
}

/// Φ⁻¹(p) for p in (0, 1).
pub fn norm_ppf(p: f64) -> f64 {
    std_normal().inverse_cdf(p)
}

/// Φ⁻¹(1 − p), the upper critical value.
pub fn norm_isf(p: f64) -> f64 {
    -norm_ppf(p)
}

/// The Student t distribution's CDF with `df` degrees of freedom (df > 0).
pub fn t_cdf(x: f64, df: f64) -> f64 {
    match StudentsT::new(0.0, 1.0, df) {
        Ok(t) => t.cdf(x),
        Err(_) => norm_cdf(x),
    }
}

/// The t quantile for probability `p`, polished with Newton steps on the CDF (statrs's inverse
/// alone is off by about 1e-9 relative at tens of thousands of degrees of freedom).
pub fn t_ppf(p: f64, df: f64) -> f64 {
    let Ok(t) = StudentsT::new(0.0, 1.0, df) else {
        return norm_ppf(p);
    };
    let mut x = t.inverse_cdf(p);
    for _ in 0..3 {
        let density = t.pdf(x);
        if !(density.is_finite() && density > 0.0) {
            break;
        }
        let step = (t.cdf(x) - p) / density;
        if !step.is_finite() {
            break;
        }
        x -= step;
        if step.abs() <= 1e-16 * x.abs() {
            break;
        }
    }
    x
}

/// Upper tail of the chi-square distribution with `k` degrees of freedom.
pub fn chi2_sf(x: f64, k: f64) -> f64 {
    match ChiSquared::new(k) {
        Ok(c) => c.sf(x),
        Err(_) => f64::NAN,
    }
}

/// The p-value of a statistic with lower-tail function `cdf`, for an alternative.
pub fn p_value(stat: f64, alternative: super::Alternative, cdf: impl Fn(f64) -> f64) -> f64 {
    use super::Alternative::*;
    match alternative {
        TwoSided => (2.0 * cdf(-stat.abs())).min(1.0),
        Larger => cdf(-stat),
        Smaller => cdf(stat),
    }
}
