// test_00_foundation.c: the kernels under every lesson, checked on values worked by hand.
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "common.h"
#include "rng.h"
#include "tensor.h"
#include "testutil.h"

// A = [[1,2],[3,4]], B = [[5,6],[7,8]]: A·B = [[19,22],[43,50]].
static void test_matmul_nn_by_hand(void **state) {
    (void)state;
    float a[] = {1, 2, 3, 4}, b[] = {5, 6, 7, 8}, c[4] = {0};
    matmul_nn(c, a, b, 2, 2, 2);
    float expected[] = {19, 22, 43, 50};
    assert_arrays_close("A·B", c, expected, 4, 0.0f);
}

// A·Bᵀ = [[1*5+2*6, 1*7+2*8],[3*5+4*6, 3*7+4*8]] = [[17,23],[39,53]]; and it accumulates.
static void test_matmul_nt_accumulates(void **state) {
    (void)state;
    float a[] = {1, 2, 3, 4}, b[] = {5, 6, 7, 8}, c[4] = {1, 1, 1, 1};
    matmul_nt(c, a, b, 2, 2, 2);
    float expected[] = {18, 24, 40, 54};
    assert_arrays_close("C + A·Bᵀ", c, expected, 4, 0.0f);
}

// Aᵀ·B = [[1*5+3*7, 1*6+3*8],[2*5+4*7, 2*6+4*8]] = [[26,30],[38,44]].
static void test_matmul_tn_by_hand(void **state) {
    (void)state;
    float a[] = {1, 2, 3, 4}, b[] = {5, 6, 7, 8}, c[4] = {0};
    matmul_tn(c, a, b, 2, 2, 2);
    float expected[] = {26, 30, 38, 44};
    assert_arrays_close("Aᵀ·B", c, expected, 4, 0.0f);
}

// The three products agree with a naive triple loop (summed in double) on one shape.
static void check_products_against_naive(int M, int K, int N) {
    Rng rng;
    rng_seed(&rng, (uint64_t)(M * 1000003 + K * 1009 + N), 0);
    float *a = xmalloc(sizeof(float) * M * K), *b = xmalloc(sizeof(float) * K * N);
    float *bt = xmalloc(sizeof(float) * N * K), *at = xmalloc(sizeof(float) * K * M);
    float *c = xcalloc((size_t)M * N, sizeof(float)), *ref = xcalloc((size_t)M * N, sizeof(float));
    for (int i = 0; i < M * K; i++) a[i] = rng_normal(&rng);
    for (int i = 0; i < K * N; i++) b[i] = rng_normal(&rng);
    for (int i = 0; i < M; i++)
        for (int k = 0; k < K; k++) at[k * M + i] = a[i * K + k];
    float *bt_fast = xmalloc(sizeof(float) * N * K);
    transpose(bt_fast, b, K, N);
    for (int k = 0; k < K; k++)
        for (int j = 0; j < N; j++) bt[j * K + k] = b[k * N + j];
    assert_arrays_close("transpose", bt_fast, bt, (long)N * K, 0.0f);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < K; k++) s += (double)a[i * K + k] * b[k * N + j];
            ref[i * N + j] = (float)s;
        }
    float tol = 2e-6f * (float)K;  // float rounding grows with the length of each sum
    matmul_nn(c, a, b, M, K, N);
    assert_arrays_close("matmul_nn vs naive", c, ref, (long)M * N, tol);
    vec_zero(c, (long)M * N);
    matmul_nt(c, a, bt, M, K, N);
    assert_arrays_close("matmul_nt vs naive", c, ref, (long)M * N, tol);
    vec_zero(c, (long)M * N);
    matmul_tn(c, at, b, M, K, N);
    assert_arrays_close("matmul_tn vs naive", c, ref, (long)M * N, tol);
    free(a), free(b), free(at), free(bt), free(bt_fast), free(c), free(ref);
}

// Shapes chosen to hit every path of the blocked kernel: whole 8x16 blocks, ragged
// edges in rows and columns, k cut into several 256-long chunks, and the threaded path.
static void test_matmuls_match_naive_loops(void **state) {
    (void)state;
    check_products_against_naive(37, 53, 41);
    check_products_against_naive(64, 600, 96);
    check_products_against_naive(3, 5, 2);
    check_products_against_naive(1, 300, 1);
}

