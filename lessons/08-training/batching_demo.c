// batching_demo.c: lesson 08, part 3. Sentence pairs become padded batches (§5.1):
//   1. what the model sees for one pair: source x + </s>, decoder input <s> + y, and
//      the targets y + </s>, padded on the right;
//   2. one epoch's BatchPlan: pairs of similar length batched together under a token
//      budget, the batch order shuffled;
//   3. how much of each batch is padding, sorted by length versus in random order.
//
//   build/batching_demo [--max-tokens N] [--seed N]
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "dataset.h"
#include "rng.h"
#include "tasks.h"
#include "tokenizer.h"

enum { N_PAIRS = 5000, MAX_LEN = 13 };

// The first three pairs, chosen by hand so part 1 shows three lengths; the rest are drawn.
static const char *const FIRST_PAIRS[3][2] = {{"cadbe", "ebdac"}, {"ji", "ij"}, {"hgfeabcd", "dcbaefgh"}};

// A letter's token with a byte tokenizer of no merges, and back; specials as symbols.
static int letter_token(char c) { return TOKEN_BYTE0 + (unsigned char)c; }
static const char *token_symbol(int id, char *buf) {
    if (id == TOKEN_PAD) return "·";
    if (id == TOKEN_BOS) return "<s>";
    if (id == TOKEN_EOS) return "</s>";
    buf[0] = (char)(id - TOKEN_BYTE0), buf[1] = '\0';
    return buf;
}

// Prints one row of a batch (len entries) as symbols, each in a 4-column field.
static void print_row(const char *name, const int *row, int len) {
    char buf[2];
    printf("   %-8s", name);
    for (int i = 0; i < len; i++)  // "·" is 2 bytes but 1 column wide
        printf(" %*s", row[i] == TOKEN_PAD ? 5 : 4, token_symbol(row[i], buf));
    printf("\n");
}

// Part 1: three pairs of different lengths in one batch, row by row.
static void show_one_batch(const Dataset *ds) {
    int pairs[3] = {0, 1, 2};
    Batch batch;
    batch_init(&batch, 3, ds->max_len);
    batch_fill_pairs(&batch, ds, pairs, 3);
    printf("== 1. Three reverse pairs as one batch: B = %d, S = %d, T = %d (· is <pad>)\n",
           batch.B, batch.S, batch.T);
    for (int b = 0; b < batch.B; b++) {
        printf("   pair %d: \"%s\" -> \"%s\", src_lengths %d, tgt_lengths %d\n", b + 1,
               FIRST_PAIRS[b][0], FIRST_PAIRS[b][1], batch.src_lengths[b], batch.tgt_lengths[b]);
        print_row("src", batch.src + b * batch.S, batch.S);
        print_row("tgt_in", batch.tgt_in + b * batch.T, batch.T);
        print_row("tgt_out", batch.tgt_out + b * batch.T, batch.T);
    }
    printf("   At position t the decoder reads tgt_in[0..t] and is scored on tgt_out[t]: the\n"
           "   input is the target shifted right by one (§3.1).\n\n");
    batch_free(&batch);
}

// Padded size B·max(S,T) of the rows order[first .. first+B) of ds.
static long padded_size(const Dataset *ds, const int *order, int first, int B) {
    int longest = 0;
    for (int i = first; i < first + B; i++) {
        int p = order[i];
        int len = ds->src_len[p] > ds->tgt_len[p] ? ds->src_len[p] : ds->tgt_len[p];
        if (len + 1 > longest) longest = len + 1;
    }
    return (long)B * longest;
}

