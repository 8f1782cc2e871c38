// tensor.c: matrix products, softmax and elementwise helpers (see tensor.h).
//
// Read the plain products first: they are the definitions. The blocked ones further
// down (under "Speed notes") compute the same sums faster and can be skipped on a first
// reading.
#include "tensor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#ifdef _OPENMP
#include <omp.h>
#endif

// ============================================================================
// The matrix products, plain: three loops each, straight from the formula
// ============================================================================

// C (M,N) += A (M,K) · B (K,N). The loop order i, k, j (rather than i, j, k) walks B and
// C along their rows, which is what memory likes; the sums are the same.
void matmul_nn_plain(float *c, const float *a, const float *b, int M, int K, int N) {
    // EXERCISE 00 matmul-nn: C += A·B with three plain loops
    // TODO: a is (M,K), b is (K,N), c is (M,N), all row-major: entry (i,k) of a is
    // TODO: a[i*K + k], entry (k,j) of b is b[k*N + j], entry (i,j) of c is c[i*N + j].
    // TODO: ADD Σ_k A[i][k]·B[k][j] into every c[i][j] (+=, never =: callers accumulate
    // TODO: gradients into C, see the page). Any loop order gives the right sums; i, k, j
    // TODO: walks b and c along their rows, which memory likes. Index with long: M·N can
    // TODO: pass 2^31 in a big model.
    // STUB: (void)c; (void)a; (void)b; (void)M; (void)K; (void)N;
    // SOLUTION
    for (int i = 0; i < M; i++)
        for (int k = 0; k < K; k++) {
            float a_ik = a[(long)i * K + k];
            for (int j = 0; j < N; j++) c[(long)i * N + j] += a_ik * b[(long)k * N + j];
        }
    // END EXERCISE
}

// C (M,N) += A (M,K) · B(N,K)ᵀ: entry (i,j) is the dot product of row i of A and row j
// of B, both contiguous.
void matmul_nt_plain(float *c, const float *a, const float *b, int M, int K, int N) {
    // EXERCISE 00 matmul-nt: C += A·Bᵀ, with B stored (N,K)
    // TODO: a is (M,K), b is (N,K) (NOT (K,N): the product uses its transpose), c is (M,N).
    // TODO: Bᵀ[k][j] is b[j*K + k], so c[i][j] gets the dot product of row i of a and
    // TODO: row j of b, both contiguous: ADD Σ_k a[i*K + k]·b[j*K + k] into c[i*N + j]
    // TODO: (+=: C may already hold something). Index with long.
    // STUB: (void)c; (void)a; (void)b; (void)M; (void)K; (void)N;
    // SOLUTION
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float sum = 0.0f;
            for (int k = 0; k < K; k++) sum += a[(long)i * K + k] * b[(long)j * K + k];
            c[(long)i * N + j] += sum;
        }
    // END EXERCISE
}

// C (M,N) += A(K,M)ᵀ · B (K,N): row k of A and row k of B together add the outer
// product A[k][:] ⊗ B[k][:] into C.
void matmul_tn_plain(float *c, const float *a, const float *b, int M, int K, int N) {
    // EXERCISE 00 matmul-tn: C += Aᵀ·B, with A stored (K,M)
    // TODO: a is (K,M) (NOT (M,K): the product uses its transpose), b is (K,N), c is (M,N).
    // TODO: Aᵀ[i][k] is a[k*M + i], so ADD Σ_k a[k*M + i]·b[k*N + j] into c[i*N + j]
    // TODO: (+=). With k as the outer loop, row k of a and row k of b together add one
    // TODO: outer product into C, and every array is read along its rows. Index with long.
    // STUB: (void)c; (void)a; (void)b; (void)M; (void)K; (void)N;
    // SOLUTION
    for (int k = 0; k < K; k++)
        for (int i = 0; i < M; i++) {
            float a_ki = a[(long)k * M + i];
            for (int j = 0; j < N; j++) c[(long)i * N + j] += a_ki * b[(long)k * N + j];
        }
    // END EXERCISE
}

