// transformer.c: the project's command line: train a model (§5), translate with it
// (greedy or beam search, §6.1), score it on a test set, and benchmark training speed.
//
//   build/transformer train --task reverse
//   build/transformer translate --model data/fr-en.ckpt "je suis étudiant"
//   build/transformer eval --model reverse.ckpt --task reverse
//   build/transformer bench
//
// Every subcommand has --help. All the work is done by src/ (train.h, decode.h,
// checkpoint.h ...); this file parses options and prints.
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "attention.h"
#include "checkpoint.h"
#include "common.h"
#include "dataset.h"
#include "decode.h"
#include "loss.h"
#include "model.h"
#include "optimizer.h"
#include "rng.h"
#include "tasks.h"
#include "tensor.h"
#include "tokenizer.h"
#include "train.h"

// ===================================================================================
// Option parsing: one table per subcommand, so --help and the parser never disagree.
// ===================================================================================

typedef enum { OPT_INT, OPT_LONG, OPT_FLOAT, OPT_U64, OPT_STRING, OPT_FLAG } OptionType;

typedef struct {
    const char *name;   // "--steps"
    OptionType type;
    void *target;       // int*, long*, float*, uint64_t*, char[size], bool*
    size_t size;        // for OPT_STRING: the buffer size
    const char *help;
    double min, max;    // a number must lie in [min, max] (when min < max) ...
    bool above_min;     // ... or in (min, max] with this set
    bool given;         // set by parse_options when the option was on the command line
} Option;

// Ranges for the tables below (the limits are those a checkpoint accepts, checkpoint.c).
// (Each also ends the entry: `given` starts false.)
#define ANY 0, 0, false, false
#define RANGE(lo, hi) (lo), (hi), false, false
#define RANGE_ABOVE(lo, hi) (lo), (hi), true, false
#define THREADS_MAX 256

static const char *program = "transformer";

// The allowed range of o as text: "1..256" for integers, "[0, 1)"-style for numbers.
static void range_text(const Option *o, char *buf, size_t size) {
    if (o->type == OPT_FLOAT)
        snprintf(buf, size, "%s%g, %g]", o->above_min ? "(" : "[", o->min, o->max);
    else
        snprintf(buf, size, "%.0f..%.0f", o->min, o->max);
}

// The options table as --help lines: name, value kind, help text and the default.
static void print_options(const Option *opts, int n) {
    for (int i = 0; i < n; i++) {
        const Option *o = &opts[i];
        char def[300] = "";
        switch (o->type) {
        case OPT_INT: snprintf(def, sizeof def, "%d", *(int *)o->target); break;
        case OPT_LONG: snprintf(def, sizeof def, "%ld", *(long *)o->target); break;
        case OPT_FLOAT: snprintf(def, sizeof def, "%g", (double)*(float *)o->target); break;
        case OPT_U64: snprintf(def, sizeof def, "%llu", (unsigned long long)*(uint64_t *)o->target); break;
        case OPT_STRING: snprintf(def, sizeof def, "%s", (char *)o->target); break;
        case OPT_FLAG: break;
        }
        const char *arg = o->type == OPT_FLAG ? "" : o->type == OPT_STRING ? " S" : " N";
        char left[64];
        snprintf(left, sizeof left, "%s%s", o->name, arg);
        printf("  %-22s %s", left, o->help);
        if (o->min < o->max) {
            char range[80];
            range_text(o, range, sizeof range);
            printf(" (%s)", range);
        }
        if (o->type != OPT_FLAG && def[0]) printf(" [%s]", def);
        printf("\n");
    }
}

// True if v lies in o's range (any v when the option has none). A float option is
// compared with its limits rounded to float, as its value is: "--lr-scale 1e30" (the
// float 1.00000002e30) is the documented maximum, not above it.
static bool in_range(const Option *o, double v) {
    if (!(o->min < o->max)) return true;
    double lo = o->type == OPT_FLOAT ? (double)(float)o->min : o->min;
    double hi = o->type == OPT_FLOAT ? (double)(float)o->max : o->max;
    return (o->above_min ? v > lo : v >= lo) && v <= hi;
}

// Parses one number into o->target; false if malformed, out of the type's range
// (overflow) or out of o's range. *bad_range tells the last from the others.
static bool parse_number(const Option *o, const char *text, bool *bad_range) {
    char *end = NULL;
    errno = 0;
    *bad_range = false;
    if (o->type == OPT_FLOAT) {
        float v = strtof(text, &end);
        if (!*text || *end || errno == ERANGE || !isfinite(v)) return false;
        if (!in_range(o, v)) return !(*bad_range = true);
        *(float *)o->target = v;
    } else if (o->type == OPT_U64) {
        unsigned long long v = strtoull(text, &end, 10);
        if (!*text || *end || text[0] == '-' || errno == ERANGE) return false;
        *(uint64_t *)o->target = v;
    } else {
        long v = strtol(text, &end, 10);
        if (!*text || *end || errno == ERANGE || (o->type == OPT_INT && (v < INT_MIN || v > INT_MAX))) return false;
        if (!in_range(o, (double)v)) return !(*bad_range = true);
        if (o->type == OPT_INT) *(int *)o->target = (int)v;
        else *(long *)o->target = v;
    }
    return true;
}

// Parses one value into o->target; false with a message naming the option if malformed
// or out of range.
static bool parse_value(const Option *o, const char *text, const char *command) {
    if (o->type == OPT_FLAG) return true;
    if (o->type == OPT_STRING) {
        if (!text[0]) {  // every text option names something: a file, a task, a language
            fprintf(stderr, "%s %s: %s expects a value, got an empty string\n", program, command, o->name);
            return false;
        }
        if (strlen(text) >= o->size) {
            fprintf(stderr, "%s %s: %s is too long (at most %zu bytes)\n", program, command, o->name, o->size - 1);
            return false;
        }
        snprintf((char *)o->target, o->size, "%s", text);
        return true;
    }
    bool bad_range;
    if (parse_number(o, text, &bad_range)) return true;
    char shown[200], range[80] = "";
    escape_bytes(shown, sizeof shown, text, strlen(text));
    if (o->min < o->max) range_text(o, range, sizeof range);
    const char *what = o->type == OPT_FLOAT ? "a number" : o->type == OPT_U64 ? "a non-negative integer" : "an integer";
    fprintf(stderr, "%s %s: %s expects %s%s%s, got '%s'%s\n", program, command, o->name, what, range[0] ? " in " : "",
            range, shown, bad_range ? "" : " (not a number, or too large or too small to hold)");
    return false;
}

// Parses argv[first..argc): options from the table, anything else goes to positional[]
// (if allowed). "--" ends the options. Returns false after printing an error.
static bool parse_options(int argc, char **argv, int first, Option *opts, int n,
                          const char *command, char **positional, int *n_positional) {
    bool options_done = false;
    if (n_positional) *n_positional = 0;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (!options_done && strcmp(a, "--") == 0) {
            options_done = true;
            continue;
        }
        if (!options_done && a[0] == '-' && a[1] == '-') {
            Option *o = NULL;
            for (int j = 0; j < n; j++)
                if (strcmp(opts[j].name, a) == 0) o = &opts[j];
            if (!o) {
                fprintf(stderr, "%s %s: unknown option %s (see %s %s --help)\n", program, command, a, program, command);
                return false;
            }
            o->given = true;
            if (o->type == OPT_FLAG) {
                *(bool *)o->target = true;
                continue;
            }
            if (i + 1 >= argc) {
                fprintf(stderr, "%s %s: %s needs a value\n", program, command, a);
                return false;
            }
            if (!parse_value(o, argv[++i], command)) return false;
            continue;
        }
        if (!positional) {
            fprintf(stderr, "%s %s: unexpected argument '%s' (see %s %s --help)\n", program, command, a, program, command);
            return false;
        }
        positional[(*n_positional)++] = argv[i];
    }
    return true;
}

// True if --help or -h comes before any "--" in argv[first..argc).
static bool wants_help(int argc, char **argv, int first) {
    for (int i = first; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) return false;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return true;
    }
    return false;
}

// The value after the last `name` in argv, or NULL (for options read before the full
// parse; a repeated option counts as its last value, as in the full parse).
static const char *find_option(int argc, char **argv, int first, const char *name) {
    const char *value = NULL;  // the last one given, as the option table reads repeats
    for (int i = first; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0) value = argv[++i];
    return value;
}

// Sets the OpenMP thread count (threads > 0; a build without OpenMP ignores it).
static void set_threads(int threads) {
#ifdef _OPENMP
    if (threads > 0) omp_set_num_threads(threads);
#else
    (void)threads;
#endif
}

// ===================================================================================
// train
// ===================================================================================

// The one piece of global state: a signal handler can only reach a global. The loop
// reads it through TrainHooks.stop and saves a checkpoint before exiting.
static atomic_int interrupted;

// SIGINT (Ctrl-C), SIGTERM (kill, a shutdown) and SIGHUP (the terminal closed) handler:
// only records the signal in the flag the training loop polls between steps.
static void on_stop_signal(int sig) { atomic_store(&interrupted, sig); }

