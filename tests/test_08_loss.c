// test_08_loss.c: label-smoothed cross-entropy (§5.4): a value worked by hand, parity
// with torch.nn.CrossEntropyLoss(label_smoothing=0.1, ignore_index=0), padding ignored,
// numerical stability, and the backward against finite differences.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "loss.h"
#include "rng.h"
#include "tensor.h"
#include "testutil.h"

// Without -fopenmp there is one thread, and the thread-count checks compare it to itself.
#ifdef _OPENMP
#include <omp.h>
#else
static void omp_set_num_threads(int n) { (void)n; }
#endif

// The loss over B·T positions of V classes with smoothing ε, padding token 0.
static LossSpec spec(int B, int T, int V, float smoothing) {
    return (LossSpec){.B = B, .T = T, .V = V, .smoothing = smoothing, .ignore_index = 0};
}

// V = 2, logits [0, ln 3] -> p = [1/4, 3/4], target 1, ε = 0.1:
//   -log p(y)            = -ln(3/4)                  = 0.2876821
//   (1/V) Σ_c -log p(c)  = (ln 4 + ln(4/3)) / 2      = 0.8369882
//   loss = 0.9 · 0.2876821 + 0.1 · 0.8369882          = 0.3426127
//   q = [ε/2, 1 - ε + ε/2] = [0.05, 0.95];  dlogits = p - q = [0.2, -0.2]
// hint: loss-row: nll = log z - (logit(y) - max) and smooth = log z - (1/V) Σ_c (logit(c) -
// max), z = Σ_c exp(logit(c) - max). loss-gradient: q(c) = ε/V for EVERY class, plus
// (1 - ε) at the target, so dlogits = p - q: 0.25 - 0.05 and 0.75 - 0.95 here, ADDED to
// dlogits (it starts at 1 in this test: got 0.2, -0.2 means "=" instead of "+=").
static void test_loss_by_hand(void **state) {
    (void)state;
    float logits[2] = {0.0f, logf(3.0f)}, probs[2], dlogits[2] = {1.0f, 1.0f};  // added to
    int targets[1] = {1};
    LossResult r;
    loss_forward(&r, probs, logits, targets, spec(1, 1, 2, 0.1f));
    assert_int_equal(r.n_tokens, 1);
    assert_int_equal(r.n_correct, 1);
    assert_true(fabs(r.nll - 0.2876821) < 1e-6);
    assert_true(fabs(r.loss - 0.3426127) < 1e-6);
    loss_backward(dlogits, probs, r.n_tokens, targets, spec(1, 1, 2, 0.1f));
    float expected[2] = {1.0f + 0.2f, 1.0f - 0.2f};
    assert_arrays_close("dlogits by hand (1 + p - q: it started at 1)", dlogits, expected, 2, 1e-6f);
}

// The fixture's logits, targets (with padding) and PyTorch's loss and gradient, with
// ε = 0.1 and with ε = 0 (the unsmoothed loss also comes out as result.nll).
// hint: the loss and every gradient entry are divided by the number of non-padding
// positions (n_tokens), not by B·T; the ε = 0 case failing alone points at the (1 - ε)
// weight on the target.
static void test_loss_matches_pytorch(void **state) {
    (void)state;
    enum { B = 3, T = 5, V = 11, N = B * T * V };
    Fixture *fx = fixture_load("tests/fixtures/training_loss.txt");
    float *logits = fixture_get(fx, "logits", N);
    float *target_values = fixture_get(fx, "targets", B * T);
    int targets[B * T];
    for (int i = 0; i < B * T; i++) targets[i] = (int)target_values[i];
    float *probs = xmalloc(sizeof(float) * N), *dlogits = xcalloc(N, sizeof(float));

    LossResult r;
    loss_forward(&r, probs, logits, targets, spec(B, T, V, 0.1f));
    float torch_loss = fixture_get(fx, "loss", 1)[0];
    float torch_nll = fixture_get(fx, "loss_nll", 1)[0];
    print_message("  loss %.7f (torch %.7f), nll %.7f (torch %.7f), tokens %ld\n", r.loss,
                  (double)torch_loss, r.nll, (double)torch_nll, r.n_tokens);
    assert_int_equal(r.n_tokens, 12);  // 15 positions, 3 of them padding
    assert_true(fabs(r.loss - torch_loss) <= 1e-5 * fmax(1.0, fabs(torch_loss)));
    assert_true(fabs(r.nll - torch_nll) <= 1e-5 * fmax(1.0, fabs(torch_nll)));
    loss_backward(dlogits, probs, r.n_tokens, targets, spec(B, T, V, 0.1f));
    assert_arrays_close("dlogits vs torch (ε = 0.1)", dlogits, fixture_get(fx, "dlogits", N), N, 1e-5f);

    LossResult plain;
    loss_forward(&plain, probs, logits, targets, spec(B, T, V, 0.0f));
    assert_true(fabs(plain.loss - torch_nll) <= 1e-5 * fmax(1.0, fabs(torch_nll)));
    assert_true(plain.loss == plain.nll);
    memset(dlogits, 0, sizeof(float) * N);
    loss_backward(dlogits, probs, plain.n_tokens, targets, spec(B, T, V, 0.0f));
    assert_arrays_close("dlogits vs torch (ε = 0)", dlogits, fixture_get(fx, "dlogits_nll", N), N, 1e-5f);
    free(probs), free(dlogits);
    fixture_free(fx);
}

