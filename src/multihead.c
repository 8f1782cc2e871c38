// multihead.c: multi-head attention, §3.2.2 (see multihead.h for the layout).
#include "multihead.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "attention.h"
#include "tensor.h"

// d_model must split evenly into h heads; anything else is a programming error.
static void check_heads(int d_model, int h) {
    if (h <= 0 || d_model % h != 0) {
        fprintf(stderr, "multihead: d_model %d is not a multiple of h %d\n", d_model, h);
        abort();
    }
}

void mha_weights_point(MhaWeights *w, float *base, int d_model) {
    const long dd = (long)d_model * d_model;
    w->w_q = base;  base += dd;  w->b_q = base;  base += d_model;
    w->w_k = base;  base += dd;  w->b_k = base;  base += d_model;
    w->w_v = base;  base += dd;  w->b_v = base;  base += d_model;
    w->w_o = base;  base += dd;  w->b_o = base;
}

void mha_weights_init(const MhaWeights *w, Rng *rng, int d_model) {
    const long dd = (long)d_model * d_model;
    const float limit = sqrtf(6.0f / (float)(d_model + d_model));
    float *mats[4] = {w->w_q, w->w_k, w->w_v, w->w_o};
    float *biases[4] = {w->b_q, w->b_k, w->b_v, w->b_o};
    for (int m = 0; m < 4; m++) {
        for (long i = 0; i < dd; i++) mats[m][i] = (2.0f * rng_uniform(rng) - 1.0f) * limit;
        vec_zero(biases[m], d_model);
    }
}

long mha_cache_floats(int B, int Tq, int Tk, int d_model, int h) {
    const long Tmax = Tq > Tk ? Tq : Tk;
    return (long)B * Tq * d_model            // q
           + 2L * B * Tk * d_model           // k, v
           + (long)B * h * Tq * Tk           // weights
           + 2L * B * Tq * d_model           // heads_out, concat
           + (long)B * Tmax * d_model;       // proj
}

void mha_cache_point(MhaCache *c, float *base, int B, int Tq, int Tk, int d_model, int h) {
    c->q = base;          base += (long)B * Tq * d_model;
    c->k = base;          base += (long)B * Tk * d_model;
    c->v = base;          base += (long)B * Tk * d_model;
    c->weights = base;    base += (long)B * h * Tq * Tk;
    c->heads_out = base;  base += (long)B * Tq * d_model;
    c->concat = base;     base += (long)B * Tq * d_model;
    c->proj = base;
}

// Scratch for mha_backward, in this order:
//   dproj   (B,max(Tq,Tk),d_model)  a gradient in the unsplit layout (also dconcat)
//   dheads  (B,h,Tq,d_k)            dL/dheads_out
//   dq      (B,h,Tq,d_k), dk, dv (B,h,Tk,d_k)
//   dscores (B,h,Tq,Tk)             attention_backward's scratch
long mha_scratch_floats(int B, int Tq, int Tk, int d_model, int h) {
    const long Tmax = Tq > Tk ? Tq : Tk;
    return (long)B * Tmax * d_model + 2L * B * Tq * d_model + 2L * B * Tk * d_model +
           (long)B * h * Tq * Tk;
}

// (B,T,d_model) -> (B,h,T,d_k): dst[b,i,t,c] = src[b,t,i*d_k + c].
void mha_split_heads(float *dst, const float *src, int B, int T, int d_model, int h) {
    const int d_k = d_model / h;
    for (int b = 0; b < B; b++)
        for (int i = 0; i < h; i++)
            for (int t = 0; t < T; t++)
                vec_copy(dst + (((long)b * h + i) * T + t) * d_k,
                         src + ((long)b * T + t) * d_model + (long)i * d_k, d_k);
}

// (B,h,T,d_k) -> (B,T,d_model): Concat(head_1, ..., head_h) along the feature axis.
void mha_merge_heads(float *dst, const float *src, int B, int T, int d_model, int h) {
    const int d_k = d_model / h;
    for (int b = 0; b < B; b++)
        for (int i = 0; i < h; i++)
            for (int t = 0; t < T; t++)
                vec_copy(dst + ((long)b * T + t) * d_model + (long)i * d_k,
                         src + (((long)b * h + i) * T + t) * d_k, d_k);
}

// y (rows, d_model) = x (rows, d_model) · W + bias: a Linear layer over all rows at once.
static void linear_forward(float *y, const float *x, const float *w, const float *bias,
                           int rows, int d_model) {
    for (int r = 0; r < rows; r++) vec_copy(y + (long)r * d_model, bias, d_model);
    matmul_nn(y, x, w, rows, d_model, d_model);
}

