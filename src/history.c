// history.c: recording and reading attention histories. See history.h.
#include "history.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "decode.h"

#ifdef _OPENMP
#include <omp.h>
#endif

static const char MAGIC[] = "attn-history 1\n";

static int min_int(int a, int b) { return a < b ? a : b; }

void history_path_for(char *out, size_t size, const char *checkpoint_path) {
    size_t n = strlen(checkpoint_path);
    const char *ext = ".ckpt";
    if (n >= 5 && strcmp(checkpoint_path + n - 5, ext) == 0) n -= 5;
    snprintf(out, size, "%.*s.history", (int)n, checkpoint_path);
}

const char *history_default_probe(const char *task) {
    if (strcmp(task, "fr-en") == 0) return "je suis étudiant";
    if (strcmp(task, "sort") == 0) return "hbgdace";
    return "cadbehg";  // copy and reverse: distinct letters, so the pattern is clear
}

// Bytes of the weights of a frame with S source and T target rows: the three kinds'
// (N,h,S,S), (N,h,T,T) and (N,h,T,S) matrices one after another.
static size_t weights_size(const HistoryHeader *h, int S, int T) {
    size_t per_head = (size_t)S * S + (size_t)T * T + (size_t)T * S;
    return per_head * (size_t)h->n_layers * (size_t)h->n_heads;
}

const unsigned char *history_weights(const HistoryHeader *h, const HistoryFrame *f, int kind,
                                     int layer, int head, int *rows, int *cols) {
    int S = f->src_len, T = f->tgt_len;
    int r[HISTORY_KINDS] = {S, T, T}, c[HISTORY_KINDS] = {S, T, S};
    size_t offset = 0, heads = (size_t)h->n_layers * (size_t)h->n_heads;
    for (int k = 0; k < kind; k++) offset += heads * (size_t)r[k] * (size_t)c[k];
    offset += ((size_t)layer * (size_t)h->n_heads + (size_t)head) * (size_t)r[kind] * (size_t)c[kind];
    *rows = r[kind];
    *cols = c[kind];
    return f->weights + offset;
}

// A token's label, cut at a character boundary to fit the frame's fixed field.
static void label_of(const Tokenizer *tok, int id, char *out) {
    char buf[TOKEN_STRING_MAX];
    tokenizer_token_string(tok, id, buf, sizeof buf);
    utf8_copy(out, HISTORY_TOKEN_CHARS, buf);
}

// The (1,h,rows,cols) attention of the model's last forward pass for one kind, as bytes
// round(255·w), keeping the first `rows` x `cols` corner.
static void quantize_kind(unsigned char *out, const Model *m, const HistoryHeader *h, int kind,
                          int rows, int cols) {
    for (int l = 0; l < h->n_layers; l++) {
        int R, C;
        const float *w = model_attention(m, (AttentionKind)kind, l, &R, &C);
        for (int hd = 0; hd < h->n_heads; hd++)
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++) {
                    float v = w ? w[((long)hd * R + r) * C + c] : 0;
                    *out++ = (unsigned char)lroundf(255.0f * fminf(fmaxf(v, 0.0f), 1.0f));
                }
    }
}

void history_capture(HistoryFrame *f, Model *m, const Tokenizer *tok, const char *probe) {
#ifdef _OPENMP
    // One sentence is too little work to share: threads would spend more time meeting at
    // barriers than computing (on a busy 2-core machine, seconds instead of milliseconds).
    int threads = omp_get_max_threads();
    omp_set_num_threads(1);
#endif
    memset(f, 0, sizeof *f);
    int max_src = min_int(m->config.max_len, HISTORY_MAX_TOKENS) - 1;  // room for </s>
    size_t len = strlen(probe);
    int *src = xmalloc(sizeof(int) * (len + 2));
    int n = tokenizer_encode(tok, probe, len, src, (int)len + 1);
    if (n > max_src) n = max_src;
    src[n++] = TOKEN_EOS;
    Hypothesis *hyp = xmalloc(sizeof *hyp);
    decode_greedy(hyp, m, src, n);
    if (hyp->length > HISTORY_MAX_TOKENS - 1) {
        hyp->length = HISTORY_MAX_TOKENS - 1;
        hyp->finished = false;  // the last row's prediction was cut off
    }
    int T = decode_rerun_attention(m, src, n, hyp);
    f->src_len = n;
    f->tgt_len = T;
    for (int i = 0; i < n; i++) label_of(tok, src[i], f->src[i]);
    label_of(tok, TOKEN_BOS, f->tgt[0]);
    for (int i = 1; i <= T; i++) {
        if (i - 1 < hyp->length) label_of(tok, hyp->tokens[i - 1], f->tgt[i]);
        else if (hyp->finished) label_of(tok, TOKEN_EOS, f->tgt[i]);
        else snprintf(f->tgt[i], HISTORY_TOKEN_CHARS, "...");
    }
    HistoryHeader dims = {.n_layers = m->config.n_layers, .n_heads = m->config.n_heads};
    f->weights = xmalloc(weights_size(&dims, n, T));
    int rows[HISTORY_KINDS] = {n, T, T}, cols[HISTORY_KINDS] = {n, T, n};
    unsigned char *out = f->weights;
    for (int k = 0; k < HISTORY_KINDS; k++) {
        quantize_kind(out, m, &dims, k, rows[k], cols[k]);
        out += (size_t)dims.n_layers * dims.n_heads * rows[k] * cols[k];
    }
    free(hyp);
    free(src);
#ifdef _OPENMP
    omp_set_num_threads(threads);
#endif
}

