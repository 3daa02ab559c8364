-- wrk script for scripts/bench-server: POSTs one JSON body over and over and prints one JSON
-- line of results for the driver to parse.
--
--   WRK_BODY='{"model":"m","input":"hi"}' WRK_COUNT='prompt_tokens' \
--     wrk -t2 -c8 -d10s -s bench/wrk/post.lua http://127.0.0.1:8080/v1/embeddings
--
-- WRK_BODY: the request body (required). WRK_COUNT: a usage field (completion_tokens,
-- prompt_tokens) summed over the 200 responses; a 200 without it counts as bad, as does any
-- other status. Output: `WRK_RESULT {"requests":..,"duration_us":..,"tokens":..,"bad":..,
-- "errors":..,"p50_us":..,"p99_us":..,"mean_us":..}`.

local body = os.getenv("WRK_BODY")
local count_field = os.getenv("WRK_COUNT") or "prompt_tokens"
local pattern = '"' .. count_field .. '"%s*:%s*(%d+)'
local threads = {}

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = body

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  tokens = 0
  bad = 0
end

function response(status, headers, resp_body)
  if status ~= 200 then
    bad = bad + 1
    return
  end
  local n = resp_body:match(pattern)
  if n then tokens = tokens + tonumber(n) else bad = bad + 1 end
end

function done(summary, latency, requests)
  local total_tokens, total_bad = 0, 0
  for _, thread in ipairs(threads) do
    total_tokens = total_tokens + thread:get("tokens")
    total_bad = total_bad + thread:get("bad")
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"duration_us":%d,"tokens":%d,"bad":%d,"errors":%d,' ..
    '"p50_us":%d,"p99_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, total_tokens, total_bad,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99),
    latency.mean))
end
