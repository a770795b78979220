#!/bin/sh
# `make test`: build and run every test twice, plainly and under
# AddressSanitizer + UndefinedBehaviorSanitizer, then print one summary line
# for CI: "test: N passed, N failed".
set -u
JOBS=${JOBS:-2}
cd "$(dirname "$0")/.." || exit 1
passed=0
failed=0
skipped=0
status=0

run_suite() {
    dir=$1
    label=$2
    shift 2
    echo "== building $dir $*"
    if ! cmake -S . -B "$dir" -DMSCADA_TESTS=ON -DMSCADA_BENCH=ON "$@" >/dev/null || \
       ! cmake --build "$dir" -j"$JOBS" >"$dir/build-output.log" 2>&1; then
        cat "$dir/build-output.log" 2>/dev/null | tail -50
        echo "== build of $dir failed (see above)"
        failed=$((failed + 1))
        status=1
        return
    fi
    echo "== testing $dir"
    (cd "$dir" && ctest --output-on-failure -j"$JOBS" --timeout 600 $label) \
        >"$dir/ctest.log" 2>&1
    rc=$?
    cat "$dir/ctest.log"
    p=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\2 \1/p' \
        "$dir/ctest.log" | tail -1)
    if [ -n "$p" ]; then
        total=${p% *}
        nf=${p#* }
        ns=$(grep -c '(Skipped)$' "$dir/ctest.log")
        passed=$((passed + total - nf - ns))
        failed=$((failed + nf))
        skipped=$((skipped + ns))
    else
        failed=$((failed + 1))
    fi
    [ $rc -eq 0 ] || status=1
}

run_suite build "" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMSCADA_SANITIZE=OFF
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS UBSAN_OPTIONS
run_suite build-asan "" -DCMAKE_BUILD_TYPE=Debug -DMSCADA_SANITIZE=ON
# Threaded tests once more under ThreadSanitizer (only those labelled tsan).
if ls tests/system/test_*thread*.c tests/unit/test_*thread*.c 2>/dev/null | grep -q .; then
    TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
    export TSAN_OPTIONS
    run_suite build-tsan "-L tsan" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DMSCADA_TSAN=ON
fi

if [ $skipped -gt 0 ]; then
    echo "test: $passed passed, $failed failed, $skipped skipped"
else
    echo "test: $passed passed, $failed failed"
fi
exit $status
