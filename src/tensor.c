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

#ifdef _OPENMP
// The active parallel level this thread's loops start from (tensor.h): 0, or 1 in a shard.
static _Thread_local int base_level = 0;
#endif

bool threads_nested(void) {
#ifdef _OPENMP
    return omp_get_active_level() > base_level;
#else
    return false;
#endif
}

void threads_set_base_level(int level) {
#ifdef _OPENMP
    base_level = level;
#else
    (void)level;
#endif
}

// As many threads as the work keeps busy with PARALLEL_MIN_WORK each, at most the
// OpenMP thread count; 1 when nested inside a parallel loop (tensor.h).
int threads_for_work(long work) {
#ifdef _OPENMP
    if (work < 2 * PARALLEL_MIN_WORK || threads_nested()) return 1;
    long threads = work / PARALLEL_MIN_WORK, max = omp_get_max_threads();
    return (int)(threads < max ? threads : max);
#else
    (void)work;
    return 1;
#endif
}

// threads_for_work(work), at most one thread per iteration (tensor.h).
int threads_for_loop(long iterations, long work) {
    int threads = threads_for_work(work);
    return iterations < threads ? (int)(iterations > 1 ? iterations : 1) : threads;
}

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
// blocked kernel below computes C a block of BLOCK_ROWS x BLOCK_COLS entries at a time
// (6 x 16 with AVX2, 8 x 16 with AVX-512). Those sums live in a small local array that
// the compiler keeps in vector registers while k runs, so each row of B that is loaded
// is used by 6 (or 8) rows of A before it leaves the register, and C is read and written
// once per block instead of once per k. The innermost loop walks 16 contiguous floats,
// which the compiler turns into SIMD fused multiply-adds (the Makefile's
// -ffp-contract=fast allows the fusion). The shape is set by the register count: AVX2
// has 16 vector registers of 8 floats, and 6 x 16 sums take 12 of them, leaving room
// for the row of B and the broadcast A[i][k]; 8 x 16 (all 16 registers) made the
// compiler spill sums to memory and ran at 2/3 of the speed on a 2-core AVX2 machine,
// while with AVX-512's 32 registers of 16 floats 8 x 16 fits and was the fastest shape.
//
// The k loop is cut into chunks of BLOCK_K = 256. For each chunk, the 16 columns of B a
// block needs (256 x 16 floats, 16 KB) are first copied into a small contiguous panel on
// the stack (pack_panel), which then stays in the L1 cache while a group of row blocks
// passes over it; the group's rows of A stay in L2. Reading B through strides into the
// panel also serves A·Bᵀ without a transposed copy of B, so no product allocates
// memory. Blocks at the right and bottom edges of C, where fewer rows or columns are
// left, take a slower general path (block_edge) that sums in the same order.
//
// Blocks of rows of C are shared out among OpenMP threads; every element of C is still
// summed by one thread in one fixed order, so results do not depend on the thread count.
// Without -fopenmp the pragmas are ignored and the code is plain serial C. The order of
// the additions differs from the plain loops (each chunk of k is summed apart, then added
// to C), so the two agree to float rounding, not bit for bit; it does not depend on the
// block shape, the panels or the groups, which only change how memory is walked: every
// C[i][j] gets Σ over each chunk of k, in increasing k, one fused multiply-add per term,
// added to C chunk after chunk. `make bench` measures the kernel (GFLOP/s) inside a
// whole training step.
#ifdef __AVX512F__
#define BLOCK_ROWS 8
#else
#define BLOCK_ROWS 6
#endif
#define BLOCK_COLS 16
#define BLOCK_K 256
// Row blocks handled together while one chunk of k is in progress: their slice of A
// (at most GROUP_FLOATS floats, 288 KB: 48 blocks of 6 rows of a full BLOCK_K chunk)
// stays in the L2 cache (512 KB a core here) while every column panel of B passes over
// it. Speed notes: each panel of B is packed once per group, so larger groups pack
// fewer times; 48 blocks (the base model's 512 rows on 2 threads: one group each) ran its
// products 5-20% faster than 16 did, most for A·Bᵀ, whose packing gathers B's columns
// (an idle 2-core machine, every base shape, two runs). A shorter chunk (K = 64 in the
// toy model) takes more row blocks per group.
#define GROUP_FLOATS (48 * 6 * BLOCK_K)

