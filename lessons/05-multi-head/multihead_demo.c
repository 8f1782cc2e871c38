// multihead_demo.c: lesson 05. Multi-head attention (§3.2.2): the same sentence seen by
// several heads at once, each through its own projections, so each head can attend to
// something different. Part 1 sets two heads' projections by hand (one looks at the
// previous word, one at other copies of the same word); part 2 uses random projections.
//
//   build/multihead_demo              both parts
//   build/multihead_demo --seed 7     another random draw for part 2
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attention.h"
#include "common.h"
#include "multihead.h"
#include "positional.h"
#include "rng.h"
#include "tensor.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: multihead_demo [--seed N] [--help]\n"
            "Shows multi-head attention (paper §3.2.2) on \"the cat sat on the mat\":\n"
            "  part 1: two heads with hand-set projections, one attending to the previous\n"
            "          word, one to every copy of the same word;\n"
            "  part 2: four heads with random projections on word vectors + positions.\n"
            "  --seed N   seed for part 2's random vectors and weights (default 1)\n"
            "  --help     this text\n");
}

enum { T = 6 };
static const char *const WORDS[T] = {"the", "cat", "sat", "on", "the", "mat"};
static const int WORD_IDS[T] = {0, 1, 2, 3, 0, 4};  // "the" appears twice

// Owns one layer's parameters, activations and output for B = 1 self-attention.
typedef struct {
    int d_model, h;
    float *params, *acts_mem, *out;
    MhaWeights w;
    MhaActs acts;
} Layer;

static Layer layer_new(int d_model, int h) {
    Layer L = {.d_model = d_model, .h = h};
    L.params = xcalloc((size_t)mha_weights_layout(NULL, NULL, d_model), sizeof(float));
    mha_weights_layout(&L.w, L.params, d_model);
    const MhaDims dims = {.B = 1, .Tq = T, .Tk = T, .d_model = d_model, .h = h};
    L.acts_mem = xmalloc(sizeof(float) * (size_t)mha_acts_layout(NULL, NULL, dims));
    mha_acts_layout(&L.acts, L.acts_mem, dims);
    L.out = xmalloc(sizeof(float) * (size_t)T * d_model);
    return L;
}

static void layer_free(Layer *L) {
    free(L->params), free(L->acts_mem), free(L->out);
}

// Prints each head's (T,T) weights: acts.weights is (B=1, h, T, T). Heads are
// printed counting from 1 (the course's convention), so index i is "head i+1".
static void print_heads(const Layer *L, const char *const *names) {
    for (int i = 0; i < L->h; i++) {
        printf("\nhead %d%s%s:\n", i + 1, names ? " - " : "", names ? names[i] : "");
        attention_print(stdout, L->acts.weights + (long)i * T * T, T, T, WORDS, WORDS);
    }
}

