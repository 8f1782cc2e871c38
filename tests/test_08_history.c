// test_08_history.c: the attention history of a training run (src/history.h). A frame
// captured from a tiny model holds that model's attention (one byte per weight); frames
// written to a .history file come back byte for byte; a file cut off mid-frame keeps
// its whole frames; a file that is not a history is refused with its name.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "history.h"
#include "rng.h"
#include "testutil.h"

typedef struct {
    Model m;
    Tokenizer tok;
    HistoryHeader header;
    char path[64];
} Run;

static int setup(void **state) {
    Run *f = xcalloc(1, sizeof *f);
    const char *text = "abcd dcba abcd";
    tokenizer_train(&f->tok, text, strlen(text), 0);  // bytes only: one token per letter
    ModelConfig cfg = {.vocab_size = f->tok.vocab_size, .d_model = 16, .n_heads = 2, .d_ff = 32,
                       .n_layers = 2, .max_len = 12, .max_batch = 4, .dropout = 0.1f};
    Rng rng;
    rng_seed(&rng, 5, 0);
    model_init(&f->m, &cfg, &rng);
    HistoryHeader h = {.task = "reverse", .probe = "abdc", .n_layers = 2, .n_heads = 2, .d_model = 16,
                       .warmup = 200, .total_steps = 2000, .lr_scale = 0.2f};
    f->header = h;
    snprintf(f->path, sizeof f->path, "/tmp/test_08_history_XXXXXX");
    int fd = mkstemp(f->path);
    assert_true(fd >= 0);
    close(fd);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    Run *f = *state;
    remove(f->path);
    model_free(&f->m);
    tokenizer_free(&f->tok);
    free(f);
    return 0;
}

// The frame holds the model's attention after the rerun, each weight within half a
// quantization step (1/510), and the tokens of source and decoder rows.
static void test_capture_holds_the_models_attention(void **state) {
    Run *f = *state;
    HistoryFrame fr;
    history_capture(&fr, &f->m, &f->tok, "abdc");
    assert_int_equal(fr.src_len, 5);
    assert_string_equal(fr.src[0], "a");
    assert_string_equal(fr.src[3], "c");
    assert_string_equal(fr.src[4], "</s>");
    assert_string_equal(fr.tgt[0], "<s>");
    assert_true(fr.tgt_len >= 1 && fr.tgt_len <= HISTORY_MAX_TOKENS);
    for (int kind = 0; kind < HISTORY_KINDS; kind++)
        for (int l = 0; l < 2; l++) {
            int R, C, rows, cols;
            const float *w = model_attention(&f->m, (AttentionKind)kind, l, &R, &C);
            assert_non_null(w);
            for (int hd = 0; hd < 2; hd++) {
                const unsigned char *q = history_weights(&f->header, &fr, kind, l, hd, &rows, &cols);
                assert_int_equal(rows, R);
                assert_int_equal(cols, C);
                for (int i = 0; i < rows * cols; i++)
                    assert_true(fabsf(q[i] / 255.0f - w[(long)hd * R * C + i]) <= 0.5f / 255.0f + 1e-6f);
            }
        }
    history_frame_free(&fr);
}


// A new history at f->path with one frame of the probe "abdc" at each of the n steps.
static void record_steps(Run *f, const long *steps, int n) {
    ErrorMessage err;
    assert_true(history_create(f->path, &f->header, &err));
    for (int i = 0; i < n; i++) {
        HistoryFrame fr;
        history_capture(&fr, &f->m, &f->tok, "abdc");
        fr.step = steps[i];
        assert_true(history_append(f->path, &f->header, &fr, &err));
        history_frame_free(&fr);
    }
}

