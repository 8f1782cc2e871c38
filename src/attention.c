// attention.c: scaled dot-product attention, §3.2.1 Eq. (1) (see attention.h).
//
// Each (batch, head) slice is independent: a (Tq,d_k) block of queries against a
// (Tk,d_k) block of keys and values. The slices are shared out among OpenMP threads;
// each slice is computed start to finish by one thread in a fixed order, so the result
// does not depend on the number of threads. (Inside a threaded loop the tensor.h
// matmuls run serially: OpenMP does not nest parallel regions by default.)
#include "attention.h"

#include <math.h>

#include "common.h"
#include "tensor.h"

// Sets masked scores of one (Tq,Tk) slice to -INFINITY: keys j >= n_keys (padding)
// and, if causal, keys j > i (the future, §3.2.3). scores is (Tq,Tk), row-major.
static void mask_scores(float *scores, int n_keys, bool causal, int Tq, int Tk) {
    // EXERCISE 04 mask-scores: hide the padding keys and (if causal) the future keys
    // TODO: scores is one (Tq,Tk) slice, row i = query i's scores against the Tk keys.
    // TODO: Set to -INFINITY (math.h) every entry the query may not see, leave the rest:
    // TODO:   padding (attention.h): keys j >= n_keys; n_keys may be 0 (everything hidden);
    // TODO:   causal (§3.2.3), only when `causal`: keys j > i (query i sees keys 0..i).
    // TODO: -INFINITY, not a large negative number: exp(-inf) is exactly 0, so a hidden
    // TODO: key gets weight exactly 0 (the tests compare with == 0).
    // STUB: (void)scores; (void)n_keys; (void)causal; (void)Tq; (void)Tk;
    // SOLUTION
    for (int i = 0; i < Tq; i++) {
        float *row = scores + (long)i * Tk;
        int visible = n_keys;                               // keys 0 .. visible-1 stay
        if (causal && i + 1 < visible) visible = i + 1;
        for (int j = visible < 0 ? 0 : visible; j < Tk; j++) row[j] = -INFINITY;
    }
    // END EXERCISE
}

// §3.2.1 Eq. (1) for ONE (batch, head) slice: w = softmax(q kᵀ / √d_k + masks),
// out = w v. q is (Tq,d_k), k and v are (Tk,d_k), w is (Tq,Tk), out is (Tq,d_k)
// (in.q, in.k, in.v point at the slice); dims.B and dims.h are not used here. n_keys:
// the keys of this sequence that are not padding. Overwrites w and out.
static void attention_slice_forward(float *out, float *w, AttnInputs in, int n_keys,
                                    bool causal, AttnDims dims) {
    const int Tq = dims.Tq, Tk = dims.Tk, d_k = dims.d_k;
    // EXERCISE 04 attention-slice-forward: Eq. (1) for one (batch, head) slice
    // TODO: Eq. (1), §3.2.1:  w = softmax(q kᵀ / √d_k + mask),  out = w v,  with
    // TODO: q (Tq,d_k), k (Tk,d_k), v (Tk,d_k) -> w (Tq,Tk), out (Tq,d_k). Overwrite both.
    // TODO: 1. w = q kᵀ (Tq,Tk): k is stored (Tk,d_k), so this is tensor.h's matmul_nt,
    // TODO:    and every tensor.h matmul ADDS into its output: vec_zero(w, ...) first.
    // TODO: 2. multiply every score by 1/√d_k (vec_scale; sqrtf of a float d_k).
    // TODO: 3. mask_scores(w, n_keys, causal, Tq, Tk) (your exercise mask-scores).
    // TODO: 4. softmax_rows(w, Tq, Tk): lesson 00's row softmax, safe for all -inf rows.
    // TODO: 5. out = w v (Tq,Tk)·(Tk,d_k): matmul_nn, into a zeroed out.
    // TODO: The order matters: mask AFTER scaling and BEFORE the softmax.
    // STUB: (void)in; (void)n_keys; (void)causal;
    // STUB: vec_zero(w, (long)Tq * Tk);
    // STUB: vec_zero(out, (long)Tq * d_k);
    // SOLUTION
    // Dividing by √d_k keeps the dot products' variance near 1 whatever d_k is, so the
    // softmax does not saturate into vanishing gradients (§3.2.1, footnote 4).
    const float scale = 1.0f / sqrtf((float)d_k);
    // scores (Tq,Tk) = q kᵀ / √d_k
    vec_zero(w, (long)Tq * Tk);
    matmul_nt(w, in.q, in.k, Tq, d_k, Tk);
    vec_scale(w, scale, (long)Tq * Tk);
    // masks, then the softmax over keys turns each row into weights summing to 1
    mask_scores(w, n_keys, causal, Tq, Tk);
    softmax_rows(w, Tq, Tk);
    // out (Tq,d_k) = weights (Tq,Tk) · v (Tk,d_k)
    vec_zero(out, (long)Tq * d_k);
    matmul_nn(out, w, in.v, Tq, Tk, d_k);
    // END EXERCISE
}

