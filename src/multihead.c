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

// Lays the four projections out, each matrix followed by its bias.
long mha_weights_layout(MhaWeights *w, float *base, int d_model) {
    const long dd = (long)d_model * d_model;
    Layout l = {base, 0};
    MhaWeights p = {0};
    p.w_q = layout_take(&l, dd);
    p.b_q = layout_take(&l, d_model);
    p.w_k = layout_take(&l, dd);
    p.b_k = layout_take(&l, d_model);
    p.w_v = layout_take(&l, dd);
    p.b_v = layout_take(&l, d_model);
    p.w_o = layout_take(&l, dd);
    p.b_o = layout_take(&l, d_model);
    if (base) *w = p;
    return l.used;
}

// Xavier uniform for W^Q, W^K, W^V, W^O (in that order from rng), zero biases.
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

// Lays out q, k, v, weights, heads_out, concat, proj (shapes in multihead.h).
long mha_acts_layout(MhaActs *a, float *base, MhaDims dims) {
    const long B = dims.B, Tq = dims.Tq, Tk = dims.Tk, d = dims.d_model;
    const long Tmax = Tq > Tk ? Tq : Tk;
    Layout l = {base, 0};
    MhaActs p = {0};
    p.q = layout_take(&l, B * Tq * d);
    p.k = layout_take(&l, B * Tk * d);
    p.v = layout_take(&l, B * Tk * d);
    p.weights = layout_take(&l, B * dims.h * Tq * Tk);
    p.heads_out = layout_take(&l, B * Tq * d);
    p.concat = layout_take(&l, B * Tq * d);
    p.proj = layout_take(&l, B * Tmax * d);
    if (base) *a = p;
    return l.used;
}

// mha_backward's scratch: the gradients of the forward's intermediate tensors.
typedef struct {
    float *dproj;    // (B,max(Tq,Tk),d_model) a gradient in the unsplit layout: first
                     // dL/dconcat, then dL/d(x W) of each projection in turn
    float *dheads;   // (B,h,Tq,d_k) dL/dheads_out
    float *dq;       // (B,h,Tq,d_k)
    float *dk, *dv;  // (B,h,Tk,d_k)
    float *dscores;  // (B,h,Tq,Tk) attention_backward's scratch
} MhaScratch;

// Lays s out in base for dims and returns the number of floats (base NULL: only count).
static long mha_scratch_layout(MhaScratch *s, float *base, MhaDims dims) {
    const long B = dims.B, Tq = dims.Tq, Tk = dims.Tk, d = dims.d_model;
    const long Tmax = Tq > Tk ? Tq : Tk;
    Layout l = {base, 0};
    MhaScratch p = {0};
    p.dproj = layout_take(&l, B * Tmax * d);
    p.dheads = layout_take(&l, B * Tq * d);
    p.dq = layout_take(&l, B * Tq * d);
    p.dk = layout_take(&l, B * Tk * d);
    p.dv = layout_take(&l, B * Tk * d);
    p.dscores = layout_take(&l, B * dims.h * Tq * Tk);
    if (base) *s = p;
    return l.used;
}

// The scratch mha_backward carves for dims: its layout, only counted.
long mha_scratch_floats(MhaDims dims) { return mha_scratch_layout(NULL, NULL, dims); }

