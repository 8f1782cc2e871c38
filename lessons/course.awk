# course.awk: reads and rewrites the exercise regions of a C file (POSIX awk).
#
# An exercise region in src/ looks like this (indentation is free):
#
#     // EXERCISE 03 sinusoid-table: one line saying what to write
#     // TODO: what to compute, the shapes and the paper's equation
#     // TODO: (as many TODO lines as needed)
#     // STUB: code that keeps the skeleton compiling, e.g. zeroing the outputs
#     // SOLUTION
#     ... the reference code ...
#     // END EXERCISE
#
# The student's skeleton keeps the EXERCISE and TODO lines, puts the STUB code (without
# its "// STUB: " prefix) where the reference was, and keeps the END line, so the
# region can later be found again in the student's own file.
#
# Modes (-v mode=...):
#   list       prints "lesson<TAB>name<TAB>line<TAB>title" for each region of FILE
#   skeleton   prints FILE with the regions of lesson L (-v lesson=NN) stubbed; with
#              -v only=NAME just that one region (the others keep the reference)
#   solution   prints FILE with the same regions as the student sees them once solved:
#              the EXERCISE and TODO lines, the reference code, the END line
#   region     prints region NAME of FILE as it is (for splicing), EXERCISE..END lines
#   splice     prints FILE (the student's) with region NAME replaced by the lines in
#              -v with=FILE2 (a region as printed by `region` or `skeleton`)
#   body       prints the student's code between the header and END of region NAME
# A malformed region (no SOLUTION line, no END, nested EXERCISE) is an error naming the
# file and line; exit status 2.

function fail(msg) {
    printf "%s:%d: %s\n", FILENAME, FNR, msg > "/dev/stderr"
    failed = 1
    exit 2
}

# Parses "// EXERCISE NN name: title" into ex_lesson, ex_name, ex_title.
function parse_header(line,    rest) {
    rest = line
    sub(/^[ \t]*\/\/ EXERCISE[ \t]+/, "", rest)
    ex_lesson = rest; sub(/[ \t].*/, "", ex_lesson)
    rest = substr(rest, length(ex_lesson) + 1); sub(/^[ \t]+/, "", rest)
    ex_name = rest; sub(/:.*/, "", ex_name); sub(/[ \t]+$/, "", ex_name)
    ex_title = rest; sub(/^[^:]*:[ \t]*/, "", ex_title)
    if (ex_lesson !~ /^[0-9][0-9]$/ || ex_name !~ /^[a-z0-9][a-z0-9-]*$/)
        fail("expected \"// EXERCISE NN name: title\" (NN two digits, name in a-z0-9-)")
}

BEGIN { state = "code"; failed = 0 }

# Reading the optional replacement region (splice mode).
FNR == 1 && mode == "splice" && with != "" && !loaded {
    n_with = 0
    while ((getline l < with) > 0) with_lines[++n_with] = l
    close(with); loaded = 1
}

{
    line = $0
    is_begin = (line ~ /^[ \t]*\/\/ EXERCISE[ \t]/)
    is_end = (line ~ /^[ \t]*\/\/ END EXERCISE[ \t]*$/)
    is_solution = (line ~ /^[ \t]*\/\/ SOLUTION[ \t]*$/)
    is_stub = (line ~ /^[ \t]*\/\/ STUB:/)

    if (state == "code") {
        if (is_end) fail("END EXERCISE without an EXERCISE line above it")
        if (is_solution) fail("SOLUTION outside an exercise region")
        if (!is_begin) { if (mode == "skeleton" || mode == "solution" || mode == "splice") print line; next }
        parse_header(line)
        if (ex_name in seen) fail("a second exercise named " ex_name " in this file")
        seen[ex_name] = 1
        start = FNR; n_stub = 0; n_region = 0
        region[++n_region] = line
        state = "header"
        mine = ((mode == "skeleton" || mode == "solution") && ex_lesson == lesson && (only == "" || only == ex_name))
        if (mode == "list") printf "%s\t%s\t%d\t%s\n", ex_lesson, ex_name, FNR, ex_title
        if (mode == "skeleton" || mode == "solution") print line
        next
    }
    if (is_begin) fail("an EXERCISE region starts inside the one from line " start)
    region[++n_region] = line
    if (state == "header") {
        # The student's own file has no SOLUTION line: the header ends at the first
        # line that is not a TODO or STUB comment.
        if (is_stub) {
            stub = line; sub(/\/\/ STUB:[ \t]?/, "", stub); stubs[++n_stub] = stub
            if ((mode == "skeleton" || mode == "solution") && !mine) print line
            next
        }
        if (is_solution) {
            state = "body"
            if ((mode == "skeleton" || mode == "solution") && !mine) print line
            next
        }
        if (line ~ /^[ \t]*\/\/ TODO/ && !is_end) {
            if (mode == "skeleton" || mode == "solution") print line
            next
        }
        # Any other line ends the header: this is a student's file (no SOLUTION).
        state = "body"
    }
    if (state == "body") {
        if (!is_end) {
            if ((mode == "skeleton" && !mine) || mode == "solution") print line
            if (mode == "body" && ex_name == name && line !~ /^[ \t]*\/\/ TODO/) print line
            next
        }
        # END EXERCISE: emit what the mode asks for.
        if (mode == "solution") print line
        else if (mode == "skeleton") {
            if (mine) for (i = 1; i <= n_stub; i++) print stubs[i]
            print line
        } else if (mode == "region" && ex_name == name) {
            for (i = 1; i <= n_region; i++) print region[i]
            found = 1
        } else if (mode == "splice") {
            if (ex_name == name) { for (i = 1; i <= n_with; i++) print with_lines[i]; found = 1 }
            else for (i = 1; i <= n_region; i++) print region[i]
        }
        if (mode == "body" && ex_name == name) found = 1
        state = "code"
        next
    }
}

# In splice mode, lines outside regions are printed above; region lines are held in
# `region` until END and then printed (or replaced). The header/body branches above
# only print in skeleton mode, so splice prints each region once, at its END.
END {
    if (failed) exit 2
    if (state != "code") { FNR = start; fail("exercise " ex_name " has no END EXERCISE line") }
    if ((mode == "region" || mode == "splice" || mode == "body") && !found) {
        printf "%s: no exercise named %s\n", FILENAME, name > "/dev/stderr"
        exit 3
    }
}
