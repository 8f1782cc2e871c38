// test_08_train.c: the training loop (§5) on tiny models: it learns, it stops on NaN, a
// resumed run repeats an uninterrupted one exactly, Ctrl-C (the stop flag) saves, a step
// allocates nothing, and a model trained on reverse attends along the anti-diagonal.
#include <limits.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "checkpoint.h"
#include "common.h"
#include "decode.h"
#include "loss.h"
#include "model.h"
#include "shards.h"
#include "tasks.h"
#include "tensor.h"
#include "testutil.h"
#include "tokenizer.h"
#include "train.h"

// A model small enough to train in seconds under AddressSanitizer.
static TrainOptions tiny_options(const char *task) {
    TrainOptions o;
    ErrorMessage err;
    assert_true(train_options_default(&o, task, &err));
    o.d_model = 32, o.n_heads = 2, o.d_ff = 64, o.n_layers = 1;
    o.dropout = 0.1f;
    o.task_min_len = 1, o.task_max_len = 6, o.alphabet = 6;
    o.train_examples = 400;
    o.batch_tokens = 256, o.batch_sentences = 32;
    o.warmup = 100, o.lr_scale = 0.3f;
    o.steps = 40;
    o.eval_every = 0, o.eval_sentences = 50, o.checkpoint_every = 0;
    o.log_every = 1000;
    o.threads = 1;
    o.out_path[0] = 0;
    o.history_every = 0;  // no .history files beside the tests' checkpoints
    return o;
}

static void init_or_fail(Trainer *t, const TrainOptions *o, const char *resume) {
    ErrorMessage err;
    bool ok = trainer_init(t, o, resume, &err);
    if (!ok) fail_msg("trainer_init: %s", err.text);
}

// 100 steps on copy: the mean loss of the last 10 steps is well below that of the first
// 10 (a model that does not learn stays near ln V = 5.6).
static void test_loss_goes_down(void **state) {
    (void)state;
    TrainOptions o = tiny_options("copy");
    o.steps = 100;
    Trainer t;
    init_or_fail(&t, &o, NULL);
    double first = 0, last = 0;
    for (int i = 0; i < 100; i++) {
        TrainStepStats s;
        assert_true(trainer_step(&t, &s));
        assert_int_equal(s.step, i + 1);
        assert_true(isfinite(s.loss) && s.lr > 0);
        if (i < 10) first += s.loss / 10;
        if (i >= 90) last += s.loss / 10;
    }
    printf("copy: mean loss of steps 1-10 %.3f, of steps 91-100 %.3f\n", first, last);
    assert_true(first > 4.0);
    assert_true(last < 0.6 * first);
    trainer_free(&t);
}

// A NaN in the parameters makes the step fail without touching the parameters; train_run
// then stops with TRAIN_NONFINITE and leaves the last checkpoint as it was.
static void test_nan_stops_training(void **state) {
    (void)state;
    char path[] = "/tmp/test_08_train_nan_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    TrainOptions o = tiny_options("reverse");
    snprintf(o.out_path, sizeof o.out_path, "%s", path);
    o.steps = 3;
    Trainer t;
    init_or_fail(&t, &o, NULL);
    ErrorMessage err;
    assert_int_equal(train_run(&t, NULL, NULL, &err), TRAIN_DONE);  // a good checkpoint at step 3
    size_t good_len;
    char *good = read_whole_file(path, &good_len, &err);
    assert_non_null(good);

    // Poison one embedding row used by every batch (the </s> token ends every source).
    float *row = t.model.params.w.embedding + (long)TOKEN_EOS * t.model.config.d_model;
    row[0] = NAN;
    float *before = xmalloc(sizeof(float) * (size_t)t.model.params.n);
    memcpy(before, t.model.params.values, sizeof(float) * (size_t)t.model.params.n);
    TrainStepStats s;
    assert_false(trainer_step(&t, &s));
    assert_true(isnan(s.loss));
    assert_int_equal(t.state.step, 3);  // no update counted
    assert_memory_equal(before, t.model.params.values, sizeof(float) * (size_t)t.model.params.n);

    t.options.steps = 10;
    char logbuf[4096] = "";
    FILE *log = fmemopen(logbuf, sizeof logbuf, "w");
    assert_int_equal(train_run(&t, NULL, log, &err), TRAIN_NONFINITE);
    fclose(log);
    printf("log: %s", logbuf);
    assert_non_null(strstr(logbuf, "NaN/Inf"));
    assert_non_null(strstr(logbuf, "(step 3) is kept"));

    size_t after_len;
    char *after = read_whole_file(path, &after_len, &err);
    assert_non_null(after);
    assert_int_equal(good_len, after_len);
    assert_memory_equal(good, after, good_len);  // the checkpoint is untouched
    free(after), free(good), free(before);
    trainer_free(&t);
    unlink(path);
}

