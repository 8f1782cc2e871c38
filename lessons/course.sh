#!/bin/sh
# course.sh: the student's side of the course (POSIX sh + awk; called by make).
#
#   make exercise LESSON=NN     write lesson NN's skeletons into lessons/NN-*/exercises/
#   make check LESSON=NN        build with your functions in place of the reference, run
#                               the lesson's tests, print each check with a hint
#   make watch LESSON=NN        re-run the check every time you save a file
#   make solution LESSON=NN [EXERCISE=name]   write the reference bodies (for teachers)
#   make reset LESSON=NN EXERCISE=name        put one exercise back to its skeleton
#   make progress               every lesson: done / started / not started
#   make exercises              list every exercise of the course
#
# The reference code in src/ is the only source: comment markers in it (see
# lessons/course.awk) say which function bodies are exercises. Your files are copies of
# the src/ files with those bodies replaced by a TODO; they live in a git-ignored
# folder, lessons/NN-*/exercises/. Nothing here ever deletes your work: files that would
# be replaced are first copied to exercises/.backup/.
#
# Environment (set by the Makefile): CC, SANFLAGS, CMOCKA_CFLAGS, CMOCKA_LIBS, LDLIBS,
# BUILD. COURSE_SRC (default src) and COURSE_QUIET are for the course's own tests.
set -u

SRC=${COURSE_SRC:-src}
BUILD=${BUILD:-build}
AWK_PROG=lessons/course.awk
CC=${CC:-cc}
LDLIBS=${LDLIBS:--lm}

die() { echo "error: $*" >&2; exit 2; }

# ---- where things are -------------------------------------------------------------
# The folder of lesson NN (lessons/NN-name), or nothing.
lesson_dir() {
    for d in lessons/"$1"-*; do [ -d "$d" ] && { echo "$d"; return; }; done
}

# The student's folder for lesson NN. COURSE_EXROOT moves it (the course's self-test
# works in a temporary folder, never in yours).
ex_dir() {
    if [ -n "${COURSE_EXROOT:-}" ]; then echo "$COURSE_EXROOT/$(basename "$(lesson_dir "$1")")/exercises"
    else echo "$(lesson_dir "$1")/exercises"; fi
}

