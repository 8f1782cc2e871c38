// tensor.c: matrix products, softmax and elementwise helpers (see tensor.h).
//
// Speed notes, for the curious. All three products share one blocked kernel whose
// innermost loop walks contiguous memory, which lets the compiler turn it into SIMD
// instructions. Blocks of rows of C are shared out among OpenMP threads; every element
// of C is still summed by one thread in one fixed order, so results do not depend on the
// thread count. Without -fopenmp the pragmas are ignored and the code is plain serial C.
// `make bench` measures them (GFLOP/s) inside a whole training step.
#include "tensor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#ifdef _OPENMP
#include <omp.h>
#endif

// The products are computed a block of C at a time: BLOCK_ROWS x BLOCK_COLS sums live in
// a small local array the compiler keeps in vector registers while k runs, so each row
// of B loaded is used BLOCK_ROWS times before it leaves the register. The k loop is cut
// into chunks of BLOCK_K so the slice of B being reused stays in the L1/L2 cache.
// 8 x 16 was the fastest of the shapes tried on a 2-core AVX-512 machine (8 vector
// accumulators of 16 floats; the Makefile's -ffp-contract=fast lets each multiply-add be
// one fused instruction): about twice the speed of 4 x 32 without fused multiply-adds.
#define BLOCK_ROWS 8
#define BLOCK_COLS 16
#define BLOCK_K 256

// Where element (i,k) of the left operand lives: a[i*row_stride + k*col_stride].
// A plain (M,K) matrix has strides (K,1); a transposed one stored (K,M) has (1,M).
typedef struct {
    const float *data;
    long row_stride, col_stride;
} LeftOperand;

// c[i0..i0+8, j0..j0+16] += Σ_{k0<=k<k1} a[i,k] · b[k,j], a full block.
static void block_full(float *c, LeftOperand a, const float *b, int k0, int k1, int N, int i0,
                       int j0) {
    float sum[BLOCK_ROWS][BLOCK_COLS] = {{0}};
    for (int k = k0; k < k1; k++) {
        const float *b_row = b + (long)k * N + j0;
        for (int r = 0; r < BLOCK_ROWS; r++) {
            const float a_rk = a.data[(i0 + r) * a.row_stride + k * a.col_stride];
            #pragma omp simd
            for (int j = 0; j < BLOCK_COLS; j++) sum[r][j] += a_rk * b_row[j];
        }
    }
    for (int r = 0; r < BLOCK_ROWS; r++) {
        float *c_row = c + (long)(i0 + r) * N + j0;
        #pragma omp simd
        for (int j = 0; j < BLOCK_COLS; j++) c_row[j] += sum[r][j];
    }
}

// The same for a block cut short by the edge of C (rows < 8 or cols < 16).
static void block_edge(float *c, LeftOperand a, const float *b, int k0, int k1, int N, int i0,
                       int rows, int j0, int cols) {
    float sum[BLOCK_ROWS][BLOCK_COLS] = {{0}};
    for (int k = k0; k < k1; k++) {
        const float *b_row = b + (long)k * N + j0;
        for (int r = 0; r < rows; r++) {
            const float a_rk = a.data[(i0 + r) * a.row_stride + k * a.col_stride];
            #pragma omp simd
            for (int j = 0; j < cols; j++) sum[r][j] += a_rk * b_row[j];
        }
    }
    for (int r = 0; r < rows; r++) {
        float *c_row = c + (long)(i0 + r) * N + j0;
        for (int j = 0; j < cols; j++) c_row[j] += sum[r][j];
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
                if (rows == BLOCK_ROWS && cols == BLOCK_COLS) block_full(c, a, b, k0, k1, N, i0, j0);
                else block_edge(c, a, b, k0, k1, N, i0, rows, j0, cols);
            }
        }
    }
}

// C (M,N) += A·B. Big products are split among the OpenMP threads by contiguous ranges
// of row blocks, so no two threads ever add into the same element of C and each element
// is summed in the same order whatever the thread count. Small products (the per-head
// slices of attention) and products called from inside an already parallel loop run on
// the calling thread: entering a parallel region costs about a microsecond.
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

void matmul_nn(float *c, const float *a, const float *b, int M, int K, int N) {
    LeftOperand left = {a, K, 1};
    matmul_blocked(c, left, b, M, K, N);
}

void matmul_tn(float *c, const float *a, const float *b, int M, int K, int N) {
    LeftOperand left = {a, 1, M};  // A is stored (K,M): element (i,k) is a[k*M + i]
    matmul_blocked(c, left, b, M, K, N);
}

void matmul_nt(float *c, const float *a, const float *b, int M, int K, int N) {
    // Bᵀ's rows are B's columns, which are not contiguous: copy Bᵀ out once (N·K floats,
    // cheap next to the M·N·K multiply-adds) so the fast kernel can stream its rows.
    float *b_transposed = xmalloc(sizeof(float) * (size_t)K * (size_t)N);
    transpose(b_transposed, b, N, K);
    LeftOperand left = {a, K, 1};
    matmul_blocked(c, left, b_transposed, M, K, N);
    free(b_transposed);
}

void transpose(float *dst, const float *src, int rows, int cols) {
    // 32x32 tiles: the rows read and the rows written both stay in cache.
    for (int r0 = 0; r0 < rows; r0 += 32)
        for (int c0 = 0; c0 < cols; c0 += 32) {
            int r1 = r0 + 32 < rows ? r0 + 32 : rows, c1 = c0 + 32 < cols ? c0 + 32 : cols;
            for (int r = r0; r < r1; r++)
                for (int k = c0; k < c1; k++) dst[(long)k * rows + r] = src[(long)r * cols + k];
        }
}

void softmax_rows(float *x, int rows, int cols) {
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
}

void vec_zero(float *x, long n) { memset(x, 0, sizeof(float) * (size_t)n); }

void vec_copy(float *dst, const float *src, long n) { memcpy(dst, src, sizeof(float) * (size_t)n); }

void vec_add(float *dst, const float *src, long n) {
    for (long i = 0; i < n; i++) dst[i] += src[i];
}

void vec_scale(float *x, float s, long n) {
    for (long i = 0; i < n; i++) x[i] *= s;
}

void vec_add_bias_rows(float *x, const float *bias, int rows, int cols) {
    for (int r = 0; r < rows; r++) vec_add(x + (long)r * cols, bias, cols);
}

void vec_sum_rows(float *dbias, const float *dx, int rows, int cols) {
    for (int r = 0; r < rows; r++) vec_add(dbias, dx + (long)r * cols, cols);
}

float max_abs_diff(const float *a, const float *b, long n) {
    float worst = 0.0f;
    for (long i = 0; i < n; i++) {
        float d = fabsf(a[i] - b[i]);
        if (d > worst || isnan(d)) worst = isnan(d) ? INFINITY : d;
    }
    return worst;
}
