#!/usr/bin/env python3
"""The W4 peer: the analysis vibe runs on every running experiment, written as a data analyst
would with scipy and statsmodels. Reads the same SQLite database and prints JSON lines with the
numbers the harness compares; the analysis time (imports excluded) goes to stderr."""
import json
import math
import sqlite3
import sys
import time
from collections import defaultdict

import numpy as np
from scipy import stats
from statsmodels.stats.proportion import proportion_confint, proportions_ztest


def cs_half_width(se, n, alpha, planned):
    rho = math.sqrt((-2 * math.log(alpha) + math.log(-2 * math.log(alpha) + 1)) / planned)
    s2 = se * se * n
    nr2 = n * rho * rho
    return math.sqrt(s2) * math.sqrt(2 * (nr2 + 1) * math.log(math.sqrt(nr2 + 1) / alpha) / (n * rho) ** 2)


def main():
    con = sqlite3.connect(sys.argv[1])
    t0 = time.perf_counter()
    exps = con.execute(
        "select id, metric_type, alpha, planned_units, min_effect from experiments where status = 'running' order by id"
    ).fetchall()
    totals = defaultdict(dict)
    for eid, pos, units, conv, s, ss in con.execute(
        "select v.experiment_id, v.position, sum(o.units), sum(coalesce(o.conversions, 0)),"
        " sum(coalesce(o.value_sum, 0.0)), sum(coalesce(o.value_sum_sq, 0.0))"
        " from experiment_observations o join experiment_variants v on v.id = o.variant_id"
        " join experiments e on e.id = v.experiment_id where e.status = 'running' and o.metric = 'primary'"
        " group by v.experiment_id, v.position"):
        totals[eid][pos] = (units, conv, s, ss)
    out = []
    for eid, metric, alpha, planned, min_effect in exps:
        arms = [totals[eid][p] for p in sorted(totals[eid])]
        k = len(arms)
        a_i = alpha / (k - 1)
        proportion = metric == "proportion"
        srm = stats.chisquare([a[0] for a in arms], [sum(a[0] for a in arms) / k] * k)
        moments = []
        for units, conv, s, ss in arms:
            if proportion:
                m = conv / units
                v = m * (1 - m)
                proportion_confint(conv, units, alpha=alpha, method="wilson")
            else:
                m = s / units
                v = (ss - s * s / units) / (units - 1)
            moments.append((m, v, units))
        comps = []
        for i in range(1, k):
            (ma, va, na), (mb, vb, nb) = moments[0], moments[i]
            if proportion:
                _, p_fixed = proportions_ztest([arms[i][1], arms[0][1]], [nb, na])
            else:
                p_fixed = stats.ttest_ind_from_stats(mb, math.sqrt(vb), nb, ma, math.sqrt(va), na, equal_var=False).pvalue
            diff = mb - ma
            se = math.sqrt(va / na + vb / nb)
            half = cs_half_width(se, na + nb, a_i, planned)
            rel = diff / abs(ma)
            se_rel = math.sqrt(vb / (ma * ma * nb) + va * mb * mb / (ma ** 4 * na))
            half_rel = cs_half_width(se_rel, na + nb, a_i, planned)
            qa, qb = va / na, vb / nb
            dof = (qa + qb) ** 2 / (qa * qa / (na - 1) + qb * qb / (nb - 1))
            stats.t.ppf(1 - alpha / 2, dof)
            stats.norm.cdf(rel / se_rel)
            if diff - half > 0:
                outcome = "better"
            elif diff + half < 0:
                outcome = "worse"
            elif rel - half_rel > -min_effect and rel + half_rel < min_effect:
                outcome = "futile"
            else:
                outcome = "undecided"
            comps.append({"arm": i, "p_fixed": float(p_fixed), "cs_low": diff - half, "cs_high": diff + half,
                          "outcome": outcome, "diff": diff})
        if float(srm.pvalue) < 0.001:
            verdict = "sample_ratio_mismatch"
        elif any(c["outcome"] == "better" for c in comps):
            verdict = "ship"
        elif any(c["outcome"] == "worse" for c in comps) and (
                all(c["outcome"] != "undecided" for c in comps) or len(comps) == 1):
            verdict = "stop_harm"
        elif all(c["outcome"] in ("futile", "worse") for c in comps):
            verdict = "stop_futility"
        elif sum(a[0] for a in arms) >= planned:
            verdict = "inconclusive"
        else:
            verdict = "keep_running"
        out.append({"id": eid, "srm_p": float(srm.pvalue), "verdict": verdict, "comparisons": comps})
    elapsed = time.perf_counter() - t0
    for row in out:
        print(json.dumps(row))
    print(f"{elapsed:.4f}", file=sys.stderr)


if __name__ == "__main__":
    main()
