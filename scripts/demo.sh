#!/bin/sh
# `make demo`: the whole plant demo (docs/demo.md). A simulated tank and
# pump (plantsim) behind "a PLC" (modbusserver), polled by the SCADA side
# (modbusclient) into operator tags that history records, all on one bus.
#
#   sh scripts/demo.sh [BUILD]      # BUILD: the build folder (default build)
#
# Starts bus, modbusserver, plantsim, modbusclient, history and wwwserver in
# that order,
# each in its own process group, stdin from /dev/null, output to
# RUN/logs/NAME.log, and waits for each to be up. Then it waits; Ctrl-C
# (SIGINT) or SIGTERM stops every one of them by pid (SIGTERM, SIGKILL after
# a grace period) and exits 0. A process that dies at start (or later) has
# its log tail printed, the rest are stopped, and the exit status is 1.
#
# The configs are config/demo/*.yaml, copied into RUN/config/ with the ports
# below put in. Fixed ports: 1324 (bus), 1325 (its text port), 1502 (the
# PLC's Modbus/TCP), 8324 (the web server), all on 127.0.0.1. If one is
# taken the script says which and exits 1. Environment overrides (the
# system test uses them):
#   MSCADA_DEMO_BUS_PORT   bus port (1324)
#   MSCADA_DEMO_TEXT_PORT  bus text port (1325)
#   MSCADA_DEMO_PLC_PORT   the PLC's Modbus/TCP port (1502)
#   MSCADA_DEMO_WWW_PORT   the wwwserver's HTTP port (8324)
#   MSCADA_DEMO_DIR        the run folder (BUILD/demo): logs/, config/, the
#                          bus snapshot, history/, pids ("NAME PID" lines)
#   MSCADA_DEMO_WAIT       seconds each process may take to come up (30)
#   MSCADA_DEMO_GRACE      seconds between SIGTERM and SIGKILL at stop (10)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
run=${MSCADA_DEMO_DIR:-$build/demo}
bus_port=${MSCADA_DEMO_BUS_PORT:-1324}
text_port=${MSCADA_DEMO_TEXT_PORT:-1325}
plc_port=${MSCADA_DEMO_PLC_PORT:-1502}
www_port=${MSCADA_DEMO_WWW_PORT:-8324}
up_wait=${MSCADA_DEMO_WAIT:-30}
grace=${MSCADA_DEMO_GRACE:-10}

say() { printf '%s\n' "mscada demo: $*"; }

for v in "$bus_port" "$text_port" "$plc_port" "$www_port" "$up_wait" \
         "$grace"; do
    case $v in '' | *[!0-9]*)
        say "'$v' is no number (check MSCADA_DEMO_* in the environment)" >&2
        exit 2 ;;
    esac
done
for exe in mscada plantsim; do
    if [ ! -x "$build/$exe" ]; then
        say "$build/$exe is missing: build first (make build)" >&2
        exit 1
    fi
done

