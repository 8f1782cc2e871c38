// encoder.h: one encoder layer and the way a stack of them is laid out, §3.1:
//
//   "Each layer has two sub-layers. The first is a multi-head self-attention mechanism,
//    and the second is a simple, position-wise fully connected feed-forward network. We
//    employ a residual connection around each of the two sub-layers, followed by layer
//    normalization. That is, the output of each sub-layer is LayerNorm(x + Sublayer(x))."
//
// With residual dropout (§5.4) one layer is, for x (B,S,d_model):
//     x1  = LayerNorm1(x  + Dropout(SelfAttention(x, x, x)))     keys: src_lengths
//     out = LayerNorm2(x1 + Dropout(FFN(x1)))
// This is "post-LN", the paper's order. (Later work moved the norm in front of each
// sub-layer, "pre-LN", for easier deep training; it is not what the paper describes.)
// A stack is N such layers, each feeding the next; the last output is the "memory"
// the decoder attends to.
#ifndef ENCODER_H
#define ENCODER_H

#include "dims.h"
#include "dropout.h"
#include "feedforward.h"
#include "layernorm.h"
#include "multihead.h"
#include "residual.h"
#include "rng.h"

// One encoder layer's parameters, or their gradients (same layout).
typedef struct EncoderLayerWeights {
    MhaWeights self_attn;   // §3.2.2
    LayerNormWeights ln1;   // (d_model) gain, (d_model) bias
    FfnWeights ffn;         // §3.3
    LayerNormWeights ln2;
} EncoderLayerWeights;

// Lays w out in base in the order self_attn, ln1, ffn, ln2 and returns the number of
// floats (dims.h: base NULL only counts, w may then be NULL).
long encoder_layer_weights_layout(EncoderLayerWeights *w, float *base, int d_model, int d_ff);

// Xavier uniform matrices, zero biases, LayerNorm gain 1 and bias 0 (rng draws:
// attention first, then the feed-forward network).
void encoder_layer_weights_init(const EncoderLayerWeights *w, Rng *rng, int d_model, int d_ff);

// What one layer's forward pass keeps for its backward (and the viewer). Sized for
// (max B)·(max S) rows = "rows" below; a pass with smaller B, S uses the front of each.
typedef struct EncoderLayerActs {
    MhaActs attn;             // self-attention internals; attn.weights is (B,h,S,S)
    ResidualActs res1;        // res1.sum = x + Dropout(attention): LayerNorm1's input
    float *x1;                // (rows,d_model) LayerNorm1 output: the FFN's input
    float *hidden;            // (rows,d_ff) ReLU(x1·W1 + b1)
    ResidualActs res2;        // res2.sum = x1 + Dropout(FFN(x1)): LayerNorm2's input
    float *out;               // (rows,d_model) the layer's output
} EncoderLayerActs;

// Lays a out in base for dims (B, S, d_model, h, d_ff; T unused) and returns the
// number of floats (base NULL: only count).
long encoder_layer_acts_layout(EncoderLayerActs *a, float *base, Dims dims);

// Floats of scratch encoder_layer_backward needs for dims.
long encoder_layer_scratch_floats(Dims dims);

// One encoder layer, §3.1 (formulas at the top). x (B,S,d_model) -> acts->out
// (B,S,d_model). src_lengths (B): keys at positions >= src_lengths[b] are padding.
// Dropout as drop says (masks drawn from its rng: sub-layer 1, then 2).
void encoder_layer_forward(EncoderLayerActs *acts, const float *x,
                           const EncoderLayerWeights *w, const int *src_lengths,
                           Dropout drop, Dims dims);

// Backward of encoder_layer_forward for dout = dL/d(acts->out) (B,S,d_model).
// ACCUMULATES into dx (B,S,d_model) and every field of dw. scratch:
// encoder_layer_scratch_floats(dims) floats. dx must not alias dout.
void encoder_layer_backward(float *dx, EncoderLayerWeights *dw, float *scratch,
                            const float *dout, const EncoderLayerActs *acts,
                            const EncoderLayerWeights *w, Dims dims);

#endif
