// model.c: the whole Transformer, Figure 1 of the paper: memory management, the
// encoder and decoder stacks, the tied generator, and the backward through all of it.
#include "model.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "decoder.h"
#include "dropout.h"
#include "embedding.h"
#include "encoder.h"
#include "generator.h"
#include "positional.h"
#include "tensor.h"

// ---------------------------------------------------------------------------------
// Sizes
// ---------------------------------------------------------------------------------

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
    if ((double)cfg->max_batch * cfg->max_len > 1e8 ||
        (double)cfg->vocab_size * cfg->d_model > 4e9 || cfg->d_model > 65536 ||
        cfg->d_ff > 1048576 || cfg->n_layers > 1000)
        return error_set(err, "model: configuration too large");
    return true;
}

ModelParamCounts model_param_counts(const ModelConfig *cfg) {
    long d = cfg->d_model, N = cfg->n_layers;
    ModelParamCounts c = {0};
    c.embedding = (long)cfg->vocab_size * d;
    c.encoder_self_attention = N * MHA_WEIGHT_FLOATS(d);
    c.encoder_feed_forward = N * FFN_WEIGHT_FLOATS(d, cfg->d_ff);
    c.encoder_layer_norm = N * 2 * 2 * d;
    c.decoder_self_attention = N * MHA_WEIGHT_FLOATS(d);
    c.decoder_cross_attention = N * MHA_WEIGHT_FLOATS(d);
    c.decoder_feed_forward = N * FFN_WEIGHT_FLOATS(d, cfg->d_ff);
    c.decoder_layer_norm = N * 3 * 2 * d;
    c.total = c.embedding + c.encoder_self_attention + c.encoder_feed_forward +
              c.encoder_layer_norm + c.decoder_self_attention + c.decoder_cross_attention +
              c.decoder_feed_forward + c.decoder_layer_norm;
    // The same total, the way the buffer is laid out.
    assert(c.total == c.embedding + N * (ENCODER_LAYER_FLOATS(d, cfg->d_ff) +
                                         DECODER_LAYER_FLOATS(d, cfg->d_ff)));
    return c;
}

long model_param_count(const ModelConfig *cfg) { return model_param_counts(cfg).total; }

// ---------------------------------------------------------------------------------
// Init and free
// ---------------------------------------------------------------------------------

// Points m->embedding, m->enc[], m->dec[] into params and the d-versions into grads.
static void point_parameters(Model *m) {
    const ModelConfig *c = &m->config;
    int d = c->d_model, N = c->n_layers;
    float *p = m->params, *g = m->grads;
    m->embedding = p, m->dembedding = g;
    long step = (long)c->vocab_size * d;
    p += step, g += step;
    for (int l = 0; l < N; l++) {
        encoder_layer_weights_point(&m->enc[l], p, d, c->d_ff);
        encoder_layer_weights_point(&m->denc[l], g, d, c->d_ff);
        step = ENCODER_LAYER_FLOATS(d, c->d_ff);
        p += step, g += step;
    }
    for (int l = 0; l < N; l++) {
        decoder_layer_weights_point(&m->dec[l], p, d, c->d_ff);
        decoder_layer_weights_point(&m->ddec[l], g, d, c->d_ff);
        step = DECODER_LAYER_FLOATS(d, c->d_ff);
        p += step, g += step;
    }
    assert(p == m->params + m->n_params);
}

