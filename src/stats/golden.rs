//! Golden tests: every method against the values scipy, statsmodels and gbstats computed for the
//! same inputs (`tests/golden/*.json`, made by `tests/golden/regenerate.sh`). Agreement is to
//! 1e-9 relative, except Student t tails at more than 1e5 degrees of freedom, where statrs's
//! precision ends and 1e-7 is allowed (shared/reference/statistics.md).

use serde_json::Value;

use super::bayes::bayes_view;
use super::hypothesis::{poisson_rate_score, two_proportion_z, welch};
use super::intervals::{katz, lift, mean_log_ratio, newcombe, rate_log_ratio, wilson};
use super::multiple::{adjust, Correction};
use super::power::*;
use super::sequential::ConfidenceSequence;
use super::srm::srm;
use super::*;

const REL: f64 = 1e-9;
const REL_HUGE_DF: f64 = 1e-7;

fn scipy() -> Value {
    serde_json::from_str(include_str!("../../tests/golden/scipy_statsmodels.json")).expect("json")
}

fn gb() -> Value {
    serde_json::from_str(include_str!("../../tests/golden/gbstats.json")).expect("json")
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn u(v: &Value) -> u64 {
    v.as_f64()
        .map(|x| x as u64)
        .unwrap_or_else(|| panic!("not a count: {v}"))
}

fn alt(v: &Value) -> Alternative {
    match v.as_str() {
        Some("larger") => Alternative::Larger,
        Some("smaller") => Alternative::Smaller,
        _ => Alternative::TwoSided,
    }
}

#[track_caller]
fn close(what: &str, got: f64, want: f64, rel: f64, case: &Value) {
    let ok = if want == 0.0 {
        got.abs() <= 1e-12
    } else {
        (got - want).abs() <= rel * want.abs()
    };
    assert!(
        ok,
        "{what}: got {got:e}, want {want:e} (rel {:e}) in {case}",
        ((got - want) / want).abs()
    );
}

fn cases<'a>(v: &'a Value, key: &str) -> &'a Vec<Value> {
    let list = v[key].as_array().unwrap_or_else(|| panic!("no {key}"));
    assert!(!list.is_empty(), "{key} has no cases");
    list
}

fn mean_stats(v: &Value) -> MeanStats {
    MeanStats::new(u(&v["n"]), f(&v["sum"]), f(&v["sum_sq"])).unwrap()
}

fn prop(v: &Value) -> Proportion {
    Proportion::new(u(&v[0]), u(&v[1])).unwrap()
}

#[test]
fn welch_t_test() {
    let g = scipy();
    for c in cases(&g, "welch") {
        let r = welch(
            mean_stats(&c["a"]),
            mean_stats(&c["b"]),
            alt(&c["alternative"]),
        );
        let e = &c["expected"];
        if e.is_null() {
            assert!(r.is_err(), "{c}");
            continue;
        }
        let r = r.unwrap_or_else(|err| panic!("{err}: {c}"));
        let tail_rel = if f(&e["df"]) > 1e5 { REL_HUGE_DF } else { REL };
        close("t", r.t, f(&e["t"]), REL, c);
        close("df", r.df, f(&e["df"]), REL, c);
        close("p", r.p_value, f(&e["p_value"]), tail_rel, c);
    }
}

#[test]
fn two_proportion_z_test() {
    let g = scipy();
    for c in cases(&g, "proportions_ztest") {
        let r = two_proportion_z(prop(&c["a"]), prop(&c["b"]), alt(&c["alternative"]));
        let e = &c["expected"];
        if e.is_null() {
            assert!(r.is_err(), "{c}");
            continue;
        }
        let r = r.unwrap_or_else(|err| panic!("{err}: {c}"));
        close("z", r.statistic, f(&e["z"]), REL, c);
        close("p", r.p_value, f(&e["p_value"]), REL, c);
    }
}

#[test]
fn poisson_score_test() {
    let g = scipy();
    for c in cases(&g, "poisson_score") {
        let rate = |v: &Value| RateStats::new(u(&v[0]), f(&v[1])).unwrap();
        let r = poisson_rate_score(rate(&c["a"]), rate(&c["b"]), alt(&c["alternative"]));
        let e = &c["expected"];
        if e.is_null() {
            assert!(r.is_err(), "{c}");
            continue;
        }
        let r = r.unwrap_or_else(|err| panic!("{err}: {c}"));
        close("z", r.statistic, f(&e["z"]), REL, c);
        close("p", r.p_value, f(&e["p_value"]), REL, c);
    }
}

#[test]
fn wilson_and_newcombe_intervals() {
    let g = scipy();
    for c in cases(&g, "wilson") {
        let i = wilson(prop(&c["p"]), Alpha::new(f(&c["alpha"])).unwrap()).unwrap();
        close("low", i.low, f(&c["expected"][0]), REL, c);
        close("high", i.high, f(&c["expected"][1]), REL, c);
    }
    for c in cases(&g, "newcombe") {
        let i = newcombe(
            prop(&c["a"]),
            prop(&c["b"]),
            Alpha::new(f(&c["alpha"])).unwrap(),
        )
        .unwrap();
        close("low", i.low, f(&c["expected"][0]), REL, c);
        close("high", i.high, f(&c["expected"][1]), REL, c);
    }
}

