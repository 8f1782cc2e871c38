// snapshot.c: the snapshot the training thread publishes, and the triple buffer and
// command channel between the training thread and the render thread.
#include "snapshot.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"

const char *viz_kind_name(VizKind kind) {
    switch (kind) {
    case VIZ_ENC_SELF: return "encoder self-attention";
    case VIZ_DEC_SELF: return "decoder self-attention (masked)";
    case VIZ_CROSS: return "encoder-decoder attention";
    default: return "?";
    }
}

bool viz_cell_masked(const VizAttention *a, int r, int c) {
    if (r >= a->valid_rows || c >= a->valid_cols) return true;  // padding
    return a->causal && c > r;  // a query may not see later keys (§3.2.3)
}

static int min_int(int a, int b) { return a < b ? a : b; }

// Copies the first (rows, cols) of one (1,h,rows,cols) matrix per head, and the first
// rows of its (1,h,rows,d_k) q and (1,h,cols,d_k) k and v when they fit, for one layer.
static void copy_layer(VizAttention *a, int layer, const float *w, const AttentionQKV *qkv, int heads) {
    int R = a->rows, C = a->cols, dk = a->d_k;
    for (int hd = 0; hd < heads; hd++) {
        for (int r = 0; r < R; r++)
            for (int c = 0; c < C; c++)
                a->weights[layer][hd][r * C + c] = w[((long)hd * qkv->rows + r) * qkv->cols + c];
        if (dk == 0) continue;
        for (int r = 0; r < R; r++)
            memcpy(a->q[layer][hd] + r * dk, qkv->q + ((long)hd * qkv->rows + r) * dk, sizeof(float) * (size_t)dk);
        for (int c = 0; c < C; c++) {
            memcpy(a->k[layer][hd] + c * dk, qkv->k + ((long)hd * qkv->cols + c) * dk, sizeof(float) * (size_t)dk);
            memcpy(a->v[layer][hd] + c * dk, qkv->v + ((long)hd * qkv->cols + c) * dk, sizeof(float) * (size_t)dk);
        }
    }
}

// One kind of attention (§3.2.3) of every layer into s->attn[vk].
static void copy_kind(Snapshot *s, const Model *m, AttentionKind kind, VizKind vk, bool causal) {
    VizAttention *a = &s->attn[vk];
    int heads = min_int(m->config.n_heads, VIZ_MAX_HEADS);
    int layers = min_int(m->config.n_layers, VIZ_MAX_LAYERS);
    memset(a, 0, sizeof *a);
    a->causal = causal;
    for (int l = 0; l < layers; l++) {
        int rows, cols;
        AttentionQKV qkv;
        const float *w = model_attention(m, kind, l, &rows, &cols);
        if (!w || !model_attention_qkv(m, kind, l, &qkv)) continue;
        a->rows = a->valid_rows = min_int(rows, VIZ_MAX_TOKENS);  // one sentence: no padding inside
        a->cols = a->valid_cols = min_int(cols, VIZ_MAX_TOKENS);
        a->d_k = qkv.d_k <= VIZ_MAX_DK ? qkv.d_k : 0;
        copy_layer(a, l, w, &qkv, heads);
    }
}

void snapshot_copy_attention(Snapshot *s, const Model *m) {
    copy_kind(s, m, ATTN_ENCODER_SELF, VIZ_ENC_SELF, false);
    copy_kind(s, m, ATTN_DECODER_SELF, VIZ_DEC_SELF, true);
    copy_kind(s, m, ATTN_CROSS, VIZ_CROSS, false);
}

// Eq. (1) for one row, as attention.c computes it: scores, the scale 1/√d_k, the mask
// as −∞, a softmax shifted by the row's maximum, then the weighted sum of the values.
bool viz_formula(const Snapshot *s, VizKind kind, int layer, int head, int row, VizFormula *f) {
    const VizAttention *a = &s->attn[kind];
    int dk = a->d_k;
    if (dk <= 0 || layer < 0 || layer >= VIZ_MAX_LAYERS || head < 0 || head >= VIZ_MAX_HEADS || row < 0 ||
        row >= a->rows)
        return false;
    memset(f, 0, sizeof *f);
    f->cols = a->cols;
    f->d_k = dk;
    const float *q = a->q[layer][head] + row * dk;
    float scale = 1.0f / sqrtf((float)dk), max = -INFINITY;
    for (int c = 0; c < a->cols; c++) {
        const float *k = a->k[layer][head] + c * dk;
        double dot = 0;
        for (int i = 0; i < dk; i++) dot += (double)q[i] * k[i];
        f->raw[c] = (float)dot;
        f->masked[c] = viz_cell_masked(a, row, c);
        f->scaled[c] = f->masked[c] ? -INFINITY : f->raw[c] * scale;
        if (f->scaled[c] > max) max = f->scaled[c];
    }
    double sum = 0;
    for (int c = 0; c < a->cols; c++) {
        f->weight[c] = f->masked[c] ? 0.0f : (float)exp((double)(f->scaled[c] - max));
        sum += f->weight[c];
    }
    for (int c = 0; c < a->cols; c++) {
        f->weight[c] = sum > 0 ? (float)(f->weight[c] / sum) : 0.0f;
        const float *v = a->v[layer][head] + c * dk;
        for (int i = 0; i < dk; i++) f->out[i] += f->weight[c] * v[i];
    }
    return true;
}

