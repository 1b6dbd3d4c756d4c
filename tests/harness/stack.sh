#!/bin/bash
# Starts and stops the whole WebSands stack on loopback: a private
# PostgreSQL cluster, memcached, an SMTP sink that keeps every message
# as a file, the mailer, the responders and nginx.  `make run` uses it
# with a persistent state directory (.run/), `make test` with a
# temporary one and other ports, and the integration tests use its
# verbs to stop and start single servers.
#
#   stack.sh start --mode run|test --run-dir DIR --build-dir DIR
#   stack.sh stop|status|VERB [--run-dir DIR]   (or WS_RUN_DIR=DIR)
#
# VERB: pg-stop pg-start memcached-stop memcached-start smtp-stop
#       smtp-start mailer-stop mailer-start
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
verb=${1:-}
shift || true
mode=test
run_dir=${WS_RUN_DIR:-}
build_dir=${WS_BUILD_DIR:-$SRC/build}
while [ $# -gt 0 ]; do
	case "$1" in
	--mode) mode=$2; shift 2 ;;
	--run-dir) run_dir=$2; shift 2 ;;
	--build-dir) build_dir=$2; shift 2 ;;
	*) echo "stack: unknown argument $1" >&2; exit 2 ;;
	esac
done
[ -n "$run_dir" ] || { echo "stack: no --run-dir" >&2; exit 2; }

say() { echo "stack: $*" >&2; }
die() { say "$*"; exit 1; }

# Ports: `make run` and `make test` differ, so both can run at once.
set_ports() {
	if [ "$mode" = run ]; then
		HTTP_PORT=8080 PG_PORT=5544 MC_PORT=11311 SMTP_PORT=2525
		BASE=9000
	else
		HTTP_PORT=18080 PG_PORT=15432 MC_PORT=21211 SMTP_PORT=12525
		BASE=19000
	fi
	# WS_PORT_OFFSET moves every port, so several stacks (one per
	# developer or per build) can run on one machine.
	local off=${WS_PORT_OFFSET:-0}
	HTTP_PORT=$((HTTP_PORT + off)) PG_PORT=$((PG_PORT + off))
	MC_PORT=$((MC_PORT + off)) SMTP_PORT=$((SMTP_PORT + off))
	BASE=$((BASE + off))
	AUTH_PORT=$((BASE + 101)) USERS_PORT=$((BASE + 201))
	ADMIN_PORT=$((BASE + 301)) HEALTH_PORT=$((BASE + 401))
	HEALTH2_PORT=$((BASE + 402)) ECHO_PORT=$((BASE + 901))
}

