// test_08_checkpoint.c: the checkpoint file (format in src/checkpoint.h): a round trip
// gives back every bit; training resumed from a checkpoint continues exactly as if never
// stopped; and every kind of bad file is refused with a message naming it, never a crash
// and never an allocation sized by a damaged header.
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint.h"
#include "common.h"
#include "loss.h"
#include "model.h"
#include "optimizer.h"
#include "rng.h"
#include "testutil.h"
#include "tokenizer.h"

// ---- a tiny model and one training step -----------------------------------------------
enum { B = 2, S = 5, T = 4 };

typedef struct {
    Model model;
    Tokenizer tok;
    Adam opt;
    Rng rng;  // dropout
    int src[B * S], tgt_in[B * T], tgt_out[B * T], src_len[B], tgt_len[B];
    float *probs, *dlogits;
} Run;

static void make_tokenizer(Tokenizer *tok) {
    const char *text = "le chat est sur la table. la table est sur le chat. le chat le chat";
    tokenizer_train(tok, text, strlen(text), 8);
}

static ModelConfig tiny_config(int vocab_size) {
    ModelConfig c = {.vocab_size = vocab_size, .d_model = 8, .n_heads = 2, .d_ff = 16,
                     .n_layers = 1, .max_len = 8, .max_batch = B, .dropout = 0.1f};
    return c;
}

// A fixed batch: source rows of 5 and 3 tokens, target rows of 4 and 2.
static void fill_batch(Run *r) {
    int src[B * S] = {40, 41, 42, 43, TOKEN_EOS, 50, 51, TOKEN_EOS, 0, 0};
    int in[B * T] = {TOKEN_BOS, 60, 61, 62, TOKEN_BOS, 70, 0, 0};
    int out[B * T] = {60, 61, 62, TOKEN_EOS, 70, TOKEN_EOS, 0, 0};
    memcpy(r->src, src, sizeof src);
    memcpy(r->tgt_in, in, sizeof in);
    memcpy(r->tgt_out, out, sizeof out);
    r->src_len[0] = 5, r->src_len[1] = 3, r->tgt_len[0] = 4, r->tgt_len[1] = 2;
}

static void run_start(Run *r, uint64_t seed) {
    memset(r, 0, sizeof *r);
    make_tokenizer(&r->tok);
    ModelConfig c = tiny_config(tokenizer_vocab_size(&r->tok));
    Rng init;
    rng_seed(&init, seed, 0);
    model_init(&r->model, &c, &init);
    AdamConfig ac = adam_config_paper(c.d_model);
    ac.warmup_steps = 3;
    adam_init(&r->opt, &ac, r->model.params.n);
    rng_seed(&r->rng, seed, 1);
    fill_batch(r);
}

static void run_buffers(Run *r) {
    long n = (long)B * T * r->model.config.vocab_size;
    r->probs = xmalloc(sizeof(float) * (size_t)n);
    r->dlogits = xmalloc(sizeof(float) * (size_t)n);
}

// One step of §5: forward with dropout, label-smoothed loss, backward, Adam (Eq. 3).
static double train_step(Run *r) {
    Model *m = &r->model;
    int V = m->config.vocab_size;
    model_zero_grad(m);
    model_forward(m, &(ModelBatch){.src = r->src, .src_lengths = r->src_len,
                                   .tgt = r->tgt_in, .tgt_lengths = r->tgt_len,
                                   .B = B, .S = S, .T = T},
                  true, &r->rng);
    LossResult loss;
    LossSpec spec = {.B = B, .T = T, .V = V,
                     .smoothing = LABEL_SMOOTHING, .ignore_index = TOKEN_PAD};
    loss_forward(&loss, r->probs, m->acts.logits, r->tgt_out, spec);
    memset(r->dlogits, 0, sizeof(float) * (size_t)(B * T * V));
    loss_backward(r->dlogits, r->probs, loss.n_tokens, r->tgt_out, spec);
    model_backward(m, r->dlogits);
    adam_step(&r->opt, m->params.values, m->params.grads);
    return loss.loss;
}

static void run_free(Run *r) {
    model_free(&r->model);
    tokenizer_free(&r->tok);
    adam_free(&r->opt);
    free(r->probs), free(r->dlogits);
}

