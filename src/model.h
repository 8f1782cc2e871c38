// model.h: the whole Transformer of "Attention Is All You Need" (Figure 1): shared
// embeddings ×√d_model plus sinusoidal positions (§3.4, §3.5), an encoder stack and a
// decoder stack of N post-LN layers each (§3.1), and the generator whose logits reuse
// the embedding matrix (§3.4). The Model owns every float it touches, in three kinds
// of memory with three names:
//
//   params  the parameters: one contiguous buffer of params.n floats (one fwrite for a
//           checkpoint, one loop for Adam), and their gradients in a second buffer of
//           the same layout:
//             [embedding (V,d_model)] [encoder layer 0] ... [encoder layer N-1]
//             [decoder layer 0] ... [decoder layer N-1]
//           (each layer: see encoder.h / decoder.h; no final stack LayerNorm: with
//           post-LN every layer already ends in one, as in the paper's Figure 1)
//   acts    the activations: everything the last forward pass computed, sized for
//           max_batch sequences of max_len tokens and kept for the backward pass and
//           the viewer, and the backward's scratch;
//   decode  the decoding state: the KV cache of incremental decoding (lesson 09).
//
// Typical training step:
//   model_zero_grad(m);
//   model_forward(m, &batch, true, rng);
//   ... loss from m->acts.logits (B,T,V) gives dlogits ...
//   model_backward(m, dlogits);       // m->params.grads now holds dLoss/dparams
//
// Decoding (greedy or beam): model_encode once, then either model_decode on a growing
// target prefix (each call recomputes the decoder over the whole prefix: simple, the
// reference) or model_decode_start and one model_decode_step per position (the KV
// cache: each step computes only the new position; see below). Token ids: TOKEN_PAD = 0, TOKEN_BOS = 1, TOKEN_EOS = 2 (tokenizer.h).
// Sequences are padded on the right; lengths[b] counts the real tokens of row b, and
// positions >= lengths[b] are padding that no query may attend to.
#ifndef MODEL_H
#define MODEL_H

#include <stdbool.h>

#include "common.h"
#include "rng.h"

typedef struct {
    int vocab_size;  // V: one vocabulary shared by source and target (§3.4, §5.1)
    int d_model;     // width of every residual stream (512 in the base model)
    int n_heads;     // h (8); d_k = d_v = d_model / h
    int d_ff;        // inner width of the feed-forward networks (2048)
    int n_layers;    // N encoder layers and N decoder layers (6)
    int max_len;     // longest source or target sequence, incl. BOS/EOS
    int max_batch;   // activations are sized for this many sequences
    float dropout;   // P_drop (0.1 in the paper, §5.4); used only when training
} ModelConfig;

// Defined in encoder.h / decoder.h (the model only holds pointers to them here, so a
// file using the model does not need those headers).
struct EncoderLayerWeights;
struct EncoderLayerActs;
struct DecoderLayerWeights;
struct DecoderLayerActs;

// Where each parameter tensor sits inside one flat buffer (or each gradient inside the
// gradient buffer: the same layout).
typedef struct {
    float *embedding;                  // (V,d_model): source, target and output (§3.4)
    struct EncoderLayerWeights *enc;   // N encoder layers
    struct DecoderLayerWeights *dec;   // N decoder layers
} ModelWeights;

// The parameters and their gradients.
typedef struct {
    long n;           // floats in values (and in grads)
    float *values;    // every parameter, one buffer in the layout at the top
    float *grads;     // dLoss/dvalues, same layout; the backward accumulates into it
    ModelWeights w;   // pointers into values
    ModelWeights dw;  // the same pointers into grads
} ModelParams;

// The activations: what the last forward pass ran with and computed.
typedef struct {
    int B, S, T;            // batch size, source length, target length it ran with
    bool training;          // whether it ran with dropout
    int *src_tokens;        // (B,S) and (B,T) copies of the last inputs (the embedding's
    int *tgt_tokens;        //   backward needs them), in buffers of max_batch·max_len
    int *src_lengths;       // (max_batch) real tokens per source row
    int *tgt_lengths;       // (max_batch) real tokens per target row
    float *memory;          // (B,S,d_model) encoder output: the keys/values of cross-attention
    float *logits;          // (B,T,V) = decoder output · embeddingᵀ (§3.4)

    // ---- storage: one buffer of n floats; every float pointer here points into it ----
    long n;
    float *buffer;
    float *enc_in, *enc_in_mask;      // (B,S,d_model) embeddings+PE after dropout, its mask
    float *dec_in, *dec_in_mask;      // (B,T,d_model) the same for the target
    struct EncoderLayerActs *enc;     // N
    struct DecoderLayerActs *dec;     // N
    float *scratch;         // backward work space of one layer
    float *dmemory;         // (B,S,d_model) backward: dL/dmemory, summed over the N decoder layers
    float *dout, *din;      // (B,max(S,T),d_model) backward: dL/d(a layer's output) and
                            //   dL/d(its input), swapped from one layer to the next
} ModelActs;

