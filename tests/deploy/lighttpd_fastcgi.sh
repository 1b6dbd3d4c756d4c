#!/bin/bash
# lighttpd with mod_fastcgi starting the responders itself
# (fcgi-conf/lighttpd/websands-fastcgi.conf, "bin-path"): each gets a
# unix socket on fd 0 and its configuration from WEBSANDS_CONFIG.  The
# smoke scenario must pass unchanged.
. "$(dirname "$0")/lib.sh"

command -v lighttpd >/dev/null || fail "lighttpd is missing"

HTTP_PORT=29250
deploy_env
deploy_example fcgi-conf/lighttpd/websands-fastcgi.conf "$T/site.conf" 0
lighttpd_start "$T/site.conf" "$HTTP_PORT"
wait_http "http://127.0.0.1:$HTTP_PORT/health"
smoke "http://127.0.0.1:$HTTP_PORT"

# lighttpd runs the processes the configuration asks for (2 auth,
# 1 jwks, 2 users, 1 admin, 2 health, 1 metrics), as the web user.
n=$(pgrep -u "$WEB_USER" -f "^$T/bin/websands-" | wc -l || true)
[ "$n" -eq 9 ] || fail "expected 9 responder processes from lighttpd, saw $n"
server=$(curl -s -D - -o /dev/null "http://127.0.0.1:$HTTP_PORT/health" |
    tr -d '\r' | sed -n 's/^Server: //Ip')
[ "$server" = lighttpd ] || fail "Server header says: $server"
say "ok"
