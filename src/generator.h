// generator.h: the last step of the model, from decoder vectors to next-token
// probabilities, §3.4: "We also use the usual learned linear transformation and softmax
// function to convert the decoder output to predicted next-token probabilities. In our
// model, we share the same weight matrix between the two embedding layers and the
// pre-softmax linear transformation."
//
// So the "linear transformation" is the embedding table E (V,d_model) itself, used
// transposed: logits = y·Eᵀ (no bias, no √d_model: that scale is only in the lookup).
// A token's logit is the dot product of the decoder vector with that token's embedding.
// The softmax is applied as a log-softmax (the loss needs log-probabilities, and the
// log form cannot underflow to log 0).
#ifndef GENERATOR_H
#define GENERATOR_H

// logits (rows,V) = y (rows,d_model) · embeddingᵀ; embedding is (V,d_model). §3.4
// logits is overwritten.
void generator_forward(float *logits, const float *y, const float *embedding,
                       int rows, int d_model, int V);

// Backward of generator_forward: dy (rows,d_model) += dlogits·E and
// dembedding (V,d_model) += dlogitsᵀ·y. ACCUMULATES (the embedding lookups add to the
// same dembedding).
void generator_backward(float *dy, float *dembedding, const float *dlogits, const float *y,
                        const float *embedding, int rows, int d_model, int V);

// out[r,v] = logits[r,v] − log Σ_u exp(logits[r,u]), each row (rows,V), computed
// stably (the row maximum is subtracted first). out may alias logits.
void log_softmax_forward(float *out, const float *logits, int rows, int V);

// Backward of log_softmax_forward. With p = exp(out) (the softmax), the forward was
// out_v = x_v − log Σ exp(x_u), so dx_v += dout_v − p_v · Σ_u dout_u. ACCUMULATES into
// dlogits (rows,V); out is the forward's output; dlogits must not alias dout.
void log_softmax_backward(float *dlogits, const float *dout, const float *out, int rows, int V);

#endif
