// dropout.h: dropout (Srivastava et al. 2014), the paper's only explicit regulariser
// besides label smoothing, §5.4 "Residual Dropout": "We apply dropout to the output of
// each sub-layer, before it is added to the sub-layer input and normalized. In addition,
// we apply dropout to the sums of the embeddings and the positional encodings in both
// the encoder and decoder stacks. ... P_drop = 0.1."
//
// Inverted dropout: in training each value is zeroed with probability p and the
// survivors are scaled by 1/(1−p), so the expected value is unchanged and evaluation
// needs no rescaling: there, dropout is exactly the identity.
#ifndef DROPOUT_H
#define DROPOUT_H

#include <stdbool.h>

#include "rng.h"

// How dropout runs in one forward pass, handed down from the model to every layer.
typedef struct {
    float p;        // P_drop, in [0, 1)
    bool training;  // false: dropout is the identity (evaluation, decoding)
    Rng *rng;       // where the masks come from; may be NULL when not active
} Dropout;

// Evaluation: no dropout, no RNG.
#define DROPOUT_OFF ((Dropout){.p = 0.0f, .training = false, .rng = NULL})

// True when dropout_forward will actually drop (training and p > 0); otherwise it is
// the identity and no mask is written.
bool dropout_active(Dropout drop);

// out (n) = x·mask, mask[i] = 0 with probability p, else 1/(1−p); mask (n) is kept for
// the backward. Draws n uniforms from drop.rng in index order (same seed, same mask).
// When !dropout_active(drop): out = x exactly, mask and rng untouched. out may alias x.
void dropout_forward(float *out, float *mask, const float *x, long n, Dropout drop);

// Backward: in the forward pass out = x·mask, so dx += dout·mask; with mask == NULL
// (dropout was inactive) dx += dout. ACCUMULATES into dx (n).
void dropout_backward(float *dx, const float *dout, const float *mask, long n);

#endif
