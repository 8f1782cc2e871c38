// test_01_tokenizer.c: the byte-level BPE tokenizer (lesson 01, §5.1). Round trips on
// random bytes and accented French, merges worked out by hand, determinism, saving and
// loading, and bad vocabulary files that must give a clear error, never a crash.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "rng.h"
#include "tokenizer.h"
#include "testutil.h"

// ---- helpers ----------------------------------------------------------------------

// A small French/English corpus: the accents, "ne ... pas", shared words.
static const char *const SENTENCES[] = {
    "je suis étudiant\ti am a student\n",
    "où est la forêt ?\twhere is the forest ?\n",
    "ça ne va pas\tit is not going well\n",
    "elle est naïve\tshe is naive\n",
    "Noël est à la maison\tChristmas is at home\n",
    "le garçon mange une pomme rouge\tthe boy eats a red apple\n",
    "nous ne mangeons pas le gâteau\twe do not eat the cake\n",
    "l'étudiant lit un livre célèbre\tthe student reads a famous book\n",
    "le château est très ancien\tthe castle is very old\n",
    "vous êtes en retard, déjà !\tyou are late, already!\n",
};
enum { N_SENTENCES = sizeof SENTENCES / sizeof SENTENCES[0] };

// The corpus repeated `copies` times, so pairs have real counts. Caller frees.
static char *make_corpus(int copies, size_t *len) {
    size_t one = 0;
    for (int i = 0; i < N_SENTENCES; i++) one += strlen(SENTENCES[i]);
    char *text = xmalloc(one * (size_t)copies + 1), *p = text;
    for (int c = 0; c < copies; c++)
        for (int i = 0; i < N_SENTENCES; i++) {
            size_t n = strlen(SENTENCES[i]);
            memcpy(p, SENTENCES[i], n);
            p += n;
        }
    *p = '\0';
    *len = (size_t)(p - text);
    return text;
}

// A tokenizer with `merges` merges learned from the corpus above.
static void train_on_corpus(Tokenizer *tok, int merges) {
    size_t len;
    char *text = make_corpus(20, &len);
    tokenizer_train(tok, text, len, merges);
    free(text);
}

// Encodes and decodes len bytes of text; fails the test unless the bytes come back
// exactly, every id is a byte or merge token, and there are no more tokens than bytes.
static int assert_round_trip(const Tokenizer *tok, const char *text, size_t len) {
    int *ids = xmalloc(sizeof(int) * (len + 1));
    char *back = xmalloc(len + 1);
    int n = tokenizer_encode(tok, text, len, ids, (int)len);
    assert_true(n >= 0 && (size_t)n <= len);
    for (int i = 0; i < n; i++) assert_true(ids[i] >= TOKEN_N_SPECIAL && ids[i] < tokenizer_vocab_size(tok));
    size_t got = tokenizer_decode(tok, ids, n, back, len + 1);
    assert_int_equal(got, len);
    assert_memory_equal(back, text, len);
    assert_int_equal(back[len], '\0');
    free(back);
    free(ids);
    return n;
}

// Writes text to a temporary file and returns its path (static buffer).
static const char *write_temp(const char *text, size_t len) {
    static char path[64];
    snprintf(path, sizeof path, "/tmp/test_01_vocab_%d.txt", (int)getpid());
    FILE *f = xfopen(path, "wb");
    xfwrite(text, 1, len, f);
    xfclose(f);
    return path;
}

// ---- the vocabulary with no merges ------------------------------------------------

// Ids 0,1,2 are the specials, then byte b is 3+b; decode skips specials.
// hint: with no merges learned, encode gives one token per byte, TOKEN_BYTE0 + b
// (bytes as unsigned char: 0xC3 is 195, not -61), and returns how many it wrote.
static void test_bytes_vocabulary(void **state) {
    (void)state;
    Tokenizer tok;
    tokenizer_init_bytes(&tok);
    assert_int_equal(tokenizer_vocab_size(&tok), 259);
    assert_int_equal(TOKEN_PAD, 0);
    assert_int_equal(TOKEN_BOS, 1);
    assert_int_equal(TOKEN_EOS, 2);
    int ids[8];
    assert_int_equal(tokenizer_encode(&tok, "Ab c", 4, ids, 8), 4);
    int expected[] = {3 + 'A', 3 + 'b', 3 + ' ', 3 + 'c'};
    assert_memory_equal(ids, expected, sizeof expected);

    int with_specials[] = {TOKEN_BOS, 3 + 'h', 3 + 'i', TOKEN_EOS, TOKEN_PAD, TOKEN_PAD};
    char out[16];
    assert_int_equal(tokenizer_decode(&tok, with_specials, 6, out, sizeof out), 2);
    assert_string_equal(out, "hi");
    tokenizer_free(&tok);
    tokenizer_free(&tok);  // safe twice
}

