// bleu.c: corpus BLEU (Papineni et al. 2002; see bleu.h).
#include "bleu.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

// A word is a run of non-whitespace bytes: its start and length inside the sentence.
typedef struct {
    const char *start;
    int length;
} Word;

// Splits text on ASCII whitespace into *words (allocated, caller frees); returns the count.
static int split_words(const char *text, Word **words) {
    int count = 0, capacity = 16;
    *words = xmalloc(sizeof(Word) * (size_t)capacity);
    const char *p = text;
    for (;;) {
        while (*p && isspace((unsigned char)*p)) p++;
        if (!*p) break;
        const char *start = p;
        while (*p && !isspace((unsigned char)*p)) p++;
        if (count == capacity) {
            capacity *= 2;
            Word *bigger = realloc(*words, sizeof(Word) * (size_t)capacity);
            if (!bigger) die("out of memory splitting a sentence for BLEU");
            *words = bigger;
        }
        (*words)[count++] = (Word){start, (int)(p - start)};
    }
    return count;
}

// Whether the n words at a and at b are the same.
static int same_ngram(const Word *a, const Word *b, int n) {
    for (int k = 0; k < n; k++)
        if (a[k].length != b[k].length || memcmp(a[k].start, b[k].start, (size_t)a[k].length) != 0)
            return 0;
    return 1;
}

void bleu_init(BleuStats *stats) {
    memset(stats, 0, sizeof *stats);
}

// Adds one sentence's clipped n-gram matches (n = 1..4) and lengths to stats. For each
// hypothesis n-gram, in order, a match uses up one unused occurrence in the reference;
// once the reference's occurrences are used up, further copies do not count ("clipping":
// "the the the" against "the cat" matches one "the", not three). Sentences are short, so
// the plain quadratic search is fast enough and easy to check.
void bleu_add(BleuStats *stats, const char *hypothesis, const char *reference) {
    Word *hyp, *ref;
    int h = split_words(hypothesis, &hyp), r = split_words(reference, &ref);
    stats->hyp_length += h;
    stats->ref_length += r;
    char *used = xmalloc((size_t)(r > 0 ? r : 1));
    for (int n = 1; n <= BLEU_MAX_N; n++) {
        if (h < n) break;
        stats->totals[n - 1] += h - n + 1;
        memset(used, 0, (size_t)(r > 0 ? r : 1));
        for (int i = 0; i + n <= h; i++) {
            for (int j = 0; j + n <= r; j++) {
                if (!used[j] && same_ngram(hyp + i, ref + j, n)) {
                    used[j] = 1;
                    stats->matches[n - 1]++;
                    break;
                }
            }
        }
    }
    free(used);
    free(hyp);
    free(ref);
}

// BLEU = BP · exp((1/4) Σ log p_n), BP = 1 if c > r else exp(1 - r/c); 0..100.
double bleu_score(const BleuStats *stats) {
    if (stats->hyp_length == 0) return 0.0;
    double log_precision = 0.0;
    for (int n = 0; n < BLEU_MAX_N; n++) {
        // No smoothing: one empty precision makes the geometric mean 0.
        if (stats->matches[n] == 0) return 0.0;
        log_precision += log((double)stats->matches[n] / (double)stats->totals[n]);
    }
    double c = (double)stats->hyp_length, r = (double)stats->ref_length;
    double brevity = c > r ? 1.0 : exp(1.0 - r / c);
    return 100.0 * brevity * exp(log_precision / BLEU_MAX_N);
}

double bleu_corpus(const char *const *hypotheses, const char *const *references, int n) {
    BleuStats stats;
    bleu_init(&stats);
    for (int i = 0; i < n; i++) bleu_add(&stats, hypotheses[i], references[i]);
    return bleu_score(&stats);
}
