// test_04_attention.c: scaled dot-product attention, §3.2.1 Eq. (1).
// Values worked by hand, every mask, finite-difference gradients (and proof that a wrong
// gradient fails them), parity with PyTorch, and thread-count independence.
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "attention.h"
#include "common.h"
#include "rng.h"
#include "tensor.h"
#include "testutil.h"

// Float forward passes: a step of 1e-2 balances truncation error against rounding
// error, and 1e-2 relative is still far below what a wrong gradient gives (~1).
#define GRAD_EPS 1e-2f
#define GRAD_TOL 1e-2f

// ---- helpers ---------------------------------------------------------------------

// n floats drawn N(0, 1), allocated.
static float *random_array(Rng *rng, long n) {
    float *x = xmalloc(sizeof(float) * (size_t)n);
    for (long i = 0; i < n; i++) x[i] = rng_normal(rng);
    return x;
}

// Asserts each of the rows (of cols weights) sums to 1 within 1e-6.
static void assert_rows_sum_to_one(const float *w, int rows, int cols) {
    for (int r = 0; r < rows; r++) {
        double sum = 0;
        for (int j = 0; j < cols; j++) sum += w[(long)r * cols + j];
        if (fabs(sum - 1.0) > 1e-6) fail_msg("row %d sums to %.9g, not 1", r, sum);
    }
}

// ---- values worked by hand -----------------------------------------------------------

// Keys are the one-hot vectors e_0..e_3; the query is 10·e_2. Its scores are
// 10/√4 = 5 for key 2 and 0 for the others, so key 2 gets e^5/(e^5+3) ≈ 0.980 and the
// output is that mix of the values (value j = j+1 in every component).
// hint: weights of 0.25 each: the scores never reached the softmax. 0.9999 on key 2: no
// hint: scale; 0.80: divided by d_k instead of √d_k (d_k = 4 here). The tensor.h matmuls
// hint: ADD into their output: zero w and out first.
static void test_one_hot_query_attends_to_its_key(void **state) {
    (void)state;
    enum { T = 4, D = 4 };
    float q[D] = {0, 0, 10, 0}, k[T * D] = {0}, v[T * D], out[D], w[T];
    float *garbage = garbage_floats(D + T);  // attention_forward overwrites out and w
    memcpy(out, garbage, sizeof out), memcpy(w, garbage + D, sizeof w);
    free(garbage);
    for (int j = 0; j < T; j++) {
        k[j * D + j] = 1;
        for (int c = 0; c < D; c++) v[j * D + c] = (float)(j + 1);
    }
    attention_forward(out, w, (AttnInputs){q, k, v}, ATTN_NO_MASK,
                      (AttnDims){.B = 1, .h = 1, .Tq = 1, .Tk = T, .d_k = D});
    const float big = expf(5.0f) / (expf(5.0f) + 3.0f), small = 1.0f / (expf(5.0f) + 3.0f);
    float expected_w[T] = {small, small, big, small};
    assert_arrays_close("weights of a one-hot query", w, expected_w, T, 1e-6f);
    assert_true(w[2] > 0.98f);
    float mix = small * 1 + small * 2 + big * 3 + small * 4, expected_out[D] = {mix, mix, mix, mix};
    assert_arrays_close("output mixes the values", out, expected_out, D, 1e-5f);
}

