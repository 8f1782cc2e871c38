// decoder_demo.c: lesson 07. The whole (untrained) Transformer of Figure 1 on one
// sentence pair: the decoder's masked self-attention (the causal triangle, §3.2.3), its
// cross-attention over the encoder output (target tokens down, source tokens across),
// the tied generator's next-token probabilities (§3.4), and the parameter count by
// component next to the paper's base model (Table 3).
//
//   build/decoder_demo
//   build/decoder_demo --source "ils ne sont pas médecins" --target "they are not doctors"
//   build/decoder_demo --no-base     count the base model without allocating it
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>

#include "attention.h"
#include "common.h"
#include "generator.h"
#include "model.h"
#include "rng.h"
#include "tokenizer.h"

enum { MAX_TOKENS = 24 };

static void usage(FILE *out) {
    fprintf(out,
            "usage: decoder_demo [--source TEXT] [--target TEXT] [--merges N] [--corpus FILE]\n"
            "                    [--head H] [--seed S] [--no-base] [--help]\n"
            "Runs a sentence pair through an untrained Transformer (paper Figure 1) and prints\n"
            "the decoder's masked self-attention, its cross-attention over the source, the\n"
            "next-token probabilities, and the parameter count by component (Table 3).\n"
            "  --source TEXT  source sentence (default: the classic example \"je suis étudiant\")\n"
            "  --target TEXT  target sentence (default \"i am a student\"); at most %d tokens each\n"
            "  --merges N     BPE merges learned from the corpus first (default 300; 0 = bytes)\n"
            "  --corpus FILE  text to learn merges from (default data/fr-en/train.tsv)\n"
            "  --head H       show head H (1..4) instead of the mean over the 4 heads\n"
            "  --seed S       seed for the random weights (default 1)\n"
            "  --no-base      do not allocate the 63M-parameter base model (count it only)\n"
            "  --help         this text\n",
            MAX_TOKENS - 1);
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

// Tokenizes text into ids (at most MAX_TOKENS - 1, leaving room for BOS or EOS).
static int encode_or_die(const Tokenizer *tok, const char *option, const char *text, int *ids) {
    // ids has room for MAX_TOKENS - 1 (the caller's array minus the BOS or EOS slot); the
    // encoder writes at most that many and returns the full count
    int n = tokenizer_encode(tok, text, strlen(text), ids, MAX_TOKENS - 1);
    if (n == 0) die("%s: the sentence is empty", option);
    if (n > MAX_TOKENS - 1)
        die("%s: %d tokens, at most %d fit this demo (try more --merges)", option, n, MAX_TOKENS - 1);
    return n;
}

// One head's (rows,cols) matrix, or the mean over the h heads, of (h,rows,cols) weights.
static void pick_head(float *out, const float *weights, int h, int head, int rows, int cols) {
    int n = rows * cols;
    for (int i = 0; i < n; i++) {
        if (head >= 0) {
            out[i] = weights[(long)head * n + i];
            continue;
        }
        float s = 0;
        for (int k = 0; k < h; k++) s += weights[(long)k * n + i];
        out[i] = s / (float)h;
    }
}

static void print_counts(const char *title, const ModelConfig *c) {
    ModelParamCounts p = model_param_counts(c);
    printf("%s: V %d, d_model %d, h %d, d_ff %d, N %d\n", title, c->vocab_size, c->d_model,
           c->n_heads, c->d_ff, c->n_layers);
    printf("  %-44s %12ld\n", "embedding (shared: source, target, output)", p.embedding);
    printf("  %-44s %12ld\n", "encoder self-attention (N layers)", p.encoder_self_attention);
    printf("  %-44s %12ld\n", "encoder feed-forward", p.encoder_feed_forward);
    printf("  %-44s %12ld\n", "encoder LayerNorms", p.encoder_layer_norm);
    printf("  %-44s %12ld\n", "decoder masked self-attention", p.decoder_self_attention);
    printf("  %-44s %12ld\n", "decoder cross-attention", p.decoder_cross_attention);
    printf("  %-44s %12ld\n", "decoder feed-forward", p.decoder_feed_forward);
    printf("  %-44s %12ld\n", "decoder LayerNorms", p.decoder_layer_norm);
    printf("  %-44s %12ld  (%.1fM)\n", "total", p.total, p.total / 1e6);
}

// What the command line asks for (usage() lists the options).
typedef struct {
    const char *source, *target, *corpus;
    long merges, head;  // head counts from 0 here, -1 = the mean over the heads
    unsigned long long seed;
    bool allocate_base;
} DemoOptions;

// True for the options that take a value (the ones the loop below reads).
static bool takes_value(const char *a) {
    static const char *const names[] = {"--source", "--target", "--merges", "--corpus", "--head", "--seed"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(a, names[i])) return true;
    return false;
}

// Reads the options into o (defaults first); --help prints the usage and exits 0, anything
// else unknown or incomplete exits 1 with a line naming it.
static void parse_demo_options(int argc, char **argv, DemoOptions *o) {
    *o = (DemoOptions){.source = "je suis étudiant", .target = "i am a student",
                       .corpus = "data/fr-en/train.tsv", .merges = 300, .head = -1, .seed = 1,
                       .allocate_base = true};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            exit(0);
        }
        if (!strcmp(a, "--no-base")) {
            o->allocate_base = false;
            continue;
        }
        if (!takes_value(a)) die("%s: unknown option (--help lists them)", a);
        if (i + 1 >= argc) die("%s: expects a value (--help lists the options)", a);
        const char *v = argv[++i];
        if (!strcmp(a, "--source")) o->source = v;
        else if (!strcmp(a, "--target")) o->target = v;
        else if (!strcmp(a, "--merges")) o->merges = parse_count(a, v, 0, 20000);
        else if (!strcmp(a, "--corpus")) o->corpus = v;
        else if (!strcmp(a, "--head")) o->head = parse_count(a, v, 1, 4) - 1;  // heads count from 1
        else if (!strcmp(a, "--seed")) o->seed = (unsigned long long)parse_count(a, v, 0, 1L << 40);

    }
}

