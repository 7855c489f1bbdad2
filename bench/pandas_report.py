#!/usr/bin/env python3
"""The W3 peer: the report's KPIs computed from the raw hourly snapshots with pandas, as a data
analyst would. A period runs from local midnight of its first day to local midnight after its
last, in its time zone; a post's value is its last snapshot before the period's end minus its
last snapshot before its start (zero before publish); platforms sum their posts.
Prints JSON with the totals and the seconds spent per zone (CSV read excluded) to stdout.
Usage: pandas_report.py FILE.csv ZONE FROM TO [ZONE FROM TO …]"""
import json
import sys
import time

import pandas as pd

METRICS = ["impressions", "reach", "views", "likes", "comments", "shares", "saves", "clicks"]


def main():
    path = sys.argv[1]
    periods = list(zip(sys.argv[2::3], sys.argv[3::3], sys.argv[4::3]))
    df = pd.read_csv(path, dtype={m: "Int64" for m in METRICS})
    t0 = time.perf_counter()
    df["observed_at"] = pd.to_datetime(df["observed_at"], utc=True)
    df["published_at"] = pd.to_datetime(df["published_at"], utc=True)
    parsed = time.perf_counter() - t0
    out = {}
    seconds = {}
    for zone, start, end in periods:
        t1 = time.perf_counter()
        local = lambda d: pd.Timestamp(d).tz_localize(zone, nonexistent="shift_forward", ambiguous=True)
        s = local(start)
        e = local(pd.Timestamp(end) + pd.Timedelta(days=1))
        upto = df[df["observed_at"] < e].sort_values("observed_at").groupby("post_id").last()
        before = df[df["observed_at"] < s].sort_values("observed_at").groupby("post_id").last()
        active = df[(df["observed_at"] >= s) & (df["observed_at"] < e)]["post_id"].unique()
        cur = upto.loc[upto.index.isin(active)]
        prev = before.reindex(cur.index)
        result = {}
        for platform, group in cur.groupby("platform"):
            p = prev.loc[group.index]
            row = {}
            for m in METRICS:
                if group[m].notna().any():
                    row[m] = int((group[m].fillna(0) - p[m].fillna(0)).sum())
            row["engagements"] = sum(row.get(m, 0) for m in ["likes", "comments", "shares", "saves"])
            published = df[(df["platform"] == platform) & (df["published_at"] >= s) & (df["published_at"] < e)]["post_id"].nunique()
            row["posts"] = int(published)
            result[platform] = row
        out[f"{zone} {start}..{end}"] = result
        seconds[zone] = seconds.get(zone, parsed) + time.perf_counter() - t1
    print(json.dumps({"seconds": seconds, "periods": out}))


if __name__ == "__main__":
    main()