// Row i of the weights is query i's distribution over the keys: with Tq = 2 queries and
// Tk = 3 keys (d_k = 2, so the scale is 1/√2), w[i][j] = softmax_j(q_i·k_j/√2), worked out
// here in double from the definition. A (Tk,Tq) matrix of k·qᵀ has the same number of
// entries, and with a single query even the same layout, so only Tq != Tk shows it.
// hint: the scores are q kᵀ, (Tq,d_k)·(Tk,d_k)ᵀ = (Tq,Tk): matmul_nt(w, q, k, Tq, d_k, Tk).
// hint: k qᵀ (the operands swapped) puts key j's scores in row j, and the mask and the
// hint: softmax then run over the wrong numbers.
static void test_weights_rows_are_queries(void **state) {
    (void)state;
    enum { Tq = 2, Tk = 3, D = 2 };
    const float q[Tq * D] = {1, 0, 0, 2}, k[Tk * D] = {1, 1, 2, 0, 0, 3}, v[Tk * D] = {1, 0, 0, 1, 1, 1};
    float out[Tq * D], w[Tq * Tk], expected[Tq * Tk];
    attention_forward(out, w, (AttnInputs){q, k, v}, ATTN_NO_MASK,
                      (AttnDims){.B = 1, .h = 1, .Tq = Tq, .Tk = Tk, .d_k = D});
    for (int i = 0; i < Tq; i++) {
        double e[Tk], sum = 0;
        for (int j = 0; j < Tk; j++) {
            double score = (q[i * D] * k[j * D] + q[i * D + 1] * k[j * D + 1]) / sqrt((double)D);
            sum += e[j] = exp(score);
        }
        for (int j = 0; j < Tk; j++) expected[i * Tk + j] = (float)(e[j] / sum);
    }
    assert_arrays_close("weights (Tq=2 queries, Tk=3 keys) by hand", w, expected, Tq * Tk, 1e-6f);
}

// The causal mask leaves every weight above the diagonal at exactly 0 and each row
// still sums to 1; row 0 can only see key 0, so its weight there is exactly 1.
// hint: query i sees keys 0..i: hide j > i (not j >= i, or row 0 sees nothing). Mask
// hint: after the 1/√d_k scaling and before softmax_rows, with -INFINITY so exp gives 0.
static void test_causal_mask_zeroes_upper_triangle(void **state) {
    (void)state;
    enum { B = 2, H = 3, T = 6, D = 4 };
    Rng rng;
    rng_seed(&rng, 4, 1);
    float *q = random_array(&rng, B * H * T * D), *k = random_array(&rng, B * H * T * D);
    float *v = random_array(&rng, B * H * T * D);
    float out[B * H * T * D], w[B * H * T * T];
    attention_forward(out, w, (AttnInputs){q, k, v}, (AttnMask){NULL, true},
                      (AttnDims){.B = B, .h = H, .Tq = T, .Tk = T, .d_k = D});
    for (int s = 0; s < B * H; s++) {
        const float *ws = w + s * T * T;
        for (int i = 0; i < T; i++)
            for (int j = 0; j < T; j++) {
                if (j > i) assert_true(ws[i * T + j] == 0.0f);
                else assert_true(ws[i * T + j] > 0.0f);
            }
        assert_true(ws[0] == 1.0f);
    }
    assert_rows_sum_to_one(w, B * H * T, T);
    free(q), free(k), free(v);
}

