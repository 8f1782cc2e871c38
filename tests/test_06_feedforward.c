// test_06_feedforward.c: the position-wise feed-forward network, §3.3 Eq. (2).
#include "feedforward.h"
#include "tensor.h"
#include "test_06_helpers.h"

// d_model 2, d_ff 3, one row x = [1, -1]:
//   x·W1 + b1 = [1·1 + -1·2 + 0, 1·0 + -1·1 + 0.5, 1·3 + -1·(-1) − 1] = [-1, -0.5, 3]
//   ReLU -> [0, 0, 3];   ·W2 + b2 = [3·5 + 0.25, 3·(-1) + 0] = [15.25, -3]
// hint: the ReLU sits between the two matmuls (on x·W1 + b1), and matmul_nn ADDS to its
// output: start hidden and out from zero or from the bias, never from what was there.
static void test_feedforward_by_hand(void **state) {
    (void)state;
    float params[2 * 2 * 3 + 3 + 2];  // W1 (2,3), b1 (3), W2 (3,2), b2 (2)
    FfnWeights w;
    assert_int_equal(ffn_weights_layout(&w, params, 2, 3), 2 * 2 * 3 + 3 + 2);
    float w1[] = {1, 0, 3, 2, 1, -1}, b1[] = {0, 0.5f, -1};
    float w2[] = {7, 7, 9, 9, 5, -1}, b2[] = {0.25f, 0};
    memcpy(w.w1, w1, sizeof w1), memcpy(w.b1, b1, sizeof b1);
    memcpy(w.w2, w2, sizeof w2), memcpy(w.b2, b2, sizeof b2);
    float x[] = {1, -1}, hidden[3], out[2];
    feedforward_forward(out, hidden, x, &w, (FfnDims){.rows = 1, .d_model = 2, .d_ff = 3});
    float expected_hidden[] = {0, 0, 3}, expected[] = {15.25f, -3};
    assert_arrays_close("ReLU(x·W1 + b1)", hidden, expected_hidden, 3, 0.0f);
    assert_arrays_close("FFN(x)", out, expected, 2, 0.0f);
}

// "Applied to each position separately and identically": permuting the rows of x
// permutes the rows of the output the same way.
// hint: each row of x goes through the same W1, b1, W2, b2 on its own: loop over all rows
// (M = rows in the matmuls), and add the bias to every row, not only the first.
static void test_feedforward_is_position_wise(void **state) {
    (void)state;
    enum { R = 3, D = 4, F = 8 };
    Rng rng;
    rng_seed(&rng, 5, 0);
    float params[2 * D * F + F + D];
    FfnWeights w;
    ffn_weights_layout(&w, params, D, F);
    fill_normal(params, 2 * D * F + F + D, &rng, 0.5f);
    float x[R * D], xp[R * D], out[R * D], outp[R * D], hidden[R * F];
    fill_normal(x, R * D, &rng, 1.0f);
    int perm[R] = {2, 0, 1};
    for (int r = 0; r < R; r++) memcpy(xp + r * D, x + perm[r] * D, sizeof(float) * D);
    feedforward_forward(out, hidden, x, &w, (FfnDims){.rows = R, .d_model = D, .d_ff = F});
    feedforward_forward(outp, hidden, xp, &w, (FfnDims){.rows = R, .d_model = D, .d_ff = F});
    for (int r = 0; r < R; r++)
        assert_arrays_close("permuted row", outp + r * D, out + perm[r] * D, D, 0.0f);
}

enum { FR = 5, FD = 6, FF = 10, FFN_FLOATS = 2 * FD * FF + FF + FD };
typedef struct {
    float params[FFN_FLOATS];
    FfnWeights w;
    float x[FR * FD], r[FR * FD], out[FR * FD], hidden[FR * FF];
} FfnCtx;

static double ffn_loss(void *p) {
    FfnCtx *c = p;
    feedforward_forward(c->out, c->hidden, c->x, &c->w,
                        (FfnDims){.rows = FR, .d_model = FD, .d_ff = FF});
    return weighted_sum(c->out, c->r, FR * FD);
}

// dx and every weight's gradient against central differences (with some hidden units
// negative, so the ReLU's zero branch is exercised), added to what dx and dw held.
// hint: go backward through the forward's lines in reverse. dW2 = hiddenᵀ·dout is (d_ff,d_model);
// dhidden must be zeroed where hidden was 0 BEFORE it is used for dW1, db1 and dx; the
// weight and bias gradients add (+=) to what dw holds, and so does dx. Huge errors: the
// scratch dhidden holds garbage until dout·W2ᵀ is written into it (zero it first).
static void test_feedforward_gradients(void **state) {
    (void)state;
    static FfnCtx c;
    static float grads[FFN_FLOATS], dhidden[FR * FF], dx[FR * FD];
    Rng rng;
    rng_seed(&rng, 6, 0);
    assert_int_equal(ffn_weights_layout(&c.w, c.params, FD, FF), FFN_FLOATS);
    ffn_weights_init(&c.w, &rng, FD, FF);
    fill_normal(c.w.b1, FF, &rng, 0.3f);
    fill_normal(c.w.b2, FD, &rng, 0.3f);
    fill_normal(c.x, FR * FD, &rng, 1.0f);
    fill_normal(c.r, FR * FD, &rng, 1.0f);
    FfnWeights dw;
    ffn_weights_layout(&dw, grads, FD, FF);
    ffn_loss(&c);
    int negative = 0;
    for (int i = 0; i < FR * FF; i++) negative += c.hidden[i] == 0.0f;
    assert_true(negative > 0 && negative < FR * FF);
    // dx and the gradients start at random values, which the backward must add to (they
    // are taken off again below); the scratch dhidden starts as garbage it must overwrite.
    static float dx_start[FR * FD], grads_start[FFN_FLOATS];
    fill_normal(dx_start, FR * FD, &rng, 1.0f);
    fill_normal(grads_start, FFN_FLOATS, &rng, 1.0f);
    memcpy(dx, dx_start, sizeof dx), memcpy(grads, grads_start, sizeof grads);
    float *garbage = garbage_floats(FR * FF);
    memcpy(dhidden, garbage, sizeof dhidden);
    free(garbage);
    feedforward_backward(dx, &dw, dhidden, c.r, c.hidden, c.x, &c.w,
                         (FfnDims){.rows = FR, .d_model = FD, .d_ff = FF});
    for (int i = 0; i < FR * FD; i++) dx[i] -= dx_start[i];
    for (int i = 0; i < FFN_FLOATS; i++) grads[i] -= grads_start[i];
    check_grad_sensitive("ffn dx", ffn_loss, &c, c.x, dx, FR * FD, 1000, 1e-3f, 1e-2f);
    check_grad_sensitive("ffn dW1", ffn_loss, &c, c.w.w1, dw.w1, FD * FF, 1000, 1e-3f, 1e-2f);
    check_grad_sensitive("ffn db1", ffn_loss, &c, c.w.b1, dw.b1, FF, 1000, 1e-3f, 1e-2f);
    check_grad_sensitive("ffn dW2", ffn_loss, &c, c.w.w2, dw.w2, FF * FD, 1000, 1e-3f, 1e-2f);
    check_grad_sensitive("ffn db2", ffn_loss, &c, c.w.b2, dw.b2, FD, 1000, 1e-3f, 1e-2f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_feedforward_by_hand),
        cmocka_unit_test(test_feedforward_is_position_wise),
        cmocka_unit_test(test_feedforward_gradients),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
