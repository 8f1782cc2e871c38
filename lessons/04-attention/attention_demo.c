// attention_demo.c: lesson 04. Scaled dot-product attention (§3.2.1, Eq. 1) on a
// sentence whose query and key vectors are chosen by hand, so every number can be
// checked with pencil and paper; then the two masks; then (--scaling) what attention
// costs as the sequence gets longer.
//
//   build/attention_demo              the worked example
//   build/attention_demo --scaling    time and memory for T = 64, 128, ..., 2048
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attention.h"
#include "common.h"
#include "rng.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: attention_demo [--scaling [--max-len N]] [--help]\n"
            "Shows scaled dot-product attention, softmax(Q Kᵀ / √d_k) V (paper §3.2.1, Eq. 1),\n"
            "on a 6-word sentence with hand-chosen vectors: the scores, the weights as a\n"
            "heatmap, and what the causal and padding masks do to them.\n"
            "  --scaling     instead, time one attention head (d_k = 64) for sequence\n"
            "                lengths 64, 128, ... and show the cost growing ~4x per doubling\n"
            "  --max-len N   longest sequence for --scaling (default 2048, at most 8192)\n"
            "  --help        this text\n");
}

// ---- the worked example ------------------------------------------------------------

enum { T = 6, D = 4 };  // six words, d_k = 4 features

// Feature columns, the same for queries and keys: a word's KEY says what it is, its
// QUERY says what it is looking for. A score q·k is high when they match.
static const char *const FEATURES[D] = {"noun", "verb", "prep", "det"};
static const char *const WORDS[T] = {"the", "cat", "sat", "on", "the", "mat"};

static const float KEYS[T][D] = {
    {0, 0, 0, 1},  // the: a determiner
    {1, 0, 0, 0},  // cat: a noun
    {0, 1, 0, 0},  // sat: a verb
    {0, 0, 1, 0},  // on:  a preposition
    {0, 0, 0, 1},  // the
    {1, 0, 0, 0},  // mat: a noun
};
static const float QUERIES[T][D] = {
    {4, 0, 0, 0},  // the looks for the noun it belongs to
    {0, 4, 0, 0},  // cat looks for its verb
    {3, 0, 3, 0},  // sat looks for who sat (a noun) and where (a preposition)
    {4, 0, 0, 0},  // on looks for its object, a noun
    {4, 0, 0, 0},  // the
    {0, 0, 4, 0},  // mat looks for the preposition that introduces it
};

static void print_vectors(const char *title, const float v[T][D]) {
    printf("%s\n        ", title);
    for (int c = 0; c < D; c++) printf("%6s", FEATURES[c]);
    printf("\n");
    for (int t = 0; t < T; t++) {
        printf("  %5s ", WORDS[t]);
        for (int c = 0; c < D; c++) printf("%6.0f", (double)v[t][c]);
        printf("\n");
    }
}

// Prints a (T,T) matrix of numbers with the words on both axes; -inf as "-inf".
static void print_matrix(const float *m) {
    printf("        ");
    for (int j = 0; j < T; j++) printf("%7s", WORDS[j]);
    printf("   <- keys\n");
    for (int i = 0; i < T; i++) {
        printf("  %5s ", WORDS[i]);
        for (int j = 0; j < T; j++) {
            float x = m[i * T + j];
            if (isinf(x)) printf("%7s", "-inf");
            else printf("%7.2f", (double)x);
        }
        printf("\n");
    }
}

