-- wrk script: POST /api/fixes, one fix a request (batch = 0) or {"fixes": [batch fixes]}.
--
-- Arguments (after `--`): TOKENS_FILE BASE_T THREADS BATCH
--   TOKENS_FILE  device tokens, one a line; thread k takes the tokens k, k+THREADS, ...
--   BASE_T       epoch ms of the first fix of every device
--   THREADS      wrk's -t, so each thread knows its share
--   BATCH        0 for a bare fix, N for N fixes a request
--
-- Requests go round-robin over the thread's devices; every device's "t" rises by one
-- millisecond a fix, so each fix is new (never a duplicate) and, for the real service,
-- accepted. Responses are counted by status ("accepted" or anything else) and the summary is
-- printed as one line: WRK_JSON {...}.

local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

function init(args)
  local path, nthreads = args[1], tonumber(args[3])
  base_t = tonumber(args[2])
  batch = tonumber(args[4])
  tokens = {}
  local i = 0
  for line in io.lines(path) do
    if line ~= "" then
      if i % nthreads == tid then
        table.insert(tokens, line)
      end
      i = i + 1
    end
  end
  if #tokens == 0 then
    error("thread " .. tid .. " has no device token")
  end
  next_t = {}
  headers = {}
  for k = 1, #tokens do
    next_t[k] = base_t
    headers[k] = {
      ["Authorization"] = "Bearer " .. tokens[k],
      ["Content-Type"] = "application/json",
    }
  end
  sent = 0
  max_t = 0
  accepted = 0
  other = 0
  bad_status = 0
  -- Where the walks start (the Helsinki railway station), as in benchmarks/common.py.
  lat, lon = 60.17096, 24.94137
end

local function fix(t)
  return string.format('{"t":%.0f,"lat":%.6f,"lon":%.6f,"accuracy":8,"battery":80}', t, lat, lon)
end

function request()
  local k = sent % #tokens + 1
  sent = sent + 1
  local t = next_t[k]
  local body
  if batch == 0 then
    body = fix(t)
    next_t[k] = t + 1
  else
    local items = {}
    for j = 0, batch - 1 do
      items[j + 1] = fix(t + j)
    end
    body = '{"fixes":[' .. table.concat(items, ",") .. "]}"
    next_t[k] = t + batch
  end
  if next_t[k] - 1 > max_t then
    max_t = next_t[k] - 1
  end
  return wrk.format("POST", "/api/fixes", headers[k], body)
end

function response(status, _headers, body)
  if status ~= 200 then
    bad_status = bad_status + 1
    return
  end
  local _, yes = string.gsub(body, '"accepted"', "")
  local _, all = string.gsub(body, '"status"', "")
  accepted = accepted + yes
  other = other + (all - yes)
end

function done(summary, latency, _requests)
  local acc, oth, bad, newest = 0, 0, 0, 0
  for _, thread in ipairs(threads) do
    acc = acc + thread:get("accepted")
    oth = oth + thread:get("other")
    bad = bad + thread:get("bad_status")
    local m = thread:get("max_t")
    if m > newest then
      newest = m
    end
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,'
      .. '"accepted":%d,"other":%d,"bad_status":%d,"socket_errors":%d,"max_t":%.0f}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, acc, oth, bad, e.connect + e.read + e.write + e.timeout, newest
  ))
end
