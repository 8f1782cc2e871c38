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

// ============================================================================
// One row, plain: read this one first
// ============================================================================

// §5.4 for one position: p = softmax(logits) into probs and the two loss terms, with the
// library's expf and log. Shapes and in-place use as in loss.h (probs may be logits, so
// everything needed from the logits is read before probs is written).
LossRow loss_row_plain(float *probs, const float *logits, int target, int V) {
    LossRow row = {0};
    // EXERCISE 08 loss-row: one position's softmax and its two loss terms (§5.4)
    // TODO: logits and probs are (V); probs may be the same array as logits, so read
    // TODO: everything you need from the logits before you write probs.
    // TODO: 1. max = the largest logit; row.argmax = its index (the first one on ties).
    // TODO: 2. z = Σ_c exp(logit(c) - max) (sum in double; expf per term); write
    // TODO:    probs[c] = exp(logit(c) - max) / z, a distribution that sums to 1.
    // TODO: 3. with log p(c) = (logit(c) - max) - log z:
    // TODO:    row.nll    = -log p(target)
    // TODO:    row.smooth = -(1/V) Σ_c log p(c)   (the ε/V part of label smoothing)
    // TODO: (loss_forward mixes them: (1-ε)·nll + ε·smooth.)
    // STUB: for (int c = 0; c < V; c++) probs[c] = 0.0f;
    // SOLUTION
    // The largest logit, subtracted before exp so that nothing overflows: the largest
    // term of Z = Σ_c exp(logit(c) - max) is exp(0) = 1, so log Z is never the log of 0.
    float max = logits[0];
    for (int c = 1; c < V; c++)
        if (logits[c] > max) {
            max = logits[c];
            row.argmax = c;
        }
    // log p(c) = (logit(c) - max) - log Z, so -log p(y) = log Z - (logit(y) - max) and
    // -(1/V) Σ_c log p(c) = log Z - (1/V) Σ_c (logit(c) - max).
    double target_shifted = (double)logits[target] - max, sum_shifted = 0.0;
    for (int c = 0; c < V; c++) sum_shifted += logits[c] - max;
    double z = 0.0;  // double: V terms, and the loss wants digits
    for (int c = 0; c < V; c++) {
        probs[c] = expf(logits[c] - max);  // may overwrite logits[c]: read above
        z += probs[c];
    }
    for (int c = 0; c < V; c++) probs[c] = (float)(probs[c] / z);
    double log_z = log(z);
    row.nll = log_z - target_shifted;
    row.smooth = log_z - sum_shifted / V;
    // END EXERCISE
    return row;
}

// ============================================================================
// Speed notes: the same row, vectorised (skip on a first reading)
// ============================================================================
//
// The loss reads B·T·V logits, the largest activation of the model (V is the whole
// vocabulary), and the plain row calls the library's expf once per logit. expf is a
// function call the compiler cannot vectorise (it must also set errno and handle every
// special case), and it was most of the loss's time. So the fast row computes exp with
// a few float multiply-adds that the compiler can put in SIMD registers, 8 or 16 logits
// at a time, and finds the maximum and the sums with `omp simd` reductions. It also
// checks the row for NaN/infinity first, because its exp needs finite input.

// exp(x) for x <= 0, in plain float arithmetic so that a loop calling it vectorises.
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

// The same row as loss_row_plain, vectorised: every loop over the V classes is an
// `omp simd` loop that keeps partial sums in a vector register, an order fixed at compile
// time, so the results are still the same on every run and for any number of threads.
LossRow loss_row_fast(float *probs, const float *logits, int target, int V) {
    LossRow row = {0};
    // A diverged model can produce NaN or infinite logits. x·0 is 0 for finite x and NaN
    // otherwise, so one vectorised pass tells; such a row gets a NaN loss (the training
    // loop stops on it) and never reaches exp_nonpositive, which needs finite input.
    float nonfinite = 0.0f;
#pragma omp simd reduction(+ : nonfinite)
    for (int c = 0; c < V; c++) nonfinite += logits[c] * 0.0f;
    if (nonfinite != 0.0f) {
        for (int c = 0; c < V; c++) probs[c] = NAN;
        row.nll = row.smooth = NAN;
        return row;
    }
    float max = logits[0];
#pragma omp simd reduction(max : max)
    for (int c = 1; c < V; c++) max = logits[c] > max ? logits[c] : max;
    while (logits[row.argmax] != max) row.argmax++;  // the first class with the largest logit
    float target_logit = logits[target];
    // As in the plain row: -log p(c) = log Z - (logit(c) - max), so only Z and
    // Σ (logits - max) are needed, taken in one pass.
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
    row.nll = log_z - ((double)target_logit - max);  // -log p(y)
    row.smooth = log_z - sum_shifted / V;            // -(1/V) Σ_c log p(c)
    return row;
}

