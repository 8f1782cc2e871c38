// optimizer.h: Adam with the paper's warmup learning-rate schedule (§5.3, Eq. 3).
//
// §5.3: "We used the Adam optimizer with β1 = 0.9, β2 = 0.98 and ε = 10^-9. We varied the
// learning rate over the course of training, according to the formula
//     lrate = d_model^-0.5 · min(step_num^-0.5, step_num · warmup_steps^-1.5)     (3)
// This corresponds to increasing the learning rate linearly for the first warmup_steps
// training steps, and decreasing it thereafter proportionally to the inverse square root
// of the step number. We used warmup_steps = 4000."
//
// Adam (Kingma & Ba 2015) keeps two running averages per parameter, of the gradient (m)
// and of its square (v); like the model's parameters and gradients, each lives in ONE
// contiguous buffer, so an update is one loop over all n floats.
#ifndef OPTIMIZER_H
#define OPTIMIZER_H

#include <stdbool.h>

typedef struct {
    float beta1;         // 0.9   decay of the gradient average m
    float beta2;         // 0.98  decay of the squared-gradient average v
    float eps;           // 1e-9  added to sqrt(v̂) so the step never divides by 0
    int d_model;         // Eq. (3) scales the learning rate by d_model^-0.5
    int warmup_steps;    // Eq. (3): 4000 in the paper; toy models want far fewer
    float lr_scale;      // multiplies Eq. (3); 1 in the paper
    float clip_norm;     // if > 0, gradients are rescaled to global L2 norm <= clip_norm
                         // before the update (not in the paper; 0 = off, the default)
} AdamConfig;

typedef struct {
    AdamConfig config;
    long n;              // number of parameters
    long step;           // updates done so far (Adam's t, Eq. (3)'s step_num after an update)
    float *m;            // (n) first moment, m = β1·m + (1-β1)·g
    float *v;            // (n) second moment, v = β2·v + (1-β2)·g²
    float *memory;       // one allocation holding m then v (2n floats), for checkpoints
    float last_lr;       // the learning rate of the last update
    float last_grad_norm;// global L2 norm of the gradients of the last adam_step (before
                         // clipping); computed only when clipping is on, else -1
} Adam;

// The paper's settings (§5.3) for a model of width d_model: β1 0.9, β2 0.98, ε 1e-9,
// warmup 4000, scale 1, no clipping.
AdamConfig adam_config_paper(int d_model);

// Allocates zeroed moments for n parameters; step = 0. adam_free releases them and leaves
// opt safe to free again.
void adam_init(Adam *opt, const AdamConfig *config, long n);
void adam_free(Adam *opt);

// Eq. (3): lrate = d_model^-0.5 · min(step^-0.5, step · warmup^-1.5), step counting from 1
// (step 1 is the first update). Returns 0 for step < 1.
float lrate_schedule(long step, int d_model, int warmup_steps);

// The global L2 norm sqrt(Σ g²) of n gradient values (deterministic summation order).
float grad_global_norm(const float *grads, long n);

// One Adam update with an explicit learning rate, exactly as torch.optim.Adam:
//   t += 1;  m = β1 m + (1-β1) g;  v = β2 v + (1-β2) g²
//   params -= lr / (1-β1^t) · m / (sqrt(v) / sqrt(1-β2^t) + ε)
// params and grads are (n); grads are only read.
void adam_update(Adam *opt, float *params, const float *grads, float lr);

// One training step as in the paper: the learning rate from Eq. (3) for step t = opt->step+1
// (times lr_scale), optional clipping of grads in place (config.clip_norm > 0), then
// adam_update. Returns the learning rate used. params and grads are (n).
float adam_step(Adam *opt, float *params, float *grads);

#endif
