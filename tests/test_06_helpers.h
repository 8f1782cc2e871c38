// test_06_helpers.h: what the lesson 06 and 07 tests share (included, not a test
// program of its own): random inputs, the scalar loss Σ out·R that the gradient checks
// differentiate, a gradient check that also proves itself sensitive, and tables of
// named parameter groups for the encoder and decoder layers.
#ifndef TEST_06_HELPERS_H
#define TEST_06_HELPERS_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "decoder.h"
#include "encoder.h"
#include "rng.h"
#include "testutil.h"

static inline void fill_normal(float *x, long n, Rng *rng, float scale) {
    for (long i = 0; i < n; i++) x[i] = scale * rng_normal(rng);
}

// L = Σ out[i]·r[i] in double: dL/dout = r, so a backward run with dout = r gives dL/dx.
static inline double weighted_sum(const float *out, const float *r, long n) {
    double s = 0.0;
    for (long i = 0; i < n; i++) s += (double)out[i] * (double)r[i];
    return s;
}

// Central differences of a float32 forward pass carry noise of up to ~3e-4 (absolute)
// at the sizes used here (eps 1e-2; a smaller eps makes the rounding noise larger, a
// larger one the truncation error and ReLU kinks). So a group agrees when every sampled
// entry is within the relative tolerance, or all are within GRAD_NOISE_ABS. Gradient
// entries here are mostly 0.01..1, and every wrong gradient injected below is at least
// 0.01 off, far outside both.
#define GRAD_NOISE_ABS 1e-3f

static inline bool grad_agrees(GradCheck check, float tol) {
    return check.max_rel_error <= tol || check.max_abs_error <= GRAD_NOISE_ABS;
}

// A fingerprint of which ReLU units are on (hidden > 0): central differences are only
// valid where the function is smooth, and a ±eps step that switches a ReLU crosses a
// corner. A loss function compares the fingerprint after its forward pass with the one
// of the unperturbed pass and reports a switch through a KinkFn.
static inline uint64_t relu_fingerprint(uint64_t h, const float *hidden, long n) {
    for (long i = 0; i < n; i++) h = (h ^ (uint64_t)(hidden[i] > 0.0f)) * 1099511628211ULL;
    return h;
}

// Returns true (and clears the flag) if a forward pass since the last call switched a
// ReLU. NULL for functions without ReLUs.
typedef bool (*KinkFn)(void *ctx);

// Checks grad against central differences (tests/testutil.h grad_check, one index at a
// time) at `samples` indices spread over x. Where the ±eps evaluations switch a ReLU,
// smaller steps are tried; samples where all do are skipped and counted (at most a
// quarter may be). Then proves the check
// sensitive: the clean sample of largest gradient is corrupted (sign flipped, or set
// to 0.01 if smaller than that: a group whose true gradient is ~0 must still catch a
// spurious one) and the check of that entry must FAIL. A check that cannot catch a
// wrong gradient proves nothing.
static inline void check_grad_sensitive_kinks(const char *what, ScalarFn loss, KinkFn kinked,
                                              void *ctx, float *x, const float *grad, long n,
                                              int samples, float eps, float tol) {
    long count = samples >= n ? n : samples, worst = -1, skipped = 0;
    GradCheck all = {0};
    all.worst_index = -1;
    for (long s = 0; s < count; s++) {
        long i = count == n ? s : (long)((double)s * (double)n / (double)count);
        // A step that switches a ReLU crosses a corner: retry once with a 4× smaller
        // step (noisier, but likely on the smooth side); skip if that crosses too.
        GradCheck one = {0};
        bool clean = false;
        for (float step = eps; step >= eps / 4 && !clean; step /= 4) {
            if (kinked) kinked(ctx);
            one = grad_check(loss, ctx, x + i, grad + i, 1, 1, step);
            clean = !(kinked && kinked(ctx));
        }
        if (!clean) {
            skipped++;
            continue;
        }
        if (one.max_abs_error > all.max_abs_error) all.max_abs_error = one.max_abs_error;
        if (all.worst_index < 0 || one.max_rel_error > all.max_rel_error) {
            all = (GradCheck){all.max_abs_error, one.max_rel_error, i, one.worst_analytic,
                              one.worst_numeric};
        }
        if (worst < 0 || fabsf(grad[i]) > fabsf(grad[worst])) worst = i;
    }
    print_message("  grad %-28s max rel err %.2e, abs %.2e (tol %.0e or abs %.0e)%s\n", what,
                  (double)all.max_rel_error, (double)all.max_abs_error, (double)tol,
                  (double)GRAD_NOISE_ABS, skipped ? " (some samples skipped: ReLU corners)" : "");
    if (skipped * 4 > count)
        fail_msg("%s: %ld of %ld samples sit at ReLU corners; the check would be hollow",
                 what, skipped, count);
    if (!grad_agrees(all, tol))
        fail_msg("%s: gradient wrong at index %ld: analytic %.6g, numeric %.6g (rel err %.2e)",
                 what, all.worst_index, (double)all.worst_analytic, (double)all.worst_numeric,
                 (double)all.max_rel_error);

    float bad = fabsf(grad[worst]) >= 0.01f ? -grad[worst] : 0.01f;
    GradCheck corrupted = grad_check(loss, ctx, x + worst, &bad, 1, 1, eps);
    if (grad_agrees(corrupted, tol))
        fail_msg("%s: a corrupted gradient (entry %ld) still passed the check "
                 "(rel err %.2e, abs %.2e)", what, worst, (double)corrupted.max_rel_error,
                 (double)corrupted.max_abs_error);
}

