// model.c: the whole Transformer, Figure 1 of the paper: memory management, the
// encoder and decoder stacks, the tied generator, and the backward through all of it.
#include "model.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "decoder.h"
#include "dims.h"
#include "dropout.h"
#include "embedding.h"
#include "encoder.h"
#include "generator.h"
#include "positional.h"
#include "tensor.h"

// ---------------------------------------------------------------------------------
// Sizes
// ---------------------------------------------------------------------------------

// Every check a configuration must pass before anything is allocated (model.h).
bool model_config_valid(const ModelConfig *cfg, ErrorMessage *err) {
    if (cfg->vocab_size < 4)
        return error_set(err, "model: vocab_size %d must be >= 4 (PAD, BOS, EOS and a token)",
                         cfg->vocab_size);
    if (cfg->d_model <= 0 || cfg->n_heads <= 0 || cfg->d_ff <= 0 || cfg->n_layers <= 0 ||
        cfg->max_len <= 0 || cfg->max_batch <= 0)
        return error_set(err, "model: d_model, n_heads, d_ff, n_layers, max_len and max_batch "
                              "must all be positive");
    if (cfg->d_model % 2 != 0)
        return error_set(err, "model: d_model %d must be even (sin/cos pairs, §3.5)", cfg->d_model);
    if (cfg->d_model % cfg->n_heads != 0)
        return error_set(err, "model: d_model %d must be a multiple of n_heads %d (§3.2.2)",
                         cfg->d_model, cfg->n_heads);
    if (!(cfg->dropout >= 0.0f && cfg->dropout < 1.0f))
        return error_set(err, "model: dropout %g must be in [0, 1)", (double)cfg->dropout);
    // Keep every buffer's element count comfortably inside a long and every row count
    // inside an int.
    if ((double)cfg->max_batch * cfg->max_len > 1e8)
        return error_set(err, "model: a batch of up to %d rows of %d tokens is more than 1e8 tokens: "
                         "choose smaller batches or a smaller max_len", cfg->max_batch, cfg->max_len);
    if ((double)cfg->vocab_size * cfg->d_model > 4e9 || cfg->d_model > 65536 || cfg->d_ff > 1048576 ||
        cfg->n_layers > 1000)
        return error_set(err, "model: too large (at most d_model 65536, d_ff 1048576, 1000 layers and "
                         "vocab_size·d_model 4e9; got %d, %d, %d and %.3g)", cfg->d_model, cfg->d_ff,
                         cfg->n_layers, (double)cfg->vocab_size * cfg->d_model);
    return true;
}

// Lays the parameter tensors out in one buffer: the embedding, the N encoder layers,
// the N decoder layers (model.h). Returns the number of floats; with base == NULL it
// only counts and w may be NULL (dims.h), otherwise w->enc and w->dec must hold N
// entries each.
static long model_weights_layout(ModelWeights *w, float *base, const ModelConfig *c) {
    const int d = c->d_model, N = c->n_layers;
    Layout l = {base, 0};
    float *embedding = layout_take(&l, (long)c->vocab_size * d);
    if (base) w->embedding = embedding;
    for (int i = 0; i < N; i++) {
        EncoderLayerWeights layer = {0};
        layout_skip(&l, encoder_layer_weights_layout(&layer, layout_next(&l), d, c->d_ff));
        if (base) w->enc[i] = layer;
    }
    for (int i = 0; i < N; i++) {
        DecoderLayerWeights layer = {0};
        layout_skip(&l, decoder_layer_weights_layout(&layer, layout_next(&l), d, c->d_ff));
        if (base) w->dec[i] = layer;
    }
    return l.used;
}

