#!/bin/sh
# Installs the Debian packages WebSands needs to build, test and run
# locally, but only those missing, so a second run costs nothing.
set -eu

PACKAGES="gcc make cmake pkg-config
libfcgi-dev libfcgi-bin libpq-dev libjansson-dev libsodium-dev libssl-dev
libmemcached-dev libcrypt-dev libcurl4-openssl-dev libcmocka-dev
postgresql memcached nginx-light python3-aiosmtpd spawn-fcgi curl
oathtool wrk iproute2 procps util-linux"

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
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
