// feedforward.h: the position-wise feed-forward network, §3.3 Eq. (2):
//
//     FFN(x) = max(0, x·W1 + b1)·W2 + b2
//
// "applied to each position separately and identically": every token's d_model vector
// goes up to d_ff (2048 in the base model, 4× wider), through a ReLU, and back down.
// All B·T tokens are one (rows, d_model) matrix, so each layer is a single matmul.
#ifndef FEEDFORWARD_H
#define FEEDFORWARD_H

#include "dims.h"
#include "rng.h"

// One FFN's parameters, or their gradients (same layout). y = x·W + b, W (d_in,d_out).
typedef struct {
    float *w1, *b1;  // (d_model,d_ff), (d_ff)
    float *w2, *b2;  // (d_ff,d_model), (d_model)
} FfnWeights;

// Lays w out in base in the order w1 b1 w2 b2 and returns the number of floats,
// 2·d_model·d_ff + d_ff + d_model (dims.h: base NULL only counts).
long ffn_weights_layout(FfnWeights *w, float *base, int d_model, int d_ff);

// Xavier/Glorot uniform W1, W2 (a = √(6/(d_model+d_ff))), zero biases. PyTorch's
// nn.Transformer applies xavier_uniform_ to every matrix; the paper does not say.
void ffn_weights_init(const FfnWeights *w, Rng *rng, int d_model, int d_ff);

// out (rows,d_model) = ReLU(x·W1 + b1)·W2 + b2, Eq. (2). hidden (rows,d_ff) keeps the
// ReLU output for the backward. x (rows,d_model); out must not alias x.
void feedforward_forward(float *out, float *hidden, const float *x, const FfnWeights *w,
                         FfnDims dims);

// Backward of feedforward_forward for dout (rows,d_model). ACCUMULATES into dx
// (rows,d_model) and every field of dw. hidden and x: the forward's. dhidden
// (rows,d_ff) is scratch (overwritten). dx must not alias dout.
void feedforward_backward(float *dx, FfnWeights *dw, float *dhidden, const float *dout,
                          const float *hidden, const float *x, const FfnWeights *w,
                          FfnDims dims);

#endif
