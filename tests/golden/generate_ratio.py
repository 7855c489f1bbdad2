#!/usr/bin/env python3
"""Reference values for relative-lift intervals built on the log scale.

Writes tests/golden/ratio_intervals.json. Run by tests/golden/regenerate.sh.

- Proportions: statsmodels' confint_proportions_2indep(count_b, n_b, count_a, n_a,
  compare="ratio", method="log") (Katz) and method="log-adjusted" (0.5 added to counts and totals).
- Poisson rates: statsmodels' confint_poisson_2indep(count_b, exposure_b, count_a, exposure_a,
  compare="ratio", method="wald-log").
- Means: the delta method on the log of the ratio, Var(log m) = s^2 / (n m^2) per arm, with the
  Welch-Satterthwaite degrees of freedom of those two variances and scipy's Student t quantile.
  statsmodels has no ratio-of-means interval, so this is the formula evaluated with scipy.
Intervals are of the ratio b/a; vibe reports the lift b/a - 1.
"""
import json
import math
import os
import random

import scipy
import statsmodels
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep
from statsmodels.stats.rates import confint_poisson_2indep

rng = random.Random(20261203)


def finite(*xs):
    return all(x is not None and math.isfinite(x) for x in xs)


def proportion_cases():
    specs = [
        (200, 2000, 250, 2000, 0.05),
        (200, 2000, 240, 2000, 0.05),
        (200, 2000, 240, 2000, 0.025),
        (12, 100, 3, 100, 0.05),
        (1, 50, 9, 50, 0.05),
        (0, 40, 5, 40, 0.05),
        (5, 40, 0, 40, 0.05),
        (40, 40, 38, 40, 0.05),
        (480, 40000, 576, 40000, 0.05),
        (3, 1000000, 7, 1000000, 0.01),
    ]
    for _ in range(40):
        na = rng.choice([20, 100, 1000, 20000, 10**6])
        nb = rng.choice([20, 150, 1000, 30000, 10**6])
        pa, pb = rng.uniform(0.001, 0.6), rng.uniform(0.001, 0.6)
        specs.append((round(na * pa), na, round(nb * pb), nb, rng.choice([0.05, 0.1, 0.01])))
    out = []
    for ca, na, cb, nb, alpha in specs:
        case = {"a": [ca, na], "b": [cb, nb], "alpha": alpha}
        for method in ["log", "log-adjusted"]:
            try:
                low, high = confint_proportions_2indep(cb, nb, ca, na, compare="ratio",
                                                       method=method, alpha=alpha)
                low, high = float(low), float(high)
            except (ZeroDivisionError, FloatingPointError, ValueError):
                low = high = float("nan")
            ok = finite(low, high) and low > 0
            case[method.replace("-", "_")] = [low, high] if ok else None
        out.append(case)
    return out


def rate_cases():
    specs = [(30, 100.0, 60, 120.0, 0.05), (10, 5.5, 4, 7.25, 0.05), (1000, 2e4, 1100, 2e4, 0.01)]
    for _ in range(30):
        ea, eb = rng.choice([1.0, 10.0, 250.0, 1e4]), rng.choice([2.0, 12.5, 300.0, 1e4])
        ya = rng.randint(1, 5000)
        yb = rng.randint(1, 5000)
        specs.append((ya, ea, yb, eb, rng.choice([0.05, 0.1])))
    out = []
    for ya, ea, yb, eb, alpha in specs:
        low, high = confint_poisson_2indep(yb, eb, ya, ea, compare="ratio", method="wald-log",
                                           alpha=alpha)
        out.append({"a": [ya, ea], "b": [yb, eb], "alpha": alpha,
                    "wald_log": [float(low), float(high)]})
    return out


def mean_stats(n, mean, sd):
    """Sufficient statistics, with mean and sd recomputed from them as the Rust code does."""
    s = mean * n
    ss = sd * sd * (n - 1) + s * s / n
    m = s / n
    var = max((ss - s * s / n) / (n - 1), 0.0)
    return {"n": n, "sum": s, "sum_sq": ss}, m, var


def mean_cases():
    specs = [(1300, 15.2, 4.1, 1280, 16.0, 4.4, 0.05), (8, 0.045, 0.02, 9, 0.06, 0.03, 0.05),
             (5, 3.0, 6.0, 6, 1.0, 5.0, 0.05)]
    for _ in range(40):
        na, nb = rng.choice([3, 10, 50, 2000, 10**5]), rng.choice([4, 12, 60, 2500, 10**5])
        specs.append((na, rng.uniform(0.01, 40), rng.uniform(0.01, 20),
                      nb, rng.uniform(0.01, 40), rng.uniform(0.01, 20), rng.choice([0.05, 0.1])))
    out = []
    for na, ma, sa, nb, mb, sb, alpha in specs:
        a, ma2, va = mean_stats(na, ma, sa)
        b, mb2, vb = mean_stats(nb, mb, sb)
        qa, qb = va / (na * ma2 * ma2), vb / (nb * mb2 * mb2)
        se = math.sqrt(qa + qb)
        df = (qa + qb) ** 2 / (qa * qa / (na - 1) + qb * qb / (nb - 1))
        q = float(stats.t.ppf(1 - alpha / 2, df))
        log_ratio = math.log(mb2 / ma2)
        out.append({"a": a, "b": b, "alpha": alpha,
                    "log_ratio": log_ratio, "std_error": se, "df": df,
                    "ratio_interval": [math.exp(log_ratio - q * se), math.exp(log_ratio + q * se)]})
    return out


def main():
    data = {
        "generated_by": {"scipy": scipy.__version__, "statsmodels": statsmodels.__version__},
        "proportions": proportion_cases(),
        "rates": rate_cases(),
        "means": mean_cases(),
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ratio_intervals.json")
    with open(path, "w") as f:
        json.dump(data, f, indent=1)
    print(path, sum(len(v) for v in data.values() if isinstance(v, list)), "cases")


if __name__ == "__main__":
    main()