// Entropy of row distributions, averaged over heads and valid query rows. Masked
// weights are zero, and 0·log 0 counts as 0.
void snapshot_compute_entropy(Snapshot *s) {
    for (int k = 0; k < VIZ_KINDS; k++) {
        const VizAttention *a = &s->attn[k];
        for (int l = 0; l < VIZ_MAX_LAYERS; l++) {
            double total = 0;
            int count = 0;
            for (int hd = 0; l < s->n_layers && hd < s->n_heads; hd++) {
                const float *w = a->weights[l][hd];
                for (int r = 0; r < a->valid_rows; r++) {
                    double e = 0;
                    for (int c = 0; c < a->cols; c++) {
                        float p = w[r * a->cols + c];
                        if (p > 0) e -= p * log(p);
                    }
                    total += e;
                    count++;
                }
            }
            s->entropy[k][l] = count ? (float)(total / count) : 0.0f;
        }
    }
}

void snapshot_history_push(Snapshot *s, const VizHistoryPoint *p) {
    if (s->history_len == VIZ_MAX_HISTORY) {
        // Keep points 0, 2, 4, ...: the curve still spans the whole run.
        // A probe change on a dropped point moves to the kept one before it.
        for (int i = 0; i < VIZ_MAX_HISTORY / 2; i++) {
            bool changed = s->history[2 * i].probe_changed || s->history[2 * i + 1].probe_changed;
            s->history[i] = s->history[2 * i];
            s->history[i].probe_changed = changed;
        }
        s->history_len = VIZ_MAX_HISTORY / 2;
    }
    s->history[s->history_len++] = *p;
}

void viz_copy_text(char *dst, int cap, const char *src) { utf8_copy(dst, (size_t)cap, src); }

// ---- triple buffer ------------------------------------------------------------------

void exchange_init(SnapshotExchange *x) {
    memset(x, 0, sizeof *x);
    pthread_mutex_init(&x->lock, NULL);
    for (int i = 0; i < 3; i++) x->buffers[i] = xcalloc(1, sizeof(Snapshot));
    x->back = x->buffers[0];
    x->middle = x->buffers[1];
    x->front = x->buffers[2];
}

void exchange_free(SnapshotExchange *x) {
    if (!x->buffers[0]) return;
    for (int i = 0; i < 3; i++) {
        free(x->buffers[i]);
        x->buffers[i] = NULL;
    }
    x->back = x->middle = x->front = NULL;
    pthread_mutex_destroy(&x->lock);
}

Snapshot *exchange_back(SnapshotExchange *x) { return x->back; }

void exchange_publish(SnapshotExchange *x) {
    pthread_mutex_lock(&x->lock);
    x->back->version = ++x->published;
    Snapshot *just_published = x->back;
    x->back = x->middle;
    x->middle = just_published;
    x->fresh = true;
    pthread_mutex_unlock(&x->lock);
    // Only the producer ever writes a buffer, and only its back one, so reading the
    // just-published buffer here is safe even if the consumer takes it meanwhile.
    memcpy(x->back, just_published, sizeof(Snapshot));
}

const Snapshot *exchange_acquire(SnapshotExchange *x) {
    pthread_mutex_lock(&x->lock);
    if (x->fresh) {
        Snapshot *t = x->front;
        x->front = x->middle;
        x->middle = t;
        x->fresh = false;
    }
    const Snapshot *s = x->front;
    pthread_mutex_unlock(&x->lock);
    return s;
}

// ---- commands -----------------------------------------------------------------------

void control_init(VizControl *c, const char *probe) {
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->wake, NULL);
    viz_copy_text(c->probe, VIZ_TEXT_CHARS, probe ? probe : "");
    c->probe_version = 1;
}

void control_free(VizControl *c) {
    pthread_cond_destroy(&c->wake);
    pthread_mutex_destroy(&c->lock);
}

void control_set_paused(VizControl *c, bool paused) {
    pthread_mutex_lock(&c->lock);
    c->paused = paused;
    pthread_cond_broadcast(&c->wake);
    pthread_mutex_unlock(&c->lock);
}

void control_quit(VizControl *c) {
    pthread_mutex_lock(&c->lock);
    c->quit = true;
    pthread_cond_broadcast(&c->wake);
    pthread_mutex_unlock(&c->lock);
}

void control_set_probe(VizControl *c, const char *probe) {
    pthread_mutex_lock(&c->lock);
    viz_copy_text(c->probe, VIZ_TEXT_CHARS, probe);
    c->probe_version++;
    pthread_cond_broadcast(&c->wake);
    pthread_mutex_unlock(&c->lock);
}

void control_read(VizControl *c, bool *paused, bool *quit, uint64_t *probe_version,
                  char *out_probe) {
    pthread_mutex_lock(&c->lock);
    if (paused) *paused = c->paused;
    if (quit) *quit = c->quit;
    if (probe_version) *probe_version = c->probe_version;
    if (out_probe) memcpy(out_probe, c->probe, VIZ_TEXT_CHARS);
    pthread_mutex_unlock(&c->lock);
}

bool control_wait_while_paused(VizControl *c, int timeout_ms) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&c->lock);
    while (c->paused && !c->quit) {
        if (pthread_cond_timedwait(&c->wake, &c->lock, &until) != 0) break;  // timed out
    }
    bool quit = c->quit;
    pthread_mutex_unlock(&c->lock);
    return quit;
}