// `transformer train`: parses the options, builds the Trainer (or resumes one) and
// runs the loop; the exit status says how it ended.
// The option called name in opts (it must be there).
static const Option *option_named(const Option *opts, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (strcmp(opts[i].name, name) == 0) return &opts[i];
    die("no option %s", name);
}

// --out before training: an existing file is overwritten only with --force (or when it
// is the checkpoint being resumed); a stale PATH.tmp is removed; the directory must be
// writable now, not at the first save. False after printing the error.
static bool check_out_path(const char *out, const char *resume, bool force) {
    if (!out[0]) return true;
    struct stat st;
    if (stat(out, &st) == 0 && !S_ISREG(st.st_mode)) {  // --force replaces files, nothing else
        fprintf(stderr, "%s train: --out %s exists and is not a regular file (a directory or a device); "
                "give a file name\n", program, out);
        return false;
    }
    bool continuing = resume[0] && strcmp(resume, out) == 0;
    if (!continuing && !force && access(out, F_OK) == 0) {
        fprintf(stderr, "%s train: --out %s already exists; pass --force to overwrite it, or --resume %s "
                "to continue it\n", program, out, out);
        return false;
    }
    bool stale;
    ErrorMessage err;
    if (!checkpoint_prepare_path(out, &stale, &err)) {
        fprintf(stderr, "%s train: --out %s: %s\n", program, out, err.text);
        return false;
    }
    if (stale) fprintf(stderr, "%s train: removed %s.tmp, left behind by an interrupted save\n", program, out);
    return true;
}

// With --resume, options given on the command line must agree with the checkpoint (the
// model and the optimiser come from it), and --steps must lie beyond the steps done.
// False after printing the first conflict, naming the option.
static bool check_resume_conflicts(const Option *opts, int n, const Trainer *t, const char *resume) {
    const ModelConfig *c = &t->model.config;
    const AdamConfig *a = &t->adam.config;
    const struct { const char *name; double saved; } fixed[] = {
        {"--d-model", c->d_model}, {"--heads", c->n_heads}, {"--d-ff", c->d_ff}, {"--layers", c->n_layers},
        {"--dropout", c->dropout}, {"--max-len", c->max_len}, {"--warmup", a->warmup_steps},
        {"--lr-scale", a->lr_scale},
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        const Option *o = option_named(opts, n, fixed[i].name);
        if (!o->given) continue;
        double v = o->type == OPT_FLOAT ? *(const float *)o->target : *(const int *)o->target;
        if (o->type == OPT_FLOAT ? (float)v != (float)fixed[i].saved : v != fixed[i].saved) {
            fprintf(stderr, "%s train: %s %g conflicts with %s, which was trained with %g; a resumed run keeps "
                    "the checkpoint's value (leave %s out)\n", program, fixed[i].name, v, resume, fixed[i].saved,
                    fixed[i].name);
            return false;
        }
    }
    if (t->options.steps < t->state.step) {
        fprintf(stderr, "%s train: --steps %ld is below the %ld steps already done in %s: nothing to train (give "
                "a larger --steps)\n", program, t->options.steps, t->state.step, resume);
        return false;
    }
    return true;
}

// The options of a run's description (train.h train_options_describe) that shape its
// data or batches, so a resumed run must repeat them; the model's and the optimiser's own
// come from the checkpoint (check_resume_conflicts), and --steps, --threads, the logging,
// evaluation and checkpoint intervals, --out and --slim may change.
static const char *const RESUME_FIXED[] = {
    "task", "seed", "data", "train", "valid", "test", "merges", "smoothing", "batch-tokens",
    "batch-sentences", "average-last", "task-min-len", "task-max-len", "alphabet", "train-examples",
};

// Whether both run descriptions record the content ("train-file", "valid-file") of the
// corpus file of option `key` ("train" or "valid"): then the content is compared
// (check_file_content), not the path, which may differ for the same file.
static bool content_recorded(const RunInfo *saved, const RunInfo *now, const char *key) {
    char content_key[32];
    snprintf(content_key, sizeof content_key, "%s-file", key);
    return run_info_get(saved, content_key) && run_info_get(now, content_key);
}

// The corpus file of --train or --valid (`key`) must hold what it held when the
// checkpoint was trained (a description from before contents were recorded has no
// "-file" key: nothing to check). False after printing what changed.
static bool check_file_content(const RunInfo *saved, const RunInfo *now, const char *key, const char *resume) {
    char content_key[32];
    snprintf(content_key, sizeof content_key, "%s-file", key);
    const char *was = run_info_get(saved, content_key), *is = run_info_get(now, content_key);
    if (!was || !is || strcmp(was, is) == 0) return true;
    fprintf(stderr, "%s train: --%s %s conflicts with %s, which was trained on other data (%s then, %s now); "
            "a resumed run must use the same data (restore the file, or train anew without --resume)\n", program,
            key, run_info_get(now, key), resume, was, is);
    return false;
}

// Prints why option --key (now `is`, then `was`: run description values, "" when the
// option was left out) stops a resume of `resume`, and what to give instead. --merges may
// have come from --vocab-size, and then the message speaks of that.
static void print_resume_conflict(const Option *opts, int n, const char *key, const char *was, const char *is,
                                  const char *resume) {
    char name[40], now[600], then[600], fix[600];
    snprintf(name, sizeof name, "--%s", key);
    bool given = option_named(opts, n, name)->given;
    if (strcmp(key, "merges") == 0 && option_named(opts, n, "--vocab-size")->given) {
        long v = strtol(is, NULL, 10) + TOKEN_FIRST_MERGE, w = strtol(was, NULL, 10) + TOKEN_FIRST_MERGE;
        snprintf(now, sizeof now, "--vocab-size %ld (--merges %s)", v, is);
        snprintf(then, sizeof then, "with --vocab-size %ld (--merges %s)", w, was);
        snprintf(fix, sizeof fix, "give --vocab-size %ld", w);
    } else {
        bool from_train = strcmp(key, "task") == 0 && strcmp(is, "corpus") == 0;  // --train FILE says so
        if (is[0]) snprintf(now, sizeof now, "%s %s%s", name, is, from_train ? " (from --train)" : given ? "" : " (the default)");
        else snprintf(now, sizeof now, "leaving out %s", name);
        if (was[0]) snprintf(then, sizeof then, "with %s %s", name, was), snprintf(fix, sizeof fix, "give %s %s", name, was);
        else snprintf(then, sizeof then, "without %s", name), snprintf(fix, sizeof fix, "leave out %s", name);
    }
    fprintf(stderr, "%s train: %s conflicts with %s, which was trained %s; a resumed run must use the same "
            "data and batches (%s, or train anew without --resume)\n", program, now, resume, then, fix);
}

// Before a resume: the options that shape the data (RESUME_FIXED) must be those the
// checkpoint's run description records, given or by default; the language names not
// given are taken from it. A checkpoint without a description (an older file) resumes
// with a note. False after printing the first conflict, naming the option.
static bool check_resume_description(const Option *opts, int n, TrainOptions *o, const char *resume) {
    RunInfo *saved = xmalloc(sizeof *saved), *now = xmalloc(sizeof *now);
    ErrorMessage err;
    bool ok = checkpoint_load_run(resume, saved, NULL, &err);
    if (!ok) fprintf(stderr, "%s train: %s\n", program, err.text);
    if (ok && !saved->present)
        fprintf(stderr, "%s train: note: %s has no run description (an older checkpoint): --task, --seed and the "
                "data options could not be checked against it\n", program, resume);
    if (ok && saved->present) {
        const char *src = run_info_get(saved, "source-name"), *tgt = run_info_get(saved, "target-name");
        if (src && !option_named(opts, n, "--source-name")->given) snprintf(o->source_name, sizeof o->source_name, "%s", src);
        if (tgt && !option_named(opts, n, "--target-name")->given) snprintf(o->target_name, sizeof o->target_name, "%s", tgt);
        train_options_describe(o, now);
    }
    for (size_t i = 0; ok && saved->present && i < sizeof RESUME_FIXED / sizeof RESUME_FIXED[0]; i++) {
        const char *key = RESUME_FIXED[i], *was = run_info_get(saved, key), *is = run_info_get(now, key);
        if (!was || !is || strcmp(was, is) == 0) continue;
        if (content_recorded(saved, now, key)) continue;  // compared by content below
        print_resume_conflict(opts, n, key, was, is, resume);
        ok = false;
    }
    for (int k = 0; ok && saved->present && k < 2; k++) ok = check_file_content(saved, now, k == 0 ? "train" : "valid", resume);
    free(now);
    free(saved);
    return ok;
}

