#!/bin/bash
# The systemd units (fcgi-conf/systemd/): "systemd-analyze verify"
# accepts each with no complaint (an instance of each socket-activated
# responder, the mailer, the purge service and timer, the migration),
# every responder has a socket unit that hands its socket over on fd 0,
# and every service runs as the unprivileged user with the hardening
# options.  The units' /usr/bin programs are this build's.
DEPLOY_NO_STACK=1
. "$(dirname "$0")/lib.sh"

command -v systemd-analyze >/dev/null || skip "systemd-analyze is missing"

u=$T/units
mkdir -p "$u"
for f in "$SRC"/fcgi-conf/systemd/*.service "$SRC"/fcgi-conf/systemd/*.socket \
    "$SRC"/fcgi-conf/systemd/*.timer; do
	sed -e "s|/usr/bin/|$BUILD/|g" "$f" >"$u/$(basename "$f")"
done
deploy_bin
units=()
for r in auth users admin health; do
	have "websands-$r" || sed -i "s|$BUILD/websands-$r |$BUILD/websands-health |" \
	    "$u/websands-$r@.service"
	# An instance of a template is verified through a link named
	# after it, as systemctl would make.
	ln -s "websands-$r@.service" "$u/websands-$r@9101.service"
	ln -s "websands-$r@.socket" "$u/websands-$r@9101.socket"
	units+=("$u/websands-$r@9101.socket" "$u/websands-$r@9101.service")
	grep -q '^StandardInput=socket$' "$u/websands-$r@.service" ||
	    fail "websands-$r@.service does not take its socket on fd 0"
	grep -q '^ListenStream=127.0.0.1:%i$' "$u/websands-$r@.socket" ||
	    fail "websands-$r@.socket does not listen on 127.0.0.1:%i"
done
units+=("$u/websands-mailer.service" "$u/websands-purge.service"
    "$u/websands-purge.timer" "$u/websands-migrate.service")
(cd "$u" && SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no \
    "${units[@]}") >"$T/verify.log" 2>&1 ||
    fail "systemd-analyze verify: $(cat "$T/verify.log")"
# Any warning (an unknown option, a bad value) counts as a failure.
[ ! -s "$T/verify.log" ] ||
    fail "systemd-analyze verify warned: $(cat "$T/verify.log")"

for f in "$u"/*.service; do
	for opt in User=websands NoNewPrivileges=yes ProtectSystem=strict \
	    ProtectHome=yes PrivateTmp=yes CapabilityBoundingSet= \
	    RestrictAddressFamilies= SystemCallFilter=@system-service; do
		grep -q "^$opt" "$f" || fail "$(basename "$f") lacks $opt"
	done
done
grep -q '^OnCalendar=' "$u/websands-purge.timer" ||
    fail "websands-purge.timer has no schedule"
grep -q '^ExecStart=.* purge ' "$u/websands-purge.service" ||
    fail "websands-purge.service does not run websands purge"
# Each responder started as its service unit says, with the socket
# handed over the way systemd does for StandardInput=socket and
# Accept=no (systemd-socket-activate --inetd: the listening socket on
# fd 0), answers FastCGI.  This needs the stack's configuration.
if [ -n "${WS_MAIL_DIR:-}" ] && command -v systemd-socket-activate \
    >/dev/null && command -v cgi-fcgi >/dev/null; then
	deploy_env
	port=29470
	for r in auth users admin health; do
		cmd=$(sed -n 's/^ExecStart=//p' "$u/websands-$r@.service" |
		    sed -e "s|$BUILD/|$T/bin/|" \
		    -e "s|/etc/websands/websands.env|$T/websands.env|")
		port_free "$port"
		# shellcheck disable=SC2086
		deploy_spawn "unit-$r" "${AS_WEB[@]}" systemd-socket-activate \
		    --inetd -l "127.0.0.1:$port" $cmd
		wait_port "$port" "websands-$r@$port (socket)" "$DEPLOY_PID"
		case $r in
		auth) path=/.well-known/jwks.json want=200 ;;
		health) path=/health want=200 ;;
		*) path=/api/v1/$r/me want=401 ;;
		esac
		[ "$r" = admin ] && path=/api/v1/admin/stats
		out=$(REQUEST_METHOD=GET DOCUMENT_URI=$path \
		    REMOTE_ADDR=127.0.0.1 cgi-fcgi -bind \
		    -connect "127.0.0.1:$port" 2>&1 | head -n 1 | tr -d '\r')
		case $out in
		"Status: $want"*) ;;
		*) fail "websands-$r on an inherited socket: $out" ;;
		esac
		say "websands-$r@$port.service: GET $path -> $out"
		port=$((port + 1))
	done
else
	say "no stack: the units' programs were not started"
fi
say "ok"
