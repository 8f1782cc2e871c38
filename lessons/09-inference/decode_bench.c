// decode_bench.c (lesson 09): decoding throughput, sentences/s and tokens/s, greedy and
// beam 4, with the KV cache and without (m->decode.full_recompute), in one process so
// that `make bench` (lessons/08-training/bench_torch.py) can alternate it with PyTorch
// decoding the same sentences with the same weights (lessons/09-inference/decode_torch.py).
//
//   build/decode_bench shipped [--model data/fr-en.ckpt] [--test data/fr-en/test.tsv]
//                      [--sentences 100] [--threads 1] [--ids FILE]
//        the shipped model on the first sentences of the test set, as `translate` decodes
//        them: each output stops at its own </s> (or at the §6.1 limit, source + 50);
//   build/decode_bench base [--tokens 30] [--sentences 3] [--threads 1] [--ids FILE]
//        [--save FILE.ckpt]
//        a randomly initialised model of the paper's base size (d_model 512, h 8, d_ff
//        2048, N 6, V 8000) on random 30-token sources, with </s> forbidden so that every
//        output is exactly --tokens tokens long: "at 30 target tokens" is measured, not
//        whatever a random model happens to say. --save writes its weights as a checkpoint.
//
// One result line per way of decoding, e.g.
//   decode shipped greedy cache=on sentences=100 tokens=1093 seconds=0.80 sent/s=125.0 tok/s=1366
// tokens = output tokens, </s> included. --ids FILE writes one line per sentence,
// "source ids<TAB>greedy output ids" (from the cached greedy run), so the PyTorch side
// decodes the same token ids and can check it produces the same greedy tokens.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "checkpoint.h"
#include "common.h"
#include "dataset.h"
#include "decode.h"
#include "model.h"
#include "rng.h"
#include "tokenizer.h"

// The sentences to decode: n source rows (x + </s>), each up to max_len ids.
typedef struct {
    int n, max_len;
    int *ids;      // (n, max_len)
    int *lengths;  // (n)
} Sources;

// What one way of decoding (greedy or beam, cache on or off) is asked to do.
typedef struct {
    int beam;            // 1: greedy_search; > 1: beam_search with this beam
    bool cache;          // false: m->decode.full_recompute (the reference path)
    int forced_tokens;   // > 0: </s> forbidden, every output exactly this long
} DecodeWay;

// A Scorer around the model's that forbids </s> (log p = -inf), so a search runs to its
// length limit whatever the (random) model prefers: a fixed amount of work per sentence.
static void no_end_log_probs(void *ctx, const int *prefixes, int k, int t, float *log_probs) {
    const Scorer *inner = ctx;
    inner->next_log_probs(inner->ctx, prefixes, k, t, log_probs);
    for (int r = 0; r < k; r++) log_probs[(long)r * inner->vocab_size + TOKEN_EOS] = -INFINITY;
}

// Decodes one source row (src_len ids) the given way, §6.1 (model_encode once, then
// the search against the model scorer); *out gets the best hypothesis. Returns the
// output tokens, </s> included when the hypothesis finished.
static int decode_one(Hypothesis *out, Model *m, const int *src, int src_len, DecodeWay way) {
    m->decode.full_recompute = !way.cache;
    model_encode(m, src, &src_len, 1, src_len, false, NULL);
    ModelScorer ctx;
    Scorer model = model_scorer(&ctx, m), scorer = model;
    if (way.forced_tokens > 0) scorer = (Scorer){model.vocab_size, model.max_rows, no_end_log_probs, &model};
    int max_tokens = way.forced_tokens > 0 ? way.forced_tokens : decode_max_tokens(m, src_len);
    if (way.beam == 1) {
        greedy_search(out, &scorer, max_tokens, LENGTH_PENALTY_DEFAULT);
    } else {
        Hypothesis best[BEAM_MAX];
        beam_search(best, 1, &scorer, way.beam, LENGTH_PENALTY_DEFAULT, max_tokens);
        *out = best[0];
    }
    return out->length + (out->finished ? 1 : 0);
}

