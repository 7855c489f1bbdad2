#!/usr/bin/env python3
"""Fills a migrated vibe SQLite database with N running experiments of 2-5 arms (proportion and
mean metrics) and a week of daily observations each, for the W4 benchmark."""
import random
import sqlite3
import sys
import time


def main():
    db, n = sys.argv[1], int(sys.argv[2])
    rng = random.Random(4)
    con = sqlite3.connect(db)
    now = int(time.time())
    exps, variants, obs = [], [], []
    vid = 0
    for i in range(1, n + 1):
        arms = rng.randint(2, 5)
        proportion = rng.random() < 0.6
        baseline = rng.uniform(0.02, 0.2) if proportion else rng.uniform(5, 50)
        sd = None if proportion else baseline * rng.uniform(0.3, 1.2)
        per_day = rng.choice([200, 1000, 5000])
        planned = per_day * arms * rng.choice([5, 14, 30])
        exps.append((i, f"test {i}", "randomized", "proportion" if proportion else "mean", "metric", 1, 0.05, 0.8,
                     baseline, sd, 0.1, 0.05, planned, float(per_day * arms), 30, "running",
                     now - 7 * 86400, "bench", now, now))
        effects = [0.0] + [rng.choice([0.0, 0.0, 0.05, 0.15, -0.1]) for _ in range(arms - 1)]
        for pos in range(arms):
            vid += 1
            variants.append((vid, i, pos, f"arm {pos}", 1.0, now, now))
            for day in range(7):
                units = int(per_day * rng.uniform(0.97, 1.03))
                if proportion:
                    p = baseline * (1 + effects[pos])
                    conv = sum(1 for _ in range(units) if rng.random() < p) if units < 300 else int(
                        rng.gauss(units * p, (units * p * (1 - p)) ** 0.5))
                    obs.append((vid, "primary", f"d{day}", units, max(0, min(units, conv)), None, None, None, now, now))
                else:
                    mu = baseline * (1 + effects[pos])
                    mean = rng.gauss(mu, sd / units ** 0.5)
                    var = sd * sd * rng.uniform(0.9, 1.1)
                    s = mean * units
                    ss = var * (units - 1) + s * s / units
                    obs.append((vid, "primary", f"d{day}", units, None, s, ss, None, now, now))
    con.executemany(
        "insert into experiments (id, name, kind, metric_type, target_metric, higher_is_better, alpha, power,"
        " baseline, baseline_sd, mde, min_effect, planned_units, daily_traffic, planned_days, status, started_at,"
        " created_by, created_at, updated_at) values (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", exps)
    con.executemany(
        "insert into experiment_variants (id, experiment_id, position, name, weight, created_at, updated_at)"
        " values (?,?,?,?,?,?,?)", variants)
    con.executemany(
        "insert into experiment_observations (variant_id, metric, period, units, conversions, value_sum,"
        " value_sum_sq, exposure, created_at, updated_at) values (?,?,?,?,?,?,?,?,?,?)", obs)
    # What vibe's observation import maintains alongside the periods.
    con.execute(
        "insert into experiment_totals (variant_id, metric, units, conversions, value_sum, value_sum_sq, exposure,"
        " updated_at) select variant_id, metric, sum(units), sum(coalesce(conversions, 0)),"
        " sum(coalesce(value_sum, 0.0)), sum(coalesce(value_sum_sq, 0.0)), sum(coalesce(exposure, 0.0)), ?"
        " from experiment_observations group by variant_id, metric", (now,))
    con.commit()
    print(f"{n} experiments, {len(variants)} arms, {len(obs)} observation rows", file=sys.stderr)


if __name__ == "__main__":
    main()
