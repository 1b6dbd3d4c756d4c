#!/bin/bash
# nginx (fcgi-conf/nginx/production.conf) with two instances of
# websands-users: one is killed with SIGKILL in the middle of a run of
# 2,000 GET /api/v1/users/me (8 at a time, loopback only).  nginx must
# move the killed instance's requests to its sibling; a request may
# fail only if it was in flight at the kill, so at most 8 may.  The
# number that failed is printed.
. "$(dirname "$0")/lib.sh"

command -v nginx >/dev/null || fail "nginx is missing"
have websands-users || skip "websands-users is not built yet"

TOTAL=2000
PARALLEL=8
KILL_AFTER=600
HTTP_PORT=29090
TLS_PORT=29091
BASE=29050
URL=https://api.example.org:$TLS_PORT
deploy_env
deploy_responder websands-auth $((BASE + 1))
deploy_responder websands-users $((BASE + 11))
victim=$DEPLOY_PID
deploy_responder websands-users $((BASE + 12))
deploy_responder websands-health $((BASE + 31))
deploy_example fcgi-conf/nginx/production.conf "$T/site.conf" "$BASE"
nginx_start "$T/site.conf" "$HTTP_PORT" "$TLS_PORT"
wait_http "$URL/health" "${SMOKE_CURL[@]}"

# A signed-in user (made verified by the command-line tool).
smoke_admin || skip "'websands user create' is not available yet"
req POST "$URL/api/v1/auth/login" \
    "{\"username_or_email\":\"$SMOKE_ADMIN_USER\",\"password\":\"$SMOKE_ADMIN_PASS\"}"
expect 200 "POST /api/v1/auth/login"
access=$(jq -r .access_token <<<"$R_BODY")

# One curl runs all 2,000 requests over a few reused connections and
# prints each one's status as it completes.
for i in $(seq 1 "$TOTAL"); do
	printf 'url = "%s/api/v1/users/me"\noutput = "/dev/null"\n' "$URL"
done >"$T/urls.conf"
deploy_spawn load curl -s --parallel --parallel-max "$PARALLEL" \
    --max-time 20 --stderr "$T/load.err" "${SMOKE_CURL[@]}" \
    -H "Authorization: Bearer $access" -w '%{http_code}\n' \
    -K "$T/urls.conf"
load=$DEPLOY_PID
# nginx writes its access log line by line (curl's own output is
# buffered), so it tells how far the run has come.
served() {
	grep -c 'GET /api/v1/users/me' "$T/nginx/access.log" || true
}
for i in $(seq 1 1000); do
	[ "$(served)" -ge "$KILL_AFTER" ] && break
	kill -0 "$load" 2>/dev/null || break
	sleep 0.01
done
done_at_kill=$(served)
kill -KILL "$victim"
say "killed websands-users $victim with SIGKILL after $done_at_kill" \
    "of $TOTAL requests"
# The run is bounded: every request has 20 s at most.
for i in $(seq 1 600); do
	kill -0 "$load" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$load" 2>/dev/null && fail "the load run did not finish"

n=$(grep -c . "$T/load.log" || true)
ok=$(grep -c '^200$' "$T/load.log" || true)
failed=$((TOTAL - ok))
say "$ok of $TOTAL answered 200; $failed failed" \
    "($(grep -v '^200$' "$T/load.log" | sort | uniq -c | tr '\n' ' '))"
[ "$n" -eq "$TOTAL" ] || fail "$n of $TOTAL requests completed"
[ "$done_at_kill" -lt "$TOTAL" ] || fail "the kill came after the run"
[ "$failed" -le "$PARALLEL" ] ||
    fail "$failed requests failed; at most $PARALLEL were in flight"
# Both instances served before the kill, the survivor after it.
a=$(grep -c 'path=/api/v1/users/me status=200' \
    "$T/websands-users-$((BASE + 11)).log" || true)
b=$(grep -c 'path=/api/v1/users/me status=200' \
    "$T/websands-users-$((BASE + 12)).log" || true)
say "served: killed instance $a, surviving instance $b"
[ "$a" -gt 0 ] && [ "$b" -gt "$a" ] || fail "the load was not shared"
# A request the killed instance had answered (and logged) but whose
# reply the kill cut off was retried on the sibling, so it is counted
# in both logs.
retried=$((a + b - ok))
[ "$retried" -ge 0 ] || retried=0
echo "failed requests at kill -9: $failed (in flight and retried on" \
    "the sibling: at least $retried)"
say "ok"
