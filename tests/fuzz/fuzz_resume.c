// fuzz_resume.c: `train --resume` from a checkpoint whose training state was edited
// (issue 12). The base is a real checkpoint of a tiny copy model, written by the
// project's own training loop (train_run stopped inside its §6.1 averaging window, so it
// holds TRST, ADAM and AVGS); it is made once per process, so it always has the current
// format. The fuzz input is a list of edits of the saved training state (decoded below);
// the checksum is repaired, then trainer_init resumes from the file and, if it accepts
// it, train_run trains the last one or two steps. Either the resume is refused with a
// message (nothing leaks, nothing hangs), or the run keeps a consistent state: the batch
// index inside the epoch's plan, odd RNG increments, Adam at the training state's step,
// an average of at most the steps of its window, finite parameters and losses.
//
// Input: byte 0 picks the resumed run's options (bit 0: --steps 5 or 6; bits 1-2:
// --average-last 4 as saved, 0, 1 or 3), then edits of 12 bytes each: a field number, an
// operation, a 16-bit element index (for m[], v[] and the average's sum[]) and 8 value
// bytes (little-endian). The operations set the field to the value, add the value to it,
// xor it with the value, or set it to one of the special values below.
#include <limits.h>
#include <math.h>
#include <string.h>

#include "checkpoint.h"
#include "fuzz.h"
#include "train.h"

// The base run: steps and averaging window, and the step at which it is stopped (saved).
enum { BASE_STEPS = 6, BASE_AVERAGE = 4, BASE_STOP = 4, EDIT_BYTES = 12 };

typedef enum { T_I32, T_I64, T_U64, T_F32, T_F64 } FieldKind;

// One editable number: section tag, byte offset in its payload, kind, and for an array
// the element size (offset is then that of element 0; the index picks one).
typedef struct {
    char tag[5];
    size_t offset;
    FieldKind kind;
    bool array;
} EditField;

// The offsets of checkpoint.h: TRST 56 bytes, the 48-byte head of ADAM then m[n], v[n],
// AVGS n_averaged, n, sum[n]. Entry 0 edits both steps at once (TRST's and ADAM's), so
// that a step change can pass the loader's "same step" check and reach the loop.
static const EditField FIELDS[] = {
    {"STEP", 0, T_I64, false},                                       // both steps
    {"TRST", 0, T_I64, false},  {"TRST", 8, T_I64, false},  {"TRST", 16, T_I64, false},  // step, epoch, batch
    {"TRST", 24, T_U64, false}, {"TRST", 32, T_U64, false},          // rng state, increment
    {"TRST", 40, T_U64, false}, {"TRST", 48, T_U64, false},          // data_rng state, increment
    {"ADAM", 0, T_F32, false},  {"ADAM", 4, T_F32, false},  {"ADAM", 8, T_F32, false},   // β1, β2, ε
    {"ADAM", 12, T_I32, false}, {"ADAM", 16, T_I32, false},          // d_model, warmup
    {"ADAM", 20, T_F32, false}, {"ADAM", 24, T_F32, false},          // lr_scale, clip_norm
    {"ADAM", 28, T_I32, false}, {"ADAM", 32, T_I64, false}, {"ADAM", 40, T_I64, false},  // pad, n, step
    {"ADAM", 48, T_F32, true},  {"ADAMv", 48, T_F32, true},          // m[i], v[i]
    {"AVGS", 0, T_I64, false},  {"AVGS", 8, T_I64, false},  {"AVGS", 16, T_F64, true},   // count, n, sum[i]
};
#define N_FIELDS (sizeof FIELDS / sizeof FIELDS[0])

// Values a fuzzer would take long to build byte by byte (as bits of each kind).
static const double SPECIAL[] = {0, 1, -1, 2, 3, 4, 5, 6, 7, 0.5, 0.999999, 1e-45, 1e-9, 1e30, 3e38,
                                 -0.0, INFINITY, -INFINITY, NAN, 2147483647.0, -2147483648.0};
static const long long SPECIAL_INT[] = {LLONG_MAX, LLONG_MIN, LLONG_MAX - 1, INT_MAX, INT_MIN, UINT_MAX};

