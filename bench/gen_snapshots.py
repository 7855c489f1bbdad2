#!/usr/bin/env python3
"""Writes N hourly post-snapshot rows in vibe's generic import schema, time-ordered like a
collector's export: 50 accounts on five platforms, posts tracked hourly for three weeks."""
import math
import random
import sys
from datetime import datetime, timedelta, timezone

PLATFORMS = ["x", "instagram", "tiktok", "linkedin", "reddit"]
FIELDS = {
    "x": ["impressions", "likes", "comments", "shares", "saves", "clicks"],
    "instagram": ["views", "reach", "likes", "comments", "shares", "saves"],
    "tiktok": ["views", "likes", "comments", "shares"],
    "linkedin": ["impressions", "reach", "clicks", "likes", "comments", "shares"],
    "reddit": ["likes", "comments"],
}
COLUMNS = ["impressions", "reach", "views", "likes", "comments", "shares", "saves", "clicks"]
HOURS = 504


def main():
    rows = int(sys.argv[1])
    out = sys.argv[2]
    rng = random.Random(1)
    posts = max(1, -(-rows // HOURS))
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    # Posts published one after another; each observed hourly for HOURS hours.
    spec = []
    for p in range(posts):
        account = p % 50
        platform = PLATFORMS[account % 5]
        published = start + timedelta(minutes=37 * p)
        base = rng.lognormvariate(math.log(2000), 0.8)
        spec.append((p, account, platform, published, base))
    events = []
    for p, account, platform, published, base in spec:
        for h in range(1, HOURS + 1):
            events.append((published + timedelta(hours=h), p, h))
    events.sort()
    with open(out, "w") as f:
        f.write("platform,account,post_id,observed_at,published_at," + ",".join(COLUMNS) + "\n")
        for n, (observed, p, h) in enumerate(events):
            if n >= rows:
                break
            _, account, platform, published, base = spec[p]
            grow = 1 - math.exp(-h / 12)
            values = []
            for c in COLUMNS:
                if c in FIELDS[platform]:
                    share = {"impressions": 1.4, "reach": 1.0, "views": 1.6, "likes": 0.04,
                             "comments": 0.004, "shares": 0.006, "saves": 0.005, "clicks": 0.01}[c]
                    values.append(str(int(base * share * grow)))
                else:
                    values.append("")
            f.write(f"{platform},acct{account},post{p},{observed:%Y-%m-%dT%H:%M:%SZ},"
                    f"{published:%Y-%m-%dT%H:%M:%SZ},{','.join(values)}\n")


if __name__ == "__main__":
    main()
