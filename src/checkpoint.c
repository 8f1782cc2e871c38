// checkpoint.c: the checkpoint file format (specified in checkpoint.h), writing and
// verified reading.
#include "checkpoint.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char MAGIC[8] = {'T', 'R', 'F', 'C', 'K', 'P', 'T', '\n'};
enum { HEADER_BYTES = 16, SECTION_HEADER_BYTES = 16, CHECKSUM_BYTES = 8 };

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

// p[0..4) = v, little-endian (the file's byte order on any host).
static void put_u32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
// p[0..8) = v, little-endian.
static void put_u64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
// p[0..4) = the IEEE-754 bits of f, little-endian.
static void put_f32(unsigned char *p, float f) {
    uint32_t v;
    memcpy(&v, &f, 4);
    put_u32(p, v);
}
// The little-endian u32 at p (the inverse of put_u32).
static uint32_t get_u32(const unsigned char *p) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= (uint32_t)p[i] << (8 * i);
    return v;
}
// The little-endian u64 at p.
static uint64_t get_u64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}
// The little-endian f32 at p.
static float get_f32(const unsigned char *p) {
    uint32_t v = get_u32(p);
    float f;
    memcpy(&f, &v, 4);
    return f;
}
// The little-endian two's-complement i32 at p.
static int32_t get_i32(const unsigned char *p) {
    return (int32_t)get_u32(p);
}
// The little-endian two's-complement i64 at p.
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

// ---- the fixed-size sections, one table each ----------------------------------------------
// CONF, TRST and the head of ADAM are a row of little-endian numbers. Each is described
// once, by a table of (C field, file type), and the same table writes and reads it, so
// the file offsets (checkpoint.h) are never written out by hand.

typedef enum {
    FIELD_INT,    // int      <-> i32
    FIELD_FLOAT,  // float    <-> f32
    FIELD_LONG,   // long     <-> i64
    FIELD_U64,    // uint64_t <-> u64
    FIELD_ZERO,   // 4 bytes of 0 in the file (padding), no C field
} FieldType;

typedef struct {
    const char *name;  // as in checkpoint.h and in error messages
    FieldType type;
    size_t offset;     // offsetof the C field in the struct the table describes
} Field;

#define FIELD(type, name, structure, member) {name, type, offsetof(structure, member)}

// "CONF": ModelConfig, 32 bytes.
static const Field CONF_FIELDS[] = {
    FIELD(FIELD_INT, "vocab_size", ModelConfig, vocab_size),
    FIELD(FIELD_INT, "d_model", ModelConfig, d_model),
    FIELD(FIELD_INT, "n_heads", ModelConfig, n_heads),
    FIELD(FIELD_INT, "d_ff", ModelConfig, d_ff),
    FIELD(FIELD_INT, "n_layers", ModelConfig, n_layers),
    FIELD(FIELD_INT, "max_len", ModelConfig, max_len),
    FIELD(FIELD_INT, "max_batch", ModelConfig, max_batch),
    FIELD(FIELD_FLOAT, "dropout", ModelConfig, dropout),
};

// "TRST": TrainingState, 56 bytes.
static const Field TRST_FIELDS[] = {
    FIELD(FIELD_LONG, "step", TrainingState, step),
    FIELD(FIELD_LONG, "epoch", TrainingState, epoch),
    FIELD(FIELD_LONG, "batch_in_epoch", TrainingState, batch_in_epoch),
    FIELD(FIELD_U64, "rng.state", TrainingState, rng.state),
    FIELD(FIELD_U64, "rng.increment", TrainingState, rng.increment),
    FIELD(FIELD_U64, "data_rng.state", TrainingState, data_rng.state),
    FIELD(FIELD_U64, "data_rng.increment", TrainingState, data_rng.increment),
};

// "ADAM": the fixed 48 bytes of an Adam before its moments m[n] and v[n].
static const Field ADAM_FIELDS[] = {
    FIELD(FIELD_FLOAT, "beta1", Adam, config.beta1),
    FIELD(FIELD_FLOAT, "beta2", Adam, config.beta2),
    FIELD(FIELD_FLOAT, "eps", Adam, config.eps),
    FIELD(FIELD_INT, "d_model", Adam, config.d_model),
    FIELD(FIELD_INT, "warmup_steps", Adam, config.warmup_steps),
    FIELD(FIELD_FLOAT, "lr_scale", Adam, config.lr_scale),
    FIELD(FIELD_FLOAT, "clip_norm", Adam, config.clip_norm),
    {"padding", FIELD_ZERO, 0},
    FIELD(FIELD_LONG, "n", Adam, n),
    FIELD(FIELD_LONG, "step", Adam, step),
};

