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

#include "testutil.h"

#define PROGRAM "build/transformer"
// A model so small that a few steps take a moment even under a loaded machine.
#define TINY "--task reverse --d-model 16 --heads 2 --d-ff 16 --layers 1 --train-examples 200 " \
             "--eval-sentences 5 --log-every 1000 --threads 1 --average-last 0 --checkpoint-every 0"

// Runs `PROGRAM args` through sh with stderr captured; returns the exit status (128 +
// signal if killed) and the first line of stderr in err_line.
static int run(const char *args, char *err_line, size_t size) {
    char errors[] = "/tmp/test_08_cli_err_XXXXXX";
    int fd = mkstemp(errors);
    assert_true(fd >= 0);
    close(fd);
    char command[2048];
    snprintf(command, sizeof command, "%s %s >/dev/null 2>%s", PROGRAM, args, errors);
    int status = system(command);
    FILE *f = fopen(errors, "r");
    err_line[0] = '\0';
    if (f && !fgets(err_line, (int)size, f)) err_line[0] = '\0';
    if (f) fclose(f);
    remove(errors);
    print_message("  %s\n    -> exit %d: %s", args, WEXITSTATUS(status), err_line[0] ? err_line : "\n");
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// `args` is refused: exit 1 and a first error line containing `expected`.
static void expect_refused(const char *args, const char *expected) {
    char line[1024];
    int status = run(args, line, sizeof line);
    if (status != 1 || !strstr(line, expected))
        fail_msg("'%s': expected exit 1 and '%s', got exit %d: %s", args, expected, status, line);
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

// A temporary directory for one test's files; its path is written to dir.
static void temp_dir(char *dir, size_t size) {
    snprintf(dir, size, "/tmp/test_08_cli_XXXXXX");
    assert_non_null(mkdtemp(dir));
}

// --out in a missing directory fails before the first step (it used to fail at the first
// save, losing the training before it); an existing --out is kept unless --force.
static void test_out_path_checked_first(void **state) {
    (void)state;
    char args[1024], dir[64];
    expect_refused("train " TINY " --steps 100000 --out /nonexistent/dir/x.ckpt", "--out /nonexistent/dir/x.ckpt");
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
    char args[1024], dir[64], path[128];
    temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/r.ckpt", dir);
    snprintf(args, sizeof args, "train " TINY " --steps 3 --out %s", path);
    char line[1024];
    assert_int_equal(run(args, line, sizeof line), 0);
    const char *conflicts[][2] = {
        {"--d-model 32", "--d-model 32 conflicts"}, {"--layers 2", "--layers 2 conflicts"},
        {"--lr-scale 0.5", "--lr-scale 0.5 conflicts"}, {"--steps 2", "below the 3 steps already done"},
    };
    for (size_t i = 0; i < sizeof conflicts / sizeof conflicts[0]; i++) {
        snprintf(args, sizeof args, "train " TINY " --steps 5 --resume %s --out %s %s", path, path, conflicts[i][0]);
        expect_refused(args, conflicts[i][1]);
    }
    snprintf(args, sizeof args, "train " TINY " --steps 5 --resume %s --out %s", path, path);
    assert_int_equal(run(args, line, sizeof line), 0);  // the same options: accepted
    remove(path);
    rmdir(dir);
}

// Ctrl-C saves a checkpoint and exits with 130 (128 + SIGINT), as shells expect; it
// used to exit 0. The signal is sent once the program says setup is done, so it meets
// the handler rather than the default action.
static void test_ctrl_c_exits_130(void **state) {
    (void)state;
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
    kill(pid, SIGINT);
    while (fgets(line, sizeof line, f)) {
    }
    fclose(f);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 130);
    assert_int_equal(access(path, F_OK), 0);  // the checkpoint it saved on the way out
    remove(path);
    rmdir(dir);
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
    char line[1024];
    assert_int_equal(run("translate --model data/fr-en.ckpt '     '", line, sizeof line), 0);
    assert_non_null(strstr(line, "input 1 is empty"));
    assert_int_equal(run("translate --model data/fr-en.ckpt 'JE SUIS'", line, sizeof line), 0);
    assert_non_null(strstr(line, "letters never seen in training: J, E, S, U, I"));
    assert_int_equal(run("translate --model data/fr-en.ckpt \"$(printf '\\033[31m')\"", line, sizeof line), 0);
    assert_non_null(strstr(line, "\\x1B"));  // the escape byte is shown escaped, not sent to the terminal
}

// Your own corpus: --train needs --valid; eval --test on an empty file is an error (it
// used to print "BLEU: 0.00" and exit 0).
static void test_corpus_options(void **state) {
    (void)state;
    expect_refused("train --train data/fr-en/valid.tsv", "--valid");
    expect_refused("train --task reverse --train data/fr-en/valid.tsv --valid data/fr-en/valid.tsv", "--task");
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
        cmocka_unit_test(test_out_path_checked_first),
        cmocka_unit_test(test_resume_conflicts_refused),
        cmocka_unit_test(test_ctrl_c_exits_130),
        cmocka_unit_test(test_model_not_a_checkpoint),
        cmocka_unit_test(test_translate_warns),
        cmocka_unit_test(test_corpus_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
