// test_08_decode.c: greedy and beam search (§6.1), first on hand-made next-token
// distributions whose numbers can be checked on paper, then on a tiny random model.
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "decode.h"
#include "model.h"
#include "rng.h"
#include "testutil.h"
#include "tokenizer.h"

// Vocabulary of the hand-made scorers: 0 <pad>, 1 <s>, 2 </s>, 3 "a", 4 "b".
enum { A = 3, Bt = 4, V_HAND = 5 };

static void set_probs(float *log_probs, float eos, float a, float b) {
    log_probs[TOKEN_PAD] = -INFINITY;
    log_probs[TOKEN_BOS] = -INFINITY;
    log_probs[TOKEN_EOS] = logf(eos);
    log_probs[A] = logf(a);
    log_probs[Bt] = logf(b);
}

// A tree chosen so that the length penalty decides the winner:
//   after <s>:     </s> 0.36   a 0.34   b 0.30
//   after <s> a:   </s> 0.98   a 0.01   b 0.01
//   anything else: </s> 0.50   a 0.25   b 0.25
static void tree_scorer(void *ctx, const int *prefixes, int k, int t, float *log_probs) {
    (void)ctx;
    for (int r = 0; r < k; r++) {
        const int *p = prefixes + r * t;
        float *lp = log_probs + r * V_HAND;
        assert_int_equal(p[0], TOKEN_BOS);
        if (t == 1) set_probs(lp, 0.36f, 0.34f, 0.30f);
        else if (t == 2 && p[1] == A) set_probs(lp, 0.98f, 0.01f, 0.01f);
        else set_probs(lp, 0.50f, 0.25f, 0.25f);
    }
}

// Wu et al.'s lp(Y) = ((5+|Y|)/6)^α, worked by hand:
//   lp(1) = (6/6)^α = 1 for every α;  lp(4, 0.6) = 1.5^0.6 = e^(0.6·ln 1.5) = 1.275425;
//   lp(2, 0.6) = (7/6)^0.6 = 1.096903;  α = 0 gives 1.
// hint: (5 + length) / 6, raised to the power α; lp(1) must be exactly 1.
static void test_length_penalty_by_hand(void **state) {
    (void)state;
    assert_float_equal(length_penalty(1, 0.6f), 1.0f, 1e-6);
    assert_float_equal(length_penalty(4, 0.6f), 1.275425f, 1e-5);
    assert_float_equal(length_penalty(2, 0.6f), 1.096903f, 1e-5);
    assert_float_equal(length_penalty(7, 0.0f), 1.0f, 1e-6);
}

// Beam 2 on the tree. Step 1 keeps the best two of {</s> .36, a .34, b .30}: "</s>"
// finishes with log 0.36 = -1.021651, "a" stays live. Step 2 keeps one extension of
// "<s> a": "a </s>" with log .34 + log .98 = -1.099012, |Y| = 2.
//   α = 0.6: scores -1.021651 / 1 and -1.099012 / 1.096903 = -1.001923 -> "a" wins.
//   α = 0:   -1.021651 > -1.099012 -> the empty translation wins.
// hint: a finished hypothesis is scored log_prob / length_penalty(t, alpha) where t
// counts the </s>; the search keeps candidates by log_prob, the final ranking is by score.
static void test_beam_length_penalty_decides(void **state) {
    (void)state;
    Scorer scorer = {V_HAND, 4, tree_scorer, NULL};
    Hypothesis h[4];
    int n = beam_search(h, 4, &scorer, 2, 0.6f, 10);
    assert_int_equal(n, 2);
    assert_int_equal(h[0].length, 1);
    assert_int_equal(h[0].tokens[0], A);
    assert_true(h[0].finished);
    assert_float_equal(h[0].log_prob, -1.099012f, 1e-5);
    assert_float_equal(h[0].score, -1.001923f, 1e-5);
    assert_int_equal(h[1].length, 0);
    assert_float_equal(h[1].log_prob, -1.021651f, 1e-5);
    assert_float_equal(h[1].score, -1.021651f, 1e-5);

    n = beam_search(h, 4, &scorer, 2, 0.0f, 10);
    assert_int_equal(n, 2);
    assert_int_equal(h[0].length, 0);  // without the penalty the short one wins
    assert_float_equal(h[0].score, -1.021651f, 1e-5);
    assert_int_equal(h[1].length, 1);
    assert_float_equal(h[1].score, -1.099012f, 1e-5);
}

