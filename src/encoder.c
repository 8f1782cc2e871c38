// encoder.c: the encoder layer, §3.1, with residual dropout, §5.4.
#include "encoder.h"

#include "tensor.h"

// self_attn, ln1, ffn, ln2: the order of the forward pass (and of the checkpoint).
long encoder_layer_weights_layout(EncoderLayerWeights *w, float *base, int d_model, int d_ff) {
    Layout l = {base, 0};
    EncoderLayerWeights p = {0};
    layout_skip(&l, mha_weights_layout(&p.self_attn, layout_next(&l), d_model));
    layout_skip(&l, layernorm_weights_layout(&p.ln1, layout_next(&l), d_model));
    layout_skip(&l, ffn_weights_layout(&p.ffn, layout_next(&l), d_model, d_ff));
    layout_skip(&l, layernorm_weights_layout(&p.ln2, layout_next(&l), d_model));
    if (base) *w = p;
    return l.used;
}

// Attention, then the feed-forward network, from rng; the norms need no randomness.
void encoder_layer_weights_init(const EncoderLayerWeights *w, Rng *rng, int d_model, int d_ff) {
    mha_weights_init(&w->self_attn, rng, d_model);
    ffn_weights_init(&w->ffn, rng, d_model, d_ff);
    layernorm_weights_init(&w->ln1, d_model);
    layernorm_weights_init(&w->ln2, d_model);
}

// The activations in forward order: attention, res1, x1, hidden, res2, out.
long encoder_layer_acts_layout(EncoderLayerActs *a, float *base, Dims dims) {
    const int rows = dims.B * dims.S;
    const long n = (long)rows * dims.d_model;
    Layout l = {base, 0};
    EncoderLayerActs p = {0};
    layout_skip(&l, mha_acts_layout(&p.attn, layout_next(&l), mha_dims(dims, dims.S, dims.S)));
    layout_skip(&l, residual_acts_layout(&p.res1, layout_next(&l), rows, dims.d_model));
    p.x1 = layout_take(&l, n);
    p.hidden = layout_take(&l, (long)rows * dims.d_ff);
    layout_skip(&l, residual_acts_layout(&p.res2, layout_next(&l), rows, dims.d_model));
    p.out = layout_take(&l, n);
    if (base) *a = p;
    return l.used;
}

// encoder_layer_backward's scratch; each buffer holds one gradient (rows,d_model)
// unless said otherwise.
typedef struct {
    float *dx1;        // dL/dx1: the residual path's share (= dL/dres2.sum), then the FFN's
    float *dffn_out;   // dL/dFFN(x1)
    float *dhidden;    // (rows,d_ff) dL/dhidden, the FFN backward's scratch
    float *dsum1;      // dL/dres1.sum = the residual path's share of dL/dx
    float *dattn_out;  // dL/dMultiHead(x,x,x)
    float *mha;        // mha_backward's scratch
} EncoderLayerScratch;

// Lays s out in base for dims and returns the number of floats (base NULL: only count).
static long encoder_layer_scratch_layout(EncoderLayerScratch *s, float *base, Dims dims) {
    const int rows = dims.B * dims.S;
    const long n = (long)rows * dims.d_model;
    Layout l = {base, 0};
    EncoderLayerScratch p = {0};
    p.dx1 = layout_take(&l, n);
    p.dffn_out = layout_take(&l, n);
    p.dhidden = layout_take(&l, (long)rows * dims.d_ff);
    p.dsum1 = layout_take(&l, n);
    p.dattn_out = layout_take(&l, n);
    p.mha = layout_take(&l, mha_scratch_floats(mha_dims(dims, dims.S, dims.S)));
    if (base) *s = p;
    return l.used;
}

// The scratch encoder_layer_backward carves for dims: its layout, only counted.
long encoder_layer_scratch_floats(Dims dims) {
    return encoder_layer_scratch_layout(NULL, NULL, dims);
}

// x1 = LayerNorm(x + Dropout(MultiHead(x,x,x))); out = LayerNorm(x1 + Dropout(FFN(x1)))
// §3.1, §3.2.2, §3.3 Eq. (2), §5.4. x, acts->out (B,S,d_model).
void encoder_layer_forward(EncoderLayerActs *acts, const float *x,
                           const EncoderLayerWeights *w, const int *src_lengths,
                           Dropout drop, Dims dims) {
    const int rows = dims.B * dims.S;
    // Sub-layer 1: self-attention; every position may look at every real source token.
    const AttnMask mask = {.key_lengths = src_lengths, .causal = false};
    mha_forward(acts->res1.sum, &acts->attn, x, x, &w->self_attn, mask,
                mha_dims(dims, dims.S, dims.S));
    residual_forward(acts->x1, &acts->res1, x, &w->ln1, drop, rows, dims.d_model);
    // Sub-layer 2: the position-wise feed-forward network.
    feedforward_forward(acts->res2.sum, acts->hidden, acts->x1, &w->ffn, ffn_dims(dims, rows));
    residual_forward(acts->out, &acts->res2, acts->x1, &w->ln2, drop, rows, dims.d_model);
}

// Backward of encoder_layer_forward, from the last line up. In the forward pass:
//   out  = LN2(sum2)                 -> dx1 = dLN2(dout)       (the residual path)
//   sum2 = x1 + Dropout(FFN(x1))     -> dx1 += dFFN(dx1·mask2)
//   x1   = LN1(sum1)                 -> dsum1 = dLN1(dx1)
//   sum1 = x + Dropout(MHA(x,x,x))   -> dx += dsum1 + dMHA(dsum1·mask1) (x is q, k and v)
void encoder_layer_backward(float *dx, EncoderLayerWeights *dw, float *scratch,
                            const float *dout, const EncoderLayerActs *acts,
                            const EncoderLayerWeights *w, Dims dims) {
    const int rows = dims.B * dims.S, d_model = dims.d_model;
    EncoderLayerScratch s = {0};
    encoder_layer_scratch_layout(&s, scratch, dims);

    // Sub-layer 2. x1 feeds only sum2 = x1 + Dropout(FFN(x1)), so dL/dsum2 is the
    // residual path's share of dL/dx1: it is computed straight into dx1.
    residual_backward(s.dx1, s.dffn_out, &dw->ln2, dout, &acts->res2, &w->ln2, rows, d_model);
    feedforward_backward(s.dx1, &dw->ffn, s.dhidden, s.dffn_out, acts->hidden, acts->x1,
                         &w->ffn, ffn_dims(dims, rows));

    // Sub-layer 1.
    residual_backward(s.dsum1, s.dattn_out, &dw->ln1, s.dx1, &acts->res1, &w->ln1, rows,
                      d_model);
    vec_add(dx, s.dsum1, (long)rows * d_model);  // the residual path
    mha_backward(dx, dx, &dw->self_attn, s.mha, s.dattn_out, &acts->attn, &w->self_attn,
                 mha_dims(dims, dims.S, dims.S));
}
