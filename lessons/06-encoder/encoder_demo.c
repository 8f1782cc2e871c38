// encoder_demo.c: lesson 06. A sentence goes through an untrained encoder stack (§3.1):
// token embeddings ×√d_model plus positions, then N layers of self-attention and
// feed-forward, each wrapped as LayerNorm(x + Sublayer(x)). For every layer the demo
// prints the self-attention weights (averaged over heads, or one head) with the tokens
// on both axes, and checks what LayerNorm promises: every output vector has mean 0 and
// variance 1 (before the learned gain and bias, which start at 1 and 0).
//
//   build/encoder_demo                          "je suis étudiant", BPE trained on fr-en
//   build/encoder_demo --sentence "ils ne sont pas médecins" --head 2
//   build/encoder_demo --merges 0               raw bytes, no BPE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>

#include "attention.h"
#include "common.h"
#include "embedding.h"
#include "encoder.h"
#include "positional.h"
#include "rng.h"
#include "tokenizer.h"

enum { MAX_TOKENS = 24, D_MODEL = 32, HEADS = 4, D_FF = 128, LAYERS = 2 };

static void usage(FILE *out) {
    fprintf(out,
            "usage: encoder_demo [--sentence TEXT] [--merges N] [--corpus FILE] [--head H]\n"
            "                    [--layers N] [--seed S] [--help]\n"
            "Runs a sentence through an untrained Transformer encoder (paper §3.1) and prints\n"
            "each layer's self-attention as a heatmap, tokens on both axes.\n"
            "  --sentence TEXT  the sentence (default \"je suis étudiant\"); at most %d tokens\n"
            "  --merges N       BPE merges learned from the corpus first (default 300; 0 = bytes)\n"
            "  --corpus FILE    text to learn merges from (default data/fr-en/train.tsv)\n"
            "  --head H         show head H (1..%d) instead of the mean over heads\n"
            "  --layers N       encoder layers, 1..6 (default %d)\n"
            "  --seed S         seed for the random weights (default 1)\n"
            "  --help           this text\n",
            MAX_TOKENS - 1, HEADS, LAYERS);
}

// Parses a whole-number option value in min..max, or exits with a one-line message
// naming the option.
static long parse_count(const char *option, const char *value, long min, long max) {
    char *end;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (errno || end == value || *end || v < min || v > max)
        die("%s: expected a whole number %ld..%ld, got '%s'", option, min, max, value);
    return v;
}

// Mean over the h heads of (h,T,T) weights, into (T,T).
static void mean_over_heads(float *out, const float *weights, int h, int T) {
    for (int i = 0; i < T * T; i++) {
        float s = 0;
        for (int k = 0; k < h; k++) s += weights[(long)k * T * T + i];
        out[i] = s / (float)h;
    }
}

// What the command line asks for (usage() lists the options).
typedef struct {
    const char *sentence, *corpus;
    long merges, head, layers;  // head counts from 0 here, -1 = the mean over the heads
    unsigned long long seed;
} DemoOptions;

// True for the options that take a value (the ones the loop below reads).
static bool takes_value(const char *a) {
    static const char *const names[] = {"--sentence", "--merges", "--corpus", "--head", "--layers", "--seed"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(a, names[i])) return true;
    return false;
}

// Reads the options into o (defaults first); --help prints the usage and exits 0, anything
// else unknown or incomplete exits 1 with a line naming it.
static void parse_demo_options(int argc, char **argv, DemoOptions *o) {
    *o = (DemoOptions){.sentence = "je suis étudiant", .corpus = "data/fr-en/train.tsv", .merges = 300,
                       .head = -1, .layers = LAYERS, .seed = 1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            exit(0);
        }
        if (!takes_value(a)) die("%s: unknown option (--help lists them)", a);
        if (i + 1 >= argc) die("%s: expects a value (--help lists the options)", a);
        const char *v = argv[++i];
        if (!strcmp(a, "--sentence")) o->sentence = v;
        else if (!strcmp(a, "--merges")) o->merges = parse_count(a, v, 0, 20000);
        else if (!strcmp(a, "--corpus")) o->corpus = v;
        else if (!strcmp(a, "--head")) o->head = parse_count(a, v, 1, HEADS) - 1;  // heads count from 1
        else if (!strcmp(a, "--layers")) o->layers = parse_count(a, v, 1, 6);
        else if (!strcmp(a, "--seed")) o->seed = (unsigned long long)parse_count(a, v, 0, 1L << 40);

    }
}

// The tokenizer of the demo (lesson 01): BPE with `merges` merges learned on the corpus,
// or bytes only; prints which.
static void demo_tokenizer(Tokenizer *tok, const DemoOptions *o) {
    *tok = (Tokenizer){0};
    if (o->merges == 0) {
        tokenizer_init_bytes(tok);
        printf("Tokenizer: bytes only (vocabulary %d)\n", tokenizer_vocab_size(tok));
        return;
    }
    ErrorMessage err;
    size_t len;
    char *text = read_whole_file(o->corpus, &len, &err);
    if (!text) die("%s (use --merges 0 to skip BPE)", err.text);
    int learned = tokenizer_train(tok, text, len, (int)o->merges);
    printf("Tokenizer: %d BPE merges learned from %s (vocabulary %d)\n", learned, o->corpus,
           tokenizer_vocab_size(tok));
    free(text);
}

// Layer `layer` (from 1)'s self-attention weights (1,h,S,S): one head's (counted from 0;
// -1: the mean over the heads), rows and columns labelled by the sentence's tokens.
static void print_layer_attention(const float *weights, int layer, int head, int S, const char **labels) {
    float shown[MAX_TOKENS * MAX_TOKENS];
    if (head < 0) {
        mean_over_heads(shown, weights, HEADS, S);
        printf("Layer %d self-attention, mean over the %d heads (row: a token, columns: the "
               "tokens it attends to):\n", layer, HEADS);
    } else {
        memcpy(shown, weights + head * S * S, sizeof(float) * (size_t)S * S);
        printf("Layer %d self-attention, head %d:\n", layer, head + 1);
    }
    attention_print(stdout, shown, S, S, labels, labels);
}

