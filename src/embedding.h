// embedding.h: token embeddings (§3.4 "Embeddings and Softmax").
//
// "We use learned embeddings to convert the input tokens and output tokens to vectors
// of dimension d_model. ... In our model, we share the same weight matrix between the
// two embedding layers and the pre-softmax linear transformation ... In the embedding
// layers, we multiply those weights by √d_model."
//
// The table is (V, d_model): row v is the vector of token v. The SAME table is used
//   1. for source tokens (encoder input),
//   2. for target tokens (decoder input), and
//   3. as the pre-softmax projection: logits = x · tableᵀ (weight tying). That product
//      lives in the generator (lesson 07, done with matmul_nt), not here; its gradient
//      also accumulates into the same dtable, which is why embedding_backward adds (+=).
// Note the √d_model factor applies only to the lookup, not to the tied projection.
#ifndef EMBEDDING_H
#define EMBEDDING_H

// out[i,:] = table[tokens[i],:] · √d_model                               §3.4
// out is (n_tokens, d_model); tokens is (n_tokens); table is (V, d_model).
// n_tokens is typically B·T, the flattened batch. Every token id must be in [0, V):
// an id out of range is a programmer error (the tokenizer never produces one), so it
// is caught by assert() with the offending position, not clamped: clamping would
// silently train the wrong row. V is passed only for that check.
void embedding_forward(float *out, const int *tokens, const float *table,
                       int n_tokens, int V, int d_model);

// Backward of embedding_forward. In the forward pass this was
//   out[i,:] = table[tokens[i],:] · √d_model
// so dtable[tokens[i],:] += dout[i,:] · √d_model for every i. A token that appears
// several times collects the sum of its rows' gradients; rows of tokens that do not
// appear are untouched. dtable is (V, d_model), dout is (n_tokens, d_model).
// Accumulates: the caller zeroes dtable once per step (the tied projection adds too).
void embedding_backward(float *dtable, const float *dout, const int *tokens,
                        int n_tokens, int V, int d_model);

#endif
