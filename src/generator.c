// generator.c: tied output projection and log-softmax, §3.4.
#include "generator.h"

#include <math.h>

#include "tensor.h"

// logits = y·Eᵀ, one matmul over all B·T rows.                               §3.4
// y (rows,d_model), embedding E (V,d_model), logits (rows,V).
void generator_forward(float *logits, const float *y, const float *embedding,
                       int rows, int d_model, int V) {
    // EXERCISE 07 generator-forward: the tied output projection logits = y·Eᵀ
    // TODO: logits (rows,V) = y (rows,d_model) · Eᵀ, where E = embedding (V,d_model) is the
    // TODO: same table the embedding lookup reads (§3.4: the weights are shared): logit
    // TODO: [r,v] is the dot product of decoder row r with token v's embedding row. No bias,
    // TODO: no √d_model here. logits is OVERWRITTEN; the lesson-00 matmuls add to their output.
    // STUB: vec_zero(logits, (long)rows * V);
    // STUB: (void)y; (void)embedding; (void)d_model;
    // SOLUTION
    vec_zero(logits, (long)rows * V);
    matmul_nt(logits, y, embedding, rows, d_model, V);
    // END EXERCISE
}

// Backward of generator_forward. In the forward pass this was logits = y·Eᵀ, so
// dy += dlogits·E and dE += dlogitsᵀ·y. dlogits (rows,V); dy, y (rows,d_model);
// dembedding, embedding (V,d_model).
void generator_backward(float *dy, float *dembedding, const float *dlogits, const float *y,
                        const float *embedding, int rows, int d_model, int V) {
    // EXERCISE 07 generator-backward: dy and dE of logits = y·Eᵀ
    // TODO: from dlogits (rows,V): dy (rows,d_model) gets dlogits·E and dembedding
    // TODO: (V,d_model) gets dlogitsᵀ·y. ACCUMULATE (+=) into both: dembedding also
    // TODO: collects the gradients of the source and target lookups. Pick the lesson-00
    // TODO: matmul (nn, nt, tn) whose shapes fit.
    // STUB: (void)dy; (void)dembedding; (void)dlogits; (void)y; (void)embedding;
    // STUB: (void)rows; (void)d_model; (void)V;
    // SOLUTION
    matmul_nn(dy, dlogits, embedding, rows, V, d_model);
    matmul_tn(dembedding, dlogits, y, V, rows, d_model);
    // END EXERCISE
}

// log-softmax of each row: out = x − log Σ exp(x), stably.                  §3.4
// logits, out (rows,V).
void log_softmax_forward(float *out, const float *logits, int rows, int V) {
    #pragma omp parallel for schedule(static) \
        num_threads(threads_for_work((long)rows * V * ELEMENT_WORK))
    for (int r = 0; r < rows; r++) {
        const float *x = logits + (long)r * V;
        float *o = out + (long)r * V;
        float max = x[0];
        for (int v = 1; v < V; v++) max = x[v] > max ? x[v] : max;
        double sum = 0.0;
        for (int v = 0; v < V; v++) sum += exp((double)(x[v] - max));
        // (x − max) − log Σ rather than x − (max + log Σ): the first difference is exact
        // and small, so large logits keep their precision.
        float log_sum = (float)log(sum);
        for (int v = 0; v < V; v++) o[v] = (x[v] - max) - log_sum;
    }
}

// Backward of log_softmax_forward: out = x − logsumexp(x), so
// dx += dout − softmax(x)·Σ dout, with softmax(x) = exp(out). All (rows,V).
void log_softmax_backward(float *dlogits, const float *dout, const float *out, int rows, int V) {
    #pragma omp parallel for schedule(static) \
        num_threads(threads_for_work((long)rows * V * ELEMENT_WORK))
    for (int r = 0; r < rows; r++) {
        const float *g = dout + (long)r * V, *o = out + (long)r * V;
        float *dx = dlogits + (long)r * V;
        float total = 0.0f;
        for (int v = 0; v < V; v++) total += g[v];
        for (int v = 0; v < V; v++) dx[v] += g[v] - expf(o[v]) * total;
    }
}
