// test_07_decoder.c: the decoder layer (§3.1, §3.2.3): gradients of the input, the
// memory and every weight against finite differences (causal mask, target and source
// padding, S != T, with and without dropout), causality, and parity with PyTorch's
// nn.TransformerDecoderLayer (tests/fixtures/decoder_layer.txt).
#include "decoder.h"
#include "tensor.h"
#include "test_06_helpers.h"

enum { DB = 2, DT = 4, DS = 6, DD = 8, DH = 2, DF = 16 };
// The layer's sizes: B sentences, S source and T target positions.
static const Dims DEC_DIMS = {.B = DB, .S = DS, .T = DT, .d_model = DD, .h = DH, .d_ff = DF};

typedef struct {
    float *params, *acts_buf;
    DecoderLayerWeights w;
    DecoderLayerActs acts;
    float y[DB * DT * DD], memory[DB * DS * DD], r[DB * DT * DD];
    int tgt_lengths[DB], src_lengths[DB];
    float p;
    uint64_t seed;
    uint64_t relu_ref;  // ReLU fingerprint of the unperturbed forward
    bool kinked;        // a forward since the last check switched a ReLU
} DecCtx;

static void dec_ctx_init(DecCtx *c, float p, uint64_t seed) {
    memset(c, 0, sizeof *c);
    c->params = xmalloc(sizeof(float) * decoder_layer_weights_layout(NULL, NULL, DD, DF));
    decoder_layer_weights_layout(&c->w, c->params, DD, DF);
    c->acts_buf = xmalloc(sizeof(float) * (size_t)decoder_layer_acts_layout(NULL, NULL, DEC_DIMS));
    decoder_layer_acts_layout(&c->acts, c->acts_buf, DEC_DIMS);
    Rng rng;
    rng_seed(&rng, seed, 0);
    decoder_layer_weights_init(&c->w, &rng, DD, DF);
    MhaWeights *attn[2] = {&c->w.self_attn, &c->w.cross_attn};
    for (int a = 0; a < 2; a++) {
        fill_normal(attn[a]->b_q, DD, &rng, 0.2f), fill_normal(attn[a]->b_k, DD, &rng, 0.2f);
        fill_normal(attn[a]->b_v, DD, &rng, 0.2f), fill_normal(attn[a]->b_o, DD, &rng, 0.2f);
    }
    // b1 around +1: most ReLUs on, few near their corner, where central differences
    // break down (the ReLU's zero branch is checked in test_06_feedforward and, with
    // every unit, against PyTorch below).
    for (int j = 0; j < DF; j++) c->w.ffn.b1[j] = 1.0f + 0.3f * rng_normal(&rng);
    fill_normal(c->w.ffn.b2, DD, &rng, 0.2f);
    float *gains[3] = {c->w.ln1.gain, c->w.ln2.gain, c->w.ln3.gain};
    float *biases[3] = {c->w.ln1.bias, c->w.ln2.bias, c->w.ln3.bias};
    for (int k = 0; k < 3; k++)
        for (int j = 0; j < DD; j++)
            gains[k][j] = 1.0f + 0.2f * rng_normal(&rng), biases[k][j] = 0.1f * rng_normal(&rng);
    fill_normal(c->y, DB * DT * DD, &rng, 1.0f);
    fill_normal(c->memory, DB * DS * DD, &rng, 1.0f);
    fill_normal(c->r, DB * DT * DD, &rng, 1.0f);
    c->tgt_lengths[0] = DT, c->tgt_lengths[1] = 2;
    c->src_lengths[0] = DS, c->src_lengths[1] = 4;
    for (int t = c->tgt_lengths[1]; t < DT; t++)  // the loss ignores target padding
        memset(c->r + ((long)DT + t) * DD, 0, sizeof(float) * DD);
    c->p = p, c->seed = seed + 100;
}

static void dec_ctx_free(DecCtx *c) {
    free(c->params);
    free(c->acts_buf);
}

static void dec_run(DecCtx *c) {
    Rng rng;
    rng_seed(&rng, c->seed, 1);
    decoder_layer_forward(&c->acts, c->y, c->memory, &c->w, c->tgt_lengths, c->src_lengths,
                          (Dropout){.p = c->p, .training = c->p > 0, .rng = &rng}, DEC_DIMS);
}

