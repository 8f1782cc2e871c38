// make_seeds.c: writes the seed corpora of the fuzz targets into tests/fuzz/corpus/
// (`make fuzz-seeds`), from the project itself: a real checkpoint of a tiny model (with
// vocabulary, training state and Adam moments), vocabularies, TSV files good and bad,
// texts in several scripts and broken UTF-8, and scorer inputs holding NaN and ±inf.
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "checkpoint.h"
#include "common.h"
#include "rng.h"
#include "tokenizer.h"

static const char *root = "tests/fuzz/corpus";

// Writes size bytes to root/target/name.
static void seed(const char *target, const char *name, const void *data, size_t size) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", root, target);
    mkdir(root, 0755);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/%s", root, target, name);
    FILE *f = xfopen(path, "wb");
    xfwrite(data, 1, size, f);
    xfclose(f);
}

// A NUL-terminated string as a seed (without the NUL).
static void seed_text(const char *target, const char *name, const char *text) {
    seed(target, name, text, strlen(text));
}

static const char FRENCH[] = "je suis étudiant\ti am a student\nle chat noir mange\tthe black cat eats\n"
                             "nous ne voyons pas la voiture rouge\twe do not see the red car\n";

// Vocabularies: bytes only, and 60 merges learned on FRENCH.
static void vocab_seeds(Tokenizer *trained) {
    Tokenizer bytes;
    tokenizer_init_bytes(&bytes);
    size_t len;
    char *text = tokenizer_to_string(&bytes, &len);
    seed("vocab", "bytes-only", text, len);
    free(text);
    tokenizer_free(&bytes);
    text = tokenizer_to_string(trained, &len);
    seed("vocab", "french-60-merges", text, len);
    free(text);
}

// A checkpoint of a tiny model with everything in it (run description and training word
// list too), and one with parameters only.
static void checkpoint_seeds(const Tokenizer *tok) {
    ModelConfig c = {.vocab_size = tokenizer_vocab_size(tok), .d_model = 8, .n_heads = 2, .d_ff = 8,
                     .n_layers = 1, .max_len = 8, .max_batch = 2, .dropout = 0.1f};
    Rng rng;
    rng_seed(&rng, 1, 2);
    Model m;
    model_init(&m, &c, &rng);
    AdamConfig ac = adam_config_paper(8);
    Adam opt;
    adam_init(&opt, &ac, m.params.n);
    opt.step = 3;
    TrainingState st = {.present = true, .step = 3, .epoch = 1, .batch_in_epoch = 2, .rng = rng};
    rng_seed(&st.data_rng, 1, 3);
    double *sum = xcalloc((size_t)m.params.n, sizeof(double));  // an average in progress (AVGS)
    for (long i = 0; i < m.params.n; i++) sum[i] = 2.0 * m.params.values[i];
    st.n_averaged = 2, st.param_sum = sum;
    ErrorMessage err;
    const char *paths[2] = {"/tmp/make_seeds-full.ckpt", "/tmp/make_seeds-slim.ckpt"};
    RunInfo *info = xcalloc(1, sizeof *info);
    run_info_set(info, "task", "corpus");
    run_info_set(info, "seed", "1");
    run_info_set(info, "source-name", "Français");
    run_info_set(info, "target-name", "English");
    run_info_set(info, "train", "my/train.tsv");
    run_info_set(info, "smoothing", "0.1");
    WordList words;
    wordlist_from_tsv(&words, FRENCH, sizeof FRENCH - 1);
    CheckpointParts full = {.model = &m, .tok = tok, .state = &st, .opt = &opt, .info = info, .words = &words};
    if (!checkpoint_save_parts(paths[0], &full, &err) || !checkpoint_save(paths[1], &m, NULL, NULL, NULL, &err))
        die("%s", err.text);
    wordlist_free(&words);
    free(info);
    for (int i = 0; i < 2; i++) {
        size_t len;
        char *bytes = read_whole_file(paths[i], &len, &err);
        seed("checkpoint", i == 0 ? "tiny-full" : "tiny-params-only", bytes, len);
        free(bytes);
        remove(paths[i]);
    }
    free(sum);
    adam_free(&opt);
    model_free(&m);
}

// TSV files: good pairs, every kind of bad line, Windows line ends, a NUL byte.
static void tsv_seeds(void) {
    seed_text("tsv", "good", FRENCH);
    seed_text("tsv", "bad-lines", "no tab\n\tempty source\nempty target\t\na\tb\tc\n\n"
                                  "much too long for sixteen bytes\tx\nok\tOK\n");
    seed_text("tsv", "crlf", "oui\tyes\r\nnon\tno\r\n");
    seed("tsv", "nul-byte", "a\0b\tc\n", 6);
}

