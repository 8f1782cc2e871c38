// train.c: the training loop of §5 (see train.h).
#include "train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "bleu.h"
#include "decode.h"
#include "loss.h"
#include "shards.h"
#include "tasks.h"
#include "tensor.h"

// Rng streams: one per purpose, so adding draws to one never shifts another.
enum { STREAM_DROPOUT = 1, STREAM_BATCHES = 2, STREAM_TRAIN_DATA = 3, STREAM_VALID_DATA = 4,
       STREAM_TEST_DATA = 5, STREAM_INIT = 6 };
// The synthetic test set does not depend on the training seed: every run is scored on
// the same 1,000 held-out sequences.
#define TEST_SET_SEED 20170612u
#define TEST_SET_SIZE 1000
#define EVAL_BATCH 64  // pairs per evaluation batch
// A trained Transformer's weights are of order 1; one update that throws a weight past
// 10^4 (a learning rate far too large) has already ruined the model (params_sane).
#define PARAM_LIMIT 1e4f

bool task_is_translation(const char *task) { return strcmp(task, "fr-en") == 0 || strcmp(task, "corpus") == 0; }
// True for the translation tasks, "fr-en" and a user's "corpus" (the shorter name used
// inside this file).
static bool is_fr_en(const char *task) { return task_is_translation(task); }

// The TSV file of a translation task's split ("train", "valid" or "test") into path:
// --train/--valid/--test for a corpus, DATA/fr-en/SPLIT.tsv for fr-en. "" if a corpus
// has no such file.
static void split_path(char *path, size_t size, const TrainOptions *o, const char *split) {
    if (strcmp(o->task, "corpus") == 0) {
        const char *given = strcmp(split, "train") == 0 ? o->train_path
                            : strcmp(split, "valid") == 0 ? o->valid_path : o->test_path;
        snprintf(path, size, "%s", given);
    } else {
        snprintf(path, size, "%s/fr-en/%s.tsv", o->data_dir, split);
    }
}

// Loads one split: a user's corpus leniently, with a report (*report), the shipped fr-en
// files strictly (a bad line there is a bug in the project).
static bool load_split(Dataset *ds, const TrainOptions *o, const char *split, const Tokenizer *tok,
                       LoadReport *report, ErrorMessage *err) {
    char path[512];
    split_path(path, sizeof path, o, split);
    if (strcmp(o->task, "corpus") != 0) return dataset_load_tsv(ds, path, tok, err);
    if (!path[0]) return error_set(err, "a corpus needs --%s FILE", split);
    return dataset_load_tsv_report(ds, path, tok, report, err);
}

// ---- options ----------------------------------------------------------------------

// The language names a task starts with: French and English for fr-en, "source" and
// "target" for a user's corpus (until --source-name / --target-name say), and the letters
// and what the task does to them for a synthetic task.
static void default_names(TrainOptions *o) {
    const char *src = "letters", *tgt = "letters";
    if (strcmp(o->task, "fr-en") == 0) src = "French", tgt = "English";
    else if (strcmp(o->task, "corpus") == 0) src = "source", tgt = "target";
    else if (strcmp(o->task, "reverse") == 0) tgt = "letters reversed";
    else if (strcmp(o->task, "sort") == 0) tgt = "letters sorted";
    snprintf(o->source_name, sizeof o->source_name, "%s", src);
    snprintf(o->target_name, sizeof o->target_name, "%s", tgt);
}

bool train_options_default(TrainOptions *o, const char *task, ErrorMessage *err) {
    memset(o, 0, sizeof *o);
    TaskKind kind;
    if (!is_fr_en(task) && !task_from_name(task, &kind))
        return error_set(err, "unknown task '%s' (expected copy, reverse, sort or fr-en, or your own corpus with --train FILE)", task);
    snprintf(o->task, sizeof o->task, "%s", task);
    snprintf(o->data_dir, sizeof o->data_dir, "data");
    default_names(o);
    o->smoothing = LABEL_SMOOTHING;
    o->seed = 1;
    o->threads = 2;
    o->log_every = 50;
    o->lr_scale = 1.0f;
    if (is_fr_en(task)) {
        // A small model for a small, regular language: 3000 steps take about 3.5 minutes
        // on this project's idle 2-core machine (test BLEU 99.6 with beam 4). With 2000
        // steps BLEU was already 99.3, but one of data/samples.txt lost its adjective.
        o->merges = 1000;
        o->d_model = 128, o->n_heads = 4, o->d_ff = 512, o->n_layers = 2;
        o->dropout = 0.1f;
        o->max_len = 64;
        o->steps = 3000, o->warmup = 800;
        o->batch_tokens = 2048, o->batch_sentences = 128;
        o->eval_every = 500, o->eval_sentences = 200;
        o->checkpoint_every = 600;
        o->history_every = 30;
        snprintf(o->out_path, sizeof o->out_path, "%s.ckpt", task);
    } else {
        // A toy model: reverse reaches 99.8% exact-sequence accuracy on the held-out test
        // set in 2000 steps, with the parameters averaged over the last 300 (§6.1
        // averages its last checkpoints), in 40-50 s on this project's 2-core machine.
        // The last step alone is noisier: 99.2% at 2000 steps, 99.0% at 1800. d_ff is 2·d_model, not the paper's
        // 4·d_model: the task needs attention more than width, and this saves a third of
        // the time. Eq. (3) at scale 0.2 peaks at 1.8e-3.
        o->d_model = 64, o->n_heads = 4, o->d_ff = 128, o->n_layers = 2;
        o->dropout = 0.1f;
        o->task_min_len = 1, o->task_max_len = 12, o->alphabet = 10;
        o->max_len = 0;  // from the task: task_max_len + 1
        o->train_examples = 50000;
        o->steps = 2000, o->warmup = 200, o->lr_scale = 0.2f;
        o->average_last = 300;
        o->batch_tokens = 1024, o->batch_sentences = 256;
        o->eval_every = 300, o->eval_sentences = 500;
        o->checkpoint_every = 600;
        o->history_every = 20;
        snprintf(o->out_path, sizeof o->out_path, "%s.ckpt", task);
    }
    return true;
}

