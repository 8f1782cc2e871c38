// worker.c: the viewer's training thread (see worker.h).
#include "worker.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "checkpoint.h"
#include "decode.h"
#include "history.h"
#include "model.h"
#include "tokenizer.h"
#include "train.h"
#include "wordlist.h"

typedef struct {
    WorkerConfig *cfg;
    Model *m;
    const Tokenizer *tok;
    char task[64];
    char probe[VIZ_TEXT_CHARS];
    uint64_t probe_version;
    atomic_int stop;          // tells train_run to return
    // Training figures since the last snapshot, and in total.
    double loss_sum;
    int loss_n;
    long window_tokens;
    double window_start;
    long tokens_total;
    double run_start, paused_total;
    double last_step_end;     // when the last step's hook ran (wall clock)
    float last_val;           // NAN until the first validation
    float lr;
    long step;
    double last_publish;      // the last snapshot (figures only, or with the probe)
    double last_probe;        // the last snapshot with a fresh probe translation
    double probe_gap;         // seconds until the next probe translation
    float shown_val;          // the validation loss already in the history
    bool probe_changed;       // since the last curve point (marked on the charts)
    long total_steps;         // the run's plan (0: a loaded model)
    int warmup, alphabet;     // Eq. (3); a synthetic task's letters (0: not synthetic)
    float lr_scale;
    Languages names;          // the source and target names ("" if not known)
    const WordList *words;    // the training sources' words (NULL or not present: unknown)
    WordList loaded_words;    // an explored checkpoint's list (words points here)
} Worker;


// The warning for a probe: empty (nothing but spaces), words never seen in training, or
// letters outside a synthetic task's alphabet ("" when there is nothing to say).
static void probe_warning(const Worker *w, const char *probe, char *out, size_t size) {
    out[0] = '\0';
    const char *c = probe;
    while (*c == ' ' || *c == '\t') c++;
    if (!*c) {
        snprintf(out, size, "warning: the sentence is empty: the model sees only </s>");
        return;
    }
    if (w->alphabet > 0) {
        for (const char *c = probe; *c; c++)
            if (*c < 'a' || *c >= 'a' + w->alphabet) {
                snprintf(out, size, "warning: the task's alphabet is a..%c; '%c' was never trained on",
                         'a' + w->alphabet - 1, *c);
                return;
            }
        return;
    }
    if (!w->words || !w->words->present) return;
    char unknown[VIZ_TEXT_CHARS], line[VIZ_TEXT_CHARS + 64];
    if (wordlist_unseen(w->words, probe, 4, unknown, sizeof unknown) == 0) return;
    snprintf(line, sizeof line, "warning: never seen in training: %s", unknown);
    viz_copy_text(out, (int)size, line);  // cut at a character boundary
}

const char *worker_default_probe(const char *task) { return history_default_probe(task); }

// ---- filling a snapshot ------------------------------------------------------------------

static void token_label(const Tokenizer *tok, int id, char *out) {
    char buf[TOKEN_STRING_MAX];
    tokenizer_token_string(tok, id, buf, sizeof buf);
    viz_copy_text(out, VIZ_TOKEN_CHARS, buf);
}

static int mini(int a, int b) { return a < b ? a : b; }

// The length of the valid UTF-8 character at s (1..4), or 0 if the bytes there are not one.
static int utf8_char_length(const unsigned char *s) {
    int n = s[0] < 0x80 ? 1 : (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3 : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 2 && s[0] < 0xC2) return 0;  // an overlong form
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    return n;
}

// Decoded text for the screen: a byte that is not part of a valid UTF-8 character shows
// as <0xNN>, the way the heatmap labels show it (tokenizer_token_string), not as "?".
static void show_bytes_as_labels(char *text, int cap) {
    char out[VIZ_TEXT_CHARS];
    int o = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p && o < (int)sizeof out - 8;) {
        int n = utf8_char_length(p);
        if (n > 0) {
            memcpy(out + o, p, (size_t)n);
            o += n, p += n;
        } else {
            o += snprintf(out + o, sizeof out - (size_t)o, "<0x%02X>", *p++);
        }
    }
    out[o] = '\0';
    viz_copy_text(text, cap, out);
}

