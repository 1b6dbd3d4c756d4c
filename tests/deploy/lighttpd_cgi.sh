#!/bin/bash
# Plain CGI under lighttpd mod_cgi (fcgi-conf/cgi/lighttpd-cgi.conf):
# one process per request, configuration from WEBSANDS_CONFIG.  The
# smoke scenario must pass unchanged.
. "$(dirname "$0")/lib.sh"

command -v lighttpd >/dev/null || fail "lighttpd is missing"

HTTP_PORT=29450
deploy_env
deploy_example fcgi-conf/cgi/lighttpd-cgi.conf "$T/site.conf" 0
lighttpd_start "$T/site.conf" "$HTTP_PORT"
wait_http "http://127.0.0.1:$HTTP_PORT/health"
smoke "http://127.0.0.1:$HTTP_PORT"
say "ok"
