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

#include <stdbool.h>

#include "feedforward.h"
#include "multihead.h"
#include "rng.h"

// One encoder layer's parameters, or their gradients (same layout).
typedef struct EncoderLayerWeights {
    MhaWeights self_attn;          // §3.2.2
    float *ln1_gain, *ln1_bias;    // (d_model) each
    FfnWeights ffn;                // §3.3
    float *ln2_gain, *ln2_bias;    // (d_model) each
} EncoderLayerWeights;

#define ENCODER_LAYER_FLOATS(d_model, d_ff) \
    (MHA_WEIGHT_FLOATS(d_model) + FFN_WEIGHT_FLOATS(d_model, d_ff) + 4L * (d_model))

// Points w into base (ENCODER_LAYER_FLOATS floats): self_attn, ln1, ffn, ln2.
void encoder_layer_weights_point(EncoderLayerWeights *w, float *base, int d_model, int d_ff);

// Xavier uniform matrices, zero biases, LayerNorm gain 1 and bias 0 (rng draws:
// attention first, then the feed-forward network).
void encoder_layer_weights_init(const EncoderLayerWeights *w, Rng *rng, int d_model, int d_ff);

// What one layer's forward pass keeps for its backward (and the viewer). Sized for
// (max B)·(max S) rows = "rows" below; a pass with smaller B, S uses the front of each.
typedef struct EncoderLayerCache {
    MhaCache attn;            // self-attention internals; attn.weights is (B,h,S,S)
    float *sub1;              // (rows,d_model) x + Dropout(attention): LayerNorm1's input
    float *mask1;             // (rows,d_model) its dropout mask
    float *ln1_mean, *ln1_rstd;  // (rows)
    float *x1;                // (rows,d_model) LayerNorm1 output: the FFN's input
    float *hidden;            // (rows,d_ff) ReLU(x1·W1 + b1)
    float *sub2;              // (rows,d_model) x1 + Dropout(FFN(x1)): LayerNorm2's input
    float *mask2;             // (rows,d_model)
    float *ln2_mean, *ln2_rstd;  // (rows)
    float *out;               // (rows,d_model) the layer's output
    bool dropout_on;          // whether the last forward used the masks
} EncoderLayerCache;

long encoder_layer_cache_floats(int B, int S, int d_model, int h, int d_ff);
void encoder_layer_cache_point(EncoderLayerCache *c, float *base, int B, int S,
                               int d_model, int h, int d_ff);
// Floats of scratch encoder_layer_backward needs.
long encoder_layer_scratch_floats(int B, int S, int d_model, int h, int d_ff);

// The connection around every sub-layer of the encoder and the decoder, §3.1 and §5.4:
//     out = LayerNorm(x + Dropout(sub))
// where sub = Sublayer(x) (B·T rows of d_model) has just been computed into `sub`. In
// place: on return `sub` holds x + Dropout(sub), the LayerNorm's input, which the
// backward needs; mask gets the dropout mask, mean and rstd the LayerNorm statistics
// (rows each). gain, bias (d_model). Dropout with probability p when training.
void sublayer_connection_forward(float *out, float *mean, float *rstd, float *sub, float *mask,
                                 const float *x, const float *gain, const float *bias,
                                 float p, bool training, Rng *rng, int rows, int d_model);

// Backward of sublayer_connection_forward for dout = dL/dout. OVERWRITES
//   dresidual = dL/d(x + Dropout(sub)): the gradient the residual path carries to x,
//   dsublayer = dL/dSublayer(x) = dresidual · mask (mask NULL: no dropout was used),
// and accumulates into dgain, dbias. The caller adds dresidual into dL/dx and runs the
// sub-layer's own backward on dsublayer. sum, mean, rstd: the forward's sub, mean, rstd.
void sublayer_connection_backward(float *dresidual, float *dsublayer, float *dgain,
                                  float *dbias, const float *dout, const float *sum,
                                  const float *mean, const float *rstd, const float *mask,
                                  const float *gain, int rows, int d_model);

// One encoder layer, §3.1 (formulas at the top). x (B,S,d_model) -> c->out
// (B,S,d_model). src_lengths (B): keys at positions >= src_lengths[b] are padding.
// Dropout with probability p when training (masks drawn from rng: sub-layer 1, then 2).
void encoder_layer_forward(EncoderLayerCache *c, const float *x,
                           const EncoderLayerWeights *w, const int *src_lengths,
                           float p, bool training, Rng *rng,
                           int B, int S, int d_model, int h, int d_ff);

// Backward of encoder_layer_forward for dout = dL/d(c->out) (B,S,d_model).
// ACCUMULATES into dx (B,S,d_model) and every field of dw. scratch:
// encoder_layer_scratch_floats(...) floats. dx must not alias dout.
void encoder_layer_backward(float *dx, EncoderLayerWeights *dw, float *scratch,
                            const float *dout, const EncoderLayerCache *c, const float *x,
                            const EncoderLayerWeights *w,
                            int B, int S, int d_model, int h, int d_ff);

#endif