// ---- data -------------------------------------------------------------------------

// n synthetic pairs into ds, from rng; `split` picks the side of the held-out split
// (tasks.h), so no test sequence is ever trained on.
static bool add_task_pairs(Dataset *ds, const Tokenizer *tok, const TrainOptions *o,
                           TaskKind kind, TaskSplit split, int n, Rng *rng, ErrorMessage *err) {
    char src[TASK_MAX_LEN + 1], tgt[TASK_MAX_LEN + 1];
    for (int i = 0; i < n; i++) {
        if (!task_example_split(kind, split, rng, o->task_min_len, o->task_max_len, o->alphabet,
                                src, tgt))
            return error_set(err, "task %s: lengths %d..%d over %d letters leave no %s sequences",
                             o->task, o->task_min_len, o->task_max_len, o->alphabet,
                             split == SPLIT_TEST ? "held-out" : "training");
        dataset_add_text(ds, tok, src, tgt);
    }
    return true;
}

// The synthetic-task options (lengths, alphabet) of o are usable (tasks.h).
static bool check_task_options(const TrainOptions *o, ErrorMessage *err) {
    return task_check_params(o->task_min_len, o->task_max_len, o->alphabet, err);
}

bool task_test_set(Dataset *ds, const Tokenizer *tok, const TrainOptions *o, int max_len,
                   LoadReport *report, ErrorMessage *err) {
    dataset_init(ds, max_len);
    LoadReport unused;
    if (!report) report = &unused;
    memset(report, 0, sizeof *report);
    if (is_fr_en(o->task)) return load_split(ds, o, "test", tok, report, err);
    TaskKind kind;
    if (!task_from_name(o->task, &kind))
        return error_set(err, "unknown task '%s' (expected copy, reverse, sort or fr-en)", o->task);
    if (!check_task_options(o, err)) return false;
    Rng rng;
    rng_seed(&rng, TEST_SET_SEED, STREAM_TEST_DATA);
    return add_task_pairs(ds, tok, o, kind, SPLIT_TEST, TEST_SET_SIZE, &rng, err);
}

// The training and validation sets of t: read from the fr-en files (a BPE vocabulary
// trained on the training text first, unless have_vocab: a resume brings its own) or
// generated from the seed for a synthetic task.
static bool build_data(Trainer *t, bool have_vocab, ErrorMessage *err) {
    const TrainOptions *o = &t->options;
    if (is_fr_en(o->task)) {
        char path[512];
        split_path(path, sizeof path, o, "train");
        if (!have_vocab) {
            // §5.1: one BPE vocabulary shared by source and target, learned on both sides.
            size_t len;
            char *text = read_whole_file(path, &len, err);
            if (!text) return false;
            // The text the pairs are read from (dataset.h): a tab is not part of any word
            // (it becomes a line break); a byte-order mark and the '\r' of Windows line
            // ends are dropped, else a CRLF copy of a corpus learns "\r\n" as a merge.
            size_t kept = 0;
            for (size_t i = utf8_bom_length(text, len); i < len; i++) {
                if (text[i] == '\r' && (i + 1 == len || text[i + 1] == '\n')) continue;
                text[kept++] = text[i] == '\t' ? '\n' : text[i];
            }
            tokenizer_train(&t->tok, text, kept, o->merges);
            free(text);
        }
        int max_len = o->max_len > 0 ? o->max_len : 64;
        dataset_init(&t->train, max_len);
        dataset_init(&t->valid, max_len);
        if (!load_split(&t->train, o, "train", &t->tok, &t->train_report, err) ||
            !load_split(&t->valid, o, "valid", &t->tok, &t->valid_report, err))
            return false;
        bool has_test = strcmp(o->task, "corpus") != 0 || o->test_path[0];
        if (has_test && !task_test_set(&t->test, &t->tok, o, max_len, &t->test_report, err)) return false;
        if (!has_test) dataset_init(&t->test, max_len);
        if (t->valid.n_pairs == 0 && strcmp(o->task, "corpus") == 0) {  // say what each line was
            char report[1024];
            load_report_format(report, sizeof report, o->valid_path, &t->valid_report, t->valid.max_len);
            return error_set(err, "no validation pairs: %s", report);
        }
        if (t->valid.n_pairs == 0) return error_set(err, "task %s: no validation pairs", o->task);
        // the words of the pairs kept, not of the whole file (dropped lines were not seen)
        wordlist_from_texts(&t->words, t->train.src_text, t->train.n_pairs);
    } else {
        TaskKind kind;
        task_from_name(o->task, &kind);
        if (!check_task_options(o, err)) return false;
        if (!have_vocab) tokenizer_init_bytes(&t->tok);  // one token per letter
        int max_len = o->max_len > 0 ? o->max_len : o->task_max_len + 1;
        dataset_init(&t->train, max_len);
        dataset_init(&t->valid, max_len);
        Rng rng;
        rng_seed(&rng, o->seed, STREAM_TRAIN_DATA);
        if (!add_task_pairs(&t->train, &t->tok, o, kind, SPLIT_TRAIN, o->train_examples, &rng, err))
            return false;
        rng_seed(&rng, o->seed, STREAM_VALID_DATA);
        if (!add_task_pairs(&t->valid, &t->tok, o, kind, SPLIT_TEST,
                            o->eval_sentences > 0 ? o->eval_sentences : 200, &rng, err))
            return false;
        if (!task_test_set(&t->test, &t->tok, o, max_len, NULL, err)) return false;
    }
    if (t->train.n_pairs == 0 && strcmp(o->task, "corpus") == 0) {  // say what each line was
        char report[600];
        load_report_format(report, sizeof report, o->train_path, &t->train_report, t->train.max_len);
        return error_set(err, "no training pairs: %s", report);
    }
    if (t->train.n_pairs == 0) return error_set(err, "task %s: no training pairs", o->task);
    return true;
}