# Paths as the user would type them from the top of the repository.
show() {
    case $1 in
    "$top"/*) printf '%s' "${1#"$top"/}" ;;
    *) printf '%s' "$1" ;;
    esac
}

mkdir -p "$run/logs" "$run/config" || exit 1
run=$(cd "$run" && pwd)
cd "$run" || exit 1 # every module runs here: bus.snap, history/ land here

# The example configs with this run's ports (and history's folder as an
# absolute path, so history-export works from anywhere).
for f in bus modbusserver modbusclient history wwwserver tags users; do
    sed -e "s/^\(port:\) 1324/\1 $bus_port/" \
        -e "s/^\(text_port:\) 1325/\1 $text_port/" \
        -e "s/^\(bus_port:\) 1324/\1 $bus_port/" \
        -e "s/^\(  port:\) 1502/\1 $plc_port/" \
        -e "s/^\(port:\) 8324/\1 $www_port/" \
        -e "s|^\(path:\) history\$|\1 $run/history|" \
        "$top/config/demo/$f.yaml" > "$run/config/$f.yaml" || exit 1
done
conf=$run/config
: > "$run/pids"

names=""   # started, in order
stopped=0
sleeper=""

pid_of() { eval "printf '%s' \"\${pid_$1:-}\""; }

# Alive and not a zombie (an exited child the shell has not reaped yet).
alive() {
    [ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 1
    st=$(sed 's/.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
    [ "$st" != Z ]
}

# start NAME COMMAND...: in its own session (so its own process group, and
# no Ctrl-C from the terminal reaches it: this script stops it by pid).
start() {
    name=$1
    shift
    : > "$run/logs/$name.log"
    if command -v setsid >/dev/null 2>&1; then
        setsid "$@" < /dev/null >> "$run/logs/$name.log" 2>&1 &
    else
        "$@" < /dev/null >> "$run/logs/$name.log" 2>&1 &
    fi
    eval "pid_$name=$!"
    names="$names $name"
    echo "$name $!" >> "$run/pids"
}

stop_all() {
    [ "$stopped" = 1 ] && return
    stopped=1
    trap '' INT TERM # a second Ctrl-C must not cut the stop short
    [ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null
    rev=""
    for n in $names; do rev="$n $rev"; done
    for n in $rev; do # the bus last, so the others leave it cleanly
        p=$(pid_of "$n")
        if alive "$p"; then
            say "stopping $n (pid $p)"
            kill -TERM "$p" 2>/dev/null
        fi
    done
    left=$((grace * 10))
    while [ "$left" -gt 0 ]; do
        any=0
        for n in $names; do alive "$(pid_of "$n")" && any=1; done
        [ "$any" = 0 ] && break
        sleep 0.1
        left=$((left - 1))
    done
    for n in $names; do
        p=$(pid_of "$n")
        if alive "$p"; then
            say "$n (pid $p) still runs after ${grace}s: SIGKILL"
            kill -KILL "$p" 2>/dev/null
        fi
    done
    for n in $names; do wait "$(pid_of "$n")" 2>/dev/null; done
}

# A taken port makes the module exit with "... in use" in its log.
port_hint() {
    log=$1
    grep -qi "in use" "$log" || return
    for pp in "bus:$bus_port:MSCADA_DEMO_BUS_PORT" \
              "text:$text_port:MSCADA_DEMO_TEXT_PORT" \
              "plc:$plc_port:MSCADA_DEMO_PLC_PORT" \
              "www:$www_port:MSCADA_DEMO_WWW_PORT"; do
        p=$(echo "$pp" | cut -d: -f2)
        var=$(echo "$pp" | cut -d: -f3)
        if grep -i "in use" "$log" | grep -Eq "(port |:)$p([^0-9]|\$)"; then
            say "port $p is taken by another program (a demo or bus already" \
                "running? 'ss -ltnp' shows who). Stop it, or pick another" \
                "port: $var=NNNN make demo" >&2
        fi
    done
}

# fail NAME WHY: its log tail, then stop everything and exit 1.
fail() {
    log=$run/logs/$1.log
    say "$1 $2; the end of $(show "$log"):" >&2
    tail -n 20 "$log" | sed 's/^/    /' >&2
    port_hint "$log"
    stop_all
    exit 1
}

# wait_up NAME PATTERN: until PATTERN is in its log; fails if it dies.
wait_up() {
    p=$(pid_of "$1")
    left=$((up_wait * 10))
    while ! grep -q "$2" "$run/logs/$1.log"; do
        if ! alive "$p"; then
            wait "$p"
            fail "$1" "exited with status $? at start"
        fi
        left=$((left - 1))
        [ "$left" -gt 0 ] || fail "$1" "did not come up within ${up_wait}s"
        sleep 0.1
    done
}

on_signal() {
    echo
    say "stopping"
    stop_all
    say "stopped"
    exit 0
}
trap on_signal INT TERM
trap stop_all EXIT

mscada=$build/mscada
bus_up="bus 127.0.0.1:$bus_port: connected" # the client library's line
start bus "$mscada" bus --config "$conf/bus.yaml"
wait_up bus "text port listening on"
start modbusserver "$mscada" modbusserver --config "$conf/modbusserver.yaml" \
    --tags "$conf/tags.yaml"
wait_up modbusserver "serving Modbus/TCP on"
wait_up modbusserver "$bus_up"
# the plant before the SCADA side, so that the first poll (and history's
# first record) reads a running plant, not the PLC's empty registers
start plantsim "$build/plantsim" --bus "127.0.0.1:$bus_port"
wait_up plantsim "$bus_up"
start modbusclient "$mscada" modbusclient --config "$conf/modbusclient.yaml" \
    --tags "$conf/tags.yaml"
wait_up modbusclient "PLC: connected"
wait_up modbusclient "$bus_up"
start history "$mscada" history --config "$conf/history.yaml" \
    --tags "$conf/tags.yaml"
wait_up history "history: recording"
start wwwserver "$mscada" wwwserver --config "$conf/wwwserver.yaml" \
    --tags "$conf/tags.yaml"
wait_up wwwserver "www: listening on"
wait_up wwwserver "$bus_up"

b=$(show "$build")
c=$(show "$top/config/demo")
busarg=""
[ "$bus_port" = 1324 ] || busarg=" --bus 127.0.0.1:$bus_port"
pids=""
for n in $names; do pids="$pids $n $(pid_of "$n")"; done
cat <<TXT

mscada demo: a tank and its pump, a PLC, and the SCADA around them
(docs/demo.md). Running, each logging to $(show "$run/logs")/NAME.log:

  bus           127.0.0.1:$bus_port, text port $text_port
  modbusserver  "the PLC": Modbus/TCP on 127.0.0.1:$plc_port; its registers
                are the sim_* tags of the plant
  modbusclient  polls the PLC every 0.2 s into TankLevel, FlowRate,
                PumpRunning, PumpStarts, PumpMode; writes PumpMode back
  history       records those tags in $(show "$run/history")/
  wwwserver     the HMI's web server: http://127.0.0.1:$www_port/
                (pymscada's browser protocol on /ws)
  plantsim      the plant: the tank fills, the pump (Auto) starts above
                8 m and stops below 2 m
  pids:$pids

Watch it, in another terminal, from $(show "$top"):
  $b/mscada console$busarg --tags $c/tags.yaml
      then: sub TankLevel FlowRate PumpRunning PumpStarts PumpMode
            set PumpMode Manual      (or 'Off', Auto: the pump obeys)
  nc 127.0.0.1 $text_port     (or telnet; apt install netcat-openbsd)
      then: sub TankLevel FlowRate     or: set PumpMode 0
  $b/tagwatch$busarg TankLevel PumpRunning
  $b/mscada history-export --config $(show "$conf")/history.yaml \\
      --tags $c/tags.yaml TankLevel        (what history keeps, as CSV)

Configs: $c/ (as run: $(show "$conf")/). Ctrl-C stops everything.

TXT

# Wait, waking once a second to notice a process that stopped by itself.
while :; do
    sleep 1 &
    sleeper=$!
    wait "$sleeper" # a trapped signal ends this wait at once
    sleeper=""
    for n in $names; do
        p=$(pid_of "$n")
        if ! alive "$p"; then
            wait "$p"
            fail "$n" "stopped by itself (status $?)"
        fi
    done
done
