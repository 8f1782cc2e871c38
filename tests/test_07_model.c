// test_07_model.c: the whole Transformer (Figure 1): parameter counts (Table 3), parity
// with a PyTorch model of the same weights (tests/fixtures/model.txt), finite-difference
// checks of every parameter group through the whole model with padding, S != T and
// dropout, dropout determinism, beam-search memory reuse, and the attention maps.
#include "decoder.h"
#include "encoder.h"
#include "model.h"
#include "tensor.h"
#include "test_06_helpers.h"

// Base model, Table 3 (d_model 512, h 8, d_ff 2048, N 6) with a 37000-token vocabulary:
//   embedding           37000·512                              = 18,944,000
//   attention sub-layer 4·512² + 4·512                         =  1,050,624
//   feed-forward        2·512·2048 + 2048 + 512                =  2,099,712
//   encoder layer       attention + FFN + 2 norms·2·512        =  3,152,384
//   decoder layer       2 attentions + FFN + 3 norms·2·512     =  4,204,032
//   total               18,944,000 + 6·3,152,384 + 6·4,204,032 = 63,082,496
// The paper rounds its count to 65M (Table 3); it does not say how it counted.
static void test_param_count_base_model(void **state) {
    (void)state;
    ModelConfig base = {.vocab_size = 37000, .d_model = 512, .n_heads = 8, .d_ff = 2048,
                        .n_layers = 6, .max_len = 256, .max_batch = 1, .dropout = 0.1f};
    ModelParamCounts c = model_param_counts(&base);
    assert_int_equal(c.embedding, 18944000L);
    assert_int_equal(c.encoder_self_attention, 6L * 1050624);
    assert_int_equal(c.decoder_cross_attention, 6L * 1050624);
    assert_int_equal(c.encoder_feed_forward, 6L * 2099712);
    assert_int_equal(c.decoder_layer_norm, 6L * 3 * 1024);
    assert_int_equal(c.total, 63082496L);
    assert_int_equal(model_param_count(&base), 63082496L);
}

// Bad configurations are rejected with a message, before anything is allocated.
static void test_config_validation(void **state) {
    (void)state;
    ModelConfig ok = {.vocab_size = 16, .d_model = 8, .n_heads = 2, .d_ff = 16, .n_layers = 1,
                      .max_len = 8, .max_batch = 2, .dropout = 0.1f};
    ErrorMessage err;
    assert_true(model_config_valid(&ok, &err));
    ModelConfig bad = ok;
    bad.n_heads = 3;
    assert_false(model_config_valid(&bad, &err));
    assert_non_null(strstr(err.text, "multiple of n_heads"));
    bad = ok, bad.dropout = 1.0f;
    assert_false(model_config_valid(&bad, &err));
    bad = ok, bad.d_model = 9, bad.n_heads = 3;  // d_model must be even (§3.5)
    assert_false(model_config_valid(&bad, &err));
    bad = ok, bad.max_batch = 0;
    assert_false(model_config_valid(&bad, &err));
}

// A tiny model whose parameter buffer matches the count, whose init follows the
// documented scheme, and which can be freed twice.
static void test_init_and_free(void **state) {
    (void)state;
    ModelConfig cfg = {.vocab_size = 50, .d_model = 16, .n_heads = 4, .d_ff = 32,
                       .n_layers = 2, .max_len = 10, .max_batch = 3, .dropout = 0.1f};
    Rng rng;
    rng_seed(&rng, 1, 0);
    Model m;
    model_init(&m, &cfg, &rng);
    assert_int_equal(m.params.n, model_param_count(&cfg));
    double sq = 0;
    long ne = (long)cfg.vocab_size * cfg.d_model;
    for (long i = 0; i < ne; i++) sq += (double)m.params.w.embedding[i] * m.params.w.embedding[i];
    // Embedding entries ~ N(0, 1/d_model): mean square 1/16 = 0.0625 (800 samples, ±15%).
    assert_true(fabs(sq / ne - 0.0625) < 0.0625 * 0.15);
    for (int l = 0; l < cfg.n_layers; l++) {
        EncoderLayerWeights *e = &m.params.w.enc[l];
        DecoderLayerWeights *d = &m.params.w.dec[l];
        assert_float_equal(e->ln1.gain[3], 1.0f, 0.0f);
        assert_float_equal(d->ln3.bias[5], 0.0f, 0.0f);
        assert_float_equal(d->cross_attn.b_k[0], 0.0f, 0.0f);
        float a = sqrtf(6.0f / 32.0f), big = 0;  // Xavier bound for (16,16)
        for (int i = 0; i < 256; i++) big = fmaxf(big, fabsf(e->self_attn.w_q[i]));
        assert_true(big <= a && big > 0.8f * a);
    }
    for (long i = 0; i < m.params.n; i++) assert_float_equal(m.params.grads[i], 0.0f, 0.0f);
    model_free(&m);
    model_free(&m);  // safe twice
    assert_null(m.params.values);
}

