// positional.h: sinusoidal positional encoding (§3.5 "Positional Encoding").
//
// Attention by itself is blind to order: permuting the input tokens permutes the
// outputs the same way. The paper adds to each embedding a fixed vector that depends
// only on its position:
//     PE(pos, 2i)   = sin(pos / 10000^(2i/d_model))
//     PE(pos, 2i+1) = cos(pos / 10000^(2i/d_model))
// Pair i is a sinusoid of angular frequency ω_i = 10000^(-2i/d_model), i.e. wavelength
// 2π/ω_i, from 2π (i = 0) up to 10000·2π (as 2i -> d_model). Because
// PE(pos+k) is a fixed rotation of PE(pos) in each (sin, cos) pair, "the model [can]
// easily learn to attend by relative positions". The table has no parameters.
#ifndef POSITIONAL_H
#define POSITIONAL_H

// Fills pe (max_len, d_model) with PE(pos, j) for pos in [0, max_len).        §3.5
// d_model must be even (each frequency is a sin/cos pair); an odd d_model is a
// programmer error caught by assert(). Angles are computed in double and rounded
// once, so large positions stay accurate.
void positional_encoding_table(float *pe, int max_len, int d_model);

// x[b,t,:] += pe[t,:] for every b, t: "we add positional encodings to the input
// embeddings at the bottoms of the encoder and decoder stacks".             §3.5
// x is (B,T,d_model); pe is (max_len,d_model) with T <= max_len.
// There is no positional_backward: adding a constant is the identity for gradients,
// dx = dout, and the table itself is not learned.
void positional_add(float *x, const float *pe, int B, int T, int d_model);

#endif