// Each element of C is summed by one thread in one fixed order, so one thread and two
// threads give bit-for-bit the same product (the promise behind "same seed and thread
// count give the same numbers", made stronger).
static void test_matmul_same_bits_on_any_thread_count(void **state) {
    (void)state;
#ifdef _OPENMP
    enum { M = 96, K = 300, N = 80 };
    Rng rng;
    rng_seed(&rng, 11, 0);
    float *a = xmalloc(sizeof(float) * M * K), *b = xmalloc(sizeof(float) * K * N);
    float *one = xcalloc(M * N, sizeof(float)), *two = xcalloc(M * N, sizeof(float));
    for (int i = 0; i < M * K; i++) a[i] = rng_normal(&rng);
    for (int i = 0; i < K * N; i++) b[i] = rng_normal(&rng);
    int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    matmul_nn(one, a, b, M, K, N);
    omp_set_num_threads(2);
    matmul_nn(two, a, b, M, K, N);
    omp_set_num_threads(saved);
    assert_memory_equal(one, two, sizeof(float) * M * N);
    free(a), free(b), free(one), free(two);
#else
    skip();
#endif
}

// softmax([0, ln 3]) = [1/4, 3/4]; a huge row does not overflow; a fully masked row is 0.
static void test_softmax_rows(void **state) {
    (void)state;
    float x[] = {0.0f, logf(3.0f), 1000.0f, 1000.0f, -INFINITY, -INFINITY};
    softmax_rows(x, 3, 2);
    float expected[] = {0.25f, 0.75f, 0.5f, 0.5f, 0.0f, 0.0f};
    assert_arrays_close("softmax rows", x, expected, 6, 1e-6f);
}

// The same seed gives the same stream; another seed another; uniforms land in [0,1)
// with mean near 1/2; normals have mean near 0 and variance near 1.
static void test_rng_is_seeded_and_sane(void **state) {
    (void)state;
    Rng a, b, c;
    rng_seed(&a, 42, 0);
    rng_seed(&b, 42, 0);
    rng_seed(&c, 43, 0);
    int same = 0;
    for (int i = 0; i < 100; i++) {
        uint32_t x = rng_u32(&a), y = rng_u32(&b), z = rng_u32(&c);
        assert_int_equal(x, y);
        same += x == z;
    }
    assert_true(same < 3);
    double sum = 0, sum_n = 0, sum_n2 = 0;
    enum { DRAWS = 100000 };
    for (int i = 0; i < DRAWS; i++) {
        float u = rng_uniform(&a);
        assert_true(u >= 0.0f && u < 1.0f);
        sum += u;
        float n = rng_normal(&a);
        sum_n += n;
        sum_n2 += (double)n * n;
    }
    assert_true(fabs(sum / DRAWS - 0.5) < 0.01);
    assert_true(fabs(sum_n / DRAWS) < 0.02);
    assert_true(fabs(sum_n2 / DRAWS - 1.0) < 0.02);
    int counts[3] = {0};
    for (int i = 0; i < 30000; i++) counts[rng_below(&a, 3)]++;
    for (int i = 0; i < 3; i++) assert_true(abs(counts[i] - 10000) < 500);
}

// An atomic write replaces the file whole; reading it back gives the same bytes; a
// missing file is an error message naming the path, not a crash.
static void test_atomic_write_and_read_back(void **state) {
    (void)state;
    char path[] = "/tmp/transformer-test-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    ErrorMessage err = {0};
    assert_true(write_file_atomic(path, "hello", 5, &err));
    assert_true(write_file_atomic(path, "bye", 3, &err));
    size_t len = 0;
    char *text = read_whole_file(path, &len, &err);
    assert_non_null(text);
    assert_int_equal(len, 3);
    assert_string_equal(text, "bye");
    free(text);
    remove(path);
    assert_null(read_whole_file("/nonexistent/file.txt", &len, &err));
    assert_non_null(strstr(err.text, "/nonexistent/file.txt"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matmul_nn_by_hand),
        cmocka_unit_test(test_matmul_nt_accumulates),
        cmocka_unit_test(test_matmul_tn_by_hand),
        cmocka_unit_test(test_matmuls_match_naive_loops),
        cmocka_unit_test(test_matmul_same_bits_on_any_thread_count),
        cmocka_unit_test(test_softmax_rows),
        cmocka_unit_test(test_rng_is_seeded_and_sane),
        cmocka_unit_test(test_atomic_write_and_read_back),
    };
    return cmocka_run_group_tests_name("00 foundation", tests, NULL, NULL);
}
