// decode.h: turning a trained model into output text, greedy and beam search (§6.1).
//
// The decoder is auto-regressive (§3.1): it predicts one token at a time, each from the
// source and the tokens produced so far. Decoding is the search over those choices:
//
//   greedy   take the most probable next token every time, stop at </s>.
//   beam     §6.1: "we used beam search with a beam size of 4 and length penalty
//            α = 0.6 [Wu et al. 2016]. ... We set the maximum output length during
//            inference to input length + 50, but terminate early when possible."
//            Keep the `beam` best partial translations instead of one.
//
// Scores are natural-log probabilities: log_prob = Σ log p(y_i | y_<i, x) over the
// generated tokens INCLUDING the final </s>. A sum of logs only falls as a hypothesis
// grows, so plain beam search prefers short outputs; Wu et al. (2016, Eq. 14) divide by
//
//     lp(Y) = ((5 + |Y|) / (5 + 1))^α          |Y| = tokens generated, </s> included
//
// and rank by score = log_prob / lp(Y). α = 0 gives lp = 1 (no penalty).
//
// The search itself only needs "log-probabilities of the next token for these
// prefixes", so it is written against a small Scorer interface: the model provides one
// (decode_beam / decode_greedy below), and the tests provide hand-made ones whose
// numbers can be checked on paper.
#ifndef DECODE_H
#define DECODE_H

#include <stdbool.h>

#include "model.h"

#define BEAM_SIZE_DEFAULT 4          // §6.1
#define LENGTH_PENALTY_DEFAULT 0.6f  // α of §6.1 / Wu et al. (2016)
#define DECODE_EXTRA_LEN 50          // §6.1: maximum output length = input length + 50
#define DECODE_MAX_TOKENS 256        // hard cap on one output (and on its prefix rows)
#define BEAM_MAX 16                  // largest beam accepted

// One finished (or cut-off) output sequence.
typedef struct {
    int tokens[DECODE_MAX_TOKENS];  // the generated tokens, without <s> and without </s>
    int length;                     // how many tokens[] hold
    bool finished;                  // ended with </s> (false: stopped at the length limit)
    float log_prob;                 // Σ log p over the generated tokens, </s> included
    float score;                    // log_prob / lp(|Y|), what hypotheses are ranked by
} Hypothesis;

// "What comes next?" for k prefixes at once.
//   prefixes   (k,t) token ids, each row <s> y1 .. y(t-1)
//   log_probs  (k,V) output: log p(next token | prefix row, source)
typedef struct {
    int vocab_size;  // V
    int max_rows;    // largest k the scorer accepts
    void (*next_log_probs)(void *ctx, const int *prefixes, int k, int t, float *log_probs);
    void *ctx;
} Scorer;

// Wu et al. (2016) length penalty lp = ((5 + length) / 6)^alpha. lp(1) = 1 for any α.
float length_penalty(int length, float alpha);

// Greedy search: from <s>, append argmax_y log p(y | prefix) until </s> or max_tokens
// tokens (</s> included) have been generated. Fills *out (score = log_prob / lp with
// alpha, so it is comparable to a beam hypothesis). max_tokens in 1..DECODE_MAX_TOKENS-1.
// NaN log-probabilities are never chosen; when no token is left (all NaN or -inf) the
// search stops there, unfinished, with log_prob = -inf.
void greedy_search(Hypothesis *out, const Scorer *scorer, int max_tokens, float alpha);

// Beam search with `beam` live hypotheses (1..BEAM_MAX, and <= scorer->max_rows):
//   1. every live prefix is extended by every token: candidate log_prob = prefix
//      log_prob + log p(token | prefix);
//   2. the best (beam - n_finished) candidates by log_prob survive (ties: lower prefix
//      index, then lower token id, so the result is deterministic);
//   3. a survivor ending in </s> is finished and leaves the beam, with its score
//      log_prob / lp(|Y|); the others stay live;
//   4. stop when `beam` hypotheses have finished, none is live, or max_tokens tokens have
//      been generated (live ones are then returned unfinished, scored the same way).
// The beam shrinks as hypotheses finish, so beam = 1 is exactly greedy search.
// Writes up to max_out (>= 1) hypotheses to out, best score first; returns how many,
// at least 1: when every candidate is NaN or -inf from the first step on, one empty,
// unfinished hypothesis with log_prob = score = -inf.
int beam_search(Hypothesis *out, int max_out, const Scorer *scorer, int beam, float alpha,
                int max_tokens);

