// test_06_residual.c: the residual connection LayerNorm(x + Dropout(Sublayer(x)))
// (§3.1, §5.4) by hand, its dropout mask, and its two gradients (to x along the residual
// path, to the sub-layer's output) and the LayerNorm's against finite differences.
#include "residual.h"
#include "tensor.h"
#include "test_06_helpers.h"

// x = [1,2,3,4], sub = [1,0,-1,0]: sum = [2,2,2,4], μ = 2.5, σ² = (3·0.25 + 2.25)/4 = 0.75,
// so out = (sum − 2.5)/√(0.75 + 1e-5) with gain 1, bias 0. Without dropout the mask is
// not used, and the two halves one after the other are residual_forward.
// hint: the before half leaves x + sub in acts->sum (sub is already there: add x to it), and
// the after half normalizes acts->sum, keeping mean and rstd in acts->norm.
static void test_residual_by_hand(void **state) {
    (void)state;
    float x[] = {1, 2, 3, 4}, gain[] = {1, 1, 1, 1}, bias[] = {0, 0, 0, 0};
    float buf[2 * 4 + 2 * 1], out[4], halves[4];
    const LayerNormWeights ln = {gain, bias};
    ResidualActs acts;
    assert_int_equal(residual_acts_layout(&acts, buf, 1, 4), 2 * 4 + 2 * 1);
    float sub[] = {1, 0, -1, 0};
    memcpy(acts.sum, sub, sizeof sub);
    residual_forward(out, &acts, x, &ln, DROPOUT_OFF, 1, 4);
    float expected_sum[] = {2, 2, 2, 4};
    assert_arrays_close("sum = x + sub", acts.sum, expected_sum, 4, 0.0f);
    assert_false(acts.dropped);
    float s = 1.0f / sqrtf(0.75f + 1e-5f);
    float expected[] = {-0.5f * s, -0.5f * s, -0.5f * s, 1.5f * s};
    assert_arrays_close("LayerNorm(x + sub)", out, expected, 4, 1e-6f);

    memcpy(acts.sum, sub, sizeof sub);
    residual_add_forward(&acts, x, DROPOUT_OFF, 1, 4);
    residual_norm_forward(halves, &acts, &ln, 1, 4);
    assert_arrays_close("before half, then after half", halves, out, 4, 0.0f);
}

// In training the sub-layer output is dropped before the sum: sum = x + sub·mask with
// mask ∈ {0, 1/(1−p)}, some of each; the backward sends dsum·mask to the sub-layer. In
// evaluation (training = false, same p) nothing is dropped and dsum passes unchanged.
// hint: drop the sub-layer's output BEFORE adding x (x itself is never dropped), and set
// acts->dropped; the backward then multiplies dsum by the same mask. Is dropout-forward done?
// acts->dropped is dropout_active(drop): training AND p > 0, not p > 0 alone.
static void test_residual_dropout(void **state) {
    (void)state;
    enum { R = 8, D = 16, N = R * D };
    float x[N], sub[N], buf[2 * N + 2 * R];
    Rng rng;
    rng_seed(&rng, 4, 0);
    fill_normal(x, N, &rng, 1.0f);
    fill_normal(sub, N, &rng, 1.0f);
    ResidualActs acts;
    residual_acts_layout(&acts, buf, R, D);
    memcpy(acts.sum, sub, sizeof sub);
    residual_add_forward(&acts, x, (Dropout){.p = 0.5f, .training = true, .rng = &rng}, R, D);
    assert_true(acts.dropped);
    int zeros = 0;
    for (int i = 0; i < N; i++) {
        assert_true(acts.mask[i] == 0.0f || acts.mask[i] == 2.0f);
        zeros += acts.mask[i] == 0.0f;
        assert_float_equal(acts.sum[i], x[i] + sub[i] * acts.mask[i], 0.0f);
    }
    assert_true(zeros > 0 && zeros < N);
    float dsum[N], dsub[N];
    fill_normal(dsum, N, &rng, 1.0f);
    residual_add_backward(dsub, dsum, &acts, R, D);
    for (int i = 0; i < N; i++) assert_float_equal(dsub[i], dsum[i] * acts.mask[i], 0.0f);

    // Evaluation with the same p: nothing is dropped, no mask is written (it still holds
    // the training pass's), and the backward passes dsum through unchanged.
    memcpy(acts.sum, sub, sizeof sub);
    residual_add_forward(&acts, x, (Dropout){.p = 0.5f, .training = false, .rng = &rng}, R, D);
    if (acts.dropped) fail_msg("acts.dropped is true after an evaluation pass (training = false): nothing was dropped");
    residual_add_backward(dsub, dsum, &acts, R, D);
    for (int i = 0; i < N; i++)
        if (dsub[i] != dsum[i])
            fail_msg("evaluation pass: dsub[%d] is %g, expected dsum[%d] = %g (no mask was used)", i,
                     (double)dsub[i], i, (double)dsum[i]);
}

