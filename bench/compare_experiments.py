#!/usr/bin/env python3
"""Checks that vibe's `abtest results --all --format json` agrees with the Python peer."""
import json
import sys


def close(a, b, rel=1e-6):
    return abs(a - b) <= rel * max(abs(b), 1e-12) or abs(a - b) < 1e-12


def main():
    vibe = {r["id"]: r for r in json.load(open(sys.argv[1]))}
    peer = [json.loads(line) for line in open(sys.argv[2])]
    bad = 0
    for p in peer:
        v = vibe.get(p["id"])
        if v is None or v.get("analysis") is None:
            bad += 1
            continue
        a = v["analysis"]
        problems = []
        if a["verdict"]["code"] != p["verdict"]:
            problems.append(f"verdict {a['verdict']['code']} vs {p['verdict']}")
        if not close(a["srm"]["p_value"], p["srm_p"]):
            problems.append(f"srm {a['srm']['p_value']} vs {p['srm_p']}")
        for c, pc in zip(a["comparisons"], p["comparisons"]):
            for got, want, what in [(c["fixed_p_value"], pc["p_fixed"], "p"),
                                    (c["sequential"]["interval"]["low"], pc["cs_low"], "cs low"),
                                    (c["sequential"]["interval"]["high"], pc["cs_high"], "cs high")]:
                if not close(got, want):
                    problems.append(f"{what} {got} vs {want}")
        if problems:
            bad += 1
            if bad <= 5:
                print(f"experiment {p['id']}: " + "; ".join(problems), file=sys.stderr)
    print(f"{len(peer) - bad} of {len(peer)} experiments agree")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
