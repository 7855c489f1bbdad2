#!/usr/bin/env python3
"""W3 data: a year of hourly post snapshots for 50 accounts on five platforms (each post tracked
hourly for its first 14 days), time-ordered like a collector's export, in vibe's import schema.
Needs numpy and pandas. Usage: gen_hourly.py ROWS OUT.csv"""
import sys

import numpy as np
import pandas as pd

PLATFORMS = np.array(["x", "instagram", "tiktok", "linkedin", "reddit"])
HOURS = 14 * 24


def main():
    rows, out = int(sys.argv[1]), sys.argv[2]
    rng = np.random.default_rng(3)
    posts = -(-rows // HOURS)
    start = np.datetime64("2025-11-01T00:00:00")
    span = 365 * 24 * 3600
    post = np.arange(posts)
    account = post % 50
    platform = account % 5
    published = start + (post * (span // posts)).astype("timedelta64[s]")
    base = rng.lognormal(np.log(2000), 0.8, posts)
    tau = np.array([3, 10, 20, 14, 6])[platform]
    p = np.repeat(post, HOURS)[:rows]
    h = np.tile(np.arange(1, HOURS + 1), posts)[:rows]
    observed = published[p] + (h * 3600).astype("timedelta64[s]")
    grow = 1 - np.exp(-h / tau[p])
    reach = np.floor(base[p] * grow)
    plat = platform[p]
    df = pd.DataFrame({
        "platform": PLATFORMS[plat],
        "account": np.char.add("acct", account[p].astype(str)),
        "post_id": np.char.add("post", p.astype(str)),
        "observed_at": pd.to_datetime(observed).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "published_at": pd.to_datetime(published[p]).strftime("%Y-%m-%dT%H:%M:%SZ"),
    })
    def col(share, on):
        v = np.floor(base[p] * share * grow)
        return pd.array(np.where(np.isin(plat, on), v, np.nan), dtype="Int64")
    df["impressions"] = col(1.4, [0, 3])
    df["reach"] = col(1.0, [1, 3])
    df["views"] = col(1.6, [1, 2])
    df["likes"] = col(0.04, [0, 1, 2, 3, 4])
    df["comments"] = col(0.004, [0, 1, 2, 3, 4])
    df["shares"] = col(0.006, [0, 1, 2, 3])
    df["saves"] = col(0.005, [0, 1])
    df["clicks"] = col(0.01, [0, 3])
    df = df.iloc[np.argsort(observed, kind="stable")]
    df.to_csv(out, index=False)
    print(f"{len(df)} rows, {posts} posts", file=sys.stderr)


if __name__ == "__main__":
    main()
