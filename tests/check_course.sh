#!/bin/sh
# check_course.sh: proves that the course's grader grades (part of `make test`).
#
# For every lesson with exercises, in a temporary folder (never a student's own):
#   1. the fresh skeletons compile and `make check` FAILS on them;
#   2. each exercise alone put back to its skeleton (every other one solved) FAILS, so
#      no exercise can be left empty and still pass;
#   3. `make solution` (every reference body) PASSES.
# A check that an empty skeleton passes is a defect, reported here with its name.
# Environment: as lessons/course.sh (the Makefile passes CC, SANFLAGS, ...). LESSONS
# limits it to some lessons, e.g. LESSONS="03 04".
set -u
COURSE="sh lessons/course.sh"
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT INT TERM
export COURSE_EXROOT="$root" COURSE_QUIET=1 COURSE_TAG=-selftest
# The training test of lesson 08 takes most of a minute; the other lesson-08 tests
# cover its exercises.
export COURSE_SKIP="test_08_train"
status=0
exercises=0
lessons=${LESSONS:-$($COURSE exercises | cut -c1-2 | sort -u)}
for l in $lessons; do
    names=$($COURSE exercises | awk -v l="$l" 'substr($0, 1, 2) == l { print $2 }')
    [ -n "$names" ] || continue
    before=$status; status=0
    # 1. all skeletons
    $COURSE exercise "$l" > /dev/null || { echo "check_course: lesson $l: make exercise failed"; status=1; continue; }
    if $COURSE check "$l" > "$root/log" 2>&1; then
        echo "check_course: lesson $l: the fresh skeletons PASS the check (they must fail)"; status=1
    elif grep -q 'does not compile\|do not build' "$root/log"; then
        echo "check_course: lesson $l: the fresh skeletons do not compile:"; sed 's/^/  /' "$root/log" | head -20; status=1
    fi
    # 3. the reference passes (checked before 2, which starts from it)
    $COURSE solution "$l" > /dev/null
    if ! $COURSE check "$l" > "$root/log" 2>&1; then
        echo "check_course: lesson $l: the reference solution FAILS its check:"; sed 's/^/  /' "$root/log" | tail -20
        status=1; continue
    fi
    # 2. each exercise alone empty
    for n in $names; do
        exercises=$((exercises + 1))
        $COURSE reset "$l" "$n" > /dev/null
        if $COURSE check "$l" > "$root/log" 2>&1; then
            echo "check_course: lesson $l: exercise $n left as its skeleton still PASSES the check"; status=1
        elif grep -q 'does not compile\|do not build' "$root/log"; then
            echo "check_course: lesson $l: exercise $n's skeleton does not compile:"; sed 's/^/  /' "$root/log" | head -20; status=1
        fi
        $COURSE solution "$l" "$n" > /dev/null
    done
    [ "$status" -eq 0 ] && echo "check_course: lesson $l: skeletons fail, each of $(echo "$names" | wc -w | tr -d ' ') exercises is graded, the reference passes"
    [ "$before" -ne 0 ] && status=1
done
[ "$status" -eq 0 ] && echo "check_course: the grader grades ($exercises exercises)"
exit $status