// An option that only another kind of task reads would do nothing, silently: the
// synthetic tasks' letters and lengths, fr-en's --data, the BPE --merges of fr-en and
// your own corpus. Refused, naming the option and the tasks it is for. False after
// printing the error. (--vocab-size has its own check, in vocab_size_to_merges.)
static bool check_task_options_given(const Option *opts, int n, const char *task) {
    bool corpus = strcmp(task, "corpus") == 0, fr_en = strcmp(task, "fr-en") == 0;
    static const struct { const char *name, *for_which; int kinds; } only[] = {
        // kinds: 1 synthetic, 2 fr-en, 4 your own corpus
        {"--alphabet", "the synthetic tasks (copy, reverse, sort)", 1},
        {"--task-min-len", "the synthetic tasks (copy, reverse, sort)", 1},
        {"--task-max-len", "the synthetic tasks (copy, reverse, sort)", 1},
        {"--train-examples", "the synthetic tasks (copy, reverse, sort)", 1},
        {"--data", "--task fr-en (your own corpus is named by --train/--valid)", 2},
        {"--merges", "fr-en and your own corpus (a synthetic task has one token per letter)", 2 | 4},
    };
    int kind = corpus ? 4 : fr_en ? 2 : 1;
    for (size_t i = 0; i < sizeof only / sizeof only[0]; i++) {
        if ((only[i].kinds & kind) || !option_named(opts, n, only[i].name)->given) continue;
        fprintf(stderr, "%s train: %s applies to %s, not to %s\n", program, only[i].name, only[i].for_which,
                corpus ? "your own corpus (--train)" : task);
        return false;
    }
    return true;
}

// --vocab-size V is the other way to say --merges: the vocabulary is 259 tokens (3
// specials, 256 bytes) plus one per merge (tokenizer.h), so merges = V - 259 (BPE may
// stop early on a small text: V is an upper bound). Only for BPE tasks, and not with
// --merges too. False after printing the error.
static bool vocab_size_to_merges(const Option *opts, int n, int vocab_size, TrainOptions *o) {
    if (!option_named(opts, n, "--vocab-size")->given) return true;
    if (option_named(opts, n, "--merges")->given) {
        fprintf(stderr, "%s train: give --vocab-size or --merges, not both (V = 259 + merges)\n", program);
        return false;
    }
    if (strcmp(o->task, "fr-en") != 0 && strcmp(o->task, "corpus") != 0) {
        fprintf(stderr, "%s train: --vocab-size applies to fr-en or your own corpus (--train); task %s has a fixed "
                "vocabulary\n", program, o->task);
        return false;
    }
    o->merges = vocab_size - TOKEN_FIRST_MERGE;
    return true;
}

// The lines `transformer train` prints before its first step: the data (and, for your
// own corpus, what was dropped from each file), the model's dimensions, the optimiser.
static void print_train_setup(const Trainer *t, const TrainOptions *o, bool corpus, const char *resume) {
    const ModelConfig *c = &t->model.config;
    printf("task %s: %d training pairs, %d validation, %d test", o->task, t->train.n_pairs, t->valid.n_pairs,
           t->test.n_pairs);
    if (t->train.n_too_long) printf(" (%d too long for max_len %d, dropped)", t->train.n_too_long, c->max_len);
    if (corpus) {
        char line[600];
        load_report_format(line, sizeof line, o->train_path, &t->train_report, c->max_len);
        printf("\n%s", line);
        load_report_format(line, sizeof line, o->valid_path, &t->valid_report, c->max_len);
        printf("\n%s", line);
        if (o->test_path[0]) {
            load_report_format(line, sizeof line, o->test_path, &t->test_report, c->max_len);
            printf("\n%s", line);
        }
    }
    printf("\nmodel: V=%d d_model=%d h=%d d_ff=%d N=%d max_len=%d, %ld parameters; dropout %.2g, smoothing %.2g\n",
           c->vocab_size, c->d_model, c->n_heads, c->d_ff, c->n_layers, c->max_len, t->model.params.n,
           (double)c->dropout, (double)o->smoothing);
    printf("Adam β1=%.2g β2=%.3g ε=%.0e, warmup %d, lr scale %g; %ld steps, batches of <= %ld tokens, %d thread%s, seed %llu\n",
           (double)t->adam.config.beta1, (double)t->adam.config.beta2, (double)t->adam.config.eps,
           t->adam.config.warmup_steps, (double)t->adam.config.lr_scale, o->steps, o->batch_tokens, o->threads,
           o->threads == 1 ? "" : "s", (unsigned long long)o->seed);
    if (resume[0]) printf("resumed from %s at step %ld (epoch %ld, %ld batch%s into it)\n", resume,
                          t->state.step, t->state.epoch + 1, t->state.batch_in_epoch,  // epochs count from 1
                          t->state.batch_in_epoch == 1 ? "" : "es");
}

// Trains to the last step, or until Ctrl-C (which saves a checkpoint to out_path and
// stops); returns the exit status `transformer train --help` documents.
static int train_until_done(Trainer *t, const char *out_path) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sa.sa_flags = SA_RESETHAND;  // a second Ctrl-C (or kill) ends it at once
    sigemptyset(&sa.sa_mask);
    const int stop_signals[3] = {SIGINT, SIGTERM, SIGHUP};
    for (int i = 0; i < 3; i++) sigaction(stop_signals[i], &sa, NULL);

    ErrorMessage err;
    TrainHooks hooks = {.stop = &interrupted};
    switch (train_run(t, &hooks, stdout, &err)) {
    case TRAIN_DONE:
        printf("done: %ld step%s in %.1f s of training\n", t->state.step, t->state.step == 1 ? "" : "s",
               t->train_seconds);
        return 0;
    case TRAIN_STOPPED: {  // 128 + the signal, what a shell reports for a program it ended
        int sig = atomic_load(&interrupted);
        printf("stopped by %s; continue with: --resume %s\n",
               sig == SIGTERM ? "SIGTERM" : sig == SIGHUP ? "SIGHUP" : "Ctrl-C", out_path);
        return 128 + sig;
    }
    case TRAIN_NONFINITE: return 2;
    case TRAIN_FAILED: fprintf(stderr, "%s train: %s\n", program, err.text); return 1;
    }
    return 1;
}

