// decoder.c: the decoder layer, §3.1 and §3.2.3, with residual dropout, §5.4.
#include "decoder.h"

#include "tensor.h"

// self_attn, ln1, cross_attn, ln2, ffn, ln3: the order of the forward pass (and of the
// checkpoint).
long decoder_layer_weights_layout(DecoderLayerWeights *w, float *base, int d_model, int d_ff) {
    Layout l = {base, 0};
    DecoderLayerWeights p = {0};
    layout_skip(&l, mha_weights_layout(&p.self_attn, layout_next(&l), d_model));
    layout_skip(&l, layernorm_weights_layout(&p.ln1, layout_next(&l), d_model));
    layout_skip(&l, mha_weights_layout(&p.cross_attn, layout_next(&l), d_model));
    layout_skip(&l, layernorm_weights_layout(&p.ln2, layout_next(&l), d_model));
    layout_skip(&l, ffn_weights_layout(&p.ffn, layout_next(&l), d_model, d_ff));
    layout_skip(&l, layernorm_weights_layout(&p.ln3, layout_next(&l), d_model));
    if (base) *w = p;
    return l.used;
}

// Self-attention, cross-attention, then the feed-forward network, from rng; the norms
// need no randomness.
void decoder_layer_weights_init(const DecoderLayerWeights *w, Rng *rng, int d_model, int d_ff) {
    mha_weights_init(&w->self_attn, rng, d_model);
    mha_weights_init(&w->cross_attn, rng, d_model);
    ffn_weights_init(&w->ffn, rng, d_model, d_ff);
    layernorm_weights_init(&w->ln1, d_model);
    layernorm_weights_init(&w->ln2, d_model);
    layernorm_weights_init(&w->ln3, d_model);
}

// The activations in forward order: self-attention, res1, y1, cross-attention, res2,
// y2, hidden, res3, out.
long decoder_layer_acts_layout(DecoderLayerActs *a, float *base, Dims dims) {
    const int rows = dims.B * dims.T, d_model = dims.d_model;
    const long n = (long)rows * d_model;
    Layout l = {base, 0};
    DecoderLayerActs p = {0};
    layout_skip(&l, mha_acts_layout(&p.self_attn, layout_next(&l), mha_dims(dims, dims.T, dims.T)));
    layout_skip(&l, residual_acts_layout(&p.res1, layout_next(&l), rows, d_model));
    p.y1 = layout_take(&l, n);
    layout_skip(&l, mha_acts_layout(&p.cross_attn, layout_next(&l), mha_dims(dims, dims.T, dims.S)));
    layout_skip(&l, residual_acts_layout(&p.res2, layout_next(&l), rows, d_model));
    p.y2 = layout_take(&l, n);
    p.hidden = layout_take(&l, (long)rows * dims.d_ff);
    layout_skip(&l, residual_acts_layout(&p.res3, layout_next(&l), rows, d_model));
    p.out = layout_take(&l, n);
    if (base) *a = p;
    return l.used;
}

// decoder_layer_backward's scratch; each buffer holds one gradient (rows,d_model)
// unless said otherwise.
typedef struct {
    float *dy2;         // dL/dy2: the residual path's share (= dL/dres3.sum), then the FFN's
    float *dffn_out;    // dL/dFFN(y2)
    float *dhidden;     // (rows,d_ff) dL/dhidden, the FFN backward's scratch
    float *dy1;         // dL/dy1: the residual path's share (= dL/dres2.sum), then the
                        // cross-attention queries'
    float *dcross_out;  // dL/dCrossAttention(y1, memory, memory)
    float *dsum1;       // dL/dres1.sum = the residual path's share of dL/dy
    float *dself_out;   // dL/dMaskedSelfAttention(y, y, y)
    float *mha;         // mha_backward's scratch, for the larger of the two attentions
} DecoderLayerScratch;

