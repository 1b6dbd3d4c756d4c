#!/bin/bash
# The WebSands benchmarks, as ratios measured in one run (make bench).
#
#   tests/harness/bench.sh [BUILD_DIR]
#
# Starts a stack of its own in a temporary directory (test mode, every
# port moved by WS_PORT_OFFSET, default 6000, so it never meets `make
# run` or `make test`) with the production password hashing (bcrypt
# cost 12), measures with wrk, prints one table and stops everything it
# started, also when it fails or is interrupted.  Absolute figures
# depend on the machine and on whatever else runs on it; the ratios,
# each taken within this one run, are what to compare between runs:
#
#   health           GET /health through nginx: the baseline
#   login_bcrypt12   logins/s of one verified user, against the bound
#                    CORES / one hash time (the login latency at
#                    concurrency 1) and against /health
#   login_argon2id   the same once the auth responder hashes with
#                    Argon2id (a fresh user, so its hash is Argon2id)
#   refresh          refreshes/s, each connection chaining its tokens
#   mailer           mails/minute with MAIL_RATE=0 (mailer-bench.sh)
#   users_me         GET /api/v1/users/me, when websands-users is built
#   health_end       /health again at the end: the drift of the baseline
#
# Only 200 answers count as done; every other answer (a 503 when the
# hash slots are full, for one) is an error, reported apart.
#
# BENCH_DURATION (s, default 6) is each throughput run, BENCH_LATENCY
# (s, default 3) each concurrency-1 run, BENCH_CONNECTIONS (64) and
# BENCH_THREADS (2) wrk's load, BENCH_CORES (nproc) the cores of the
# bound, BENCH_MAILS (1000) the mails mailer-bench.sh sends.
# BENCH_KEEP=1 keeps the state directory (logs) after a good run; a
# failed run always keeps it and says where.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
STACK=$SRC/tests/harness/stack.sh
BENCH=$SRC/tests/bench

say() { echo "bench: $*" >&2; }
die() { say "$*"; exit 1; }

build=${1:-$SRC/build}
[ -d "$build" ] || die "no build directory $build (make build first)"
build=$(cd "$build" && pwd)
for p in websands websands-health websands-auth websands-mailer; do
	[ -x "$build/$p" ] || die "no $build/$p (make build first)"
done
command -v wrk >/dev/null ||
    die "wrk is not installed (apt-get install -y wrk)"
command -v curl >/dev/null || die "curl is not installed"

export WS_PORT_OFFSET=${WS_PORT_OFFSET:-6000}
dur=${BENCH_DURATION:-6}
lat=${BENCH_LATENCY:-3}
conns=${BENCH_CONNECTIONS:-64}
threads=${BENCH_THREADS:-2}
cores=${BENCH_CORES:-$(nproc)}
mails=${BENCH_MAILS:-1000}
for v in "$dur" "$lat" "$conns" "$threads" "$cores" "$mails"; do
	case "$v" in ''|*[!0-9]*|0) die "the BENCH_ settings are \
positive integers" ;; esac
done
[ "$conns" -ge "$threads" ] || die "fewer connections than threads"

# The production hashing: the real environment wins over the env file
# stack.sh writes, which has the tests' cheap BCRYPT_COST=6.
export BCRYPT_COST=12
export PASSWORD_HASH=bcrypt
# The login runs send up to BENCH_CONNECTIONS right passwords for one
# account at once.  Each attempt in flight takes an attempt number
# before its hash (login.c, login_reserve) and only a success clears
# the run, so with more than 5 in flight (more responder threads or
# instances than stack.sh's one of 4 threads) they would lock the
# account against themselves; the bench measures hashing, not the
# lockout.
export LOCKOUT_THRESHOLD=100

run=$(mktemp -d /tmp/websands-bench.XXXXXX)
ok_exit=0
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	"$STACK" stop --run-dir "$run" >>"$run/stack.log" 2>&1 ||
	    say "stopping the stack failed (see $run/stack.log)"
	if [ "$ok_exit" = 1 ] && [ "${BENCH_KEEP:-0}" != 1 ]; then
		rm -rf "$run"
	else
		say "state and logs kept in $run"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "starting a stack in $run (port offset $WS_PORT_OFFSET)"
"$STACK" start --mode test --run-dir "$run" --build-dir "$build" \
    >>"$run/stack.log" 2>&1 ||
    die "the stack did not start: $(tail -n 5 "$run/stack.log")"
# shellcheck disable=SC1091
. "$run/stack.env"
base=$WS_BASE_URL
# stack.sh's test ports: responders at 19000 + offset + 101 (auth).
auth_port=$((19000 + WS_PORT_OFFSET + 101))

