// kvcache_demo.c (lesson 09): time per decoded token against its position, with and
// without the KV cache, on a randomly initialised model of the paper's base size
// (d_model 512, h 8, d_ff 2048, N 6; V 8000) translating one 30-token source. Without
// the cache, position t reruns the decoder over all t+1 positions (model_decode); with
// it, one decoder step computes only position t (model_decode_step). Both give the same
// logits (tests/test_09_kvcache.c); here we only time them.
//
//   build/kvcache_demo [--small] [positions] [--data FILE] [--help]
//
// --data FILE also writes every position's two times, "position full_ms cached_ms" per
// line, for the chart of `make bench` (viz/plot/bench_plot.c).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "common.h"
#include "model.h"
#include "rng.h"
#include "tensor.h"

// Milliseconds one full-recompute step takes at position t: model_decode over the
// prefix tokens[0..t] of one row.
static double full_step_ms(Model *m, const int *tokens, int t) {
    int len = t + 1;
    double start = wall_seconds();
    model_decode(m, tokens, &len, len, false, NULL);
    return 1e3 * (wall_seconds() - start);
}

// Milliseconds one cached step takes (position m->decode.t, token tokens[t]).
static double cached_step_ms(Model *m, const int *tokens, int t) {
    double start = wall_seconds();
    model_decode_step(m, tokens + t);
    return 1e3 * (wall_seconds() - start);
}

// Decodes `positions` tokens of one sentence both ways and prints the time per token
// every `every` positions, and the totals.
int main(int argc, char **argv) {
    threads_wait_briefly(argv);
#ifdef _OPENMP
    omp_set_num_threads(1);  // one sentence: too little work to share (as `translate`)
#endif
    bool small = false;
    int positions = 60;
    const char *data_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: %s [--small] [POSITIONS] [--data FILE]\n\n"
                   "Time per decoded token against its position, without the KV cache (model_decode\n"
                   "reruns the decoder over the whole prefix) and with it (model_decode_step computes\n"
                   "one position), on a randomly initialised model translating one 30-token source.\n\n"
                   "  POSITIONS    tokens to decode, 1..200 (default 60)\n"
                   "  --small      d_model 128, h 4, d_ff 512, N 3 instead of the paper's base size\n"
                   "  --data FILE  also write \"position full_ms cached_ms\" per line (make bench's chart)\n",
                   argv[0]);
            return 0;
        } else if (strcmp(argv[i], "--small") == 0) {
            small = true;
        } else if (strcmp(argv[i], "--data") == 0) {
            if (i + 1 >= argc) die("--data expects a file name");
            data_path = argv[++i];
        } else if (argv[i][0] != '-') {
            positions = (int)option_long("POSITIONS", argv[i], 1, 200);
        } else {
            die("unknown option '%s' (see %s --help)", argv[i], argv[0]);
        }
    }
    FILE *data = data_path ? xfopen(data_path, "w") : NULL;
    ModelConfig cfg = {.vocab_size = 8000, .d_model = small ? 128 : 512, .n_heads = small ? 4 : 8,
                       .d_ff = small ? 512 : 2048, .n_layers = small ? 3 : 6,
                       .max_len = (positions > 30 ? positions : 30) + 1, .max_batch = 1, .dropout = 0.1f};
    Rng rng;
    rng_seed(&rng, 1, 0);
    Model m;
    model_init(&m, &cfg, &rng);
    enum { S = 30 };
    int src[S], src_len = S, *tokens = xmalloc(sizeof(int) * (size_t)positions);
    for (int i = 0; i < S; i++) src[i] = 3 + (int)rng_below(&rng, 7000);
    for (int t = 0; t < positions; t++) tokens[t] = t == 0 ? 1 : 3 + (int)rng_below(&rng, 7000);
    model_encode(&m, src, &src_len, 1, S, false, NULL);
    model_decode_start(&m);
    printf("d_model %d, h %d, d_ff %d, N %d, V %d; source %d tokens, one sentence, 1 thread\n",
           cfg.d_model, cfg.n_heads, cfg.d_ff, cfg.n_layers, cfg.vocab_size, S);
    printf("position   full recompute ms   with the cache ms   ratio\n");
    double total_full = 0, total_cached = 0;
    for (int t = 0; t < positions; t++) {
        double full = full_step_ms(&m, tokens, t), cached = cached_step_ms(&m, tokens, t);
        total_full += full, total_cached += cached;
        if (data) fprintf(data, "%d %.3f %.3f\n", t + 1, full, cached);
        if (t % 10 == 9 || t == 0)
            printf("%8d   %17.2f   %17.2f   %5.1fx\n", t + 1, full, cached, full / cached);
    }
    printf("all %d tokens: %.0f ms without the cache, %.0f ms with it (%.1fx)\n", positions,
           total_full, total_cached, total_full / total_cached);
    if (data) xfclose(data);
    free(tokens);
    model_free(&m);
    return 0;
}
