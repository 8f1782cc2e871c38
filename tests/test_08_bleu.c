// test_08_bleu.c: corpus BLEU (Papineni et al. 2002), the score of §6.1, on cases worked
// out by hand.
#include <math.h>

#include "bleu.h"
#include "testutil.h"

static void assert_bleu(const char *what, double got, double expected) {
    print_message("  %-40s BLEU %.4f (expected %.4f)\n", what, got, expected);
    if (fabs(got - expected) > 1e-4) fail_msg("%s: BLEU %.6f, expected %.6f", what, got, expected);
}

// A hypothesis equal to its reference scores 100, extra spaces and all.
static void test_perfect_match_is_100(void **state) {
    (void)state;
    const char *hyp[] = {"i am a student", "the  cat sat on the mat "};
    const char *ref[] = {"i am a student", " the cat sat on the mat"};
    assert_bleu("perfect match", bleu_corpus(hyp, ref, 2), 100.0);
}

// hyp "i am a student of chemistry", ref "i am a student of physics" (6 words each):
//   1-grams: 5 of 6 match (all but "chemistry")          p1 = 5/6
//   2-grams: i am, am a, a student, student of (not "of chemistry")   p2 = 4/5
//   3-grams: 3 of 4                                      p3 = 3/4
//   4-grams: "i am a student", "am a student of"         p4 = 2/3
//   c = r = 6, so BP = 1;  BLEU = 100 · (5/6 · 4/5 · 3/4 · 2/3)^(1/4) = 100 · (1/3)^(1/4)
//                                = 75.9836
static void test_known_case_by_hand(void **state) {
    (void)state;
    BleuStats s;
    bleu_init(&s);
    bleu_add(&s, "i am a student of chemistry", "i am a student of physics");
    long matches[4] = {5, 4, 3, 2}, totals[4] = {6, 5, 4, 3};
    for (int n = 0; n < 4; n++) {
        assert_int_equal(s.matches[n], matches[n]);
        assert_int_equal(s.totals[n], totals[n]);
    }
    assert_bleu("one word wrong", bleu_score(&s), 75.9836);
}

// hyp "i am a student" (c = 4) against "i am a student of physics" (r = 6): every n-gram
// matches, but the hypothesis is short: BP = exp(1 - r/c) = exp(1 - 6/4) = exp(-0.5),
// BLEU = 100 · 0.606531 = 60.6531. The reverse (hypothesis longer) has no penalty.
static void test_brevity_penalty(void **state) {
    (void)state;
    const char *hyp[] = {"i am a student"}, *ref[] = {"i am a student of physics"};
    assert_bleu("short hypothesis", bleu_corpus(hyp, ref, 1), 60.6531);
    BleuStats s;
    bleu_init(&s);
    bleu_add(&s, "i am a student of physics", "i am a student");
    // p1 = 4/6, p2 = 3/5, p3 = 2/4, p4 = 1/3, BP = 1: 100 · (1/15)^(1/4) = 50.8133
    assert_int_equal(s.hyp_length, 6);
    assert_int_equal(s.ref_length, 4);
    assert_bleu("long hypothesis, no penalty", bleu_score(&s), 100.0 * pow(1.0 / 15.0, 0.25));
}

// "the cat sat on the mat" vs "the cat is on the mat": 5/6 words, 3/5 bigrams and 1/4
// trigrams match, but none of the three 4-grams ("the cat sat on", "cat sat on the",
// "sat on the mat"). Without smoothing (sacrebleu's default for corpus BLEU) p4 = 0 makes
// the geometric mean, and BLEU, 0.
static void test_no_4gram_match_is_0(void **state) {
    (void)state;
    BleuStats s;
    bleu_init(&s);
    bleu_add(&s, "the cat sat on the mat", "the cat is on the mat");
    assert_int_equal(s.matches[0], 5);
    assert_int_equal(s.matches[1], 3);
    assert_int_equal(s.matches[2], 1);
    assert_int_equal(s.matches[3], 0);
    assert_bleu("no 4-gram in common", bleu_score(&s), 0.0);
}

// Clipping: "the the the the" against "the cat" counts "the" once (the reference has one).
static void test_clipped_counts(void **state) {
    (void)state;
    BleuStats s;
    bleu_init(&s);
    bleu_add(&s, "the the the the", "the cat");
    assert_int_equal(s.matches[0], 1);
    assert_int_equal(s.totals[0], 4);
    bleu_add(&s, "the the", "the the the");  // two of the reference's three "the"
    assert_int_equal(s.matches[0], 3);
}

// Corpus BLEU adds the counts over sentences before dividing, it is not the mean of
// sentence scores. The one-word-wrong pair (matches 5,4,3,2 of 6,5,4,3) plus a perfect
// 4-word pair (4,3,2,1 of 4,3,2,1): p = 9/10, 7/8, 5/6, 3/4, c = r = 10,
// BLEU = 100 · (945/1920)^(1/4) = 83.7592 (the mean of the sentence scores would be 87.99).
static void test_corpus_adds_counts(void **state) {
    (void)state;
    const char *hyp[] = {"i am a student of chemistry", "you are welcome here"};
    const char *ref[] = {"i am a student of physics", "you are welcome here"};
    assert_bleu("two sentences", bleu_corpus(hyp, ref, 2), 83.7592);
    // An empty corpus or an empty hypothesis scores 0 (and does not divide by zero).
    assert_bleu("nothing", bleu_corpus(hyp, ref, 0), 0.0);
    const char *empty[] = {""};
    assert_bleu("empty hypothesis", bleu_corpus(empty, ref, 1), 0.0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_perfect_match_is_100),
        cmocka_unit_test(test_known_case_by_hand),
        cmocka_unit_test(test_brevity_penalty),
        cmocka_unit_test(test_no_4gram_match_is_0),
        cmocka_unit_test(test_clipped_counts),
        cmocka_unit_test(test_corpus_adds_counts),
    };
    return cmocka_run_group_tests_name("08 BLEU", tests, NULL, NULL);
}