static void worked_example(void) {
    float q[T * D], k[T * D], v[T * D], out[T * D], w[T * T];
    memcpy(q, QUERIES, sizeof q);
    memcpy(k, KEYS, sizeof k);
    memcpy(v, KEYS, sizeof v);  // values: let each word pass on its own features

    printf("Scaled dot-product attention, §3.2.1 Eq. (1):  softmax(Q Kᵀ / √d_k) V\n");
    printf("Sentence: the cat sat on the mat      (T = %d words, d_k = %d)\n\n", T, D);
    print_vectors("Keys K (what each word is; also used as the values V):", KEYS);
    printf("\n");
    print_vectors("Queries Q (what each word looks for):", QUERIES);

    // 1. The scores, computed here directly from the definition.
    float scores[T * T];
    for (int i = 0; i < T; i++)
        for (int j = 0; j < T; j++) {
            float dot = 0;
            for (int c = 0; c < D; c++) dot += q[i * D + c] * k[j * D + c];
            scores[i * T + j] = dot / sqrtf((float)D);
        }
    printf("\n1. Scores Q Kᵀ / √d_k  (√d_k = %.0f). Row = query, column = key:\n", sqrt((double)D));
    print_matrix(scores);

    // 2. No mask: every word may look at every word (encoder self-attention).
    // One sentence (B = 1), one head (h = 1), T queries over the same T keys.
    const AttnDims dims = {.B = 1, .h = 1, .Tq = T, .Tk = T, .d_k = D};
    const AttnInputs qkv = {.q = q, .k = k, .v = v};
    attention_forward(out, w, qkv, ATTN_NO_MASK, dims);
    printf("\n2. Weights = softmax of each row (no mask, as in the encoder). Each row sums to 1:\n");
    attention_print(stdout, w, T, T, WORDS, WORDS);
    printf("   Note: without positions, \"the\" cannot tell its own noun from the other one:\n"
           "   attention by itself is blind to word order (lesson 03 adds the positions).\n");
    printf("\n   Output for \"sat\" = Σ_j weight_j · V_j = [");
    for (int c = 0; c < D; c++) printf("%s%s %.3f", c ? ", " : "", FEATURES[c], (double)out[2 * D + c]);
    printf("]\n   (mostly noun and prep: the words it attended to)\n");

    // 3. Causal mask: query i may not see keys j > i (decoder self-attention, §3.2.3).
    printf("\n3. Causal mask (decoder, §3.2.3): query i sees keys j <= i only. Mask added to the scores:\n");
    float mask[T * T];
    for (int i = 0; i < T; i++)
        for (int j = 0; j < T; j++) mask[i * T + j] = j > i ? -INFINITY : 0.0f;
    print_matrix(mask);
    attention_forward(out, w, qkv, (AttnMask){.causal = true}, dims);
    printf("   Weights with the causal mask (the upper triangle is exactly 0):\n");
    attention_print(stdout, w, T, T, WORDS, WORDS);
    printf("   \"cat\" wanted the verb \"sat\", but it lies in the future: with nothing it\n"
           "   wants in view, its weights spread evenly over what it may see.\n");

    // 4. Padding: the same six slots hold a 4-word sentence and two pads.
    const char *padded[T] = {"the", "cat", "sat", "on", "<pad>", "<pad>"};
    int length = 4;
    attention_forward(out, w, qkv, (AttnMask){.key_lengths = &length}, dims);
    printf("\n4. Padding mask: a batch pads \"the cat sat on\" to 6 slots; key_lengths = 4\n"
           "   hides keys 4 and 5 from every query:\n");
    attention_print(stdout, w, T, T, padded, padded);
    printf("   Pad rows still get weights (pads may look at real words); the model ignores\n"
           "   those rows later, as the loss skips pad targets.\n");
    printf("\nNext: build/attention_demo --scaling (what attention costs as T grows).\n");
}

// ---- scaling ---------------------------------------------------------------------------

// Fills x with standard normal samples.
static void fill_normal(float *x, long n, Rng *rng) {
    for (long i = 0; i < n; i++) x[i] = rng_normal(rng);
}

