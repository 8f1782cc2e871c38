// snapshot.h: what the training thread shows the viewer. A Snapshot is a plain struct
// (no pointers, no SDL) holding everything the screen needs about one moment of
// training: the attention weights of the probe sentence for every kind, layer and head,
// its tokens, the translation and the beam's hypotheses, and the loss history.
//
// The hand-off between the two threads is a triple buffer (SnapshotExchange): the
// producer fills a private buffer and swaps it in; the consumer swaps the newest one
// out. The mutex is held only for those pointer swaps, never while a snapshot is being
// written or drawn, so neither thread waits on the other's work.
#ifndef VIZ_SNAPSHOT_H
#define VIZ_SNAPSHOT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "model.h"

enum {
    VIZ_MAX_TOKENS = 40,   // longest probe sentence shown (tokens incl. BOS/EOS)
    VIZ_MAX_LAYERS = 6,    // N in the paper's base model
    VIZ_MAX_HEADS = 8,     // h in the paper's base model
    VIZ_TOKEN_CHARS = 24,  // bytes of one token's display string (UTF-8, NUL-terminated)
    VIZ_MAX_HISTORY = 512, // points on the curves; older ones are thinned, never dropped
    VIZ_MAX_HYPS = 4,      // beam size 4 (§6.1)
    VIZ_TEXT_CHARS = 256,  // a sentence
    VIZ_MAX_DK = 32,       // d_k of the q, k, v rows kept for Eq. (1) (fr-en 32, reverse 16)
};

// The three uses of attention in the model (§3.2.3).
typedef enum {
    VIZ_ENC_SELF = 0,  // encoder self-attention: source attends to source
    VIZ_DEC_SELF = 1,  // masked decoder self-attention: target attends to earlier target
    VIZ_CROSS = 2,     // encoder-decoder attention: target attends to source
    VIZ_KINDS = 3
} VizKind;

const char *viz_kind_name(VizKind kind);

// One attention matrix per (layer, head): rows are the attending (query) tokens, columns
// the attended (key) tokens. A cell is masked when its row or column is padding
// (index >= valid length) or, for the decoder, when the key lies in the future.
typedef struct {
    int rows, cols;            // matrix size, <= VIZ_MAX_TOKENS
    int valid_rows, valid_cols;// tokens before the padding
    bool causal;               // key index > query index is masked (§3.2.3)
    // weights[layer][head][r * cols + c]
    float weights[VIZ_MAX_LAYERS][VIZ_MAX_HEADS][VIZ_MAX_TOKENS * VIZ_MAX_TOKENS];
    // What the weights were computed from (Eq. 1, §3.2.2): the projected query of row r
    // is q[layer][head][r * d_k + i], key and value of column c k[..][c * d_k + i] and
    // v[..][c * d_k + i]. d_k == 0: not kept (a replay, or heads wider than VIZ_MAX_DK).
    int d_k;
    float q[VIZ_MAX_LAYERS][VIZ_MAX_HEADS][VIZ_MAX_TOKENS * VIZ_MAX_DK];
    float k[VIZ_MAX_LAYERS][VIZ_MAX_HEADS][VIZ_MAX_TOKENS * VIZ_MAX_DK];
    float v[VIZ_MAX_LAYERS][VIZ_MAX_HEADS][VIZ_MAX_TOKENS * VIZ_MAX_DK];
} VizAttention;

// Eq. (1) for one query row of one head, from the kept q, k and v:
//   raw[c] = q·k_c, scaled[c] = raw[c] / √d_k (−∞ where masked),
//   weight = softmax(scaled) over the row, out = Σ_c weight[c] v_c  (d_k numbers).
typedef struct {
    int cols, d_k;
    float raw[VIZ_MAX_TOKENS];
    float scaled[VIZ_MAX_TOKENS];
    bool masked[VIZ_MAX_TOKENS];
    float weight[VIZ_MAX_TOKENS];
    float out[VIZ_MAX_DK];
} VizFormula;

// One point of the training curves. val_loss is NAN where validation was not measured.
typedef struct {
    long step;
    bool probe_changed;        // the probe sentence changed here (the entropy jumps)
    float train_loss, val_loss, lr, tokens_per_sec;
    float entropy[VIZ_KINDS][VIZ_MAX_LAYERS];  // mean attention entropy (nats), probe sentence
} VizHistoryPoint;

// The languages a model translates between, as its checkpoint or training run names
// them ("French", "English"); "" when not known (an older checkpoint).
typedef struct {
    char source[48], target[48];
} Languages;