// A resumed run first cuts the history back to its checkpoint's step: frames recorded
// after it by the killed run (steps 60, 80) and a frame it left half-written go, the
// frames up to the step stay whole, and the resumed run's frames then follow in order.
static void test_resume_cuts_back_to_the_checkpoint(void **state) {
    Run *f = *state;
    ErrorMessage err;
    const long steps[5] = {1, 20, 40, 60, 80};
    record_steps(f, steps, 5);
    FILE *out = fopen(f->path, "ab");  // the start of a sixth frame, cut off by the kill
    assert_non_null(out);
    fwrite("\x64\0\0\0\1\2", 1, 6, out);
    fclose(out);
    assert_true(history_keep_until(f->path, 45, &err));  // the checkpoint was at step 45
    History h;
    assert_true(history_load(f->path, &h, &err));
    assert_int_equal(h.n_frames, 3);
    assert_int_equal(h.frames[2].step, 40);
    history_free(&h);
    HistoryFrame next;  // the resumed run's first frame
    history_capture(&next, &f->m, &f->tok, "abdc");
    next.step = 46;
    assert_true(history_append(f->path, &f->header, &next, &err));
    history_frame_free(&next);
    assert_true(history_load(f->path, &h, &err));
    assert_int_equal(h.n_frames, 4);
    assert_int_equal(h.frames[3].step, 46);
    history_free(&h);
    assert_false(history_keep_until("tests/fixtures/attention.txt", 10, &err));
    assert_non_null(strstr(err.text, "not a history file"));
}
// Record three frames, reload: the same header, steps, losses, tokens and matrices.
static void test_round_trip(void **state) {
    Run *f = *state;
    HistoryFrame frames[3];
    ErrorMessage err;
    assert_true(history_create(f->path, &f->header, &err));
    const char *probes[3] = {"abdc", "dcb", "abcdabcd"};
    for (int i = 0; i < 3; i++) {
        history_capture(&frames[i], &f->m, &f->tok, probes[i]);
        frames[i].step = 1 + 20 * i;
        frames[i].loss = 3.5f - i;
        frames[i].lr = 1e-4f * (i + 1);
        assert_true(history_append(f->path, &f->header, &frames[i], &err));
    }
    History h;
    assert_true(history_load(f->path, &h, &err));
    assert_int_equal(h.n_frames, 3);
    assert_string_equal(h.header.task, "reverse");
    assert_string_equal(h.header.probe, "abdc");
    assert_int_equal(h.header.n_layers, 2);
    assert_int_equal(h.header.n_heads, 2);
    assert_int_equal(h.header.d_model, 16);
    assert_int_equal(h.header.warmup, 200);
    assert_int_equal(h.header.total_steps, 2000);
    assert_true(h.header.lr_scale == 0.2f);
    HistoryHeader head;  // the header alone (what the viewer reads for a checkpoint's probe)
    assert_true(history_load_header(f->path, &head));
    assert_string_equal(head.probe, "abdc");
    assert_string_equal(head.task, "reverse");
    assert_int_equal(head.n_layers, 2);
    assert_false(history_load_header("tests/fixtures/attention.txt", &head));
    for (int i = 0; i < 3; i++) {
        const HistoryFrame *a = &frames[i], *b = &h.frames[i];
        assert_int_equal(b->step, a->step);
        assert_true(b->loss == a->loss && b->lr == a->lr);
        assert_int_equal(b->src_len, a->src_len);
        assert_int_equal(b->tgt_len, a->tgt_len);
        for (int t = 0; t < a->src_len; t++) assert_string_equal(b->src[t], a->src[t]);
        for (int t = 0; t <= a->tgt_len; t++) assert_string_equal(b->tgt[t], a->tgt[t]);
        for (int kind = 0; kind < HISTORY_KINDS; kind++)
            for (int l = 0; l < 2; l++)
                for (int hd = 0; hd < 2; hd++) {
                    int r1, c1, r2, c2;
                    const unsigned char *wa = history_weights(&f->header, a, kind, l, hd, &r1, &c1);
                    const unsigned char *wb = history_weights(&h.header, b, kind, l, hd, &r2, &c2);
                    assert_int_equal(r1, r2);
                    assert_int_equal(c1, c2);
                    assert_memory_equal(wa, wb, (size_t)r1 * c1);
                }
    }
    history_free(&h);
    // A run killed while writing its last frame: the whole frames before it survive.
    size_t n;
    char *bytes = read_whole_file(f->path, &n, &err);
    assert_non_null(bytes);
    assert_true(write_file_atomic(f->path, bytes, n - 7, &err));
    assert_true(history_load(f->path, &h, &err));
    assert_int_equal(h.n_frames, 2);
    history_free(&h);
    free(bytes);
    for (int i = 0; i < 3; i++) history_frame_free(&frames[i]);
}

// A frame whose step goes back (a damaged byte: steps only increase) ends what is shown,
// and the load says where: steps 10, 20, 5, 30 load as 2 frames with a message naming
// frame 3; an undamaged file has no message.
static void test_step_going_back_is_damage(void **state) {
    Run *f = *state;
    ErrorMessage err;
    const long good[2] = {10, 20}, damaged[4] = {10, 20, 5, 30};
    History h;
    record_steps(f, good, 2);  // two good frames: no damage
    assert_true(history_load(f->path, &h, &err));
    assert_string_equal(h.damage, "");
    history_free(&h);
    record_steps(f, damaged, 4);
    assert_true(history_load(f->path, &h, &err));
    assert_int_equal(h.n_frames, 2);
    assert_non_null(strstr(h.damage, "frame 3 has step 5 after step 20"));
    history_free(&h);
}

static void test_not_a_history_is_refused(void **state) {
    Run *f = *state;
    ErrorMessage err;
    assert_true(write_file_atomic(f->path, "hello\n", 6, &err));
    History h;
    assert_false(history_load(f->path, &h, &err));
    assert_non_null(strstr(err.text, f->path));
    assert_non_null(strstr(err.text, "not a history"));
}

static void test_path_next_to_the_checkpoint(void **state) {
    (void)state;
    char out[64];
    history_path_for(out, sizeof out, "runs/fr-en.ckpt");
    assert_string_equal(out, "runs/fr-en.history");
    history_path_for(out, sizeof out, "model.bin");
    assert_string_equal(out, "model.bin.history");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_capture_holds_the_models_attention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume_cuts_back_to_the_checkpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_step_going_back_is_damage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_a_history_is_refused, setup, teardown),
        cmocka_unit_test(test_path_next_to_the_checkpoint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
