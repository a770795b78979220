#!/bin/sh
# Installs every Debian package that mscada's build, tests, demo and benches
# need. Idempotent and quiet: does nothing when all are present, and runs
# `apt-get update` only when something is missing. Run as root (or via sudo).
set -eu

PKGS="
build-essential cmake pkg-config clang libclang-rt-14-dev
libuv1-dev libyaml-dev libjansson-dev libcmocka-dev libedit-dev
libsystemd-dev systemd
python3 python3-pexpect python3-yaml
libmodbus-dev mbpoll python3-pymodbus
socat python3-serial python3-serial-asyncio netcat-openbsd
libsnmp-dev snmpd snmp
libmosquitto-dev mosquitto mosquitto-clients
tshark
libwebsockets-dev libwebsockets-evlib-uv zlib1g-dev libsodium-dev libssl-dev openssl
python3-websockets python3-websocket chromium fonts-dejavu-core
nodejs
"
# npm for the browser app's packages (web/): Debian's, unless an npm is
# already there (NodeSource's nodejs carries its own and conflicts with it)
command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "deps.sh: need root to install:$missing" >&2
        echo "deps.sh: run as root, or install sudo" >&2
        exit 1
    fi
fi

echo "deps.sh: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "deps.sh: done"
