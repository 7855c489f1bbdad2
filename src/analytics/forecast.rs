//! Forecasts of followers and engagement with prediction intervals, from augurs' automatic ETS
//! (exponential smoothing, model chosen by AICc, as R's `forecast::ets` and statsforecast do).
//! With too little history the report says so instead of guessing.

use augurs_core::{Fit, Predict};
use augurs_ets::AutoETS;
use serde::Serialize;

/// Fewer daily points than this and there is no forecast.
pub const MIN_HISTORY: usize = 21;

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Forecast {
    Ready {
        /// Days ahead, starting tomorrow.
        horizon: usize,
        /// Coverage of the interval, e.g. 0.8.
        level: f64,
        point: Vec<f64>,
        lower: Vec<f64>,
        upper: Vec<f64>,
        /// The ETS model the search chose, e.g. "ETS(A,A,N)".
        model: String,
    },
    TooLittleHistory {
        have: usize,
        need: usize,
    },
    Failed {
        reason: String,
    },
}

impl Forecast {
    /// The last forecast day's point and interval.
    pub fn at_horizon(&self) -> Option<(f64, f64, f64)> {
        match self {
            Forecast::Ready {
                point,
                lower,
                upper,
                ..
            } => Some((*point.last()?, *lower.last()?, *upper.last()?)),
            _ => None,
        }
    }

    /// The sum over the first `days` days: point and a conservative interval (the sum of the
    /// daily bounds, wider than the true interval of the sum).
    pub fn total(&self, days: usize) -> Option<(f64, f64, f64)> {
        match self {
            Forecast::Ready {
                point,
                lower,
                upper,
                ..
            } if point.len() >= days => Some((
                point[..days].iter().sum(),
                lower[..days].iter().sum(),
                upper[..days].iter().sum(),
            )),
            _ => None,
        }
    }
}

/// Forecasts `horizon` days after a daily series, with `level` prediction intervals.
pub fn forecast(series: &[f64], horizon: usize, level: f64) -> Forecast {
    if series.len() < MIN_HISTORY {
        return Forecast::TooLittleHistory {
            have: series.len(),
            need: MIN_HISTORY,
        };
    }
    if series.iter().any(|v| !v.is_finite()) {
        return Forecast::Failed {
            reason: "the series has gaps".into(),
        };
    }
    // A constant series has nothing to fit; its forecast is itself.
    if series.windows(2).all(|w| w[0] == w[1]) {
        let v = series[0];
        return Forecast::Ready {
            horizon,
            level,
            point: vec![v; horizon],
            lower: vec![v; horizon],
            upper: vec![v; horizon],
            model: "constant".into(),
        };
    }
    let search = match AutoETS::new(1, "ZZN") {
        Ok(s) => s,
        Err(e) => {
            return Forecast::Failed {
                reason: e.to_string(),
            }
        }
    };
    let fitted = match search.fit(series) {
        Ok(f) => f,
        Err(e) => {
            return Forecast::Failed {
                reason: e.to_string(),
            }
        }
    };
    let model = format!("{:?}", fitted.model().model_type());
    match fitted.predict(horizon, level) {
        Ok(f) => match f.intervals {
            Some(i)
                if f.point
                    .iter()
                    .chain(&i.lower)
                    .chain(&i.upper)
                    .all(|v| v.is_finite()) =>
            {
                Forecast::Ready {
                    horizon,
                    level,
                    point: f.point,
                    lower: i.lower,
                    upper: i.upper,
                    model,
                }
            }
            _ => Forecast::Failed {
                reason: "the model gave no usable interval".into(),
            },
        },
        Err(e) => Forecast::Failed {
            reason: e.to_string(),
        },
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn a_steady_trend_is_extended_with_an_interval_around_it() {
        let series: Vec<f64> = (0..60)
            .map(|i| 1000.0 + 10.0 * i as f64 + if i % 2 == 0 { 3.0 } else { -3.0 })
            .collect();
        let f = forecast(&series, 30, 0.8);
        let (p, lo, hi) = f.at_horizon().expect("a forecast");
        assert!((p - 1890.0).abs() < 60.0, "{p}");
        assert!(lo < p && p < hi, "{lo} {p} {hi}");
        let (total, tlo, thi) = f.total(7).unwrap();
        assert!(tlo < total && total < thi);
    }

    #[test]
    fn short_or_flat_series() {
        assert_eq!(
            forecast(&[1.0; 5], 7, 0.8),
            Forecast::TooLittleHistory {
                have: 5,
                need: MIN_HISTORY
            }
        );
        let flat = forecast(&[42.0; 30], 7, 0.8);
        assert_eq!(flat.at_horizon(), Some((42.0, 42.0, 42.0)));
    }
}
