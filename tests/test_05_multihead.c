// test_05_multihead.c: multi-head attention, §3.2.2. The head split worked by hand,
// heads independent of each other, finite-difference gradients for the inputs and every
// weight and bias (through each mask, and for cross-attention), self-attention with one
// shared input gradient, and parity with PyTorch's nn.MultiheadAttention.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "multihead.h"
#include "rng.h"
#include "tensor.h"
#include "testutil.h"

// The forward pass is float, so L(x ± eps) carries rounding noise of ~1e-6; over a
// step of 2·eps that is ~5e-5 in each numeric derivative. eps = 2e-2 keeps both that
// noise and the O(eps²) truncation error near 5e-3 relative at worst; a wrong gradient
// (a flipped sign, a dropped term) is off by ~1, far above the 2e-2 tolerance.
#define GRAD_EPS 2e-2f
#define GRAD_TOL 2e-2f

// ---- a self-contained layer instance for the tests -----------------------------------

typedef struct {
    int B, Tq, Tk, d_model, h;
    const int *lengths;
    bool causal, self;          // self: x_kv is x_q
    float *params, *grads;      // mha_weights_layout(NULL, NULL, d_model) floats each
    MhaWeights w, dw;
    float *acts_mem, *scratch;
    MhaActs acts;
    float *x_q, *x_kv, *dx_q, *dx_kv, *dout, *out;
} Layer;

static float *random_array(Rng *rng, long n, float scale) {
    float *x = xmalloc(sizeof(float) * (size_t)n);
    for (long i = 0; i < n; i++) x[i] = scale * rng_normal(rng);
    return x;
}

// Random weights AND biases (the init zeroes biases, which would hide a bias bug).
static Layer layer_new(int B, int Tq, int Tk, int d_model, int h, const int *lengths,
                       bool causal, bool self, uint64_t seed) {
    Layer L = {.B = B, .Tq = Tq, .Tk = Tk, .d_model = d_model, .h = h, .lengths = lengths,
               .causal = causal, .self = self};
    Rng rng;
    rng_seed(&rng, seed, 5);
    L.params = random_array(&rng, mha_weights_layout(NULL, NULL, d_model), 0.4f);
    L.grads = xcalloc((size_t)mha_weights_layout(NULL, NULL, d_model), sizeof(float));
    mha_weights_layout(&L.w, L.params, d_model);
    mha_weights_layout(&L.dw, L.grads, d_model);
    const MhaDims dims = {.B = B, .Tq = Tq, .Tk = Tk, .d_model = d_model, .h = h};
    L.acts_mem = xmalloc(sizeof(float) * (size_t)mha_acts_layout(NULL, NULL, dims));
    mha_acts_layout(&L.acts, L.acts_mem, dims);
    L.scratch = garbage_floats(mha_scratch_floats(dims));
    long nq = (long)B * Tq * d_model, nk = (long)B * Tk * d_model;
    L.x_q = random_array(&rng, nq, 1.0f);
    L.x_kv = self ? L.x_q : random_array(&rng, nk, 1.0f);
    L.dx_q = xcalloc((size_t)nq, sizeof(float));
    L.dx_kv = self ? L.dx_q : xcalloc((size_t)nk, sizeof(float));
    L.dout = random_array(&rng, nq, 1.0f);
    L.out = xmalloc(sizeof(float) * (size_t)nq);
    return L;
}

static void layer_free(Layer *L) {
    if (!L->self) free(L->x_kv), free(L->dx_kv);
    free(L->params), free(L->grads), free(L->acts_mem), free(L->scratch);
    free(L->x_q), free(L->dx_q), free(L->dout), free(L->out);
}

// The layer's sizes as multi-head attention takes them.
static MhaDims layer_dims(const Layer *L) {
    return (MhaDims){.B = L->B, .Tq = L->Tq, .Tk = L->Tk, .d_model = L->d_model, .h = L->h};
}

