// test_08_tasks.c: the synthetic copy / reverse / sort tasks and their held-out split.
#include <string.h>

#include "common.h"
#include "rng.h"
#include "tasks.h"
#include "testutil.h"

// Names round-trip; anything else is rejected.
static void test_task_names(void **state) {
    (void)state;
    TaskKind k = TASK_COPY;
    assert_true(task_from_name("reverse", &k));
    assert_int_equal(k, TASK_REVERSE);
    assert_true(task_from_name("sort", &k));
    assert_int_equal(k, TASK_SORT);
    assert_true(task_from_name("copy", &k));
    assert_int_equal(k, TASK_COPY);
    assert_false(task_from_name("Sort", &k));
    assert_false(task_from_name("", &k));
    for (int i = 0; i < 3; i++) {
        assert_true(task_from_name(task_name((TaskKind)i), &k));
        assert_int_equal(k, i);
    }
}

// The example from the header, by hand.
static void test_task_solve_by_hand(void **state) {
    (void)state;
    char out[16];
    task_solve(TASK_COPY, "cadbe", out);
    assert_string_equal(out, "cadbe");
    task_solve(TASK_REVERSE, "cadbe", out);
    assert_string_equal(out, "ebdac");
    task_solve(TASK_SORT, "cadbe", out);
    assert_string_equal(out, "abcde");
    task_solve(TASK_SORT, "bbaca", out);  // duplicates are kept
    assert_string_equal(out, "aabbc");
    task_solve(TASK_REVERSE, "x", out);
    assert_string_equal(out, "x");
}

// Random examples respect the lengths and alphabet; reverse is its own inverse and
// mirrors every index; sort is ascending and a permutation of the source.
static void test_task_examples_are_right(void **state) {
    (void)state;
    Rng rng;
    rng_seed(&rng, 1, 0);
    char src[TASK_MAX_LEN + 1], tgt[TASK_MAX_LEN + 1], back[TASK_MAX_LEN + 1];
    int seen_len[TASK_DEFAULT_MAX_LEN + 1] = {0}, seen_letter[26] = {0};
    for (int i = 0; i < 3000; i++) {
        TaskKind kind = (TaskKind)(i % 3);
        task_example(kind, &rng, TASK_DEFAULT_MIN_LEN, TASK_DEFAULT_MAX_LEN, TASK_DEFAULT_ALPHABET, src, tgt);
        int n = (int)strlen(src);
        assert_true(n >= 1 && n <= 12);
        assert_int_equal(strlen(tgt), n);
        seen_len[n]++;
        for (int j = 0; j < n; j++) {
            assert_true(src[j] >= 'a' && src[j] < 'a' + 10);
            seen_letter[src[j] - 'a']++;
        }
        if (kind == TASK_COPY) assert_string_equal(tgt, src);
        if (kind == TASK_REVERSE) {
            for (int j = 0; j < n; j++) assert_int_equal(tgt[j], src[n - 1 - j]);
            task_solve(TASK_REVERSE, tgt, back);
            assert_string_equal(back, src);
        }
        if (kind == TASK_SORT) {
            for (int j = 1; j < n; j++) assert_true(tgt[j - 1] <= tgt[j]);
            int count[256] = {0};
            for (int j = 0; j < n; j++) count[(unsigned char)src[j]]++, count[(unsigned char)tgt[j]]--;
            for (int c = 0; c < 256; c++) assert_int_equal(count[c], 0);
        }
    }
    // Every length 1..12 and every letter a..j occurs; k..z never do.
    for (int n = 1; n <= 12; n++) assert_true(seen_len[n] > 0);
    for (int c = 0; c < 26; c++) assert_true(c < 10 ? seen_letter[c] > 0 : seen_letter[c] == 0);
}