// Keys at or beyond a sequence's length get exactly 0, every other weight is positive,
// and rows sum to 1; then the same with the causal mask on as well (lengths 5 and 2).
// hint: hide keys j >= n_keys in EVERY query row, not only row 0; with both masks on, a
// hint: key is hidden when either mask hides it. Outputs like 1e35: out was not zeroed
// hint: before matmul_nn added w·v into it.
static void test_padding_keys_get_zero_weight(void **state) {
    (void)state;
    enum { B = 2, H = 2, Tq = 3, Tk = 5, D = 4 };
    Rng rng;
    rng_seed(&rng, 4, 2);
    float *q = random_array(&rng, B * H * Tq * D), *k = random_array(&rng, B * H * Tk * D);
    float *v = random_array(&rng, B * H * Tk * D);
    float out[B * H * Tq * D], w[B * H * Tq * Tk];
    int lengths[B] = {5, 2};
    attention_forward(out, w, (AttnInputs){q, k, v}, (AttnMask){lengths, false},
                      (AttnDims){.B = B, .h = H, .Tq = Tq, .Tk = Tk, .d_k = D});
    for (int b = 0; b < B; b++)
        for (int s = 0; s < H * Tq; s++)
            for (int j = 0; j < Tk; j++) {
                float x = w[((long)b * H * Tq + s) * Tk + j];
                if (j >= lengths[b]) assert_true(x == 0.0f);
                else assert_true(x > 0.0f);
            }
    assert_rows_sum_to_one(w, B * H * Tq, Tk);
    // Changing a padded key or value must not change the output at all.
    float out2[B * H * Tq * D], w2[B * H * Tq * Tk];
    k[((long)1 * H * Tk + 4) * D] += 100.0f;  // sequence 1 (from 0), head 1, key 4 (padding)
    v[((long)1 * H * Tk + 3) * D] += 100.0f;  // sequence 1 (from 0), head 1, value 3 (padding)
    attention_forward(out2, w2, (AttnInputs){q, k, v}, (AttnMask){lengths, false},
                      (AttnDims){.B = B, .h = H, .Tq = Tq, .Tk = Tk, .d_k = D});
    assert_arrays_close("output ignores padded keys/values", out2, out, B * H * Tq * D, 0.0f);
    // Both masks: query i sees key j only if j <= i and j < length.
    attention_forward(out, w, (AttnInputs){q, k, v}, (AttnMask){lengths, true},
                      (AttnDims){.B = B, .h = H, .Tq = Tq, .Tk = Tk, .d_k = D});
    for (int b = 0; b < B; b++)
        for (int s = 0; s < H * Tq; s++)
            for (int j = 0; j < Tk; j++) {
                int i = s % Tq;
                float x = w[((long)b * H * Tq + s) * Tk + j];
                bool seen = j <= i && j < lengths[b];
                if (seen ? !(x > 0.0f) : x != 0.0f)
                    fail_msg("both masks, sequence %d (length %d), query %d, key %d: weight %g, expected %s",
                             b, lengths[b], i, j, (double)x, seen ? "> 0" : "exactly 0");
            }
    assert_rows_sum_to_one(w, B * H * Tq, Tk);
    free(q), free(k), free(v);
}

// A sequence of length 0 masks every key: the weights and output are zeros, not NaN,
// and so is the gradient.
// hint: n_keys = 0 hides every key (mind a loop that would start below 0);
// hint: softmax_rows already turns an all -inf row into zeros. In the backward, every
// hint: dS[j] is multiplied by p[j], which is 0 here.
static void test_fully_masked_row_is_zero(void **state) {
    (void)state;
    enum { T = 3, D = 2 };
    float q[T * D] = {1, 2, 3, 4, 5, 6}, k[T * D] = {1, 0, 0, 1, 1, 1}, v[T * D] = {1, 2, 3, 4, 5, 6};
    float out[T * D], w[T * T], zeros[T * T] = {0};
    int lengths[1] = {0};
    attention_forward(out, w, (AttnInputs){q, k, v}, (AttnMask){lengths, true},
                      (AttnDims){.B = 1, .h = 1, .Tq = T, .Tk = T, .d_k = D});
    assert_arrays_close("weights of fully masked rows", w, zeros, T * T, 0.0f);
    assert_arrays_close("output of fully masked rows", out, zeros, T * D, 0.0f);
    float dq[T * D] = {0}, dk[T * D] = {0}, dv[T * D] = {0}, *scratch = garbage_floats(T * T);
    float dout[T * D] = {1, -1, 2, -2, 3, -3};
    attention_backward((AttnInputGrads){dq, dk, dv}, scratch, dout, w, (AttnInputs){q, k, v},
                       (AttnDims){.B = 1, .h = 1, .Tq = T, .Tk = T, .d_k = D});
    assert_arrays_close("dq of fully masked rows", dq, zeros, T * D, 0.0f);
    assert_arrays_close("dk of fully masked rows", dk, zeros, T * D, 0.0f);
    assert_arrays_close("dv of fully masked rows", dv, zeros, T * D, 0.0f);
    free(scratch);
}

// ---- finite differences ----------------------------------------------------------

typedef struct {
    int B, h, Tq, Tk, d_k;
    const int *lengths;
    bool causal;
    float *q, *k, *v, *dout;   // inputs and the fixed upstream gradient R
    float *out, *w;            // forward buffers
} AttnCase;

