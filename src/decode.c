// decode.c: greedy and beam search (§6.1). See decode.h for the algorithm and scores.
#include "decode.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "generator.h"
#include "tokenizer.h"

float length_penalty(int length, float alpha) {
    // EXERCISE 08 length-penalty: Wu et al.'s length penalty, used in §6.1 with α = 0.6
    // TODO: lp(Y) = ((5 + |Y|) / 6)^α   with |Y| = length (in float: powf).
    // STUB: (void)length; (void)alpha; return 1.0f;
    // SOLUTION
    return powf((5.0f + (float)length) / 6.0f, alpha);
    // END EXERCISE
}

// Tokens the search may never produce: <pad> is not a word and <s> only starts a prefix.
static bool token_allowed(int token) { return token != TOKEN_PAD && token != TOKEN_BOS; }

// ---- greedy -------------------------------------------------------------------------

void greedy_search(Hypothesis *out, const Scorer *scorer, int max_tokens, float alpha) {
    assert(max_tokens >= 1 && max_tokens < DECODE_MAX_TOKENS);
    const int V = scorer->vocab_size;
    int prefix[DECODE_MAX_TOKENS + 1];
    float *log_probs = xmalloc(sizeof(float) * (size_t)V);
    memset(out, 0, sizeof *out);
    prefix[0] = TOKEN_BOS;
    for (int t = 1; t <= max_tokens; t++) {
        scorer->next_log_probs(scorer->ctx, prefix, 1, t, log_probs);
        int best = -1;  // argmax over the usable ones (not NaN); the lowest id wins a tie
        for (int y = 0; y < V; y++)
            if (token_allowed(y) && !isnan(log_probs[y]) && (best < 0 || log_probs[y] > log_probs[best]))
                best = y;
        if (best < 0 || log_probs[best] == -INFINITY) {  // nothing the model can say: stop
            out->log_prob = -INFINITY;
            break;
        }
        out->log_prob += log_probs[best];
        if (best == TOKEN_EOS) {
            out->finished = true;
            break;
        }
        out->tokens[out->length++] = best;
        prefix[t] = best;
    }
    // |Y| counts </s> when there is one.
    out->score = out->log_prob / length_penalty(out->length + (out->finished ? 1 : 0), alpha);
    free(log_probs);
}

// ---- beam -----------------------------------------------------------------------------

typedef struct {
    float log_prob;
    int row;    // which live prefix it extends
    int token;  // the token it appends
} Candidate;

// Inserts c into the list best[0..*n) kept sorted by log_prob, descending, holding at
// most `want`. A candidate only displaces one that is strictly worse, so among equals
// the one offered first (lower row, then lower token) stays ahead: deterministic ties.
static void keep_if_better(Candidate *best, int *n, int want, Candidate c) {
    if (*n == want && !(c.log_prob > best[*n - 1].log_prob)) return;
    int i = *n < want ? (*n)++ : *n - 1;  // the slot to fill (drop the worst when full)
    while (i > 0 && c.log_prob > best[i - 1].log_prob) {
        best[i] = best[i - 1];
        i--;
    }
    best[i] = c;
}

// Sorts hypotheses by score, best first (insertion sort: there are at most a few).
static void sort_by_score(Hypothesis *h, int n) {
    for (int i = 1; i < n; i++) {
        for (int j = i; j > 0 && h[j].score > h[j - 1].score; j--) {
            Hypothesis tmp = h[j];
            h[j] = h[j - 1];
            h[j - 1] = tmp;
        }
    }
}