// LayerNorm's promise, checked on a layer's output (S, d_model): untrained (gain 1, bias
// 0), every token vector has mean 0 and variance 1; prints the worst deviations.
static void print_layernorm_check(const float *out, int layer, int S) {
    double worst_mean = 0, worst_var = 0;
    for (int t = 0; t < S; t++) {
        const float *o = out + (long)t * D_MODEL;
        double m = 0, v = 0;
        for (int j = 0; j < D_MODEL; j++) m += o[j];
        m /= D_MODEL;
        for (int j = 0; j < D_MODEL; j++) v += (o[j] - m) * (o[j] - m);
        v /= D_MODEL;
        if (fabs(m) > worst_mean) worst_mean = fabs(m);
        if (fabs(v - 1) > worst_var) worst_var = fabs(v - 1);
    }
    printf("Layer %d output: every token vector has |mean| <= %.1e and |variance - 1| <= %.1e "
           "(LayerNorm)\n\n", layer, worst_mean, worst_var);
}

int main(int argc, char **argv) {
    DemoOptions o;
    parse_demo_options(argc, argv, &o);
    const char *sentence = o.sentence;
    long layers = o.layers;

    // ---- tokens (lesson 01): BPE learned from the corpus, then x + EOS -------------
    Tokenizer tok;
    demo_tokenizer(&tok, &o);
    int ids[MAX_TOKENS];
    int n = tokenizer_encode(&tok, sentence, strlen(sentence), ids, MAX_TOKENS);
    if (n == 0) die("--sentence: the sentence is empty");
    if (n > MAX_TOKENS - 1)
        die("--sentence: %d tokens, at most %d fit this demo (try more --merges)", n, MAX_TOKENS - 1);
    ids[n++] = TOKEN_EOS;  // the source ends with </s>, as in training (src/dataset.h)
    int S = n, V = tokenizer_vocab_size(&tok);
    char label_buf[MAX_TOKENS][TOKEN_STRING_MAX];
    const char *labels[MAX_TOKENS];
    for (int i = 0; i < S; i++) labels[i] = tokenizer_token_string(&tok, ids[i], label_buf[i], TOKEN_STRING_MAX);
    printf("Sentence: \"%s\" -> %d tokens:", sentence, S);
    for (int i = 0; i < S; i++) printf(" %s", labels[i]);
    printf("\n\n");

    // ---- an untrained encoder: d_model %d, h %d, d_ff %d ------------------------------
    Rng rng;
    rng_seed(&rng, o.seed, 0);
    float *table = xmalloc(sizeof(float) * (size_t)V * D_MODEL);
    for (long i = 0; i < (long)V * D_MODEL; i++) table[i] = rng_normal(&rng) / sqrtf(D_MODEL);
    float *pe = xmalloc(sizeof(float) * MAX_TOKENS * D_MODEL);
    positional_encoding_table(pe, MAX_TOKENS, D_MODEL);
    // One sentence of S tokens (an encoder layer has no target: T is unused).
    const Dims dims = {.B = 1, .S = S, .T = 0, .d_model = D_MODEL, .h = HEADS, .d_ff = D_FF};
    long layer_floats = encoder_layer_weights_layout(NULL, NULL, D_MODEL, D_FF);
    float *params = xmalloc(sizeof(float) * (size_t)(layer_floats * layers));
    long acts_floats = encoder_layer_acts_layout(NULL, NULL, dims);
    float *acts_mem = xmalloc(sizeof(float) * (size_t)(acts_floats * layers));
    EncoderLayerWeights w[6];
    EncoderLayerActs acts[6];
    for (int l = 0; l < layers; l++) {
        encoder_layer_weights_layout(&w[l], params + l * layer_floats, D_MODEL, D_FF);
        encoder_layer_weights_init(&w[l], &rng, D_MODEL, D_FF);
        encoder_layer_acts_layout(&acts[l], acts_mem + l * acts_floats, dims);
    }
    printf("Untrained encoder: N = %ld layers, d_model = %d, h = %d heads, d_ff = %d, seed %llu\n",
           layers, D_MODEL, HEADS, D_FF, o.seed);
    printf("(%ld parameters per layer; Xavier-uniform matrices, LayerNorm gain 1, bias 0)\n\n",
           layer_floats);

    // x = Emb[tokens]·√d_model + PE  (§3.4, §3.5; no dropout: this is evaluation)
    float x[MAX_TOKENS * D_MODEL];
    embedding_forward(x, ids, table, S, V, D_MODEL);
    positional_add(x, pe, 1, S, D_MODEL);
    const float *in = x;
    int lengths[1] = {S};
    for (int l = 0; l < layers; l++) {
        encoder_layer_forward(&acts[l], in, &w[l], lengths, DROPOUT_OFF, dims);
        print_layer_attention(acts[l].attn.weights, l + 1, (int)o.head, S, labels);  // (1,h,S,S)
        print_layernorm_check(acts[l].out, l + 1, S);
        in = acts[l].out;
    }
    printf("Untrained, each token spreads its attention over all %d tokens, near 1/%d = %.2f\n"
           "each: random projections give scores q·k/√d_k close to 0, so the softmax is\n"
           "nearly flat. Training (lesson 08) sharpens these rows; `make run` shows it live.\n",
           S, S, 1.0 / S);
    free(table), free(pe), free(params), free(acts_mem);
    tokenizer_free(&tok);
    return 0;
}