// Lays out every activation buffer for max_batch × max_len in one allocation.
static void allocate_activations(Model *m) {
    const ModelConfig *c = &m->config;
    int Bm = c->max_batch, L = c->max_len, d = c->d_model, h = c->n_heads, ff = c->d_ff;
    int N = c->n_layers;
    long n = (long)Bm * L * d;
    long enc_cache = encoder_layer_cache_floats(Bm, L, d, h, ff);
    long dec_cache = decoder_layer_cache_floats(Bm, L, L, d, h, ff);
    long enc_scratch = encoder_layer_scratch_floats(Bm, L, d, h, ff);
    long dec_scratch = decoder_layer_scratch_floats(Bm, L, L, d, h, ff);
    long scratch = enc_scratch > dec_scratch ? enc_scratch : dec_scratch;
    long logits = (long)Bm * L * c->vocab_size;
    m->n_acts = 4 * n + N * (enc_cache + dec_cache) + scratch + 3 * n + logits;
    m->acts = xmalloc(sizeof(float) * (size_t)m->n_acts);
    float *a = m->acts;
    m->enc_in = a, a += n;
    m->enc_in_mask = a, a += n;
    m->dec_in = a, a += n;
    m->dec_in_mask = a, a += n;
    for (int l = 0; l < N; l++) {
        encoder_layer_cache_point(&m->enc_cache[l], a, Bm, L, d, h, ff);
        a += enc_cache;
    }
    for (int l = 0; l < N; l++) {
        decoder_layer_cache_point(&m->dec_cache[l], a, Bm, L, L, d, h, ff);
        a += dec_cache;
    }
    m->scratch = a, a += scratch;
    m->dmemory = a, a += n;
    m->dx = a, a += n;
    m->dy = a, a += n;
    m->logits = a, a += logits;
    assert(a == m->acts + m->n_acts);
    m->memory = m->enc_cache[N - 1].out;
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
    int N = cfg->n_layers, d = cfg->d_model, L = cfg->max_len, Bm = cfg->max_batch;
    m->n_params = model_param_count(cfg);
    m->params = xmalloc(sizeof(float) * (size_t)m->n_params);
    m->grads = xcalloc((size_t)m->n_params, sizeof(float));
    m->enc = xcalloc((size_t)N, sizeof *m->enc);
    m->denc = xcalloc((size_t)N, sizeof *m->denc);
    m->dec = xcalloc((size_t)N, sizeof *m->dec);
    m->ddec = xcalloc((size_t)N, sizeof *m->ddec);
    m->enc_cache = xcalloc((size_t)N, sizeof *m->enc_cache);
    m->dec_cache = xcalloc((size_t)N, sizeof *m->dec_cache);
    point_parameters(m);

    float sigma = 1.0f / sqrtf((float)d);
    for (long i = 0; i < (long)cfg->vocab_size * d; i++) m->embedding[i] = sigma * rng_normal(rng);
    for (int l = 0; l < N; l++) encoder_layer_weights_init(&m->enc[l], rng, d, cfg->d_ff);
    for (int l = 0; l < N; l++) decoder_layer_weights_init(&m->dec[l], rng, d, cfg->d_ff);

    m->pe = xmalloc(sizeof(float) * (size_t)L * d);
    positional_encoding_table(m->pe, L, d);
    m->src_tokens = xcalloc((size_t)Bm * L, sizeof(int));
    m->tgt_tokens = xcalloc((size_t)Bm * L, sizeof(int));
    m->src_lengths = xcalloc((size_t)Bm, sizeof(int));
    m->tgt_lengths = xcalloc((size_t)Bm, sizeof(int));
    allocate_activations(m);
}

void model_free(Model *m) {
    free(m->params);
    free(m->grads);
    free(m->enc);
    free(m->denc);
    free(m->dec);
    free(m->ddec);
    free(m->enc_cache);
    free(m->dec_cache);
    free(m->pe);
    free(m->src_tokens);
    free(m->tgt_tokens);
    free(m->src_lengths);
    free(m->tgt_lengths);
    free(m->acts);
    memset(m, 0, sizeof *m);
}

void model_zero_grad(Model *m) { vec_zero(m->grads, m->n_params); }

// ---------------------------------------------------------------------------------
// Forward
// ---------------------------------------------------------------------------------