// Per component, each count from the component's own layout routine.
ModelParamCounts model_param_counts(const ModelConfig *cfg) {
    const long d = cfg->d_model, N = cfg->n_layers;
    const long mha = mha_weights_layout(NULL, NULL, cfg->d_model);
    const long ffn = ffn_weights_layout(NULL, NULL, cfg->d_model, cfg->d_ff);
    const long norm = layernorm_weights_layout(NULL, NULL, cfg->d_model);
    ModelParamCounts c = {0};
    c.embedding = (long)cfg->vocab_size * d;
    c.encoder_self_attention = N * mha;
    c.encoder_feed_forward = N * ffn;
    c.encoder_layer_norm = N * 2 * norm;
    c.decoder_self_attention = N * mha;
    c.decoder_cross_attention = N * mha;
    c.decoder_feed_forward = N * ffn;
    c.decoder_layer_norm = N * 3 * norm;
    c.total = c.embedding + c.encoder_self_attention + c.encoder_feed_forward +
              c.encoder_layer_norm + c.decoder_self_attention + c.decoder_cross_attention +
              c.decoder_feed_forward + c.decoder_layer_norm;
    // The same total, the way the buffer is laid out.
    assert(c.total == model_weights_layout(NULL, NULL, cfg));
    return c;
}

// The parameter buffer's size: its layout, only counted.
long model_param_count(const ModelConfig *cfg) { return model_weights_layout(NULL, NULL, cfg); }

// ---------------------------------------------------------------------------------
// Init and free
// ---------------------------------------------------------------------------------

// The sizes every activation buffer is allocated for: max_batch sequences of max_len
// tokens on both sides.
static Dims max_dims(const ModelConfig *c) {
    return (Dims){.B = c->max_batch, .S = c->max_len, .T = c->max_len, .d_model = c->d_model,
                  .h = c->n_heads, .d_ff = c->d_ff};
}

// Lays every activation buffer out in one buffer (the float pointers of ModelActs; the
// int token buffers are allocated on their own). Returns the number of floats; with
// base == NULL it only counts and a may be NULL, otherwise a->enc and a->dec must hold
// N entries each.
static long model_acts_layout(ModelActs *a, float *base, const ModelConfig *c) {
    const Dims dims = max_dims(c);
    const int N = c->n_layers;
    const long n = (long)dims.B * c->max_len * c->d_model;
    const long enc_scratch = encoder_layer_scratch_floats(dims);
    const long dec_scratch = decoder_layer_scratch_floats(dims);
    ModelActs counting = {0};
    if (!base) a = &counting;  // only counting: the pointers go to a throwaway
    Layout l = {base, 0};
    a->enc_in = layout_take(&l, n);
    a->enc_in_mask = layout_take(&l, n);
    a->dec_in = layout_take(&l, n);
    a->dec_in_mask = layout_take(&l, n);
    for (int i = 0; i < N; i++) {
        EncoderLayerActs layer = {0};
        layout_skip(&l, encoder_layer_acts_layout(&layer, layout_next(&l), dims));
        if (base) a->enc[i] = layer;
    }
    for (int i = 0; i < N; i++) {
        DecoderLayerActs layer = {0};
        layout_skip(&l, decoder_layer_acts_layout(&layer, layout_next(&l), dims));
        if (base) a->dec[i] = layer;
    }
    a->scratch = layout_take(&l, enc_scratch > dec_scratch ? enc_scratch : dec_scratch);
    a->dmemory = layout_take(&l, n);
    a->din = layout_take(&l, n);
    a->dout = layout_take(&l, n);
    a->logits = layout_take(&l, (long)dims.B * c->max_len * c->vocab_size);
    a->memory = base ? a->enc[N - 1].out : NULL;  // the last encoder layer's output
    return l.used;
}