// Resume: 30 steps straight, versus 13 steps, a checkpoint, and a fresh Trainer resuming
// from it for steps 14-30. With dropout on and several epochs crossed (400 pairs make
// about 12 batches per epoch), every loss must be bit-for-bit the same.
static void test_resume_equals_uninterrupted(void **state) {
    (void)state;
    enum { TOTAL = 30, CUT = 13 };
    char path[] = "/tmp/test_08_train_resume_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    TrainOptions o = tiny_options("reverse");
    o.steps = TOTAL;
    double straight[TOTAL], resumed[TOTAL];

    Trainer t;
    init_or_fail(&t, &o, NULL);
    for (int i = 0; i < TOTAL; i++) {
        TrainStepStats s;
        assert_true(trainer_step(&t, &s));
        straight[i] = s.loss;
    }
    long epochs = t.state.epoch;
    trainer_free(&t);
    assert_true(epochs >= 2);  // the resumed part crosses an epoch boundary

    init_or_fail(&t, &o, NULL);
    ErrorMessage err;
    for (int i = 0; i < CUT; i++) {
        TrainStepStats s;
        assert_true(trainer_step(&t, &s));
        resumed[i] = s.loss;
    }
    assert_true(trainer_save(&t, path, true, &err));
    trainer_free(&t);

    init_or_fail(&t, &o, path);
    assert_int_equal(t.state.step, CUT);
    for (int i = CUT; i < TOTAL; i++) {
        TrainStepStats s;
        assert_true(trainer_step(&t, &s));
        assert_int_equal(s.step, i + 1);
        resumed[i] = s.loss;
    }
    trainer_free(&t);
    for (int i = 0; i < TOTAL; i++) {
        if (straight[i] != resumed[i]) fail_msg("step %d: loss %.9g straight, %.9g resumed", i + 1, straight[i], resumed[i]);
    }
    // And the check can fail: a resume with another dropout Rng differs.
    init_or_fail(&t, &o, path);
    rng_seed(&t.state.rng, 999, 1);
    TrainStepStats s;
    assert_true(trainer_step(&t, &s));
    assert_true(s.loss != straight[CUT]);
    trainer_free(&t);
    unlink(path);
}

// Ctrl-C: the command's signal handler sets the stop flag; here a step hook sets it after
// step 5. train_run must return TRAIN_STOPPED having saved a resumable checkpoint at step 5.
typedef struct {
    atomic_int stop;
    int calls;
} StopAfter;

static void stop_after_five(void *ctx, Trainer *t, const TrainStepStats *s) {
    StopAfter *sa = ctx;
    sa->calls++;
    assert_int_equal(s->step, t->state.step);
    if (s->step == 5) atomic_store(&sa->stop, 1);
}

