#!/usr/bin/env python3
"""The W3 peer: the report's KPIs computed from the raw hourly snapshots with pandas, as a data
analyst would. For each period, a post's value is its last snapshot on or before the period's
end minus its last snapshot before its start (zero before publish); platforms sum their posts.
Prints JSON with the totals and the seconds spent (CSV read excluded) to stdout.
Usage: pandas_report.py FILE.csv FROM TO [FROM TO …]"""
import json
import sys
import time

import pandas as pd

METRICS = ["impressions", "reach", "views", "likes", "comments", "shares", "saves", "clicks"]


def main():
    path = sys.argv[1]
    periods = list(zip(sys.argv[2::2], sys.argv[3::2]))
    df = pd.read_csv(path, dtype={m: "Int64" for m in METRICS})
    t0 = time.perf_counter()
    df["observed_at"] = pd.to_datetime(df["observed_at"], utc=True)
    df["published_at"] = pd.to_datetime(df["published_at"], utc=True)
    out = {}
    for start, end in periods:
        s = pd.Timestamp(start, tz="UTC")
        e = pd.Timestamp(end, tz="UTC") + pd.Timedelta(days=1)
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
        out[f"{start}..{end}"] = result
    elapsed = time.perf_counter() - t0
    print(json.dumps({"seconds": elapsed, "periods": out}))


if __name__ == "__main__":
    main()