// Initialisation (the paper does not give one; this is PyTorch nn.Transformer's):
//   - every weight matrix: Xavier/Glorot uniform, U(-a, a), a = √(6/(d_in + d_out)),
//     so a layer neither grows nor shrinks the variance of what flows through it;
//   - biases 0, LayerNorm gain 1 and bias 0 (each norm starts as a pure normalization);
//   - the shared embedding: N(0, σ²) with σ = d_model^-1/2. The lookup multiplies by
//     √d_model (§3.4), so the encoder/decoder inputs have unit-variance entries, the
//     scale of the sinusoids added to them (§3.5); and the tied output logits y·Eᵀ of
//     a unit-variance y have variance ≈ 1, so the first softmax is not saturated.
// Draw order from rng: embedding, encoder layers 0..N-1, decoder layers 0..N-1.
void model_init(Model *m, const ModelConfig *cfg, Rng *rng) {
    ErrorMessage err;
    if (!model_config_valid(cfg, &err)) die("%s", err.text);
    memset(m, 0, sizeof *m);
    m->config = *cfg;
    const int N = cfg->n_layers, d = cfg->d_model, L = cfg->max_len;

    ModelParams *p = &m->params;
    p->n = model_weights_layout(NULL, NULL, cfg);
    p->values = xmalloc(sizeof(float) * (size_t)p->n);
    p->grads = xcalloc((size_t)p->n, sizeof(float));
    p->w.enc = xcalloc((size_t)N, sizeof *p->w.enc);
    p->w.dec = xcalloc((size_t)N, sizeof *p->w.dec);
    p->dw.enc = xcalloc((size_t)N, sizeof *p->dw.enc);
    p->dw.dec = xcalloc((size_t)N, sizeof *p->dw.dec);
    model_weights_layout(&p->w, p->values, cfg);
    model_weights_layout(&p->dw, p->grads, cfg);

    float sigma = 1.0f / sqrtf((float)d);
    for (long i = 0; i < (long)cfg->vocab_size * d; i++) p->w.embedding[i] = sigma * rng_normal(rng);
    for (int l = 0; l < N; l++) encoder_layer_weights_init(&p->w.enc[l], rng, d, cfg->d_ff);
    for (int l = 0; l < N; l++) decoder_layer_weights_init(&p->w.dec[l], rng, d, cfg->d_ff);

    m->pe = xmalloc(sizeof(float) * (size_t)L * d);
    positional_encoding_table(m->pe, L, d);

    model_acts_init(&m->acts, cfg);
}

void model_acts_init(ModelActs *a, const ModelConfig *cfg) {
    const int N = cfg->n_layers, L = cfg->max_len, Bm = cfg->max_batch;
    memset(a, 0, sizeof *a);
    a->src_tokens = xcalloc((size_t)Bm * L, sizeof(int));
    a->tgt_tokens = xcalloc((size_t)Bm * L, sizeof(int));
    a->src_lengths = xcalloc((size_t)Bm, sizeof(int));
    a->tgt_lengths = xcalloc((size_t)Bm, sizeof(int));
    a->enc = xcalloc((size_t)N, sizeof *a->enc);
    a->dec = xcalloc((size_t)N, sizeof *a->dec);
    a->n = model_acts_layout(NULL, NULL, cfg);
    a->buffer = xmalloc(sizeof(float) * (size_t)a->n);
    model_acts_layout(a, a->buffer, cfg);
}

void model_acts_free(ModelActs *a) {
    free(a->src_tokens);
    free(a->tgt_tokens);
    free(a->src_lengths);
    free(a->tgt_lengths);
    free(a->enc);
    free(a->dec);
    free(a->buffer);
    memset(a, 0, sizeof *a);
}

void model_gradients_init(ModelGradients *g, const ModelConfig *cfg) {
    g->n = model_weights_layout(NULL, NULL, cfg);
    g->grads = xcalloc((size_t)g->n, sizeof(float));
    g->dw.enc = xcalloc((size_t)cfg->n_layers, sizeof *g->dw.enc);
    g->dw.dec = xcalloc((size_t)cfg->n_layers, sizeof *g->dw.dec);
    model_weights_layout(&g->dw, g->grads, cfg);
}

void model_gradients_free(ModelGradients *g) {
    free(g->grads);
    free(g->dw.enc);
    free(g->dw.dec);
    memset(g, 0, sizeof *g);
}

long model_activation_count(const ModelConfig *cfg) { return model_acts_layout(NULL, NULL, cfg); }

// Frees the parameters, the constants and the activations; zeroes the struct.
void model_free(Model *m) {
    free(m->params.values);
    free(m->params.grads);
    free(m->params.w.enc);
    free(m->params.w.dec);
    free(m->params.dw.enc);
    free(m->params.dw.dec);
    free(m->pe);
    model_acts_free(&m->acts);
    free(m->decode.src_lengths);
    free(m->decode.layers);
    free(m->decode.step);
    free(m->decode.buffer);
    memset(m, 0, sizeof *m);
}

// grads = 0 over the whole gradient buffer.
void model_zero_grad(Model *m) { vec_zero(m->params.grads, m->params.n); }

