//! Sufficient statistics of one arm, validated on construction.

use super::{finite, positive, Result, StatsError};

/// Conversions out of units (a proportion metric).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proportion {
    pub conversions: u64,
    pub units: u64,
}

impl Proportion {
    pub fn new(conversions: u64, units: u64) -> Result<Self> {
        if conversions > units {
            return Err(StatsError::ConversionsExceedUnits { conversions, units });
        }
        Ok(Proportion { conversions, units })
    }

    /// The observed rate; errors on zero units.
    pub fn rate(&self) -> Result<f64> {
        if self.units == 0 {
            return Err(StatsError::TooFewUnits {
                what: "a rate",
                min: 1,
                got: 0,
            });
        }
        Ok(self.conversions as f64 / self.units as f64)
    }

    /// As a mean metric: the values are 0 or 1, so Σy = Σy² = conversions.
    pub fn as_mean(&self) -> MeanStats {
        MeanStats {
            n: self.units,
            sum: self.conversions as f64,
            sum_sq: self.conversions as f64,
        }
    }
}

/// Count, sum and sum of squares of a continuous metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanStats {
    pub n: u64,
    pub sum: f64,
    pub sum_sq: f64,
}

impl MeanStats {
    pub fn new(n: u64, sum: f64, sum_sq: f64) -> Result<Self> {
        finite("sum", sum)?;
        finite("sum of squares", sum_sq)?;
        if sum_sq < 0.0 {
            return Err(StatsError::NegativeVariance);
        }
        let s = MeanStats { n, sum, sum_sq };
        if n >= 2 && s.raw_variance() < -1e-9 * sum_sq.max(1.0) {
            return Err(StatsError::NegativeVariance);
        }
        Ok(s)
    }

    /// From a mean, a standard deviation and n, as reports state them.
    pub fn from_mean_sd(mean: f64, sd: f64, n: u64) -> Result<Self> {
        finite("mean", mean)?;
        finite("standard deviation", sd)?;
        if sd < 0.0 {
            return Err(StatsError::Invalid(format!(
                "a standard deviation can't be negative, got {sd}"
            )));
        }
        let nf = n as f64;
        let sum = mean * nf;
        let sum_sq = sd * sd * (nf - 1.0).max(0.0) + sum * sum / nf.max(1.0);
        Ok(MeanStats { n, sum, sum_sq })
    }

    pub fn mean(&self) -> Result<f64> {
        if self.n == 0 {
            return Err(StatsError::TooFewUnits {
                what: "a mean",
                min: 1,
                got: 0,
            });
        }
        Ok(self.sum / self.n as f64)
    }

    fn raw_variance(&self) -> f64 {
        let n = self.n as f64;
        (self.sum_sq - self.sum * self.sum / n) / (n - 1.0)
    }

    /// The sample variance (n − 1 in the denominator), clamped at zero against rounding.
    pub fn variance(&self) -> Result<f64> {
        if self.n < 2 {
            return Err(StatsError::TooFewUnits {
                what: "a variance",
                min: 2,
                got: self.n,
            });
        }
        Ok(self.raw_variance().max(0.0))
    }
}

/// Events over an exposure (a count metric: events per unit of exposure).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateStats {
    pub events: u64,
    pub exposure: f64,
}

impl RateStats {
    pub fn new(events: u64, exposure: f64) -> Result<Self> {
        positive("exposure", exposure)?;
        Ok(RateStats { events, exposure })
    }

    pub fn rate(&self) -> f64 {
        self.events as f64 / self.exposure
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn summaries_validate() {
        assert!(Proportion::new(3, 2).is_err());
        assert!(Proportion::new(0, 0).unwrap().rate().is_err());
        assert!(MeanStats::new(10, 5.0, -1.0).is_err());
        assert_eq!(
            MeanStats::new(3, 30.0, 10.0),
            Err(StatsError::NegativeVariance)
        );
        assert!(RateStats::new(3, 0.0).is_err());
        let m = MeanStats::from_mean_sd(15.0, 87.5f64.sqrt(), 13).unwrap();
        assert!((m.variance().unwrap() - 87.5).abs() < 1e-9);
        assert!((m.mean().unwrap() - 15.0).abs() < 1e-12);
    }
}
