// shards.c: the data-parallel training pass (see shards.h: all of it is speed notes).
#include "shards.h"

#include <math.h>
#include <string.h>

#include "tensor.h"
#include "tokenizer.h"  // TOKEN_PAD

#ifdef _OPENMP
#include <omp.h>
#endif

// The rows of shard k of a batch of B: [shard_first(B, k), shard_first(B, k + 1)).
// Rounding up puts the odd row of an odd batch into shard 0, the one with room for a
// whole batch (the model's own activations); a batch of 1 leaves shard 1 empty.
static int shard_first(int B, int k) { return (B * k + SHARDS - 1) / SHARDS; }

// The most rows shards 1.. ever get: B/SHARDS rounded up, for B up to max_batch.
static ModelConfig shard_config(const ModelConfig *cfg) {
    ModelConfig c = *cfg;
    c.max_batch = (cfg->max_batch + SHARDS - 1) / SHARDS;
    return c;
}

void shards_init(Shards *s, const Model *m) {
    memset(s, 0, sizeof *s);
    const ModelConfig c = shard_config(&m->config);
    for (int k = 0; k < SHARDS - 1; k++) {
        model_acts_init(&s->acts[k], &c);
        model_gradients_init(&s->grads[k], &m->config);
    }
}

void shards_free(Shards *s) {
    for (int k = 0; k < SHARDS - 1; k++) {
        model_acts_free(&s->acts[k]);
        model_gradients_free(&s->grads[k]);
    }
    memset(s, 0, sizeof *s);
}

long shards_activation_count(const ModelConfig *cfg) {
    const ModelConfig c = shard_config(cfg);
    return (SHARDS - 1) * model_activation_count(&c);
}

// Where shard k runs: its activations and its gradients.
typedef struct {
    ModelActs *acts;
    const ModelWeights *dw;
    float *grads;
} ShardPlace;

static ShardPlace shard_place(Shards *s, Model *m, int k) {
    if (k == 0) return (ShardPlace){&m->acts, &m->params.dw, m->params.grads};
    return (ShardPlace){&s->acts[k - 1], &s->grads[k - 1].dw, s->grads[k - 1].grads};
}

// What one shard does, and what it found.
typedef struct {
    int first, last;   // its rows of the batch
    long n_tokens;     // target tokens of the whole batch: the loss is their mean
    Rng rng;           // its dropout masks
    LossResult loss;   // over its rows
    bool finite;       // its logits and loss were finite
} ShardJob;

// Shard `job`'s pass over its rows of work, in place `at`: zeroes its gradients, then
// forward, loss (a mean over all the batch's n_tokens, so that the shards' gradients
// add up to the whole batch's) and backward.
static void shard_pass(Model *m, ShardPlace at, const ShardedBatch *work, float *dlogits, ShardJob *job) {
    const ModelBatch *b = &work->batch;
    const int B = job->last - job->first, S = b->S, T = b->T, V = m->config.vocab_size;
    vec_zero(at.grads, m->params.n);
    memset(&job->loss, 0, sizeof job->loss);
    job->finite = true;
    if (B == 0) return;
    const ModelBatch part = {.src = b->src + (long)job->first * S, .src_lengths = b->src_lengths + job->first,
                             .tgt = b->tgt + (long)job->first * T, .tgt_lengths = b->tgt_lengths + job->first,
                             .B = B, .S = S, .T = T};
    model_forward_with(m, at.acts, &part, true, &job->rng);
    const long n_logits = (long)B * T * V;
    job->finite = vec_all_finite(at.acts->logits, n_logits);
    if (!job->finite) return;
    // The softmax overwrites the logits in place (probs == logits): they are not needed again.
    const LossSpec spec = {.B = B, .T = T, .V = V, .smoothing = work->smoothing, .ignore_index = TOKEN_PAD};
    const int *targets = work->tgt_out + (long)job->first * T;
    loss_forward(&job->loss, at.acts->logits, at.acts->logits, targets, spec);
    job->finite = isfinite(job->loss.loss);
    if (!job->finite) return;
    float *dl = dlogits + (long)job->first * T * V;
    vec_zero(dl, n_logits);
    loss_backward(dl, at.acts->logits, job->n_tokens, targets, spec);
    model_backward_with(m, at.acts, at.dw, dl);
}