// ============================================================================
// The loss over a batch, forward and backward
// ============================================================================

// One row for loss_forward (shapes as loss_row_plain): the fast row, or the plain one in
// a PLAIN_KERNELS build.
static LossRow loss_row(float *probs, const float *logits, int target, int V) {
#ifdef PLAIN_KERNELS
    return loss_row_plain(probs, logits, target, V);
#else
    return loss_row_fast(probs, logits, target, V);
#endif
}

// §5.4: loss = mean over non-pad positions of (1-ε)(-log p(y)) + ε (1/V) Σ_c (-log p(c)).
// logits, probs (B,T,V); targets (B,T).
void loss_forward(LossResult *result, float *probs, const float *logits, const int *targets,
                  LossSpec spec) {
    const int V = spec.V;
    long rows = (long)spec.B * spec.T;
    double chunk_nll[LOSS_CHUNKS] = {0}, chunk_smooth[LOSS_CHUNKS] = {0};
    long chunk_tokens[LOSS_CHUNKS] = {0}, chunk_correct[LOSS_CHUNKS] = {0};
#pragma omp parallel for schedule(static) num_threads(threads_for_work(rows * V * ELEMENT_WORK))
    for (int chunk = 0; chunk < LOSS_CHUNKS; chunk++) {
        long begin = rows * chunk / LOSS_CHUNKS, end = rows * (chunk + 1) / LOSS_CHUNKS;
        for (long r = begin; r < end; r++) {
            int y = targets[r];
            float *p = probs + r * V;
            const float *z = logits + r * V;
            if (y == spec.ignore_index) {
                // Padding: no loss, no gradient. Still leave a valid distribution in
                // probs (decoding reads it), computed against class 0.
                (void)loss_row(p, z, 0, V);
                continue;
            }
            LossRow row = loss_row(p, z, y, V);
            chunk_nll[chunk] += row.nll;
            chunk_smooth[chunk] += row.smooth;
            chunk_tokens[chunk]++;
            chunk_correct[chunk] += row.argmax == y;
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
    result->loss = ((1.0 - spec.smoothing) * nll + spec.smoothing * smooth) / tokens;
}

// Backward of loss_forward. In the forward pass this was, per non-pad row,
// loss_r = -Σ_c q(c) log p(c) with q = (1-ε)·onehot(y) + ε/V, averaged over n_tokens rows;
// since Σ_c q(c) = 1, ∂loss_r/∂logit(c) = p(c) - q(c). dlogits, probs (B,T,V); targets (B,T).
void loss_backward(float *dlogits, const float *probs, long n_tokens, const int *targets,
                   LossSpec spec) {
    if (n_tokens <= 0) return;
    // EXERCISE 08 loss-gradient: dL/dlogits of the label-smoothed loss (§5.4)
    // TODO: dlogits and probs are (B,T,V) (spec.B, spec.T, spec.V); targets is (B,T).
    // TODO: For every row r whose target y = targets[r] is not spec.ignore_index, ADD
    // TODO: (p(c) - q(c)) / n_tokens to dlogits[r, c] for every class c, where
    // TODO: q(c) = ε/V for every c, plus (1 - ε) more at c = y   (ε = spec.smoothing).
    // TODO: Padding rows get nothing. Accumulate with +=: the caller zeroed dlogits.
    // STUB: (void)probs; (void)targets; (void)spec;
    // SOLUTION
    const int V = spec.V;
    long rows = (long)spec.B * spec.T;
    float scale = 1.0f / (float)n_tokens;
    float uniform = spec.smoothing / (float)V;  // ε/V, for every class
    float on_target = 1.0f - spec.smoothing;    // the extra (1-ε) at the true class
#pragma omp parallel for schedule(static) num_threads(threads_for_work(rows * V * ELEMENT_WORK))
    for (long r = 0; r < rows; r++) {
        int y = targets[r];
        if (y == spec.ignore_index) continue;
        float *d = dlogits + r * V;
        const float *p = probs + r * V;
        for (int c = 0; c < V; c++) d[c] += (p[c] - uniform) * scale;
        d[y] -= on_target * scale;
    }
    // END EXERCISE
}