// The tokenizer of the demo: BPE with `merges` merges learned on the corpus, or bytes only.
static void demo_tokenizer(Tokenizer *tok, const DemoOptions *o) {
    *tok = (Tokenizer){0};
    if (o->merges == 0) {
        tokenizer_init_bytes(tok);
        return;
    }
    ErrorMessage err;
    size_t len;
    char *text = read_whole_file(o->corpus, &len, &err);
    if (!text) die("%s (use --merges 0 to skip BPE)", err.text);
    tokenizer_train(tok, text, len, (int)o->merges);
    free(text);
}

// Parts 1 and 2: the first decoder layer's masked self-attention and the last one's
// cross-attention, of one head (counted from 0 here; -1: the mean over the heads), rows
// labelled "fed → predicts" (row_labels), columns by the tokens fed (target_labels) or the
// source tokens (source_labels).
static void print_decoder_attention(const Model *m, int head, const char **row_labels,
                                    const char **target_labels, const char **source_labels) {
    const ModelConfig *cfg = &m->config;
    float shown[MAX_TOKENS * MAX_TOKENS];
    int rows, cols;
    char which[32] = "mean over the 4 heads";
    if (head >= 0) snprintf(which, sizeof which, "head %d", head + 1);
    const float *w = model_attention(m, ATTN_DECODER_SELF, 0, &rows, &cols);
    pick_head(shown, w, cfg->n_heads, head, rows, cols);
    printf("1. Decoder layer 1, masked self-attention (%s). Each row is labelled\n"
           "   \"fed → predicts\": the token fed in at that position and the token its output\n"
           "   must predict. A row may only look at the tokens fed so far (the columns up to\n"
           "   its own): everything above the diagonal is exactly 0 (§3.2.3).\n", which);
    attention_print(stdout, shown, rows, cols, row_labels, target_labels);

    w = model_attention(m, ATTN_CROSS, cfg->n_layers - 1, &rows, &cols);
    pick_head(shown, w, cfg->n_heads, head, rows, cols);
    printf("\n2. Decoder layer %d, cross-attention (%s): target rows (fed → predicts)\n"
           "   down, source tokens across. Queries come from the decoder, keys and values\n"
           "   from the encoder output.\n",
           cfg->n_layers, which);
    attention_print(stdout, shown, rows, cols, row_labels, source_labels);
}

// Part 3: the five most likely next tokens after the whole target, from the last row of
// the tied generator's logits y·Embᵀ (§3.4), and the spread of those logits.
static void print_next_tokens(const Model *m, const Tokenizer *tok, const char *target, int T) {
    int V = m->config.vocab_size;
    float *logp = xmalloc(sizeof(float) * (size_t)V);
    const float *logits = m->acts.logits + (long)(T - 1) * V;
    log_softmax_forward(logp, logits, 1, V);
    double mean = 0, square = 0;  // the spread of this row's logits, measured
    for (int v = 0; v < V; v++) mean += logits[v] / (double)V;
    for (int v = 0; v < V; v++) square += (logits[v] - mean) * (logits[v] - mean) / (double)V;
    printf("\n3. Next-token probabilities after \"%s\" (tied generator + softmax), top 5 of %d:\n",
           target, V);
    for (int k = 0; k < 5; k++) {
        int best = 0;
        for (int v = 1; v < V; v++) best = logp[v] > logp[best] ? v : best;
        char buf[TOKEN_STRING_MAX];
        printf("   %-10s p = %.4f\n", tokenizer_token_string(tok, best, buf, sizeof buf),
               exp((double)logp[best]));
        logp[best] = -INFINITY;
    }
    printf("   (uniform would be 1/%d = %.4f. These untrained logits y·Eᵀ have a standard\n"
           "   deviation of %.2f; the embedding init N(0, 1/d_model) aims at about 1, so that\n"
           "   no token starts out anywhere near likely.)\n\n",
           V, 1.0 / V, sqrt(square));
    free(logp);
}

