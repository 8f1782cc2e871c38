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

// ---- incremental decoding: one new position at a time, with a KV cache (lesson 09) ------
//
// At inference the decoder is fed one token more each step. Under the causal mask the
// rows of positions 0..t-1 do not depend on position t, so their keys and values in the
// self-attention are the same at every later step: the cache keeps them, and a step
// computes only the new row. Cross-attention's keys and values are the encoder memory
// projected by W^K and W^V, the same at every step: projected once per sentence.

// One decoder layer's decoding state; "L" is the capacity in positions (max_len).
typedef struct DecoderLayerCache {
    float *self_k, *self_v;    // (B,h,L,d_k): keys and values of positions 0..t-1, per head
    float *cross_k, *cross_v;  // (B,h,S,d_k): memory·W^K + b_k and memory·W^V + b_v, per head
} DecoderLayerCache;

// Lays c out in base for dims.B rows, dims.T = L positions, dims.S source positions
// (S <= L: the layout is sized for S = L) and returns the number of floats (base NULL:
// only count).
long decoder_layer_cache_layout(DecoderLayerCache *c, float *base, Dims dims);

// Work space of one decoder_layer_step (every buffer for B rows of one position).
typedef struct DecoderStepScratch {
    float *q, *k, *v;      // (B,d_model) this position's projections (head i: columns
                           //   i*d_k..; with one position (B,d_model) is (B,h,1,d_k))
    float *heads;          // (B,d_model) the heads' outputs, concatenated
    float *weights;        // (B,h,L) one row of attention weights per head
    ResidualActs res;      // (B rows) the residual connection of the sub-layer at hand
    float *y1, *y2;        // (B,d_model) after the first and second sub-layers
    float *hidden;         // (B,d_ff)
} DecoderStepScratch;

// Lays s out in base for dims (B, T = L, d_model, d_ff) and returns the number of floats.
long decoder_step_scratch_layout(DecoderStepScratch *s, float *base, Dims dims);

// Fills c->cross_k and c->cross_v from the encoder output memory (B,S,d_model): the
// keys and values of this layer's cross-attention, computed once per sentence.
// scratch: dims.B·dims.S·d_model floats.
void decoder_layer_cache_memory(DecoderLayerCache *c, float *scratch, const float *memory,
                                const DecoderLayerWeights *w, Dims dims);

// One position of decoder_layer_forward (eval mode, no dropout): y (B,d_model) is the
// layer's input at position t of each row; out (B,d_model) its output there, equal to
// row t of decoder_layer_forward over positions 0..t. Appends this position's self-
// attention key and value to c (positions 0..t-1 must be there). src_lengths (B) masks
// the cross-attention keys. dims: B, S, T = L (the cache's capacity), widths.
void decoder_layer_step(float *out, DecoderLayerCache *c, DecoderStepScratch *s,
                        const float *y, const DecoderLayerWeights *w, const int *src_lengths,
                        int t, Dims dims);

// Beam reordering: row r of the cache becomes old row parents[r], for r < k (the rows
// of positions 0..t-1 of the self-attention and the S rows of the cross-attention).
// scratch: dims.B·h·L·d_k floats (one layer's self keys). k <= dims.B.
void decoder_layer_cache_reorder(DecoderLayerCache *c, float *scratch, const int *parents,
                                 int k, int t, Dims dims);

#endif