// Where element (i,k) of the left operand lives: a[i*row_stride + k*col_stride].
// A plain (M,K) matrix has strides (K,1); a transposed one stored (K,M) has (1,M).
typedef struct {
    const float *data;
    long row_stride, col_stride;
} LeftOperand;

// Where element (k,j) of the right operand lives: b[k*row_stride + j*col_stride]. A
// plain (K,N) matrix has strides (N,1); Bᵀ of a B stored (N,K) has (1,K).
typedef struct {
    const float *data;
    long row_stride, col_stride;
} RightOperand;

// One block of C and one chunk of k: rows [i0, i0+rows) and columns [j0, j0+cols) of C
// (N columns in all) get Σ_{k0 <= k < k1} A[i][k] · B[k][j] added.
typedef struct {
    int i0, rows;  // first row of the block and how many (at most BLOCK_ROWS)
    int j0, cols;  // first column and how many (at most BLOCK_COLS)
    int k0, k1;    // the chunk of the sum over k
    int N;         // columns of C (its row stride)
} Block;

// c[i0..i0+rows, j0..j0+cols] += Σ_{k0<=k<k1} a[i,k] · panel[k-k0][j-j0] for a block
// of `rows` rows (at most BLOCK_ROWS). panel (k1-k0, BLOCK_COLS) is the chunk of B's
// columns j0..j0+16, copied out contiguously (pack_panel; columns past blk.cols are
// zero, computed here and not stored). Called with a constant `rows` and inlined, so the
// loop bounds are constants and the compiler unrolls the sums into vector registers (see
// the notes above for the shape). Each sum runs over k in order, one fused multiply-add
// per term, starting from 0, whatever the block's size.
static inline __attribute__((always_inline)) void block_rows(float *c, LeftOperand a, const float *panel,
                                                             Block blk, const int rows) {
    // Speed notes: the first term is written as 0 + a·b (the same fused multiply-add onto
    // zero as the loop's), so the sums start in registers; zeroing the array first
    // became a call to memset for every block. The chunk is never empty (k0 < k1).
    float sum[BLOCK_ROWS][BLOCK_COLS];
    const float *a_rows = a.data + blk.i0 * a.row_stride;
    for (int r = 0; r < rows; r++) {
        // Speed notes: ask for the block's rows of C now, so that they arrive while the
        // sums run; read only at the end, they stalled the block on a cache miss (a
        // prefetch never faults, so the edge's last columns need no test)
        const float *c_row = c + (long)(blk.i0 + r) * blk.N + blk.j0;
        __builtin_prefetch(c_row, 1);
        __builtin_prefetch(c_row + BLOCK_COLS - 1, 1);
    }
    for (int r = 0; r < rows; r++) {
        const float a_rk = a_rows[r * a.row_stride + blk.k0 * a.col_stride];
        #pragma omp simd
        for (int j = 0; j < BLOCK_COLS; j++) sum[r][j] = 0.0f + a_rk * panel[j];
    }
    for (int k = blk.k0 + 1; k < blk.k1; k++) {
        const float *b_row = panel + (long)(k - blk.k0) * BLOCK_COLS;
        for (int r = 0; r < rows; r++) {
            const float a_rk = a_rows[r * a.row_stride + k * a.col_stride];
            #pragma omp simd
            for (int j = 0; j < BLOCK_COLS; j++) sum[r][j] += a_rk * b_row[j];
        }
    }
    for (int r = 0; r < rows; r++) {
        float *c_row = c + (long)(blk.i0 + r) * blk.N + blk.j0;
        if (blk.cols == BLOCK_COLS) {
            #pragma omp simd
            for (int j = 0; j < BLOCK_COLS; j++) c_row[j] += sum[r][j];
        } else {
            for (int j = 0; j < blk.cols; j++) c_row[j] += sum[r][j];
        }
    }
}

