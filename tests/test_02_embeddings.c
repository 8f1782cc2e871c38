// test_02_embeddings.c: the embedding lookup ×√d_model (§3.4) and its backward.
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "embedding.h"
#include "rng.h"
#include "tensor.h"
#include "testutil.h"

// V = 3, d_model = 4, so √d_model = 2: each output row is twice the row it looks up.
// hint: all zeros: nothing written to out. Twice what is expected or half: the scale is
// √d_model = sqrtf(d_model), 2 for d_model = 4 and 3 for d_model = 9. Rows mixed up: row
// i of out is row tokens[i] of the table, both d_model long.
static void test_embedding_forward_by_hand(void **state) {
    (void)state;
    const float table[3 * 4] = {
        0.5f, -1.0f, 0.0f, 2.0f,   // token 0
        1.0f, 1.0f, 1.0f, 1.0f,    // token 1
        -0.25f, 3.0f, 0.5f, -2.0f, // token 2
    };
    const int tokens[3] = {2, 0, 2};
    float out[3 * 4];
    embedding_forward(out, tokens, table, 3, 3, 4);
    const float expected[3 * 4] = {
        -0.5f, 6.0f, 1.0f, -4.0f,
        1.0f, -2.0f, 0.0f, 4.0f,
        -0.5f, 6.0f, 1.0f, -4.0f,
    };
    assert_arrays_close("embedding ×√4 by hand", out, expected, 12, 0.0f);

    // d_model = 9: the scale is 3, not 2 (√d_model, not d_model/2 or a constant).
    float t9[9], o9[9];
    for (int j = 0; j < 9; j++) t9[j] = (float)j;
    int zero = 0;
    embedding_forward(o9, &zero, t9, 1, 1, 9);
    for (int j = 0; j < 9; j++) assert_float_equal(o9[j], 3.0f * (float)j, 0.0f);
}

// Token 1 appears twice: its gradient row gets both output rows' gradients (×√2: d = 2)
// added to what was already there; a token that does not appear is left untouched.
// hint: token 2's row must stay at 100 and the others add to 100: use += (not =). Token 1
// appears twice, so both of its gradient rows add up. Each is scaled by √d_model, like the
// forward.
static void test_embedding_backward_accumulates(void **state) {
    (void)state;
    const int tokens[3] = {1, 1, 0};
    const float dout[3 * 2] = {1.0f, 2.0f, 10.0f, 20.0f, -1.0f, 0.5f};
    float dtable[3 * 2] = {100.0f, 100.0f, 100.0f, 100.0f, 100.0f, 100.0f};  // V = 3, d = 2
    embedding_backward(dtable, dout, tokens, 3, 3, 2);
    const float s = sqrtf(2.0f);
    const float expected[3 * 2] = {
        100.0f - s, 100.0f + 0.5f * s,   // token 0: one use
        100.0f + 11.0f * s, 100.0f + 22.0f * s,  // token 1: two uses, summed
        100.0f, 100.0f,                  // token 2: unused, unchanged
    };
    assert_arrays_close("dtable += √d · dout, summed over repeats", dtable, expected, 6, 1e-4f);
}

// ---- finite differences ------------------------------------------------------------
// L = Σ_i,j w[i,j] · out[i,j], so dL/dout = w. tokens repeat, so the check sees sums.
enum { V = 7, D = 8, N = 12 };
typedef struct {
    float table[V * D], w[N * D], out[N * D];
    int tokens[N];
} EmbCtx;

static double emb_loss(void *p) {
    EmbCtx *c = p;
    embedding_forward(c->out, c->tokens, c->table, N, V, D);
    double l = 0;
    for (int i = 0; i < N * D; i++) l += (double)c->w[i] * c->out[i];
    return l;
}

static void make_ctx(EmbCtx *c) {
    Rng rng;
    rng_seed(&rng, 2, 0);
    for (int i = 0; i < V * D; i++) c->table[i] = rng_normal(&rng);
    for (int i = 0; i < N * D; i++) c->w[i] = rng_normal(&rng);
    const int tokens[N] = {3, 1, 3, 0, 6, 3, 1, 5, 0, 2, 6, 3};  // 3 four times; 4 never
    memcpy(c->tokens, tokens, sizeof tokens);
}

