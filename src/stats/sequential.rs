//! The always-valid confidence sequence vibe decides with.
//!
//! vibe looks at running experiments every hour. Stopping at the first significant fixed-horizon
//! test would make false positives far more likely than alpha (about 41% after a week of hourly
//! looks at α = 5%). The asymptotic confidence sequence of Waudby-Smith et al. (the one in
//! GrowthBook's sequential mode) stays valid however often it is looked at: every decision comes
//! from it, at and after the planned sample size too.

use super::{checked, positive, Alpha, Interval, Result};

/// The confidence sequence tuned for `planned_total` units (N*, both arms together).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConfidenceSequence {
    pub alpha: Alpha,
    pub planned_total: f64,
}

/// One look: the interval and the always-valid p-value.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct SequentialLook {
    pub interval: Interval,
    pub p_value: f64,
}

impl ConfidenceSequence {
    pub fn new(alpha: Alpha, planned_total: f64) -> Result<Self> {
        positive("planned sample size", planned_total)?;
        Ok(ConfidenceSequence {
            alpha,
            planned_total,
        })
    }

    fn rho(&self) -> f64 {
        let l = -2.0 * self.alpha.get().ln();
        ((l + (l + 1.0).ln()) / self.planned_total).sqrt()
    }

    /// The interval for an estimate with standard error `std_error` after `n` units in all.
    pub fn look(&self, estimate: f64, std_error: f64, n: f64) -> Result<SequentialLook> {
        positive("units seen", n)?;
        positive("standard error", std_error)?;
        let rho = self.rho();
        let variance = std_error * std_error;
        let s2 = variance * n;
        let nr2 = n * rho * rho;
        let half = s2.sqrt()
            * ((2.0 * (nr2 + 1.0)) * ((nr2 + 1.0).sqrt() / self.alpha.get()).ln()
                / (n * rho).powi(2))
            .sqrt();
        let st2 = estimate * estimate * n / variance;
        let e_value = (rho * rho * st2 / (2.0 * (nr2 + 1.0))).exp() / (nr2 + 1.0).sqrt();
        let p = if e_value.is_finite() {
            (1.0 / e_value).min(1.0)
        } else {
            0.0
        };
        Ok(SequentialLook {
            interval: Interval::around(estimate, checked("interval", half)?),
            p_value: checked("p-value", p)?,
        })
    }
}