// Lays s out in base for dims and returns the number of floats (base NULL: only count).
static long decoder_layer_scratch_layout(DecoderLayerScratch *s, float *base, Dims dims) {
    const int rows = dims.B * dims.T;
    const long n = (long)rows * dims.d_model;
    const long mha_self = mha_scratch_floats(mha_dims(dims, dims.T, dims.T));
    const long mha_cross = mha_scratch_floats(mha_dims(dims, dims.T, dims.S));
    Layout l = {base, 0};
    DecoderLayerScratch p = {0};
    p.dy2 = layout_take(&l, n);
    p.dffn_out = layout_take(&l, n);
    p.dhidden = layout_take(&l, (long)rows * dims.d_ff);
    p.dy1 = layout_take(&l, n);
    p.dcross_out = layout_take(&l, n);
    p.dsum1 = layout_take(&l, n);
    p.dself_out = layout_take(&l, n);
    p.mha = layout_take(&l, mha_self > mha_cross ? mha_self : mha_cross);
    if (base) *s = p;
    return l.used;
}

// The scratch decoder_layer_backward carves for dims: its layout, only counted.
long decoder_layer_scratch_floats(Dims dims) {
    return decoder_layer_scratch_layout(NULL, NULL, dims);
}

// y1 = LN(y + Drop(MHA(y,y,y), causal)); y2 = LN(y1 + Drop(MHA(y1,mem,mem)));
// out = LN(y2 + Drop(FFN(y2)))                          §3.1, §3.2.3, §3.3, §5.4
// y, acts->out (B,T,d_model); memory (B,S,d_model).
void decoder_layer_forward(DecoderLayerActs *acts, const float *y, const float *memory,
                           const DecoderLayerWeights *w, const int *tgt_lengths,
                           const int *src_lengths, Dropout drop, Dims dims) {
    const int rows = dims.B * dims.T, d_model = dims.d_model;
    // EXERCISE 07 decoder-layer-forward: masked self-attention, cross-attention, FFN
    // TODO: three sub-layers, each through the residual connection of lesson 06
    // TODO: (residual_forward: LayerNorm(x + Dropout(sub)), with sub already in res.sum):
    // TODO:   y1  = LN1(y  + Drop(MHA(y, y, y)))            keys: tgt_lengths, CAUSAL mask
    // TODO:   y2  = LN2(y1 + Drop(MHA(y1, memory, memory)))  keys: src_lengths, no causal mask
    // TODO:   out = LN3(y2 + Drop(FFN(y2)))                   §3.1, §3.2.3, §3.3, §5.4
    // TODO: y and every y1, y2, out are (B,T,d_model) = (rows,d_model); memory (B,S,d_model).
    // TODO: Write each sub-layer's output straight into its acts->resK.sum, and use the
    // TODO: layer's own buffers (acts->self_attn, acts->y1, acts->hidden, ...): the backward
    // TODO: reads all of them. mha_dims(dims, Tq, Tk) and ffn_dims(dims, rows) make the
    // TODO: sizes; an AttnMask is {.key_lengths = ..., .causal = ...} (lesson 04).
    // STUB: vec_zero(acts->out, (long)rows * d_model);
    // STUB: // the inputs the backward reads, so that it runs (on wrong values) rather than crash
    // STUB: acts->self_attn.x_q = acts->self_attn.x_kv = y;
    // STUB: acts->cross_attn.x_q = acts->y1;
    // STUB: acts->cross_attn.x_kv = memory;
    // STUB: (void)w; (void)tgt_lengths; (void)src_lengths; (void)drop;
    // SOLUTION
    // Sub-layer 1: masked self-attention; position i sees target positions 0..i only,
    // so training on a whole sentence at once cannot peek at the words it must predict.
    const AttnMask self_mask = {.key_lengths = tgt_lengths, .causal = true};
    mha_forward(acts->res1.sum, &acts->self_attn, y, y, &w->self_attn, self_mask,
                mha_dims(dims, dims.T, dims.T));
    residual_forward(acts->y1, &acts->res1, y, &w->ln1, drop, rows, d_model);
    // Sub-layer 2: cross-attention; queries from the decoder, keys/values from memory.
    const AttnMask cross_mask = {.key_lengths = src_lengths, .causal = false};
    mha_forward(acts->res2.sum, &acts->cross_attn, acts->y1, memory, &w->cross_attn,
                cross_mask, mha_dims(dims, dims.T, dims.S));
    residual_forward(acts->y2, &acts->res2, acts->y1, &w->ln2, drop, rows, d_model);
    // Sub-layer 3: the feed-forward network.
    feedforward_forward(acts->res3.sum, acts->hidden, acts->y2, &w->ffn, ffn_dims(dims, rows));
    residual_forward(acts->out, &acts->res3, acts->y2, &w->ln3, drop, rows, d_model);
    // END EXERCISE
}

