#!/bin/bash
# Apache 2.4 with mod_proxy_fcgi (fcgi-conf/apache/websands-proxy-fcgi.conf)
# in front of two instances of each responder, each started by
# spawn-fcgi (fcgi-conf/spawn-fcgi/websands-spawn) on its own loopback
# port with the listening socket on fd 0.  The smoke scenario must pass
# unchanged, and websands-spawn must stop what it started.
. "$(dirname "$0")/lib.sh"

command -v spawn-fcgi >/dev/null || fail "spawn-fcgi is missing"
[ -x /usr/sbin/apache2 ] || fail "apache2 is missing"

HTTP_PORT=29100
BASE=29100
deploy_env

# fcgi-conf/spawn-fcgi/websands-spawn starts them, as in production,
# with the test's programs, configuration, ports and directories.
export WEBSANDS_SPAWN_DEFAULTS=/dev/null WEBSANDS_BIN_DIR=$T/bin
export WEBSANDS_CONFIG=$T/websands.env WEBSANDS_RUN_DIR=$T/spawn
export WEBSANDS_LOG_DIR=$T/spawn WEBSANDS_USER=$WEB_USER
export WEBSANDS_GROUP=$WEB_GROUP WEBSANDS_THREADS=4
export WEBSANDS_AUTH_PORTS="$((BASE + 1)) $((BASE + 2))"
export WEBSANDS_USERS_PORTS="$((BASE + 11)) $((BASE + 12))"
export WEBSANDS_ADMIN_PORTS="$((BASE + 21)) $((BASE + 22))"
export WEBSANDS_HEALTH_PORTS="$((BASE + 31)) $((BASE + 32))"
spawn=$SRC/fcgi-conf/spawn-fcgi/websands-spawn
for p in $WEBSANDS_AUTH_PORTS $WEBSANDS_USERS_PORTS $WEBSANDS_ADMIN_PORTS \
    $WEBSANDS_HEALTH_PORTS; do
	port_free "$p"
done
deploy_on_exit "$spawn stop"
"$spawn" start || fail "websands-spawn start failed"
"$spawn" status >"$T/spawn-status.txt" ||
    fail "websands-spawn status: $(cat "$T/spawn-status.txt")"
for p in $WEBSANDS_AUTH_PORTS $WEBSANDS_USERS_PORTS $WEBSANDS_ADMIN_PORTS \
    $WEBSANDS_HEALTH_PORTS; do
	wait_port "$p" "websands-spawn instance"
done

deploy_example fcgi-conf/apache/websands-proxy-fcgi.conf "$T/site.conf" \
    "$BASE"
apache_start "$T/site.conf" "$HTTP_PORT" event proxy proxy_fcgi \
    proxy_balancer slotmem_shm lbmethod_byrequests remoteip reqtimeout
wait_http "http://127.0.0.1:$HTTP_PORT/health"
smoke "http://127.0.0.1:$HTTP_PORT"

# Paths outside WebSands are a 404, not a file or a listing.
req GET "http://127.0.0.1:$HTTP_PORT/etc/passwd"
expect 404 "GET /etc/passwd"
# The server does not name its version.
server=$(curl -s -D - -o /dev/null "http://127.0.0.1:$HTTP_PORT/health" |
    tr -d '\r' | sed -n 's/^Server: //Ip')
[ "$server" = Apache ] || fail "Server header says: $server"
# Apache first, so no connection of its own keeps a responder waiting.
deploy_stop "$APACHE_PID"
"$spawn" stop
for p in $WEBSANDS_AUTH_PORTS $WEBSANDS_HEALTH_PORTS; do
	port_open "$p" && fail "websands-spawn stop left port $p open"
done
say "ok"