// Padding positions contribute nothing: changing their logits changes neither the loss
// nor any gradient, and their gradient rows stay 0. A batch of only padding has loss 0.
// hint: in loss-gradient, skip a row whose target is spec.ignore_index before touching
// dlogits: its row must stay exactly as the caller left it (zero).
static void test_padding_is_ignored(void **state) {
    (void)state;
    enum { B = 2, T = 3, V = 7, N = B * T * V };
    Rng rng;
    rng_seed(&rng, 1, 0);
    float logits[N], probs[N], d1[N] = {0}, d2[N] = {0};
    for (int i = 0; i < N; i++) logits[i] = 2.0f * rng_normal(&rng);
    int targets[B * T] = {3, 5, 0, 6, 0, 0};
    LossResult r1, r2;
    loss_forward(&r1, probs, logits, targets, spec(B, T, V, 0.1f));
    loss_backward(d1, probs, r1.n_tokens, targets, spec(B, T, V, 0.1f));
    for (int c = 0; c < V; c++) logits[2 * V + c] += 5.0f * c, logits[5 * V + c] -= 3.0f;
    loss_forward(&r2, probs, logits, targets, spec(B, T, V, 0.1f));
    loss_backward(d2, probs, r2.n_tokens, targets, spec(B, T, V, 0.1f));
    assert_int_equal(r1.n_tokens, 3);
    assert_true(r1.loss == r2.loss);
    assert_arrays_close("gradients with other pad logits", d1, d2, N, 0.0f);
    for (int c = 0; c < V; c++) assert_true(d1[2 * V + c] == 0.0f && d1[4 * V + c] == 0.0f);

    int all_pad[B * T] = {0};
    float d3[N] = {0}, zeros[N] = {0};
    LossResult r3;
    loss_forward(&r3, probs, logits, all_pad, spec(B, T, V, 0.1f));
    loss_backward(d3, probs, r3.n_tokens, all_pad, spec(B, T, V, 0.1f));
    assert_int_equal(r3.n_tokens, 0);
    assert_true(r3.loss == 0.0 && r3.nll == 0.0);
    assert_arrays_close("no gradient from an all-padding batch", d3, zeros, N, 0.0f);
}

// Logits in the thousands neither overflow nor give NaN, and shifting every logit of a
// row by a constant leaves the loss unchanged (softmax is shift invariant). The probs
// may overwrite the logits (in place).
// hint: subtract the row's largest logit before expf, or exp(1000) is inf; and read
// everything you need from the logits (the max, the target's logit, their sum) before
// the first write to probs, which may be the same array.
static void test_stable_and_in_place(void **state) {
    (void)state;
    float small[3] = {1.0f, 2.0f, 3.0f}, big[3] = {3001.0f, 3002.0f, 3003.0f}, probs[3];
    int target[1] = {2};
    LossResult a, b;
    loss_forward(&a, probs, small, target, spec(1, 1, 3, 0.1f));
    loss_forward(&b, big, big, target, spec(1, 1, 3, 0.1f));  // in place
    assert_true(isfinite(b.loss));
    assert_true(fabs(a.loss - b.loss) < 1e-6);
    assert_arrays_close("in-place probs", big, probs, 3, 1e-6f);
}

