// embedding.c: token embedding lookup scaled by √d_model (§3.4), and its backward.
#include "embedding.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>

// Stops on an assert, naming the caller (who), the id and its position, unless every one
// of the n_tokens ids lies in [0, V): a bad id would read (or, backward, write) another
// row or outside the table, and clamping it would silently train the wrong row.
static void check_token_ids(const int *tokens, int n_tokens, int V, const char *who) {
    for (int i = 0; i < n_tokens; i++)
        if (tokens[i] < 0 || tokens[i] >= V) {
            fprintf(stderr, "%s: token id %d at position %d is out of [0, %d)\n", who, tokens[i], i, V);
            assert(!"token id out of [0, V)");
        }
}

// §3.4: "In the embedding layers, we multiply those weights by √d_model."
// out is (n_tokens, d_model); tokens is (n_tokens); table is (V, d_model).
void embedding_forward(float *out, const int *tokens, const float *table,
                       int n_tokens, int V, int d_model) {
    check_token_ids(tokens, n_tokens, V, "embedding_forward");
    // EXERCISE 02 embedding-forward: look up each token's row, times √d_model (§3.4)
    // TODO: tokens is (n_tokens), each id already checked to be in [0, V); table is
    // TODO: (V, d_model), row v starting at table + v*d_model; out is (n_tokens, d_model).
    // TODO: Write (=, not +=) out[i,:] = table[tokens[i],:] · √d_model for every i: the
    // TODO: scale is sqrtf(d_model), the same for every entry (§3.4, "we multiply those
    // TODO: weights by √d_model"). Index with long: V·d_model can be large.
    // STUB: for (long n = 0; n < (long)n_tokens * d_model; n++) out[n] = 0.0f;
    // STUB: (void)tokens; (void)table;
    // SOLUTION
    const float scale = sqrtf((float)d_model);
    for (int i = 0; i < n_tokens; i++) {
        const float *row = table + (long)tokens[i] * d_model;
        float *o = out + (long)i * d_model;
        for (int j = 0; j < d_model; j++) o[j] = row[j] * scale;
    }
    // END EXERCISE
}

// In the forward pass this was out[i,:] = table[tokens[i],:] · √d_model, so each
// output row sends its gradient, times the same √d_model, back to the row it read.
// dtable is (V, d_model); dout is (n_tokens, d_model). Accumulates (+=).
void embedding_backward(float *dtable, const float *dout, const int *tokens,
                        int n_tokens, int V, int d_model) {
    check_token_ids(tokens, n_tokens, V, "embedding_backward");
    // EXERCISE 02 embedding-backward: send each output row's gradient back to its row
    // TODO: The forward wrote out[i,:] = table[tokens[i],:] · √d_model. dout is
    // TODO: (n_tokens, d_model), the gradient of the loss with respect to out; dtable is
    // TODO: (V, d_model). By the chain rule, row tokens[i] of dtable gets dout[i,:] times
    // TODO: the same √d_model. ADD it (+=): a token that occurs twice collects both rows'
    // TODO: gradients, and the tied generator (lesson 07) adds into the same dtable. Rows
    // TODO: of tokens that do not occur stay as they are.
    // STUB: (void)dtable; (void)dout; (void)tokens;
    // SOLUTION
    const float scale = sqrtf((float)d_model);
    for (int i = 0; i < n_tokens; i++) {
        float *drow = dtable + (long)tokens[i] * d_model;
        const float *d = dout + (long)i * d_model;
        // += not =: a token used twice gets both gradients (and the tied projection's).
        for (int j = 0; j < d_model; j++) drow[j] += d[j] * scale;
    }
    // END EXERCISE
}
