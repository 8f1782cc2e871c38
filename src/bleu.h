// bleu.h: corpus BLEU (Papineni et al. 2002), the translation score of §6.1 / Table 2.
//
//   BLEU = BP · exp( (1/4) Σ_{n=1..4} log p_n ),    BP = min(1, exp(1 - r/c))
//
// p_n is the corpus-level "modified" (clipped) n-gram precision: over all sentences, the
// number of hypothesis n-grams that also occur in the reference (each counted at most as
// often as it occurs in the reference), divided by the number of hypothesis n-grams. c is
// the total hypothesis length, r the total reference length, in tokens. Tokens are the
// whitespace-separated words of each sentence (no further tokenisation, case-sensitive).
// One reference per sentence. The result is on the 0-100 scale papers report.
//
// No smoothing: if any p_n is 0 (e.g. no 4-gram matches anywhere in the corpus) BLEU is 0,
// as in sacrebleu's default corpus BLEU and the original definition.
#ifndef BLEU_H
#define BLEU_H

#define BLEU_MAX_N 4

// Running n-gram statistics; add sentences one at a time, then ask for the score.
typedef struct {
    long matches[BLEU_MAX_N];  // clipped matching n-grams, n = 1..4 at index n-1
    long totals[BLEU_MAX_N];   // hypothesis n-grams
    long hyp_length;           // c: hypothesis words
    long ref_length;           // r: reference words
} BleuStats;

// Zeroes the statistics.
void bleu_init(BleuStats *stats);

// Adds one hypothesis/reference pair (NUL-terminated UTF-8 strings, split on whitespace).
void bleu_add(BleuStats *stats, const char *hypothesis, const char *reference);

// Corpus BLEU of everything added so far, 0..100. 0 when nothing was added.
double bleu_score(const BleuStats *stats);

// Convenience: corpus BLEU of n hypothesis/reference pairs.
double bleu_corpus(const char *const *hypotheses, const char *const *references, int n);

#endif