# ---- helpers ---------------------------------------------------------

# POSTs JSON body $2 to path $1; the status is printed, the body left
# in $run/body.
post() {
	curl -sS -o "$run/body" -w '%{http_code}' --max-time 30 \
	    -H 'Content-Type: application/json' --data-binary "$2" \
	    "$base$1"
}

# The string member $1 of the JSON in $run/body, as a line (the body
# has no newline at its end).
member() {
	printf '%s\n' "$(sed -n \
	    "s/.*\"$1\" *: *\"\\([^\"]*\\)\".*/\\1/p" "$run/body")"
}

wait_port() {
	for _ in $(seq 1 200); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	die "nothing listens on port $1"
}

# Runs wrk with NAME's output kept in $run/wrk-NAME.out and sets
# R_OK, R_BAD, R_RATE (200s per second), R_P50 (median latency,
# microseconds) and R_STATUSES from count.lua's last line.
measure() {
	local name=$1 line
	shift
	say "measuring $name"
	wrk --timeout 30s "$@" >"$run/wrk-$name.out" 2>&1 ||
	    die "wrk failed for $name: $(tail -n 5 "$run/wrk-$name.out")"
	line=$(grep '^bench_result ' "$run/wrk-$name.out" | tail -n 1)
	[ -n "$line" ] || die "no result from wrk for $name \
(see $run/wrk-$name.out)"
	R_OK=$(field "$line" ok) R_BAD=$(field "$line" bad)
	R_RATE=$(field "$line" ok_per_s) R_P50=$(field "$line" p50_us)
	R_STATUSES=$(field "$line" statuses)
	[ "$R_OK" -gt 0 ] || die "no 200 answer for $name ($R_STATUSES)"
}

field() {
	printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# Registers user $1 and verifies it with the token mailed to it.
new_user() {
	local user=$1 code token
	code=$(post /api/v1/auth/register "{\"username\":\"$user\",\
\"email\":\"$user@bench.websands.test\",\"password\":\"$password\"}")
	[ "$code" = 201 ] || die "register $user: $code $(cat "$run/body")"
	token=
	for _ in $(seq 1 150); do
		token=$("$BENCH/mail-token.py" "$WS_MAIL_DIR" \
		    "$user@bench.websands.test" 2>/dev/null) && break
		sleep 0.1
	done
	[ -n "$token" ] || die "no verification mail for $user"
	code=$(post /api/v1/auth/verify-email "{\"token\":\"$token\"}")
	[ "$code" = 200 ] || die "verify $user: $code $(cat "$run/body")"
}

login_body() {
	printf '{"username_or_email":"%s","password":"%s"}' "$1" "$password"
}

# Logs user $1 in $2 times: each refresh token a line of file $3, the
# last access token in $access.
sessions() {
	local user=$1 n=$2 out=$3 code
	: >"$out"
	for _ in $(seq 1 "$n"); do
		code=$(post /api/v1/auth/login "$(login_body "$user")")
		[ "$code" = 200 ] || die "login $user: $code $(cat "$run/body")"
		access=$(member access_token)
		if [ -z "$access" ] || [ -z "$(member refresh_token)" ]; then
			die "login $user: no tokens in the reply"
		fi
		member refresh_token >>"$out"
	done
}

# Stops websands-auth through its pid file and starts it again the way
# stack.sh does, with the current environment (PASSWORD_HASH).
restart_auth() {
	local pid
	pid=$(cat "$run/auth.pid")
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	setsid "$build/websands-auth" --config "$run/websands.env" \
	    --listen "127.0.0.1:$auth_port" --threads 4 \
	    >>"$run/auth.log" 2>&1 </dev/null &
	echo $! >"$run/auth.pid"
	wait_port "$auth_port"
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.4g", a / b;
	    else printf "-" }'
}

ROWS=()
row() {
	ROWS+=("$(printf '%-26s %12s  %-11s %s' "$1" "$2" "$3" "$4")")
}

errors_row() {
	if [ "$R_BAD" -gt 0 ]; then
		row "$1_errors" "$R_BAD" "answers" "not 200: $R_STATUSES"
	fi
}

