// tensor.h: the numeric kernels every layer is built from. Matrices are row-major
// float arrays; a matrix "(M,K)" has M rows of K contiguous floats.
//
// The three matrix products below are the hot loops of the whole project: a forward
// pass needs A·B (x times a weight) and A·Bᵀ (queries times keys); a backward pass
// needs Aᵀ·B (the weight gradient). All three ACCUMULATE into C (C += ...), because
// gradients add up over the uses of a value; a forward caller zeroes C (or fills it
// with a bias) first.
#ifndef TENSOR_H
#define TENSOR_H

#include <stdbool.h>

// Threads that behave. A parallel loop runs on threads_for_work(work) OpenMP threads,
// where work counts multiply-adds (a row-wise pass such as a LayerNorm, a softmax, the
// loss or Adam counts ELEMENT_WORK per element): each thread gets at least
// PARALLEL_MIN_WORK of it, and smaller loops run on the calling thread alone. The
// programs let a waiting thread spin for about 0.1 ms before it sleeps (common.h:
// threads_wait_briefly), so a parallel loop costs 1-2 µs to start and finish on an idle
// machine; PARALLEL_MIN_WORK multiply-adds take about 28 µs on one core. A quarter of it
// trained as fast but made one attention head at T = 128 slower on 2 threads than on 1
// (lesson 04's --scaling): each thread's few row blocks then cost more in packing and
// waiting than they save. (A passive wait costs 50-70 µs a loop on a 2-core VM: with it
// the threshold had to be 8 times this, and the toy model ran on one thread, 33k tokens/s
// against 44-56k now on 2; make bench.) When another program takes a core, sharing loses
// whatever the threshold, and the training step's ThreadChooser (threads.h) falls back to
// one thread.
// Threading never changes a result: each number is computed by one thread in a fixed
// order whatever the thread count.
#define PARALLEL_MIN_WORK 1048576L
// One element of a row-wise pass, in multiply-adds: a LayerNorm or loss element took
// about 1-2.5 ns on one core, where the blocked products do 30-40 multiply-adds a ns,
// so 30-100. At 32 the toy model's LayerNorm (512 rows of 64) stayed on one thread and
// took 48-66 µs forward, 38-46 µs backward; on 2 threads it takes 25-33 and 22-30.
#define ELEMENT_WORK 64L

// How many OpenMP threads a loop of `work` multiply-adds should share: work /
// PARALLEL_MIN_WORK, at most omp_get_max_threads(); 1 for less than twice
// PARALLEL_MIN_WORK, inside a loop that is already parallel (threads_nested), or
// without OpenMP.
int threads_for_work(long work);

// Whether a loop started here would be nested inside a parallel loop, and so runs on
// the calling thread alone: true inside any parallel loop, except that a shard of a
// training step (shards.h) sets its thread's base level to 1 (threads_set_base_level),
// so that the shard's own loops may still share the shard's threads. Always false
// without OpenMP.
bool threads_nested(void);
void threads_set_base_level(int level);

// The same for a loop of `iterations` independent iterations that together do `work`
// multiply-adds: never more threads than iterations, and a loop of one iteration (one
// attention slice) stays on this thread, so that the products inside it can share
// their row blocks among the threads instead.
int threads_for_loop(long iterations, long work);

// ---- the matrix products: read the plain versions first ---------------------------
// Each product exists twice. The *_plain version is the definition, three loops a
// student can check against the formula; read it first. The *_blocked version computes
// the same sums, cut into register-sized blocks so that it runs faster (see "Speed
// notes" in tensor.c; `make bench` measures it); the tests check that the two agree on every shape
// that reaches a block edge. matmul_nn / matmul_nt / matmul_tn, the names every layer
// calls, are the blocked versions, or the plain ones in a build with PLAIN_KERNELS
// defined (`make clean && make PLAIN_KERNELS=1`), the way clox keeps NaN boxing behind a
// switch. That build is slower and gives the same results to float rounding, not bit for
// bit (the blocked kernels add each sum in another order).
// Shapes: A, B, C row-major, M, K, N >= 0; C must not overlap A or B. No errors.

// C (M,N) += A (M,K) · B (K,N):  C[i][j] += Σ_k A[i][k] · B[k][j]. Plain reference.
void matmul_nn_plain(float *c, const float *a, const float *b, int M, int K, int N);

// C (M,N) += A (M,K) · B(N,K)ᵀ:  C[i][j] += Σ_k A[i][k] · B[j][k]   (B is stored with N
// rows of K, e.g. keys in q·kᵀ). Plain reference.
void matmul_nt_plain(float *c, const float *a, const float *b, int M, int K, int N);

// C (M,N) += A(K,M)ᵀ · B (K,N):  C[i][j] += Σ_k A[k][i] · B[k][j]   (A is stored with K
// rows of M, e.g. xᵀ·dy for a weight gradient). Plain reference.
void matmul_tn_plain(float *c, const float *a, const float *b, int M, int K, int N);

// The same three products, register-blocked and (for big products) shared among OpenMP
// threads; each element of C is still summed in one fixed order, so the result does not
// depend on the thread count. Same arguments and shapes as the plain versions.
void matmul_nn_blocked(float *c, const float *a, const float *b, int M, int K, int N);
void matmul_nt_blocked(float *c, const float *a, const float *b, int M, int K, int N);
void matmul_tn_blocked(float *c, const float *a, const float *b, int M, int K, int N);

// What the layers call: the blocked products, or the plain ones with PLAIN_KERNELS.
void matmul_nn(float *c, const float *a, const float *b, int M, int K, int N);
void matmul_nt(float *c, const float *a, const float *b, int M, int K, int N);
void matmul_tn(float *c, const float *a, const float *b, int M, int K, int N);

// dst (cols,rows) = src (rows,cols)ᵀ. dst and src must not overlap.
void transpose(float *dst, const float *src, int rows, int cols);

// Softmax of each row of x (rows,cols), in place, numerically stable: the row maximum
// is subtracted before exp so nothing overflows. A row whose entries are all -INFINITY
// (every position masked) becomes all zeros rather than NaN.
void softmax_rows(float *x, int rows, int cols);

// Elementwise helpers over n floats.
void vec_zero(float *x, long n);
void vec_copy(float *dst, const float *src, long n);
void vec_add(float *dst, const float *src, long n);              // dst += src
void vec_scale(float *x, float s, long n);                       // x *= s
void vec_add_bias_rows(float *x, const float *bias, int rows, int cols);  // x[r,:] += bias
void vec_sum_rows(float *dbias, const float *dx, int rows, int cols);     // dbias += Σ_r dx[r,:]

// True if every one of the n floats is finite (no NaN, no ±Inf).
bool vec_all_finite(const float *x, long n);

// Largest |a[i] - b[i]| over n floats; the measure parity tests report.
float max_abs_diff(const float *a, const float *b, long n);

#endif