// Greedy takes </s> (0.36) at once: the empty output, though "a </s>" is better under
// the length penalty; beam 1 is the same search and must agree.
// hint: a candidate's log-probability is its parent's plus the token's log p; never
// offer <pad> or <s> (token_allowed).
static void test_greedy_on_tree(void **state) {
    (void)state;
    Scorer scorer = {V_HAND, 1, tree_scorer, NULL};
    Hypothesis g, b;
    greedy_search(&g, &scorer, 10, 0.6f);
    assert_int_equal(g.length, 0);
    assert_true(g.finished);
    assert_float_equal(g.log_prob, -1.021651f, 1e-5);
    assert_int_equal(beam_search(&b, 1, &scorer, 1, 0.6f, 10), 1);
    assert_int_equal(b.length, 0);
    assert_float_equal(b.log_prob, g.log_prob, 0.0f);
}

// A pseudo-random but fixed distribution for each prefix (a hash of the prefix seeds an
// Rng), over V = 12 tokens with </s> made rarer early on, so hypotheses differ in length.
enum { V_RAND = 12 };
typedef struct {
    uint64_t salt;
    bool never_end;  // </s> gets probability ~0: tests the length limit
} RandomScorer;

static void random_scorer(void *ctx, const int *prefixes, int k, int t, float *log_probs) {
    RandomScorer *s = ctx;
    for (int r = 0; r < k; r++) {
        uint64_t h = s->salt * 0x9e3779b97f4a7c15ULL + 1;
        for (int i = 0; i < t; i++) h = (h ^ (uint64_t)prefixes[r * t + i]) * 0x100000001b3ULL;
        Rng rng;
        rng_seed(&rng, h, 3);
        float *lp = log_probs + r * V_RAND;
        double z = 0;
        float w[V_RAND];
        for (int y = 0; y < V_RAND; y++) {
            w[y] = expf(2.0f * rng_normal(&rng));
            if (y == TOKEN_EOS) w[y] *= s->never_end ? 1e-30f : 0.15f * (float)t;
            z += w[y];
        }
        for (int y = 0; y < V_RAND; y++) lp[y] = logf((float)(w[y] / z));
    }
}

// Beam 1 is greedy search, token for token and to the last bit of the log-probability,
// on 200 different random trees.
// hint: with beam 1, each step keeps the single best extension of the single live
// hint: prefix: the same choice greedy makes. A different length or token: a candidate
// hint: the search should not consider (a special token such as <s> or <pad>, which
// hint: token_allowed rules out, or a -inf/NaN score) was kept, or ties went to another
// hint: token than the lower id.
static void test_beam_one_equals_greedy(void **state) {
    (void)state;
    for (int salt = 0; salt < 200; salt++) {
        RandomScorer ctx = {(uint64_t)salt, false};
        Scorer scorer = {V_RAND, 1, random_scorer, &ctx};
        Hypothesis g, b;
        greedy_search(&g, &scorer, 20, 0.6f);
        assert_int_equal(beam_search(&b, 1, &scorer, 1, 0.6f, 20), 1);
        assert_int_equal(g.length, b.length);
        assert_memory_equal(g.tokens, b.tokens, sizeof(int) * (size_t)g.length);
        assert_true(g.finished == b.finished);
        assert_float_equal(g.log_prob, b.log_prob, 0.0f);
        assert_float_equal(g.score, b.score, 0.0f);
    }
}

// Recomputes a hypothesis' log-probability token by token with the scorer: the search's
// bookkeeping (which parent each survivor came from) must match the path it reports.
static double path_log_prob(const Scorer *scorer, const Hypothesis *h) {
    int prefix[DECODE_MAX_TOKENS + 1];
    float lp[V_RAND];
    double sum = 0;
    prefix[0] = TOKEN_BOS;
    for (int i = 0; i <= h->length; i++) {
        if (i == h->length && !h->finished) break;
        scorer->next_log_probs(scorer->ctx, prefix, 1, i + 1, lp);
        int y = i < h->length ? h->tokens[i] : TOKEN_EOS;
        sum += lp[y];
        prefix[i + 1] = y;
    }
    return sum;
}

// Beam 4: hypotheses come best-first, each score is log_prob / lp(|Y|) with |Y| counting
// </s>, each log_prob is the true probability of its path, and outputs hold no specials.
// hint: a live row of next_prefixes is the WHOLE parent prefix (t ints, <s> first) followed
// by the new token; a finished one copies the parent without its <s>.
static void test_beam_scores_sorted_and_consistent(void **state) {
    (void)state;
    for (int salt = 0; salt < 100; salt++) {
        RandomScorer ctx = {(uint64_t)salt + 1000, false};
        Scorer scorer = {V_RAND, 4, random_scorer, &ctx};
        Hypothesis h[4];
        int n = beam_search(h, 4, &scorer, 4, 0.6f, 25);
        assert_true(n >= 1 && n <= 4);
        for (int i = 0; i < n; i++) {
            if (i > 0) assert_true(h[i - 1].score >= h[i].score);
            int len = h[i].length + (h[i].finished ? 1 : 0);
            assert_float_equal(h[i].score, h[i].log_prob / length_penalty(len, 0.6f), 1e-5);
            assert_float_equal(h[i].log_prob, (float)path_log_prob(&scorer, &h[i]), 1e-4);
            for (int j = 0; j < h[i].length; j++) assert_true(h[i].tokens[j] > TOKEN_EOS);
        }
    }
}

