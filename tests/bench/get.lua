-- GET of the URL given to wrk, with an optional bearer token
-- (BENCH_ACCESS): /health, and /api/v1/users/me.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "count.lua")

local access = os.getenv("BENCH_ACCESS")
if access ~= nil and access ~= "" then
	wrk.headers["Authorization"] = "Bearer " .. access
end