#[test]
fn power_and_sample_size() {
    let g = scipy();
    let a = |c: &Value| Alpha::new(f(&c["alpha"])).unwrap();
    let p = |c: &Value| Power::new(f(&c["power"])).unwrap();
    for c in cases(&g, "sample_size_proportions") {
        let n = sample_size_proportions(
            f(&c["baseline"]),
            f(&c["diff"]),
            a(c),
            p(c),
            f(&c["ratio"]),
            alt(&c["alternative"]),
        )
        .unwrap();
        close("n", n.treatment, f(&c["expected"]), REL, c);
    }
    for c in cases(&g, "power_proportions") {
        let pw = power_proportions(
            f(&c["baseline"]),
            f(&c["diff"]),
            f(&c["n"]),
            a(c),
            f(&c["ratio"]),
            alt(&c["alternative"]),
        )
        .unwrap();
        close("power", pw, f(&c["expected"]), REL, c);
    }
    for c in cases(&g, "mde_proportions") {
        let m = mde_proportions(
            f(&c["baseline"]),
            f(&c["n"]),
            a(c),
            p(c),
            f(&c["ratio"]),
            alt(&c["alternative"]),
        );
        match c["expected"].as_f64() {
            None => assert!(m.is_err(), "{c}"),
            Some(want) => close("mde", m.unwrap(), want, 1e-9, c),
        }
    }
    for c in cases(&g, "sample_size_means") {
        let n = sample_size_means(
            f(&c["d"]),
            a(c),
            p(c),
            f(&c["ratio"]),
            alt(&c["alternative"]),
        )
        .unwrap();
        close("n", n.treatment, f(&c["expected"]), REL, c);
    }
    for c in cases(&g, "power_means") {
        let pw = power_means(
            f(&c["d"]),
            f(&c["n"]),
            a(c),
            f(&c["ratio"]),
            alt(&c["alternative"]),
        )
        .unwrap();
        close("power", pw, f(&c["expected"]), REL, c);
    }
    for c in cases(&g, "mde_means") {
        let d = mde_means(
            f(&c["n"]),
            a(c),
            p(c),
            f(&c["ratio"]),
            alt(&c["alternative"]),
        )
        .unwrap();
        close("mde", d, f(&c["expected"]), REL, c);
    }
    for c in cases(&g, "sample_size_rates") {
        let n = sample_size_rates(
            f(&c["control"]),
            f(&c["treatment"]),
            a(c),
            p(c),
            f(&c["ratio"]),
            alt(&c["alternative"]),
        )
        .unwrap();
        close("exposure", n.treatment, f(&c["expected"]), REL, c);
    }
}

#[test]
fn multiple_comparisons() {
    let g = scipy();
    for c in cases(&g, "multiple") {
        let p: Vec<f64> = c["p"].as_array().unwrap().iter().map(f).collect();
        let method = match c["method"].as_str() {
            Some("bonferroni") => Correction::Bonferroni,
            Some("holm") => Correction::Holm,
            _ => Correction::BenjaminiHochberg,
        };
        let got = adjust(&p, method).unwrap();
        for (g, w) in got.iter().zip(c["expected"].as_array().unwrap()) {
            close("adjusted", *g, f(w), REL, c);
        }
    }
}

#[test]
fn sample_ratio_mismatch() {
    let g = scipy();
    for c in cases(&g, "srm") {
        let obs: Vec<u64> = c["observed"].as_array().unwrap().iter().map(u).collect();
        let w: Vec<f64> = c["weights"].as_array().unwrap().iter().map(f).collect();
        let r = srm(&obs, &w).unwrap();
        close(
            "chi2",
            r.chi_square,
            f(&c["expected"]["chi_square"]),
            REL,
            c,
        );
        close("p", r.p_value, f(&c["expected"]["p_value"]), REL, c);
    }
}

/// An arm as gbstats describes it.
fn gb_arm(v: &Value) -> (MeanStats, bool) {
    let proportion = v["kind"] == "proportion";
    let s = if proportion {
        Proportion::new(u(&v["sum"]), u(&v["n"])).unwrap().as_mean()
    } else {
        mean_stats(v)
    };
    (s, proportion)
}

#[test]
fn confidence_sequence() {
    let g = gb();
    for c in cases(&g, "sequential") {
        let ((a, prop), (b, _)) = (gb_arm(&c["a"]), gb_arm(&c["b"]));
        let l = lift(&a, &b, prop, c["difference"] == "relative");
        let e = &c["expected"];
        if e.is_null() {
            assert!(l.is_err(), "{c}");
            continue;
        }
        let l = l.unwrap();
        let cs =
            ConfidenceSequence::new(Alpha::new(f(&c["alpha"])).unwrap(), f(&c["planned_total"]))
                .unwrap();
        let look = cs
            .look(l.estimate, l.std_error, (a.n + b.n) as f64)
            .unwrap();
        close("estimate", l.estimate, f(&e["estimate"]), REL, c);
        close("low", look.interval.low, f(&e["ci"][0]), REL, c);
        close("high", look.interval.high, f(&e["ci"][1]), REL, c);
        close("p", look.p_value, f(&e["p_value"]), REL, c);
    }
}

