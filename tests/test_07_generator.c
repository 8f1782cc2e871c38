// test_07_generator.c: the tied output projection logits = y·Eᵀ (§3.4) and the
// log-softmax, by hand and against finite differences.
#include "generator.h"
#include "tensor.h"
#include "test_06_helpers.h"

// E = [[1,0],[0,1],[1,1]] (V=3, d=2), y = [1,2]: logits = [y·e0, y·e1, y·e2] = [1, 2, 3].
// hint: logits[r,v] is row r of y dotted with ROW v of E (E is (V,d_model)): that is y·Eᵀ,
// matmul_nt; and start logits from zero, since the matmuls add to their output.
static void test_generator_by_hand(void **state) {
    (void)state;
    float E[] = {1, 0, 0, 1, 1, 1}, y[] = {1, 2}, logits[3] = {9, 9, 9};
    generator_forward(logits, y, E, 1, 2, 3);
    float expected[] = {1, 2, 3};
    assert_arrays_close("y·Eᵀ (overwrites)", logits, expected, 3, 0.0f);
}

// log-softmax([0, ln 3]) = [ln ¼, ln ¾]; a row of huge values does not overflow; every
// row's probabilities sum to 1.
static void test_log_softmax_by_hand(void **state) {
    (void)state;
    float x[] = {0.0f, logf(3.0f), 1000.0f, 1001.0f}, out[4];
    log_softmax_forward(out, x, 2, 2);
    float expected[] = {logf(0.25f), logf(0.75f), -logf(1.0f + expf(1.0f)),
                        1.0f - logf(1.0f + expf(1.0f))};
    assert_arrays_close("log-softmax", out, expected, 4, 1e-5f);
    for (int r = 0; r < 2; r++) assert_float_equal(expf(out[2 * r]) + expf(out[2 * r + 1]), 1.0f, 1e-6f);
}

enum { GR = 4, GD = 6, GV = 9 };
typedef struct {
    float y[GR * GD], E[GV * GD], r[GR * GV], logits[GR * GV], logp[GR * GV];
} GenCtx;

// L = Σ log_softmax(y·Eᵀ)·R: through both functions at once.
static double gen_loss(void *p) {
    GenCtx *c = p;
    generator_forward(c->logits, c->y, c->E, GR, GD, GV);
    log_softmax_forward(c->logp, c->logits, GR, GV);
    return weighted_sum(c->logp, c->r, GR * GV);
}

// dy and dE of L against central differences (through the log-softmax too).
// hint: dy = dlogits·E is (rows,V)·(V,d_model); dE = dlogitsᵀ·y is (V,rows)·(rows,d_model).
// Write the shapes next to each matmul; a transposed one does not fit.
static void test_generator_gradients(void **state) {
    (void)state;
    static GenCtx c;
    Rng rng;
    rng_seed(&rng, 4, 0);
    fill_normal(c.y, GR * GD, &rng, 1.0f);
    fill_normal(c.E, GV * GD, &rng, 0.5f);
    fill_normal(c.r, GR * GV, &rng, 1.0f);
    float dlogits[GR * GV] = {0}, dy[GR * GD] = {0}, dE[GV * GD] = {0};
    gen_loss(&c);
    log_softmax_backward(dlogits, c.r, c.logp, GR, GV);
    generator_backward(dy, dE, dlogits, c.y, c.E, GR, GD, GV);
    check_grad_sensitive("generator dy", gen_loss, &c, c.y, dy, GR * GD, 1000, 1e-2f, 1e-2f);
    check_grad_sensitive("generator dE", gen_loss, &c, c.E, dE, GV * GD, 1000, 1e-2f, 1e-2f);
    // log-softmax alone: its input gradient sums to 0 over a row when dout is 1 at one
    // entry (the cross-entropy case): dx = onehot − p.
    float onehot[GV] = {0}, dx[GV] = {0};
    onehot[3] = 1.0f;
    log_softmax_backward(dx, onehot, c.logp, 1, GV);
    double sum = 0;
    for (int v = 0; v < GV; v++) sum += dx[v];
    assert_true(fabs(sum) < 1e-6);
    assert_float_equal(dx[3], 1.0f - expf(c.logp[3]), 1e-6f);
}

// The backward accumulates into dy and dE (the embedding lookups add to the same
// buffer): dy starts at 100 and dE at 10.
// hint: generator_backward must ADD (+=) into dy and dembedding: the embedding lookups put
// their gradient in the same dembedding buffer, so never zero or overwrite it.
static void test_generator_backward_accumulates(void **state) {
    (void)state;
    float E[] = {1, 0, 0, 1, 1, 1}, y[] = {1, 2}, dlogits[] = {1, 0, 2};
    float dy[2] = {100, 100}, dE[6] = {10, 10, 10, 10, 10, 10};
    generator_backward(dy, dE, dlogits, y, E, 1, 2, 3);
    // dy += Σ_v dlogits_v·e_v = 1·[1,0] + 2·[1,1] = [3,2]; dE_v += dlogits_v·y
    float edy[] = {103, 102}, edE[] = {11, 12, 10, 10, 12, 14};
    assert_arrays_close("dy accumulated (it started at 100)", dy, edy, 2, 0.0f);
    assert_arrays_close("dE accumulated", dE, edE, 6, 0.0f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generator_by_hand),
        cmocka_unit_test(test_log_softmax_by_hand),
        cmocka_unit_test(test_generator_gradients),
        cmocka_unit_test(test_generator_backward_accumulates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
