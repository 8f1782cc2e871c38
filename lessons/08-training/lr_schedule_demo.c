// lr_schedule_demo.c: lesson 08, part 2, printed in the terminal.
//   1. The learning rate of Eq. (3), §5.3, over training steps: a linear warmup, then a
//      decay ∝ 1/√step. The paper's base model, and the defaults `transformer train`
//      uses for fr-en and reverse (read from train_options_default, so they stay true).
//   2. Adam's update on one parameter: its step size does not depend on the size of
//      the gradient.
// (The label-smoothing table that used to end this demo is build/loss_demo, part 1.)
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "optimizer.h"
#include "train.h"

enum { WIDTH = 64, HEIGHT = 14 };

// A terminal plot of Eq. (3) for steps 1..max_step: one column per step range, a '█' at
// the height of the rate (the top row is the peak, reached at step = warmup).
static void plot_schedule(int d_model, int warmup, long max_step, float scale) {
    float lr[WIDTH], peak = 0;
    for (int x = 0; x < WIDTH; x++) {
        long step = 1 + (long)((double)x / (WIDTH - 1) * (double)(max_step - 1));
        lr[x] = scale * lrate_schedule(step, d_model, warmup);
        if (lr[x] > peak) peak = lr[x];
    }
    float top = scale * lrate_schedule(warmup, d_model, warmup);  // the exact peak
    if (top > peak) peak = top;
    printf("lrate = %g · d_model^-0.5 · min(step^-0.5, step · warmup^-1.5),  d_model = %d, warmup = %d\n",
           (double)scale, d_model, warmup);
    for (int row = HEIGHT - 1; row >= 0; row--) {
        float level = peak * (float)(row + 0.5) / HEIGHT;
        if (row == HEIGHT - 1) printf("%9.2e ┤", (double)peak);
        else if (row == 0) printf("%9.2e ┤", 0.0);
        else printf("          │");
        for (int x = 0; x < WIDTH; x++) printf("%s", lr[x] >= level ? "█" : " ");
        printf("\n");
    }
    printf("          └");
    for (int x = 0; x < WIDTH; x++) printf("─");
    printf("\n%11s1%*ld  (step)\n", "", WIDTH - 1, max_step);
    printf("           peak %.2e at step %d; at step %ld: %.2e\n\n", (double)top, warmup, max_step,
           (double)(scale * lrate_schedule(max_step, d_model, warmup)));
}

// Adam on one parameter w with loss (w - 3)²·g_scale/2, from w = 0, at a fixed learning
// rate: prints the first steps for two gradient scales. Adam divides m̂ by sqrt(v̂), so the
// step is about lr whatever the gradient's size (the bias correction makes that hold
// from step 1).
static void adam_one_parameter(void) {
    const float scales[2] = {1.0f, 1000.0f};
    const float lr = 0.1f;
    printf("Adam (β1 0.9, β2 0.98, ε 1e-9) at a fixed lr = %.1f on L(w) = s·(w - 3)²/2, from w = 0:\n",
           (double)lr);
    printf("  step   s = 1: gradient        w    s = 1000: gradient        w\n");
    Adam opt[2];
    float w[2] = {0.0f, 0.0f};
    for (int i = 0; i < 2; i++) {
        AdamConfig config = adam_config_paper(1);
        adam_init(&opt[i], &config, 1);
    }
    for (int step = 1; step <= 6; step++) {
        float g[2];
        for (int i = 0; i < 2; i++) {
            g[i] = scales[i] * (w[i] - 3.0f);
            adam_update(&opt[i], &w[i], &g[i], lr);
        }
        printf("  %4d   %16.3f %8.4f   %19.3f %8.4f\n", step, (double)g[0], (double)w[0],
               (double)g[1], (double)w[1]);
    }
    for (int i = 0; i < 2; i++) adam_free(&opt[i]);
    printf("A gradient 1000 times larger moves w by the same steps: Adam's step is lr times\n"
           "m̂/sqrt(v̂), about ±1 while the gradient keeps its sign. That is why Eq. (3) can\n"
           "set the step size directly, the same for every parameter.\n");
}

int main(int argc, char **argv) {
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: lr_schedule_demo\n\nPrints the learning-rate schedule of Eq. (3) (§5.3) as a terminal\n"
               "plot, for the paper's base model and for this project's fr-en and reverse\n"
               "defaults, and Adam's first steps on one parameter (§5.3).\n");
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "lr_schedule_demo: unexpected argument '%s' (see --help)\n", argv[1]);
        return 1;
    }
    printf("== Eq. (3), the paper's base model (§5.3: warmup_steps = 4000; the first 20,000 of its 100,000 steps)\n");
    plot_schedule(512, 4000, 20000, 1.0f);
    const char *tasks[2] = {"fr-en", "reverse"};
    for (int i = 0; i < 2; i++) {
        TrainOptions opt;
        ErrorMessage err;
        if (!train_options_default(&opt, tasks[i], &err)) die("%s", err.text);
        printf("== `transformer train --task %s` defaults (d_model %d, warmup %d, %ld steps, scale %g)\n",
               tasks[i], opt.d_model, opt.warmup, opt.steps, (double)opt.lr_scale);
        plot_schedule(opt.d_model, opt.warmup, opt.steps, opt.lr_scale);
    }
    printf("== Adam (§5.3)\n");
    adam_one_parameter();
    return 0;
}
