// test_06_dropout.c: inverted dropout (§5.4): seeded and repeatable in training, the
// exact identity in evaluation, and the right drop rate and scale.
#include "dropout.h"
#include "tensor.h"
#include "test_06_helpers.h"

enum { DN = 20000 };

// The same seed gives the same mask; another seed a different one.
// hint: draw every random number from drop.rng (rng_uniform), one per value in index order,
// and write mask[i] for every i: no other source of randomness, no skipped entries.
static void test_dropout_same_seed_same_mask(void **state) {
    (void)state;
    static float x[DN], a[DN], b[DN], c[DN], ma[DN], mb[DN], mc[DN];
    for (int i = 0; i < DN; i++) x[i] = 1.0f + (float)(i % 7);
    Rng r1, r2, r3;
    rng_seed(&r1, 42, 0), rng_seed(&r2, 42, 0), rng_seed(&r3, 43, 0);
    dropout_forward(a, ma, x, DN, (Dropout){0.1f, true, &r1});
    dropout_forward(b, mb, x, DN, (Dropout){0.1f, true, &r2});
    dropout_forward(c, mc, x, DN, (Dropout){0.1f, true, &r3});
    assert_memory_equal(ma, mb, sizeof ma);
    assert_memory_equal(a, b, sizeof a);
    assert_memory_not_equal(ma, mc, sizeof ma);
    // And the mask is exactly the one rng_uniform's draws give in index order (so the
    // reference and your code train on the same masks from the same seed).
    Rng r4;
    rng_seed(&r4, 42, 0);
    for (int i = 0; i < DN; i++) {
        float expected = rng_uniform(&r4) < 0.1f ? 0.0f : 1.0f / 0.9f;
        if (ma[i] != expected)
            fail_msg("mask[%d] is %g, expected %g: the %d-th rng_uniform draw (from 0) decides value %d",
                     i, (double)ma[i], (double)expected, i, i);
    }
}

// About p of the values are zeroed, the rest scaled by exactly 1/(1−p).
// hint: a value is dropped when its uniform falls below p (probability p), and a kept value
// is scaled by 1/(1−p), not by 1−p or 1/p.
static void test_dropout_rate_and_scale(void **state) {
    (void)state;
    static float x[DN], y[DN], mask[DN];
    for (int i = 0; i < DN; i++) x[i] = 2.0f;
    Rng rng;
    rng_seed(&rng, 7, 0);
    dropout_forward(y, mask, x, DN, (Dropout){0.25f, true, &rng});
    int dropped = 0;
    for (int i = 0; i < DN; i++) {
        if (y[i] == 0.0f) dropped++;
        else assert_float_equal(y[i], 2.0f / 0.75f, 0.0f);
    }
    // Binomial(20000, 0.25): mean 5000, standard deviation ≈ 61; allow ±5σ.
    assert_in_range(dropped, 5000 - 306, 5000 + 306);
}

// Evaluation is exactly the identity, draws nothing and leaves the mask alone; p = 0
// in training is the identity too.
// hint: check dropout_active(drop) first: when it is false copy x to out (out may be x
// itself) and return before drawing anything or touching mask.
static void test_dropout_eval_is_identity(void **state) {
    (void)state;
    static float x[DN], y[DN], mask[DN];
    Rng rng, before;
    rng_seed(&rng, 9, 0);
    fill_normal(x, DN, &rng, 1.0f);
    before = rng;
    for (int i = 0; i < DN; i++) mask[i] = 123.0f;
    dropout_forward(y, mask, x, DN, (Dropout){0.1f, false, &rng});
    assert_memory_equal(y, x, sizeof x);
    assert_memory_equal(&rng, &before, sizeof rng);
    assert_float_equal(mask[0], 123.0f, 0.0f);
    dropout_forward(y, mask, x, DN, (Dropout){0.0f, true, &rng});
    assert_memory_equal(y, x, sizeof x);
    // In place.
    memcpy(y, x, sizeof x);
    dropout_forward(y, mask, y, DN, (Dropout){0.1f, false, NULL});
    assert_memory_equal(y, x, sizeof x);
}

// Backward: dx += dout·mask (a dropped value gets no gradient), dx += dout without mask;
// both add to what dx held (3 and 1 here).
// hint: dx += dout·mask, adding to what dx holds; when mask is NULL (nothing dropped) it is
// dx += dout. Do not read mask when it is NULL.
static void test_dropout_backward(void **state) {
    (void)state;
    float x[] = {1, 2, 3, 4, 5, 6, 7, 8}, y[8], mask[8];
    Rng rng;
    rng_seed(&rng, 11, 0);
    dropout_forward(y, mask, x, 8, (Dropout){0.5f, true, &rng});
    float dout[] = {1, 1, 1, 1, 1, 1, 1, 1}, dx[8] = {3, 3, 3, 3, 3, 3, 3, 3};  // added to
    dropout_backward(dx, dout, mask, 8);
    int zeros = 0;
    for (int i = 0; i < 8; i++) {
        if (dx[i] != 3.0f + y[i] / x[i])  // dy/dx is the mask itself
            fail_msg("dx[%d] is %g, expected 3 + mask = %g (dx started at 3: add to it)", i, (double)dx[i],
                     3.0 + (double)(y[i] / x[i]));
        zeros += dx[i] == 3.0f;
    }
    assert_true(zeros > 0 && zeros < 8);  // seed 11 drops some, keeps some
    float dx2[8] = {1, 1, 1, 1, 1, 1, 1, 1}, expected[8] = {2, 2, 2, 2, 2, 2, 2, 2};
    dropout_backward(dx2, dout, NULL, 8);
    assert_arrays_close("identity backward accumulates", dx2, expected, 8, 0.0f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dropout_same_seed_same_mask),
        cmocka_unit_test(test_dropout_rate_and_scale),
        cmocka_unit_test(test_dropout_eval_is_identity),
        cmocka_unit_test(test_dropout_backward),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
