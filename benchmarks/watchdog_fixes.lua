-- wrk script for benchmarks/watchdog_load.py: phones on walks home, each posting one fix a
-- request to POST /api/fixes, all of them together at a set rate (the schedule is global to
-- the run, not per connection: a free connection takes the next slot of the schedule and
-- waits for its time; when the service answers too slowly to keep up, the slots fall behind
-- and the phones send as fast as the connections allow).
--
-- Arguments (after `--`): PHONES_FILE THREADS RATE
--   PHONES_FILE  one phone a line: "DEVICE_TOKEN STARTED_AT_MS"; thread k takes lines
--                k, k+THREADS, ...
--   THREADS      wrk's -t, so each thread knows its share
--   RATE         fixes a second for the whole run (each thread sends RATE / THREADS)
--
-- Each fix is stamped with the real time (t, epoch ms) and placed where a walker who left the
-- railway station at STARTED_AT and walks at 1.3 m/s toward home would be, so every walk keeps
-- making progress (it never stalls, never goes silent). The summary is one line: WRK_JSON {...}.

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_usec; } wwm_timeval;
int gettimeofday(wwm_timeval *tv, void *tz);
]])
local tv = ffi.new("wwm_timeval")

local function now_ms()
  ffi.C.gettimeofday(tv, nil)
  return tonumber(tv.tv_sec) * 1000 + math.floor(tonumber(tv.tv_usec) / 1000)
end

local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

-- The walk: from the railway station toward home, as in benchmarks/common.py.
local START_LAT, START_LON = 60.17096, 24.94137
local HOME_LAT, HOME_LON = 60.16110, 24.94470
local ROUTE_M = 1111.0 -- straight line from START to HOME, about
local PACE_MPS = 1.3
local FURTHEST = 0.8 -- never reaches the door during a run

function init(args)
  local path, nthreads, rate = args[1], tonumber(args[2]), tonumber(args[3])
  tokens, started = {}, {}
  local i = 0
  for line in io.lines(path) do
    local token, at = string.match(line, "^(%S+)%s+(%d+)$")
    if token then
      if i % nthreads == tid then
        table.insert(tokens, token)
        table.insert(started, tonumber(at))
      end
      i = i + 1
    end
  end
  if #tokens == 0 then
    error("thread " .. tid .. " has no phone")
  end
  headers, last_t = {}, {}
  for k = 1, #tokens do
    headers[k] = {
      ["Authorization"] = "Bearer " .. tokens[k],
      ["Content-Type"] = "application/json",
    }
    last_t[k] = 0
  end
  gap_ms = nthreads * 1000.0 / rate
  first_ms = now_ms()
  slot = 0
  sent = 0
  behind_ms = 0 -- how far the schedule had fallen behind at the last slot taken
  accepted, other, bad_status = 0, 0, 0
end

function delay()
  local due = first_ms + slot * gap_ms
  slot = slot + 1
  local wait = due - now_ms()
  if wait < 0 then
    behind_ms = -wait
    return 0
  end
  behind_ms = 0
  return math.floor(wait)
end

function request()
  local k = sent % #tokens + 1
  sent = sent + 1
  local t = now_ms()
  if t <= last_t[k] then
    t = last_t[k] + 1
  end
  last_t[k] = t
  local f = math.min(FURTHEST, math.max(0, (t - started[k]) / 1000 * PACE_MPS / ROUTE_M))
  local body = string.format(
    '{"t":%.0f,"lat":%.6f,"lon":%.6f,"accuracy":8,"speed":1.3,"battery":80}',
    t, START_LAT + (HOME_LAT - START_LAT) * f, START_LON + (HOME_LON - START_LON) * f
  )
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
  local acc, oth, bad, behind = 0, 0, 0, 0
  for _, thread in ipairs(threads) do
    acc = acc + thread:get("accepted")
    oth = oth + thread:get("other")
    bad = bad + thread:get("bad_status")
    local b = thread:get("behind_ms")
    if b > behind then
      behind = b
    end
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,'
      .. '"accepted":%d,"other":%d,"bad_status":%d,"socket_errors":%d,"behind_ms":%.0f}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, acc, oth, bad, e.connect + e.read + e.write + e.timeout, behind
  ))
end