// Backward of decoder_layer_forward, from the last line up. In the forward pass:
//   out  = LN3(sum3), sum3 = y2 + Drop(FFN(y2))          -> dy2
//   y2   = LN2(sum2), sum2 = y1 + Drop(MHA(y1, mem, mem)) -> dy1, dmemory += ...
//   y1   = LN1(sum1), sum1 = y + Drop(MHA(y, y, y))      -> dy += ...
void decoder_layer_backward(float *dy, float *dmemory, DecoderLayerWeights *dw,
                            float *scratch, const float *dout, const DecoderLayerActs *acts,
                            const DecoderLayerWeights *w, Dims dims) {
    const int rows = dims.B * dims.T, d_model = dims.d_model;
    DecoderLayerScratch s = {0};
    decoder_layer_scratch_layout(&s, scratch, dims);

    // Sub-layer 3. y2 feeds only sum3, so dL/dsum3 is computed straight into dy2.
    residual_backward(s.dy2, s.dffn_out, &dw->ln3, dout, &acts->res3, &w->ln3, rows, d_model);
    feedforward_backward(s.dy2, &dw->ffn, s.dhidden, s.dffn_out, acts->hidden, acts->y2,
                         &w->ffn, ffn_dims(dims, rows));
    // Sub-layer 2. y1 feeds sum2 (residual) and the cross-attention queries.
    residual_backward(s.dy1, s.dcross_out, &dw->ln2, s.dy2, &acts->res2, &w->ln2, rows,
                      d_model);
    mha_backward(s.dy1, dmemory, &dw->cross_attn, s.mha, s.dcross_out, &acts->cross_attn,
                 &w->cross_attn, mha_dims(dims, dims.T, dims.S));
    // Sub-layer 1.
    residual_backward(s.dsum1, s.dself_out, &dw->ln1, s.dy1, &acts->res1, &w->ln1, rows,
                      d_model);
    vec_add(dy, s.dsum1, (long)rows * d_model);  // the residual path
    mha_backward(dy, dy, &dw->self_attn, s.mha, s.dself_out, &acts->self_attn, &w->self_attn,
                 mha_dims(dims, dims.T, dims.T));
}

// ---- incremental decoding (decoder.h) ---------------------------------------------------

// self_k, self_v (B,h,L,d_k), then cross_k, cross_v (B,h,L,d_k) sized for S = L.
long decoder_layer_cache_layout(DecoderLayerCache *c, float *base, Dims dims) {
    const long n = (long)dims.B * dims.T * dims.d_model;  // B·h·L·d_k
    Layout l = {base, 0};
    DecoderLayerCache p = {0};
    p.self_k = layout_take(&l, n);
    p.self_v = layout_take(&l, n);
    p.cross_k = layout_take(&l, n);
    p.cross_v = layout_take(&l, n);
    if (base) *c = p;
    return l.used;
}

