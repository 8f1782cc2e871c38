// matmul_peak.c (lesson 08, part 4): the peak speed of the project's own matrix
// product on this machine, what `make bench` divides training's GFLOP/s by. A big
// square product C += A·B (matmul_nn, src/tensor.h) has the best ratio of arithmetic to
// memory traffic any layer ever sees, so its GFLOP/s is the ceiling a training step
// (many smaller products, plus softmax, LayerNorm, Adam) can approach.
//
//   build/matmul_peak [--n 1024] [--threads 2] [--seconds 2]
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

// The value of option `name` in argv, or fallback.
static double option(int argc, char **argv, const char *name, double fallback) {
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0) return atof(argv[i + 1]);
    return fallback;
}

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

// Reads --n, --threads, --seconds, times the products and prints the result line.
int main(int argc, char **argv) {
    threads_wait_briefly(argv);
    int n = (int)option(argc, argv, "--n", 1024), threads = (int)option(argc, argv, "--threads", 2);
    double seconds = option(argc, argv, "--seconds", 2);
    if (n < 16 || n > 8192 || threads < 1 || !(seconds > 0))
        die("usage: %s [--n 16..8192] [--threads >= 1] [--seconds > 0]", argv[0]);
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