// (B,T,d_model) -> (B,h,T,d_k): dst[b,i,t,c] = src[b,t,i*d_k + c].
void mha_split_heads(float *dst, const float *src, int B, int T, int d_model, int h) {
    const int d_k = d_model / h;
    // EXERCISE 05 split-heads: (B,T,d_model) -> (B,h,T,d_k), one contiguous block per head
    // TODO: Head i owns the feature columns i*d_k .. (i+1)*d_k-1 of every token (§3.2.2:
    // TODO: the columns of W^Q that make W_i^Q). Copy, for every b < B, i < h, t < T:
    // TODO:     dst[b, i, t, c] = src[b, t, i*d_k + c]   for c < d_k.
    // TODO: src is (B,T,d_model) row-major; dst is (B,h,T,d_k) row-major, so head i of
    // TODO: sequence b is the (T,d_k) matrix starting at dst + (b*h + i)*T*d_k.
    // TODO: The d_k numbers of one (b,t,i) are contiguous on both sides: vec_copy them.
    // TODO: Use long for the offsets (B*T*d_model can exceed an int in bigger runs).
    // STUB: vec_zero(dst, (long)B * T * d_model);
    // SOLUTION
    // Sentences are independent; a copy of a float counts as an element of work (tensor.h).
    #pragma omp parallel for schedule(static) \
        num_threads(threads_for_loop(B, (long)B * T * d_model * ELEMENT_WORK))
    for (int b = 0; b < B; b++)
        for (int i = 0; i < h; i++)
            for (int t = 0; t < T; t++)
                vec_copy(dst + (((long)b * h + i) * T + t) * d_k,
                         src + ((long)b * T + t) * d_model + (long)i * d_k, d_k);
    // END EXERCISE
}

// (B,h,T,d_k) -> (B,T,d_model): Concat(head_1, ..., head_h) along the feature axis.
void mha_merge_heads(float *dst, const float *src, int B, int T, int d_model, int h) {
    const int d_k = d_model / h;
    // EXERCISE 05 merge-heads: Concat(head_1..head_h): (B,h,T,d_k) -> (B,T,d_model)
    // TODO: The inverse copy of split-heads: for every b < B, i < h, t < T,
    // TODO:     dst[b, t, i*d_k + c] = src[b, i, t, c]   for c < d_k,
    // TODO: so token t's row of dst holds head 1's d_k outputs, then head 2's, ... (§3.2.2
    // TODO: Concat). src is (B,h,T,d_k), dst (B,T,d_model), both row-major; overwrite dst.
    // TODO: merge(split(x)) must give x back exactly.
    // STUB: vec_zero(dst, (long)B * T * d_model);
    // SOLUTION
    // Sentences are independent; a copy of a float counts as an element of work (tensor.h).
    #pragma omp parallel for schedule(static) \
        num_threads(threads_for_loop(B, (long)B * T * d_model * ELEMENT_WORK))
    for (int b = 0; b < B; b++)
        for (int i = 0; i < h; i++)
            for (int t = 0; t < T; t++)
                vec_copy(dst + ((long)b * T + t) * d_model + (long)i * d_k,
                         src + (((long)b * h + i) * T + t) * d_k, d_k);
    // END EXERCISE
}

// y (rows, d_model) = x (rows, d_model) · W + bias: a Linear layer over all rows at once.
static void linear_forward(float *y, const float *x, const float *w, const float *bias,
                           int rows, int d_model) {
    for (int r = 0; r < rows; r++) vec_copy(y + (long)r * d_model, bias, d_model);
    matmul_nn(y, x, w, rows, d_model, d_model);
}

// The same Linear layer for other files (decoder.h's incremental step): multihead.h.
void mha_linear(float *y, const float *x, const float *w, const float *bias, int rows,
                int d_model) {
    linear_forward(y, x, w, bias, rows, d_model);
}

// Backward of linear_forward: dx += dy Wᵀ, dW += xᵀ dy, dbias += Σ_rows dy.
static void linear_backward(float *dx, float *dw, float *dbias, const float *dy,
                            const float *x, const float *w, int rows, int d_model) {
    matmul_nt(dx, dy, w, rows, d_model, d_model);
    matmul_tn(dw, x, dy, d_model, rows, d_model);
    vec_sum_rows(dbias, dy, rows, d_model);
}

// The per-head sizes of a multi-head call: h heads of d_k = d_model / h.
static AttnDims per_head(MhaDims dims) {
    check_heads(dims.d_model, dims.h);
    return (AttnDims){.B = dims.B, .h = dims.h, .Tq = dims.Tq, .Tk = dims.Tk,
                      .d_k = dims.d_model / dims.h};
}