// Labels for heatmap axes: specials by name, a space as ▁, control bytes as <0xNN>,
// complete UTF-8 characters as themselves, bytes of a broken character as <0xNN>.
// hint: only the last check encodes: " é" must come out as ONE token, 260, by applying
// merge 259 (the two bytes of é) and then 260 (space + é). Keep merging until no learned
// pair is left, not just once.
static void test_token_strings(void **state) {
    (void)state;
    Tokenizer tok;
    // 198 = 3 + 0xC3 and 172 = 3 + 0xA9: the two bytes of "é" become token 259.
    const char *vocab = "bpe-vocab 1\nmerges 2\nmerge 198 172\nmerge 35 259\nend\n";
    ErrorMessage err = {{0}};
    assert_true(tokenizer_from_string(&tok, vocab, strlen(vocab), "inline", &err));
    char buf[TOKEN_STRING_MAX];
    assert_string_equal(tokenizer_token_string(&tok, TOKEN_PAD, buf, sizeof buf), "<pad>");
    assert_string_equal(tokenizer_token_string(&tok, TOKEN_BOS, buf, sizeof buf), "<s>");
    assert_string_equal(tokenizer_token_string(&tok, TOKEN_EOS, buf, sizeof buf), "</s>");
    assert_string_equal(tokenizer_token_string(&tok, 3 + 'x', buf, sizeof buf), "x");
    assert_string_equal(tokenizer_token_string(&tok, 3 + ' ', buf, sizeof buf), "▁");
    assert_string_equal(tokenizer_token_string(&tok, 3 + '\n', buf, sizeof buf), "<0x0A>");
    assert_string_equal(tokenizer_token_string(&tok, 3 + 0xC3, buf, sizeof buf), "<0xC3>");
    assert_string_equal(tokenizer_token_string(&tok, 259, buf, sizeof buf), "é");
    assert_string_equal(tokenizer_token_string(&tok, 260, buf, sizeof buf), "▁é");
    assert_string_equal(tokenizer_token_string(&tok, 261, buf, sizeof buf), "<bad:261>");
    assert_string_equal(tokenizer_token_string(&tok, -1, buf, sizeof buf), "<bad:-1>");
    // Truncation keeps whole pieces: "▁é" is 3+2 bytes; 5 bytes of room fit only "▁".
    assert_string_equal(tokenizer_token_string(&tok, 260, buf, 5), "▁");
    assert_string_equal(tokenizer_token_string(&tok, 260, buf, 3), "");
    // The merges apply: " é" is one token.
    int ids[4];
    assert_int_equal(tokenizer_encode(&tok, " é", 3, ids, 4), 1);
    assert_int_equal(ids[0], 260);
    tokenizer_free(&tok);
}

// ---- merges worked out by hand ------------------------------------------------------

// Encoding applies merges in the order they were learned, not in the order of the text.
// With "b c" learned first (259) and "a b" second (260), "abc" is a + bc = [100, 259]:
// taking the leftmost learned pair (a, b) first would give ab + c = [260, 102]. With the
// one merge "a a" (259), "aaa" is aa + a = [259, 100]: overlaps go to the leftmost pair.
// hint: among the learned pairs present, merge the one whose merged id is SMALLEST
// first (the earliest merge), wherever it is in the chunk; on equal ids (the same pair
// twice, overlapping) the leftmost. Then look again: the merge may have made a new pair.
static void test_encode_applies_merges_in_learned_order(void **state) {
    (void)state;
    Tokenizer tok;
    ErrorMessage err = {{0}};
    const char *vocab = "bpe-vocab 1\nmerges 2\nmerge 101 102\nmerge 100 101\nend\n";
    assert_true(tokenizer_from_string(&tok, vocab, strlen(vocab), "inline", &err));
    int ids[8];
    assert_int_equal(tokenizer_encode(&tok, "abc", 3, ids, 8), 2);
    assert_int_equal(ids[0], 3 + 'a');
    assert_int_equal(ids[1], 259);
    assert_int_equal(tokenizer_encode(&tok, "abab", 4, ids, 8), 2);  // no (b,c) present: ab ab
    assert_int_equal(ids[0], 260);
    assert_int_equal(ids[1], 260);
    tokenizer_free(&tok);

    const char *pairs = "bpe-vocab 1\nmerges 1\nmerge 100 100\nend\n";
    assert_true(tokenizer_from_string(&tok, pairs, strlen(pairs), "inline", &err));
    assert_int_equal(tokenizer_encode(&tok, "aaa", 3, ids, 8), 2);
    assert_int_equal(ids[0], 259);
    assert_int_equal(ids[1], 3 + 'a');
    assert_int_equal(tokenizer_encode(&tok, "aaaa", 4, ids, 8), 2);
    assert_int_equal(ids[0], 259);
    assert_int_equal(ids[1], 259);
    tokenizer_free(&tok);
}

