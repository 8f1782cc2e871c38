// checkpoint.c: the checkpoint file format (specified in checkpoint.h), writing and
// verified reading.
#include "checkpoint.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char MAGIC[8] = {'T', 'R', 'F', 'C', 'K', 'P', 'T', '\n'};
enum { HEADER_BYTES = 16, SECTION_HEADER_BYTES = 16, CHECKSUM_BYTES = 8 };
enum { CONF_BYTES = 32, TRST_BYTES = 56, ADAM_FIXED_BYTES = 48 };

// Sizes beyond these are not a model this project could train: a file claiming them is
// damaged or not ours, and is refused before anything is allocated.
enum {
    LIMIT_VOCAB = 1 << 22,
    LIMIT_D_MODEL = 1 << 16,
    LIMIT_HEADS = 1 << 10,
    LIMIT_D_FF = 1 << 18,
    LIMIT_LAYERS = 128,
    LIMIT_MAX_LEN = 1 << 14,
    LIMIT_MAX_BATCH = 1 << 16,
};
#define LIMIT_PARAMS (1L << 31)          // 8 GB of floats
#define LIMIT_BATCH_TOKENS (1L << 22)    // max_batch · max_len: activations stay sane
#define LIMIT_ATTENTION_BYTES (1LL << 32) // the attention weights the model keeps (below)

unsigned long long checkpoint_fnv1a(unsigned long long hash, const void *data, unsigned long size) {
    const unsigned char *p = data;
    uint64_t h = hash;
    for (unsigned long i = 0; i < size; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;  // the 64-bit FNV prime
    }
    return h;
}

// ---- little-endian encoding ------------------------------------------------------------

static bool host_is_little_endian(void) {
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 1;
}

static void put_u32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put_u64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put_f32(unsigned char *p, float f) {
    uint32_t v;
    memcpy(&v, &f, 4);
    put_u32(p, v);
}
static uint32_t get_u32(const unsigned char *p) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= (uint32_t)p[i] << (8 * i);
    return v;
}
static uint64_t get_u64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}
static float get_f32(const unsigned char *p) {
    uint32_t v = get_u32(p);
    float f;
    memcpy(&f, &v, 4);
    return f;
}
static int32_t get_i32(const unsigned char *p) {
    return (int32_t)get_u32(p);
}
static int64_t get_i64(const unsigned char *p) {
    return (int64_t)get_u64(p);
}

// n floats from little-endian bytes (a plain copy on little-endian machines).
static void get_floats(float *out, const unsigned char *p, long n) {
    if (host_is_little_endian()) {
        memcpy(out, p, sizeof(float) * (size_t)n);
        return;
    }
    for (long i = 0; i < n; i++) out[i] = get_f32(p + 4 * i);
}

// ---- writing ---------------------------------------------------------------------------

// A FILE* that hashes everything written through it and remembers the first failure.
typedef struct {
    FILE *f;
    uint64_t hash;
    bool ok;
} Writer;

static void write_bytes(Writer *w, const void *data, size_t size) {
    if (!w->ok || size == 0) return;
    w->hash = checkpoint_fnv1a(w->hash, data, size);
    if (fwrite(data, 1, size, w->f) != size) w->ok = false;
}

static void write_section_header(Writer *w, const char tag[4], uint64_t length) {
    unsigned char header[SECTION_HEADER_BYTES];
    memcpy(header, tag, 4);
    put_u32(header + 4, 0);
    put_u64(header + 8, length);
    write_bytes(w, header, sizeof header);
}

// n floats as little-endian bytes, through a small buffer.
static void write_floats(Writer *w, const float *x, long n) {
    if (host_is_little_endian()) {
        write_bytes(w, x, sizeof(float) * (size_t)n);
        return;
    }
    unsigned char buffer[4096];
    for (long i = 0; i < n;) {
        long chunk = n - i < 1024 ? n - i : 1024;
        for (long k = 0; k < chunk; k++) put_f32(buffer + 4 * k, x[i + k]);
        write_bytes(w, buffer, (size_t)(4 * chunk));
        i += chunk;
    }
}

