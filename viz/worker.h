// worker.h: the viewer's training thread. It drives the training loop of train.h (or
// loads a trained checkpoint), and every few hundred milliseconds translates the probe
// sentence with beam search (§6.1), reruns the model on the best hypothesis, and
// publishes a Snapshot of everything the screen shows: all attention matrices of the
// probe, its tokens, the hypotheses and the loss history.
//
// The render thread talks to it only through the SnapshotExchange (data out) and the
// VizControl (pause, quit, a new probe sentence in).
#ifndef VIZ_WORKER_H
#define VIZ_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "common.h"
#include "snapshot.h"

typedef struct {
    // ---- set by the caller ----
    char task[16];            // "fr-en", "copy", "reverse", "sort"
    char model_path[512];     // "": train live; else explore this checkpoint (no training)
    char data_dir[256];       // where fr-en/*.tsv live ("data")
    long steps;               // > 0: train this many steps; 0: the task's default; < 0: none
    int threads;              // OpenMP threads for training (0: the task default)
    uint64_t seed;            // 0: the task default
    double publish_seconds;   // least time between snapshots while training (e.g. 0.25);
                              // also at most ~5% of the time goes to them (see worker.c)
    bool once;                // headless: return after the last step's snapshot
    char checkpoint_path[512];// live run: the model (and its .history) is saved here,
                              // periodically and when the viewer quits ("": not saved)
    SnapshotExchange *exchange;
    VizControl *control;
    // ---- results ----
    bool failed;              // err holds the message
    ErrorMessage err;
    long steps_done;
    double tokens_per_sec;    // target tokens / wall-clock training seconds (pauses excluded)
    double step_tokens_per_sec;    // the same over the steps' own time (as `transformer train` reports)
    double publish_seconds_total;  // time spent translating the probe and publishing
} WorkerConfig;

// The default probe sentence for a task: the classic example "je suis étudiant" for fr-en (not from the paper).
const char *worker_default_probe(const char *task);

// Runs the worker in the calling thread until the control says quit (or, with once,
// until training ends or the model is loaded). Publishes a snapshot with the error in
// its status line and sets failed if the data or checkpoint cannot be loaded.
void worker_run(WorkerConfig *cfg);

// The same, as a pthread body (arg is a WorkerConfig*).
void *worker_thread(void *arg);

#endif
