// shards.h: one training pass (forward with dropout, label-smoothed loss, backward, §5)
// over a batch cut in two halves that run at the same time: data parallelism. Speed
// notes, all of it: the plain pass is model_forward, loss_forward, loss_backward and
// model_backward on the whole batch (train.c's trainer_step shows them in order, and
// tests/test_08_train.c checks that this pass computes the same, to float rounding).
//
// Why. On 2 cores the small bench model's step ran 1.6x faster on 2 threads than on 1,
// because its products are too small to split well: every parallel loop waits at its end
// for the slower thread, and the elementwise work between the products (dropout, copies,
// sums of rows) runs on one. Two programs each training half the batch, side by side,
// got 2.0-2.1x together (make bench's small and base configs, 2 runs each). So the pass
// cuts the batch into SHARDS groups of sentences; each runs the whole forward, loss and
// backward through its own activations into its own gradients, one shard per thread with
// nothing shared but the weights (only read), and the shards' gradients are then added.
//
// What it changes. The gradient is the same sum, dLoss/dθ = Σ over the batch's target
// tokens, in another order: each shard sums over its own sentences, then the shards are
// added (shard 1's onto shard 0's). Each shard draws its dropout masks from its own
// Rng, seeded from the training Rng at every pass. Both are fixed by the batch, never by
// the thread count: a batch is always cut the same way, and on 1 thread the shards run
// one after the other, so a run gives the same bits on 1 thread or 2 (threads.h).
#ifndef SHARDS_H
#define SHARDS_H

#include <stdbool.h>

#include "loss.h"
#include "model.h"
#include "rng.h"

// The number of shards a batch is cut into (rows [B·k/SHARDS rounded up, ...)); shard
// 0 runs in the model's own activations and gradients.
#define SHARDS 2

typedef struct {
    ModelActs acts[SHARDS - 1];        // shards 1..: activations for max_batch/SHARDS rows
    ModelGradients grads[SHARDS - 1];  // and their gradients
} Shards;

// What a pass trains on: a batch, its targets, the loss's options.
typedef struct {
    ModelBatch batch;     // B rows of source and decoder input
    const int *tgt_out;   // (B,T) the next-token targets (TOKEN_PAD where there is none)
    float smoothing;      // ε_ls of the loss (§5.4)
} ShardedBatch;

// Allocates shards 1.. for m's configuration; frees them (zeroes the struct).
void shards_init(Shards *s, const Model *m);
void shards_free(Shards *s);
// Floats of the activations shards_init allocates for cfg (besides SHARDS - 1 gradient
// buffers of model_param_count floats each): check_memory's estimate.
long shards_activation_count(const ModelConfig *cfg);

// One pass over work (B <= max_batch): m->params.grads gets dLoss/dθ (overwritten: no
// model_zero_grad needed), *result the loss over the whole batch as loss_forward gives
// it, dlogits (B,T,V) is work space. rng seeds the shards' dropout (2 draws). Runs on
// up to omp_get_max_threads() threads. Returns false if a logit or the loss is not
// finite (then the gradients are unusable and result->loss is NaN).
bool shards_gradients(Shards *s, Model *m, const ShardedBatch *work, float *dlogits, Rng *rng,
                      LossResult *result);

#endif