// `transformer train`: reads its options (a table: --help prints it), checks --out and
// --resume, builds the Trainer (src/train.h) and trains.
static int cmd_train(int argc, char **argv) {
    const char *task = find_option(argc, argv, 2, "--task");
    bool corpus = find_option(argc, argv, 2, "--train") != NULL;
    if (corpus && task && strcmp(task, "corpus") != 0) {
        fprintf(stderr, "%s train: --train FILE trains on your own corpus; leave out --task %s\n", program, task);
        return 1;
    }
    if (!corpus && task && strcmp(task, "corpus") == 0) {
        fprintf(stderr, "%s train: your own corpus is given with --train FILE --valid FILE (not --task corpus)\n",
                program);
        return 1;
    }
    if (corpus) task = "corpus";
    bool help = wants_help(argc, argv, 2);
    TrainOptions o;
    ErrorMessage err;
    if (!train_options_default(&o, task ? task : "reverse", &err)) {
        fprintf(stderr, "%s train: %s\n", program, err.text);
        return 1;
    }
    char task_buf[16], resume[256] = "";
    snprintf(task_buf, sizeof task_buf, "%s", o.task);
    bool dummy_help = false, force = false;
    int vocab_size = 0;
    Option opts[] = {
        {"--task", OPT_STRING, task_buf, sizeof task_buf, "copy, reverse, sort or fr-en", ANY},
        {"--steps", OPT_LONG, &o.steps, 0, "optimiser steps in total", RANGE(1, 1e9)},
        {"--seed", OPT_U64, &o.seed, 0, "seed of every random choice (data, init, dropout)", ANY},
        {"--threads", OPT_INT, &o.threads, 0, "OpenMP threads at most: each step runs on 1 or N, whichever its timing finds faster", RANGE(1, THREADS_MAX)},
        {"--out", OPT_STRING, o.out_path, sizeof o.out_path, "checkpoint file (written atomically)", ANY},
        {"--force", OPT_FLAG, &force, 0, "overwrite an existing --out file (else refused)", ANY},
        {"--resume", OPT_STRING, resume, sizeof resume, "continue from this checkpoint (same options; --out defaults to it)", ANY},
        {"--d-model", OPT_INT, &o.d_model, 0, "d_model, width of the model (§3); even, a multiple of --heads", RANGE(2, 65536)},
        {"--heads", OPT_INT, &o.n_heads, 0, "h, attention heads (§3.2.2); d_k = d_model/h", RANGE(1, 1024)},
        {"--d-ff", OPT_INT, &o.d_ff, 0, "d_ff, inner width of the feed-forward layers (§3.3)", RANGE(1, 262144)},
        {"--layers", OPT_INT, &o.n_layers, 0, "N, encoder layers and decoder layers", RANGE(1, 128)},
        {"--dropout", OPT_FLOAT, &o.dropout, 0, "P_drop (§5.4)", RANGE(0, 0.99)},
        {"--smoothing", OPT_FLOAT, &o.smoothing, 0, "label smoothing ε_ls (§5.4)", RANGE(0, 0.99)},
        {"--batch-tokens", OPT_LONG, &o.batch_tokens, 0, "padded tokens per batch (§5.1; 0 = no limit)", RANGE(0, 1 << 22)},
        {"--batch-sentences", OPT_INT, &o.batch_sentences, 0, "at most this many sentences per batch (0 = no limit)", RANGE(0, 65536)},
        {"--warmup", OPT_INT, &o.warmup, 0, "warmup_steps of Eq. (3) (§5.3)", RANGE(1, 1e9)},
        {"--lr-scale", OPT_FLOAT, &o.lr_scale, 0, "multiplies the Eq. (3) learning rate", RANGE_ABOVE(0, 1e30)},
        {"--max-len", OPT_INT, &o.max_len, 0, "longest row in tokens (0: from the task)", RANGE(0, 16384)},
        {"--merges", OPT_INT, &o.merges, 0, "fr-en or --train: BPE merges learned on the training text (§5.1)", RANGE(0, 1000000)},
        {"--vocab-size", OPT_INT, &vocab_size, 0, "fr-en or --train: vocabulary size V, at most (= 259 + merges; instead of --merges)", RANGE(TOKEN_FIRST_MERGE, 1000000 + TOKEN_FIRST_MERGE)},
        {"--data", OPT_STRING, o.data_dir, sizeof o.data_dir, "fr-en: directory holding fr-en/*.tsv", ANY},
        {"--train", OPT_STRING, o.train_path, sizeof o.train_path, "your own corpus: source<TAB>target lines", ANY},
        {"--valid", OPT_STRING, o.valid_path, sizeof o.valid_path, "with --train: validation pairs (required)", ANY},
        {"--test", OPT_STRING, o.test_path, sizeof o.test_path, "with --train: test pairs (optional)", ANY},
        {"--source-name", OPT_STRING, o.source_name, sizeof o.source_name, "the source language's name (kept in the checkpoint)", ANY},
        {"--target-name", OPT_STRING, o.target_name, sizeof o.target_name, "the target language's name", ANY},
        {"--task-min-len", OPT_INT, &o.task_min_len, 0, "synthetic: shortest sequence", RANGE(1, TASK_MAX_LEN)},
        {"--task-max-len", OPT_INT, &o.task_max_len, 0, "synthetic: longest sequence", RANGE(1, TASK_MAX_LEN)},
        {"--alphabet", OPT_INT, &o.alphabet, 0, "synthetic: letters used", RANGE(1, TASK_MAX_ALPHABET)},
        {"--train-examples", OPT_INT, &o.train_examples, 0, "synthetic: training pairs generated", RANGE(1, 1e8)},
        {"--log-every", OPT_INT, &o.log_every, 0, "progress line every N steps", RANGE(1, 1e9)},
        {"--eval-every", OPT_INT, &o.eval_every, 0, "validation line every N steps (0: at the end)", RANGE(0, 1e9)},
        {"--eval-sentences", OPT_INT, &o.eval_sentences, 0, "validation pairs decoded", RANGE(1, 1e7)},
        {"--checkpoint-every", OPT_LONG, &o.checkpoint_every, 0, "checkpoint every N steps (0: at the end)", RANGE(0, 1e9)},
        {"--average-last", OPT_LONG, &o.average_last, 0, "average the parameters of the last N steps (§6.1; 0 = off)", RANGE(0, 1e9)},
        {"--slim", OPT_FLAG, &o.slim, 0, "final checkpoint without optimiser state (smaller; no resume)", ANY},
        {"--help", OPT_FLAG, &dummy_help, 0, "this help", ANY},
    };
    int n_opts = (int)(sizeof opts / sizeof opts[0]);
    if (help) {
        printf("usage: %s train --task copy|reverse|sort|fr-en [options]\n"
               "       %s train --train FILE --valid FILE [--test FILE] [options]\n\n"
               "Trains an encoder-decoder Transformer (§5): label-smoothed cross-entropy, Adam with\n"
               "the warmup schedule of Eq. (3), dropout. Prints a progress line every --log-every\n"
               "steps and a validation line every --eval-every steps; writes --out atomically every\n"
               "--checkpoint-every steps and at the end. Ctrl-C (or kill's SIGTERM, or SIGHUP) saves\n"
               "a checkpoint and stops; run the same command with --resume FILE to continue exactly\n"
               "where it stopped.\n\n"
               "Your own corpus: --train/--valid/--test name tab-separated files, one pair per line,\n"
               "source<TAB>target, any languages and scripts (UTF-8; case and punctuation kept). A BPE\n"
               "vocabulary of 256 bytes + 3 specials + --merges (or --vocab-size V) is learned on the\n"
               "training text (§5.1). Lines that are malformed, have an empty side or are longer than\n"
               "--max-len tokens are dropped and reported (counts and first line numbers). Defaults\n"
               "are those of fr-en.\n"
               "An existing --out is only overwritten with --force. Exit status: 0 done, 1 error,\n"
               "2 NaN/Inf or divergence (nothing saved), 130 Ctrl-C, 143 SIGTERM, 129 SIGHUP\n"
               "(checkpoint saved).\n\n"
               "options (defaults shown are for %s%s):\n", program, program,
               strcmp(o.task, "corpus") == 0 ? "your own corpus, --train FILE" : "--task ",
               strcmp(o.task, "corpus") == 0 ? "" : o.task);
        print_options(opts, n_opts);
        return 0;
    }
    if (!parse_options(argc, argv, 2, opts, n_opts, "train", NULL, NULL)) return 1;
    if (!task) {
        fprintf(stderr, "%s train: --task (copy, reverse, sort or fr-en) or --train FILE --valid FILE is required\n",
                program);
        return 1;
    }
    if (o.batch_tokens == 0 && o.batch_sentences == 0) {
        fprintf(stderr, "%s train: --batch-tokens 0 and --batch-sentences 0 leave batches without a limit; give "
                "one of them above 0\n", program);
        return 1;
    }
    if (corpus && !o.valid_path[0]) {
        fprintf(stderr, "%s train: --train FILE needs --valid FILE (pairs to measure progress on)\n", program);
        return 1;
    }
    if (!check_task_options_given(opts, n_opts, o.task) || !vocab_size_to_merges(opts, n_opts, vocab_size, &o))
        return 1;
    // --resume FILE without --out continues in FILE (not in the task's default file)
    if (resume[0] && !option_named(opts, n_opts, "--out")->given)
        snprintf(o.out_path, sizeof o.out_path, "%s", resume);
    set_threads(o.threads);
    if (!check_out_path(o.out_path, resume, force)) return 1;

    if (resume[0] && !check_resume_description(opts, n_opts, &o, resume)) return 1;

    double t0 = wall_seconds();
    Trainer t;
    if (!trainer_init(&t, &o, resume[0] ? resume : NULL, &err)) {
        fprintf(stderr, "%s train: %s\n", program, err.text);
        trainer_free(&t);
        return 1;
    }
    if (resume[0] && !check_resume_conflicts(opts, n_opts, &t, resume)) {
        trainer_free(&t);
        return 1;
    }
    print_train_setup(&t, &o, corpus, resume);
    printf("setup took %.1f s\n", wall_seconds() - t0);
    fflush(stdout);
    int status = train_until_done(&t, o.out_path);
    trainer_free(&t);
    return status;
}

// ===================================================================================
// translate
// ===================================================================================

typedef struct {
    Model model;
    Tokenizer tok;
    int beam;
    float alpha;
    bool attention;
    int layer, head;  // which cross-attention to draw; head -1 = average of heads
    bool show_hyps;
    bool seen_byte[256];  // bytes inside some merged token: letters the training text had
    WordList words;       // the training sources' words (words.present false: not known)
} Translator;

// Marks the bytes that occur in a merged token (two bytes or more): BPE learns merges from
// the training text only (§5.1), so a byte in none of them was never seen in training.
static void find_seen_bytes(Translator *tr) {
    for (int id = 0; id < tokenizer_vocab_size(&tr->tok); id++) {
        int len;
        const unsigned char *b = tokenizer_token_bytes(&tr->tok, id, &len);
        for (int i = 0; b && len >= 2 && i < len; i++) tr->seen_byte[b[i]] = true;
    }
}

// Appends s (n bytes, escaped) to the list in buf unless it is already there or full.
static void add_to_list(char *buf, size_t size, const char *s, size_t n) {
    char item[96];
    escape_name(item, sizeof item, s, n);
    if (strstr(buf, item) || strlen(buf) + strlen(item) + 8 > size) return;
    if (buf[0]) strcat(buf, ", ");
    strcat(buf, item);
}

// Warns on stderr when line (input line_no) has words the training sources never had,
// naming the first few (escaped), if the checkpoint holds its training word list (a
// vocabulary cannot tell: BPE splits many training words into pieces too).
static void warn_unseen_words(const Translator *tr, const char *line, int line_no) {
    if (!tr->words.present) return;
    char names[600];
    int unseen = wordlist_unseen(&tr->words, line, 5, names, sizeof names);
    if (unseen == 0) return;
    fprintf(stderr, "%s translate: warning: input %d has %s never seen in training: %s%s\n", program, line_no,
            unseen == 1 ? "a word" : "words", names,
            wordlist_capped(&tr->words) ? " (the checkpoint keeps only the most frequent training words, so a rare "
                                          "one may be among them)" : "");
}