pg_bin() {
	ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

# PostgreSQL refuses to run as root, so as root it runs as the
# 'postgres' user the Debian package creates.
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

wait_port() {
	local port=$1 what=$2 i
	for i in $(seq 1 200); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		sleep 0.05
	done
	die "$what did not open port $port (see $run_dir/*.log)"
}

wait_port_closed() {
	local port=$1 i
	for i in $(seq 1 200); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || return 0
		sleep 0.05
	done
	die "port $port still open"
}

alive() {
	local f="$run_dir/$1.pid"
	[ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null
}

# Starts a long-running program in its own session, logging to
# NAME.log and recording its pid in NAME.pid.
spawn() {
	local name=$1
	shift
	alive "$name" && return 0
	setsid "$@" >>"$run_dir/$name.log" 2>&1 </dev/null &
	echo $! >"$run_dir/$name.pid"
}

# Stops a program spawn started: SIGTERM, then SIGKILL after 10 s.
reap() {
	local name=$1 pid i
	[ -f "$run_dir/$name.pid" ] || return 0
	pid=$(cat "$run_dir/$name.pid")
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for i in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$run_dir/$name.pid"
}

pg_start() {
	local bin
	bin=$(pg_bin)
	[ -n "$bin" ] || die "no PostgreSQL server installed"
	if [ ! -f "$run_dir/pg/PG_VERSION" ]; then
		mkdir -p "$run_dir/pg"
		[ "$(id -u)" -eq 0 ] && chown postgres "$run_dir/pg"
		# Trust on loopback is for this private cluster only, which
		# listens on 127.0.0.1 and nowhere else.
		as_pg "$bin/initdb" -D "$run_dir/pg" -U postgres -A trust \
		    -E UTF8 --locale=C.UTF-8 --no-sync \
		    >"$run_dir/initdb.log" 2>&1 ||
		    die "initdb failed (see $run_dir/initdb.log)"
		if [ "$mode" = test ]; then
			# Throwaway data: durability buys nothing here.
			printf 'fsync = off\nsynchronous_commit = off\n' \
			    >>"$run_dir/pg/postgresql.conf"
		fi
	fi
	if as_pg "$bin/pg_ctl" -D "$run_dir/pg" status >/dev/null 2>&1; then
		return 0
	fi
	as_pg "$bin/pg_ctl" -D "$run_dir/pg" -l "$run_dir/pg/server.log" \
	    -w -t 30 -o "-p $PG_PORT -c listen_addresses=127.0.0.1 \
	    -c unix_socket_directories=''" start >/dev/null ||
	    die "PostgreSQL did not start (see $run_dir/pg/server.log)"
}

pg_stop() {
	local bin
	bin=$(pg_bin)
	[ -f "$run_dir/pg/PG_VERSION" ] || return 0
	as_pg "$bin/pg_ctl" -D "$run_dir/pg" status >/dev/null 2>&1 ||
	    return 0
	as_pg "$bin/pg_ctl" -D "$run_dir/pg" -m fast -w -t 30 stop \
	    >/dev/null
}

# The application connects as 'websands', which owns its database but
# is no superuser.
pg_bootstrap() {
	local psql="$(pg_bin)/psql -h 127.0.0.1 -p $PG_PORT -U postgres \
	    -d postgres -v ON_ERROR_STOP=1 -qAt"
	if [ "$($psql -c "SELECT 1 FROM pg_roles \
	    WHERE rolname = 'websands'")" != 1 ]; then
		$psql -c "CREATE ROLE websands LOGIN"
	fi
	if [ "$($psql -c "SELECT 1 FROM pg_database \
	    WHERE datname = 'websands'")" != 1 ]; then
		$psql -c "CREATE DATABASE websands OWNER websands"
	fi
}

mc_start() {
	local user=()
	[ "$(id -u)" -eq 0 ] && user=(-u nobody)
	spawn memcached memcached -l 127.0.0.1 -p "$MC_PORT" -U 0 -m 64 \
	    "${user[@]}"
	wait_port "$MC_PORT" memcached
}

smtp_start() {
	# A Maildir: aiosmtpd fills new/ through tmp/.
	mkdir -p "$MAIL_DIR/new" "$MAIL_DIR/cur" "$MAIL_DIR/tmp"
	# Debian's aiosmtpd, by its full path: an earlier python3 on PATH
	# may not see Debian's packages.  Each message becomes one file
	# under mail/new/.
	spawn smtp /usr/bin/aiosmtpd -n -l "127.0.0.1:$SMTP_PORT" \
	    -c aiosmtpd.handlers.Mailbox "$MAIL_DIR"
	wait_port "$SMTP_PORT" "the SMTP sink"
}

write_config() {
	cat >"$run_dir/websands.env" <<CONF
# The configuration every WebSands process of this stack reads
# (--config).  Written by tests/harness/stack.sh.
DATABASE_URL=postgresql://websands@127.0.0.1:$PG_PORT/websands
MEMCACHED_SERVERS=127.0.0.1:$MC_PORT
METRICS_DIR=$run_dir/metrics
PUBLIC_URL=$PUBLIC_URL
LOG_LEVEL=info
SQL_DIR=$SRC/sql
TEMPLATE_DIR=$SRC/templates
SMTP_URL=smtp://127.0.0.1:$SMTP_PORT
SMTP_TLS=off
MAIL_FROM=websands@localhost
MAIL_RATE=0
KEYS_DIR=$run_dir/keys
PASSWORD_DENYLIST=$SRC/data/common-passwords.txt
DATA_KEYS_FILE=$run_dir/data-keys
CONF
	if [ "$mode" = test ]; then
		# Tests need short locks and cheap hashes to finish in
		# minutes, and more requests from 127.0.0.1 than the
		# production limits allow; the tests of those limits start
		# responders of their own with tight values.
		cat >>"$run_dir/websands.env" <<CONF
BCRYPT_COST=6
LOCKOUT_DURATION_S=4
LOCKOUT_WINDOW_S=120
IP_BLOCK_THRESHOLD=100000
RATE_LOGIN=100000
RATE_REGISTER=100000
RATE_FORGOT=100000
RATE_RESEND=100000
RATE_REFRESH=100000
RATE_VERIFY=100000
RATE_MFA=100000
REFRESH_REUSE_GRACE_S=1
CONF
	fi
}

# The token-signing key and the data key, made once per state directory.
make_keys() {
	mkdir -p "$run_dir/keys"
	chmod 700 "$run_dir/keys"
	if [ -z "$(ls -A "$run_dir/keys")" ]; then
		KEYS_DIR="$run_dir/keys" "$build_dir/websands" keys generate \
		    >/dev/null || die "cannot generate a signing key"
	fi
	if [ ! -f "$run_dir/data-keys" ]; then
		(umask 077
		 printf '1 %s\n' "$(od -An -tx1 -N32 /dev/urandom |
		     tr -d ' \n')" >"$run_dir/data-keys")
	fi
}

write_env() {
	cat >"$run_dir/stack.env" <<ENV
WS_MODE=$mode
WS_PORT_OFFSET=${WS_PORT_OFFSET:-0}
WS_RUN_DIR=$run_dir
WS_BUILD_DIR=$build_dir
WS_SOURCE_DIR=$SRC
WS_STACK=$SRC/tests/harness/stack.sh
WS_BASE_URL=http://127.0.0.1:$HTTP_PORT
WS_PUBLIC_URL=$PUBLIC_URL
WS_DATABASE_URL=postgresql://websands@127.0.0.1:$PG_PORT/websands
WS_MEMCACHED=127.0.0.1:$MC_PORT
WS_SMTP_PORT=$SMTP_PORT
WS_MAIL_DIR=$MAIL_DIR
WS_METRICS_DIR=$run_dir/metrics
WS_HEALTH_FCGI=127.0.0.1:$HEALTH_PORT
WS_HEALTH2_FCGI=127.0.0.1:$HEALTH2_PORT
WS_ECHO_FCGI=127.0.0.1:$ECHO_PORT
ENV
}

# Starts one responder on a loopback port if its program was built.
responder() {
	local name=$1 port=$2 prog="$build_dir/$3"
	[ -x "$prog" ] || return 0
	spawn "$name" "$prog" --config "$run_dir/websands.env" \
	    --listen "127.0.0.1:$port" --threads 4
	wait_port "$port" "$name"
}

mailer_start() {
	[ -x "$build_dir/websands-mailer" ] || return 0
	spawn mailer "$build_dir/websands-mailer" \
	    --config "$run_dir/websands.env"
}

# An upstream and its location blocks for a responder that is running.
nginx_route() {
	local name=$1 port=$2 loc
	shift 2
	alive "$name" || return 0
	UPSTREAMS+="	upstream websands_$name {
		server 127.0.0.1:$port max_fails=1 fail_timeout=5s;
		keepalive 16;
	}
"
	for loc in "$@"; do
		LOCATIONS+="		location $loc {
			fastcgi_pass websands_$name;
		}
"
	done
}

