#!/usr/bin/env python3
"""Checks that vibe's report JSON (one file per period) agrees with the pandas peer's totals."""
import json
import sys

FIELDS = ["impressions", "reach", "views", "likes", "comments", "shares", "saves", "clicks", "engagements", "posts"]


def main():
    peer = json.load(open(sys.argv[1]))["periods"]
    bad = checked = 0
    for path in sys.argv[2:]:
        r = json.load(open(path))
        key = f"{r['timezone']} {r['period']['from']}..{r['period']['to']}"
        for b in r["platforms"]:
            want = peer[key].get(b["platform"], {})
            for f in FIELDS:
                got = b["current"].get(f)
                if got is None and f not in want:
                    continue
                checked += 1
                if got != want.get(f):
                    bad += 1
                    print(f"{key} {b['platform']} {f}: vibe {got} vs pandas {want.get(f)}", file=sys.stderr)
    print(f"{checked - bad} of {checked} KPI values agree")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