// Parts 2 and 3: one epoch's plan, and its padding against the same batch sizes taken
// from a random order of the pairs.
static void show_plan(const Dataset *ds, long max_tokens, Rng *rng) {
    BatchPlan plan = {0};
    ErrorMessage err;
    if (!batch_plan_make(&plan, ds, max_tokens, 0, rng, &err)) die("%s", err.text);
    printf("== 2. One epoch of %d pairs, at most %ld padded tokens a batch: %d batches, B <= %d\n",
           ds->n_pairs, max_tokens, plan.n_batches, plan.max_batch);
    printf("   batch    B    S    T   real target tokens   B·max(S,T)   filled\n");
    long real_tokens = 0, padded_sorted = 0;
    for (int i = 0; i < plan.n_batches; i++) {
        Batch batch;
        batch_init(&batch, plan.max_batch, ds->max_len);
        batch_fill(&batch, ds, &plan, i);
        long padded = (long)batch.B * (batch.S > batch.T ? batch.S : batch.T);
        real_tokens += batch.n_tgt_tokens;
        padded_sorted += padded;
        if (i < 6)
            printf("   %5d %4d %4d %4d   %18ld   %10ld   %5.1f%%\n", i + 1, batch.B, batch.S,
                   batch.T, batch.n_tgt_tokens, padded, 100.0 * (double)batch.n_tgt_tokens / (double)padded);
        batch_free(&batch);
    }
    printf("   ... (the batch order is shuffled: lengths come in random order)\n\n");

    int *random_order = xmalloc(sizeof(int) * (size_t)ds->n_pairs);
    for (int i = 0; i < ds->n_pairs; i++) random_order[i] = i;
    for (int i = ds->n_pairs - 1; i > 0; i--) {
        int j = (int)rng_below(rng, (uint32_t)(i + 1));
        int t = random_order[i];
        random_order[i] = random_order[j], random_order[j] = t;
    }
    long padded_random = 0;
    for (int i = 0, first = 0; i < plan.n_batches; i++) {
        padded_random += padded_size(ds, random_order, first, plan.batch_size[i]);
        first += plan.batch_size[i];
    }
    printf("== 3. Padding over the epoch (target side; the same batch sizes in both rows)\n");
    printf("   batched by length (§5.1)   %7ld padded tokens for %ld real: %5.1f%% real\n",
           padded_sorted, real_tokens, 100.0 * (double)real_tokens / (double)padded_sorted);
    printf("   pairs in random order      %7ld padded tokens for %ld real: %5.1f%% real\n",
           padded_random, real_tokens, 100.0 * (double)real_tokens / (double)padded_random);
    printf("   Every padded token costs the same work as a real one, so sorting by length\n"
           "   makes an epoch about %.1fx cheaper here.\n", (double)padded_random / (double)padded_sorted);
    free(random_order);
    batch_plan_free(&plan);
}

int main(int argc, char **argv) {
    long max_tokens = 256;
    uint64_t seed = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: batching_demo [--max-tokens N] [--seed N]\n\n"
                   "Lesson 08, part 3: %d reverse pairs (1-12 letters) batched by length (§5.1)\n"
                   "with at most N padded tokens a batch (default 256).\n", N_PAIRS);
            return 0;
        }
        if (i + 1 < argc && strcmp(argv[i], "--max-tokens") == 0) max_tokens = atol(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "--seed") == 0) seed = (uint64_t)atol(argv[++i]);
        else die("batching_demo: unexpected argument '%s' (see --help)", argv[i]);
    }
    if (max_tokens < MAX_LEN) die("batching_demo: --max-tokens must be at least %d", MAX_LEN);
    Rng rng;
    rng_seed(&rng, seed, 0);
    Dataset ds;
    dataset_init(&ds, MAX_LEN);
    char src[TASK_DEFAULT_MAX_LEN + 1], tgt[TASK_DEFAULT_MAX_LEN + 1];
    int src_ids[TASK_DEFAULT_MAX_LEN], tgt_ids[TASK_DEFAULT_MAX_LEN];
    for (int n = 0; n < N_PAIRS; n++) {
        if (n < 3) strcpy(src, FIRST_PAIRS[n][0]), strcpy(tgt, FIRST_PAIRS[n][1]);
        else task_example(TASK_REVERSE, &rng, TASK_DEFAULT_MIN_LEN, TASK_DEFAULT_MAX_LEN,
                          TASK_DEFAULT_ALPHABET, src, tgt);
        int len = (int)strlen(src);
        for (int i = 0; i < len; i++) src_ids[i] = letter_token(src[i]), tgt_ids[i] = letter_token(tgt[i]);
        dataset_add_ids(&ds, src_ids, len, tgt_ids, len);
    }
    show_one_batch(&ds);
    show_plan(&ds, max_tokens, &rng);
    dataset_free(&ds);
    return 0;
}
