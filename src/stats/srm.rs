//! Sample ratio mismatch: did randomisation split units as planned?

use super::dist::chi2_sf;
use super::{checked, Result, StatsError};

/// The p-value below which vibe raises a sample ratio mismatch.
pub const SRM_THRESHOLD: f64 = 0.001;

/// Pearson's chi-square test of observed units against planned weights (scipy's `chisquare`).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct SrmCheck {
    pub chi_square: f64,
    pub p_value: f64,
}

impl SrmCheck {
    pub fn mismatch(&self) -> bool {
        self.p_value < SRM_THRESHOLD
    }
}

pub fn srm(observed: &[u64], weights: &[f64]) -> Result<SrmCheck> {
    if observed.len() != weights.len() || observed.len() < 2 {
        return Err(StatsError::Invalid(
            "the check needs one planned weight for each of at least two arms".into(),
        ));
    }
    if weights.iter().any(|w| !(w.is_finite() && *w > 0.0)) {
        return Err(StatsError::Invalid(
            "planned weights must be positive".into(),
        ));
    }
    let total: f64 = observed.iter().map(|&o| o as f64).sum();
    if total == 0.0 {
        return Err(StatsError::TooFewUnits {
            what: "a sample ratio check",
            min: 1,
            got: 0,
        });
    }
    let wsum: f64 = weights.iter().sum();
    let chi: f64 = observed
        .iter()
        .zip(weights)
        .map(|(&o, w)| {
            let e = total * w / wsum;
            (o as f64 - e).powi(2) / e
        })
        .sum();
    Ok(SrmCheck {
        chi_square: checked("chi-square", chi)?,
        p_value: checked("p-value", chi2_sf(chi, observed.len() as f64 - 1.0))?,
    })
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn balanced_and_skewed_splits() {
        let ok = srm(&[5000, 5030], &[0.5, 0.5]).unwrap();
        assert!(!ok.mismatch(), "{ok:?}");
        let bad = srm(&[5000, 5400], &[1.0, 1.0]).unwrap();
        assert!(bad.mismatch(), "{bad:?}");
        assert!(srm(&[1, 2], &[1.0]).is_err());
        assert!(srm(&[0, 0], &[1.0, 1.0]).is_err());
    }
}