void history_frame_free(HistoryFrame *f) {
    free(f->weights);
    f->weights = NULL;
}

// ---- writing ---------------------------------------------------------------------------

static void put_u32(FILE *f, uint32_t v) {
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    fwrite(b, 1, 4, f);
}

static void put_f32(FILE *f, float v) {
    uint32_t bits;
    memcpy(&bits, &v, 4);
    put_u32(f, bits);
}

// A string of at most 255 bytes: its length, then the bytes.
static void put_str(FILE *f, const char *s) {
    size_t n = strlen(s);
    if (n > 255) n = 255;
    fputc((int)n, f);
    fwrite(s, 1, n, f);
}

// Closes f and reports a write error (a full disk) as a message naming path.
static bool close_written(FILE *f, const char *path, ErrorMessage *err) {
    bool bad = ferror(f) != 0;
    if (fclose(f) != 0 || bad) return error_set(err, "%s: cannot write the history", path);
    return true;
}

bool history_create(const char *path, const HistoryHeader *h, ErrorMessage *err) {
    FILE *f = fopen(path, "wb");
    if (!f) return error_set(err, "%s: cannot create the history file", path);
    fwrite(MAGIC, 1, sizeof MAGIC - 1, f);
    put_u32(f, (uint32_t)h->n_layers);
    put_u32(f, (uint32_t)h->n_heads);
    put_u32(f, (uint32_t)h->d_model);
    put_u32(f, (uint32_t)h->warmup);
    put_u32(f, (uint32_t)h->total_steps);
    put_f32(f, h->lr_scale);
    put_str(f, h->task);
    put_str(f, h->probe);
    return close_written(f, path, err);
}

bool history_append(const char *path, const HistoryHeader *h, const HistoryFrame *fr,
                    ErrorMessage *err) {
    FILE *f = fopen(path, "ab");
    if (!f) return error_set(err, "%s: cannot open the history file to append", path);
    put_u32(f, (uint32_t)fr->step);
    put_f32(f, fr->loss);
    put_f32(f, fr->lr);
    fputc(fr->src_len, f);
    fputc(fr->tgt_len, f);
    for (int i = 0; i < fr->src_len; i++) put_str(f, fr->src[i]);
    for (int i = 0; i <= fr->tgt_len; i++) put_str(f, fr->tgt[i]);
    fwrite(fr->weights, 1, weights_size(h, fr->src_len, fr->tgt_len), f);
    return close_written(f, path, err);
}

// ---- reading ---------------------------------------------------------------------------

// A cursor over the file's bytes; `bad` is set once a read runs past the end.
typedef struct {
    const unsigned char *p, *end;
    bool bad;
} Reader;

static const unsigned char *take(Reader *r, size_t n) {
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = true;
        return NULL;
    }
    const unsigned char *at = r->p;
    r->p += n;
    return at;
}