// §3.2.2: head_i = Attention(x_q W_i^Q, x_kv W_i^K, x_kv W_i^V) (Eq. 1, masks as in
// attention_forward), out = Concat(head_1..head_h) W^O + b_o.
// x_q is (B,Tq,d_model), x_kv is (B,Tk,d_model), out is (B,Tq,d_model).
void mha_forward(float *out, MhaActs *acts, const float *x_q, const float *x_kv,
                 const MhaWeights *w, AttnMask mask, MhaDims dims) {
    const AttnDims heads = per_head(dims);
    const int B = dims.B, Tq = dims.Tq, Tk = dims.Tk, d_model = dims.d_model, h = dims.h;
    acts->x_q = x_q;
    acts->x_kv = x_kv;
    // EXERCISE 05 mha-forward: MultiHead(x_q, x_kv, x_kv) of §3.2.2, filling acts
    // TODO: §3.2.2:  head_i = Attention(x_q W_i^Q, x_kv W_i^K, x_kv W_i^V),
    // TODO:          out = Concat(head_1, ..., head_h) W^O + b_o   (out (B,Tq,d_model)).
    // TODO: All heads at once, keeping in acts what the backward reads (multihead.h):
    // TODO: 1. acts->proj (B*Tq rows) = x_q W^Q + b_q: linear_forward(y, x, w, bias, rows,
    // TODO:    d_model) above; then split-heads it into acts->q (B,h,Tq,d_k).
    // TODO: 2. the same from x_kv (B*Tk rows) with W^K, b_k -> acts->k and W^V, b_v -> acts->v
    // TODO:    (acts->proj is scratch: reuse it for each projection in turn).
    // TODO: 3. attention_forward (lesson 04) on acts->q, k, v with `mask` and the per-head
    // TODO:    sizes `heads` -> acts->heads_out (B,h,Tq,d_k) and acts->weights.
    // TODO: 4. merge-heads acts->heads_out into acts->concat (B,Tq,d_model), then
    // TODO:    out = concat W^O + b_o with linear_forward.
    // TODO: Trap: the keys and values come from x_kv with Tk rows, the queries from x_q.
    // STUB: (void)w; (void)mask; (void)heads;
    // STUB: vec_zero(out, (long)B * Tq * d_model);
    // STUB: vec_zero(acts->q, (long)B * Tq * d_model); vec_zero(acts->heads_out, (long)B * Tq * d_model);
    // STUB: vec_zero(acts->k, (long)B * Tk * d_model); vec_zero(acts->v, (long)B * Tk * d_model);
    // STUB: vec_zero(acts->weights, (long)B * h * Tq * Tk); vec_zero(acts->concat, (long)B * Tq * d_model);
    // SOLUTION
    // Q = x_q W^Q + b_q for all heads in one matmul, then split into (B,h,Tq,d_k).
    linear_forward(acts->proj, x_q, w->w_q, w->b_q, B * Tq, d_model);
    mha_split_heads(acts->q, acts->proj, B, Tq, d_model, h);
    linear_forward(acts->proj, x_kv, w->w_k, w->b_k, B * Tk, d_model);
    mha_split_heads(acts->k, acts->proj, B, Tk, d_model, h);
    linear_forward(acts->proj, x_kv, w->w_v, w->b_v, B * Tk, d_model);
    mha_split_heads(acts->v, acts->proj, B, Tk, d_model, h);
    // Every head attends on its own, in parallel.
    attention_forward(acts->heads_out, acts->weights,
                      (AttnInputs){.q = acts->q, .k = acts->k, .v = acts->v}, mask, heads);
    // Concat the heads and project back: out = concat W^O + b_o.
    mha_merge_heads(acts->concat, acts->heads_out, B, Tq, d_model, h);
    linear_forward(out, acts->concat, w->w_o, w->b_o, B * Tq, d_model);
    // END EXERCISE
}