enum { RR = 3, RD = 10, RN = RR * RD };
typedef struct {
    float x[RN], sub[RN], gain[RD], bias[RD], r[RN], out[RN];
    float buf[2 * RN + 2 * RR];
    ResidualActs acts;
} ResCtx;

// L = Σ out·r with out = LayerNorm(x + Dropout(sub)); the mask is drawn from the same
// seed every time, so it is a fixed function of x, sub, gain and bias.
static double res_loss(void *p) {
    ResCtx *c = p;
    Rng rng;
    rng_seed(&rng, 11, 0);
    const LayerNormWeights ln = {c->gain, c->bias};
    memcpy(c->acts.sum, c->sub, sizeof c->sub);
    residual_forward(c->out, &c->acts, c->x, &ln, (Dropout){.p = 0.2f, .training = true,
                                                            .rng = &rng}, RR, RD);
    return weighted_sum(c->out, c->r, RN);
}

// dL/dx (= dsum, the residual path), dL/dsub (= dsum·mask), dgain and dbias against
// central differences; each check is also shown to catch a corrupted entry.
// hint: dL/dsub is dsum through the mask, written over dsublayer (start it from zero);
// without dropout (acts->dropped false) there is no mask: pass NULL, not acts->mask.
static void test_residual_gradients(void **state) {
    (void)state;
    static ResCtx c;
    Rng rng;
    rng_seed(&rng, 12, 0);
    fill_normal(c.x, RN, &rng, 1.0f);
    fill_normal(c.sub, RN, &rng, 1.0f);
    fill_normal(c.r, RN, &rng, 1.0f);
    for (int j = 0; j < RD; j++) c.gain[j] = 1.0f + 0.3f * rng_normal(&rng);
    fill_normal(c.bias, RD, &rng, 0.3f);
    residual_acts_layout(&c.acts, c.buf, RR, RD);
    res_loss(&c);
    float dsum[RN], dsub[RN], dgain[RD] = {0}, dbias[RD] = {0};
    const LayerNormWeights ln = {c.gain, c.bias}, dln = {dgain, dbias};
    residual_backward(dsum, dsub, &dln, c.r, &c.acts, &ln, RR, RD);
    check_grad_sensitive("residual dx", res_loss, &c, c.x, dsum, RN, RN, 1e-2f, 1e-2f);
    check_grad_sensitive("residual dsub", res_loss, &c, c.sub, dsub, RN, RN, 1e-2f, 1e-2f);
    check_grad_sensitive("residual dgain", res_loss, &c, c.gain, dgain, RD, RD, 1e-2f, 1e-2f);
    check_grad_sensitive("residual dbias", res_loss, &c, c.bias, dbias, RD, RD, 1e-2f, 1e-2f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_residual_by_hand),
        cmocka_unit_test(test_residual_dropout),
        cmocka_unit_test(test_residual_gradients),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
