// foundation_demo.c: lesson 00. The plumbing under every later lesson, on numbers small
// enough to check by hand:
//   1. the three matrix products C += A·B, C += A·Bᵀ, C += Aᵀ·B (tensor.h);
//   2. the row softmax, and why it subtracts the row maximum first (tensor.h);
//   3. the seeded random number generator, PCG32 (rng.h);
//   4. checked file I/O and error messages (common.h).
//
//   build/foundation_demo          all four parts
//   build/foundation_demo --fail   what a failed xfopen prints (and exit status 1)
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "rng.h"
#include "tensor.h"

// Prints a (rows,cols) row-major matrix under a title, one row per line.
static void print_matrix(const char *title, const float *x, int rows, int cols) {
    printf("%s\n", title);
    for (int r = 0; r < rows; r++) {
        printf("   ");
        for (int c = 0; c < cols; c++) printf(" %8.4g", (double)x[r * cols + c]);
        printf("\n");
    }
}

// Part 1: A (2,3) and B (3,2) multiplied three ways. Aᵀ·B and A·Bᵀ need operands of
// matching shapes, so they use A's and B's transposes stored as plain matrices.
static void show_products(void) {
    const float a[] = {1, 2, 3,
                       4, 5, 6};       // A (2,3)
    const float b[] = {7, 8,
                       9, 10,
                       11, 12};        // B (3,2)
    float bt[6], at[6];
    transpose(bt, b, 3, 2);            // Bᵀ stored as a (2,3) matrix
    transpose(at, a, 2, 3);            // Aᵀ stored as a (3,2) matrix
    printf("== 1. Matrix products (tensor.h): every one ADDS into C\n");
    print_matrix("A (2,3):", a, 2, 3);
    print_matrix("B (3,2):", b, 3, 2);

    float c_plain[4] = {0};
    matmul_nn_plain(c_plain, a, b, 2, 3, 2);   // M=2, K=3, N=2: the three-loop definition
    print_matrix("matmul_nn_plain: C (2,2) = A·B      C[0][0] = 1·7 + 2·9 + 3·11 = 58", c_plain, 2, 2);

    float c[4] = {0};
    matmul_nn(c, a, b, 2, 3, 2);       // what the layers call: the blocked kernel
    print_matrix("matmul_nn (blocked, what the layers call): the same C", c, 2, 2);

    float c_nt[4] = {0};
    matmul_nt(c_nt, a, bt, 2, 3, 2);   // the second operand is stored (N,K) = (2,3)
    print_matrix("matmul_nt: C (2,2) = A·(Bᵀ)ᵀ, the same product from Bᵀ stored (2,3)", c_nt, 2, 2);

    float c_tn[4] = {0};
    matmul_tn(c_tn, at, b, 2, 3, 2);   // the first operand is stored (K,M) = (3,2)
    print_matrix("matmul_tn: C (2,2) = (Aᵀ)ᵀ·B, the same product from Aᵀ stored (3,2)", c_tn, 2, 2);

    matmul_nn(c, a, b, 2, 3, 2);       // again, without zeroing C first
    print_matrix("matmul_nn again without zeroing C: C = 2·A·B (gradients rely on +=)", c, 2, 2);
    printf("\n");
}

// softmax computed the way the formula reads, exp(x_j) / Σ exp(x), with no maximum
// subtracted: what goes wrong without the trick. x (cols) is overwritten.
static void softmax_naive(float *x, int cols) {
    float sum = 0.0f;
    for (int j = 0; j < cols; j++) {
        x[j] = expf(x[j]);
        sum += x[j];
    }
    for (int j = 0; j < cols; j++) x[j] /= sum;
}