// Translates the probe sentence with beam search, reruns the model on the best
// hypothesis, and fills the sentence part of s: tokens, attention, hypotheses.
// A length limit of our own: decode_beam allows src_len + 50 output tokens (§6.1). An
// untrained model never says </s>, so early in training that would mean ~50 decoder
// passes per snapshot; the viewer can show at most VIZ_MAX_TOKENS anyway, so it searches
// with a shorter limit through the same beam_search and the model as a Scorer
// (decode.h model_scorer).
static void fill_probe(Worker *w, Snapshot *s) {
#ifdef _OPENMP
    // One sentence is too little work to share: with several threads the many small
    // products of a beam search spend more time meeting at barriers than computing
    // (measured: ~1 s instead of ~10 ms on a busy 2-core machine).
    int threads = omp_get_max_threads();
    omp_set_num_threads(1);
#endif
    Model *m = w->m;
    const Tokenizer *tok = w->tok;
    int max_src = mini(m->config.max_len, VIZ_MAX_TOKENS) - 1;  // room for </s>
    int *src = xmalloc(sizeof(int) * ((size_t)strlen(w->probe) + 2));
    int n = tokenizer_encode(tok, w->probe, strlen(w->probe), src, (int)strlen(w->probe) + 1);
    bool cut = n > max_src;
    if (cut) n = max_src;
    src[n++] = TOKEN_EOS;  // the source row is x + </s> (dataset.h)

    model_encode(m, src, &n, 1, n, false, NULL);
    ModelScorer scorer_rows;
    Scorer scorer = model_scorer(&scorer_rows, m);
    int max_out = mini(decode_max_tokens(m, n), VIZ_MAX_TOKENS - 1);
    if (max_out > 2 * n + 8) max_out = 2 * n + 8;  // a translation is not much longer than its source
    Hypothesis *hyps = xmalloc(sizeof(Hypothesis) * VIZ_MAX_HYPS);
    int beam = mini(BEAM_SIZE_DEFAULT, scorer.max_rows);
    int nh = beam_search(hyps, VIZ_MAX_HYPS, &scorer, beam, LENGTH_PENALTY_DEFAULT, max_out);
    int T = nh > 0 ? decode_rerun_attention(m, src, n, &hyps[0]) : 0;

    viz_copy_text(s->probe, VIZ_TEXT_CHARS, w->probe);
    s->src_len = mini(n, VIZ_MAX_TOKENS);
    for (int i = 0; i < s->src_len; i++) token_label(tok, src[i], s->src_tokens[i]);
    s->tgt_len = mini(T, VIZ_MAX_TOKENS);
    for (int i = 0; i < s->tgt_len; i++) {
        int id = i == 0 ? TOKEN_BOS : i - 1 < hyps[0].length ? hyps[0].tokens[i - 1] : TOKEN_EOS;
        token_label(tok, id, s->tgt_tokens[i]);
        // Row i was fed token i and predicted token i + 1 (</s> after the last one).
        if (i < hyps[0].length) token_label(tok, hyps[0].tokens[i], s->tgt_next[i]);
        else if (hyps[0].finished) token_label(tok, TOKEN_EOS, s->tgt_next[i]);
        else viz_copy_text(s->tgt_next[i], VIZ_TOKEN_CHARS, "...");
    }
    if (T > 0) {
        snapshot_copy_attention(s, m);
    } else {
        memset(s->attn, 0, sizeof s->attn);
    }
    s->n_hyps = nh;
    for (int i = 0; i < nh; i++) {
        tokenizer_decode(tok, hyps[i].tokens, hyps[i].length, s->hyps[i], VIZ_TEXT_CHARS);
        show_bytes_as_labels(s->hyps[i], VIZ_TEXT_CHARS);
        if (!hyps[i].finished) {
            size_t len = strlen(s->hyps[i]);
            if (len + 4 < VIZ_TEXT_CHARS) memcpy(s->hyps[i] + len, " ...", 5);
        }
        s->hyp_scores[i] = hyps[i].score;
    }
    viz_copy_text(s->translation, VIZ_TEXT_CHARS, nh > 0 ? s->hyps[0] : "");
    snapshot_compute_entropy(s);
    probe_warning(w, w->probe, s->warning, sizeof s->warning);
    if (cut)
        snprintf(s->warning, sizeof s->warning, "warning: the probe was cut to its first %d tokens (at most %d)",
                 n - 1, max_src);
    free(hyps);
    free(src);
#ifdef _OPENMP
    omp_set_num_threads(threads);
#endif
}

