#!/bin/sh
# Installs the Debian packages WebSands needs to build, test and run
# locally, but only those missing, so a second run costs nothing.
set -eu

PACKAGES="gcc make cmake pkg-config
libfcgi-dev libfcgi-bin libpq-dev libjansson-dev libsodium-dev libssl-dev
libmemcached-dev libcrypt-dev libcurl4-openssl-dev libcmocka-dev
postgresql memcached nginx-light python3-aiosmtpd spawn-fcgi curl
oathtool wrk iproute2 procps util-linux
apache2 libapache2-mod-fcgid lighttpd docker-compose python3-yaml jq
openssl dpkg-dev man-db systemd"

missing=""
for p in $PACKAGES; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing"
if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
else
	echo "install-deps: need root to install:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# The servers are started by the harness on loopback ports of its own;
# their system services (nginx and Apache both on port 80) must not be
# started by the packages, where they would only collide.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
	$SUDO chmod 755 "$policy"
	made_policy=1
fi
status=0
$SUDO apt-get update -qq || status=1
# shellcheck disable=SC2086
[ $status -eq 0 ] && { $SUDO apt-get install -y -qq --no-install-recommends \
    $missing || status=1; }
[ $made_policy -eq 1 ] && $SUDO rm -f "$policy"
exit $status
