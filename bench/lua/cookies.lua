-- wrk script: round-robin over many session cookies (one per line of the file given after "--"),
-- each thread starting at its own offset, plus the same done() report as report.lua.
local cookies = {}
local next_index = 1
local path = "/"
local thread_count = 0

setup = function(thread)
  thread_count = thread_count + 1
  thread:set("offset", thread_count)
end

init = function(args)
  local file = assert(io.open(args[1], "r"), "cookies.lua: cannot open " .. tostring(args[1]))
  for line in file:lines() do
    if #line > 0 then cookies[#cookies + 1] = line end
  end
  file:close()
  assert(#cookies > 0, "cookies.lua: no cookies in " .. args[1])
  path = args[2] or "/"
  -- Spread the threads over the list so they do not walk the same sessions in lockstep.
  next_index = ((tonumber(offset) or 1) - 1) * math.floor(#cookies / 2) % #cookies + 1
end

request = function()
  local cookie = cookies[next_index]
  next_index = next_index % #cookies + 1
  return wrk.format("GET", path, { ["Cookie"] = cookie })
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_s":%.3f,"rps":%.1f,"bytes":%d,"lat_mean_ms":%.3f,' ..
    '"lat_max_ms":%.3f,"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"p999_ms":%.3f,' ..
    '"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6), summary.bytes,
    latency.mean / 1000, latency.max / 1000, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency:percentile(99.9) / 1000,
    e.connect, e.read, e.write, e.status, e.timeout))
end
