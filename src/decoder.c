// decoder.c: the decoder layer, §3.1 and §3.2.3, with residual dropout, §5.4.
#include "decoder.h"

#include <stddef.h>

#include "dropout.h"
#include "encoder.h"
#include "layernorm.h"
#include "tensor.h"

void decoder_layer_weights_point(DecoderLayerWeights *w, float *base, int d_model, int d_ff) {
    mha_weights_point(&w->self_attn, base, d_model);
    base += MHA_WEIGHT_FLOATS(d_model);
    w->ln1_gain = base, base += d_model;
    w->ln1_bias = base, base += d_model;
    mha_weights_point(&w->cross_attn, base, d_model);
    base += MHA_WEIGHT_FLOATS(d_model);
    w->ln2_gain = base, base += d_model;
    w->ln2_bias = base, base += d_model;
    ffn_weights_point(&w->ffn, base, d_model, d_ff);
    base += FFN_WEIGHT_FLOATS(d_model, d_ff);
    w->ln3_gain = base, base += d_model;
    w->ln3_bias = base;
}

void decoder_layer_weights_init(const DecoderLayerWeights *w, Rng *rng, int d_model, int d_ff) {
    mha_weights_init(&w->self_attn, rng, d_model);
    mha_weights_init(&w->cross_attn, rng, d_model);
    ffn_weights_init(&w->ffn, rng, d_model, d_ff);
    for (int j = 0; j < d_model; j++) {
        w->ln1_gain[j] = w->ln2_gain[j] = w->ln3_gain[j] = 1.0f;
        w->ln1_bias[j] = w->ln2_bias[j] = w->ln3_bias[j] = 0.0f;
    }
}

long decoder_layer_cache_floats(int B, int T, int S, int d_model, int h, int d_ff) {
    long rows = (long)B * T;
    return mha_cache_floats(B, T, T, d_model, h) + mha_cache_floats(B, T, S, d_model, h) +
           9 * rows * d_model + rows * d_ff + 6 * rows;
}

void decoder_layer_cache_point(DecoderLayerCache *c, float *base, int B, int T, int S,
                               int d_model, int h, int d_ff) {
    long rows = (long)B * T, n = rows * d_model;
    mha_cache_point(&c->self_attn, base, B, T, T, d_model, h);
    base += mha_cache_floats(B, T, T, d_model, h);
    c->sub1 = base, base += n;
    c->mask1 = base, base += n;
    c->ln1_mean = base, base += rows;
    c->ln1_rstd = base, base += rows;
    c->y1 = base, base += n;
    mha_cache_point(&c->cross_attn, base, B, T, S, d_model, h);
    base += mha_cache_floats(B, T, S, d_model, h);
    c->sub2 = base, base += n;
    c->mask2 = base, base += n;
    c->ln2_mean = base, base += rows;
    c->ln2_rstd = base, base += rows;
    c->y2 = base, base += n;
    c->hidden = base, base += rows * d_ff;
    c->sub3 = base, base += n;
    c->mask3 = base, base += n;
    c->ln3_mean = base, base += rows;
    c->ln3_rstd = base, base += rows;
    c->out = base;
    c->dropout_on = false;
}

long decoder_layer_scratch_floats(int B, int T, int S, int d_model, int h, int d_ff) {
    long rows = (long)B * T;
    long mha_self = mha_scratch_floats(B, T, T, d_model, h);
    long mha_cross = mha_scratch_floats(B, T, S, d_model, h);
    return 3 * rows * d_model + rows * d_ff + (mha_self > mha_cross ? mha_self : mha_cross);
}

