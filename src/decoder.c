// decoder.c: the decoder layer, §3.1 and §3.2.3, with residual dropout, §5.4.
#include "decoder.h"

#include "tensor.h"

// self_attn, ln1, cross_attn, ln2, ffn, ln3: the order of the forward pass (and of the
// checkpoint).
long decoder_layer_weights_layout(DecoderLayerWeights *w, float *base, int d_model, int d_ff) {
    Layout l = {base, 0};
    DecoderLayerWeights p = {0};
    layout_skip(&l, mha_weights_layout(&p.self_attn, layout_next(&l), d_model));
    layout_skip(&l, layernorm_weights_layout(&p.ln1, layout_next(&l), d_model));
    layout_skip(&l, mha_weights_layout(&p.cross_attn, layout_next(&l), d_model));
    layout_skip(&l, layernorm_weights_layout(&p.ln2, layout_next(&l), d_model));
    layout_skip(&l, ffn_weights_layout(&p.ffn, layout_next(&l), d_model, d_ff));
    layout_skip(&l, layernorm_weights_layout(&p.ln3, layout_next(&l), d_model));
    if (base) *w = p;
    return l.used;
}

// Self-attention, cross-attention, then the feed-forward network, from rng; the norms
// need no randomness.
void decoder_layer_weights_init(const DecoderLayerWeights *w, Rng *rng, int d_model, int d_ff) {
    mha_weights_init(&w->self_attn, rng, d_model);
    mha_weights_init(&w->cross_attn, rng, d_model);
    ffn_weights_init(&w->ffn, rng, d_model, d_ff);
    layernorm_weights_init(&w->ln1, d_model);
    layernorm_weights_init(&w->ln2, d_model);
    layernorm_weights_init(&w->ln3, d_model);
}

// The activations in forward order: self-attention, res1, y1, cross-attention, res2,
// y2, hidden, res3, out.
long decoder_layer_acts_layout(DecoderLayerActs *a, float *base, Dims dims) {
    const int rows = dims.B * dims.T, d_model = dims.d_model;
    const long n = (long)rows * d_model;
    Layout l = {base, 0};
    DecoderLayerActs p = {0};
    layout_skip(&l, mha_acts_layout(&p.self_attn, layout_next(&l), mha_dims(dims, dims.T, dims.T)));
    layout_skip(&l, residual_acts_layout(&p.res1, layout_next(&l), rows, d_model));
    p.y1 = layout_take(&l, n);
    layout_skip(&l, mha_acts_layout(&p.cross_attn, layout_next(&l), mha_dims(dims, dims.T, dims.S)));
    layout_skip(&l, residual_acts_layout(&p.res2, layout_next(&l), rows, d_model));
    p.y2 = layout_take(&l, n);
    p.hidden = layout_take(&l, (long)rows * dims.d_ff);
    layout_skip(&l, residual_acts_layout(&p.res3, layout_next(&l), rows, d_model));
    p.out = layout_take(&l, n);
    if (base) *a = p;
    return l.used;
}

// decoder_layer_backward's scratch; each buffer holds one gradient (rows,d_model)
// unless said otherwise.
typedef struct {
    float *dy2;         // dL/dy2: the residual path's share (= dL/dres3.sum), then the FFN's
    float *dffn_out;    // dL/dFFN(y2)
    float *dhidden;     // (rows,d_ff) dL/dhidden, the FFN backward's scratch
    float *dy1;         // dL/dy1: the residual path's share (= dL/dres2.sum), then the
                        // cross-attention queries'
    float *dcross_out;  // dL/dCrossAttention(y1, memory, memory)
    float *dsum1;       // dL/dres1.sum = the residual path's share of dL/dy
    float *dself_out;   // dL/dMaskedSelfAttention(y, y, y)
    float *mha;         // mha_backward's scratch, for the larger of the two attentions
} DecoderLayerScratch;

// Lays s out in base for dims and returns the number of floats (base NULL: only count).
static long decoder_layer_scratch_layout(DecoderLayerScratch *s, float *base, Dims dims) {
    const int rows = dims.B * dims.T;
    const long n = (long)rows * dims.d_model;
    const long mha_self = mha_scratch_floats(mha_dims(dims, dims.T, dims.T));
    const long mha_cross = mha_scratch_floats(mha_dims(dims, dims.T, dims.S));
    Layout l = {base, 0};
    DecoderLayerScratch p = {0};
    p.dy2 = layout_take(&l, n);
    p.dffn_out = layout_take(&l, n);
    p.dhidden = layout_take(&l, (long)rows * dims.d_ff);
    p.dy1 = layout_take(&l, n);
    p.dcross_out = layout_take(&l, n);
    p.dsum1 = layout_take(&l, n);
    p.dself_out = layout_take(&l, n);
    p.mha = layout_take(&l, mha_self > mha_cross ? mha_self : mha_cross);
    if (base) *s = p;
    return l.used;
}

// The scratch decoder_layer_backward carves for dims: its layout, only counted.
long decoder_layer_scratch_floats(Dims dims) {
    return decoder_layer_scratch_layout(NULL, NULL, dims);
}