// ---- parity with PyTorch ----------------------------------------------------------

typedef struct {
    Fixture *fx;
    ModelConfig cfg;
    int B, S, T;
    int src[64], tgt[64], src_lengths[8], tgt_lengths[8];
} ModelFixture;

static void load_model_fixture(ModelFixture *f, Model *m) {
    f->fx = fixture_load("tests/fixtures/model.txt");
    float *c = fixture_get(f->fx, "config", 9);
    f->cfg = (ModelConfig){.vocab_size = (int)c[0], .d_model = (int)c[1], .n_heads = (int)c[2],
                           .d_ff = (int)c[3], .n_layers = (int)c[4], .max_len = (int)c[5],
                           .max_batch = (int)c[6], .dropout = 0.1f};
    f->B = (int)c[6], f->S = (int)c[7], f->T = (int)c[8];
    assert_true(f->B * f->S <= 64 && f->B * f->T <= 64 && f->B <= 8);
    float *src = fixture_get(f->fx, "src", (long)f->B * f->S);
    float *tgt = fixture_get(f->fx, "tgt", (long)f->B * f->T);
    float *sl = fixture_get(f->fx, "src_lengths", f->B), *tl = fixture_get(f->fx, "tgt_lengths", f->B);
    for (int i = 0; i < f->B * f->S; i++) f->src[i] = (int)src[i];
    for (int i = 0; i < f->B * f->T; i++) f->tgt[i] = (int)tgt[i];
    for (int b = 0; b < f->B; b++) f->src_lengths[b] = (int)sl[b], f->tgt_lengths[b] = (int)tl[b];
    Rng rng;
    rng_seed(&rng, 1, 0);
    model_init(m, &f->cfg, &rng);
    memcpy(m->params.values, fixture_get(f->fx, "params", m->params.n), sizeof(float) * (size_t)m->params.n);
}

// Logits and every parameter gradient match PyTorch (dropout off = evaluation mode).
// hint: the whole model uses your decoder layer and generator (and your lesson-06 parts
// once that lesson is done). Fix tests/test_07_decoder first: a wrong mask, a swapped
// query/memory in the cross-attention or logits not overwritten shows up here.
static void test_model_matches_pytorch(void **state) {
    (void)state;
    ModelFixture f;
    Model m;
    load_model_fixture(&f, &m);
    model_forward(&m, &(ModelBatch){.src = f.src, .src_lengths = f.src_lengths,
                                    .tgt = f.tgt, .tgt_lengths = f.tgt_lengths,
                                    .B = f.B, .S = f.S, .T = f.T},
                  false, NULL);
    long nl = (long)f.B * f.T * f.cfg.vocab_size;
    float e_logits = assert_parity("logits", m.acts.logits, fixture_get(f.fx, "logits", nl), nl, 1e-4f, 0.0f);
    model_zero_grad(&m);
    model_backward(&m, fixture_get(f.fx, "dlogits", nl));
    float *expected = fixture_get(f.fx, "grads", m.params.n);
    // Group by group, so a failure names the parameter.
    ParamGroup groups[1 + 16 * 4 + 26 * 4];
    int n = add_group(groups, 0, "", "embedding", m.params.w.embedding, m.params.dw.embedding,
                      (long)f.cfg.vocab_size * f.cfg.d_model);
    char prefix[32];
    for (int l = 0; l < f.cfg.n_layers; l++) {
        snprintf(prefix, sizeof prefix, "enc%d.", l + 1);  // layers count from 1
        n = encoder_layer_groups(groups, n, prefix, &m.params.w.enc[l], &m.params.dw.enc[l], f.cfg.d_model, f.cfg.d_ff);
    }
    for (int l = 0; l < f.cfg.n_layers; l++) {
        snprintf(prefix, sizeof prefix, "dec%d.", l + 1);
        n = decoder_layer_groups(groups, n, prefix, &m.params.w.dec[l], &m.params.dw.dec[l], f.cfg.d_model, f.cfg.d_ff);
    }
    float worst = 0;
    long covered = 0;
    for (int g = 0; g < n; g++) {
        float e = assert_parity(groups[g].name, groups[g].grad,
                                expected + (groups[g].grad - m.params.grads), groups[g].n, 1e-4f, 1e-3f);
        worst = fmaxf(worst, e);
        covered += groups[g].n;
    }
    assert_int_equal(covered, m.params.n);  // every parameter compared
    print_message("  vs PyTorch: logits %.2e, gradients of all %ld parameters %.2e (max abs)\n",
                  (double)e_logits, m.params.n, (double)worst);
    model_free(&m);
    fixture_free(f.fx);
}