// ---- with the model ------------------------------------------------------------------

// The model as a Scorer against the memory of the last model_encode: the log-softmax
// (generator.h) of each prefix row's next-token logits. Two ways, the same numbers:
//   with the KV cache (the default, model.h model_decode_step): one decoder step per row
//     for the prefixes' last token. The search hands over whole prefixes, so the scorer
//     finds each row's parent among the previous call's rows (the row whose prefix is
//     this one minus its last token) and reorders the cache by those parents
//     (model_decode_reorder); when there is none (a new search) it starts the cache
//     again and feeds it the prefixes position by position;
//   m->decode.full_recompute = true: model_decode over the k whole prefixes each call
//     (the memory repeated to k rows with model_repeat_memory when k changes).
// ctx holds the per-row lengths and the previous prefixes and must outlive the returned
// Scorer; max_rows = min(m->config.max_batch, BEAM_MAX). decode_greedy / decode_beam use
// it; a caller with its own length limit (the viewer) calls model_encode, then
// greedy_search / beam_search with it.
typedef struct {
    Model *m;
    int lengths[BEAM_MAX];  // (k) every prefix row has t tokens
    int cached_rows, cached_t;                     // the previous call's k and t (0: none)
    int cached[BEAM_MAX][DECODE_MAX_TOKENS];       // its prefixes, what the cache holds
} ModelScorer;
Scorer model_scorer(ModelScorer *ctx, Model *m);

// The output length limit of §6.1 for a source of src_len tokens: src_len + 50 tokens
// (</s> included), capped so that the longest decoder input, <s> + all but the last
// token, fits the model's max_len (and below DECODE_MAX_TOKENS).
int decode_max_tokens(const Model *m, int src_len);

// Greedy translation of one source row src (src_len tokens, x + </s>) with the model in
// evaluation mode (no dropout). The model's last forward pass then holds the attention
// of the final prefix (what `translate --attention` and the viewer draw; with the KV
// cache the decoder runs over that prefix once more at the end to leave it there).
void decode_greedy(Hypothesis *out, Model *m, const int *src, int src_len);

// Beam search translation of one source row (§6.1): model_encode once, then the live
// hypotheses decode together as one batch (the scorer above). m->config.max_batch must
// be >= beam. Returns the number of hypotheses written (best first). Afterwards the
// model's attention buffers do not show the best hypothesis (the last step's batch, or
// with the cache only the encoder's): call decode_rerun_attention to see the winner's.
int decode_beam(Hypothesis *out, int max_out, Model *m, const int *src, int src_len,
                int beam, float alpha);

// Runs the model once more over src and the decoder input <s> y1 .. yn of hyp, so that
// model_attention shows where the model looked while producing it: row i of the
// cross-attention is the step that produced y(i+1) (the last row, the final </s>).
// Returns T = n + 1 (capped at max_len), the rows of the cross-attention.
int decode_rerun_attention(Model *m, const int *src, int src_len, const Hypothesis *hyp);

// Greedy decoding of a whole batch at once (fast validation): src (B,S) with src_lengths,
// B <= max_batch. out is (B, max_tokens) tokens without <s>/</s>; out_lengths (B).
// Each row stops at its own </s> or after max_tokens tokens: with the KV cache a
// finished row leaves the batch (model_decode_reorder keeps the others), so later steps
// only compute the rows still running; m->decode.full_recompute decodes every row to the
// end with model_decode (the reference).
void decode_greedy_batch(int *out, int *out_lengths, Model *m, const int *src,
                         const int *src_lengths, int B, int S, int max_tokens);

#endif
