// attention.h: scaled dot-product attention, §3.2.1 Eq. (1):
//
//     Attention(Q, K, V) = softmax(Q Kᵀ / √d_k) V
//
// with the two masks the Transformer needs, applied to the scores BEFORE the softmax
// by setting them to -INFINITY (so they get exactly zero weight):
//   - padding: keys j >= key_lengths[b] are pad tokens and are never attended to;
//   - causal (§3.2.3): query i may not see keys j > i, so the decoder cannot peek at
//     the words it is about to predict.
//
// Layout: every tensor is contiguous, heads outermost after the batch, so one
// (batch, head) slice is an ordinary row-major matrix the tensor.h matmuls can use:
//   q (B,h,Tq,d_k)   k (B,h,Tk,d_k)   v (B,h,Tk,d_k)   out (B,h,Tq,d_k)
//   weights (B,h,Tq,Tk): row i is query i's distribution over the Tk keys.
// Self-attention has Tq == Tk; cross-attention (decoder looking at the encoder) has
// Tq = T target positions and Tk = S source positions.
#ifndef ATTENTION_H
#define ATTENTION_H

#include <stdbool.h>
#include <stdio.h>

#include "dims.h"

// The three inputs of Eq. (1), one (batch, head) slice after another:
// q (B,h,Tq,d_k), k (B,h,Tk,d_k), v (B,h,Tk,d_k).
typedef struct {
    const float *q, *k, *v;
} AttnInputs;

// Their gradients, same shapes: where attention_backward ACCUMULATES dL/dq, dL/dk, dL/dv.
typedef struct {
    float *dq, *dk, *dv;
} AttnInputGrads;

// Which keys each query may see (both masks may be on at once):
typedef struct {
    const int *key_lengths;  // (B): keys j >= key_lengths[b] are padding; NULL: no padding
    bool causal;             // query i may not see keys j > i (§3.2.3)
} AttnMask;

// No mask at all: every query sees every key.
#define ATTN_NO_MASK ((AttnMask){.key_lengths = NULL, .causal = false})

// Computes out = softmax(q kᵀ/√d_k + mask) v for every (batch, head) slice and keeps
// the softmax output in `weights`: the backward pass needs it, and the viewer draws it.
// out (B,h,Tq,d_k), weights (B,h,Tq,Tk). A query whose every key is masked
// (key_lengths[b] == 0) gets all-zero weights and a zero output, never NaN. Overwrites
// out and weights; they must not alias the inputs.
void attention_forward(float *out, float *weights, AttnInputs in, AttnMask mask,
                       AttnDims dims);

// Gradients of attention_forward. Given dout (B,h,Tq,d_k) = dL/dout, ACCUMULATES
// dL/dq, dL/dk, dL/dv into grads. dweights_scratch: B*h*Tq*Tk floats the function may
// overwrite. The masks need no arguments here: a masked score has weight exactly 0,
// and the softmax Jacobian multiplies by the weight, so no gradient flows through it.
void attention_backward(AttnInputGrads grads, float *dweights_scratch, const float *dout,
                        const float *weights, AttnInputs in, AttnDims dims);

// Prints one (Tq,Tk) matrix of attention weights to f as a terminal heatmap: rows are
// queries (labelled on the left), columns are keys (labelled on top); each cell shows a
// shade block and the weight, and a legend line explains the shades. A weight that is
// exactly 0 (a masked key) prints as a dot. Labels may be UTF-8.
void attention_print(FILE *f, const float *weights, int Tq, int Tk,
                     const char *const *query_labels, const char *const *key_labels);

// attention_print with the rows explained by `rows_are` on the legend line, in place of
// "queries". A decoder's row i is fed token i but predicts token i+1, so a decoder
// heatmap labels each row with the token it predicts and says so here (e.g. "rows:
// the token each decoder step predicts"; translate --attention does).
void attention_print_rows(FILE *f, const float *weights, int Tq, int Tk,
                          const char *const *row_labels, const char *const *key_labels,
                          const char *rows_are);

#endif