# The one hash time (concurrency 1) and the throughput (concurrency
# $conns) of logins as user $1, as rows named $2.
bench_login() {
	local user=$1 name=$2 hash_ms bound
	export BENCH_USER=$user BENCH_PASSWORD=$password
	measure "$name-c1" -t 1 -c 1 -d "${lat}s" -s "$BENCH/login.lua" \
	    "$base"
	hash_ms=$(awk -v u="$R_P50" 'BEGIN { printf "%.1f", u / 1000 }')
	bound=$(awk -v c="$cores" -v m="$hash_ms" \
	    'BEGIN { printf "%.2f", c * 1000 / m }')
	measure "$name" -t "$threads" -c "$conns" -d "${dur}s" \
	    -s "$BENCH/login.lua" "$base"
	row "${name}_hash_time" "$hash_ms" "ms" \
	    "login latency at concurrency 1 (median)"
	row "${name}_bound" "$bound" "logins/s" "$cores cores / hash time"
	row "$name" "$R_RATE" "logins/s" "$(ratio "$R_RATE" "$bound") of bound"
	row "$name" "$R_RATE" "logins/s" \
	    "$(ratio "$R_RATE" "$health") of health"
	errors_row "$name"
	unset BENCH_USER BENCH_PASSWORD
}

# ---- the measurements ------------------------------------------------

# A throwaway password that passes the policy (length, composition,
# not on the deny list, not the username).
password="Bench-$(od -An -tx1 -N6 /dev/urandom | tr -d ' \n')-Pw7!"
tag=$(date +%s)

code=$(curl -sS -o /dev/null -w '%{http_code}' "$base/health")
[ "$code" = 200 ] || die "GET /health answered $code"
measure health -t "$threads" -c "$conns" -d "${dur}s" -s "$BENCH/get.lua" \
    "$base/health"
health=$R_RATE
row health "$health" "req/s" "1 (baseline)"
errors_row health

say "registering a user (bcrypt 12)"
new_user "bb$tag"
bench_login "bb$tag" login_bcrypt12

say "restarting websands-auth with PASSWORD_HASH=argon2id"
export PASSWORD_HASH=argon2id
restart_auth
new_user "ba$tag"
bench_login "ba$tag" login_argon2id

# One session per connection and some to spare, so each thread's pool
# never runs dry while a rotation is in flight.  These logins also let
# the auth responder drain what the last login run left queued: nginx
# hands the responder (4 threads) new connections that wait in its
# listen backlog, and those whose client wrk dropped at the end are
# still hashed, so a measurement right after a login run would pay for
# them.  (The bcrypt run's leftovers die with the restart above.)
say "opening $((conns + conns / 4)) sessions for the refresh run"
sessions "ba$tag" $((conns + conns / 4)) "$run/refresh-tokens"
BENCH_TOKENS=$run/refresh-tokens BENCH_THREADS=$threads \
    measure refresh -t "$threads" -c "$conns" -d "${dur}s" \
    -s "$BENCH/refresh.lua" "$base"
row refresh "$R_RATE" "refreshes/s" "$(ratio "$R_RATE" "$health") of health"
errors_row refresh

if [ -x "$build/websands-users" ]; then
	code=$(curl -sS -o "$run/body" -w '%{http_code}' \
	    -H "Authorization: Bearer $access" "$base/api/v1/users/me")
	[ "$code" = 200 ] || die "GET /api/v1/users/me: $code $(cat \
"$run/body")"
	BENCH_ACCESS=$access measure users_me -t "$threads" -c "$conns" \
	    -d "${dur}s" -s "$BENCH/get.lua" "$base/api/v1/users/me"
	row users_me "$R_RATE" "req/s" "$(ratio "$R_RATE" "$health") of health"
	errors_row users_me
else
	row users_me "-" "req/s" "skipped: no websands-users in $build"
fi

# /health again: how far the baseline drifted during the run (other
# work on the machine), which bounds how far to trust the ratios.
measure health_end -t "$threads" -c "$conns" -d "${dur}s" \
    -s "$BENCH/get.lua" "$base/health"
row health_end "$R_RATE" "req/s" "$(ratio "$R_RATE" "$health") of health \
(drift)"
errors_row health_end

say "measuring the mailer ($mails mails, MAIL_RATE=0)"
WS_RUN_DIR=$run BENCH_SMTP_PORT=$((WS_SMTP_PORT + 1)) \
    "$BENCH/mailer-bench.sh" "$build" "$mails" >"$run/mailer-bench.out" \
    2>&1 || die "mailer-bench.sh failed: $(tail -n 5 \
"$run/mailer-bench.out")"
mpm=$(sed -n 's/^mails_per_minute=//p' "$run/mailer-bench.out")
[ -n "$mpm" ] || die "no result from mailer-bench.sh"
row mailer "$mpm" "mails/min" "$(ratio "$mpm" 100) of MAIL_RATE default \
(100/min)"

echo
echo "WebSands bench: $cores cores, wrk $threads threads $conns connections," \
    "${dur} s a run; bcrypt cost 12; port offset $WS_PORT_OFFSET"
printf '%-26s %12s  %-11s %s\n' name value unit ratio
for r in "${ROWS[@]}"; do
	echo "$r"
done
ok_exit=1