static void test_stop_flag_saves_checkpoint(void **state) {
    (void)state;
    char path[] = "/tmp/test_08_train_stop_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    TrainOptions o = tiny_options("sort");
    o.steps = 100;
    snprintf(o.out_path, sizeof o.out_path, "%s", path);
    Trainer t;
    init_or_fail(&t, &o, NULL);
    StopAfter sa = {.calls = 0};
    atomic_init(&sa.stop, 0);
    TrainHooks hooks = {.on_step = stop_after_five, .ctx = &sa, .stop = &sa.stop};
    ErrorMessage err;
    assert_int_equal(train_run(&t, &hooks, NULL, &err), TRAIN_STOPPED);
    assert_int_equal(sa.calls, 5);
    trainer_free(&t);

    Model m = {0};
    Tokenizer tok = {0};
    TrainingState ts;
    Adam adam = {0};
    if (!checkpoint_load(path, 0, &m, &tok, &ts, &adam, &err)) fail_msg("%s", err.text);
    assert_true(ts.present);
    assert_int_equal(ts.step, 5);
    assert_int_equal(adam.step, 5);
    adam_free(&adam);
    model_free(&m);
    tokenizer_free(&tok);
    unlink(path);
}

// Reverse (§3.2.3 cross-attention): after a few seconds of training, output position i of
// a reversed sequence of n letters should look at source position n-1-i. For each head of
// the last layer we count, over 40 held-out sequences, the target positions whose
// cross-attention row peaks at the mirrored source position; the best head (or the
// average of heads) must get >= 90% of them. An untrained model is checked too: it must
// NOT pass, so the assertion could fail.
static double antidiagonal_fraction(Trainer *t, int head, int *n_rows) {
    Model *m = &t->model;
    const int h = m->config.n_heads;
    int hits = 0, rows_total = 0;
    int src[32], tgt[32];
    for (int p = 0; p < 40 && p < t->test.n_pairs; p++) {
        int S = dataset_source_row(&t->test, p, src);  // x + </s>
        int n = S - 1;
        int y[32];
        int ny = dataset_target_row(&t->test, p, y);
        assert_int_equal(ny, n);
        tgt[0] = TOKEN_BOS;
        memcpy(tgt + 1, y, sizeof(int) * (size_t)n);  // teacher forcing: <s> y1 .. yn
        int T = n + 1;
        model_forward(m, &(ModelBatch){.src = src, .src_lengths = &S,
                                       .tgt = tgt, .tgt_lengths = &T,
                                       .B = 1, .S = S, .T = T},
                      false, NULL);
        int R, C;
        const float *w = model_attention(m, ATTN_CROSS, m->config.n_layers - 1, &R, &C);
        assert_int_equal(R, T);
        assert_int_equal(C, S);
        for (int i = 0; i < n; i++) {  // row i predicts y_(i+1) = x_(n-1-i)
            int best = 0;
            float best_w = -1;
            for (int j = 0; j < C; j++) {
                float v = 0;
                if (head >= 0) v = w[((long)head * R + i) * C + j];
                else
                    for (int k = 0; k < h; k++) v += w[((long)k * R + i) * C + j] / (float)h;
                if (v > best_w) best_w = v, best = j;
            }
            hits += best == n - 1 - i;
            rows_total++;
        }
    }
    *n_rows = rows_total;
    return (double)hits / rows_total;
}

static double best_head_fraction(Trainer *t) {
    double best = 0;
    int rows;
    for (int head = -1; head < t->model.config.n_heads; head++) {
        double f = antidiagonal_fraction(t, head, &rows);
        if (head < 0) printf("  average of the %d heads", t->model.config.n_heads);
        else printf("  head %d", head + 1);
        printf(": %.1f%% of %d target positions peak at the mirrored source position\n", 100 * f, rows);
        if (f > best) best = f;
    }
    return best;
}

static void test_reverse_attention_is_antidiagonal(void **state) {
    (void)state;
    TrainOptions o = tiny_options("reverse");
    // Sequences of 5 letters: the mirror of target position i is then source position
    // 4 - i for every example, a pattern one layer learns in a couple of hundred steps
    // (varying lengths also work, with more training: see the lesson's experiments).
    o.task_min_len = 5, o.task_max_len = 5;
    o.train_examples = 3000;
    o.steps = 250;
    o.warmup = 50, o.lr_scale = 0.5f;
    o.dropout = 0.0f;
    Trainer t;
    init_or_fail(&t, &o, NULL);
    printf("untrained:\n");
    double before = best_head_fraction(&t);
    assert_true(before < 0.9);
    double t0 = wall_seconds();
    for (long i = 0; i < o.steps; i++) {
        TrainStepStats s;
        assert_true(trainer_step(&t, &s));
    }
    printf("trained %ld steps in %.1f s, last loss %.3f:\n", o.steps, wall_seconds() - t0, t.last.loss);
    double after = best_head_fraction(&t);
    assert_true(after >= 0.9);
    trainer_free(&t);
}

