// optimizer.c: Adam and the warmup schedule of §5.3, Eq. (3) (see optimizer.h).
#include "optimizer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "tensor.h"

// §5.3: β1 = 0.9, β2 = 0.98, ε = 1e-9, warmup_steps = 4000.
AdamConfig adam_config_paper(int d_model) {
    AdamConfig config = {
        .beta1 = 0.9f,
        .beta2 = 0.98f,
        .eps = 1e-9f,
        .d_model = d_model,
        .warmup_steps = 4000,
        .lr_scale = 1.0f,
        .clip_norm = 0.0f,
    };
    return config;
}

// Moments m and v, (n) each, in one zeroed buffer: Adam starts from m = v = 0.
void adam_init(Adam *opt, const AdamConfig *config, long n) {
    memset(opt, 0, sizeof *opt);
    opt->config = *config;
    opt->n = n;
    opt->memory = xcalloc((size_t)(2 * n), sizeof(float));
    opt->m = opt->memory;
    opt->v = opt->memory + n;
    opt->last_grad_norm = -1.0f;
}

void adam_free(Adam *opt) {
    free(opt->memory);
    memset(opt, 0, sizeof *opt);
}

// Eq. (3): lrate = d_model^-0.5 · min(step^-0.5, step · warmup^-1.5). The two branches
// meet at step = warmup: a linear ramp up, then a 1/√step decay.
float lrate_schedule(long step, int d_model, int warmup_steps) {
    if (step < 1) return 0.0f;
    // EXERCISE 08 lr-schedule: the learning rate of Eq. (3) (§5.3)
    // TODO: lrate = d_model^-0.5 · min(step^-0.5, step · warmup_steps^-1.5)
    // TODO: Compute in double (sqrt, pow, fmin) and return it as a float. The two terms
    // TODO: cross at step = warmup_steps: a linear ramp before, 1/√step after.
    // STUB: return 0.0f;
    // SOLUTION
    double s = (double)step;
    double decay = 1.0 / sqrt(s);
    double ramp = s * pow((double)warmup_steps, -1.5);
    return (float)(fmin(decay, ramp) / sqrt((double)d_model));
    // END EXERCISE
}

// sqrt(Σ g²) over (n) values. Like the loss, summed in fixed chunks, then the chunk sums
// in order, so the result does not depend on the number of threads.
enum { NORM_CHUNKS = 64 };
float grad_global_norm(const float *grads, long n) {
    double chunk_sum[NORM_CHUNKS] = {0};
#pragma omp parallel for schedule(static) num_threads(threads_for_work(n * ELEMENT_WORK))
    for (int chunk = 0; chunk < NORM_CHUNKS; chunk++) {
        long begin = n * chunk / NORM_CHUNKS, end = n * (chunk + 1) / NORM_CHUNKS;
        double sum = 0.0;
        for (long i = begin; i < end; i++) sum += (double)grads[i] * grads[i];
        chunk_sum[chunk] = sum;
    }
    double total = 0.0;
    for (int chunk = 0; chunk < NORM_CHUNKS; chunk++) total += chunk_sum[chunk];
    return (float)sqrt(total);
}

// Kingma & Ba 2015, Algorithm 1, in PyTorch's arrangement of the bias corrections (so the
// fixture test can compare to it to the last bits). params, grads, m, v are (n).
void adam_update(Adam *opt, float *params, const float *grads, float lr) {
    opt->step++;
    opt->last_lr = lr;
    // EXERCISE 08 adam-update: one Adam step on every parameter (Kingma & Ba, Algorithm 1)
    // TODO: With g = grads[i], t = opt->step (already counted), β1, β2, ε from opt->config,
    // TODO: and the moments opt->m, opt->v (opt->n floats each, kept between steps):
    // TODO:     m[i] = β1·m[i] + (1-β1)·g          v[i] = β2·v[i] + (1-β2)·g²
    // TODO:     params[i] -= lr/(1-β1^t) · m[i] / (sqrt(v[i]) / sqrt(1-β2^t) + ε)
    // TODO: (PyTorch's arrangement of the bias corrections: the fixture test compares to
    // TODO: it to the last bits, so keep this order; compute 1-β^t once, with pow in double).
    // STUB: (void)params; (void)grads;
    // SOLUTION
    const float beta1 = opt->config.beta1, beta2 = opt->config.beta2, eps = opt->config.eps;
    // m and v start at 0, so early on they are biased towards 0; dividing by 1 - β^t
    // undoes that (t = 1: m̂ = g exactly).
    double t = (double)opt->step;
    float correction1 = (float)(1.0 - pow((double)beta1, t));
    float correction2_sqrt = (float)sqrt(1.0 - pow((double)beta2, t));
    float step_size = lr / correction1;
    float *m = opt->m, *v = opt->v;
    long n = opt->n;
#pragma omp parallel for schedule(static) num_threads(threads_for_work(n * ELEMENT_WORK))
    for (long i = 0; i < n; i++) {
        float g = grads[i];
        m[i] = beta1 * m[i] + (1.0f - beta1) * g;
        v[i] = beta2 * v[i] + (1.0f - beta2) * g * g;
        float denom = sqrtf(v[i]) / correction2_sqrt + eps;
        params[i] -= step_size * m[i] / denom;
    }
    // END EXERCISE
}

// §5.3: one step with the learning rate of Eq. (3) at step_num = opt->step + 1.
float adam_step(Adam *opt, float *params, float *grads) {
    const AdamConfig *c = &opt->config;
    float lr = c->lr_scale * lrate_schedule(opt->step + 1, c->d_model, c->warmup_steps);
    opt->last_grad_norm = -1.0f;
    if (c->clip_norm > 0.0f) {
        // Rescale all gradients together (the direction is kept) when their norm is too
        // big; the 1e-6 as torch.nn.utils.clip_grad_norm_.
        float norm = grad_global_norm(grads, opt->n);
        opt->last_grad_norm = norm;
        float coefficient = c->clip_norm / (norm + 1e-6f);
        if (coefficient < 1.0f) vec_scale(grads, coefficient, opt->n);
    }
    adam_update(opt, params, grads, lr);
    return lr;
}