// ============================================================================
// Speed notes: the blocked products (skip on a first reading)
// ============================================================================
//
// The plain loops above move much more data than they compute with: for every
// multiply-add, matmul_nn_plain loads an element of B and loads and stores one of C, and
// matmul_nt_plain's dot product is one long chain of dependent additions. The
// blocked kernel below computes C a block of BLOCK_ROWS x BLOCK_COLS = 8 x 16 entries at
// a time. Those 128 sums live in a small local array that the compiler keeps in vector
// registers (8 registers of 16 floats with AVX-512) while k runs, so each row of B that
// is loaded is used 8 times, by 8 rows of A, before it leaves the register, and C is
// read and written once per block instead of once per k. The innermost loop walks 16
// contiguous floats, which the compiler turns into one SIMD fused multiply-add (the
// Makefile's -ffp-contract=fast allows the fusion). 8 x 16 was the fastest of the shapes
// tried on a 2-core AVX-512 machine: about twice the speed of 4 x 32 without fused
// multiply-adds.
//
// The k loop is cut into chunks of BLOCK_K = 256: a chunk of B (256 rows of the block's
// 16 columns, 16 KB) stays in the L1/L2 cache while every row block of C that needs it
// passes over it. Blocks at the right and bottom edges of C, where fewer than 8 rows or
// 16 columns are left, take a slower general path (block_edge).
//
// Blocks of rows of C are shared out among OpenMP threads; every element of C is still
// summed by one thread in one fixed order, so results do not depend on the thread count.
// Without -fopenmp the pragmas are ignored and the code is plain serial C. The order of
// the additions differs from the plain loops (each chunk of k is summed apart, then added
// to C), so the two agree to float rounding, not bit for bit. `make bench` measures the
// kernel (GFLOP/s) inside a whole training step.
#define BLOCK_ROWS 8
#define BLOCK_COLS 16
#define BLOCK_K 256

// Where element (i,k) of the left operand lives: a[i*row_stride + k*col_stride].
// A plain (M,K) matrix has strides (K,1); a transposed one stored (K,M) has (1,M).
typedef struct {
    const float *data;
    long row_stride, col_stride;
} LeftOperand;

// One block of C and one chunk of k: rows [i0, i0+rows) and columns [j0, j0+cols) of C
// (N columns in all) get Σ_{k0 <= k < k1} A[i][k] · B[k][j] added.
typedef struct {
    int i0, rows;  // first row of the block and how many (at most BLOCK_ROWS)
    int j0, cols;  // first column and how many (at most BLOCK_COLS)
    int k0, k1;    // the chunk of the sum over k
    int N;         // columns of B and C (their row stride)
} Block;

// c[i0..i0+8, j0..j0+16] += Σ_{k0<=k<k1} a[i,k] · b[k,j], a full 8 x 16 block: the loop
// bounds are constants, so the compiler unrolls them into vector registers. a (M,K)
// through its strides, b (K,N), c (M,N).
static void block_full(float *c, LeftOperand a, const float *b, Block blk) {
    float sum[BLOCK_ROWS][BLOCK_COLS] = {{0}};
    for (int k = blk.k0; k < blk.k1; k++) {
        const float *b_row = b + (long)k * blk.N + blk.j0;
        for (int r = 0; r < BLOCK_ROWS; r++) {
            const float a_rk = a.data[(blk.i0 + r) * a.row_stride + k * a.col_stride];
            #pragma omp simd
            for (int j = 0; j < BLOCK_COLS; j++) sum[r][j] += a_rk * b_row[j];
        }
    }
    for (int r = 0; r < BLOCK_ROWS; r++) {
        float *c_row = c + (long)(blk.i0 + r) * blk.N + blk.j0;
        #pragma omp simd
        for (int j = 0; j < BLOCK_COLS; j++) c_row[j] += sum[r][j];
    }
}

// The same for a block cut short by the edge of C (blk.rows < 8 or blk.cols < 16).
static void block_edge(float *c, LeftOperand a, const float *b, Block blk) {
    float sum[BLOCK_ROWS][BLOCK_COLS] = {{0}};
    for (int k = blk.k0; k < blk.k1; k++) {
        const float *b_row = b + (long)k * blk.N + blk.j0;
        for (int r = 0; r < blk.rows; r++) {
            const float a_rk = a.data[(blk.i0 + r) * a.row_stride + k * a.col_stride];
            #pragma omp simd
            for (int j = 0; j < blk.cols; j++) sum[r][j] += a_rk * b_row[j];
        }
    }
    for (int r = 0; r < blk.rows; r++) {
        float *c_row = c + (long)(blk.i0 + r) * blk.N + blk.j0;
        for (int j = 0; j < blk.cols; j++) c_row[j] += sum[r][j];
    }
}