// Warns on stderr when input line_no (len bytes) is empty or has letters no training
// text had (naming them): the model then still answers, confidently and wrongly.
static void warn_unfamiliar(const Translator *tr, const char *line, size_t len, int line_no) {
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t')) i++;
    if (i == len) {
        fprintf(stderr, "%s translate: warning: input %d is empty\n", program, line_no);
        return;
    }
    char letters[256] = "";
    for (size_t c = 0; c < len; c += (size_t)utf8_char_len(line + c)) {
        int n = utf8_char_len(line + c);
        for (int k = 0; k < n; k++)
            if (line[c] != ' ' && !tr->seen_byte[(unsigned char)line[c + k]])
                add_to_list(letters, sizeof letters, line + c, (size_t)n);
    }
    if (letters[0])
        fprintf(stderr, "%s translate: warning: input %d has letters never seen in training: %s\n", program,
                line_no, letters);
    warn_unseen_words(tr, line, line_no);
}

// With the training word list, a letter is seen if some training word has it: this
// catches what the merges miss, punctuation above all, which BPE never merges with
// letters (tokenizer.h), so "." of a corpus written as sentences is no stranger.
static void mark_word_letters(Translator *tr) {
    for (int i = 0; i < tr->words.n; i++)
        for (const char *c = tr->words.words[i]; *c; c++) tr->seen_byte[(unsigned char)*c] = true;
}

// A synthetic task's model (byte tokens, no merges) saw exactly the letters a, b, ... of
// its alphabet: those are its seen letters (find_seen_bytes has no merges to go by).
static void mark_alphabet(Translator *tr, int alphabet) {
    memset(tr->seen_byte, 0, sizeof tr->seen_byte);
    for (int i = 0; i < alphabet && i < 26; i++) tr->seen_byte['a' + i] = true;
}

// "PROGRAM COMMAND: model: French → English, task fr-en, N words seen in training" on
// stderr, from a checkpoint's run description (nothing if it has none) and word list.
static void print_model_line(const char *command, const RunInfo *info, const WordList *words) {
    const char *src = run_info_get(info, "source-name"), *tgt = run_info_get(info, "target-name");
    const char *task = run_info_get(info, "task");
    if (!info->present || !src || !tgt) return;
    fprintf(stderr, "%s %s: model: %s → %s, task %s", program, command, src, tgt, task ? task : "?");
    if (words && words->present) fprintf(stderr, ", %d words seen in training", words->n);
    fprintf(stderr, "\n");
}

// Reads the run description and the word list of the checkpoint at path into tr and
// says on stderr what the model translates ("model: French → English, ..."), or, for an
// older checkpoint without them, that unseen words cannot be checked (once).
static void describe_model(Translator *tr, const char *path) {
    RunInfo *info = xmalloc(sizeof *info);
    ErrorMessage err;
    if (!checkpoint_load_run(path, info, &tr->words, &err)) info->present = false;
    print_model_line("translate", info, &tr->words);
    const char *task = run_info_get(info, "task");
    bool translation = !task || task_is_translation(task);
    const char *alphabet = run_info_get(info, "alphabet");
    if (!translation && alphabet) mark_alphabet(tr, atoi(alphabet));
    if (translation && tr->words.present) mark_word_letters(tr);
    if (!tr->words.present && translation)
        fprintf(stderr, "%s translate: note: %s holds no training word list (an older checkpoint): words never "
                "seen in training are not checked\n", program, path);
    free(info);
}

// Prints the cross-attention of the model producing hyp from src (n tokens) as a
// heatmap (attention.h attention_print_rows): the chosen layer, one head or the mean of
// all heads; a (T,S) matrix with T = the decoder steps of hyp and S = n.
static void print_cross_attention(Translator *tr, const int *src, int n, const Hypothesis *hyp) {
    Model *m = &tr->model;
    int T = decode_rerun_attention(m, src, n, hyp);
    int rows, cols;
    int layer = tr->layer < 0 ? m->config.n_layers - 1 : tr->layer;
    const float *w = model_attention(m, ATTN_CROSS, layer, &rows, &cols);
    int h = m->config.n_heads;
    float *avg = xcalloc((size_t)rows * cols, sizeof(float));
    for (int k = 0; k < h; k++) {
        if (tr->head >= 0 && k != tr->head) continue;
        for (long i = 0; i < (long)rows * cols; i++) avg[i] += w[(long)k * rows * cols + i];
    }
    if (tr->head < 0) vec_scale(avg, 1.0f / (float)h, (long)rows * cols);
    // Row r is the query at decoder input r (<s> y1 ...), which predicts output r:
    // label rows with the token produced there.
    char(*lr)[TOKEN_STRING_MAX] = xcalloc((size_t)rows, sizeof(*lr));
    char(*lc)[TOKEN_STRING_MAX] = xcalloc((size_t)cols, sizeof(*lc));
    const char **row_labels = xmalloc(sizeof(char *) * (size_t)rows);
    const char **col_labels = xmalloc(sizeof(char *) * (size_t)cols);
    for (int r = 0; r < rows; r++) {
        int produced = r < hyp->length ? hyp->tokens[r] : TOKEN_EOS;
        if (r < T) tokenizer_token_string(&tr->tok, produced, lr[r], TOKEN_STRING_MAX);
        row_labels[r] = lr[r];
    }
    for (int c = 0; c < cols; c++) {
        tokenizer_token_string(&tr->tok, src[c], lc[c], TOKEN_STRING_MAX);
        col_labels[c] = lc[c];
    }
    if (tr->head < 0)
        printf("cross-attention, layer %d of %d, average of %d heads (keys: source tokens):\n", layer + 1,
               m->config.n_layers, h);
    else
        printf("cross-attention, layer %d of %d, head %d (keys: source tokens):\n", layer + 1, m->config.n_layers,
               tr->head + 1);
    attention_print_rows(stdout, avg, rows, cols, row_labels, col_labels, "rows: the token each step predicts");
    printf("\n");
    free(col_labels);
    free(row_labels);
    free(lc);
    free(lr);
    free(avg);
}

// text as translate prints it: as it is when it is printable text, else with every byte
// that is not (a newline, a control character, invalid UTF-8: what a model that has
// learned little can produce) written \xNN, so that each input still gives exactly one
// output line and nothing reaches the terminal raw. Warns once, naming input line_no
// (0: no warning). Returns out (size bytes).
static const char *printable_output(char *out, size_t size, const char *text, int line_no) {
    if (text_is_printable(text, strlen(text))) return text;
    if (line_no > 0)
        fprintf(stderr, "%s translate: warning: translation %d holds bytes that are not text (shown as \\xNN)\n",
                program, line_no);
    return escape_bytes(out, size, text, strlen(text));
}

// Translates one line and prints it; with --attention also its cross-attention.
static void translate_line(Translator *tr, const char *line, int line_no) {
    Model *m = &tr->model;
    const int max_len = m->config.max_len;
    size_t len = strlen(line);
    warn_unfamiliar(tr, line, len, line_no);
    if (strspn(line, " \t") == len) {  // an empty (or blank) line translates to an empty line,
        printf("\n");                   // keeping the lines aligned
        return;
    }
    int *src = xmalloc(sizeof(int) * (len + 1));
    int n = tokenizer_encode(&tr->tok, line, len, src, (int)len);
    if (n + 1 > max_len) {
        fprintf(stderr, "%s translate: warning: input %d has %d tokens; the model reads at most %d, the rest is cut\n",
                program, line_no, n, max_len - 1);
        n = max_len - 1;
    }
    src[n++] = TOKEN_EOS;  // the source row is x + </s> (dataset.h)

    Hypothesis hyps[BEAM_MAX];
    int n_hyps;
    if (tr->beam <= 1) {
        decode_greedy(&hyps[0], m, src, n);
        n_hyps = 1;
    } else {
        n_hyps = decode_beam(hyps, BEAM_MAX, m, src, n, tr->beam, tr->alpha);
    }
    size_t cap = (size_t)DECODE_MAX_TOKENS * TOKENIZER_MAX_CHUNK + 1;
    char *text = xmalloc(cap);
    char *shown = xmalloc(4 * cap);
    tokenizer_decode(&tr->tok, hyps[0].tokens, hyps[0].length, text, cap);
    printf("%s\n", printable_output(shown, 4 * cap, text, line_no));
    if (tr->show_hyps) {
        for (int i = 0; i < n_hyps; i++) {
            tokenizer_decode(&tr->tok, hyps[i].tokens, hyps[i].length, text, cap);
            printf("  hypothesis %d: score %.4f  log p %.4f  %d tokens%s  %s\n", i + 1, (double)hyps[i].score,
                   (double)hyps[i].log_prob, hyps[i].length, hyps[i].finished ? " + </s>" : " (cut at the length limit)",
                   printable_output(shown, 4 * cap, text, 0));
        }
    }
    free(shown);
    if (tr->attention) print_cross_attention(tr, src, n, &hyps[0]);
    fflush(stdout);
    free(text);
    free(src);
}

// `transformer translate`: loads a checkpoint and translates each argument (or each
// line of standard input), with --attention heatmaps and --hypotheses on request.
// translate and eval: the KV cache (lesson 09) is on unless --full-decode.
#define FULL_DECODE_HELP "decode without the KV cache, rerunning the decoder over the whole prefix each step (the reference: same output, slower)"

// Translates each line of standard input (line ends \n or \r\n), numbered from 1 for
// the warnings; a NUL byte cuts its line short, with a warning.
static void translate_stdin(Translator *tr) {
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    int line_no = 0;
    while ((got = getline(&line, &cap, stdin)) >= 0) {
        line_no++;
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r')) line[--got] = 0;
        if (strlen(line) < (size_t)got)
            fprintf(stderr, "%s translate: warning: input %d contains a NUL byte; the rest of the line "
                    "is ignored\n", program, line_no);
        translate_line(tr, line, line_no);
    }
    free(line);
}

