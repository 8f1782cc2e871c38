// tasks.h: synthetic sequence-to-sequence tasks with a known right answer.
//
// Before the French→English corpus, a Transformer is tried on tasks whose correct
// attention pattern we know in advance:
//   copy     "cadbe" -> "cadbe"   cross-attention looks along the diagonal
//   reverse  "cadbe" -> "ebdac"   ... along the anti-diagonal
//   sort     "cadbe" -> "abcde"   ... at where each letter sits in the source
// Sequences are lower-case letters 'a', 'b', ... with NO spaces, so a byte-level
// tokenizer with zero merges gives one token per letter.
//
// Held-out split: a source string is "held out" (test only) when the 32-bit FNV-1a
// hash of its bytes is 0 mod 10 (about 10% of all strings). The rule depends only on
// the source text, so a test sequence can never be drawn for training, whatever the
// seed, the task or the lengths; `task_example_split` draws until the split matches.
#ifndef TASKS_H
#define TASKS_H

#include <stdbool.h>
#include <stdint.h>

#include "common.h"
#include "rng.h"

typedef enum { TASK_COPY, TASK_REVERSE, TASK_SORT } TaskKind;
typedef enum { SPLIT_TRAIN, SPLIT_TEST } TaskSplit;

enum {
    TASK_DEFAULT_ALPHABET = 10,  // 'a'..'j'
    TASK_DEFAULT_MIN_LEN = 1,
    TASK_DEFAULT_MAX_LEN = 12,
    TASK_MAX_ALPHABET = 26,
    TASK_MAX_LEN = 256,          // src and tgt buffers need max_len + 1 bytes
};

// "copy", "reverse" or "sort" -> *kind. Returns false for any other name.
bool task_from_name(const char *name, TaskKind *kind);
// The name of kind ("copy", "reverse", "sort").
const char *task_name(TaskKind kind);

// Checks user-supplied parameters: 1 <= min_len <= max_len <= TASK_MAX_LEN and
// 1 <= alphabet <= TASK_MAX_ALPHABET. Returns false with a message otherwise.
bool task_check_params(int min_len, int max_len, int alphabet, ErrorMessage *err);

// The right answer: tgt = copy / reverse / sort (ascending) of the NUL-terminated src.
// tgt must hold strlen(src) + 1 bytes and must not overlap src.
void task_solve(TaskKind kind, const char *src, char *tgt);

// One random example: a length uniform in [min_len, max_len], letters uniform over the
// first `alphabet` letters, drawn from rng; tgt = task_solve(kind, src). src and tgt
// hold max_len + 1 bytes. Parameters must pass task_check_params (asserted).
void task_example(TaskKind kind, Rng *rng, int min_len, int max_len, int alphabet,
                  char *src, char *tgt);

// The held-out rule: FNV-1a-32(src) % 10 == 0. task_hash exposes the hash for tests.
uint32_t task_hash(const char *src);
bool task_is_held_out(const char *src);

// Like task_example, but redraws until the source is in `split` (held out for
// SPLIT_TEST, not held out for SPLIT_TRAIN). Returns false (src, tgt empty) if 10000
// draws found none, which only happens for tiny spaces such as one letter of length 1.
bool task_example_split(TaskKind kind, TaskSplit split, Rng *rng, int min_len, int max_len,
                        int alphabet, char *src, char *tgt);

#endif