// Backward of linear_forward: dx += dy Wᵀ, dW += xᵀ dy, dbias += Σ_rows dy.
static void linear_backward(float *dx, float *dw, float *dbias, const float *dy,
                            const float *x, const float *w, int rows, int d_model) {
    matmul_nt(dx, dy, w, rows, d_model, d_model);
    matmul_tn(dw, x, dy, d_model, rows, d_model);
    vec_sum_rows(dbias, dy, rows, d_model);
}

// §3.2.2: head_i = Attention(x_q W_i^Q, x_kv W_i^K, x_kv W_i^V) (Eq. 1, masks as in
// attention_forward), out = Concat(head_1..head_h) W^O + b_o.
// x_q is (B,Tq,d_model), x_kv is (B,Tk,d_model), out is (B,Tq,d_model).
void mha_forward(float *out, MhaCache *cache, const float *x_q, const float *x_kv,
                 const MhaWeights *w, const int *key_lengths, bool causal,
                 int B, int Tq, int Tk, int d_model, int h) {
    check_heads(d_model, h);
    const int d_k = d_model / h;
    // Q = x_q W^Q + b_q for all heads in one matmul, then split into (B,h,Tq,d_k).
    linear_forward(cache->proj, x_q, w->w_q, w->b_q, B * Tq, d_model);
    mha_split_heads(cache->q, cache->proj, B, Tq, d_model, h);
    linear_forward(cache->proj, x_kv, w->w_k, w->b_k, B * Tk, d_model);
    mha_split_heads(cache->k, cache->proj, B, Tk, d_model, h);
    linear_forward(cache->proj, x_kv, w->w_v, w->b_v, B * Tk, d_model);
    mha_split_heads(cache->v, cache->proj, B, Tk, d_model, h);
    // Every head attends on its own, in parallel.
    attention_forward(cache->heads_out, cache->weights, cache->q, cache->k, cache->v,
                      key_lengths, causal, B, h, Tq, Tk, d_k);
    // Concat the heads and project back: out = concat W^O + b_o.
    mha_merge_heads(cache->concat, cache->heads_out, B, Tq, d_model, h);
    linear_forward(out, cache->concat, w->w_o, w->b_o, B * Tq, d_model);
}

// Backward of mha_forward, its lines in reverse order. dout is (B,Tq,d_model).
void mha_backward(float *dx_q, float *dx_kv, MhaWeights *dw, float *scratch,
                  const float *dout, const MhaCache *cache, const float *x_q,
                  const float *x_kv, const MhaWeights *w,
                  int B, int Tq, int Tk, int d_model, int h) {
    check_heads(d_model, h);
    const int d_k = d_model / h;
    const long Tmax = Tq > Tk ? Tq : Tk;
    float *dproj = scratch;
    float *dheads = dproj + (long)B * Tmax * d_model;
    float *dq = dheads + (long)B * Tq * d_model;
    float *dk = dq + (long)B * Tq * d_model;
    float *dv = dk + (long)B * Tk * d_model;
    float *dscores = dv + (long)B * Tk * d_model;

    // out = concat W^O + b_o  ->  dconcat (kept in dproj), dW^O, db_o
    vec_zero(dproj, (long)B * Tq * d_model);
    linear_backward(dproj, dw->w_o, dw->b_o, dout, cache->concat, w->w_o, B * Tq, d_model);
    // concat = merge(heads_out)  ->  dheads = split(dconcat)
    mha_split_heads(dheads, dproj, B, Tq, d_model, h);
    // heads_out = Attention(q, k, v)  ->  dq, dk, dv in the per-head layout
    vec_zero(dq, (long)B * Tq * d_model);
    vec_zero(dk, 2L * B * Tk * d_model);  // dk and dv are adjacent
    attention_backward(dq, dk, dv, dscores, dheads, cache->weights, cache->q, cache->k,
                       cache->v, B, h, Tq, Tk, d_k);
    // q = split(x_q W^Q + b_q)  ->  merge dq back, then through the Linear layer.
    // dx_q and dx_kv may be one buffer: each step only adds to it, never reads it.
    mha_merge_heads(dproj, dq, B, Tq, d_model, h);
    linear_backward(dx_q, dw->w_q, dw->b_q, dproj, x_q, w->w_q, B * Tq, d_model);
    mha_merge_heads(dproj, dk, B, Tk, d_model, h);
    linear_backward(dx_kv, dw->w_k, dw->b_k, dproj, x_kv, w->w_k, B * Tk, d_model);
    mha_merge_heads(dproj, dv, B, Tk, d_model, h);
    linear_backward(dx_kv, dw->w_v, dw->b_v, dproj, x_kv, w->w_v, B * Tk, d_model);
}
