// lr_schedule_demo.c: two pictures for lesson 08, printed in the terminal.
//   1. The learning rate of Eq. (3), §5.3, over training steps: a linear warmup, then a
//      decay ∝ 1/√step. The paper's base model, and the small model `transformer train`
//      uses, side by side.
//   2. What label smoothing (§5.4) does to the loss: without it the loss keeps falling as
//      the model grows surer of the right token; with it the best is p(y) = 1 - ε + ε/V,
//      and more confidence is punished.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loss.h"
#include "optimizer.h"

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

// The loss of one position whose logits put p on the right token and spread the rest
// evenly over the other V-1, with and without smoothing, through loss_forward.
static void loss_table(int V, float eps) {
    printf("one position, V = %d classes, the right class y gets probability p(y), the others share the rest:\n", V);
    printf("   p(y)    -log p(y) (no smoothing)    label-smoothed loss, ε = %.1f\n", (double)eps);
    const double ps[] = {0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 0.91, 0.95, 0.99, 0.999};
    float *logits = malloc(sizeof(float) * (size_t)V);
    float *probs = malloc(sizeof(float) * (size_t)V);
    int target = 3;
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        double p = ps[i], other = (1 - p) / (V - 1);
        for (int c = 0; c < V; c++) logits[c] = (float)log(c == target ? p : other);
        LossResult plain, smooth;
        LossSpec one_position = {.B = 1, .T = 1, .V = V, .smoothing = 0.0f, .ignore_index = -1};
        loss_forward(&plain, probs, logits, &target, one_position);
        one_position.smoothing = eps;
        loss_forward(&smooth, probs, logits, &target, one_position);
        printf("  %6.3f   %8.4f                    %8.4f%s\n", p, plain.loss, smooth.loss,
               fabs(p - (1 - eps + eps / V)) < 1e-9 ? "   <- the minimum: p(y) = 1 - ε + ε/V" : "");
    }
    free(probs);
    free(logits);
    printf("Without smoothing the loss only falls as p(y) -> 1; with it, certainty costs: the\n"
           "target distribution itself keeps ε spread over all V classes (§5.4: \"This hurts\n"
           "perplexity, as the model learns to be more unsure, but improves accuracy and BLEU\").\n");
}

int main(int argc, char **argv) {
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: lr_schedule_demo\n\nPrints the learning-rate schedule of Eq. (3) (§5.3) as a terminal\n"
               "plot, for the paper's base model and for this project's small models, and a table\n"
               "of the loss with and without label smoothing (§5.4).\n");
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "lr_schedule_demo: unexpected argument '%s' (see --help)\n", argv[1]);
        return 1;
    }
    printf("== Eq. (3), the paper's base model (§5.3: warmup_steps = 4000; the first 20,000 of its 100,000 steps)\n");
    plot_schedule(512, 4000, 20000, 1.0f);
    printf("== `transformer train --task fr-en` defaults (d_model 128, warmup 800, 2000 steps, scale 1)\n");
    plot_schedule(128, 800, 2000, 1.0f);
    printf("== Label smoothing (§5.4)\n");
    loss_table(10, LABEL_SMOOTHING);
    return 0;
}