#define COUNT(table) ((int)(sizeof(table) / sizeof((table)[0])))

// Bytes a field takes in the file.
static size_t field_bytes(FieldType type) {
    return type == FIELD_LONG || type == FIELD_U64 ? 8 : 4;
}

// Bytes the n fields take in the file (the section's payload, or its fixed head).
static size_t fields_bytes(const Field *fields, int n) {
    size_t total = 0;
    for (int i = 0; i < n; i++) total += field_bytes(fields[i].type);
    return total;
}

// The file offset of the field called `name` (a table lookup, so no offset is written
// twice); the name must be in the table.
static size_t field_offset(const Field *fields, int n, const char *name) {
    size_t offset = 0;
    for (int i = 0; i < n && strcmp(fields[i].name, name) != 0; i++) offset += field_bytes(fields[i].type);
    return offset;
}

// Encodes the fields of the struct at object into out (fields_bytes of them).
static void encode_fields(unsigned char *out, const void *object, const Field *fields, int n) {
    const char *base = object;
    for (int i = 0; i < n; i++) {
        const void *field = base + fields[i].offset;
        switch (fields[i].type) {
        case FIELD_INT: put_u32(out, (uint32_t)*(const int *)field); break;
        case FIELD_FLOAT: put_f32(out, *(const float *)field); break;
        case FIELD_LONG: put_u64(out, (uint64_t)*(const long *)field); break;
        case FIELD_U64: put_u64(out, *(const uint64_t *)field); break;
        case FIELD_ZERO: put_u32(out, 0); break;
        }
        out += field_bytes(fields[i].type);
    }
}

// Decodes fields_bytes(fields, n) bytes at in into the fields of the struct at object.
static void decode_fields(void *object, const unsigned char *in, const Field *fields, int n) {
    char *base = object;
    for (int i = 0; i < n; i++) {
        void *field = base + fields[i].offset;
        switch (fields[i].type) {
        case FIELD_INT: *(int *)field = get_i32(in); break;
        case FIELD_FLOAT: *(float *)field = get_f32(in); break;
        case FIELD_LONG: *(long *)field = (long)get_i64(in); break;
        case FIELD_U64: *(uint64_t *)field = get_u64(in); break;
        case FIELD_ZERO: break;
        }
        in += field_bytes(fields[i].type);
    }
}

// ---- writing ---------------------------------------------------------------------------

// A FILE* that hashes everything written through it and remembers the first failure.
typedef struct {
    FILE *f;
    uint64_t hash;
    bool ok;
} Writer;

// Writes size bytes through w and adds them to the running checksum; after the first
// failure nothing more is written.
static void write_bytes(Writer *w, const void *data, size_t size) {
    if (!w->ok || size == 0) return;
    w->hash = checkpoint_fnv1a(w->hash, data, size);
    if (fwrite(data, 1, size, w->f) != size) w->ok = false;
}

// A section header: the four-byte tag, 0, and the payload length (checkpoint.h).
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

// One fixed-size section: its header, then the fields of object as the table says.
static void write_fields_section(Writer *w, const char tag[4], const void *object, const Field *fields,
                                 int n, uint64_t extra_bytes) {
    unsigned char b[64];
    size_t bytes = fields_bytes(fields, n);
    encode_fields(b, object, fields, n);
    write_section_header(w, tag, bytes + extra_bytes);
    write_bytes(w, b, bytes);
}

// "ADAM": the fixed head, then the moments m[n] and v[n].
static void write_adam(Writer *w, const Adam *opt) {
    write_fields_section(w, "ADAM", opt, ADAM_FIELDS, COUNT(ADAM_FIELDS), 8 * (uint64_t)opt->n);
    write_floats(w, opt->m, opt->n);
    write_floats(w, opt->v, opt->n);
}

// "AVGS": n_averaged, n, then the n doubles of the running sum, little-endian.
static void write_average(Writer *w, const TrainingState *state, long n) {
    write_section_header(w, "AVGS", 16 + 8 * (uint64_t)n);
    unsigned char b[16];
    put_u64(b, (uint64_t)state->n_averaged);
    put_u64(b + 8, (uint64_t)n);
    write_bytes(w, b, sizeof b);
    for (long i = 0; i < n; i++) {
        uint64_t bits;
        memcpy(&bits, &state->param_sum[i], 8);
        unsigned char d[8];
        put_u64(d, bits);
        write_bytes(w, d, 8);
    }
}

// The double at p, little-endian.
static double get_f64(const unsigned char *p) {
    uint64_t bits = get_u64(p);
    double d;
    memcpy(&d, &bits, 8);
    return d;
}