// ---------------------------------------------------------------------------------
// Forward
// ---------------------------------------------------------------------------------

// Checks the lengths of a batch: each in 1..len. A violation is a programmer error
// (the batching code builds these), so it is an assert naming the row.
static void check_lengths(const int *lengths, int B, int len) {
    for (int b = 0; b < B; b++)
        assert(lengths[b] >= 1 && lengths[b] <= len && "sequence length out of 1..max");
    // unused when assert() compiles away (NDEBUG)
    (void)lengths;
    (void)len;
}

// How dropout runs in this pass: the configured P_drop, on only when training.
static Dropout model_dropout(const Model *m, bool training, Rng *rng) {
    return (Dropout){.p = m->config.dropout, .training = training, .rng = rng};
}

// The layer sizes of the pass activations a hold now (B, S, T of their last forward).
static Dims pass_dims(const Model *m, const ModelActs *a) {
    const ModelConfig *c = &m->config;
    return (Dims){.B = a->B, .S = a->S, .T = a->T, .d_model = c->d_model,
                  .h = c->n_heads, .d_ff = c->d_ff};
}

// Copies a batch's token ids (B,len) and lengths (B) into the activations: the
// embedding's backward needs the ids, cross-attention and decoding the lengths.
static void keep_tokens(int *tokens_copy, int *lengths_copy, const int *tokens,
                        const int *lengths, int B, int len) {
    memcpy(tokens_copy, tokens, sizeof(int) * (size_t)B * len);
    memcpy(lengths_copy, lengths, sizeof(int) * (size_t)B);
}

// x = Dropout(Emb[tokens]·√d_model + PE)                      §3.4, §3.5, §5.4
// x, mask (B,T,d_model); tokens (B,T).
static void embed(Model *m, float *x, float *mask, const int *tokens, int B, int T,
                  Dropout drop) {
    const ModelConfig *c = &m->config;
    embedding_forward(x, tokens, m->params.w.embedding, B * T, c->vocab_size, c->d_model);
    positional_add(x, m->pe, B, T, c->d_model);
    dropout_forward(x, mask, x, (long)B * T * c->d_model, drop);
}

// Encoder stack, §3.1: embeddings in, N layers, a->memory out (B,S,d_model). a holds
// up to max_batch rows: m->acts, or a shard's own (model_forward_with).
static void encode_into(Model *m, ModelActs *a, const int *src, const int *src_lengths, int B,
                        int S, bool training, Rng *rng) {
    const ModelConfig *c = &m->config;
    assert(B >= 1 && S >= 1 && S <= c->max_len);
    check_lengths(src_lengths, B, S);
    a->B = B;
    a->S = S;
    a->T = 0;
    a->training = training;
    keep_tokens(a->src_tokens, a->src_lengths, src, src_lengths, B, S);
    const Dropout drop = model_dropout(m, training, rng);
    const Dims dims = pass_dims(m, a);
    embed(m, a->enc_in, a->enc_in_mask, src, B, S, drop);
    const float *x = a->enc_in;
    for (int l = 0; l < c->n_layers; l++) {
        encoder_layer_forward(&a->enc[l], x, &m->params.w.enc[l], a->src_lengths, drop, dims);
        x = a->enc[l].out;
    }
}

void model_encode(Model *m, const int *src, const int *src_lengths, int B, int S,
                  bool training, Rng *rng) {
    assert(B <= m->config.max_batch);
    encode_into(m, &m->acts, src, src_lengths, B, S, training, rng);
}

// Copies memory row 0 (and its source length) into rows 1..k-1 for beam search.
void model_repeat_memory(Model *m, int k) {
    ModelActs *a = &m->acts;
    assert(k >= 1 && k <= m->config.max_batch && a->B >= 1);
    long row = (long)a->S * m->config.d_model;
    for (int b = 1; b < k; b++) {
        memcpy(a->memory + b * row, a->memory, sizeof(float) * (size_t)row);
        a->src_lengths[b] = a->src_lengths[0];
        memcpy(a->src_tokens + (long)b * a->S, a->src_tokens, sizeof(int) * (size_t)a->S);
    }
    a->B = k;
}

