// test_08_optimizer.c: Adam (β1 0.9, β2 0.98, ε 1e-9) and the learning-rate schedule of
// §5.3 Eq. (3): values by hand, and ten steps next to torch.optim.Adam + LambdaLR.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "optimizer.h"
#include "tensor.h"
#include "testutil.h"

// Eq. (3) by hand for the base model (d_model 512, warmup 4000):
//   step 1:     512^-0.5 · 1 · 4000^-1.5 = 0.04419417 · 3.952847e-6 = 1.746928e-7
//   step 4000:  512^-0.5 · 4000^-0.5     = 0.04419417 · 0.01581139  = 6.987712e-4 (the peak)
//   step 16000: 512^-0.5 · 16000^-0.5    = 0.04419417 · 0.007905694 = 3.493856e-4 (half)
static void test_schedule_by_hand(void **state) {
    (void)state;
    assert_true(fabsf(lrate_schedule(1, 512, 4000) - 1.746928e-7f) < 1e-12f);
    assert_true(fabsf(lrate_schedule(4000, 512, 4000) - 6.987712e-4f) < 1e-9f);
    assert_true(fabsf(lrate_schedule(16000, 512, 4000) - 3.493856e-4f) < 1e-9f);
    assert_true(lrate_schedule(0, 512, 4000) == 0.0f);
    // Linear warmup: step 2000 is half of step 4000 (both on the ramp).
    assert_true(fabsf(lrate_schedule(2000, 512, 4000) * 2 - lrate_schedule(4000, 512, 4000)) < 1e-9f);
    // Rises strictly up to the warmup, falls strictly after.
    for (long s = 1; s < 4000; s += 37)
        assert_true(lrate_schedule(s, 512, 4000) < lrate_schedule(s + 1, 512, 4000));
    for (long s = 4000; s < 20000; s += 37)
        assert_true(lrate_schedule(s, 512, 4000) > lrate_schedule(s + 1, 512, 4000));
}

// On the first step m̂ = g and v̂ = g² exactly, so every parameter moves by
// lr · g / (|g| + ε) ≈ lr · sign(g), whatever the size of g: Adam's step is scale free.
static void test_first_step_by_hand(void **state) {
    (void)state;
    AdamConfig config = adam_config_paper(16);
    Adam opt;
    adam_init(&opt, &config, 4);
    float params[4] = {1, 1, 1, 1}, grads[4] = {1e-3f, -50.0f, 2.0f, 0.0f};
    adam_update(&opt, params, grads, 0.01f);
    float expected[4] = {0.99f, 1.01f, 0.99f, 1.0f};
    assert_arrays_close("first Adam step", params, expected, 4, 1e-6f);
    assert_int_equal(opt.step, 1);
    adam_free(&opt);
    adam_free(&opt);  // safe twice
    assert_null(opt.memory);
}

// adam_step takes Eq. (3) at step t+1 times lr_scale; clipping (off by default) rescales
// the gradient to the given norm: (3, 4) has norm 5, clipped to 1 it is (0.6, 0.8).
static void test_adam_step_schedule_and_clipping(void **state) {
    (void)state;
    AdamConfig config = adam_config_paper(64);
    config.warmup_steps = 10;
    config.lr_scale = 2.0f;
    Adam opt;
    adam_init(&opt, &config, 2);
    float params[2] = {0, 0}, grads[2] = {3, 4};
    float lr = adam_step(&opt, params, grads);
    assert_true(fabsf(lr - 2.0f * lrate_schedule(1, 64, 10)) < 1e-12f);
    assert_true(grads[0] == 3 && grads[1] == 4);  // no clipping unless asked for
    assert_true(opt.last_grad_norm < 0);
    adam_free(&opt);

    config.clip_norm = 1.0f;
    adam_init(&opt, &config, 2);
    adam_step(&opt, params, grads);
    assert_true(fabsf(opt.last_grad_norm - 5.0f) < 1e-6f);
    float clipped[2] = {0.6f, 0.8f};
    assert_arrays_close("clipped gradient", grads, clipped, 2, 1e-6f);
    float small[2] = {0.3f, 0.4f};  // norm 0.5 < 1: unchanged
    adam_step(&opt, params, small);
    assert_true(small[0] == 0.3f && small[1] == 0.4f);
    adam_free(&opt);
}

// The global norm is sqrt(Σ g²), the same for any thread count: 1e6 ones have norm 1000.
static void test_global_norm(void **state) {
    (void)state;
    long n = 1000000;
    float *g = xmalloc(sizeof(float) * (size_t)n);
    for (long i = 0; i < n; i++) g[i] = (i % 2) ? 1.0f : -1.0f;
    assert_true(fabsf(grad_global_norm(g, n) - 1000.0f) < 1e-3f);
    free(g);
}

// Ten steps of Adam with the schedule of Eq. (3) (d_model 16, warmup 4) on
// f(x) = Σ a(x-c)²/2 + Σ sin x, gradient a(x-c) + cos x, next to PyTorch's parameters
// after each step.
static void test_adam_matches_pytorch(void **state) {
    (void)state;
    enum { N = 12, STEPS = 10 };
    Fixture *fx = fixture_load("tests/fixtures/training_adam.txt");
    float *a = fixture_get(fx, "a", N), *c = fixture_get(fx, "c", N);
    float *history = fixture_get(fx, "x", STEPS * N);
    float x[N], g[N];
    memcpy(x, fixture_get(fx, "x0", N), sizeof x);
    AdamConfig config = adam_config_paper(16);
    config.warmup_steps = 4;
    Adam opt;
    adam_init(&opt, &config, N);
    float worst = 0;
    for (int step = 0; step < STEPS; step++) {
        for (int i = 0; i < N; i++) g[i] = a[i] * (x[i] - c[i]) + cosf(x[i]);
        adam_step(&opt, x, g);
        float diff = max_abs_diff(x, history + step * N, N);
        if (diff > worst) worst = diff;
        assert_arrays_close("params after a step vs torch", x, history + step * N, N, 1e-5f);
    }
    print_message("  worst |C - torch| over 10 steps: %.3g\n", (double)worst);
    // And the parameters did move: the test would notice an update that does nothing.
    assert_true(max_abs_diff(x, fixture_get(fx, "x0", N), N) > 0.05f);
    adam_free(&opt);
    fixture_free(fx);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedule_by_hand),
        cmocka_unit_test(test_first_step_by_hand),
        cmocka_unit_test(test_adam_step_schedule_and_clipping),
        cmocka_unit_test(test_global_norm),
        cmocka_unit_test(test_adam_matches_pytorch),
    };
    return cmocka_run_group_tests_name("08 optimizer (Adam, Eq. 3)", tests, NULL, NULL);
}
