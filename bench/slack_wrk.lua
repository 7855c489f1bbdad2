-- wrk script for W1: every request is a distinct slash command, signed as Slack signs it, from
-- the files bench/slack_requests.py wrote (REQUESTS names their prefix). Each thread reads its
-- own file, so no request is sent twice unless a thread runs out (then done() says so).
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  local prefix = os.getenv("REQUESTS")
  local f = io.open(prefix .. ".body.txt"); local template = f:read("*a"); f:close()
  f = io.open(prefix .. ".ts.txt"); ts = f:read("*a"); f:close()
  head, middle, tail = template:match("^(.-)TRIGGER(.-)TRIGGER(.*)$")
  sigs, triggers = {}, {}
  for line in io.lines(prefix .. "." .. tid .. ".txt") do
    local s, t = line:match("^(%S+) (%S+)$")
    sigs[#sigs + 1] = s
    triggers[#triggers + 1] = t
  end
  n, wrapped = 0, 0
end

function request()
  n = n + 1
  if n > #sigs then n = 1; wrapped = wrapped + 1 end
  local body = head .. triggers[n] .. middle .. triggers[n] .. tail
  return wrk.format("POST", "/slack/commands", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["X-Slack-Request-Timestamp"] = ts,
    ["X-Slack-Signature"] = sigs[n],
  }, body)
end

function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    if t:get("wrapped") > 0 then print("WARNING: a thread ran out of distinct requests") end
  end
  local non2xx = summary.errors.status
  io.write(string.format("RESULT rps=%.0f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f requests=%d non2xx=%d errors=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, summary.requests, non2xx,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
