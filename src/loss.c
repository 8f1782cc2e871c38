// loss.c: label-smoothed cross-entropy, forward and backward (§5.4; see loss.h).
#include "loss.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "tensor.h"

// Rows are processed in LOSS_CHUNKS fixed groups, each summed in order, and the group
// sums are added in order: the same numbers for any thread count (an OpenMP reduction
// would add in an order that depends on the threads).
enum { LOSS_CHUNKS = 64 };

// exp(x) for x <= 0, in plain float arithmetic so that a loop calling it vectorises (the
// library expf is a function call per element, and was most of the loss's time).
// exp(x) = 2^k · exp(r) with k = round(x / ln 2) and r = x - k·ln 2 in [-ln2/2, ln2/2];
// exp(r) by its Taylor series to r^7 (error < 2e-8 relative, about float rounding);
// 2^k by writing k + 127 into the float's exponent bits. Below -87, exp(x) < 1.7e-38
// is clamped there (a normal float), where the true value would be denormal or 0.
// x must be finite (logits are; an infinite one would give NaN, as in PyTorch).
static inline float exp_nonpositive(float x) {
    // x = max(x, -87), written without a branch or a libm call so the loop vectorises.
    x = (float)(x > -87.0f) * x + (float)(x <= -87.0f) * -87.0f;
    // Converting to int truncates towards 0, so for x·log2(e) <= 0 subtracting 1/2 first
    // rounds to the nearest integer (floorf would not vectorise without -ffast-math).
    int32_t k = (int32_t)(x * 1.44269504f - 0.5f);
    float r = x - (float)k * 0.693145752f - (float)k * 1.42860677e-6f;  // ln 2 in two parts
    float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 +
              r * (1.0f / 720 + r * (1.0f / 5040)))))));
    int32_t bits = (k + 127) << 23;
    float two_k;
    memcpy(&two_k, &bits, sizeof two_k);  // reinterpret the bits (compiles to nothing)
    return p * two_k;
}

// Forward of one position (row): writes p = softmax(logits) into probs and returns
// -log p(y) and -(1/V) Σ_c log p(c) in *nll and *smooth. logits and probs are (V);
// they may be the same array. `omp simd` asks the compiler to vectorise each loop,
// keeping partial sums in a vector register: an order fixed at compile time, so the
// results are still the same on every run and for any number of threads.
static void row_forward(float *probs, const float *logits, int target, int V,
                        double *nll, double *smooth, int *argmax) {
    // A diverged model can produce NaN or infinite logits. x·0 is 0 for finite x and NaN
    // otherwise, so one vectorised pass tells; such a row gets a NaN loss (the training
    // loop stops on it) and never reaches exp_nonpositive, which needs finite input.
    float nonfinite = 0.0f;
#pragma omp simd reduction(+ : nonfinite)
    for (int c = 0; c < V; c++) nonfinite += logits[c] * 0.0f;
    if (nonfinite != 0.0f) {
        for (int c = 0; c < V; c++) probs[c] = NAN;
        *nll = *smooth = NAN;
        *argmax = 0;
        return;
    }
    float max = logits[0];
#pragma omp simd reduction(max : max)
    for (int c = 1; c < V; c++) max = logits[c] > max ? logits[c] : max;
    int best = 0;
    while (logits[best] != max) best++;  // the first class with the largest logit
    float target_logit = logits[target];
    // log p(c) = logits(c) - max - log Σ exp(logits - max): nothing overflows, and the
    // largest term of the sum is exp(0) = 1, so the log is never of 0. Also
    // Σ_c log p(c) = Σ_c (logits(c) - max) - V·log Z, so only Σ (logits - max) is needed.
    double sum_exp = 0.0, sum_shifted = 0.0;  // double: V terms, and the loss wants digits
#pragma omp simd reduction(+ : sum_exp, sum_shifted)
    for (int c = 0; c < V; c++) {
        float shifted = logits[c] - max;
        float e = exp_nonpositive(shifted);
        probs[c] = e;
        sum_exp += e;
        sum_shifted += shifted;
    }
    float inv = (float)(1.0 / sum_exp);
#pragma omp simd
    for (int c = 0; c < V; c++) probs[c] *= inv;
    double log_z = log(sum_exp);
    *nll = log_z - ((double)target_logit - max);                // -log p(y)
    *smooth = log_z - sum_shifted / V;                          // -(1/V) Σ_c log p(c)
    *argmax = best;
}