// Decoder stack, §3.1, then the tied generator, §3.4: a->logits (B,T,V), over the
// memory of the last encode_into with the same a.
static void decode_into(Model *m, ModelActs *a, const int *tgt, const int *tgt_lengths, int T,
                        bool training, Rng *rng) {
    const ModelConfig *c = &m->config;
    const int B = a->B;
    assert(B >= 1 && a->S >= 1 && "model_decode needs a model_encode first");
    assert(T >= 1 && T <= c->max_len);
    check_lengths(tgt_lengths, B, T);
    a->T = T;
    a->training = training;
    keep_tokens(a->tgt_tokens, a->tgt_lengths, tgt, tgt_lengths, B, T);
    const Dropout drop = model_dropout(m, training, rng);
    const Dims dims = pass_dims(m, a);
    embed(m, a->dec_in, a->dec_in_mask, tgt, B, T, drop);
    const float *y = a->dec_in;
    for (int l = 0; l < c->n_layers; l++) {
        decoder_layer_forward(&a->dec[l], y, a->memory, &m->params.w.dec[l], a->tgt_lengths,
                              a->src_lengths, drop, dims);
        y = a->dec[l].out;
    }
    generator_forward(a->logits, y, m->params.w.embedding, B * T, c->d_model, c->vocab_size);
}

void model_decode(Model *m, const int *tgt, const int *tgt_lengths, int T, bool training,
                  Rng *rng) {
    decode_into(m, &m->acts, tgt, tgt_lengths, T, training, rng);
}

// ---------------------------------------------------------------------------------
// Incremental decoding with the KV cache (model.h, lesson 09)
// ---------------------------------------------------------------------------------

// The sizes of the decoding state: max_batch rows, a capacity of max_len positions on
// both sides.
static Dims cache_dims(const ModelConfig *c) { return max_dims(c); }

// Lays the decoding state's float buffers out (base NULL: only count; otherwise
// s->layers and s->step hold N entries and one).
static long decode_state_layout(DecodeState *s, float *base, const ModelConfig *c) {
    const Dims dims = cache_dims(c);
    const long row = (long)c->max_batch * c->d_model;
    DecodeState counting = {0};
    DecoderLayerCache layer_counting;
    DecoderStepScratch step_counting;
    if (!base) {
        s = &counting;
        s->step = &step_counting;
    }
    Layout l = {base, 0};
    for (int i = 0; i < c->n_layers; i++)
        layout_skip(&l, decoder_layer_cache_layout(base ? &s->layers[i] : &layer_counting,
                                                   layout_next(&l), dims));
    layout_skip(&l, decoder_step_scratch_layout(s->step, layout_next(&l), dims));
    s->x = layout_take(&l, row);
    s->y = layout_take(&l, row);
    s->logits = layout_take(&l, (long)c->max_batch * c->vocab_size);
    s->embedding_t = layout_take(&l, (long)c->vocab_size * c->d_model);
    s->scratch = layout_take(&l, row * c->max_len);
    return l.used;
}

// Allocates the decoding state the first time it is needed.
static void decode_state_alloc(Model *m) {
    DecodeState *s = &m->decode;
    if (s->buffer) return;
    const ModelConfig *c = &m->config;
    s->src_lengths = xcalloc((size_t)c->max_batch, sizeof(int));
    s->layers = xcalloc((size_t)c->n_layers, sizeof *s->layers);
    s->step = xcalloc(1, sizeof *s->step);
    s->n = decode_state_layout(NULL, NULL, c);
    s->buffer = xmalloc(sizeof(float) * (size_t)s->n);
    decode_state_layout(s, s->buffer, c);
}

// The layer sizes of a decoding step: the cache's rows and source length, T = the
// capacity in positions (the stride of the self-attention cache).
static Dims step_dims(const Model *m) {
    Dims dims = cache_dims(&m->config);
    dims.B = m->decode.B;
    dims.S = m->decode.S;
    return dims;
}