static uint32_t get_u32(Reader *r) {
    const unsigned char *b = take(r, 4);
    return b ? (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24 : 0;
}

static float get_f32(Reader *r) {
    uint32_t bits = get_u32(r);
    float v;
    memcpy(&v, &bits, 4);
    return v;
}

static int get_u8(Reader *r) {
    const unsigned char *b = take(r, 1);
    return b ? b[0] : 0;
}

// A string into out (cap bytes, NUL-terminated, cut if longer).
static void get_str(Reader *r, char *out, size_t cap) {
    int n = get_u8(r);
    const unsigned char *b = take(r, (size_t)n);
    size_t keep = b ? ((size_t)n < cap ? (size_t)n : cap - 1) : 0;
    if (keep) memcpy(out, b, keep);
    out[keep] = '\0';
}

// The header after the magic; false if it is cut off or impossible.
static bool read_header(Reader *r, HistoryHeader *h) {
    h->n_layers = (int)get_u32(r);
    h->n_heads = (int)get_u32(r);
    h->d_model = (int)get_u32(r);
    h->warmup = (int)get_u32(r);
    h->total_steps = (long)get_u32(r);
    h->lr_scale = get_f32(r);
    get_str(r, h->task, sizeof h->task);
    get_str(r, h->probe, sizeof h->probe);
    return !r->bad && h->n_layers >= 1 && h->n_layers <= 64 && h->n_heads >= 1 && h->n_heads <= 64;
}

// One frame; false at a cut-off or impossible frame (r->bad tells which).
static bool read_frame(Reader *r, const HistoryHeader *h, HistoryFrame *f) {
    memset(f, 0, sizeof *f);
    f->step = get_u32(r);
    f->loss = get_f32(r);
    f->lr = get_f32(r);
    f->src_len = get_u8(r);
    f->tgt_len = get_u8(r);
    if (r->bad || f->src_len > HISTORY_MAX_TOKENS || f->tgt_len > HISTORY_MAX_TOKENS) return false;
    for (int i = 0; i < f->src_len; i++) get_str(r, f->src[i], HISTORY_TOKEN_CHARS);
    for (int i = 0; i <= f->tgt_len; i++) get_str(r, f->tgt[i], HISTORY_TOKEN_CHARS);
    size_t n = weights_size(h, f->src_len, f->tgt_len);
    const unsigned char *w = take(r, n);
    if (!w) return false;
    f->weights = xmalloc(n ? n : 1);
    memcpy(f->weights, w, n);
    return true;
}

bool history_load(const char *path, History *out, ErrorMessage *err) {
    memset(out, 0, sizeof *out);
    size_t size;
    char *data = read_whole_file(path, &size, err);
    if (!data) return false;
    Reader r = {(const unsigned char *)data, (const unsigned char *)data + size, false};
    const unsigned char *magic = take(&r, sizeof MAGIC - 1);
    if (!magic || memcmp(magic, MAGIC, sizeof MAGIC - 1) != 0) {
        free(data);
        return error_set(err, "%s: not a history file (it should start with \"attn-history 1\")", path);
    }
    HistoryHeader *h = &out->header;
    if (!read_header(&r, h)) {
        free(data);
        return error_set(err, "%s: the history header is damaged", path);
    }
    int cap = 0;
    while (r.p < r.end) {
        HistoryFrame f;
        if (!read_frame(&r, h, &f)) break;  // a run killed mid-write: keep what is whole
        // Steps only increase (a resumed run first cuts the file back to its checkpoint):
        // a frame that goes back is damaged, and nothing after it can be trusted.
        if (out->n_frames > 0 && f.step <= out->frames[out->n_frames - 1].step) {
            snprintf(out->damage, sizeof out->damage, "%s: frame %d has step %ld after step %ld, so the file "
                     "is damaged there; the frames from it on are not shown", path, out->n_frames + 1,
                     (long)f.step, (long)out->frames[out->n_frames - 1].step);
            history_frame_free(&f);
            break;
        }
        if (out->n_frames == cap) {
            cap = cap * 2 + 16;
            HistoryFrame *grown = xmalloc(sizeof *grown * (size_t)cap);
            if (out->n_frames) memcpy(grown, out->frames, sizeof *grown * (size_t)out->n_frames);
            free(out->frames);
            out->frames = grown;
        }
        out->frames[out->n_frames++] = f;
    }
    free(data);
    if (out->n_frames == 0) {
        history_free(out);
        return error_set(err, "%s: the history holds no frames", path);
    }
    return true;
}

bool history_load_header(const char *path, HistoryHeader *out) {
    // the magic, six numbers and two strings of at most 255 bytes each
    unsigned char head[sizeof MAGIC - 1 + 6 * 4 + 2 * 256];
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    size_t got = fread(head, 1, sizeof head, f);
    fclose(f);
    Reader r = {head, head + got, false};
    const unsigned char *magic = take(&r, sizeof MAGIC - 1);
    memset(out, 0, sizeof *out);
    return magic && memcmp(magic, MAGIC, sizeof MAGIC - 1) == 0 && read_header(&r, out);
}

void history_free(History *h) {
    for (int i = 0; i < h->n_frames; i++) history_frame_free(&h->frames[i]);
    free(h->frames);
    h->frames = NULL;
    h->n_frames = 0;
}

bool history_keep_until(const char *path, long step, ErrorMessage *err) {
    size_t size;
    char *data = read_whole_file(path, &size, err);
    if (!data) return false;
    Reader r = {(const unsigned char *)data, (const unsigned char *)data + size, false};
    const unsigned char *magic = take(&r, sizeof MAGIC - 1);
    HistoryHeader h;
    if (!magic || memcmp(magic, MAGIC, sizeof MAGIC - 1) != 0 || !read_header(&r, &h)) {
        free(data);
        return error_set(err, "%s: not a history file, or its header is damaged", path);
    }
    // The end of the last whole frame of a step up to `step`, frames in increasing steps.
    size_t keep = (size_t)(r.p - (const unsigned char *)data);
    long last = -1;
    while (r.p < r.end) {
        HistoryFrame f;
        if (!read_frame(&r, &h, &f)) break;
        bool in_order = f.step <= step && f.step > last;
        last = f.step;
        history_frame_free(&f);
        if (!in_order) break;
        keep = (size_t)(r.p - (const unsigned char *)data);
    }
    free(data);
    if (keep < size && truncate(path, (off_t)keep) != 0)
        return error_set(err, "%s: cannot cut the history back to step %ld", path, step);
    return true;
}
