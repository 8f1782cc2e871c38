// checkpoint.h: saving and loading a model, its vocabulary and (optionally) the training
// state, in one self-contained binary file.
//
// Not from the paper, but what makes its 12-hour (base) and 3.5-day (big) training runs
// possible (§5.2): a run can stop and resume exactly, and a trained model is one file.
//
// ---- File format, version 1 -----------------------------------------------------------
// Integers are little-endian; floats IEEE-754 binary32, little-endian. Offsets in bytes.
//
//   header   0   8  magic "TRFCKPT\n"
//            8   4  u32 format version (1); a reader refuses versions it does not know
//           12   4  u32 reserved, 0
//   sections, one after another, each:
//            0   4  tag, four ASCII bytes
//            4   4  u32 reserved, 0
//            8   8  u64 payload length L
//           16   L  payload
//   trailer  8 bytes: u64 FNV-1a-64 checksum of every byte before it
//
// Sections (in this order; CONF, PARM and END are required, the others optional):
//   "CONF"  the ModelConfig, 32 bytes: i32 vocab_size, d_model, n_heads, d_ff, n_layers,
//           max_len, max_batch; f32 dropout
//   "VOCB"  the tokenizer's vocabulary in its own text format (tokenizer.h), so the file
//           translates text on its own
//   "TRST"  training state, 56 bytes: i64 step, epoch, batch_in_epoch; u64 rng.state,
//           rng.increment, data_rng.state, data_rng.increment
//   "ADAM"  optimiser, 48 + 8n bytes: f32 beta1, beta2, eps; i32 d_model, warmup_steps;
//           f32 lr_scale, clip_norm; u32 0 (padding); i64 n, step; f32 m[n]; f32 v[n]
//   "AVGS"  the §6.1 parameter average in progress (only in a checkpoint saved inside an
//           averaging window): i64 n_averaged, i64 n, f64 sum[n] of the parameters of
//           the last n_averaged steps, so a resumed run averages exactly the same steps
//   "PARM"  i64 n_params, then f32 params[n_params] in the layout of model.h
//   "META"  the run's description (RunInfo below): lines "key=value\n", a key of 1..31
//           bytes a-z 0-9 '-' (a training option's name without "--": task, seed,
//           source-name, target-name, merges, smoothing, batch-tokens, train, ...), a
//           value of 0..511 printable UTF-8 bytes; keys distinct, at most 48 lines
//   "WORD"  the training word list (wordlist.h): u64 n_distinct (the distinct source words
//           of the training text), then each kept word (1..128 printable bytes, no
//           whitespace) followed by '\n', in strictly increasing byte order, at most
//           65536 of them (a huge corpus keeps its most frequent)
//   "END "  empty; marks the end, so a file cut at a section boundary is still "truncated"
//
// META and WORD come after PARM (files written before them load as before: both are
// optional, and a reader without them skips them).
// A reader skips sections with tags it does not know (room for later additions without a
// version change); a change in the meaning of an existing section bumps the version.
//
// Loading checks, in order, and reports the first failure as "PATH: what is wrong":
// the file can be read; it starts with the magic (else "not a checkpoint"); the version
// is known (else "written by a newer version"); every section fits in the file and END
// is there (else "truncated"); the checksum matches (else "corrupted"); the configuration
// is sane (sizes in range, d_model divisible by h, ...), PARM holds exactly
// model_param_count(config) floats and every one is finite; a training state has no
// negative count and odd RNG increments; an optimiser state has β's in [0, 1), ε > 0,
// a positive finite lr scale, the same step as the training state, and finite moments
// (v >= 0); META and WORD hold what is said above; all before anything is allocated. Bytes from the file that an error message
// quotes (a section tag) are escaped (common.h escape_bytes).
//
// Saving writes "PATH.tmp", flushes and fsyncs it, then renames it over PATH, so an
// interrupted save never destroys the previous checkpoint.
#ifndef CHECKPOINT_H
#define CHECKPOINT_H

#include <stdbool.h>

#include "common.h"
#include "model.h"
#include "optimizer.h"
#include "rng.h"
#include "tokenizer.h"
#include "wordlist.h"

#define CHECKPOINT_VERSION 1

// Where a training run stands, for an exact resume. The training loop decides what the
// fields mean; the intended use: step = optimiser updates done; epoch and batch_in_epoch
// = the next batch to train on; rng = the dropout RNG now; data_rng = the batch-order RNG
// as it was just BEFORE this epoch's BatchPlan was made (so the plan can be rebuilt).
typedef struct {
    bool present;       // set by checkpoint_load: false if the file has no TRST section
    long step;
    long epoch;
    long batch_in_epoch;
    Rng rng;
    Rng data_rng;
    // Saved by checkpoint_save when n_averaged > 0 and param_sum is set (read back with
    // checkpoint_load_average, not by checkpoint_load):
    long n_averaged;          // steps summed into param_sum
    const double *param_sum;  // (n_params) Σ of the parameters over those steps
} TrainingState;

