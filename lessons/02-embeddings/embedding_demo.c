// embedding_demo.c: lesson 02. Looks up the embeddings of "je suis étudiant" (§3.4),
// before and after the ×√d_model scaling, and shows why the scale is there: the
// positional encodings of lesson 03 that get added have entries in [-1, 1].
//
//   build/embedding_demo                         8-dim vectors, up to 2000 BPE merges
//   build/embedding_demo --d-model 16 --sentence "i am a student"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "embedding.h"
#include "rng.h"
#include "tokenizer.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: embedding_demo [options]\n"
            "Trains a BPE vocabulary on the corpus (lesson 01), makes a random embedding\n"
            "table (V, d_model) and looks up a sentence's tokens, scaled by sqrt(d_model)\n"
            "as in the paper, section 3.4.\n"
            "  --sentence S   the sentence (default \"je suis étudiant\")\n"
            "  --d-model D    embedding width, even, 2..64 (default 8)\n"
            "  --merges N     BPE merges to learn (default 2000)\n"
            "  --seed N       seed for the random table (default 1)\n"
            "  --corpus PATH  text to learn merges from (default data/fr-en/train.tsv)\n"
            "  --help         this text\n");
}

static long parse_long(const char *opt, const char *value, long lo, long hi) {
    char *end = NULL;
    long v = value ? strtol(value, &end, 10) : 0;
    if (!value || *end || v < lo || v > hi)
        die("embedding_demo: %s expects an integer in [%ld, %ld], got '%s'", opt, lo, hi,
            value ? value : "(nothing)");
    return v;
}

static double norm(const float *x, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += (double)x[i] * x[i];
    return sqrt(s);
}

static void print_vector(const char *label, const float *x, int n) {
    printf("    %-9s [", label);
    for (int j = 0; j < n && j < 8; j++) printf("%s%6.2f", j ? " " : "", (double)x[j]);
    printf("%s]  norm %5.2f\n", n > 8 ? " ..." : "", norm(x, n));
}

// Mean norm of `rows` random table rows of width d, initialised N(0, 1/d) as the model
// does, before and after the lookup's ×√d.
static void norms_for_width(Rng *rng, int d, double *raw, double *scaled) {
    enum { ROWS = 200 };
    float *table = xmalloc(sizeof(float) * ROWS * d), *out = xmalloc(sizeof(float) * ROWS * d);
    int *ids = xmalloc(sizeof(int) * ROWS);
    for (long k = 0; k < (long)ROWS * d; k++) table[k] = rng_normal(rng) / sqrtf((float)d);
    for (int i = 0; i < ROWS; i++) ids[i] = i;
    embedding_forward(out, ids, table, ROWS, ROWS, d);
    *raw = *scaled = 0;
    for (int i = 0; i < ROWS; i++) {
        *raw += norm(table + (long)i * d, d) / ROWS;
        *scaled += norm(out + (long)i * d, d) / ROWS;
    }
    free(table), free(out), free(ids);
}

int main(int argc, char **argv) {
    const char *sentence = "je suis étudiant", *corpus = "data/fr-en/train.tsv";
    int d_model = 8, n_merges = 2000;
    long seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage(stdout), 0;
        else if (!strcmp(a, "--sentence") && v) sentence = v, i++;
        else if (!strcmp(a, "--corpus") && v) corpus = v, i++;
        else if (!strcmp(a, "--d-model")) d_model = (int)parse_long(a, v, 2, 64), i++;
        else if (!strcmp(a, "--merges")) n_merges = (int)parse_long(a, v, 0, 20000), i++;
        else if (!strcmp(a, "--seed")) seed = parse_long(a, v, 0, 1L << 30), i++;
        else {
            fprintf(stderr, "embedding_demo: unknown option '%s' (try --help)\n", a);
            return 2;
        }
    }
    if (d_model % 2) die("embedding_demo: --d-model must be even (sin/cos pairs in lesson 03), got %d", d_model);

    // 1. Tokens (lesson 01).
    ErrorMessage err;
    size_t len = 0;
    char *text = read_whole_file(corpus, &len, &err);
    if (!text) die("%s (run from the repository root, or pass --corpus)", err.text);
    Tokenizer tok = {0};
    tokenizer_train(&tok, text, len, n_merges);
    free(text);
    int V = tokenizer_vocab_size(&tok);
    size_t slen = strlen(sentence);
    int *ids = xmalloc(sizeof(int) * (slen + 1));
    int n = tokenizer_encode(&tok, sentence, slen, ids, (int)slen);
    if (n == 0) die("embedding_demo: the sentence is empty");
    printf("\"%s\" -> %d tokens (vocabulary V = %d: 3 specials, 256 bytes, %d merges)\n\n",
           sentence, n, V, tok.n_merges);

    // 2. A random table, the way the model initialises it: N(0, 1/d_model) entries, so
    //    a row has norm about 1 whatever d_model is.
    Rng rng;
    rng_seed(&rng, (uint64_t)seed, 2);
    float *table = xmalloc(sizeof(float) * V * d_model);
    for (long k = 0; k < (long)V * d_model; k++) table[k] = rng_normal(&rng) / sqrtf((float)d_model);

    // 3. The lookup ×√d_model (§3.4).
    float *out = xmalloc(sizeof(float) * n * d_model);
    embedding_forward(out, ids, table, n, V, d_model);
    printf("table (V=%d, d_model=%d) ~ N(0, 1/d_model); lookup multiplies by sqrt(%d) = %.3f\n",
           V, d_model, d_model, sqrt((double)d_model));
    char label[TOKEN_STRING_MAX];
    for (int i = 0; i < n; i++) {
        printf("  token %d: id %3d  [%s]\n", i, ids[i], tokenizer_token_string(&tok, ids[i], label, sizeof label));
        print_vector("table row", table + (long)ids[i] * d_model, d_model);
        print_vector("x sqrt(d)", out + (long)i * d_model, d_model);
    }

    // 4. Why scale: the PE added next (lesson 03) has d_model/2 (sin, cos) pairs, each
    //    pair with sin² + cos² = 1, so |PE(pos)| = sqrt(d_model/2) at every position.
    printf("\nThe positional encoding added next has entries in [-1, 1] and norm\n"
           "sqrt(d_model/2) at every position. Mean norms over 200 random rows:\n\n");
    printf("  d_model   table row   after x sqrt(d)   |PE(pos)| = sqrt(d/2)\n");
    const int widths[] = {8, 64, 512};
    for (int w = 0; w < 3; w++) {
        double raw, scaled;
        norms_for_width(&rng, widths[w], &raw, &scaled);
        printf("  %7d   %9.2f   %15.2f   %21.2f\n", widths[w], raw, scaled, sqrt(widths[w] / 2.0));
    }
    printf("\nWithout the scale a token's vector (norm ~1) would be small next to its\n"
           "position's (norm 16 at d_model=512): the sum would say mostly \"where\", little\n"
           "\"what\". With it, both have similar size. The same table, unscaled, is also the\n"
           "output projection (logits = x . table^T, lesson 07): weight tying, section 3.4.\n");

    free(out), free(table), free(ids);
    tokenizer_free(&tok);
    return 0;
}
