// dropout.c: inverted dropout, §5.4 (see dropout.h).
#include "dropout.h"

#include <assert.h>
#include <string.h>

// Whether this pass drops anything: only in training, and only with p > 0.   §5.4
bool dropout_active(Dropout drop) { return drop.training && drop.p > 0.0f; }

// out = x·mask with mask ∈ {0, 1/(1−p)}                                    §5.4
// out, mask, x (n).
void dropout_forward(float *out, float *mask, const float *x, long n, Dropout drop) {
    // EXERCISE 06 dropout-forward: inverted dropout of n values
    // TODO: when !dropout_active(drop) (evaluation, or p = 0) this is the identity: out = x
    // TODO: (out may BE x), mask not written, no draw from drop.rng. Otherwise, for each
    // TODO: i in index order draw one rng_uniform(drop.rng) in [0,1): with probability
    // TODO: drop.p the value is dropped, mask[i] = 0; else mask[i] = 1/(1−p), and
    // TODO: out[i] = x[i]·mask[i]                                                  §5.4
    // TODO: The 1/(1−p) keeps the expected value of out equal to x, so evaluation needs
    // TODO: no rescaling.
    // STUB: (void)mask; (void)drop;
    // STUB: for (long i = 0; i < n; i++) out[i] = 0.0f;
    // SOLUTION
    if (!dropout_active(drop)) {
        if (out != x) memcpy(out, x, sizeof(float) * (size_t)n);
        return;
    }
    const float p = drop.p;
    Rng *rng = drop.rng;
    assert(p < 1.0f && rng != NULL);
    float keep_scale = 1.0f / (1.0f - p);
    // One uniform per element, in order: the mask depends only on the Rng state, never
    // on thread scheduling. The draws go into mask first, in one call (rng.h's
    // rng_uniform_fill: the same numbers as a rng_uniform per element, faster).
    rng_uniform_fill(rng, mask, n);
    for (long i = 0; i < n; i++) {
        mask[i] = mask[i] < p ? 0.0f : keep_scale;
        out[i] = x[i] * mask[i];
    }
    // END EXERCISE
}

// Backward of dropout_forward: out = x·mask, so dx += dout·mask (mask NULL: dx += dout).
// dx, dout, mask (n).
void dropout_backward(float *dx, const float *dout, const float *mask, long n) {
    // EXERCISE 06 dropout-backward: the gradient through out = x·mask
    // TODO: dx (n) += dout·mask, elementwise; mask == NULL means nothing was dropped (the
    // TODO: forward was the identity): dx += dout. ACCUMULATE (+=) into dx.
    // STUB: (void)dx; (void)dout; (void)mask; (void)n;
    // SOLUTION
    if (mask == NULL) {
        for (long i = 0; i < n; i++) dx[i] += dout[i];
        return;
    }
    for (long i = 0; i < n; i++) dx[i] += dout[i] * mask[i];
    // END EXERCISE
}
