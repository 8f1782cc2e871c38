// test_06_encoder.c: the encoder layer (§3.1): gradients against finite differences
// (with padding, with and without dropout), padding isolation, and parity with
// PyTorch's nn.TransformerEncoderLayer (tests/fixtures/encoder_layer.txt).
#include "encoder.h"
#include "tensor.h"
#include "test_06_helpers.h"

enum { EB = 2, ES = 5, ED = 8, EH = 2, EF = 16 };
// The layer's sizes (an encoder layer has no target length).
static const Dims ENC_DIMS = {.B = EB, .S = ES, .T = 0, .d_model = ED, .h = EH, .d_ff = EF};

typedef struct {
    float *params;
    EncoderLayerWeights w;
    EncoderLayerActs acts;
    float *acts_buf;
    float x[EB * ES * ED], r[EB * ES * ED];
    int src_lengths[EB];
    float p;          // dropout probability
    uint64_t seed;    // re-seeded before every forward, so the masks never change
    uint64_t relu_ref;  // ReLU fingerprint of the unperturbed forward
    bool kinked;        // a forward since the last check switched a ReLU
} EncCtx;

static void enc_ctx_init(EncCtx *c, float p, uint64_t seed) {
    memset(c, 0, sizeof *c);
    c->params = xmalloc(sizeof(float) * encoder_layer_weights_layout(NULL, NULL, ED, EF));
    encoder_layer_weights_layout(&c->w, c->params, ED, EF);
    c->acts_buf = xmalloc(sizeof(float) * (size_t)encoder_layer_acts_layout(NULL, NULL, ENC_DIMS));
    encoder_layer_acts_layout(&c->acts, c->acts_buf, ENC_DIMS);
    Rng rng;
    rng_seed(&rng, seed, 0);
    encoder_layer_weights_init(&c->w, &rng, ED, EF);
    // Non-trivial biases and norms, so their gradients are checked away from 0 and 1.
    fill_normal(c->w.self_attn.b_q, ED, &rng, 0.2f);
    fill_normal(c->w.self_attn.b_k, ED, &rng, 0.2f);
    fill_normal(c->w.self_attn.b_v, ED, &rng, 0.2f);
    fill_normal(c->w.self_attn.b_o, ED, &rng, 0.2f);
    // b1 around +1: most ReLUs on, few near their corner, where central differences
    // break down (the ReLU's zero branch is checked in test_06_feedforward and, with
    // every unit, against PyTorch below).
    for (int j = 0; j < EF; j++) c->w.ffn.b1[j] = 1.0f + 0.3f * rng_normal(&rng);
    fill_normal(c->w.ffn.b2, ED, &rng, 0.2f);
    for (int j = 0; j < ED; j++) {
        c->w.ln1.gain[j] = 1.0f + 0.2f * rng_normal(&rng), c->w.ln1.bias[j] = 0.1f * rng_normal(&rng);
        c->w.ln2.gain[j] = 1.0f + 0.2f * rng_normal(&rng), c->w.ln2.bias[j] = 0.1f * rng_normal(&rng);
    }
    fill_normal(c->x, EB * ES * ED, &rng, 1.0f);
    fill_normal(c->r, EB * ES * ED, &rng, 1.0f);
    c->src_lengths[0] = ES, c->src_lengths[1] = 3;  // row 1 has two padding positions
    c->p = p, c->seed = seed + 100;
}

static void enc_ctx_free(EncCtx *c) {
    free(c->params);
    free(c->acts_buf);
}

static void enc_run(EncCtx *c) {
    Rng rng;
    rng_seed(&rng, c->seed, 1);
    encoder_layer_forward(&c->acts, c->x, &c->w, c->src_lengths, (Dropout){.p = c->p, .training = c->p > 0, .rng = &rng},
                          ENC_DIMS);
}

// The loss counts only real (non-padding) positions, as the training loss does.
static bool enc_kinked(void *p) {
    EncCtx *c = p;
    bool k = c->kinked;
    c->kinked = false;
    return k;
}

static double enc_loss(void *p) {
    EncCtx *c = p;
    enc_run(c);
    if (relu_fingerprint(0, c->acts.hidden, (long)EB * ES * EF) != c->relu_ref) c->kinked = true;
    double s = 0;
    for (int b = 0; b < EB; b++)
        s += weighted_sum(c->acts.out + (long)b * ES * ED, c->r + (long)b * ES * ED,
                          (long)c->src_lengths[b] * ED);
    return s;
}

static void check_encoder_layer(float p, uint64_t seed) {
    static EncCtx c;
    enc_ctx_init(&c, p, seed);
    for (int b = 0; b < EB; b++)  // dL/dout is r on real positions, 0 on padding
        for (int t = c.src_lengths[b]; t < ES; t++)
            memset(c.r + ((long)b * ES + t) * ED, 0, sizeof(float) * ED);
    float *grads = xcalloc(encoder_layer_weights_layout(NULL, NULL, ED, EF), sizeof(float));
    float *scratch = garbage_floats(encoder_layer_scratch_floats(ENC_DIMS));
    EncoderLayerWeights dw;
    encoder_layer_weights_layout(&dw, grads, ED, EF);
    float dx[EB * ES * ED] = {0};
    enc_run(&c);
    c.relu_ref = relu_fingerprint(0, c.acts.hidden, (long)EB * ES * EF);
    encoder_layer_backward(dx, &dw, scratch, c.r, &c.acts, &c.w, ENC_DIMS);

    check_grad_sensitive_kinks("encoder layer dx", enc_loss, enc_kinked, &c, c.x, dx, EB * ES * ED, 80, 1e-2f, 2e-2f);
    ParamGroup groups[16];
    int n = encoder_layer_groups(groups, 0, "", &c.w, &dw, ED, EF);
    assert_int_equal(n, 16);
    for (int g = 0; g < n; g++)
        check_grad_sensitive_kinks(groups[g].name, enc_loss, enc_kinked, &c, groups[g].param, groups[g].grad,
                             groups[g].n, 24, 1e-2f, 2e-2f);
    // Padding positions of x feed nothing real: their gradient is exactly 0.
    for (int t = c.src_lengths[1]; t < ES; t++)
        for (int j = 0; j < ED; j++) assert_float_equal(dx[((long)1 * ES + t) * ED + j], 0.0f, 0.0f);
    free(grads);
    free(scratch);
    enc_ctx_free(&c);
}