// Part 4: the demo model's parameters by component, then the paper's base model's
// (Table 3), counted by formula and, unless --no-base, allocated to check the count.
static void print_parameter_counts(const Model *m, bool allocate_base, Rng *rng) {
    print_counts("4. This demo model", &m->config);
    printf("  allocated: n_params = %ld\n\n", m->params.n);
    ModelConfig base = {.vocab_size = 37000, .d_model = 512, .n_heads = 8, .d_ff = 2048,
                        .n_layers = 6, .max_len = 8, .max_batch = 1, .dropout = 0.1f};
    print_counts("   The paper's base model (Table 3; 37000-token shared BPE vocabulary, §5.1)", &base);
    if (!allocate_base) return;
    Model big;
    model_init(&big, &base, rng);
    printf("  allocated: n_params = %ld floats = %.0f MB, %s the count; the paper says 65M\n",
           big.params.n, big.params.n * 4.0 / 1e6,
           big.params.n == model_param_count(&base) ? "matches" : "DOES NOT MATCH");
    model_free(&big);
}

int main(int argc, char **argv) {
    DemoOptions o;
    parse_demo_options(argc, argv, &o);

    // ---- tokens: source x + EOS, decoder input BOS + y (src/dataset.h) --------------
    Tokenizer tok;
    demo_tokenizer(&tok, &o);
    int src[MAX_TOKENS], tgt[MAX_TOKENS];
    int S = encode_or_die(&tok, "--source", o.source, src);
    src[S++] = TOKEN_EOS;
    int T = encode_or_die(&tok, "--target", o.target, tgt + 1) + 1;
    tgt[0] = TOKEN_BOS;
    char sbuf[MAX_TOKENS][TOKEN_STRING_MAX], tbuf[MAX_TOKENS][TOKEN_STRING_MAX];
    const char *slab[MAX_TOKENS], *tlab[MAX_TOKENS];
    for (int i = 0; i < S; i++) slab[i] = tokenizer_token_string(&tok, src[i], sbuf[i], TOKEN_STRING_MAX);
    for (int i = 0; i < T; i++) tlab[i] = tokenizer_token_string(&tok, tgt[i], tbuf[i], TOKEN_STRING_MAX);
    // A decoder row is labelled "fed → predicts": row t is fed target token t and its
    // output predicts token t+1 (the last row predicts </s>), the convention of every
    // decoder heatmap in the course.
    char rbuf[MAX_TOKENS][2 * TOKEN_STRING_MAX + 8], ebuf[TOKEN_STRING_MAX];
    const char *rlab[MAX_TOKENS];
    for (int i = 0; i < T; i++) {
        const char *next = i + 1 < T ? tlab[i + 1] : tokenizer_token_string(&tok, TOKEN_EOS, ebuf, sizeof ebuf);
        snprintf(rbuf[i], sizeof rbuf[i], "%s → %s", tlab[i], next);
        rlab[i] = rbuf[i];
    }
    printf("Source (encoder input, x + </s>): %d tokens:", S);
    for (int i = 0; i < S; i++) printf(" %s", slab[i]);
    printf("\nTarget (decoder input, <s> + y): %d tokens:", T);
    for (int i = 0; i < T; i++) printf(" %s", tlab[i]);
    printf("\n\n");

    // ---- the untrained model ---------------------------------------------------------
    ModelConfig cfg = {.vocab_size = tokenizer_vocab_size(&tok), .d_model = 32, .n_heads = 4,
                       .d_ff = 128, .n_layers = 2, .max_len = MAX_TOKENS, .max_batch = 1,
                       .dropout = 0.1f};
    Rng rng;
    rng_seed(&rng, o.seed, 0);
    Model m;
    model_init(&m, &cfg, &rng);
    int src_len[1] = {S}, tgt_len[1] = {T};
    model_forward(&m, &(ModelBatch){.src = src, .src_lengths = src_len,
                                    .tgt = tgt, .tgt_lengths = tgt_len,
                                    .B = 1, .S = S, .T = T},
                  false, NULL);  // evaluation: no dropout

    print_decoder_attention(&m, (int)o.head, rlab, tlab, slab);
    print_next_tokens(&m, &tok, o.target, T);
    print_parameter_counts(&m, o.allocate_base, &rng);
    model_free(&m);
    tokenizer_free(&tok);
    return 0;
}
