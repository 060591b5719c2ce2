-- wrk script for bench/: every request is the next one of a file the Python side wrote
-- (records "<byte length>\n<raw HTTP request>"), so the client only hands over prepared
-- bytes. Thread k of n takes records k, k+n, k+2n, ...: no request is sent twice unless a
-- thread runs out and starts again, which it counts ("wrapped"; the Python side checks it).
-- A file with fewer records than threads (one request repeated) is every thread's.
-- Arguments after "--": the file, the number of threads.
local threads = {}
local count = 0

function setup(thread)
  thread:set("tid", count)
  count = count + 1
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(args[1], "rb"))
  local data = f:read("*a")
  f:close()
  local n = tonumber(args[2])
  reqs, idx, wrapped = {}, 0, 0
  local pos, i = 1, 0
  while pos <= #data do
    local nl = data:find("\n", pos, true)
    local len = tonumber(data:sub(pos, nl - 1))
    if i % n == tid then reqs[#reqs + 1] = data:sub(nl + 1, nl + len) end
    pos, i = nl + 1 + len, i + 1
  end
  if i < n then
    reqs = {}
    pos = 1
    while pos <= #data do
      local nl = data:find("\n", pos, true)
      local len = tonumber(data:sub(pos, nl - 1))
      reqs[#reqs + 1] = data:sub(nl + 1, nl + len)
      pos = nl + 1 + len
    end
  end
end

function request()
  idx = idx + 1
  if idx > #reqs then idx, wrapped = 1, wrapped + 1 end
  return reqs[idx]
end

function done(summary, latency, requests)
  local w = 0
  for _, t in ipairs(threads) do w = w + t:get("wrapped") end
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, ' ..
    '"status": %d, "timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"wrapped": %d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, w))
end
