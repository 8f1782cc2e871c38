// loss.c: label-smoothed cross-entropy, forward and backward (§5.4; see loss.h).
#include "loss.h"

#include <math.h>

// Rows are processed in LOSS_CHUNKS fixed groups, each summed in order, and the group
// sums are added in order: the same numbers for any thread count (an OpenMP reduction
// would add in an order that depends on the threads).
enum { LOSS_CHUNKS = 64 };

// Forward of one position (row): writes p = softmax(logits) into probs and returns
// -log p(y) and -(1/V) Σ_c log p(c) in *nll and *smooth. logits and probs are (V);
// they may be the same array.
static void row_forward(float *probs, const float *logits, int target, int V,
                        double *nll, double *smooth, int *argmax) {
    float max = logits[0];
    int best = 0;
    for (int c = 1; c < V; c++)
        if (logits[c] > max) max = logits[c], best = c;
    float target_logit = logits[target];
    // log p(c) = logits(c) - max - log Σ exp(logits - max): nothing overflows, and the
    // largest term of the sum is exp(0) = 1, so the log is never of 0.
    // Sums in double: with V in the thousands a float sum would lose digits.
    double sum_exp = 0.0, sum_shifted = 0.0;
    for (int c = 0; c < V; c++) {
        float shifted = logits[c] - max;
        sum_shifted += shifted;
        float e = expf(shifted);
        probs[c] = e;
        sum_exp += e;
    }
    float inv = (float)(1.0 / sum_exp);
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
#pragma omp parallel for schedule(static)
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
#pragma omp parallel for schedule(static)
    for (long r = 0; r < rows; r++) {
        int y = targets[r];
        if (y == ignore_index) continue;
        float *d = dlogits + r * V;
        const float *p = probs + r * V;
        for (int c = 0; c < V; c++) d[c] += (p[c] - uniform) * scale;
        d[y] -= on_target * scale;
    }
}