// ---- finite differences through the whole model ------------------------------------

typedef struct {
    Model m;
    int B, S, T;
    int src[32], tgt[32], src_lengths[4], tgt_lengths[4];
    float *r;            // (B,T,V) upstream gradient, 0 at target padding
    uint64_t relu_ref;
    bool kinked;
} WholeCtx;

static uint64_t model_relu_fingerprint(const Model *m) {
    uint64_t h = 14695981039346656037ULL;
    const ModelConfig *c = &m->config;
    for (int l = 0; l < c->n_layers; l++) {
        h = relu_fingerprint(h, m->acts.enc[l].hidden, (long)m->acts.B * m->acts.S * c->d_ff);
        h = relu_fingerprint(h, m->acts.dec[l].hidden, (long)m->acts.B * m->acts.T * c->d_ff);
    }
    return h;
}

static double whole_loss(void *p) {
    WholeCtx *c = p;
    Rng rng;
    rng_seed(&rng, 77, 0);  // the same dropout masks on every evaluation
    model_forward(&c->m, &(ModelBatch){.src = c->src, .src_lengths = c->src_lengths,
                                       .tgt = c->tgt, .tgt_lengths = c->tgt_lengths,
                                       .B = c->B, .S = c->S, .T = c->T},
                  true, &rng);
    if (model_relu_fingerprint(&c->m) != c->relu_ref) c->kinked = true;
    return weighted_sum(c->m.acts.logits, c->r, (long)c->B * c->T * c->m.config.vocab_size);
}

static bool whole_kinked(void *p) {
    WholeCtx *c = p;
    bool k = c->kinked;
    c->kinked = false;
    return k;
}

