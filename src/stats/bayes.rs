//! The Bayesian view GrowthBook shows by default: with a flat prior the posterior of the lift is
//! normal with the estimate as its mean and the standard error as its deviation.

use super::dist::{norm_cdf, norm_pdf};
use super::{checked, positive, Result};

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct BayesView {
    /// Chance the treatment is better than the control.
    pub chance_to_win: f64,
    /// Expected loss of keeping the control if the treatment is in fact better.
    pub risk_control: f64,
    /// Expected loss of shipping the treatment if it is in fact worse.
    pub risk_treatment: f64,
}

/// For a lift with posterior N(mean, sd²); `higher_is_better` false flips the sides.
pub fn bayes_view(mean: f64, sd: f64, higher_is_better: bool) -> Result<BayesView> {
    positive("posterior standard deviation", sd)?;
    let z = mean / sd;
    let up = mean * norm_cdf(z) + sd * norm_pdf(z);
    let down = -mean * norm_cdf(-z) + sd * norm_pdf(z);
    let (win, rc, rt) = if higher_is_better {
        (norm_cdf(z), up, down)
    } else {
        (norm_cdf(-z), down, up)
    };
    Ok(BayesView {
        chance_to_win: checked("chance to win", win)?,
        risk_control: checked("risk", rc)?,
        risk_treatment: checked("risk", rt)?,
    })
}
