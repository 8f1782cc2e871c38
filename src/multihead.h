// multihead.h: multi-head attention, §3.2.2:
//
//     MultiHead(Q, K, V) = Concat(head_1, ..., head_h) W^O
//     where head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V)
//
// Rather than h small (d_model, d_k) matrices per projection, each projection is one
// (d_model, d_model) matrix whose columns i*d_k .. (i+1)*d_k-1 are W_i. One matmul over
// all B*T rows computes every head at once; a copy then splits the result by head:
//
//   (B,T,d_model) --split--> (B,h,T,d_k):  x[b, t, i*d_k + c]  ->  x[b, i, t, c]
//
// so each head's (T, d_k) block is contiguous for attention.h. Concat is the inverse
// copy (merge). This is the same column order as PyTorch's nn.MultiheadAttention, which
// also gives each projection a bias (b_q, b_k, b_v, b_o); we keep them so parity tests
// can compare every number.
//
// Self-attention passes the same tensor as x_q and x_kv; encoder-decoder attention
// passes the decoder state as x_q (B,T,d_model) and the encoder output as x_kv
// (B,S,d_model), so Tq = T and Tk = S.
#ifndef MULTIHEAD_H
#define MULTIHEAD_H

#include <stdbool.h>

#include "attention.h"
#include "dims.h"
#include "rng.h"

// One attention sub-layer's parameters, or their gradients (same layout). Each projection
// is y = x·W + b with W stored (d_in, d_out) row-major. The biases are PyTorch's
// (nn.MultiheadAttention), not the paper's: §3.2.2's projections have none.
typedef struct {
    float *w_q, *b_q;  // (d_model, d_model), (d_model): head i uses columns i*d_k ..
    float *w_k, *b_k;  // (d_model, d_model), (d_model)
    float *w_v, *b_v;  // (d_model, d_model), (d_model)
    float *w_o, *b_o;  // (d_model, d_model), (d_model): rows i*d_k .. read head i
} MhaWeights;

// Lays w out in base in the order w_q b_q w_k b_k w_v b_v w_o b_o and returns the
// number of floats (dims.h: base NULL only counts, w may then be NULL too). Does not
// touch the values.
long mha_weights_layout(MhaWeights *w, float *base, int d_model);

// Xavier/Glorot uniform init, U(-a, a) with a = √(6 / (d_model + d_model)), for the
// four matrices; zero biases (as PyTorch's nn.MultiheadAttention does for its biases).
// The paper does not say how it initialised weights.
void mha_weights_init(const MhaWeights *w, Rng *rng, int d_model);

// Activations of the last forward pass that the backward needs, in a buffer owned by
// the caller (see mha_acts_layout). Shapes for d_k = d_model / h:
typedef struct {
    const float *x_q, *x_kv;  // the inputs (B,Tq,d_model), (B,Tk,d_model): pointers, not
                              // copies; the caller keeps them unchanged until the backward
    float *q, *k, *v;   // (B,h,Tq,d_k), (B,h,Tk,d_k), (B,h,Tk,d_k): projected, split by head
    float *weights;     // (B,h,Tq,Tk) attention weights (the viewer reads these)
    float *heads_out;   // (B,h,Tq,d_k) each head's attention output
    float *concat;      // (B,Tq,d_model) heads concatenated: the input to W^O
    float *proj;        // (B,max(Tq,Tk),d_model) forward scratch: a projection before
                        // it is split by head (the backward does not read it)
} MhaActs;

// Lays a out in base for dims and returns the number of floats (base NULL: only count).
long mha_acts_layout(MhaActs *a, float *base, MhaDims dims);

// Floats of scratch mha_backward needs.
long mha_scratch_floats(MhaDims dims);

// The split and concat copies described at the top, exposed for lessons and tests.
// src (B,T,d_model) -> dst (B,h,T,d_k), and back. dst is overwritten.
void mha_split_heads(float *dst, const float *src, int B, int T, int d_model, int h);
void mha_merge_heads(float *dst, const float *src, int B, int T, int d_model, int h);

// y (rows,d_model) = x (rows,d_model) · W + bias: one of the four projections over all
// rows at once (W (d_model,d_model), bias (d_model)). y must not alias x.
void mha_linear(float *y, const float *x, const float *w, const float *bias, int rows,
                int d_model);

// out (B,Tq,d_model) = MultiHead(x_q, x_kv, x_kv), §3.2.2, filling acts.
// x_q (B,Tq,d_model); x_kv (B,Tk,d_model), the same pointer for self-attention.
// mask: as in attention_forward. out must not alias x_q or x_kv. d_model must be a
// multiple of h.
void mha_forward(float *out, MhaActs *acts, const float *x_q, const float *x_kv,
                 const MhaWeights *w, AttnMask mask, MhaDims dims);

// Gradients of mha_forward for dout = dL/dout (B,Tq,d_model). ACCUMULATES into
// dx_q (B,Tq,d_model), dx_kv (B,Tk,d_model) and every field of dw. For
// self-attention dx_q and dx_kv may be the SAME buffer (both contributions add up).
// The forward's inputs come from acts. scratch: mha_scratch_floats(dims) floats,
// overwritten.
void mha_backward(float *dx_q, float *dx_kv, MhaWeights *dw, float *scratch,
                  const float *dout, const MhaActs *acts, const MhaWeights *w, MhaDims dims);

#endif