// The description of a run ("META"): what a user would need to know to repeat it or to
// trust a resume, as key=value text (the keys and values are checked when read).
#define RUN_INFO_MAX 48
#define RUN_INFO_KEY_BYTES 32
#define RUN_INFO_VALUE_BYTES 512
typedef struct {
    char key[RUN_INFO_KEY_BYTES];
    char value[RUN_INFO_VALUE_BYTES];
} RunInfoEntry;
typedef struct {
    bool present;  // set by checkpoint_load_run: false if the file has no META section
    int n;
    RunInfoEntry entries[RUN_INFO_MAX];
} RunInfo;

// Sets key (a-z 0-9 '-', shorter than RUN_INFO_KEY_BYTES) to value, replacing an earlier
// value; the value is stored escaped (common.h escape_bytes) and cut to fit, so any text
// can be given. A bad key or a full table is a programmer error (dies).
void run_info_set(RunInfo *info, const char *key, const char *value);
// The value of key, or NULL if the description has none.
const char *run_info_get(const RunInfo *info, const char *key);

// Everything a checkpoint can hold; every pointer but model may be NULL (left out).
typedef struct {
    const Model *model;
    const Tokenizer *tok;        // "VOCB"
    const TrainingState *state;  // "TRST" (and "AVGS" when it has a running sum)
    const Adam *opt;             // "ADAM"
    const RunInfo *info;         // "META"
    const WordList *words;       // "WORD"
} CheckpointParts;

// Writes the parts to path (PATH.tmp, then renamed). False with "PATH...: reason" in err
// if the file cannot be written (the previous file at PATH is then untouched).
bool checkpoint_save_parts(const char *path, const CheckpointParts *parts, ErrorMessage *err);

// The run description and the training word list of path (either may be NULL), after the
// same checks as checkpoint_load: info->present / words->present say whether the file has
// them. words must not hold a list (wordlist_free it after). False with a message.
bool checkpoint_load_run(const char *path, RunInfo *info, WordList *words, ErrorMessage *err);

// Writes model parameters and configuration, plus the vocabulary if tok is not NULL, the
// training state if state is not NULL, and the Adam moments if opt is not NULL. Returns
// false with "PATH...: reason" in err if the file cannot be written (the previous file at
// PATH is then untouched).
bool checkpoint_save(const char *path, const Model *m, const Tokenizer *tok,
                     const TrainingState *state, const Adam *opt, ErrorMessage *err);

// Reads and fully verifies path (see above), then:
//   m      model_init with the file's configuration (config.max_batch replaced by max_batch
//          when max_batch > 0, e.g. 4 for beam search) and the file's parameters. m must
//          not hold a model (zeroed, or after model_free).
//   tok    if not NULL: the embedded vocabulary (error if the file has none). Must not
//          hold a tokenizer.
//   state  if not NULL: the training state; state->present = false if the file has none.
//   opt    if not NULL and the file has an ADAM section: adam_init + the saved moments
//          and step (opt->memory stays NULL if the file has none). Must not hold moments.
// Returns false with "PATH: reason" in err, allocating nothing, if any check fails.
bool checkpoint_load(const char *path, int max_batch, Model *m, Tokenizer *tok,
                     TrainingState *state, Adam *opt, ErrorMessage *err);

// Before a run that will save at path: removes a stale "PATH.tmp" (a regular file left
// behind when a save was killed; *stale_removed tells), then proves that PATH.tmp can be
// created (and removes it again), so a missing or read-only directory is reported now
// rather than at the first save. False with "PATH.tmp: cannot create: reason" in err.
bool checkpoint_prepare_path(const char *path, bool *stale_removed, ErrorMessage *err);

// The parameter average in progress stored in path ("AVGS"), after the same checks as
// checkpoint_load: *param_sum gets a new (n_params) array the caller frees and
// *n_averaged its count, or NULL and 0 if the file has none. False with a message if
// the file is bad or its sum is not n_params finite numbers.
bool checkpoint_load_average(const char *path, long n_params, double **param_sum, long *n_averaged,
                             ErrorMessage *err);

// Only the verified configuration (no allocation of a model), e.g. to print it.
bool checkpoint_read_config(const char *path, ModelConfig *config, ErrorMessage *err);

// FNV-1a, 64 bits (Fowler, Noll, Vo), continuing from hash (start with
// CHECKPOINT_FNV_OFFSET). Simple and enough to catch corruption; not cryptographic.
#define CHECKPOINT_FNV_OFFSET 0xcbf29ce484222325ULL
unsigned long long checkpoint_fnv1a(unsigned long long hash, const void *data, unsigned long size);

#endif