// Rows blocks [first, last) of C (M,N) += A·B, with A read through its strides and B
// (K,N) row-major. k is cut into chunks so the slice of B being reused stays in cache.
static void multiply_row_blocks(float *c, LeftOperand a, const float *b, int M, int K, int N,
                                int first, int last) {
    for (int k0 = 0; k0 < K; k0 += BLOCK_K) {
        int k1 = K - k0 < BLOCK_K ? K : k0 + BLOCK_K;
        for (int j0 = 0; j0 < N; j0 += BLOCK_COLS) {
            int cols = N - j0 < BLOCK_COLS ? N - j0 : BLOCK_COLS;
            for (int ib = first; ib < last; ib++) {
                int i0 = ib * BLOCK_ROWS, rows = M - i0 < BLOCK_ROWS ? M - i0 : BLOCK_ROWS;
                Block blk = {.i0 = i0, .rows = rows, .j0 = j0, .cols = cols, .k0 = k0, .k1 = k1, .N = N};
                if (rows == BLOCK_ROWS && cols == BLOCK_COLS) block_full(c, a, b, blk);
                else block_edge(c, a, b, blk);
            }
        }
    }
}

// C (M,N) += A·B, A (M,K) through its strides, B (K,N). Big products are split among the
// OpenMP threads by contiguous ranges of row blocks, so no two threads ever add into the
// same element of C and each element is summed in the same order whatever the thread
// count. Small products (the per-head slices of attention) and products called from
// inside an already parallel loop run on the calling thread: entering a parallel region
// costs about a microsecond.
static void matmul_blocked(float *c, LeftOperand a, const float *b, int M, int K, int N) {
    int row_blocks = (M + BLOCK_ROWS - 1) / BLOCK_ROWS;
#ifdef _OPENMP
    if ((long)M * K * N > PARALLEL_MIN_WORK && !omp_in_parallel() && omp_get_max_threads() > 1) {
        #pragma omp parallel
        {
            int t = omp_get_thread_num(), n = omp_get_num_threads();
            multiply_row_blocks(c, a, b, M, K, N, row_blocks * t / n, row_blocks * (t + 1) / n);
        }
        return;
    }
#endif
    multiply_row_blocks(c, a, b, M, K, N, 0, row_blocks);
}

// C (M,N) += A (M,K) · B (K,N), blocked.
void matmul_nn_blocked(float *c, const float *a, const float *b, int M, int K, int N) {
    LeftOperand left = {a, K, 1};
    matmul_blocked(c, left, b, M, K, N);
}

// C (M,N) += A(K,M)ᵀ · B (K,N), blocked: the kernel reads A through transposed strides.
void matmul_tn_blocked(float *c, const float *a, const float *b, int M, int K, int N) {
    LeftOperand left = {a, 1, M};  // A is stored (K,M): element (i,k) is a[k*M + i]
    matmul_blocked(c, left, b, M, K, N);
}

// C (M,N) += A (M,K) · B(N,K)ᵀ, blocked. Bᵀ's rows are B's columns, which are not
// contiguous: copy Bᵀ out once (N·K floats, cheap next to the M·N·K multiply-adds) so the
// kernel can stream its rows.
void matmul_nt_blocked(float *c, const float *a, const float *b, int M, int K, int N) {
    float *b_transposed = xmalloc(sizeof(float) * (size_t)K * (size_t)N);
    transpose(b_transposed, b, N, K);
    LeftOperand left = {a, K, 1};
    matmul_blocked(c, left, b_transposed, M, K, N);
    free(b_transposed);
}

// ============================================================================
// The products the layers call: blocked, or plain in a PLAIN_KERNELS build
// ============================================================================

// MATMUL(nn) is matmul_nn_blocked, or matmul_nn_plain in a PLAIN_KERNELS build.
#ifdef PLAIN_KERNELS
#define MATMUL(transposes) matmul_##transposes##_plain
#else
#define MATMUL(transposes) matmul_##transposes##_blocked
#endif

