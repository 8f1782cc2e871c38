#!/bin/sh
# Keeps the pages true: runs every program output a page quotes and fails when the quote
# no longer matches what the program prints. A page opts a fenced block in with a marker
# on the line directly above it (tests/README.md describes the format):
#
#   <!-- make test: build/lr_schedule_demo -->      run this command; the block is its output
#   <!-- make test -->                              the block is a transcript: each line
#                                                   "$ command" is run, and the lines after
#                                                   it, up to the next "$ ", are its output
#
#   <!-- make test slow: CMD -->  or  <!-- make test slow -->
#                                                   the same, but only run with --slow (a
#                                                   whole training run; `make pages SLOW=1`)
#
# A line "..." in a block stands for any number of lines (an excerpt). Timings are
# masked on both sides before comparing (numbers before "s", "ms", "tok/s", "M:SS
# elapsed", "ETA M:SS", "x=..." after ms/step, tok/s, GFLOP/s), as are trailing blanks
# and trailing empty lines. Commands run from a scratch directory holding links to the
# repository's top-level entries, so "build/x" and "data/y" work and files a command
# writes (checkpoints) land in the scratch directory, which is removed afterwards.
#
# usage: sh tests/check_pages.sh [--slow] [--update] [PAGE.md ...]
#   no pages: README.md, lessons/*.md, lessons/*/*.md, viz/README.md, data/README.md, data/*/README.md
#   --slow:   also run the blocks marked "make test slow" (minutes)
#   --update: rewrite each failing block that has no "..." line with the real output
#             (the way to "paste the real new output"; review the diff before committing)
# Exit status 0 when every marked block matches.

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1

update=0 slow=0
while :; do
    case "$1" in
        --update) update=1; shift ;;
        --slow) slow=1; shift ;;
        *) break ;;
    esac