// A full block: BLOCK_ROWS rows and 16 columns, the bulk of every product.
static void block_full(float *c, LeftOperand a, const float *panel, Block blk) {
    block_rows(c, a, panel, blk, BLOCK_ROWS);
}

// A block cut short by the edge of C (blk.rows < BLOCK_ROWS or blk.cols < 16). Speed
// notes: one copy of block_rows per row count, so that each keeps its sums in registers;
// with the count a variable, the sums lived in memory and a 16-row attention slice
// (two full blocks and a 4-row edge) spent as long on its edge as on its full blocks.
static void block_edge(float *c, LeftOperand a, const float *panel, Block blk) {
    switch (blk.rows) {
    case 1: block_rows(c, a, panel, blk, 1); break;
    case 2: block_rows(c, a, panel, blk, 2); break;
    case 3: block_rows(c, a, panel, blk, 3); break;
    case 4: block_rows(c, a, panel, blk, 4); break;
    case 5: block_rows(c, a, panel, blk, 5); break;
#if BLOCK_ROWS > 6
    case 6: block_rows(c, a, panel, blk, 6); break;
    case 7: block_rows(c, a, panel, blk, 7); break;
#endif
    default: block_rows(c, a, panel, blk, BLOCK_ROWS); break;
    }
}

// panel (k1-k0, BLOCK_COLS) = rows k0..k1 of B's columns j0..j0+cols, contiguous, the
// columns past cols zero-filled (block_edge computes them and throws them away). Read
// through its strides, so B and Bᵀ pack alike: A·Bᵀ needs no transposed copy of B.
static void pack_panel(float *panel, RightOperand b, int k0, int k1, int j0, int cols) {
    for (int k = k0; k < k1; k++) {
        float *row = panel + (long)(k - k0) * BLOCK_COLS;
        const float *src = b.data + k * b.row_stride + j0 * b.col_stride;
        if (b.col_stride == 1 && cols == BLOCK_COLS) {
            // a constant-length copy: two vector moves (a variable length one becomes a
            // slow `rep movs` string copy)
            #pragma omp simd
            for (int j = 0; j < BLOCK_COLS; j++) row[j] = src[j];
        } else {
            for (int j = 0; j < cols; j++) row[j] = src[j * b.col_stride];
        }
        for (int j = cols; j < BLOCK_COLS; j++) row[j] = 0.0f;
    }
}

// Row blocks [first, last) of C (M,N) += A·B, A and B read through their strides. k is
// cut into chunks of BLOCK_K; inside a chunk the row blocks are taken in groups whose
// slice of A fills GROUP_FLOATS, and for each group every column panel of B is packed
// once (on the stack: no allocation) and multiplied into the group's blocks.
static void multiply_row_blocks(float *c, LeftOperand a, RightOperand b, int M, int K, int N,
                                int first, int last) {
    _Alignas(64) float panel[BLOCK_K * BLOCK_COLS];  // aligned: a row of 16 floats is one cache line
    for (int k0 = 0; k0 < K; k0 += BLOCK_K) {
        int k1 = K - k0 < BLOCK_K ? K : k0 + BLOCK_K;
        int group_blocks = GROUP_FLOATS / (BLOCK_ROWS * (k1 - k0));
        for (int g0 = first; g0 < last; g0 += group_blocks) {
            int g1 = last - g0 < group_blocks ? last : g0 + group_blocks;
            for (int j0 = 0; j0 < N; j0 += BLOCK_COLS) {
                int cols = N - j0 < BLOCK_COLS ? N - j0 : BLOCK_COLS;
                pack_panel(panel, b, k0, k1, j0, cols);
                for (int ib = g0; ib < g1; ib++) {
                    int i0 = ib * BLOCK_ROWS, rows = M - i0 < BLOCK_ROWS ? M - i0 : BLOCK_ROWS;
                    Block blk = {.i0 = i0, .rows = rows, .j0 = j0, .cols = cols, .k0 = k0, .k1 = k1, .N = N};
                    if (rows == BLOCK_ROWS && cols == BLOCK_COLS) block_full(c, a, panel, blk);
                    else block_edge(c, a, panel, blk);
                }
            }
        }
    }
}