// q, k, v, heads, weights, res, y1, y2, hidden (shapes in decoder.h).
long decoder_step_scratch_layout(DecoderStepScratch *s, float *base, Dims dims) {
    const long n = (long)dims.B * dims.d_model;
    const long keys = dims.T > dims.S ? dims.T : dims.S;
    Layout l = {base, 0};
    DecoderStepScratch p = {0};
    p.q = layout_take(&l, n);
    p.k = layout_take(&l, n);
    p.v = layout_take(&l, n);
    p.heads = layout_take(&l, n);
    p.weights = layout_take(&l, (long)dims.B * dims.h * keys);
    layout_skip(&l, residual_acts_layout(&p.res, layout_next(&l), dims.B, dims.d_model));
    p.y1 = layout_take(&l, n);
    p.y2 = layout_take(&l, n);
    p.hidden = layout_take(&l, (long)dims.B * dims.d_ff);
    if (base) *s = p;
    return l.used;
}

// K = memory·W^K + b_k, V = memory·W^V + b_v, split by head: the cross-attention keys
// and values of §3.2.3, the same at every decoding step. memory (B,S,d_model) ->
// c->cross_k, c->cross_v (B,h,S,d_k); scratch (B,S,d_model).
void decoder_layer_cache_memory(DecoderLayerCache *c, float *scratch, const float *memory,
                                const DecoderLayerWeights *w, Dims dims) {
    const int rows = dims.B * dims.S, d = dims.d_model;
    mha_linear(scratch, memory, w->cross_attn.w_k, w->cross_attn.b_k, rows, d);
    mha_split_heads(c->cross_k, scratch, dims.B, dims.S, d, dims.h);
    mha_linear(scratch, memory, w->cross_attn.w_v, w->cross_attn.b_v, rows, d);
    mha_split_heads(c->cross_v, scratch, dims.B, dims.S, d, dims.h);
}

// Where the cached keys of one (row, head) start, and how many positions apart rows of
// different (row, head) pairs are.
typedef struct {
    const float *k, *v;  // (B,h,stride,d_k)
    int stride;          // positions per (row, head) block: L for self, S for cross
    int n_keys;          // keys the query sees: t + 1 (self) or S (cross)
    const int *lengths;  // (B) keys j >= lengths[b] are padding; NULL: none
} CachedKeys;

// heads (B,d_model) = Attention(q, K, V) of §3.2.1 Eq. (1) for one query position per
// row, each head against its cached keys. q (B,d_model) is (B,h,1,d_k) (one position:
// the same layout); weights (B,h,n_keys) scratch. Each (row, head) is one
// attention_forward call on a contiguous (n_keys,d_k) block of the cache.
static void attend_cached(float *heads, float *weights, const float *q, CachedKeys kv,
                          Dims dims) {
    const int h = dims.h, d_k = dims.d_model / dims.h;
    const AttnDims one = {.B = 1, .h = 1, .Tq = 1, .Tk = kv.n_keys, .d_k = d_k};
    #pragma omp parallel for schedule(static) num_threads(threads_for_loop( \
        dims.B * h, (long)dims.B * h * kv.n_keys * (2 * d_k + ELEMENT_WORK)))
    for (int bh = 0; bh < dims.B * h; bh++) {
        const long block = (long)bh * kv.stride * d_k;
        const AttnMask mask = {.key_lengths = kv.lengths ? kv.lengths + bh / h : NULL,
                               .causal = false};
        attention_forward(heads + (long)bh * d_k, weights + (long)bh * kv.n_keys,
                          (AttnInputs){.q = q + (long)bh * d_k, .k = kv.k + block,
                                       .v = kv.v + block},
                          mask, one);
    }
}

// Copies this position's key and value (B,d_model) into row t of every (row, head)
// block of the self-attention cache.
static void append_self_kv(DecoderLayerCache *c, const float *k, const float *v, int t,
                           Dims dims) {
    const int h = dims.h, d_k = dims.d_model / dims.h;
    for (int bh = 0; bh < dims.B * h; bh++) {
        const long at = ((long)bh * dims.T + t) * d_k;
        vec_copy(c->self_k + at, k + (long)bh * d_k, d_k);
        vec_copy(c->self_v + at, v + (long)bh * d_k, d_k);
    }
}

