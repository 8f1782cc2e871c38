// test_09_kvcache.c: incremental decoding with the KV cache (lesson 09) against the
// full-recompute reference, model_decode: the cached step's logits equal row t of the
// full decode at every position (padding in the sources, S != T, several layers), beam
// reordering by parent index gives the same logits as decoding the reordered prefixes
// from scratch, a start with one row copied to k rows works as beam search needs, and
// on the shipped fr-en model greedy, beam-4 and batch-greedy translations of test
// sentences are the same with the cache as with the full recompute.
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "decode.h"
#include "model.h"
#include "tensor.h"
#include "testutil.h"
#include "tokenizer.h"

#define TOL 1e-5f

// A small random model: 3 layers, 4 heads of d_k 6, source and target lengths differ.
static void make_model(Model *m, Rng *rng) {
    ModelConfig cfg = {.vocab_size = 37, .d_model = 24, .n_heads = 4, .d_ff = 40,
                       .n_layers = 3, .max_len = 12, .max_batch = 4, .dropout = 0.1f};
    rng_seed(rng, 7, 0);
    model_init(m, &cfg, rng);
}

// Random tokens 3..V-1 (no PAD, BOS, EOS) into n slots.
static void random_tokens(int *x, int n, int V, Rng *rng) {
    for (int i = 0; i < n; i++) x[i] = 3 + (int)rng_below(rng, (uint32_t)(V - 3));
}

// Decodes tgt (B,T) position by position with the cache, collecting each step's logits
// as row t, and compares them all with the full decode of the same batch (its logits
// (B,T,V)).
static void check_steps_against(Model *m, const int *tgt, int B, int T, const float *full) {
    const int V = m->config.vocab_size;
    float *cached = malloc(sizeof(float) * (size_t)B * T * V);
    int tokens[8];
    for (int t = 0; t < T; t++) {
        for (int b = 0; b < B; b++) tokens[b] = tgt[b * T + t];
        model_decode_step(m, tokens);
        for (int b = 0; b < B; b++)
            memcpy(cached + ((long)b * T + t) * V, m->decode.logits + (long)b * V,
                   sizeof(float) * V);
    }
    assert_arrays_close("cached step logits, every row and position", cached, full,
                        (long)B * T * V, TOL);
    free(cached);
}

// Every position of three sentences with padded sources (lengths 9, 4, 1 of S = 9).
static void test_cached_steps_equal_full_decode(void **state) {
    (void)state;
    Model m;
    Rng rng;
    make_model(&m, &rng);
    enum { B = 3, S = 9, T = 12 };
    const int V = m.config.vocab_size;
    int src[B * S], src_lengths[B] = {9, 4, 1}, tgt[B * T], tgt_lengths[B] = {T, T, T};
    random_tokens(src, B * S, V, &rng);
    random_tokens(tgt, B * T, V, &rng);
    for (int b = 0; b < B; b++) tgt[b * T] = TOKEN_BOS;
    model_encode(&m, src, src_lengths, B, S, false, NULL);
    model_decode(&m, tgt, tgt_lengths, T, false, NULL);
    float *full = malloc(sizeof(float) * B * T * V);
    memcpy(full, m.acts.logits, sizeof(float) * B * T * V);

    model_decode_start(&m);
    assert_int_equal(m.decode.t, 0);
    check_steps_against(&m, tgt, B, T, full);
    assert_int_equal(m.decode.t, T);
    // A second sentence batch reuses the same state from t = 0.
    model_encode(&m, src, src_lengths, B, S, false, NULL);
    model_decode_start(&m);
    check_steps_against(&m, tgt, B, T, full);
    free(full);
    model_free(&m);
    model_free(&m);  // safe twice, the decoding state included
}