// `transformer translate --help`: what it does and warns about, then the options.
static void print_translate_help(const Option *opts, int n_opts) {
    printf("usage: %s translate --model FILE [options] [SENTENCE ...]\n\n"
           "Translates each SENTENCE, or each line of standard input when none is given, and\n"
           "prints one translation per line (a blank line gives an empty line; bytes of an output\n"
           "that are not text, which a little-trained model can produce, are shown as \\xNN). Beam search\n"
           "with beam 4 and length penalty 0.6 by default, as in §6.1; the output is at most\n"
           "input length + 50 tokens. Input longer than the model's max_len is cut (warning).\n"
           "A model knows only what it was trained on: the shipped data/fr-en.ckpt (French →\n"
           "English) knows the toy grammar of data/fr-en (about 630 lower-case French words, no\n"
           "punctuation, no capitals) and turns anything else into confident nonsense. So\n"
           "translate first says on standard error what the model translates (\"model: French →\n"
           "English, ...\", from its checkpoint), then warns when a sentence is empty, contains a\n"
           "NUL byte, has letters no training text had, or has words the training sources never\n"
           "had (the first few named; the checkpoint keeps its training word list). A checkpoint\n"
           "from before word lists were kept gets one note that words cannot be checked.\n\n"
           "options:\n", program);
    print_options(opts, n_opts);
}

// `transformer translate`: loads a model and translates the sentences given (or stdin's
// lines), greedy or with beam search, with the KV cache unless --full-decode.
static int cmd_translate(int argc, char **argv) {
    char model_path[512] = "";
    // One thread by default: decoding works on a few rows at a time, too little to share.
    int beam = BEAM_SIZE_DEFAULT, threads = 1, layer = 0, head = 0;
    float alpha = LENGTH_PENALTY_DEFAULT;
    bool attention = false, hyps = false, full_decode = false, help = false;
    Option opts[] = {
        {"--model", OPT_STRING, model_path, sizeof model_path, "checkpoint to translate with (required)", ANY},
        {"--beam", OPT_INT, &beam, 0, "beam size, 1 = greedy (§6.1)", RANGE(1, BEAM_MAX)},
        {"--alpha", OPT_FLOAT, &alpha, 0, "length penalty α (§6.1, Wu et al. 2016)", RANGE(0, 100)},
        {"--attention", OPT_FLAG, &attention, 0, "print each sentence's cross-attention as a heatmap", ANY},
        {"--layer", OPT_INT, &layer, 0, "with --attention: decoder layer, 1..N (0 = last)", RANGE(0, 128)},
        {"--head", OPT_INT, &head, 0, "with --attention: head, 1..h (0 = average of all heads)", RANGE(0, 1024)},
        {"--hypotheses", OPT_FLAG, &hyps, 0, "also print the beam's hypotheses and their scores", ANY},
        {"--full-decode", OPT_FLAG, &full_decode, 0, FULL_DECODE_HELP, ANY},
        {"--threads", OPT_INT, &threads, 0, "OpenMP threads", RANGE(1, THREADS_MAX)},
        {"--help", OPT_FLAG, &help, 0, "this help", ANY},
    };
    int n_opts = (int)(sizeof opts / sizeof opts[0]);
    if (wants_help(argc, argv, 2)) {
        print_translate_help(opts, n_opts);
        return 0;
    }
    char **sentences = xmalloc(sizeof(char *) * (size_t)argc);
    int n_sentences = 0;
    if (!parse_options(argc, argv, 2, opts, n_opts, "translate", sentences, &n_sentences)) {
        free(sentences);
        return 1;
    }
    int status = 1;
    Translator tr;
    memset(&tr, 0, sizeof tr);
    ErrorMessage err;
    if (!model_path[0]) {
        fprintf(stderr, "%s translate: --model FILE is required\n", program);
    } else if (beam < 1 || beam > BEAM_MAX) {
        fprintf(stderr, "%s translate: --beam expects 1..%d, got %d\n", program, BEAM_MAX, beam);
    } else if (!(alpha >= 0)) {
        fprintf(stderr, "%s translate: --alpha expects a number >= 0, got %g\n", program, (double)alpha);
    } else if (!checkpoint_load(model_path, beam, &tr.model, &tr.tok, NULL, NULL, &err)) {
        fprintf(stderr, "%s translate: %s\n", program, err.text);
    } else if (layer > tr.model.config.n_layers) {
        fprintf(stderr, "%s translate: --layer %d: the model has %d decoder layers (1..%d; 0 = the last)\n",
                program, layer, tr.model.config.n_layers, tr.model.config.n_layers);
    } else if (head > tr.model.config.n_heads) {
        fprintf(stderr, "%s translate: --head %d: the model has %d heads (1..%d; 0 = the average)\n", program,
                head, tr.model.config.n_heads, tr.model.config.n_heads);
    } else {
        set_threads(threads);
        tr.model.decode.full_recompute = full_decode;
        tr.beam = beam, tr.alpha = alpha, tr.attention = attention, tr.show_hyps = hyps;
        find_seen_bytes(&tr);
        describe_model(&tr, model_path);
        tr.layer = layer - 1, tr.head = head - 1;
        if (n_sentences > 0) {
            for (int i = 0; i < n_sentences; i++) translate_line(&tr, sentences[i], i + 1);
        } else {
            translate_stdin(&tr);
        }
        status = 0;
    }
    model_free(&tr.model);
    tokenizer_free(&tr.tok);
    wordlist_free(&tr.words);
    free(sentences);
    return status;
}

// ===================================================================================
// eval
// ===================================================================================

// What `transformer eval` scores: the model file, the test set's options (task, data,
// --test), the beam, the first `limit` pairs only (0: all), and whether to decode
// without the KV cache.
typedef struct {
    const char *model_path;
    const TrainOptions *options;
    int beam, limit;
    bool full_decode;
} EvalRequest;

// Loads the model and the test set, decodes it and prints the score lines; returns the
// exit status (1 with a one-line error when the model or the test set cannot be used).
static int score_model(const EvalRequest *req) {
    const TrainOptions *o = req->options;
    const char *task = o->task;
    Model m;
    Tokenizer tok;
    Dataset test;
    memset(&m, 0, sizeof m);
    memset(&tok, 0, sizeof tok);
    memset(&test, 0, sizeof test);
    ErrorMessage err;
    int status = 1, beam = req->beam;
    double t0 = wall_seconds();
    LoadReport report;
    char report_line[600] = "";
    bool loaded = checkpoint_load(req->model_path, beam > 64 ? beam : 64, &m, &tok, NULL, NULL, &err) &&
                  task_test_set(&test, &tok, o, m.config.max_len, &report, &err);
    // your own --test file: what it gave and what was dropped, as train says for its files
    if (loaded && o->test_path[0])
        load_report_format(report_line, sizeof report_line, o->test_path, &report, m.config.max_len);
    if (!loaded) {
        fprintf(stderr, "%s eval: %s\n", program, err.text);
    } else if (test.n_pairs == 0) {
        if (report_line[0]) fprintf(stderr, "%s eval: the test set has no usable pairs: %s\n", program, report_line);
        else fprintf(stderr, "%s eval: the test set has no usable pairs (%s)\n", program, task);
    } else {
        if (report_line[0]) fprintf(stderr, "%s eval: %s\n", program, report_line);
        EvalStats e;
        m.decode.full_recompute = req->full_decode;
        int n = req->limit > 0 && req->limit < test.n_pairs ? req->limit : test.n_pairs;
        RunInfo *info = xmalloc(sizeof *info);
        float smoothing = LABEL_SMOOTHING;  // the loss is the one the model was trained on
        if (checkpoint_load_run(req->model_path, info, NULL, &err)) {
            print_model_line("eval", info, NULL);
            const char *trained = run_info_get(info, "task"), *eps = run_info_get(info, "smoothing");
            if (info->present && trained && strcmp(task, "corpus") != 0 && strcmp(trained, task) != 0)
                fprintf(stderr, "%s eval: warning: the model was trained on %s, and is scored on %s\n", program,
                        trained, task);
            if (eps) smoothing = strtof(eps, NULL);
        }
        free(info);
        // progress lines (every 2 s, with an ETA) for a person at a terminal, not in a log
        EvalSpec spec = {.translation = task_is_translation(task), .max_pairs = n, .beam = beam,
                         .smoothing = smoothing, .progress = isatty(STDERR_FILENO) ? stderr : NULL};
        evaluate_model(&e, &m, &tok, &test, spec);
        printf("%s test set: %d pairs", task, e.n);
        if (test.n_too_long) printf(" (%d longer than the model's max_len %d, skipped)", test.n_too_long, m.config.max_len);
        printf(", %s, %.1f s\n", beam > 1 ? "beam search" : "greedy", wall_seconds() - t0);
        printf("loss %.4f (nll %.4f, perplexity %.3f)\n", e.loss, e.nll, exp(e.nll));
        if (smoothing != LABEL_SMOOTHING)  // the quoted loss is not the usual ε = 0.1 one
            fprintf(stderr, "%s eval: note: the loss is label-smoothed with ε_ls = %g, as the model was "
                    "trained\n", program, (double)smoothing);
        if (e.accuracy >= 0) printf("accuracy: %.2f\n", e.accuracy);
        if (e.accuracy < 0 && e.fourgram_matches == 0)  // say why before the score line
            fprintf(stderr, "%s eval: note: BLEU is 0 because no 4-gram of the translations matches its "
                    "reference (%ld 4-grams in all: BLEU-4 needs sentences of 4 words or more)\n", program,
                    e.fourgrams);
        if (e.accuracy < 0) printf("BLEU: %.2f\n", e.bleu);
        status = 0;
    }
    dataset_free(&test);
    model_free(&m);
    tokenizer_free(&tok);
    return status;
}