// Every weight group and the input, with padding, dropout off.
// hint: the encoder layer is the reference, built on your LayerNorm, FFN and residual: when a
// test of those fails above, fix that first; this one tells you they fit together.
static void test_encoder_layer_gradients(void **state) {
    (void)state;
    check_encoder_layer(0.0f, 1);
}

// The same with dropout 0.3 in training mode: the masks are fixed by the seed, and the
// backward must route gradients through the same masks.
// hint: with dropout on: the backward must see the forward's masks (acts->dropped and
// acts->mask in residual-add-forward; dropout-backward multiplies by the same mask).
static void test_encoder_layer_gradients_with_dropout(void **state) {
    (void)state;
    check_encoder_layer(0.3f, 2);
}

// Changing the vectors at padding positions changes no real position's output.
// hint: LayerNorm and the FFN work row by row: nothing may mix one position's values with
// another's (loop over rows, not over the whole buffer's mean).
static void test_encoder_layer_ignores_padding(void **state) {
    (void)state;
    static EncCtx c;
    enc_ctx_init(&c, 0.0f, 3);
    enc_run(&c);
    float before[EB * ES * ED];
    memcpy(before, c.acts.out, sizeof before);
    for (int t = c.src_lengths[1]; t < ES; t++)
        for (int j = 0; j < ED; j++) c.x[((long)1 * ES + t) * ED + j] += 5.0f;
    enc_run(&c);
    long real = (long)(ES + c.src_lengths[1]) * ED;  // row 0 all, row 1's first 3
    assert_arrays_close("real positions", c.acts.out, before, real, 0.0f);
    enc_ctx_free(&c);
}

// Parity with nn.TransformerEncoderLayer (post-LN, ReLU, dropout 0) on the same weights.
// hint: PyTorch's LayerNorm uses the biased variance and ε = 1e-5 inside the square root; its
// FFN is ReLU between two linear maps with biases. Fix the smaller tests above first.
static void test_encoder_layer_matches_pytorch(void **state) {
    (void)state;
    Fixture *fx = fixture_load("tests/fixtures/encoder_layer.txt");
    float *cfg = fixture_get(fx, "config", 5);
    int B = (int)cfg[0], S = (int)cfg[1], D = (int)cfg[2], H = (int)cfg[3], F = (int)cfg[4];
    const Dims dims = {.B = B, .S = S, .T = 0, .d_model = D, .h = H, .d_ff = F};
    long n = (long)B * S * D, np = encoder_layer_weights_layout(NULL, NULL, D, F);
    float *lens = fixture_get(fx, "src_lengths", B);
    int src_lengths[8];
    for (int b = 0; b < B; b++) src_lengths[b] = (int)lens[b];
    float *params = fixture_get(fx, "params", np);
    float *x = fixture_get(fx, "x", n), *dout = fixture_get(fx, "dout", n);
    EncoderLayerWeights w, dw;
    encoder_layer_weights_layout(&w, params, D, F);
    float *grads = xcalloc((size_t)np, sizeof(float));
    encoder_layer_weights_layout(&dw, grads, D, F);
    float *buf = xmalloc(sizeof(float) * (size_t)encoder_layer_acts_layout(NULL, NULL, dims));
    float *scratch = garbage_floats(encoder_layer_scratch_floats(dims));
    float *dx = xcalloc((size_t)n, sizeof(float));
    EncoderLayerActs acts;
    encoder_layer_acts_layout(&acts, buf, dims);
    encoder_layer_forward(&acts, x, &w, src_lengths, DROPOUT_OFF, dims);
    float e_out = assert_parity("out", acts.out, fixture_get(fx, "out", n), n, 1e-5f, 0.0f);
    encoder_layer_backward(dx, &dw, scratch, dout, &acts, &w, dims);
    float e_dx = assert_parity("dx", dx, fixture_get(fx, "dx", n), n, 1e-4f, 1e-3f);
    float e_grads = assert_parity("grads", grads, fixture_get(fx, "grads", np), np, 1e-4f, 1e-3f);
    print_message("  vs PyTorch: out %.2e, dx %.2e, weight grads %.2e (max abs)\n",
                  (double)e_out, (double)e_dx, (double)e_grads);
    free(grads), free(buf), free(scratch), free(dx);
    fixture_free(fx);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encoder_layer_gradients),
        cmocka_unit_test(test_encoder_layer_gradients_with_dropout),
        cmocka_unit_test(test_encoder_layer_ignores_padding),
        cmocka_unit_test(test_encoder_layer_matches_pytorch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