// Backward of mha_forward, its lines in reverse order. dout is (B,Tq,d_model).
void mha_backward(float *dx_q, float *dx_kv, MhaWeights *dw, float *scratch,
                  const float *dout, const MhaActs *acts, const MhaWeights *w, MhaDims dims) {
    const AttnDims heads = per_head(dims);
    const int B = dims.B, Tq = dims.Tq, Tk = dims.Tk, d_model = dims.d_model, h = dims.h;
    MhaScratch s = {0};
    mha_scratch_layout(&s, scratch, dims);
    // EXERCISE 05 mha-backward: the gradients of mha_forward, its lines in reverse
    // TODO: ACCUMULATE (+=) into dx_q (B,Tq,d_model), dx_kv (B,Tk,d_model) and every field
    // TODO: of dw; never zero them (the caller did). For self-attention dx_q == dx_kv: only
    // TODO: add to them, never read them. The forward's tensors are in acts; the scratch
    // TODO: s has dproj (B,max(Tq,Tk),d_model), dheads, dq (B,h,Tq,d_k), dk, dv
    // TODO: (B,h,Tk,d_k) and dscores (B,h,Tq,Tk): zero what you accumulate into.
    // TODO: Undo mha_forward from its last line to its first:
    // TODO:   out = concat W^O + b_o  ->  linear_backward(dx, dw, dbias, dy, x, w, rows,
    // TODO:       d_model) above gives dconcat (into a zeroed s.dproj), dW^O, db_o;
    // TODO:   concat = merge(heads_out) -> dheads = split-heads(dconcat);
    // TODO:   heads_out = Attention(q,k,v) -> attention_backward (lesson 04) into zeroed
    // TODO:       s.dq, s.dk, s.dv (it accumulates too), scratch s.dscores, sizes `heads`;
    // TODO:   q = split(x_q W^Q + b_q) -> merge-heads s.dq into s.dproj (B*Tq rows), then
    // TODO:       linear_backward into dx_q, dw->w_q, dw->b_q; the same for k and v from
    // TODO:       x_kv (B*Tk rows) into dx_kv, dw->w_k/b_k and dw->w_v/b_v.
    // STUB: (void)dx_q; (void)dx_kv; (void)dw; (void)dout; (void)acts; (void)w; (void)heads;
    // STUB: (void)B; (void)Tq; (void)Tk; (void)d_model; (void)h;
    // SOLUTION

    // out = concat W^O + b_o  ->  dconcat (kept in dproj), dW^O, db_o
    vec_zero(s.dproj, (long)B * Tq * d_model);
    linear_backward(s.dproj, dw->w_o, dw->b_o, dout, acts->concat, w->w_o, B * Tq, d_model);
    // concat = merge(heads_out)  ->  dheads = split(dconcat)
    mha_split_heads(s.dheads, s.dproj, B, Tq, d_model, h);
    // heads_out = Attention(q, k, v)  ->  dq, dk, dv in the per-head layout
    vec_zero(s.dq, (long)B * Tq * d_model);
    vec_zero(s.dk, (long)B * Tk * d_model);
    vec_zero(s.dv, (long)B * Tk * d_model);
    attention_backward((AttnInputGrads){.dq = s.dq, .dk = s.dk, .dv = s.dv}, s.dscores,
                       s.dheads, acts->weights,
                       (AttnInputs){.q = acts->q, .k = acts->k, .v = acts->v}, heads);
    // q = split(x_q W^Q + b_q)  ->  merge dq back, then through the Linear layer.
    // dx_q and dx_kv may be one buffer: each step only adds to it, never reads it.
    mha_merge_heads(s.dproj, s.dq, B, Tq, d_model, h);
    linear_backward(dx_q, dw->w_q, dw->b_q, s.dproj, acts->x_q, w->w_q, B * Tq, d_model);
    mha_merge_heads(s.dproj, s.dk, B, Tk, d_model, h);
    linear_backward(dx_kv, dw->w_k, dw->b_k, s.dproj, acts->x_kv, w->w_k, B * Tk, d_model);
    mha_merge_heads(s.dproj, s.dv, B, Tk, d_model, h);
    linear_backward(dx_kv, dw->w_v, dw->b_v, s.dproj, acts->x_kv, w->w_v, B * Tk, d_model);
    // END EXERCISE
}
