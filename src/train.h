// train.h: the training loop of §5 as a library. The `transformer train` command and the
// viewer's worker thread both drive it, so it prints nothing on its own unless given a
// FILE* for its progress lines, and it reports each step through a callback.
//
// One step (§5.2–5.4):
//   batch      the next batch of similar-length pairs (dataset.h, §5.1)
//   forward    model_forward with dropout on (§5.4)
//   loss       cross-entropy with label smoothing ε_ls = 0.1 (loss.h, §5.4)
//   backward   dLoss/dlogits, then model_backward into the gradient buffer
//   update     Adam with the warmup schedule of Eq. (3) (optimizer.h, §5.3)
//
// Determinism: everything random comes from two Rngs seeded from options.seed: `rng`
// (dropout masks, in order) and `data_rng` (the batch order of each epoch). A checkpoint
// stores both (checkpoint.h TrainingState), the Adam moments and the step, so a resumed
// run makes exactly the same updates as one that never stopped (same seed and threads).
//
// Threads: a Trainer is used by one thread at a time. The stop flag may be set from a
// signal handler or another thread; the loop checks it between steps.
#ifndef TRAIN_H
#define TRAIN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "checkpoint.h"
#include "common.h"
#include "dataset.h"
#include "decode.h"
#include "history.h"
#include "model.h"
#include "optimizer.h"
#include "rng.h"
#include "shards.h"
#include "threads.h"
#include "tokenizer.h"
#include "wordlist.h"

// Everything a run is configured by. train_options_default fills task-specific defaults
// that learn the task within the project's time targets.
typedef struct {
    char task[16];           // "copy", "reverse", "sort" (tasks.h), "fr-en", or "corpus"
                             // (a user's own tab-separated files, the three paths below)
    char data_dir[256];      // directory holding fr-en/{train,valid,test}.tsv ("data")
    char train_path[256], valid_path[256], test_path[256];  // corpus: source<TAB>target
                             // files (test optional); loaded leniently, with a report
    int merges;              // BPE merges learned on the fr-en training text (§5.1)
    char source_name[64], target_name[64];  // the languages, e.g. "French", "English"
                             // (stored in the checkpoint; translate and the viewer show them)
    // model (§3, Table 3 names: d_model, h, d_ff, N, P_drop)
    int d_model, n_heads, d_ff, n_layers;
    float dropout;
    int max_len;             // longest row (tokens incl. BOS/EOS) the model accepts
    // optimisation (§5.3, §5.4)
    long steps;              // optimiser updates in total (a resumed run counts on)
    int warmup;              // Eq. (3) warmup_steps
    float lr_scale;          // multiplies Eq. (3) (1 in the paper)
    float smoothing;         // ε_ls (0.1)
    long batch_tokens;       // padded tokens per batch, B·max(S,T) (§5.1 used 25000)
    int batch_sentences;     // and at most this many sentences per batch (0 = no limit)
    // synthetic tasks (tasks.h)
    int task_min_len, task_max_len, alphabet;
    int train_examples;      // training pairs generated once from the seed
    // run
    uint64_t seed;
    int threads;             // OpenMP threads at most (0 = leave as is); each step runs on
                             // this many or on 1, whichever the timing finds faster (threads.h)
    int log_every;           // progress line every this many steps
    int eval_every;          // validation line every this many steps (0 = only at the end)
    int eval_sentences;      // validation pairs decoded for accuracy / BLEU
    long checkpoint_every;   // periodic checkpoint every this many steps (0 = only at the end)
    char out_path[256];      // checkpoint file ("" = none)
    long average_last;       // §6.1 averages the last checkpoints; we average the
                             // parameters over the last this-many steps (0 = off) and
                             // evaluate and save that average at the end
    bool slim;               // final checkpoint without training state and Adam moments
                             // (a third of the size; for shipping, cannot be resumed)
    long history_every;      // record the probe's attention into the .history file next to
                             // out_path every this many steps (history.h; 0 = off)
    char history_probe[256]; // the sentence recorded ("" = the task's default)
} TrainOptions;

// Defaults for a task (false with a message if the task is unknown).
bool train_options_default(TrainOptions *opt, const char *task, ErrorMessage *err);