// With </s> (almost) impossible, every hypothesis stops at the length limit, unfinished,
// with exactly max_tokens tokens.
// hint: n_next counts only the candidates that did not end in </s>.
static void test_length_limit(void **state) {
    (void)state;
    RandomScorer ctx = {7, true};
    Scorer scorer = {V_RAND, 4, random_scorer, &ctx};
    Hypothesis h[4];
    int n = beam_search(h, 4, &scorer, 4, 0.6f, 6);
    assert_int_equal(n, 4);
    for (int i = 0; i < n; i++) {
        assert_false(h[i].finished);
        assert_int_equal(h[i].length, 6);
        assert_float_equal(h[i].score, h[i].log_prob / length_penalty(6, 0.6f), 1e-6);
    }
    Hypothesis g;
    greedy_search(&g, &scorer, 6, 0.6f);
    assert_false(g.finished);
    assert_int_equal(g.length, 6);
}


// ---- with a tiny random model ------------------------------------------------------------

typedef struct {
    Model m;
} TinyModel;

static int setup_tiny(void **state) {
    TinyModel *t = xcalloc(1, sizeof *t);
    ModelConfig cfg = {.vocab_size = 12, .d_model = 16, .n_heads = 2, .d_ff = 32, .n_layers = 2,
                       .max_len = 10, .max_batch = 8, .dropout = 0.1f};
    Rng rng;
    // Seed 21 gives an untrained model whose outputs include finished (</s>) and cut-off
    // hypotheses, and a beam that differs from greedy on some sources: every branch runs.
    rng_seed(&rng, 21, 0);
    model_init(&t->m, &cfg, &rng);
    *state = t;
    return 0;
}

static int teardown_tiny(void **state) {
    TinyModel *t = *state;
    model_free(&t->m);
    free(t);
    return 0;
}

static const int tiny_sources[3][6] = {
    {5, 7, 3, 9, TOKEN_EOS}, {4, 4, 11, TOKEN_EOS}, {8, 6, 10, 3, 7, TOKEN_EOS}};
static const int tiny_lengths[3] = {5, 4, 6};

// log p(hypothesis) recomputed in one teacher-forced pass: <s> y1 .. yn (</s>) in, the
// log-softmax of each position's logits at the next token summed.
static double teacher_forced_log_prob(Model *m, const int *src, int S, const Hypothesis *h) {
    int tgt[DECODE_MAX_TOKENS + 2], T = 0;
    tgt[T++] = TOKEN_BOS;
    for (int i = 0; i < h->length; i++) tgt[T++] = h->tokens[i];
    int n_scored = h->length + (h->finished ? 1 : 0);
    if (T > m->config.max_len) T = m->config.max_len;
    model_forward(m, &(ModelBatch){.src = src, .src_lengths = &S,
                                   .tgt = tgt, .tgt_lengths = &T,
                                   .B = 1, .S = S, .T = T},
                  false, NULL);
    const int V = m->config.vocab_size;
    double sum = 0;
    for (int i = 0; i < n_scored; i++) {
        const float *z = m->acts.logits + (long)i * V;
        double max = z[0], den = 0;
        for (int y = 1; y < V; y++) max = z[y] > max ? z[y] : max;
        for (int y = 0; y < V; y++) den += exp(z[y] - max);
        int next = i < h->length ? h->tokens[i] : TOKEN_EOS;
        sum += z[next] - max - log(den);
    }
    return sum;
}

// Beam 1 = greedy, and beam 4 sorted and scored right with each log_prob equal to a
// teacher-forced pass, on the tiny model decoding the way m->decode.full_recompute says.
static void check_beam_and_greedy(Model *m, const char *way) {
    int n_finished = 0, n_cut = 0, n_differ = 0;
    for (int s = 0; s < 3; s++) {
        const int *src = tiny_sources[s];
        int S = tiny_lengths[s];
        Hypothesis g, b1, h[4];
        decode_greedy(&g, m, src, S);
        assert_int_equal(decode_beam(&b1, 1, m, src, S, 1, 0.6f), 1);
        assert_int_equal(g.length, b1.length);
        assert_memory_equal(g.tokens, b1.tokens, sizeof(int) * (size_t)g.length);
        assert_float_equal(g.log_prob, b1.log_prob, 1e-6);
        assert_true(g.length <= decode_max_tokens(m, S));

        int n = decode_beam(h, 4, m, src, S, 4, 0.6f);
        assert_true(n >= 1);
        for (int i = 0; i < n; i++) {
            if (i > 0) assert_true(h[i - 1].score >= h[i].score);
            int len = h[i].length + (h[i].finished ? 1 : 0);
            assert_float_equal(h[i].score, h[i].log_prob / length_penalty(len, 0.6f), 1e-5);
            double tf = teacher_forced_log_prob(m, src, S, &h[i]);
            assert_float_equal(h[i].log_prob, (float)tf, 1e-3);
        }
        for (int i = 0; i < n; i++) n_finished += h[i].finished, n_cut += !h[i].finished;
        n_differ += h[0].length != g.length || memcmp(h[0].tokens, g.tokens, sizeof(int) * (size_t)g.length) != 0;
        printf("%s, source %d: greedy %d tokens (score %.3f), beam best %d tokens (score %.3f), %d hypotheses\n",
               way, s, g.length, (double)g.score, h[0].length, (double)h[0].score, n);
    }
    assert_true(n_finished > 0 && n_cut > 0 && n_differ > 0);  // all the cases were exercised
}

