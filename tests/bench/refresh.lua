-- POST /api/v1/auth/refresh.  Every refresh rotates its token, so a
-- token can be sent once: each wrk thread keeps a pool of the refresh
-- tokens it holds, one per session (BENCH_TOKENS names a file of them,
-- one a line, from logins done beforehand; BENCH_THREADS says how
-- many threads share it).  A request takes a token out of the pool and
-- its 200 answer puts the rotated one back, so a token is never sent
-- twice and no reuse is detected.  The pool must hold more tokens than
-- the thread has connections; a request that finds it empty sends a
-- token that cannot be valid and counts as an error.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "count.lua")

local all_tokens = nil

function bench_setup(thread, index)
	local n = tonumber(os.getenv("BENCH_THREADS") or "1")
	if all_tokens == nil then
		all_tokens = {}
		local f = assert(io.open(os.getenv("BENCH_TOKENS"), "r"))
		for line in f:lines() do
			if line ~= "" then
				table.insert(all_tokens, line)
			end
		end
		f:close()
	end
	local mine = {}
	for i, t in ipairs(all_tokens) do
		if (i - 1) % n == index - 1 then
			table.insert(mine, t)
		end
	end
	thread:set("pool", mine)
end

starved = 0

function request()
	local t = table.remove(pool, 1)
	if t == nil then
		starved = starved + 1
		t = "pool-empty"
	end
	return wrk.format("POST", "/api/v1/auth/refresh",
	    { ["Content-Type"] = "application/json" },
	    '{"refresh_token":"' .. t .. '"}')
end

function bench_response(status, body)
	if status ~= 200 then
		return
	end
	local t = body:match('"refresh_token"%s*:%s*"([^"]+)"')
	if t ~= nil then
		table.insert(pool, t)
	end
end