// Two wrong backwards a student might write: one forgets the √d_model, one writes
// (=) instead of adding (+=), which loses all but the last use of a repeated token.
static void backward_without_scale(float *dtable, const float *dout, const int *tokens, int n, int d) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) dtable[tokens[i] * d + j] += dout[i * d + j];
}
static void backward_overwrite(float *dtable, const float *dout, const int *tokens, int n, int d) {
    float s = sqrtf((float)d);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) dtable[tokens[i] * d + j] = dout[i * d + j] * s;
}

// The backward against finite differences of the forward, on L = Σ w·out with
// token 3 used four times and token 4 never (its gradient row must be exactly 0).
// hint: this compares your backward with finite differences of your forward. If the
// forward test passes, the backward is off: the √d_model factor, += for repeated tokens,
// or the row (tokens[i]) it adds into.
static void test_embedding_gradient_check(void **state) {
    (void)state;
    EmbCtx *c = xcalloc(1, sizeof *c);
    make_ctx(c);
    float dtable[V * D] = {0};
    embedding_backward(dtable, c->w, c->tokens, N, V, D);
    GradCheck g = grad_check(emb_loss, c, c->table, dtable, V * D, V * D, 1e-2f);
    assert_grad_ok("embedding dtable", g, 1e-3f);
    // The unused token's row really is zero, and the check saw it.
    for (int j = 0; j < D; j++) assert_float_equal(dtable[4 * D + j], 0.0f, 0.0f);
    free(c);
}

// The same check must FAIL for each wrong gradient, or it proves nothing.
static void test_embedding_gradient_check_catches_wrong_backwards(void **state) {
    (void)state;
    EmbCtx *c = xcalloc(1, sizeof *c);
    make_ctx(c);
    float wrong[V * D];

    vec_zero(wrong, V * D);
    backward_without_scale(wrong, c->w, c->tokens, N, D);
    GradCheck g1 = grad_check(emb_loss, c, c->table, wrong, V * D, V * D, 1e-2f);
    print_message("  without √d_model: max rel err %.3f\n", (double)g1.max_rel_error);
    assert_true(g1.max_rel_error > 1e-3f);

    vec_zero(wrong, V * D);
    backward_overwrite(wrong, c->w, c->tokens, N, D);
    GradCheck g2 = grad_check(emb_loss, c, c->table, wrong, V * D, V * D, 1e-2f);
    print_message("  overwrite (=) instead of +=: max rel err %.3f\n", (double)g2.max_rel_error);
    assert_true(g2.max_rel_error > 1e-3f);

    // One entry with its sign flipped.
    vec_zero(wrong, V * D);
    embedding_backward(wrong, c->w, c->tokens, N, V, D);
    wrong[3 * D + 5] = -wrong[3 * D + 5];
    GradCheck g3 = grad_check(emb_loss, c, c->table, wrong, V * D, V * D, 1e-2f);
    print_message("  one sign flipped: max rel err %.3f at %ld\n", (double)g3.max_rel_error, g3.worst_index);
    assert_true(g3.max_rel_error > 1e-3f);
    assert_int_equal(g3.worst_index, 3 * D + 5);
    free(c);
}

// An id outside [0, V) is a programmer error: embedding_forward stops on an assert
// (SIGABRT) rather than reading another row or clamping. Run it in a child process.
static int dies_with_abort(int bad_token, int backward) {
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stderr)) _exit(3);  // keep the assert text quiet
        float table[2 * 4] = {0}, out[4] = {0};
        int tokens[1] = {bad_token};
        if (backward) embedding_backward(table, out, tokens, 1, 2, 4);
        else embedding_forward(out, tokens, table, 1, 2, 4);
        _exit(0);  // reached only if nothing stopped it
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void test_embedding_rejects_out_of_range_ids(void **state) {
    (void)state;
    assert_true(dies_with_abort(2, 0));   // V = 2: id 2 is one past the end
    assert_true(dies_with_abort(-1, 0));
    assert_true(dies_with_abort(7, 1));
    assert_false(dies_with_abort(1, 0));  // the last valid id is fine
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_embedding_forward_by_hand),
        cmocka_unit_test(test_embedding_backward_accumulates),
        cmocka_unit_test(test_embedding_gradient_check),
        cmocka_unit_test(test_embedding_gradient_check_catches_wrong_backwards),
        cmocka_unit_test(test_embedding_rejects_out_of_range_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