// ---- init / free --------------------------------------------------------------------

// A resumed training state's counts must be ones a run can reach: every epoch and every
// batch of this epoch took at least one step, so neither exceeds the steps done (a
// damaged epoch near LONG_MAX would also overflow at the next epoch boundary). And the
// run must have steps left: with options.steps below the steps done nothing would be
// trained, yet a saved average would be taken as the final one.
static bool check_resumed_counts(const Trainer *t, const char *path, ErrorMessage *err) {
    const TrainingState *s = &t->state;
    if (s->epoch > s->step || s->batch_in_epoch > s->step)
        return error_set(err, "%s: corrupted training state: epoch %ld, batch %ld after only %ld steps", path,
                         s->epoch, s->batch_in_epoch, s->step);
    if (t->options.steps < s->step)
        return error_set(err, "--steps %ld is below the %ld steps already done in %s: nothing to train (give "
                         "a larger --steps)", t->options.steps, s->step, path);
    return true;
}

// A resumed parameter average (§6.1, the checkpoint's AVGS) must be the one this run's
// options would have summed by the saved step: the steps after steps - average_last.
// More than the steps done means a damaged file; another count means --steps or
// --average-last changed since the save, and averaging on would mix two windows (the
// final mean silently wrong). No saved average (a checkpoint from before the window, or a
// finished run trained on) is fine: the run averages the steps it still does. Each sum
// must be one that n steps of sane parameters can make.
static bool check_resumed_average(const Trainer *t, const char *path, ErrorMessage *err) {
    const TrainOptions *o = &t->options;
    long step = t->state.step, n = t->n_averaged;
    if (n == 0) return true;
    if (n > step)
        return error_set(err, "%s: corrupted checkpoint: its parameter average counts %ld steps, more than "
                         "the %ld done", path, n, step);
    // Every summed step passed params_sane, so no sum can exceed n·PARAM_LIMIT (a larger
    // one, finite as a double, would make an infinite float mean).
    for (long i = 0; i < t->model.params.n; i++)
        if (fabs(t->param_sum[i]) > (double)n * PARAM_LIMIT)
            return error_set(err, "%s: corrupted checkpoint: its parameter average holds a sum (%g) larger than "
                             "%ld steps of parameters can make", path, t->param_sum[i], n);
    long window_start = o->average_last > 0 && o->steps > o->average_last ? o->steps - o->average_last : 0;
    long expected = o->average_last > 0 && step > window_start ? step - window_start : 0;
    if (n != expected)
        return error_set(err, "%s: holds a parameter average of the last %ld steps, but --steps %ld with "
                         "--average-last %ld would have averaged %ld by step %ld: resume with the --steps "
                         "and --average-last the checkpoint was trained with", path, n, o->steps,
                         o->average_last, expected, step);
    return true;
}

// A model that cannot fit in this machine's memory is refused before it is allocated:
// malloc would still succeed (Linux hands out memory as it is first touched), and the run
// would fill the memory page by page for minutes before it failed or was killed. The
// figure is a lower bound: 5 floats per parameter (the weights, their gradients, the second
// shard's gradients (shards.h) and Adam's two moments, §5.3; a sixth with --average-last),
// the activations every layer keeps for the backward (the second shard's too), and 2
// floats per logit of the largest batch (the logits, their gradient).
static bool check_memory(const ModelConfig *cfg, const TrainOptions *o, ErrorMessage *err) {
    long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGE_SIZE);
    if (pages <= 0 || page_size <= 0) return true;  // unknown: let the allocations decide
    double params = (double)model_param_count(cfg), have = (double)pages * (double)page_size;
    double model_bytes = params * ((o->average_last > 0 ? 5 : 4) + SHARDS - 1) * sizeof(float);
    double batch_bytes = ((double)model_activation_count(cfg) + (double)shards_activation_count(cfg) +
                          2.0 * cfg->max_batch * cfg->max_len * cfg->vocab_size) * sizeof(float);
    double need = model_bytes + batch_bytes;
    if (need <= have) return true;
    if (model_bytes >= batch_bytes)
        return error_set(err, "--d-model %d --d-ff %d --layers %d: the model has %.1f %s parameters and "
                         "needs at least %.1f GB (weights, gradients and Adam's moments), more than this "
                         "machine's %.1f GB of memory: choose a smaller --d-model, --d-ff or --layers",
                         o->d_model, o->d_ff, o->n_layers, params >= 1e9 ? params / 1e9 : params / 1e6,
                         params >= 1e9 ? "billion" : "million", need / 1e9, have / 1e9);
    return error_set(err, "--batch-tokens %ld --batch-sentences %d: a batch of up to %d rows of %d tokens "
                     "needs at least %.1f GB (activations, logits over a vocabulary of %d and their "
                     "gradient), more than this machine's %.1f GB of memory: choose smaller batches (or a "
                     "smaller --max-len)", o->batch_tokens, o->batch_sentences, cfg->max_batch, cfg->max_len,
                     need / 1e9, cfg->vocab_size, have / 1e9);
}