// L = Σ out ⊙ R, so dL/dout = R.
static double attn_loss(void *ctx) {
    AttnCase *c = ctx;
    attention_forward(c->out, c->w, (AttnInputs){c->q, c->k, c->v},
                      (AttnMask){c->lengths, c->causal},
                      (AttnDims){.B = c->B, .h = c->h, .Tq = c->Tq, .Tk = c->Tk, .d_k = c->d_k});
    long n = (long)c->B * c->h * c->Tq * c->d_k;
    double loss = 0;
    for (long i = 0; i < n; i++) loss += (double)c->out[i] * c->dout[i];
    return loss;
}

// Index of the largest |g|: flipping its sign is the smallest corruption sure to matter.
static long largest_entry(const float *g, long n) {
    long best = 0;
    for (long i = 1; i < n; i++)
        if (fabsf(g[i]) > fabsf(g[best])) best = i;
    return best;
}

// Checks dq, dk, dv of one configuration against central differences at every entry,
// then shows the check is sensitive: one flipped sign fails it.
static void check_attention_gradients(const char *label, int B, int h, int Tq, int Tk, int d_k,
                                      const int *lengths, bool causal) {
    Rng rng;
    rng_seed(&rng, 44, (uint64_t)(Tq * 131 + Tk * 7 + causal + (lengths ? 3 : 0)));
    long nq = (long)B * h * Tq * d_k, nk = (long)B * h * Tk * d_k;
    AttnCase c = {B, h, Tq, Tk, d_k, lengths, causal, random_array(&rng, nq),
                  random_array(&rng, nk), random_array(&rng, nk), random_array(&rng, nq),
                  xmalloc(sizeof(float) * (size_t)nq),
                  xmalloc(sizeof(float) * (size_t)B * h * Tq * Tk)};
    // The gradients start at 1, 2, 3 (not 0): attention_backward must ADD to them, and
    // what it added is checked.
    float *dq = xmalloc(sizeof(float) * (size_t)nq), *dk = xmalloc(sizeof(float) * (size_t)nk);
    float *dv = xmalloc(sizeof(float) * (size_t)nk);
    for (long i = 0; i < nq; i++) dq[i] = 1.0f;
    for (long i = 0; i < nk; i++) dk[i] = 2.0f, dv[i] = 3.0f;
    float *scratch = garbage_floats((long)B * h * Tq * Tk);
    attn_loss(&c);
    attention_backward((AttnInputGrads){dq, dk, dv}, scratch, c.dout, c.w,
                       (AttnInputs){c.q, c.k, c.v},
                       (AttnDims){.B = B, .h = h, .Tq = Tq, .Tk = Tk, .d_k = d_k});
    for (long i = 0; i < nq; i++) dq[i] -= 1.0f;
    for (long i = 0; i < nk; i++) dk[i] -= 2.0f, dv[i] -= 3.0f;

    char what[96];
    snprintf(what, sizeof what, "%s dq", label);
    assert_grad_ok(what, grad_check(attn_loss, &c, c.q, dq, nq, (int)nq, GRAD_EPS), GRAD_TOL);
    snprintf(what, sizeof what, "%s dk", label);
    assert_grad_ok(what, grad_check(attn_loss, &c, c.k, dk, nk, (int)nk, GRAD_EPS), GRAD_TOL);
    snprintf(what, sizeof what, "%s dv", label);
    assert_grad_ok(what, grad_check(attn_loss, &c, c.v, dv, nk, (int)nk, GRAD_EPS), GRAD_TOL);

    // The same check must reject a gradient with one sign flipped.
    float *arrays[3] = {dq, dk, dv}, *inputs[3] = {c.q, c.k, c.v};
    long sizes[3] = {nq, nk, nk};
    for (int a = 0; a < 3; a++) {
        long i = largest_entry(arrays[a], sizes[a]);
        arrays[a][i] = -arrays[a][i];
        GradCheck bad = grad_check(attn_loss, &c, inputs[a], arrays[a], sizes[a], (int)sizes[a], GRAD_EPS);
        if (!(bad.max_rel_error > GRAD_TOL))
            fail_msg("%s: a gradient with one flipped sign passed the check (rel err %.2e)", label,
                     (double)bad.max_rel_error);
    }
    free(c.q), free(c.k), free(c.v), free(c.dout), free(c.out), free(c.w);
    free(dq), free(dk), free(dv), free(scratch);
}