struct DecoderLayerCache;
struct DecoderStepScratch;

// The decoding state of incremental decoding (lesson 09): each decoder layer's keys and
// values of the positions decoded so far, and of the encoder memory projected once per
// sentence, so that a step costs one new row per hypothesis instead of the whole prefix.
// Allocated by the first model_decode_start (training never needs it).
typedef struct {
    bool full_recompute;    // false (the default): decode.h's searches use the cache;
                            // true: they rerun model_decode over the whole prefix every
                            // step (the reference the cache is tested against)
    int B, S;               // hypotheses (rows) the cache holds, source length
    int t;                  // positions cached so far: the next step is position t
    int *src_lengths;       // (max_batch) real source tokens of each row
    float *logits;          // (max_batch,V) the last step's logits, row per hypothesis
    // ---- storage: one buffer of n floats; every float pointer here points into it ----
    long n;
    float *buffer;
    struct DecoderLayerCache *layers;  // N: the keys and values (decoder.h)
    struct DecoderStepScratch *step;   // one step's work space (decoder.h)
    float *x, *y;           // (max_batch,d_model) a layer's input and output at position t
    float *embedding_t;     // (d_model,V) the embedding transposed at model_decode_start,
                            //   so each step's logits y·Eᵀ are one plain product (no
                            //   transposing V·d_model floats per token)
    float *scratch;         // max_batch·max_len·d_model: memory projections, reordering
} DecodeState;

typedef struct {
    ModelConfig config;
    ModelParams params;
    float *pe;              // (max_len,d_model) sinusoidal positional encodings (§3.5): a
                            // constant table, neither parameter nor activation
    ModelActs acts;
    DecodeState decode;
} Model;

// A batch of sentence pairs for model_forward, padded on the right (see the top).
typedef struct {
    const int *src, *src_lengths;  // (B,S) token ids, (B) real tokens per row (1..S)
    const int *tgt, *tgt_lengths;  // (B,T) decoder input starting with BOS, (B) (1..T)
    int B, S, T;
} ModelBatch;

// Allocates and initialises the model (documented in model.c):
//   matrices  Xavier/Glorot uniform U(-a, a), a = √(6/(d_in+d_out)), as PyTorch's
//             nn.Transformer does;
//   biases 0; LayerNorm gain 1, bias 0;
//   embedding N(0, σ²), σ = d_model^-1/2: after the ×√d_model of §3.4 the inputs have
//             unit variance per entry, the same scale as the sinusoids added to them,
//             and the tied logits y·Eᵀ of a LayerNorm output y have variance ≈ 1.
// Fails with a message (die) on an impossible configuration (d_model % n_heads != 0,
// odd d_model, sizes <= 0, dropout outside [0,1)).
void model_init(Model *m, const ModelConfig *cfg, Rng *rng);

// Frees everything and zeroes the struct: calling it again is safe.
void model_free(Model *m);

// Sets every gradient (m->params.grads) to zero (the backward only accumulates).
void model_zero_grad(Model *m);

// §3.1 encoder: x = Dropout(Emb[src]·√d_model + PE) (§3.4, §3.5, §5.4), then N encoder
// layers; the output is m->acts.memory (B,S,d_model). src is (B,S) token ids, row b has
// src_lengths[b] real tokens (1..S). B <= max_batch, S <= max_len. training turns
// dropout on (masks drawn in order from rng; rng may be NULL when !training).
void model_encode(Model *m, const int *src, const int *src_lengths, int B, int S,
                  bool training, Rng *rng);

// For beam search: after model_encode with B = 1, copies the encoder output (and the
// source length) into rows 0..k-1, so model_decode can run k hypotheses at once without
// re-encoding. k <= max_batch. (Not for training: the backward then is meaningless.)
void model_repeat_memory(Model *m, int k);

// §3.1 decoder over tgt (B,T) token ids (starting with BOS), with the same B as the
// last model_encode (or model_repeat_memory): y = Dropout(Emb[tgt]·√d_model + PE), N
// decoder layers (causal self-attention over tgt_lengths, cross-attention over the
// memory with the source lengths), then m->acts.logits (B,T,V) = y·Embᵀ. tgt_lengths[b] in
// 1..T. T <= max_len.
void model_decode(Model *m, const int *tgt, const int *tgt_lengths, int T, bool training,
                  Rng *rng);

// ---- incremental decoding with the KV cache (lesson 09) -----------------------------
// The same numbers as model_decode (to float rounding), one position at a time:
//   model_encode(m, src, lengths, B, S, false, NULL);
//   model_decode_start(m);                   // cross K, V of every layer, t = 0
//   tokens[b] = TOKEN_BOS; model_decode_step(m, tokens);   // logits of position 0
//   tokens[b] = next token; model_decode_step(m, tokens);  // position 1, ...
// m->decode.logits (B,V) after a step equals row t of model_decode's logits over the
// prefix 0..t. Beam search reorders the rows between steps (model_decode_reorder).

