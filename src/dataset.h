// dataset.h: sentence pairs as token ids, and batches of similar length (§5.1).
//
// §5.1: "Sentence pairs were batched together by approximate sequence length. Each
// training batch contained a set of sentence pairs containing approximately 25000 source
// tokens and 25000 target tokens."
//
// What the model sees for a pair (x, y) of token sequences (x source, y target):
//   source      x + EOS          the encoder reads the sentence and an end marker
//   target in   BOS + y          the decoder input, shifted right by one (§3.1: "the
//   target out  y + EOS          output embeddings are offset by one position"); at
//                                position t the decoder sees BOS y1..y(t-1) and must
//                                predict y(t), and finally EOS
// So the source has |x|+1 tokens and both target rows |y|+1. (The source gets EOS and no
// BOS: the encoder has nothing to predict, the EOS only marks the end, a common choice,
// e.g. fairseq's.) Rows are padded on the right with TOKEN_PAD; per-row lengths count the
// real tokens. A pair whose source or target row would be longer than max_len is dropped
// and counted (n_too_long), never truncated.
#ifndef DATASET_H
#define DATASET_H

#include <stdbool.h>

#include "common.h"
#include "rng.h"
#include "tokenizer.h"

// All pairs, stored flat: the tokens of every sequence in one array.
typedef struct {
    int max_len;        // longest allowed row (source x+EOS, or target BOS+y), incl. EOS/BOS
    int n_pairs;        // pairs kept
    int capacity;       // allocated pairs
    long *src_start;    // (n_pairs) offset of x in tokens
    int *src_len;       // (n_pairs) |x| (without EOS)
    long *tgt_start;    // (n_pairs) offset of y in tokens
    int *tgt_len;       // (n_pairs) |y| (without BOS/EOS)
    int *tokens;        // every x and y, concatenated, no special tokens
    long n_tokens, token_capacity;
    char **src_text;    // (n_pairs) the original strings (for BLEU references and display)
    char **tgt_text;    //   NULL when the pairs were added as ids
    int n_too_long;     // pairs dropped because a row would exceed max_len
    int n_empty;        // pairs dropped because the source or target was empty
} Dataset;

// An empty dataset for rows of at most max_len tokens (>= 2). dataset_free releases it and
// leaves it safe to free again.
void dataset_init(Dataset *ds, int max_len);
void dataset_free(Dataset *ds);

// Adds one pair of token id sequences (no specials: EOS/BOS are added when batching).
// Returns false, and counts it in n_too_long / n_empty, if it is dropped.
bool dataset_add_ids(Dataset *ds, const int *src, int src_len, const int *tgt, int tgt_len);

// Tokenizes two strings with tok and adds them (keeping copies of the text).
bool dataset_add_text(Dataset *ds, const Tokenizer *tok, const char *src, const char *tgt);

// Loads a tab-separated file, one pair per line: "source<TAB>target" (UTF-8; a trailing
// '\r' is ignored, blank lines are skipped). Any other line is an error:
// "path:LINE: expected two tab-separated fields (source<TAB>target)"; an empty field is
// "path:LINE: empty source" / "empty target". On error the dataset keeps the pairs before
// the bad line and false is returned. Pairs too long for max_len are dropped and counted.
bool dataset_load_tsv(Dataset *ds, const char *path, const Tokenizer *tok, ErrorMessage *err);

// What a lenient load (dataset_load_tsv_report) cut or dropped, for a report such as
// "train.tsv: 11872 pairs; dropped 3 malformed lines (first: line 17), 40 longer than
// max_len 64 (first: line 5)". Line numbers count from 1; 0 = none.
typedef struct {
    int lines;                          // lines read (blank ones included)
    int kept;                           // pairs added
    int malformed, first_malformed;     // not exactly one tab, or a NUL byte
    int empty, first_empty;             // an empty source or target
    int too_long, first_too_long;       // a row longer than max_len
    int not_text, first_not_text;       // kept, but with bytes that are not printable UTF-8
} LoadReport;

