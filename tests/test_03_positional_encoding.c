// test_03_positional_encoding.c: the sinusoidal positional encoding (§3.5).
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "positional.h"
#include "tensor.h"
#include "testutil.h"

// Position 0: every angle is 0, so sin = 0 and cos = 1: [0,1,0,1,...], exactly.
// hint: at pos = 0 every angle is 0 whatever i is; even columns hold the sine, odd
// columns the cosine. Are you writing both entries of every pair?
static void test_pe_position_zero(void **state) {
    (void)state;
    float pe[3 * 16];
    positional_encoding_table(pe, 3, 16);
    for (int j = 0; j < 16; j++) assert_float_equal(pe[j], (j % 2 ? 1.0f : 0.0f), 0.0f);
}

// d_model = 4 by hand: ω_0 = 1, ω_1 = 1/10000^(2/4) = 1/100.
// PE(1) = [sin 1, cos 1, sin 0.01, cos 0.01]; PE(2) = [sin 2, cos 2, sin 0.02, cos 0.02].
// hint: the exponent is 2i/d_model with i the PAIR index (0 .. d_model/2 - 1), not the
// hint: column index; columns 2i and 2i+1 share one angle. 2*i/d_model in int arithmetic
// hint: is 0 (every pair gets ω = 1): compute it in double. Huge values like -4e6: an
// hint: entry was never written (the loops must cover every pos < max_len, every pair).
static void test_pe_by_hand(void **state) {
    (void)state;
    float pe[3 * 4];
    positional_encoding_table(pe, 3, 4);
    const float expected[3 * 4] = {
        0.0f, 1.0f, 0.0f, 1.0f,
        0.84147098f, 0.54030231f, 0.0099998333f, 0.99995000f,
        0.90929743f, -0.41614684f, 0.019998667f, 0.99980001f,
    };
    assert_arrays_close("PE, d_model=4, by hand", pe, expected, 12, 1e-7f);
}

// Every entry against the formula evaluated in double, for a long table; every entry
// lies in [-1, 1].
// hint: compute the angle in double (pow, sin, cos) and convert to float only when you
// store it; row pos starts at pe + pos*d_model.
static void test_pe_matches_formula(void **state) {
    (void)state;
    enum { L = 500, D = 64 };
    float *pe = xmalloc(sizeof(float) * L * D), *ref = xmalloc(sizeof(float) * L * D);
    positional_encoding_table(pe, L, D);
    for (int pos = 0; pos < L; pos++)
        for (int i = 0; i < D / 2; i++) {
            double angle = pos / pow(10000.0, (2.0 * i) / D);
            ref[pos * D + 2 * i] = (float)sin(angle);
            ref[pos * D + 2 * i + 1] = (float)cos(angle);
        }
    assert_arrays_close("PE vs sin/cos in double", pe, ref, (long)L * D, 1e-6f);
    for (long k = 0; k < (long)L * D; k++) assert_true(pe[k] >= -1.0f && pe[k] <= 1.0f);
    free(pe), free(ref);
}

// §3.5: "for any fixed offset k, PE(pos+k) can be represented as a linear function of
// PE(pos)". The function is the block-diagonal matrix M_k, one 2×2 rotation per pair:
//   [PE(pos+k,2i)  ]   [ cos kω_i   sin kω_i ] [PE(pos,2i)  ]
//   [PE(pos+k,2i+1)] = [-sin kω_i   cos kω_i ] [PE(pos,2i+1)]
// (sin(a+b) = sin a cos b + cos a sin b; cos(a+b) = cos a cos b - sin a sin b).
// We write M_k out as a full d_model×d_model matrix, apply it to every row, compare.
enum { LIN_L = 128, LIN_D = 32 };

static void rotation_matrix(float *m, int k, int d) {
    memset(m, 0, sizeof(float) * d * d);
    for (int i = 0; i < d / 2; i++) {
        double w = pow(10000.0, -2.0 * i / d), c = cos(k * w), s = sin(k * w);
        m[(2 * i) * d + 2 * i] = (float)c;
        m[(2 * i) * d + 2 * i + 1] = (float)s;
        m[(2 * i + 1) * d + 2 * i] = (float)-s;
        m[(2 * i + 1) * d + 2 * i + 1] = (float)c;
    }
}

// Largest |M_k·PE(pos) - PE(pos+k)| over all pos with pos+k < LIN_L.
static float rotation_error(const float *pe, const float *m, int k) {
    float *moved = xcalloc(LIN_L * LIN_D, sizeof(float));
    // moved[pos,:] = M_k · PE(pos) as a column, i.e. PE(pos) row times M_kᵀ.
    matmul_nt(moved, pe, m, LIN_L, LIN_D, LIN_D);
    float err = max_abs_diff(moved, pe + (long)k * LIN_D, (long)(LIN_L - k) * LIN_D);
    free(moved);
    return err;
}

// hint: this holds only if each pair (2i, 2i+1) is (sin, cos) of the SAME angle pos·ω_i.
static void test_pe_relative_position_is_a_rotation(void **state) {
    (void)state;
    float *pe = xmalloc(sizeof(float) * LIN_L * LIN_D), *m = xmalloc(sizeof(float) * LIN_D * LIN_D);
    positional_encoding_table(pe, LIN_L, LIN_D);
    const int offsets[] = {1, 2, 5, 17, 60};
    for (int o = 0; o < 5; o++) {
        rotation_matrix(m, offsets[o], LIN_D);
        float err = rotation_error(pe, m, offsets[o]);
        print_message("  offset k=%-2d  max |M_k·PE(pos) - PE(pos+k)| = %.2e\n", offsets[o], (double)err);
        assert_true(err <= 1e-5f);
    }
    // Sensitivity: the transposed rotation (offset -k) or the wrong offset do not fit.
    rotation_matrix(m, -5, LIN_D);
    assert_true(rotation_error(pe, m, 5) > 0.1f);
    rotation_matrix(m, 4, LIN_D);
    assert_true(rotation_error(pe, m, 5) > 0.1f);
    free(pe), free(m);
}

// positional_add adds row t of the table to position t of every sequence, and only
// the first T rows are used.
static void test_positional_add(void **state) {
    (void)state;
    enum { B = 2, T = 3, D = 4, L = 10 };
    float pe[L * D], x[B * T * D];
    positional_encoding_table(pe, L, D);
    for (int k = 0; k < B * T * D; k++) x[k] = (float)k;
    positional_add(x, pe, B, T, D);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (int j = 0; j < D; j++) {
                int k = (b * T + t) * D + j;
                assert_float_equal(x[k], (float)k + pe[t * D + j], 0.0f);
            }
}

// An odd d_model has no sin/cos pairing: it is a programmer error, stopped by assert.
static void test_pe_odd_d_model_aborts(void **state) {
    (void)state;
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stderr)) _exit(3);
        float pe[4 * 5];
        positional_encoding_table(pe, 4, 5);
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pe_position_zero),
        cmocka_unit_test(test_pe_by_hand),
        cmocka_unit_test(test_pe_matches_formula),
        cmocka_unit_test(test_pe_relative_position_is_a_rotation),
        cmocka_unit_test(test_positional_add),
        cmocka_unit_test(test_pe_odd_d_model_aborts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