static void write_config(Writer *w, const ModelConfig *c) {
    unsigned char b[CONF_BYTES];
    int32_t fields[7] = {c->vocab_size, c->d_model, c->n_heads, c->d_ff,
                         c->n_layers,   c->max_len, c->max_batch};
    for (int i = 0; i < 7; i++) put_u32(b + 4 * i, (uint32_t)fields[i]);
    put_f32(b + 28, c->dropout);
    write_section_header(w, "CONF", CONF_BYTES);
    write_bytes(w, b, sizeof b);
}

static void write_training_state(Writer *w, const TrainingState *s) {
    unsigned char b[TRST_BYTES];
    put_u64(b, (uint64_t)s->step);
    put_u64(b + 8, (uint64_t)s->epoch);
    put_u64(b + 16, (uint64_t)s->batch_in_epoch);
    put_u64(b + 24, s->rng.state);
    put_u64(b + 32, s->rng.increment);
    put_u64(b + 40, s->data_rng.state);
    put_u64(b + 48, s->data_rng.increment);
    write_section_header(w, "TRST", TRST_BYTES);
    write_bytes(w, b, sizeof b);
}

static void write_adam(Writer *w, const Adam *opt) {
    unsigned char b[ADAM_FIXED_BYTES];
    const AdamConfig *c = &opt->config;
    put_f32(b, c->beta1);
    put_f32(b + 4, c->beta2);
    put_f32(b + 8, c->eps);
    put_u32(b + 12, (uint32_t)c->d_model);
    put_u32(b + 16, (uint32_t)c->warmup_steps);
    put_f32(b + 20, c->lr_scale);
    put_f32(b + 24, c->clip_norm);
    put_u32(b + 28, 0);
    put_u64(b + 32, (uint64_t)opt->n);
    put_u64(b + 40, (uint64_t)opt->step);
    write_section_header(w, "ADAM", ADAM_FIXED_BYTES + 8 * (uint64_t)opt->n);
    write_bytes(w, b, sizeof b);
    write_floats(w, opt->m, opt->n);
    write_floats(w, opt->v, opt->n);
}

// Writes the whole file to PATH.tmp, then renames it over PATH (see checkpoint.h).
bool checkpoint_save(const char *path, const Model *m, const Tokenizer *tok,
                     const TrainingState *state, const Adam *opt, ErrorMessage *err) {
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return error_set(err, "%s: path too long", path);
    if (opt && opt->memory && opt->n != m->params.n)
        return error_set(err, "%s: the optimiser has %ld moments but the model %ld parameters",
                         path, opt->n, m->params.n);
    char *vocab = NULL;
    size_t vocab_len = 0;
    if (tok) vocab = tokenizer_to_string(tok, &vocab_len);

    Writer w = {fopen(tmp, "wb"), CHECKPOINT_FNV_OFFSET, true};
    if (!w.f) {
        free(vocab);
        return error_set(err, "%s: cannot create: %s", tmp, strerror(errno));
    }
    unsigned char header[HEADER_BYTES];
    memcpy(header, MAGIC, 8);
    put_u32(header + 8, CHECKPOINT_VERSION);
    put_u32(header + 12, 0);
    write_bytes(&w, header, sizeof header);
    write_config(&w, &m->config);
    if (tok) {
        write_section_header(&w, "VOCB", vocab_len);
        write_bytes(&w, vocab, vocab_len);
    }
    if (state) write_training_state(&w, state);
    if (opt && opt->memory) write_adam(&w, opt);
    write_section_header(&w, "PARM", 8 + 4 * (uint64_t)m->params.n);
    unsigned char count[8];
    put_u64(count, (uint64_t)m->params.n);
    write_bytes(&w, count, 8);
    write_floats(&w, m->params.values, m->params.n);
    write_section_header(&w, "END ", 0);
    unsigned char checksum[CHECKSUM_BYTES];
    put_u64(checksum, w.hash);
    if (w.ok && fwrite(checksum, 1, sizeof checksum, w.f) != sizeof checksum) w.ok = false;
    free(vocab);

    bool ok = w.ok && fflush(w.f) == 0 && fsync(fileno(w.f)) == 0;
    ok = (fclose(w.f) == 0) && ok;
    if (!ok) {
        remove(tmp);
        return error_set(err, "%s: write failed (is the disk full?)", tmp);
    }
    if (rename(tmp, path) != 0) {
        int saved = errno;
        remove(tmp);
        return error_set(err, "%s: cannot rename %s into place: %s", path, tmp, strerror(saved));
    }
    return true;
}

