//! The peeking simulation: A/A tests looked at every hour for 14 days. vibe's decisions (from
//! `analysis::analyse`) must keep the false-positive rate at or under alpha; stopping at the
//! first significant fixed-horizon test on the same data must not.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Binomial, Distribution};

use super::analysis::{analyse, ArmData, MetricKind, Plan, Verdict};
use super::hypothesis::two_proportion_z;
use super::{Alpha, Alternative, Proportion};

const SIMULATIONS: usize = 1000;
const LOOKS: usize = 14 * 24;
const UNITS_PER_HOUR: u64 = 40;
const RATE: f64 = 0.1;

/// Fraction of A/A tests with a false decision at any look: (vibe, naive).
fn false_positive_rates(arms: usize, seed: u64) -> (f64, f64) {
    let alpha = Alpha::new(0.05).unwrap();
    let plan = Plan {
        metric: MetricKind::Proportion,
        alpha,
        planned_total: (LOOKS as u64 * UNITS_PER_HOUR * arms as u64) as f64,
        weights: vec![1.0; arms],
        randomized: true,
        higher_is_better: true,
        min_effect: 0.0,
    };
    let naive_alpha = alpha.split(arms - 1).get();
    let hourly = Binomial::new(UNITS_PER_HOUR, RATE).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut vibe_fp, mut naive_fp) = (0usize, 0usize);
    for _ in 0..SIMULATIONS {
        let mut conversions = vec![0u64; arms];
        let mut units = 0u64;
        let (mut vibe_hit, mut naive_hit) = (false, false);
        for look in 0..LOOKS {
            units += UNITS_PER_HOUR;
            for c in conversions.iter_mut() {
                *c += hourly.sample(&mut rng);
            }
            let data: Vec<ArmData> = conversions
                .iter()
                .map(|&c| ArmData::Proportion(Proportion::new(c, units).unwrap()))
                .collect();
            if !vibe_hit {
                let a = analyse(&plan, &data, &[], look + 1 == LOOKS).unwrap();
                vibe_hit = matches!(a.verdict, Verdict::Ship { .. } | Verdict::StopHarm { .. });
            }
            if !naive_hit {
                let control = Proportion::new(conversions[0], units).unwrap();
                naive_hit = conversions[1..].iter().any(|&c| {
                    two_proportion_z(
                        control,
                        Proportion::new(c, units).unwrap(),
                        Alternative::TwoSided,
                    )
                    .is_ok_and(|r| r.p_value < naive_alpha)
                });
            }
            if vibe_hit && naive_hit {
                break;
            }
        }
        vibe_fp += usize::from(vibe_hit);
        naive_fp += usize::from(naive_hit);
    }
    (
        vibe_fp as f64 / SIMULATIONS as f64,
        naive_fp as f64 / SIMULATIONS as f64,
    )
}

/// Alpha plus 2.6 standard errors of a simulated rate: the simulation's own noise.
fn ceiling() -> f64 {
    0.05 + 2.6 * (0.05 * 0.95 / SIMULATIONS as f64).sqrt()
}

#[test]
fn hourly_looks_keep_false_positives_under_alpha_with_two_arms() {
    let (vibe, naive) = false_positive_rates(2, 1);
    eprintln!("2 arms, {SIMULATIONS} A/A tests, {LOOKS} hourly looks: vibe {vibe}, naive {naive}");
    assert!(
        vibe <= ceiling(),
        "vibe's false-positive rate {vibe} exceeds alpha"
    );
    assert!(
        naive > 0.25,
        "naive peeking should be far above alpha, got {naive}"
    );
}

#[test]
fn hourly_looks_keep_false_positives_under_alpha_with_four_arms() {
    let (vibe, naive) = false_positive_rates(4, 2);
    eprintln!("4 arms, {SIMULATIONS} A/A tests, {LOOKS} hourly looks: vibe {vibe}, naive {naive}");
    assert!(
        vibe <= ceiling(),
        "vibe's false-positive rate {vibe} exceeds alpha"
    );
    assert!(
        naive > 0.25,
        "naive peeking should be far above alpha, got {naive}"
    );
}
