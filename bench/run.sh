#!/bin/sh
# The bus benchmark: `sh bench/run.sh BUILD_DIR` (or `make bench`).
# Starts BUILD_DIR/mscada bus on a free loopback port, runs busload through
# the scenarios of bench/README.md, prints every command line with its
# output and the bus's CPU use, and stops the bus (also on Ctrl-C).
set -u

BUILD=${1:-}
if [ -z "$BUILD" ] || [ "$BUILD" = "-h" ] || [ "$BUILD" = "--help" ]; then
    echo "usage: sh bench/run.sh BUILD_DIR" >&2
    exit 2
fi
MSCADA="$BUILD/mscada"
BUSLOAD="$BUILD/bench/busload"
for f in "$MSCADA" "$BUSLOAD"; do
    if [ ! -x "$f" ]; then
        echo "run.sh: $f is missing: build first (make build)" >&2
        exit 1
    fi
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/mscada-bench.XXXXXX") || exit 1
BUS_PID=
KEEP_TMP=

stop_bus() {
    [ -n "$BUS_PID" ] || return 0
    if kill -0 "$BUS_PID" 2>/dev/null; then
        kill -TERM "$BUS_PID" 2>/dev/null
        i=0
        while kill -0 "$BUS_PID" 2>/dev/null && [ $i -lt 50 ]; do
            sleep 0.1
            i=$((i + 1))
        done
        if kill -0 "$BUS_PID" 2>/dev/null; then
            echo "run.sh: the bus ignored SIGTERM for 5 s: SIGKILL" >&2
            kill -KILL "$BUS_PID" 2>/dev/null
        fi
    fi
    wait "$BUS_PID" 2>/dev/null
    BUS_PID=
}

cleanup() {
    stop_bus
    if [ -n "$KEEP_TMP" ]; then
        echo "run.sh: the bus log is kept in $TMP/bus.log" >&2
    else
        rm -rf "$TMP"
    fi
}
trap cleanup EXIT
trap 'echo; echo "run.sh: interrupted" >&2; exit 130' INT TERM

free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])' 2>/dev/null ||
        echo $((20000 + $$ % 20000))
}

# The bus's user+system CPU time in clock ticks.
bus_ticks() {
    awk '{ print $14 + $15 }' "/proc/$BUS_PID/stat" 2>/dev/null || echo 0
}
HZ=$(getconf CLK_TCK 2>/dev/null || echo 100)
NCPU=$(nproc 2>/dev/null || echo 1)

# Busy ticks of the whole machine (all CPUs, interrupts included).
machine_ticks() {
    awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
}

# Before anything: is something else already using the CPUs?
check_quiet() {
    m0=$(machine_ticks)
    sleep 1
    m1=$(machine_ticks)
    busy=$(awk -v t="$((m1 - m0))" -v hz="$HZ" 'BEGIN { printf "%.0f", 100 * t / hz }')
    echo "before the bench: $busy% of a core busy with other work (of $NCPU cores)"
    if [ "$busy" -gt 10 ]; then
        echo "WARNING: the machine is not idle: the bus and busload share $NCPU cores with it, so these figures are low"
    fi
}

start_bus() {
    tries=0
    while [ $tries -lt 3 ]; do
        tries=$((tries + 1))
        PORT=$(free_port)
        # queue_high_water: past it the bus conflates a subscriber's SETs
        # to the latest per tag. The throughput runs count the delivery of
        # every SET, so the mark (default 1 MB) is set far above what
        # busload's window (256 KB in flight per subscriber) can queue:
        # a conflating run would measure dropping, not delivering.
        cat >"$TMP/bus.yaml" <<EOF
ip: 127.0.0.1
port: $PORT
queue_high_water: 67108864
queue_hard_cap: 268435456
EOF
        : >"$TMP/bus.log"
        setsid "$MSCADA" bus --config "$TMP/bus.yaml" >"$TMP/bus.log" 2>&1 &
        BUS_PID=$!
        i=0
        while [ $i -lt 50 ]; do
            if grep -q "listening on" "$TMP/bus.log" 2>/dev/null; then
                echo "bus: pid $BUS_PID, $(grep -m1 'listening on' "$TMP/bus.log")"
                return 0
            fi
            kill -0 "$BUS_PID" 2>/dev/null || break
            sleep 0.1
            i=$((i + 1))
        done
        echo "run.sh: the bus did not start on port $PORT:" >&2
        sed 's/^/    /' "$TMP/bus.log" >&2
        stop_bus
    done
    exit 1
}

