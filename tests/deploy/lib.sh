# Helpers the deployment tests share; each test sources this file.
#
# A test runs against the stack tests/harness/stack.sh started (its
# variables come from WS_RUN_DIR/stack.env): the same PostgreSQL,
# memcached, SMTP sink and mailer.  It starts its own web server and
# its own responders on loopback ports 29000-29499 under a temporary
# directory, runs its scenario, and stops everything it started, also
# when it fails.
#
# The example configurations under fcgi-conf/ name production paths
# (/usr/bin, /etc/websands/websands.env, /run/websands) and ports
# (9101...9402); deploy_example copies one with those replaced by the
# test's own, so the files tested are the files shipped.
set -euo pipefail

DEPLOY_NAME=$(basename "$0" .sh)

say() { echo "$DEPLOY_NAME: $*"; }
fail() {
	echo "$DEPLOY_NAME: FAIL: $*" >&2
	exit 1
}
skip() {
	# CTest reads exit status 77 as "skipped" (SKIP_RETURN_CODE).
	echo "$DEPLOY_NAME: SKIP: $*"
	exit 77
}

# Loads the stack's variables when CTest was not given them.  A test
# that needs no stack (the manifests, the units) sets DEPLOY_NO_STACK=1
# before sourcing this file.
if [ -z "${WS_MAIL_DIR:-}" ] && [ -n "${WS_RUN_DIR:-}" ] &&
    [ -f "$WS_RUN_DIR/stack.env" ]; then
	set -a
	# shellcheck disable=SC1091
	. "$WS_RUN_DIR/stack.env"
	set +a
fi
if [ -z "${WS_MAIL_DIR:-}" ] && [ "${DEPLOY_NO_STACK:-0}" != 1 ]; then
	fail "no stack: run tests/harness/stack.sh start and load its" \
	    "stack.env (WS_RUN_DIR and WS_MAIL_DIR unset)"
fi
SRC=${WS_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${WS_BUILD_DIR:-$SRC/build}
command -v jq >/dev/null || fail "jq is missing (tests/harness/install-deps.sh)"

# Who the web servers and responders run as: as root, www-data (the
# user Debian's web server packages run as), otherwise whoever runs
# the test.
if [ "$(id -u)" -eq 0 ]; then
	WEB_USER=www-data
	WEB_GROUP=www-data
else
	WEB_USER=$(id -un)
	WEB_GROUP=$(id -gn)
fi

# The command prefix that runs a program as the web user; setpriv
# execs it directly, so a recorded pid is the program's own.
AS_WEB=()
if [ "$(id -u)" -eq 0 ]; then
	AS_WEB=(setpriv --reuid="$WEB_USER" --regid="$WEB_GROUP"
	    --init-groups)
fi

T=$(mktemp -d "/tmp/websands-deploy-$DEPLOY_NAME.XXXXXX")
# Web servers and responders run as another user and must reach it.
chmod 755 "$T"
DEPLOY_PIDS=""
DEPLOY_STOPS=()

# Runs at exit: the registered stop commands, then every process
# started with deploy_spawn, newest first, SIGTERM and SIGKILL 10 s later;
# then the temporary directory goes unless KEEP_DEPLOY_DIR=1.  A sanitizer
# report in any log fails the test.
deploy_cleanup() {
	local status=$? pid i cmd pids=""
	set +e
	for cmd in "${DEPLOY_STOPS[@]}"; do
		eval "$cmd" >/dev/null 2>&1
	done
	# Newest first: the web server goes before the responders behind
	# it, so it is not left waiting on them.
	for pid in $DEPLOY_PIDS; do
		pids="$pid $pids"
	done
	for pid in $pids; do
		kill -TERM "$pid" 2>/dev/null || continue
		for i in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
	done
	if grep -r -l -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' \
	    "$T" --include='*.log' 2>/dev/null; then
		echo "$DEPLOY_NAME: FAIL: a sanitizer report in a log" >&2
		status=1
	fi
	if [ $status -ne 0 ] && [ $status -ne 77 ]; then
		find "$T" -name '*.log' -size +0 2>/dev/null |
		    while IFS= read -r f; do
			echo "==== last lines of $f"
			tail -n 25 "$f"
		done
	fi
	if [ "${KEEP_DEPLOY_DIR:-0}" = 1 ]; then
		echo "$DEPLOY_NAME: kept $T"
	else
		rm -rf "$T"
	fi
	exit $status
}
trap deploy_cleanup EXIT
trap 'exit 1' INT TERM

# Registers a shell command to run at exit (stopping a daemon).
deploy_on_exit() {
	DEPLOY_STOPS+=("$1")
}

# Starts a program in the background in its own session, output to
# $T/NAME.log; DEPLOY_PID is its pid.
deploy_spawn() {
	local name=$1
	shift
	setsid "$@" >>"$T/$name.log" 2>&1 </dev/null &
	DEPLOY_PID=$!
	DEPLOY_PIDS="$DEPLOY_PIDS $DEPLOY_PID"
}

# Stops one process started by deploy_spawn: SIGTERM, SIGKILL after 10 s.
deploy_stop() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
}

