// positional.c: the sinusoidal positional encoding table (§3.5) and its addition to
// the embeddings.
#include "positional.h"

#include <assert.h>
#include <math.h>

// PE(pos,2i) = sin(pos / 10000^(2i/d_model)),  PE(pos,2i+1) = cos(same).   §3.5
// pe is (max_len, d_model).
void positional_encoding_table(float *pe, int max_len, int d_model) {
    assert(d_model > 0 && d_model % 2 == 0 && "positional_encoding_table: d_model must be even");
    // EXERCISE 03 sinusoid-table: fill the (max_len, d_model) table of §3.5
    // TODO: for every position pos < max_len and every i < d_model/2, with the angle
    // TODO:     pos / 10000^(2i/d_model)   (compute it in double: pow, sin, cos),
    // TODO: write row pos = pe + pos*d_model as  row[2i] = sin(angle), row[2i+1] = cos(angle).
    // STUB: for (long n = 0; n < (long)max_len * d_model; n++) pe[n] = 0.0f;
    // SOLUTION
    for (int pos = 0; pos < max_len; pos++) {
        float *row = pe + (long)pos * d_model;
        for (int i = 0; i < d_model / 2; i++) {
            // ω_i = 10000^(-2i/d_model): wavelengths grow geometrically from 2π.
            double omega = pow(10000.0, -2.0 * i / (double)d_model);
            double angle = (double)pos * omega;
            row[2 * i] = (float)sin(angle);
            row[2 * i + 1] = (float)cos(angle);
        }
    }
    // END EXERCISE
}

// x[b,t,:] += pe[t,:]                                                       §3.5
// x is (B,T,d_model); pe is (max_len,d_model), T <= max_len. The gradient passes
// through unchanged (d x = d out), so there is no backward function.
void positional_add(float *x, const float *pe, int B, int T, int d_model) {
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            float *xr = x + ((long)b * T + t) * d_model;
            const float *pr = pe + (long)t * d_model;
            for (int j = 0; j < d_model; j++) xr[j] += pr[j];
        }
}