static void fill_header(Worker *w, Snapshot *s) {
    viz_copy_text(s->task, (int)sizeof s->task, w->task);
    s->names = w->names;
    s->n_layers = mini(w->m->config.n_layers, VIZ_MAX_LAYERS);
    s->n_heads = mini(w->m->config.n_heads, VIZ_MAX_HEADS);
    s->d_model = w->m->config.d_model;
    s->step = w->step;
    s->lr = w->lr;
    s->val_loss = w->last_val;
    s->total_steps = w->total_steps;
    s->warmup = w->warmup;
    s->lr_scale = w->lr_scale;
    // Time left at the pace so far (wall clock, snapshots included, pauses not).
    double spent = wall_seconds() - w->run_start - w->paused_total;
    long done = w->cfg->steps_done;
    s->seconds_left = w->run_start > 0 && done > 0 ? (float)(spent / done * (double)(w->total_steps - w->step)) : -1;
}

static void publish_status(WorkerConfig *cfg, const char *status, bool finished) {
    Snapshot *s = exchange_back(cfg->exchange);
    viz_copy_text(s->status, (int)sizeof s->status, status);
    s->finished = finished;
    exchange_publish(cfg->exchange);
}

// Reads the control; picks up a new probe. Returns true if the probe changed.
static bool poll_control(Worker *w, bool *paused, bool *quit) {
    uint64_t version;
    char probe[VIZ_TEXT_CHARS];
    control_read(w->cfg->control, paused, quit, &version, probe);
    if (version == w->probe_version) return false;
    w->probe_version = version;
    memcpy(w->probe, probe, VIZ_TEXT_CHARS);
    w->probe_changed = true;
    return true;
}

// ---- live training ---------------------------------------------------------------------

// Publishes the training figures, and with `probe` also a fresh translation and the
// attention of the probe sentence (otherwise the previous ones stay in the snapshot).
static void publish_training(Worker *w, bool paused, bool finished, bool probe) {
    Snapshot *s = exchange_back(w->cfg->exchange);
    double start = wall_seconds();
    fill_header(w, s);
    if (probe) {
        s->status[0] = '\0';
        fill_probe(w, s);
    }
    double probe_done = wall_seconds();
    s->paused = paused;
    s->finished = finished;
    if (w->loss_n > 0) {
        // One history point per snapshot: the mean over the steps since the last one.
        double span = start - w->window_start;
        s->train_loss = (float)(w->loss_sum / w->loss_n);
        s->tokens_per_sec = span > 0 ? (float)(w->window_tokens / span) : 0;
        VizHistoryPoint p = {.step = w->step, .train_loss = s->train_loss, .val_loss = NAN,
                             .lr = w->lr, .tokens_per_sec = s->tokens_per_sec};
        if (isfinite(w->last_val) && w->last_val != w->shown_val) p.val_loss = w->shown_val = w->last_val;
        memcpy(p.entropy, s->entropy, sizeof p.entropy);  // of the latest probe attention
        p.probe_changed = w->probe_changed;
        w->probe_changed = false;
        snapshot_history_push(s, &p);
        w->loss_sum = 0;
        w->loss_n = 0;
        w->window_tokens = 0;
    }
    if (finished) snprintf(s->status, sizeof s->status, "training finished at step %ld", w->step);
    exchange_publish(w->cfg->exchange);
    double end = wall_seconds();
    w->window_start = w->last_publish = end;
    w->cfg->publish_seconds_total += end - start;
    if (probe) {
        // The probe costs a beam search and a forward pass. Keep it to about 5% of the
        // training time: after one that took d seconds, the next comes >= 20 d later.
        double cost = probe_done - start;
        w->last_probe = end;
        // (At most 5 s apart, so one slow first call does not freeze the picture.)
        w->probe_gap = cost * 20 > w->cfg->publish_seconds ? cost * 20 : w->cfg->publish_seconds;
        if (w->probe_gap > 5.0) w->probe_gap = 5.0;
    }
}

static void on_step(void *ctx, Trainer *t, const TrainStepStats *st) {
    Worker *w = ctx;
    w->loss_sum += st->loss;
    w->loss_n++;
    w->window_tokens += st->tokens;
    w->tokens_total += st->tokens;
    w->lr = st->lr;
    w->step = st->step;
    w->cfg->steps_done = st->step;
    w->last_step_end = wall_seconds();
    bool paused, quit;
    bool changed = poll_control(w, &paused, &quit);
    if (quit) {
        atomic_store(&w->stop, 1);
        return;
    }
    double now = wall_seconds();
    bool last = st->step >= t->options.steps;
    // Headless (once) runs publish the same way, so their pictures show the same curves.
    bool probe = changed || paused || (last && !w->cfg->once) || now - w->last_probe >= w->probe_gap;
    if (probe || now - w->last_publish >= w->cfg->publish_seconds) publish_training(w, paused, false, probe);
    // Paused: stay here (between two steps), still answering new probe sentences.
    double pause_start = wall_seconds();
    while (paused && !quit) {
        control_wait_while_paused(w->cfg->control, 100);
        if (poll_control(w, &paused, &quit) && !quit) publish_training(w, true, false, true);
    }
    if (quit) atomic_store(&w->stop, 1);
    double paused_for = wall_seconds() - pause_start;
    w->paused_total += paused_for;
    w->window_start += paused_for;  // tokens/s counts training time only
    if (paused_for > 0.001 && !quit) publish_training(w, false, false, false);
}

