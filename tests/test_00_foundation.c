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
// hint: C[i][j] = Σ_k A[i][k]·B[k][j], and A (M,K) row i starts at a + i*K, B (K,N) row
// hint: k at b + k*N. Work entry (0,0) by hand: 1·5 + 2·7 = 19.
static void test_matmul_nn_by_hand(void **state) {
    (void)state;
    float a[] = {1, 2, 3, 4}, b[] = {5, 6, 7, 8}, c[4] = {0};
    matmul_nn(c, a, b, 2, 2, 2);
    float expected[] = {19, 22, 43, 50};
    assert_arrays_close("A·B", c, expected, 4, 0.0f);
}

// A·Bᵀ = [[1*5+2*6, 1*7+2*8],[3*5+4*6, 3*7+4*8]] = [[17,23],[39,53]]; and it accumulates.
// hint: C starts at 1 here, so [[17,23],[39,53]] means "=" where the contract is "+=".
// hint: B is stored (N,K): element (k,j) of Bᵀ is b[j*K + k].
static void test_matmul_nt_accumulates(void **state) {
    (void)state;
    float a[] = {1, 2, 3, 4}, b[] = {5, 6, 7, 8}, c[4] = {1, 1, 1, 1};
    matmul_nt(c, a, b, 2, 2, 2);
    float expected[] = {18, 24, 40, 54};
    assert_arrays_close("C + A·Bᵀ", c, expected, 4, 0.0f);
}

// Aᵀ·B = [[1*5+3*7, 1*6+3*8],[2*5+4*7, 2*6+4*8]] = [[26,30],[38,44]].
// hint: A is stored (K,M): element (i,k) of Aᵀ is a[k*M + i]. [[19,22],[43,50]] is A·B:
// hint: the transpose was forgotten.
static void test_matmul_tn_by_hand(void **state) {
    (void)state;
    float a[] = {1, 2, 3, 4}, b[] = {5, 6, 7, 8}, c[4] = {0};
    matmul_tn(c, a, b, 2, 2, 2);
    float expected[] = {26, 30, 38, 44};
    assert_arrays_close("Aᵀ·B", c, expected, 4, 0.0f);
}

// The plain reference products on the same 2x2 values, worked by hand: A·B, C + A·Bᵀ
// (C starts at 1, so accumulation is checked too) and Aᵀ·B.
// hint: work entry (0,0) by hand for the product that fails. All zeros: the loop body
// never runs, or adds nothing. 17 instead of 18 in C + A·Bᵀ: you wrote = where the
// product must add (+=). Wrong numbers: for nt, b is stored (N,K), so Bᵀ[k][j] is
// b[j*K + k]; for tn, a is stored (K,M), so Aᵀ[i][k] is a[k*M + i].
static void test_plain_products_by_hand(void **state) {
    (void)state;
    float a[] = {1, 2, 3, 4}, b[] = {5, 6, 7, 8};
    float nn[4] = {0}, nt[4] = {1, 1, 1, 1}, tn[4] = {0};
    matmul_nn_plain(nn, a, b, 2, 2, 2);
    matmul_nt_plain(nt, a, b, 2, 2, 2);
    matmul_tn_plain(tn, a, b, 2, 2, 2);
    float expected_nn[] = {19, 22, 43, 50}, expected_nt[] = {18, 24, 40, 54};
    float expected_tn[] = {26, 30, 38, 44};
    assert_arrays_close("plain A·B", nn, expected_nn, 4, 0.0f);
    assert_arrays_close("plain C + A·Bᵀ", nt, expected_nt, 4, 0.0f);
    assert_arrays_close("plain Aᵀ·B", tn, expected_tn, 4, 0.0f);
}

