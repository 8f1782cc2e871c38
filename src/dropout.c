// dropout.c: inverted dropout, §5.4 (see dropout.h).
#include "dropout.h"

#include <assert.h>
#include <string.h>

// Whether this pass drops anything: only in training, and only with p > 0.   §5.4
bool dropout_active(Dropout drop) { return drop.training && drop.p > 0.0f; }

// out = x·mask with mask ∈ {0, 1/(1−p)}                                    §5.4
// out, mask, x (n).
void dropout_forward(float *out, float *mask, const float *x, long n, Dropout drop) {
    if (!dropout_active(drop)) {
        if (out != x) memcpy(out, x, sizeof(float) * (size_t)n);
        return;
    }
    const float p = drop.p;
    Rng *rng = drop.rng;
    assert(p < 1.0f && rng != NULL);
    float keep_scale = 1.0f / (1.0f - p);
    // One uniform per element, in order: the mask depends only on the Rng state, never
    // on thread scheduling.
    for (long i = 0; i < n; i++) {
        mask[i] = rng_uniform(rng) < p ? 0.0f : keep_scale;
        out[i] = x[i] * mask[i];
    }
}

// Backward of dropout_forward: out = x·mask, so dx += dout·mask (mask NULL: dx += dout).
// dx, dout, mask (n).
void dropout_backward(float *dx, const float *dout, const float *mask, long n) {
    if (mask == NULL) {
        for (long i = 0; i < n; i++) dx[i] += dout[i];
        return;
    }
    for (long i = 0; i < n; i++) dx[i] += dout[i] * mask[i];
}