// y1 = LN(y + Drop(MHA(y,y,y), causal)); y2 = LN(y1 + Drop(MHA(y1,mem,mem)));
// out = LN(y2 + Drop(FFN(y2)))                          §3.1, §3.2.3, §3.3, §5.4
// y, c->out (B,T,d_model); memory (B,S,d_model).
void decoder_layer_forward(DecoderLayerCache *c, const float *y, const float *memory,
                           const DecoderLayerWeights *w, const int *tgt_lengths,
                           const int *src_lengths, float p, bool training, Rng *rng,
                           int B, int T, int S, int d_model, int h, int d_ff) {
    int rows = B * T;
    c->dropout_on = dropout_active(p, training);
    // Sub-layer 1: masked self-attention; position i sees target positions 0..i only,
    // so training on a whole sentence at once cannot peek at the words it must predict.
    mha_forward(c->sub1, &c->self_attn, y, y, &w->self_attn, tgt_lengths, true,
                B, T, T, d_model, h);
    sublayer_connection_forward(c->y1, c->ln1_mean, c->ln1_rstd, c->sub1, c->mask1, y,
                                w->ln1_gain, w->ln1_bias, p, training, rng, rows, d_model);
    // Sub-layer 2: cross-attention; queries from the decoder, keys/values from memory.
    mha_forward(c->sub2, &c->cross_attn, c->y1, memory, &w->cross_attn, src_lengths, false,
                B, T, S, d_model, h);
    sublayer_connection_forward(c->y2, c->ln2_mean, c->ln2_rstd, c->sub2, c->mask2, c->y1,
                                w->ln2_gain, w->ln2_bias, p, training, rng, rows, d_model);
    // Sub-layer 3: the feed-forward network.
    feedforward_forward(c->sub3, c->hidden, c->y2, &w->ffn, rows, d_model, d_ff);
    sublayer_connection_forward(c->out, c->ln3_mean, c->ln3_rstd, c->sub3, c->mask3, c->y2,
                                w->ln3_gain, w->ln3_bias, p, training, rng, rows, d_model);
}

// Backward of decoder_layer_forward, from the last line up. In the forward pass:
//   out  = LN3(sub3), sub3 = y2 + Drop(FFN(y2))          -> dy2
//   y2   = LN2(sub2), sub2 = y1 + Drop(MHA(y1, mem, mem)) -> dy1, dmemory += ...
//   y1   = LN1(sub1), sub1 = y + Drop(MHA(y, y, y))      -> dy += ...
void decoder_layer_backward(float *dy, float *dmemory, DecoderLayerWeights *dw,
                            float *scratch, const float *dout, const DecoderLayerCache *c,
                            const float *y, const float *memory,
                            const DecoderLayerWeights *w,
                            int B, int T, int S, int d_model, int h, int d_ff) {
    int rows = B * T;
    long n = (long)rows * d_model;
    float *a = scratch, *b = a + n, *g = b + n, *dhidden = g + n;
    float *mha_scratch = dhidden + (long)rows * d_ff;
    const float *mask1 = c->dropout_on ? c->mask1 : NULL;
    const float *mask2 = c->dropout_on ? c->mask2 : NULL;
    const float *mask3 = c->dropout_on ? c->mask3 : NULL;

    // Sub-layer 3: a = dL/dsub3, then dL/dy2.
    sublayer_connection_backward(a, b, dw->ln3_gain, dw->ln3_bias, dout, c->sub3, c->ln3_mean,
                                 c->ln3_rstd, mask3, w->ln3_gain, rows, d_model);
    feedforward_backward(a, &dw->ffn, dhidden, b, c->hidden, c->y2, &w->ffn, rows,
                         d_model, d_ff);
    // Sub-layer 2: g = dL/dsub2, then dL/dy1 (residual + cross-attention queries).
    sublayer_connection_backward(g, b, dw->ln2_gain, dw->ln2_bias, a, c->sub2, c->ln2_mean,
                                 c->ln2_rstd, mask2, w->ln2_gain, rows, d_model);
    mha_backward(g, dmemory, &dw->cross_attn, mha_scratch, b, &c->cross_attn, c->y1, memory,
                 &w->cross_attn, B, T, S, d_model, h);
    // Sub-layer 1: a = dL/dsub1.
    sublayer_connection_backward(a, b, dw->ln1_gain, dw->ln1_bias, g, c->sub1, c->ln1_mean,
                                 c->ln1_rstd, mask1, w->ln1_gain, rows, d_model);
    vec_add(dy, a, n);
    mha_backward(dy, dy, &dw->self_attn, mha_scratch, b, &c->self_attn, y, y, &w->self_attn,
                 B, T, T, d_model, h);
}
