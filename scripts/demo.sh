#!/bin/sh
# `make demo`: runs the bus in the foreground on its default port with
# config/bus.yaml; its snapshot goes to BUILD/demo/. Ctrl-C stops it.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
mkdir -p "$build/demo"
cd "$build/demo"
cat <<TXT
mscada demo: the tag bus on 127.0.0.1:1324 (config: config/bus.yaml)

  Any pymscada module or mscada client can connect to 127.0.0.1:1324.
  Watch and poke tags by hand on the text port:  nc 127.0.0.1 1325
  (type help; e.g. "set Flow 12.5", "sub Flow"), or with the client library's
  first example:  $build/tagwatch Flow
  Bus statistics are published every 5 s on the tag __bus_stats__; tag ids
  and values survive a restart through $build/demo/bus.snap.
  Protocol and config: docs/bus.md.  Stop with Ctrl-C.

TXT
exec "$build/mscada" bus --config "$top/config/bus.yaml"