nginx_start() {
	local d="$run_dir/nginx"
	mkdir -p "$d/body" "$d/fastcgi" "$d/proxy" "$d/uwsgi" "$d/scgi"
	# As root, nginx's workers run as 'nobody' and must write here.
	[ "$(id -u)" -eq 0 ] && chown -R nobody "$d"
	UPSTREAMS="" LOCATIONS=""
	nginx_route auth "$AUTH_PORT" /api/v1/auth/ /.well-known/
	nginx_route users "$USERS_PORT" /api/v1/users/
	nginx_route admin "$ADMIN_PORT" /api/v1/admin/
	[ "$mode" = test ] && nginx_route echo "$ECHO_PORT" /__test/
	export UPSTREAMS LOCATIONS
	sed -e "s|@RUN_DIR@|$run_dir|g" -e "s|@HTTP_PORT@|$HTTP_PORT|g" \
	    -e "s|@HEALTH_PORT@|$HEALTH_PORT|g" \
	    -e "s|@HEALTH2_PORT@|$HEALTH2_PORT|g" \
	    "$SRC/fcgi-conf/nginx/websands.conf.in" |
	    awk '/@EXTRA_UPSTREAMS@/ { printf "%s", ENVIRON["UPSTREAMS"];
		next }
		/@EXTRA_LOCATIONS@/ { printf "%s", ENVIRON["LOCATIONS"];
		next } { print }' >"$run_dir/nginx.conf"
	if [ -f "$d/nginx.pid" ] && kill -0 "$(cat "$d/nginx.pid")" \
	    2>/dev/null; then
		nginx -e "$d/error.log" -c "$run_dir/nginx.conf" -s reload
	else
		nginx -e "$d/error.log" -c "$run_dir/nginx.conf" ||
		    die "nginx did not start (see $d/error.log)"
	fi
	wait_port "$HTTP_PORT" nginx
}