// Plain and blocked products from the same random start C (both accumulate), for all
// three transposes, on one shape. Returns the largest difference seen, after asserting
// it is within float rounding for sums of K terms. A wrong blocked kernel (a missed edge
// row, a k-chunk summed twice) is off by whole products, of order 1, far above tol.
static float check_plain_against_blocked(int M, int K, int N) {
    Rng rng;
    rng_seed(&rng, (uint64_t)(M * 7919 + K * 104729 + N), 1);
    long mk = (long)M * K, kn = (long)K * N, mn = (long)M * N;
    float *a = xmalloc(sizeof(float) * mk), *at = xmalloc(sizeof(float) * mk);
    float *b = xmalloc(sizeof(float) * kn), *bt = xmalloc(sizeof(float) * kn);
    float *start = xmalloc(sizeof(float) * mn);
    float *plain = xmalloc(sizeof(float) * mn), *blocked = xmalloc(sizeof(float) * mn);
    for (long i = 0; i < mk; i++) a[i] = rng_normal(&rng);
    for (long i = 0; i < kn; i++) b[i] = rng_normal(&rng);
    for (long i = 0; i < mn; i++) start[i] = rng_normal(&rng);
    transpose(at, a, M, K);  // (K,M)
    transpose(bt, b, K, N);  // (N,K)
    float tol = 1e-6f * (float)(K + 1), worst = 0.0f;
    for (int product = 0; product < 3; product++) {
        vec_copy(plain, start, mn);
        vec_copy(blocked, start, mn);
        const char *name;
        if (product == 0) {
            name = "matmul_nn plain vs blocked";
            matmul_nn_plain(plain, a, b, M, K, N);
            matmul_nn_blocked(blocked, a, b, M, K, N);
        } else if (product == 1) {
            name = "matmul_nt plain vs blocked";
            matmul_nt_plain(plain, a, bt, M, K, N);
            matmul_nt_blocked(blocked, a, bt, M, K, N);
        } else {
            name = "matmul_tn plain vs blocked";
            matmul_tn_plain(plain, at, b, M, K, N);
            matmul_tn_blocked(blocked, at, b, M, K, N);
        }
        float diff = max_abs_diff(plain, blocked, mn);
        if (!(diff <= tol)) {  // quiet when it passes: 648 products are checked
            print_message("  %s: M=%d K=%d N=%d\n", name, M, K, N);
            assert_arrays_close(name, blocked, plain, mn, tol);
        }
        worst = diff > worst ? diff : worst;
    }
    free(a), free(at), free(b), free(bt), free(start), free(plain), free(blocked);
    return worst;
}

// Every shape from M, N and K each taken around the block sizes: 1, just under, at and
// just over 8 (rows) and 16 (columns), several blocks with a ragged edge, primes; K
// under, at and over one 256-long chunk and across three chunks. The bigger shapes also
// take the threaded path. Then the check itself: one entry of a correct product moved by
// a little more than the tolerance must be caught.
// hint: the blocked kernels are the reference here; yours must give the same sums on
// every shape, from a C that is NOT zero. Right on 2x2 but wrong here: an index that
// only works when M = K = N (a[i*M + k] instead of a[i*K + k]), a loop bound swapped
// (M for N), or = instead of +=. The message names the product and the shape.
static void test_plain_and_blocked_agree(void **state) {
    (void)state;
    static const int Ms[] = {1, 7, 8, 9, 17, 23}, Ns[] = {1, 15, 16, 17, 33, 47};
    static const int Ks[] = {1, 13, 255, 256, 257, 600};
    float worst = 0.0f;
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++)
            for (int k = 0; k < 6; k++) {
                float d = check_plain_against_blocked(Ms[i], Ks[k], Ns[j]);
                worst = d > worst ? d : worst;
            }
    print_message("  216 shapes x 3 products: largest |plain - blocked| %.2e\n", (double)worst);

    enum { M = 9, K = 257, N = 17 };
    float a[M * K], b[K * N], plain[M * N] = {0}, blocked[M * N] = {0};
    for (int i = 0; i < M * K; i++) a[i] = (float)(i % 7) - 3.0f;
    for (int i = 0; i < K * N; i++) b[i] = (float)(i % 5) - 2.0f;
    matmul_nn_plain(plain, a, b, M, K, N);
    matmul_nn_blocked(blocked, a, b, M, K, N);
    assert_memory_equal(plain, blocked, sizeof plain);  // small integers: exact in any order
    blocked[M * N - 1] += 2e-6f * (K + 1);  // the bottom-right edge entry, just off
    assert_true(max_abs_diff(plain, blocked, M * N) > 1e-6f * (K + 1));
}

