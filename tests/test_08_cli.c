// test_08_cli.c: `build/transformer` as a user meets it (issue 12): every bad option,
// path or resume is refused with one line naming it and a non-zero exit, nothing on
// disk is lost, and Ctrl-C exits with 130. Runs the real program (built by `make`, which
// `make test` runs first) from the repository root.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "checkpoint.h"
#include "testutil.h"

#define PROGRAM "build/transformer"
// A model so small that a few steps take a moment even under a loaded machine.
#define TINY_MODEL "--d-model 16 --heads 2 --d-ff 16 --layers 1 --train-examples 200 " \
                   "--eval-sentences 5 --log-every 1000 --threads 1 --average-last 0 --checkpoint-every 0"
#define TINY "--task reverse " TINY_MODEL

// Runs `PROGRAM args` through sh with stderr captured; returns the exit status (128 +
// signal if killed) and all of stderr (up to size bytes) in errors.
static int run_all(const char *args, char *errors, size_t size) {
    char path[] = "/tmp/test_08_cli_err_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    char command[2048];
    snprintf(command, sizeof command, "%s %s >/dev/null 2>%s", PROGRAM, args, path);
    int status = system(command);
    FILE *f = fopen(path, "r");
    size_t got = f ? fread(errors, 1, size - 1, f) : 0;
    errors[got] = '\0';
    if (f) fclose(f);
    remove(path);
    print_message("  %s\n    -> exit %d: %s", args, WEXITSTATUS(status), errors[0] ? errors : "\n");
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// The same with only the first line of stderr in err_line.
static int run(const char *args, char *err_line, size_t size) {
    char all[8192];
    int status = run_all(args, all, sizeof all);
    size_t n = strcspn(all, "\n");
    snprintf(err_line, size, "%.*s", (int)(all[n] ? n + 1 : n), all);
    return status;
}

// How many times needle occurs in haystack.
static int count_of(const char *haystack, const char *needle) {
    int n = 0;
    for (const char *p = strstr(haystack, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

// Writes the checkpoint at from again as a checkpoint from before run descriptions and
// word lists (checkpoint_save, which leaves them out): an "old" file.
static void save_as_old(const char *from, const char *to) {
    Model m;
    Tokenizer tok;
    TrainingState st;
    Adam opt;
    memset(&m, 0, sizeof m), memset(&tok, 0, sizeof tok), memset(&opt, 0, sizeof opt);
    ErrorMessage err;
    assert_true(checkpoint_load(from, 0, &m, &tok, &st, &opt, &err));
    assert_true(checkpoint_save(to, &m, &tok, st.present ? &st : NULL, opt.memory ? &opt : NULL, &err));
    adam_free(&opt);
    tokenizer_free(&tok);
    model_free(&m);
}

// `args` is refused: exit 1 and a first error line containing `expected`.
static void expect_refused(const char *args, const char *expected) {
    char line[1024];
    int status = run(args, line, sizeof line);
    if (status != 1 || !strstr(line, expected))
        fail_msg("'%s': expected exit 1 and '%s', got exit %d: %s", args, expected, status, line);
}

// Each `train OPTIONS --resume PATH --out PATH CONFLICT` of the n conflicts
// ({conflict, expected}) is refused with a first error line containing its expected text.
static void expect_resumes_refused(const char *options, const char *path, const char *const conflicts[][2],
                                   size_t n) {
    char args[1024];
    for (size_t i = 0; i < n; i++) {
        snprintf(args, sizeof args, "train %s --resume %s --out %s %s", options, path, path, conflicts[i][0]);
        expect_refused(args, conflicts[i][1]);
    }
}

// Numeric options out of range, overflowing, or not numbers, on every subcommand:
// --threads 100000 used to crash inside libgomp (exit 139), the others were accepted.
static void test_numeric_options_checked(void **state) {
    (void)state;
    const char *bad[][2] = {
        {"train --task reverse --threads 100000", "--threads"},
        {"train --task reverse --threads 0", "--threads"},
        {"train --task reverse --threads -1", "--threads"},
        {"translate --model data/fr-en.ckpt --threads 100000 bonjour", "--threads"},
        {"eval --model data/fr-en.ckpt --task fr-en --threads 100000", "--threads"},
        {"bench --threads 100000", "--threads"},
        {"train --task reverse --smoothing -1", "--smoothing"},
        {"train --task reverse --smoothing 1.5", "--smoothing"},
        {"train --task reverse --lr-scale 0", "--lr-scale"},
        {"train --task reverse --lr-scale -1", "--lr-scale"},
        {"train --task reverse --steps 99999999999999999999", "--steps"},
        {"train --task reverse --batch-tokens 99999999999", "--batch-tokens"},
        {"train --task reverse --dropout 1", "--dropout"},
        {"train --task reverse --warmup 0", "--warmup"},
        {"translate --model data/fr-en.ckpt --beam 0 bonjour", "--beam"},
        {"translate --model data/fr-en.ckpt --alpha -1 bonjour", "--alpha"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) expect_refused(bad[i][0], bad[i][1]);
}

// The limits shown in --help are accepted (a float option's value was compared with
// its limit as a double, so "--lr-scale 1e30", "--smoothing 0.99" and "--dropout 0.99"
// were refused as out of "(0, 1e+30]" and "[0, 0.99]"). And the issue's --lr-scale 1e30
// run: it diverges at once, exits 2 and writes nothing (it used to save step 1 with
// huge parameters, then say that checkpoint "is kept").
static void test_option_limits_accepted(void **state) {
    (void)state;
    char line[1024];
    assert_int_equal(run("train " TINY " --steps 1 --smoothing 0.99 --dropout 0.99 --out /tmp/test_08_cli_limits.ckpt "
                         "--force", line, sizeof line), 0);
    remove("/tmp/test_08_cli_limits.ckpt");
    assert_int_equal(run("train " TINY " --steps 3 --lr-scale 1e30 --out /tmp/test_08_cli_limits.ckpt", line,
                         sizeof line), 2);
    assert_int_equal(access("/tmp/test_08_cli_limits.ckpt", F_OK), -1);
}

// A model or a batch too big for this machine's memory is refused at once, naming the
// options, and nothing is written (it used to allocate for minutes, page by page, and end
// with "src/optimizer.c:30: out of memory" or be killed).
// hint: train.c's check_memory compares the parameters (4 floats each), the activations
// and the logits with the machine's memory before model_init allocates anything.
static void test_too_big_for_memory_refused(void **state) {
    (void)state;
    expect_refused("train --task reverse --d-model 65536 --heads 1 --d-ff 262144 --layers 128 --steps 1 "
                   "--out /tmp/test_08_cli_big.ckpt", "--d-model 65536 --d-ff 262144 --layers 128");
    expect_refused("train --task reverse --max-len 16384 --batch-tokens 4194304 --batch-sentences 6000 "
                   "--steps 1 --out /tmp/test_08_cli_big.ckpt", "--batch-tokens 4194304 --batch-sentences 6000");
    assert_int_equal(access("/tmp/test_08_cli_big.ckpt", F_OK), -1);
}

// A temporary directory for one test's files; its path is written to dir.
static void temp_dir(char *dir, size_t size) {
    snprintf(dir, size, "/tmp/test_08_cli_XXXXXX");
    assert_non_null(mkdtemp(dir));
}

// A new temporary directory (into dir) holding PATH = dir/name, a checkpoint trained by
// `train OPTIONS --out PATH` (which must succeed).
static void train_fresh(char *dir, size_t dir_size, char *path, size_t path_size, const char *name,
                        const char *options) {
    char args[1024], line[1024];
    temp_dir(dir, dir_size);
    snprintf(path, path_size, "%s/%s", dir, name);
    snprintf(args, sizeof args, "train %s --out %s", options, path);
    assert_int_equal(run(args, line, sizeof line), 0);
}

// --out in a missing directory fails before the first step (it used to fail at the first
// save, losing the training before it); an existing --out is kept unless --force.
static void test_out_path_checked_first(void **state) {
    (void)state;
    char args[1024], dir[64];
    expect_refused("train " TINY " --steps 100000 --out /nonexistent/dir/x.ckpt", "--out /nonexistent/dir/x.ckpt");
    // A directory nobody may write in, root included (permissions do not stop root).
    expect_refused("train " TINY " --steps 100000 --out /proc/x.ckpt", "--out /proc/x.ckpt");
    temp_dir(dir, sizeof dir);
    snprintf(args, sizeof args, "train " TINY " --steps 2 --out %s/a.ckpt", dir);
    char line[1024];
    assert_int_equal(run(args, line, sizeof line), 0);
    struct stat before, after;
    char path[128];
    snprintf(path, sizeof path, "%s/a.ckpt", dir);
    assert_int_equal(stat(path, &before), 0);
    expect_refused(args, "--force");  // the same command again: refused, file untouched
    assert_int_equal(stat(path, &after), 0);
    assert_true(before.st_mtime == after.st_mtime && before.st_size == after.st_size);
    // A stale PATH.tmp from a killed save is removed; --force overwrites.
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    fputs("half a checkpoint", f);
    fclose(f);
    snprintf(args, sizeof args, "train " TINY " --steps 2 --out %s --force", path);
    assert_int_equal(run(args, line, sizeof line), 0);
    assert_non_null(strstr(line, "removed"));
    assert_int_equal(access(tmp, F_OK), -1);
    remove(path);
    rmdir(dir);
}

// --resume: conflicting options are refused with the option named; --steps below the
// steps done says so (it used to do nothing, silently).
static void test_resume_conflicts_refused(void **state) {
    (void)state;
    char args[1024], dir[64], path[128], line[1024];
    train_fresh(dir, sizeof dir, path, sizeof path, "r.ckpt", TINY " --steps 3");
    const char *const conflicts[][2] = {
        {"--d-model 32", "--d-model 32 conflicts"}, {"--layers 2", "--layers 2 conflicts"},
        {"--lr-scale 0.5", "--lr-scale 0.5 conflicts"}, {"--steps 2", "below the 3 steps already done"},
    };
    expect_resumes_refused(TINY " --steps 5", path, conflicts, sizeof conflicts / sizeof conflicts[0]);
    snprintf(args, sizeof args, "train " TINY " --steps 5 --resume %s --out %s", path, path);
    assert_int_equal(run(args, line, sizeof line), 0);  // the same options: accepted
    remove(path);
    rmdir(dir);
}

// --resume with an option that shapes the data or the batches different from the run's
// description in the checkpoint is refused, naming the option (a different --task used
// to train the reverse model on copy data); so is leaving out one the run was given.
static void test_resume_data_conflicts_refused(void **state) {
    (void)state;
    char args[1024], dir[64], path[128], line[1024];
    train_fresh(dir, sizeof dir, path, sizeof path, "r.ckpt", TINY " --steps 2");
    // After TINY_MODEL, so an option given here overrides its value.
    const char *const conflicts[][2] = {
        {"--task copy", "--task copy conflicts"}, {"--task reverse --seed 2", "--seed 2 conflicts"},
        {"--task reverse --smoothing 0.2", "--smoothing 0.2 conflicts"},
        {"--task reverse --batch-tokens 512", "--batch-tokens 512 conflicts"},
        {"--task reverse --batch-sentences 100", "--batch-sentences 100 conflicts"},
        {"--task reverse --average-last 1", "--average-last 1 conflicts"},
        {"--task reverse --alphabet 5", "--alphabet 5 conflicts"},
        {"--task reverse --task-min-len 2", "--task-min-len 2 conflicts"},
        {"--task reverse --task-max-len 10", "--task-max-len 10 conflicts"},
        {"--task reverse --train-examples 100", "--train-examples 100 conflicts"},
    };
    expect_resumes_refused(TINY_MODEL " --steps 4", path, conflicts, sizeof conflicts / sizeof conflicts[0]);
    // A run given --seed 3, resumed without it: the default seed 1 conflicts.
    snprintf(args, sizeof args, "train " TINY " --steps 2 --seed 3 --out %s --force", path);
    assert_int_equal(run(args, line, sizeof line), 0);
    snprintf(args, sizeof args, "train " TINY " --steps 4 --resume %s --out %s", path, path);
    expect_refused(args, "--seed 1 (the default) conflicts");
    // translate knows the task's letters from the description: a..j seen, z not.
    snprintf(args, sizeof args, "translate --model %s abcj abz", path);
    assert_int_equal(run_all(args, line, sizeof line), 0);
    assert_non_null(strstr(line, "model: letters → letters reversed, task reverse\n"));
    assert_non_null(strstr(line, "input 2 has letters never seen in training: z\n"));
    assert_null(strstr(line, "input 1 has"));
    // What may change: --steps, --threads, the intervals, --out.
    snprintf(args, sizeof args, "train " TINY " --seed 3 --steps 4 --threads 2 --log-every 7 --eval-every 3 "
             "--eval-sentences 4 --checkpoint-every 9 --resume %s --out %s/moved.ckpt", path, dir);
    assert_int_equal(run(args, line, sizeof line), 0);
    snprintf(args, sizeof args, "%s/moved.ckpt", dir);
    remove(args);
    remove(path);
    rmdir(dir);
}

// The same for a corpus: --merges and the data files are checked; the language names are
// kept from the checkpoint unless given again (a rename), and translate shows them.
static void test_resume_corpus_conflicts_refused(void **state) {
    (void)state;
    char args[1024], dir[64], path[128], line[2048];
#define CORPUS "--train data/fr-en/valid.tsv --valid data/fr-en/valid.tsv --merges 30 --eval-sentences 3 " \
               "--d-model 16 --heads 2 --d-ff 16 --layers 1 --threads 1 --checkpoint-every 0"
    train_fresh(dir, sizeof dir, path, sizeof path, "c.ckpt", CORPUS " --source-name Frenchish --steps 1");
    const char *const conflicts[][2] = {
        {"--merges 40", "--merges 40 conflicts"},
        {"--train data/fr-en/test.tsv", "--train data/fr-en/test.tsv conflicts"},
        {"--valid data/fr-en/test.tsv", "--valid data/fr-en/test.tsv conflicts"},
        {"--test data/fr-en/test.tsv", "--test data/fr-en/test.tsv conflicts"},
    };
    expect_resumes_refused(CORPUS " --steps 2", path, conflicts, sizeof conflicts / sizeof conflicts[0]);
    snprintf(args, sizeof args, "translate --model %s maison", path);
    assert_int_equal(run_all(args, line, sizeof line), 0);
    assert_non_null(strstr(line, "model: Frenchish → target, task corpus"));
    snprintf(args, sizeof args, "train " CORPUS " --target-name Englishish --steps 2 --resume %s --out %s", path, path);
    assert_int_equal(run(args, line, sizeof line), 0);
    snprintf(args, sizeof args, "translate --model %s maison", path);
    assert_int_equal(run_all(args, line, sizeof line), 0);
    assert_non_null(strstr(line, "model: Frenchish → Englishish"));
#undef CORPUS
    remove(path);
    rmdir(dir);
}

// Copies the file at from to to (a corpus the test then edits).
static void copy_file(const char *from, const char *to) {
    ErrorMessage err;
    size_t n;
    char *text = read_whole_file(from, &n, &err);
    assert_non_null(text);
    FILE *f = fopen(to, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
    free(text);
}

// A resume checks the corpus by its content (size and hash, kept in the checkpoint), not
// by the path's string: the same file given by another path resumes; the file edited
// since (the same path, other pairs) is refused, naming --train.
static void test_resume_checks_corpus_content(void **state) {
    (void)state;
    char args[1024], dir[64], path[128], corpus[128], line[1024];
    temp_dir(dir, sizeof dir);
    snprintf(corpus, sizeof corpus, "%s/pairs.tsv", dir);
    copy_file("data/fr-en/valid.tsv", corpus);
    snprintf(path, sizeof path, "%s/c.ckpt", dir);
#define SMALL "--merges 30 --eval-sentences 3 --d-model 16 --heads 2 --d-ff 16 --layers 1 --threads 1"
    snprintf(args, sizeof args, "train --train %s --valid %s " SMALL " --steps 1 --out %s", corpus, corpus, path);
    assert_int_equal(run(args, line, sizeof line), 0);
    snprintf(args, sizeof args, "train --train %s/./pairs.tsv --valid %s " SMALL " --steps 2 --resume %s --out %s",
             dir, corpus, path, path);
    assert_int_equal(run(args, line, sizeof line), 0);
    copy_file("data/fr-en/test.tsv", corpus);
    snprintf(args, sizeof args, "train --train %s --valid data/fr-en/valid.tsv " SMALL " --steps 3 --resume %s --out %s",
             corpus, path, path);
    expect_refused(args, "conflicts with");
    assert_int_equal(run(args, line, sizeof line), 1);
    assert_non_null(strstr(line, "--train "));
    assert_non_null(strstr(line, "trained on other data"));
#undef SMALL
    remove(corpus);
    remove(path);
    rmdir(dir);
}

// A checkpoint from before run descriptions resumes as before, with a one-line note that
// the options could not be checked.
static void test_resume_old_checkpoint_noted(void **state) {
    (void)state;
    char args[1024], dir[64], path[128], old[128], line[1024];
    train_fresh(dir, sizeof dir, path, sizeof path, "r.ckpt", TINY " --steps 2");
    snprintf(old, sizeof old, "%s/old.ckpt", dir);
    save_as_old(path, old);
    snprintf(args, sizeof args, "train " TINY " --steps 3 --resume %s --out %s", old, old);
    assert_int_equal(run(args, line, sizeof line), 0);
    assert_non_null(strstr(line, "could not be checked"));
    remove(old);
    remove(path);
    rmdir(dir);
}

// Trains until signal `sig` arrives (sent once the program says setup is done, so it meets
// the handler rather than the default action); then expects exit 128 + sig and a checkpoint.
static void expect_signal_saves(int sig) {
    char dir[64], path[128];
    temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/c.ckpt", dir);
    int out[2];
    assert_int_equal(pipe(out), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(out[1], 1);
        close(out[0]);
        execl(PROGRAM, PROGRAM, "train", "--task", "reverse", "--d-model", "16", "--heads", "2", "--d-ff", "16",
              "--layers", "1", "--train-examples", "200", "--threads", "1", "--steps", "1000000", "--log-every",
              "1", "--out", path, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    FILE *f = fdopen(out[0], "r");
    char line[512];
    while (fgets(line, sizeof line, f) && !strstr(line, "step ")) {
    }
    kill(pid, sig);
    while (fgets(line, sizeof line, f)) {
    }
    fclose(f);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status)) fail_msg("signal %d: the program was killed instead of stopping", sig);
    assert_int_equal(WEXITSTATUS(status), 128 + sig);
    assert_int_equal(access(path, F_OK), 0);  // the checkpoint it saved on the way out
    remove(path);
    rmdir(dir);
}

// Ctrl-C saves a checkpoint and exits with 130 (128 + SIGINT), as shells expect (it used
// to exit 0); SIGTERM (kill, a shutdown) and SIGHUP (the terminal closed) save one too and
// exit 143 and 129 (they used to end the run with the work since the last checkpoint lost).
static void test_ctrl_c_exits_130(void **state) {
    (void)state;
    expect_signal_saves(SIGINT);
    expect_signal_saves(SIGTERM);
    expect_signal_saves(SIGHUP);
}

// A file that is not a checkpoint (here a device that never ends) is refused at once;
// translate used to read /dev/zero until memory ran out.
static void test_model_not_a_checkpoint(void **state) {
    (void)state;
    expect_refused("translate --model /dev/zero bonjour", "not a checkpoint");
    expect_refused("eval --model /dev/zero --task reverse", "not a checkpoint");
}

// translate warns (standard error) about what the model cannot know: an empty input,
// letters no training text had. It used to answer "your ks" and "he finds ks" silently.
static void test_translate_warns(void **state) {
    (void)state;
    char line[2048];
    assert_int_equal(run_all("translate --model data/fr-en.ckpt '     '", line, sizeof line), 0);
    assert_non_null(strstr(line, "input 1 is empty"));
    assert_int_equal(run_all("translate --model data/fr-en.ckpt 'JE SUIS'", line, sizeof line), 0);
    assert_non_null(strstr(line, "letters never seen in training: J, E, S, U, I"));
    assert_int_equal(run_all("translate --model data/fr-en.ckpt \"$(printf '\\033[31m')\"", line, sizeof line), 0);
    assert_non_null(strstr(line, "\\x1B"));  // the escape byte is shown escaped, not sent to the terminal
}

// Words the training sources never had are named (the first five, escaped); words they
// had give no warning; the model's languages come first. "bonjour" used to become "you
// like today" without a word.
static void test_translate_names_unseen_words(void **state) {
    (void)state;
    char line[2048];
    assert_int_equal(run_all("translate --model data/fr-en.ckpt 'je suis étudiant'", line, sizeof line), 0);
    assert_non_null(strstr(line, "model: French → English, task fr-en"));
    assert_null(strstr(line, "never seen"));
    assert_int_equal(run_all("translate --model data/fr-en.ckpt 'bonjour je suis étudiant'", line, sizeof line), 0);
    assert_non_null(strstr(line, "input 1 has a word never seen in training: bonjour\n"));
    assert_int_equal(run_all("translate --model data/fr-en.ckpt 'a b c d e f g h i j b'", line, sizeof line), 0);
    assert_non_null(strstr(line, "words never seen in training: b, c, d, e, f and 4 more\n"));
    assert_int_equal(run_all("translate --model data/fr-en.ckpt \"$(printf 'x\\033y')\"", line, sizeof line), 0);
    assert_non_null(strstr(line, "a word never seen in training: x\\x1By"));
    // a zero-width space prints as nothing: named by its code point
    assert_int_equal(run_all("translate --model data/fr-en.ckpt \"$(printf 'je\\342\\200\\213suis')\"", line,
                             sizeof line), 0);
    assert_non_null(strstr(line, "a word never seen in training: je<U+200B>suis\n"));
}

// The word list holds the words of the pairs training kept: a word only on a line the
// loader dropped (no tab; too long) is reported as never seen (the list used to be read
// from the raw file, so such words counted as seen).
static void test_dropped_lines_words_unseen(void **state) {
    (void)state;
    char dir[64], corpus[128], model[128], args[1024], line[2048];
    temp_dir(dir, sizeof dir);
    snprintf(corpus, sizeof corpus, "%s/c.tsv", dir);
    snprintf(model, sizeof model, "%s/c.ckpt", dir);
    FILE *f = fopen(corpus, "w");
    assert_non_null(f);
    fprintf(f, "a b\tb a\nghostword without a tab\nb c\tc b\n");
    for (int i = 0; i < 80; i++) fprintf(f, "%slongword", i ? " " : "");  // over --max-len 64
    fprintf(f, "\tx\n");
    fclose(f);
    snprintf(args, sizeof args, "train --train %s --valid %s --steps 1 --d-model 16 --heads 2 --d-ff 16 "
             "--layers 1 --merges 0 --threads 1 --out %s", corpus, corpus, model);
    assert_int_equal(run_all(args, line, sizeof line), 0);
    snprintf(args, sizeof args, "translate --model %s 'a ghostword longword b'", model);
    assert_int_equal(run_all(args, line, sizeof line), 0);
    assert_non_null(strstr(line, "words never seen in training: ghostword, longword\n"));
    remove(corpus), remove(model);
    rmdir(dir);
}

// A checkpoint from before word lists: no word warning, no crash, and one note (not one
// per sentence) that the check is unavailable.
static void test_translate_old_checkpoint_noted(void **state) {
    (void)state;
    char dir[64], old[128], args[512], line[2048];
    temp_dir(dir, sizeof dir);
    snprintf(old, sizeof old, "%s/old.ckpt", dir);
    save_as_old("data/fr-en.ckpt", old);
    snprintf(args, sizeof args, "translate --model %s bonjour 'où est la gare'", old);
    assert_int_equal(run_all(args, line, sizeof line), 0);
    assert_int_equal(count_of(line, "holds no training word list"), 1);
    assert_null(strstr(line, "never seen in training: bonjour"));
    assert_null(strstr(line, "model: "));  // no description to show
    remove(old);
    rmdir(dir);
}

// --vocab-size V is --merges V - 259 for a BPE task: the saved model has V tokens (a
// text with enough pairs makes every merge); with --merges too, on a synthetic task or
// below the 259 base tokens it is refused, naming the option.
static void test_vocab_size_option(void **state) {
    (void)state;
    expect_refused("train --task fr-en --vocab-size 300 --merges 41", "--vocab-size");
    expect_refused("train --task reverse --vocab-size 300", "--vocab-size");
    expect_refused("train --task fr-en --vocab-size 258", "--vocab-size");
    char dir[64], path[128];
    train_fresh(dir, sizeof dir, path, sizeof path, "v.ckpt",
                "--train data/fr-en/valid.tsv --valid data/fr-en/valid.tsv --vocab-size 289 --steps 1 "
                "--eval-sentences 3 --d-model 16 --heads 2 --d-ff 16 --layers 1 --threads 1");
    Model m;
    Tokenizer tok;
    memset(&m, 0, sizeof m), memset(&tok, 0, sizeof tok);
    ErrorMessage err;
    assert_true(checkpoint_load(path, 1, &m, &tok, NULL, NULL, &err));
    assert_int_equal(m.config.vocab_size, 289);
    assert_int_equal(tok.n_merges, 30);
    tokenizer_free(&tok);
    model_free(&m);
    remove(path);
    rmdir(dir);
}

// translate gives exactly one output line per input line, whatever the model says: a
// 2-step model's outputs are bytes that are not text (shown as \xNN, with a warning, so a
// newline byte cannot split a line), and blank inputs give empty lines.
static void test_translate_one_line_per_input(void **state) {
    (void)state;
    char dir[64], path[128], in[160], out[160], err[160], command[1024];
    train_fresh(dir, sizeof dir, path, sizeof path, "t.ckpt", TINY " --steps 2");
    snprintf(in, sizeof in, "%s/in.txt", dir);
    snprintf(out, sizeof out, "%s/out.txt", dir);
    snprintf(err, sizeof err, "%s/err.txt", dir);
    FILE *f = fopen(in, "w");
    assert_non_null(f);
    fputs("abc\n\nabj\n   \ncab\n", f);
    fclose(f);
    snprintf(command, sizeof command, "%s translate --model %s < %s > %s 2> %s", PROGRAM, path, in, out, err);
    assert_int_equal(system(command), 0);
    ErrorMessage e;
    size_t n;
    char *text = read_whole_file(out, &n, &e), *errors = read_whole_file(err, &n, &e);
    assert_non_null(text);
    assert_non_null(errors);
    int lines = 0;
    for (char *line = text, *end; (end = strchr(line, '\n')); line = end + 1, lines++) {
        assert_true(text_is_printable(line, (size_t)(end - line)));
        if (lines == 1 || lines == 3) assert_true(end == line);  // the blank inputs
    }
    assert_int_equal(lines, 5);
    assert_non_null(strstr(errors, "translation 1 holds bytes that are not text"));
    free(text), free(errors);
    remove(in), remove(out), remove(err), remove(path);
    rmdir(dir);
}

// Issue 12: the sample corpus (data/sample, written as sentences) trains with --train and
// keeps case and punctuation: its model knows "Je" and "étudiant." (no warning), while
// the shipped model, trained on lower-case text without punctuation, names both.
static void test_sample_corpus_keeps_case(void **state) {
    (void)state;
    char dir[64], path[128], args[512], errors[4096];
    train_fresh(dir, sizeof dir, path, sizeof path, "s.ckpt",
                "--train data/sample/train.tsv --valid data/sample/valid.tsv --steps 1 --eval-sentences 2 "
                "--merges 200 --d-model 16 --heads 2 --d-ff 16 --layers 1 --threads 1");
    snprintf(args, sizeof args, "translate --model %s \"Je suis étudiant.\"", path);
    assert_int_equal(run_all(args, errors, sizeof errors), 0);
    assert_null(strstr(errors, "never seen"));
    assert_int_equal(run_all("translate --model data/fr-en.ckpt \"Je suis étudiant.\"", errors, sizeof errors), 0);
    assert_non_null(strstr(errors, "letters never seen in training: J, ."));
    assert_non_null(strstr(errors, "Je, étudiant."));
    remove(path);
    rmdir(dir);
}

// Your own corpus: --train needs --valid; eval --test on an empty file is an error (it
// used to print "BLEU: 0.00" and exit 0).
static void test_corpus_options(void **state) {
    (void)state;
    expect_refused("train --train data/fr-en/valid.tsv", "--valid");
    expect_refused("train --task reverse --train data/fr-en/valid.tsv --valid data/fr-en/valid.tsv", "--task");
    // an option another kind of task reads would do nothing: refused, named
    expect_refused("train --train data/fr-en/valid.tsv --valid data/fr-en/valid.tsv --alphabet 5", "--alphabet");
    expect_refused("train --task reverse --merges 10", "--merges applies to fr-en and your own corpus");
    expect_refused("train --task fr-en --train-examples 10", "--train-examples");
    char path[] = "/tmp/test_08_cli_empty_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    char args[256];
    snprintf(args, sizeof args, "eval --model data/fr-en.ckpt --test %s", path);
    expect_refused(args, "no usable pairs");
    remove(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numeric_options_checked),
        cmocka_unit_test(test_option_limits_accepted),
        cmocka_unit_test(test_too_big_for_memory_refused),
        cmocka_unit_test(test_out_path_checked_first),
        cmocka_unit_test(test_resume_conflicts_refused),
        cmocka_unit_test(test_resume_data_conflicts_refused),
        cmocka_unit_test(test_resume_corpus_conflicts_refused),
        cmocka_unit_test(test_resume_checks_corpus_content),
        cmocka_unit_test(test_resume_old_checkpoint_noted),
        cmocka_unit_test(test_ctrl_c_exits_130),
        cmocka_unit_test(test_model_not_a_checkpoint),
        cmocka_unit_test(test_translate_warns),
        cmocka_unit_test(test_translate_names_unseen_words),
        cmocka_unit_test(test_dropped_lines_words_unseen),
        cmocka_unit_test(test_translate_old_checkpoint_noted),
        cmocka_unit_test(test_corpus_options),
        cmocka_unit_test(test_vocab_size_option),
        cmocka_unit_test(test_translate_one_line_per_input),
        cmocka_unit_test(test_sample_corpus_keeps_case),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
