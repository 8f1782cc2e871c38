// threads.c: the ThreadChooser (see threads.h).
#include "threads.h"

#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

int threads_max(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

void chooser_init(ThreadChooser *c, int most) {
    memset(c, 0, sizeof *c);
#ifdef _OPENMP
    c->most = most > 1 ? most : 1;
#else
    (void)most;
    c->most = 1;
#endif
    c->many = c->most > 1;
    c->interval = CHOOSER_FIRST_INTERVAL;
    c->next_trial = 2;  // the first step is not timed, the second times this setting, the third the other
}

// Whether the step in progress runs on most threads: the chosen setting, or the other
// one during a trial.
static bool step_runs_many(const ThreadChooser *c) { return c->trial ? !c->many : c->many; }

int chooser_begin(ThreadChooser *c) {
    c->trial = c->most > 1 && c->steps == c->next_trial;
    int threads = step_runs_many(c) ? c->most : 1;
#ifdef _OPENMP
    omp_set_num_threads(threads);
#endif
    return threads;
}

// After a timed step: switch when the other setting's last cost beats the chosen one's by
// CHOOSER_MARGIN. That is checked after every step, not only after trials, so that a
// machine that gets busy mid-run (the chosen setting's cost rising) is answered at once.
// A trial that leaves the choice standing doubles the interval to the next one; a switch
// resets it.
static void decide(ThreadChooser *c) {
    int kept = c->many, other = !c->many;
    if (c->timed[kept] && c->timed[other] && c->cost[other] < CHOOSER_MARGIN * c->cost[kept]) {
        c->many = other;
        c->interval = CHOOSER_FIRST_INTERVAL;
        c->next_trial = c->steps + c->interval;
    } else if (c->trial) {
        c->interval = c->interval * 2 < CHOOSER_MAX_INTERVAL ? c->interval * 2 : CHOOSER_MAX_INTERVAL;
        c->next_trial = c->steps + c->interval;
    }
}

void chooser_end(ThreadChooser *c, double seconds, double work) {
    int used = step_runs_many(c);
    c->steps_many += used;
    c->steps++;
    if (c->steps > 1 && work > 0 && seconds >= 0) {  // the first step pays for first touches
        double cost = seconds / work;
        // A trial's single measurement replaces the old one (that setting may have been
        // timed long ago, on a machine that was busier or idler); the chosen setting's cost
        // is an average of its recent steps, weighted towards the latest.
        if (c->trial || !c->timed[used]) c->cost[used] = cost;
        else c->cost[used] = 0.75 * c->cost[used] + 0.25 * cost;
        c->timed[used] = true;
        decide(c);
    } else if (c->trial) {
        c->next_trial = c->steps + c->interval;  // an untimed trial: try again later
    }
    c->trial = false;
}
