#!/bin/bash
# Plain CGI under Apache 2.4 (fcgi-conf/cgi/apache-cgi.conf, here
# with mod_cgid under the event MPM, Debian's default): one process
# per request, configuration from WEBSANDS_CONFIG.  The smoke scenario
# must pass unchanged.
. "$(dirname "$0")/lib.sh"

[ -x /usr/sbin/apache2 ] || fail "apache2 is missing"

HTTP_PORT=29400
deploy_env
deploy_example fcgi-conf/cgi/apache-cgi.conf "$T/site.conf" 0
apache_start "$T/site.conf" "$HTTP_PORT" event cgid
wait_http "http://127.0.0.1:$HTTP_PORT/health"
smoke "http://127.0.0.1:$HTTP_PORT"

# No responder outlives its request: CGI means one process each.
sleep 0.2
n=$(pgrep -f "^$T/bin/websands-" | wc -l || true)
[ "$n" -eq 0 ] || fail "$n CGI processes are still running"
req GET "http://127.0.0.1:$HTTP_PORT/etc/passwd"
expect 404 "GET /etc/passwd"
say "ok"
