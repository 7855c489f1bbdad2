#!/usr/bin/env python3
"""Reference values from gbstats (GrowthBook's engine) for the confidence sequence, the Bayesian
view and the fixed-horizon lift intervals. gbstats pins an old pandas, so it runs in a virtual
environment of its own (see regenerate.sh). Writes tests/golden/gbstats.json."""
import json
import math
import os
import random

from gbstats.bayesian.tests import EffectBayesianABTest, EffectBayesianConfig
from gbstats.frequentist.tests import (
    FrequentistConfig,
    SequentialConfig,
    SequentialTwoSidedTTest,
    TwoSidedTTest,
)
from gbstats.models.statistics import ProportionStatistic, SampleMeanStatistic

rng = random.Random(7)


def arms():
    out = []
    for _ in range(45):
        n_a = rng.choice([50, 400, 3000, 20000, 10**6])
        n_b = int(n_a * rng.uniform(0.8, 1.25))
        if rng.random() < 0.5:
            pa = rng.uniform(0.01, 0.5)
            pb = pa * rng.uniform(0.8, 1.3)
            a = {"kind": "proportion", "n": n_a, "sum": float(round(pa * n_a))}
            b = {"kind": "proportion", "n": n_b, "sum": float(round(pb * n_b))}
        else:
            ma, sa = rng.uniform(1, 100), rng.uniform(0.5, 40)
            mb, sb = ma * rng.uniform(0.9, 1.1), sa * rng.uniform(0.8, 1.2)
            a = {"kind": "mean", "n": n_a, "sum": ma * n_a, "sum_sq": sa * sa * (n_a - 1) + (ma * n_a) ** 2 / n_a}
            b = {"kind": "mean", "n": n_b, "sum": mb * n_b, "sum_sq": sb * sb * (n_b - 1) + (mb * n_b) ** 2 / n_b}
        out.append((a, b))
    return out


def stat(x):
    if x["kind"] == "proportion":
        return ProportionStatistic(n=x["n"], sum=x["sum"])
    return SampleMeanStatistic(n=x["n"], sum=x["sum"], sum_squares=x["sum_sq"])


def finite(*xs):
    return all(math.isfinite(v) for v in xs)


def main():
    seq, bayes, fixed = [], [], []
    for a, b in arms():
        for diff in ["absolute", "relative"]:
            for alpha in [0.05, 0.01]:
                planned = rng.choice([1000, 10000, 100000, 2 * (a["n"] + b["n"])])
                r = SequentialTwoSidedTTest(stat(a), stat(b), SequentialConfig(
                    difference_type=diff, alpha=alpha, sequential_tuning_parameter=planned)).compute_result()
                ok = finite(r.ci[0], r.ci[1], r.p_value, r.expected)
                seq.append({"a": a, "b": b, "difference": diff, "alpha": alpha, "planned_total": planned,
                            "expected": {"estimate": r.expected, "ci": r.ci, "p_value": r.p_value} if ok else None})
                r = TwoSidedTTest(stat(a), stat(b), FrequentistConfig(difference_type=diff, alpha=alpha)).compute_result()
                ok = finite(r.ci[0], r.ci[1])
                fixed.append({"a": a, "b": b, "difference": diff, "alpha": alpha,
                              "expected": {"estimate": r.expected, "ci": r.ci} if ok else None})
            r = EffectBayesianABTest(stat(a), stat(b), EffectBayesianConfig(difference_type=diff)).compute_result()
            ok = finite(r.chance_to_win, r.risk[0], r.risk[1])
            bayes.append({"a": a, "b": b, "difference": diff,
                          "expected": {"chance_to_win": r.chance_to_win, "risk": r.risk,
                                       "mean": r.uplift.mean, "sd": r.uplift.stddev} if ok else None})
    import gbstats
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gbstats.json")
    with open(path, "w") as f:
        json.dump({"generated_by": {"gbstats": getattr(gbstats, "__version__", "0.8.0")},
                   "sequential": seq, "bayes": bayes, "fixed_lift": fixed}, f, indent=1)
    print(path, len(seq) + len(bayes) + len(fixed), "cases")


if __name__ == "__main__":
    main()