// A diverged model can hand the loss a NaN logit. The loss must then come out non-finite
// (so the training loop stops, §5 of the design) and must not read past the row: under
// AddressSanitizer an out-of-bounds read here is a failure. The NaN sits last, where a
// search for the largest logit would run off the end.
// hint: loop over exactly the V classes (c < V) whatever the values; a comparison with a
// NaN is false, so a loop that stops when it finds a larger logit never stops.
static void test_nan_logit_gives_nan_loss_without_overrun(void **state) {
    (void)state;
    float *logits = xmalloc(sizeof(float) * 3), probs[3];
    logits[0] = NAN, logits[1] = NAN, logits[2] = NAN;
    int target[1] = {1};
    LossResult r;
    loss_forward(&r, probs, logits, target, spec(1, 1, 3, 0.1f));
    assert_false(isfinite(r.loss));
    logits[0] = 1.0f, logits[1] = NAN, logits[2] = 2.0f;  // one NaN among finite logits
    loss_forward(&r, probs, logits, target, spec(1, 1, 3, 0.1f));
    assert_false(isfinite(r.loss));
    logits[1] = INFINITY;                                 // an infinite logit too
    loss_forward(&r, probs, logits, target, spec(1, 1, 3, 0.1f));
    assert_false(isfinite(r.loss));
    free(logits);
}

// ---- the plain row and the fast row ------------------------------------------------

// The plain row on the by-hand example above: V = 2, logits [0, ln 3], target 1 gives
// -log p(y) = 0.2876821, (1/V) Σ_c -log p(c) = 0.8369882, p = [1/4, 3/4], argmax 1.
// Then argmax on [-3, -1, -1, -2]: every logit negative, and a tie, which goes to the
// first of the tied classes (1).
// hint: this is loss-row alone: row.nll = -log p(target), row.smooth = -(1/V) Σ_c log p(c)
// (not yet mixed with ε), row.argmax the index of the largest logit: the FIRST one on a tie
// (compare with >, not >=), and the running maximum starts from logit 0, not from 0.0.
static void test_plain_row_by_hand(void **state) {
    (void)state;
    float logits[2] = {0.0f, logf(3.0f)}, probs[2];
    LossRow row = loss_row_plain(probs, logits, 1, 2);
    assert_true(fabs(row.nll - 0.2876821) < 1e-6);
    assert_true(fabs(row.smooth - 0.8369882) < 1e-6);
    assert_int_equal(row.argmax, 1);
    float expected[2] = {0.25f, 0.75f};
    assert_arrays_close("plain row probs", probs, expected, 2, 1e-7f);
    float negative[4] = {-3.0f, -1.0f, -1.0f, -2.0f}, p4[4];
    LossRow tie = loss_row_plain(p4, negative, 0, 4);
    if (tie.argmax != 1)
        fail_msg("argmax of [-3, -1, -1, -2] is %d, expected 1 (the first of the two largest)", tie.argmax);
}

// |a - b| within float rounding of the size of the numbers (relative 1e-6, at least 1e-6).
static bool close_enough(double a, double b) { return fabs(a - b) <= 1e-6 * fmax(1.0, fabs(b)); }

