-- wrk script: POST the documented run.completed payload
-- (fixtures/valid/01-docs-run-completed.json) with Content-Type application/json and a fresh
-- run_id in every request (both occurrences, envelope and data, replaced), so a webhook receiver
-- processes each request instead of answering it as a duplicate.
--
--   wrk -t1 -c64 -d10s --latency -s scripts/wrk/fresh-run-id.lua http://127.0.0.1:18180/webhook
--
-- The payload file is $RUNHOOK_PAYLOAD, or fixtures/valid/01-docs-run-completed.json relative to
-- the working directory. Run ids look like `wrk-<start>-<random>-<thread>-<n>`: unique across
-- threads, and across runs against the same server. At the end a machine-readable line is printed:
--   RESULT requests=N duration_us=N rps=X p50_us=N p99_us=N non2xx=N socket_errors=N cdf=P:US,...
-- (`cdf`: the latency in µs at each of a fixed list of percentiles, for `cargo xtask bench`'s plots).

local payload_path = os.getenv("RUNHOOK_PAYLOAD") or "fixtures/valid/01-docs-run-completed.json"

-- Main state: number the threads.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end

-- Thread state: the payload split around its run id, and a counter.
local pieces
local prefix
local counter = 0
local headers = { ["Content-Type"] = "application/json" }

function init(args)
  local file = assert(io.open(payload_path, "rb"), "cannot open " .. payload_path)
  local body = file:read("*a")
  file:close()
  local run_id = assert(body:match('"run_id"%s*:%s*"([^"]+)"'), "no run_id in " .. payload_path)
  pieces = {}
  local from = 1
  while true do
    local first, last = body:find(run_id, from, true)
    if not first then break end
    pieces[#pieces + 1] = body:sub(from, first - 1)
    from = last + 1
  end
  pieces[#pieces + 1] = body:sub(from)
  assert(#pieces >= 3, "expected the run id twice (envelope and data) in " .. payload_path)
  math.randomseed(os.time() * 1000 + (thread_number or 0))
  prefix = string.format("wrk-%x-%04x-%d-", os.time(), math.random(0, 0xffff), thread_number or 0)
end

function request()
  counter = counter + 1
  return wrk.format("POST", nil, headers, table.concat(pieces, prefix .. counter))
end

local percentiles = { 1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 97.5, 99, 99.5, 99.9, 99.99 }

function done(summary, latency, requests)
  local errors = summary.errors
  local cdf = {}
  for i, p in ipairs(percentiles) do
    cdf[i] = string.format("%g:%d", p, latency:percentile(p))
  end
  io.write(string.format(
    "RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d non2xx=%d socket_errors=%d cdf=%s\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99), errors.status,
    errors.connect + errors.read + errors.write + errors.timeout, table.concat(cdf, ",")))
end
