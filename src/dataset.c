// dataset.c: sentence pairs as token ids, and length-bucketed batches (§5.1; see dataset.h).
#include "dataset.h"

#include <stdlib.h>
#include <string.h>

// ---- growing arrays ----------------------------------------------------------------

static void *grow(void *p, size_t size) {
    void *bigger = realloc(p, size ? size : 1);
    if (!bigger) die("out of memory while loading a dataset (%zu bytes)", size);
    return bigger;
}

// A NUL-terminated copy of the len bytes at s (caller frees).
static char *copy_string(const char *s, size_t len) {
    char *copy = xmalloc(len + 1);
    memcpy(copy, s, len);
    copy[len] = '\0';
    return copy;
}

void dataset_init(Dataset *ds, int max_len) {
    memset(ds, 0, sizeof *ds);
    ds->max_len = max_len < 2 ? 2 : max_len;
}

void dataset_free(Dataset *ds) {
    for (int i = 0; i < ds->n_pairs; i++) {
        if (ds->src_text) free(ds->src_text[i]);
        if (ds->tgt_text) free(ds->tgt_text[i]);
    }
    free(ds->src_text), free(ds->tgt_text);
    free(ds->src_start), free(ds->src_len), free(ds->tgt_start), free(ds->tgt_len);
    free(ds->tokens);
    memset(ds, 0, sizeof *ds);
}

// Appends n ids to the flat token array; returns the offset of the first.
static long append_tokens(Dataset *ds, const int *ids, int n) {
    if (ds->n_tokens + n > ds->token_capacity) {
        long capacity = ds->token_capacity ? ds->token_capacity : 1024;
        while (capacity < ds->n_tokens + n) capacity *= 2;
        ds->tokens = grow(ds->tokens, sizeof(int) * (size_t)capacity);
        ds->token_capacity = capacity;
    }
    long start = ds->n_tokens;
    memcpy(ds->tokens + start, ids, sizeof(int) * (size_t)n);
    ds->n_tokens += n;
    return start;
}

// Adds (src, tgt) with optional texts (owned by the dataset afterwards if kept).
static bool add_pair(Dataset *ds, const int *src, int src_len, const int *tgt, int tgt_len,
                     char *src_text, char *tgt_text) {
    if (src_len <= 0 || tgt_len <= 0) {
        ds->n_empty++;
        free(src_text), free(tgt_text);
        return false;
    }
    // Rows are x + EOS and BOS + y (or y + EOS): one special token more than the text.
    if (src_len + 1 > ds->max_len || tgt_len + 1 > ds->max_len) {
        ds->n_too_long++;
        free(src_text), free(tgt_text);
        return false;
    }
    if (ds->n_pairs == ds->capacity) {
        int capacity = ds->capacity ? 2 * ds->capacity : 256;
        ds->src_start = grow(ds->src_start, sizeof(long) * (size_t)capacity);
        ds->tgt_start = grow(ds->tgt_start, sizeof(long) * (size_t)capacity);
        ds->src_len = grow(ds->src_len, sizeof(int) * (size_t)capacity);
        ds->tgt_len = grow(ds->tgt_len, sizeof(int) * (size_t)capacity);
        ds->src_text = grow(ds->src_text, sizeof(char *) * (size_t)capacity);
        ds->tgt_text = grow(ds->tgt_text, sizeof(char *) * (size_t)capacity);
        ds->capacity = capacity;
    }
    int i = ds->n_pairs++;
    ds->src_start[i] = append_tokens(ds, src, src_len);
    ds->src_len[i] = src_len;
    ds->tgt_start[i] = append_tokens(ds, tgt, tgt_len);
    ds->tgt_len[i] = tgt_len;
    ds->src_text[i] = src_text;
    ds->tgt_text[i] = tgt_text;
    return true;
}

bool dataset_add_ids(Dataset *ds, const int *src, int src_len, const int *tgt, int tgt_len) {
    return add_pair(ds, src, src_len, tgt, tgt_len, NULL, NULL);
}

// Tokenizes len bytes of text into a fresh array (*ids, caller frees); returns the count.
// A text of len bytes never has more than len tokens (tokenizer.h).
static int encode_text(const Tokenizer *tok, const char *text, size_t len, int **ids) {
    *ids = xmalloc(sizeof(int) * (len ? len : 1));
    return tokenizer_encode(tok, text, len, *ids, (int)len);
}