// §6.1 averaging: with average_last = 2 and 4 steps, train_run ends with the mean of the
// parameters after steps 3 and 4, exactly as computed by hand from a second, identical run.
static void test_average_last_steps(void **state) {
    (void)state;
    TrainOptions o = tiny_options("copy");
    o.steps = 4;
    o.average_last = 2;
    Trainer a, b;
    init_or_fail(&a, &o, NULL);
    ErrorMessage err;
    assert_int_equal(train_run(&a, NULL, NULL, &err), TRAIN_DONE);
    assert_int_equal(a.n_averaged, 2);

    init_or_fail(&b, &o, NULL);
    long n = b.model.params.n;
    double *sum = xcalloc((size_t)n, sizeof(double));
    for (int i = 1; i <= 4; i++) {
        TrainStepStats s;
        assert_true(trainer_step(&b, &s));
        if (i >= 3)
            for (long j = 0; j < n; j++) sum[j] += b.model.params.values[j];
    }
    long differ_from_last = 0;
    for (long j = 0; j < n; j++) {
        float mean = (float)(sum[j] / 2.0);
        if (a.model.params.values[j] != mean) fail_msg("parameter %ld: %.9g, expected the mean %.9g", j, a.model.params.values[j], mean);
        differ_from_last += mean != b.model.params.values[j];
    }
    assert_true(differ_from_last > n / 2);  // the mean is not simply the last step's parameters
    free(sum);
    trainer_free(&a);
    trainer_free(&b);
}

// Runs train_run on a fresh Trainer for o, with its log in logbuf; returns how it ended.
static TrainExit run_logged(const TrainOptions *o, char *logbuf, size_t size) {
    Trainer t;
    init_or_fail(&t, o, NULL);
    ErrorMessage err;
    FILE *log = fmemopen(logbuf, size, "w");
    TrainExit how = train_run(&t, NULL, log, &err);
    fclose(log);
    printf("log: %s", logbuf);
    trainer_free(&t);
    return how;
}

// Issue 12: --lr-scale 3e38 --warmup 1 made the first Adam step overflow to infinite
// parameters, which were saved, and the loop said the last checkpoint "is kept" though
// none had been written. Now the step fails, nothing is saved and the line says so.
static void test_adam_overflow_saves_nothing(void **state) {
    (void)state;
    char path[] = "/tmp/test_08_train_overflow_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    remove(path);  // only the name: nothing is at --out
    TrainOptions o = tiny_options("reverse");
    snprintf(o.out_path, sizeof o.out_path, "%s", path);
    o.lr_scale = 3e38f, o.warmup = 1, o.steps = 5, o.checkpoint_every = 1;
    char logbuf[4096] = "";
    assert_int_equal(run_logged(&o, logbuf, sizeof logbuf), TRAIN_NONFINITE);
    assert_non_null(strstr(logbuf, "step 1:"));
    assert_non_null(strstr(logbuf, "not saved"));
    assert_non_null(strstr(logbuf, "no checkpoint was written"));
    assert_null(strstr(logbuf, "is kept"));
    assert_int_equal(access(path, F_OK), -1);
}

// Issue 12: a loss that grows without bound but stays finite (--lr-scale 100 here)
// ran to the end and saved a useless model with exit 0. Now train_run stops once the
// loss has been above 3·ln V for 20 steps in a row, and saves nothing.
static void test_divergence_is_detected(void **state) {
    (void)state;
    TrainOptions o = tiny_options("reverse");
    o.lr_scale = 100.0f, o.warmup = 1, o.steps = 60;
    char logbuf[4096] = "";
    assert_int_equal(run_logged(&o, logbuf, sizeof logbuf), TRAIN_NONFINITE);
    assert_non_null(strstr(logbuf, "diverged"));
}