// n floats drawn from a standard normal, in a new array.
static float *random_normals(Rng *rng, long n) {
    float *x = xmalloc(sizeof(float) * (size_t)n);
    for (long i = 0; i < n; i++) x[i] = rng_normal(rng);
    return x;
}

// A product of fewer rows than a block (decoding's one row per hypothesis) takes its own
// path in the blocked kernels (tensor.c, Speed notes), which promises the same order of
// additions as the blocks: so each of its rows must equal, bit for bit, the same row
// computed inside a product of 12 rows (whole blocks). Random floats, C not zero, K over
// several chunks, N with a ragged tile; matmul_nn and matmul_tn (the two that use it).
static void test_few_rows_match_blocks(void **state) {
    (void)state;
    enum { BIG = 12, K = 600, N = 300 };
    Rng rng;
    rng_seed(&rng, 7, 0);
    float *a = random_normals(&rng, BIG * K), *b = random_normals(&rng, K * N);
    float *c0 = random_normals(&rng, BIG * N), *at = xmalloc(sizeof(float) * K * BIG);
    float *big = xmalloc(sizeof(float) * BIG * N), *few = xmalloc(sizeof(float) * BIG * N);
    memcpy(big, c0, sizeof(float) * BIG * N);
    matmul_nn_blocked(big, a, b, BIG, K, N);  // the rows in whole blocks, once
    for (int M = 1; M <= 5; M++) {
        memcpy(few, c0, sizeof(float) * M * N);
        matmul_nn_blocked(few, a, b, M, K, N);
        assert_memory_equal(few, big, sizeof(float) * M * N);
        transpose(at, a, M, K);  // the first M rows of A, stored (K, M) for matmul_tn
        memcpy(few, c0, sizeof(float) * M * N);
        matmul_tn_blocked(few, at, b, M, K, N);
        assert_memory_equal(few, big, sizeof(float) * M * N);
    }
    free(a), free(at), free(b), free(c0), free(big), free(few);
}