// Tokenizes the src_bytes and tgt_bytes of the two texts and adds them as a pair with
// copies of the texts; false if the pair was dropped (empty or too long).
static bool add_text(Dataset *ds, const Tokenizer *tok, const char *src, size_t src_bytes,
                     const char *tgt, size_t tgt_bytes) {
    int *src_ids, *tgt_ids;
    int src_len = encode_text(tok, src, src_bytes, &src_ids);
    int tgt_len = encode_text(tok, tgt, tgt_bytes, &tgt_ids);
    bool kept = add_pair(ds, src_ids, src_len, tgt_ids, tgt_len, copy_string(src, src_bytes),
                         copy_string(tgt, tgt_bytes));
    free(src_ids), free(tgt_ids);
    return kept;
}

bool dataset_add_text(Dataset *ds, const Tokenizer *tok, const char *src, const char *tgt) {
    return add_text(ds, tok, src, strlen(src), tgt, strlen(tgt));
}

// Counts one dropped line of a kind: how many, and the first line number.
static void count_line(int *count, int *first, int line_no) {
    if ((*count)++ == 0) *first = line_no;
}

// Why the line [line, end) is not a pair, or NULL if it is one ("source<TAB>target",
// both non-empty, no NUL); *empty_side tells an empty field from a malformed line.
static const char *line_problem(const char *line, const char *end, bool *empty_side) {
    const char *tab = memchr(line, '\t', (size_t)(end - line));
    *empty_side = false;
    if (memchr(line, '\0', (size_t)(end - line))) return "contains a NUL byte (expected UTF-8 text)";
    if (!tab || memchr(tab + 1, '\t', (size_t)(end - tab - 1)))
        return "expected two tab-separated fields (source<TAB>target)";
    *empty_side = true;
    if (tab == line) return "empty source (expected source<TAB>target)";
    if (tab + 1 == end) return "empty target (expected source<TAB>target)";
    *empty_side = false;
    return NULL;
}

// The loader of both entry points: strict (report NULL) stops at the first bad line
// with "path:LINE: problem"; lenient counts bad lines in *report and goes on. The file is
// read whole; a byte-order mark at its start is skipped, blank lines too, and a
// trailing '\r' is ignored.
static bool load_tsv(Dataset *ds, const char *path, const Tokenizer *tok, LoadReport *report, ErrorMessage *err) {
    size_t size;
    char *text = read_whole_file(path, &size, err);
    if (!text) return false;
    LoadReport local;
    LoadReport *r = report ? report : &local;
    memset(r, 0, sizeof *r);
    bool ok = true;
    const char *line = text + utf8_bom_length(text, size), *end_of_text = text + size;
    while (line < end_of_text) {
        int line_no = ++r->lines;
        const char *newline = memchr(line, '\n', (size_t)(end_of_text - line));
        const char *end = newline ? newline : end_of_text;
        const char *next = newline ? newline + 1 : end_of_text;
        if (end > line && end[-1] == '\r') end--;  // Windows line ends
        bool empty_side;
        const char *problem = end == line ? NULL : line_problem(line, end, &empty_side);
        if (problem && !report) {
            ok = error_set(err, "%s:%d: %s", path, line_no, problem);
            break;
        }
        if (problem) {
            if (empty_side) count_line(&r->empty, &r->first_empty, line_no);
            else count_line(&r->malformed, &r->first_malformed, line_no);
        } else if (end > line) {  // a blank line has nothing to learn from
            const char *tab = memchr(line, '\t', (size_t)(end - line));
            int too_long = ds->n_too_long;
            if (add_text(ds, tok, line, (size_t)(tab - line), tab + 1, (size_t)(end - tab - 1))) {
                r->kept++;
                // kept all the same (BPE reads any bytes), but said: it is often a file in
                // another encoding, and translate will name those bytes as never seen
                if (!text_is_printable(line, (size_t)(tab - line)) ||
                    !text_is_printable(tab + 1, (size_t)(end - tab - 1)))
                    count_line(&r->not_text, &r->first_not_text, line_no);
            } else if (ds->n_too_long > too_long) {
                count_line(&r->too_long, &r->first_too_long, line_no);
            }
        }
        line = next;
    }
    free(text);
    return ok;
}

bool dataset_load_tsv(Dataset *ds, const char *path, const Tokenizer *tok, ErrorMessage *err) {
    return load_tsv(ds, path, tok, NULL, err);
}

bool dataset_load_tsv_report(Dataset *ds, const char *path, const Tokenizer *tok, LoadReport *report,
                             ErrorMessage *err) {
    return load_tsv(ds, path, tok, report, err);
}