// Texts for the round trip: several scripts, broken UTF-8, control bytes, a long run.
static void roundtrip_seeds(void) {
    seed_text("roundtrip", "french", "je suis étudiant, où est la gare ?");
    seed_text("roundtrip", "scripts", "我是学生 · Ελληνικά · русский · 🙂");
    seed("roundtrip", "broken-utf8", "\xff\xfe\xc3(\xe2\x82\x00z", 8);
    seed_text("roundtrip", "escape", "\x1b[31mred\x1b[0m\t\r\n");
    char run[300];
    memset(run, 'a', sizeof run);
    seed("roundtrip", "long-run", run, sizeof run);
}

// Scorer inputs: a beam size byte, a length byte, then floats (finite, NaN, ±inf).
static void search_seeds(void) {
    const float finite[] = {-1.0f, -0.5f, -2.0f, -0.1f, -3.0f, -0.7f, -1.5f};
    const float odd[] = {NAN, -INFINITY, INFINITY, -0.0f, 3e38f, -3e38f, 1e-45f};
    const float *sets[2] = {finite, odd};
    const char *names[2] = {"finite", "nan-inf"};
    for (int i = 0; i < 2; i++) {
        unsigned char b[2 + sizeof finite];
        b[0] = 3, b[1] = 7;
        memcpy(b + 2, sets[i], sizeof finite);
        seed("search", names[i], b, sizeof b);
    }
    unsigned char all_nan[2 + 4 * 7] = {3, 5};
    for (int i = 0; i < 7; i++) memcpy(all_nan + 2 + 4 * i, &(float){NAN}, 4);
    seed("search", "all-nan", all_nan, sizeof all_nan);
}

// Edits for fuzz_resume.c (its header has the format): an options byte, then 12-byte
// edits of the training state (field, operation, element index, 8 value bytes).
static void resume_seed(const char *name, unsigned char options, const unsigned char (*edits)[4],
                        const long long *values, int n) {
    unsigned char b[1 + 12 * 8] = {options};
    for (int i = 0; i < n; i++) {
        memcpy(b + 1 + 12 * i, edits[i], 4);
        for (int k = 0; k < 8; k++) b[1 + 12 * i + 4 + k] = (unsigned char)((unsigned long long)values[i] >> (8 * k));
    }
    seed("resume", name, b, 1 + 12 * (size_t)n);
}

// Seeds for fuzz_resume.c: no edit, then one each of the kinds of damage issue 12 found
// (field numbers are fuzz_resume.c's FIELDS; operation 0 sets, 3 picks a special value).
static void resume_seeds(void) {
    resume_seed("unchanged", 0, NULL, NULL, 0);
    resume_seed("average-off", 2, NULL, NULL, 0);
    const struct { const char *name; unsigned char edit[4]; long long value; } one[] = {
        {"batch-negative", {3, 0, 0, 0}, -1},   {"batch-past-plan", {3, 0, 0, 0}, 1000},
        {"rng-zero", {5, 0, 0, 0}, 0},           {"data-rng-even", {7, 0, 0, 0}, 2},
        {"step-both-zero", {0, 0, 0, 0}, 0},     {"step-both-huge", {0, 3, 0, 0}, 21},
        {"epoch-max", {2, 3, 0, 0}, 21},         {"beta1-one", {8, 3, 0, 0}, 1},
        {"eps-zero", {10, 3, 0, 0}, 0},          {"lr-scale-inf", {13, 3, 0, 0}, 16},
        {"moment-nan", {18, 3, 5, 0}, 18},       {"v-negative", {19, 3, 7, 0}, 2},
        {"average-count-huge", {20, 3, 0, 0}, 21}, {"average-sum-huge", {22, 3, 3, 0}, 14},
        {"warmup-zero", {12, 0, 0, 0}, 0},
    };
    for (size_t i = 0; i < sizeof one / sizeof one[0]; i++)
        resume_seed(one[i].name, 0, &one[i].edit, &one[i].value, 1);
    // An epoch near LONG_MAX with the batch at the end of the plan: the next step starts
    // a new epoch (epoch + 1 overflowed before trainer_init checked epoch <= step).
    const unsigned char two[2][4] = {{2, 3, 0, 0}, {3, 0, 0, 0}};
    const long long two_values[2] = {21, 0};
    for (long long batch = 1; batch <= 8; batch++) {
        char name[32];
        long long values[2] = {two_values[0], batch};
        snprintf(name, sizeof name, "epoch-max-batch-%lld", batch);
        resume_seed(name, 0, two, values, 2);
    }
}

int main(void) {
    Tokenizer trained;
    memset(&trained, 0, sizeof trained);
    tokenizer_train(&trained, FRENCH, sizeof FRENCH - 1, 60);
    vocab_seeds(&trained);
    checkpoint_seeds(&trained);
    tokenizer_free(&trained);
    tsv_seeds();
    roundtrip_seeds();
    search_seeds();
    resume_seeds();
    printf("wrote the seed corpora under %s/\n", root);
    return 0;
}