// "META": the description's lines "key=value\n" (checkpoint.h).
static void write_run_info(Writer *w, const RunInfo *info) {
    uint64_t length = 0;
    for (int i = 0; i < info->n; i++)
        length += strlen(info->entries[i].key) + 1 + strlen(info->entries[i].value) + 1;
    write_section_header(w, "META", length);
    for (int i = 0; i < info->n; i++) {
        write_bytes(w, info->entries[i].key, strlen(info->entries[i].key));
        write_bytes(w, "=", 1);
        write_bytes(w, info->entries[i].value, strlen(info->entries[i].value));
        write_bytes(w, "\n", 1);
    }
}

// "WORD": u64 n_distinct, then the words, one per line (checkpoint.h).
static void write_words(Writer *w, const WordList *words) {
    size_t len;
    char *text = wordlist_to_string(words, &len);
    write_section_header(w, "WORD", 8 + (uint64_t)len);
    unsigned char count[8];
    put_u64(count, (uint64_t)words->n_distinct);
    write_bytes(w, count, 8);
    write_bytes(w, text, len);
    free(text);
}

// The whole file, header to checksum, through w (the parts as in checkpoint_save_parts;
// vocab is the tokenizer's text form, vocab_len bytes).
static void write_file(Writer *w, const CheckpointParts *parts, const char *vocab, size_t vocab_len) {
    const Model *m = parts->model;
    const TrainingState *state = parts->state;
    const Adam *opt = parts->opt;
    unsigned char header[HEADER_BYTES];
    memcpy(header, MAGIC, 8);
    put_u32(header + 8, CHECKPOINT_VERSION);
    put_u32(header + 12, 0);
    write_bytes(w, header, sizeof header);
    write_fields_section(w, "CONF", &m->config, CONF_FIELDS, COUNT(CONF_FIELDS), 0);
    if (vocab) {
        write_section_header(w, "VOCB", vocab_len);
        write_bytes(w, vocab, vocab_len);
    }
    if (state) write_fields_section(w, "TRST", state, TRST_FIELDS, COUNT(TRST_FIELDS), 0);
    if (opt && opt->memory) write_adam(w, opt);
    if (state && state->n_averaged > 0 && state->param_sum) write_average(w, state, m->params.n);
    write_section_header(w, "PARM", 8 + 4 * (uint64_t)m->params.n);
    unsigned char count[8];
    put_u64(count, (uint64_t)m->params.n);
    write_bytes(w, count, 8);
    write_floats(w, m->params.values, m->params.n);
    if (parts->info) write_run_info(w, parts->info);
    if (parts->words && parts->words->present) write_words(w, parts->words);
    write_section_header(w, "END ", 0);
    unsigned char checksum[CHECKSUM_BYTES];
    put_u64(checksum, w->hash);  // the hash of every byte before it
    if (w->ok && fwrite(checksum, 1, sizeof checksum, w->f) != sizeof checksum) w->ok = false;
}

// Flushes, syncs and closes tmp, then renames it over path; removes tmp on failure.
static bool commit_file(Writer *w, const char *tmp, const char *path, ErrorMessage *err) {
    bool ok = w->ok && fflush(w->f) == 0 && fsync(fileno(w->f)) == 0;
    ok = (fclose(w->f) == 0) && ok;
    if (!ok) {
        remove(tmp);
        return error_set(err, "%s: write failed (is the disk full?); the old file, if any, is untouched", path);
    }
    if (rename(tmp, path) != 0) {
        int saved = errno;
        remove(tmp);
        return error_set(err, "%s: cannot rename %s into place: %s", path, tmp, strerror(saved));
    }
    return true;
}

// The plain form: no run description, no word list.
bool checkpoint_save(const char *path, const Model *m, const Tokenizer *tok,
                     const TrainingState *state, const Adam *opt, ErrorMessage *err) {
    CheckpointParts parts = {.model = m, .tok = tok, .state = state, .opt = opt};
    return checkpoint_save_parts(path, &parts, err);
}

// Writes the whole file to PATH.tmp, then renames it over PATH (see checkpoint.h).
bool checkpoint_save_parts(const char *path, const CheckpointParts *parts, ErrorMessage *err) {
    const Model *m = parts->model;
    const Adam *opt = parts->opt;
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return error_set(err, "%s: path too long", path);
    if (opt && opt->memory && opt->n != m->params.n)
        return error_set(err, "%s: the optimiser has %ld moments but the model %ld parameters",
                         path, opt->n, m->params.n);
    Writer w = {fopen(tmp, "wb"), CHECKPOINT_FNV_OFFSET, true};
    if (!w.f) return error_set(err, "%s: cannot write it (writing %s first): %s", path, tmp, strerror(errno));
    size_t vocab_len = 0;
    char *vocab = parts->tok ? tokenizer_to_string(parts->tok, &vocab_len) : NULL;
    write_file(&w, parts, vocab, vocab_len);
    free(vocab);
    return commit_file(&w, tmp, path, err);
}