// Corpus "hug hug hug pug pun bun hugs". Pre-splitting glues each space to the word
// after it, so the words and their counts are:
//   "hug" 1, "▁hug" 2, "▁pug" 1, "▁pun" 1, "▁bun" 1, "▁hugs" 1.
// Token ids: ▁=35, b=101, g=106, h=107, n=113, p=115, s=118, u=120 (3 + the byte).
// Pair counts, each word's pairs times its count:
//   (u,g) 1+2+1+1 = 5   (h,u) 1+2+1 = 4   (▁,h) 2+1 = 3   (▁,p) 2   (p,u) 2   (u,n) 2
//   (▁,b) 1  (b,u) 1  (g,s) 1
// 1. (u,g)=5 wins              -> 259 "ug".  Now (h,ug) = 1+2+1 = 4, (▁,h) = 3.
// 2. (h,ug)=4                  -> 260 "hug". Now (▁,hug) = 2+1 = 3.
// 3. (▁,hug)=3                 -> 261 "▁hug". Left: (▁,p) 2, (u,n) 2, the rest 1.
// 4. tie (▁,p)=2 vs (u,n)=2: the lower left id wins, ▁=35 < u=120 -> 262 "▁p".
// 5. (u,n)=2 ("▁p u n", "▁ b u n") -> 263 "un". Every pair left occurs once: stop.
// hint: follow the comment above by hand. Merges wrong from step 1: most-frequent-pair
// (largest count; ties to the smaller key; -1 below a count of 2). "learned is 10,
// expected 5": most-frequent-pair accepted a pair seen only once (below 2 it returns -1),
// or merge-in-word did not replace the pair in the words (step 1 right, then the same
// pair learned again). Merges right but the encoding wrong: encode-chunk must apply the
// EARLIEST learned merge first (smallest merged id), not the first pair in the text.
static void test_merges_by_hand(void **state) {
    (void)state;
    const char *corpus = "hug hug hug pug pun bun hugs";
    Tokenizer tok;
    int learned = tokenizer_train(&tok, corpus, strlen(corpus), 10);
    assert_int_equal(learned, 5);
    assert_int_equal(tokenizer_vocab_size(&tok), 259 + 5);
    int expected[5][2] = {{120, 106}, {107, 259}, {35, 260}, {35, 115}, {120, 113}};
    assert_memory_equal(tok.merges, expected, sizeof expected);
    const char *strings[5] = {"ug", "hug", "▁hug", "▁p", "un"};
    char buf[TOKEN_STRING_MAX];
    for (int m = 0; m < 5; m++)
        assert_string_equal(tokenizer_token_string(&tok, 259 + m, buf, sizeof buf), strings[m]);

    // Encoding "hugs pun bug" by hand, chunk by chunk:
    //   "hugs": h u g s -> h ug s (259) -> hug s (260); (hug,s) was never merged.
    //   "▁pun": (▁,p)=262 comes before (u,n)=263 -> ▁p u n -> ▁p un.
    //   "▁bug": only (u,g) applies -> ▁ b ug.
    int ids[16];
    int n = tokenizer_encode(&tok, "hugs pun bug", 12, ids, 16);
    int want[] = {260, 118, 262, 263, 35, 101, 259};
    assert_int_equal(n, 7);
    assert_memory_equal(ids, want, sizeof want);
    tokenizer_free(&tok);

    // Asking for fewer merges gives the first ones: BPE is greedy.
    learned = tokenizer_train(&tok, corpus, strlen(corpus), 2);
    assert_int_equal(learned, 2);
    assert_memory_equal(tok.merges, expected, 2 * sizeof expected[0]);
    tokenizer_free(&tok);
}

// Overlapping pairs merge from the left, in training too. "aaa\naaa\naaa" is the word
// "aaa" three times (and "\n" twice): (a,a) occurs twice in each, 6 in all -> 259 "aa".
// Merged left to right each word is "aa a", so the next pair is (aa, a) -> 260 "aaa";
// merged from the right it would be "a aa" and (a, aa). Both trainers.
// hint: merge-in-word scans left to right and, after replacing s[j], s[j+1], goes on
// at s[j+2]: "a a a" with the pair (a, a) becomes "aa a".
static void test_training_merges_overlaps_from_the_left(void **state) {
    (void)state;
    const char *text = "aaa\naaa\naaa";
    const int a = TOKEN_BYTE0 + 'a';
    int (*train[2])(Tokenizer *, const char *, size_t, int) = {tokenizer_train_plain, tokenizer_train_fast};
    for (int t = 0; t < 2; t++) {
        Tokenizer tok;
        assert_int_equal(train[t](&tok, text, strlen(text), 10), 2);
        assert_int_equal(tok.merges[0][0], a);
        assert_int_equal(tok.merges[0][1], a);
        assert_int_equal(tok.merges[1][0], 259);
        assert_int_equal(tok.merges[1][1], a);
        tokenizer_free(&tok);
    }
}

// ---- against an independent reference --------------------------------------------

// tests/fixtures/gen_tokenizer.py is a slow, plain-Python BPE with the same rules (it
// recounts every pair before each merge and encodes by applying merges in order). On
// its corpus of French words, broken UTF-8 and NULs, the C trainer must learn exactly
// its merges, and the C encoder must give exactly its ids for a probe text.
// hint: "learned" differs or a merge differs: look at merge-in-word (overlaps: "a a a"
// with the pair (a, a) becomes "aa a") and at the tie rule of most-frequent-pair. Merges
// equal but ids differ: encode-chunk's order of merges (smallest merged id first,
// leftmost on a tie).
static void test_matches_python_reference(void **state) {
    (void)state;
    Fixture *fx = fixture_load("tests/fixtures/tokenizer_reference.txt");
    long n_corpus = 0, n_merges = 0, n_probe = 0, n_ids = 0;
    for (int i = 0; i < fx->count; i++) {
        FixtureTensor *t = &fx->tensors[i];
        if (strcmp(t->name, "corpus") == 0) n_corpus = t->count;
        if (strcmp(t->name, "merges") == 0) n_merges = t->dims[0];
        if (strcmp(t->name, "probe") == 0) n_probe = t->count;
        if (strcmp(t->name, "probe_ids") == 0) n_ids = t->count;
    }
    float *corpus_f = fixture_get(fx, "corpus", n_corpus), *merges_f = fixture_get(fx, "merges", 2 * n_merges);
    float *probe_f = fixture_get(fx, "probe", n_probe), *ids_f = fixture_get(fx, "probe_ids", n_ids);
    char *corpus = xmalloc((size_t)n_corpus), *probe = xmalloc((size_t)n_probe);
    for (long i = 0; i < n_corpus; i++) corpus[i] = (char)(unsigned char)corpus_f[i];
    for (long i = 0; i < n_probe; i++) probe[i] = (char)(unsigned char)probe_f[i];

    Tokenizer tok;
    int learned = tokenizer_train(&tok, corpus, (size_t)n_corpus, 120);
    print_message("reference: %ld merges; C learned %d\n", n_merges, learned);
    assert_int_equal(learned, n_merges);
    for (long m = 0; m < n_merges; m++)
        if (tok.merges[m][0] != (int)merges_f[2 * m] || tok.merges[m][1] != (int)merges_f[2 * m + 1])
            fail_msg("merge %ld: C has %d %d, the reference %d %d", m, tok.merges[m][0], tok.merges[m][1],
                     (int)merges_f[2 * m], (int)merges_f[2 * m + 1]);
    int *ids = xmalloc(sizeof(int) * (size_t)n_probe);
    int n = tokenizer_encode(&tok, probe, (size_t)n_probe, ids, (int)n_probe);
    assert_int_equal(n, n_ids);
    for (long i = 0; i < n_ids; i++) assert_int_equal(ids[i], (int)ids_f[i]);
    assert_round_trip(&tok, probe, (size_t)n_probe);
    assert_round_trip(&tok, corpus, (size_t)n_corpus);
    free(ids);
    free(corpus);
    free(probe);
    tokenizer_free(&tok);
    fixture_free(fx);
}