bool trainer_init(Trainer *t, const TrainOptions *options, const char *resume_path,
                  ErrorMessage *err) {
    memset(t, 0, sizeof *t);
    t->options = *options;
    const TrainOptions *o = &t->options;
#ifdef _OPENMP
    if (o->threads > 0) omp_set_num_threads(o->threads);
#endif
    chooser_init(&t->threads, threads_max());
    if (o->steps < 0 || o->warmup < 1 || o->batch_tokens < 0 || o->batch_sentences < 0 ||
        (o->batch_tokens == 0 && o->batch_sentences == 0) || o->log_every < 1)
        return error_set(err, "options: steps >= 0, warmup >= 1, a batch size > 0 and log-every >= 1 are required");

    // The largest batch any plan can hold: B·(shortest row, 2 tokens) <= batch_tokens.
    long max_batch = o->batch_tokens > 0 ? o->batch_tokens / 2 : o->batch_sentences;
    if (o->batch_sentences > 0 && o->batch_sentences < max_batch) max_batch = o->batch_sentences;
    // At least the beam of §6.1, so the viewer's probe can run its beam search on the model
    // being trained; validation decodes min(max_batch, EVAL_BATCH) pairs at a time. (A floor
    // of EVAL_BATCH made --batch-sentences 1 still size every activation for 64 rows of
    // max_len tokens, which a corpus of long lines cannot afford.)
    if (max_batch < BEAM_SIZE_DEFAULT) max_batch = BEAM_SIZE_DEFAULT;

    if (resume_path) {
        Adam *opt = &t->adam;
        if (!checkpoint_load(resume_path, (int)max_batch, &t->model, &t->tok, &t->state, opt, err))
            return false;
        if (!t->state.present || !opt->memory)
            return error_set(err, "%s: has no training state (saved without it), cannot resume", resume_path);
        if (!checkpoint_load_average(resume_path, t->model.params.n, &t->param_sum, &t->n_averaged, err))
            return false;
    }
    if (!build_data(t, resume_path != NULL, err)) return false;

    if (!resume_path) {
        ModelConfig cfg = {
            .vocab_size = tokenizer_vocab_size(&t->tok),
            .d_model = o->d_model, .n_heads = o->n_heads, .d_ff = o->d_ff,
            .n_layers = o->n_layers, .max_len = t->train.max_len, .max_batch = (int)max_batch,
            .dropout = o->dropout,
        };
        // the two shape rules of model_config_valid, said with the options' names
        if (o->d_model % 2 != 0)
            return error_set(err, "--d-model %d must be even (the sinusoids of §3.5 come in sin/cos pairs)",
                             o->d_model);
        if (o->n_heads <= 0 || o->d_model % o->n_heads != 0)
            return error_set(err, "--heads %d must divide --d-model %d (each head has d_k = d_model/h "
                             "dimensions, §3.2.2)", o->n_heads, o->d_model);
        if (!model_config_valid(&cfg, err) || !check_memory(&cfg, o, err)) return false;
        Rng init;
        rng_seed(&init, o->seed, STREAM_INIT);
        model_init(&t->model, &cfg, &init);
        AdamConfig ac = adam_config_paper(o->d_model);
        ac.warmup_steps = o->warmup;
        ac.lr_scale = o->lr_scale;
        adam_init(&t->adam, &ac, t->model.params.n);
        t->state.present = true;
        rng_seed(&t->state.rng, o->seed, STREAM_DROPOUT);
        rng_seed(&t->state.data_rng, o->seed, STREAM_BATCHES);
    } else if (t->model.config.max_len < t->train.max_len) {
        return error_set(err, "%s: the model's max_len %d is shorter than the data's %d", resume_path,
                         t->model.config.max_len, t->train.max_len);
    } else if (!check_resumed_counts(t, resume_path, err) || !check_resumed_average(t, resume_path, err)) {
        return false;
    }

    // This epoch's plan, from the batch-order Rng as it was when the epoch began.
    t->data_rng_now = t->state.data_rng;
    if (!batch_plan_make(&t->plan, &t->train, o->batch_tokens, o->batch_sentences, &t->data_rng_now, err))
        return false;
    if (t->state.batch_in_epoch < 0 || t->state.batch_in_epoch > t->plan.n_batches)
        return error_set(err, "%s: batch %ld of an epoch of %d batches: not the same data or options",
                         resume_path ? resume_path : "resume", t->state.batch_in_epoch, t->plan.n_batches);

    const ModelConfig *c = &t->model.config;
    batch_init(&t->batch, c->max_batch, c->max_len);
    t->dlogits = xmalloc(sizeof(float) * (size_t)c->max_batch * c->max_len * c->vocab_size);
    shards_init(&t->shards, &t->model);
    t->first_step = t->state.step;
    t->saved_step = resume_path && strcmp(resume_path, o->out_path) == 0 ? t->state.step : -1;
    return true;
}

void trainer_free(Trainer *t) {
    free(t->param_sum);
    free(t->dlogits);
    shards_free(&t->shards);
    batch_free(&t->batch);
    batch_plan_free(&t->plan);
    adam_free(&t->adam);
    model_free(&t->model);
    dataset_free(&t->train);
    dataset_free(&t->valid);
    dataset_free(&t->test);
    tokenizer_free(&t->tok);
    wordlist_free(&t->words);
    memset(t, 0, sizeof *t);
}

// ---- one step -------------------------------------------------------------------------

// True if every one of the n parameters is finite and at most PARAM_LIMIT in size (the
// limit is defined at the top: a resumed average is held to it too).
static bool params_sane(const float *x, long n) {
    float peak = 0.0f;
    for (long i = 0; i < n; i++) peak = fmaxf(peak, fabsf(x[i]));  // fmaxf drops a NaN ...
    return vec_all_finite(x, n) && peak <= PARAM_LIMIT;             // ... vec_all_finite does not
}

