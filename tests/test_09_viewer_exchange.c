// test_09_viewer_exchange.c: the hand-off between the training thread and the render
// thread, without SDL. A producer publishes snapshots whose every field is derived from
// one number; a consumer checks each snapshot it gets is whole (all fields agree: no
// torn snapshot), that versions only go up, and that taking a snapshot never waits long
// for the producer, which spends a while writing each one. Also the worker exploring a
// checkpoint (no SDL either): the languages and unseen-word warnings it publishes.
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "checkpoint.h"
#include "common.h"
#include "snapshot.h"
#include "testutil.h"
#include "worker.h"

// Fills s so that every checked field says `n`, slowly, field by field, the way a
// training step fills a snapshot over some time.
static void write_numbered(Snapshot *s, long n) {
    s->step = n;
    snprintf(s->probe, VIZ_TEXT_CHARS, "probe %ld", n);
    for (int l = 0; l < VIZ_MAX_LAYERS; l++)
        for (int hd = 0; hd < VIZ_MAX_HEADS; hd++) {
            float *w = s->attn[VIZ_CROSS].weights[l][hd];
            for (int i = 0; i < VIZ_MAX_TOKENS * VIZ_MAX_TOKENS; i += 7) w[i] = (float)n;
        }
    s->history_len = (int)(n % VIZ_MAX_HISTORY);
    s->history[0].step = n;
    snprintf(s->translation, VIZ_TEXT_CHARS, "translation %ld", n);
}

// True if every field written by write_numbered says the same number as s->step.
static bool is_whole(const Snapshot *s) {
    long n = s->step;
    char want[64];
    snprintf(want, sizeof want, "probe %ld", n);
    if (strcmp(s->probe, want) != 0) return false;
    for (int l = 0; l < VIZ_MAX_LAYERS; l++)
        for (int hd = 0; hd < VIZ_MAX_HEADS; hd++) {
            const float *w = s->attn[VIZ_CROSS].weights[l][hd];
            for (int i = 0; i < VIZ_MAX_TOKENS * VIZ_MAX_TOKENS; i += 7)
                if (w[i] != (float)n) return false;
        }
    if (s->history_len != (int)(n % VIZ_MAX_HISTORY) || s->history[0].step != n) return false;
    snprintf(want, sizeof want, "translation %ld", n);
    return strcmp(s->translation, want) == 0;
}

static double now(void) { return wall_seconds(); }

typedef struct {
    SnapshotExchange *x;
    long count;
    atomic_int done;
} Producer;

static void *produce(void *arg) {
    Producer *p = arg;
    for (long n = 1; n <= p->count; n++) {
        write_numbered(exchange_back(p->x), n);
        exchange_publish(p->x);
    }
    atomic_store(&p->done, 1);
    return NULL;
}

static void test_single_thread_order(void **state) {
    (void)state;
    SnapshotExchange x;
    exchange_init(&x);
    const Snapshot *s = exchange_acquire(&x);
    assert_int_equal(s->version, 0);  // nothing published yet
    write_numbered(exchange_back(&x), 1);
    exchange_publish(&x);
    write_numbered(exchange_back(&x), 2);
    exchange_publish(&x);
    // The consumer gets the newest only, and the same one until something new comes.
    s = exchange_acquire(&x);
    assert_int_equal(s->step, 2);
    assert_int_equal(s->version, 2);
    assert_ptr_equal(exchange_acquire(&x), s);
    // The producer's buffer is never the one the consumer reads, and starts as a copy
    // of the last published snapshot.
    assert_ptr_not_equal(exchange_back(&x), s);
    assert_int_equal(exchange_back(&x)->step, 2);
    assert_true(is_whole(exchange_back(&x)));
    write_numbered(exchange_back(&x), 3);
    assert_int_equal(s->step, 2);  // writing the back buffer did not touch the front
    exchange_publish(&x);
    assert_int_equal(exchange_acquire(&x)->step, 3);
    exchange_free(&x);
    exchange_free(&x);  // safe twice
}