// dq, dk, dv against central differences, no mask (B=2, h=2, Tq=Tk=4, d_k=3); one
// flipped sign in each must then fail the same check.
// The gradients start at 1 (dq), 2 (dk) and 3 (dv), and must be ADDED to: a caller may
// already hold a gradient there.
// hint: every error 0 and a flipped sign "passes": your forward still gives zeros, fix
// hint: it first. dv wrong: dv += Pᵀ·dout is (Tk,Tq)·(Tq,d_k), a product whose LEFT
// hint: factor is transposed. Only dq and dk wrong: in softmax-backward-row take the
// hint: row's Σ p·dp BEFORE overwriting and multiply by scale; zero ds before dP goes in.
// hint: Off by exactly 1, 2 or 3: dq, dk or dv was zeroed or overwritten, not added to.
static void test_gradients_no_mask(void **state) {
    (void)state;
    check_attention_gradients("no mask", 2, 2, 4, 4, 3, NULL, false);
}

// The same with padding (lengths 4 and 2): hidden keys get no gradient.
// hint: every error 0 and a flipped sign "passes": your forward still gives zeros, fix
// hint: it first. dv wrong: dv += Pᵀ·dout is (Tk,Tq)·(Tq,d_k), a product whose LEFT
// hint: factor is transposed. Only dq and dk wrong: in softmax-backward-row take the
// hint: row's Σ p·dp BEFORE overwriting and multiply by scale; zero ds before dP goes in.
static void test_gradients_padding(void **state) {
    (void)state;
    int lengths[2] = {4, 2};
    check_attention_gradients("padding", 2, 2, 4, 4, 3, lengths, false);
}

// The same with the causal mask.
// hint: every error 0 and a flipped sign "passes": your forward still gives zeros, fix
// hint: it first. dv wrong: dv += Pᵀ·dout is (Tk,Tq)·(Tq,d_k), a product whose LEFT
// hint: factor is transposed. Only dq and dk wrong: in softmax-backward-row take the
// hint: row's Σ p·dp BEFORE overwriting and multiply by scale; zero ds before dP goes in.
static void test_gradients_causal(void **state) {
    (void)state;
    check_attention_gradients("causal", 2, 2, 4, 4, 3, NULL, true);
}

// The same with padding and the causal mask at once.
// hint: every error 0 and a flipped sign "passes": your forward still gives zeros, fix
// hint: it first. dv wrong: dv += Pᵀ·dout is (Tk,Tq)·(Tq,d_k), a product whose LEFT
// hint: factor is transposed. Only dq and dk wrong: in softmax-backward-row take the
// hint: row's Σ p·dp BEFORE overwriting and multiply by scale; zero ds before dP goes in.
static void test_gradients_padding_and_causal(void **state) {
    (void)state;
    int lengths[2] = {3, 2};
    check_attention_gradients("padding+causal", 2, 2, 4, 4, 3, lengths, true);
}

// Cross-attention: 3 target queries against 5 source keys, with padding.
// hint: Tq = 3 queries, Tk = 5 keys: check every matmul's three sizes against the shapes
// hint: (dv and dk are (Tk,d_k), dq is (Tq,d_k), P and ds are (Tq,Tk)).
static void test_gradients_cross_attention(void **state) {
    (void)state;
    int lengths[2] = {5, 3};
    check_attention_gradients("cross S=5 T=3", 2, 2, 3, 5, 3, lengths, false);
}

