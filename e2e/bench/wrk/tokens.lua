-- tokens.lua: a wrk script for tokenauth's load test (see run.sh).
--
--   wrk -t1 -c32 -d10s -s tokens.lua http://127.0.0.1:PORT/api/protected/ -- KEYS_FILE
--
-- Each request carries an Authorization header ("Token <key>", "Bearer
-- <jwt>"), the values taken in turn from KEYS_FILE (one a line, as
-- benchserver writes them); the requests are formatted once, in init,
-- so that the load generator costs the same for every server. When done it
-- prints one line for run.sh to parse, tab-separated:
--
--   RESULT  requests/s  p50_us  p99_us  non_2xx_3xx  socket_errors  timeouts

local requests = {}
local count = 0
local next_index = 0

function init(args)
  local path = args[1]
  if path == nil then
    error("tokens.lua: pass the keys file after --")
  end
  for line in io.lines(path) do
    if line ~= "" then
      count = count + 1
      requests[count] = wrk.format("GET", nil, { ["Authorization"] = line })
    end
  end
  if count == 0 then
    error("tokens.lua: no keys in " .. path)
  end
  -- Threads start at different keys.
  next_index = math.random(count) - 1
end

function request()
  next_index = next_index % count + 1
  return requests[next_index]
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format("RESULT\t%.1f\t%.0f\t%.0f\t%d\t%d\t%d\t%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write, e.timeout, summary.requests))
end
