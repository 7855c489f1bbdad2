#!/usr/bin/env python3
"""Reference values for vibe's statistics core from scipy and statsmodels.

Writes tests/golden/scipy_statsmodels.json. Run by tests/golden/regenerate.sh (which makes the
virtual environment); the Rust tests read the JSON and never need Python.
Every case holds its inputs and what the library returned; a case where the library gives no
finite answer is recorded as an expected error.
"""
import json
import math
import os
import random

import numpy as np
import scipy
import statsmodels
from scipy import optimize, stats
from statsmodels.stats import multitest
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    power_proportions_2indep,
    proportion_confint,
    proportions_ztest,
    samplesize_proportions_2indep_onetail,
)
from statsmodels.stats.rates import test_poisson_2indep

rng = random.Random(20261124)
ALTS = ["two-sided", "larger", "smaller"]


def finite(*xs):
    return all(x is not None and math.isfinite(x) for x in xs)


def mean_stats(n, mean, sd):
    """Sufficient statistics as vibe stores them, with mean and sd recomputed from them exactly as
    the Rust code does, so both sides start from the same numbers."""
    s = mean * n
    ss = sd * sd * (n - 1) + s * s / n
    m = s / n
    var = max((ss - s * s / n) / (n - 1), 0.0)
    return {"n": n, "sum": s, "sum_sq": ss}, m, math.sqrt(var)


def welch_cases():
    out = []
    specs = [(11, 12.0, math.sqrt(39), 13, 15.0, math.sqrt(87.5))]
    for _ in range(60):
        na = rng.choice([2, 3, 5, 20, 200, 5000, 10**6])
        nb = rng.choice([2, 4, 30, 300, 8000, 10**6])
        specs.append((na, rng.uniform(-5, 50), rng.uniform(0.01, 20), nb, rng.uniform(-5, 50), rng.uniform(0.01, 20)))
    specs.append((10**7, 3.0, 1.0, 10**7, 3.001, 1.0))
    specs.append((50, 100.0, 1e-3, 60, 100.0, 2e-3))
    for na, ma, sa, nb, mb, sb in specs:
        a, ma2, sa2 = mean_stats(na, ma, sa)
        b, mb2, sb2 = mean_stats(nb, mb, sb)
        va, vb = sa2**2 / na, sb2**2 / nb
        df = (va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1))
        for alt in ALTS:
            scipy_alt = {"two-sided": "two-sided", "larger": "greater", "smaller": "less"}[alt]
            r = stats.ttest_ind_from_stats(mb2, sb2, nb, ma2, sa2, na, equal_var=False, alternative=scipy_alt)
            t, p = float(r.statistic), float(r.pvalue)
            case = {"a": a, "b": b, "alternative": alt}
            case["expected"] = {"t": t, "p_value": p, "df": df} if finite(t, p) else None
            out.append(case)
    return out


def proportion_pairs():
    pairs = [(200, 2000, 250, 2000), (0, 10, 3, 10), (1, 3, 0, 3), (0, 1000, 1, 1000), (5, 5, 4, 5),
             (10**6, 10**7, 1001000, 10**7), (30, 100, 3000, 100000), (0, 50, 0, 50), (7, 7, 9, 9)]
    for _ in range(50):
        na = rng.choice([10, 100, 1000, 20000, 10**6])
        nb = rng.choice([10, 100, 1000, 20000, 10**6])
        pa, pb = rng.uniform(0.001, 0.6), rng.uniform(0.001, 0.6)
        pairs.append((int(pa * na), na, int(pb * nb), nb))
    return pairs


def ztest_cases():
    out = []
    for ca, na, cb, nb in proportion_pairs():
        for alt in ALTS:
            try:
                z, p = proportions_ztest([cb, ca], [nb, na], alternative=alt)
                z, p = float(z), float(p)
            except Exception:
                z = p = float("nan")
            exp = {"z": z, "p_value": p} if finite(z, p) else None
            out.append({"a": [ca, na], "b": [cb, nb], "alternative": alt, "expected": exp})
    return out