// y1 = LN(y + Drop(MHA(y,y,y), causal)); y2 = LN(y1 + Drop(MHA(y1,mem,mem)));
// out = LN(y2 + Drop(FFN(y2)))                          §3.1, §3.2.3, §3.3, §5.4
// y, acts->out (B,T,d_model); memory (B,S,d_model).
void decoder_layer_forward(DecoderLayerActs *acts, const float *y, const float *memory,
                           const DecoderLayerWeights *w, const int *tgt_lengths,
                           const int *src_lengths, Dropout drop, Dims dims) {
    const int rows = dims.B * dims.T, d_model = dims.d_model;
    // EXERCISE 07 decoder-layer-forward: masked self-attention, cross-attention, FFN
    // TODO: three sub-layers, each through the residual connection of lesson 06
    // TODO: (residual_forward: LayerNorm(x + Dropout(sub)), with sub already in res.sum):
    // TODO:   y1  = LN1(y  + Drop(MHA(y, y, y)))            keys: tgt_lengths, CAUSAL mask
    // TODO:   y2  = LN2(y1 + Drop(MHA(y1, memory, memory)))  keys: src_lengths, no causal mask
    // TODO:   out = LN3(y2 + Drop(FFN(y2)))                   §3.1, §3.2.3, §3.3, §5.4
    // TODO: y and every y1, y2, out are (B,T,d_model) = (rows,d_model); memory (B,S,d_model).
    // TODO: Write each sub-layer's output straight into its acts->resK.sum, and use the
    // TODO: layer's own buffers (acts->self_attn, acts->y1, acts->hidden, ...): the backward
    // TODO: reads all of them. mha_dims(dims, Tq, Tk) and ffn_dims(dims, rows) make the
    // TODO: sizes; an AttnMask is {.key_lengths = ..., .causal = ...} (lesson 04).
    // STUB: vec_zero(acts->out, (long)rows * d_model);
    // STUB: // the inputs the backward reads, so that it runs (on wrong values) rather than crash
    // STUB: acts->self_attn.x_q = acts->self_attn.x_kv = y;
    // STUB: acts->cross_attn.x_q = acts->y1;
    // STUB: acts->cross_attn.x_kv = memory;
    // STUB: (void)w; (void)tgt_lengths; (void)src_lengths; (void)drop;
    // SOLUTION
    // Sub-layer 1: masked self-attention; position i sees target positions 0..i only,
    // so training on a whole sentence at once cannot peek at the words it must predict.
    const AttnMask self_mask = {.key_lengths = tgt_lengths, .causal = true};
    mha_forward(acts->res1.sum, &acts->self_attn, y, y, &w->self_attn, self_mask,
                mha_dims(dims, dims.T, dims.T));
    residual_forward(acts->y1, &acts->res1, y, &w->ln1, drop, rows, d_model);
    // Sub-layer 2: cross-attention; queries from the decoder, keys/values from memory.
    const AttnMask cross_mask = {.key_lengths = src_lengths, .causal = false};
    mha_forward(acts->res2.sum, &acts->cross_attn, acts->y1, memory, &w->cross_attn,
                cross_mask, mha_dims(dims, dims.T, dims.S));
    residual_forward(acts->y2, &acts->res2, acts->y1, &w->ln2, drop, rows, d_model);
    // Sub-layer 3: the feed-forward network.
    feedforward_forward(acts->res3.sum, acts->hidden, acts->y2, &w->ffn, ffn_dims(dims, rows));
    residual_forward(acts->out, &acts->res3, acts->y2, &w->ln3, drop, rows, d_model);
    // END EXERCISE
}

// Backward of decoder_layer_forward, from the last line up. In the forward pass:
//   out  = LN3(sum3), sum3 = y2 + Drop(FFN(y2))          -> dy2
//   y2   = LN2(sum2), sum2 = y1 + Drop(MHA(y1, mem, mem)) -> dy1, dmemory += ...
//   y1   = LN1(sum1), sum1 = y + Drop(MHA(y, y, y))      -> dy += ...
void decoder_layer_backward(float *dy, float *dmemory, DecoderLayerWeights *dw,
                            float *scratch, const float *dout, const DecoderLayerActs *acts,
                            const DecoderLayerWeights *w, Dims dims) {
    const int rows = dims.B * dims.T, d_model = dims.d_model;
    DecoderLayerScratch s = {0};
    decoder_layer_scratch_layout(&s, scratch, dims);

    // Sub-layer 3. y2 feeds only sum3, so dL/dsum3 is computed straight into dy2.
    residual_backward(s.dy2, s.dffn_out, &dw->ln3, dout, &acts->res3, &w->ln3, rows, d_model);
    feedforward_backward(s.dy2, &dw->ffn, s.dhidden, s.dffn_out, acts->hidden, acts->y2,
                         &w->ffn, ffn_dims(dims, rows));
    // Sub-layer 2. y1 feeds sum2 (residual) and the cross-attention queries.
    residual_backward(s.dy1, s.dcross_out, &dw->ln2, s.dy2, &acts->res2, &w->ln2, rows,
                      d_model);
    mha_backward(s.dy1, dmemory, &dw->cross_attn, s.mha, s.dcross_out, &acts->cross_attn,
                 &w->cross_attn, mha_dims(dims, dims.T, dims.S));
    // Sub-layer 1.
    residual_backward(s.dsum1, s.dself_out, &dw->ln1, s.dy1, &acts->res1, &w->ln1, rows,
                      d_model);
    vec_add(dy, s.dsum1, (long)rows * d_model);  // the residual path
    mha_backward(dy, dy, &dw->self_attn, s.mha, s.dself_out, &acts->self_attn, &w->self_attn,
                 mha_dims(dims, dims.T, dims.T));
}