// On the model, with the KV cache (the default) and with the full recompute: beam 1 gives
// greedy's output exactly; beam 4's hypotheses are sorted, scored log_prob / lp, and each
// log_prob is what one teacher-forced pass over the hypothesis gives (so the cache's
// reordering, or model_repeat_memory, and the shrinking beam kept rows straight).
static void test_model_beam_and_greedy(void **state) {
    Model *m = &((TinyModel *)*state)->m;
    check_beam_and_greedy(m, "KV cache");
    m->decode.full_recompute = true;
    check_beam_and_greedy(m, "full recompute");
    m->decode.full_recompute = false;
}

// Batched greedy decoding (validation) gives each row what decoding it alone gives.
static void test_model_batch_greedy_matches_single(void **state) {
    Model *m = &((TinyModel *)*state)->m;
    enum { B = 3, S = 6, MAXT = 10 };
    int src[B * S] = {0}, out[B * MAXT], out_len[B], lengths[B];
    for (int b = 0; b < B; b++) {
        memcpy(src + b * S, tiny_sources[b], sizeof(int) * (size_t)tiny_lengths[b]);
        lengths[b] = tiny_lengths[b];
    }
    decode_greedy_batch(out, out_len, m, src, lengths, B, S, MAXT);
    for (int b = 0; b < B; b++) {
        Hypothesis g;
        decode_greedy(&g, m, tiny_sources[b], tiny_lengths[b]);
        assert_int_equal(out_len[b], g.length);
        assert_memory_equal(out + b * MAXT, g.tokens, sizeof(int) * (size_t)g.length);
    }
}

// A scorer whose every log-probability is the float in *ctx (NaN, -inf ...).
static void constant_scorer(void *ctx, const int *prefixes, int k, int t, float *log_probs) {
    (void)prefixes, (void)t;
    for (int i = 0; i < k * V_HAND; i++) log_probs[i] = *(const float *)ctx;
}

// When every candidate is NaN or -inf, beam search returns one empty, unfinished
// hypothesis scored -inf (it once returned 0 hypotheses, and its callers read an
// uninitialised one), and greedy search stops instead of choosing a NaN.
// hint: a candidate whose score is -inf or NaN is never kept (test it with isfinite or
// hint: `score > -INFINITY`, which is false for NaN too); when no live prefix has a usable
// hint: candidate, the search stops and returns what it has.
static void test_search_with_nothing_usable(void **state) {
    (void)state;
    float values[] = {NAN, -INFINITY};
    for (int i = 0; i < 2; i++) {
        Scorer scorer = {V_HAND, 4, constant_scorer, &values[i]};
        Hypothesis h[4];
        memset(h, 0x55, sizeof h);  // garbage, as an uninitialised array would hold
        int n = beam_search(h, 4, &scorer, 4, 0.6f, 10);
        assert_int_equal(n, 1);
        assert_int_equal(h[0].length, 0);
        assert_false(h[0].finished);
        assert_true(h[0].score == -INFINITY && h[0].log_prob == -INFINITY);
        Hypothesis g;
        greedy_search(&g, &scorer, 10, 0.6f);
        assert_int_equal(g.length, 0);
        assert_false(g.finished);
        assert_true(g.log_prob == -INFINITY);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_length_penalty_by_hand),
        cmocka_unit_test(test_beam_length_penalty_decides),
        cmocka_unit_test(test_greedy_on_tree),
        cmocka_unit_test(test_beam_one_equals_greedy),
        cmocka_unit_test(test_beam_scores_sorted_and_consistent),
        cmocka_unit_test(test_length_limit),
        cmocka_unit_test(test_search_with_nothing_usable),
        cmocka_unit_test_setup_teardown(test_model_beam_and_greedy, setup_tiny, teardown_tiny),
        cmocka_unit_test_setup_teardown(test_model_batch_greedy_matches_single, setup_tiny, teardown_tiny),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