done
if [ $# -eq 0 ]; then
    set -- README.md lessons/*.md lessons/*/*.md viz/README.md data/README.md data/*/README.md
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
# A block's commands get 300 s (a slow block 3 hours: a whole run on a shared machine).
have_timeout=0
command -v timeout >/dev/null 2>&1 && have_timeout=1

# Masks what changes from run to run (timings), strips trailing blanks and trailing
# empty lines. Reads stdin, writes stdout.
normalize() {
    sed -E -e 's/[[:space:]]+$//' \
        -e 's/[0-9]+:[0-9][0-9] elapsed/<time> elapsed/g' \
        -e 's/ETA [0-9]+:[0-9][0-9]/ETA <time>/g' \
        -e 's/(ms\/step|tok\/s|GFLOP\/s)=[0-9.]+/\1=<time>/g' \
        -e 's/ *[0-9]+(\.[0-9]+)?k? (tok\/s|ms|s)([^A-Za-z0-9_]|$)/ <time> \2\3/g' |
        awk '{ line[NR] = $0 } END { n = NR; while (n > 0 && line[n] == "") n--; for (i = 1; i <= n; i++) print line[i] }'
}

# Does the actual output (file $2) match the expected block (file $1), where an
# expected line "..." matches any run of lines? Both are normalized. Exit 0 if so.
matches() {
    awk -v expected="$1" -v actual="$2" '
    BEGIN {
        while ((getline l < expected) > 0) e[++ne] = l
        while ((getline l < actual) > 0) a[++na] = l
        # segments of expected lines between "..." lines
        nseg = 0; start = 1
        for (i = 1; i <= ne + 1; i++) {
            if (i == ne + 1 || e[i] == "...") {
                if (i > start) { nseg++; seg_from[nseg] = start; seg_to[nseg] = i - 1 }
                start = i + 1
            }
        }
        open_start = (ne > 0 && e[1] == "...")
        open_end = (ne > 0 && e[ne] == "...")
        if (nseg == 0) exit (open_start || na == 0) ? 0 : 1
        pos = 1
        for (s = 1; s <= nseg; s++) {
            len = seg_to[s] - seg_from[s] + 1
            if (s == nseg && !open_end) {          # the last segment ends the output
                at = na - len + 1
                if (at < pos || (s == 1 && !open_start && at != 1)) exit 1
                if (!seg_at(s, at)) exit 1
                exit 0
            }
            if (s == 1 && !open_start) {           # the first segment starts it
                if (!seg_at(s, 1)) exit 1
                pos = 1 + len
                continue
            }
            found = 0                              # else its first occurrence from pos
            for (at = pos; at + len - 1 <= na; at++) if (seg_at(s, at)) { found = 1; break }
            if (!found) exit 1
            pos = at + len
        }
        exit 0
    }
    function seg_at(s, at,    k) {
        if (at < 1 || at + (seg_to[s] - seg_from[s]) > na) return 0
        for (k = seg_from[s]; k <= seg_to[s]; k++) if (e[k] != a[at + k - seg_from[s]]) return 0
        return 1
    }'
}

# Splits page $1 into its marked blocks: $work/N.cmd (the marker's command, empty for a
# transcript), $work/N.expected, $work/N.line (line number of the marker); prints N.
# A marker not directly followed by a fence is reported and counted as a failure.
extract() {
    awk -v dir="$work" -v page="$1" '
    function flush() { close(dir "/" n ".expected") }
    state == 0 && /^<!-- make test( slow)?(: .*)? -->[[:space:]]*$/ {
        cmd = $0
        slow = cmd ~ /^<!-- make test slow/
        sub(/^<!-- make test( slow)?(: )?/, "", cmd); sub(/ *-->[[:space:]]*$/, "", cmd)
        n++; marker_line = NR; state = 1
        if (slow) { print "slow" > (dir "/" n ".slow"); close(dir "/" n ".slow") }
        printf "%s", cmd > (dir "/" n ".cmd"); close(dir "/" n ".cmd")
        print marker_line > (dir "/" n ".line"); close(dir "/" n ".line")
        printf "" > (dir "/" n ".expected")
        next
    }
    state == 1 {
        if ($0 ~ /^```/) { state = 2; next }
        print page ":" marker_line ": marker not directly followed by a fenced block" > "/dev/stderr"
        print "broken" > (dir "/" n ".broken"); close(dir "/" n ".broken")
        state = 0
    }
    state == 2 {
        if ($0 ~ /^```[[:space:]]*$/) { flush(); state = 0; next }
        print > (dir "/" n ".expected")
        next
    }
    END {
        if (state == 2) {
            print page ":" marker_line ": fenced block never closed" > "/dev/stderr"
            print "broken" > (dir "/" n ".broken")
        }
        print n + 0
    }' "$1"
}

# Runs block N's command(s) in the scratch directory $2; writes $work/N.actual and
# returns non-zero if a command failed.
run_block() {
    n=$1 scratch=$2 status=0 timeout_cmd=""
    if [ "$have_timeout" -eq 1 ]; then
        timeout_cmd="timeout 300"
        [ -f "$work/$n.slow" ] && timeout_cmd="timeout 10800"
    fi
    cmd=$(cat "$work/$n.cmd")
    : > "$work/$n.actual"
    if [ -n "$cmd" ]; then
        (cd "$scratch" && $timeout_cmd sh -c "$cmd") >> "$work/$n.actual" 2>&1 || status=$?
    else
        grep '^\$ ' "$work/$n.expected" > "$work/$n.commands"
        while IFS= read -r line; do
            printf '%s\n' "$line" >> "$work/$n.actual"
            c=${line#\$ }
            (cd "$scratch" && $timeout_cmd sh -c "$c") >> "$work/$n.actual" 2>&1 || status=$?
        done < "$work/$n.commands"
    fi
    return $status
}

# Replaces the contents of the fenced blocks listed in $work/*.replace (by marker line)
# in page $1 with their real output.
rewrite_page() {
    awk -v dir="$work" '
    replacing && /^```[[:space:]]*$/ { replacing = 0 }
    replacing { next }
    {
        print
        if (pending && $0 ~ /^```/) {
            while ((getline l < (dir "/" pending ".clean")) > 0) print l
            close(dir "/" pending ".clean")
            pending = ""; replacing = 1
            next
        }
    }
    /^<!-- make test( slow)?(: .*)? -->[[:space:]]*$/ {
        f = dir "/line" FNR ".replace"
        if ((getline id < f) > 0) pending = id
        close(f)
    }' "$1" > "$work/page.new" && cat "$work/page.new" > "$1"
}

pages=0 blocks=0 failed=0 skipped=0
for page in "$@"; do
    [ -f "$page" ] || continue
    grep -q '^<!-- make test' "$page" || continue
    rm -f "$work"/*.cmd "$work"/*.expected "$work"/*.line "$work"/*.actual "$work"/*.broken "$work"/*.replace "$work"/*.slow
    count=$(extract "$page")
    [ "$count" -gt 0 ] || continue
    pages=$((pages + 1))
    scratch="$work/scratch"
    rm -rf "$scratch" && mkdir -p "$scratch"
    for entry in "$root"/*; do ln -s "$entry" "$scratch/"; done
    i=1
    while [ "$i" -le "$count" ]; do
        if [ -f "$work/$i.slow" ] && [ "$slow" -eq 0 ]; then
            skipped=$((skipped + 1)); i=$((i + 1)); continue
        fi
        blocks=$((blocks + 1))
        where="$page:$(cat "$work/$i.line")"
        if [ -f "$work/$i.broken" ]; then
            failed=$((failed + 1)); i=$((i + 1)); continue
        fi
        run_block "$i" "$scratch"
        rc=$?
        if [ "$rc" -ne 0 ]; then
            echo "check_pages: $where: a command failed (exit status $rc); its output:"
            sed 's/^/    /' "$work/$i.actual" | head -n 20
            failed=$((failed + 1)); i=$((i + 1)); continue
        fi
        normalize < "$work/$i.expected" > "$work/$i.want"
        normalize < "$work/$i.actual" > "$work/$i.got"
        if ! matches "$work/$i.want" "$work/$i.got"; then
            failed=$((failed + 1))
            if [ "$update" -eq 1 ] && ! grep -qx '\.\.\.' "$work/$i.expected"; then
                sed -E 's/[[:space:]]+$//' "$work/$i.actual" |
                    awk '{ l[NR] = $0 } END { n = NR; while (n > 0 && l[n] == "") n--; for (i = 1; i <= n; i++) print l[i] }' > "$work/$i.clean"
                echo "$i" > "$work/line$(cat "$work/$i.line").replace"
                echo "check_pages: $where: updated with the real output"
            else
                echo "check_pages: $where: the quoted output no longer matches (- page, + program; timings masked):"
                diff -u "$work/$i.want" "$work/$i.got" | sed -n '3,$p' | head -n 40 | sed 's/^/    /'
            fi
        fi
        i=$((i + 1))
    done
    if [ "$update" -eq 1 ] && ls "$work"/line*.replace >/dev/null 2>&1; then
        rewrite_page "$page"
        rm -f "$work"/line*.replace
    fi
done

note=""
[ "$skipped" -gt 0 ] && note=" ($skipped slow ones not run: sh tests/check_pages.sh --slow)"
if [ "$failed" -eq 0 ]; then
    echo "check_pages: $blocks quoted outputs in $pages pages match their programs$note"
else
    echo "check_pages: $failed of $blocks quoted outputs in $pages pages do not match (sh tests/check_pages.sh PAGE.md to rerun one page)"
fi
[ "$failed" -eq 0 ]
