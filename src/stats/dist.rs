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

/// The t quantile for probability `p`: the Cornish–Fisher expansion around the normal quantile
/// as a start (statrs's own inverse for few degrees of freedom), then Newton steps on the CDF to
/// full precision. statrs's inverse alone is slow and off by about 1e-9 relative at tens of
/// thousands of degrees of freedom. From 1,000 degrees of freedom on, the expansion's first
/// omitted term is below 1e-15 relative, so no polishing is needed.
pub fn t_ppf(p: f64, df: f64) -> f64 {
    let Ok(t) = StudentsT::new(0.0, 1.0, df) else {
        return norm_ppf(p);
    };
    let mut x = if df >= 8.0 {
        let z = norm_ppf(p);
        let (z2, v) = (z * z, df);
        let g1 = (z2 + 1.0) * z / 4.0;
        let g2 = ((5.0 * z2 + 16.0) * z2 + 3.0) * z / 96.0;
        let g3 = (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) * z / 384.0;
        let g4 = ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) * z / 92160.0;
        let x = z + g1 / v + g2 / (v * v) + g3 / v.powi(3) + g4 / v.powi(4);
        if df >= 1000.0 && z.abs() < 10.0 {
            return x;
        }
        x
    } else {
        t.inverse_cdf(p)
    };
    for _ in 0..4 {
        let density = t.pdf(x);
        if !(density.is_finite() && density > 0.0) {
            break;
        }
        let step = (t.cdf(x) - p) / density;
        if !step.is_finite() {
            break;
        }
        x -= step;
        if step.abs() <= 4.0 * f64::EPSILON * x.abs().max(1e-300) {
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
