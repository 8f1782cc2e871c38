// tensor.c: matrix products, softmax and elementwise helpers (see tensor.h).
//
// Speed notes, for the curious. Each product is written so the innermost loop walks
// contiguous memory, which lets the compiler turn it into SIMD instructions. Rows of C
// are shared out among OpenMP threads; every element of C is still summed by one
// thread in one fixed order, so results do not depend on the thread count. Without
// -fopenmp the pragmas are ignored and the code is plain serial C.
#include "tensor.h"

#include <math.h>
#include <string.h>

// Below this many multiply-adds, starting threads costs more than it saves.
#define PARALLEL_MIN_WORK (1L << 15)

void matmul_nn(float *c, const float *a, const float *b, int M, int K, int N) {
    long work = (long)M * K * N;
    #pragma omp parallel for if (work > PARALLEL_MIN_WORK) schedule(static)
    for (int i = 0; i < M; i++) {
        float *c_row = c + (long)i * N;
        const float *a_row = a + (long)i * K;
        // c_row += a[i,k] * b_row(k): each step adds a scaled row of B to the row of C.
        for (int k = 0; k < K; k++) {
            const float a_ik = a_row[k];
            const float *b_row = b + (long)k * N;
            #pragma omp simd
            for (int j = 0; j < N; j++) c_row[j] += a_ik * b_row[j];
        }
    }
}

void matmul_nt(float *c, const float *a, const float *b, int M, int K, int N) {
    long work = (long)M * K * N;
    #pragma omp parallel for if (work > PARALLEL_MIN_WORK) schedule(static)
    for (int i = 0; i < M; i++) {
        const float *a_row = a + (long)i * K;
        for (int j = 0; j < N; j++) {
            // c[i,j] += dot(a_row i, b_row j): both rows are contiguous.
            const float *b_row = b + (long)j * K;
            float sum = 0.0f;
            #pragma omp simd reduction(+ : sum)
            for (int k = 0; k < K; k++) sum += a_row[k] * b_row[k];
            c[(long)i * N + j] += sum;
        }
    }
}

void matmul_tn(float *c, const float *a, const float *b, int M, int K, int N) {
    long work = (long)M * K * N;
    #pragma omp parallel for if (work > PARALLEL_MIN_WORK) schedule(static)
    for (int i = 0; i < M; i++) {
        float *c_row = c + (long)i * N;
        // c_row i += a[k,i] * b_row(k), summed over k.
        for (int k = 0; k < K; k++) {
            const float a_ki = a[(long)k * M + i];
            const float *b_row = b + (long)k * N;
            #pragma omp simd
            for (int j = 0; j < N; j++) c_row[j] += a_ki * b_row[j];
        }
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