static void temp_path(char *path) {
    strcpy(path, "/tmp/test_08_checkpoint-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
}

static TrainingState state_of(const Run *r, long step) {
    TrainingState s = {.present = true, .step = step, .epoch = 7, .batch_in_epoch = 3,
                       .rng = r->rng};
    rng_seed(&s.data_rng, 99, 5);
    return s;
}

// ---- round trip ------------------------------------------------------------------------

// Everything saved comes back bit for bit: configuration, parameters, vocabulary
// (same encodings), training state, Adam moments and step.
static void test_round_trip(void **state) {
    (void)state;
    Run r;
    run_start(&r, 1);
    run_buffers(&r);
    train_step(&r);
    train_step(&r);
    char path[64];
    temp_path(path);
    TrainingState saved = state_of(&r, 2);
    ErrorMessage err = {{0}};
    assert_true(checkpoint_save(path, &r.model, &r.tok, &saved, &r.opt, &err));

    Model m = {0};
    Tokenizer tok = {0};
    TrainingState loaded;
    Adam opt;
    if (!checkpoint_load(path, 0, &m, &tok, &loaded, &opt, &err)) fail_msg("%s", err.text);
    assert_memory_equal(&m.config, &r.model.config, sizeof m.config);
    assert_int_equal(m.params.n, r.model.params.n);
    assert_memory_equal(m.params.values, r.model.params.values, sizeof(float) * (size_t)m.params.n);
    assert_int_equal(tokenizer_vocab_size(&tok), tokenizer_vocab_size(&r.tok));
    const char *probe = "le chat est sur la table";
    int a[64], b[64];
    int na = tokenizer_encode(&r.tok, probe, strlen(probe), a, 64);
    int nb = tokenizer_encode(&tok, probe, strlen(probe), b, 64);
    assert_int_equal(na, nb);
    assert_true(na < (int)strlen(probe));  // the merges are really there
    assert_memory_equal(a, b, sizeof(int) * (size_t)na);
    assert_true(loaded.present);
    assert_int_equal(loaded.step, 2);
    assert_int_equal(loaded.epoch, 7);
    assert_int_equal(loaded.batch_in_epoch, 3);
    assert_memory_equal(&loaded.rng, &saved.rng, sizeof(Rng));
    assert_memory_equal(&loaded.data_rng, &saved.data_rng, sizeof(Rng));
    assert_int_equal(opt.step, 2);
    assert_memory_equal(&opt.config, &r.opt.config, sizeof opt.config);
    assert_memory_equal(opt.memory, r.opt.memory, sizeof(float) * 2 * (size_t)opt.n);
    model_free(&m), tokenizer_free(&tok), adam_free(&opt);

    // max_batch can be changed on load (e.g. 4 rows for a beam); optional parts skipped.
    if (!checkpoint_load(path, 4, &m, NULL, NULL, NULL, &err)) fail_msg("%s", err.text);
    assert_int_equal(m.config.max_batch, 4);
    model_free(&m);
    ModelConfig config;
    assert_true(checkpoint_read_config(path, &config, &err));
    assert_int_equal(config.d_model, 8);

    // A checkpoint with only the model: no state, no moments, and no vocabulary to give.
    assert_true(checkpoint_save(path, &r.model, NULL, NULL, NULL, &err));
    assert_true(checkpoint_load(path, 0, &m, NULL, &loaded, &opt, &err));
    assert_false(loaded.present);
    assert_null(opt.memory);
    model_free(&m);
    assert_false(checkpoint_load(path, 0, &m, &tok, NULL, NULL, &err));
    assert_non_null(strstr(err.text, "vocabulary"));
    assert_null(m.params.values);
    run_free(&r);
    remove(path);
}

// ---- exact resume ----------------------------------------------------------------------

// Six steps straight through, against three steps, save, free everything, load, three
// more: the same losses and the same parameters to the last bit (dropout is on, so this
// also needs the RNG state and the Adam moments and step to come back exactly).
static void test_resume_is_exact(void **state) {
    (void)state;
    double straight[6], resumed[6];
    Run a;
    run_start(&a, 3);
    run_buffers(&a);
    for (int i = 0; i < 6; i++) straight[i] = train_step(&a);

    Run b;
    run_start(&b, 3);
    run_buffers(&b);
    for (int i = 0; i < 3; i++) resumed[i] = train_step(&b);
    char path[64];
    temp_path(path);
    TrainingState st = state_of(&b, 3);
    ErrorMessage err = {{0}};
    assert_true(checkpoint_save(path, &b.model, &b.tok, &st, &b.opt, &err));
    run_free(&b);

    Run c;
    memset(&c, 0, sizeof c);
    TrainingState loaded;
    if (!checkpoint_load(path, 0, &c.model, &c.tok, &loaded, &c.opt, &err)) fail_msg("%s", err.text);
    assert_true(loaded.present);
    c.rng = loaded.rng;
    fill_batch(&c);
    run_buffers(&c);
    for (int i = 3; i < 6; i++) resumed[i] = train_step(&c);
    for (int i = 0; i < 6; i++) {
        print_message("  step %d: loss %.9f straight, %.9f resumed\n", i + 1, straight[i], resumed[i]);
        assert_true(straight[i] == resumed[i]);
    }
    assert_true(straight[5] < straight[0]);  // it did train
    assert_memory_equal(a.model.params.values, c.model.params.values, sizeof(float) * (size_t)a.model.params.n);
    assert_int_equal(c.opt.step, 6);
    run_free(&a);
    run_free(&c);
    remove(path);
}

// ---- bad files ---------------------------------------------------------------------------

static unsigned char *read_bytes(const char *path, size_t *size) {
    ErrorMessage err;
    unsigned char *data = (unsigned char *)read_whole_file(path, size, &err);
    assert_non_null(data);
    return data;
}

static void write_bytes(const char *path, const unsigned char *data, size_t size) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_true(fwrite(data, 1, size, f) == size);
    fclose(f);
}

