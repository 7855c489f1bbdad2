//! Corrections for comparing several variants or metrics at once.

use super::{Result, StatsError};

/// How adjusted p-values are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Correction {
    Bonferroni,
    #[default]
    Holm,
    /// Benjamini–Hochberg: controls the false discovery rate instead of the family-wise error.
    BenjaminiHochberg,
}

fn validate(p: &[f64]) -> Result<()> {
    for &x in p {
        if !(0.0..=1.0).contains(&x) {
            return Err(StatsError::Invalid(format!("{x} is not a p-value")));
        }
    }
    Ok(())
}

/// Adjusted p-values, in the input's order (statsmodels' `multipletests`).
pub fn adjust(p: &[f64], method: Correction) -> Result<Vec<f64>> {
    validate(p)?;
    let m = p.len();
    let mf = m as f64;
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&i, &j| p[i].total_cmp(&p[j]).then(i.cmp(&j)));
    let mut out = vec![0.0; m];
    match method {
        Correction::Bonferroni => {
            for (o, x) in out.iter_mut().zip(p) {
                *o = (x * mf).min(1.0);
            }
        }
        Correction::Holm => {
            let mut running = 0.0f64;
            for (rank, &i) in order.iter().enumerate() {
                running = running.max((p[i] * (mf - rank as f64)).min(1.0));
                out[i] = running;
            }
        }
        Correction::BenjaminiHochberg => {
            let mut running = 1.0f64;
            for (rank, &i) in order.iter().enumerate().rev() {
                running = running.min(p[i] * mf / (rank as f64 + 1.0));
                out[i] = running.min(1.0);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn reference_corrections() {
        let p = [0.01, 0.04, 0.03, 0.005, 0.20];
        let cases = [
            (Correction::Holm, [0.04, 0.09, 0.09, 0.025, 0.2]),
            (
                Correction::BenjaminiHochberg,
                [0.025, 0.05, 0.05, 0.025, 0.2],
            ),
            (Correction::Bonferroni, [0.05, 0.2, 0.15, 0.025, 1.0]),
        ];
        for (method, want) in cases {
            let got = adjust(&p, method).unwrap();
            for (g, w) in got.iter().zip(want) {
                assert!((g - w).abs() < 1e-12, "{method:?}: {got:?}");
            }
        }
        assert!(adjust(&[1.5], Correction::Holm).is_err());
        assert_eq!(adjust(&[], Correction::Holm).unwrap(), Vec::<f64>::new());
    }
}