port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Fails when something already listens on PORT: a test must never
# take another server's port for its own.
port_free() {
	! port_open "$1" || fail "port $1 is already in use"
}

# Waits for PORT to open while the process PID (if given) lives.
wait_port() {
	local port=$1 what=$2 pid=${3:-} i
	for i in $(seq 1 200); do
		port_open "$port" && return 0
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			fail "$what exited before it opened port $port"
		fi
		sleep 0.05
	done
	fail "$what did not open port $port"
}

# Waits until URL answers 200 (at most 15 s).
wait_http() {
	local url=$1 i code
	shift
	for i in $(seq 1 150); do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
		    "$@" "$url" 2>/dev/null || true)
		[ "$code" = 200 ] && return 0
		sleep 0.1
	done
	fail "$url did not answer 200 (last: $code)"
}

# The programs the web servers run, under $T/bin.  A responder that is
# not built yet (the build is in progress elsewhere) is stood in for by
# websands-health, so every configuration still starts; the smoke
# scenario then skips that responder's steps.
deploy_bin() {
	local p
	mkdir -p "$T/bin"
	for p in websands-auth websands-users websands-admin \
	    websands-health websands-mailer websands; do
		if [ -x "$BUILD/$p" ]; then
			ln -sfn "$BUILD/$p" "$T/bin/$p"
		elif [ "$p" != websands ] && [ "$p" != websands-mailer ]; then
			ln -sfn "$BUILD/websands-health" "$T/bin/$p"
		fi
	done
	[ -x "$BUILD/websands-auth" ] && [ -x "$BUILD/websands-health" ] ||
	    fail "websands-auth and websands-health must be built"
}

have() {
	[ -x "$BUILD/$1" ]
}

