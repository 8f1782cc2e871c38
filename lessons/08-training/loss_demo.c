// loss_demo.c: lesson 08, part 1. The label-smoothed cross-entropy of §5.4 on one
// position of V = 10 classes, through loss_forward and loss_backward:
//   1. the target distribution q that smoothing makes of the one-hot target;
//   2. the loss as the model grows surer of the right class, with and without smoothing:
//      with it, the best is p(y) = 1 - ε + ε/V, not certainty;
//   3. the gradient with respect to the logits, (p - q) / n_tokens, and the padding
//      positions that count for nothing.
//
//   build/loss_demo
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "loss.h"
#include "tokenizer.h"

enum { V = 10, TARGET = 3 };

// Logits (V) whose softmax puts p on class TARGET and shares 1 - p evenly among the rest.
static void logits_with_probability(float *logits, double p) {
    double other = (1 - p) / (V - 1);
    for (int c = 0; c < V; c++) logits[c] = (float)log(c == TARGET ? p : other);
}

// Part 1: q(c) = (1 - ε)·[c = y] + ε/V for ε = 0 and ε = 0.1.
static void show_target_distribution(void) {
    printf("== 1. The target distribution q of one position, V = %d classes, correct class y = %d\n",
           V, TARGET);
    for (int s = 0; s < 2; s++) {
        float eps = s == 0 ? 0.0f : LABEL_SMOOTHING;
        printf("   ε = %.1f  q =", (double)eps);
        for (int c = 0; c < V; c++) printf(" %.2f", (double)((c == TARGET ? 1 - eps : 0) + eps / V));
        printf("\n");
    }
    printf("\n");
}

// Part 2: the loss of one position as p(y) grows, plain and smoothed.
static void show_loss_table(void) {
    printf("== 2. The loss of that position as the model puts p(y) on the right class\n");
    printf("   p(y)    -log p(y) (no smoothing)    label-smoothed loss, ε = %.1f\n",
           (double)LABEL_SMOOTHING);
    const double ps[] = {0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 0.91, 0.95, 0.99, 0.999};
    float logits[V], probs[V];
    int target = TARGET;
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        logits_with_probability(logits, ps[i]);
        LossResult plain, smooth;
        loss_forward(&plain, probs, logits, &target, (LossSpec){.B = 1, .T = 1, .V = V, .smoothing = 0.0f, .ignore_index = TOKEN_PAD});
        loss_forward(&smooth, probs, logits, &target, (LossSpec){.B = 1, .T = 1, .V = V, .smoothing = LABEL_SMOOTHING, .ignore_index = TOKEN_PAD});
        int minimum = fabs(ps[i] - (1 - LABEL_SMOOTHING + LABEL_SMOOTHING / V)) < 1e-6;
        printf("  %6.3f   %8.4f                    %8.4f%s\n", ps[i], plain.loss, smooth.loss,
               minimum ? "   <- the minimum: p(y) = 1 - ε + ε/V" : "");
    }
    printf("   Without smoothing the loss only falls as p(y) -> 1; with it, certainty costs:\n"
           "   the target q itself keeps ε spread over all V classes.\n\n");
}

// Part 3: dlogits of a batch of 1 sentence, T = 2 positions, the second one padding.
static void show_gradient(void) {
    printf("== 3. The gradient dloss/dlogits = (p - q) / n_tokens, T = 2, position 2 is padding\n");
    float logits[2 * V], probs[2 * V], dlogits[2 * V];
    logits_with_probability(logits, 0.5);
    logits_with_probability(logits + V, 0.5);
    int targets[2] = {TARGET, TOKEN_PAD};
    LossResult r;
    LossSpec sentence = {.B = 1, .T = 2, .V = V, .smoothing = LABEL_SMOOTHING, .ignore_index = TOKEN_PAD};
    loss_forward(&r, probs, logits, targets, sentence);
    memset(dlogits, 0, sizeof dlogits);
    loss_backward(dlogits, probs, r.n_tokens, targets, sentence);
    printf("   n_tokens = %ld (the padding position is not counted), loss %.4f, nll %.4f\n",
           r.n_tokens, r.loss, r.nll);
    for (int t = 0; t < 2; t++) {
        printf("   position %d, p   =", t + 1);
        for (int c = 0; c < V; c++) printf(" %6.3f", (double)probs[t * V + c]);
        printf("\n   position %d, dz  =", t + 1);
        for (int c = 0; c < V; c++) printf(" %6.3f", (double)dlogits[t * V + c]);
        printf("\n");
    }
    double sum = 0;
    for (int c = 0; c < V; c++) sum += dlogits[c];
    printf("   The gradient of a position sums to %.3f (p and q both sum to 1): raising every\n"
           "   logit by the same amount changes nothing. Class y gets p - (1 - ε + ε/V) =\n"
           "   0.5 - 0.91 = -0.41, each other class (0.5/9) - 0.01 = 0.046.\n",
           fabs(sum) < 5e-7 ? 0.0 : sum);
}

int main(int argc, char **argv) {
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: loss_demo\n\nLesson 08, part 1: the label-smoothed cross-entropy of §5.4 on one\n"
               "position (V = 10): the smoothed target, the loss with and without smoothing,\n"
               "and its gradient with respect to the logits.\n");
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "loss_demo: unexpected argument '%s' (see --help)\n", argv[1]);
        return 1;
    }
    show_target_distribution();
    show_loss_table();
    show_gradient();
    return 0;
}