// Stops the loop after step 15.
static void stop_after_fifteen(void *ctx, Trainer *t, const TrainStepStats *s) {
    (void)t;
    if (s->step == 15) atomic_store((atomic_int *)ctx, 1);
}

// Trains o from the start until the stop flag is raised at step 15 (as a Ctrl-C would);
// train_run then saves its resumable checkpoint at o->out_path.
static void run_stopped_at_fifteen(const TrainOptions *o) {
    Trainer t;
    init_or_fail(&t, o, NULL);
    atomic_int stop;
    atomic_init(&stop, 0);
    TrainHooks hooks = {.on_step = stop_after_fifteen, .ctx = &stop, .stop = &stop};
    ErrorMessage err;
    assert_int_equal(train_run(&t, &hooks, NULL, &err), TRAIN_STOPPED);
    trainer_free(&t);
}

// Issue 12: a Ctrl-C inside the --average-last window was not resumed exactly (the
// resumed run averaged only the steps after the resume). Now the running sum is saved
// with the checkpoint: 20 steps averaging the last 10, stopped at step 15 and resumed,
// end with exactly the parameters of the uninterrupted run.
static void test_resume_inside_averaging_window(void **state) {
    (void)state;
    char path[] = "/tmp/test_08_train_avg_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    TrainOptions o = tiny_options("copy");
    o.steps = 20, o.average_last = 10;
    Trainer a;
    init_or_fail(&a, &o, NULL);
    ErrorMessage err;
    assert_int_equal(train_run(&a, NULL, NULL, &err), TRAIN_DONE);

    snprintf(o.out_path, sizeof o.out_path, "%s", path);
    run_stopped_at_fifteen(&o);
    Trainer c;
    init_or_fail(&c, &o, path);
    assert_int_equal(c.n_averaged, 5);  // steps 11..15 came back with the checkpoint
    assert_int_equal(train_run(&c, NULL, NULL, &err), TRAIN_DONE);
    assert_int_equal(c.n_averaged, 10);
    assert_memory_equal(a.model.params.values, c.model.params.values, sizeof(float) * (size_t)a.model.params.n);
    trainer_free(&c);
    trainer_free(&a);
    remove(path);
}

// A training step allocates nothing (src/ allocates only through xmalloc/xcalloc, which
// allocations_made counts): every buffer a step needs is laid out once by model_init,
// trainer_init and adam_init. matmul_nt used to malloc a transposed copy of its right
// operand on every call, hundreds of times a step. Checked on 1 and 2 threads, with
// gradient clipping on (grad_global_norm), over steps inside one epoch (a new epoch
// builds a new batch plan).
static void test_step_allocates_nothing(void **state) {
    (void)state;
    for (int threads = 1; threads <= 2; threads++) {
        TrainOptions o = tiny_options("reverse");
        o.threads = threads;
        Trainer t;
        init_or_fail(&t, &o, NULL);
        t.adam.config.clip_norm = 1.0f;
        TrainStepStats s;
        assert_true(trainer_step(&t, &s));  // the first step of the epoch: the plan is made
        int steps = 0;
        while (t.state.batch_in_epoch < t.plan.n_batches && steps < 5) {
            long before = allocations_made();
            assert_true(trainer_step(&t, &s));
            assert_int_equal(allocations_made(), before);
            steps++;
        }
        assert_true(steps >= 2);
        trainer_free(&t);
    }
}

#ifdef _OPENMP
// The ThreadChooser (threads.h), fed made-up step times: it runs the step on whichever
// setting costs less, returns to the other when the machine changes, and tries a losing
// setting ever more rarely. cost_one / cost_many: seconds per unit of work of each setting.
static int run_chooser(ThreadChooser *c, int steps, double cost_one, double cost_many, int *trials_many) {
    int on_many = 0;
    for (int i = 0; i < steps; i++) {
        int threads = chooser_begin(c);
        bool trial = c->trial;
        on_many += threads > 1;
        if (trial && threads > 1 && trials_many) (*trials_many)++;
        chooser_end(c, (threads > 1 ? cost_many : cost_one) * 100, 100);
    }
    return on_many;
}
#endif

