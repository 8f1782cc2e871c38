// dims.h: the paper's dimension letters in small structs, and the one helper every
// component uses to lay its buffers out.
//
// A layer call never takes a row of bare ints (which 1 is B, which is h?): it takes
// one of these, written with the field names at the call site, e.g.
//     attention_forward(out, weights, qkv, ATTN_NO_MASK,
//                       (AttnDims){.B = 1, .h = 1, .Tq = T, .Tk = T, .d_k = D});
// The letters are the paper's and the README's, defined once:
//   B batch size · S source length · T target length · d_model model width ·
//   h heads · d_k = d_model / h · d_ff feed-forward width.
//
// Lesson 04 introduces the header (attention is the first component with more than
// two sizes); later lessons use the rest of it.
#ifndef DIMS_H
#define DIMS_H

#include <stddef.h>

// One scaled dot-product attention call (§3.2.1): B sequences, h heads each, Tq queries
// attending to Tk keys, d_k numbers per query, key and value.
typedef struct {
    int B, h, Tq, Tk, d_k;
} AttnDims;

// One multi-head attention sub-layer (§3.2.2): Tq query rows of width d_model attend to
// Tk key/value rows, split into h heads of d_k = d_model / h. Self-attention has
// Tq == Tk; cross-attention has Tq = T (decoder) and Tk = S (encoder).
typedef struct {
    int B, Tq, Tk, d_model, h;
} MhaDims;

// The position-wise feed-forward network (§3.3): rows token vectors (B·S or B·T) of
// width d_model, an inner layer of width d_ff.
typedef struct {
    int rows, d_model, d_ff;
} FfnDims;

// An encoder or decoder layer, a stack, the model (§3.1): B sentences, S source and T
// target positions (an encoder layer uses S only), and the layer widths.
typedef struct {
    int B, S, T, d_model, h, d_ff;
} Dims;

// The multi-head sizes of a layer's attention with Tq queries over Tk keys.
static inline MhaDims mha_dims(Dims d, int Tq, int Tk) {
    return (MhaDims){.B = d.B, .Tq = Tq, .Tk = Tk, .d_model = d.d_model, .h = d.h};
}

// The feed-forward sizes of a layer over `rows` token vectors.
static inline FfnDims ffn_dims(Dims d, int rows) {
    return (FfnDims){.rows = rows, .d_model = d.d_model, .d_ff = d.d_ff};
}

// ---- laying out a struct of buffers -------------------------------------------------
//
// Every struct of float pointers (a layer's weights, a layer's activations, the
// model's) has ONE routine, x_layout(struct *, float *base, dims), that walks its
// fields in memory order and calls layout_take for each. With base == NULL it only
// counts (that is how a caller sizes the buffer); with a buffer it also hands out the
// pointers. So the size and the carving can never disagree.
typedef struct {
    float *base;  // the buffer being carved, or NULL when only counting
    long used;    // floats handed out so far
} Layout;

// The next n floats of the buffer (NULL when only counting).
static inline float *layout_take(Layout *l, long n) {
    float *p = l->base ? l->base + l->used : NULL;
    l->used += n;
    return p;
}

// Where the next field starts (NULL when only counting): the base to pass to a nested
// struct's own _layout, whose count then goes to layout_skip.
static inline float *layout_next(const Layout *l) { return l->base ? l->base + l->used : NULL; }

// Moves past n floats that a nested _layout has just carved.
static inline void layout_skip(Layout *l, long n) { l->used += n; }

#endif
