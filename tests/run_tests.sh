#!/bin/sh
# Runs each cmocka test program given as an argument, from the repository root, and
# ends with one summary line over all of them. Exits non-zero if any test failed.
# ASan: report leaks too; UBSan: a stack trace on the first error.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
passed=0
failed=0
broken=""
for program in "$@"; do
    echo "== $program"
    log=$(mktemp)
    "$program" 2>&1 | tee "$log"
    status=$?
    # cmocka prints "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s), listed below:"
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0}))
    if ! grep -q '^\[  PASSED  \]' "$log" || [ -n "$f" ]; then
        broken="$broken $program"
        [ -z "$f" ] && failed=$((failed + 1))  # crashed before its summary: count it
    fi
    rm -f "$log"
done
echo
[ -n "$broken" ] && echo "failing programs:$broken"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