// What one training step reports.
typedef struct {
    long step;               // optimiser updates done, this one included
    double loss;             // mean label-smoothed cross-entropy of the batch (what is minimised)
    double nll;              // mean plain cross-entropy, no smoothing
    float lr;                // Eq. (3) learning rate used
    long tokens;             // real target tokens in the batch
    int B, S, T;             // batch shape
    double seconds;          // wall time of this step
    bool params_damaged;     // the step failed in the update itself (see trainer_step)
} TrainStepStats;

// A validation pass.
typedef struct {
    double loss, nll;        // over the evaluated pairs (teacher forcing, no dropout)
    double accuracy;         // exact-sequence accuracy in % (synthetic tasks), else -1
    double bleu;             // corpus BLEU (fr-en), else -1
    long fourgrams, fourgram_matches;  // the hypotheses' 4-grams and the matching ones
                             // (BLEU is 0 when none matches, e.g. sentences under 4 words)
    int n;                   // pairs evaluated
    double seconds;
} EvalStats;

typedef enum {
    TRAIN_DONE,              // reached options.steps
    TRAIN_STOPPED,           // the stop flag was set (Ctrl-C); a checkpoint was saved
    TRAIN_NONFINITE,         // NaN/Inf in the loss, gradients or updated parameters, or a
                             // loss that grew without bound (diverged); nothing saved
    TRAIN_FAILED,            // a checkpoint could not be written (message in err)
} TrainExit;

typedef struct {
    TrainOptions options;
    Tokenizer tok;
    Dataset train, valid, test;
    Model model;
    Adam adam;
    BatchPlan plan;          // this epoch's batches
    Batch batch;             // the current batch
    TrainingState state;     // step, epoch, batch_in_epoch, rng, data_rng (epoch start)
    Rng data_rng_now;        // data_rng after this epoch's plan was drawn
    float *dlogits;          // (max_batch, max_len, V) dLoss/dlogits of the current batch
    Shards shards;           // the second half of each batch's activations and gradients (shards.h)
    long tokens_seen;        // real target tokens trained on (this session)
    double train_seconds;    // wall time spent in steps (this session)
    long first_step;         // state.step when this session began (for tokens/s, ETA)
    TrainStepStats last;     // the last step
    EvalStats last_eval;     // the last validation (n = 0 before the first)
    LoadReport train_report, valid_report, test_report;  // corpus: what loading cut or dropped
    WordList words;          // translation tasks: the training sources' words (saved
                             // with every checkpoint); synthetic tasks: none
    double *param_sum;       // (n_params) Σ of the parameters over the averaging window
    long n_averaged;         // steps summed into param_sum (restored by a resume)
    long saved_step;         // the step of the checkpoint known to be at options.out_path
                             // (saved by this Trainer, or resumed from that path); -1: none
    int steps_diverging;     // consecutive steps with a loss above DIVERGED_LOSS_FACTOR·ln V
    ThreadChooser threads;   // 1 or options.threads threads for each step, by timing (threads.h)
} Trainer;

// Divergence: a loss above this many times ln V (the loss of a uniform guess, where
// training starts) for DIVERGED_STEPS steps in a row means training has gone wrong
// (e.g. --lr-scale far too large), even when every number is still finite.
#define DIVERGED_LOSS_FACTOR 3.0
#define DIVERGED_STEPS 20

// Builds the data (synthetic examples from the seed, or the fr-en files with a BPE
// vocabulary trained on the training text), the model (max_batch and max_len from the
// data), Adam and the first epoch's plan. With resume_path, the model, vocabulary, Adam
// moments and training state come from that checkpoint instead (options must describe
// the same task; the model size options are ignored). False with a message on error.
bool trainer_init(Trainer *t, const TrainOptions *options, const char *resume_path,
                  ErrorMessage *err);
void trainer_free(Trainer *t);

// One training step on the next batch. Returns false if the loss or a gradient is NaN or
// Inf: the update is then skipped, so the parameters are still those of the last good
// step (the caller stops; the last checkpoint stays good). Also false if the update
// itself overflowed (a parameter became NaN, Inf or larger than 1e4, e.g. from a huge
// learning rate): the
// parameters are then damaged and must not be saved.
bool trainer_step(Trainer *t, TrainStepStats *stats);