// Every parameter group of a 2-layer model, sampled (the embedding in full: it gets
// gradient from the output projection and from the source and target lookups, token 5
// twice), through padding (source lengths
// 5 and 3, target lengths 4 and 2), S = 5 != T = 4, and dropout 0.1 in training mode.
// hint: the decoder layer's backward reads what your forward kept: every sub-layer's output
// must go into its acts->resK.sum and the layer's own acts buffers, through mha_forward
// and residual_forward (so the pointers and masks are the ones it expects).
static void test_model_gradients(void **state) {
    (void)state;
    static WholeCtx c;
    ModelConfig cfg = {.vocab_size = 12, .d_model = 8, .n_heads = 2, .d_ff = 16, .n_layers = 2,
                       .max_len = 6, .max_batch = 2, .dropout = 0.1f};
    Rng rng;
    rng_seed(&rng, 5, 0);
    model_init(&c.m, &cfg, &rng);
    // Biases and norms away from 0 and 1, FFN b1 around +1 (few ReLUs near a corner).
    for (long i = 0; i < c.m.params.n; i++)
        if (c.m.params.values[i] == 0.0f) c.m.params.values[i] = 0.2f * rng_normal(&rng);
        else if (c.m.params.values[i] == 1.0f) c.m.params.values[i] = 1.0f + 0.2f * rng_normal(&rng);
    for (int l = 0; l < cfg.n_layers; l++)
        for (int j = 0; j < cfg.d_ff; j++) {
            c.m.params.w.enc[l].ffn.b1[j] = 1.0f + 0.3f * rng_normal(&rng);
            c.m.params.w.dec[l].ffn.b1[j] = 1.0f + 0.3f * rng_normal(&rng);
        }
    c.B = 2, c.S = 5, c.T = 4;
    int src[] = {5, 6, 7, 5, 2, 8, 9, 2, 0, 0}, tgt[] = {1, 10, 11, 4, 1, 3, 0, 0};
    memcpy(c.src, src, sizeof src), memcpy(c.tgt, tgt, sizeof tgt);
    c.src_lengths[0] = 5, c.src_lengths[1] = 3, c.tgt_lengths[0] = 4, c.tgt_lengths[1] = 2;
    long nl = (long)c.B * c.T * cfg.vocab_size;
    c.r = xmalloc(sizeof(float) * (size_t)nl);
    fill_normal(c.r, nl, &rng, 1.0f);
    for (int b = 0; b < c.B; b++)
        for (int t = c.tgt_lengths[b]; t < c.T; t++)
            memset(c.r + ((long)b * c.T + t) * cfg.vocab_size, 0, sizeof(float) * cfg.vocab_size);

    c.relu_ref = 0;
    whole_loss(&c);
    c.relu_ref = model_relu_fingerprint(&c.m);
    model_zero_grad(&c.m);
    model_backward(&c.m, c.r);

    ParamGroup groups[1 + 16 * 2 + 26 * 2];
    int n = add_group(groups, 0, "", "embedding", c.m.params.w.embedding, c.m.params.dw.embedding,
                      (long)cfg.vocab_size * cfg.d_model);
    char prefix[32];
    for (int l = 0; l < cfg.n_layers; l++) {
        snprintf(prefix, sizeof prefix, "enc%d.", l + 1);  // layers count from 1
        n = encoder_layer_groups(groups, n, prefix, &c.m.params.w.enc[l], &c.m.params.dw.enc[l], cfg.d_model, cfg.d_ff);
    }
    for (int l = 0; l < cfg.n_layers; l++) {
        snprintf(prefix, sizeof prefix, "dec%d.", l + 1);
        n = decoder_layer_groups(groups, n, prefix, &c.m.params.w.dec[l], &c.m.params.dw.dec[l], cfg.d_model, cfg.d_ff);
    }
    assert_int_equal(n, 1 + 16 * 2 + 26 * 2);
    // The embedding is used ×√d_model (and three times), so the same step moves the model
    // further: it gets a smaller one.
    for (int g = 0; g < n; g++)
        check_grad_sensitive_kinks(groups[g].name, whole_loss, whole_kinked, &c, groups[g].param,
                                   groups[g].grad, groups[g].n, g == 0 ? 1000 : 8,
                                   g == 0 ? 4e-3f : 1e-2f, 2e-2f);
    free(c.r);
    model_free(&c.m);
}

// ---- dropout, memory reuse, attention maps -----------------------------------------

static void tiny_model(Model *m, float dropout, uint64_t seed) {
    ModelConfig cfg = {.vocab_size = 20, .d_model = 16, .n_heads = 4, .d_ff = 32, .n_layers = 2,
                       .max_len = 7, .max_batch = 4, .dropout = dropout};
    Rng rng;
    rng_seed(&rng, seed, 0);
    model_init(m, &cfg, &rng);
}

static const int SRC[] = {5, 6, 7, 8, 9, 2, 10, 11, 12, 2, 0, 0};  // (2,6): lengths 6, 4
static const int SRC_LEN[] = {6, 4};
static const int TGT[] = {1, 13, 14, 15, 16, 1, 17, 18, 0, 0};     // (2,5): lengths 5, 3
static const int TGT_LEN[] = {5, 3};
// The two sentence pairs above as one batch.
static const ModelBatch PAIR = {.src = SRC, .src_lengths = SRC_LEN,
                                .tgt = TGT, .tgt_lengths = TGT_LEN,
                                .B = 2, .S = 6, .T = 5};

// Training mode: the same seed gives the same logits, another seed different ones.
// Evaluation mode with P_drop = 0.1 equals, bit for bit, a model with P_drop = 0.
// hint: pass the layer's drop to all three residual connections: in training the masks come
// from its rng, in evaluation (drop.training false) nothing may be dropped.
static void test_model_dropout_modes(void **state) {
    (void)state;
    Model m, m0;
    tiny_model(&m, 0.1f, 3);
    tiny_model(&m0, 0.0f, 3);  // same seed: same weights
    assert_memory_equal(m.params.values, m0.params.values, sizeof(float) * (size_t)m.params.n);
    long nl = 2L * 5 * 20;
    float *a = xmalloc(sizeof(float) * nl), *b = xmalloc(sizeof(float) * nl);
    Rng r1, r2;
    rng_seed(&r1, 9, 0), rng_seed(&r2, 9, 0);
    model_forward(&m, &PAIR, true, &r1);
    memcpy(a, m.acts.logits, sizeof(float) * nl);
    model_forward(&m, &PAIR, true, &r2);
    assert_memory_equal(a, m.acts.logits, sizeof(float) * nl);
    rng_seed(&r2, 10, 0);
    model_forward(&m, &PAIR, true, &r2);
    assert_true(max_abs_diff(a, m.acts.logits, nl) > 1e-3f);
    // Evaluation vs no dropout at all.
    model_forward(&m, &PAIR, false, NULL);
    memcpy(b, m.acts.logits, sizeof(float) * nl);
    model_forward(&m0, &PAIR, true, &r1);
    assert_memory_equal(b, m0.acts.logits, sizeof(float) * nl);
    assert_true(max_abs_diff(a, b, nl) > 1e-3f);  // and dropout did change something
    free(a), free(b);
    model_free(&m), model_free(&m0);
}