// Times one head (B = h = 1, d_k = 64) at T = 64, 128, ..., max_len: forward alone, and
// forward + backward. The (T,T) weight matrix is why both grow ~4x per doubling.
static void scaling(int max_len) {
    enum { DK = 64 };
    printf("One attention head, d_k = %d, self-attention over T positions (float32).\n", DK);
    printf("The weights are a (T,T) matrix: memory and time grow with T², ~4x per doubling.\n\n");
    printf("%6s  %12s  %12s  %12s  %6s  %14s  %6s\n", "T", "weights (T²)", "Q,K,V,out",
           "forward", "ratio", "fwd+backward", "ratio");
    Rng rng;
    rng_seed(&rng, 2017, 0);
    double prev_fwd = 0, prev_both = 0;
    for (int t = 64; t <= max_len; t *= 2) {
        long n = (long)t * DK, nw = (long)t * t;
        float *q = xmalloc(sizeof(float) * (size_t)n), *k = xmalloc(sizeof(float) * (size_t)n);
        float *v = xmalloc(sizeof(float) * (size_t)n), *dout = xmalloc(sizeof(float) * (size_t)n);
        float *out = xmalloc(sizeof(float) * (size_t)n), *w = xmalloc(sizeof(float) * (size_t)nw);
        float *scratch = xmalloc(sizeof(float) * (size_t)nw);
        float *dq = xcalloc((size_t)n, sizeof(float)), *dk = xcalloc((size_t)n, sizeof(float));
        float *dv = xcalloc((size_t)n, sizeof(float));
        fill_normal(q, n, &rng), fill_normal(k, n, &rng), fill_normal(v, n, &rng);
        fill_normal(dout, n, &rng);
        // Repeat small sizes so each measurement lasts long enough to be meaningful, and
        // keep the best of 5 rounds: other programs on the machine only ever add time.
        int reps = (int)(((long)max_len * max_len) / nw / 8);
        if (reps > 50) reps = 50;
        if (reps < 1) reps = 1;
        const AttnDims dims = {.B = 1, .h = 1, .Tq = t, .Tk = t, .d_k = DK};
        const AttnInputs qkv = {.q = q, .k = k, .v = v};
        const AttnInputGrads dqkv = {.dq = dq, .dk = dk, .dv = dv};
        const AttnMask causal = {.causal = true};
        double fwd = INFINITY, both = INFINITY;
        for (int round = 0; round < 5; round++) {
            double start = wall_seconds();
            for (int r = 0; r < reps; r++) attention_forward(out, w, qkv, causal, dims);
            double mid = wall_seconds();
            for (int r = 0; r < reps; r++) {
                attention_forward(out, w, qkv, causal, dims);
                attention_backward(dqkv, scratch, dout, w, qkv, dims);
            }
            double end = wall_seconds();
            fwd = fmin(fwd, (mid - start) / reps);
            both = fmin(both, (end - mid) / reps);
        }
        char ratio_f[16] = "", ratio_b[16] = "";
        if (prev_fwd > 0) snprintf(ratio_f, sizeof ratio_f, "%.1fx", fwd / prev_fwd);
        if (prev_both > 0) snprintf(ratio_b, sizeof ratio_b, "%.1fx", both / prev_both);
        printf("%6d  %9.2f MB  %9.2f MB  %9.3f ms  %6s  %11.3f ms  %6s\n", t,
               (double)nw * 4 / 1e6, 4.0 * n * 4 / 1e6, fwd * 1e3, ratio_f, both * 1e3, ratio_b);
        fflush(stdout);
        prev_fwd = fwd, prev_both = both;
        free(q), free(k), free(v), free(dout), free(out), free(w), free(scratch);
        free(dq), free(dk), free(dv);
    }
    printf("\n(Best of 5 rounds. The backward needs a second T² buffer of scratch. At small T\n"
           " fixed costs such as starting threads hide the T² term; at large T the (T,T)\n"
           " matrix no longer fits in the CPU caches, which can push a doubling past 4x.\n"
           " OMP_NUM_THREADS=1 gives the steadiest ratios.)\n");
}

int main(int argc, char **argv) {
    bool scale = false, max_len_given = false;
    long max_len = 2048;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--scaling") == 0) {
            scale = true;
        } else if (strcmp(argv[i], "--max-len") == 0) {
            if (i + 1 >= argc) die("--max-len needs a value (see --help)");
            char *end;
            errno = 0;
            max_len = strtol(argv[++i], &end, 10);
            if (errno || *end || end == argv[i] || max_len < 64 || max_len > 8192)
                die("--max-len: expected a whole number from 64 to 8192, got '%s'", argv[i]);
            max_len_given = true;
        } else {
            die("unknown option '%s' (see --help)", argv[i]);
        }
    }
    if (max_len_given && !scale) die("--max-len goes with --scaling (see --help)");
    if (scale) scaling((int)max_len);
    else worked_example();
    return 0;
}