// Appends ", N WHAT (first: line L)" to buf at *n when count > 0.
static void report_part(char *buf, size_t size, int *n, int count, const char *what, int first) {
    if (count == 0 || *n < 0 || (size_t)*n >= size) return;
    *n += snprintf(buf + *n, size - (size_t)*n, "; dropped %d %s (first: line %d)", count, what, first);
}

void load_report_format(char *buf, size_t size, const char *path, const LoadReport *r, int max_len) {
    int n = snprintf(buf, size, "%s: %d pair%s from %d line%s", path, r->kept, r->kept == 1 ? "" : "s", r->lines,
                     r->lines == 1 ? "" : "s");
    char too_long[64];
    snprintf(too_long, sizeof too_long, "longer than max_len %d tokens", max_len);
    report_part(buf, size, &n, r->malformed, "malformed (not source<TAB>target)", r->first_malformed);
    report_part(buf, size, &n, r->empty, "with an empty side", r->first_empty);
    report_part(buf, size, &n, r->too_long, too_long, r->first_too_long);
    if (r->not_text > 0 && n >= 0 && (size_t)n < size)
        snprintf(buf + n, size - (size_t)n, "; kept %d with bytes that are not UTF-8 text (first: line %d; "
                 "is the file in another encoding?)", r->not_text, r->first_not_text);
}

int dataset_source_row(const Dataset *ds, int pair, int *out) {
    int n = ds->src_len[pair];
    memcpy(out, ds->tokens + ds->src_start[pair], sizeof(int) * (size_t)n);
    out[n] = TOKEN_EOS;
    return n + 1;
}

int dataset_target_row(const Dataset *ds, int pair, int *out) {
    int n = ds->tgt_len[pair];
    memcpy(out, ds->tokens + ds->tgt_start[pair], sizeof(int) * (size_t)n);
    return n;
}

// ---- batching ------------------------------------------------------------------------

// The padded length a pair needs: the longer of its source row (x + EOS) and its target
// rows (BOS + y), which both have one special token.
static int pair_length(const Dataset *ds, int i) {
    int s = ds->src_len[i], t = ds->tgt_len[i];
    return (s > t ? s : t) + 1;
}

// Fisher-Yates shuffle of n ints with rng.
static void shuffle(int *a, int n, Rng *rng) {
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rng_below(rng, (uint32_t)(i + 1));
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

void batch_plan_free(BatchPlan *plan) {
    free(plan->order), free(plan->batch_start), free(plan->batch_size);
    memset(plan, 0, sizeof *plan);
}

// §5.1 "batched together by approximate sequence length": a counting sort of the shuffled
// pairs by length (stable, so equal lengths keep their random order), then batches cut
// greedily along the sorted list, then the batches shuffled so lengths do not rise
// steadily through an epoch.
bool batch_plan_make(BatchPlan *plan, const Dataset *ds, long max_tokens, int max_sentences,
                     Rng *rng, ErrorMessage *err) {
    batch_plan_free(plan);
    if (max_tokens <= 0 && max_sentences <= 0)
        return error_set(err, "batch size: give a number of tokens or of sentences (> 0)");
    if (max_tokens < 0 || max_sentences < 0)
        return error_set(err, "batch size: expected a positive number, got %ld tokens, %d sentences",
                         max_tokens, max_sentences);
    int n = ds->n_pairs;
    if (n == 0) return error_set(err, "dataset is empty: no pairs to batch");

    int *shuffled = xmalloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) shuffled[i] = i;
    shuffle(shuffled, n, rng);

    int max_len = ds->max_len;
    int *count = xcalloc((size_t)max_len + 2, sizeof(int));  // pairs per length, then offsets
    for (int i = 0; i < n; i++) count[pair_length(ds, shuffled[i])]++;
    for (int len = 0, offset = 0; len <= max_len + 1; len++) {
        int c = count[len];
        count[len] = offset;
        offset += c;
    }
    plan->order = xmalloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) plan->order[count[pair_length(ds, shuffled[i])]++] = shuffled[i];
    free(count), free(shuffled);

    // Cut: a batch grows while B·(longest row) stays within max_tokens and B within
    // max_sentences. The list is sorted, so the newest pair is always the longest.
    plan->batch_start = xmalloc(sizeof(int) * (size_t)n);
    plan->batch_size = xmalloc(sizeof(int) * (size_t)n);
    int b = 0;
    for (int i = 0; i < n;) {
        int size = 1;
        while (i + size < n) {
            long longest = pair_length(ds, plan->order[i + size]);
            if (max_sentences > 0 && size + 1 > max_sentences) break;
            if (max_tokens > 0 && (size + 1) * longest > max_tokens) break;
            size++;
        }
        plan->batch_start[b] = i;
        plan->batch_size[b] = size;
        if (size > plan->max_batch) plan->max_batch = size;
        int longest = pair_length(ds, plan->order[i + size - 1]);
        if (longest > plan->max_len) plan->max_len = longest;
        b++;
        i += size;
    }
    plan->n_batches = b;

    // Shuffle the batches (their starts and sizes together).
    int *which = xmalloc(sizeof(int) * (size_t)b);
    for (int i = 0; i < b; i++) which[i] = i;
    shuffle(which, b, rng);
    int *starts = xmalloc(sizeof(int) * (size_t)b), *sizes = xmalloc(sizeof(int) * (size_t)b);
    for (int i = 0; i < b; i++) starts[i] = plan->batch_start[which[i]], sizes[i] = plan->batch_size[which[i]];
    memcpy(plan->batch_start, starts, sizeof(int) * (size_t)b);
    memcpy(plan->batch_size, sizes, sizeof(int) * (size_t)b);
    free(which), free(starts), free(sizes);
    return true;
}