bool trainer_step(Trainer *t, TrainStepStats *stats) {
    chooser_begin(&t->threads);
    double t0 = wall_seconds();
    Model *m = &t->model;
    // A new epoch: remember the batch-order Rng first (a resume rebuilds the plan from it).
    if (t->state.batch_in_epoch >= t->plan.n_batches) {
        t->state.epoch++;
        t->state.batch_in_epoch = 0;
        t->state.data_rng = t->data_rng_now;
        ErrorMessage err;
        if (!batch_plan_make(&t->plan, &t->train, t->options.batch_tokens, t->options.batch_sentences,
                             &t->data_rng_now, &err))
            die("%s", err.text);  // cannot happen: the same call succeeded at init
    }
    Batch *b = &t->batch;
    batch_fill(b, &t->train, &t->plan, (int)t->state.batch_in_epoch);

    // The plain step is model_zero_grad, model_forward(training), loss_forward,
    // loss_backward and model_backward over the batch; shards.h does the same with the
    // batch cut in two halves that run at once (speed notes).
    memset(stats, 0, sizeof *stats);
    stats->step = t->state.step + 1;
    stats->tokens = b->n_tgt_tokens;
    stats->B = b->B, stats->S = b->S, stats->T = b->T;
    const ShardedBatch work = {.batch = {.src = b->src, .src_lengths = b->src_lengths, .tgt = b->tgt_in,
                                         .tgt_lengths = b->tgt_lengths, .B = b->B, .S = b->S, .T = b->T},
                               .tgt_out = b->tgt_out, .smoothing = t->options.smoothing};
    LossResult r;
    bool finite = shards_gradients(&t->shards, m, &work, t->dlogits, &t->state.rng, &r);
    stats->loss = r.loss;
    stats->nll = r.nll;
    if (!finite) return false;  // a NaN or Inf logit, or loss
    if (!vec_all_finite(m->params.grads, m->params.n)) return false;

    stats->lr = adam_step(&t->adam, m->params.values, m->params.grads);
    if (!params_sane(m->params.values, m->params.n)) {  // the update overflowed: nothing to keep
        stats->loss = stats->nll = INFINITY;
        stats->params_damaged = true;
        return false;
    }
    t->state.step = t->adam.step;
    t->state.batch_in_epoch++;
    stats->step = t->state.step;
    stats->seconds = wall_seconds() - t0;
    chooser_end(&t->threads, stats->seconds, (double)b->B * (b->S + b->T));  // padded tokens
    t->tokens_seen += b->n_tgt_tokens;
    t->train_seconds += stats->seconds;
    t->last = *stats;
    return true;
}

// ---- evaluation ---------------------------------------------------------------------------

void trainer_evaluate(Trainer *t, const Dataset *ds, int max_pairs, int beam, EvalStats *out) {
    EvalSpec spec = {.translation = is_fr_en(t->options.task), .max_pairs = max_pairs, .beam = beam,
                     .smoothing = t->options.smoothing};
    evaluate_model(out, &t->model, &t->tok, ds, spec);
}

// "scored 120/455 pairs, 0:06 elapsed, ETA 0:17" to f, when at least 2 s have passed
// since *last (then *last = now).
static void eval_progress(FILE *f, int done, int n, double t0, double *last) {
    double now = wall_seconds();
    if (!f || now - *last < 2.0 || done <= 0 || done >= n) return;
    char elapsed[32], eta[32];
    format_duration(elapsed, sizeof elapsed, now - t0);
    format_duration(eta, sizeof eta, (now - t0) * (n - done) / done);
    fprintf(f, "scored %d/%d pairs, %s elapsed, ETA %s\n", done, n, elapsed, eta);
    fflush(f);
    *last = now;
}

// Translates the b->B sources of batch b, greedily (beam <= 1) or by beam search, into
// decoded, row i's decoded_len[i] tokens (without <s>/</s>) at decoded + i·stride; returns
// the stride, at most max_len (the rows' room). The limit is §6.1's input length + 50, as
// decode_greedy and decode_beam use: a greedy batch runs to its longest source's limit,
// and each row is then cut to its own, so every row is what decoding it alone gives.
// (max_len alone let an untrained model of --max-len 2000 decode 2000 tokens a pair.)
static int decode_batch(int *decoded, int *decoded_len, Model *m, const Batch *b, int beam) {
    if (beam <= 1) {
        int stride = decode_max_tokens(m, b->S);
        decode_greedy_batch(decoded, decoded_len, m, b->src, b->src_lengths, b->B, b->S, stride);
        for (int i = 0; i < b->B; i++) {
            int own = decode_max_tokens(m, b->src_lengths[i]);
            if (decoded_len[i] > own) decoded_len[i] = own;
        }
        return stride;
    }
    const int stride = m->config.max_len;
    for (int i = 0; i < b->B; i++) {
        Hypothesis h;
        const int *src = b->src + (long)i * b->S;
        decode_beam(&h, 1, m, src, b->src_lengths[i], beam, LENGTH_PENALTY_DEFAULT);
        decoded_len[i] = h.length < stride ? h.length : stride;
        memcpy(decoded + (long)i * stride, h.tokens, sizeof(int) * (size_t)decoded_len[i]);
    }
    return stride;
}

