// embedding.c: token embedding lookup scaled by √d_model (§3.4), and its backward.
#include "embedding.h"

#include <assert.h>
#include <math.h>
#include <string.h>

// §3.4: "In the embedding layers, we multiply those weights by √d_model."
// out is (n_tokens, d_model); tokens is (n_tokens); table is (V, d_model).
void embedding_forward(float *out, const int *tokens, const float *table,
                       int n_tokens, int V, int d_model) {
    const float scale = sqrtf((float)d_model);
    for (int i = 0; i < n_tokens; i++) {
        // A bad id would read another row (or outside the table): stop here instead.
        assert(tokens[i] >= 0 && tokens[i] < V && "embedding_forward: token id out of [0, V)");
        const float *row = table + (long)tokens[i] * d_model;
        float *o = out + (long)i * d_model;
        for (int j = 0; j < d_model; j++) o[j] = row[j] * scale;
    }
}

// In the forward pass this was out[i,:] = table[tokens[i],:] · √d_model, so each
// output row sends its gradient, times the same √d_model, back to the row it read.
// dtable is (V, d_model); dout is (n_tokens, d_model). Accumulates (+=).
void embedding_backward(float *dtable, const float *dout, const int *tokens,
                        int n_tokens, int V, int d_model) {
    const float scale = sqrtf((float)d_model);
    for (int i = 0; i < n_tokens; i++) {
        assert(tokens[i] >= 0 && tokens[i] < V && "embedding_backward: token id out of [0, V)");
        float *drow = dtable + (long)tokens[i] * d_model;
        const float *d = dout + (long)i * d_model;
        // += not =: a token used twice gets both gradients (and the tied projection's).
        for (int j = 0; j < d_model; j++) drow[j] += d[j] * scale;
    }
}
