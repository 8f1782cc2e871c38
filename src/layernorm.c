// layernorm.c: LayerNorm forward and backward (see layernorm.h for the formulas).
#include "layernorm.h"

#include <math.h>

#include "dims.h"
#include "tensor.h"

// gain (d), then bias (d).
long layernorm_weights_layout(LayerNormWeights *ln, float *base, int d) {
    Layout l = {base, 0};
    LayerNormWeights p = {0};
    p.gain = layout_take(&l, d);
    p.bias = layout_take(&l, d);
    if (base) *ln = p;
    return l.used;
}

// gain 1, bias 0 (no randomness: the norm starts as the identity after normalizing).
void layernorm_weights_init(const LayerNormWeights *ln, int d) {
    for (int j = 0; j < d; j++) {
        ln->gain[j] = 1.0f;
        ln->bias[j] = 0.0f;
    }
}

// LayerNorm of each row: biased variance, ε = LAYERNORM_EPS.               §3.1
// x, out (rows,d); gain, bias (d); mean, rstd (rows).
void layernorm_forward(float *out, LayerNormStats stats, const float *x,
                       const LayerNormWeights *ln, int rows, int d) {
    const float *gain = ln->gain, *bias = ln->bias;
    float *mean = stats.mean, *rstd = stats.rstd;
    // EXERCISE 06 layernorm-forward: normalize each row, then scale by gain and shift by bias
    // TODO: for each of the rows r, with xr = x + r*d (d values) and yr = out + r*d:
    // TODO:     mean μ = Σ_j xr[j] / d,   variance σ² = Σ_j (xr[j] − μ)² / d   (biased:
    // TODO:     divide by d, not d−1, as PyTorch does), rstd = 1 / sqrtf(σ² + LAYERNORM_EPS),
    // TODO:     yr[j] = gain[j]·(xr[j] − μ)·rstd + bias[j]                            (§3.1)
    // TODO: and keep mean[r] = μ, rstd[r] = rstd: the backward reads them. out is
    // TODO: overwritten. ε goes inside the square root. Computing σ² from the deviations
    // TODO: (two passes) is more precise than E[x²] − μ².
    // STUB: vec_zero(out, (long)rows * d);
    // STUB: vec_zero(mean, rows);
    // STUB: vec_zero(rstd, rows);
    // SOLUTION
    #pragma omp parallel for schedule(static) \
        num_threads(threads_for_work((long)rows * d * ELEMENT_WORK))
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (long)r * d;
        float *yr = out + (long)r * d;
        // Two passes (mean, then squared deviations) rather than E[x²] − μ², which
        // loses precision when |μ| is large next to σ.
        float sum = 0.0f;
        for (int j = 0; j < d; j++) sum += xr[j];
        float mu = sum / (float)d;
        float var = 0.0f;
        for (int j = 0; j < d; j++) {
            float c = xr[j] - mu;
            var += c * c;
        }
        var /= (float)d;
        float rs = 1.0f / sqrtf(var + LAYERNORM_EPS);
        for (int j = 0; j < d; j++) yr[j] = gain[j] * ((xr[j] - mu) * rs) + bias[j];
        mean[r] = mu;
        rstd[r] = rs;
    }
    // END EXERCISE
}

// Backward of layernorm_forward. In the forward pass this was
//     out = gain·x̂ + bias,  x̂ = (x − mean)·rstd.
// dout, x, dx (rows,d); gain, dgain, dbias (d); mean, rstd (rows).
void layernorm_backward(float *dx, const LayerNormWeights *dln, const float *dout,
                        const float *x, LayerNormStats stats, const LayerNormWeights *ln,
                        int rows, int d) {
    const float *gain = ln->gain, *mean = stats.mean, *rstd = stats.rstd;
    float *dgain = dln->gain, *dbias = dln->bias;
    // EXERCISE 06 layernorm-backward: dx, dgain and dbias of the LayerNorm
    // TODO: with x̂ = (x − mean[r])·rstd[r] (recompute it from x and the forward's mean, rstd)
    // TODO: and dx̂ = dout·gain, each row r of d values gets
    // TODO:     dx[j] += rstd·(dx̂[j] − mean_k(dx̂[k]) − x̂[j]·mean_k(dx̂[k]·x̂[k]))
    // TODO: (the two means subtract what flows back through μ and through σ), and over
    // TODO: all rows   dgain[j] += Σ_r dout[r,j]·x̂[r,j],   dbias[j] += Σ_r dout[r,j].
    // TODO: ACCUMULATE (+=) into dx, dgain and dbias: the caller zeroes them.
    // STUB: (void)gain; (void)mean; (void)rstd; (void)dgain; (void)dbias;
    // SOLUTION
    // dx: rows are independent, so they can run in parallel.
    #pragma omp parallel for schedule(static) \
        num_threads(threads_for_work((long)rows * d * ELEMENT_WORK))
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (long)r * d, *dyr = dout + (long)r * d;
        float *dxr = dx + (long)r * d;
        float mu = mean[r], rs = rstd[r];
        float mean_dxhat = 0.0f, mean_dxhat_xhat = 0.0f;
        for (int j = 0; j < d; j++) {
            float dxhat = dyr[j] * gain[j];
            mean_dxhat += dxhat;
            mean_dxhat_xhat += dxhat * (xr[j] - mu) * rs;
        }
        mean_dxhat /= (float)d;
        mean_dxhat_xhat /= (float)d;
        for (int j = 0; j < d; j++) {
            float xhat = (xr[j] - mu) * rs;
            float dxhat = dyr[j] * gain[j];
            dxr[j] += rs * (dxhat - mean_dxhat - xhat * mean_dxhat_xhat);
        }
    }
    // dgain, dbias sum over rows: one sequential pass keeps the sum order fixed.
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (long)r * d, *dyr = dout + (long)r * d;
        float mu = mean[r], rs = rstd[r];
        for (int j = 0; j < d; j++) {
            dgain[j] += dyr[j] * ((xr[j] - mu) * rs);
            dbias[j] += dyr[j];
        }
    }
    // END EXERCISE
}
