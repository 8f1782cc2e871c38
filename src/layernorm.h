// layernorm.h: layer normalization (Ba et al. 2016), used after every residual
// connection in the paper's post-LN layers, §3.1: "the output of each sub-layer is
// LayerNorm(x + Sublayer(x))".
//
// For each row x of d_model numbers (one token's vector):
//     μ = (1/d) Σ_j x_j                 σ² = (1/d) Σ_j (x_j − μ)²   (biased variance)
//     y_j = g_j · (x_j − μ) / √(σ² + ε) + b_j
// with a learned gain g and bias b (d_model each) and ε = 1e-5, the defaults of
// PyTorch's nn.LayerNorm (the paper gives no ε). Each token is normalized on its own:
// nothing mixes across positions or sequences, so padding never leaks into real tokens.
#ifndef LAYERNORM_H
#define LAYERNORM_H

#define LAYERNORM_EPS 1e-5f

// out (rows,d) = LayerNorm(x (rows,d)) with gain, bias (d). Also keeps, per row, the
// mean (rows) and rstd = 1/√(σ² + ε) (rows) that the backward needs. out may alias x.
void layernorm_forward(float *out, float *mean, float *rstd, const float *x,
                       const float *gain, const float *bias, int rows, int d);

// Backward of layernorm_forward. With x̂ = (x − μ)·rstd, the forward was y = g·x̂ + b, so
//     dg += Σ_rows dy·x̂        db += Σ_rows dy
//     dx += rstd · (dx̂ − mean(dx̂) − x̂ · mean(dx̂ · x̂)),   dx̂ = dy·g
// (the two mean terms are the paths through μ and σ). ACCUMULATES into dx, dgain,
// dbias. x is the forward's input (not aliased by out); dx must not alias dout.
void layernorm_backward(float *dx, float *dgain, float *dbias, const float *dout,
                        const float *x, const float *mean, const float *rstd,
                        const float *gain, int rows, int d);

#endif
