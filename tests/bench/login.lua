-- POST /api/v1/auth/login, always as the one user BENCH_USER with
-- BENCH_PASSWORD (a throwaway account of the bench's own stack).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "count.lua")

wrk.method = "POST"
wrk.path = "/api/v1/auth/login"
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format('{"username_or_email":"%s","password":"%s"}',
    os.getenv("BENCH_USER") or "", os.getenv("BENCH_PASSWORD") or "")