def interval_cases():
    wilson, newcombe = [], []
    for ca, na, cb, nb in proportion_pairs():
        for alpha in [0.05, 0.01, 0.1]:
            lo, hi = proportion_confint(ca, na, alpha=alpha, method="wilson")
            wilson.append({"p": [ca, na], "alpha": alpha, "expected": [float(lo), float(hi)]})
            lo, hi = confint_proportions_2indep(cb, nb, ca, na, method="newcomb", compare="diff", alpha=alpha)
            exp = [float(lo), float(hi)] if finite(lo, hi) else None
            newcombe.append({"a": [ca, na], "b": [cb, nb], "alpha": alpha, "expected": exp})
    return wilson, newcombe


def poisson_cases():
    out = []
    specs = [(30, 100.0, 60, 120.0), (0, 10.0, 4, 10.0), (0, 5.0, 0, 5.0), (1, 1.0, 2, 1.0), (10**6, 1e7, 1001000, 1e7)]
    for _ in range(40):
        specs.append((rng.randint(0, 500), rng.uniform(1, 1000), rng.randint(0, 500), rng.uniform(1, 1000)))
    for ea, ta, eb, tb in specs:
        for alt in ALTS:
            try:
                r = test_poisson_2indep(eb, tb, ea, ta, method="score", alternative=alt)
                z, p = float(r.statistic), float(r.pvalue)
            except Exception:
                z = p = float("nan")
            exp = {"z": z, "p_value": p} if finite(z, p) else None
            out.append({"a": [ea, ta], "b": [eb, tb], "alternative": alt, "expected": exp})
    return out


def power_cases():
    size, power, mde = [], [], []
    specs = [(0.10, 0.02, 0.05, 0.8, 1.0, "two-sided")]
    for _ in range(40):
        base = rng.choice([0.01, 0.03, 0.1, 0.3, 0.5, 0.8])
        diff = rng.choice([-1, 1]) * base * rng.choice([0.05, 0.1, 0.2, 0.5])
        specs.append((base, diff, rng.choice([0.01, 0.05, 0.1]), rng.choice([0.8, 0.9, 0.95]),
                      rng.choice([0.5, 1.0, 2.0, 3.0]), rng.choice(["two-sided", "larger"])))
    for base, diff, alpha, pw, ratio, alt in specs:
        if not 0 < base + diff < 1:
            continue
        n = float(samplesize_proportions_2indep_onetail(diff, base, pw, ratio=ratio, alpha=alpha, alternative=alt))
        size.append({"baseline": base, "diff": diff, "alpha": alpha, "power": pw, "ratio": ratio,
                     "alternative": alt, "expected": n})
        for nobs in [n, n / 2, n * 3]:
            a2 = alt if alt == "two-sided" else ("larger" if diff > 0 else "smaller")
            p = float(power_proportions_2indep(diff, base, nobs, ratio=ratio, alpha=alpha, alternative=a2,
                                               return_results=False))
            power.append({"baseline": base, "diff": diff, "n": nobs, "alpha": alpha, "ratio": ratio,
                          "alternative": a2, "expected": p})
        a2 = "two-sided" if alt == "two-sided" else "larger"

        def f(d):
            return power_proportions_2indep(d, base, n, ratio=ratio, alpha=alpha, alternative=a2,
                                            return_results=False) - pw
        hi = (1 - base) * (1 - 1e-12)
        d = optimize.brentq(f, 1e-12, hi, xtol=1e-15, rtol=8.9e-16) if f(hi) > 0 else None
        mde.append({"baseline": base, "n": n, "alpha": alpha, "power": pw, "ratio": ratio,
                    "alternative": a2, "expected": None if d is None else float(d)})
    return size, power, mde