// The whole point: the consumer sees only whole snapshots while the producer writes.
static void test_two_threads_no_torn_snapshot(void **state) {
    (void)state;
    SnapshotExchange x;
    exchange_init(&x);
    Producer p = {.x = &x, .count = 3000};
    atomic_init(&p.done, 0);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, produce, &p), 0);
    uint64_t last_version = 0;
    long seen = 0, checks = 0;
    double worst_wait = 0;
    while (!atomic_load(&p.done) || last_version < (uint64_t)p.count) {
        double t0 = now();
        const Snapshot *s = exchange_acquire(&x);
        double waited = now() - t0;
        if (waited > worst_wait) worst_wait = waited;
        checks++;
        if (s->version == 0) continue;
        assert_true(s->version >= last_version);
        if (!is_whole(s)) fail_msg("torn snapshot: version %llu step %ld probe '%s'",
                                   (unsigned long long)s->version, s->step, s->probe);
        // Publication n carries step n: versions and contents agree.
        assert_int_equal(s->version, (uint64_t)s->step);
        if (s->version != last_version) seen++;
        last_version = s->version;
    }
    pthread_join(thread, NULL);
    printf("consumer: %ld acquisitions, %ld distinct snapshots of %ld, worst wait %.3f ms\n",
           checks, seen, p.count, worst_wait * 1e3);
    assert_int_equal(last_version, p.count);  // it ends on the final snapshot
    assert_true(seen > 1);
    // Acquire only swaps pointers under the lock; even under ASan on a loaded machine a
    // wait of 50 ms would mean it waited for a whole snapshot to be written.
    assert_true(worst_wait < 0.05);
    exchange_free(&x);
}

// Negative control for the checker: a snapshot with one field from another number is
// recognised as torn (so the test above could fail).
static void test_torn_snapshot_is_detected(void **state) {
    (void)state;
    Snapshot *s = calloc(1, sizeof *s);
    write_numbered(s, 41);
    assert_true(is_whole(s));
    s->attn[VIZ_CROSS].weights[VIZ_MAX_LAYERS - 1][VIZ_MAX_HEADS - 1][7] = 42;
    assert_false(is_whole(s));
    write_numbered(s, 41);
    snprintf(s->translation, VIZ_TEXT_CHARS, "translation 42");
    assert_false(is_whole(s));
    free(s);
}

// ---- the command channel --------------------------------------------------------------

typedef struct {
    VizControl *c;
    double woke_after;
    bool quit;
} Waiter;

static void *wait_paused(void *arg) {
    Waiter *w = arg;
    double t0 = now();
    w->quit = control_wait_while_paused(w->c, 5000);
    w->woke_after = now() - t0;
    return NULL;
}

static void test_control_pause_resume_quit(void **state) {
    (void)state;
    VizControl c;
    control_init(&c, "je suis étudiant");
    bool paused, quit;
    uint64_t version;
    char probe[VIZ_TEXT_CHARS];
    control_read(&c, &paused, &quit, &version, probe);
    assert_false(paused);
    assert_false(quit);
    assert_string_equal(probe, "je suis étudiant");
    // Not paused: returns at once.
    double t0 = now();
    assert_false(control_wait_while_paused(&c, 2000));
    assert_true(now() - t0 < 0.5);
    // Paused: waits for the timeout.
    control_set_paused(&c, true);
    t0 = now();
    assert_false(control_wait_while_paused(&c, 100));
    assert_true(now() - t0 >= 0.09);
    // Paused, then resumed from another thread: wakes well before its 5 s timeout.
    Waiter w = {.c = &c};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, wait_paused, &w), 0);
    struct timespec tiny = {0, 50 * 1000000L};
    nanosleep(&tiny, NULL);
    control_set_paused(&c, false);
    pthread_join(thread, NULL);
    assert_false(w.quit);
    assert_true(w.woke_after < 2.0);
    // Quit wakes a paused waiter and says so.
    control_set_paused(&c, true);
    assert_int_equal(pthread_create(&thread, NULL, wait_paused, &w), 0);
    nanosleep(&tiny, NULL);
    control_quit(&c);
    pthread_join(thread, NULL);
    assert_true(w.quit);
    assert_true(w.woke_after < 2.0);
    // A new probe bumps the version; long text is cut at a character boundary.
    control_set_probe(&c, "le chat noir");
    uint64_t v2;
    control_read(&c, NULL, NULL, &v2, probe);
    assert_true(v2 > version);
    assert_string_equal(probe, "le chat noir");
    control_free(&c);
}

static void test_copy_text_keeps_utf8_whole(void **state) {
    (void)state;
    char buf[6];
    viz_copy_text(buf, sizeof buf, "abcdé");  // 'é' is 2 bytes: 6 bytes + NUL do not fit
    assert_string_equal(buf, "abcd");
    viz_copy_text(buf, sizeof buf, "abcé");
    assert_string_equal(buf, "abcé");
}