// §3.2.1 Eq. (1): out = softmax(q kᵀ / √d_k + masks) v, per (batch, head).
// q is (B,h,Tq,d_k), k and v are (B,h,Tk,d_k), out is (B,h,Tq,d_k),
// weights is (B,h,Tq,Tk).
void attention_forward(float *out, float *weights, AttnInputs in, AttnMask mask,
                       AttnDims dims) {
    const int B = dims.B, h = dims.h, Tq = dims.Tq, Tk = dims.Tk, d_k = dims.d_k;
    const int *key_lengths = mask.key_lengths;
    #pragma omp parallel for schedule(static) \
        num_threads(threads_for_loop(B * h, (long)B * h * Tq * Tk * (2 * d_k + ELEMENT_WORK)))
    for (int bh = 0; bh < B * h; bh++) {
        const int b = bh / h;
        const AttnInputs slice = {.q = in.q + (long)bh * Tq * d_k,
                                  .k = in.k + (long)bh * Tk * d_k,
                                  .v = in.v + (long)bh * Tk * d_k};
        attention_slice_forward(out + (long)bh * Tq * d_k, weights + (long)bh * Tq * Tk, slice,
                                key_lengths ? key_lengths[b] : Tk, mask.causal, dims);
    }
}

// Backward of one softmax row, in place. In the forward pass this was p = softmax(s)
// over one query's Tk scores; its Jacobian is diag(p) - p pᵀ, so
//     ds[j] = p[j] (dp[j] - Σ_l p[l] dp[l]).
// The scale of s = q kᵀ · scale is folded in here (ds is multiplied by it).
// d_row (Tk): dL/dp on entry, dL/ds on return; p_row (Tk): the weights.
static void softmax_backward_row(float *d_row, const float *p_row, int Tk, float scale) {
    // EXERCISE 04 softmax-backward-row: the softmax Jacobian for one row, in place
    // TODO: On entry d_row[j] = dL/dp[j], the gradient of one row p (Tk) of weights.
    // TODO: Overwrite it with dL/ds[j] for the scores s that p = softmax(s) came from,
    // TODO: times `scale` (the 1/√d_k of Eq. (1), folded in here):
    // TODO:     ds[j] = p[j] · (dp[j] − Σ_l p[l]·dp[l]) · scale.
    // TODO: Trap: compute the sum Σ_l p[l]·dp[l] over the whole row FIRST, before you
    // TODO: overwrite any d_row[j] (it must use the incoming dp, not the new values).
    // TODO: A masked key has p[j] = 0, so ds[j] = 0 by itself: no special case needed.
    // STUB: (void)p_row; (void)scale;
    // STUB: for (int j = 0; j < Tk; j++) d_row[j] = 0.0f;
    // SOLUTION
    float dot = 0.0f;
    for (int j = 0; j < Tk; j++) dot += p_row[j] * d_row[j];
    for (int j = 0; j < Tk; j++) d_row[j] = p_row[j] * (d_row[j] - dot) * scale;
    // END EXERCISE
}

