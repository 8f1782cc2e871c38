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

#include "dims.h"
#include "dropout.h"
#include "feedforward.h"
#include "layernorm.h"
#include "multihead.h"
#include "residual.h"
#include "rng.h"

// One decoder layer's parameters, or their gradients (same layout).
typedef struct DecoderLayerWeights {
    MhaWeights self_attn;   // masked self-attention
    LayerNormWeights ln1;   // (d_model) gain, (d_model) bias
    MhaWeights cross_attn;  // encoder-decoder attention
    LayerNormWeights ln2;
    FfnWeights ffn;
    LayerNormWeights ln3;
} DecoderLayerWeights;

// Lays w out in base in the order self_attn, ln1, cross_attn, ln2, ffn, ln3 and
// returns the number of floats (dims.h: base NULL only counts, w may then be NULL).
long decoder_layer_weights_layout(DecoderLayerWeights *w, float *base, int d_model, int d_ff);

// Xavier uniform matrices, zero biases, LayerNorm gain 1, bias 0 (rng draws: self
// attention, cross attention, feed-forward).
void decoder_layer_weights_init(const DecoderLayerWeights *w, Rng *rng, int d_model, int d_ff);

// What one layer's forward keeps; sized for (max B, max T, max S); "rows" = B·T.
typedef struct DecoderLayerActs {
    MhaActs self_attn;        // self_attn.weights is (B,h,T,T)
    ResidualActs res1;        // res1.sum = y + Dropout(self-attention)
    float *y1;                // (rows,d_model)
    MhaActs cross_attn;       // cross_attn.weights is (B,h,T,S)
    ResidualActs res2;        // res2.sum = y1 + Dropout(cross-attention)
    float *y2;                // (rows,d_model)
    float *hidden;            // (rows,d_ff)
    ResidualActs res3;        // res3.sum = y2 + Dropout(FFN(y2))
    float *out;               // (rows,d_model)
} DecoderLayerActs;

// Lays a out in base for dims (B, T, S, d_model, h, d_ff) and returns the number of
// floats (base NULL: only count).
long decoder_layer_acts_layout(DecoderLayerActs *a, float *base, Dims dims);

// Floats of scratch decoder_layer_backward needs for dims.
long decoder_layer_scratch_floats(Dims dims);

// One decoder layer (formulas at the top). y (B,T,d_model), memory (B,S,d_model) ->
// acts->out (B,T,d_model). tgt_lengths (B) pads the self-attention keys, src_lengths
// (B) the cross-attention keys. Dropout as drop says (masks in sub-layer order).
void decoder_layer_forward(DecoderLayerActs *acts, const float *y, const float *memory,
                           const DecoderLayerWeights *w, const int *tgt_lengths,
                           const int *src_lengths, Dropout drop, Dims dims);

// Backward of decoder_layer_forward for dout (B,T,d_model). ACCUMULATES into dy
// (B,T,d_model), dmemory (B,S,d_model) and every field of dw. scratch:
// decoder_layer_scratch_floats(dims) floats. dy must not alias dout.
void decoder_layer_backward(float *dy, float *dmemory, DecoderLayerWeights *dw,
                            float *scratch, const float *dout, const DecoderLayerActs *acts,
                            const DecoderLayerWeights *w, Dims dims);

#endif
