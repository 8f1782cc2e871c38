// threads.h: how many threads a training step runs on, chosen by timing the steps.
//
// Two threads make a training step faster only while both have a core. On an idle
// 2-core machine the toy model's step takes 10 ms on 2 threads and 15 ms on 1; once
// another program (a browser, the viewer's drawing thread) keeps one core busy, the same
// 2-thread step takes 50-65 ms, because every parallel loop waits at its end for the
// thread that lost its core. No thread count is right for both, and the program cannot
// know in advance which machine it is on, so it measures: a ThreadChooser times every
// step (seconds per unit of work, so that batches of different sizes compare), now and
// then runs one step on the other setting, and keeps whichever was faster. A trial that
// confirms the choice doubles the wait before the next one (up to CHOOSER_MAX_INTERVAL
// steps), so a setting that keeps losing costs less and less; a switch resets it.
//
// Choosing never changes a result: every number is computed by one thread in a fixed
// order whatever the thread count (tensor.h), and a step cuts its batch into the same two
// shards on 1 thread as on 2 (shards.h), so a run that switched a hundred times ends with
// the same bits as a run on one thread.
#ifndef THREADS_H
#define THREADS_H

#include <stdbool.h>

// Steps between trials of the other setting: at first, and at most (see above).
#define CHOOSER_FIRST_INTERVAL 8
#define CHOOSER_MAX_INTERVAL 256
// The other setting must be this much faster (seconds per work below this fraction of
// the current one's) to be chosen, so that noise between similar settings does not flip
// the choice back and forth.
#define CHOOSER_MARGIN 0.95

typedef struct {
    int most;                 // the thread count asked for (--threads); settings are 1 and most
    bool many;                // the chosen setting: most threads (true) or 1 (false)
    bool trial;               // the step in progress runs on the other setting
    double cost[2];           // smoothed seconds per unit of work: [0] on 1 thread, [1] on most
    bool timed[2];            // cost[i] holds a measurement
    long steps;               // steps finished
    long next_trial;          // the step (count of steps finished) that tries the other setting
    long interval;            // steps from one trial to the next
    long steps_many;          // steps that ran on most threads
} ThreadChooser;

// The most OpenMP threads a parallel loop may use now (omp_get_max_threads(): the last
// omp_set_num_threads, else OMP_NUM_THREADS, else the cores); 1 in a build without OpenMP.
int threads_max(void);

// A chooser for up to `most` threads (>= 1), starting on most threads. With most = 1, or
// in a build without OpenMP, it always says 1.
void chooser_init(ThreadChooser *c, int most);

// The thread count for the next step; chooser_begin also sets it (omp_set_num_threads).
int chooser_begin(ThreadChooser *c);

// The step begun last took `seconds` for `work` (any measure proportional to its cost,
// e.g. padded tokens; > 0). The first step is not counted: it also pays for first touches
// of memory.
void chooser_end(ThreadChooser *c, double seconds, double work);

#endif