// Part 1. d_model = 16, h = 2, so d_k = 8. Each input vector is
//   x[t] = [ one-hot position t (8 dims) | one-hot word id (8 dims) ].
// The first head owns columns 0..7 of W^Q and W^K, the second columns 8..15 (multihead.h);
// the demo prints them as head 1 and head 2.
static void hand_set_heads(void) {
    enum { D = 16, H = 2, DK = D / H };
    const float sharp = 12.0f;  // score of a match: 12/√8 ≈ 4.2, so e^4.2 ≈ 70 to 1
    Layer L = layer_new(D, H);
    float x[T * D] = {0};
    for (int t = 0; t < T; t++) {
        x[t * D + t] = 1.0f;                    // position
        x[t * D + DK + WORD_IDS[t]] = 1.0f;     // word
    }
    // Head 1 (index 0), "previous word": the query of position p asks for position p-1, the key
    // of position p announces p. Row = input feature, column = output feature.
    for (int p = 1; p < DK; p++) L.w.w_q[p * D + (p - 1)] = sharp;
    for (int p = 0; p < DK; p++) L.w.w_k[p * D + p] = 1.0f;
    // Head 2 (index 1), "same word": query and key both carry the word id.
    for (int w = 0; w < DK; w++) {
        L.w.w_q[(DK + w) * D + (DK + w)] = sharp;
        L.w.w_k[(DK + w) * D + (DK + w)] = 1.0f;
    }
    // W^V and W^O: the identity, so each head passes its half of x through unchanged.
    for (int c = 0; c < D; c++) L.w.w_v[c * D + c] = L.w.w_o[c * D + c] = 1.0f;

    mha_forward(L.out, &L.acts, x, x, &L.w, ATTN_NO_MASK,
                (MhaDims){.B = 1, .Tq = T, .Tk = T, .d_model = D, .h = H});
    printf("Part 1: two heads with hand-set projections (d_model = %d, h = %d, d_k = %d)\n", D, H, DK);
    printf("Input x[t] = [one-hot position | one-hot word]. Head 1 reads columns 0..7 of\n"
           "W^Q, W^K, W^V; head 2 reads columns 8..15. Same input, different questions:\n");
    const char *names[H] = {"query asks for position t-1 (\"previous word\")",
                            "query asks for its own word id (\"same word\")"};
    print_heads(&L, names);
    printf("\nThe first word has no previous word: head 1's first row finds no match and spreads\n"
           "evenly. Head 2 links the two copies of \"the\" to each other. One head could not\n"
           "do both: its single softmax row would have to split its weight between them.\n");
    printf("\nConcat(head_1, head_2) W^O for \"sat\" (W^O = identity here):\n   positions [");
    for (int c = 0; c < DK; c++) printf("%s%.2f", c ? " " : "", (double)L.out[2 * D + c]);
    printf("] <- head 1 fetched position 1: the previous word, \"cat\"\n   words     [");
    for (int c = DK; c < D; c++) printf("%s%.2f", c > DK ? " " : "", (double)L.out[2 * D + c]);
    printf("] <- head 2 fetched word id 2: \"sat\" itself\n");
    layer_free(&L);
}

// Part 2. d_model = 32, h = 4: random word vectors plus the sinusoidal positions of
// lesson 03, random (Xavier) projections. Each head's W_i^Q, W_i^K differ, so each head
// scores the same pairs of words differently.
static void random_heads(uint64_t seed) {
    enum { D = 32, H = 4 };
    Rng rng;
    rng_seed(&rng, seed, 5);
    Layer L = layer_new(D, H);
    mha_weights_init(&L.w, &rng, D);
    // Untrained Xavier weights give nearly uniform attention; a larger scale for the
    // query projection sharpens the softmax so the differences between heads show.
    vec_scale(L.w.w_q, 4.0f, (long)D * D);
    float vocab[5 * D], x[T * D], pe[T * D];
    for (int i = 0; i < 5 * D; i++) vocab[i] = rng_normal(&rng);
    for (int t = 0; t < T; t++) vec_copy(x + t * D, vocab + WORD_IDS[t] * D, D);
    positional_encoding_table(pe, T, D);
    positional_add(x, pe, 1, T, D);

    mha_forward(L.out, &L.acts, x, x, &L.w, ATTN_NO_MASK,
                (MhaDims){.B = 1, .Tq = T, .Tk = T, .d_model = D, .h = H});
    printf("\n\nPart 2: %d heads with random projections (d_model = %d, d_k = %d, seed %llu)\n",
           H, D, D / H, (unsigned long long)seed);
    printf("Input: random word vectors + sinusoidal positions (lesson 03). Nothing is\n"
           "trained; still, each head's projections make it score the words its own way:\n");
    print_heads(&L, NULL);
    // How different are the heads? Mean |difference| between the first head and the others.
    printf("\nMean |weight difference| from head 1 (0 = identical; 0.33 = every row puts all\n"
           "its weight on a different word than head 1's row does):\n ");
    for (int i = 1; i < H; i++) {
        double diff = 0;
        for (int e = 0; e < T * T; e++) diff += fabs(L.acts.weights[e] - L.acts.weights[i * T * T + e]);
        printf("  head %d: %.3f", i + 1, diff / (T * T));
    }
    printf("\nTraining (lesson 08) shapes such differences into roles like part 1's.\n");
    layer_free(&L);
}

int main(int argc, char **argv) {
    unsigned long long seed = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--seed") == 0) {
            if (i + 1 >= argc) die("--seed needs a value (see --help)");
            char *end;
            errno = 0;
            seed = strtoull(argv[++i], &end, 10);
            if (errno || *end || end == argv[i] || argv[i][0] == '-')
                die("--seed: expected a whole number >= 0, got '%s'", argv[i]);
        } else {
            die("unknown option '%s' (see --help)", argv[i]);
        }
    }
    hand_set_heads();
    random_heads(seed);
    return 0;
}
