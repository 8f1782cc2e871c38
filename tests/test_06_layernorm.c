// test_06_layernorm.c: LayerNorm (§3.1) against values worked by hand, and its backward
// against finite differences.
#include "layernorm.h"
#include "test_06_helpers.h"
#include "tensor.h"

// x = [1,2,3,4]: μ = 2.5, σ² = (2.25+0.25+0.25+2.25)/4 = 1.25 (biased: divide by d, not
// d−1), so y = (x − 2.5)/√(1.25 + 1e-5). With gain 2 and bias 1: 2y + 1.
// hint: the variance divides by d (biased), not d−1, and ε goes inside the square root:
// 1/sqrtf(σ² + ε). Gain multiplies the normalized value; bias is added after.
static void test_layernorm_by_hand(void **state) {
    (void)state;
    float x[] = {1, 2, 3, 4, 10, 10, 10, 10};
    float gain[] = {1, 1, 2, 2}, bias[] = {0, 0, 1, 1};
    float y[8], mean[2], rstd[2];
    const LayerNormWeights ln = {gain, bias};
    layernorm_forward(y, (LayerNormStats){mean, rstd}, x, &ln, 2, 4);
    float s = 1.0f / sqrtf(1.25f + 1e-5f);
    float expected[] = {-1.5f * s, -0.5f * s, 2 * 0.5f * s + 1, 2 * 1.5f * s + 1,
                        // a constant row has σ² = 0: ε keeps it finite, x̂ = 0, y = bias
                        0, 0, 1, 1};
    assert_arrays_close("LayerNorm rows", y, expected, 8, 1e-6f);
    assert_float_equal(mean[0], 2.5f, 1e-7f);
    assert_float_equal(rstd[1], 1.0f / sqrtf(1e-5f), 1e-2f);
}

// Output rows have mean 0 and (biased) variance ≈ 1 when gain 1, bias 0, whatever the
// input's scale and offset.
// hint: every row is normalized on its own: its own mean and variance over its d values,
// not over the whole matrix or over a column.
static void test_layernorm_normalizes(void **state) {
    (void)state;
    enum { R = 3, D = 16 };
    Rng rng;
    rng_seed(&rng, 1, 0);
    float x[R * D], y[R * D], gain[D], bias[D], mean[R], rstd[R];
    for (int i = 0; i < R * D; i++) x[i] = 100.0f + 30.0f * rng_normal(&rng);
    for (int j = 0; j < D; j++) gain[j] = 1, bias[j] = 0;
    const LayerNormWeights ln = {gain, bias};
    layernorm_forward(y, (LayerNormStats){mean, rstd}, x, &ln, R, D);
    for (int r = 0; r < R; r++) {
        double m = 0, v = 0;
        for (int j = 0; j < D; j++) m += y[r * D + j];
        m /= D;
        for (int j = 0; j < D; j++) v += (y[r * D + j] - m) * (y[r * D + j] - m);
        v /= D;
        assert_true(fabs(m) < 1e-5);
        assert_true(fabs(v - 1.0) < 1e-4);
    }
}

enum { LR = 4, LD = 12 };
typedef struct {
    float x[LR * LD], gain[LD], bias[LD], r[LR * LD];
    float y[LR * LD], mean[LR], rstd[LR];
} LnCtx;

// The LayerNorm's gain and bias, and the statistics its forward keeps, inside a context.
static LayerNormWeights ln_weights(LnCtx *c) { return (LayerNormWeights){c->gain, c->bias}; }
static LayerNormStats ln_stats(LnCtx *c) { return (LayerNormStats){c->mean, c->rstd}; }

static double ln_loss(void *p) {
    LnCtx *c = p;
    const LayerNormWeights ln = ln_weights(c);
    layernorm_forward(c->y, ln_stats(c), c->x, &ln, LR, LD);
    return weighted_sum(c->y, c->r, LR * LD);
}

// dx, dgain, dbias match central differences, and a sign-flipped entry is caught.
// hint: dx has three terms per row: the direct one and the two that flow through μ and σ
// (row means; the page's section 3 has the formula). If only dx fails, check that
// dx̂ = dout·gain (not dout) and that x̂ uses the forward's mean and rstd.
// If dgain fails: it is Σ dout·x̂ over the rows, not Σ dout·out.
static void test_layernorm_gradients(void **state) {
    (void)state;
    static LnCtx c;
    Rng rng;
    rng_seed(&rng, 2, 0);
    fill_normal(c.x, LR * LD, &rng, 1.5f);
    fill_normal(c.r, LR * LD, &rng, 1.0f);
    for (int j = 0; j < LD; j++) c.gain[j] = 1.0f + 0.3f * rng_normal(&rng);
    fill_normal(c.bias, LD, &rng, 0.3f);
    float dx[LR * LD] = {0}, dgain[LD] = {0}, dbias[LD] = {0};
    ln_loss(&c);
    const LayerNormWeights ln = ln_weights(&c), dln = {dgain, dbias};
    layernorm_backward(dx, &dln, c.r, c.x, ln_stats(&c), &ln, LR, LD);
    check_grad_sensitive("layernorm dx", ln_loss, &c, c.x, dx, LR * LD, LR * LD, 1e-2f, 1e-2f);
    check_grad_sensitive("layernorm dgain", ln_loss, &c, c.gain, dgain, LD, LD, 1e-2f, 1e-2f);
    check_grad_sensitive("layernorm dbias", ln_loss, &c, c.bias, dbias, LD, LD, 1e-2f, 1e-2f);
}

// The backward accumulates: running it twice doubles every gradient.
// hint: the backward must ADD (+=) into dx, dgain and dbias, never overwrite or zero them:
// the caller zeroes the gradients once.
static void test_layernorm_backward_accumulates(void **state) {
    (void)state;
    static LnCtx c;
    Rng rng;
    rng_seed(&rng, 3, 0);
    fill_normal(c.x, LR * LD, &rng, 1.0f);
    fill_normal(c.r, LR * LD, &rng, 1.0f);
    for (int j = 0; j < LD; j++) c.gain[j] = 1.0f, c.bias[j] = 0.0f;
    float dx1[LR * LD] = {0}, dg1[LD] = {0}, db1[LD] = {0};
    float dx2[LR * LD] = {0}, dg2[LD] = {0}, db2[LD] = {0};
    ln_loss(&c);
    const LayerNormWeights ln = ln_weights(&c), dln1 = {dg1, db1}, dln2 = {dg2, db2};
    layernorm_backward(dx1, &dln1, c.r, c.x, ln_stats(&c), &ln, LR, LD);
    layernorm_backward(dx2, &dln2, c.r, c.x, ln_stats(&c), &ln, LR, LD);
    layernorm_backward(dx2, &dln2, c.r, c.x, ln_stats(&c), &ln, LR, LD);
    vec_scale(dx1, 2.0f, LR * LD);
    vec_scale(dg1, 2.0f, LD);
    assert_arrays_close("dx twice", dx2, dx1, LR * LD, 1e-6f);
    assert_arrays_close("dgain twice", dg2, dg1, LD, 1e-6f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layernorm_by_hand),
        cmocka_unit_test(test_layernorm_normalizes),
        cmocka_unit_test(test_layernorm_gradients),
        cmocka_unit_test(test_layernorm_backward_accumulates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