// More queries than keys: 5 target queries against 3 source keys, with padding (a
// target longer than its source, as in the decoder's cross-attention).
// hint: every loop over queries runs to Tq and every loop over keys to Tk: with Tq > Tk
// hint: a loop bound that mixes them up skips the last queries' rows of P and ds.
static void test_gradients_more_queries_than_keys(void **state) {
    (void)state;
    int lengths[2] = {3, 2};
    check_attention_gradients("cross S=3 T=5", 2, 2, 5, 3, 3, lengths, false);
}

// A gradient with the softmax's "- Σ P dP" term dropped (the most common mistake)
// must fail the check: computed here by hand for one slice, from the correct dv path.
// hint: this one runs only your forward: if it fails, fix the forward tests above first.
static void test_check_rejects_softmax_without_jacobian_term(void **state) {
    (void)state;
    enum { T = 4, D = 3 };
    Rng rng;
    rng_seed(&rng, 45, 0);
    AttnCase c = {1, 1, T, T, D, NULL, false, random_array(&rng, T * D), random_array(&rng, T * D),
                  random_array(&rng, T * D), random_array(&rng, T * D),
                  xmalloc(sizeof(float) * T * D), xmalloc(sizeof(float) * T * T)};
    attn_loss(&c);
    // dP = R vᵀ; wrong dS = P ⊙ dP (no subtraction); wrong dq = dS k / √d_k.
    float dp[T * T] = {0}, wrong_dq[T * D] = {0};
    matmul_nt(dp, c.dout, c.v, T, D, T);
    for (int i = 0; i < T * T; i++) dp[i] *= c.w[i] / sqrtf((float)D);
    matmul_nn(wrong_dq, dp, c.k, T, T, D);
    GradCheck bad = grad_check(attn_loss, &c, c.q, wrong_dq, T * D, T * D, GRAD_EPS);
    print_message("  dropped softmax term: max rel err %.2e\n", (double)bad.max_rel_error);
    assert_true(bad.max_rel_error > GRAD_TOL);
    free(c.q), free(c.k), free(c.v), free(c.dout), free(c.out), free(c.w);
}

// ---- parity with PyTorch ---------------------------------------------------------

// tests/fixtures/attention.txt: Eq. (1) in PyTorch for each mask and for cross-attention.
// hint: the message names the first array that differs: out or weights is the forward,
// hint: dq, dk or dv the backward (dk += dSᵀ·q is (Tk,Tq)·(Tq,d_k): mind the transpose).
static void test_matches_pytorch(void **state) {
    (void)state;
    Fixture *fx = fixture_load("tests/fixtures/attention.txt");
    const char *cases[] = {"none", "pad", "causal", "both", "cross"};
    for (int ci = 0; ci < 5; ci++) {
        char name[64];
#define GET(field, n) (snprintf(name, sizeof name, "%s_%s", cases[ci], field), fixture_get(fx, name, n))
        float *dims = GET("dims", 6);
        int B = (int)dims[0], h = (int)dims[1], Tq = (int)dims[2], Tk = (int)dims[3], d_k = (int)dims[4];
        bool causal = dims[5] != 0;
        float *len_f = GET("lengths", B);
        int lengths[8];
        for (int b = 0; b < B; b++) lengths[b] = (int)len_f[b];
        long nq = (long)B * h * Tq * d_k, nk = (long)B * h * Tk * d_k, nw = (long)B * h * Tq * Tk;
        float *q = GET("q", nq), *k = GET("k", nk), *v = GET("v", nk), *dout = GET("dout", nq);
        float *out = xmalloc(sizeof(float) * (size_t)nq), *w = xmalloc(sizeof(float) * (size_t)nw);
        float *scratch = garbage_floats(nw);
        float *dq = xcalloc((size_t)nq, sizeof(float)), *dk = xcalloc((size_t)nk, sizeof(float));
        float *dv = xcalloc((size_t)nk, sizeof(float));
        attention_forward(out, w, (AttnInputs){q, k, v}, (AttnMask){lengths, causal},
                          (AttnDims){.B = B, .h = h, .Tq = Tq, .Tk = Tk, .d_k = d_k});
        attention_backward((AttnInputGrads){dq, dk, dv}, scratch, dout, w, (AttnInputs){q, k, v},
                           (AttnDims){.B = B, .h = h, .Tq = Tq, .Tk = Tk, .d_k = d_k});
        print_message("  case %s (B=%d h=%d Tq=%d Tk=%d d_k=%d causal=%d)\n", cases[ci], B, h, Tq,
                      Tk, d_k, causal);
        assert_arrays_close("out vs PyTorch", out, GET("out", nq), nq, 1e-5f);
        assert_arrays_close("weights vs PyTorch", w, GET("weights", nw), nw, 1e-5f);
        assert_arrays_close("dq vs PyTorch", dq, GET("dq", nq), nq, 1e-5f);
        assert_arrays_close("dk vs PyTorch", dk, GET("dk", nk), nk, 1e-5f);
        assert_arrays_close("dv vs PyTorch", dv, GET("dv", nk), nk, 1e-5f);
#undef GET
        free(out), free(w), free(scratch), free(dq), free(dk), free(dv);
    }
    fixture_free(fx);
}