// ---- round trips ----------------------------------------------------------------------

// 10,000 seeded random strings of 0..120 bytes: half uniformly random bytes (all 256
// values, NUL included), half pieces of French words, spaces and random bytes mixed,
// so that merges, chunk boundaries and broken UTF-8 are all exercised.
// hint: decode(encode(x)) must give x back: encode-chunk must return every token of the
// chunk (one per byte to start with) and never lose or repeat a byte while merging.
// "total_tokens < total_bytes" failing: your encoder applies no merges.
static void test_round_trip_random_bytes(void **state) {
    (void)state;
    Tokenizer tok;
    train_on_corpus(&tok, 300);
    Rng rng;
    rng_seed(&rng, 2017, 1);
    const char *pieces[] = {"é", "tudiant", " la", " forêt", "ç", "a", " ", "  ", "\t", "\n", "ï", "ë",
                            "ne", " pas", "?", "!", "€", "\xC3", "\xA9", "0", "42"};
    enum { N_PIECES = sizeof pieces / sizeof pieces[0] };
    char text[256];
    long total_bytes = 0, total_tokens = 0;
    for (int t = 0; t < 10000; t++) {
        size_t len = 0, want = rng_below(&rng, 121);
        while (len < want) {
            if (t % 2 == 0 || rng_below(&rng, 4) == 0) {
                text[len++] = (char)rng_below(&rng, 256);
            } else {
                const char *p = pieces[rng_below(&rng, N_PIECES)];
                size_t n = strlen(p);
                if (len + n > want) n = want - len;
                memcpy(text + len, p, n);
                len += n;
            }
        }
        total_tokens += assert_round_trip(&tok, text, len);
        total_bytes += (long)len;
    }
    // The French-like half compresses: merges did apply.
    print_message("random round trips: %ld bytes -> %ld tokens\n", total_bytes, total_tokens);
    assert_true(total_tokens < total_bytes);
    tokenizer_free(&tok);
}

// Accented French round-trips exactly, and the words of the corpus become few tokens.
// hint: round trip fine but too many tokens: the merges are not applied (encode-chunk)
// or not learned (most-frequent-pair, merge-in-word).
static void test_round_trip_french(void **state) {
    (void)state;
    Tokenizer tok;
    train_on_corpus(&tok, 400);
    const char *samples[] = {"je suis étudiant", "où est la forêt ?", "ça", "naïve", "Noël", "à l'hôtel",
                             "Ça ne va pas, déjà…", "œuvre, cœur, Œdipe", "« guillemets »", "x", "",
                             "日本語 😀", "  deux espaces", "fin  "};
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++)
        assert_round_trip(&tok, samples[i], strlen(samples[i]));
    // "je suis étudiant" (17 bytes) was seen 20 times: it should need few tokens.
    int n = assert_round_trip(&tok, "je suis étudiant", 17);
    print_message("\"je suis étudiant\": 17 bytes -> %d tokens\n", n);
    assert_true(n <= 4);
    tokenizer_free(&tok);
}

// Empty input is 0 tokens; NUL is an ordinary byte; a very long run of one letter
// (longer than a chunk) round-trips too.
// hint: empty input is 0 tokens; a NUL byte is the token TOKEN_BYTE0 + 0 like any other;
// a 64-byte chunk must not read or write past sym[n-1].
static void test_empty_nul_and_long_input(void **state) {
    (void)state;
    Tokenizer tok;
    train_on_corpus(&tok, 100);
    int ids[4];
    assert_int_equal(tokenizer_encode(&tok, "", 0, ids, 4), 0);
    assert_int_equal(tokenizer_encode(&tok, "", 0, NULL, 0), 0);
    char out[4] = "xyz";
    assert_int_equal(tokenizer_decode(&tok, ids, 0, out, sizeof out), 0);
    assert_string_equal(out, "");
    assert_round_trip(&tok, "a\0b", 3);
    assert_round_trip(&tok, "\0\0\0\0", 4);
    size_t big = 10000;
    char *run = xmalloc(big);
    memset(run, 'e', big);
    assert_round_trip(&tok, run, big);
    free(run);
    tokenizer_free(&tok);
    // Training on NULs and broken UTF-8 works too and still round-trips.
    const char weird[] = "\0\0\0\xC3\xC3\xC3\0\0\0\xC3\xC3\xC3\xFF\xFF";
    tokenizer_train(&tok, weird, sizeof weird - 1, 50);
    assert_round_trip(&tok, weird, sizeof weird - 1);
    tokenizer_free(&tok);
}

