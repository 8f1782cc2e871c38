// loss.h: the training objective, cross-entropy with label smoothing (§5.4).
//
// The paper: "During training, we employed label smoothing of value ε_ls = 0.1 [Szegedy
// et al. 2016]. This hurts perplexity, as the model learns to be more unsure, but improves
// accuracy and BLEU score." Label smoothing replaces the one-hot target distribution of
// each position by
//
//     q(c) = (1 - ε) · [c == y] + ε / V          for every class c of the V classes
//
// and the loss is the cross-entropy H(q, p) = -Σ_c q(c) log p(c), where p = softmax(logits).
// Expanding it:  loss = (1 - ε) · (-log p(y))  +  ε · (1/V) Σ_c (-log p(c)).
//
// This is exactly torch.nn.CrossEntropyLoss(label_smoothing=ε, ignore_index=TOKEN_PAD):
// the ε/V mass goes to all V classes, the true one and <pad> included, and the mean is
// taken over the positions whose target is not padding. (Some implementations, e.g. the
// Annotated Transformer, spread ε over V-2 classes leaving out the true class and <pad>;
// the paper does not say, so we follow Szegedy et al.'s uniform u(k) = 1/V, as PyTorch.)
//
// The gradient is the same simple form as plain softmax cross-entropy:
//     ∂loss/∂logit(c) = (p(c) - q(c)) / n_tokens
#ifndef LOSS_H
#define LOSS_H

#define LABEL_SMOOTHING 0.1f  // ε_ls of §5.4

// What one loss evaluation reports. Sums are in double so a large batch adds up exactly
// enough; the means are over the n_tokens non-padding target positions.
typedef struct {
    double loss;     // mean label-smoothed cross-entropy: the number training minimises
    double nll;      // mean plain cross-entropy -log p(y) (no smoothing): the one to report,
                     // exp(nll) is the per-token perplexity
    long n_tokens;   // target positions that are not padding
    long n_correct;  // of those, how many have argmax(logits) == target (token accuracy)
} LossResult;

// What the loss is computed over, and how: the shapes and the two options.
typedef struct {
    int B, T, V;        // logits and probs are (B,T,V), targets (B,T)
    float smoothing;    // ε_ls in [0,1): LABEL_SMOOTHING (0.1) in the paper, 0 gives plain
                        // cross-entropy
    int ignore_index;   // positions whose target is this count for nothing, in the loss or
                        // in the gradient (pass TOKEN_PAD; -1 when no position is padding)
} LossSpec;

// Forward: softmax + label-smoothed cross-entropy over every position, §5.4.
//   result   gets the loss, the unsmoothed loss, the token count and accuracy
//   probs    (B,T,V) kept for the backward: softmax(logits) per position. It may be the
//            same array as logits (then the logits are overwritten).
//   logits   (B,T,V) the generator's pre-softmax scores
//   targets  (B,T) the correct next tokens
// Numerically stable: log p(c) = logit(c) - max - log Σ exp(logit - max). With no
// non-padding position at all, the loss is 0 (PyTorch would give NaN); a row with a NaN
// or infinite logit gives a NaN loss (the training loop stops on it). Deterministic for
// any thread count (rows are summed in a fixed order). Each row is loss_row_fast, or
// loss_row_plain in a PLAIN_KERNELS build (see tensor.h).
void loss_forward(LossResult *result, float *probs, const float *logits, const int *targets,
                  LossSpec spec);

// Backward of loss_forward: dlogits (B,T,V) += (probs - q) / n_tokens at every position
// whose target is not spec.ignore_index (rows of padding get nothing). In the forward pass
// this was loss = mean over positions of -Σ_c q(c) log softmax(logits)(c). n_tokens is
// result.n_tokens from the forward (<= 0: nothing is added); dlogits must not be the same
// array as probs.
void loss_backward(float *dlogits, const float *probs, long n_tokens, const int *targets,
                   LossSpec spec);

// ---- one position (row) of the forward: read the plain version first ------------------
// loss_forward works row by row. Both functions below compute, for one row of V logits,
// p = softmax(logits) into probs (V; it may be the same array as logits) and return
//   nll = -log p(target),  smooth = -(1/V) Σ_c log p(c),  argmax = first largest logit,
// the two terms of §5.4's loss (1-ε)·nll + ε·smooth. V >= 1, 0 <= target < V. A NaN or
// infinite logit gives NaN nll and smooth (and NaN probs).
typedef struct {
    double nll;     // -log p(target)
    double smooth;  // -(1/V) Σ_c log p(c): the cross-entropy against the uniform ε/V part
    int argmax;     // the first class with the largest logit (for token accuracy)
} LossRow;

// The plain row: the library's expf and log, each step as the formula says.
LossRow loss_row_plain(float *probs, const float *logits, int target, int V);

// The same row, fast (the one training uses; see the speed notes in loss.c): its exp is
// written in plain float arithmetic so that the loop over V vectorises. Agrees with
// loss_row_plain to float rounding.
LossRow loss_row_fast(float *probs, const float *logits, int target, int V);

#endif