// ---- threads ---------------------------------------------------------------------

// Large enough to take the threaded path: 1 thread and 2 threads give identical bits.
// hint: a slice function must write only its own slice's blocks and keep no static
// hint: variables: the threads run slices at the same time.
static void test_same_result_for_any_thread_count(void **state) {
    (void)state;
#ifdef _OPENMP
    enum { B = 8, H = 8, T = 64, D = 32 };
    const long n = (long)B * H * T * D, nw = (long)B * H * T * T;
    Rng rng;
    rng_seed(&rng, 46, 0);
    float *q = random_array(&rng, n), *k = random_array(&rng, n), *v = random_array(&rng, n);
    float *dout = random_array(&rng, n);
    float *res[2][4];
    int lengths[B] = {T, T / 2, T / 3, T, T, T / 4, T - 1, T};
    int saved = omp_get_max_threads();
    for (int run = 0; run < 2; run++) {
        omp_set_num_threads(run + 1);
        float *out = xmalloc(sizeof(float) * n), *w = xmalloc(sizeof(float) * nw);
        float *scratch = garbage_floats(nw);
        float *dq = xcalloc(n, sizeof(float)), *dk = xcalloc(n, sizeof(float)), *dv = xcalloc(n, sizeof(float));
        attention_forward(out, w, (AttnInputs){q, k, v}, (AttnMask){lengths, true},
                          (AttnDims){.B = B, .h = H, .Tq = T, .Tk = T, .d_k = D});
        attention_backward((AttnInputGrads){dq, dk, dv}, scratch, dout, w, (AttnInputs){q, k, v},
                           (AttnDims){.B = B, .h = H, .Tq = T, .Tk = T, .d_k = D});
        res[run][0] = out, res[run][1] = dq, res[run][2] = dk, res[run][3] = dv;
        free(w), free(scratch);
    }
    omp_set_num_threads(saved);
    for (int a = 0; a < 4; a++) {
        assert_int_equal(memcmp(res[0][a], res[1][a], sizeof(float) * n), 0);
        free(res[0][a]), free(res[1][a]);
    }
    free(q), free(k), free(v), free(dout);
#else
    skip();
#endif
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_hot_query_attends_to_its_key),
        cmocka_unit_test(test_weights_rows_are_queries),
        cmocka_unit_test(test_causal_mask_zeroes_upper_triangle),
        cmocka_unit_test(test_padding_keys_get_zero_weight),
        cmocka_unit_test(test_fully_masked_row_is_zero),
        cmocka_unit_test(test_gradients_no_mask),
        cmocka_unit_test(test_gradients_padding),
        cmocka_unit_test(test_gradients_causal),
        cmocka_unit_test(test_gradients_padding_and_causal),
        cmocka_unit_test(test_gradients_cross_attention),
        cmocka_unit_test(test_gradients_more_queries_than_keys),
        cmocka_unit_test(test_check_rejects_softmax_without_jacobian_term),
        cmocka_unit_test(test_matches_pytorch),
        cmocka_unit_test(test_same_result_for_any_thread_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
