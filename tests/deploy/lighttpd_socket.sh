#!/bin/bash
# lighttpd with mod_fastcgi in front of responders it did not start
# (fcgi-conf/lighttpd/websands-fastcgi-socket.conf): two instances of
# each, started with --listen on loopback ports.  The smoke scenario
# must pass unchanged.
. "$(dirname "$0")/lib.sh"

command -v lighttpd >/dev/null || fail "lighttpd is missing"

HTTP_PORT=29300
BASE=29300
deploy_env
deploy_responders "$BASE"
deploy_example fcgi-conf/lighttpd/websands-fastcgi-socket.conf \
    "$T/site.conf" "$BASE"
lighttpd_start "$T/site.conf" "$HTTP_PORT"
wait_http "http://127.0.0.1:$HTTP_PORT/health"
smoke "http://127.0.0.1:$HTTP_PORT"
say "ok"