nginx_stop() {
	local f="$run_dir/nginx/nginx.pid" pid i
	[ -f "$f" ] || return 0
	pid=$(cat "$f")
	kill -QUIT "$pid" 2>/dev/null || return 0
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
}

start() {
	mkdir -p "$run_dir" "$run_dir/metrics"
	run_dir=$(cd "$run_dir" && pwd)
	build_dir=$(cd "$build_dir" && pwd)
	# PostgreSQL and nginx's workers run as other users and must be
	# able to reach their directories under this one.
	chmod 755 "$run_dir"
	MAIL_DIR=$run_dir/mail
	PUBLIC_URL=http://127.0.0.1:$HTTP_PORT
	write_config
	write_env
	make_keys
	pg_start
	pg_bootstrap
	"$build_dir/websands" migrate --config "$run_dir/websands.env" ||
	    die "migrations failed"
	mc_start
	smtp_start
	mailer_start
	responder health "$HEALTH_PORT" websands-health
	responder health2 "$HEALTH2_PORT" websands-health
	responder auth "$AUTH_PORT" websands-auth
	responder users "$USERS_PORT" websands-users
	responder admin "$ADMIN_PORT" websands-admin
	[ "$mode" = test ] && responder echo "$ECHO_PORT" websands-echo
	nginx_start
}

stop() {
	nginx_stop
	for name in echo admin users auth health2 health mailer smtp \
	    memcached; do
		reap "$name"
	done
	pg_stop
}

if [ "$verb" != start ] && [ -f "$run_dir/stack.env" ]; then
	# shellcheck disable=SC1091
	. "$run_dir/stack.env"
	mode=$WS_MODE build_dir=$WS_BUILD_DIR MAIL_DIR=$WS_MAIL_DIR
	export WS_PORT_OFFSET
fi
set_ports

case "$verb" in
start) start ;;
stop) stop ;;
pg-stop) pg_stop; wait_port_closed "$PG_PORT" ;;
pg-start) pg_start; wait_port "$PG_PORT" PostgreSQL ;;
memcached-stop) reap memcached; wait_port_closed "$MC_PORT" ;;
memcached-start) mc_start ;;
smtp-stop) reap smtp; wait_port_closed "$SMTP_PORT" ;;
smtp-start) smtp_start ;;
mailer-stop) reap mailer ;;
mailer-start) mailer_start ;;
status)
	for name in memcached smtp mailer health health2 auth users admin \
	    echo; do
		if alive "$name"; then echo "$name: running"
		else echo "$name: stopped"; fi
	done
	;;
*) echo "usage: stack.sh start|stop|status|pg-stop|pg-start|..." >&2
   exit 2 ;;
esac
