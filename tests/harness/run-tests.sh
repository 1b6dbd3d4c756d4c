#!/bin/bash
# Runs every test of one build directory against a stack of its own:
# starts the stack in a temporary directory, runs CTest with the
# stack's variables, stops the stack, and fails when a test failed or
# a server wrote a sanitizer report to its log.
set -uo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:?usage: run-tests.sh BUILD_DIR}" && pwd)
run_dir=$(mktemp -d /tmp/websands-test.XXXXXX)
stack="$SRC/tests/harness/stack.sh"

finish() {
	"$stack" stop --run-dir "$run_dir" || true
	if [ "${KEEP_RUN_DIR:-0}" = 1 ]; then
		echo "run-tests: state kept in $run_dir"
	else
		rm -rf "$run_dir"
	fi
}
trap finish EXIT

# A server's sanitizer report fails the run even if every request it
# answered looked right.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

echo "run-tests: $build, state in $run_dir"
if ! "$stack" start --mode test --run-dir "$run_dir" --build-dir "$build"
then
	tail -n 50 "$run_dir"/*.log "$run_dir"/nginx/error.log 2>/dev/null
	exit 1
fi
set -a
# shellcheck disable=SC1091
. "$run_dir/stack.env"
set +a

status=0
ctest --test-dir "$build" --output-on-failure --timeout 300 || status=1

"$stack" stop --run-dir "$run_dir" || true
if grep -l -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' \
    "$run_dir"/*.log 2>/dev/null; then
	echo "run-tests: a server reported a sanitizer error:"
	grep -h -A 30 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' \
	    "$run_dir"/*.log | head -n 200
	status=1
fi
if [ $status -ne 0 ]; then
	for f in "$run_dir"/*.log "$run_dir"/nginx/error.log; do
		[ -f "$f" ] || continue
		echo "==== last lines of $f"
		tail -n 30 "$f"
	done
fi
exit $status