// A product with fewer rows than a block (M < BLOCK_ROWS) is what decoding with the KV
// cache does at every step (lesson 09: one row per sentence or beam hypothesis against a
// whole weight matrix). A 6-row block would compute mostly empty rows and pack every panel
// of B for them, so the weights, the bulk of the memory traffic, would be read twice and
// written once. Instead, for each chunk of k and each tile of COLUMN_TILE columns, each
// row of C keeps its 128 sums (16 vector registers' worth) while it streams the tile of B (128 KB,
// read from memory once and from L2 for the other rows); handling two rows of C at
// once, or narrower tiles, measured slower on a 2-core AVX2 machine. The order of the sums is
// the blocked kernel's: Σ over each chunk of k, increasing k, one fused multiply-add per
// term, the chunk's sum then added to C; so results are bit-identical to it.
#define COLUMN_TILE 128

// Columns [j0, j1) of C (M,N) += A·B for M < BLOCK_ROWS, B read along its rows (its
// col_stride is 1: matmul_nn, matmul_tn).
static void multiply_few_rows(float *c, LeftOperand a, RightOperand b, int M, int K, int N, int j0, int j1) {
    for (int k0 = 0; k0 < K; k0 += BLOCK_K) {
        int k1 = K - k0 < BLOCK_K ? K : k0 + BLOCK_K;
        for (int t0 = j0; t0 < j1; t0 += COLUMN_TILE) {
            int cols = j1 - t0 < COLUMN_TILE ? j1 - t0 : COLUMN_TILE;
            for (int r = 0; r < M; r++) {
                float sum[COLUMN_TILE] = {0};  // in vector registers while k runs
                const float *a_row = a.data + r * a.row_stride;
                for (int k = k0; k < k1; k++) {
                    const float a_rk = a_row[k * a.col_stride], *b_row = b.data + k * b.row_stride + t0;
                    if (cols == COLUMN_TILE) {
                        #pragma omp simd
                        for (int j = 0; j < COLUMN_TILE; j++) sum[j] += a_rk * b_row[j];
                    } else {
                        for (int j = 0; j < cols; j++) sum[j] += a_rk * b_row[j];
                    }
                }
                float *c_row = c + (long)r * N + t0;
                for (int j = 0; j < cols; j++) c_row[j] += sum[j];
            }
        }
    }
}

// C (M,N) += A·B for M < BLOCK_ROWS and B along its rows: the columns are shared out
// among the threads in whole tiles when the work is big enough (the generator's 8000
// columns at every decoding step).
static void matmul_few_rows(float *c, LeftOperand a, RightOperand b, int M, int K, int N) {
#ifdef _OPENMP
    int tiles = (N + COLUMN_TILE - 1) / COLUMN_TILE;
    int threads = threads_for_loop(tiles, (long)M * K * N);
    if (threads > 1) {
        #pragma omp parallel num_threads(threads)
        {
            int t = omp_get_thread_num(), n = omp_get_num_threads();
            int first = tiles * t / n * COLUMN_TILE, last = tiles * (t + 1) / n * COLUMN_TILE;
            multiply_few_rows(c, a, b, M, K, N, first, last < N ? last : N);
        }
        return;
    }
#endif
    multiply_few_rows(c, a, b, M, K, N, 0, N);
}

