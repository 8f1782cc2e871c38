// add_run_info.c: gives a checkpoint written before checkpoints kept a run description
// ("META") and a training word list ("WORD") those two sections, recomputed from the
// training options and data it was made with; every other section is written back byte
// for byte (the model does not change). `make shipped-run-info` runs it on data/fr-en.ckpt:
//
//   build/add_run_info data/fr-en.ckpt --task fr-en --seed 1 --data data
//
// The options are those of `transformer train` (the fr-en defaults of train.h; the seed
// of the recorded run, lessons/08-training/4-training-loop.md). The word list is read from
// DATA/fr-en/train.tsv (or --train FILE for a corpus).
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "train.h"
#include "wordlist.h"

// Everything the file at path holds, loaded (parts points into *m, *tok, ...).
typedef struct {
    Model m;
    Tokenizer tok;
    TrainingState state;
    Adam opt;
    double *param_sum;
} Loaded;

// Loads the whole checkpoint (vocabulary, training state, optimiser, average) or dies.
static void load_everything(const char *path, Loaded *l) {
    memset(l, 0, sizeof *l);
    ErrorMessage err;
    if (!checkpoint_load(path, 0, &l->m, &l->tok, &l->state, &l->opt, &err) ||
        !checkpoint_load_average(path, l->m.params.n, &l->param_sum, &l->state.n_averaged, &err))
        die("%s", err.text);
    l->state.param_sum = l->param_sum;
}

// The training options from the command line (argv[2..]): --task, --seed, --data, --train.
static void parse_options(int argc, char **argv, TrainOptions *o) {
    const char *task = "fr-en";
    for (int i = 2; i + 1 < argc; i += 2)
        if (strcmp(argv[i], "--task") == 0) task = argv[i + 1];
    ErrorMessage err;
    if (!train_options_default(o, task, &err)) die("%s", err.text);
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--seed") == 0) o->seed = strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--data") == 0) snprintf(o->data_dir, sizeof o->data_dir, "%s", argv[i + 1]);
        else if (strcmp(argv[i], "--train") == 0) snprintf(o->train_path, sizeof o->train_path, "%s", argv[i + 1]);
        else if (strcmp(argv[i], "--task") != 0) die("unknown option %s", argv[i]);
    }
}

int main(int argc, char **argv) {
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: %s CHECKPOINT [--task T] [--seed N] [--data DIR] [--train FILE]\n\n"
               "Adds the run description (META) and the training word list (WORD) to a checkpoint\n"
               "saved before they existed, in place and atomically, leaving its other sections as\n"
               "they were (`make shipped-run-info` does it for data/fr-en.ckpt).\n", argv[0]);
        return 0;
    }
    if (argc < 2 || argc % 2 != 0)
        die("usage: %s CHECKPOINT [--task T] [--seed N] [--data DIR] [--train FILE]", argv[0]);
    TrainOptions o;
    parse_options(argc, argv, &o);
    Loaded l;
    load_everything(argv[1], &l);
    char tsv[600];
    if (strcmp(o.task, "corpus") == 0) snprintf(tsv, sizeof tsv, "%s", o.train_path);
    else snprintf(tsv, sizeof tsv, "%s/fr-en/train.tsv", o.data_dir);
    WordList words = {0};
    ErrorMessage err;
    if (task_is_translation(o.task) && !wordlist_from_tsv_file(&words, tsv, &err)) die("%s", err.text);
    RunInfo *info = xmalloc(sizeof *info);
    train_options_describe(&o, info);
    CheckpointParts parts = {.model = &l.m, .tok = &l.tok, .state = l.state.present ? &l.state : NULL,
                             .opt = l.opt.memory ? &l.opt : NULL, .info = info, .words = &words};
    if (!checkpoint_save_parts(argv[1], &parts, &err)) die("%s", err.text);
    printf("%s: added the run description (%d entries) and %d training words\n", argv[1], info->n, words.n);
    free(info);
    wordlist_free(&words);
    free(l.param_sum);
    adam_free(&l.opt);
    tokenizer_free(&l.tok);
    model_free(&l.m);
    return 0;
}
