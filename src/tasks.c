// tasks.c: copy / reverse / sort examples and the held-out split rule (see tasks.h).
#include "tasks.h"

#include <assert.h>
#include <string.h>

static const char *const TASK_NAMES[] = {"copy", "reverse", "sort"};

bool task_from_name(const char *name, TaskKind *kind) {
    for (int k = 0; k < 3; k++)
        if (strcmp(name, TASK_NAMES[k]) == 0) {
            *kind = (TaskKind)k;
            return true;
        }
    return false;
}

const char *task_name(TaskKind kind) {
    assert(kind >= TASK_COPY && kind <= TASK_SORT);
    return TASK_NAMES[kind];
}

bool task_check_params(int min_len, int max_len, int alphabet, ErrorMessage *err) {
    if (min_len < 1 || max_len < min_len || max_len > TASK_MAX_LEN)
        return error_set(err, "task lengths must satisfy 1 <= min (%d) <= max (%d) <= %d",
                         min_len, max_len, TASK_MAX_LEN);
    if (alphabet < 1 || alphabet > TASK_MAX_ALPHABET)
        return error_set(err, "task alphabet size must be in [1, %d], got %d", TASK_MAX_ALPHABET,
                         alphabet);
    return true;
}

void task_solve(TaskKind kind, const char *src, char *tgt) {
    size_t n = strlen(src);
    switch (kind) {
    case TASK_COPY: memcpy(tgt, src, n); break;
    case TASK_REVERSE:
        for (size_t i = 0; i < n; i++) tgt[i] = src[n - 1 - i];
        break;
    case TASK_SORT: {
        // Counting sort: the letters are few, and it is obviously right.
        size_t count[256] = {0}, out = 0;
        for (size_t i = 0; i < n; i++) count[(unsigned char)src[i]]++;
        for (int c = 0; c < 256; c++)
            for (size_t r = 0; r < count[c]; r++) tgt[out++] = (char)c;
        break;
    }
    }
    tgt[n] = '\0';
}

void task_example(TaskKind kind, Rng *rng, int min_len, int max_len, int alphabet,
                  char *src, char *tgt) {
    assert(task_check_params(min_len, max_len, alphabet, NULL));
    int len = min_len + (int)rng_below(rng, (uint32_t)(max_len - min_len + 1));
    for (int i = 0; i < len; i++) src[i] = (char)('a' + rng_below(rng, (uint32_t)alphabet));
    src[len] = '\0';
    task_solve(kind, src, tgt);
}

// FNV-1a, 32 bits: offset basis 2166136261, prime 16777619. Fixed forever: changing it
// would move sequences between train and test of models already trained.
uint32_t task_hash(const char *src) {
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)src; *p; p++) h = (h ^ *p) * 16777619u;
    return h;
}

bool task_is_held_out(const char *src) { return task_hash(src) % 10u == 0u; }

bool task_example_split(TaskKind kind, TaskSplit split, Rng *rng, int min_len, int max_len,
                        int alphabet, char *src, char *tgt) {
    for (int attempt = 0; attempt < 10000; attempt++) {
        task_example(kind, rng, min_len, max_len, alphabet, src, tgt);
        if (task_is_held_out(src) == (split == SPLIT_TEST)) return true;
    }
    src[0] = tgt[0] = '\0';
    return false;
}