// Backward of attention_slice_forward for ONE (batch, head) slice. Writing P for the
// weights and S for the scaled scores, the forward computed
//     S = q kᵀ · scale,   P = softmax_rows(S),   out = P v.
// Going back line by line:
//     out = P v          ->  dP = dout vᵀ,        dv += Pᵀ dout
//     P = softmax(S)     ->  dS[i,j] = P[i,j] (dP[i,j] - Σ_l P[i,l] dP[i,l])
//     S = q kᵀ · scale   ->  dq += dS k · scale,  dk += dSᵀ q · scale
// dout, q, grads.dq are (Tq,d_k); k, v, grads.dk, grads.dv are (Tk,d_k); p is (Tq,Tk);
// ds: (Tq,Tk) scratch, overwritten. dims.B and dims.h are not used here.
static void attention_slice_backward(AttnInputGrads grads, float *ds, const float *dout,
                                     const float *p, AttnInputs in, AttnDims dims) {
    const int Tq = dims.Tq, Tk = dims.Tk, d_k = dims.d_k;
    const float scale = 1.0f / sqrtf((float)d_k);
    // EXERCISE 04 attention-slice-backward: dq, dk, dv of Eq. (1) for one slice
    // TODO: The forward was S = q kᵀ · scale (scale = 1/√d_k), P = softmax_rows(S),
    // TODO: out = P v. Given dout (Tq,d_k) and P = p (Tq,Tk), ADD (+=) the gradients into
    // TODO: grads.dq (Tq,d_k), grads.dk (Tk,d_k), grads.dv (Tk,d_k): never zero them,
    // TODO: the caller did. ds (Tq,Tk) is yours to overwrite. Line by line, backwards:
    // TODO:   out = P v       ->  dv += Pᵀ dout (Tk,Tq)·(Tq,d_k): matmul_tn;
    // TODO:                       dP = dout vᵀ (Tq,Tk), into a ZEROED ds: matmul_nt;
    // TODO:   P = softmax(S)  ->  each row of ds: softmax_backward_row(row, P's row, Tk, scale);
    // TODO:   S = q kᵀ·scale  ->  dq += dS k (Tq,Tk)·(Tk,d_k): matmul_nn;
    // TODO:                       dk += dSᵀ q (Tk,Tq)·(Tq,d_k): matmul_tn.
    // TODO: (the scale is already inside dS, from softmax_backward_row).
    // STUB: (void)grads; (void)ds; (void)dout; (void)p; (void)in; (void)Tq; (void)Tk; (void)scale;
    // SOLUTION
    // out = P v: dv (Tk,d_k) += Pᵀ (Tk,Tq) · dout (Tq,d_k); dP (Tq,Tk) = dout · vᵀ
    matmul_tn(grads.dv, p, dout, Tk, Tq, d_k);
    vec_zero(ds, (long)Tq * Tk);
    matmul_nt(ds, dout, in.v, Tq, d_k, Tk);

    // P = softmax(S): dS = P ⊙ (dP - rowsum(P ⊙ dP)), the scale folded in. Masked
    // entries have P = 0, hence dS = 0: no gradient reaches a hidden key.
    for (int i = 0; i < Tq; i++)
        softmax_backward_row(ds + (long)i * Tk, p + (long)i * Tk, Tk, scale);

    // S = q kᵀ: dq (Tq,d_k) += dS (Tq,Tk) · k (Tk,d_k); dk (Tk,d_k) += dSᵀ · q
    matmul_nn(grads.dq, ds, in.k, Tq, Tk, d_k);
    matmul_tn(grads.dk, ds, in.q, Tk, Tq, d_k);
    // END EXERCISE
}

