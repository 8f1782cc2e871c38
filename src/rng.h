// rng.h: a small seeded random number generator (PCG32). Every random choice in the
// project (initial weights, dropout masks, synthetic data, batch order) comes from an
// Rng passed in explicitly, so the same seed gives the same numbers on every run.
#ifndef RNG_H
#define RNG_H

#include <stdint.h>

typedef struct {
    uint64_t state;      // advances on every draw
    uint64_t increment;  // odd; selects one of 2^63 independent streams
} Rng;

// Seeds rng. Different (seed, stream) pairs give independent sequences.
void rng_seed(Rng *rng, uint64_t seed, uint64_t stream);

// A uniform 32-bit integer.
uint32_t rng_u32(Rng *rng);

// A uniform integer in [0, n), without modulo bias. n must be > 0.
uint32_t rng_below(Rng *rng, uint32_t n);

// A uniform float in [0, 1), with 24 random bits.
float rng_uniform(Rng *rng);

// out[0..n) = n successive rng_uniform draws, the same numbers in the same order, in one
// call (dropout draws one per activation: a call per draw cost more than the draw).
void rng_uniform_fill(Rng *rng, float *out, long n);

// A standard normal sample (mean 0, variance 1), by the Box-Muller transform.
float rng_normal(Rng *rng);

#endif