// Every layer's cross-attention K, V from the memory of the last model_encode, and
// the transposed embedding for the steps' logits.
void model_decode_start(Model *m) {
    const ModelActs *a = &m->acts;
    assert(a->B >= 1 && a->S >= 1 && "model_decode_start needs a model_encode first");
    decode_state_alloc(m);
    DecodeState *s = &m->decode;
    s->B = a->B;
    s->S = a->S;
    s->t = 0;
    memcpy(s->src_lengths, a->src_lengths, sizeof(int) * (size_t)a->B);
    const Dims dims = step_dims(m);
    transpose(s->embedding_t, m->params.w.embedding, m->config.vocab_size, m->config.d_model);
    for (int l = 0; l < m->config.n_layers; l++)
        decoder_layer_cache_memory(&s->layers[l], s->scratch, a->memory, &m->params.w.dec[l],
                                   dims);
}

// y_0 = Emb[token]·√d_model + PE(t) (§3.4, §3.5), N layers one position each, then the
// tied generator (§3.4): m->decode.logits (B,V) (the same sums as generator_forward's
// matmul_nt, which multiplies by a transposed copy too).
void model_decode_step(Model *m, const int *tokens) {
    const ModelConfig *c = &m->config;
    DecodeState *s = &m->decode;
    assert(s->buffer && s->B >= 1 && "model_decode_step needs a model_decode_start first");
    assert(s->t < c->max_len);
    const Dims dims = step_dims(m);
    embedding_forward(s->x, tokens, m->params.w.embedding, s->B, c->vocab_size, c->d_model);
    positional_add(s->x, m->pe + (long)s->t * c->d_model, s->B, 1, c->d_model);
    for (int l = 0; l < c->n_layers; l++) {
        decoder_layer_step(s->y, &s->layers[l], s->step, s->x, &m->params.w.dec[l],
                           s->src_lengths, s->t, dims);
        float *swap = s->x;  // this layer's output is the next one's input
        s->x = s->y;
        s->y = swap;
    }
    // The tied generator (§3.4), logits = y·Eᵀ, as y (B,d_model) · Eᵀ (d_model,V).
    vec_zero(s->logits, (long)s->B * c->vocab_size);
    matmul_nn(s->logits, s->x, s->embedding_t, s->B, c->d_model, c->vocab_size);
    s->t++;
}

// Row r of every layer's cache (and its source length) becomes old row parents[r].
void model_decode_reorder(Model *m, const int *parents, int k) {
    DecodeState *s = &m->decode;
    assert(k >= 1 && k <= m->config.max_batch && s->buffer);
    int lengths[k];
    for (int r = 0; r < k; r++) {
        assert(parents[r] >= 0 && parents[r] < s->B);
        lengths[r] = s->src_lengths[parents[r]];
    }
    Dims dims = step_dims(m);
    for (int l = 0; l < m->config.n_layers; l++)
        decoder_layer_cache_reorder(&s->layers[l], s->scratch, parents, k, s->t, dims);
    memcpy(s->src_lengths, lengths, sizeof(int) * (size_t)k);
    s->B = k;
}

// The encoder over batch->src, then the decoder over batch->tgt.
void model_forward(Model *m, const ModelBatch *batch, bool training, Rng *rng) {
    model_encode(m, batch->src, batch->src_lengths, batch->B, batch->S, training, rng);
    model_decode(m, batch->tgt, batch->tgt_lengths, batch->T, training, rng);
}

// The same into activations a of the caller's (a shard's, shards.h).
void model_forward_with(Model *m, ModelActs *a, const ModelBatch *batch, bool training, Rng *rng) {
    encode_into(m, a, batch->src, batch->src_lengths, batch->B, batch->S, training, rng);
    decode_into(m, a, batch->tgt, batch->tgt_lengths, batch->T, training, rng);
}

// ---------------------------------------------------------------------------------
// Backward
// ---------------------------------------------------------------------------------

// Exchanges the two gradient buffers of model_backward: the gradient of one layer's
// input is the gradient of the next layer down's output.
static void swap_buffers(float **a, float **b) {
    float *t = *a;
    *a = *b;
    *b = t;
}