static bool dec_kinked(void *p) {
    DecCtx *c = p;
    bool k = c->kinked;
    c->kinked = false;
    return k;
}

static double dec_loss(void *p) {
    DecCtx *c = p;
    dec_run(c);
    if (relu_fingerprint(0, c->acts.hidden, (long)DB * DT * DF) != c->relu_ref) c->kinked = true;
    return weighted_sum(c->acts.out, c->r, DB * DT * DD);
}

static void check_decoder_layer(float p, uint64_t seed) {
    static DecCtx c;
    dec_ctx_init(&c, p, seed);
    float *grads = xcalloc(decoder_layer_weights_layout(NULL, NULL, DD, DF), sizeof(float));
    float *scratch = garbage_floats(decoder_layer_scratch_floats(DEC_DIMS));
    DecoderLayerWeights dw;
    decoder_layer_weights_layout(&dw, grads, DD, DF);
    static float dy[DB * DT * DD], dmemory[DB * DS * DD];
    memset(dy, 0, sizeof dy), memset(dmemory, 0, sizeof dmemory);
    dec_run(&c);
    c.relu_ref = relu_fingerprint(0, c.acts.hidden, (long)DB * DT * DF);
    decoder_layer_backward(dy, dmemory, &dw, scratch, c.r, &c.acts, &c.w, DEC_DIMS);
    check_grad_sensitive_kinks("decoder layer dy", dec_loss, dec_kinked, &c, c.y, dy, DB * DT * DD, 64, 1e-2f, 2e-2f);
    check_grad_sensitive_kinks("decoder layer dmemory", dec_loss, dec_kinked, &c, c.memory, dmemory, DB * DS * DD,
                         96, 1e-2f, 2e-2f);
    ParamGroup groups[26];
    int n = decoder_layer_groups(groups, 0, "", &c.w, &dw, DD, DF);
    assert_int_equal(n, 26);
    for (int g = 0; g < n; g++)
        check_grad_sensitive_kinks(groups[g].name, dec_loss, dec_kinked, &c, groups[g].param, groups[g].grad,
                             groups[g].n, 20, 1e-2f, 2e-2f);
    // Source padding is never attended to: its memory rows get exactly zero gradient.
    for (int s = c.src_lengths[1]; s < DS; s++)
        for (int j = 0; j < DD; j++)
            assert_float_equal(dmemory[((long)DS + s) * DD + j], 0.0f, 0.0f);
    free(grads);
    free(scratch);
    dec_ctx_free(&c);
}

// hint: the (reference) backward differentiates the three sub-layers in the order y1, y2, out:
// y1 must feed the cross-attention's queries and the second residual, y2 the FFN and the
// third. Keys and values of the cross-attention are memory, its queries y1 (not y), so
// its sizes are Tq = T target positions and Tk = S source positions (not T and T).
static void test_decoder_layer_gradients(void **state) {
    (void)state;
    check_decoder_layer(0.0f, 1);
}

// hint: every sub-layer goes through residual_forward with the same drop, in the order self-
// attention, cross-attention, FFN: the masks are drawn in that order.
static void test_decoder_layer_gradients_with_dropout(void **state) {
    (void)state;
    check_decoder_layer(0.3f, 2);
}

// Causality (§3.2.3): changing target position t changes no output before t; and the
// masked self-attention weights above the diagonal are exactly 0, while the
// cross-attention's are not (every target position sees the whole source, padding aside).
// hint: the self-attention mask is {.key_lengths = tgt_lengths, .causal = true}; the
// cross-attention one is not causal (every target position may see the whole source):
// {.key_lengths = src_lengths}.
static void test_decoder_layer_is_causal(void **state) {
    (void)state;
    static DecCtx c;
    dec_ctx_init(&c, 0.0f, 3);
    dec_run(&c);
    const float *w = c.acts.self_attn.weights;  // (B,h,T,T)
    for (int bh = 0; bh < DB * DH; bh++)
        for (int i = 0; i < DT; i++)
            for (int j = i + 1; j < DT; j++) assert_float_equal(w[(bh * DT + i) * DT + j], 0.0f, 0.0f);
    const float *cross = c.acts.cross_attn.weights;  // (B,h,T,S)
    for (int bh = 0; bh < DB * DH; bh++)
        for (int i = 0; i < DT; i++)
            for (int j = i + 1; j < c.src_lengths[bh / DH]; j++) {
                if (cross[(bh * DT + i) * DS + j] > 0.0f) continue;
                fail_msg("cross-attention weight (batch row %d, head %d, target %d, source %d) is 0: "
                         "every target position sees every real source token (not causal, and masked by "
                         "the SOURCE lengths)", bh / DH, bh % DH + 1, i, j);
            }
    static float before[DB * DT * DD];
    memcpy(before, c.acts.out, sizeof before);
    int t = 2;
    for (int j = 0; j < DD; j++) c.y[t * DD + j] += 3.0f;  // batch row 0, position 2
    dec_run(&c);
    assert_arrays_close("outputs before position 2", c.acts.out, before, (long)t * DD, 0.0f);
    assert_true(max_abs_diff(c.acts.out + t * DD, before + t * DD, DD) > 1e-3f);
    dec_ctx_free(&c);
}

