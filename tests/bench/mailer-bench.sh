#!/bin/bash
# How many mails a minute websands-mailer delivers with MAIL_RATE=0
# (no limit) to a local aiosmtpd sink that stores every message as a
# Maildir file.
#
#   tests/bench/mailer-bench.sh [BUILD_DIR] [N]
#
# It queues N mails (default 2000) in email_outbox, runs MAILERS
# (default 1) websands-mailer --once side by side until the outbox is
# drained, checks that every mail arrived exactly once, and prints
#   mailer-bench: N mails in S s by M mailer(s): R mails/minute
#   mails_per_minute=R
# The database is DATABASE_URL or, when unset, the running stack's
# (WS_RUN_DIR/stack.env, as `make run` or `make test` left it); the
# stack's own mailer is stopped meanwhile so it takes no rows.
# BENCH_SMTP_PORT (default 28090) is the sink's port.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$SRC/build}
n=${2:-2000}
mailers=${MAILERS:-1}
port=${BENCH_SMTP_PORT:-28090}

say() { echo "mailer-bench: $*" >&2; }
die() { say "$*"; exit 1; }

case "$n" in ''|*[!0-9]*) die "N must be a number" ;; esac
[ "$n" -ge 1 ] && [ "$n" -le 100000 ] || die "N must be 1..100000"

prog=$build/websands-mailer
[ -x "$prog" ] || prog=$build/app/mailer/websands-mailer
[ -x "$prog" ] || die "no websands-mailer under $build (build it first)"

stack=
if [ -z "${DATABASE_URL:-}" ]; then
	env_file=${WS_RUN_DIR:-$SRC/.run}/stack.env
	[ -f "$env_file" ] ||
	    die "set DATABASE_URL or start the stack (no $env_file)"
	# shellcheck disable=SC1090
	. "$env_file"
	DATABASE_URL=$WS_DATABASE_URL
	stack=$WS_STACK
fi
psql_cmd=(psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -qAt)

tmp=$(mktemp -d /tmp/mailer-bench.XXXXXX)
domain=bench-$$-$(date +%s).mailtest.example
sink_pid=

cleanup() {
	[ -n "$sink_pid" ] && kill "$sink_pid" 2>/dev/null || true
	"${psql_cmd[@]}" -c "DELETE FROM email_outbox \
	    WHERE recipient LIKE '%@$domain'" >/dev/null 2>&1 || true
	[ -n "$stack" ] && "$stack" mailer-start >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT

# A Maildir needs its three subdirectories before the first message.
mkdir -p "$tmp/mail/tmp" "$tmp/mail/new" "$tmp/mail/cur"
/usr/bin/aiosmtpd -n -l "127.0.0.1:$port" -c aiosmtpd.handlers.Mailbox \
    "$tmp/mail" >"$tmp/sink.log" 2>&1 &
sink_pid=$!
for _ in $(seq 1 100); do
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
	kill -0 "$sink_pid" 2>/dev/null || die "the sink did not start: \
$(cat "$tmp/sink.log")"
	sleep 0.05
done

[ -n "$stack" ] && "$stack" mailer-stop

"${psql_cmd[@]}" <<SQL
INSERT INTO email_outbox (recipient, template, vars)
SELECT 'n' || i || '@$domain', 'verify_email',
    jsonb_build_object('username', 'user' || i,
    'link_path', '/verify-email#token=bench' || i)
FROM generate_series(1, $n) AS i;
SQL

start=$(date +%s%N)
pids=()
for m in $(seq 1 "$mailers"); do
	env -i PATH="$PATH" DATABASE_URL="$DATABASE_URL" \
	    PUBLIC_URL=http://127.0.0.1:8080 TEMPLATE_DIR="$SRC/templates" \
	    SMTP_URL="smtp://127.0.0.1:$port" SMTP_TLS=off \
	    MAIL_FROM=websands@localhost MAIL_RATE=0 \
	    METRICS_DIR="$tmp/metrics" LOG_LEVEL=warn \
	    "$prog" --once >"$tmp/mailer-$m.log" 2>&1 &
	pids+=($!)
done
for p in "${pids[@]}"; do
	wait "$p" || die "a mailer failed: $(cat "$tmp"/mailer-*.log)"
done
end=$(date +%s%N)

sent=$("${psql_cmd[@]}" -c "SELECT count(*) FROM email_outbox \
    WHERE recipient LIKE '%@$domain' AND status = 'sent'")
arrived=$(grep -l -r "^To: n[0-9]*@$domain" "$tmp/mail/new" | wc -l)
[ "$sent" -eq "$n" ] || die "$sent of $n rows marked sent"
[ "$arrived" -eq "$n" ] || die "$arrived of $n mails arrived"

ms=$(( (end - start) / 1000000 ))
[ "$ms" -gt 0 ] || ms=1
rate=$(( n * 60000 / ms ))
echo "mailer-bench: $n mails in $(( ms / 1000 )).$(printf '%03d' \
    $(( ms % 1000 ))) s by $mailers mailer(s): $rate mails/minute"
echo "mails_per_minute=$rate"