static void on_eval(void *ctx, Trainer *t, const EvalStats *e) {
    (void)t;
    Worker *w = ctx;
    w->last_val = (float)e->loss;
}

// After training (or after loading a model): answer new probe sentences until quit.
static void serve(Worker *w, bool trained) {
    for (;;) {
        bool paused, quit;
        bool changed = poll_control(w, &paused, &quit);
        if (quit) return;
        if (changed) {
            if (trained) {
                publish_training(w, false, true, true);
            } else {
                Snapshot *s = exchange_back(w->cfg->exchange);
                fill_header(w, s);
                fill_probe(w, s);
                exchange_publish(w->cfg->exchange);
            }
        }
        struct timespec nap = {0, 30 * 1000000L};
        nanosleep(&nap, NULL);
    }
}

static void fail(WorkerConfig *cfg, const char *fmt, const char *text) {
    cfg->failed = true;
    char line[sizeof cfg->err.text + 32];
    snprintf(line, sizeof line, fmt, text);
    viz_copy_text(cfg->err.text, (int)sizeof cfg->err.text, text);
    publish_status(cfg, line, true);
}

static void run_training(WorkerConfig *cfg, Worker *w) {
    TrainOptions o;
    ErrorMessage err;
    if (!train_options_default(&o, cfg->task, &err)) { fail(cfg, "error: %s", err.text); return; }
    if (cfg->steps > 0) o.steps = cfg->steps;
    if (cfg->threads > 0) o.threads = cfg->threads;
    if (cfg->seed > 0) o.seed = cfg->seed;
    if (cfg->data_dir[0]) viz_copy_text(o.data_dir, (int)sizeof o.data_dir, cfg->data_dir);
    // A live run is saved (periodically, at the end and when the viewer quits) with its
    // .history beside it; a headless picture saves nothing.
    viz_copy_text(o.out_path, (int)sizeof o.out_path, cfg->once ? "" : cfg->checkpoint_path);
    if (!o.out_path[0]) o.checkpoint_every = 0;
    viz_copy_text(o.history_probe, (int)sizeof o.history_probe, w->probe);
    publish_status(cfg, strcmp(cfg->task, "fr-en") == 0
                            ? "loading fr-en, learning the BPE vocabulary, building the model ..."
                            : "generating the task's examples and building the model ...", false);
    Trainer *t = xcalloc(1, sizeof *t);
    if (!trainer_init(t, &o, NULL, &err)) {
        trainer_free(t);
        free(t);
        fail(cfg, "error: %s", err.text);
        return;
    }
    w->m = &t->model;
    w->tok = &t->tok;
    viz_copy_text(w->task, (int)sizeof w->task, cfg->task);
    w->total_steps = cfg->steps < 0 ? 0 : o.steps;
    w->warmup = o.warmup;
    w->lr_scale = o.lr_scale;
    if (task_is_translation(cfg->task)) w->words = &t->words;
    else w->alphabet = o.alphabet;
    w->names = (Languages){0};
    viz_copy_text(w->names.source, (int)sizeof w->names.source, o.source_name);
    viz_copy_text(w->names.target, (int)sizeof w->names.target, o.target_name);
    w->step = t->state.step;
    publish_training(w, false, false, true);  // the untrained model's attention, step 0
    if (cfg->steps < 0) {  // only the initialised model (a --snapshot without --frames)
        publish_training(w, false, true, true);
        publish_status(cfg, "the model as initialised (no training steps)", true);
        if (!cfg->once) serve(w, true);
        trainer_free(t);
        free(t);
        return;
    }
    TrainHooks hooks = {on_step, on_eval, w, &w->stop};
    w->run_start = w->window_start = wall_seconds();
    TrainExit how = train_run(t, &hooks, NULL, &err);
    // Wall clock from the first step to the last (the final validation excluded).
    double seconds = w->last_step_end - w->run_start - w->paused_total;
    cfg->tokens_per_sec = seconds > 0 ? w->tokens_total / seconds : 0;
    cfg->steps_done = t->state.step;
    cfg->step_tokens_per_sec = t->train_seconds > 0 ? t->tokens_seen / t->train_seconds : 0;
    if (how == TRAIN_NONFINITE) {
        fail(cfg, "stopped: %s", "the loss or a gradient became NaN/Inf");
    } else if (how == TRAIN_FAILED) {
        fail(cfg, "error: %s", err.text);
    } else if (how == TRAIN_DONE) {
        publish_training(w, false, true, true);
        if (!cfg->once) serve(w, true);
    }
    trainer_free(t);
    free(t);
}

