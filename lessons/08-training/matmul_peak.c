// matmul_peak.c (lesson 08, part 4): the peak speed of the project's own matrix
// product on this machine, what `make bench` divides training's GFLOP/s by. A big
// square product C += A·B (matmul_nn, src/tensor.h) has the best ratio of arithmetic to
// memory traffic any layer ever sees, so its GFLOP/s is the ceiling a training step
// (many smaller products, plus softmax, LayerNorm, Adam) can approach.
//
//   build/matmul_peak [--n 1024] [--threads 2] [--seconds 2] [--help]
//
// prints one line: "matmul_nn n=1024 threads=2 products=57 GFLOP/s=120.3"
// (2·n³ floating-point operations per product: one multiply and one add per term).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "common.h"
#include "rng.h"
#include "tensor.h"

// Times products of two random (n,n) matrices for `seconds` after one warm-up product;
// returns GFLOP/s and sets *products.
static double time_products(int n, double seconds, long *products) {
    Rng rng;
    rng_seed(&rng, 0, 0);
    size_t count = (size_t)n * (size_t)n;
    float *a = xmalloc(sizeof(float) * count), *b = xmalloc(sizeof(float) * count);
    float *c = xcalloc(count, sizeof(float));
    for (size_t i = 0; i < count; i++) a[i] = rng_uniform(&rng) - 0.5f, b[i] = rng_uniform(&rng) - 0.5f;
    matmul_nn(c, a, b, n, n, n);
    long done = 0;
    double start = wall_seconds(), dt;
    do {
        matmul_nn(c, a, b, n, n, n);
        done++;
    } while ((dt = wall_seconds() - start) < seconds);
    free(a), free(b), free(c);
    *products = done;
    return (double)done * 2.0 * n * n * n / dt / 1e9;
}

// Reads --n, --threads, --seconds (or --help), times the products and prints the result line.
int main(int argc, char **argv) {
    threads_wait_briefly(argv);
    int n = 1024, threads = 2;
    double seconds = 2;
    for (int i = 1; i < argc; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: %s [--n 1024] [--threads 2] [--seconds 2]\n\n"
                   "The speed of the project's own matrix product (matmul_nn, src/tensor.h) on this\n"
                   "machine: C += A·B for two random (n,n) matrices, repeated for --seconds after one\n"
                   "warm-up product, on --threads OpenMP threads. Prints one line, e.g.\n"
                   "  matmul_nn n=1024 threads=2 products=57 GFLOP/s=120.3\n"
                   "(2·n³ floating-point operations per product). `make bench` divides base training's\n"
                   "GFLOP/s by the larger of this and OpenBLAS's peak.\n\n"
                   "  --n N          matrix size, 16..8192\n"
                   "  --threads N    OpenMP threads, 1..256\n"
                   "  --seconds S    measuring time, above 0 and at most 3600\n", argv[0]);
            return 0;
        } else if (strcmp(argv[i], "--n") == 0) {
            n = (int)option_long("--n", value, 16, 8192), i++;
        } else if (strcmp(argv[i], "--threads") == 0) {
            threads = (int)option_long("--threads", value, 1, 256), i++;
        } else if (strcmp(argv[i], "--seconds") == 0) {
            seconds = option_double("--seconds", value, 0, 3600), i++;
        } else {
            die("unknown option '%s' (see %s --help)", argv[i], argv[0]);
        }
    }
#ifdef _OPENMP
    omp_set_num_threads(threads);
#else
    threads = 1;
#endif
    long products;
    double gflops = time_products(n, seconds, &products);
    printf("matmul_nn n=%d threads=%d products=%ld GFLOP/s=%.1f\n", n, threads, products, gflops);
    return 0;
}
