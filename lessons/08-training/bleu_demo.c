// bleu_demo.c: lesson 08, part 6. Corpus BLEU (Papineni et al. 2002), the score of §6.1
// and Table 2, taken apart on sentences small enough to count by hand:
//   1. the clipped n-gram precisions p1..p4, the brevity penalty, the score;
//   2. clipping: a hypothesis cannot score by repeating a reference word;
//   3. a corpus: 1000 right translations and one with a dropped word still score ~99.9.
//
//   build/bleu_demo [--corpus data/fr-en/test.tsv]
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bleu.h"
#include "common.h"

// Prints the statistics of one hypothesis/reference pair and its BLEU, term by term.
static void show_pair(const char *hypothesis, const char *reference) {
    BleuStats s;
    bleu_init(&s);
    bleu_add(&s, hypothesis, reference);
    printf("   reference   \"%s\"\n   hypothesis  \"%s\"\n", reference, hypothesis);
    double log_sum = 0;
    for (int n = 0; n < BLEU_MAX_N; n++) {
        double p = s.totals[n] ? (double)s.matches[n] / (double)s.totals[n] : 0;
        printf("   p%d = %ld/%ld = %.4f\n", n + 1, s.matches[n], s.totals[n], p);
        log_sum += p > 0 ? log(p) : -INFINITY;
    }
    double bp = s.hyp_length < s.ref_length ? exp(1.0 - (double)s.ref_length / (double)s.hyp_length) : 1.0;
    printf("   c = %ld words, r = %ld words: BP = %s = %.4f\n", s.hyp_length, s.ref_length,
           s.hyp_length < s.ref_length ? "exp(1 - r/c)" : "1 (c >= r)", bp);
    printf("   BLEU = BP · (p1·p2·p3·p4)^(1/4) = %.2f   (bleu_score: %.2f)\n\n",
           100.0 * bp * exp(log_sum / BLEU_MAX_N), bleu_score(&s));
}

// Part 3: the English side of a tab-separated corpus as references; the hypotheses are
// the references themselves except one, which loses a word.
static void show_corpus(const char *path) {
    ErrorMessage err;
    size_t length;
    char *text = read_whole_file(path, &length, &err);
    if (!text) die("%s", err.text);
    int n = 0, cap = 1024;
    char **refs = xmalloc(sizeof(char *) * (size_t)cap);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char *tab = strchr(line, '\t');
        if (!tab) continue;
        if (n == cap) {
            cap *= 2;
            char **bigger = realloc(refs, sizeof(char *) * (size_t)cap);
            if (!bigger) die("bleu_demo: out of memory");
            refs = bigger;
        }
        refs[n++] = tab + 1;
    }
    const char **hyps = xmalloc(sizeof(char *) * (size_t)(n + 1));
    for (int i = 0; i < n; i++) hyps[i] = refs[i];
    const char *dropped_ref = "the red car is in the garden", *dropped_hyp = "the car is in the garden";
    hyps[n] = dropped_hyp;
    const char **all_refs = xmalloc(sizeof(char *) * (size_t)(n + 1));
    for (int i = 0; i < n; i++) all_refs[i] = refs[i];
    all_refs[n] = dropped_ref;
    printf("== 3. A corpus: the %d English sentences of %s as their own translations,\n"
           "   then one more: \"%s\" for \"%s\"\n", n, path, dropped_hyp, dropped_ref);
    printf("   corpus BLEU of the %d right ones:        %6.2f\n", n,
           bleu_corpus((const char *const *)hyps, (const char *const *)all_refs, n));
    printf("   with the dropped-word sentence added:      %6.2f\n",
           bleu_corpus((const char *const *)hyps, (const char *const *)all_refs, n + 1));
    printf("   BLEU is a corpus statistic: one dropped adjective in %d sentences barely moves it.\n"
           "   Read sentences as well as the score.\n", n + 1);
    free(all_refs);
    free(hyps);
    free(refs);
    free(text);
}

int main(int argc, char **argv) {
    const char *corpus = "data/fr-en/test.tsv";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: bleu_demo [--corpus FILE.tsv]\n\nLesson 08, part 6: corpus BLEU taken apart: n-gram precisions,\n"
                   "clipping, the brevity penalty, and a corpus (default data/fr-en/test.tsv).\n");
            return 0;
        }
        if (i + 1 < argc && strcmp(argv[i], "--corpus") == 0) corpus = argv[++i];
        else die("bleu_demo: unexpected argument '%s' (see --help)", argv[i]);
    }
    printf("== 1. One sentence with a word dropped\n");
    show_pair("the car is in the garden", "the red car is in the garden");
    printf("== 2. Clipping: each reference n-gram can be matched once\n");
    show_pair("the the the the the the", "the cat is on the mat");  // unclipped p1 would be 6/6
    show_corpus(corpus);
    return 0;
}