// §5.4: loss = mean over non-pad positions of (1-ε)(-log p(y)) + ε (1/V) Σ_c (-log p(c)).
// logits, probs (B,T,V); targets (B,T).
void loss_forward(LossResult *result, float *probs, const float *logits, const int *targets,
                  float smoothing, int ignore_index, int B, int T, int V) {
    long rows = (long)B * T;
    double chunk_nll[LOSS_CHUNKS] = {0}, chunk_smooth[LOSS_CHUNKS] = {0};
    long chunk_tokens[LOSS_CHUNKS] = {0}, chunk_correct[LOSS_CHUNKS] = {0};
#pragma omp parallel for schedule(static) if (rows * V > PARALLEL_MIN_WORK)
    for (int chunk = 0; chunk < LOSS_CHUNKS; chunk++) {
        long begin = rows * chunk / LOSS_CHUNKS, end = rows * (chunk + 1) / LOSS_CHUNKS;
        for (long r = begin; r < end; r++) {
            int y = targets[r];
            float *p = probs + r * V;
            const float *z = logits + r * V;
            if (y == ignore_index) {
                // Padding: no loss, no gradient. Still leave a valid distribution in
                // probs (decoding reads it), computed against class 0.
                double unused_nll, unused_smooth;
                int unused_argmax;
                row_forward(p, z, 0, V, &unused_nll, &unused_smooth, &unused_argmax);
                continue;
            }
            double nll, smooth;
            int argmax;
            row_forward(p, z, y, V, &nll, &smooth, &argmax);
            chunk_nll[chunk] += nll;
            chunk_smooth[chunk] += smooth;
            chunk_tokens[chunk]++;
            chunk_correct[chunk] += argmax == y;
        }
    }
    double nll = 0, smooth = 0;
    long tokens = 0, correct = 0;
    for (int chunk = 0; chunk < LOSS_CHUNKS; chunk++) {
        nll += chunk_nll[chunk];
        smooth += chunk_smooth[chunk];
        tokens += chunk_tokens[chunk];
        correct += chunk_correct[chunk];
    }
    result->n_tokens = tokens;
    result->n_correct = correct;
    if (tokens == 0) {
        result->loss = result->nll = 0.0;
        return;
    }
    result->nll = nll / tokens;
    result->loss = ((1.0 - smoothing) * nll + smoothing * smooth) / tokens;
}

// Backward of loss_forward. In the forward pass this was, per non-pad row,
// loss_r = -Σ_c q(c) log p(c) with q = (1-ε)·onehot(y) + ε/V, averaged over n_tokens rows;
// since Σ_c q(c) = 1, ∂loss_r/∂logit(c) = p(c) - q(c). dlogits, probs (B,T,V); targets (B,T).
void loss_backward(float *dlogits, const float *probs, long n_tokens, const int *targets,
                   float smoothing, int ignore_index, int B, int T, int V) {
    if (n_tokens <= 0) return;
    long rows = (long)B * T;
    float scale = 1.0f / (float)n_tokens;
    float uniform = smoothing / (float)V;       // ε/V, for every class
    float on_target = 1.0f - smoothing;         // the extra (1-ε) at the true class
#pragma omp parallel for schedule(static) if (rows * V > PARALLEL_MIN_WORK)
    for (long r = 0; r < rows; r++) {
        int y = targets[r];
        if (y == ignore_index) continue;
        float *d = dlogits + r * V;
        const float *p = probs + r * V;
        for (int c = 0; c < V; c++) d[c] += (p[c] - uniform) * scale;
        d[y] -= on_target * scale;
    }
}
