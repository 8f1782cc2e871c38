// test_08_batching.c: loading sentence pairs, the rows the model sees (x+EOS, BOS+y,
// y+EOS), and batches of similar length (§5.1), seeded and deterministic.
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "dataset.h"
#include "rng.h"
#include "testutil.h"
#include "tokenizer.h"

// Writes text to a fresh temporary file; returns its path in path (>= 64 bytes).
static void temp_file(char *path, const char *text) {
    strcpy(path, "/tmp/test_08_batching-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t len = strlen(text);
    assert_true(write(fd, text, len) == (ssize_t)len);
    close(fd);
}

// A TSV file with a byte-order mark, Windows line ends, a blank line and accented letters loads into pairs
// whose tokens decode back to the two fields (the byte-level tokenizer: one token a byte).
static void test_load_tsv(void **state) {
    (void)state;
    char path[64];
    // A byte-order mark first (Windows editors write one): skipped, not part of "je".
    temp_file(path, "\xEF\xBB\xBFje suis étudiant\ti am a student\r\n\nle chat\tthe cat\nnon\tno");
    Tokenizer tok;
    tokenizer_init_bytes(&tok);
    Dataset ds;
    dataset_init(&ds, 64);
    ErrorMessage err = {0};
    assert_true(dataset_load_tsv(&ds, path, &tok, &err));
    assert_int_equal(ds.n_pairs, 3);
    assert_string_equal(ds.src_text[0], "je suis étudiant");
    assert_string_equal(ds.tgt_text[0], "i am a student");
    assert_string_equal(ds.tgt_text[2], "no");  // last line without '\n'
    int ids[64];
    char text[128];
    int n = dataset_target_row(&ds, 0, ids);
    tokenizer_decode(&tok, ids, n, text, sizeof text);
    assert_string_equal(text, "i am a student");
    n = dataset_source_row(&ds, 1, ids);
    assert_int_equal(n, 8);  // "le chat" is 7 bytes, then EOS
    assert_int_equal(ids[7], TOKEN_EOS);
    tokenizer_decode(&tok, ids, n, text, sizeof text);  // decode skips the EOS
    assert_string_equal(text, "le chat");
    dataset_free(&ds);
    dataset_free(&ds);  // safe twice
    tokenizer_free(&tok);
    remove(path);
}

// Each kind of bad line is reported with the file, the line number and what was expected.
static void test_bad_lines_are_reported(void **state) {
    (void)state;
    const char *files[] = {"a\tb\nc\td\nno tab here\n", "a\tb\n\na\tb\tc\n", "a\tb\n\tonly target\n",
                           "a\tb\nsource only\t\n"};
    const char *expected[] = {":3: expected two tab-separated fields", ":3: expected two tab-separated fields",
                              ":2: empty source", ":2: empty target"};
    Tokenizer tok;
    tokenizer_init_bytes(&tok);
    for (int i = 0; i < 4; i++) {
        char path[64];
        temp_file(path, files[i]);
        Dataset ds;
        dataset_init(&ds, 64);
        ErrorMessage err = {0};
        assert_false(dataset_load_tsv(&ds, path, &tok, &err));
        print_message("  %s\n", err.text);
        assert_non_null(strstr(err.text, path));
        assert_non_null(strstr(err.text, expected[i]));
        dataset_free(&ds);
        remove(path);
    }
    Dataset ds;
    dataset_init(&ds, 64);
    ErrorMessage err = {0};
    assert_false(dataset_load_tsv(&ds, "/nonexistent/train.tsv", &tok, &err));
    assert_non_null(strstr(err.text, "/nonexistent/train.tsv"));
    dataset_free(&ds);
    tokenizer_free(&tok);
}

// With max_len 6, a pair fits if |x| + 1 <= 6 and |y| + 1 <= 6: 5 tokens is the limit.
// Longer pairs and empty ones are dropped and counted, never truncated.
static void test_too_long_pairs_are_dropped(void **state) {
    (void)state;
    Tokenizer tok;
    tokenizer_init_bytes(&tok);
    Dataset ds;
    dataset_init(&ds, 6);
    assert_true(dataset_add_text(&ds, &tok, "abcde", "vwxyz"));
    assert_false(dataset_add_text(&ds, &tok, "abcdef", "xyz"));
    assert_false(dataset_add_text(&ds, &tok, "abc", "uvwxyz"));
    assert_false(dataset_add_text(&ds, &tok, "", "x"));
    int x[3] = {10, 11, 12};
    assert_true(dataset_add_ids(&ds, x, 3, x, 2));
    assert_int_equal(ds.n_pairs, 2);
    assert_int_equal(ds.n_too_long, 2);
    assert_int_equal(ds.n_empty, 1);
    dataset_free(&ds);
    tokenizer_free(&tok);
}

// The exact rows of a batch of two pairs, x = (10 11 12), y = (20 21) and x = (30),
// y = (40 41 42 43):  S = 4, T = 5
//   src      10 11 12 EOS | 30 EOS PAD PAD
//   tgt_in   BOS 20 21 PAD PAD | BOS 40 41 42 43
//   tgt_out  20 21 EOS PAD PAD | 40 41 42 43 EOS
static void test_batch_rows(void **state) {
    (void)state;
    Dataset ds;
    dataset_init(&ds, 10);
    int x0[] = {10, 11, 12}, y0[] = {20, 21}, x1[] = {30}, y1[] = {40, 41, 42, 43};
    dataset_add_ids(&ds, x0, 3, y0, 2);
    dataset_add_ids(&ds, x1, 1, y1, 4);
    Batch batch;
    batch_init(&batch, 4, 10);
    int pairs[2] = {0, 1};
    batch_fill_pairs(&batch, &ds, pairs, 2);
    assert_int_equal(batch.B, 2);
    assert_int_equal(batch.S, 4);
    assert_int_equal(batch.T, 5);
    enum { P = TOKEN_PAD, S_ = TOKEN_BOS, E = TOKEN_EOS };
    int src[] = {10, 11, 12, E, 30, E, P, P};
    int in[] = {S_, 20, 21, P, P, S_, 40, 41, 42, 43};
    int out[] = {20, 21, E, P, P, 40, 41, 42, 43, E};
    assert_memory_equal(batch.src, src, sizeof src);
    assert_memory_equal(batch.tgt_in, in, sizeof in);
    assert_memory_equal(batch.tgt_out, out, sizeof out);
    assert_int_equal(batch.src_lengths[0], 4);
    assert_int_equal(batch.src_lengths[1], 2);
    assert_int_equal(batch.tgt_lengths[0], 3);
    assert_int_equal(batch.tgt_lengths[1], 5);
    assert_int_equal(batch.n_src_tokens, 6);
    assert_int_equal(batch.n_tgt_tokens, 8);
    batch_free(&batch);
    batch_free(&batch);
    dataset_free(&ds);
}

// A dataset of n random pairs: source lengths 1..max_len-3, target lengths within 2 of
// the source length (translations are about as long as their sources).
static void random_dataset(Dataset *ds, int n, int max_len, Rng *rng) {
    dataset_init(ds, max_len);
    int x[256], y[256];
    for (int i = 0; i < n; i++) {
        int xs = 1 + (int)rng_below(rng, (uint32_t)(max_len - 3));
        int ys = xs - 2 + (int)rng_below(rng, 5);
        if (ys < 1) ys = 1;
        for (int k = 0; k < xs; k++) x[k] = 3 + (int)rng_below(rng, 20);
        for (int k = 0; k < ys; k++) y[k] = 3 + (int)rng_below(rng, 20);
        assert_true(dataset_add_ids(ds, x, xs, y, ys));
    }
}

// The padding fraction of target rows if the pairs were batched in file order, 16 a batch.
static double unsorted_padding(const Dataset *ds) {
    long cells = 0, real = 0;
    for (int start = 0; start < ds->n_pairs; start += 16) {
        int longest = 0;
        for (int i = start; i < start + 16 && i < ds->n_pairs; i++) {
            if (ds->tgt_len[i] + 1 > longest) longest = ds->tgt_len[i] + 1;
            real += ds->tgt_len[i] + 1;
        }
        int rows = ds->n_pairs - start < 16 ? ds->n_pairs - start : 16;
        cells += (long)rows * longest;
    }
    return 1.0 - (double)real / (double)cells;
}

// Checks a plan: every pair exactly once; every batch within the limits; batches cut from
// a length-sorted list (no two batches' length ranges overlap, beyond sharing an end);
// and returns the fraction of the padded target cells that are padding.
static double check_plan(const Dataset *ds, const BatchPlan *plan, long max_tokens, int max_sentences) {
    int n = ds->n_pairs;
    int *seen = xcalloc((size_t)n, sizeof(int));
    int *lo = xmalloc(sizeof(int) * (size_t)plan->n_batches), *hi = xmalloc(sizeof(int) * (size_t)plan->n_batches);
    Batch batch;
    batch_init(&batch, plan->max_batch, plan->max_len);
    long cells = 0, real = 0;
    for (int b = 0; b < plan->n_batches; b++) {
        batch_fill(&batch, ds, plan, b);
        int longest = batch.S > batch.T ? batch.S : batch.T;
        if (max_sentences > 0) assert_true(batch.B <= max_sentences);
        if (max_tokens > 0 && batch.B > 1) assert_true((long)batch.B * longest <= max_tokens);
        lo[b] = 1 << 30, hi[b] = 0;
        for (int r = 0; r < batch.B; r++) {
            int p = batch.pair[r];
            seen[p]++;
            int len = (ds->src_len[p] > ds->tgt_len[p] ? ds->src_len[p] : ds->tgt_len[p]) + 1;
            if (len < lo[b]) lo[b] = len;
            if (len > hi[b]) hi[b] = len;
        }
        cells += (long)batch.B * batch.T;
        real += batch.n_tgt_tokens;
    }
    for (int i = 0; i < n; i++) assert_int_equal(seen[i], 1);
    for (int a = 0; a < plan->n_batches; a++)
        for (int b = 0; b < plan->n_batches; b++)
            if (a != b) assert_true(hi[a] <= lo[b] || hi[b] <= lo[a]);
    batch_free(&batch);
    free(seen), free(lo), free(hi);
    return 1.0 - (double)real / (double)cells;
}

// Sentence-count and token-count limits are respected, every pair is used once, and
// sorting by length keeps padding low.
static void test_plan_limits_and_buckets(void **state) {
    (void)state;
    Rng rng;
    rng_seed(&rng, 11, 0);
    Dataset ds;
    random_dataset(&ds, 500, 30, &rng);
    BatchPlan plan = {0};
    ErrorMessage err = {0};
    assert_true(batch_plan_make(&plan, &ds, 0, 16, &rng, &err));
    assert_int_equal(plan.n_batches, (500 + 15) / 16);
    assert_int_equal(plan.max_batch, 16);
    double pad_sentences = check_plan(&ds, &plan, 0, 16);
    assert_true(batch_plan_make(&plan, &ds, 200, 0, &rng, &err));
    double pad_tokens = check_plan(&ds, &plan, 200, 0);
    assert_true(batch_plan_make(&plan, &ds, 300, 8, &rng, &err));
    check_plan(&ds, &plan, 300, 8);
    double pad_unsorted = unsorted_padding(&ds);
    print_message("  padding in target rows: %.1f%% (16 sentences), %.1f%% (200 tokens), "
                  "%.1f%% unsorted\n", 100 * pad_sentences, 100 * pad_tokens, 100 * pad_unsorted);
    // Sorting by length is what §5.1's "batched by approximate sequence length" buys.
    assert_true(pad_sentences < pad_unsorted / 3 && pad_tokens < pad_unsorted / 3);
    batch_plan_free(&plan);
    dataset_free(&ds);
}

// A pair longer than the token budget still gets a batch of its own (of size 1).
// Unusable limits are errors.
static void test_plan_oversized_pair_and_bad_limits(void **state) {
    (void)state;
    Dataset ds;
    dataset_init(&ds, 50);
    int x[40] = {0};
    for (int i = 0; i < 40; i++) x[i] = 5;
    dataset_add_ids(&ds, x, 40, x, 3);
    dataset_add_ids(&ds, x, 2, x, 3);
    dataset_add_ids(&ds, x, 2, x, 2);
    Rng rng;
    rng_seed(&rng, 1, 0);
    BatchPlan plan = {0};
    ErrorMessage err = {0};
    assert_true(batch_plan_make(&plan, &ds, 10, 0, &rng, &err));
    assert_int_equal(plan.n_batches, 2);  // {the two short ones (2·4 <= 10)}, {the long one}
    assert_int_equal(plan.max_len, 41);
    check_plan(&ds, &plan, 10, 0);
    assert_false(batch_plan_make(&plan, &ds, 0, 0, &rng, &err));
    assert_non_null(strstr(err.text, "batch size"));
    Dataset empty;
    dataset_init(&empty, 8);
    assert_false(batch_plan_make(&plan, &empty, 100, 0, &rng, &err));
    batch_plan_free(&plan);
    dataset_free(&ds);
}

// The same seed gives the same plan; the next epoch (the RNG moved on) another order.
static void test_plan_is_seeded(void **state) {
    (void)state;
    Rng data;
    rng_seed(&data, 5, 0);
    Dataset ds;
    random_dataset(&ds, 300, 20, &data);
    Rng a, b;
    rng_seed(&a, 42, 1);
    rng_seed(&b, 42, 1);
    BatchPlan pa = {0}, pb = {0};
    ErrorMessage err = {0};
    assert_true(batch_plan_make(&pa, &ds, 120, 0, &a, &err));
    assert_true(batch_plan_make(&pb, &ds, 120, 0, &b, &err));
    assert_int_equal(pa.n_batches, pb.n_batches);
    assert_memory_equal(pa.order, pb.order, sizeof(int) * 300);
    assert_memory_equal(pa.batch_start, pb.batch_start, sizeof(int) * (size_t)pa.n_batches);
    assert_true(batch_plan_make(&pb, &ds, 120, 0, &b, &err));  // second epoch
    assert_true(memcmp(pa.batch_start, pb.batch_start, sizeof(int) * (size_t)pa.n_batches) != 0);
    assert_true(memcmp(pa.order, pb.order, sizeof(int) * 300) != 0);
    batch_plan_free(&pa);
    batch_plan_free(&pb);
    dataset_free(&ds);
}

// Issue 12: a user's own corpus loads leniently: malformed lines, empty sides and pairs
// too long for max_len are dropped and counted with the first line number of each, and
// the report line says so; case and punctuation are kept as written. A line that is not
// UTF-8 text (a Latin-1 file) is kept, but counted and reported.
static void test_lenient_load_reports(void **state) {
    (void)state;
    char path[64];
    temp_file(path, "Où est la gare ?\tWhere is the station?\n"  // 1 kept
                    "no tab here\n"                                // 2 malformed
                    "\tempty source\n"                            // 3 empty
                    "\n"                                           // 4 blank: skipped, not counted
                    "a\tb\tc\n"                                   // 5 malformed
                    "far too long for eight bytes\tx\n"           // 6 too long
                    "OK\tD'accord.\n"                             // 7 kept
                    "caf\xe9\tcoffee\n");                          // 8 kept, Latin-1 (not UTF-8)
    Tokenizer tok;
    tokenizer_init_bytes(&tok);
    Dataset ds;
    dataset_init(&ds, 24);
    ErrorMessage err = {0};
    LoadReport r;
    assert_true(dataset_load_tsv_report(&ds, path, &tok, &r, &err));
    assert_int_equal(r.lines, 8);
    assert_int_equal(r.kept, 3);
    assert_int_equal(ds.n_pairs, 3);
    assert_int_equal(r.malformed, 2);
    assert_int_equal(r.first_malformed, 2);
    assert_int_equal(r.empty, 1);
    assert_int_equal(r.first_empty, 3);
    assert_int_equal(r.too_long, 1);
    assert_int_equal(r.first_too_long, 6);
    assert_int_equal(r.not_text, 1);
    assert_int_equal(r.first_not_text, 8);
    assert_string_equal(ds.src_text[0], "Où est la gare ?");
    assert_string_equal(ds.tgt_text[1], "D'accord.");
    char line[512];
    load_report_format(line, sizeof line, "c.tsv", &r, 24);
    print_message("  %s\n", line);
    assert_non_null(strstr(line, "c.tsv: 3 pairs from 8 lines"));
    assert_non_null(strstr(line, "dropped 2 malformed (not source<TAB>target) (first: line 2)"));
    assert_non_null(strstr(line, "dropped 1 longer than max_len 24 tokens (first: line 6)"));
    assert_non_null(strstr(line, "kept 1 with bytes that are not UTF-8 text (first: line 8"));
    // The strict loader still stops at the first bad line.
    dataset_free(&ds);
    dataset_init(&ds, 24);
    assert_false(dataset_load_tsv(&ds, path, &tok, &err));
    assert_non_null(strstr(err.text, ":2: expected two tab-separated fields"));
    dataset_free(&ds);
    tokenizer_free(&tok);
    remove(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_tsv),
        cmocka_unit_test(test_bad_lines_are_reported),
        cmocka_unit_test(test_lenient_load_reports),
        cmocka_unit_test(test_too_long_pairs_are_dropped),
        cmocka_unit_test(test_batch_rows),
        cmocka_unit_test(test_plan_limits_and_buckets),
        cmocka_unit_test(test_plan_oversized_pair_and_bad_limits),
        cmocka_unit_test(test_plan_is_seeded),
    };
    return cmocka_run_group_tests_name("08 batching (§5.1)", tests, NULL, NULL);
}