// Decodes every source the given way and prints its result line; with ids (not NULL)
// also writes "source<TAB>output" ids per sentence.
static void time_way(Model *m, const Sources *s, DecodeWay way, const char *label, FILE *ids) {
    long tokens = 0;
    double start = wall_seconds();
    for (int i = 0; i < s->n; i++) {
        Hypothesis h;
        const int *src = s->ids + (long)i * s->max_len;
        tokens += decode_one(&h, m, src, s->lengths[i], way);
        if (!ids) continue;
        for (int j = 0; j < s->lengths[i]; j++) fprintf(ids, "%s%d", j ? " " : "", src[j]);
        fprintf(ids, "\t");
        for (int j = 0; j < h.length; j++) fprintf(ids, "%s%d", j ? " " : "", h.tokens[j]);
        fprintf(ids, "\n");
    }
    double dt = wall_seconds() - start;
    printf("decode %s %s cache=%s sentences=%d tokens=%ld seconds=%.3f sent/s=%.2f tok/s=%.1f\n", label,
           way.beam == 1 ? "greedy" : "beam4", way.cache ? "on" : "off", s->n, tokens, dt, s->n / dt,
           tokens / dt);
    fflush(stdout);
}

// Runs the four ways (greedy and beam 4, cache on and off) over the sources.
static void time_all_ways(Model *m, const Sources *s, int forced_tokens, const char *label, const char *ids_path) {
    FILE *ids = ids_path[0] ? xfopen(ids_path, "w") : NULL;
    for (int beam = 1; beam <= BEAM_SIZE_DEFAULT; beam += BEAM_SIZE_DEFAULT - 1) {
        for (int cache = 1; cache >= 0; cache--) {
            DecodeWay way = {.beam = beam, .cache = cache, .forced_tokens = forced_tokens};
            time_way(m, s, way, label, beam == 1 && cache ? ids : NULL);
        }
    }
    if (ids) xfclose(ids);
}

// The first n source rows of a test set (tab-separated pairs), encoded with tok.
static Sources load_sources(const char *path, const Tokenizer *tok, int n, int max_len) {
    Dataset ds;
    dataset_init(&ds, max_len);
    ErrorMessage err;
    if (!dataset_load_tsv(&ds, path, tok, &err)) die("%s", err.text);
    Sources s = {.n = n < ds.n_pairs ? n : ds.n_pairs, .max_len = max_len};
    s.ids = xmalloc(sizeof(int) * (size_t)s.n * max_len);
    s.lengths = xmalloc(sizeof(int) * (size_t)s.n);
    for (int i = 0; i < s.n; i++) s.lengths[i] = dataset_source_row(&ds, i, s.ids + (long)i * max_len);
    dataset_free(&ds);
    return s;
}

// n random sources of `length` ids (length-1 ordinary tokens, then </s>), seeded.
static Sources random_sources(int n, int length, int vocab, Rng *rng) {
    Sources s = {.n = n, .max_len = length};
    s.ids = xmalloc(sizeof(int) * (size_t)n * length);
    s.lengths = xmalloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < length - 1; j++) s.ids[i * length + j] = 3 + (int)rng_below(rng, (uint32_t)vocab - 3);
        s.ids[i * length + length - 1] = TOKEN_EOS;
        s.lengths[i] = length;
    }
    return s;
}

// The value of option `name` in argv[2..], or fallback.
static const char *option(int argc, char **argv, const char *name, const char *fallback) {
    for (int i = 2; i + 1 < argc; i += 2)
        if (strcmp(argv[i], name) == 0) return argv[i + 1];
    return fallback;
}

// Dies with one line unless argv[2..] is pairs "--name value" with names from `known`
// (a space-separated list).
static void check_options(int argc, char **argv, const char *known) {
    for (int i = 2; i < argc; i += 2) {
        char word[64];
        snprintf(word, sizeof word, " %s ", argv[i]);
        char list[256];
        snprintf(list, sizeof list, " %s ", known);
        if (argv[i][0] != '-' || !strstr(list, word))
            die("decode_bench %s: unknown option '%s' (expected: %s; see --help)", argv[1], argv[i], known);
        if (i + 1 >= argc) die("decode_bench %s: %s expects a value", argv[1], argv[i]);
    }
}

static void usage(FILE *f, const char *program) {
    fprintf(f, "usage: %s shipped [--model data/fr-en.ckpt] [--test data/fr-en/test.tsv] [--sentences 100]\n"
               "                      [--threads 1] [--ids FILE]\n"
               "       %s base [--tokens 30] [--sentences 3] [--threads 1] [--ids FILE] [--save FILE.ckpt]\n\n"
               "Decoding throughput (sentences/s and tokens/s), greedy and beam 4, with the KV cache and\n"
               "without it. shipped: the shipped model on the first test sentences, each output ending at\n"
               "its own </s>. base: a random model of the paper's base size on random 30-token sources,\n"
               "</s> forbidden so that every output is exactly --tokens long. --ids writes the sources and\n"
               "greedy outputs for lessons/09-inference/decode_torch.py; --save the base model's weights.\n"
               "One line per way, e.g. \"decode shipped greedy cache=on sentences=100 ... tok/s=1366\".\n",
            program, program);
}