// C (M,N) += A (M,K) · B (K,N)
void matmul_nn(float *c, const float *a, const float *b, int M, int K, int N) { MATMUL(nn)(c, a, b, M, K, N); }
// C (M,N) += A (M,K) · B(N,K)ᵀ
void matmul_nt(float *c, const float *a, const float *b, int M, int K, int N) { MATMUL(nt)(c, a, b, M, K, N); }
// C (M,N) += A(K,M)ᵀ · B (K,N)
void matmul_tn(float *c, const float *a, const float *b, int M, int K, int N) { MATMUL(tn)(c, a, b, M, K, N); }

// ============================================================================
// Transpose, softmax, elementwise helpers
// ============================================================================

// dst (cols,rows) = src (rows,cols)ᵀ, in 32x32 tiles so that the rows read and the rows
// written both stay in cache.
void transpose(float *dst, const float *src, int rows, int cols) {
    for (int r0 = 0; r0 < rows; r0 += 32)
        for (int c0 = 0; c0 < cols; c0 += 32) {
            int r1 = r0 + 32 < rows ? r0 + 32 : rows, c1 = c0 + 32 < cols ? c0 + 32 : cols;
            for (int r = r0; r < r1; r++)
                for (int k = c0; k < c1; k++) dst[(long)k * rows + r] = src[(long)r * cols + k];
        }
}

// Row-wise softmax in place, max subtracted first; an all -INFINITY row becomes zeros.
void softmax_rows(float *x, int rows, int cols) {
    // EXERCISE 00 softmax-rows: each row of x becomes its softmax, in place
    // TODO: x is (rows, cols), row-major; row r starts at x + r*cols. For every row:
    // TODO:   softmax(x)_j = exp(x_j - m) / Σ_l exp(x_l - m),  m = max_l x_l
    // TODO: (the same as without m, but exp never overflows: exp(1000) is inf in float).
    // TODO: Entries may be -INFINITY (masked, lesson 04): exp(-inf - m) = 0, so they get
    // TODO: probability 0. A row that is ALL -INFINITY has no distribution: write zeros
    // TODO: there (its m is -inf, and -inf - -inf is NaN). Use expf, and float sums.
    // STUB: (void)x; (void)rows; (void)cols;
    // SOLUTION
    for (int r = 0; r < rows; r++) {
        float *row = x + (long)r * cols;
        float max = -INFINITY;
        for (int j = 0; j < cols; j++) max = row[j] > max ? row[j] : max;
        if (max == -INFINITY) {  // every entry masked: no distribution, so zeros
            memset(row, 0, sizeof(float) * (size_t)cols);
            continue;
        }
        float sum = 0.0f;
        for (int j = 0; j < cols; j++) {
            row[j] = expf(row[j] - max);  // exp(-inf) = 0 for masked entries
            sum += row[j];
        }
        float inv = 1.0f / sum;
        for (int j = 0; j < cols; j++) row[j] *= inv;
    }
    // END EXERCISE
}

// x (n) = 0.
void vec_zero(float *x, long n) { memset(x, 0, sizeof(float) * (size_t)n); }

// dst (n) = src (n).
void vec_copy(float *dst, const float *src, long n) { memcpy(dst, src, sizeof(float) * (size_t)n); }

// dst (n) += src (n).
void vec_add(float *dst, const float *src, long n) {
    for (long i = 0; i < n; i++) dst[i] += src[i];
}

// x (n) *= s.
void vec_scale(float *x, float s, long n) {
    for (long i = 0; i < n; i++) x[i] *= s;
}

// x (rows,cols): bias (cols) added to every row.
void vec_add_bias_rows(float *x, const float *bias, int rows, int cols) {
    for (int r = 0; r < rows; r++) vec_add(x + (long)r * cols, bias, cols);
}

// dbias (cols) += the sum of the rows of dx (rows,cols): the backward of vec_add_bias_rows.
void vec_sum_rows(float *dbias, const float *dx, int rows, int cols) {
    for (int r = 0; r < rows; r++) vec_add(dbias, dx + (long)r * cols, cols);
}

// max_i |a[i] - b[i]| over n floats; INFINITY if any difference is NaN.
float max_abs_diff(const float *a, const float *b, long n) {
    float worst = 0.0f;
    for (long i = 0; i < n; i++) {
        float d = fabsf(a[i] - b[i]);
        if (d > worst || isnan(d)) worst = isnan(d) ? INFINITY : d;
    }
    return worst;
}