# "lesson name line title file" for every exercise region in src/, in file order.
all_exercises() {
    for f in "$SRC"/*.c; do
        awk -v mode=list -f "$AWK_PROG" "$f" | while IFS='	' read -r l n line title; do
            printf '%s\t%s\t%s\t%s\t%s\n' "$l" "$n" "$line" "$title" "$f"
        done
    done
}

# The src/ files holding exercises of lesson NN.
lesson_files() {
    all_exercises | awk -F '\t' -v l="$1" '$1 == l { print $5 }' | sort -u
}

# Checks the arguments and that lesson NN exists and has exercises.
need_lesson() {
    [ -n "${1:-}" ] || die "say which lesson, e.g. make $CMD LESSON=04 (make exercises lists them)"
    echo "$1" | grep -q '^[0-9][0-9]$' || die "LESSON=$1: expected two digits, e.g. LESSON=04"
    DIR=$(lesson_dir "$1")
    [ -n "$DIR" ] || die "LESSON=$1: there is no lessons/$1-* folder"
    FILES=$(lesson_files "$1")
    [ -n "$FILES" ] || die "LESSON=$1: this lesson has no exercises (make exercises lists them)"
    EXDIR=$(ex_dir "$1")
}

# Saves a copy of the student's file before it is replaced.
backup() {
    [ -f "$1" ] || return 0
    mkdir -p "$EXDIR/.backup"
    stamp=$(date +%Y%m%d-%H%M%S)
    cp "$1" "$EXDIR/.backup/$(basename "$1").$stamp"
    echo "  (your previous $(basename "$1") is saved as $EXDIR/.backup/$(basename "$1").$stamp)"
}

# Asks a yes/no question on the terminal; "no" when there is no terminal.
ask() {
    [ -t 0 ] || return 1
    printf '%s [y/N] ' "$1"
    read -r answer || return 1
    case "$answer" in y|Y|yes) return 0 ;; *) return 1 ;; esac
}

# ---- make exercise ---------------------------------------------------------------
cmd_exercise() {
    need_lesson "$1"
    mkdir -p "$EXDIR"
    for f in $FILES; do
        out="$EXDIR/$(basename "$f")"
        if [ -f "$out" ]; then
            if ask "$out holds your work; replace it with a fresh skeleton?"; then
                backup "$out"
            else
                echo "kept your work in $out (make reset LESSON=$1 EXERCISE=name starts one exercise over)"
                continue
            fi
        fi
        awk -v mode=skeleton -v lesson="$1" -f "$AWK_PROG" "$f" > "$out.tmp" && mv "$out.tmp" "$out" \
            || die "could not write $out"
        echo "wrote $out"
    done
    echo
    echo "Lesson $1's exercises (each is a TODO in the file named):"
    list_lesson "$1"
    echo
    echo "Fill them in, then run: make check LESSON=$1   (or make watch LESSON=$1)"
}

# Prints lesson NN's exercises as "  name  file:line  title" for the student's files.
list_lesson() {
    all_exercises | awk -F '\t' -v l="$1" -v d="$(ex_dir "$1")" '
        $1 == l { f = $5; sub(/.*\//, "", f); printf "  %-24s %s/%s  %s\n", $2, d, f, $4 }'
}

# ---- make solution / make reset -------------------------------------------------
# Replaces region $2 of the student's file $1 with the same region of the text in $3.
splice_region() {
    awk -v mode=region -v name="$2" -f "$AWK_PROG" "$3" > "$1.region" || return 1
    awk -v mode=splice -v name="$2" -v with="$1.region" -f "$AWK_PROG" "$1" > "$1.tmp" \
        && mv "$1.tmp" "$1"
    status=$?
    rm -f "$1.region"
    return $status
}

# Writes the reference (mode solution) or the skeleton (mode skeleton) of exercise
# $2 (all of lesson $1's when empty) into the student's files.
rewrite() {
    mode=$1; lesson=$2; only=$3
    need_lesson "$lesson"
    mkdir -p "$EXDIR"
    matched=0
    for f in $FILES; do
        out="$EXDIR/$(basename "$f")"
        names=$(awk -v mode=list -f "$AWK_PROG" "$f" | awk -F '\t' -v l="$lesson" '$1 == l { print $2 }')
        [ -n "$only" ] && { echo "$names" | grep -qx "$only" || continue; names=$only; }
        matched=1
        ref=$(mktemp)
        awk -v mode="$mode" -v lesson="$lesson" -f "$AWK_PROG" "$f" > "$ref"
        if [ ! -f "$out" ]; then
            cp "$ref" "$out"
        else
            backup "$out"
            for n in $names; do
                splice_region "$out" "$n" "$ref" || { rm -f "$ref"; die "$out: could not find exercise $n (make exercise LESSON=$lesson writes a fresh file)"; }
            done
        fi
        rm -f "$ref"
        for n in $names; do echo "$out: $n is now the $( [ "$mode" = solution ] && echo reference solution || echo skeleton )"; done
    done
    [ "$matched" = 1 ] || die "EXERCISE=$only is not an exercise of lesson $lesson (make exercises lists them)"
}

cmd_solution() { rewrite solution "$1" "${2:-}"; }
cmd_reset() {
    [ -n "${2:-}" ] || die "say which exercise, e.g. make reset LESSON=$1 EXERCISE=name (make exercises lists them)"
    rewrite skeleton "$1" "$2"
}

# ---- building with the student's files ------------------------------------------
# A lesson is done when its stamp matches the checksum of the student's files.
files_sum() {  # lesson
    _fs_dir=$(ex_dir "$1")
    for _fs_file in $(lesson_files "$1"); do
        [ -f "$_fs_dir/$(basename "$_fs_file")" ] || { echo missing; return; }
        cksum < "$_fs_dir/$(basename "$_fs_file")"
    done | cksum
}
is_done() {
    _id_dir=$(ex_dir "$1")
    [ -f "$_id_dir/.passed" ] && [ "$(cat "$_id_dir/.passed")" = "$(files_sum "$1")" ]
}
is_started() { ls "$(ex_dir "$1")"/*.c >/dev/null 2>&1; }

# Builds $BUILD/course/lib.a: the sanitized reference library with the objects of the
# student's files swapped in (lesson $1's files, and every earlier lesson that is done).
# Prints which files are the student's. Returns non-zero on a compile error.
build_student_lib() {
    target=$1
    work="$BUILD/course${COURSE_TAG:-}/$target"
    rm -rf "$work"; mkdir -p "$work/obj"
    [ -f "$BUILD/libtransformer-san.a" ] || die "$BUILD/libtransformer-san.a is missing (run through make: make check LESSON=$target)"
    cp "$BUILD/libtransformer-san.a" "$work/lib.a"
    for l in $(all_exercises | cut -f1 | sort -u); do
        [ "$l" -le "$target" ] 2>/dev/null || continue
        if [ "$l" != "$target" ] && ! is_done "$l"; then continue; fi
        for f in $(lesson_files "$l"); do
            mine="$(ex_dir "$l")/$(basename "$f")"
            [ -f "$mine" ] || die "$mine is missing: run make exercise LESSON=$l first"
            obj="$work/obj/$(basename "${f%.c}").o"
            # Your code, compiled like the reference (sanitizers on) but warnings are
            # not errors, and the stubs' unused parameters are not warned about.
            # shellcheck disable=SC2086
            # In the lesson being checked, PLAIN_KERNELS makes your plain version the one
            # that runs everywhere in that file (the fast ones are speed notes, not
            # exercises), so every test of the lesson goes through your code.
            plain=""; [ "$l" = "$target" ] && plain=-DPLAIN_KERNELS
            if ! $CC $SANFLAGS $plain -Wno-error -Wno-unused-parameter -Wno-unused-function \
                    -Wno-unused-but-set-variable -Wno-unused-variable -Isrc -c "$mine" -o "$obj" 2> "$work/cc.log"; then
                cat "$work/cc.log" >&2
                echo "error: $mine does not compile (the compiler's message is above)" >&2
                return 1
            fi
            [ -s "$work/cc.log" ] && [ -z "${COURSE_QUIET:-}" ] && cat "$work/cc.log" >&2
            [ -z "${COURSE_QUIET:-}" ] && echo "using your $mine"
        done
    done
    # shellcheck disable=SC2086
    ar r "$work/lib.a" "$work"/obj/*.o 2>/dev/null || { echo "error: ar failed" >&2; return 1; }
}

# The test programs of lesson NN (tests/test_NN_*.c). COURSE_SKIP lists programs the
# course's own self-test leaves out for time (the training test of lesson 08).
lesson_tests() {
    # The tests of single components first, then those of whole layers and of the model:
    # a bug in the feed-forward network also fails the encoder layer's gradient check, and
    # that test's hint says to fix the smaller tests first, so they must come first.
    for t in tests/test_"$1"_*.c; do
        case "$t" in *_encoder.c | *_decoder.c | *_model.c) continue ;; esac
        lesson_test_if_kept "$t"
    done
    for t in tests/test_"$1"_encoder.c tests/test_"$1"_decoder.c tests/test_"$1"_model.c; do
        lesson_test_if_kept "$t"
    done
}

lesson_test_if_kept() {  # test source: printed unless missing or in COURSE_SKIP
    [ -f "$1" ] || return 0
    case " ${COURSE_SKIP:-} " in *" $(basename "$1" .c) "*) return 0 ;; esac
    echo "$1"
}

# What a test checks and its hint: the comment block directly above its definition;
# lines from "// hint:" on are the hint, the lines before it say what is checked.
# Prints "checks<TAB>text" and "hint<TAB>text" lines (either may be missing).
hint_for() {  # test source, test name
    # Only the first paragraph says what is checked (the rest explains the test's design).
    # A line that is indented or starts a numbered or dashed item (a worked table) keeps its
    # own line: it is joined with \037, which the printer turns back into a line break.
    awk -v t="$2" '
        function join(acc, c) {
            if (acc == "") return c
            return acc ((c ~ /^( |[0-9]+\.|- )/) ? "\037" : " ") c
        }
        /^[ \t]*\/\// { c = $0; sub(/^[ \t]*\/\/ ?/, "", c)
                        if (c ~ /^hint:/) { inhint = 1; sub(/^hint: */, "", c) }
                        if (inhint) h = join(h, c)
                        else if (c == "") dstop = (d != "")
                        else if (!dstop) d = join(d, c)
                        next }
        $0 ~ "^static void " t "\\(" { if (d) print "checks\t" d; if (h) print "hint\t" h; exit }
        { d = ""; h = ""; inhint = 0; dstop = 0 }' "$1"
}