# BENCH_SCALE multiplies every scenario's N (e.g. 0.1 for a quick check).
SCALE=${BENCH_SCALE:-1}
n() {
    awk -v n="$1" -v s="$SCALE" 'BEGIN { v = int(n * s); print v < 1 ? 1 : v }'
}

FAILED=0
# run TITLE ARGS...: one busload scenario against the bus.
run() {
    title=$1
    shift
    echo
    echo "=== $title"
    echo "\$ busload --bus 127.0.0.1:$PORT $*"
    t0=$(bus_ticks)
    m0=$(machine_ticks)
    s0=$(date +%s.%N)
    "$BUSLOAD" --bus "127.0.0.1:$PORT" "$@" >"$TMP/out"
    rc=$?
    t1=$(bus_ticks)
    m1=$(machine_ticks)
    s1=$(date +%s.%N)
    cat "$TMP/out"
    # busload reports its own CPU time; what the machine spent beside the
    # two is other processes plus interrupt work for loopback traffic.
    bl=$(awk '/busload cpu:/ { print $3; exit }' "$TMP/out")
    awk -v t="$((t1 - t0))" -v m="$((m1 - m0))" -v hz="$HZ" -v a="$s0" \
        -v b="$s1" -v bl="${bl:-0}" 'BEGIN {
        w = b - a; c = t / hz; r = m / hz - c - bl
        if (r < 0) r = 0
        printf "  bus cpu:       %.2f s in %.2f s (%.0f%% of a core)\n",
               c, w, (w > 0 ? 100 * c / w : 0)
        printf "  rest of the machine: %.0f%% of a core (other processes, interrupts)\n",
               (w > 0 ? 100 * r / w : 0) }'
    if [ $rc -ge 128 ]; then
        echo "run.sh: interrupted" >&2
        exit 130
    fi
    if [ $rc -ne 0 ]; then
        echo "run.sh: busload exited with $rc" >&2
        FAILED=1
    fi
    if ! kill -0 "$BUS_PID" 2>/dev/null; then
        echo "run.sh: THE BUS HAS EXITED; its log:" >&2
        tail -n 30 "$TMP/bus.log" | sed 's/^/    /' >&2
        KEEP_TMP=1
        BUS_PID=
        exit 1
    fi
}

echo "mscada bus benchmark: $(uname -srm), $NCPU CPUs, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
check_quiet
start_bus

# N is set for 2-5 s per scenario on a 2-core machine (about 25 s in all);
# a bus ten times slower would still finish within 3 minutes.
run "S=1 T=100: one subscriber, saturated" -S 1 -T 100 -N "$(n 40000000)"
run "S=10 T=100: ten subscribers, saturated" -S 10 -T 100 -N "$(n 10000000)"
run "S=50 T=100: fifty subscribers, saturated" -S 50 -T 100 -N "$(n 2000000)"
run "S=1 T=10000: many tags, saturated" -S 1 -T 10000 -N "$(n 30000000)"
run "S=10 T=100 paced at 100000 SETs/s: latency" -S 10 -T 100 \
    -N "$(n 500000)" --rate 100000
run "S=10 T=100 saturated, GET every 10 ms on the side" -S 10 -T 100 \
    -N "$(n 10000000)" --probe-get

echo
echo "=== the bus's log (WARN and ERROR lines, at most 20)"
grep -E " (WARN|ERROR) " "$TMP/bus.log" | head -n 20
echo "($(wc -l <"$TMP/bus.log") lines in all)"
exit $FAILED