static inline void check_grad_sensitive(const char *what, ScalarFn loss, void *ctx, float *x,
                                        const float *grad, long n, int samples, float eps,
                                        float tol) {
    check_grad_sensitive_kinks(what, loss, NULL, ctx, x, grad, n, samples, eps, tol);
}

// A named parameter block and its gradient block.
typedef struct {
    char name[48];
    float *param, *grad;
    long n;
} ParamGroup;

static inline int add_group(ParamGroup *g, int k, const char *prefix, const char *name,
                            float *param, float *grad, long n) {
    snprintf(g[k].name, sizeof g[k].name, "%s%s", prefix, name);
    g[k].param = param, g[k].grad = grad, g[k].n = n;
    return k + 1;
}

static inline int mha_groups(ParamGroup *g, int k, const char *prefix, MhaWeights *w,
                             MhaWeights *dw, int d) {
    char p[40];
    long dd = (long)d * d;
    snprintf(p, sizeof p, "%s", prefix);
    k = add_group(g, k, p, "w_q", w->w_q, dw->w_q, dd);
    k = add_group(g, k, p, "b_q", w->b_q, dw->b_q, d);
    k = add_group(g, k, p, "w_k", w->w_k, dw->w_k, dd);
    k = add_group(g, k, p, "b_k", w->b_k, dw->b_k, d);
    k = add_group(g, k, p, "w_v", w->w_v, dw->w_v, dd);
    k = add_group(g, k, p, "b_v", w->b_v, dw->b_v, d);
    k = add_group(g, k, p, "w_o", w->w_o, dw->w_o, dd);
    k = add_group(g, k, p, "b_o", w->b_o, dw->b_o, d);
    return k;
}

static inline int ffn_groups(ParamGroup *g, int k, const char *prefix, FfnWeights *w,
                             FfnWeights *dw, int d, int ff) {
    k = add_group(g, k, prefix, "ffn.w1", w->w1, dw->w1, (long)d * ff);
    k = add_group(g, k, prefix, "ffn.b1", w->b1, dw->b1, ff);
    k = add_group(g, k, prefix, "ffn.w2", w->w2, dw->w2, (long)ff * d);
    k = add_group(g, k, prefix, "ffn.b2", w->b2, dw->b2, d);
    return k;
}

// 16 groups.
static inline int encoder_layer_groups(ParamGroup *g, int k, const char *prefix,
                                       EncoderLayerWeights *w, EncoderLayerWeights *dw,
                                       int d, int ff) {
    char p[40];
    snprintf(p, sizeof p, "%sself.", prefix);
    k = mha_groups(g, k, p, &w->self_attn, &dw->self_attn, d);
    k = add_group(g, k, prefix, "ln1.gain", w->ln1.gain, dw->ln1.gain, d);
    k = add_group(g, k, prefix, "ln1.bias", w->ln1.bias, dw->ln1.bias, d);
    k = ffn_groups(g, k, prefix, &w->ffn, &dw->ffn, d, ff);
    k = add_group(g, k, prefix, "ln2.gain", w->ln2.gain, dw->ln2.gain, d);
    k = add_group(g, k, prefix, "ln2.bias", w->ln2.bias, dw->ln2.bias, d);
    return k;
}

// 26 groups.
static inline int decoder_layer_groups(ParamGroup *g, int k, const char *prefix,
                                       DecoderLayerWeights *w, DecoderLayerWeights *dw,
                                       int d, int ff) {
    char p[40];
    snprintf(p, sizeof p, "%sself.", prefix);
    k = mha_groups(g, k, p, &w->self_attn, &dw->self_attn, d);
    k = add_group(g, k, prefix, "ln1.gain", w->ln1.gain, dw->ln1.gain, d);
    k = add_group(g, k, prefix, "ln1.bias", w->ln1.bias, dw->ln1.bias, d);
    snprintf(p, sizeof p, "%scross.", prefix);
    k = mha_groups(g, k, p, &w->cross_attn, &dw->cross_attn, d);
    k = add_group(g, k, prefix, "ln2.gain", w->ln2.gain, dw->ln2.gain, d);
    k = add_group(g, k, prefix, "ln2.bias", w->ln2.bias, dw->ln2.bias, d);
    k = ffn_groups(g, k, prefix, &w->ffn, &dw->ffn, d, ff);
    k = add_group(g, k, prefix, "ln3.gain", w->ln3.gain, dw->ln3.gain, d);
    k = add_group(g, k, prefix, "ln3.bias", w->ln3.bias, dw->ln3.bias, d);
    return k;
}

// Parity with a PyTorch fixture: every |a − b| <= abs_tol, or <= rel_tol·|b| for large
// entries (float32 sums of different order differ in the last bits). Returns the
// largest absolute difference; fails naming `what` and the index otherwise.
static inline float assert_parity(const char *what, const float *a, const float *b, long n,
                                  float abs_tol, float rel_tol) {
    float worst = 0.0f;
    for (long i = 0; i < n; i++) {
        float diff = fabsf(a[i] - b[i]);
        if (!(diff <= abs_tol || diff <= rel_tol * fabsf(b[i])))
            fail_msg("%s[%ld]: C %.9g vs PyTorch %.9g (|diff| %.3g)", what, i, (double)a[i],
                     (double)b[i], (double)diff);
        if (diff > worst) worst = diff;
    }
    return worst;
}

#endif
