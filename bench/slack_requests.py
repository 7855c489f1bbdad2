"""Writes distinct slash-command requests for wrk (bench/slack_wrk.lua), signed exactly as Slack
signs them: v0 HMAC-SHA256 of "v0:timestamp:body" with the signing secret, timestamp now. Each
request differs in its trigger_id (and response_url), so none is a repeated delivery.

python slack_requests.py N_PER_THREAD THREADS TEXT OUT_PREFIX
  writes OUT_PREFIX.THREAD.txt (one "signature trigger_id" per line) and OUT_PREFIX.body.txt
  (the form with TRIGGER where the trigger_id goes), plus OUT_PREFIX.ts.txt.
"""
import hashlib
import hmac
import os
import sys
import time
import urllib.parse

n, threads, text, prefix = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
secret = os.environ["SLACK_SIGNING_SECRET"].encode()
ts = str(int(time.time()))
template = urllib.parse.urlencode({
    "token": "deprecated", "team_id": "T0TEAM0001", "team_domain": "example",
    "channel_id": "C0BENCH001", "channel_name": "marketing", "user_id": "U0USER0001",
    "user_name": "bench", "command": "/vibe", "text": text, "api_app_id": "A0APP00001",
    "is_enterprise_install": "false",
    "response_url": "http://127.0.0.1:9/response/TRIGGER", "trigger_id": "TRIGGER",
})
head, middle, tail = template.split("TRIGGER")
with open(prefix + ".body.txt", "w") as f:
    f.write(template)
with open(prefix + ".ts.txt", "w") as f:
    f.write(ts)
mac = hmac.new(secret, f"v0:{ts}:".encode(), hashlib.sha256)
for t in range(threads):
    with open(f"{prefix}.{t}.txt", "w") as f:
        for i in range(n):
            trigger = f"{t}{i:07d}.{ts}.{os.urandom(6).hex()}"
            body = head + trigger + middle + trigger + tail
            m = mac.copy()
            m.update(body.encode())
            f.write(f"v0={m.hexdigest()} {trigger}\n")
