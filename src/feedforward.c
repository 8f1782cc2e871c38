// feedforward.c: the position-wise feed-forward network, §3.3 Eq. (2).
#include "feedforward.h"

#include <math.h>

#include "tensor.h"

// W1 (d_model,d_ff), b1 (d_ff), W2 (d_ff,d_model), b2 (d_model), in that order.
long ffn_weights_layout(FfnWeights *w, float *base, int d_model, int d_ff) {
    Layout l = {base, 0};
    FfnWeights p = {0};
    p.w1 = layout_take(&l, (long)d_model * d_ff);
    p.b1 = layout_take(&l, d_ff);
    p.w2 = layout_take(&l, (long)d_ff * d_model);
    p.b2 = layout_take(&l, d_model);
    if (base) *w = p;
    return l.used;
}

// Fills a (fan_in,fan_out) matrix with U(-a, a), a = √(6/(fan_in+fan_out)) (Glorot &
// Bengio 2010): keeps the variance of activations and of gradients roughly constant.
static void xavier_uniform(float *w, Rng *rng, int fan_in, int fan_out) {
    float a = sqrtf(6.0f / (float)(fan_in + fan_out));
    for (long i = 0; i < (long)fan_in * fan_out; i++) w[i] = a * (2.0f * rng_uniform(rng) - 1.0f);
}

// Xavier uniform W1 then W2 (in that order from rng), zero biases.
void ffn_weights_init(const FfnWeights *w, Rng *rng, int d_model, int d_ff) {
    xavier_uniform(w->w1, rng, d_model, d_ff);
    vec_zero(w->b1, d_ff);
    xavier_uniform(w->w2, rng, d_ff, d_model);
    vec_zero(w->b2, d_model);
}

// FFN(x) = max(0, x·W1 + b1)·W2 + b2                                    §3.3 Eq. (2)
// x (rows,d_model) -> hidden (rows,d_ff) -> out (rows,d_model).
void feedforward_forward(float *out, float *hidden, const float *x, const FfnWeights *w,
                         FfnDims dims) {
    const int rows = dims.rows, d_model = dims.d_model, d_ff = dims.d_ff;
    long nh = (long)rows * d_ff;
    // EXERCISE 06 ffn-forward: FFN(x) = max(0, x·W1 + b1)·W2 + b2, every row at once
    // TODO: x is (rows,d_model); w->w1 (d_model,d_ff), w->b1 (d_ff), w->w2 (d_ff,d_model),
    // TODO: w->b2 (d_model), all row-major. Write hidden (rows,d_ff) = max(0, x·W1 + b1)
    // TODO: (the backward reads hidden: keep it after the ReLU), then out (rows,d_model)
    // TODO: = hidden·W2 + b2                                                §3.3 Eq. (2)
    // TODO: Both are overwritten. From lesson 00: matmul_nn(c, a, b, M, K, N) ADDS a·b to
    // TODO: c, so start c from zero (vec_zero) or from the bias (vec_add_bias_rows).
    // STUB: vec_zero(hidden, nh);
    // STUB: vec_zero(out, (long)rows * d_model);
    // SOLUTION
    // The matmuls accumulate, so start each output from its bias: a copy of the bias in
    // every row (one pass over the output, where zeroing and then adding took two).
    for (int r = 0; r < rows; r++) vec_copy(hidden + (long)r * d_ff, w->b1, d_ff);
    matmul_nn(hidden, x, w->w1, rows, d_model, d_ff);
    for (long i = 0; i < nh; i++) hidden[i] = hidden[i] > 0.0f ? hidden[i] : 0.0f;
    for (int r = 0; r < rows; r++) vec_copy(out + (long)r * d_model, w->b2, d_model);
    matmul_nn(out, hidden, w->w2, rows, d_ff, d_model);
    // END EXERCISE
}

// Backward of feedforward_forward, line by line from the end. In the forward pass:
//   out = hidden·W2 + b2     ->  dW2 += hiddenᵀ·dout, db2 += Σ dout, dhidden = dout·W2ᵀ
//   hidden = max(0, pre)     ->  dpre = dhidden where hidden > 0, else 0
//   pre = x·W1 + b1          ->  dW1 += xᵀ·dpre, db1 += Σ dpre, dx += dpre·W1ᵀ
void feedforward_backward(float *dx, FfnWeights *dw, float *dhidden, const float *dout,
                          const float *hidden, const float *x, const FfnWeights *w,
                          FfnDims dims) {
    const int rows = dims.rows, d_model = dims.d_model, d_ff = dims.d_ff;
    long nh = (long)rows * d_ff;
    // EXERCISE 06 ffn-backward: the gradients of the feed-forward network, from the end
    // TODO: the forward lines in reverse (shapes as in feedforward_forward):
    // TODO:   out = hidden·W2 + b2   gives  dw->w2, dw->b2, and dhidden (rows,d_ff)
    // TODO:   hidden = max(0, pre)   the gradient passes only where hidden > 0 (at 0 it is 0)
    // TODO:   pre = x·W1 + b1        gives  dw->w1, dw->b1 and dx (rows,d_model)
    // TODO: ACCUMULATE (+=) into dx and every field of dw; dhidden is your scratch
    // TODO: (overwrite it). A bias gradient sums over rows (vec_sum_rows). From lesson 00:
    // TODO: matmul_tn(c, a, b, ...) adds aᵀ·b, matmul_nt adds a·bᵀ: pick by the shapes.
    // STUB: (void)nh;
    // SOLUTION
    matmul_tn(dw->w2, hidden, dout, d_ff, rows, d_model);
    vec_sum_rows(dw->b2, dout, rows, d_model);
    vec_zero(dhidden, nh);
    matmul_nt(dhidden, dout, w->w2, rows, d_model, d_ff);
    // ReLU passes the gradient where its output was positive (at exactly 0 we take the
    // derivative 0, as PyTorch does).
    // (Written as a choice rather than an `if` around a store, so that the compiler can
    // do 8 elements at a time.)
    for (long i = 0; i < nh; i++) dhidden[i] = hidden[i] > 0.0f ? dhidden[i] : 0.0f;
    matmul_tn(dw->w1, x, dhidden, d_model, rows, d_ff);
    vec_sum_rows(dw->b1, dhidden, rows, d_ff);
    matmul_nt(dx, dhidden, w->w1, rows, d_ff, d_model);
    // END EXERCISE
}