// Backward through everything model_forward computed, in reverse:
//   logits = y_N·Eᵀ                       -> dy_N, dE
//   y_{l+1} = DecoderLayer_l(y_l, memory)  -> dy_l, dmemory (summed over all N layers)
//   y_0 = Drop(Emb[tgt]·√d + PE)           -> dE rows of the target tokens
//   memory = x_N, x_{l+1} = EncoderLayer_l(x_l) -> dx_l
//   x_0 = Drop(Emb[src]·√d + PE)           -> dE rows of the source tokens
// The embedding gets gradient from three places: output projection, target and source.
void model_backward(Model *m, const float *dlogits) {
    model_backward_with(m, &m->acts, &m->params.dw, dlogits);
}

// The same backward through activations a, into the gradients dw.
void model_backward_with(Model *m, ModelActs *a, const ModelWeights *dw, const float *dlogits) {
    const ModelConfig *c = &m->config;
    const ModelWeights *w = &m->params.w;
    const int B = a->B, S = a->S, T = a->T, d = c->d_model;
    const int N = c->n_layers, V = c->vocab_size;
    assert(T >= 1 && "model_backward needs a model_forward first");
    const Dims dims = pass_dims(m, a);
    const long nt = (long)B * T * d, ns = (long)B * S * d;
    float *dout = a->dout, *din = a->din;  // dL/d(a layer's output), dL/d(its input)

    vec_zero(dout, nt);
    generator_backward(dout, dw->embedding, dlogits, a->dec[N - 1].out, w->embedding, B * T,
                       d, V);
    vec_zero(a->dmemory, ns);
    for (int l = N - 1; l >= 0; l--) {
        vec_zero(din, nt);
        decoder_layer_backward(din, a->dmemory, &dw->dec[l], a->scratch, dout, &a->dec[l],
                               &w->dec[l], dims);
        swap_buffers(&dout, &din);
    }
    // dout = dL/d(decoder input); through the dropout, then into the embedding rows.
    const bool dropped = dropout_active(model_dropout(m, a->training, NULL));
    vec_zero(din, nt);
    dropout_backward(din, dout, dropped ? a->dec_in_mask : NULL, nt);
    embedding_backward(dw->embedding, din, a->tgt_tokens, B * T, V, d);

    // The encoder, starting from the memory's gradient.
    vec_copy(dout, a->dmemory, ns);
    for (int l = N - 1; l >= 0; l--) {
        vec_zero(din, ns);
        encoder_layer_backward(din, &dw->enc[l], a->scratch, dout, &a->enc[l], &w->enc[l],
                               dims);
        swap_buffers(&dout, &din);
    }
    vec_zero(din, ns);
    dropout_backward(din, dout, dropped ? a->enc_in_mask : NULL, ns);
    embedding_backward(dw->embedding, din, a->src_tokens, B * S, V, d);
}

// ---------------------------------------------------------------------------------
// For the viewer and the lessons
// ---------------------------------------------------------------------------------

// Points into the activations of the last forward: the weights of one attention.
// The multi-head activations of one layer's attention of the given kind and their
// (rows, cols) = (query positions, key positions) in the last forward pass; NULL if the
// layer is out of range. Shared by the two accessors below.
static const MhaActs *attention_acts(const Model *m, AttentionKind kind, int layer, int *rows, int *cols) {
    const ModelActs *a = &m->acts;
    if (layer < 0 || layer >= m->config.n_layers) return NULL;
    switch (kind) {
    case ATTN_ENCODER_SELF:
        *rows = a->S;
        *cols = a->S;
        return &a->enc[layer].attn;
    case ATTN_DECODER_SELF:
        *rows = a->T;
        *cols = a->T;
        return &a->dec[layer].self_attn;
    case ATTN_CROSS:
        *rows = a->T;
        *cols = a->S;
        return &a->dec[layer].cross_attn;
    }
    return NULL;
}

const float *model_attention(const Model *m, AttentionKind kind, int layer, int *rows,
                             int *cols) {
    const MhaActs *acts = attention_acts(m, kind, layer, rows, cols);
    return acts ? acts->weights : NULL;
}

bool model_attention_qkv(const Model *m, AttentionKind kind, int layer, AttentionQKV *out) {
    const MhaActs *acts = attention_acts(m, kind, layer, &out->rows, &out->cols);
    if (!acts) return false;
    out->d_k = m->config.d_model / m->config.n_heads;
    out->q = acts->q;
    out->k = acts->k;
    out->v = acts->v;
    return true;
}