// Beam search's pattern: encode one source, start with B = 1, copy row 0 to 3 rows,
// decode, then reorder by parents {2, 0, 0} (row 1 dropped, row 0 duplicated) and
// continue: every step must match the full decode of the reordered prefixes.
static void test_reorder_by_parent(void **state) {
    (void)state;
    Model m;
    Rng rng;
    make_model(&m, &rng);
    enum { K = 3, S = 7, T1 = 4, T = 9 };
    const int V = m.config.vocab_size;
    int src[S], src_len = 6, prefix[K][T];
    random_tokens(src, S, V, &rng);
    random_tokens(&prefix[0][0], K * T, V, &rng);
    for (int r = 0; r < K; r++) prefix[r][0] = TOKEN_BOS;

    model_encode(&m, src, &src_len, 1, S, false, NULL);
    model_decode_start(&m);
    int zeros[K] = {0, 0, 0};
    int bos = TOKEN_BOS;
    model_decode_step(&m, &bos);  // position 0 on one row, then three copies of it
    model_decode_reorder(&m, zeros, K);
    assert_int_equal(m.decode.B, K);
    int tokens[K];
    for (int t = 1; t < T1; t++) {
        for (int r = 0; r < K; r++) tokens[r] = prefix[r][t];
        model_decode_step(&m, tokens);
    }
    // The reordered hypotheses: new row r continues old row parents[r].
    const int parents[K] = {2, 0, 0};
    int reordered[K][T];
    for (int r = 0; r < K; r++)
        for (int t = 0; t < T; t++) reordered[r][t] = t < T1 ? prefix[parents[r]][t] : prefix[r][t];
    model_decode_reorder(&m, parents, K);

    // The reference: the full decoder over each reordered prefix, k rows of one source.
    model_encode(&m, src, &src_len, 1, S, false, NULL);
    model_repeat_memory(&m, K);
    int lengths[K] = {T, T, T};
    model_decode(&m, &reordered[0][0], lengths, T, false, NULL);
    float cached[K][T][37], full[K][T][37];  // positions T1..T-1 compared
    memset(cached, 0, sizeof cached);
    memset(full, 0, sizeof full);
    assert_int_equal(V, 37);
    for (int t = T1; t < T; t++) {
        for (int r = 0; r < K; r++) tokens[r] = reordered[r][t];
        model_decode_step(&m, tokens);
        for (int r = 0; r < K; r++) {
            memcpy(cached[r][t], m.decode.logits + (long)r * V, sizeof(float) * V);
            memcpy(full[r][t], m.acts.logits + ((long)r * T + t) * V, sizeof(float) * V);
        }
    }
    assert_arrays_close("logits after reordering by parents {2, 0, 0}", &cached[0][0][0],
                        &full[0][0][0], (long)K * T * V, TOL);
    // Shrinking the beam: keep rows 1 and 0 only; one more step (position T) matches the
    // full decode of those two prefixes extended by one token.
    const int keep[2] = {1, 0};
    model_decode_reorder(&m, keep, 2);
    assert_int_equal(m.decode.B, 2);
    int longer[2][T + 1], longer_lengths[2] = {T + 1, T + 1};
    for (int r = 0; r < 2; r++) {
        memcpy(longer[r], reordered[keep[r]], sizeof(int) * T);
        longer[r][T] = 5 + r;
        tokens[r] = longer[r][T];
    }
    model_decode_step(&m, tokens);
    model_encode(&m, src, &src_len, 1, S, false, NULL);
    model_repeat_memory(&m, 2);
    model_decode(&m, &longer[0][0], longer_lengths, T + 1, false, NULL);
    for (int r = 0; r < 2; r++)
        assert_arrays_close("logits after shrinking the beam to rows {1, 0}",
                            m.decode.logits + (long)r * V,
                            m.acts.logits + ((long)r * (T + 1) + T) * V, V, TOL);
    model_free(&m);
}

// Two hypotheses are the same translation: tokens, length, finished; scores to rounding.
// `what` names them in a failure ("sentence 3, beam hypothesis 2").
static void assert_same_hypothesis(const char *what, const Hypothesis *cached, const Hypothesis *full) {
    for (int t = 0; t < cached->length && t < full->length; t++)
        if (cached->tokens[t] != full->tokens[t])
            fail_msg("%s: token %d (from 0) is %d with the cache, %d with the full recompute", what, t,
                     cached->tokens[t], full->tokens[t]);
    if (cached->length != full->length || cached->finished != full->finished)
        fail_msg("%s: %d tokens (%s) with the cache, %d (%s) with the full recompute", what, cached->length,
                 cached->finished ? "finished" : "cut off", full->length, full->finished ? "finished" : "cut off");
    assert_float_equal(cached->log_prob, full->log_prob, 1e-4);
    assert_float_equal(cached->score, full->score, 1e-4);
}