int beam_search(Hypothesis *out, int max_out, const Scorer *scorer, int beam, float alpha,
                int max_tokens) {
    assert(max_out >= 1 && beam >= 1 && beam <= BEAM_MAX && beam <= scorer->max_rows);
    assert(max_tokens >= 1 && max_tokens < DECODE_MAX_TOKENS);
    const int V = scorer->vocab_size;
    const int stride = DECODE_MAX_TOKENS;  // one prefix row: <s> + up to max_tokens-1 tokens

    // Live prefixes as one (n_live, t) array for the scorer, rebuilt each step.
    int *prefixes = xmalloc(sizeof(int) * (size_t)beam * stride);
    int *next_prefixes = xmalloc(sizeof(int) * (size_t)beam * stride);
    float *log_probs = xmalloc(sizeof(float) * (size_t)beam * V);
    float live_log_prob[BEAM_MAX], next_log_prob[BEAM_MAX];
    Hypothesis *done = xcalloc((size_t)beam, sizeof(Hypothesis));
    int n_done = 0, n_live = 1;
    prefixes[0] = TOKEN_BOS;
    live_log_prob[0] = 0.0f;

    for (int t = 1; t <= max_tokens && n_live > 0 && n_done < beam; t++) {
        // Pack the live rows densely as (n_live, t) for the scorer.
        int *packed = next_prefixes;
        for (int r = 0; r < n_live; r++) memcpy(packed + r * t, prefixes + r * stride, sizeof(int) * t);
        scorer->next_log_probs(scorer->ctx, packed, n_live, t, log_probs);

        // EXERCISE 08 beam-step: one step of beam search (§6.1, decode.h steps 1-3)
        // TODO: log_probs is (n_live, V): log p(y | live prefix r). For every live row r
        // TODO: and every token y that token_allowed(y), whose lp is neither NaN nor -inf,
        // TODO: offer the candidate (live_log_prob[r] + lp, r, y) to keep_if_better, which
        // TODO: keeps the best `beam - n_done` of them sorted (ties: the first offered).
        // TODO: Then, for each kept candidate i in order, with parent = prefixes + row*stride
        // TODO: (<s> y1 .. y(t-1)):
        // TODO:   - token </s> (TOKEN_EOS): a finished hypothesis done[n_done++] with the
        // TODO:     parent's tokens after <s> (length t-1), finished = true, its log_prob,
        // TODO:     and score = log_prob / length_penalty(t, alpha) (|Y| = t counts </s>);
        // TODO:   - any other token: row n_next of next_prefixes = parent followed by the
        // TODO:     token (t + 1 ints), next_log_prob[n_next] = its log_prob, n_next++.
        // TODO: n_next must end as the number of live rows for the next step.
        // STUB: int n_next = 0;
        // SOLUTION
        // Steps 1 and 2: the best (beam - n_done) extensions of all live prefixes.
        Candidate best[BEAM_MAX];
        int n_best = 0, want = beam - n_done;
        for (int r = 0; r < n_live; r++) {
            for (int y = 0; y < V; y++) {
                float lp = log_probs[(long)r * V + y];
                if (!token_allowed(y) || isnan(lp) || lp == -INFINITY) continue;
                keep_if_better(best, &n_best, want, (Candidate){live_log_prob[r] + lp, r, y});
            }
        }

        // Step 3: finished ones leave the beam; the others form the next live set.
        int n_next = 0;
        for (int i = 0; i < n_best; i++) {
            const int *parent = prefixes + best[i].row * stride;  // <s> y1 .. y(t-1)
            if (best[i].token == TOKEN_EOS) {
                Hypothesis *h = &done[n_done++];
                h->length = t - 1;
                memcpy(h->tokens, parent + 1, sizeof(int) * (size_t)(t - 1));
                h->finished = true;
                h->log_prob = best[i].log_prob;
                h->score = h->log_prob / length_penalty(t, alpha);  // |Y| = t with </s>
            } else {
                int *row = next_prefixes + (long)n_next * stride;
                // next_prefixes held the packed copy; rows are rebuilt from prefixes,
                // which is untouched until the swap below.
                memcpy(row, parent, sizeof(int) * (size_t)t);
                row[t] = best[i].token;
                next_log_prob[n_next++] = best[i].log_prob;
            }
        }
        // END EXERCISE
        int *swap = prefixes;
        prefixes = next_prefixes;
        next_prefixes = swap;
        memcpy(live_log_prob, next_log_prob, sizeof(float) * (size_t)n_next);
        n_live = n_next;

        // Step 4, length limit: after max_tokens tokens the live ones stop unfinished.
        if (t == max_tokens) {
            for (int r = 0; r < n_live && n_done < beam; r++) {
                Hypothesis *h = &done[n_done++];
                h->length = t;
                memcpy(h->tokens, prefixes + (long)r * stride + 1, sizeof(int) * (size_t)t);
                h->finished = false;
                h->log_prob = live_log_prob[r];
                h->score = h->log_prob / length_penalty(t, alpha);
            }
            n_live = 0;
        }
    }

    // Every candidate NaN or -inf from the first step on leaves nothing to return; the
    // caller still gets one hypothesis (empty, unfinished, score -inf) to print.
    if (n_done == 0) {
        memset(&done[0], 0, sizeof done[0]);
        done[0].log_prob = done[0].score = -INFINITY;
        n_done = 1;
    }
    sort_by_score(done, n_done);
    int n_out = n_done < max_out ? n_done : max_out;
    memcpy(out, done, sizeof(Hypothesis) * (size_t)n_out);
    free(done);
    free(log_probs);
    free(next_prefixes);
    free(prefixes);
    return n_out;
}

