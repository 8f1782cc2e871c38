// rng.c: PCG32 (O'Neill 2014, "PCG: A Family of Simple Fast Space-Efficient
// Statistically Good Algorithms for Random Number Generation"): a 64-bit linear
// congruential step, output through a permutation that hides its weak low bits.
#include "rng.h"

#include <math.h>

#include "tensor.h"  // threads_nested

#ifdef _OPENMP
#include <omp.h>
#endif

void rng_seed(Rng *rng, uint64_t seed, uint64_t stream) {
    rng->state = 0;
    rng->increment = (stream << 1u) | 1u;  // must be odd
    rng_u32(rng);
    rng->state += seed;
    rng_u32(rng);
}

// PCG32's 64-bit LCG multiplier (Knuth's MMIX constant).
#define PCG_MULTIPLIER 6364136223846793005ULL

// The 32-bit output for the state `old`: xorshift the high bits down, then rotate by the
// top 5 bits.
static uint32_t pcg_output(uint64_t old) {
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rotation = (uint32_t)(old >> 59u);
    return (xorshifted >> rotation) | (xorshifted << ((-rotation) & 31u));
}

uint32_t rng_u32(Rng *rng) {
    uint64_t old = rng->state;
    rng->state = old * PCG_MULTIPLIER + rng->increment;
    return pcg_output(old);
}

uint32_t rng_below(Rng *rng, uint32_t n) {
    // Reject the few values at the top that would make some results more likely.
    uint32_t threshold = (uint32_t)(-n) % n;
    for (;;) {
        uint32_t r = rng_u32(rng);
        if (r >= threshold) return r % n;
    }
}

// A float in [0, 1) from the top 24 bits of a 32-bit draw.
static float uniform_from_bits(uint32_t bits) { return (float)(bits >> 8) * (1.0f / 16777216.0f); }

float rng_uniform(Rng *rng) { return uniform_from_bits(rng_u32(rng)); }

// States that rng_uniform_fill advances side by side.
enum { FILL_LANES = 8 };

#ifdef _OPENMP
// Draws per thread below which rng_uniform_fill stays on one thread: 16384 draws took
// about 25 µs inside a training step (the toy model's masks are 32768 long), starting a
// second thread costs a few µs.
#define FILL_MIN_PER_THREAD 16384L

// The state `steps` draws after `state`: the LCG's step x -> A·x + c applied `steps`
// times, by repeated squaring of the step (two steps are x -> A²·x + (A + 1)·c), so a
// jump of a million draws takes 20 squarings instead of a million steps.
static uint64_t lcg_jump(uint64_t state, uint64_t increment, uint64_t steps) {
    uint64_t mul = PCG_MULTIPLIER, add = increment;  // one step, doubled each round
    uint64_t jump_mul = 1, jump_add = 0;             // the steps taken so far
    for (; steps > 0; steps >>= 1) {
        if (steps & 1) {
            jump_mul *= mul;
            jump_add = jump_add * mul + add;
        }
        add = (mul + 1) * add;
        mul *= mul;
    }
    return jump_mul * state + jump_add;
}
#endif

// Speed notes: each state step waits for the one before (a 64-bit multiply and an add),
// so one draw after another runs at the speed of that chain. Here FILL_LANES states, one
// step apart, advance side by side, each by FILL_LANES steps at once with the LCG's
// jump-ahead: state[i+L] = A^L·state[i] + c·(A^(L-1) + ... + A + 1) (mod 2^64). The
// draws are the same numbers in the same order, and the Rng ends in the same state.
static void fill_lanes(Rng *rng, float *out, long n) {
    long i = 0;
    if (n >= FILL_LANES) {
        uint64_t lane[FILL_LANES], jump_mul = 1, jump_add = 0;
        for (int l = 0; l < FILL_LANES; l++) {
            lane[l] = rng->state;
            rng->state = rng->state * PCG_MULTIPLIER + rng->increment;
            jump_mul *= PCG_MULTIPLIER;
            jump_add = jump_add * PCG_MULTIPLIER + rng->increment;
        }
        for (; i + FILL_LANES <= n; i += FILL_LANES) {
            for (int l = 0; l < FILL_LANES; l++) {
                out[i + l] = uniform_from_bits(pcg_output(lane[l]));
                lane[l] = lane[l] * jump_mul + jump_add;
            }
        }
        rng->state = lane[0];  // the state of draw i, the next one
    }
    for (; i < n; i++) out[i] = rng_uniform(rng);
}

// Speed notes: a long fill (a dropout mask over a whole batch) is also cut into one
// contiguous part per OpenMP thread; each thread jumps a copy of the state to the first
// draw of its part (lcg_jump), so every number is still the one a single thread would
// have drawn there, whatever the thread count.
void rng_uniform_fill(Rng *rng, float *out, long n) {
#ifdef _OPENMP
    int threads = threads_nested() ? 1 : omp_get_max_threads();
    if (threads > n / FILL_MIN_PER_THREAD) threads = (int)(n / FILL_MIN_PER_THREAD);
    if (threads > 1) {
        const Rng start = *rng;
        #pragma omp parallel num_threads(threads)
        {
            int t = omp_get_thread_num(), parts = omp_get_num_threads();
            long first = n * t / parts, last = n * (t + 1) / parts;
            Rng part = {lcg_jump(start.state, start.increment, (uint64_t)first), start.increment};
            fill_lanes(&part, out + first, last - first);
        }
        rng->state = lcg_jump(start.state, start.increment, (uint64_t)n);
        return;
    }
#endif
    fill_lanes(rng, out, n);
}

float rng_normal(Rng *rng) {
    // Box-Muller: two uniforms give a normal. 1 - u keeps the log argument in (0, 1].
    float u1 = 1.0f - rng_uniform(rng);
    float u2 = rng_uniform(rng);
    return sqrtf(-2.0f * logf(u1)) * cosf(6.28318530717958647692f * u2);
}