// Without --probe the viewer starts with the fr-en example sentence; a checkpoint of
// another task gets that task's example instead, and one of your own corpus the probe its
// training recorded in the .history beside it (its first validation source), if there is one.
static void explore_probe_for_task(Worker *w, const char *task, const char *path) {
    if (strcmp(w->probe, worker_default_probe("fr-en")) != 0 || strcmp(task, "fr-en") == 0) return;
    if (strcmp(task, "corpus") != 0) {
        viz_copy_text(w->probe, VIZ_TEXT_CHARS, worker_default_probe(task));
        return;
    }
    char history[600];
    history_path_for(history, sizeof history, path);
    HistoryHeader h;  // the header alone: the frames are not needed for the probe
    if (history_load_header(history, &h) && h.probe[0]) viz_copy_text(w->probe, VIZ_TEXT_CHARS, h.probe);
}

// The language names and the word list of the checkpoint at path into w (left empty
// for a checkpoint from before they were kept). True if it has a word list.
static bool read_description(Worker *w, const char *path) {
    RunInfo *info = xmalloc(sizeof *info);
    ErrorMessage err;
    if (checkpoint_load_run(path, info, &w->loaded_words, &err) && info->present) {
        const char *src = run_info_get(info, "source-name"), *tgt = run_info_get(info, "target-name");
        viz_copy_text(w->names.source, (int)sizeof w->names.source, src ? src : "");
        viz_copy_text(w->names.target, (int)sizeof w->names.target, tgt ? tgt : "");
        const char *task = run_info_get(info, "task");
        if (task) explore_probe_for_task(w, task, path);
    }
    free(info);
    w->words = &w->loaded_words;
    return w->loaded_words.present;
}

static void run_explore(WorkerConfig *cfg, Worker *w) {
    Model *m = xcalloc(1, sizeof *m);
    Tokenizer *tok = xcalloc(1, sizeof *tok);
    ErrorMessage err;
    publish_status(cfg, "loading the model ...", false);
    TrainingState state;
    if (!checkpoint_load(cfg->model_path, BEAM_SIZE_DEFAULT, m, tok, &state, NULL, &err)) {
        fail(cfg, "error: %s", err.text);
    } else {
        w->m = m;
        w->tok = tok;
        w->step = state.present ? state.step : 0;  // a slim checkpoint does not say
        bool have_words = read_description(w, cfg->model_path);
        const char *base = strrchr(cfg->model_path, '/');
        viz_copy_text(w->task, (int)sizeof w->task, base ? base + 1 : cfg->model_path);
        Snapshot *s = exchange_back(cfg->exchange);
        fill_header(w, s);
        fill_probe(w, s);
        char history[sizeof s->model_history];  // a saved run's recording, for the training view
        history_path_for(history, sizeof history, cfg->model_path);
        s->model_history[0] = '\0';
        if (access(history, R_OK) == 0) viz_copy_text(s->model_history, (int)sizeof s->model_history, history);
        // Said once, in the status line: an older checkpoint cannot tell unseen words.
        char status[sizeof s->status + 128];
        snprintf(status, sizeof status, "exploring %s (not training)%s", w->task,
                 have_words || tok->n_merges == 0 ? "" : "; no training word list in it: unseen words not checked");
        viz_copy_text(s->status, (int)sizeof s->status, status);
        s->finished = true;
        exchange_publish(cfg->exchange);
        if (!cfg->once) serve(w, false);
    }
    model_free(m);
    tokenizer_free(tok);
    free(m);
    free(tok);
}

void worker_run(WorkerConfig *cfg) {
    Worker *w = xcalloc(1, sizeof *w);
    w->cfg = cfg;
    w->last_val = NAN;
    atomic_init(&w->stop, 0);
    control_read(cfg->control, NULL, NULL, &w->probe_version, w->probe);
    if (cfg->publish_seconds <= 0) cfg->publish_seconds = 0.25;
    if (cfg->model_path[0]) run_explore(cfg, w);
    else run_training(cfg, w);
    wordlist_free(&w->loaded_words);
    free(w);
}

void *worker_thread(void *arg) {
    worker_run(arg);
    return NULL;
}