// Like dataset_load_tsv, but a bad line (malformed or with an empty side) is dropped and
// counted in *report instead of ending the load; fails only if the file cannot be read.
// For a user's own corpus, where a few messy lines should not stop training.
bool dataset_load_tsv_report(Dataset *ds, const char *path, const Tokenizer *tok, LoadReport *report,
                             ErrorMessage *err);

// One line of text: "PATH: N pairs" and what was dropped (see LoadReport), into buf.
void load_report_format(char *buf, size_t size, const char *path, const LoadReport *r, int max_len);

// The rows a pair becomes (see the top of this file), for tests and decoding.
int dataset_source_row(const Dataset *ds, int pair, int *out);   // x + EOS; returns length
int dataset_target_row(const Dataset *ds, int pair, int *out);   // y (no specials); returns |y|

// ---------------------------------------------------------------------------------------
// Batching. A BatchPlan is one epoch's order: the pairs grouped into batches of similar
// length, the batch order shuffled. Make a new plan (same Dataset, next Rng draws) for
// each epoch. The size of a batch is limited by max_tokens, by max_sentences, or both
// (0 = no limit on that one; at least one must be > 0):
//   max_tokens      B · max(S, T) <= max_tokens, i.e. the padded size of the larger of
//                   the source and target tensors (what memory and time depend on)
//   max_sentences   B <= max_sentences
// A single pair always fits in a batch of its own.
// ---------------------------------------------------------------------------------------
typedef struct {
    int n_batches;
    int *order;         // (n_pairs) pair indices, batch after batch
    int *batch_start;   // (n_batches) first index into order
    int *batch_size;    // (n_batches) B of each batch
    int max_batch;      // largest B in the plan (size Batch and the model with it)
    int max_len;        // largest S or T in the plan
} BatchPlan;

// Builds one epoch's plan, seeded and deterministic: shuffle the pairs with rng (so pairs
// of equal length are mixed differently each epoch), stable-sort them by length (the
// longer of the source and target rows), cut the sorted list into batches greedily,
// then shuffle the order of the batches with rng. Frees a previous plan in *plan (a zeroed
// BatchPlan is empty). Returns false with a message if the limits are unusable.
bool batch_plan_make(BatchPlan *plan, const Dataset *ds, long max_tokens, int max_sentences,
                     Rng *rng, ErrorMessage *err);
void batch_plan_free(BatchPlan *plan);

// One padded batch, ready for model_forward and loss_forward.
typedef struct {
    int B, S, T;        // sequences, source length, target length of this batch
    int capacity_B, capacity_len;  // what the arrays were allocated for
    int *src;           // (B,S) x + EOS, then TOKEN_PAD
    int *tgt_in;        // (B,T) BOS + y, then TOKEN_PAD: the decoder input
    int *tgt_out;       // (B,T) y + EOS, then TOKEN_PAD: the loss targets
    int *src_lengths;   // (B) |x| + 1
    int *tgt_lengths;   // (B) |y| + 1 (the same for tgt_in and tgt_out)
    int *pair;          // (B) dataset index of each row (to find the reference text)
    long n_src_tokens;  // Σ src_lengths: real (non-pad) source tokens
    long n_tgt_tokens;  // Σ tgt_lengths: real target tokens (what tokens/s counts)
} Batch;

// Allocates a batch for up to max_batch rows of up to max_len tokens; batch_free releases
// it (safe to call twice).
void batch_init(Batch *batch, int max_batch, int max_len);
void batch_free(Batch *batch);

// Fills batch with batch number `index` of plan (0 <= index < n_batches).
void batch_fill(Batch *batch, const Dataset *ds, const BatchPlan *plan, int index);

// Fills batch with the given pairs (e.g. a validation slice), in that order. Rows that do
// not fit the capacity given to batch_init are a programming error: die() says so.
void batch_fill_pairs(Batch *batch, const Dataset *ds, const int *pairs, int n);

#endif
