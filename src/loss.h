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

// Forward: softmax + label-smoothed cross-entropy over every position, §5.4.
//   result   gets the loss, the unsmoothed loss, the token count and accuracy
//   probs    (B,T,V) cache for the backward: softmax(logits) per position. It may be the
//            same array as logits (then the logits are overwritten).
//   logits   (B,T,V) the generator's pre-softmax scores
//   targets  (B,T) the correct next tokens; positions where targets == ignore_index
//            (pass TOKEN_PAD) count for nothing, in the loss or in the gradient
//   smoothing ε in [0,1): 0.1 in the paper, 0 gives plain cross-entropy
// Numerically stable: log p(c) = logit(c) - max - log Σ exp(logit - max). With no
// non-padding position at all, the loss is 0 (PyTorch would give NaN).
// Deterministic for any thread count (rows are summed in a fixed order).
void loss_forward(LossResult *result, float *probs, const float *logits, const int *targets,
                  float smoothing, int ignore_index, int B, int T, int V);

// Backward of loss_forward: dlogits (B,T,V) += (probs - q) / n_tokens at every position
// whose target is not ignore_index (rows of padding get nothing). In the forward pass this
// was loss = mean over positions of -Σ_c q(c) log softmax(logits)(c). n_tokens is
// result.n_tokens from the forward; dlogits must not be the same array as probs.
void loss_backward(float *dlogits, const float *probs, long n_tokens, const int *targets,
                   float smoothing, int ignore_index, int B, int T, int V);

#endif