// After model_encode (eval mode): projects the encoder memory into every decoder
// layer's cross-attention keys and values, empties the self-attention cache (t = 0).
void model_decode_start(Model *m);

// One decoding step: tokens (B) is the decoder input at position t of each row (BOS at
// t = 0); fills m->decode.logits (B,V) and caches this position (t += 1). t < max_len.
void model_decode_step(Model *m, const int *tokens);

// Beam reordering: row r becomes old row parents[r] for r < k, and the cache holds k
// rows from now on (k may be larger than before: after a start with B = 1, parents of
// all 0 make k copies). parents[r] < B, k <= max_batch.
void model_decode_reorder(Model *m, const int *parents, int k);

// model_encode then model_decode on one batch (dropout masks: encoder first, then
// decoder).
void model_forward(Model *m, const ModelBatch *batch, bool training, Rng *rng);

// Backward through the last model_forward: dlogits is (B,T,V) = dLoss/dlogits (rows of
// padding positions should be 0). Accumulates into m->params.grads.
void model_backward(Model *m, const float *dlogits);

typedef enum { ATTN_ENCODER_SELF, ATTN_DECODER_SELF, ATTN_CROSS } AttentionKind;

// The attention weights of one layer from the last forward pass, laid out
// (B,h,rows,cols) for the B of that pass: encoder self (S,S), decoder self (T,T),
// cross (T,S) (target positions down, source positions across). Row r of a matrix sums
// to 1 over the unmasked columns. Returns NULL if layer is out of range.
const float *model_attention(const Model *m, AttentionKind kind, int layer, int *rows,
                             int *cols);

// The inputs of Eq. (1) behind those weights: the projected queries, keys and values of
// one layer's attention in the last forward pass, split by head (§3.2.2), so that
// weights = softmax(q·kᵀ / √d_k) with the mask. Read-only views into the activations.
typedef struct {
    const float *q;        // (B,h,rows,d_k)
    const float *k, *v;    // (B,h,cols,d_k)
    int rows, cols, d_k;   // as model_attention; d_k = d_model / h
} AttentionQKV;

// Fills out for one layer of the given kind; false if layer is out of range.
bool model_attention_qkv(const Model *m, AttentionKind kind, int layer, AttentionQKV *out);

// ---- a second set of activations and gradients: data-parallel training (shards.h) ----
// A training step can split its batch into shards that run at the same time, each
// through its own activations into its own gradients, which are then added up. The
// model's own acts and params.grads serve the first shard; these hold another's.

// Gradients in the layout of params.grads, with the pointers of their tensors.
typedef struct {
    long n;           // floats in grads (= params.n)
    float *grads;
    ModelWeights dw;  // pointers into grads
} ModelGradients;

// Activations sized for cfg->max_batch sequences of cfg->max_len tokens (model_init
// allocates m->acts this way), and their release (zeroes the struct).
void model_acts_init(ModelActs *a, const ModelConfig *cfg);
void model_acts_free(ModelActs *a);
// Zeroed gradients for cfg's parameters, and their release.
void model_gradients_init(ModelGradients *g, const ModelConfig *cfg);
void model_gradients_free(ModelGradients *g);
// model_forward into the activations a (batch->B <= the max_batch a was made for), and
// model_backward through them into dw (the model's weights are only read, so shards
// with their own a and dw can run at once).
void model_forward_with(Model *m, ModelActs *a, const ModelBatch *batch, bool training, Rng *rng);
void model_backward_with(Model *m, ModelActs *a, const ModelWeights *dw, const float *dlogits);

// Parameter counts from a configuration alone (no allocation), per component.
typedef struct {
    long embedding;              // V·d_model, counted once: shared three ways (§3.4)
    long encoder_self_attention; // all N encoder layers: 4·(d_model² + d_model) each
    long encoder_feed_forward;   // N·(2·d_model·d_ff + d_ff + d_model)
    long encoder_layer_norm;     // N·2 norms·2·d_model
    long decoder_self_attention;
    long decoder_cross_attention;
    long decoder_feed_forward;
    long decoder_layer_norm;     // N·3 norms·2·d_model
    long total;                  // the sum; equals Model.params.n
} ModelParamCounts;
ModelParamCounts model_param_counts(const ModelConfig *cfg);
// The total alone: the size of the parameter buffer.
long model_param_count(const ModelConfig *cfg);
// Floats in the activation buffer model_init allocates for cfg's largest batch (every
// layer's saved forward values, for the backward).
long model_activation_count(const ModelConfig *cfg);

// Checks a configuration without allocating; false with a message in err if unusable.
// (model_init calls it and dies on failure; a checkpoint loader can call it first.)
bool model_config_valid(const ModelConfig *cfg, ErrorMessage *err);

#endif