static void test_chooser_takes_the_faster_setting(void **state) {
    (void)state;
#ifdef _OPENMP
    int saved = omp_get_max_threads();
    ThreadChooser c;
    chooser_init(&c, 2);
    // An idle machine: 2 threads cost 0.6 of 1 thread. Only trials run on 1 thread.
    int many = run_chooser(&c, 300, 1.0, 0.6, NULL);
    assert_true(c.many);
    assert_true(many >= 300 - 10);  // trials at steps 3, 19, 51, 115, 243 (interval doubling)
    assert_true(many < 300);        // and there are trials
    // Another program takes a core: 2 threads now cost 3x. The chosen setting's own steps
    // show it, so the switch comes at once, without waiting for the next trial.
    many = run_chooser(&c, 1, 1.0, 3.0, NULL);
    assert_int_equal(many, 1);
    assert_false(c.many);
    // Loaded for 1000 steps: 2 threads are only tried, ever more rarely (8, 16, ... 256).
    int trials = 0;
    many = run_chooser(&c, 1000, 1.0, 3.0, &trials);
    assert_int_equal(many, trials);
    assert_true(trials >= 4 && trials <= 8);
    assert_false(c.many);
    // The machine is idle again: the next trial finds it (at most CHOOSER_MAX_INTERVAL on).
    run_chooser(&c, CHOOSER_MAX_INTERVAL + 1, 1.0, 0.6, NULL);
    assert_true(c.many);
    // A margin: 2 threads only 2% faster do not take over from 1 thread.
    chooser_init(&c, 2);
    run_chooser(&c, 20, 1.0, 3.0, NULL);
    assert_false(c.many);
    run_chooser(&c, 300, 1.0, 0.98, NULL);
    assert_false(c.many);
    // One thread asked for: never more.
    chooser_init(&c, 1);
    assert_int_equal(run_chooser(&c, 50, 1.0, 0.1, NULL), 0);
    omp_set_num_threads(saved);
#else
    skip();
#endif
}

// The thread count a step runs on never changes a result: 12 steps on 2 threads, with the
// chooser trying and switching between 1 and 2, give the same losses and parameters to
// the last bit as 12 steps on 1; so do 12 on 4 threads (the two shards of each step,
// shards.h, then share 2 threads each for their own loops). The model is big enough
// (d_ff 256, about 400 tokens a batch) that its feed-forward products and the generator
// are shared by 2 threads.
static void test_same_bits_on_any_thread_count(void **state) {
    (void)state;
    enum { STEPS = 12, RUNS = 3 };
    const int threads[RUNS] = {1, 2, 4};
    double losses[RUNS][STEPS];
    float *params[RUNS];
    long n = 0;
    for (int run = 0; run < RUNS; run++) {
        TrainOptions o = tiny_options("reverse");
        o.d_model = 64, o.n_heads = 4, o.d_ff = 256;
        o.batch_tokens = 512, o.batch_sentences = 64;
        o.threads = threads[run];
        Trainer t;
        init_or_fail(&t, &o, NULL);
        for (int i = 0; i < STEPS; i++) {
            TrainStepStats s;
            if (run > 0 && i % 3 == 2) t.threads.next_trial = t.threads.steps;  // switch often
            assert_true(trainer_step(&t, &s));
            losses[run][i] = s.loss;
        }
#ifdef _OPENMP
        if (run > 0) assert_true(t.threads.steps_many > 0);  // (without OpenMP there is one thread)
#endif
        n = t.model.params.n;
        params[run] = xmalloc(sizeof(float) * (size_t)n);
        memcpy(params[run], t.model.params.values, sizeof(float) * (size_t)n);
        trainer_free(&t);
    }
    for (int run = 1; run < RUNS; run++) {
        for (int i = 0; i < STEPS; i++)
            if (losses[0][i] != losses[run][i])
                fail_msg("step %d: loss %a on 1 thread, %a on %d", i + 1, losses[0][i], losses[run][i], threads[run]);
        assert_memory_equal(params[0], params[run], sizeof(float) * (size_t)n);
    }
    for (int run = 0; run < RUNS; run++) free(params[run]);
}