// The command line, read and checked once, before anything is printed.
typedef struct {
    bool shipped;                        // the mode: shipped, or base
    const char *model, *test, *ids, *save;
    int threads, sentences, tokens;
} BenchOptions;

// Reads argv (mode first, then "--name value" pairs; check_options has vetted the names).
static BenchOptions read_options(int argc, char **argv) {
    BenchOptions o = {.shipped = strcmp(argv[1], "shipped") == 0};
    o.model = option(argc, argv, "--model", "data/fr-en.ckpt");
    o.test = option(argc, argv, "--test", "data/fr-en/test.tsv");
    o.ids = option(argc, argv, "--ids", "");
    o.save = option(argc, argv, "--save", "");
    o.threads = (int)option_long("--threads", option(argc, argv, "--threads", "1"), 1, 256);
    o.sentences = (int)option_long("--sentences", option(argc, argv, "--sentences", o.shipped ? "100" : "3"), 1, 100000);
    o.tokens = (int)option_long("--tokens", option(argc, argv, "--tokens", "30"), 1, 200);
    return o;
}

// The shipped model (or --model) on the test set's first --sentences sources.
static void bench_shipped(const BenchOptions *o) {
    Model m = {0};
    Tokenizer tok = {0};
    ErrorMessage err;
    if (!checkpoint_load(o->model, BEAM_SIZE_DEFAULT, &m, &tok, NULL, NULL, &err)) die("%s", err.text);
    Sources s = load_sources(o->test, &tok, o->sentences, m.config.max_len);
    printf("model %s: d_model %d, h %d, d_ff %d, N %d, V %d; %d test sentences\n", o->model, m.config.d_model,
           m.config.n_heads, m.config.d_ff, m.config.n_layers, m.config.vocab_size, s.n);
    time_all_ways(&m, &s, 0, "shipped", o->ids);
    free(s.ids), free(s.lengths);
    tokenizer_free(&tok);
    model_free(&m);
}

// A random base-size model, every output forced to --tokens tokens.
static void bench_base(const BenchOptions *o) {
    ModelConfig cfg = {.vocab_size = 8000, .d_model = 512, .n_heads = 8, .d_ff = 2048, .n_layers = 6,
                       .max_len = (o->tokens > 30 ? o->tokens : 30) + 1, .max_batch = BEAM_SIZE_DEFAULT,
                       .dropout = 0.1f};
    Rng rng;
    rng_seed(&rng, 1, 0);
    Model m;
    model_init(&m, &cfg, &rng);
    ErrorMessage err;
    if (o->save[0] && !checkpoint_save(o->save, &m, NULL, NULL, NULL, &err)) die("%s", err.text);
    Sources s = random_sources(o->sentences, 30, cfg.vocab_size, &rng);
    printf("model random (seed 1): d_model 512, h 8, d_ff 2048, N 6, V 8000; %d sources of 30 tokens, "
           "%d output tokens each (</s> forbidden)\n", o->sentences, o->tokens);
    time_all_ways(&m, &s, o->tokens, "base", o->ids);
    free(s.ids), free(s.lengths);
    model_free(&m);
}

// Reads the mode and options, then runs bench_shipped or bench_base.
int main(int argc, char **argv) {
    threads_wait_briefly(argv);
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout, argv[0]);
        return 0;
    }
    if (argc < 2 || (strcmp(argv[1], "shipped") != 0 && strcmp(argv[1], "base") != 0)) {
        if (argc < 2) usage(stderr, argv[0]);
        else fprintf(stderr, "decode_bench: expected 'shipped' or 'base' first, got '%s' (see --help)\n", argv[1]);
        return 1;
    }
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return usage(stdout, argv[0]), 0;
    check_options(argc, argv, strcmp(argv[1], "shipped") == 0 ? "--model --test --sentences --threads --ids"
                                                               : "--tokens --sentences --threads --ids --save");
    BenchOptions o = read_options(argc, argv);
#ifdef _OPENMP
    omp_set_num_threads(o.threads);
#endif
    printf("C decoding, %d thread%s (OMP_WAIT_POLICY=%s)\n", o.threads, o.threads == 1 ? "" : "s",
           getenv("OMP_WAIT_POLICY") ? getenv("OMP_WAIT_POLICY") : "unset");
    if (o.shipped)
        bench_shipped(&o);
    else
        bench_base(&o);
    return 0;
}