// A buffer too small gets the first max_ids ids and the full count (like snprintf);
// decode truncates the same way.
// hint: this needs a trained vocabulary and the merges applied: start from the first
// failure above.
static void test_small_buffers(void **state) {
    (void)state;
    Tokenizer tok;
    train_on_corpus(&tok, 200);
    const char *text = "le garçon mange une pomme rouge";
    size_t len = strlen(text);
    int full[64];
    int n = tokenizer_encode(&tok, text, len, full, 64);
    assert_true(n > 3);
    int *part = xmalloc(sizeof(int) * 3);  // exactly 3: ASan catches a 4th write
    assert_int_equal(tokenizer_encode(&tok, text, len, part, 3), n);
    assert_memory_equal(part, full, 3 * sizeof(int));
    free(part);
    char *small = xmalloc(6);
    assert_int_equal(tokenizer_decode(&tok, full, n, small, 6), len);
    assert_string_equal(small, "le ga");
    free(small);
    tokenizer_free(&tok);
}

// ---- training rules -----------------------------------------------------------------

// Word boundaries: no learned token crosses a chunk. A space appears only as a token's
// first byte (or in a run of spaces), and no token mixes letters with punctuation or
// line breaks. And no token holds a broken UTF-8 character, except a token that is
// itself the first bytes of one character.
// hint: "n_merges > 100" failing: training stopped early (most-frequent-pair returns -1
// only when no count reaches 2). "é" not one token: encode-chunk does not apply merges.
static void test_learned_tokens_respect_boundaries(void **state) {
    (void)state;
    Tokenizer tok;
    train_on_corpus(&tok, 1000);
    print_message("learned %d merges from the small corpus\n", tok.n_merges);
    assert_true(tok.n_merges > 100);
    char buf[TOKEN_STRING_MAX];
    for (int id = TOKEN_FIRST_MERGE; id < tokenizer_vocab_size(&tok); id++) {
        int n;
        const unsigned char *s = tokenizer_token_bytes(&tok, id, &n);
        bool all_spaces = true, letters = false, others = false;
        for (int i = 0; i < n; i++) {
            all_spaces = all_spaces && s[i] == ' ';
            bool letter = (s[i] | 32) >= 'a' && (s[i] | 32) <= 'z';
            letters = letters || letter || s[i] >= 0x80;
            others = others || (!letter && s[i] < 0x80 && s[i] != ' ');
        }
        for (int i = 1; i < n && !all_spaces; i++) assert_true(s[i] != ' ');
        assert_false(letters && others);
        const char *label = tokenizer_token_string(&tok, id, buf, sizeof buf);
        if (strstr(label, "<0x")) {  // must be the start of one multi-byte character
            assert_true(s[0] >= 0xC2 && n < (s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : 2));
            for (int i = 1; i < n; i++) assert_true((s[i] & 0xC0) == 0x80);
        }
    }
    // "é" is learned as one token and shows as itself.
    int ids[4];
    assert_int_equal(tokenizer_encode(&tok, "é", 2, ids, 4), 1);
    assert_string_equal(tokenizer_token_string(&tok, ids[0], buf, sizeof buf), "é");
    tokenizer_free(&tok);
}