// Plain and fast rows agree on random rows: V from 1 to 1259 (this project's vocabulary),
// logits of spread 0.1 to 30 (so that some exp terms fall below the fast exp's -87 clamp),
// every target class, and in place (probs == logits). Then whole batches: loss_forward
// (with ε = 0.1 and 0, and padding targets) against the loss assembled from plain rows.
// hint: your loss-row is the plain row here, checked against the fast one on thousands of
// hint: rows: a wrong nll, smooth or argmax on some V or spread (check V = 1, and logits
// hint: all below 0) fails it. Get test_plain_row_by_hand above passing first.
static void test_plain_and_fast_rows_agree(void **state) {
    (void)state;
    static const int Vs[] = {1, 2, 3, 7, 16, 17, 200, 1259};
    static const float spreads[] = {0.1f, 1.0f, 5.0f, 30.0f};
    enum { VMAX = 1259 };
    float *logits = xmalloc(sizeof(float) * VMAX), *copy = xmalloc(sizeof(float) * VMAX);
    float *p_plain = xmalloc(sizeof(float) * VMAX), *p_fast = xmalloc(sizeof(float) * VMAX);
    Rng rng;
    rng_seed(&rng, 8, 0);
    double worst = 0.0;
    for (int v = 0; v < 8; v++)
        for (int s = 0; s < 4; s++)
            for (int trial = 0; trial < 5; trial++) {
                int V = Vs[v], y = (int)rng_below(&rng, (uint32_t)V);
                for (int c = 0; c < V; c++) logits[c] = spreads[s] * rng_normal(&rng);
                LossRow plain = loss_row_plain(p_plain, logits, y, V);
                LossRow fast = loss_row_fast(p_fast, logits, y, V);
                if (!close_enough(fast.nll, plain.nll) || !close_enough(fast.smooth, plain.smooth))
                    print_message("  V=%d spread %g: nll %.9f vs %.9f, smooth %.9f vs %.9f\n", V,
                                  (double)spreads[s], fast.nll, plain.nll, fast.smooth, plain.smooth);
                assert_true(close_enough(fast.nll, plain.nll));
                assert_true(close_enough(fast.smooth, plain.smooth));
                assert_int_equal(fast.argmax, plain.argmax);
                float diff = max_abs_diff(p_fast, p_plain, V);
                if (!(diff <= 1e-6f)) assert_arrays_close("fast vs plain probs", p_fast, p_plain, V, 1e-6f);
                worst = fmax(worst, fabs(fast.nll - plain.nll));
                vec_copy(copy, logits, V);  // in place: probs overwrite the logits
                LossRow in_place = loss_row_plain(copy, copy, y, V);
                assert_true(in_place.nll == plain.nll && in_place.smooth == plain.smooth);
                assert_memory_equal(copy, p_plain, sizeof(float) * (size_t)V);
            }
    print_message("  160 rows: largest |nll fast - nll plain| %.2e\n", worst);
    free(logits), free(copy), free(p_plain), free(p_fast);

    // Whole batches with padding (target 0) and both smoothings, against plain rows.
    enum { B = 3, T = 7, V = 50, N = B * T * V };
    float *batch = xmalloc(sizeof(float) * N), *probs = xmalloc(sizeof(float) * N);
    float *row_probs = xmalloc(sizeof(float) * V);
    int targets[B * T];
    for (int i = 0; i < N; i++) batch[i] = 3.0f * rng_normal(&rng);
    for (int i = 0; i < B * T; i++) targets[i] = i % 4 == 3 ? 0 : 1 + (int)rng_below(&rng, V - 1);
    float smoothings[2] = {0.1f, 0.0f};
    for (int s = 0; s < 2; s++) {
        double sum_loss = 0, sum_nll = 0;
        long tokens = 0, correct = 0;
        for (int r = 0; r < B * T; r++) {
            if (targets[r] == 0) continue;
            LossRow row = loss_row_plain(row_probs, batch + (long)r * V, targets[r], V);
            sum_loss += (1.0 - smoothings[s]) * row.nll + smoothings[s] * row.smooth;
            sum_nll += row.nll;
            tokens++;
            correct += row.argmax == targets[r];
        }
        LossResult result;
        loss_forward(&result, probs, batch, targets, spec(B, T, V, smoothings[s]));
        assert_int_equal(result.n_tokens, tokens);
        assert_int_equal(result.n_correct, correct);
        assert_true(close_enough(result.loss, sum_loss / tokens));
        assert_true(close_enough(result.nll, sum_nll / tokens));
    }
    free(batch), free(probs), free(row_probs);
}

// The plain row, like the fast one, turns a NaN or infinite logit into a NaN loss.
static void test_plain_row_nonfinite(void **state) {
    (void)state;
    float logits[3] = {1.0f, NAN, 2.0f}, probs[3];
    assert_false(isfinite(loss_row_plain(probs, logits, 0, 3).nll));
    logits[1] = INFINITY;
    assert_false(isfinite(loss_row_plain(probs, logits, 0, 3).nll));
    logits[0] = NAN;  // a NaN in the first place, where max starts
    logits[1] = 0.0f;
    assert_false(isfinite(loss_row_plain(probs, logits, 2, 3).nll));
}

// ---- the backward against central differences -------------------------------------
typedef struct {
    float *logits, *probs;
    int *targets;
    float smoothing;
    int B, T, V;
} LossCtx;

static double loss_of_logits(void *ctx) {
    LossCtx *c = ctx;
    LossResult r;
    loss_forward(&r, c->probs, c->logits, c->targets, spec(c->B, c->T, c->V, c->smoothing));
    return r.loss;
}