// decoder_layer_forward for the one new position t of each row (formulas at the top
// of decoder.h), without dropout:
//   y1 = LN1(y + MHA(y, y_0..t, y_0..t))   keys/values 0..t-1 from the cache
//   y2 = LN2(y1 + MHA(y1, memory, memory)) keys/values projected once
//   out = LN3(y2 + FFN(y2))
// y, out (B,d_model). No mask is needed in the self-attention: position t sees 0..t,
// which is exactly what the cache holds.
void decoder_layer_step(float *out, DecoderLayerCache *c, DecoderStepScratch *s,
                        const float *y, const DecoderLayerWeights *w, const int *src_lengths,
                        int t, Dims dims) {
    const int B = dims.B, d = dims.d_model;
    const MhaWeights *sa = &w->self_attn, *ca = &w->cross_attn;
    // Sub-layer 1: the new row's query, key and value; the key and value join the cache.
    mha_linear(s->q, y, sa->w_q, sa->b_q, B, d);
    mha_linear(s->k, y, sa->w_k, sa->b_k, B, d);
    mha_linear(s->v, y, sa->w_v, sa->b_v, B, d);
    append_self_kv(c, s->k, s->v, t, dims);
    CachedKeys self = {.k = c->self_k, .v = c->self_v, .stride = dims.T, .n_keys = t + 1};
    attend_cached(s->heads, s->weights, s->q, self, dims);
    mha_linear(s->res.sum, s->heads, sa->w_o, sa->b_o, B, d);
    residual_forward(s->y1, &s->res, y, &w->ln1, DROPOUT_OFF, B, d);
    // Sub-layer 2: cross-attention over the memory's cached keys and values.
    mha_linear(s->q, s->y1, ca->w_q, ca->b_q, B, d);
    CachedKeys cross = {.k = c->cross_k, .v = c->cross_v, .stride = dims.S, .n_keys = dims.S,
                        .lengths = src_lengths};
    attend_cached(s->heads, s->weights, s->q, cross, dims);
    mha_linear(s->res.sum, s->heads, ca->w_o, ca->b_o, B, d);
    residual_forward(s->y2, &s->res, s->y1, &w->ln2, DROPOUT_OFF, B, d);
    // Sub-layer 3: the feed-forward network.
    feedforward_forward(s->res.sum, s->hidden, s->y2, &w->ffn, ffn_dims(dims, B));
    residual_forward(out, &s->res, s->y2, &w->ln3, DROPOUT_OFF, B, d);
}

// dst row r = src row parents[r] for r < k, a row being `row` floats (one hypothesis'
// (h,positions,d_k) block).
static void gather_rows(float *dst, const float *src, const int *parents, int k, long row) {
    for (int r = 0; r < k; r++) vec_copy(dst + r * row, src + parents[r] * row, row);
}

// Row r of every cache tensor becomes old row parents[r] (decoder.h). Each tensor is
// gathered into scratch, then copied back (parents may repeat and overlap).
void decoder_layer_cache_reorder(DecoderLayerCache *c, float *scratch, const int *parents,
                                 int k, int t, Dims dims) {
    (void)t;  // whole rows are copied: positions t.. are unused but cheap next to a step
    const long self_row = (long)dims.T * dims.d_model, cross_row = (long)dims.S * dims.d_model;
    float *tensors[4] = {c->self_k, c->self_v, c->cross_k, c->cross_v};
    const long rows[4] = {self_row, self_row, cross_row, cross_row};
    for (int i = 0; i < 4; i++) {
        gather_rows(scratch, tensors[i], parents, k, rows[i]);
        vec_copy(tensors[i], scratch, k * rows[i]);
    }
}