// Checks the lengths of a batch: each in 1..len. A violation is a programmer error
// (the batching code builds these), so it is an assert naming the row.
static void check_lengths(const int *lengths, int B, int len) {
    for (int b = 0; b < B; b++)
        assert(lengths[b] >= 1 && lengths[b] <= len && "sequence length out of 1..max");
    (void)lengths, (void)len;  // unused when assert() compiles away (NDEBUG)
}

// x = Dropout(Emb[tokens]·√d_model + PE)                      §3.4, §3.5, §5.4
// x, mask (B,T,d_model); tokens (B,T).
static void embed(Model *m, float *x, float *mask, const int *tokens, int B, int T,
                  bool training, Rng *rng) {
    const ModelConfig *c = &m->config;
    embedding_forward(x, tokens, m->embedding, B * T, c->vocab_size, c->d_model);
    positional_add(x, m->pe, B, T, c->d_model);
    dropout_forward(x, mask, x, c->dropout, (long)B * T * c->d_model, training, rng);
}

// Encoder stack, §3.1: embeddings in, N layers, m->memory out (B,S,d_model).
void model_encode(Model *m, const int *src, const int *src_lengths, int B, int S,
                  bool training, Rng *rng) {
    const ModelConfig *c = &m->config;
    assert(B >= 1 && B <= c->max_batch && S >= 1 && S <= c->max_len);
    check_lengths(src_lengths, B, S);
    m->B = B, m->S = S, m->T = 0;
    m->training = training;
    memcpy(m->src_tokens, src, sizeof(int) * (size_t)B * S);
    memcpy(m->src_lengths, src_lengths, sizeof(int) * (size_t)B);
    embed(m, m->enc_in, m->enc_in_mask, src, B, S, training, rng);
    const float *x = m->enc_in;
    for (int l = 0; l < c->n_layers; l++) {
        encoder_layer_forward(&m->enc_cache[l], x, &m->enc[l], m->src_lengths, c->dropout,
                              training, rng, B, S, c->d_model, c->n_heads, c->d_ff);
        x = m->enc_cache[l].out;
    }
}

// Copies memory row 0 (and its source length) into rows 1..k-1 for beam search.
void model_repeat_memory(Model *m, int k) {
    assert(k >= 1 && k <= m->config.max_batch && m->B >= 1);
    long row = (long)m->S * m->config.d_model;
    for (int b = 1; b < k; b++) {
        memcpy(m->memory + b * row, m->memory, sizeof(float) * (size_t)row);
        m->src_lengths[b] = m->src_lengths[0];
        memcpy(m->src_tokens + (long)b * m->S, m->src_tokens, sizeof(int) * (size_t)m->S);
    }
    m->B = k;
}

// Decoder stack, §3.1, then the tied generator, §3.4: m->logits (B,T,V).
void model_decode(Model *m, const int *tgt, const int *tgt_lengths, int T, bool training,
                  Rng *rng) {
    const ModelConfig *c = &m->config;
    int B = m->B;
    assert(B >= 1 && m->S >= 1 && "model_decode needs a model_encode first");
    assert(T >= 1 && T <= c->max_len);
    check_lengths(tgt_lengths, B, T);
    m->T = T;
    m->training = training;
    memcpy(m->tgt_tokens, tgt, sizeof(int) * (size_t)B * T);
    memcpy(m->tgt_lengths, tgt_lengths, sizeof(int) * (size_t)B);
    embed(m, m->dec_in, m->dec_in_mask, tgt, B, T, training, rng);
    const float *y = m->dec_in;
    for (int l = 0; l < c->n_layers; l++) {
        decoder_layer_forward(&m->dec_cache[l], y, m->memory, &m->dec[l], m->tgt_lengths,
                              m->src_lengths, c->dropout, training, rng, B, T, m->S,
                              c->d_model, c->n_heads, c->d_ff);
        y = m->dec_cache[l].out;
    }
    generator_forward(m->logits, y, m->embedding, B * T, c->d_model, c->vocab_size);
}