static void test_history_thins_instead_of_dropping(void **state) {
    (void)state;
    Snapshot *s = calloc(1, sizeof *s);
    for (long i = 0; i < 3 * VIZ_MAX_HISTORY; i++) {
        VizHistoryPoint p = {.step = i};
        snapshot_history_push(s, &p);
    }
    assert_true(s->history_len <= VIZ_MAX_HISTORY);
    assert_true(s->history_len >= VIZ_MAX_HISTORY / 2);
    assert_int_equal(s->history[0].step, 0);  // still starts at the first step
    assert_int_equal(s->history[s->history_len - 1].step, 3 * VIZ_MAX_HISTORY - 1);
    for (int i = 1; i < s->history_len; i++) assert_true(s->history[i].step > s->history[i - 1].step);
    free(s);
}

// Entropy: uniform over n keys is log n, one-hot is 0; masked rows are not counted.
static void test_entropy_by_hand(void **state) {
    (void)state;
    Snapshot *s = calloc(1, sizeof *s);
    s->n_layers = 1;
    s->n_heads = 2;
    VizAttention *a = &s->attn[VIZ_ENC_SELF];
    a->rows = a->cols = 4;
    a->valid_rows = a->valid_cols = 3;  // one padding row and column
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++) {
            a->weights[0][0][r * 4 + c] = 1.0f / 3;           // head 1 uniform: log 3
            a->weights[0][1][r * 4 + c] = c == r ? 1.0f : 0;  // head 2 one-hot: 0
        }
    for (int c = 0; c < 4; c++) a->weights[0][0][3 * 4 + c] = 0.25f;  // padding row: ignored
    snapshot_compute_entropy(s);
    assert_float_equal(s->entropy[VIZ_ENC_SELF][0], log(3.0) / 2, 1e-6);
    free(s);
}

// The worker exploring the checkpoint at path (headless, once) with probe: the snapshot
// it publishes, copied into *out.
static void explore_once(const char *path, const char *probe, Snapshot *out) {
    SnapshotExchange x;
    VizControl c;
    exchange_init(&x);
    control_init(&c, probe);
    WorkerConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.task, sizeof cfg.task, "fr-en");
    snprintf(cfg.model_path, sizeof cfg.model_path, "%s", path);
    cfg.once = true, cfg.threads = 1, cfg.exchange = &x, cfg.control = &c;
    worker_run(&cfg);
    assert_false(cfg.failed);
    memcpy(out, exchange_acquire(&x), sizeof *out);
    control_free(&c);
    exchange_free(&x);
}

// Exploring a checkpoint: the captions get its language names, a probe word never seen
// in training is named in the warning (from the word list the checkpoint keeps), a seen
// sentence gets none; a checkpoint without the list says so once, in the status line.
static void test_explore_names_and_unseen_words(void **state) {
    (void)state;
    Snapshot *s = xmalloc(sizeof *s);
    explore_once("data/fr-en.ckpt", "bonjour je suis étudiant", s);
    assert_string_equal(s->names.source, "French");
    assert_string_equal(s->names.target, "English");
    assert_string_equal(s->warning, "warning: never seen in training: bonjour");
    explore_once("data/fr-en.ckpt", "je suis étudiant", s);
    assert_string_equal(s->warning, "");
    // An older checkpoint: the model without META and WORD.
    Model m;
    Tokenizer tok;
    memset(&m, 0, sizeof m), memset(&tok, 0, sizeof tok);
    ErrorMessage err;
    char old[] = "/tmp/test_09_viewer_old_XXXXXX";
    int fd = mkstemp(old);
    assert_true(fd >= 0);
    close(fd);
    assert_true(checkpoint_load("data/fr-en.ckpt", 0, &m, &tok, NULL, NULL, &err));
    assert_true(checkpoint_save(old, &m, &tok, NULL, NULL, &err));
    explore_once(old, "bonjour", s);
    assert_string_equal(s->warning, "");
    assert_non_null(strstr(s->status, "unseen words not checked"));
    assert_string_equal(s->names.source, "");
    remove(old);
    tokenizer_free(&tok);
    model_free(&m);
    free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_thread_order),
        cmocka_unit_test(test_two_threads_no_torn_snapshot),
        cmocka_unit_test(test_torn_snapshot_is_detected),
        cmocka_unit_test(test_control_pause_resume_quit),
        cmocka_unit_test(test_copy_text_keeps_utf8_whole),
        cmocka_unit_test(test_history_thins_instead_of_dropping),
        cmocka_unit_test(test_entropy_by_hand),
        cmocka_unit_test(test_explore_names_and_unseen_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
