#!/bin/bash
# The Debian package: "cpack -G DEB" in this build directory makes a
# .deb; it unpacks (dpkg -x) into an empty root with the FHS layout of
# cmake/Install.cmake, declares its run-time dependencies, and each of
# its programs runs from there: --version prints the version, the
# libraries it needs are all found, a responder answers a CGI request
# with the stack's configuration, and every man page renders cleanly.
. "$(dirname "$0")/lib.sh"

command -v cpack >/dev/null || fail "cpack is missing"
command -v dpkg-deb >/dev/null || fail "dpkg-deb is missing"
[ -f "$BUILD/CPackConfig.cmake" ] ||
    fail "$BUILD has no CPackConfig.cmake (configure it again)"

# cpack installs the build into its own staging directory first; the
# package and the staging tree go to $T, not into the build directory.
(cd "$BUILD" && cpack -G DEB -B "$T/pkg" --config CPackConfig.cmake) \
    >"$T/cpack.log" 2>&1 || fail "cpack: $(tail -n 20 "$T/cpack.log")"
deb=$(ls "$T"/pkg/websands_*.deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || fail "cpack made no websands_*.deb: $(cat "$T/cpack.log")"
say "built $(basename "$deb") ($(stat -c %s "$deb") bytes)"

dpkg-deb -f "$deb" Package Version Architecture Depends >"$T/control.txt"
grep -q '^Package: websands$' "$T/control.txt" || fail "package name"
for dep in libfcgi0ldbl libpq5 libjansson4 libsodium23 libssl3 \
    libmemcached11 libcurl4 libcrypt1; do
	grep -q "^Depends:.*\\b$dep\\b" "$T/control.txt" ||
	    fail "Depends lacks $dep: $(cat "$T/control.txt")"
done

root=$T/root
mkdir -p "$root"
dpkg -x "$deb" "$root"
for f in usr/bin/websands usr/bin/websands-auth usr/bin/websands-health \
    usr/bin/websands-mailer usr/share/websands/sql/0001_initial.sql \
    usr/share/websands/templates/README.md \
    usr/share/websands/data/common-passwords.txt \
    usr/share/doc/websands/README.md usr/share/doc/websands/operations.md \
    usr/share/doc/websands/examples/nginx/production.conf \
    usr/share/doc/websands/examples/apache/websands-proxy-fcgi.conf \
    usr/share/doc/websands/examples/apache/websands-fcgid.conf \
    usr/share/doc/websands/examples/lighttpd/websands-fastcgi.conf \
    usr/share/doc/websands/examples/cgi/apache-cgi.conf \
    usr/share/doc/websands/examples/systemd/websands-auth@.service \
    usr/share/doc/websands/examples/systemd/websands-purge.timer \
    usr/share/doc/websands/examples/spawn-fcgi/websands-spawn \
    usr/share/doc/websands/examples/container/docker-compose.yml \
    usr/share/doc/websands/examples/k8s/30-auth.yaml; do
	[ -e "$root/$f" ] || fail "the package lacks /$f"
done
[ -x "$root/usr/share/doc/websands/examples/spawn-fcgi/websands-spawn" ] ||
    fail "websands-spawn is not executable in the package"
[ ! -e "$root/usr/share/doc/websands/examples/nginx/websands.conf.in" ] ||
    fail "the local stack's nginx template is in the package"
[ ! -e "$root/usr/bin/websands-echo" ] || fail "the test fixture is packaged"

version=$(sed -n 's/^Version: //p' "$T/control.txt")
for p in websands websands-auth websands-users websands-admin \
    websands-health websands-mailer; do
	if [ ! -e "$BUILD/$p" ]; then
		say "$p is not built yet: not in the package"
		continue
	fi
	[ -x "$root/usr/bin/$p" ] || fail "the package lacks /usr/bin/$p"
	[ -f "$root/usr/share/man/man1/$p.1" ] ||
	    fail "the package lacks the man page of $p"
	if ldd "$root/usr/bin/$p" | grep -q 'not found'; then
		fail "$p: a library is missing: $(ldd "$root/usr/bin/$p")"
	fi
	out=$("$root/usr/bin/$p" --version) || fail "$p --version failed"
	[ "$out" = "$p $version" ] || fail "$p --version says: $out"
	say "$out"
done

# A packaged responder starts with a real configuration: one CGI
# request to the packaged websands-health, reading the stack's settings.
deploy_env
out=$(env -i PATH=/usr/bin:/bin WEBSANDS_CONFIG="$T/websands.env" \
    REQUEST_METHOD=GET SCRIPT_NAME=/health/ready REMOTE_ADDR=127.0.0.1 \
    "$root/usr/bin/websands-health" 2>"$T/cgi.log") ||
    fail "the packaged websands-health failed: $(cat "$T/cgi.log")"
grep -q '^Status: 200' <<<"$out" ||
    fail "the packaged websands-health answered: $out"

for m in "$root"/usr/share/man/man1/*.1; do
	w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$m" 2>&1 >/dev/null)
	[ -z "$w" ] || fail "$(basename "$m") has roff warnings: $w"
done
say "ok"