void model_forward(Model *m, const int *src, const int *src_lengths, const int *tgt,
                   const int *tgt_lengths, int B, int S, int T, bool training, Rng *rng) {
    model_encode(m, src, src_lengths, B, S, training, rng);
    model_decode(m, tgt, tgt_lengths, T, training, rng);
}

// ---------------------------------------------------------------------------------
// Backward
// ---------------------------------------------------------------------------------

// Backward through everything model_forward computed, in reverse:
//   logits = y_N·Eᵀ                       -> dy_N, dE
//   y_{l+1} = DecoderLayer_l(y_l, memory)  -> dy_l, dmemory (summed over all N layers)
//   y_0 = Drop(Emb[tgt]·√d + PE)           -> dE rows of the target tokens
//   memory = x_N, x_{l+1} = EncoderLayer_l(x_l) -> dx_l
//   x_0 = Drop(Emb[src]·√d + PE)           -> dE rows of the source tokens
// The embedding gets gradient from three places: output projection, target and source.
void model_backward(Model *m, const float *dlogits) {
    const ModelConfig *c = &m->config;
    int B = m->B, S = m->S, T = m->T, d = c->d_model, h = c->n_heads, ff = c->d_ff;
    int N = c->n_layers, V = c->vocab_size;
    assert(T >= 1 && "model_backward needs a model_forward first");
    long nt = (long)B * T * d, ns = (long)B * S * d;
    float *dout = m->dy, *din = m->dx;

    vec_zero(dout, nt);
    generator_backward(dout, m->dembedding, dlogits, m->dec_cache[N - 1].out, m->embedding,
                       B * T, d, V);
    vec_zero(m->dmemory, ns);
    for (int l = N - 1; l >= 0; l--) {
        const float *y = l == 0 ? m->dec_in : m->dec_cache[l - 1].out;
        vec_zero(din, nt);
        decoder_layer_backward(din, m->dmemory, &m->ddec[l], m->scratch, dout, &m->dec_cache[l],
                               y, m->memory, &m->dec[l], B, T, S, d, h, ff);
        float *t = dout;
        dout = din, din = t;
    }
    // dout = dL/d(decoder input); through the dropout, then into the embedding rows.
    bool drop = dropout_active(c->dropout, m->training);
    vec_zero(din, nt);
    dropout_backward(din, dout, drop ? m->dec_in_mask : NULL, nt);
    embedding_backward(m->dembedding, din, m->tgt_tokens, B * T, V, d);

    // The encoder, starting from the memory's gradient.
    vec_copy(dout, m->dmemory, ns);
    for (int l = N - 1; l >= 0; l--) {
        const float *x = l == 0 ? m->enc_in : m->enc_cache[l - 1].out;
        vec_zero(din, ns);
        encoder_layer_backward(din, &m->denc[l], m->scratch, dout, &m->enc_cache[l], x,
                               &m->enc[l], B, S, d, h, ff);
        float *t = dout;
        dout = din, din = t;
    }
    vec_zero(din, ns);
    dropout_backward(din, dout, drop ? m->enc_in_mask : NULL, ns);
    embedding_backward(m->dembedding, din, m->src_tokens, B * S, V, d);
}

// ---------------------------------------------------------------------------------
// For the viewer and the lessons
// ---------------------------------------------------------------------------------

const float *model_attention(const Model *m, AttentionKind kind, int layer, int *rows,
                             int *cols) {
    if (layer < 0 || layer >= m->config.n_layers) return NULL;
    switch (kind) {
    case ATTN_ENCODER_SELF:
        *rows = m->S, *cols = m->S;
        return m->enc_cache[layer].attn.weights;
    case ATTN_DECODER_SELF:
        *rows = m->T, *cols = m->T;
        return m->dec_cache[layer].self_attn.weights;
    case ATTN_CROSS:
        *rows = m->T, *cols = m->S;
        return m->dec_cache[layer].cross_attn.weights;
    }
    return NULL;
}