typedef struct {
    unsigned char *bytes;  // the base checkpoint
    size_t size;
    size_t trst, adam, avgs;  // payload offsets of its sections
    long n_params;
    TrainOptions options;
} Base;

// The options of the base run: a copy model small enough for thousands of runs a minute.
static TrainOptions tiny_options(void) {
    TrainOptions o;
    ErrorMessage err;
    FUZZ_CHECK(train_options_default(&o, "copy", &err));
    o.d_model = 8, o.n_heads = 2, o.d_ff = 16, o.n_layers = 1;
    o.task_min_len = 1, o.task_max_len = 4, o.alphabet = 4;
    o.train_examples = 24;
    o.batch_tokens = 24, o.batch_sentences = 4;
    o.steps = BASE_STEPS, o.warmup = 4, o.average_last = BASE_AVERAGE;
    o.eval_every = 0, o.eval_sentences = 2, o.checkpoint_every = 0;
    o.log_every = 1000, o.threads = 1, o.history_every = 0;
    return o;
}

// Stops the base run after BASE_STOP steps, as a Ctrl-C would.
static void stop_at_base(void *ctx, Trainer *t, const TrainStepStats *s) {
    (void)t;
    if (s->step >= BASE_STOP) atomic_store((atomic_int *)ctx, 1);
}

// Finds the payload offset of section tag in the checkpoint bytes (0 if absent).
static size_t find_section(const Base *b, const char *tag) {
    for (size_t at = 16; at + 16 <= b->size - 8;) {
        uint64_t len = 0;
        for (int i = 0; i < 8; i++) len |= (uint64_t)b->bytes[at + 8 + i] << (8 * i);
        if (memcmp(b->bytes + at, tag, 4) == 0) return at + 16;
        at += 16 + len;
    }
    return 0;
}

// The base checkpoint, made on the first call by train_run itself.
static const Base *base_checkpoint(void) {
    static Base b;
    if (b.bytes) return &b;
    b.options = tiny_options();
    char path[64];
    snprintf(path, sizeof path, "%s.base", fuzz_write_temp((const uint8_t *)"", 0));
    snprintf(b.options.out_path, sizeof b.options.out_path, "%s", path);
    Trainer t;
    ErrorMessage err;
    atomic_int stop = 0;
    TrainHooks hooks = {.on_step = stop_at_base, .ctx = &stop, .stop = &stop};
    FUZZ_CHECK(trainer_init(&t, &b.options, NULL, &err));
    FUZZ_CHECK(train_run(&t, &hooks, NULL, &err) == TRAIN_STOPPED);
    b.n_params = t.model.params.n;
    trainer_free(&t);
    b.bytes = (unsigned char *)read_whole_file(path, &b.size, &err);
    FUZZ_CHECK(b.bytes != NULL);
    remove(path);
    b.trst = find_section(&b, "TRST"), b.adam = find_section(&b, "ADAM"), b.avgs = find_section(&b, "AVGS");
    FUZZ_CHECK(b.trst && b.adam && b.avgs);
    b.options.out_path[0] = '\0';  // the resumed runs save nothing
    return &b;
}

// Little-endian reads and writes of n bytes.
static uint64_t get_le(const unsigned char *p, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}
static void put_le(unsigned char *p, int n, uint64_t v) {
    for (int i = 0; i < n; i++) p[i] = (unsigned char)(v >> (8 * i));
}

// The bits of special value k for a field of this kind.
static uint64_t special_bits(FieldKind kind, unsigned k) {
    unsigned n_double = sizeof SPECIAL / sizeof SPECIAL[0];
    if (k % (n_double + 6) >= n_double && kind != T_F32 && kind != T_F64)
        return (uint64_t)SPECIAL_INT[k % (n_double + 6) - n_double];
    double d = SPECIAL[k % n_double];
    if (kind == T_F32) {
        float f = (float)d;
        uint32_t u;
        memcpy(&u, &f, 4);
        return u;
    }
    if (kind == T_F64) {
        uint64_t u;
        memcpy(&u, &d, 8);
        return u;
    }
    return fabs(d) < 9e18 ? (uint64_t)(long long)d : 0;  // 3e38 does not fit (UB)
}