bool checkpoint_prepare_path(const char *path, bool *stale_removed, ErrorMessage *err) {
    char tmp[4096];
    *stale_removed = false;
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return error_set(err, "%s: path too long", path);
    struct stat st;
    if (lstat(tmp, &st) == 0 && S_ISREG(st.st_mode) && unlink(tmp) == 0) *stale_removed = true;
    FILE *f = fopen(tmp, "wb");
    if (!f) return error_set(err, "%s: cannot write it (writing %s first): %s", path, tmp, strerror(errno));
    fclose(f);
    remove(tmp);
    return true;
}

// ---- the run description (META) -----------------------------------------------------------

// True for the bytes a key is made of: a-z, 0-9 and '-'.
static bool is_key_byte(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

// True if the n bytes at key make a key (1..RUN_INFO_KEY_BYTES-1 key bytes).
static bool key_valid(const char *key, size_t n) {
    if (n == 0 || n >= RUN_INFO_KEY_BYTES) return false;
    for (size_t i = 0; i < n; i++)
        if (!is_key_byte(key[i])) return false;
    return true;
}

// The entry of key in info, or NULL.
static RunInfoEntry *run_info_find(const RunInfo *info, const char *key) {
    for (int i = 0; i < info->n; i++)
        if (strcmp(info->entries[i].key, key) == 0) return (RunInfoEntry *)&info->entries[i];
    return NULL;
}

void run_info_set(RunInfo *info, const char *key, const char *value) {
    if (!key_valid(key, strlen(key))) die("run_info_set: bad key '%s'", key);
    RunInfoEntry *e = run_info_find(info, key);
    if (!e) {
        if (info->n == RUN_INFO_MAX) die("run_info_set: more than %d entries", RUN_INFO_MAX);
        e = &info->entries[info->n++];
        snprintf(e->key, sizeof e->key, "%s", key);
    }
    escape_bytes(e->value, sizeof e->value, value, strlen(value));
}

const char *run_info_get(const RunInfo *info, const char *key) {
    const RunInfoEntry *e = run_info_find(info, key);
    return e ? e->value : NULL;
}

// One line of META ("key=value", n bytes at line, without its newline) into info,
// refusing a bad key, a bad value or a repeated key; line_no names it in the message.
static bool parse_run_info_line(const char *path, const char *line, size_t n, int line_no, RunInfo *info,
                                ErrorMessage *err) {
    const char *eq = memchr(line, '=', n);
    char shown[80];
    escape_bytes(shown, sizeof shown, line, n < 40 ? n : 40);
    size_t key_len = eq ? (size_t)(eq - line) : 0, value_len = eq ? n - key_len - 1 : 0;
    if (!eq || !key_valid(line, key_len))
        return error_set(err, "%s: run description line %d ('%s') is not key=value with a key of a-z, 0-9, '-'",
                         path, line_no, shown);
    if (value_len >= RUN_INFO_VALUE_BYTES || !text_is_printable(eq + 1, value_len))
        return error_set(err, "%s: run description line %d ('%s'): the value is longer than %d bytes or not "
                         "printable text", path, line_no, shown, RUN_INFO_VALUE_BYTES - 1);
    if (info->n == RUN_INFO_MAX)
        return error_set(err, "%s: run description has more than %d lines", path, RUN_INFO_MAX);
    RunInfoEntry *e = &info->entries[info->n];
    memcpy(e->key, line, key_len), e->key[key_len] = '\0';
    if (run_info_find(info, e->key))
        return error_set(err, "%s: run description names '%s' twice", path, e->key);
    memcpy(e->value, eq + 1, value_len), e->value[value_len] = '\0';
    info->n++;
    return true;
}

// The META payload (len bytes at p) into info, every line checked (checkpoint.h).
static bool parse_run_info(const char *path, const unsigned char *p, uint64_t len, RunInfo *info,
                           ErrorMessage *err) {
    memset(info, 0, sizeof *info);
    const char *text = (const char *)p;
    if (len > 0 && text[len - 1] != '\n')
        return error_set(err, "%s: run description (META) does not end with a newline", path);
    for (size_t i = 0; i < len;) {
        const char *end = memchr(text + i, '\n', len - i);
        size_t n = (size_t)(end - (text + i));
        if (!parse_run_info_line(path, text + i, n, info->n + 1, info, err)) return false;
        i += n + 1;
    }
    info->present = true;
    return true;
}

// ---- reading ---------------------------------------------------------------------------

// Where the sections of a verified file are (pointers into the file's bytes).
typedef struct {
    const unsigned char *conf, *vocab, *trst, *adam, *parm, *avgs, *meta, *words;
    uint64_t vocab_len, adam_len, parm_len, avgs_len, meta_len, words_len;
    ModelConfig config;
} Parsed;

// True if the four bytes at p are the section tag `tag`.
static bool tag_is(const unsigned char *p, const char *tag) {
    return memcmp(p, tag, 4) == 0;
}

// Records section `tag` at p into *slot, refusing duplicates; a fixed-size section
// (expected_len > 0) must have exactly that many bytes.
static bool take_section(const char *path, const unsigned char **slot, const unsigned char *p,
                         uint64_t length, const char *tag, size_t expected_len, ErrorMessage *err) {
    if (*slot) return error_set(err, "%s: corrupted checkpoint: section %s appears twice", path, tag);
    if (expected_len > 0 && length != expected_len)
        return error_set(err, "%s: corrupted checkpoint: %s has %llu bytes, expected %zu", path, tag,
                         (unsigned long long)length, expected_len);
    *slot = p;
    return true;
}

// Files the section with header h (payload after it, `length` bytes) into out; unknown
// tags are later additions and skipped. Sets *ended at "END ".
static bool record_section(const char *path, const unsigned char *h, uint64_t length, Parsed *out,
                           bool *ended, ErrorMessage *err) {
    const struct {
        const char *tag;
        const unsigned char **slot;
        uint64_t *length;   // where to keep the length of a variable-size section
        size_t fixed_size;  // the size of a fixed-size one
    } known[] = {
        {"CONF", &out->conf, NULL, fields_bytes(CONF_FIELDS, COUNT(CONF_FIELDS))},
        {"VOCB", &out->vocab, &out->vocab_len, 0},
        {"TRST", &out->trst, NULL, fields_bytes(TRST_FIELDS, COUNT(TRST_FIELDS))},
        {"ADAM", &out->adam, &out->adam_len, 0},
        {"PARM", &out->parm, &out->parm_len, 0},
        {"AVGS", &out->avgs, &out->avgs_len, 0},
        {"META", &out->meta, &out->meta_len, 0},
        {"WORD", &out->words, &out->words_len, 0},
    };
    for (int i = 0; i < COUNT(known); i++) {
        if (!tag_is(h, known[i].tag)) continue;
        if (known[i].length) *known[i].length = length;
        return take_section(path, known[i].slot, h + SECTION_HEADER_BYTES, length, known[i].tag,
                            known[i].fixed_size, err);
    }
    if (tag_is(h, "END ")) *ended = true;
    return true;
}

// The 16-byte header: the magic, then a version this reader knows.
static bool check_header(const char *path, const unsigned char *data, size_t size, ErrorMessage *err) {
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
    return true;
}

// Walks the sections up to "END ", trusting no length until it is known to fit; *end
// gets the offset just after END (where the checksum starts).
static bool walk_sections(const char *path, const unsigned char *data, size_t size, Parsed *out,
                          size_t *end, ErrorMessage *err) {
    size_t offset = HEADER_BYTES;
    bool ended = false;
    while (!ended) {
        if (size - offset < SECTION_HEADER_BYTES)
            return error_set(err, "%s: truncated checkpoint (%zu bytes; a section header is cut off "
                             "at byte %zu)", path, size, offset);
        const unsigned char *h = data + offset;
        uint64_t length = get_u64(h + 8);
        offset += SECTION_HEADER_BYTES;
        if (length > size - offset) {
            char tag[20];
            escape_bytes(tag, sizeof tag, (const char *)h, 4);
            return error_set(err, "%s: truncated checkpoint (%zu bytes; section '%s' needs %llu more "
                             "from byte %zu)", path, size, tag, (unsigned long long)length, offset);
        }
        if (!record_section(path, h, length, out, &ended, err)) return false;
        offset += length;
    }
    *end = offset;
    return true;
}

// The trailer: exactly 8 bytes after END, the FNV-1a of everything before them.
static bool check_checksum(const char *path, const unsigned char *data, size_t size, size_t end,
                           ErrorMessage *err) {
    if (size - end < CHECKSUM_BYTES)
        return error_set(err, "%s: truncated checkpoint (%zu bytes; the checksum is missing)", path, size);
    if (size - end > CHECKSUM_BYTES)
        return error_set(err, "%s: corrupted checkpoint: %zu unexpected bytes after the end", path,
                         size - end - CHECKSUM_BYTES);
    uint64_t stored = get_u64(data + end), computed = checkpoint_fnv1a(CHECKPOINT_FNV_OFFSET, data, end);
    if (stored != computed)
        return error_set(err, "%s: corrupted checkpoint: checksum mismatch (stored %016llx, computed "
                         "%016llx)", path, (unsigned long long)stored, (unsigned long long)computed);
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

// PARM holds exactly `expected` floats (after its i64 count), every one finite: a model
// that diverged is not worth loading.
static bool check_parameters(const char *path, const Parsed *p, long expected, ErrorMessage *err) {
    int64_t n = p->parm_len >= 8 ? get_i64(p->parm) : -1;
    if (n != expected || p->parm_len != 8 + 4 * (uint64_t)expected)
        return error_set(err, "%s: checkpoint holds %lld parameters, its configuration needs %ld", path,
                         (long long)n, expected);
    for (long i = 0; i < expected; i++) {
        float v = get_f32(p->parm + 8 + 4 * (size_t)i);
        if (!isfinite(v))
            return error_set(err, "%s: parameter %ld of %ld is %s (did training diverge?)", path, i,
                             expected, isnan(v) ? "NaN" : "infinite");
    }
    return true;
}

// The ADAM section, if present: its head, then 2·expected moments.
static bool check_adam_size(const char *path, const Parsed *p, long expected, ErrorMessage *err) {
    if (!p->adam) return true;
    size_t head = fields_bytes(ADAM_FIELDS, COUNT(ADAM_FIELDS));
    int64_t n = p->adam_len >= head ? get_i64(p->adam + field_offset(ADAM_FIELDS, COUNT(ADAM_FIELDS), "n")) : -1;
    if (n != expected || p->adam_len != head + 8 * (uint64_t)expected)
        return error_set(err, "%s: checkpoint's optimiser state holds %lld moments, expected %ld",
                         path, (long long)n, expected);
    return true;
}

// TRST, if present: counts that cannot be negative, and PCG increments that are odd (an
// even one, such as 0, makes rng_below loop forever).
static bool check_training_state(const char *path, const Parsed *p, ErrorMessage *err) {
    if (!p->trst) return true;
    TrainingState st;
    decode_fields(&st, p->trst, TRST_FIELDS, COUNT(TRST_FIELDS));
    const struct { const char *name; long value; } counts[] = {
        {"step", st.step}, {"epoch", st.epoch}, {"batch_in_epoch", st.batch_in_epoch}};
    for (int i = 0; i < COUNT(counts); i++)
        if (counts[i].value < 0)
            return error_set(err, "%s: corrupted training state: %s = %ld is negative", path, counts[i].name,
                             counts[i].value);
    if (st.rng.increment % 2 == 0 || st.data_rng.increment % 2 == 0)
        return error_set(err, "%s: corrupted training state: an RNG increment is even (rng.increment %llu, "
                         "data_rng.increment %llu; PCG needs odd ones)", path,
                         (unsigned long long)st.rng.increment, (unsigned long long)st.data_rng.increment);
    return true;
}

// True if every one of the n little-endian floats at p is finite (and >= 0 if nonnegative).
static bool floats_finite(const unsigned char *p, long n, bool nonnegative) {
    for (long i = 0; i < n; i++) {
        float v = get_f32(p + 4 * (size_t)i);
        if (!isfinite(v) || (nonnegative && v < 0.0f)) return false;
    }
    return true;
}

// ADAM, if present: β's in [0, 1), ε > 0, a positive finite lr scale, warmup >= 1, a
// non-negative step equal to TRST's, finite moments m and v >= 0.
static bool check_adam_state(const char *path, const Parsed *p, long n, ErrorMessage *err) {
    if (!p->adam) return true;
    Adam a;
    decode_fields(&a, p->adam, ADAM_FIELDS, COUNT(ADAM_FIELDS));
    const AdamConfig *c = &a.config;
    if (!(c->beta1 >= 0.0f && c->beta1 < 1.0f && c->beta2 >= 0.0f && c->beta2 < 1.0f))
        return error_set(err, "%s: corrupted optimiser state: beta1 %g, beta2 %g (expected 0 <= beta < 1)",
                         path, (double)c->beta1, (double)c->beta2);
    if (!(c->eps > 0.0f && isfinite(c->eps) && c->lr_scale > 0.0f && isfinite(c->lr_scale) &&
          c->clip_norm >= 0.0f && isfinite(c->clip_norm)))
        return error_set(err, "%s: corrupted optimiser state: eps %g, lr_scale %g, clip_norm %g (expected "
                         "eps > 0, lr_scale > 0, clip_norm >= 0, all finite)", path, (double)c->eps,
                         (double)c->lr_scale, (double)c->clip_norm);
    if (c->warmup_steps < 1 || c->d_model < 1 || a.step < 0)
        return error_set(err, "%s: corrupted optimiser state: warmup_steps %d, d_model %d, step %ld", path,
                         c->warmup_steps, c->d_model, a.step);
    long trst_step = p->trst ? (long)get_i64(p->trst + field_offset(TRST_FIELDS, COUNT(TRST_FIELDS), "step"))
                             : a.step;
    if (a.step != trst_step)
        return error_set(err, "%s: corrupted checkpoint: the optimiser is at step %ld, the training state at "
                         "step %ld", path, a.step, trst_step);
    const unsigned char *moments = p->adam + fields_bytes(ADAM_FIELDS, COUNT(ADAM_FIELDS));
    if (!floats_finite(moments, n, false) || !floats_finite(moments + 4 * (size_t)n, n, true))
        return error_set(err, "%s: corrupted optimiser state: a moment is not finite (or v < 0)", path);
    return true;
}

// AVGS, if present: a positive count, and exactly n finite sums.
static bool check_average(const char *path, const Parsed *p, long n, ErrorMessage *err) {
    if (!p->avgs) return true;
    if (p->avgs_len != 16 + 8 * (uint64_t)n || get_i64(p->avgs + 8) != n || get_i64(p->avgs) < 1)
        return error_set(err, "%s: corrupted checkpoint: the parameter average (AVGS) does not fit the model", path);
    for (long i = 0; i < n; i++)
        if (!isfinite(get_f64(p->avgs + 16 + 8 * (size_t)i)))
            return error_set(err, "%s: corrupted checkpoint: the parameter average holds a non-finite sum", path);
    return true;
}

// META and WORD, if present, hold what checkpoint.h says (parsed here and dropped).
static bool check_text_sections(const char *path, const Parsed *p, ErrorMessage *err) {
    if (p->meta) {
        RunInfo *scratch = xmalloc(sizeof *scratch);
        bool ok = parse_run_info(path, p->meta, p->meta_len, scratch, err);
        free(scratch);
        if (!ok) return false;
    }
    if (!p->words) return true;
    WordList words;
    char name[4200];
    snprintf(name, sizeof name, "%s (training word list)", path);
    int64_t n_distinct = p->words_len >= 8 ? get_i64(p->words) : -1;
    if (n_distinct < 0) return error_set(err, "%s: corrupted checkpoint: the word count is missing or negative", name);
    if (!wordlist_from_string(&words, (const char *)p->words + 8, p->words_len - 8, (long)n_distinct, name, err))
        return false;
    wordlist_free(&words);
    return true;
}

// The bytes are what was written; now check that they make sense: a configuration
// (max_batch > 0 replacing the stored one) and the parameter and moment counts it implies.
static bool check_contents(const char *path, int max_batch, Parsed *out, ErrorMessage *err) {
    if (!out->conf) return error_set(err, "%s: checkpoint has no model configuration (CONF)", path);
    if (!out->parm) return error_set(err, "%s: checkpoint has no parameters (PARM)", path);
    ModelConfig *c = &out->config;
    decode_fields(c, out->conf, CONF_FIELDS, COUNT(CONF_FIELDS));
    if (max_batch > 0) c->max_batch = max_batch;
    if (!config_sane(path, c, err)) return false;
    long expected = model_param_count(c);
    if (expected <= 0 || expected > LIMIT_PARAMS)
        return error_set(err, "%s: model configuration gives %ld parameters", path, expected);
    return check_parameters(path, out, expected, err) && check_adam_size(path, out, expected, err) &&
           check_training_state(path, out, err) && check_adam_state(path, out, expected, err) &&
           check_average(path, out, expected, err) && check_text_sections(path, out, err);
}

// Verifies the file bytes (see the order in checkpoint.h) and finds the sections.
static bool parse(const char *path, const unsigned char *data, size_t size, int max_batch,
                  Parsed *out, ErrorMessage *err) {
    memset(out, 0, sizeof *out);
    size_t end = 0;
    return check_header(path, data, size, err) && walk_sections(path, data, size, out, &end, err) &&
           check_checksum(path, data, size, end, err) && check_contents(path, max_batch, out, err);
}

// The first bytes of path are the magic (or the whole file is a prefix of it, which
// parse calls truncated): a file that is not a checkpoint (or /dev/zero) is refused
// before it is read into memory.
static bool starts_with_magic(const char *path, ErrorMessage *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return error_set(err, "%s: cannot open: %s", path, strerror(errno));
    unsigned char head[sizeof MAGIC];
    size_t got = fread(head, 1, sizeof head, f);
    fclose(f);
    if (memcmp(head, MAGIC, got) != 0)
        return error_set(err, "%s: not a checkpoint (it does not start with the checkpoint magic)", path);
    return true;
}

// Reads the file into memory and parses it; *data must be freed by the caller on success.
static bool read_and_parse(const char *path, int max_batch, unsigned char **data, Parsed *parsed,
                           ErrorMessage *err) {
    if (!starts_with_magic(path, err)) return false;
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

// The embedded vocabulary into tok, which must match the configuration's V.
static bool load_vocabulary(const char *path, const Parsed *p, Tokenizer *tok, ErrorMessage *err) {
    if (!p->vocab) return error_set(err, "%s: checkpoint has no embedded vocabulary (VOCB)", path);
    char name[4200];
    snprintf(name, sizeof name, "%s (embedded vocabulary)", path);
    if (!tokenizer_from_string(tok, (const char *)p->vocab, p->vocab_len, name, err)) return false;
    if (tokenizer_vocab_size(tok) != p->config.vocab_size) {
        int got = tokenizer_vocab_size(tok);
        tokenizer_free(tok);
        return error_set(err, "%s: embedded vocabulary has %d tokens, the model %d", path, got,
                         p->config.vocab_size);
    }
    return true;
}

// The training state (TRST), or present = false when the file has none.
static void read_training_state(const Parsed *p, TrainingState *state) {
    memset(state, 0, sizeof *state);
    if (!p->trst) return;
    decode_fields(state, p->trst, TRST_FIELDS, COUNT(TRST_FIELDS));
    state->present = true;
}

// The optimiser (ADAM) for n parameters, or opt->memory = NULL when the file has none.
static void read_adam(const Parsed *p, long n, Adam *opt) {
    memset(opt, 0, sizeof *opt);
    if (!p->adam) return;
    Adam saved;
    decode_fields(&saved, p->adam, ADAM_FIELDS, COUNT(ADAM_FIELDS));
    adam_init(opt, &saved.config, n);
    opt->step = saved.step;
    size_t head = fields_bytes(ADAM_FIELDS, COUNT(ADAM_FIELDS));
    get_floats(opt->m, p->adam + head, n);
    get_floats(opt->v, p->adam + head + 4 * (size_t)n, n);
}

bool checkpoint_load(const char *path, int max_batch, Model *m, Tokenizer *tok,
                     TrainingState *state, Adam *opt, ErrorMessage *err) {
    unsigned char *data;
    Parsed p;
    if (!read_and_parse(path, max_batch, &data, &p, err)) return false;
    // The vocabulary first: it is the last thing that can fail.
    if (tok && !load_vocabulary(path, &p, tok, err)) {
        free(data);
        return false;
    }
    // model_init draws initial weights; they are overwritten at once, so any seed will do.
    Rng init_rng;
    rng_seed(&init_rng, 0, 0);
    model_init(m, &p.config, &init_rng);
    get_floats(m->params.values, p.parm + 8, m->params.n);
    if (state) read_training_state(&p, state);
    if (opt) read_adam(&p, m->params.n, opt);
    free(data);
    return true;
}

bool checkpoint_load_average(const char *path, long n_params, double **param_sum, long *n_averaged,
                             ErrorMessage *err) {
    unsigned char *data;
    Parsed p;
    *param_sum = NULL;
    *n_averaged = 0;
    if (!read_and_parse(path, 0, &data, &p, err)) return false;
    if (p.avgs && get_i64(p.avgs + 8) != n_params) {
        free(data);
        return error_set(err, "%s: the parameter average is for %lld parameters, not %ld", path,
                         (long long)get_i64(p.avgs + 8), n_params);
    }
    if (p.avgs) {
        *n_averaged = (long)get_i64(p.avgs);
        *param_sum = xmalloc(sizeof(double) * (size_t)n_params);
        for (long i = 0; i < n_params; i++) (*param_sum)[i] = get_f64(p.avgs + 16 + 8 * (size_t)i);
    }
    free(data);
    return true;
}

bool checkpoint_load_run(const char *path, RunInfo *info, WordList *words, ErrorMessage *err) {
    unsigned char *data;
    Parsed p;
    if (!read_and_parse(path, 0, &data, &p, err)) return false;
    if (info) memset(info, 0, sizeof *info);
    if (words) memset(words, 0, sizeof *words);
    // Both were checked by parse: they cannot fail now.
    if (info && p.meta) parse_run_info(path, p.meta, p.meta_len, info, err);
    if (words && p.words)
        wordlist_from_string(words, (const char *)p.words + 8, p.words_len - 8, (long)get_i64(p.words), path, err);
    free(data);
    return true;
}