// The same seed gives the same examples; another seed gives others.
static void test_task_examples_are_deterministic(void **state) {
    (void)state;
    Rng a, b, c;
    rng_seed(&a, 42, 3), rng_seed(&b, 42, 3), rng_seed(&c, 43, 3);
    char sa[13], ta[13], sb[13], tb[13], sc[13], tc[13];
    int differ = 0;
    for (int i = 0; i < 200; i++) {
        task_example(TASK_SORT, &a, 1, 12, 10, sa, ta);
        task_example(TASK_SORT, &b, 1, 12, 10, sb, tb);
        task_example(TASK_SORT, &c, 1, 12, 10, sc, tc);
        assert_string_equal(sa, sb);
        assert_string_equal(ta, tb);
        differ += strcmp(sa, sc) != 0;
    }
    assert_true(differ > 150);
}

// The hash is standard FNV-1a 32 (published test vectors), so the split rule is fixed.
static void test_task_hash_is_fnv1a(void **state) {
    (void)state;
    assert_int_equal(task_hash(""), 0x811c9dc5u);
    assert_int_equal(task_hash("a"), 0xe40c292cu);
    assert_int_equal(task_hash("foobar"), 0xbf9cf968u);
}

// Train and test sources never meet: every train draw is not held out, every test draw
// is; the held-out share is near 10%; and the sets of distinct sources are disjoint.
static void test_task_split_is_disjoint(void **state) {
    (void)state;
    Rng rng;
    rng_seed(&rng, 5, 0);
    char src[7], tgt[7];
    int held = 0, total = 20000;
    for (int i = 0; i < total; i++) {
        task_example(TASK_COPY, &rng, 1, 6, 10, src, tgt);
        held += task_is_held_out(src);
    }
    assert_true(held > total * 0.08 && held < total * 0.12);

    // Sources of length 3 over 4 letters: 64 strings, mark which split produced each.
    int from_train[64] = {0}, from_test[64] = {0};
    for (int i = 0; i < 4000; i++) {
        TaskSplit split = i % 2 ? SPLIT_TEST : SPLIT_TRAIN;
        assert_true(task_example_split(TASK_REVERSE, split, &rng, 3, 3, 4, src, tgt));
        assert_int_equal(task_is_held_out(src), split == SPLIT_TEST);
        int code = (src[0] - 'a') * 16 + (src[1] - 'a') * 4 + (src[2] - 'a');
        (split == SPLIT_TEST ? from_test : from_train)[code]++;
    }
    int n_train = 0, n_test = 0;
    for (int c = 0; c < 64; c++) {
        assert_false(from_train[c] && from_test[c]);
        n_train += from_train[c] > 0, n_test += from_test[c] > 0;
    }
    assert_true(n_test >= 1 && n_train >= 40);
}

// A space with no training string (alphabet 1, length 1: just "a", which is held out
// since FNV-1a("a") = 0xe40c292c = 3826002220 = 0 mod 10) reports failure instead of
// looping forever; the test split still works there.
static void test_task_split_reports_empty_space(void **state) {
    (void)state;
    Rng rng;
    rng_seed(&rng, 9, 0);
    char src[2], tgt[2];
    assert_true(task_is_held_out("a"));
    assert_false(task_example_split(TASK_COPY, SPLIT_TRAIN, &rng, 1, 1, 1, src, tgt));
    assert_string_equal(src, "");
    assert_true(task_example_split(TASK_COPY, SPLIT_TEST, &rng, 1, 1, 1, src, tgt));
    assert_string_equal(src, "a");
    assert_string_equal(tgt, "a");
}

// Bad user parameters are reported, not crashed on.
static void test_task_check_params(void **state) {
    (void)state;
    ErrorMessage err;
    assert_true(task_check_params(1, 12, 10, &err));
    assert_false(task_check_params(0, 12, 10, &err));
    assert_false(task_check_params(5, 4, 10, &err));
    assert_false(task_check_params(1, TASK_MAX_LEN + 1, 10, &err));
    assert_false(task_check_params(1, 12, 27, &err));
    assert_non_null(strstr(err.text, "alphabet"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_task_names),
        cmocka_unit_test(test_task_solve_by_hand),
        cmocka_unit_test(test_task_examples_are_right),
        cmocka_unit_test(test_task_examples_are_deterministic),
        cmocka_unit_test(test_task_hash_is_fnv1a),
        cmocka_unit_test(test_task_split_is_disjoint),
        cmocka_unit_test(test_task_split_reports_empty_space),
        cmocka_unit_test(test_task_check_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