// Parity with nn.TransformerDecoderLayer (post-LN, ReLU, dropout 0) on the same weights.
// hint: PyTorch's decoder layer is post-LN: out = norm3(y2 + ffn(y2)) with y2 = norm2(y1 +
// cross(y1, memory)), y1 = norm1(y + self(y)). Each norm uses its own weights (ln1, ln2, ln3).
static void test_decoder_layer_matches_pytorch(void **state) {
    (void)state;
    Fixture *fx = fixture_load("tests/fixtures/decoder_layer.txt");
    float *cfg = fixture_get(fx, "config", 6);
    int B = (int)cfg[0], T = (int)cfg[1], S = (int)cfg[2], D = (int)cfg[3], H = (int)cfg[4];
    int F = (int)cfg[5];
    const Dims dims = {.B = B, .S = S, .T = T, .d_model = D, .h = H, .d_ff = F};
    long nt = (long)B * T * D, ns = (long)B * S * D, np = decoder_layer_weights_layout(NULL, NULL,
                                                                                       D, F);
    float *tl = fixture_get(fx, "tgt_lengths", B), *sl = fixture_get(fx, "src_lengths", B);
    int tgt_lengths[8], src_lengths[8];
    for (int b = 0; b < B; b++) tgt_lengths[b] = (int)tl[b], src_lengths[b] = (int)sl[b];
    DecoderLayerWeights w, dw;
    decoder_layer_weights_layout(&w, fixture_get(fx, "params", np), D, F);
    float *grads = xcalloc((size_t)np, sizeof(float));
    decoder_layer_weights_layout(&dw, grads, D, F);
    float *y = fixture_get(fx, "y", nt), *memory = fixture_get(fx, "memory", ns);
    float *buf = xmalloc(sizeof(float) * (size_t)decoder_layer_acts_layout(NULL, NULL, dims));
    float *scratch = garbage_floats(decoder_layer_scratch_floats(dims));
    float *dy = xcalloc((size_t)nt, sizeof(float)), *dmemory = xcalloc((size_t)ns, sizeof(float));
    DecoderLayerActs acts;
    decoder_layer_acts_layout(&acts, buf, dims);
    decoder_layer_forward(&acts, y, memory, &w, tgt_lengths, src_lengths,
                          DROPOUT_OFF, dims);
    float e_out = assert_parity("out", acts.out, fixture_get(fx, "out", nt), nt, 1e-5f, 0.0f);
    decoder_layer_backward(dy, dmemory, &dw, scratch, fixture_get(fx, "dout", nt), &acts, &w, dims);
    float e_dy = assert_parity("dy", dy, fixture_get(fx, "dy", nt), nt, 1e-4f, 1e-3f);
    float e_dm = assert_parity("dmemory", dmemory, fixture_get(fx, "dmemory", ns), ns, 1e-4f, 1e-3f);
    float e_g = assert_parity("grads", grads, fixture_get(fx, "grads", np), np, 1e-4f, 1e-3f);
    print_message("  vs PyTorch: out %.2e, dy %.2e, dmemory %.2e, weight grads %.2e (max abs)\n",
                  (double)e_out, (double)e_dy, (double)e_dm, (double)e_g);
    free(grads), free(buf), free(scratch), free(dy), free(dmemory);
    fixture_free(fx);
}


int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decoder_layer_gradients),
        cmocka_unit_test(test_decoder_layer_gradients_with_dropout),
        cmocka_unit_test(test_decoder_layer_is_causal),
        cmocka_unit_test(test_decoder_layer_matches_pytorch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