// ---- the model as a Scorer ---------------------------------------------------------------

// Scorer callback, the reference: log_probs[r,:] (k,V) = log-softmax of the logits at
// the last position of prefix row r of prefixes (k,t); the decoder reruns over the whole
// prefix. Uses the generator's log-softmax (§3.4), one row each.
static void full_next_log_probs(ModelScorer *s, const int *prefixes, int k, int t,
                                float *log_probs) {
    Model *m = s->m;
    const int V = m->config.vocab_size;
    if (m->acts.B != k) model_repeat_memory(m, k);  // the beam shrinks as hypotheses finish
    for (int r = 0; r < k; r++) s->lengths[r] = t;
    model_decode(m, prefixes, s->lengths, t, false, NULL);
    for (int r = 0; r < k; r++)
        log_softmax_forward(log_probs + (long)r * V, m->acts.logits + ((long)r * t + (t - 1)) * V, 1, V);
}

// The parent of every prefix row (k,t): the row of the previous call whose t-1 tokens
// are this row's first t-1. False when the previous call was not step t-1 of the same
// search, or a row has no parent.
static bool find_parents(int *parents, const ModelScorer *s, const int *prefixes, int k, int t) {
    if (s->cached_t != t - 1 || s->cached_rows < 1) return false;
    for (int r = 0; r < k; r++) {
        parents[r] = -1;
        for (int p = 0; p < s->cached_rows && parents[r] < 0; p++)
            if (memcmp(s->cached[p], prefixes + (long)r * t, sizeof(int) * (size_t)(t - 1)) == 0)
                parents[r] = p;
        if (parents[r] < 0) return false;
    }
    return true;
}

// A new search (or one the cache cannot follow): the cache starts again from the memory
// of the last model_encode (one row, or k for a batch), is copied to k rows if it has
// one, and is fed positions 0..t-2 of every prefix row (k,t).
static void restart_cache(Model *m, const int *prefixes, int k, int t) {
    model_decode_start(m);
    if (m->decode.B != k) {
        assert(m->decode.B == 1 && "the scorer needs one encoded row or one per prefix");
        int zeros[BEAM_MAX] = {0};
        model_decode_reorder(m, zeros, k);
    }
    int tokens[BEAM_MAX];
    for (int p = 0; p < t - 1; p++) {
        for (int r = 0; r < k; r++) tokens[r] = prefixes[(long)r * t + p];
        model_decode_step(m, tokens);
    }
}