// Validation over up to max_pairs pairs of ds (no dropout): loss by teacher forcing, and
// greedy (beam <= 1) or beam decoding for exact-sequence accuracy or BLEU.
void trainer_evaluate(Trainer *t, const Dataset *ds, int max_pairs, int beam, EvalStats *out);

// How evaluate_model scores: `translation` picks BLEU (against ds->tgt_text) over
// exact-sequence accuracy (against the target token rows); up to max_pairs pairs; greedy
// (beam <= 1) or beam search; the loss's label smoothing; and, if progress is not NULL,
// a line there every few seconds with the pairs done and an ETA (`transformer eval`).
typedef struct {
    bool translation;
    int max_pairs, beam;
    float smoothing;
    FILE *progress;
} EvalSpec;

// The same for any model. The model's max_batch bounds the evaluation batch; beam
// search needs max_batch >= beam.
void evaluate_model(EvalStats *out, Model *m, const Tokenizer *tok, const Dataset *ds, EvalSpec spec);

// True for the translation tasks ("fr-en", "corpus"), false for the synthetic ones.
bool task_is_translation(const char *task);

// A task's test set, tokenized with tok, rows up to max_len: data_dir/fr-en/test.tsv, a
// corpus's test_path (leniently), or the 1,000 held-out synthetic sequences, which are the
// same for every training seed. report (may be NULL) gets what loading a corpus's file
// dropped (dataset.h LoadReport; zeroed for the other tasks).
bool task_test_set(Dataset *ds, const Tokenizer *tok, const TrainOptions *o, int max_len,
                   LoadReport *report, ErrorMessage *err);

// The run's description for its checkpoint (checkpoint.h RunInfo): the task, seed and
// language names, and every option that shapes the data or the model, keyed by the
// option's name without "--" (task, seed, source-name, target-name, merges, smoothing,
// batch-tokens, batch-sentences, average-last, max-len, steps, warmup, lr-scale; data
// for fr-en; train, valid, test for a corpus; task-min-len, task-max-len, alphabet,
// train-examples for a synthetic task). Numbers are written so that equal values give
// equal text (floats with 9 digits).
void train_options_describe(const TrainOptions *o, RunInfo *info);

// Saves a checkpoint with the vocabulary, the run's description and the word list; with_state adds the training state and Adam
// moments (for --resume; a shipped model leaves them out and is 3x smaller).
bool trainer_save(const Trainer *t, const char *path, bool with_state, ErrorMessage *err);

// Formats the progress line of a step, e.g.
//   step  1200/4000 | loss 1.234 (nll 0.987) | lr 6.2e-04 | 41.3k tok/s | 0:28 elapsed, ETA 1:05
void train_format_progress(char *buf, size_t size, const Trainer *t, const TrainStepStats *s);
// Formats a validation line, e.g. "valid step 1200 | loss 0.912 (nll 0.701) | accuracy 97.40% (n=500)".
void train_format_eval(char *buf, size_t size, long step, const EvalStats *e);
// "m:ss" or "h:mm:ss".
void format_duration(char *buf, size_t size, double seconds);

// Callbacks for a driver (the command prints, the viewer publishes snapshots). Any may be
// NULL. on_step runs after every step, on the training thread, with the model holding
// that step's forward pass.
typedef struct {
    void (*on_step)(void *ctx, Trainer *t, const TrainStepStats *stats);
    void (*on_eval)(void *ctx, Trainer *t, const EvalStats *stats);
    void *ctx;
    atomic_int *stop;        // when nonzero, the loop saves a checkpoint and returns
} TrainHooks;

// The loop: steps until options.steps (or the stop flag), a progress line to log every
// log_every steps, validation every eval_every steps, an atomic checkpoint (with state)
// every checkpoint_every steps and at the end. log may be NULL. On NaN/Inf, or when the
// loss diverges (above), it stops at once, says so on log (naming the checkpoint that is
// kept, or that none was written) and does not overwrite the last checkpoint. With average_last,
// the parameters of the last average_last steps are summed and, when the run reaches
// options.steps, replaced by their mean before the final validation and save (the
// periodic checkpoints hold the raw parameters and the running sum, so a run resumed
// inside the window averages exactly the steps an uninterrupted one would).
TrainExit train_run(Trainer *t, const TrainHooks *hooks, FILE *log, ErrorMessage *err);

#endif