typedef struct {
    uint64_t version;          // set by the exchange: 1, 2, 3 ... in publication order
    char task[64];             // e.g. "fr-en"
    Languages names;           // shown in the sentence captions
    char status[128];          // one line: "training", "paused", "loaded data/fr-en.ckpt" ...
    char model_history[256];   // an explored model's own .history beside it, if there is one
    bool paused, finished;
    int n_layers, n_heads, d_model;
    long step;
    float lr, tokens_per_sec, train_loss, val_loss;
    // The run as planned: the whole Eq. (3) curve and "step N / total" come from these.
    long total_steps;          // 0: not training (a loaded model)
    int warmup;
    float lr_scale;
    float seconds_left;        // estimated, from the recent step rate (< 0: unknown)
    bool replay;               // drawn from a recorded .history, not the live model
    char warning[160];         // shown in the accent colour: a cut probe, unknown words

    // The probe sentence, its tokens and its attention.
    char probe[VIZ_TEXT_CHARS];
    char translation[VIZ_TEXT_CHARS];
    int src_len, tgt_len;      // displayed tokens (source incl. EOS; target from BOS)
    char src_tokens[VIZ_MAX_TOKENS][VIZ_TOKEN_CHARS];
    char tgt_tokens[VIZ_MAX_TOKENS][VIZ_TOKEN_CHARS];   // decoder row r is fed tgt_tokens[r]
    char tgt_next[VIZ_MAX_TOKENS][VIZ_TOKEN_CHARS];     // and predicts tgt_next[r] (§3.1 shift)
    VizAttention attn[VIZ_KINDS];
    float entropy[VIZ_KINDS][VIZ_MAX_LAYERS];

    // The beam's finished hypotheses, best first, with their length-penalised scores.
    int n_hyps;
    char hyps[VIZ_MAX_HYPS][VIZ_TEXT_CHARS];
    float hyp_scores[VIZ_MAX_HYPS];

    int history_len;
    VizHistoryPoint history[VIZ_MAX_HISTORY];
} Snapshot;

// True if cell (r, c) of a is masked (padding or the causal triangle).
bool viz_cell_masked(const VizAttention *a, int r, int c);

// Fills f with Eq. (1) for query row `row` of (kind, layer, head); false when the
// snapshot keeps no q/k/v (a->d_k == 0) or the indices are outside it.
bool viz_formula(const Snapshot *s, VizKind kind, int layer, int head, int row, VizFormula *f);

// Mean over heads and valid query rows of the entropy -Σ p log p of each row's
// attention distribution (nats), for each layer of each kind; written into s->entropy.
// Uniform attention over n keys gives log n; attention on one key gives 0.
void snapshot_compute_entropy(Snapshot *s);

// Copies the attention of the model's last forward pass (B = 1: one probe sentence) into
// s->attn: the weights of every kind, layer and head (model_attention), and their q, k
// and v (model_attention_qkv) when d_k <= VIZ_MAX_DK; at most VIZ_MAX_TOKENS rows and
// columns, VIZ_MAX_LAYERS layers and VIZ_MAX_HEADS heads.
void snapshot_copy_attention(Snapshot *s, const Model *m);

// Appends a point to the history. When full, every other point is dropped first so the
// curve keeps covering the whole run at half the resolution.
void snapshot_history_push(Snapshot *s, const VizHistoryPoint *p);

// Copies a UTF-8 string into a fixed buffer, truncating at a character boundary.
void viz_copy_text(char *dst, int cap, const char *src);

// ---------------------------------------------------------------------------
// The triple buffer. Three Snapshots live in the exchange: the producer owns one
// ("back"), the consumer owns one ("front"), the third ("middle") is the newest
// published one. publish swaps back<->middle; acquire swaps middle<->front if something
// new was published. Both are O(1) under the mutex.
// ---------------------------------------------------------------------------
typedef struct {
    pthread_mutex_t lock;
    Snapshot *buffers[3];
    Snapshot *back, *middle, *front;
    bool fresh;           // middle holds a snapshot the consumer has not taken
    uint64_t published;   // number of publish calls
} SnapshotExchange;

// Allocates the three buffers (zeroed). exchange_free leaves it safe to free again.
void exchange_init(SnapshotExchange *x);
void exchange_free(SnapshotExchange *x);

// The producer's private buffer: write the next snapshot here, then publish.
Snapshot *exchange_back(SnapshotExchange *x);

// Makes the back buffer the newest snapshot, stamps its version, and hands the producer
// a new back buffer initialised as a copy of what was just published (so a producer
// can update a few fields and publish again). The copy happens outside the lock.
void exchange_publish(SnapshotExchange *x);

// Returns the newest published snapshot for the consumer to read until its next call,
// or the one it already had when nothing new arrived (version 0 before any publish).
// Never waits for the producer beyond a pointer swap.
const Snapshot *exchange_acquire(SnapshotExchange *x);

// ---------------------------------------------------------------------------
// Commands from the viewer to the training thread (pause, quit, a new probe sentence).
// ---------------------------------------------------------------------------
typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t wake;   // signalled on every change, so a paused trainer wakes up
    bool paused, quit;
    uint64_t probe_version;
    char probe[VIZ_TEXT_CHARS];
} VizControl;

void control_init(VizControl *c, const char *probe);
void control_free(VizControl *c);
void control_set_paused(VizControl *c, bool paused);
void control_quit(VizControl *c);
void control_set_probe(VizControl *c, const char *probe);
// Copies the current state out under the lock (probe copied only if out_probe != NULL).
void control_read(VizControl *c, bool *paused, bool *quit, uint64_t *probe_version,
                  char *out_probe);
// Blocks while paused and not quitting, up to timeout_ms; returns the quit flag.
bool control_wait_while_paused(VizControl *c, int timeout_ms);

#endif
