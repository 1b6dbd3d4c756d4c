#!/bin/sh
# Fails when a C source, header or SQL migration has a line wider than
# 80 columns (tabs counted to the next multiple of 8), naming each one.
top=${1:-.}
status=0
for f in $(find "$top/common" "$top/app" "$top/tests" "$top/sql" \
    \( -name '*.c' -o -name '*.h' -o -name '*.sql' \) 2>/dev/null); do
	expand "$f" | awk -v f="$f" 'length($0) > 80 {
		printf "%s:%d: %d columns\n", f, NR, length($0); bad = 1 }
		END { exit bad }' || status=1
done
exit $status