// C (M,N) += A·B, A and B read through their strides. Big products are split among the
// OpenMP threads by contiguous ranges of row blocks, so no two threads ever add into the
// same element of C and each element is summed in the same order whatever the thread
// count. Small products (the per-head slices of attention) and products called from
// inside an already parallel loop run on the calling thread: entering a parallel region
// costs about a microsecond, and far more when a thread must be woken.
static void matmul_blocked(float *c, LeftOperand a, RightOperand b, int M, int K, int N) {
    if (M < BLOCK_ROWS && b.col_stride == 1) {
        matmul_few_rows(c, a, b, M, K, N);
        return;
    }
    int row_blocks = (M + BLOCK_ROWS - 1) / BLOCK_ROWS;
#ifdef _OPENMP
    int threads = threads_for_loop(row_blocks, (long)M * K * N);
    if (threads > 1) {
        #pragma omp parallel num_threads(threads)
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
    matmul_blocked(c, (LeftOperand){a, K, 1}, (RightOperand){b, N, 1}, M, K, N);
}

// C (M,N) += A(K,M)ᵀ · B (K,N), blocked: the kernel reads A through transposed strides
// (A is stored (K,M): element (i,k) is a[k*M + i]).
void matmul_tn_blocked(float *c, const float *a, const float *b, int M, int K, int N) {
    matmul_blocked(c, (LeftOperand){a, 1, M}, (RightOperand){b, N, 1}, M, K, N);
}

// C (M,N) += A (M,K) · B(N,K)ᵀ, blocked: B is stored (N,K), so element (k,j) of Bᵀ is
// b[j*K + k]; pack_panel gathers each panel of Bᵀ through those strides.
void matmul_nt_blocked(float *c, const float *a, const float *b, int M, int K, int N) {
    matmul_blocked(c, (LeftOperand){a, K, 1}, (RightOperand){b, 1, K}, M, K, N);
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
void vec_copy(float *dst, const float *src, long n) {
    // Speed notes: splitting and merging heads copies d_k floats at a time, tens of
    // thousands of copies a training step; a loop the compiler turns into a few vector
    // moves costs less than a call into the C library's memcpy for each.
    if (n <= 64) {
        #pragma omp simd
        for (long i = 0; i < n; i++) dst[i] = src[i];
        return;
    }
    memcpy(dst, src, sizeof(float) * (size_t)n);
}

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

// How many columns vec_sum_rows sums at once (8 vector registers of 8 floats).
#define SUM_COLUMNS 64

// dbias (cols) += the sum of the rows of dx (rows,cols): the backward of vec_add_bias_rows.
// Each dbias[j] gets dx[0][j], dx[1][j], ... added in row order, as by one vec_add per row.
void vec_sum_rows(float *dbias, const float *dx, int rows, int cols) {
    // Speed notes: a vec_add per row loads and stores all of dbias for every row. Here
    // SUM_COLUMNS sums stay in registers while the rows go by: the same additions in the
    // same order, with the stores once per strip instead of once per row.
    int j0 = 0;
    for (; j0 + SUM_COLUMNS <= cols; j0 += SUM_COLUMNS) {
        float sum[SUM_COLUMNS];
        #pragma omp simd
        for (int j = 0; j < SUM_COLUMNS; j++) sum[j] = dbias[j0 + j];
        for (int r = 0; r < rows; r++) {
            const float *row = dx + (long)r * cols + j0;
            #pragma omp simd
            for (int j = 0; j < SUM_COLUMNS; j++) sum[j] += row[j];
        }
        #pragma omp simd
        for (int j = 0; j < SUM_COLUMNS; j++) dbias[j0 + j] = sum[j];
    }
    for (int r = 0; r < rows && j0 < cols; r++) vec_add(dbias + j0, dx + (long)r * cols + j0, cols - j0);
}

// True if every one of n floats is finite. A NaN or Inf anywhere poisons the sum.
bool vec_all_finite(const float *x, long n) {
    float sum = 0.0f;
    for (long i = 0; i < n; i++) sum += x[i] * 0.0f;  // 0·finite = 0, 0·NaN/Inf = NaN
    return sum == 0.0f;
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