// The plain pass of one training step (train.c's comment): the whole batch through the
// model's own activations, the loss, the backward into params.grads.
static LossResult plain_pass(Model *m, const ShardedBatch *w, float *dlogits, Rng *rng) {
    const ModelBatch *b = &w->batch;
    const int V = m->config.vocab_size;
    model_zero_grad(m);
    model_forward(m, b, true, rng);
    LossSpec spec = {.B = b->B, .T = b->T, .V = V, .smoothing = w->smoothing, .ignore_index = TOKEN_PAD};
    LossResult r;
    loss_forward(&r, m->acts.logits, m->acts.logits, w->tgt_out, spec);
    vec_zero(dlogits, (long)b->B * b->T * V);
    loss_backward(dlogits, m->acts.logits, r.n_tokens, w->tgt_out, spec);
    model_backward(m, dlogits);
    return r;
}

// shards.h: the pass cut into two shards computes what the plain pass computes, to float
// rounding: the loss and every gradient, for batches of 5 rows (odd: shard 0 gets 3),
// rows of different lengths with padding, and 1 row (shard 1 empty). Without dropout,
// so that both compute the same function (with dropout each shard draws its own masks).
static void test_shards_equal_plain_pass(void **state) {
    (void)state;
    ModelConfig cfg = {.vocab_size = 17, .d_model = 16, .n_heads = 2, .d_ff = 32, .n_layers = 2,
                       .max_len = 7, .max_batch = 5, .dropout = 0.0f};
    Rng rng;
    rng_seed(&rng, 5, 1);
    Model m;
    model_init(&m, &cfg, &rng);
    enum { B = 5, S = 6, T = 7 };
    int src[B * S], tgt[B * T], tgt_out[B * T], src_len[B] = {6, 2, 4, 1, 5}, tgt_len[B] = {3, 7, 1, 5, 2};
    for (int i = 0; i < B * S; i++) src[i] = i % S < src_len[i / S] ? 3 + (int)rng_below(&rng, 14) : TOKEN_PAD;
    for (int i = 0; i < B * T; i++) {
        bool real = i % T < tgt_len[i / T];
        tgt[i] = !real ? TOKEN_PAD : i % T == 0 ? TOKEN_BOS : 3 + (int)rng_below(&rng, 14);
        tgt_out[i] = real ? 3 + (int)rng_below(&rng, 14) : TOKEN_PAD;
    }
    float *dlogits = xmalloc(sizeof(float) * B * T * 17), *plain = xmalloc(sizeof(float) * (size_t)m.params.n);
    Shards shards;
    shards_init(&shards, &m);
    for (int rows = B; rows >= 1; rows -= 4) {  // 5 rows, then 1
        ShardedBatch w = {.batch = {.src = src, .src_lengths = src_len, .tgt = tgt, .tgt_lengths = tgt_len,
                                    .B = rows, .S = S, .T = T},
                          .tgt_out = tgt_out, .smoothing = 0.1f};
        LossResult want = plain_pass(&m, &w, dlogits, &rng);
        memcpy(plain, m.params.grads, sizeof(float) * (size_t)m.params.n);
        for (long i = 0; i < m.params.n; i++) m.params.grads[i] = 7.0f;  // the pass overwrites them
        LossResult got;
        assert_true(shards_gradients(&shards, &m, &w, dlogits, &rng, &got));
        assert_int_equal(got.n_tokens, want.n_tokens);
        assert_int_equal(got.n_correct, want.n_correct);
        if (fabs(got.loss - want.loss) > 1e-5 * want.loss || fabs(got.nll - want.nll) > 1e-5 * want.nll)
            fail_msg("%d rows: loss %.9g, nll %.9g in shards; %.9g, %.9g in one pass", rows, got.loss,
                     got.nll, want.loss, want.nll);
        assert_arrays_close(rows == B ? "gradients, 5 rows in 2 shards" : "gradients, 1 row", m.params.grads,
                            plain, m.params.n, 1e-6f);
    }
    shards_free(&shards);
    free(dlogits), free(plain);
    model_free(&m);
}