# Runs one test program and prints each check as passed or FAILED with its hint.
run_one() {  # test source, program
    log="$2.log"
    timeout "${COURSE_TIMEOUT:-300}" "$2" > "$log" 2>&1
    status=$?
    awk '/^\[       OK \]/ && !seen[$4]++ { print "ok " $4 }
         /^\[  FAILED  \] test_/ && !seen[$4]++ { print "fail " $4 }' "$log" > "$log.res"
    while read -r verdict name; do
        if [ "$verdict" = ok ]; then
            [ -z "${COURSE_QUIET:-}" ] && printf '  passed  %s\n' "$name"
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
            [ -n "${COURSE_QUIET:-}" ] && continue
            printf '  FAILED  %s\n' "$name"
            # what cmocka said about it (the assertion and its values): a long report shows
            # its first 3 and last 5 lines, since the failing comparison comes last
            awk -v t="$name" -v logfile="$log" '$0 ~ "^\\[ RUN      \\] " t "$" { on = 1; next }
                               on && /^\[ *(OK|FAILED|RUN) *\]/ { exit } on { line[++n] = $0 }
                               END { for (i = 1; i <= n; i++) {
                                         if (n > 8 && i == 4) printf "          ... (%d more lines in %s)\n", n - 8, logfile
                                         if (n <= 8 || i <= 3 || i > n - 5) print "          " line[i] } }' "$log"
            hint_for "$1" "$name" | while IFS='	' read -r kind text; do
                # fold the text alone, then indent: every line stays within 96 columns
                printf '%s\n' "$text" | tr '\037' '\n' | fold -s -w 78 | awk -v k="$kind:" '
                    NR == 1 { printf "          %-7s %s\n", k, $0; next } { print "                  " $0 }'
            done
        fi
    done < "$log.res"
    # the test that was running: the last one cmocka started; the ones after it never ran.
    # It crashed (or hung) if it never finished, even when tests before it failed.
    last=$(sed -n 's/^\[ RUN      \] //p' "$log" | tail -n 1)
    if [ "$status" -ne 0 ] && { [ -z "$last" ] ||
            ! grep -qE "^\[ *(OK|FAILED|SKIPPED) *\] $last\$" "$log"; }; then
        failed=$((failed + 1))
        total=$(sed -n 's/^\[==========\] Running \([0-9]*\) test.*/\1/p' "$log" | head -n 1)
        done_count=$(grep -c '^\[ RUN      \]' "$log")
        notrun=""
        if [ -n "$last" ] && [ -n "$total" ] && [ "$total" -gt "$done_count" ]; then
            notrun="; the $((total - done_count)) checks after it did not run (counted as failed)"
            failed=$((failed + total - done_count))
        fi
        if [ -z "${COURSE_QUIET:-}" ]; then
            if [ "$status" -eq 124 ]; then
                echo "  FAILED  ${last:-$(basename "$2")}: still running after ${COURSE_TIMEOUT:-300} s (an endless loop?)$notrun"
            else
                echo "  FAILED  ${last:-$(basename "$2")} crashed (exit $status)$notrun; the end of its output:"
                { if [ -n "$last" ]; then sed -n "/^\[ RUN      \] $last\$/,\$p" "$log"; else cat "$log"; fi; } |
                    grep -m 14 -E 'ERROR|SUMMARY|runtime error|located|allocated by|freed by|#[0-9] .* in [a-z_]+ ' | sed 's/^/          /'
                echo "          hint: a crash in your code usually means an index past the end of an array"
                echo "          (check the shapes in the TODO) or a pointer you did not fill in."
            fi
        fi
    fi
    rm -f "$log.res"
}