// `transformer eval`: decodes a test set with a model and prints its score: exact-sequence
// accuracy for the synthetic tasks, corpus BLEU for fr-en and your own test pairs.
static int cmd_eval(int argc, char **argv) {
    char model_path[512] = "", task[16] = "";
    int beam = BEAM_SIZE_DEFAULT, threads = 1, limit = 0;  // decoding: see translate
    bool full_decode = false, help = false;
    TrainOptions o;
    ErrorMessage err;
    train_options_default(&o, "reverse", &err);
    Option opts[] = {
        {"--model", OPT_STRING, model_path, sizeof model_path, "checkpoint to score (required)", ANY},
        {"--task", OPT_STRING, task, sizeof task, "copy, reverse, sort or fr-en (this or --test is required)", ANY},
        {"--beam", OPT_INT, &beam, 0, "beam size, 1 = greedy (§6.1)", RANGE(1, BEAM_MAX)},
        {"--limit", OPT_INT, &limit, 0, "score only the first N test pairs (0 = all)", RANGE(0, INT_MAX)},
        {"--data", OPT_STRING, o.data_dir, sizeof o.data_dir, "fr-en: directory holding fr-en/test.tsv", ANY},
        {"--test", OPT_STRING, o.test_path, sizeof o.test_path, "your own test pairs, source<TAB>target (BLEU)", ANY},
        {"--task-min-len", OPT_INT, &o.task_min_len, 0, "synthetic: shortest sequence", RANGE(1, TASK_MAX_LEN)},
        {"--task-max-len", OPT_INT, &o.task_max_len, 0, "synthetic: longest sequence", RANGE(1, TASK_MAX_LEN)},
        {"--alphabet", OPT_INT, &o.alphabet, 0, "synthetic: letters used", RANGE(1, TASK_MAX_ALPHABET)},
        {"--full-decode", OPT_FLAG, &full_decode, 0, FULL_DECODE_HELP, ANY},
        {"--threads", OPT_INT, &threads, 0, "OpenMP threads", RANGE(1, THREADS_MAX)},
        {"--help", OPT_FLAG, &help, 0, "this help", ANY},
    };
    int n_opts = (int)(sizeof opts / sizeof opts[0]);
    if (wants_help(argc, argv, 2)) {
        printf("usage: %s eval --model FILE --task copy|reverse|sort|fr-en [options]\n"
               "       %s eval --model FILE --test FILE [options]   (your own source<TAB>target pairs)\n\n"
               "Scores a trained model on the task's test set: exact-sequence accuracy on 1,000\n"
               "held-out sequences for the synthetic tasks (the same for every training seed), or\n"
               "corpus BLEU on data/fr-en/test.tsv. The last line is 'accuracy: X' or 'BLEU: X'.\n\n"
               "options:\n", program, program);
        print_options(opts, n_opts);
        return 0;
    }
    if (!parse_options(argc, argv, 2, opts, n_opts, "eval", NULL, NULL)) return 1;
    if (o.test_path[0] && task[0] && strcmp(task, "corpus") != 0) {
        fprintf(stderr, "%s eval: --test FILE scores your own pairs; leave out --task %s\n", program, task);
        return 1;
    }
    if (o.test_path[0]) snprintf(task, sizeof task, "corpus");
    if (!model_path[0] || !task[0]) {
        fprintf(stderr, "%s eval: %s\n", program,
                !model_path[0] ? "--model FILE is required (the checkpoint to score)"
                               : "--task T or --test FILE is required (what to score the model on)");
        return 1;
    }
    if (!task_is_translation(task)) {
        TaskKind kind;
        if (!task_from_name(task, &kind)) {
            fprintf(stderr, "%s eval: unknown task '%s' (expected copy, reverse, sort or fr-en)\n", program, task);
            return 1;
        }
    }
    if (beam < 1 || beam > BEAM_MAX) {
        fprintf(stderr, "%s eval: --beam expects 1..%d, got %d\n", program, BEAM_MAX, beam);
        return 1;
    }
    snprintf(o.task, sizeof o.task, "%s", task);
    set_threads(threads);
    EvalRequest req = {.model_path = model_path, .options = &o, .beam = beam, .limit = limit,
                       .full_decode = full_decode};
    return score_model(&req);
}

// ===================================================================================
// bench: training throughput, the same configurations as lessons/08-training/bench_torch.py
// ===================================================================================

typedef struct {
    const char *name;
    int d_model, heads, d_ff, layers, vocab, src_len, tgt_len, batch;
} BenchConfig;

static const BenchConfig bench_configs[] = {
    {"toy", 64, 4, 256, 2, 64, 16, 16, 32},
    {"small", 128, 4, 512, 3, 1000, 32, 32, 32},
    {"base", 512, 8, 2048, 6, 8000, 32, 32, 16},
    // The width sweep of `make bench`'s chart: d_ff = 4·d_model, d_k = 32, N = 2.
    {"w64", 64, 2, 256, 2, 1000, 32, 32, 16},
    {"w128", 128, 4, 512, 2, 1000, 32, 32, 16},
    {"w256", 256, 8, 1024, 2, 1000, 32, 32, 16},
    {"w512", 512, 16, 2048, 2, 1000, 32, 32, 16},
};

// Floating-point operations of one training step, counting the matrix products only
// (2 per multiply-add) and a backward pass as twice the forward, the usual estimate.
static double bench_step_flops(const BenchConfig *c) {
    double d = c->d_model, ff = c->d_ff, V = c->vocab;
    double Ns = (double)c->batch * c->src_len, Nt = (double)c->batch * c->tgt_len;
    double S = c->src_len, T = c->tgt_len;
    double enc = 4 * 2 * Ns * d * d              // W^Q, W^K, W^V, W^O
                 + 2 * 2 * Ns * S * d            // QKᵀ and weights·V, all heads
                 + 2 * 2 * Ns * d * ff;          // the two feed-forward matrices
    double dec = 4 * 2 * Nt * d * d + 2 * 2 * Nt * T * d       // masked self-attention
                 + 2 * 2 * Nt * d * d + 2 * 2 * Ns * d * d     // cross: Q, O on the target; K, V on memory
                 + 2 * 2 * Nt * S * d                          // cross QKᵀ and weights·V
                 + 2 * 2 * Nt * d * ff;
    double forward = c->layers * (enc + dec) + 2 * Nt * d * V;  // + the tied generator
    return 3 * forward;
}

// What bench_one measured.
typedef struct {
    double tok_s, gflops, ms_step;
    long n_params;
    double share_most;  // of the measured steps, the share the ThreadChooser ran on all threads
} BenchResult;

