// dropout.c: inverted dropout, §5.4 (see dropout.h).
#include "dropout.h"

#include <assert.h>
#include <string.h>

bool dropout_active(float p, bool training) { return training && p > 0.0f; }

// out = x·mask with mask ∈ {0, 1/(1−p)}                                    §5.4
void dropout_forward(float *out, float *mask, const float *x, float p, long n,
                     bool training, Rng *rng) {
    if (!dropout_active(p, training)) {
        if (out != x) memcpy(out, x, sizeof(float) * (size_t)n);
        return;
    }
    assert(p < 1.0f && rng != NULL);
    float keep_scale = 1.0f / (1.0f - p);
    // One uniform per element, in order: the mask depends only on the Rng state, never
    // on thread scheduling.
    for (long i = 0; i < n; i++) {
        mask[i] = rng_uniform(rng) < p ? 0.0f : keep_scale;
        out[i] = x[i] * mask[i];
    }
}

// Backward of dropout_forward: out = x·mask, so dx += dout·mask.
void dropout_backward(float *dx, const float *dout, const float *mask, long n) {
    if (mask == NULL) {
        for (long i = 0; i < n; i++) dx[i] += dout[i];
        return;
    }
    for (long i = 0; i < n; i++) dx[i] += dout[i] * mask[i];
}