static void layer_forward(Layer *L) {
    mha_forward(L->out, &L->acts, L->x_q, L->x_kv, &L->w, (AttnMask){L->lengths, L->causal},
                layer_dims(L));
}

static void layer_backward(Layer *L) {
    mha_backward(L->dx_q, L->dx_kv, &L->dw, L->scratch, L->dout, &L->acts, &L->w, layer_dims(L));
}

// L = Σ out ⊙ R, so dL/dout = R.
static double layer_loss(void *ctx) {
    Layer *L = ctx;
    layer_forward(L);
    double loss = 0;
    for (long i = 0; i < (long)L->B * L->Tq * L->d_model; i++) loss += (double)L->out[i] * L->dout[i];
    return loss;
}

// ---- layout and structure --------------------------------------------------------------

// With d_model = 4 and h = 2 (d_k = 2), token t's features [a b | c d] go to head 1 as
// [a b] and head 2 as [c d]; merging puts them back.
// hint: in dst, head i of sequence b is one contiguous (T,d_k) block (all of head 1's
// hint: tokens first, then head 2's); the code counts heads from i = 0, and head i's
// hint: numbers come from columns i*d_k .. of each token's row of d_model numbers.
// hint: merge-heads is the same copy, the sides swapped.
static void test_split_heads_by_hand(void **state) {
    (void)state;
    // B=1, T=3 (not d_k = 2, so that i*T and i*d_k differ): token 0 = 0 1 2 3,
    // token 1 = 4 5 6 7, token 2 = 8 9 10 11
    float x[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, heads[12], back[12];
    mha_split_heads(heads, x, 1, 3, 4, 2);
    float expected[12] = {0, 1, 4, 5, 8, 9,     // head 1: tokens 0, 1, 2
                          2, 3, 6, 7, 10, 11};  // head 2
    assert_arrays_close("split into heads", heads, expected, 12, 0.0f);
    mha_merge_heads(back, heads, 1, 3, 4, 2);
    assert_arrays_close("merge undoes split", back, x, 12, 0.0f);
}

// Head i (i = 0 for head 1 in the code) reads only columns i*d_k.. of W^Q and W^K:
// changing head 2's columns changes head 2's attention weights and leaves head 1's bit
// for bit the same.
// hint: head i must read only its own columns: in split-heads the column offset is
// hint: i*d_k (not i*T); in mha-forward each projection is split after its bias is added.
static void test_heads_are_independent(void **state) {
    (void)state;
    enum { B = 1, T = 3, D = 8, H = 2 };  // T != d_k = 4
    Layer L = layer_new(B, T, T, D, H, NULL, false, true, 11);
    layer_forward(&L);
    float before[B * H * T * T];
    memcpy(before, L.acts.weights, sizeof before);
    for (int r = 0; r < D; r++) L.w.w_q[r * D + 5] += 1.0f;  // column 5 is in head 2 (i = 1)
    layer_forward(&L);
    assert_arrays_close("head 1 unchanged", L.acts.weights, before, T * T, 0.0f);
    assert_true(max_abs_diff(L.acts.weights + T * T, before + T * T, T * T) > 1e-3f);
    layer_free(&L);
}

// Every head's weights are a distribution over the real keys: padded keys and (with the
// causal mask) future keys get exactly 0, rows sum to 1.
// hint: pass `mask` to attention_forward as it came, with the per-head sizes `heads`.
static void test_masks_reach_every_head(void **state) {
    (void)state;
    enum { B = 2, T = 5, D = 8, H = 4 };
    int lengths[B] = {5, 3};
    Layer L = layer_new(B, T, T, D, H, lengths, true, true, 12);
    layer_forward(&L);
    for (int b = 0; b < B; b++)
        for (int hh = 0; hh < H; hh++)
            for (int i = 0; i < T; i++) {
                const float *row = L.acts.weights + (((long)b * H + hh) * T + i) * T;
                double sum = 0;
                for (int j = 0; j < T; j++) {
                    if (j >= lengths[b] || j > i) assert_true(row[j] == 0.0f);
                    else assert_true(row[j] > 0.0f);
                    sum += row[j];
                }
                assert_true(fabs(sum - 1.0) < 1e-6);
            }
    layer_free(&L);
}

// ---- gradients -----------------------------------------------------------------------

// Every input and parameter of one configuration against central differences, at every
// entry; then one flipped sign in each must fail the same check.
static void check_mha_gradients(const char *label, int B, int Tq, int Tk, int d_model, int h,
                                const int *lengths, bool causal, bool self) {
    Layer L = layer_new(B, Tq, Tk, d_model, h, lengths, causal, self, 13 + (uint64_t)Tq * 7 + causal);
    layer_forward(&L);
    layer_backward(&L);
    const long dd = (long)d_model * d_model;
    struct { const char *name; float *x, *g; long n; } items[] = {
        {"x_q", L.x_q, L.dx_q, (long)B * Tq * d_model},
        {"x_kv", L.x_kv, L.dx_kv, (long)B * Tk * d_model},
        {"W_q", L.w.w_q, L.dw.w_q, dd}, {"b_q", L.w.b_q, L.dw.b_q, d_model},
        {"W_k", L.w.w_k, L.dw.w_k, dd}, {"b_k", L.w.b_k, L.dw.b_k, d_model},
        {"W_v", L.w.w_v, L.dw.w_v, dd}, {"b_v", L.w.b_v, L.dw.b_v, d_model},
        {"W_o", L.w.w_o, L.dw.w_o, dd}, {"b_o", L.w.b_o, L.dw.b_o, d_model},
    };
    const int count = sizeof items / sizeof items[0];
    const int b_k = 5;  // index of b_k in items
    for (int it = self ? 1 : 0; it < count; it++) {  // self: x_kv is x_q, checked once
        char what[96];
        if (it == b_k) {
            // The key bias adds q·b_k to every score of a query's row, and a softmax does
            // not change when its whole row shifts: dL/db_k is exactly 0. The analytic
            // value must be ~0, and so must the numeric one, up to float noise.
            GradCheck c = grad_check(layer_loss, &L, L.w.b_k, L.dw.b_k, d_model, d_model, GRAD_EPS);
            float largest = 0.0f;
            for (int i = 0; i < d_model; i++) largest = fmaxf(largest, fabsf(L.dw.b_k[i]));
            print_message("  grad %s b_k is zero: max |analytic| %.1e, max |analytic-numeric| %.1e\n",
                          label, (double)largest, (double)c.max_abs_error);
            assert_true(largest <= 1e-5f);
            assert_true(c.max_abs_error <= 2e-4f);
            continue;
        }
        snprintf(what, sizeof what, "%s %s", label, self && it == 1 ? "x (q and kv)" : items[it].name);
        assert_grad_ok(what, grad_check(layer_loss, &L, items[it].x, items[it].g, items[it].n,
                                        (int)items[it].n, GRAD_EPS), GRAD_TOL);
    }
    for (int it = self ? 1 : 0; it < count; it++) {
        if (it == b_k) continue;  // zero gradient: nothing to flip
        float *g = items[it].g;
        long best = 0;
        for (long i = 1; i < items[it].n; i++)
            if (fabsf(g[i]) > fabsf(g[best])) best = i;
        g[best] = -g[best];
        GradCheck bad = grad_check(layer_loss, &L, items[it].x, g, items[it].n, (int)items[it].n, GRAD_EPS);
        g[best] = -g[best];
        if (!(bad.max_rel_error > GRAD_TOL))
            fail_msg("%s %s: a gradient with one flipped sign passed (rel err %.2e)", label,
                     items[it].name, (double)bad.max_rel_error);
    }
    layer_free(&L);
}

// Every input, weight and bias of self-attention against central differences, no mask.
// hint: the backward ADDS into dx_q, dx_kv and dw (never zero or overwrite them) but
// hint: zero s.dproj, s.dq, s.dk, s.dv before accumulating into them. W^K and W^V act on
// hint: x_kv (B*Tk rows); a wrong b_q or W^O usually means a wrong first step.
static void test_gradients_self_no_mask(void **state) {
    (void)state;
    check_mha_gradients("self", 2, 4, 4, 8, 2, NULL, false, true);
}

// The same with padding (lengths 4 and 2).
// hint: the backward ADDS into dx_q, dx_kv and dw (never zero or overwrite them) but
// hint: zero s.dproj, s.dq, s.dk, s.dv before accumulating into them. W^K and W^V act on
// hint: x_kv (B*Tk rows); a wrong b_q or W^O usually means a wrong first step.
static void test_gradients_self_padding(void **state) {
    (void)state;
    int lengths[2] = {4, 2};
    check_mha_gradients("self+pad", 2, 4, 4, 8, 2, lengths, false, true);
}

// The same with the causal mask.
// hint: the backward ADDS into dx_q, dx_kv and dw (never zero or overwrite them) but
// hint: zero s.dproj, s.dq, s.dk, s.dv before accumulating into them. W^K and W^V act on
// hint: x_kv (B*Tk rows); a wrong b_q or W^O usually means a wrong first step.
static void test_gradients_self_causal(void **state) {
    (void)state;
    check_mha_gradients("self+causal", 2, 4, 4, 8, 2, NULL, true, true);
}

// The same with both masks and 4 heads (d_k = 2).
// hint: the backward ADDS into dx_q, dx_kv and dw (never zero or overwrite them) but
// hint: zero s.dproj, s.dq, s.dk, s.dv before accumulating into them. W^K and W^V act on
// hint: x_kv (B*Tk rows); a wrong b_q or W^O usually means a wrong first step.
static void test_gradients_self_padding_and_causal(void **state) {
    (void)state;
    int lengths[2] = {3, 4};
    check_mha_gradients("self+pad+causal", 2, 4, 4, 8, 4, lengths, true, true);
}

// Cross-attention with S != T, separate inputs x_q (B,T,.) and x_kv (B,S,.).
// hint: Tq = 3 queries, Tk = 5 keys: the q path uses x_q and B*Tq rows, the k and v paths
// hint: x_kv and B*Tk rows, and every split/merge takes the T of its own tensor.
static void test_gradients_cross_attention(void **state) {
    (void)state;
    int lengths[2] = {5, 3};
    check_mha_gradients("cross T=3 S=5", 2, 3, 5, 8, 2, lengths, false, false);
}

// Self-attention through one shared gradient buffer equals the sum of the two
// contributions computed into separate buffers.
// hint: dx_q and dx_kv are ONE buffer here: add to it (linear_backward does), never
// hint: assign or zero it; and calling the backward twice must double every gradient.
static void test_shared_input_gradient_buffer(void **state) {
    (void)state;
    enum { B = 2, T = 4, D = 8, H = 2 };
    int lengths[B] = {4, 3};
    Layer L = layer_new(B, T, T, D, H, lengths, true, true, 14);
    layer_forward(&L);
    layer_backward(&L);  // dx_q == dx_kv: one buffer
    float *dx_q = xcalloc(B * T * D, sizeof(float)), *dx_kv = xcalloc(B * T * D, sizeof(float));
    float *grads = xcalloc((size_t)mha_weights_layout(NULL, NULL, D), sizeof(float));
    MhaWeights dw;
    mha_weights_layout(&dw, grads, D);
    mha_backward(dx_q, dx_kv, &dw, L.scratch, L.dout, &L.acts, &L.w,
                 (MhaDims){.B = B, .Tq = T, .Tk = T, .d_model = D, .h = H});
    vec_add(dx_q, dx_kv, B * T * D);
    assert_arrays_close("shared dx == dx_q + dx_kv", L.dx_q, dx_q, B * T * D, 1e-6f);
    assert_arrays_close("weight grads the same", L.grads, grads, mha_weights_layout(NULL, NULL, D),
                        0.0f);
    // and the backward accumulates: a second call doubles every gradient
    mha_backward(dx_q, dx_kv, &dw, L.scratch, L.dout, &L.acts, &L.w,
                 (MhaDims){.B = B, .Tq = T, .Tk = T, .d_model = D, .h = H});
    vec_scale(L.grads, 2.0f, mha_weights_layout(NULL, NULL, D));
    assert_arrays_close("second backward accumulates", grads, L.grads,
                        mha_weights_layout(NULL, NULL, D), 1e-5f);
    free(dx_q), free(dx_kv), free(grads);
    layer_free(&L);
}

// ---- parity with PyTorch -----------------------------------------------------------

// tests/fixtures/multihead.txt: nn.MultiheadAttention(batch_first=True) with the same
// weights; self-attention (with and without padding+causal masks), cross-attention, and
// 4 heads over 3 sequences of different lengths.
// hint: the message names the first array that differs; out and weights come from the
// hint: forward, dx and dW/db from the backward. Biases: y = x·W + b on every row.
static void test_matches_pytorch(void **state) {
    (void)state;
    Fixture *fx = fixture_load("tests/fixtures/multihead.txt");
    const char *cases[] = {"self", "selfmask", "cross", "heads4"};
    for (int ci = 0; ci < 4; ci++) {
        char name[64];
#define GET(field, n) (snprintf(name, sizeof name, "%s_%s", cases[ci], field), fixture_get(fx, name, n))
        float *sizes = GET("dims", 7);
        int B = (int)sizes[0], Tq = (int)sizes[1], Tk = (int)sizes[2], D = (int)sizes[3], H = (int)sizes[4];
        bool causal = sizes[5] != 0, self = sizes[6] != 0;
        print_message("  case %s (B=%d Tq=%d Tk=%d d_model=%d h=%d causal=%d self=%d)\n", cases[ci],
                      B, Tq, Tk, D, H, causal, self);
        float *len_f = GET("lengths", B);
        int lengths[8];
        for (int b = 0; b < B; b++) lengths[b] = (int)len_f[b];
        const long dd = (long)D * D, nq = (long)B * Tq * D, nk = (long)B * Tk * D;
        const long nw = (long)B * H * Tq * Tk;
        float *params = xmalloc(sizeof(float) * (size_t)mha_weights_layout(NULL, NULL, D));
        float *grads = xcalloc((size_t)mha_weights_layout(NULL, NULL, D), sizeof(float));
        MhaWeights w, dw;
        mha_weights_layout(&w, params, D);
        mha_weights_layout(&dw, grads, D);
        vec_copy(w.w_q, GET("w_q", dd), dd), vec_copy(w.b_q, GET("b_q", D), D);
        vec_copy(w.w_k, GET("w_k", dd), dd), vec_copy(w.b_k, GET("b_k", D), D);
        vec_copy(w.w_v, GET("w_v", dd), dd), vec_copy(w.b_v, GET("b_v", D), D);
        vec_copy(w.w_o, GET("w_o", dd), dd), vec_copy(w.b_o, GET("b_o", D), D);
        float *x_q = GET("x_q", nq), *x_kv = self ? x_q : GET("x_kv", nk);
        const MhaDims dims = {.B = B, .Tq = Tq, .Tk = Tk, .d_model = D, .h = H};
        float *acts_mem = xmalloc(sizeof(float) * (size_t)mha_acts_layout(NULL, NULL, dims));
        float *scratch = garbage_floats(mha_scratch_floats(dims));
        MhaActs acts;
        mha_acts_layout(&acts, acts_mem, dims);
        float *out = xmalloc(sizeof(float) * (size_t)nq);
        float *dx_q = xcalloc((size_t)nq, sizeof(float));
        float *dx_kv = self ? dx_q : xcalloc((size_t)nk, sizeof(float));
        mha_forward(out, &acts, x_q, x_kv, &w, (AttnMask){lengths, causal}, dims);
        mha_backward(dx_q, dx_kv, &dw, scratch, GET("dout", nq), &acts, &w, dims);
        assert_arrays_close("out vs PyTorch", out, GET("out", nq), nq, 1e-5f);
        assert_arrays_close("per-head weights vs PyTorch", acts.weights, GET("weights", nw), nw, 1e-5f);
        if (self) {
            assert_arrays_close("dx vs PyTorch", dx_q, GET("dx", nq), nq, 1e-5f);
        } else {
            assert_arrays_close("dx_q vs PyTorch", dx_q, GET("dx_q", nq), nq, 1e-5f);
            assert_arrays_close("dx_kv vs PyTorch", dx_kv, GET("dx_kv", nk), nk, 1e-5f);
        }
        assert_arrays_close("dW_q vs PyTorch", dw.w_q, GET("dw_q", dd), dd, 1e-5f);
        assert_arrays_close("db_q vs PyTorch", dw.b_q, GET("db_q", D), D, 1e-5f);
        assert_arrays_close("dW_k vs PyTorch", dw.w_k, GET("dw_k", dd), dd, 1e-5f);
        assert_arrays_close("db_k vs PyTorch", dw.b_k, GET("db_k", D), D, 1e-5f);
        assert_arrays_close("dW_v vs PyTorch", dw.w_v, GET("dw_v", dd), dd, 1e-5f);
        assert_arrays_close("db_v vs PyTorch", dw.b_v, GET("db_v", D), D, 1e-5f);
        assert_arrays_close("dW_o vs PyTorch", dw.w_o, GET("dw_o", dd), dd, 1e-5f);
        assert_arrays_close("db_o vs PyTorch", dw.b_o, GET("db_o", D), D, 1e-5f);
#undef GET
        if (!self) free(dx_kv);
        free(params), free(grads), free(acts_mem), free(scratch), free(out), free(dx_q);
    }
    fixture_free(fx);
}

// The init draws from U(-a, a), a = √(6/(2 d_model)), and zeroes biases.
static void test_init_ranges(void **state) {
    (void)state;
    enum { D = 16 };
    float *params = xmalloc(sizeof(float) * mha_weights_layout(NULL, NULL, D));
    for (long i = 0; i < mha_weights_layout(NULL, NULL, D); i++) params[i] = 99.0f;
    MhaWeights w;
    mha_weights_layout(&w, params, D);
    Rng rng;
    rng_seed(&rng, 15, 0);
    mha_weights_init(&w, &rng, D);
    const float a = sqrtf(6.0f / (2 * D));
    float *mats[4] = {w.w_q, w.w_k, w.w_v, w.w_o}, *biases[4] = {w.b_q, w.b_k, w.b_v, w.b_o};
    for (int m = 0; m < 4; m++) {
        float lo = 1, hi = -1;
        for (int i = 0; i < D * D; i++) lo = fminf(lo, mats[m][i]), hi = fmaxf(hi, mats[m][i]);
        assert_true(lo >= -a && hi <= a && lo < -0.5f * a && hi > 0.5f * a);
        for (int i = 0; i < D; i++) assert_true(biases[m][i] == 0.0f);
    }
    // the last field ends exactly at the end of the buffer
    assert_ptr_equal(w.b_o + D, params + mha_weights_layout(NULL, NULL, D));
    free(params);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_heads_by_hand),
        cmocka_unit_test(test_heads_are_independent),
        cmocka_unit_test(test_masks_reach_every_head),
        cmocka_unit_test(test_matches_pytorch),  // the forward's numbers before the gradients
        cmocka_unit_test(test_gradients_self_no_mask),
        cmocka_unit_test(test_gradients_self_padding),
        cmocka_unit_test(test_gradients_self_causal),
        cmocka_unit_test(test_gradients_self_padding_and_causal),
        cmocka_unit_test(test_gradients_cross_attention),
        cmocka_unit_test(test_shared_input_gradient_buffer),
        cmocka_unit_test(test_init_ranges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