void evaluate_model(EvalStats *out, Model *m, const Tokenizer *tok, const Dataset *ds, EvalSpec spec) {
    const bool translation = spec.translation;
    const int max_pairs = spec.max_pairs, beam = spec.beam;
    const float smoothing = spec.smoothing;
    double t0 = wall_seconds(), last_progress = t0;
    const int V = m->config.vocab_size;
    int n = ds->n_pairs < max_pairs ? ds->n_pairs : max_pairs;
    int chunk = m->config.max_batch < EVAL_BATCH ? m->config.max_batch : EVAL_BATCH;
    int max_tokens = m->config.max_len;
    int *pairs = xmalloc(sizeof(int) * (size_t)chunk);
    int *decoded = xmalloc(sizeof(int) * (size_t)chunk * max_tokens);
    int *decoded_len = xmalloc(sizeof(int) * (size_t)chunk);
    int *ref = xmalloc(sizeof(int) * (size_t)ds->max_len);
    size_t text_cap = (size_t)max_tokens * 64 + 1;
    char *text = xmalloc(text_cap);
    double loss_sum = 0, nll_sum = 0;
    long tokens = 0, correct = 0;
    int batch_len = ds->max_len;  // rows of ds fit the model: ds->max_len <= max_len
    Batch batch;
    batch_init(&batch, chunk, batch_len);
    BleuStats bleu;
    bleu_init(&bleu);

    for (int start = 0; start < n; start += chunk) {
        int k = n - start < chunk ? n - start : chunk;
        for (int i = 0; i < k; i++) pairs[i] = start + i;
        Batch *b = &batch;
        batch_fill_pairs(b, ds, pairs, k);

        // Loss by teacher forcing, as in training but without dropout.
        model_forward(m, &(ModelBatch){.src = b->src, .src_lengths = b->src_lengths,
                                       .tgt = b->tgt_in, .tgt_lengths = b->tgt_lengths,
                                       .B = b->B, .S = b->S, .T = b->T},
                      false, NULL);
        LossResult r;
        LossSpec loss = {.B = b->B, .T = b->T, .V = V,
                         .smoothing = smoothing, .ignore_index = TOKEN_PAD};
        loss_forward(&r, m->acts.logits, m->acts.logits, b->tgt_out, loss);
        loss_sum += r.loss * (double)r.n_tokens;
        nll_sum += r.nll * (double)r.n_tokens;
        tokens += r.n_tokens;

        // Free-running output: the model sees only the source.
        int stride = decode_batch(decoded, decoded_len, m, b, beam);
        for (int i = 0; i < k; i++) {
            const int *hyp = decoded + (long)i * stride;
            if (translation) {
                tokenizer_decode(tok, hyp, decoded_len[i], text, text_cap);
                bleu_add(&bleu, text, ds->tgt_text[pairs[i]]);
            } else {
                int len = dataset_target_row(ds, pairs[i], ref);
                if (len == decoded_len[i] && memcmp(ref, hyp, sizeof(int) * (size_t)len) == 0) correct++;
            }
        }
        eval_progress(spec.progress, start + k, n, t0, &last_progress);
    }
    memset(out, 0, sizeof *out);
    out->n = n;
    out->loss = tokens ? loss_sum / (double)tokens : 0;
    out->nll = tokens ? nll_sum / (double)tokens : 0;
    out->accuracy = translation ? -1 : (n ? 100.0 * (double)correct / n : 0);
    out->bleu = translation ? bleu_score(&bleu) : -1;
    out->fourgrams = bleu.totals[3], out->fourgram_matches = bleu.matches[3];
    out->seconds = wall_seconds() - t0;
    batch_free(&batch);
    free(text);
    free(ref);
    free(decoded_len);
    free(decoded);
    free(pairs);
}

// key = the number v as text into info.
static void describe_long(RunInfo *info, const char *key, long v) {
    char text[32];
    snprintf(text, sizeof text, "%ld", v);
    run_info_set(info, key, text);
}

// key = the float v as the shortest of %g and %.9g that reads back as v (9 significant
// digits tell any two floats apart; 0.1 stays "0.1").
static void describe_float(RunInfo *info, const char *key, float v) {
    char text[32];
    snprintf(text, sizeof text, "%g", (double)v);
    if (strtof(text, NULL) != v) snprintf(text, sizeof text, "%.9g", (double)v);
    run_info_set(info, key, text);
}

// What identifies a file's content in a run description: "N bytes, FNV-1a X" (64-bit
// FNV-1a over its bytes, read in pieces), so that a resume can tell a corpus edited
// since (same name, other data) from the same file given by another path. "" if the file
// cannot be read.
static void file_fingerprint(const char *path, char *out, size_t size) {
    out[0] = '\0';
    FILE *f = path[0] ? fopen(path, "rb") : NULL;
    if (!f) return;
    unsigned long long hash = CHECKPOINT_FNV_OFFSET, bytes = 0;  // checkpoint.h's hash
    unsigned char piece[1 << 16];
    size_t got;
    while ((got = fread(piece, 1, sizeof piece, f)) > 0) {
        hash = checkpoint_fnv1a(hash, piece, (unsigned long)got);
        bytes += got;
    }
    bool bad = ferror(f) != 0;
    fclose(f);
    if (!bad) snprintf(out, size, "%llu bytes, FNV-1a %016llx", bytes, hash);
}

void train_options_describe(const TrainOptions *o, RunInfo *info) {
    memset(info, 0, sizeof *info);
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)o->seed);
    run_info_set(info, "task", o->task);
    run_info_set(info, "seed", seed);
    run_info_set(info, "source-name", o->source_name);
    run_info_set(info, "target-name", o->target_name);
    if (strcmp(o->task, "fr-en") == 0) run_info_set(info, "data", o->data_dir);
    if (strcmp(o->task, "corpus") == 0) {
        run_info_set(info, "train", o->train_path);
        run_info_set(info, "valid", o->valid_path);
        run_info_set(info, "test", o->test_path);
        char id[96];
        file_fingerprint(o->train_path, id, sizeof id);
        if (id[0]) run_info_set(info, "train-file", id);
        file_fingerprint(o->valid_path, id, sizeof id);
        if (id[0]) run_info_set(info, "valid-file", id);
    }
    bool translation = is_fr_en(o->task);
    const struct {
        const char *key;
        long value;
        bool applies;
    } numbers[] = {
        {"merges", o->merges, translation},
        {"task-min-len", o->task_min_len, !translation}, {"task-max-len", o->task_max_len, !translation},
        {"alphabet", o->alphabet, !translation}, {"train-examples", o->train_examples, !translation},
        {"batch-tokens", o->batch_tokens, true}, {"batch-sentences", o->batch_sentences, true},
        {"average-last", o->average_last, true}, {"max-len", o->max_len, true}, {"steps", o->steps, true},
        {"warmup", o->warmup, true},
    };
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++)
        if (numbers[i].applies) describe_long(info, numbers[i].key, numbers[i].value);
    describe_float(info, "smoothing", o->smoothing);
    describe_float(info, "lr-scale", o->lr_scale);
}

