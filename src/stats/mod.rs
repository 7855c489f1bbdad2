//! The statistics core of the experimentation engine: tests, intervals, power, multiple
//! comparisons, sample ratio mismatch, the always-valid confidence sequence and the Bayesian view.
//!
//! Pure functions on sufficient statistics (units, conversions, sum, sum of squares, exposure):
//! no IO, no clock, no randomness. Invalid input is a [`StatsError`], never a panic, and no
//! function returns NaN or an infinity for valid input. Every function here is checked against
//! scipy, statsmodels and gbstats by the golden tests in `tests/golden/`.
//!
//! Conventions: arm `a` is the control and arm `b` the treatment; differences are `b − a`.

pub mod analysis;
pub mod bayes;
pub mod dist;
#[cfg(test)]
mod golden;
pub mod hypothesis;
pub mod intervals;
pub mod multiple;
#[cfg(test)]
mod peeking;
pub mod power;
pub mod sequential;
pub mod srm;
pub mod summary;

pub use summary::{MeanStats, Proportion, RateStats};

/// Why a statistic can't be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StatsError {
    #[error("alpha must be between 0 and 0.5, got {0}")]
    Alpha(f64),
    #[error("power must be between 0.5 and 1, got {0}")]
    Power(f64),
    #[error("{name} must be a finite number, got {value}")]
    NotFinite { name: &'static str, value: f64 },
    #[error("{name} must be positive, got {value}")]
    NotPositive { name: &'static str, value: f64 },
    #[error("a proportion must be between 0 and 1 (exclusive), got {0}")]
    Proportion(f64),
    #[error("{conversions} conversions out of {units} units: conversions can't exceed units")]
    ConversionsExceedUnits { conversions: u64, units: u64 },
    #[error("{what} needs at least {min} units in each arm, got {got}")]
    TooFewUnits {
        what: &'static str,
        min: u64,
        got: u64,
    },
    #[error("the sum of squares is too small for the sum: the variance would be negative")]
    NegativeVariance,
    #[error("no variation in either arm: every unit has the same value, so there is nothing to test yet")]
    NoVariation,
    #[error("no events in either arm yet")]
    NoEvents,
    #[error("the control's mean is zero, so a relative lift is undefined")]
    ZeroBaseline,
    #[error("an experiment needs 2 to 5 arms, got {0}")]
    Arms(usize),
    #[error("the minimum detectable effect must be non-zero and keep the rate between 0 and 1")]
    Effect,
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T> = std::result::Result<T, StatsError>;

/// A significance level: the false-positive rate a decision may have, in (0, 0.5).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, serde::Serialize)]
#[serde(transparent)]
pub struct Alpha(f64);

impl Alpha {
    pub fn new(a: f64) -> Result<Alpha> {
        if a.is_finite() && a > 0.0 && a < 0.5 {
            Ok(Alpha(a))
        } else {
            Err(StatsError::Alpha(a))
        }
    }

    pub fn get(self) -> f64 {
        self.0
    }

    /// Bonferroni's share of alpha for one of `m` comparisons.
    pub fn split(self, m: usize) -> Alpha {
        Alpha(self.0 / m.max(1) as f64)
    }
}

/// Statistical power: the chance of detecting a true effect of the planned size, in (0.5, 1).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Power(f64);

impl Power {
    pub fn new(p: f64) -> Result<Power> {
        if p.is_finite() && p > 0.5 && p < 1.0 {
            Ok(Power(p))
        } else {
            Err(StatsError::Power(p))
        }
    }

    pub fn get(self) -> f64 {
        self.0
    }
}

/// Which differences a test looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Alternative {
    #[default]
    TwoSided,
    /// The treatment is larger than the control.
    Larger,
    /// The treatment is smaller than the control.
    Smaller,
}

/// A two-sided (or one-sided, with an infinite end) interval.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

impl Interval {
    pub fn contains(&self, x: f64) -> bool {
        self.low <= x && x <= self.high
    }

    pub fn around(centre: f64, half_width: f64) -> Interval {
        Interval {
            low: centre - half_width,
            high: centre + half_width,
        }
    }
}

pub(crate) fn finite(name: &'static str, value: f64) -> Result<f64> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(StatsError::NotFinite { name, value })
    }
}

pub(crate) fn positive(name: &'static str, value: f64) -> Result<f64> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(StatsError::NotPositive { name, value })
    }
}

/// Checks a result before it leaves the core: valid input must never give NaN or infinity.
pub(crate) fn checked(name: &'static str, value: f64) -> Result<f64> {
    finite(name, value)
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn alpha_and_power_bounds() {
        for (a, ok) in [
            (0.05, true),
            (0.0, false),
            (0.5, false),
            (f64::NAN, false),
            (0.499, true),
            (-0.1, false),
        ] {
            assert_eq!(Alpha::new(a).is_ok(), ok, "alpha {a}");
        }
        for (p, ok) in [(0.8, true), (0.5, false), (1.0, false), (0.99, true)] {
            assert_eq!(Power::new(p).is_ok(), ok, "power {p}");
        }
        assert!((Alpha::new(0.05).unwrap().split(4).get() - 0.0125).abs() < 1e-15);
    }
}