// The first N_SENTENCES of data/fr-en/test.tsv, tokenized as source rows x + </s>,
// padded (N_SENTENCES, MAX_SRC) with their lengths.
enum { N_SENTENCES = 12, N_SEARCHED = 4, MAX_SRC = 40 };
static void read_test_sources(int *src, int *lengths, int *S, const Tokenizer *tok) {
    FILE *f = fopen("data/fr-en/test.tsv", "r");
    assert_non_null(f);
    char line[512];
    *S = 1;
    memset(src, 0, sizeof(int) * N_SENTENCES * MAX_SRC);
    for (int i = 0; i < N_SENTENCES; i++) {
        assert_non_null(fgets(line, sizeof line, f));
        size_t n = strcspn(line, "\t");
        int len = tokenizer_encode(tok, line, n, src + i * MAX_SRC, MAX_SRC - 1);
        assert_true(len >= 0 && len < MAX_SRC - 1);
        src[i * MAX_SRC + len++] = TOKEN_EOS;
        lengths[i] = len;
        if (len > *S) *S = len;
    }
    fclose(f);
}

// Greedy, beam 4 and batch greedy on the shipped model: the cache changes no output.
static void test_translations_same_with_cache(void **state) {
    (void)state;
    Model m = {0};
    Tokenizer tok = {0};
    ErrorMessage err;
    if (!checkpoint_load("data/fr-en.ckpt", N_SENTENCES, &m, &tok, NULL, NULL, &err))
        fail_msg("%s", err.text);
    int src[N_SENTENCES * MAX_SRC], lengths[N_SENTENCES], S;
    read_test_sources(src, lengths, &S, &tok);
    for (int i = 0; i < N_SEARCHED; i++) {  // (the full beam search is slow under ASan)
        const int *row = src + i * MAX_SRC;
        Hypothesis cached, full, cached_beam[4], full_beam[4];
        m.decode.full_recompute = false;
        decode_greedy(&cached, &m, row, lengths[i]);
        int n_cached = decode_beam(cached_beam, 4, &m, row, lengths[i], 4, LENGTH_PENALTY_DEFAULT);
        m.decode.full_recompute = true;
        decode_greedy(&full, &m, row, lengths[i]);
        int n_full = decode_beam(full_beam, 4, &m, row, lengths[i], 4, LENGTH_PENALTY_DEFAULT);
        assert_true(cached.finished && cached.length > 0);  // a real translation
        char what[64];
        snprintf(what, sizeof what, "sentence %d, greedy", i + 1);
        assert_same_hypothesis(what, &cached, &full);
        assert_int_equal(n_cached, n_full);
        for (int h = 0; h < n_full; h++) {
            snprintf(what, sizeof what, "sentence %d, beam hypothesis %d", i + 1, h + 1);
            assert_same_hypothesis(what, &cached_beam[h], &full_beam[h]);
        }
    }
    // The whole batch at once: rows leave the cached batch as they finish.
    int padded[N_SENTENCES * 64], out_cached[N_SENTENCES * 64], out_full[N_SENTENCES * 64];
    int len_cached[N_SENTENCES], len_full[N_SENTENCES];
    for (int i = 0; i < N_SENTENCES; i++) memcpy(padded + i * S, src + i * MAX_SRC, sizeof(int) * S);
    m.decode.full_recompute = false;
    decode_greedy_batch(out_cached, len_cached, &m, padded, lengths, N_SENTENCES, S, 64);
    m.decode.full_recompute = true;
    decode_greedy_batch(out_full, len_full, &m, padded, lengths, N_SENTENCES, S, 64);
    assert_memory_equal(len_cached, len_full, sizeof len_full);
    for (int i = 0; i < N_SENTENCES; i++)
        assert_memory_equal(out_cached + i * 64, out_full + i * 64, sizeof(int) * len_full[i]);
    tokenizer_free(&tok);
    model_free(&m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cached_steps_equal_full_decode),
        cmocka_unit_test(test_reorder_by_parent),
        cmocka_unit_test(test_translations_same_with_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