def normal_power_cases():
    solve, pw_cases, mde = [], [], []
    ni = NormalIndPower()
    for _ in range(40):
        d = rng.choice([0.01, 0.05, 0.1, 0.2, 0.5, 0.8])
        alpha = rng.choice([0.01, 0.05, 0.1])
        pw = rng.choice([0.8, 0.9])
        ratio = rng.choice([0.5, 1.0, 2.0])
        alt = rng.choice(ALTS)
        dd = -d if alt == "smaller" else d
        # solve_power falls back to fsolve (1.5e-8 tolerance); solve statsmodels' own power
        # function to full precision instead.
        n = float(optimize.brentq(lambda x: ni.power(dd, x, alpha, ratio=ratio, alternative=alt) - pw,
                                  1e-6, 1e9, xtol=1e-14, rtol=8.9e-16))
        solve.append({"d": dd, "alpha": alpha, "power": pw, "ratio": ratio, "alternative": alt, "expected": n})
        for nobs in [n, 10.0, 1e5]:
            p = float(ni.power(dd, nobs, alpha, ratio=ratio, alternative=alt))
            pw_cases.append({"d": dd, "n": nobs, "alpha": alpha, "ratio": ratio, "alternative": alt, "expected": p})
        sign = -1 if alt == "smaller" else 1
        m = sign * float(optimize.brentq(
            lambda e: ni.power(sign * e, n * 1.7, alpha, ratio=ratio, alternative=alt) - pw,
            1e-9, 50, xtol=1e-15, rtol=8.9e-16))
        mde.append({"n": n * 1.7, "alpha": alpha, "power": pw, "ratio": ratio, "alternative": alt, "expected": m})
    return solve, pw_cases, mde


def rate_size_cases():
    out = []
    for _ in range(20):
        r0 = rng.uniform(0.01, 5)
        r1 = r0 * rng.choice([0.8, 0.9, 1.1, 1.25, 1.5])
        alpha, pw, ratio = rng.choice([0.05, 0.01]), rng.choice([0.8, 0.9]), rng.choice([1.0, 2.0])
        alt = rng.choice(["two-sided", "larger"])
        a = alpha / 2 if alt == "two-sided" else alpha
        z = stats.norm.isf(a) + stats.norm.isf(1 - pw)
        t1 = z * z * (r1 + r0 / ratio) / (r1 - r0) ** 2
        out.append({"control": r0, "treatment": r1, "alpha": alpha, "power": pw, "ratio": ratio,
                    "alternative": alt, "expected": float(t1)})
    return out


def multiple_cases():
    out = []
    sets = [[0.01, 0.04, 0.03, 0.005, 0.20], [0.5], [0.0, 1.0, 0.03], [0.04, 0.04, 0.04]]
    for _ in range(20):
        sets.append([rng.random() ** 3 for _ in range(rng.randint(2, 12))])
    for p in sets:
        for method, name in [("bonferroni", "bonferroni"), ("holm", "holm"), ("fdr_bh", "bh")]:
            adj = multitest.multipletests(p, method=method)[1]
            out.append({"p": p, "method": name, "expected": [float(x) for x in adj]})
    return out


def srm_cases():
    out = []
    specs = [([5000, 5030], [0.5, 0.5]), ([5000, 5400], [1, 1]), ([100, 200, 300], [1, 2, 3]), ([1, 0], [1, 1])]
    for _ in range(20):
        k = rng.randint(2, 5)
        w = [rng.uniform(0.5, 3) for _ in range(k)]
        total = rng.choice([100, 10000, 10**6])
        obs = [max(0, int(total * x / sum(w) * rng.uniform(0.97, 1.03))) for x in w]
        specs.append((obs, w))
    for obs, w in specs:
        f_exp = [sum(obs) * x / sum(w) for x in w]
        r = stats.chisquare(obs, f_exp)
        out.append({"observed": obs, "weights": [float(x) for x in w],
                    "expected": {"chi_square": float(r.statistic), "p_value": float(r.pvalue)}})
    return out


def main():
    wilson, newcombe = interval_cases()
    size, power, mde = power_cases()
    nsolve, npower, nmde = normal_power_cases()
    data = {
        "generated_by": {"scipy": scipy.__version__, "statsmodels": statsmodels.__version__,
                         "numpy": np.__version__},
        "welch": welch_cases(),
        "proportions_ztest": ztest_cases(),
        "wilson": wilson,
        "newcombe": newcombe,
        "poisson_score": poisson_cases(),
        "sample_size_proportions": size,
        "power_proportions": power,
        "mde_proportions": mde,
        "sample_size_means": nsolve,
        "power_means": npower,
        "mde_means": nmde,
        "sample_size_rates": rate_size_cases(),
        "multiple": multiple_cases(),
        "srm": srm_cases(),
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scipy_statsmodels.json")
    with open(path, "w") as f:
        json.dump(data, f, indent=1)
    print(path, sum(len(v) for k, v in data.items() if isinstance(v, list)), "cases")


if __name__ == "__main__":
    main()
