// beam_demo.c: lesson 08, part 5. Greedy and beam search (§6.1) on next-token
// distributions written by hand, so every number can be checked on paper. The search
// code (decode.h) only asks a Scorer "log p(next token | prefix)"; here the Scorer is a
// table, in the model it is the decoder (decode_beam, `transformer translate`).
//   1. greedy takes the best token at every step and can miss the best sentence;
//   2. the length penalty lp = ((5 + |Y|)/6)^α decides between a short and a long output.
//
//   build/beam_demo
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "decode.h"
#include "tokenizer.h"

// The vocabulary of the made-up distributions: the three specials, then two words.
enum { WORD_A = 3, WORD_B = 4, V = 5, MAX_TOKENS = 6 };

// One next-token distribution: the prefix (words after <s>, as a string of 'a'/'b') it
// follows, and p(</s>), p(a), p(b). A prefix not in the table ends: p(</s>) = 0.9.
typedef struct {
    const char *prefix;
    double p_end, p_a, p_b;
} NextTokens;

typedef struct {
    const char *title;
    const NextTokens *table;
    int n;
} Scenario;

// Scenario 1: "a" looks best at step 1, but everything after it is uncertain.
static const NextTokens GREEDY_TRAP[] = {
    {"", 0.10, 0.50, 0.40},
    {"a", 0.34, 0.33, 0.33},
    {"b", 0.90, 0.05, 0.05},
};
// Scenario 2 (the test's): stopping at once is most probable; "a </s>" is a close second.
static const NextTokens LENGTH_DECIDES[] = {
    {"", 0.36, 0.34, 0.30},
    {"a", 0.98, 0.01, 0.01},
    {"b", 0.50, 0.25, 0.25},
};

// The Scorer callback: for each of the k prefix rows (<s> w1 .. w(t-1)), the log of the
// scenario's distribution after those words. log p of the specials <pad>, <s> is -inf.
static void table_next_log_probs(void *ctx, const int *prefixes, int k, int t, float *log_probs) {
    const Scenario *sc = ctx;
    for (int r = 0; r < k; r++) {
        char words[DECODE_MAX_TOKENS + 1];
        int n = 0;
        for (int i = 1; i < t; i++) words[n++] = prefixes[r * t + i] == WORD_A ? 'a' : 'b';
        words[n] = '\0';
        NextTokens next = {"", 0.90, 0.05, 0.05};
        for (int i = 0; i < sc->n; i++)
            if (strcmp(sc->table[i].prefix, words) == 0) next = sc->table[i];
        float *row = log_probs + (long)r * V;
        row[TOKEN_PAD] = row[TOKEN_BOS] = -INFINITY;
        row[TOKEN_EOS] = (float)log(next.p_end);
        row[WORD_A] = (float)log(next.p_a);
        row[WORD_B] = (float)log(next.p_b);
    }
}

// One hypothesis as words, e.g. "a b </s>", its log_prob, lp and score.
static void print_hypothesis(const char *label, const Hypothesis *h, float alpha) {
    char words[64] = "";
    for (int i = 0; i < h->length; i++) strcat(words, h->tokens[i] == WORD_A ? "a " : "b ");
    strcat(words, h->finished ? "</s>" : "(cut)");
    int width = strstr(label, "α") ? 23 : 22;  // "α" is 2 bytes, 1 column
    printf("   %-*s %-12s log p %8.4f  = p %.4f   lp(%d) %.4f   score %8.4f\n",
           width, label, words, (double)h->log_prob, exp((double)h->log_prob), h->length + (h->finished ? 1 : 0),
           (double)length_penalty(h->length + (h->finished ? 1 : 0), alpha), (double)h->score);
}

// Greedy, then beam 4 with α = 0 and α = 0.6, on one scenario.
static void run_scenario(const Scenario *sc) {
    printf("== %s\n", sc->title);
    for (int i = 0; i < sc->n; i++)
        printf("   after <s> %-2s p(</s>) %.2f  p(a) %.2f  p(b) %.2f\n", sc->table[i].prefix,
               sc->table[i].p_end, sc->table[i].p_a, sc->table[i].p_b);
    printf("   after anything else: p(</s>) 0.90  p(a) 0.05  p(b) 0.05\n");
    Scorer scorer = {V, BEAM_MAX, table_next_log_probs, (void *)sc};
    Hypothesis greedy, beam[4];
    const float alphas[2] = {0.0f, LENGTH_PENALTY_DEFAULT};
    greedy_search(&greedy, &scorer, MAX_TOKENS, 0.0f);
    print_hypothesis("greedy", &greedy, 0.0f);
    for (int a = 0; a < 2; a++) {
        int n = beam_search(beam, 4, &scorer, 4, alphas[a], MAX_TOKENS);
        for (int i = 0; i < n; i++) {
            char label[32];
            snprintf(label, sizeof label, "beam 4, α %.1f, #%d", (double)alphas[a], i + 1);
            print_hypothesis(label, &beam[i], alphas[a]);
        }
    }
    printf("\n");
}

int main(int argc, char **argv) {
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: beam_demo\n\nLesson 08, part 5: greedy search and beam search with the length\n"
               "penalty of §6.1 on next-token distributions written by hand.\n");
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "beam_demo: unexpected argument '%s' (see --help)\n", argv[1]);
        return 1;
    }
    const Scenario scenarios[2] = {
        {"1. Greedy misses the most probable output", GREEDY_TRAP, 3},
        {"2. The length penalty decides between stopping now and one word more", LENGTH_DECIDES, 3},
    };
    for (int i = 0; i < 2; i++) run_scenario(&scenarios[i]);
    printf("lp(|Y|) = ((5 + |Y|)/6)^α counts </s>; score = log p / lp. A log p is negative and\n"
           "only falls as Y grows, so dividing by a growing lp favours longer outputs.\n");
    return 0;
}