// Backward of attention_forward: attention_slice_backward for every (batch, head)
// slice, shared out among threads like the forward. dout, q are (B,h,Tq,d_k); k, v are
// (B,h,Tk,d_k); weights and dweights_scratch are (B,h,Tq,Tk).
void attention_backward(AttnInputGrads grads, float *dweights_scratch, const float *dout,
                        const float *weights, AttnInputs in, AttnDims dims) {
    const int B = dims.B, h = dims.h, Tq = dims.Tq, Tk = dims.Tk, d_k = dims.d_k;
    #pragma omp parallel for schedule(static) \
        num_threads(threads_for_loop(B * h, (long)B * h * Tq * Tk * (2 * d_k + ELEMENT_WORK)))
    for (int bh = 0; bh < B * h; bh++) {
        const long q_off = (long)bh * Tq * d_k, k_off = (long)bh * Tk * d_k;
        const AttnInputs slice = {.q = in.q + q_off, .k = in.k + k_off, .v = in.v + k_off};
        const AttnInputGrads dslice = {.dq = grads.dq + q_off, .dk = grads.dk + k_off,
                                       .dv = grads.dv + k_off};
        attention_slice_backward(dslice, dweights_scratch + (long)bh * Tq * Tk,
                                 dout + q_off, weights + (long)bh * Tq * Tk, slice, dims);
    }
}

// ---- printing ----------------------------------------------------------------------

// Prints s right-aligned in `width` columns (printf's %*s would count bytes, not columns).
static void print_right(FILE *f, const char *s, int width) {
    int pad = width - utf8_width(s);
    fprintf(f, "%*s%s", pad > 0 ? pad : 0, "", s);
}

// Five shades from light to dark, and the lower bound of each.
static const char *const SHADES[5] = {" ", "░", "▒", "▓", "█"};
static const float SHADE_FROM[5] = {0.0f, 0.1f, 0.3f, 0.5f, 0.8f};

// Prints one cell, "▓ 0.62" right-aligned in cell_width columns, or the dot of a weight
// that is exactly 0 (a masked key) where "0.xx" would start.
static void print_cell(FILE *f, float w, int cell_width) {
    if (w == 0.0f) {
        print_right(f, "·   ", cell_width);
        return;
    }
    int s = 4;
    while (s > 0 && w < SHADE_FROM[s]) s--;
    fprintf(f, "%*s%s %4.2f", cell_width - 6, "", SHADES[s], (double)w);
}

void attention_print(FILE *f, const float *weights, int Tq, int Tk,
                     const char *const *query_labels, const char *const *key_labels) {
    attention_print_rows(f, weights, Tq, Tk, query_labels, key_labels, "queries");
}

void attention_print_rows(FILE *f, const float *weights, int Tq, int Tk,
                          const char *const *row_labels, const char *const *key_labels,
                          const char *rows_are) {
    int label_width = 5, cell_width = 7;
    for (int i = 0; i < Tq; i++)
        if (utf8_width(row_labels[i]) > label_width) label_width = utf8_width(row_labels[i]);
    for (int j = 0; j < Tk; j++)
        if (utf8_width(key_labels[j]) + 1 > cell_width) cell_width = utf8_width(key_labels[j]) + 1;
    // header: the keys
    fprintf(f, "%*s", label_width + 1, "");
    for (int j = 0; j < Tk; j++) print_right(f, key_labels[j], cell_width);
    fprintf(f, "   <- keys\n");
    // one row per query
    for (int i = 0; i < Tq; i++) {
        print_right(f, row_labels[i], label_width);
        fputc(' ', f);
        for (int j = 0; j < Tk; j++) print_cell(f, weights[(long)i * Tk + j], cell_width);
        fputc('\n', f);
    }
    fprintf(f, "%*s^ %s   shades: \" \" <0.1  ░ <0.3  ▒ <0.5  ▓ <0.8  █ >=0.8   · exactly 0 (masked)\n",
            label_width - 1, "", rows_are);
}