// Beam search support: encode one sentence, repeat its memory 3 times, decode three
// different prefixes at once = decoding each alone.
// hint: each sentence b of the batch must read only its own memory rows and src_lengths[b]:
// pass memory and the lengths through to mha_forward unchanged.
static void test_model_repeat_memory(void **state) {
    (void)state;
    Model m;
    tiny_model(&m, 0.1f, 4);
    int src[] = {5, 6, 7, 2}, src_len[] = {4};
    int hyps[] = {1, 13, 14, 1, 15, 0, 1, 16, 17}, hyp_len[] = {3, 2, 3};
    int V = m.config.vocab_size;
    float together[3 * 3 * 20], alone[3 * 20];
    model_encode(&m, src, src_len, 1, 4, false, NULL);
    model_repeat_memory(&m, 3);
    model_decode(&m, hyps, hyp_len, 3, false, NULL);
    memcpy(together, m.acts.logits, sizeof together);
    for (int k = 0; k < 3; k++) {
        model_encode(&m, src, src_len, 1, 4, false, NULL);
        model_decode(&m, hyps + 3 * k, hyp_len + k, 3, false, NULL);
        memcpy(alone, m.acts.logits, sizeof alone);
        // Compare the real positions of hypothesis k.
        assert_arrays_close("hypothesis logits", together + (long)k * 3 * V, alone,
                            (long)hyp_len[k] * V, 1e-5f);
    }
    model_free(&m);
}

// The attention maps: right shapes, rows sum to 1, padding columns and the causal
// triangle exactly 0.
// hint: the maps are the weights your forward leaves in acts->self_attn and acts->cross_attn:
// the self-attention needs the causal mask and tgt_lengths, the cross-attention src_lengths.
static void test_model_attention_maps(void **state) {
    (void)state;
    Model m;
    tiny_model(&m, 0.1f, 6);
    model_forward(&m, &PAIR, false, NULL);
    int h = m.config.n_heads, rows, cols;
    AttentionKind kinds[] = {ATTN_ENCODER_SELF, ATTN_DECODER_SELF, ATTN_CROSS};
    int want_rows[] = {6, 5, 5}, want_cols[] = {6, 5, 6};
    for (int k = 0; k < 3; k++)
        for (int l = 0; l < m.config.n_layers; l++) {
            const float *w = model_attention(&m, kinds[k], l, &rows, &cols);
            assert_non_null(w);
            assert_int_equal(rows, want_rows[k]);
            assert_int_equal(cols, want_cols[k]);
            for (int b = 0; b < 2; b++)
                for (int hh = 0; hh < h; hh++)
                    for (int i = 0; i < rows; i++) {
                        const float *row = w + (((long)b * h + hh) * rows + i) * cols;
                        double sum = 0;
                        int key_len = kinds[k] == ATTN_DECODER_SELF ? TGT_LEN[b] : SRC_LEN[b];
                        for (int j = 0; j < cols; j++) {
                            sum += row[j];
                            bool masked = j >= key_len || (kinds[k] == ATTN_DECODER_SELF && j > i);
                            if (masked) assert_float_equal(row[j], 0.0f, 0.0f);
                        }
                        assert_true(fabs(sum - 1.0) < 1e-5);
                    }
        }
    assert_null(model_attention(&m, ATTN_CROSS, 2, &rows, &cols));
    model_free(&m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_param_count_base_model),
        cmocka_unit_test(test_config_validation),
        cmocka_unit_test(test_init_and_free),
        cmocka_unit_test(test_model_matches_pytorch),
        cmocka_unit_test(test_model_gradients),
        cmocka_unit_test(test_model_dropout_modes),
        cmocka_unit_test(test_model_repeat_memory),
        cmocka_unit_test(test_model_attention_maps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
