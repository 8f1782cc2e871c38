// decoder.h: one decoder layer, §3.1 and §3.2.3:
//
//   "In addition to the two sub-layers in each encoder layer, the decoder inserts a third
//    sub-layer, which performs multi-head attention over the output of the encoder stack.
//    ... We also modify the self-attention sub-layer in the decoder stack to prevent
//    positions from attending to subsequent positions."
//
// With residual dropout (§5.4) one layer is, for y (B,T,d_model) and the encoder output
// memory (B,S,d_model):
//     y1  = LayerNorm1(y  + Dropout(MaskedSelfAttention(y, y, y)))  causal + tgt_lengths
//     y2  = LayerNorm2(y1 + Dropout(CrossAttention(y1, memory, memory)))  src_lengths
//     out = LayerNorm3(y2 + Dropout(FFN(y2)))
// Cross-attention's queries come from the decoder, its keys and values from the
// encoder: "every position in the decoder [can] attend over all positions in the input
// sequence" (§3.2.3).
#ifndef DECODER_H
#define DECODER_H

#include <stdbool.h>

#include "feedforward.h"
#include "multihead.h"
#include "rng.h"

// One decoder layer's parameters, or their gradients (same layout).
typedef struct DecoderLayerWeights {
    MhaWeights self_attn;          // masked self-attention
    float *ln1_gain, *ln1_bias;    // (d_model) each
    MhaWeights cross_attn;         // encoder-decoder attention
    float *ln2_gain, *ln2_bias;
    FfnWeights ffn;
    float *ln3_gain, *ln3_bias;
} DecoderLayerWeights;

#define DECODER_LAYER_FLOATS(d_model, d_ff) \
    (2 * MHA_WEIGHT_FLOATS(d_model) + FFN_WEIGHT_FLOATS(d_model, d_ff) + 6L * (d_model))

// Points w into base (DECODER_LAYER_FLOATS floats): self_attn, ln1, cross_attn, ln2,
// ffn, ln3.
void decoder_layer_weights_point(DecoderLayerWeights *w, float *base, int d_model, int d_ff);

// Xavier uniform matrices, zero biases, LayerNorm gain 1, bias 0 (rng draws: self
// attention, cross attention, feed-forward).
void decoder_layer_weights_init(const DecoderLayerWeights *w, Rng *rng, int d_model, int d_ff);

// What one layer's forward keeps; sized for (max B, max T, max S); "rows" = B·T.
typedef struct DecoderLayerCache {
    MhaCache self_attn;       // self_attn.weights is (B,h,T,T)
    float *sub1, *mask1;      // (rows,d_model) y + Dropout(self-attention), its mask
    float *ln1_mean, *ln1_rstd;  // (rows)
    float *y1;                // (rows,d_model)
    MhaCache cross_attn;      // cross_attn.weights is (B,h,T,S)
    float *sub2, *mask2;      // (rows,d_model) y1 + Dropout(cross-attention)
    float *ln2_mean, *ln2_rstd;
    float *y2;                // (rows,d_model)
    float *hidden;            // (rows,d_ff)
    float *sub3, *mask3;      // (rows,d_model) y2 + Dropout(FFN(y2))
    float *ln3_mean, *ln3_rstd;
    float *out;               // (rows,d_model)
    bool dropout_on;
} DecoderLayerCache;

long decoder_layer_cache_floats(int B, int T, int S, int d_model, int h, int d_ff);
void decoder_layer_cache_point(DecoderLayerCache *c, float *base, int B, int T, int S,
                               int d_model, int h, int d_ff);
long decoder_layer_scratch_floats(int B, int T, int S, int d_model, int h, int d_ff);

// One decoder layer (formulas at the top). y (B,T,d_model), memory (B,S,d_model) ->
// c->out (B,T,d_model). tgt_lengths (B) pads the self-attention keys, src_lengths (B)
// the cross-attention keys. Dropout p when training (masks in sub-layer order).
void decoder_layer_forward(DecoderLayerCache *c, const float *y, const float *memory,
                           const DecoderLayerWeights *w, const int *tgt_lengths,
                           const int *src_lengths, float p, bool training, Rng *rng,
                           int B, int T, int S, int d_model, int h, int d_ff);

// Backward of decoder_layer_forward for dout (B,T,d_model). ACCUMULATES into dy
// (B,T,d_model), dmemory (B,S,d_model) and every field of dw. scratch:
// decoder_layer_scratch_floats(...) floats. dy must not alias dout.
void decoder_layer_backward(float *dy, float *dmemory, DecoderLayerWeights *dw,
                            float *scratch, const float *dout, const DecoderLayerCache *c,
                            const float *y, const float *memory,
                            const DecoderLayerWeights *w,
                            int B, int T, int S, int d_model, int h, int d_ff);

#endif