// A block cut short by the bottom edge of C (1 to 5 rows left over, or 7 with AVX-512)
// has its own code in the blocked kernel (block_edge), promised to sum in the blocks'
// order: so the first M rows of a product of M rows must equal, bit for bit, the same
// rows inside a product of 16 rows, for all three products, with a ragged last column
// panel and k over several chunks.
static void test_edge_blocks_match_full_blocks(void **state) {
    (void)state;
    enum { BIG = 16, K = 600, N = 37 };
    Rng rng;
    rng_seed(&rng, 8, 0);
    float *a = random_normals(&rng, BIG * K), *b = random_normals(&rng, K * N);
    float *c0 = random_normals(&rng, BIG * N), *at = xmalloc(sizeof(float) * K * BIG);
    float *bt = xmalloc(sizeof(float) * N * K);
    float *big = xmalloc(sizeof(float) * BIG * N), *edge = xmalloc(sizeof(float) * BIG * N);
    transpose(bt, b, K, N);
    memcpy(big, c0, sizeof(float) * BIG * N);
    matmul_nn_blocked(big, a, b, BIG, K, N);  // the reference rows, once
    for (int M = 1; M < BIG; M++) {
        transpose(at, a, M, K);  // the first M rows of A, stored (K, M) for matmul_tn
        for (int product = 0; product < 3; product++) {
            memcpy(edge, c0, sizeof(float) * M * N);
            if (product == 0) matmul_nn_blocked(edge, a, b, M, K, N);
            if (product == 1) matmul_nt_blocked(edge, a, bt, M, K, N);
            if (product == 2) matmul_tn_blocked(edge, at, b, M, K, N);
            if (memcmp(edge, big, sizeof(float) * M * N) != 0)
                fail_msg("%s with M = %d: its rows differ from the same rows of M = %d",
                         (const char *[]){"matmul_nn", "matmul_nt", "matmul_tn"}[product], M, BIG);
        }
    }
    free(a), free(at), free(b), free(bt), free(c0), free(big), free(edge);
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
    enum { M = 256, K = 400, N = 200 };  // big enough to be shared by 2 threads
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
// hint: inf or NaN in the row [1000, 1000]: subtract the row's maximum before expf.
// NaN in the last row: an all -INFINITY row must become zeros (its max is -inf and
// -inf - (-inf) is NaN), so test for it before subtracting. Values unchanged: the
// rows are not written.
static void test_softmax_rows(void **state) {
    (void)state;
    float x[] = {0.0f, logf(3.0f), 1000.0f, 1000.0f, -INFINITY, -INFINITY};
    softmax_rows(x, 3, 2);
    float expected[] = {0.25f, 0.75f, 0.5f, 0.5f, 0.0f, 0.0f};
    assert_arrays_close("softmax rows", x, expected, 6, 1e-6f);
}

// Wider rows against the formula in double: 6 rows of 5, some entries masked with
// -INFINITY (the first, the last, all but one, all but the last, none), one row whose
// maximum (200) is its last entry, each row summing to 1, masked entries exactly 0, and
// the rows independent of each other.
// hint: a masked entry must come out exactly 0 and the others as if it were not there;
// only a row whose entries are ALL -INFINITY becomes zeros (look at the whole row's
// maximum, not at its first entry). Each row is normalised by its own sum. Zeros or NaN
// in the last two rows: the maximum must include the row's LAST entry.
static void test_softmax_rows_masked_and_wide(void **state) {
    (void)state;
    enum { ROWS = 6, COLS = 5 };
    const float ninf = -INFINITY;
    float x[ROWS * COLS] = {
        ninf, 1.0f, -2.0f, 0.5f, 3.0f,
        2.0f, 2.0f, -1.0f, 0.0f, ninf,
        ninf, ninf, 7.0f, ninf, ninf,
        -3.0f, 40.0f, 41.0f, -0.5f, 1.0f,
        ninf, ninf, ninf, ninf, 5.0f,
        0.0f, 1.0f, -1.0f, 2.0f, 200.0f,
    };
    float expected[ROWS * COLS];
    for (int r = 0; r < ROWS; r++) {
        const float *row = x + r * COLS;
        double max = -INFINITY, sum = 0;
        for (int j = 0; j < COLS; j++) max = row[j] > max ? row[j] : max;
        for (int j = 0; j < COLS; j++) sum += row[j] == ninf ? 0.0 : exp((double)row[j] - max);
        for (int j = 0; j < COLS; j++)
            expected[r * COLS + j] = row[j] == ninf ? 0.0f : (float)(exp((double)row[j] - max) / sum);
    }
    softmax_rows(x, ROWS, COLS);
    assert_arrays_close("softmax of 6 rows of 5, some masked", x, expected, ROWS * COLS, 1e-6f);
    for (int r = 0; r < ROWS; r++) {
        float sum = 0.0f;
        for (int j = 0; j < COLS; j++) sum += x[r * COLS + j];
        assert_float_equal(sum, 1.0f, 1e-6f);
    }
    assert_float_equal(x[0], 0.0f, 0.0f);
    assert_float_equal(x[2 * COLS + 2], 1.0f, 0.0f);
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

// rng_uniform_fill gives the same numbers as one rng_uniform per draw, for every length
// around its lanes, and leaves the Rng where those draws would.
static void test_rng_uniform_fill_matches_draws(void **state) {
    (void)state;
    enum { LONGEST = 41 };
    float filled[LONGEST];
    for (int n = 0; n <= LONGEST; n++) {
        Rng fill_rng, draw_rng;
        rng_seed(&fill_rng, 7, 3);
        rng_seed(&draw_rng, 7, 3);
        rng_uniform_fill(&fill_rng, filled, n);
        for (int i = 0; i < n; i++) assert_true(filled[i] == rng_uniform(&draw_rng));
        assert_int_equal(rng_u32(&fill_rng), rng_u32(&draw_rng));
    }
}

// A fill long enough to be shared among threads (each jumps to the start of its part)
// gives the same numbers as one thread drawing them one by one, on 1 and on 2 threads,
// and leaves the Rng where those draws would.
static void test_rng_long_fill_matches_draws(void **state) {
    (void)state;
    enum { N = 200003 };
    float *filled = xmalloc(sizeof(float) * N);
#ifdef _OPENMP
    int saved = omp_get_max_threads();
#endif
    for (int threads = 1; threads <= 2; threads++) {
#ifdef _OPENMP
        omp_set_num_threads(threads);
#endif
        Rng fill_rng, draw_rng;
        rng_seed(&fill_rng, 5, 9);
        rng_seed(&draw_rng, 5, 9);
        rng_uniform_fill(&fill_rng, filled, N);
        for (int i = 0; i < N; i++)
            if (filled[i] != rng_uniform(&draw_rng))
                fail_msg("draw %d of %d on %d threads differs from one-by-one drawing", i, N, threads);
        assert_int_equal(rng_u32(&fill_rng), rng_u32(&draw_rng));
    }
#ifdef _OPENMP
    omp_set_num_threads(saved);
#endif
    free(filled);
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

// The text helpers that line up tables and name bytes in messages (common.h): columns
// count a wide character (CJK, emoji) as 2 and a combining mark or zero-width space as 0;
// escape_bytes keeps UTF-8 text and writes other bytes as \xNN; escape_name also shows the
// characters that print as nothing by their code point.
static void test_text_columns_and_escapes(void **state) {
    (void)state;
    assert_int_equal(utf8_width("abc"), 3);
    assert_int_equal(utf8_width("\xc3\xa9t\xc3\xa9"), 3);                // été
    assert_int_equal(utf8_width("e\xcc\x81"), 1);                          // e + combining acute
    assert_int_equal(utf8_width("\xe6\x97\xa5\xe6\x9c\xac"), 4);            // 日本
    assert_int_equal(utf8_width("\xf0\x9f\x98\x80x"), 3);                   // an emoji, then x
    assert_int_equal(utf8_width("a\xe2\x80\x8b" "b"), 2);                   // a, zero-width space, b
    char out[64];
    assert_string_equal(escape_bytes(out, sizeof out, "a\x1b\xe9\\", 4), "a\\x1B\\xE9\\\\");
    assert_string_equal(escape_bytes(out, sizeof out, "je\xe2\x80\x8bsuis", 9), "je\xe2\x80\x8bsuis");
    assert_string_equal(escape_name(out, sizeof out, "je\xe2\x80\x8bsuis", 9), "je<U+200B>suis");
    assert_string_equal(escape_name(out, sizeof out, "\xef\xbb\xbfok", 5), "<U+FEFF>ok");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matmul_nn_by_hand),
        cmocka_unit_test(test_matmul_nt_accumulates),
        cmocka_unit_test(test_matmul_tn_by_hand),
        cmocka_unit_test(test_plain_products_by_hand),
        cmocka_unit_test(test_plain_and_blocked_agree),
        cmocka_unit_test(test_few_rows_match_blocks),
        cmocka_unit_test(test_edge_blocks_match_full_blocks),
        cmocka_unit_test(test_matmuls_match_naive_loops),
        cmocka_unit_test(test_matmul_same_bits_on_any_thread_count),
        cmocka_unit_test(test_softmax_rows),
        cmocka_unit_test(test_softmax_rows_masked_and_wide),
        cmocka_unit_test(test_rng_is_seeded_and_sane),
        cmocka_unit_test(test_rng_uniform_fill_matches_draws),
        cmocka_unit_test(test_rng_long_fill_matches_draws),
        cmocka_unit_test(test_atomic_write_and_read_back),
        cmocka_unit_test(test_text_columns_and_escapes),
    };
    return cmocka_run_group_tests_name("00 foundation", tests, NULL, NULL);
}
