-- Shared by the WebSands wrk scripts (tests/harness/bench.sh): counts
-- the 200 answers apart from every other status, and prints one
-- machine-readable line when wrk is done:
--   bench_result ok=N bad=N secs=S ok_per_s=R p50_us=U mean_us=U
--       statuses=200:N,503:N
-- wrk's own requests/s counts every answer, errors included; the bench
-- wants only the successful ones.  A script that loads this file may
-- define bench_setup(thread, index) and bench_response(status, body).

local threads = {}

function setup(thread)
	table.insert(threads, thread)
	thread:set("bench_index", #threads)
	if bench_setup ~= nil then
		bench_setup(thread, #threads)
	end
end

ok = 0
bad = 0
statuses = {}

function response(status, headers, body)
	if status == 200 then
		ok = ok + 1
	else
		bad = bad + 1
	end
	local k = tostring(status)
	statuses[k] = (statuses[k] or 0) + 1
	if bench_response ~= nil then
		bench_response(status, body)
	end
end

function done(summary, latency, requests)
	local nok, nbad, all = 0, 0, {}
	for _, t in ipairs(threads) do
		nok = nok + t:get("ok")
		nbad = nbad + t:get("bad")
		for k, v in pairs(t:get("statuses")) do
			all[k] = (all[k] or 0) + v
		end
	end
	-- wrk's socket errors (connect, read, write, timeout) are
	-- failures too, though no status came with them.
	local e = summary.errors
	nbad = nbad + e.connect + e.read + e.write + e.timeout
	local keys = {}
	for k, _ in pairs(all) do
		table.insert(keys, k)
	end
	table.sort(keys)
	local parts = {}
	for _, k in ipairs(keys) do
		table.insert(parts, k .. ":" .. all[k])
	end
	if e.timeout > 0 then
		table.insert(parts, "timeout:" .. e.timeout)
	end
	local sock = e.connect + e.read + e.write
	if sock > 0 then
		table.insert(parts, "socket:" .. sock)
	end
	local secs = summary.duration / 1e6
	io.write(string.format("bench_result ok=%d bad=%d secs=%.3f " ..
	    "ok_per_s=%.2f p50_us=%d mean_us=%d statuses=%s\n",
	    nok, nbad, secs, nok / secs, latency:percentile(50),
	    math.floor(latency.mean), table.concat(parts, ",")))
end