// ---- reading ---------------------------------------------------------------------------

// Where the sections of a verified file are (pointers into the file's bytes).
typedef struct {
    const unsigned char *conf, *vocab, *trst, *adam, *parm;
    uint64_t vocab_len, adam_len, parm_len;
    ModelConfig config;
} Parsed;

static bool tag_is(const unsigned char *p, const char *tag) {
    return memcmp(p, tag, 4) == 0;
}

// Records section `tag` at p (length len) into *slot, refusing duplicates.
static bool take_section(const char *path, const unsigned char **slot, const unsigned char *p,
                         const char *tag, ErrorMessage *err) {
    if (*slot) return error_set(err, "%s: corrupted checkpoint: section %s appears twice", path, tag);
    *slot = p;
    return true;
}

// Checks a configuration read from a file against generous limits; names the bad field.
static bool config_sane(const char *path, const ModelConfig *c, ErrorMessage *err) {
    struct {
        const char *name;
        long value, low, high;
    } fields[] = {
        {"vocab_size", c->vocab_size, 3, LIMIT_VOCAB}, {"d_model", c->d_model, 1, LIMIT_D_MODEL},
        {"n_heads", c->n_heads, 1, LIMIT_HEADS},       {"d_ff", c->d_ff, 1, LIMIT_D_FF},
        {"n_layers", c->n_layers, 1, LIMIT_LAYERS},    {"max_len", c->max_len, 2, LIMIT_MAX_LEN},
        {"max_batch", c->max_batch, 1, LIMIT_MAX_BATCH},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (fields[i].value < fields[i].low || fields[i].value > fields[i].high)
            return error_set(err, "%s: model configuration has %s = %ld, expected %ld..%ld", path,
                             fields[i].name, fields[i].value, fields[i].low, fields[i].high);
    if (!(c->dropout >= 0.0f && c->dropout < 1.0f))
        return error_set(err, "%s: model configuration has dropout = %g, expected 0 <= p < 1", path,
                         (double)c->dropout);
    if (c->d_model % c->n_heads != 0)
        return error_set(err, "%s: model configuration has d_model = %d not divisible by n_heads = %d",
                         path, c->d_model, c->n_heads);
    if ((long)c->max_batch * c->max_len > LIMIT_BATCH_TOKENS)
        return error_set(err, "%s: max_batch %d x max_len %d is too large (at most %ld tokens)", path,
                         c->max_batch, c->max_len, LIMIT_BATCH_TOKENS);
    // The model keeps every layer's attention weights (B,h,L,L) for encoder self, decoder
    // self and cross attention: quadratic in max_len, so bound that too.
    long long attention = 4LL * 3 * c->n_layers * c->max_batch * c->n_heads * (long long)c->max_len * c->max_len;
    if (attention > LIMIT_ATTENTION_BYTES)
        return error_set(err, "%s: max_len %d with max_batch %d, %d heads and %d layers is too large "
                         "(%lld MB of attention weights)", path, c->max_len, c->max_batch, c->n_heads,
                         c->n_layers, attention >> 20);
    ErrorMessage why = {{0}};
    if (!model_config_valid(c, &why))
        return error_set(err, "%s: model configuration unusable: %s", path, why.text);
    return true;
}

// Verifies the file bytes (see the order in checkpoint.h) and finds the sections.
// max_batch > 0 replaces the stored max_batch before the checks.
static bool parse(const char *path, const unsigned char *data, size_t size, int max_batch,
                  Parsed *out, ErrorMessage *err) {
    memset(out, 0, sizeof *out);
    size_t magic_seen = size < 8 ? size : 8;
    if (memcmp(data, MAGIC, magic_seen) != 0)
        return error_set(err, "%s: not a checkpoint (it does not start with the checkpoint magic)", path);
    if (size < HEADER_BYTES)
        return error_set(err, "%s: truncated checkpoint (%zu bytes, shorter than the header)", path, size);
    uint32_t version = get_u32(data + 8);
    if (version > CHECKPOINT_VERSION)
        return error_set(err, "%s: checkpoint format version %u was written by a newer version of this "
                         "program (this one reads version %d)", path, version, CHECKPOINT_VERSION);
    if (version < 1) return error_set(err, "%s: unknown checkpoint format version %u", path, version);

    // Walk the sections, trusting no length until it is known to fit.
    size_t offset = HEADER_BYTES;
    bool ended = false;
    while (!ended) {
        if (size - offset < SECTION_HEADER_BYTES)
            return error_set(err, "%s: truncated checkpoint (%zu bytes; a section header is cut off "
                             "at byte %zu)", path, size, offset);
        const unsigned char *h = data + offset;
        uint64_t length = get_u64(h + 8);
        const unsigned char *payload = h + SECTION_HEADER_BYTES;
        offset += SECTION_HEADER_BYTES;
        if (length > size - offset)
            return error_set(err, "%s: truncated checkpoint (%zu bytes; section '%.4s' needs %llu more "
                             "from byte %zu)", path, size, (const char *)h, (unsigned long long)length, offset);
        bool ok = true;
        if (tag_is(h, "CONF")) {
            ok = take_section(path, &out->conf, payload, "CONF", err);
            if (ok && length != CONF_BYTES)
                return error_set(err, "%s: corrupted checkpoint: CONF has %llu bytes, expected %d", path,
                                 (unsigned long long)length, CONF_BYTES);
        } else if (tag_is(h, "VOCB")) {
            ok = take_section(path, &out->vocab, payload, "VOCB", err);
            out->vocab_len = length;
        } else if (tag_is(h, "TRST")) {
            ok = take_section(path, &out->trst, payload, "TRST", err);
            if (ok && length != TRST_BYTES)
                return error_set(err, "%s: corrupted checkpoint: TRST has %llu bytes, expected %d", path,
                                 (unsigned long long)length, TRST_BYTES);
        } else if (tag_is(h, "ADAM")) {
            ok = take_section(path, &out->adam, payload, "ADAM", err);
            out->adam_len = length;
        } else if (tag_is(h, "PARM")) {
            ok = take_section(path, &out->parm, payload, "PARM", err);
            out->parm_len = length;
        } else if (tag_is(h, "END ")) {
            ended = true;
        }  // any other tag: a later addition, skipped
        if (!ok) return false;
        offset += length;
    }
    if (size - offset < CHECKSUM_BYTES)
        return error_set(err, "%s: truncated checkpoint (%zu bytes; the checksum is missing)", path, size);
    if (size - offset > CHECKSUM_BYTES)
        return error_set(err, "%s: corrupted checkpoint: %zu unexpected bytes after the end", path,
                         size - offset - CHECKSUM_BYTES);
    uint64_t stored = get_u64(data + offset), computed = checkpoint_fnv1a(CHECKPOINT_FNV_OFFSET, data, offset);
    if (stored != computed)
        return error_set(err, "%s: corrupted checkpoint: checksum mismatch (stored %016llx, computed "
                         "%016llx)", path, (unsigned long long)stored, (unsigned long long)computed);

    // The bytes are what was written. Now check that they make sense.
    if (!out->conf) return error_set(err, "%s: checkpoint has no model configuration (CONF)", path);
    if (!out->parm) return error_set(err, "%s: checkpoint has no parameters (PARM)", path);
    ModelConfig *c = &out->config;
    c->vocab_size = get_i32(out->conf);
    c->d_model = get_i32(out->conf + 4);
    c->n_heads = get_i32(out->conf + 8);
    c->d_ff = get_i32(out->conf + 12);
    c->n_layers = get_i32(out->conf + 16);
    c->max_len = get_i32(out->conf + 20);
    c->max_batch = get_i32(out->conf + 24);
    c->dropout = get_f32(out->conf + 28);
    if (max_batch > 0) c->max_batch = max_batch;
    if (!config_sane(path, c, err)) return false;
    long expected = model_param_count(c);
    if (expected <= 0 || expected > LIMIT_PARAMS)
        return error_set(err, "%s: model configuration gives %ld parameters", path, expected);
    int64_t n = out->parm_len >= 8 ? get_i64(out->parm) : -1;
    if (n != expected || out->parm_len != 8 + 4 * (uint64_t)expected)
        return error_set(err, "%s: checkpoint holds %lld parameters, its configuration needs %ld", path,
                         (long long)n, expected);
    // A model that diverged is not worth loading: every parameter must be a finite number.
    for (long i = 0; i < expected; i++) {
        float v = get_f32(out->parm + 8 + 4 * (size_t)i);
        if (!isfinite(v))
            return error_set(err, "%s: parameter %ld of %ld is %s (did training diverge?)", path, i,
                             expected, isnan(v) ? "NaN" : "infinite");
    }
    if (out->adam) {
        int64_t an = out->adam_len >= ADAM_FIXED_BYTES ? get_i64(out->adam + 32) : -1;
        if (an != expected || out->adam_len != ADAM_FIXED_BYTES + 8 * (uint64_t)expected)
            return error_set(err, "%s: checkpoint's optimiser state holds %lld moments, expected %ld",
                             path, (long long)an, expected);
    }
    return true;
}

// Reads the file into memory and parses it; *data must be freed by the caller on success.
static bool read_and_parse(const char *path, int max_batch, unsigned char **data, Parsed *parsed,
                           ErrorMessage *err) {
    size_t size = 0;
    char *bytes = read_whole_file(path, &size, err);
    if (!bytes) return false;
    if (!parse(path, (const unsigned char *)bytes, size, max_batch, parsed, err)) {
        free(bytes);
        return false;
    }
    *data = (unsigned char *)bytes;
    return true;
}

bool checkpoint_read_config(const char *path, ModelConfig *config, ErrorMessage *err) {
    unsigned char *data;
    Parsed parsed;
    if (!read_and_parse(path, 0, &data, &parsed, err)) return false;
    *config = parsed.config;
    free(data);
    return true;
}

bool checkpoint_load(const char *path, int max_batch, Model *m, Tokenizer *tok,
                     TrainingState *state, Adam *opt, ErrorMessage *err) {
    unsigned char *data;
    Parsed p;
    if (!read_and_parse(path, max_batch, &data, &p, err)) return false;

    // The vocabulary first: it is the last thing that can fail.
    if (tok) {
        if (!p.vocab) {
            free(data);
            return error_set(err, "%s: checkpoint has no embedded vocabulary (VOCB)", path);
        }
        char name[4200];
        snprintf(name, sizeof name, "%s (embedded vocabulary)", path);
        if (!tokenizer_from_string(tok, (const char *)p.vocab, p.vocab_len, name, err)) {
            free(data);
            return false;
        }
        if (tokenizer_vocab_size(tok) != p.config.vocab_size) {
            int got = tokenizer_vocab_size(tok);
            tokenizer_free(tok);
            free(data);
            return error_set(err, "%s: embedded vocabulary has %d tokens, the model %d", path, got,
                             p.config.vocab_size);
        }
    }

    // model_init draws initial weights; they are overwritten at once, so any seed will do.
    Rng init_rng;
    rng_seed(&init_rng, 0, 0);
    model_init(m, &p.config, &init_rng);
    get_floats(m->params.values, p.parm + 8, m->params.n);

    if (state) {
        memset(state, 0, sizeof *state);
        if (p.trst) {
            state->present = true;
            state->step = (long)get_i64(p.trst);
            state->epoch = (long)get_i64(p.trst + 8);
            state->batch_in_epoch = (long)get_i64(p.trst + 16);
            state->rng.state = get_u64(p.trst + 24);
            state->rng.increment = get_u64(p.trst + 32);
            state->data_rng.state = get_u64(p.trst + 40);
            state->data_rng.increment = get_u64(p.trst + 48);
        }
    }
    if (opt) {
        memset(opt, 0, sizeof *opt);
        if (p.adam) {
            AdamConfig c;
            c.beta1 = get_f32(p.adam);
            c.beta2 = get_f32(p.adam + 4);
            c.eps = get_f32(p.adam + 8);
            c.d_model = get_i32(p.adam + 12);
            c.warmup_steps = get_i32(p.adam + 16);
            c.lr_scale = get_f32(p.adam + 20);
            c.clip_norm = get_f32(p.adam + 24);
            adam_init(opt, &c, m->params.n);
            opt->step = (long)get_i64(p.adam + 40);
            get_floats(opt->m, p.adam + ADAM_FIXED_BYTES, opt->n);
            get_floats(opt->v, p.adam + ADAM_FIXED_BYTES + 4 * (size_t)opt->n, opt->n);
        }
    }
    free(data);
    return true;
}
