// rng.c: PCG32 (O'Neill 2014, "PCG: A Family of Simple Fast Space-Efficient
// Statistically Good Algorithms for Random Number Generation"): a 64-bit linear
// congruential step, output through a permutation that hides its weak low bits.
#include "rng.h"

#include <math.h>

void rng_seed(Rng *rng, uint64_t seed, uint64_t stream) {
    rng->state = 0;
    rng->increment = (stream << 1u) | 1u;  // must be odd
    rng_u32(rng);
    rng->state += seed;
    rng_u32(rng);
}

uint32_t rng_u32(Rng *rng) {
    uint64_t old = rng->state;
    rng->state = old * 6364136223846793005ULL + rng->increment;
    // xorshift the high bits down, then rotate by the top 5 bits.
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rotation = (uint32_t)(old >> 59u);
    return (xorshifted >> rotation) | (xorshifted << ((-rotation) & 31u));
}

uint32_t rng_below(Rng *rng, uint32_t n) {
    // Reject the few values at the top that would make some results more likely.
    uint32_t threshold = (uint32_t)(-n) % n;
    for (;;) {
        uint32_t r = rng_u32(rng);
        if (r >= threshold) return r % n;
    }
}

float rng_uniform(Rng *rng) {
    return (float)(rng_u32(rng) >> 8) * (1.0f / 16777216.0f);
}

void rng_uniform_fill(Rng *rng, float *out, long n) {
    for (long i = 0; i < n; i++) out[i] = rng_uniform(rng);
}

float rng_normal(Rng *rng) {
    // Box-Muller: two uniforms give a normal. 1 - u keeps the log argument in (0, 1].
    float u1 = 1.0f - rng_uniform(rng);
    float u2 = rng_uniform(rng);
    return sqrtf(-2.0f * logf(u1)) * cosf(6.28318530717958647692f * u2);
}