// Scorer callback with the KV cache: the same log_probs as full_next_log_probs from one
// decoder step per row (decode.h: parents found by prefix, the cache reordered).
static void cached_next_log_probs(ModelScorer *s, const int *prefixes, int k, int t,
                                  float *log_probs) {
    Model *m = s->m;
    const int V = m->config.vocab_size;
    int parents[BEAM_MAX] = {0}, tokens[BEAM_MAX];
    if (find_parents(parents, s, prefixes, k, t)) model_decode_reorder(m, parents, k);
    else restart_cache(m, prefixes, k, t);
    for (int r = 0; r < k; r++) tokens[r] = prefixes[(long)r * t + t - 1];
    model_decode_step(m, tokens);
    log_softmax_forward(log_probs, m->decode.logits, k, V);
    // What the cache holds now, for the next call's parents.
    for (int r = 0; r < k; r++)
        memcpy(s->cached[r], prefixes + (long)r * t, sizeof(int) * (size_t)t);
    s->cached_rows = k;
    s->cached_t = t;
}

// The Scorer callback: the cache, or the full recompute when the model asks for it.
static void model_next_log_probs(void *ctx, const int *prefixes, int k, int t, float *log_probs) {
    ModelScorer *s = ctx;
    assert(k <= BEAM_MAX && t <= DECODE_MAX_TOKENS);
    if (s->m->decode.full_recompute) full_next_log_probs(s, prefixes, k, t, log_probs);
    else cached_next_log_probs(s, prefixes, k, t, log_probs);
}

Scorer model_scorer(ModelScorer *ctx, Model *m) {
    ctx->m = m;
    ctx->cached_rows = ctx->cached_t = 0;  // nothing cached yet: the first call starts it
    int rows = m->config.max_batch < BEAM_MAX ? m->config.max_batch : BEAM_MAX;
    return (Scorer){m->config.vocab_size, rows, model_next_log_probs, ctx};
}

int decode_max_tokens(const Model *m, int src_len) {
    int n = src_len + DECODE_EXTRA_LEN;
    // The last prefix fed to the decoder is <s> + n-1 tokens: it must fit max_len.
    if (n > m->config.max_len) n = m->config.max_len;
    if (n > DECODE_MAX_TOKENS - 1) n = DECODE_MAX_TOKENS - 1;
    return n < 1 ? 1 : n;
}

// The encoder over one source row src (src_len tokens, x + </s>): B = 1, no dropout.
static void encode_one(Model *m, const int *src, int src_len) {
    model_encode(m, src, &src_len, 1, src_len, false, NULL);
}

void decode_greedy(Hypothesis *out, Model *m, const int *src, int src_len) {
    encode_one(m, src, src_len);
    ModelScorer ctx;
    Scorer scorer = model_scorer(&ctx, m);
    greedy_search(out, &scorer, decode_max_tokens(m, src_len), LENGTH_PENALTY_DEFAULT);
    // The cache left the activations alone: the last prefix once more through
    // model_decode, so they hold its attention as the full recompute's last step did.
    if (!m->decode.full_recompute) decode_rerun_attention(m, src, src_len, out);
}

int decode_beam(Hypothesis *out, int max_out, Model *m, const int *src, int src_len,
                int beam, float alpha) {
    encode_one(m, src, src_len);
    ModelScorer ctx;
    Scorer scorer = model_scorer(&ctx, m);
    return beam_search(out, max_out, &scorer, beam, alpha, decode_max_tokens(m, src_len));
}

int decode_rerun_attention(Model *m, const int *src, int src_len, const Hypothesis *hyp) {
    int tgt[DECODE_MAX_TOKENS + 1];
    int T = 0;
    tgt[T++] = TOKEN_BOS;
    // The decoder input that produced the hypothesis: <s> y1 .. yn. Row i then predicts
    // y(i+1), and the last row the final </s>; </s> itself is never an input.
    for (int i = 0; i < hyp->length && T < m->config.max_len; i++) tgt[T++] = hyp->tokens[i];
    model_forward(m, &(ModelBatch){.src = src, .src_lengths = &src_len,
                                   .tgt = tgt, .tgt_lengths = &T,
                                   .B = 1, .S = src_len, .T = T},
                  false, NULL);
    return T;
}

