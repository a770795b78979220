#!/bin/sh
# Runs every libFuzzer target of a -DMSCADA_FUZZ=ON build for a while and
# grows its corpus (`make fuzz` calls this):
#
#   sh tests/fuzz/run.sh BUILD_DIR [SECONDS]
#
# For each BUILD_DIR/fuzz_<name>: copy tests/fuzz/corpus/<name>/ to a temp
# folder (merging, so only inputs that add coverage are kept there), fuzz on
# that copy for SECONDS, then merge the inputs that add coverage back into
# tests/fuzz/corpus/<name>/ with -merge=1. A crash stops that target; its
# input is kept in BUILD_DIR/fuzz-crashes/<name>/ and the script exits 1
# after the other targets have run. Once the bug is fixed, add the input to
# the corpus so that `make test` replays it for good.
#
# A target may name libFuzzer options of its own (most often -max_len, to
# keep inputs as small as its format allows) on a line of its source
# tests/fuzz/fuzz_<name>.c reading
#
#   * fuzz-options: -max_len=1024
#
# run.sh passes them to the fuzzing run (not to the merges, which must see
# every input whole).
set -u

usage() {
    echo "usage: sh tests/fuzz/run.sh BUILD_DIR [SECONDS]" >&2
    exit 2
}
[ $# -ge 1 ] && [ $# -le 2 ] || usage
build=$1
secs=${2:-60}
case $secs in '' | *[!0-9]*) usage ;; esac
[ -d "$build" ] || { echo "run.sh: no build folder $build" >&2; exit 2; }
build=$(cd "$build" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
corpora=$root/tests/fuzz/corpus

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mscada-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

count() { find "$1" -type f | wc -l | tr -d ' '; }
bytes() { du -sk "$1" | cut -f1; }

targets=0
failed=0
for bin in "$build"/fuzz_*; do
    [ -f "$bin" ] && [ -x "$bin" ] || continue
    target=$(basename "$bin")
    name=${target#fuzz_}
    # A replay build's binary would just replay: insist on libFuzzer.
    if ! "$bin" -help=1 2>&1 | grep -q max_total_time; then
        echo "run.sh: $target is not a libFuzzer binary" \
             "(configure with CC=clang -DMSCADA_FUZZ=ON)" >&2
        failed=1
        continue
    fi
    targets=$((targets + 1))
    corpus=$corpora/$name
    mkdir -p "$corpus"
    work=$tmp/$name
    mkdir -p "$work/corpus" "$work/artifacts"
    log=$work/fuzz.log
    before=$(count "$corpus")
    opts=""
    if [ -f "$root/tests/fuzz/$target.c" ]; then
        opts=$(sed -n 's/^.*fuzz-options:[[:space:]]*\([^*]*\).*$/\1/p' \
               "$root/tests/fuzz/$target.c" | head -n 1)
    fi
    echo "== $target: corpus $before inputs ($(bytes "$corpus") KiB)," \
         "fuzzing ${secs}s${opts:+ with $opts}"

    # Temp copy of the corpus (a merge keeps inputs that add coverage; if
    # it fails, e.g. on an input that crashes, copy everything instead).
    if ! "$bin" -merge=1 "$work/corpus" "$corpus" >"$work/copy.log" 2>&1; then
        rm -rf "$work/corpus"
        mkdir -p "$work/corpus"
        cp "$corpus"/* "$work/corpus"/ 2>/dev/null
    fi

    # shellcheck disable=SC2086
    "$bin" $opts -max_total_time="$secs" -timeout=25 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
        "$work/corpus" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log")
    cov=$(grep -E '^#[0-9]+' "$log" | tail -n 1 |
          sed -n 's/.*cov: \([0-9]*\) ft: \([0-9]*\).*/cov \1, ft \2/p')
    echo "   $target: ${execs:-?} runs (${speed:-?}/s), ${cov:-cov ?}," \
         "peak rss ${rss:-?} MB"
    if [ $rc -ne 0 ]; then
        failed=1
        keep=$build/fuzz-crashes/$name
        mkdir -p "$keep"
        cp "$work/artifacts"/* "$keep"/ 2>/dev/null
        cp "$log" "$keep/fuzz.log"
        echo "!! $target FAILED (exit $rc):"
        grep -E 'ERROR|SUMMARY|check failed|runtime error|Test unit written' \
            "$log" | head -n 12 | sed 's/^/   /'
        echo "!! kept in $keep (inputs and fuzz.log); reproduce with:"
        for f in "$keep"/*; do
            case $f in */fuzz.log) ;; *) echo "   $bin $f" ;; esac
        done
    fi

    # Merge what the run found back into the source corpus.
    if "$bin" -merge=1 "$corpus" "$work/corpus" >"$work/merge.log" 2>&1; then
        after=$(count "$corpus")
        echo "   $target: corpus $before -> $after inputs" \
             "($(bytes "$corpus") KiB, +$((after - before)))"
    else
        failed=1
        echo "!! $target: merging back failed; see below"
        tail -n 20 "$work/merge.log" | sed 's/^/   /'
    fi
    rm -rf "$work"
done

if [ $targets -eq 0 ]; then
    echo "run.sh: no libFuzzer fuzz_* binaries in $build" >&2
    exit 2
fi
echo "== $targets target(s) fuzzed for ${secs}s each;" \
     "$( [ $failed -eq 0 ] && echo "no failures" || echo "FAILURES above")"
exit $failed