// Every dL/dlogit (padding included, where it must be 0) for ε = 0.1 and ε = 0; then the
// same check with one analytic entry's sign flipped must fail, so the check can see a
// wrong gradient.
// hint: dL/dlogit(c) = (p(c) - q(c)) / n_tokens, ADDED (+=) to dlogits; an error only at
// the target class means the (1 - ε) term is missing or doubled, an error everywhere the
// ε/V term or the 1/n_tokens scale.
static void test_backward_matches_finite_differences(void **state) {
    (void)state;
    enum { B = 2, T = 4, V = 9, N = B * T * V };
    Rng rng;
    rng_seed(&rng, 3, 0);
    float logits[N], probs[N], dlogits[N];
    for (int i = 0; i < N; i++) logits[i] = 1.5f * rng_normal(&rng);
    int targets[B * T] = {4, 1, 8, 0, 2, 7, 0, 0};
    float smoothings[2] = {0.1f, 0.0f};
    for (int s = 0; s < 2; s++) {
        LossCtx ctx = {logits, probs, targets, smoothings[s], B, T, V};
        LossResult r;
        loss_forward(&r, probs, logits, targets, spec(B, T, V, ctx.smoothing));
        memset(dlogits, 0, sizeof dlogits);
        loss_backward(dlogits, probs, r.n_tokens, targets, spec(B, T, V, ctx.smoothing));
        GradCheck check = grad_check(loss_of_logits, &ctx, logits, dlogits, N, N, 1e-2f);
        assert_grad_ok(s == 0 ? "dlogits (ε = 0.1)" : "dlogits (ε = 0)", check, 1e-3f);
        // Sensitivity: a single wrong sign must be caught.
        long victim = 1 * V + 1;  // row 1's true class: a large gradient
        dlogits[victim] = -dlogits[victim];
        GradCheck broken = grad_check(loss_of_logits, &ctx, logits, dlogits, N, N, 1e-2f);
        print_message("  with one sign flipped: max rel err %.2e\n", (double)broken.max_rel_error);
        assert_true(broken.max_rel_error > 1e-3f);
    }
}

// The same logits give bit-identical results with 1 thread and with 3 (the sums are taken
// in a fixed order, not by an OpenMP reduction), on a batch large enough to be split over
// threads (above PARALLEL_MIN logits) and for every chunk of rows to hold some.
static void test_deterministic_across_threads(void **state) {
    (void)state;
    enum { B = 8, T = 33, V = 200, N = B * T * V };
    Rng rng;
    rng_seed(&rng, 5, 0);
    float *logits = xmalloc(sizeof(float) * N), *p1 = xmalloc(sizeof(float) * N);
    float *p3 = xmalloc(sizeof(float) * N), *d1 = xcalloc(N, sizeof(float)), *d3 = xcalloc(N, sizeof(float));
    int *targets = xmalloc(sizeof(int) * B * T);
    for (int i = 0; i < N; i++) logits[i] = rng_normal(&rng);
    for (int i = 0; i < B * T; i++) targets[i] = (int)rng_below(&rng, V);
    LossResult a, b;
    omp_set_num_threads(1);
    loss_forward(&a, p1, logits, targets, spec(B, T, V, 0.1f));
    loss_backward(d1, p1, a.n_tokens, targets, spec(B, T, V, 0.1f));
    omp_set_num_threads(3);
    loss_forward(&b, p3, logits, targets, spec(B, T, V, 0.1f));
    loss_backward(d3, p3, b.n_tokens, targets, spec(B, T, V, 0.1f));
    assert_true(a.loss == b.loss && a.nll == b.nll && a.n_correct == b.n_correct);
    assert_memory_equal(p1, p3, sizeof(float) * N);
    assert_memory_equal(d1, d3, sizeof(float) * N);
    // Random logits over 200 classes: the loss is near ln 200 = 5.3 (plus a little for the
    // spread of the logits), and about 1 in 200 predictions is right by chance.
    print_message("  nll %.4f, %ld of %ld right\n", a.nll, a.n_correct, a.n_tokens);
    assert_true(a.nll > 5.0 && a.nll < 6.5);
    assert_true(a.n_correct < a.n_tokens / 10);
    free(logits), free(p1), free(p3), free(d1), free(d3), free(targets);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loss_by_hand),
        cmocka_unit_test(test_loss_matches_pytorch),
        cmocka_unit_test(test_padding_is_ignored),
        cmocka_unit_test(test_stable_and_in_place),
        cmocka_unit_test(test_nan_logit_gives_nan_loss_without_overrun),
        cmocka_unit_test(test_plain_row_by_hand),
        cmocka_unit_test(test_plain_and_fast_rows_agree),
        cmocka_unit_test(test_plain_row_nonfinite),
        cmocka_unit_test(test_backward_matches_finite_differences),
        cmocka_unit_test(test_deterministic_across_threads),
    };
    return cmocka_run_group_tests_name("08 loss (label smoothing)", tests, NULL, NULL);
}
