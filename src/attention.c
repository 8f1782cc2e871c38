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
// and, if causal, keys j > i (the future, §3.2.3).
static void mask_scores(float *scores, int n_keys, bool causal, int Tq, int Tk) {
    for (int i = 0; i < Tq; i++) {
        float *row = scores + (long)i * Tk;
        int visible = n_keys;                               // keys 0 .. visible-1 stay
        if (causal && i + 1 < visible) visible = i + 1;
        for (int j = visible < 0 ? 0 : visible; j < Tk; j++) row[j] = -INFINITY;
    }
}

// §3.2.1 Eq. (1): out = softmax(q kᵀ / √d_k + masks) v, per (batch, head).
// q is (B,h,Tq,d_k), k and v are (B,h,Tk,d_k), out is (B,h,Tq,d_k),
// weights is (B,h,Tq,Tk).
void attention_forward(float *out, float *weights, AttnInputs in, AttnMask mask,
                       AttnDims dims) {
    const int B = dims.B, h = dims.h, Tq = dims.Tq, Tk = dims.Tk, d_k = dims.d_k;
    const int *key_lengths = mask.key_lengths;
    // Dividing by √d_k keeps the dot products' variance near 1 whatever d_k is, so the
    // softmax does not saturate into vanishing gradients (§3.2.1, footnote 4).
    const float scale = 1.0f / sqrtf((float)d_k);
    #pragma omp parallel for schedule(static) \
        if (B * h > 1 && (long)B * h * Tq * Tk * d_k > PARALLEL_MIN_WORK)
    for (int bh = 0; bh < B * h; bh++) {
        const int b = bh / h;
        const float *q_s = in.q + (long)bh * Tq * d_k;
        const float *k_s = in.k + (long)bh * Tk * d_k;
        const float *v_s = in.v + (long)bh * Tk * d_k;
        float *w_s = weights + (long)bh * Tq * Tk;
        float *out_s = out + (long)bh * Tq * d_k;

        // scores (Tq,Tk) = q kᵀ / √d_k
        vec_zero(w_s, (long)Tq * Tk);
        matmul_nt(w_s, q_s, k_s, Tq, d_k, Tk);
        vec_scale(w_s, scale, (long)Tq * Tk);
        // masks, then the softmax over keys turns each row into weights summing to 1
        mask_scores(w_s, key_lengths ? key_lengths[b] : Tk, mask.causal, Tq, Tk);
        softmax_rows(w_s, Tq, Tk);
        // out (Tq,d_k) = weights (Tq,Tk) · v (Tk,d_k)
        vec_zero(out_s, (long)Tq * d_k);
        matmul_nn(out_s, w_s, v_s, Tq, Tk, d_k);
    }
}

// Backward of attention_forward, per (batch, head) slice. Writing P for the weights
// and S for the scaled scores, the forward computed
//     S = q kᵀ · scale,   P = softmax_rows(S),   out = P v.
// Going back line by line:
//     out = P v          ->  dP = dout vᵀ,        dv += Pᵀ dout
//     P = softmax(S)     ->  dS[i,j] = P[i,j] (dP[i,j] - Σ_l P[i,l] dP[i,l])
//     S = q kᵀ · scale   ->  dq += dS k · scale,  dk += dSᵀ q · scale
// dout, q are (B,h,Tq,d_k); k, v are (B,h,Tk,d_k); weights is (B,h,Tq,Tk).
void attention_backward(AttnInputGrads grads, float *dweights_scratch, const float *dout,
                        const float *weights, AttnInputs in, AttnDims dims) {
    const int B = dims.B, h = dims.h, Tq = dims.Tq, Tk = dims.Tk, d_k = dims.d_k;
    const float scale = 1.0f / sqrtf((float)d_k);
    #pragma omp parallel for schedule(static) \
        if (B * h > 1 && (long)B * h * Tq * Tk * d_k > PARALLEL_MIN_WORK)
    for (int bh = 0; bh < B * h; bh++) {
        const float *dout_s = dout + (long)bh * Tq * d_k;
        const float *p_s = weights + (long)bh * Tq * Tk;
        const float *q_s = in.q + (long)bh * Tq * d_k;
        const float *k_s = in.k + (long)bh * Tk * d_k;
        const float *v_s = in.v + (long)bh * Tk * d_k;
        float *ds_s = dweights_scratch + (long)bh * Tq * Tk;

        // out = P v: dv (Tk,d_k) += Pᵀ (Tk,Tq) · dout (Tq,d_k); dP (Tq,Tk) = dout · vᵀ
        matmul_tn(grads.dv + (long)bh * Tk * d_k, p_s, dout_s, Tk, Tq, d_k);
        vec_zero(ds_s, (long)Tq * Tk);
        matmul_nt(ds_s, dout_s, v_s, Tq, d_k, Tk);

        // P = softmax(S): the Jacobian of a softmax row is diag(P) - P Pᵀ, so
        // dS = P ⊙ (dP - rowsum(P ⊙ dP)). The scale of S = q kᵀ·scale is folded in here.
        // Masked entries have P = 0, hence dS = 0: no gradient reaches a hidden key.
        for (int i = 0; i < Tq; i++) {
            const float *p_row = p_s + (long)i * Tk;
            float *d_row = ds_s + (long)i * Tk;
            float dot = 0.0f;
            for (int j = 0; j < Tk; j++) dot += p_row[j] * d_row[j];
            for (int j = 0; j < Tk; j++) d_row[j] = p_row[j] * (d_row[j] - dot) * scale;
        }

        // S = q kᵀ: dq (Tq,d_k) += dS (Tq,Tk) · k (Tk,d_k); dk (Tk,d_k) += dSᵀ · q
        matmul_nn(grads.dq + (long)bh * Tq * d_k, ds_s, k_s, Tq, Tk, d_k);
        matmul_tn(grads.dk + (long)bh * Tk * d_k, ds_s, q_s, Tk, Tq, d_k);
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