// Applies one 12-byte edit to the checkpoint bytes.
static void apply_edit(unsigned char *ck, const Base *b, const uint8_t *e) {
    const EditField *f = &FIELDS[e[0] % N_FIELDS];
    unsigned index = (unsigned)e[2] | (unsigned)e[3] << 8;
    uint64_t value = get_le(e + 4, 8);
    int width = f->kind == T_I32 || f->kind == T_F32 ? 4 : 8;
    size_t at[2] = {0, 0};
    if (strcmp(f->tag, "STEP") == 0) at[0] = b->trst, at[1] = b->adam + 40;
    else if (strcmp(f->tag, "TRST") == 0) at[0] = b->trst + f->offset;
    else if (strcmp(f->tag, "AVGS") == 0) at[0] = b->avgs + f->offset;
    else at[0] = b->adam + f->offset + (strcmp(f->tag, "ADAMv") == 0 ? 4 * (size_t)b->n_params : 0);
    if (f->array) at[0] += (size_t)width * (index % (unsigned)b->n_params);
    for (int i = 0; i < 2 && at[i]; i++) {
        uint64_t old = get_le(ck + at[i], width), now;
        switch (e[1] % 4) {
        case 0: now = value; break;
        case 1: now = old + value; break;
        case 2: now = old ^ value; break;
        default: now = special_bits(f->kind, (unsigned)value); break;
        }
        put_le(ck + at[i], width, now);
    }
}

// The checks on a Trainer that resumed (and possibly trained on): consistent state.
static void check_state(const Trainer *t) {
    FUZZ_CHECK(t->state.batch_in_epoch >= 0 && t->state.batch_in_epoch <= t->plan.n_batches);
    FUZZ_CHECK(t->state.rng.increment % 2 == 1 && t->state.data_rng.increment % 2 == 1);
    FUZZ_CHECK(t->adam.step == t->state.step && t->state.epoch >= 0);
    long window = t->options.steps - t->options.average_last;
    long in_window = t->state.step - (window > 0 ? window : 0);
    FUZZ_CHECK(t->n_averaged >= 0 && t->n_averaged <= (in_window > 0 ? in_window : 0));
    for (long i = 0; i < t->model.params.n; i++) FUZZ_CHECK(isfinite(t->model.params.values[i]));
}

// Counts the steps of the resumed run and checks each one's loss.
static void check_step(void *ctx, Trainer *t, const TrainStepStats *s) {
    (void)t;
    ++*(int *)ctx;
    FUZZ_CHECK(isfinite(s->loss) && isfinite(s->nll) && s->loss >= 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > 1 + 64 * EDIT_BYTES) return 0;
    const Base *b = base_checkpoint();
    unsigned char *ck = malloc(b->size);
    memcpy(ck, b->bytes, b->size);
    for (size_t at = 1; at + EDIT_BYTES <= size; at += EDIT_BYTES) apply_edit(ck, b, data + at);
    put_le(ck + b->size - 8, 8, checkpoint_fnv1a(CHECKPOINT_FNV_OFFSET, ck, b->size - 8));
    const char *path = fuzz_write_temp(ck, b->size);
    free(ck);

    TrainOptions o = b->options;
    static const long average[4] = {BASE_AVERAGE, 0, 1, 3};
    o.steps = BASE_STEPS - 1 + (data[0] & 1);
    o.average_last = average[(data[0] >> 1) & 3];
    Trainer t;
    ErrorMessage err = {{0}};
    if (!trainer_init(&t, &o, path, &err)) {
        FUZZ_CHECK(err.text[0] != '\0');
        trainer_free(&t);
        return 0;
    }
    check_state(&t);
    long start = t.state.step;
    int steps_run = 0;
    TrainHooks hooks = {.on_step = check_step, .ctx = &steps_run};
    TrainExit e = train_run(&t, &hooks, NULL, &err);
    FUZZ_CHECK(e == TRAIN_DONE || e == TRAIN_NONFINITE);
    if (e == TRAIN_DONE) {
        FUZZ_CHECK(t.state.step == (start > o.steps ? start : o.steps));
        FUZZ_CHECK(steps_run == (int)(t.state.step - start));
        check_state(&t);
    }
    trainer_free(&t);
    return 0;
}
