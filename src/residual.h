// residual.h: the connection around every sub-layer of the encoder and the decoder,
// §3.1 with residual dropout, §5.4:
//
//     out = LayerNorm(x + Dropout(Sublayer(x)))
//
// "We employ a residual connection around each of the two sub-layers, followed by
// layer normalization" (§3.1); "We apply dropout to the output of each sub-layer,
// before it is added to the sub-layer input and normalized" (§5.4).
//
// It comes in two halves, so that both orders can be built from them:
//   before half   sum = x + Dropout(sub)          residual_add_forward / _backward
//   after half    out = LayerNorm(sum)            residual_norm_forward / _backward
// The paper's post-LN order is the two halves one after the other (residual_forward /
// residual_backward). Pre-LN, a later variant (x + Dropout(Sublayer(LayerNorm(x)))),
// would run the after half's LayerNorm in front of the sub-layer instead; this code
// does not build it.
#ifndef RESIDUAL_H
#define RESIDUAL_H

#include <stdbool.h>

#include "dropout.h"
#include "layernorm.h"

// What one connection keeps for the backward; every buffer has `rows` rows (B·S or
// B·T) of d_model floats, or one float per row.
typedef struct {
    float *sum;            // (rows,d_model) the sub-layer writes its output here; the
                           // before half turns it, in place, into x + Dropout(sub)
    float *mask;           // (rows,d_model) the dropout mask
    bool dropped;          // whether the mask was used (dropout active in that forward)
    LayerNormStats norm;   // (rows) each: the after half's mean and rstd
} ResidualActs;

// Lays a out in base for rows × d_model and returns the number of floats (dims.h:
// base NULL only counts).
long residual_acts_layout(ResidualActs *a, float *base, int rows, int d_model);

// Before half: acts->sum = x + Dropout(acts->sum), in place. On entry acts->sum holds
// Sublayer(x) (rows,d_model); x is (rows,d_model). Keeps the mask in acts.
void residual_add_forward(ResidualActs *acts, const float *x, Dropout drop, int rows,
                          int d_model);

// Backward of the before half for dsum = dL/dsum. OVERWRITES dsublayer (rows,d_model)
// with dL/dSublayer(x) = dsum·mask. On the residual path sum = x + …, whose derivative
// in x is 1: dL/dx gets dsum itself, which the caller adds to its dx (or, when nothing
// else has reached that dx yet, keeps dsum's buffer as dx's first term).
void residual_add_backward(float *dsublayer, const float *dsum, const ResidualActs *acts,
                           int rows, int d_model);

// After half: out (rows,d_model) = LayerNorm(acts->sum) with ln; keeps the statistics
// in acts. out must not alias acts->sum (the backward reads it).
void residual_norm_forward(float *out, ResidualActs *acts, const LayerNormWeights *ln,
                           int rows, int d_model);

// Backward of the after half for dout = dL/dout (rows,d_model). OVERWRITES dsum
// (rows,d_model) with dL/dsum; ACCUMULATES into dln's gain and bias.
void residual_norm_backward(float *dsum, const LayerNormWeights *dln, const float *dout,
                            const ResidualActs *acts, const LayerNormWeights *ln, int rows,
                            int d_model);

// The paper's post-LN connection, both halves: out = LayerNorm(x + Dropout(acts->sum))
// where acts->sum holds Sublayer(x) on entry (and x + Dropout(Sublayer(x)) on return).
void residual_forward(float *out, ResidualActs *acts, const float *x,
                      const LayerNormWeights *ln, Dropout drop, int rows, int d_model);

// Backward of residual_forward, the after half then the before half. OVERWRITES dsum
// with dL/d(x + Dropout(sub)), which the residual path carries to x (see
// residual_add_backward), and dsublayer with dL/dSublayer(x); ACCUMULATES into dln.
void residual_backward(float *dsum, float *dsublayer, const LayerNormWeights *dln,
                       const float *dout, const ResidualActs *acts,
                       const LayerNormWeights *ln, int rows, int d_model);

#endif