#[test]
fn fixed_horizon_lift_interval() {
    let g = gb();
    for c in cases(&g, "fixed_lift") {
        let ((a, prop), (b, _)) = (gb_arm(&c["a"]), gb_arm(&c["b"]));
        let e = &c["expected"];
        let l = lift(&a, &b, prop, c["difference"] == "relative");
        if e.is_null() {
            assert!(l.is_err(), "{c}");
            continue;
        }
        let l = l.unwrap();
        let i = l.interval(Alpha::new(f(&c["alpha"])).unwrap()).unwrap();
        let rel = if l.df > 1e5 { REL_HUGE_DF } else { REL };
        close("low", i.low, f(&e["ci"][0]), rel, c);
        close("high", i.high, f(&e["ci"][1]), rel, c);
    }
}

#[test]
fn bayesian_view() {
    let g = gb();
    for c in cases(&g, "bayes") {
        let ((a, prop), (b, _)) = (gb_arm(&c["a"]), gb_arm(&c["b"]));
        let e = &c["expected"];
        let l = lift(&a, &b, prop, c["difference"] == "relative").unwrap();
        let v = bayes_view(l.estimate, l.std_error, true).unwrap();
        close("mean", l.estimate, f(&e["mean"]), REL, c);
        close("sd", l.std_error, f(&e["sd"]), REL, c);
        close(
            "chance to win",
            v.chance_to_win,
            f(&e["chance_to_win"]),
            REL,
            c,
        );
        // A risk far in the tail (1e-96) is zero for any decision; below a millionth of the
        // posterior's spread it is compared absolutely.
        for (what, got, want) in [
            ("risk of control", v.risk_control, f(&e["risk"][0])),
            ("risk of treatment", v.risk_treatment, f(&e["risk"][1])),
        ] {
            if want < 1e-6 * l.std_error {
                assert!(
                    (got - want).abs() < 1e-15 * l.std_error,
                    "{what}: {got:e} vs {want:e} in {c}"
                );
            } else {
                close(what, got, want, REL, c);
            }
        }
    }
}

fn ratio() -> Value {
    serde_json::from_str(include_str!("../../tests/golden/ratio_intervals.json")).expect("json")
}

/// A lift interval (of `b/a − 1`) against a library's interval of the ratio `b/a`. A ratio
/// under a millionth is a lift of −100% to the precision a lift has, and is compared absolutely.
fn close_ratio(got: Interval, want: &Value, rel: f64, case: &Value) {
    for (what, got, want) in [("low", got.low, &want[0]), ("high", got.high, &want[1])] {
        let want = f(want);
        if want < 1e-6 {
            assert!(
                (got + 1.0 - want).abs() < 1e-15,
                "{what}: {got} vs {want} in {case}"
            );
        } else {
            close(what, got + 1.0, want, rel, case);
        }
    }
}

#[test]
fn log_ratio_intervals_of_proportions() {
    let g = ratio();
    for c in cases(&g, "proportions") {
        let a = Proportion::new(u(&c["a"][0]), u(&c["a"][1])).unwrap();
        let b = Proportion::new(u(&c["b"][0]), u(&c["b"][1])).unwrap();
        let alpha = Alpha::new(f(&c["alpha"])).unwrap();
        for (method, adjusted) in [("log", false), ("log_adjusted", true)] {
            let got = katz(a, b, adjusted).and_then(|r| r.interval(alpha));
            match &c[method] {
                Value::Null => assert!(got.is_err(), "{method} {c}"),
                want => close_ratio(got.unwrap(), want, REL, c),
            }
        }
    }
}

#[test]
fn log_ratio_intervals_of_rates() {
    let g = ratio();
    for c in cases(&g, "rates") {
        let a = RateStats::new(u(&c["a"][0]), f(&c["a"][1])).unwrap();
        let b = RateStats::new(u(&c["b"][0]), f(&c["b"][1])).unwrap();
        let alpha = Alpha::new(f(&c["alpha"])).unwrap();
        let got = rate_log_ratio(a, b)
            .and_then(|r| r.interval(alpha))
            .unwrap();
        close_ratio(got, &c["wald_log"], REL, c);
    }
}

#[test]
fn log_ratio_intervals_of_means() {
    let g = ratio();
    for c in cases(&g, "means") {
        let (a, b) = (mean_stats(&c["a"]), mean_stats(&c["b"]));
        let r = mean_log_ratio(&a, &b).unwrap();
        close("log ratio", r.log_ratio, f(&c["log_ratio"]), REL, c);
        close("standard error", r.std_error, f(&c["std_error"]), REL, c);
        close("df", r.df, f(&c["df"]), REL, c);
        let got = r.interval(Alpha::new(f(&c["alpha"])).unwrap()).unwrap();
        let rel = if r.df > 1e5 { REL_HUGE_DF } else { REL };
        close_ratio(got, &c["ratio_interval"], rel, c);
    }
}
