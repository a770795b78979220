#!/bin/sh
# The wwwserver benchmark: `sh bench/www.sh BUILD_DIR [SCENARIO...]`.
# Starts BUILD_DIR/mscada bus and wwwserver (tags Bench000..Bench099, int)
# on free loopback ports in a temp folder, runs BUILD_DIR/bench/wsload for
# each scenario of bench/README.md ("wwwserver"), prints each command line
# with its output, and stops both by pid (also on Ctrl-C).
# Scenarios: tabs100 (100 tabs x 100 tags, 1,000 updates/s), tabs1000
# (999 tabs x 100 tags at 10 Hz each: 1,000 updates/s), slow (100 tabs plus
# one that never reads); default: all three.
set -u
BUILD=${1:?usage: sh bench/www.sh BUILD_DIR [tabs100|tabs1000|slow]...}
shift
SCEN=${*:-tabs100 tabs1000 slow}
MSCADA=$BUILD/mscada
WSLOAD=$BUILD/bench/wsload
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mscada-wwwbench.XXXXXX") || exit 1
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
BUS_PORT=$(port)
WWW_PORT=$(port)
i=0
: > "$TMP/tags.yaml"
while [ $i -lt 100 ]; do
    printf 'Bench%03d:\n  type: int\n' $i >> "$TMP/tags.yaml"
    i=$((i + 1))
done
printf 'port: %s\n' "$BUS_PORT" > "$TMP/bus.yaml"
printf 'bus_port: %s\nport: %s\nstatus_interval: 60\nbatch_ms: %s\n' "$BUS_PORT" \
    "$WWW_PORT" "${BATCH_MS:-2}" > "$TMP/wwwserver.yaml"
"$MSCADA" bus --config "$TMP/bus.yaml" > "$TMP/bus.log" 2>&1 &
BUS_PID=$!
"$MSCADA" wwwserver --config "$TMP/wwwserver.yaml" --tags "$TMP/tags.yaml" \
    > "$TMP/www.log" 2>&1 &
WWW_PID=$!
stop() {
    kill -TERM "$WWW_PID" "$BUS_PID" 2>/dev/null
    wait "$WWW_PID" "$BUS_PID" 2>/dev/null
    rm -rf "$TMP"
}
trap 'stop; exit 130' INT TERM
n=0
until grep -q "connected" "$TMP/www.log"; do
    sleep 0.1
    n=$((n + 1))
    [ $n -lt 100 ] || { echo "www.sh: the wwwserver did not start:"; cat "$TMP/www.log"; stop; exit 1; }
done
for s in $SCEN; do
    case $s in
    tabs100)  args="--tabs 100 --tags 100 --rate 1000 --seconds 10" ;;
    tabs1000) args="--tabs 999 --tags 100 --rate 1000 --seconds 10" ;;
    slow)     args="--tabs 100 --slow 1 --tags 100 --rate 1000 --seconds 10" ;;
    *) echo "www.sh: unknown scenario $s"; continue ;;
    esac
    echo "== $s: wsload --www $WWW_PORT --bus $BUS_PORT $args --pid $WWW_PID"
    "$WSLOAD" --www "$WWW_PORT" --bus "$BUS_PORT" $args --pid "$WWW_PID"
done
stop