# The stack's configuration with copies of its keys that the web user
# can read (the originals are root's, mode 0600/0700), and a metrics
# directory it can write; everything else (database, memcached, SMTP,
# hashing and rate settings) is the stack's own, unchanged.
deploy_env() {
	mkdir -p "$T/keys" "$T/metrics" "$T/run" "$T/logs"
	cp -p "$WS_RUN_DIR"/keys/* "$T/keys/"
	cp -p "$WS_RUN_DIR/data-keys" "$T/data-keys"
	chmod 700 "$T/keys"
	chmod 600 "$T/data-keys"
	sed -e "s|^KEYS_DIR=.*|KEYS_DIR=$T/keys|" \
	    -e "s|^DATA_KEYS_FILE=.*|DATA_KEYS_FILE=$T/data-keys|" \
	    -e "s|^METRICS_DIR=.*|METRICS_DIR=$T/metrics|" \
	    "$WS_RUN_DIR/websands.env" >"$T/websands.env"
	chmod 644 "$T/websands.env"
	if [ "$(id -u)" -eq 0 ]; then
		chown -R "$WEB_USER:$WEB_GROUP" "$T/keys" "$T/data-keys" \
		    "$T/metrics" "$T/run" "$T/logs"
	fi
	deploy_bin
}

# Copies an example configuration to $T with production paths and
# ports replaced: port 9N0K of responder N, instance K, becomes
# base + 10 * (N - 1) + K (auth 1, users 2, admin 3, health 4).
deploy_example() {
	local src=$1 dst=$2 base=$3
	sed -e "s|/usr/bin\\b|$T/bin|g" \
	    -e "s|/etc/websands/websands.env|$T/websands.env|g" \
	    -e "s|/run/websands|$T/run|g" \
	    -e "s|\\b9101\\b|$((base + 1))|g" -e "s|\\b9102\\b|$((base + 2))|g" \
	    -e "s|\\b9201\\b|$((base + 11))|g" -e "s|\\b9202\\b|$((base + 12))|g" \
	    -e "s|\\b9301\\b|$((base + 21))|g" -e "s|\\b9302\\b|$((base + 22))|g" \
	    -e "s|\\b9401\\b|$((base + 31))|g" -e "s|\\b9402\\b|$((base + 32))|g" \
	    "$SRC/$src" >"$dst"
}

# Starts one responder instance on 127.0.0.1:PORT as the web user.
deploy_responder() {
	local prog=$1 port=$2
	port_free "$port"
	deploy_spawn "$prog-$port" "${AS_WEB[@]}" "$T/bin/$prog" \
	    --config "$T/websands.env" --listen "127.0.0.1:$port" --threads 4
	wait_port "$port" "$prog" "$DEPLOY_PID"
}

# Two instances of each responder on the ports deploy_example uses.
deploy_responders() {
	local base=$1
	deploy_responder websands-auth $((base + 1))
	deploy_responder websands-auth $((base + 2))
	deploy_responder websands-users $((base + 11))
	deploy_responder websands-users $((base + 12))
	deploy_responder websands-admin $((base + 21))
	deploy_responder websands-admin $((base + 22))
	deploy_responder websands-health $((base + 31))
	deploy_responder websands-health $((base + 32))
}

# ---- the smoke scenario ----

SMOKE_CURL=()
R_STATUS=""
R_BODY=""

# One request: req METHOD URL [JSON] [BEARER]; sets R_STATUS, R_BODY.
req() {
	local method=$1 url=$2 body=${3:-} bearer=${4:-} out
	local args=(-sS -X "$method" --max-time 20 -o "$T/resp.json"
	    -w '%{http_code}' "${SMOKE_CURL[@]}")
	[ -n "$body" ] && args+=(-H 'Content-Type: application/json'
	    --data-binary "$body")
	[ -n "$bearer" ] && args+=(-H "Authorization: Bearer $bearer")
	out=$(curl "${args[@]}" "$url") || out=000
	R_STATUS=$out
	R_BODY=$(cat "$T/resp.json" 2>/dev/null || true)
}

expect() {
	local want=$1 what=$2
	[ "$R_STATUS" = "$want" ] ||
	    fail "$what: status $R_STATUS, want $want: $R_BODY"
}

# The token of the newest mail to ADDRESS whose decoded text holds
# NEEDLE; waits up to 20 s for the mailer.  The sink keeps each
# message as a file; bodies are quoted-printable, so soft line breaks
# are joined and "=3D" decoded before the search.
mail_token() {
	local addr=$1 needle=$2 i f tok
	for i in $(seq 1 200); do
		for f in $(grep -r -l -s -F "$addr" "$WS_MAIL_DIR/new" \
		    "$WS_MAIL_DIR/cur" 2>/dev/null); do
			tok=$(tr -d '\r' <"$f" | sed -e ':a' -e '/=$/{N' \
			    -e 's/=\n//' -e 'ba' -e '}' | sed 's/=3D/=/g' |
			    grep -o -E "${needle}[A-Za-z0-9_-]+" | head -n 1 |
			    sed "s|^${needle}||") || true
			if [ -n "$tok" ]; then
				echo "$tok"
				return 0
			fi
		done
		sleep 0.1
	done
	return 1
}

SMOKE_ADMIN_USER=""
SMOKE_ADMIN_PASS=""

# Makes an administrator with the command-line tool, once per test,
# when the tool has "user create".
smoke_admin() {
	local id
	[ -n "$SMOKE_ADMIN_USER" ] && return 0
	"$BUILD/websands" help user >/dev/null 2>&1 || return 1
	SMOKE_ADMIN_USER=dadm$(date +%s%N | tail -c 10)$RANDOM
	SMOKE_ADMIN_PASS="Qz9!$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')Xw"
	id=$(printf '%s\n' "$SMOKE_ADMIN_PASS" | "$BUILD/websands" user create \
	    --admin --username "$SMOKE_ADMIN_USER" \
	    --email "$SMOKE_ADMIN_USER@example.com" \
	    --config "$WS_RUN_DIR/websands.env" 2>"$T/admin-create.log") ||
	    fail "websands user create --admin: $(cat "$T/admin-create.log")"
	[ -n "$id" ] || fail "websands user create printed no id"
}

# The scenario every deployment must pass unchanged: register, verify
# from the mail sink, login, /me, refresh, logout (and the session is
# gone), an admin call, readiness.  BASE is the web server's URL; extra
# curl options (-k for a test certificate) go in SMOKE_CURL.
smoke() {
	local base=$1 u email pw tok access refresh access2 refresh2
	local aaccess
	u=dsm$(date +%s%N | tail -c 10)$RANDOM
	email=$u@example.com
	pw="Kp7#$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')Rv"

	req GET "$base/health"
	expect 200 "GET /health"
	req POST "$base/api/v1/auth/register" \
	    "{\"username\":\"$u\",\"email\":\"$email\",\"password\":\"$pw\"}"
	expect 201 "POST /api/v1/auth/register"
	tok=$(mail_token "$email" '/verify-email#token=') ||
	    fail "no verification mail to $email in $WS_MAIL_DIR"
	req POST "$base/api/v1/auth/verify-email" "{\"token\":\"$tok\"}"
	expect 200 "POST /api/v1/auth/verify-email"
	req POST "$base/api/v1/auth/login" \
	    "{\"username_or_email\":\"$u\",\"password\":\"$pw\"}"
	expect 200 "POST /api/v1/auth/login"
	access=$(jq -r .access_token <<<"$R_BODY")
	refresh=$(jq -r .refresh_token <<<"$R_BODY")
	[ -n "$access" ] && [ "$access" != null ] || fail "login: no token"

	if have websands-users; then
		req GET "$base/api/v1/users/me" "" "$access"
		expect 200 "GET /api/v1/users/me"
		[ "$(jq -r .username <<<"$R_BODY")" = "$u" ] ||
		    fail "GET /api/v1/users/me: not $u: $R_BODY"
	else
		say "websands-users not built: /me skipped"
	fi

	req POST "$base/api/v1/auth/refresh" "{\"refresh_token\":\"$refresh\"}"
	expect 200 "POST /api/v1/auth/refresh"
	access2=$(jq -r .access_token <<<"$R_BODY")
	refresh2=$(jq -r .refresh_token <<<"$R_BODY")
	[ "$refresh2" != "$refresh" ] || fail "refresh: token not rotated"
	req POST "$base/api/v1/auth/logout" \
	    "{\"refresh_token\":\"$refresh2\"}" "$access2"
	expect 204 "POST /api/v1/auth/logout"
	if have websands-users; then
		# Logout ends the session at once, whichever server asks.
		req GET "$base/api/v1/users/me" "" "$access2"
		expect 401 "GET /api/v1/users/me after logout"
	fi

	if have websands-admin && smoke_admin; then
		req POST "$base/api/v1/auth/login" \
		    "{\"username_or_email\":\"$SMOKE_ADMIN_USER\",\"password\":\"$SMOKE_ADMIN_PASS\"}"
		expect 200 "POST /api/v1/auth/login (admin)"
		aaccess=$(jq -r .access_token <<<"$R_BODY")
		req GET "$base/api/v1/admin/stats" "" "$aaccess"
		expect 200 "GET /api/v1/admin/stats"
		# A query string reaches the responder intact.
		req GET "$base/api/v1/admin/users?limit=1" "" "$aaccess"
		expect 200 "GET /api/v1/admin/users?limit=1"
		[ "$(jq '.items // .users // .data | length' <<<"$R_BODY")" = 1 ] ||
		    fail "GET /api/v1/admin/users?limit=1: $R_BODY"
		req GET "$base/api/v1/admin/stats" "" "$access2"
		[ "$R_STATUS" = 401 ] || [ "$R_STATUS" = 403 ] ||
		    fail "admin call with a user's ended session: $R_STATUS"
	else
		say "websands-admin or 'websands user create' missing:" \
		    "admin call skipped"
	fi

	req GET "$base/health/ready"
	expect 200 "GET /health/ready"
	[ "$(jq -r .components.database.status <<<"$R_BODY")" = up ] ||
	    fail "GET /health/ready: database not up: $R_BODY"
	say "smoke scenario passed through $base"
}

# ---- web servers ----

# Starts Apache in the foreground (its own session) on 127.0.0.1:PORT
# with a minimal server configuration that loads MODULES and includes
# SITE, the example copied by deploy_example; its "*:80" becomes the
# test's address.  The children run as the web user.
apache_start() {
	local site=$1 port=$2 mpm=$3 m d=$T/apache
	shift 3
	port_free "$port"
	mkdir -p "$d/run" "$d/www" "$d/fcgid/sock"
	sed -i "s|\\*:80>|127.0.0.1:$port>|" "$site"
	{
		echo "# Written by tests/deploy/lib.sh for one test."
		echo "ServerRoot /etc/apache2"
		echo "DefaultRuntimeDir $d/run"
		echo "PidFile $d/run/apache2.pid"
		echo "Mutex file:$d/run default"
		echo "Listen 127.0.0.1:$port"
		echo "ServerName 127.0.0.1"
		echo "User $WEB_USER"
		echo "Group $WEB_GROUP"
		echo "ErrorLog $d/error.log"
		echo "LogLevel warn"
		echo "LogFormat \"%h %l %u %t \\\"%r\\\" %>s %O" \
		    "\\\"%{Referer}i\\\" \\\"%{User-Agent}i\\\"\" combined"
		echo "Define APACHE_LOG_DIR $d"
		echo "DocumentRoot $d/www"
		echo "LoadModule mpm_${mpm}_module" \
		    "/usr/lib/apache2/modules/mod_mpm_$mpm.so"
		for m in authz_core authz_host alias env headers "$@"; do
			echo "LoadModule ${m}_module" \
			    "/usr/lib/apache2/modules/mod_$m.so"
		done
		echo "<Directory />"
		echo "	AllowOverride None"
		echo "	Require all denied"
		echo "</Directory>"
		echo "<IfModule fcgid_module>"
		echo "	FcgidIPCDir $d/fcgid/sock"
		echo "	FcgidProcessTableFile $d/fcgid/shm"
		echo "</IfModule>"
		echo "<IfModule cgid_module>"
		echo "	ScriptSock $d/run/cgid.sock"
		echo "</IfModule>"
		echo "Include $site"
	} >"$d/httpd.conf"
	[ "$(id -u)" -eq 0 ] && chown -R "$WEB_USER:$WEB_GROUP" "$d/fcgid"
	/usr/sbin/apache2 -t -f "$d/httpd.conf" >"$d/configtest.log" 2>&1 ||
	    fail "apache2 -t: $(cat "$d/configtest.log")"
	deploy_spawn apache /usr/sbin/apache2 -f "$d/httpd.conf" -DFOREGROUND
	APACHE_PID=$DEPLOY_PID
	wait_port "$port" apache2 "$APACHE_PID"
}

# Starts lighttpd in the foreground on 127.0.0.1:PORT with a minimal
# server configuration that includes SITE (from deploy_example); it
# drops to the web user after binding, and so do the programs it runs.
lighttpd_start() {
	local site=$1 port=$2 d=$T/lighttpd
	port_free "$port"
	mkdir -p "$d/www"
	{
		echo "# Written by tests/deploy/lib.sh for one test."
		echo "server.document-root = \"$d/www\""
		echo "server.bind = \"127.0.0.1\""
		echo "server.port = $port"
		echo "server.pid-file = \"$d/lighttpd.pid\""
		echo "server.errorlog = \"$d/error.log\""
		if [ "$(id -u)" -eq 0 ]; then
			echo "server.username = \"$WEB_USER\""
			echo "server.groupname = \"$WEB_GROUP\""
		fi
		echo "server.modules = ( \"mod_access\" )"
		echo "include \"$site\""
	} >"$d/lighttpd.conf"
	# lighttpd opens its error log after dropping to the web user.
	[ "$(id -u)" -eq 0 ] && chown -R "$WEB_USER:$WEB_GROUP" "$d"
	lighttpd -tt -f "$d/lighttpd.conf" >"$d/configtest.log" 2>&1 ||
	    fail "lighttpd -tt: $(cat "$d/configtest.log")"
	deploy_spawn lighttpd lighttpd -D -f "$d/lighttpd.conf"
	LIGHTTPD_PID=$DEPLOY_PID
	wait_port "$port" lighttpd "$LIGHTTPD_PID"
}

# A certificate for api.example.org that the test's curl trusts
# (--cacert), made fresh for each test: an EC P-256 key, valid a day.
deploy_cert() {
	mkdir -p "$T/tls"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
	    -nodes -days 1 -subj /CN=api.example.org \
	    -addext subjectAltName=DNS:api.example.org \
	    -keyout "$T/tls/privkey.pem" -out "$T/tls/fullchain.pem" \
	    >"$T/tls/openssl.log" 2>&1 || fail "openssl: cannot make a cert"
}

# Starts nginx in the foreground with fcgi-conf/nginx/production.conf
# (copied by deploy_example to SITE): its port 80 becomes HTTP_PORT and
# 443 TLS_PORT on 127.0.0.1, its certificate the test's; the IPv6
# listeners are dropped, as loopback IPv6 may be missing.
nginx_start() {
	local site=$1 http_port=$2 tls_port=$3 d=$T/nginx
	port_free "$http_port"
	port_free "$tls_port"
	[ -f "$T/tls/fullchain.pem" ] || deploy_cert
	mkdir -p "$d/body" "$d/fastcgi" "$d/proxy" "$d/uwsgi" "$d/scgi"
	sed -i -e '/listen \[::\]/d' \
	    -e "s|listen 80;|listen 127.0.0.1:$http_port;|" \
	    -e "s|listen 443 |listen 127.0.0.1:$tls_port |" \
	    -e "s|/etc/ssl/websands/|$T/tls/|g" "$site"
	{
		echo "# Written by tests/deploy/lib.sh for one test."
		[ "$(id -u)" -eq 0 ] && echo "user $WEB_USER $WEB_GROUP;"
		echo "pid $d/nginx.pid;"
		echo "error_log $d/error.log warn;"
		echo "worker_processes 2;"
		echo "events { worker_connections 512; }"
		echo "http {"
		echo "	client_body_temp_path $d/body;"
		echo "	fastcgi_temp_path $d/fastcgi;"
		echo "	proxy_temp_path $d/proxy;"
		echo "	uwsgi_temp_path $d/uwsgi;"
		echo "	scgi_temp_path $d/scgi;"
		echo "	access_log $d/access.log;"
		echo "	include $site;"
		echo "}"
	} >"$d/nginx.conf"
	[ "$(id -u)" -eq 0 ] && chown -R "$WEB_USER:$WEB_GROUP" "$d"
	nginx -t -e "$d/error.log" -c "$d/nginx.conf" >"$d/configtest.log" 2>&1 ||
	    fail "nginx -t: $(cat "$d/configtest.log")"
	deploy_spawn nginx nginx -e "$d/error.log" -c "$d/nginx.conf" \
	    -g 'daemon off;'
	NGINX_PID=$DEPLOY_PID
	wait_port "$tls_port" nginx "$NGINX_PID"
	# curl reaches the test's nginx under the certificate's name.
	SMOKE_CURL=(--cacert "$T/tls/fullchain.pem"
	    --resolve "api.example.org:$tls_port:127.0.0.1")
}