void batch_init(Batch *batch, int max_batch, int max_len) {
    memset(batch, 0, sizeof *batch);
    batch->capacity_B = max_batch;
    batch->capacity_len = max_len;
    size_t cells = (size_t)max_batch * (size_t)max_len;
    batch->src = xmalloc(sizeof(int) * cells);
    batch->tgt_in = xmalloc(sizeof(int) * cells);
    batch->tgt_out = xmalloc(sizeof(int) * cells);
    batch->src_lengths = xmalloc(sizeof(int) * (size_t)max_batch);
    batch->tgt_lengths = xmalloc(sizeof(int) * (size_t)max_batch);
    batch->pair = xmalloc(sizeof(int) * (size_t)max_batch);
}

void batch_free(Batch *batch) {
    free(batch->src), free(batch->tgt_in), free(batch->tgt_out);
    free(batch->src_lengths), free(batch->tgt_lengths), free(batch->pair);
    memset(batch, 0, sizeof *batch);
}

// Lays out rows b = 0..n-1 (see dataset.h): src (B,S) = x EOS pad..., tgt_in (B,T) =
// BOS y pad..., tgt_out (B,T) = y EOS pad...; S and T are the longest rows of this batch.
void batch_fill_pairs(Batch *batch, const Dataset *ds, const int *pairs, int n) {
    int S = 1, T = 1;
    for (int b = 0; b < n; b++) {
        int p = pairs[b];
        if (ds->src_len[p] + 1 > S) S = ds->src_len[p] + 1;
        if (ds->tgt_len[p] + 1 > T) T = ds->tgt_len[p] + 1;
    }
    if (n > batch->capacity_B || S > batch->capacity_len || T > batch->capacity_len)
        die("batch_fill: %d rows of length %d/%d do not fit a batch made for %d rows of %d",
            n, S, T, batch->capacity_B, batch->capacity_len);
    batch->B = n, batch->S = S, batch->T = T;
    batch->n_src_tokens = batch->n_tgt_tokens = 0;
    for (int b = 0; b < n; b++) {
        int p = pairs[b];
        int xs = ds->src_len[p], ys = ds->tgt_len[p];
        const int *x = ds->tokens + ds->src_start[p], *y = ds->tokens + ds->tgt_start[p];
        int *src = batch->src + (long)b * S;
        int *in = batch->tgt_in + (long)b * T, *out = batch->tgt_out + (long)b * T;
        memcpy(src, x, sizeof(int) * (size_t)xs);
        src[xs] = TOKEN_EOS;
        for (int s = xs + 1; s < S; s++) src[s] = TOKEN_PAD;
        in[0] = TOKEN_BOS;
        memcpy(in + 1, y, sizeof(int) * (size_t)ys);
        memcpy(out, y, sizeof(int) * (size_t)ys);
        out[ys] = TOKEN_EOS;
        for (int t = ys + 1; t < T; t++) in[t] = out[t] = TOKEN_PAD;
        batch->src_lengths[b] = xs + 1;
        batch->tgt_lengths[b] = ys + 1;
        batch->pair[b] = p;
        batch->n_src_tokens += xs + 1;
        batch->n_tgt_tokens += ys + 1;
    }
}

void batch_fill(Batch *batch, const Dataset *ds, const BatchPlan *plan, int index) {
    batch_fill_pairs(batch, ds, plan->order + plan->batch_start[index], plan->batch_size[index]);
}