// Target positions that are not padding, over the whole batch.
static long count_tokens(const int *tgt_out, long n) {
    long count = 0;
    for (long i = 0; i < n; i++) count += tgt_out[i] != TOKEN_PAD;
    return count;
}

// Runs every shard: one per thread when there are threads to spare (each shard's own
// loops then share the threads left over: a shard sets its thread's base level, see
// tensor.h's threads_nested), else one after the other on this thread.
static void run_shards(Shards *s, Model *m, const ShardedBatch *work, float *dlogits, ShardJob *jobs) {
#ifdef _OPENMP
    const int most = omp_get_max_threads();
    if (most >= 2 && jobs[1].last > jobs[1].first) {
        if (most > SHARDS && omp_get_max_active_levels() < 2) omp_set_max_active_levels(2);
        #pragma omp parallel num_threads(SHARDS)
        {
            const int t = omp_get_thread_num(), n = omp_get_num_threads();
            threads_set_base_level(omp_get_active_level());
            omp_set_num_threads(most / n + (t < most % n));  // this shard's share of the threads
            for (int k = t; k < SHARDS; k += n) shard_pass(m, shard_place(s, m, k), work, dlogits, &jobs[k]);
            threads_set_base_level(0);
        }
        return;
    }
#endif
    for (int k = 0; k < SHARDS; k++) shard_pass(m, shard_place(s, m, k), work, dlogits, &jobs[k]);
}

// Floats added at once by one thread when the gradients are summed.
#define ADD_CHUNK 65536L

// into (n) += from (n), chunks shared among the threads: each float is still one addition.
static void add_gradients(float *into, const float *from, long n) {
    const long chunks = (n + ADD_CHUNK - 1) / ADD_CHUNK;
    #pragma omp parallel for schedule(static) num_threads(threads_for_loop(chunks, n * 16))
    for (long c = 0; c < chunks; c++) {
        const long first = c * ADD_CHUNK, count = n - first < ADD_CHUNK ? n - first : ADD_CHUNK;
        vec_add(into + first, from + first, count);
    }
}

bool shards_gradients(Shards *s, Model *m, const ShardedBatch *work, float *dlogits, Rng *rng,
                      LossResult *result) {
    const ModelBatch *b = &work->batch;
    const long n_tokens = count_tokens(work->tgt_out, (long)b->B * b->T);
    // Two draws seed every shard's dropout, whatever the thread count.
    const uint64_t seed = (uint64_t)rng_u32(rng) << 32 | rng_u32(rng);
    ShardJob jobs[SHARDS];
    for (int k = 0; k < SHARDS; k++) {
        jobs[k] = (ShardJob){.first = shard_first(b->B, k), .last = shard_first(b->B, k + 1),
                             .n_tokens = n_tokens};
        rng_seed(&jobs[k].rng, seed, (uint64_t)k);
    }
    run_shards(s, m, work, dlogits, jobs);

    memset(result, 0, sizeof *result);
    double loss = 0, nll = 0;
    bool finite = true;
    for (int k = 0; k < SHARDS; k++) {
        finite = finite && jobs[k].finite;
        loss += jobs[k].loss.loss * (double)jobs[k].loss.n_tokens;
        nll += jobs[k].loss.nll * (double)jobs[k].loss.n_tokens;
        result->n_tokens += jobs[k].loss.n_tokens;
        result->n_correct += jobs[k].loss.n_correct;
    }
    if (!finite) {
        result->loss = result->nll = NAN;
        return false;
    }
    result->loss = n_tokens > 0 ? loss / (double)n_tokens : 0;
    result->nll = n_tokens > 0 ? nll / (double)n_tokens : 0;
    for (int k = 1; k < SHARDS; k++) add_gradients(m->params.grads, s->grads[k - 1].grads, m->params.n);
    return true;
}
