// residual.c: the residual connection with dropout and LayerNorm, §3.1, §5.4 (see
// residual.h for the two halves).
#include "residual.h"

#include "dims.h"
#include "tensor.h"

// sum (rows,d_model), mask (rows,d_model), then the LayerNorm's mean and rstd (rows).
long residual_acts_layout(ResidualActs *a, float *base, int rows, int d_model) {
    const long n = (long)rows * d_model;
    Layout l = {base, 0};
    ResidualActs p = {0};
    p.sum = layout_take(&l, n);
    p.mask = layout_take(&l, n);
    p.norm.mean = layout_take(&l, rows);
    p.norm.rstd = layout_take(&l, rows);
    if (base) *a = p;
    return l.used;
}

// sum = x + Dropout(sub), in place over sum, which holds sub on entry.     §3.1, §5.4
void residual_add_forward(ResidualActs *acts, const float *x, Dropout drop, int rows,
                          int d_model) {
    const long n = (long)rows * d_model;
    // EXERCISE 06 residual-add-forward: the residual sum x + Dropout(sub), in place
    // TODO: acts->sum (rows,d_model) holds the sub-layer's output sub on entry; leave
    // TODO: sum = x + Dropout(sub) in it                                     §3.1, §5.4
    // TODO: with dropout_forward (it may work in place; its mask goes to acts->mask).
    // TODO: Record acts->dropped = dropout_active(drop): the backward needs to know whether a
    // TODO: mask was written (in evaluation it is not).
    // STUB: acts->dropped = false;
    // STUB: (void)n;
    // SOLUTION
    acts->dropped = dropout_active(drop);
    dropout_forward(acts->sum, acts->mask, acts->sum, n, drop);
    vec_add(acts->sum, x, n);  // the residual connection
    // END EXERCISE
}

// In the forward pass sum = x + Dropout(sub): dsublayer = dsum·mask (mask unused when
// nothing was dropped); the x term is left to the caller (residual.h).
void residual_add_backward(float *dsublayer, const float *dsum, const ResidualActs *acts,
                           int rows, int d_model) {
    const long n = (long)rows * d_model;
    // EXERCISE 06 residual-add-backward: the sub-layer's share of the gradient of the sum
    // TODO: in the forward pass sum = x + Dropout(sub). Write dsublayer (rows,d_model) =
    // TODO: dL/dsub from dsum (rows,d_model): through the dropout mask acts->mask, or
    // TODO: unchanged when acts->dropped is false (no mask was written). dsublayer is
    // TODO: OVERWRITTEN (dropout_backward accumulates, so start from zero). The x term
    // TODO: (dL/dx gets dsum itself) is the caller's.
    // STUB: vec_zero(dsublayer, n);
    // SOLUTION
    vec_zero(dsublayer, n);
    dropout_backward(dsublayer, dsum, acts->dropped ? acts->mask : NULL, n);
    // END EXERCISE
}

// out = LayerNorm(sum)                                                        §3.1
void residual_norm_forward(float *out, ResidualActs *acts, const LayerNormWeights *ln,
                           int rows, int d_model) {
    // EXERCISE 06 residual-norm-forward: the after half, out = LayerNorm(sum)
    // TODO: out (rows,d_model) = LayerNorm(acts->sum) with the weights ln       §3.1
    // TODO: (your layernorm_forward), keeping its mean and rstd in acts->norm, where
    // TODO: residual_norm_backward will look for them.
    // STUB: vec_zero(out, (long)rows * d_model);
    // SOLUTION
    layernorm_forward(out, acts->norm, acts->sum, ln, rows, d_model);
    // END EXERCISE
}

// In the forward pass out = LayerNorm(sum): dsum = dLayerNorm(dout), from zero.
void residual_norm_backward(float *dsum, const LayerNormWeights *dln, const float *dout,
                            const ResidualActs *acts, const LayerNormWeights *ln, int rows,
                            int d_model) {
    vec_zero(dsum, (long)rows * d_model);
    layernorm_backward(dsum, dln, dout, acts->sum, acts->norm, ln, rows, d_model);
}

// out = LayerNorm(x + Dropout(Sublayer(x))): the before half, then the after half.
void residual_forward(float *out, ResidualActs *acts, const float *x,
                      const LayerNormWeights *ln, Dropout drop, int rows, int d_model) {
    residual_add_forward(acts, x, drop, rows, d_model);
    residual_norm_forward(out, acts, ln, rows, d_model);
}

// The forward's lines in reverse:
//   out = LayerNorm(sum)          -> dsum = dLayerNorm(dout)
//   sum = x + Dropout(sub)        -> dsublayer = dsum·mask (and dL/dx gets dsum)
void residual_backward(float *dsum, float *dsublayer, const LayerNormWeights *dln,
                       const float *dout, const ResidualActs *acts,
                       const LayerNormWeights *ln, int rows, int d_model) {
    residual_norm_backward(dsum, dln, dout, acts, ln, rows, d_model);
    residual_add_backward(dsublayer, dsum, acts, rows, d_model);
}