// The most probable allowed token of one row of logits (V); the lowest id wins a tie.
static int argmax_token(const float *logits, int V) {
    int best = -1;
    for (int y = 0; y < V; y++)
        if (token_allowed(y) && (best < 0 || logits[y] > logits[best])) best = y;
    return best;
}

// decode_greedy_batch with the KV cache: rows[i] is the sentence of cache row i; a row
// that says </s> leaves, the others move down (model_decode_reorder).
static void greedy_batch_cached(int *out, int *out_lengths, int out_stride, Model *m, int B,
                                int max_tokens) {
    const int V = m->config.vocab_size;
    int *rows = xmalloc(sizeof(int) * (size_t)B), *tokens = xmalloc(sizeof(int) * (size_t)B);
    int *keep = xmalloc(sizeof(int) * (size_t)B);
    for (int b = 0; b < B; b++) rows[b] = b, tokens[b] = TOKEN_BOS;
    model_decode_start(m);
    int live = B;
    for (int t = 1; t <= max_tokens && live > 0; t++) {
        model_decode_step(m, tokens);
        int n_keep = 0;
        for (int i = 0; i < live; i++) {
            int best = argmax_token(m->decode.logits + (long)i * V, V), b = rows[i];
            if (best == TOKEN_EOS) continue;
            out[(long)b * out_stride + out_lengths[b]++] = best;
            keep[n_keep] = i;
            rows[n_keep] = b;  // n_keep <= i: the entry is not read again
            tokens[n_keep++] = best;
        }
        if (n_keep > 0 && n_keep < live) model_decode_reorder(m, keep, n_keep);
        live = n_keep;
    }
    free(keep);
    free(tokens);
    free(rows);
}

// decode_greedy_batch, the reference: model_decode over every row's whole prefix each
// step until every row has finished.
static void greedy_batch_full(int *out, int *out_lengths, int out_stride, Model *m, int B,
                              int max_tokens) {
    const int V = m->config.vocab_size;
    int width = max_tokens + 1;
    int *tgt = xmalloc(sizeof(int) * (size_t)B * width);  // (B,t) packed each step
    int *rows = xmalloc(sizeof(int) * (size_t)B * width);  // (B,width) <s> y1 y2 ...
    int *lengths = xmalloc(sizeof(int) * (size_t)B);
    bool *done = xcalloc((size_t)B, sizeof(bool));
    for (int b = 0; b < B; b++) rows[(long)b * width] = TOKEN_BOS;
    int n_done = 0;
    for (int t = 1; t <= max_tokens && n_done < B; t++) {
        for (int b = 0; b < B; b++) {
            memcpy(tgt + (long)b * t, rows + (long)b * width, sizeof(int) * (size_t)t);
            lengths[b] = t;
        }
        model_decode(m, tgt, lengths, t, false, NULL);
        for (int b = 0; b < B; b++) {
            int best = argmax_token(m->acts.logits + ((long)b * t + (t - 1)) * V, V);
            // A finished row keeps decoding (rows are independent under the causal mask)
            // but its output no longer changes.
            rows[(long)b * width + t] = best;
            if (done[b]) continue;
            if (best == TOKEN_EOS) {
                done[b] = true;
                n_done++;
            } else {
                out[(long)b * out_stride + out_lengths[b]++] = best;
            }
        }
    }
    free(done);
    free(lengths);
    free(rows);
    free(tgt);
}

void decode_greedy_batch(int *out, int *out_lengths, Model *m, const int *src,
                         const int *src_lengths, int B, int S, int max_tokens) {
    const int out_stride = max_tokens;  // the caller's row width of out
    if (max_tokens > m->config.max_len) max_tokens = m->config.max_len;
    model_encode(m, src, src_lengths, B, S, false, NULL);
    for (int b = 0; b < B; b++) out_lengths[b] = 0;
    if (m->decode.full_recompute) greedy_batch_full(out, out_lengths, out_stride, m, B, max_tokens);
    else greedy_batch_cached(out, out_lengths, out_stride, m, B, max_tokens);
}