cmd_check() {
    need_lesson "$1"
    for f in $FILES; do
        [ -f "$EXDIR/$(basename "$f")" ] || die "$EXDIR/$(basename "$f") is missing: run make exercise LESSON=$1 first"
    done
    build_student_lib "$1" || exit 1
    work="$BUILD/course${COURSE_TAG:-}/$1"
    passed=0; failed=0
    for t in $(lesson_tests "$1"); do
        prog="$work/$(basename "$t" .c)"
        [ -z "${COURSE_QUIET:-}" ] && echo "== $(basename "$t" .c)"
        # shellcheck disable=SC2086
        if ! $CC $SANFLAGS -Itests ${CMOCKA_CFLAGS:-} "$t" tests/testutil.c "$work/lib.a" \
                ${CMOCKA_LIBS:--lcmocka} $LDLIBS -o "$prog" 2> "$work/link.log"; then
            cat "$work/link.log" >&2
            echo "error: the tests of lesson $1 do not build with your files (message above)" >&2
            exit 1
        fi
        ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
            run_one "$t" "$prog"
    done
    echo
    if [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]; then
        files_sum "$1" > "$EXDIR/.passed"
        echo "lesson $1: all $passed checks passed. Well done: make progress shows it as done."
        return 0
    fi
    rm -f "$EXDIR/.passed"
    echo "lesson $1: $failed of $((passed + failed)) checks failed. Fix them and run make check LESSON=$1 again."
    return 1
}

