// encoder.c: the encoder layer, §3.1, with residual dropout, §5.4.
#include "encoder.h"

#include <stddef.h>

#include "dropout.h"
#include "layernorm.h"
#include "tensor.h"

void encoder_layer_weights_point(EncoderLayerWeights *w, float *base, int d_model, int d_ff) {
    mha_weights_point(&w->self_attn, base, d_model);
    base += MHA_WEIGHT_FLOATS(d_model);
    w->ln1_gain = base, base += d_model;
    w->ln1_bias = base, base += d_model;
    ffn_weights_point(&w->ffn, base, d_model, d_ff);
    base += FFN_WEIGHT_FLOATS(d_model, d_ff);
    w->ln2_gain = base, base += d_model;
    w->ln2_bias = base;
}

void encoder_layer_weights_init(const EncoderLayerWeights *w, Rng *rng, int d_model, int d_ff) {
    mha_weights_init(&w->self_attn, rng, d_model);
    ffn_weights_init(&w->ffn, rng, d_model, d_ff);
    for (int j = 0; j < d_model; j++) {
        w->ln1_gain[j] = w->ln2_gain[j] = 1.0f;  // start as a pure normalization
        w->ln1_bias[j] = w->ln2_bias[j] = 0.0f;
    }
}

long encoder_layer_cache_floats(int B, int S, int d_model, int h, int d_ff) {
    long rows = (long)B * S;
    return mha_cache_floats(B, S, S, d_model, h) + 6 * rows * d_model + rows * d_ff + 4 * rows;
}

void encoder_layer_cache_point(EncoderLayerCache *c, float *base, int B, int S,
                               int d_model, int h, int d_ff) {
    long rows = (long)B * S, n = rows * d_model;
    mha_cache_point(&c->attn, base, B, S, S, d_model, h);
    base += mha_cache_floats(B, S, S, d_model, h);
    c->sub1 = base, base += n;
    c->mask1 = base, base += n;
    c->ln1_mean = base, base += rows;
    c->ln1_rstd = base, base += rows;
    c->x1 = base, base += n;
    c->hidden = base, base += rows * d_ff;
    c->sub2 = base, base += n;
    c->mask2 = base, base += n;
    c->ln2_mean = base, base += rows;
    c->ln2_rstd = base, base += rows;
    c->out = base;
    c->dropout_on = false;
}

long encoder_layer_scratch_floats(int B, int S, int d_model, int h, int d_ff) {
    long rows = (long)B * S;
    return 3 * rows * d_model + rows * d_ff + mha_scratch_floats(B, S, S, d_model, h);
}

// out = LayerNorm(x + Dropout(sub)), §3.1, §5.4; sub is overwritten with the sum.
void sublayer_connection_forward(float *out, float *mean, float *rstd, float *sub, float *mask,
                                 const float *x, const float *gain, const float *bias,
                                 float p, bool training, Rng *rng, int rows, int d_model) {
    long n = (long)rows * d_model;
    dropout_forward(sub, mask, sub, p, n, training, rng);
    vec_add(sub, x, n);  // the residual connection
    layernorm_forward(out, mean, rstd, sub, gain, bias, rows, d_model);
}

// Backward of sublayer_connection_forward. In the forward pass:
//   out = LayerNorm(sum)          -> dresidual = dLayerNorm(dout) = dL/dsum
//   sum = x + Dropout(sub)        -> dL/dx gets dresidual; dsublayer = dresidual · mask
void sublayer_connection_backward(float *dresidual, float *dsublayer, float *dgain,
                                  float *dbias, const float *dout, const float *sum,
                                  const float *mean, const float *rstd, const float *mask,
                                  const float *gain, int rows, int d_model) {
    long n = (long)rows * d_model;
    vec_zero(dresidual, n);
    layernorm_backward(dresidual, dgain, dbias, dout, sum, mean, rstd, gain, rows, d_model);
    vec_zero(dsublayer, n);
    dropout_backward(dsublayer, dresidual, mask, n);
}

// x1 = LayerNorm(x + Dropout(MultiHead(x,x,x))); out = LayerNorm(x1 + Dropout(FFN(x1)))
// §3.1, §3.2.2, §3.3 Eq. (2), §5.4. x, c->out (B,S,d_model).
void encoder_layer_forward(EncoderLayerCache *c, const float *x,
                           const EncoderLayerWeights *w, const int *src_lengths,
                           float p, bool training, Rng *rng,
                           int B, int S, int d_model, int h, int d_ff) {
    int rows = B * S;
    c->dropout_on = dropout_active(p, training);
    // Sub-layer 1: self-attention; every position may look at every real source token.
    mha_forward(c->sub1, &c->attn, x, x, &w->self_attn, src_lengths, false, B, S, S, d_model, h);
    sublayer_connection_forward(c->x1, c->ln1_mean, c->ln1_rstd, c->sub1, c->mask1, x,
                                w->ln1_gain, w->ln1_bias, p, training, rng, rows, d_model);
    // Sub-layer 2: the position-wise feed-forward network.
    feedforward_forward(c->sub2, c->hidden, c->x1, &w->ffn, rows, d_model, d_ff);
    sublayer_connection_forward(c->out, c->ln2_mean, c->ln2_rstd, c->sub2, c->mask2, c->x1,
                                w->ln2_gain, w->ln2_bias, p, training, rng, rows, d_model);
}

// Backward of encoder_layer_forward, from the last line up. In the forward pass:
//   out  = LN2(sub2)                 -> g   = dLN2(dout)
//   sub2 = x1 + Dropout(FFN(x1))     -> dx1 = g + dFFN(g·mask2)
//   x1   = LN1(sub1)                 -> g1  = dLN1(dx1)
//   sub1 = x + Dropout(MHA(x,x,x))   -> dx += g1 + dMHA(g1·mask1) (x is q, k and v)
void encoder_layer_backward(float *dx, EncoderLayerWeights *dw, float *scratch,
                            const float *dout, const EncoderLayerCache *c, const float *x,
                            const EncoderLayerWeights *w,
                            int B, int S, int d_model, int h, int d_ff) {
    int rows = B * S;
    long n = (long)rows * d_model;
    float *a = scratch, *b = a + n, *g1 = b + n, *dhidden = g1 + n;
    float *mha_scratch = dhidden + (long)rows * d_ff;
    const float *mask1 = c->dropout_on ? c->mask1 : NULL;
    const float *mask2 = c->dropout_on ? c->mask2 : NULL;

    // a = dL/dsub2, then dL/dx1 (the residual path carries it); b = dL/dFFN(x1)
    sublayer_connection_backward(a, b, dw->ln2_gain, dw->ln2_bias, dout, c->sub2, c->ln2_mean,
                                 c->ln2_rstd, mask2, w->ln2_gain, rows, d_model);
    feedforward_backward(a, &dw->ffn, dhidden, b, c->hidden, c->x1, &w->ffn, rows,
                         d_model, d_ff);

    // g1 = dL/dsub1; b = dL/dMHA(x)
    sublayer_connection_backward(g1, b, dw->ln1_gain, dw->ln1_bias, a, c->sub1, c->ln1_mean,
                                 c->ln1_rstd, mask1, w->ln1_gain, rows, d_model);
    vec_add(dx, g1, n);  // the residual path
    mha_backward(dx, dx, &dw->self_attn, mha_scratch, b, &c->attn, x, x, &w->self_attn,
                 B, S, S, d_model, h);
}