// Runs training steps of one configuration for `seconds` after 3 warm-up steps; random
// tokens, dropout 0.1, label smoothing 0.1, Adam with warmup 4000 as the PyTorch script.
// Each step's thread count (1 or all) is chosen by timing, as in training (threads.h).
static BenchResult bench_one(const BenchConfig *c, double seconds) {
    ModelConfig mc = {.vocab_size = c->vocab, .d_model = c->d_model, .n_heads = c->heads, .d_ff = c->d_ff,
                      .n_layers = c->layers, .max_len = c->src_len > c->tgt_len + 1 ? c->src_len : c->tgt_len + 1,
                      .max_batch = c->batch, .dropout = 0.1f};
    Rng rng;
    rng_seed(&rng, 0, 0);
    Model m;
    model_init(&m, &mc, &rng);
    AdamConfig ac = adam_config_paper(c->d_model);
    Adam adam;
    adam_init(&adam, &ac, m.params.n);
    int B = c->batch, S = c->src_len, T = c->tgt_len;
    int *src = xmalloc(sizeof(int) * (size_t)B * S), *tgt = xmalloc(sizeof(int) * (size_t)B * (T + 1));
    int *tgt_in = xmalloc(sizeof(int) * (size_t)B * T), *tgt_out = xmalloc(sizeof(int) * (size_t)B * T);
    int *src_len = xmalloc(sizeof(int) * (size_t)B), *tgt_len = xmalloc(sizeof(int) * (size_t)B);
    for (int i = 0; i < B * S; i++) src[i] = 1 + (int)rng_below(&rng, (uint32_t)c->vocab - 1);
    for (int i = 0; i < B * (T + 1); i++) tgt[i] = 1 + (int)rng_below(&rng, (uint32_t)c->vocab - 1);
    for (int b = 0; b < B; b++) {
        src_len[b] = S, tgt_len[b] = T;
        memcpy(tgt_in + b * T, tgt + b * (T + 1), sizeof(int) * (size_t)T);
        memcpy(tgt_out + b * T, tgt + b * (T + 1) + 1, sizeof(int) * (size_t)T);
    }
    float *dlogits = xmalloc(sizeof(float) * (size_t)B * T * c->vocab);
    Shards shards;
    shards_init(&shards, &m);
    long steps = 0, most_before = 0;
    double start = 0;
    ThreadChooser chooser;
    chooser_init(&chooser, threads_max());
    for (int warm = -3;; warm++) {
        if (warm == 0) start = wall_seconds(), most_before = chooser.steps_many;
        chooser_begin(&chooser);
        double step_start = wall_seconds();
        // The training step's pass (train.c): forward, loss, backward in two shards.
        const ShardedBatch work = {.batch = {.src = src, .src_lengths = src_len, .tgt = tgt_in,
                                             .tgt_lengths = tgt_len, .B = B, .S = S, .T = T},
                                   .tgt_out = tgt_out, .smoothing = LABEL_SMOOTHING};
        LossResult r;
        shards_gradients(&shards, &m, &work, dlogits, &rng, &r);
        adam_step(&adam, m.params.values, m.params.grads);
        chooser_end(&chooser, wall_seconds() - step_start, (double)B * (S + T));
        if (warm >= 0) {
            steps++;
            if (wall_seconds() - start >= seconds) break;
        }
    }
    double dt = wall_seconds() - start;
    BenchResult r = {.tok_s = (double)steps * B * T / dt, .gflops = (double)steps * bench_step_flops(c) / dt / 1e9,
                     .ms_step = 1e3 * dt / (double)steps, .n_params = m.params.n,
                     .share_most = (double)(chooser.steps_many - most_before) / (double)steps};
    free(dlogits);
    shards_free(&shards);
    free(src), free(tgt), free(tgt_in), free(tgt_out), free(src_len), free(tgt_len);
    adam_free(&adam);
    model_free(&m);
    return r;
}

// The best PyTorch tokens/s for config `name` over the lines of the reference script's
// output ("toy    threads=1 params=... tgt_tok/s=12345"); 0 if none. *threads gets
// the thread count of that best line.
static double torch_best(const char *results, const char *name, int *threads) {
    double best = 0;
    const char *p = results;
    while (p && *p) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char line[512];
        snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line ? len : sizeof line - 1), p);
        char first[32];
        int th = 0;
        double tok = 0;
        const char *tp = strstr(line, "tgt_tok/s="), *hp = strstr(line, "threads=");
        if (sscanf(line, "%31s", first) == 1 && strcmp(first, name) == 0 && tp && hp &&
            sscanf(tp, "tgt_tok/s=%lf", &tok) == 1 && sscanf(hp, "threads=%d", &th) == 1 && tok > best) {
            best = tok;
            *threads = th;
        }
        p = end ? end + 1 : NULL;
    }
    return best;
}

// `transformer bench`: training throughput of the bench_configs, optionally next to
// PyTorch's from the reference script's output.
static int cmd_bench(int argc, char **argv) {
    int threads = 2;
    float seconds = 8.0f;
    char configs[64] = "toy,small,base", torch_path[512] = "";
    bool help = false;
    Option opts[] = {
        {"--threads", OPT_INT, &threads, 0, "OpenMP threads at most: each step runs on 1 or N, whichever its timing finds faster", RANGE(1, THREADS_MAX)},
        {"--seconds", OPT_FLOAT, &seconds, 0, "measuring time per configuration", RANGE_ABOVE(0, 3600)},
        {"--configs", OPT_STRING, configs, sizeof configs, "comma-separated: toy, small, base, w64, w128, w256, w512", ANY},
        {"--torch-results", OPT_STRING, torch_path, sizeof torch_path,
         "output of a PyTorch run to compare with (lines 'NAME threads=N ... tgt_tok/s=X')", ANY},
        {"--help", OPT_FLAG, &help, 0, "this help", ANY},
    };
    int n_opts = (int)(sizeof opts / sizeof opts[0]);
    if (wants_help(argc, argv, 2)) {
        printf("usage: %s bench [options]\n\n"
               "Training throughput (target tokens per second, and GFLOP/s of the matrix products,\n"
               "backward counted as 2x forward) of full training steps: forward, label-smoothed\n"
               "loss, backward, Adam with warmup; dropout 0.1; random tokens. The configurations\n"
               "are those of lessons/08-training/bench_torch.py:\n", program);
        for (size_t i = 0; i < sizeof bench_configs / sizeof bench_configs[0]; i++) {
            const BenchConfig *c = &bench_configs[i];
            printf("  %-6s d_model %d, h %d, d_ff %d, N %d, V %d, S %d, T %d, B %d\n", c->name, c->d_model,
                   c->heads, c->d_ff, c->layers, c->vocab, c->src_len, c->tgt_len, c->batch);
        }
        printf("`make bench` alternates this with the same model in PyTorch (threads 1 and 2) and prints\n"
               "medians, ratios and peak RSS into build/bench.txt (lessons/08-training/bench_torch.py).\n\noptions:\n");
        print_options(opts, n_opts);
        return 0;
    }
    if (!parse_options(argc, argv, 2, opts, n_opts, "bench", NULL, NULL)) return 1;
    if (!(seconds > 0)) {
        fprintf(stderr, "%s bench: --seconds expects a positive number\n", program);
        return 1;
    }
    char *torch = NULL;
    if (torch_path[0]) {
        ErrorMessage err;
        size_t len;
        torch = read_whole_file(torch_path, &len, &err);
        if (!torch) fprintf(stderr, "%s bench: %s (no PyTorch comparison)\n", program, err.text);
    }
    set_threads(threads);
#ifndef _OPENMP
    threads = 1;  // a build without OpenMP (make OPENMP=) has one thread, whatever was asked
#endif
    const char *wait = getenv("OMP_WAIT_POLICY"), *spin = getenv("GOMP_SPINCOUNT");
    char how[96] = "1 thread";
    if (threads > 1)
        snprintf(how, sizeof how, "at most %d threads (each step on 1 or %d, whichever its timing finds faster)",
                 threads, threads);
    printf("C training throughput, %s, OMP_WAIT_POLICY=%s, GOMP_SPINCOUNT=%s, %g s per configuration\n", how,
           wait ? wait : "unset", spin ? spin : "unset", (double)seconds);
    int n_known = (int)(sizeof bench_configs / sizeof bench_configs[0]);
    char list[64];
    snprintf(list, sizeof list, "%s", configs);
    for (char *name = strtok(list, ","); name; name = strtok(NULL, ",")) {
        const BenchConfig *c = NULL;
        for (int i = 0; i < n_known; i++)
            if (strcmp(bench_configs[i].name, name) == 0) c = &bench_configs[i];
        if (!c) {
            fprintf(stderr, "%s bench: unknown configuration '%s' (expected toy, small, base or w64..w512)\n", program, name);
            free(torch);
            return 1;
        }
        BenchResult r = bench_one(c, seconds);
        printf("%-6s threads=%d params=%ld ms/step=%.1f tgt_tok/s=%.0f GFLOP/s=%.2f", c->name, threads, r.n_params,
               r.ms_step, r.tok_s, r.gflops);
        if (threads > 1) printf(" steps_on_%d_threads=%.0f%%", threads, 100 * r.share_most);
        if (torch) {
            int th = 0;
            double ref = torch_best(torch, c->name, &th);
            if (ref > 0) printf("  | PyTorch best (threads=%d) %.0f tok/s, ratio C/PyTorch %.2f", th, ref, r.tok_s / ref);
        }
        printf("\n");
        fflush(stdout);
    }
    free(torch);
    return 0;
}

// ===================================================================================

static void usage(FILE *f) {
    fprintf(f,
            "usage: %s <command> [options]\n\n"
            "The Transformer of \"Attention Is All You Need\" (Vaswani et al. 2017), in C.\n\n"
            "commands:\n"
            "  train      train a model on copy, reverse, sort or fr-en (§5)\n"
            "  translate  translate sentences with a trained model (greedy or beam search, §6.1)\n"
            "  eval       score a trained model on a task's test set (accuracy or BLEU)\n"
            "  bench      training throughput in tokens/s and GFLOP/s\n\n"
            "Run '%s <command> --help' for a command's options.\n",
            program, program);
}

int main(int argc, char **argv) {
    // OpenMP's idle threads spin only briefly before they sleep, leaving the cores to
    // other programs (common.h); before any OpenMP call, since it may re-execute the program.
    threads_wait_briefly(argv);
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 1 : 0;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "train") == 0) return cmd_train(argc, argv);
    if (strcmp(cmd, "translate") == 0) return cmd_translate(argc, argv);
    if (strcmp(cmd, "eval") == 0) return cmd_eval(argc, argv);
    if (strcmp(cmd, "bench") == 0) return cmd_bench(argc, argv);
    fprintf(stderr, "%s: unknown command '%s' (expected train, translate, eval or bench; see %s --help)\n", program,
            cmd, program);
    return 1;
}