bool trainer_save(const Trainer *t, const char *path, bool with_state, ErrorMessage *err) {
    TrainingState state = t->state;
    // Inside an averaging window the running sum goes along, so a resume averages the
    // same steps; once the run is done the average is already in the parameters.
    if (t->n_averaged > 0 && t->state.step < t->options.steps) {
        state.n_averaged = t->n_averaged;
        state.param_sum = t->param_sum;
    }
    RunInfo *info = xmalloc(sizeof *info);
    train_options_describe(&t->options, info);
    CheckpointParts parts = {.model = &t->model, .tok = &t->tok, .state = with_state ? &state : NULL,
                             .opt = with_state ? &t->adam : NULL, .info = info, .words = &t->words};
    bool ok = checkpoint_save_parts(path, &parts, err);
    free(info);
    return ok;
}

// ---- progress lines ---------------------------------------------------------------------

void format_duration(char *buf, size_t size, double seconds) {
    if (!(seconds >= 0) || seconds > 1e7) {
        snprintf(buf, size, "?");
        return;
    }
    long s = (long)(seconds + 0.5);
    if (s >= 3600) snprintf(buf, size, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else snprintf(buf, size, "%ld:%02ld", s / 60, s % 60);
}

void train_format_progress(char *buf, size_t size, const Trainer *t, const TrainStepStats *s) {
    long done = s->step - t->first_step;  // steps this session
    double per_step = done > 0 ? t->train_seconds / (double)done : 0;
    double tok_s = t->train_seconds > 0 ? (double)t->tokens_seen / t->train_seconds : 0;
    char elapsed[32], eta[32];
    format_duration(elapsed, sizeof elapsed, t->train_seconds);
    format_duration(eta, sizeof eta, per_step * (double)(t->options.steps - s->step));
    int width = snprintf(NULL, 0, "%ld", t->options.steps);
    snprintf(buf, size, "step %*ld/%ld | loss %.3f (nll %.3f) | lr %.2e | %5.1fk tok/s | %s elapsed, ETA %s",
             width, s->step, t->options.steps, s->loss, s->nll, (double)s->lr, tok_s / 1000.0, elapsed, eta);
}

void train_format_eval(char *buf, size_t size, long step, const EvalStats *e) {
    int n = snprintf(buf, size, "valid step %ld | loss %.3f (nll %.3f)", step, e->loss, e->nll);
    if (n < 0 || (size_t)n >= size) return;
    if (e->accuracy >= 0)
        snprintf(buf + n, size - (size_t)n, " | accuracy %.2f%% (n=%d)", e->accuracy, e->n);
    else if (e->bleu >= 0)
        snprintf(buf + n, size - (size_t)n, " | BLEU %.2f (greedy, n=%d)", e->bleu, e->n);
}

// ---- the loop ------------------------------------------------------------------------------

static void say(FILE *log, const char *line) {
    if (log) {
        fprintf(log, "%s\n", line);
        fflush(log);
    }
}

// Saves a resumable checkpoint to --out (if any) and says so on log.
static bool save_periodic(Trainer *t, FILE *log, ErrorMessage *err) {
    if (!t->options.out_path[0]) return true;
    if (!trainer_save(t, t->options.out_path, true, err)) return false;
    t->saved_step = t->state.step;
    char line[600];
    snprintf(line, sizeof line, "saved %s (step %ld)", t->options.out_path, t->state.step);
    say(log, line);
    return true;
}

// A validation pass over the first eval_sentences pairs (greedy), its line on log and
// the on_eval hook.
static void run_eval(Trainer *t, const TrainHooks *hooks, FILE *log) {
    int n = t->options.eval_sentences > 0 ? t->options.eval_sentences : 200;
    trainer_evaluate(t, &t->valid, n, 1, &t->last_eval);
    char line[256];
    train_format_eval(line, sizeof line, t->state.step, &t->last_eval);
    say(log, line);
    if (hooks && hooks->on_eval) hooks->on_eval(hooks->ctx, t, &t->last_eval);
}

// What is on disk after a failure, for the error line: "the last checkpoint PATH (step
// N) is kept", or that none was written.
static void describe_kept(char *buf, size_t size, const Trainer *t) {
    if (t->saved_step >= 0)
        snprintf(buf, size, "the last checkpoint %s (step %ld) is kept", t->options.out_path, t->saved_step);
    else if (t->options.out_path[0])
        snprintf(buf, size, "no checkpoint was written to %s", t->options.out_path);
    else
        snprintf(buf, size, "no checkpoint was written (no --out)");
}

// The line for a step that failed (trainer_step returned false): NaN/Inf in the loss or
// gradients (parameters not updated) or in the updated parameters (overflow).
static void describe_nonfinite(char *buf, size_t size, const Trainer *t, const TrainStepStats *s) {
    char kept[400];
    describe_kept(kept, sizeof kept, t);
    bool params_ok = !s->params_damaged;
    snprintf(buf, size,
             "error: step %ld: %s (loss %g); stopping. %s; %s. Try a smaller --lr-scale or a longer --warmup.",
             s->step, params_ok ? "the loss or a gradient is NaN/Inf"
                                : "the Adam update made a parameter NaN, infinite or larger than 1e4 (diverged)",
             s->loss, params_ok ? "Parameters not updated" : "The parameters are damaged and not saved", kept);
}

// Counts steps whose loss is above DIVERGED_LOSS_FACTOR·ln V; true (with the line for
// log in buf) once DIVERGED_STEPS have come in a row.
static bool diverged(Trainer *t, const TrainStepStats *s, char *buf, size_t size) {
    double limit = DIVERGED_LOSS_FACTOR * log((double)t->model.config.vocab_size);
    t->steps_diverging = s->loss > limit ? t->steps_diverging + 1 : 0;
    if (t->steps_diverging < DIVERGED_STEPS) return false;
    char kept[400];
    describe_kept(kept, sizeof kept, t);
    snprintf(buf, size,
             "error: step %ld: training diverged: the loss (now %g) has been above %.3g (%.0f x ln V, worse "
             "than guessing) for %d steps; stopping, nothing saved; %s. Try a smaller --lr-scale or a longer "
             "--warmup.", s->step, s->loss, limit, DIVERGED_LOSS_FACTOR, DIVERGED_STEPS, kept);
    return true;
}

// Every history_every steps (and at a session's first and the run's last step) appends
// the probe's attention to the history next to the checkpoint (history.h); a fresh run
// starts the file. Evaluation mode, no random numbers: the training is not changed.
static void record_history(Trainer *t, const TrainStepStats *s, FILE *log) {
    const TrainOptions *o = &t->options;
    if (o->history_every <= 0 || !o->out_path[0]) return;
    if (s->step % o->history_every && s->step != t->first_step + 1 && s->step != o->steps) return;
    char path[300];
    history_path_for(path, sizeof path, o->out_path);
    HistoryHeader h = {.n_layers = t->model.config.n_layers, .n_heads = t->model.config.n_heads,
                       .d_model = t->model.config.d_model, .warmup = o->warmup, .total_steps = o->steps,
                       .lr_scale = o->lr_scale};
    snprintf(h.task, sizeof h.task, "%s", o->task);
    // The probe: the one asked for, or for your own corpus its first validation source (a
    // fixed example sentence would be in another language), cut at a character boundary.
    const char *probe = o->history_probe[0] ? o->history_probe : history_default_probe(o->task);
    if (!o->history_probe[0] && strcmp(o->task, "corpus") == 0 && t->valid.n_pairs > 0 && t->valid.src_text[0])
        probe = t->valid.src_text[0];
    utf8_copy(h.probe, sizeof h.probe, probe);
    HistoryFrame f;
    history_capture(&f, &t->model, &t->tok, h.probe);
    f.step = s->step, f.loss = (float)s->loss, f.lr = s->lr;
    ErrorMessage e;
    bool resumed_start = s->step == t->first_step + 1 && t->first_step > 0 && access(path, F_OK) == 0;
    if ((s->step == 1 && !history_create(path, &h, &e)) ||
        (resumed_start && !history_keep_until(path, t->first_step, &e)) || !history_append(path, &h, &f, &e))
        say(log, e.text);
    history_frame_free(&f);
}

TrainExit train_run(Trainer *t, const TrainHooks *hooks, FILE *log, ErrorMessage *err) {
    const TrainOptions *o = &t->options;
    long last_eval = -1;
    char line[1024];
    while (t->state.step < o->steps) {
        if (hooks && hooks->stop && atomic_load(hooks->stop)) {
            snprintf(line, sizeof line, "interrupted at step %ld", t->state.step);
            say(log, line);
            if (!save_periodic(t, log, err)) return TRAIN_FAILED;
            return TRAIN_STOPPED;
        }
        TrainStepStats s;
        if (!trainer_step(t, &s)) {
            describe_nonfinite(line, sizeof line, t, &s);
            say(log, line);
            return TRAIN_NONFINITE;
        }
        if (diverged(t, &s, line, sizeof line)) {
            say(log, line);
            return TRAIN_NONFINITE;
        }
        if (o->average_last > 0 && s.step > o->steps - o->average_last) {
            long n = t->model.params.n;
            if (!t->param_sum) t->param_sum = xcalloc((size_t)n, sizeof(double));
            for (long i = 0; i < n; i++) t->param_sum[i] += t->model.params.values[i];
            t->n_averaged++;
        }
        if (hooks && hooks->on_step) hooks->on_step(hooks->ctx, t, &s);
        record_history(t, &s, log);
        if (s.step % o->log_every == 0 || s.step == o->steps || s.step == t->first_step + 1) {
            train_format_progress(line, sizeof line, t, &s);
            say(log, line);
        }
        if (o->eval_every > 0 && s.step % o->eval_every == 0) {
            run_eval(t, hooks, log);
            last_eval = s.step;
        }
        if (o->checkpoint_every > 0 && s.step % o->checkpoint_every == 0 && s.step < o->steps) {
            if (!save_periodic(t, log, err)) return TRAIN_FAILED;
        }
    }
    if (t->n_averaged > 1) {
        // §6.1: "we used a single model obtained by averaging the last 5 checkpoints".
        // The mean of many nearby points of the trajectory is smoother than its end.
        for (long i = 0; i < t->model.params.n; i++)
            t->model.params.values[i] = (float)(t->param_sum[i] / (double)t->n_averaged);
        snprintf(line, sizeof line, "parameters averaged over the last %ld steps (§6.1)", t->n_averaged);
        say(log, line);
        last_eval = -1;
    }
    if (last_eval != t->state.step) run_eval(t, hooks, log);
    if (!o->slim) {
        if (!save_periodic(t, log, err)) return TRAIN_FAILED;
    } else if (o->out_path[0]) {
        if (!trainer_save(t, o->out_path, false, err)) return TRAIN_FAILED;
        t->saved_step = t->state.step;
        snprintf(line, sizeof line, "saved %s (step %ld, parameters and vocabulary only)", o->out_path,
                 t->state.step);
        say(log, line);
    }
    return TRAIN_DONE;
}