// Expects trainer_init to refuse resuming from path with o, with a message containing want.
static void expect_resume_refused(const TrainOptions *o, const char *path, const char *want) {
    Trainer t;
    ErrorMessage err = {{0}};
    bool ok = trainer_init(&t, o, path, &err);
    trainer_free(&t);
    if (ok) fail_msg("resume from %s accepted (expected an error with '%s')", path, want);
    if (!strstr(err.text, want)) fail_msg("error '%s' does not say '%s'", err.text, want);
}

// Issue 12 (found by tests/fuzz/fuzz_resume.c): a checkpoint saved inside the averaging
// window carries the running sum of its window; resuming it with another --steps or
// --average-last averaged that stale sum with the new window's steps (or, with
// --average-last 0, still averaged it), and a damaged count or sum (too many steps, a sum
// finite as a double but not as a float mean) gave a silently wrong or infinite model.
// All are refused now, naming the options or the damage; so are an impossible epoch and
// a --steps below the steps done.
static void test_resume_average_must_match(void **state) {
    (void)state;
    char path[] = "/tmp/test_08_train_avgmatch_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    TrainOptions o = tiny_options("copy");
    o.steps = 20, o.average_last = 10;
    snprintf(o.out_path, sizeof o.out_path, "%s", path);
    run_stopped_at_fifteen(&o);
    ErrorMessage err;

    TrainOptions changed = o;
    changed.average_last = 0;
    expect_resume_refused(&changed, path, "--average-last 0");
    changed = o, changed.steps = 40;
    expect_resume_refused(&changed, path, "--steps 40");
    changed = o, changed.average_last = 8;
    expect_resume_refused(&changed, path, "would have averaged 3 by step 15");
    // --steps below the steps done trained nothing, then took the saved sum of 5 steps as
    // the final average (the command refused it; the library now does, for every caller).
    changed = o, changed.steps = 10;
    expect_resume_refused(&changed, path, "--steps 10 is below the 15 steps already done");

    Trainer c;
    init_or_fail(&c, &o, path);  // the same options resume (test above: exactly)
    c.param_sum[3] = 1e300;
    assert_true(trainer_save(&c, path, true, &err));
    expect_resume_refused(&o, path, "parameter average holds a sum");
    c.param_sum[3] = 0, c.n_averaged = 99;
    assert_true(trainer_save(&c, path, true, &err));
    expect_resume_refused(&o, path, "counts 99 steps, more than the 15 done");
    // And an epoch no run reaches in 15 steps (near LONG_MAX it overflowed at the next
    // epoch boundary, found by tests/fuzz/fuzz_resume.c).
    c.n_averaged = 5, c.state.epoch = LONG_MAX;
    assert_true(trainer_save(&c, path, true, &err));
    expect_resume_refused(&o, path, "epoch 9223372036854775807, batch");
    trainer_free(&c);
    remove(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loss_goes_down),
        cmocka_unit_test(test_step_allocates_nothing),
        cmocka_unit_test(test_chooser_takes_the_faster_setting),
        cmocka_unit_test(test_same_bits_on_any_thread_count),
        cmocka_unit_test(test_shards_equal_plain_pass),
        cmocka_unit_test(test_nan_stops_training),
        cmocka_unit_test(test_adam_overflow_saves_nothing),
        cmocka_unit_test(test_divergence_is_detected),
        cmocka_unit_test(test_resume_equals_uninterrupted),
        cmocka_unit_test(test_stop_flag_saves_checkpoint),
        cmocka_unit_test(test_average_last_steps),
        cmocka_unit_test(test_resume_inside_averaging_window),
        cmocka_unit_test(test_resume_average_must_match),
        cmocka_unit_test(test_reverse_attention_is_antidiagonal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
