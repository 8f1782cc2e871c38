// replay.c: Snapshots from a recorded history. See replay.h.
#include "replay.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int mini(int a, int b) { return a < b ? a : b; }

// Mean over heads and query rows of the entropy -Σ p log p (nats) of one layer's
// attention rows in frame f, from the quantized weights (what the live curve shows).
static float frame_entropy(const History *h, const HistoryFrame *f, int kind, int layer) {
    double sum = 0;
    int n = 0;
    for (int hd = 0; hd < h->header.n_heads; hd++) {
        int rows, cols;
        const unsigned char *w = history_weights(&h->header, f, kind, layer, hd, &rows, &cols);
        for (int r = 0; r < rows; r++, n++)
            for (int c = 0; c < cols; c++) {
                double p = w[r * cols + c] / 255.0;
                if (p > 0) sum -= p * log(p);
            }
    }
    return n > 0 ? (float)(sum / n) : 0;
}

// The matrices of one kind of frame f into a (VIZ_MAX_* bounded) VizAttention.
static void fill_kind(VizAttention *a, const History *h, const HistoryFrame *f, int kind) {
    int layers = mini(h->header.n_layers, VIZ_MAX_LAYERS), heads = mini(h->header.n_heads, VIZ_MAX_HEADS);
    memset(a, 0, sizeof *a);
    a->causal = kind == VIZ_DEC_SELF;
    for (int l = 0; l < layers; l++)
        for (int hd = 0; hd < heads; hd++) {
            int rows, cols;
            const unsigned char *w = history_weights(&h->header, f, kind, l, hd, &rows, &cols);
            int R = mini(rows, VIZ_MAX_TOKENS), C = mini(cols, VIZ_MAX_TOKENS);
            a->rows = a->valid_rows = R;
            a->cols = a->valid_cols = C;
            for (int r = 0; r < R; r++)
                for (int c = 0; c < C; c++) a->weights[l][hd][r * C + c] = w[r * cols + c] / 255.0f;
        }
}

// The curve point of frame f.
static VizHistoryPoint frame_point(const History *h, const HistoryFrame *f) {
    VizHistoryPoint p = {.step = f->step, .train_loss = f->loss, .val_loss = NAN, .lr = f->lr};
    for (int k = 0; k < VIZ_KINDS; k++)
        for (int l = 0; l < mini(h->header.n_layers, VIZ_MAX_LAYERS); l++)
            p.entropy[k][l] = frame_entropy(h, f, k, l);
    return p;
}

bool replay_load(Replay *r, const char *path, ErrorMessage *err) {
    memset(r, 0, sizeof *r);
    if (!history_load(path, &r->history, err)) return false;
    if (r->history.damage[0]) fprintf(stderr, "transformer-viz: warning: %s\n", r->history.damage);
    viz_copy_text(r->path, (int)sizeof r->path, path);
    r->points = xmalloc(sizeof *r->points * (size_t)r->history.n_frames);
    for (int i = 0; i < r->history.n_frames; i++) r->points[i] = frame_point(&r->history, &r->history.frames[i]);
    return true;
}

void replay_free(Replay *r) {
    history_free(&r->history);
    free(r->points);
    r->points = NULL;
}

int replay_longest(const Replay *r, int frame) {
    int n = 0;
    for (int f = frame - REPLAY_FIT_FRAMES; f <= frame + REPLAY_FIT_FRAMES; f++) {
        if (f < 0 || f >= r->history.n_frames) continue;
        const HistoryFrame *fr = &r->history.frames[f];
        n = n > fr->src_len ? n : fr->src_len;
        n = n > fr->tgt_len ? n : fr->tgt_len;
    }
    return mini(n, VIZ_MAX_TOKENS);
}

int replay_sharpest_layer(const Replay *r) {
    const VizHistoryPoint *last = &r->points[r->history.n_frames - 1];
    int best = 0;
    for (int l = 1; l < mini(r->history.header.n_layers, VIZ_MAX_LAYERS); l++)
        if (last->entropy[VIZ_CROSS][l] < last->entropy[VIZ_CROSS][best]) best = l;
    return best;
}

void replay_fill_snapshot(Snapshot *s, const Replay *r, int frame) {
    const History *h = &r->history;
    const HistoryHeader *hd = &h->header;
    const char *slash = strrchr(r->path, '/');
    const char *name = slash ? slash + 1 : r->path;
    frame = frame < 0 ? 0 : frame >= h->n_frames ? h->n_frames - 1 : frame;
    const HistoryFrame *f = &h->frames[frame];
    uint64_t version = s->version;
    memset(s, 0, sizeof *s);
    s->version = version;
    s->replay = true;
    viz_copy_text(s->task, (int)sizeof s->task, hd->task);
    snprintf(s->status, sizeof s->status, "replay of %.60s: frame %d of %d", name, frame + 1, h->n_frames);
    s->finished = true;
    s->n_layers = mini(hd->n_layers, VIZ_MAX_LAYERS);
    s->n_heads = mini(hd->n_heads, VIZ_MAX_HEADS);
    s->d_model = hd->d_model;
    s->step = f->step;
    s->total_steps = hd->total_steps;
    s->warmup = hd->warmup;
    s->lr_scale = hd->lr_scale;
    s->seconds_left = -1;
    s->lr = f->lr;
    s->train_loss = f->loss;
    s->val_loss = NAN;
    viz_copy_text(s->probe, VIZ_TEXT_CHARS, hd->probe);
    s->src_len = mini(f->src_len, VIZ_MAX_TOKENS);
    s->tgt_len = mini(f->tgt_len, VIZ_MAX_TOKENS);
    for (int i = 0; i < s->src_len; i++) viz_copy_text(s->src_tokens[i], VIZ_TOKEN_CHARS, f->src[i]);
    for (int i = 0; i < s->tgt_len; i++) {
        viz_copy_text(s->tgt_tokens[i], VIZ_TOKEN_CHARS, f->tgt[i]);
        viz_copy_text(s->tgt_next[i], VIZ_TOKEN_CHARS, f->tgt[i + 1]);
    }
    // The greedy translation: the predicted tokens, word starts as spaces.
    char *out = s->translation;
    size_t used = 0;
    for (int i = 1; i <= f->tgt_len && used + VIZ_TOKEN_CHARS < VIZ_TEXT_CHARS; i++) {
        const char *t = f->tgt[i];
        if (!strcmp(t, "</s>")) break;
        if (!strncmp(t, "\xe2\x96\x81", 3)) {  // "▁": a word starts
            if (used) out[used++] = ' ';
            t += 3;
        }
        used += (size_t)snprintf(out + used, VIZ_TEXT_CHARS - used, "%s", t);
    }
    s->n_hyps = 0;
    for (int k = 0; k < VIZ_KINDS; k++) fill_kind(&s->attn[k], h, f, k);
    memcpy(s->entropy, r->points[frame].entropy, sizeof s->entropy);
    for (int i = 0; i <= frame; i++) snapshot_history_push(s, &r->points[i]);
}