// Rewrites the trailing checksum so that only the intended damage remains.
static void fix_checksum(unsigned char *data, size_t size) {
    uint64_t h = checkpoint_fnv1a(CHECKPOINT_FNV_OFFSET, data, size - 8);
    for (int i = 0; i < 8; i++) data[size - 8 + i] = (unsigned char)(h >> (8 * i));
}

// Loading bad bytes must fail with a message naming the file and containing `expected`,
// and leave the model unallocated.
static void expect_rejected(const char *path, const unsigned char *data, size_t size,
                            const char *expected) {
    write_bytes(path, data, size);
    Model m = {0};
    Tokenizer tok = {0};
    TrainingState st;
    Adam opt = {0};
    ErrorMessage err = {{0}};
    bool ok = checkpoint_load(path, 0, &m, &tok, &st, &opt, &err);
    print_message("  %-28s -> %s\n", expected, err.text);
    if (ok) fail_msg("a damaged checkpoint (%s) was accepted", expected);
    assert_non_null(strstr(err.text, path));
    if (!strstr(err.text, expected)) fail_msg("expected '%s' in: %s", expected, err.text);
    assert_null(m.params.values);
    assert_null(tok.merges);
    assert_null(opt.memory);
}

static void put_u32_at(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

// Truncated (at many lengths), corrupted, foreign, future-version files and absurd
// configurations: each refused with its own message.
static void test_bad_files_are_rejected(void **state) {
    (void)state;
    Run r;
    run_start(&r, 5);
    char good_path[64], bad_path[64];
    temp_path(good_path);
    temp_path(bad_path);
    TrainingState st = state_of(&r, 0);
    ErrorMessage err = {{0}};
    assert_true(checkpoint_save(good_path, &r.model, &r.tok, &st, &r.opt, &err));
    size_t size;
    unsigned char *good = read_bytes(good_path, &size);
    unsigned char *bad = xmalloc(size);

    size_t cuts[] = {0, 5, 12, 20, 40, 300, size / 2, size - 30, size - 9, size - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++)
        expect_rejected(bad_path, good, cuts[i], "truncated");

    memcpy(bad, good, size);
    bad[size - 100] ^= 0x10;  // one bit of one parameter
    expect_rejected(bad_path, bad, size, "checksum mismatch");

    const char *text = "je suis étudiant\ti am a student\n";
    expect_rejected(bad_path, (const unsigned char *)text, strlen(text), "not a checkpoint");

    memcpy(bad, good, size);
    put_u32_at(bad + 8, CHECKPOINT_VERSION + 1);
    fix_checksum(bad, size);
    expect_rejected(bad_path, bad, size, "newer version");

    // CONF's payload starts at byte 32: vocab_size, d_model, n_heads, d_ff, n_layers,
    // max_len, max_batch, dropout.
    struct {
        int field;
        uint32_t value;
        const char *expected;
    } absurd[] = {
        {1, 1u << 30, "d_model = 1073741824"}, {4, 0, "n_layers = 0"},
        {0, 0xffffffffu, "vocab_size = -1"},   {2, 3, "not divisible by n_heads"},
        {5, 16000, "too large"},               {3, 18, "needs"},  // a valid config, wrong size
    };
    for (size_t i = 0; i < sizeof absurd / sizeof absurd[0]; i++) {
        memcpy(bad, good, size);
        put_u32_at(bad + 32 + 4 * absurd[i].field, absurd[i].value);
        fix_checksum(bad, size);
        expect_rejected(bad_path, bad, size, absurd[i].expected);
    }
    memcpy(bad, good, size);
    float nan = NAN;
    memcpy(bad + 32 + 28, &nan, 4);  // dropout NaN
    fix_checksum(bad, size);
    expect_rejected(bad_path, bad, size, "dropout");

    memcpy(bad, good, size);
    memcpy(bad + size - 8 - 16 - 4, &nan, 4);  // the last parameter, just before END
    fix_checksum(bad, size);
    expect_rejected(bad_path, bad, size, "is NaN");

    Model m = {0};
    assert_false(checkpoint_load("/nonexistent/model.ckpt", 0, &m, NULL, NULL, NULL, &err));
    assert_non_null(strstr(err.text, "/nonexistent/model.ckpt"));

    free(good), free(bad);
    run_free(&r);
    remove(good_path), remove(bad_path);
}

// The payload offset of the first section tagged `tag` in a checkpoint's bytes.
static size_t section_payload(const unsigned char *data, size_t size, const char *tag) {
    size_t offset = 16;
    while (offset + 16 <= size) {
        uint64_t length = 0;
        for (int i = 0; i < 8; i++) length |= (uint64_t)data[offset + 8 + i] << (8 * i);
        if (memcmp(data + offset, tag, 4) == 0) return offset + 16;
        offset += 16 + (size_t)length;
    }
    fail_msg("no section %s", tag);
    return 0;
}

static void put_u64_at(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

// Issue 12: a saved training state with a negative batch_in_epoch read before the batch
// plan, RNG increments of 0 made --resume hang, and the optimiser state was not checked.
// Each is refused by the loader now, naming what is wrong.
static void test_bad_training_state_is_rejected(void **state) {
    (void)state;
    Run r;
    run_start(&r, 3);
    char good_path[64], bad_path[64];
    temp_path(good_path);
    temp_path(bad_path);
    TrainingState st = state_of(&r, 0);
    ErrorMessage err = {{0}};
    assert_true(checkpoint_save(good_path, &r.model, &r.tok, &st, &r.opt, &err));
    size_t size;
    unsigned char *good = read_bytes(good_path, &size);
    unsigned char *bad = xmalloc(size);
    size_t trst = section_payload(good, size, "TRST"), adam = section_payload(good, size, "ADAM");
    struct {
        size_t at;
        int bytes;
        uint64_t value;
        const char *expected;
    } cases[] = {
        {trst + 16, 8, (uint64_t)-1, "batch_in_epoch = -1"},
        {trst + 0, 8, (uint64_t)-5, "step = -5"},
        {trst + 32, 8, 0, "RNG increment is even"},
        {trst + 48, 8, 4, "RNG increment is even"},
        {adam + 0, 4, 0x3fc00000u, "beta1 1.5"},           // 1.5f
        {adam + 20, 4, 0xbf800000u, "lr_scale -1"},        // -1.0f
        {adam + 20, 4, 0x7f800000u, "lr_scale inf"},       // +inf
        {adam + 40, 8, 12345, "optimiser is at step 12345"},
        {adam + 48, 4, 0x7fc00000u, "moment is not finite"},  // m[0] = NaN
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(bad, good, size);
        if (cases[i].bytes == 8) put_u64_at(bad + cases[i].at, cases[i].value);
        else put_u32_at(bad + cases[i].at, (uint32_t)cases[i].value);
        fix_checksum(bad, size);
        expect_rejected(bad_path, bad, size, cases[i].expected);
    }
    free(good), free(bad);
    run_free(&r);
    remove(good_path), remove(bad_path);
}

// A checkpoint of r with a run description (names with a non-ASCII letter and a control
// byte, which is stored escaped) and a word list, at path.
static void save_with_run(const Run *r, const char *path, WordList *words) {
    static const char tsv[] = "le chat noir\tthe black cat\nle chien\tthe dog\nÉté chat\tsummer cat\n";
    wordlist_from_tsv(words, tsv, sizeof tsv - 1);
    RunInfo *info = xcalloc(1, sizeof *info);
    run_info_set(info, "task", "corpus");
    run_info_set(info, "source-name", "Français\x1b");
    run_info_set(info, "target-name", "English");
    run_info_set(info, "seed", "42");
    CheckpointParts parts = {.model = &r->model, .tok = &r->tok, .info = info, .words = words};
    ErrorMessage err;
    assert_true(checkpoint_save_parts(path, &parts, &err));
    free(info);
}

// The run description and the word list come back as saved, next to the model; a file
// without them (checkpoint_save, or any file written before they existed) loads the same
// and says it has none.
static void test_run_info_round_trip(void **state) {
    (void)state;
    Run r;
    run_start(&r, 5);
    char path[64];
    temp_path(path);
    WordList saved;
    save_with_run(&r, path, &saved);
    assert_int_equal(saved.n, 5);  // chat chien le noir Été ("chat" twice, kept once)
    RunInfo *info = xcalloc(1, sizeof *info);
    WordList words;
    ErrorMessage err;
    assert_true(checkpoint_load_run(path, info, &words, &err));
    assert_true(info->present && words.present);
    assert_string_equal(run_info_get(info, "source-name"), "Français\\x1B");
    assert_string_equal(run_info_get(info, "target-name"), "English");
    assert_string_equal(run_info_get(info, "seed"), "42");
    assert_null(run_info_get(info, "merges"));
    assert_int_equal(words.n, saved.n);
    assert_int_equal(words.n_distinct, saved.n_distinct);
    for (int i = 0; i < words.n; i++) assert_string_equal(words.words[i], saved.words[i]);
    assert_true(wordlist_contains(&words, "Été", strlen("Été")));
    assert_false(wordlist_contains(&words, "été", strlen("été")));  // as written: case kept
    wordlist_free(&words);
    ErrorMessage e2;
    assert_true(checkpoint_save(path, &r.model, &r.tok, NULL, NULL, &e2));
    assert_true(checkpoint_load_run(path, info, &words, &err));
    assert_false(info->present);
    assert_false(words.present);
    free(info);
    wordlist_free(&saved);
    run_free(&r);
    remove(path);
}

// A damaged description or word list (checksum repaired, so the parser itself must
// catch it) is refused naming what is wrong, its bytes escaped.
static void test_bad_run_info_is_rejected(void **state) {
    (void)state;
    Run r;
    run_start(&r, 6);
    char good_path[64], bad_path[64];
    temp_path(good_path);
    temp_path(bad_path);
    WordList saved;
    save_with_run(&r, good_path, &saved);
    size_t size;
    unsigned char *good = read_bytes(good_path, &size);
    unsigned char *bad = xmalloc(size);
    size_t meta = section_payload(good, size, "META"), words = section_payload(good, size, "WORD");
    size_t meta_last = words - 16 - 1;  // WORD follows META at once
    // META starts "task=corpus\n"; WORD is u64 n_distinct, then "chat\nchien\nle\n...".
    struct {
        size_t at;
        const char *bytes;
        const char *expected;
    } cases[] = {
        {meta + 0, "TASK", "not key=value"},
        {meta + 4, "?", "not key=value"},
        {meta + 5, "\x1b", "not printable"},
        {0, "=", "does not end with a newline"},  // at: META's last byte (below)
        {words + 8, "noir\n", "out of order or repeated"},  // noir before chien
        {words + 8, "ch\x1b", "('ch\\x1Bt') is empty"},
        {words + 8, "\n", "is empty"},
        {words + 0, "\x01", "count saved is 1"},
        {words + 7, "\x80", "word count is missing or negative"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(bad, good, size);
        memcpy(bad + (cases[i].at ? cases[i].at : meta_last), cases[i].bytes, strlen(cases[i].bytes));
        if (cases[i].at == words + 0) memset(bad + words + 1, 0, 7);  // n_distinct = 1
        fix_checksum(bad, size);
        expect_rejected(bad_path, bad, size, cases[i].expected);
    }
    free(good), free(bad);
    wordlist_free(&saved);
    run_free(&r);
    remove(good_path), remove(bad_path);
}

// Issue 12: bytes of a crafted file quoted in an error (a section tag, a line of the
// embedded vocabulary) are escaped, so the file cannot send terminal escape sequences
// to the user's screen. The vocabulary line used to be printed raw.
static void test_crafted_bytes_are_escaped(void **state) {
    (void)state;
    Run r;
    run_start(&r, 4);
    char good_path[64], bad_path[64];
    temp_path(good_path);
    temp_path(bad_path);
    ErrorMessage err = {{0}};
    assert_true(checkpoint_save(good_path, &r.model, &r.tok, NULL, NULL, &err));
    size_t size;
    unsigned char *good = read_bytes(good_path, &size);
    unsigned char *bad = xmalloc(size);
    memcpy(bad, good, size);
    size_t vocab = section_payload(good, size, "VOCB");
    bad[vocab] = 0x1b;  // "bpe-vocab 1" becomes ESC "pe-vocab 1"
    fix_checksum(bad, size);
    expect_rejected(bad_path, bad, size, "got '\\x1Bpe-vocab 1'");
    memcpy(bad, good, size);
    size_t end = section_payload(good, size, "END ") - 16;
    memcpy(bad + end, "\x1b[2J", 4);  // a tag that clears the screen, in a cut-off section
    put_u64_at(bad + end + 8, 1000);
    expect_rejected(bad_path, bad, size, "section '\\x1B[2J'");
    free(good), free(bad);
    run_free(&r);
    remove(good_path), remove(bad_path);
}

// The word list of a corpus bigger than WORDLIST_MAX keeps the most frequent words and
// says it was capped; unseen words are named, the first few, then counted.
static void test_word_list_capped_and_unseen(void **state) {
    (void)state;
    size_t cap = (size_t)(WORDLIST_MAX + 10) * 12 + 64, len = 0;
    char *text = xmalloc(cap);
    len += (size_t)snprintf(text + len, cap - len, "often often\tx\n");
    for (int i = 0; i < WORDLIST_MAX + 10; i++) len += (size_t)snprintf(text + len, cap - len, "w%d\tx\n", i);
    WordList wl;
    wordlist_from_tsv(&wl, text, len);
    assert_int_equal(wl.n, WORDLIST_MAX);
    assert_int_equal(wl.n_distinct, WORDLIST_MAX + 11);
    assert_true(wordlist_capped(&wl));
    assert_true(wordlist_contains(&wl, "often", 5));
    assert_false(wordlist_contains(&wl, "x", 1));  // the target side is not the source
    char out[256];
    assert_int_equal(wordlist_unseen(&wl, "often zz1 zz2 zz1 zz3 zz4", 2, out, sizeof out), 4);
    assert_string_equal(out, "zz1, zz2 and 2 more");  // zz1 counted once
    free(text);
    wordlist_free(&wl);
}

// A save that cannot complete (here: PATH.tmp cannot be created) reports it and leaves
// the previous checkpoint at PATH as it was.
static void test_failed_save_keeps_old_file(void **state) {
    (void)state;
    Run r;
    run_start(&r, 7);
    char path[64], tmp[80];
    temp_path(path);
    ErrorMessage err = {{0}};
    assert_true(checkpoint_save(path, &r.model, &r.tok, NULL, NULL, &err));
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_int_equal(mkdir(tmp, 0700), 0);  // a directory where the temporary file goes
    float first = r.model.params.values[0];
    r.model.params.values[0] += 1.0f;
    assert_false(checkpoint_save(path, &r.model, &r.tok, NULL, NULL, &err));
    print_message("  %s\n", err.text);
    assert_non_null(strstr(err.text, tmp));
    rmdir(tmp);
    Model m = {0};
    assert_true(checkpoint_load(path, 0, &m, NULL, NULL, NULL, &err));
    assert_true(m.params.values[0] == first);
    model_free(&m);
    run_free(&r);
    remove(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_resume_is_exact),
        cmocka_unit_test(test_bad_files_are_rejected),
        cmocka_unit_test(test_bad_training_state_is_rejected),
        cmocka_unit_test(test_crafted_bytes_are_escaped),
        cmocka_unit_test(test_failed_save_keeps_old_file),
        cmocka_unit_test(test_run_info_round_trip),
        cmocka_unit_test(test_bad_run_info_is_rejected),
        cmocka_unit_test(test_word_list_capped_and_unseen),
    };
    return cmocka_run_group_tests_name("08 checkpoints", tests, NULL, NULL);
}