// Part 2: three rows through softmax_rows and through the naive formula.
static void show_softmax(void) {
    float rows[3][3] = {{1, 2, 3}, {1000, 1001, 1002}, {-INFINITY, -INFINITY, -INFINITY}};
    const char *names[3] = {"[1, 2, 3]         ", "[1000, 1001, 1002]", "[-inf, -inf, -inf]"};
    printf("== 2. Row softmax (tensor.h): exp(x - max) / Σ exp(x - max)\n");
    printf("   row                   softmax_rows                 naive exp(x)/Σ exp(x)\n");
    for (int r = 0; r < 3; r++) {
        float fast[3], naive[3];
        memcpy(fast, rows[r], sizeof fast);
        memcpy(naive, rows[r], sizeof naive);
        softmax_rows(fast, 1, 3);
        softmax_naive(naive, 3);
        printf("   %s    %6.4f %6.4f %6.4f        %6.4f %6.4f %6.4f\n", names[r], (double)fast[0],
               (double)fast[1], (double)fast[2], (double)naive[0], (double)naive[1],
               (double)naive[2]);
    }
    printf("   Shifting a row by a constant changes nothing (the e^c cancels), so rows 1 and 2\n"
           "   agree. The naive formula overflows on row 2 (exp(1000) = inf, inf/inf = nan) and\n"
           "   divides 0 by 0 on row 3; softmax_rows turns a row masked everywhere (lesson 04)\n"
           "   into zeros.\n\n");
}

// Part 3: PCG32 streams: reproducible from the seed, different for another seed or
// stream, and the distributions the project draws from.
static void show_rng(void) {
    printf("== 3. The seeded RNG, PCG32 (rng.h)\n");
    Rng a, again, other_seed, other_stream;
    rng_seed(&a, 42, 0);
    rng_seed(&again, 42, 0);
    rng_seed(&other_seed, 43, 0);
    rng_seed(&other_stream, 42, 1);
    Rng *rngs[4] = {&a, &again, &other_seed, &other_stream};
    const char *names[4] = {"seed 42, stream 0", "seed 42, stream 0", "seed 43, stream 0",
                            "seed 42, stream 1"};
    for (int i = 0; i < 4; i++) {
        printf("   %s: rng_u32 ", names[i]);
        for (int k = 0; k < 3; k++) printf(" %10u", rng_u32(rngs[i]));
        printf("\n");
    }
    printf("   dice, rng_below(6) + 1:");
    for (int k = 0; k < 12; k++) printf(" %u", rng_below(&a, 6) + 1);
    printf("\n");
    enum { DRAWS = 100000 };
    double sum_u = 0, sum_n = 0, sum_n2 = 0;
    for (int k = 0; k < DRAWS; k++) {
        sum_u += rng_uniform(&a);
        double n = rng_normal(&a);
        sum_n += n;
        sum_n2 += n * n;
    }
    printf("   %d draws: rng_uniform mean %.4f (1/2); rng_normal mean %.4f (0), variance %.4f (1)\n\n",
           DRAWS, sum_u / DRAWS, sum_n / DRAWS, sum_n2 / DRAWS - (sum_n / DRAWS) * (sum_n / DRAWS));
}

// Part 4: write a file atomically, read it back, and ask for a missing file: the error
// comes back as a message, the program goes on.
static void show_io(void) {
    printf("== 4. Checked I/O and error messages (common.h)\n");
    const char *path = "foundation_demo.tmp";
    const char text[] = "d_model 512\n";
    ErrorMessage err = {0};
    if (!write_file_atomic(path, text, strlen(text), &err)) die("%s", err.text);
    size_t length = 0;
    char *back = read_whole_file(path, &length, &err);
    if (!back) die("%s", err.text);
    printf("   write_file_atomic then read_whole_file: %zu bytes, \"%.*s\\n\"\n", length,
           (int)length - 1, back);
    free(back);
    remove(path);
    if (read_whole_file("no/such/file.txt", &length, &err) == NULL)
        printf("   read_whole_file(\"no/such/file.txt\") returned NULL; err.text = \"%s\"\n",
               err.text);
    printf("   (build/foundation_demo --fail shows what xfopen does instead: message, exit 1)\n");
}

int main(int argc, char **argv) {
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: foundation_demo [--fail]\n\n"
               "Lesson 00: the matrix products, the row softmax, the seeded RNG and the\n"
               "checked I/O every later lesson is built on, on numbers small enough to check\n"
               "by hand. --fail opens a missing file with xfopen to show the error it prints.\n");
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "--fail") == 0) {
        FILE *f = xfopen("no/such/file.txt", "rb");  // prints where and why, exits 1
        xfclose(f);
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "foundation_demo: unexpected argument '%s' (see --help)\n", argv[1]);
        return 1;
    }
    show_products();
    show_softmax();
    show_rng();
    show_io();
    return 0;
}
