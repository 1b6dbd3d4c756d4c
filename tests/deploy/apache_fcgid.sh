#!/bin/bash
# Apache 2.4 with mod_fcgid (fcgi-conf/apache/websands-fcgid.conf):
# Apache starts the responders itself, with the listening socket on
# fd 0 and the configuration from the env file named by
# WEBSANDS_CONFIG.  The smoke scenario must pass unchanged.
. "$(dirname "$0")/lib.sh"

[ -x /usr/sbin/apache2 ] || fail "apache2 is missing"
[ -f /usr/lib/apache2/modules/mod_fcgid.so ] ||
    fail "mod_fcgid is missing (libapache2-mod-fcgid)"

HTTP_PORT=29150
deploy_env
deploy_example fcgi-conf/apache/websands-fcgid.conf "$T/site.conf" 0
apache_start "$T/site.conf" "$HTTP_PORT" event fcgid remoteip
# The first request to each prefix makes mod_fcgid start a process.
wait_http "http://127.0.0.1:$HTTP_PORT/health"
smoke "http://127.0.0.1:$HTTP_PORT"

# The processes are Apache's, running as the web user, each serving
# the socket mod_fcgid gave it.
n=$(pgrep -u "$WEB_USER" -f "^$T/bin/websands-" | wc -l)
[ "$n" -ge 3 ] || fail "expected mod_fcgid to run the responders, saw $n"
say "mod_fcgid runs $n responder processes"
req GET "http://127.0.0.1:$HTTP_PORT/etc/passwd"
expect 404 "GET /etc/passwd"
say "ok"
