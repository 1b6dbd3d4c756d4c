#!/bin/bash
# nginx with fcgi-conf/nginx/production.conf in front of two instances
# of each responder: TLS 1.3 only with HSTS, HTTP redirected, no
# version in headers, client addresses from X-Forwarded-For only when
# a trusted proxy sent it, bodies bounded.  The smoke scenario must
# pass unchanged.
. "$(dirname "$0")/lib.sh"

command -v nginx >/dev/null || fail "nginx is missing"
command -v openssl >/dev/null || fail "openssl is missing"

HTTP_PORT=29040
TLS_PORT=29041
BASE=29000
URL=https://api.example.org:$TLS_PORT
deploy_env
deploy_responders "$BASE"
deploy_example fcgi-conf/nginx/production.conf "$T/site.conf" "$BASE"
nginx_start "$T/site.conf" "$HTTP_PORT" "$TLS_PORT"
wait_http "$URL/health" "${SMOKE_CURL[@]}"
smoke "$URL"

headers() {
	curl -s -D - -o /dev/null "${SMOKE_CURL[@]}" "$@" | tr -d '\r'
}
# HSTS on answers and on nginx's own errors; no version anywhere.
h=$(headers "$URL/health")
grep -q -i '^Strict-Transport-Security: max-age=63072000' <<<"$h" ||
    fail "no HSTS header: $h"
grep -q -i '^Server: nginx$' <<<"$h" || fail "Server header: $h"
h=$(headers "$URL/no/such/path")
grep -q '^HTTP/[0-9.]* 404' <<<"$h" || fail "unknown path: $h"
grep -q -i '^Strict-Transport-Security:' <<<"$h" || fail "no HSTS on 404"
# TLS 1.2 and older are refused.
if curl -s -o /dev/null --tls-max 1.2 "${SMOKE_CURL[@]}" "$URL/health"; then
	fail "a TLS 1.2 handshake succeeded"
fi
# Plain HTTP only redirects, to the configured name.
h=$(curl -s -D - -o /dev/null "http://127.0.0.1:$HTTP_PORT/health" |
    tr -d '\r')
grep -q '^HTTP/1.1 301' <<<"$h" || fail "HTTP did not redirect: $h"
grep -q '^Location: https://api.example.org/health' <<<"$h" ||
    fail "redirect target: $h"
# A body over 64 KiB is refused by nginx with problem JSON.
head -c 70000 /dev/zero | tr '\0' a >"$T/big.json"
req POST "$URL/api/v1/auth/login" "@$T/big.json"
expect 413 "a 70000-byte body"
[ "$(jq -r .code <<<"$R_BODY")" = PAYLOAD_TOO_LARGE ] ||
    fail "413 body: $R_BODY"
# X-Forwarded-For from an untrusted peer (127.0.0.1 is not among the
# load balancers) is ignored: the responder sees the real peer.
rid=$(curl -s -D - -o /dev/null "${SMOKE_CURL[@]}" \
    -H 'X-Forwarded-For: 203.0.113.9' "$URL/health" | tr -d '\r' |
    sed -n 's/^X-Request-Id: //Ip')
[ -n "$rid" ] || fail "no X-Request-Id"
sleep 0.2
line=$(grep -h "request_id=$rid " "$T"/websands-health-*.log || true)
grep -q 'client=127.0.0.1' <<<"$line" ||
    fail "untrusted X-Forwarded-For believed: $line"
say "ok"
