#!/bin/sh
# Checks the lesson order in the code itself: a component of lesson N (src/x.c) and a
# lesson N program (lessons/NN-*/*.c) may include only headers of lessons <= N. So a
# student at lesson 04 never meets code that needs lesson 06 to make sense.
# Prints one line per violation and exits non-zero if there is any.

# lesson of each core header; the foundation (common, rng, tensor) is lesson 0.
lesson_of() {
    case "$1" in
        common.h|rng.h|tensor.h) echo 0 ;;
        tokenizer.h) echo 1 ;;
        embedding.h) echo 2 ;;
        positional.h) echo 3 ;;
        dims.h|attention.h) echo 4 ;;
        multihead.h) echo 5 ;;
        layernorm.h|feedforward.h|dropout.h|residual.h|encoder.h) echo 6 ;;
        decoder.h|generator.h|model.h) echo 7 ;;
        loss.h|optimizer.h|dataset.h|tasks.h|bleu.h|wordlist.h|checkpoint.h|decode.h|history.h|shards.h|threads.h|train.h) echo 8 ;;
        *) echo "" ;;
    esac
}

status=0
checked=0
check_file() {  # file, its lesson number
    for header in $(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$1"); do
        h=$(basename "$header")
        level=$(lesson_of "$h")
        if [ -z "$level" ]; then
            [ -f "src/$h" ] && { echo "check_layers: $1: src/$h has no lesson in tests/check_layers.sh"; status=1; }
            continue
        fi
        checked=$((checked + 1))
        if [ "$level" -gt "$2" ]; then
            echo "check_layers: $1 (lesson $2) includes $h from lesson $level"
            status=1
        fi
    done
}

for f in src/*.c src/*.h; do
    own=$(lesson_of "$(basename "${f%.*}").h")
    if [ -z "$own" ]; then
        echo "check_layers: $f is not assigned to a lesson (add it to tests/check_layers.sh)"
        status=1
        continue
    fi
    check_file "$f" "$own"
done
for f in lessons/[0-9][0-9]-*/*.c; do
    [ -f "$f" ] || continue
    n=$(basename "$(dirname "$f")" | cut -c1-2 | sed 's/^0//')
    check_file "$f" "$n"
done
if [ "$status" -eq 0 ]; then
    echo "check_layers: every include respects the lesson order ($checked includes checked)"
fi
exit $status