// The same text and merge count give the same vocabulary, byte for byte.
// hint: the same input must give the same merges: no uninitialised variable in
// most-frequent-pair, and ties always broken by the smaller key. 150 merges asked, fewer
// learned: check the count >= 2 rule.
static void test_training_is_deterministic(void **state) {
    (void)state;
    Tokenizer a, b, c;
    train_on_corpus(&a, 300);
    train_on_corpus(&b, 300);
    train_on_corpus(&c, 150);
    assert_int_equal(a.n_merges, b.n_merges);
    assert_memory_equal(a.merges, b.merges, sizeof(int) * 2 * (size_t)a.n_merges);
    size_t la, lb;
    char *sa = tokenizer_to_string(&a, &la), *sb = tokenizer_to_string(&b, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(sa, sb, la);
    // Fewer merges: a prefix of the longer list.
    assert_int_equal(c.n_merges, 150);
    assert_memory_equal(a.merges, c.merges, sizeof(int) * 2 * 150);
    free(sa);
    free(sb);
    tokenizer_free(&a);
    tokenizer_free(&b);
    tokenizer_free(&c);
}

// ---- the plain trainer and the fast trainer ---------------------------------------------

// Trains both trainers on the same text and requires the same merges, in the same order.
// Returns how many were learned.
static int assert_trainers_agree(const char *what, const char *text, size_t len, int merges) {
    Tokenizer plain, fast;
    int n_plain = tokenizer_train_plain(&plain, text, len, merges);
    int n_fast = tokenizer_train_fast(&fast, text, len, merges);
    print_message("  %-34s %5zu bytes: %d merges (plain), %d (fast)\n", what, len, n_plain, n_fast);
    assert_int_equal(n_plain, n_fast);
    assert_int_equal(plain.vocab_size, fast.vocab_size);
    if (n_plain > 0) assert_memory_equal(plain.merges, fast.merges, sizeof(int) * 2 * (size_t)n_plain);
    tokenizer_free(&plain);
    tokenizer_free(&fast);
    return n_plain;
}

// Ties worked by hand. "cd\ncd\nab\nab" has the chunks "cd", "\n", "cd", "\n", "ab", ...:
// the pairs (c,d) and (a,b) both occur twice, so the tie-break (lowest left id first)
// learns a+b before c+d, and then no pair is left. Both trainers must say so.
// hint: a+b must come before c+d: on equal counts the smaller key (lower left id, then
// lower right id) wins. Both trainers use your most-frequent-pair and merge-in-word.
static void test_trainers_break_ties_the_same_way(void **state) {
    (void)state;
    const char *text = "cd\ncd\nab\nab";
    const int a = TOKEN_BYTE0 + 'a', b = TOKEN_BYTE0 + 'b', c = TOKEN_BYTE0 + 'c', d = TOKEN_BYTE0 + 'd';
    int (*train[2])(Tokenizer *, const char *, size_t, int) = {tokenizer_train_plain, tokenizer_train_fast};
    for (int t = 0; t < 2; t++) {
        Tokenizer tok;
        assert_int_equal(train[t](&tok, text, strlen(text), 10), 2);
        assert_int_equal(tok.merges[0][0], a);
        assert_int_equal(tok.merges[0][1], b);
        assert_int_equal(tok.merges[1][0], c);
        assert_int_equal(tok.merges[1][1], d);
        tokenizer_free(&tok);
    }
    // Equal counts with equal left ids: the lower right id first (x+a before x+b).
    const char *right_tie = "xb xb xa xa";
    for (int t = 0; t < 2; t++) {
        Tokenizer tok;
        train[t](&tok, right_tie, strlen(right_tie), 1);
        assert_int_equal(tok.merges[0][0], TOKEN_BYTE0 + ' ');  // "▁x" occurs 3 times
        assert_int_equal(tok.merges[0][1], TOKEN_BYTE0 + 'x');
        tokenizer_free(&tok);
    }
    assert_trainers_agree("ties, by hand", text, strlen(text), 10);
    assert_trainers_agree("right-id ties", right_tie, strlen(right_tie), 10);
}

// The same merges on the shipped corpus (its first 100 kB), on this file's sentences, on
// random bytes (over 4 letters, so pairs repeat; and over all 256 values, so the UTF-8
// rule and control bytes take part), and on a corpus made of many-way ties.
// hint: both trainers call your merge-in-word and most-frequent-pair; if this fails and
// test_merges_by_hand passes, look at overlapping pairs ("a a a a" with (a, a) gives
// "aa aa") and at counts that have dropped to 0.
static void test_plain_and_fast_trainers_agree(void **state) {
    (void)state;
    ErrorMessage err = {0};
    size_t file_len;
    char *corpus = read_whole_file("data/fr-en/train.tsv", &file_len, &err);
    assert_non_null(corpus);
    size_t prefix = file_len < 100000 ? file_len : 100000;
    assert_true(assert_trainers_agree("data/fr-en/train.tsv prefix", corpus, prefix, 300) == 300);
    free(corpus);

    size_t len;
    char *sentences = make_corpus(3, &len);
    assert_trainers_agree("the test sentences, 3 copies", sentences, len, 5000);  // runs out
    free(sentences);

    Rng rng;
    rng_seed(&rng, 101, 0);
    enum { RANDOM_LEN = 6000 };
    char *random = xmalloc(RANDOM_LEN);
    for (int i = 0; i < RANDOM_LEN; i++) random[i] = "ab c"[rng_below(&rng, 4)];
    assert_trainers_agree("random over \"ab c\"", random, RANDOM_LEN, 400);
    for (int i = 0; i < RANDOM_LEN; i++) random[i] = (char)rng_below(&rng, 256);
    assert_trainers_agree("random bytes 0..255", random, RANDOM_LEN, 400);
    for (int i = 0; i < RANDOM_LEN; i++)  // UTF-8 lead and continuation bytes, and letters
        random[i] = (char)"\xC3\xA9\xA8\xE2\x82\xAC" "et "[rng_below(&rng, 9)];
    assert_trainers_agree("random UTF-8 pieces", random, RANDOM_LEN, 400);
    free(random);

    // Every word twice: each step is a many-way tie of counts.
    char ties[4096];
    size_t n = 0;
    for (int i = 0; i < 60; i++)
        n += (size_t)snprintf(ties + n, sizeof ties - n, "%c%c%c %c%c%c ", 'a' + i % 26, 'a' + (i * 7) % 26,
                              'a' + (i * 11) % 26, 'a' + i % 26, 'a' + (i * 7) % 26, 'a' + (i * 11) % 26);
    assert_trainers_agree("60 words, each twice", ties, n, 1000);
}

// ---- saving and loading -------------------------------------------------------------

// Encodes every sentence with both tokenizers and requires identical ids.
static void assert_same_encodings(const Tokenizer *a, const Tokenizer *b) {
    assert_int_equal(tokenizer_vocab_size(a), tokenizer_vocab_size(b));
    for (int i = 0; i < N_SENTENCES; i++) {
        int ia[128], ib[128];
        size_t len = strlen(SENTENCES[i]);
        int na = tokenizer_encode(a, SENTENCES[i], len, ia, 128);
        int nb = tokenizer_encode(b, SENTENCES[i], len, ib, 128);
        assert_int_equal(na, nb);
        assert_memory_equal(ia, ib, sizeof(int) * (size_t)na);
    }
}

// save -> load, write -> read (embedded in a bigger file), to_string -> from_string.
// hint: a vocabulary must not learn the same pair twice (loading rejects a repeat):
// merge-in-word must remove the pair from every word it merges.
static void test_save_and_load(void **state) {
    (void)state;
    Tokenizer tok, loaded;
    train_on_corpus(&tok, 300);
    ErrorMessage err = {{0}};
    char path[64];
    snprintf(path, sizeof path, "/tmp/test_01_save_%d.txt", (int)getpid());
    assert_true(tokenizer_save(&tok, path, &err));
    if (!tokenizer_load(&loaded, path, &err)) fail_msg("%s", err.text);
    assert_int_equal(loaded.n_merges, tok.n_merges);
    assert_memory_equal(loaded.merges, tok.merges, sizeof(int) * 2 * (size_t)tok.n_merges);
    assert_same_encodings(&tok, &loaded);
    tokenizer_free(&loaded);
    remove(path);

    // Embedded: bytes before and after; read stops right after the vocabulary.
    FILE *f = tmpfile();
    assert_non_null(f);
    fputs("CHECKPOINT\n", f);
    assert_true(tokenizer_write(&tok, f));
    fputs("WEIGHTS", f);
    rewind(f);
    char head[16];
    assert_non_null(fgets(head, sizeof head, f));
    if (!tokenizer_read(&loaded, f, "model.ckpt", &err)) fail_msg("%s", err.text);
    char tail[16] = {0};
    assert_int_equal(fread(tail, 1, sizeof tail - 1, f), 7);
    assert_string_equal(tail, "WEIGHTS");
    fclose(f);
    assert_same_encodings(&tok, &loaded);
    tokenizer_free(&loaded);

    size_t len;
    char *text = tokenizer_to_string(&tok, &len);
    assert_int_equal(strlen(text), len);
    char header[64];
    snprintf(header, sizeof header, "bpe-vocab 1\nmerges %d\nmerge ", tok.n_merges);
    assert_true(strncmp(text, header, strlen(header)) == 0);
    assert_true(len > 5 && strcmp(text + len - 5, "\nend\n") == 0);
    assert_true(tokenizer_from_string(&loaded, text, len, "memory", &err));
    assert_same_encodings(&tok, &loaded);
    tokenizer_free(&loaded);
    free(text);

    // A missing file: an error naming it, and a zeroed tokenizer.
    assert_false(tokenizer_load(&loaded, "/nonexistent/vocab.txt", &err));
    assert_non_null(strstr(err.text, "/nonexistent/vocab.txt"));
    assert_null(loaded.merges);
    tokenizer_free(&loaded);
    tokenizer_free(&tok);
}

// Each malformed file gives an error naming the file, the line and what was expected.
static void test_bad_vocabulary_files(void **state) {
    (void)state;
    struct {
        const char *text;
        const char *expected;  // must appear in the error message
    } cases[] = {
        {"", "vocab.txt:1: expected 'bpe-vocab 1' header, got end of file"},
        {"hello world\n", "vocab.txt:1: expected 'bpe-vocab 1' header, got 'hello world'"},
        {"# a comment\n\nbpe-vocab 2\n", "vocab.txt:3: vocabulary format version 2 is not supported"},
        {"bpe-vocab 1\n", "vocab.txt:2: expected 'merges <count>'"},
        {"bpe-vocab 1\nmerges -3\n", "vocab.txt:2: expected 'merges <count>' with count at most 1048576, got 'merges -3'"},
        {"bpe-vocab 1\nmerges 99999999999999999999\n", "vocab.txt:2: expected 'merges <count>'"},
        {"bpe-vocab 1\nmerges 3\nmerge 35 116\nmerge 259 107\n",
         "vocab.txt:5: expected 'merge <id> <id>' (merge 3 of 3), got end of file"},
        {"bpe-vocab 1\nmerges 3\nmerge 35 116\nmerge 35\n", "vocab.txt:4: expected 'merge <id> <id>', got 'merge 35'"},
        {"bpe-vocab 1\nmerges 1\nmerge 35 116 7\n", "vocab.txt:3: expected 'merge <id> <id>', got 'merge 35 116 7'"},
        {"bpe-vocab 1\nmerges 1\nmerge 35 x\n", "vocab.txt:3: expected 'merge <id> <id>', got 'merge 35 x'"},
        {"bpe-vocab 1\nmerges 1\nmerge -4 35\n", "vocab.txt:3: expected 'merge <id> <id>'"},
        {"bpe-vocab 1\nmerges 1\nmerge 35 99999999999\n", "vocab.txt:3: expected 'merge <id> <id>'"},
        {"bpe-vocab 1\nmerges 1\nmerge 35 300\n", "vocab.txt:3: merge 35 300: token 300 does not exist yet (ids so far are 0..258)"},
        {"bpe-vocab 1\nmerges 1\nmerge 1 35\n", "vocab.txt:3: merge 1 35: token 1 is a special token"},
        {"bpe-vocab 1\nmerges 2\nmerge 35 116\nmerge 35 116\n", "vocab.txt:4: merge 35 116 repeats an earlier merge (token 259)"},
        {"bpe-vocab 1\nmerges 1\nmerge 35 116\n", "vocab.txt:4: expected 'end' after 1 merges, got end of file"},
        {"bpe-vocab 1\nmerges 1\nmerge 35 116\nmerge 35 117\nend\n", "vocab.txt:4: expected 'end' after 1 merges, got 'merge 35 117'"},
        {"bpe-vocab 1\nmerges 0\nend\nmore\n", "vocab.txt:4: expected nothing after 'end', got 'more'"},
        {"bpe-vocab 1\nmer\0ges 0\n", "vocab.txt:2: expected text, found a NUL byte"},
        // Issue 12: a line quoted in an error is escaped, never sent raw to the terminal.
        {"\x1b[2Jbpe-vocab 1\n", "vocab.txt:1: expected 'bpe-vocab 1' header, got '\\x1B[2Jbpe-vocab 1'"},
        {"bpe-vocab 1\nmerges \x1b]0;x\x07\n", "got 'merges \\x1B]0;x\\x07'"},
        {"bpe-vocab 1\nmerges 1\nmerge 35 \x9b\n", "got 'merge 35 \\x9B'"},
        {"bpe-vocab 1\nmerges 1\nmerge 35 116\n\x1b[1m\n", "got '\\x1B[1m'"},
        {"bpe-vocab 1\nmerges 0\nend\n\x1b[1m\n", "expected nothing after 'end', got '\\x1B[1m'"},
        // Each merge doubles a token: 2, 4, ..., 64 bytes, then 128 is too long.
        {"bpe-vocab 1\nmerges 7\nmerge 100 100\nmerge 259 259\nmerge 260 260\nmerge 261 261\n"
         "merge 262 262\nmerge 263 263\nmerge 264 264\nend\n",
         "vocab.txt:9: merge 264 264 would make a token of 128 bytes (at most 64)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        // The NUL case needs its real length; the others are C strings.
        size_t len = strlen(cases[i].text);
        if (strstr(cases[i].expected, "NUL")) len = sizeof "bpe-vocab 1\nmer\0ges 0\n" - 1;
        Tokenizer tok;
        ErrorMessage err = {{0}};
        bool ok = tokenizer_from_string(&tok, cases[i].text, len, "vocab.txt", &err);
        if (ok || !strstr(err.text, cases[i].expected))
            fail_msg("case %zu: expected an error containing\n  %s\ngot %s\n  %s", i, cases[i].expected,
                     ok ? "success" : "", err.text);
        assert_null(tok.merges);  // left zeroed
        tokenizer_free(&tok);
    }
    // The same through a real file: the message names its path.
    const char *bad = "bpe-vocab 1\nmerges 2\nmerge 35 116\n";
    const char *path = write_temp(bad, strlen(bad));
    Tokenizer tok;
    ErrorMessage err;
    assert_false(tokenizer_load(&tok, path, &err));
    char want[128];
    snprintf(want, sizeof want, "%s:4: expected 'merge <id> <id>' (merge 2 of 2), got end of file", path);
    assert_non_null(strstr(err.text, want));
    tokenizer_free(&tok);
    remove(path);
}

// A vocabulary file cut short at ANY byte fails to load (the "end" line guarantees it),
// and randomly corrupted files load or fail cleanly, never crash (ASan watches).
// hint: this trains 40 merges first: if the vocabulary holds a repeated merge (the pair
// was not replaced by merge-in-word), nothing loads.
static void test_truncated_and_corrupted_files(void **state) {
    (void)state;
    Tokenizer tok, loaded;
    train_on_corpus(&tok, 40);
    size_t len;
    char *text = tokenizer_to_string(&tok, &len);
    ErrorMessage err;
    for (size_t cut = 0; cut + 1 < len; cut++) {  // cut + 1 == len drops only the final '\n'
        char *copy = xmalloc(cut + 1);            // exact size: reading past it is caught
        memcpy(copy, text, cut);
        if (tokenizer_from_string(&loaded, copy, cut, "vocab.txt", &err))
            fail_msg("a file cut to %zu of %zu bytes loaded", cut, len);
        assert_true(strncmp(err.text, "vocab.txt:", 10) == 0);
        free(copy);
    }
    Rng rng;
    rng_seed(&rng, 5, 0);
    int failures = 0;
    for (int t = 0; t < 2000; t++) {
        char *copy = xmalloc(len);
        memcpy(copy, text, len);
        for (int k = 0; k < 3; k++) copy[rng_below(&rng, (uint32_t)len)] = (char)rng_below(&rng, 256);
        if (tokenizer_from_string(&loaded, copy, len, "vocab.txt", &err)) {
            int id;
            assert_int_equal(tokenizer_encode(&loaded, "a", 1, &id, 1), 1);
            tokenizer_free(&loaded);
        } else {
            failures++;
            assert_true(strncmp(err.text, "vocab.txt:", 10) == 0);
        }
        free(copy);
    }
    print_message("corrupted files: %d of 2000 rejected, the rest still valid\n", failures);
    assert_true(failures > 1000);
    free(text);
    tokenizer_free(&tok);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytes_vocabulary),
        cmocka_unit_test(test_token_strings),
        cmocka_unit_test(test_encode_applies_merges_in_learned_order),
        cmocka_unit_test(test_merges_by_hand),
        cmocka_unit_test(test_training_merges_overlaps_from_the_left),
        cmocka_unit_test(test_matches_python_reference),
        cmocka_unit_test(test_round_trip_random_bytes),
        cmocka_unit_test(test_round_trip_french),
        cmocka_unit_test(test_empty_nul_and_long_input),
        cmocka_unit_test(test_small_buffers),
        cmocka_unit_test(test_learned_tokens_respect_boundaries),
        cmocka_unit_test(test_training_is_deterministic),
        cmocka_unit_test(test_trainers_break_ties_the_same_way),
        cmocka_unit_test(test_plain_and_fast_trainers_agree),
        cmocka_unit_test(test_save_and_load),
        cmocka_unit_test(test_bad_vocabulary_files),
        cmocka_unit_test(test_truncated_and_corrupted_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