# ---- make student: the programs built with your components --------------------------
# Writes $BUILD/student/libtransformer.a: the optimised reference library with the
# objects of every lesson you have done (make check passed) swapped in. The Makefile
# then links build/student/transformer and build/student/transformer-viz against it.
cmd_student() {
    work="$BUILD/student"
    mkdir -p "$work/obj"
    rm -f "$work"/obj/*.o
    cp "$BUILD/libtransformer.a" "$work/libtransformer.a.tmp" || die "$BUILD/libtransformer.a is missing (run make student)"
    used=0
    for l in $(all_exercises | cut -f1 | sort -u); do
        if ! is_done "$l"; then
            is_started "$l" && echo "lesson $l: started but its check has not passed since your last change: using the reference (make check LESSON=$l)"
            continue
        fi
        for f in $(lesson_files "$l"); do
            mine="$(ex_dir "$l")/$(basename "$f")"
            # shellcheck disable=SC2086
            # STUDENT_PLAIN=1 (make student PLAIN=1): your plain kernels run instead of the
            # fast reference ones (slower, but every multiply is yours).
            plain=""; [ "${STUDENT_PLAIN:-}" = 1 ] && plain=-DPLAIN_KERNELS
            $CC ${CFLAGS:-} $plain -Wno-error -Wno-unused-parameter -Wno-unused-function -Wno-unused-variable \
                -Isrc -c "$mine" -o "$work/obj/$(basename "${f%.c}").o" || die "$mine does not compile"
            echo "lesson $l: using your $mine"
            used=$((used + 1))
        done
    done
    if [ "$used" -gt 0 ]; then ar r "$work/libtransformer.a.tmp" "$work"/obj/*.o 2>/dev/null || die "ar failed"; fi
    mv "$work/libtransformer.a.tmp" "$work/libtransformer.a"
    [ "$used" -eq 0 ] && echo "no lesson is done yet (make progress): the student programs are the reference"
    return 0
}

# ---- make watch --------------------------------------------------------------------
cmd_watch() {
    need_lesson "$1"
    echo "watching $EXDIR: the check runs every time you save (Ctrl-C stops)"
    last=""
    while :; do
        now=$(ls -l --time-style=+%s.%N "$EXDIR"/*.c 2>/dev/null | cksum)
        if [ "$now" != "$last" ]; then
            last=$now
            printf '\n==== %s ====\n' "$(date +%H:%M:%S)"
            cmd_check "$1" || true
        fi
        sleep 1
    done
}

# ---- make progress / make exercises ------------------------------------------------
cmd_progress() {
    printf '%-6s %-26s %-10s %s\n' lesson folder exercises state
    for pr_dir in lessons/[0-9][0-9]-*; do
        l=$(basename "$pr_dir" | cut -c1-2)
        n=$(all_exercises | awk -F '\t' -v l="$l" '$1 == l' | wc -l | tr -d ' ')
        if [ "$n" -eq 0 ]; then state="(no exercises)"
        elif is_done "$l"; then state="done"
        elif is_started "$l"; then state="started"
        else state="not started"; fi
        printf '%-6s %-26s %-10s %s\n' "$l" "$(basename "$pr_dir")" "$n" "$state"
    done
}

cmd_exercises() {
    # by lesson, and in each lesson in the order of the files and lines
    all_exercises | sort -t '	' -k1,1 -s |
        awk -F '\t' '{ f = $5 ":" $3; printf "%s  %-24s %-22s %s\n", $1, $2, f, $4 }'
}

CMD=${1:-}
shift 2>/dev/null
case "$CMD" in
    exercise) cmd_exercise "${1:-}" ;;
    check) cmd_check "${1:-}" ;;
    watch) cmd_watch "${1:-}" ;;
    solution) cmd_solution "${1:-}" "${2:-}" ;;
    reset) cmd_reset "${1:-}" "${2:-}" ;;
    progress) cmd_progress ;;
    student) cmd_student ;;
    exercises) cmd_exercises ;;
    *) die "usage: sh lessons/course.sh exercise|check|watch|solution|reset NN [NAME] | progress | exercises" ;;
esac
