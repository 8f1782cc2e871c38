// tokenizer.c: byte-level byte-pair encoding, §5.1 (see tokenizer.h for the token ids,
// the pre-splitting rule and the file format).
//
// BPE (Sennrich et al. 2016, the paper's reference [3]) starts from single bytes and
// repeatedly glues the most frequent adjacent pair into a new token. Frequent words end
// up as one token, rare words as a few pieces, and nothing is ever "unknown".
#include "tokenizer.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

// ============================================================================
// Small helpers: growing arrays, the pair hash table
// ============================================================================

// Makes room for `need` elements of `elem` bytes in *array (capacity *cap, doubling).
static void grow(void *array, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return;
    size_t new_cap = *cap ? *cap : 16;
    while (new_cap < need) new_cap *= 2;
    void **p = array;
    void *bigger = realloc(*p, new_cap * elem);
    if (!bigger) die("tokenizer: out of memory (%zu elements of %zu bytes)", new_cap, elem);
    *p = bigger;
    *cap = new_cap;
}

// A pair of token ids as one 64-bit key. Stored +1 so that 0 marks an empty slot.
// Ordering keys orders pairs by left id, then right id: the training tie-break.
static uint64_t pair_key(int left, int right) {
    return (((uint64_t)(uint32_t)left << 32) | (uint32_t)right) + 1;
}

// The slot of `key` in an open-addressing table of `cap` (a power of two) slots, or the
// empty slot where it would go. Linear probing; tables are kept at most half full.
static size_t pair_slot(const uint64_t *keys, size_t cap, uint64_t key) {
    uint64_t h = key * 0x9E3779B97F4A7C15ull;  // Fibonacci hashing mixes the bits
    size_t i = (size_t)(h ^ (h >> 29)) & (cap - 1);
    while (keys[i] != 0 && keys[i] != key) i = (i + 1) & (cap - 1);
    return i;
}

// ============================================================================
// UTF-8: which tokens read as text
// ============================================================================

static bool is_continuation(unsigned char b) { return (b & 0xC0) == 0x80; }

// How many bytes a character starting with lead byte b has (1 for ASCII), 0 if b
// cannot start a character.
static int utf8_expected_length(unsigned char b) {
    if (b < 0x80) return 1;
    if (b >= 0xC2 && b <= 0xDF) return 2;
    if (b >= 0xE0 && b <= 0xEF) return 3;
    if (b >= 0xF0 && b <= 0xF4) return 4;
    return 0;
}

// The length of the valid, complete UTF-8 character at s (n bytes available), or 0.
// Strict: rejects overlong forms, surrogates and code points above U+10FFFF, so what
// it accepts is safe to hand to a terminal or a font renderer.
static int utf8_char_length(const unsigned char *s, int n) {
    int len = utf8_expected_length(s[0]);
    if (len == 0 || len > n) return 0;
    if (len == 1) return 1;
    uint32_t cp = s[0] & (0x7F >> len);
    for (int i = 1; i < len; i++) {
        if (!is_continuation(s[i])) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    static const uint32_t smallest[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < smallest[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

// True if s is a sequence of whole characters (ASCII or valid UTF-8), no fragments.
static bool is_whole_text(const unsigned char *s, int n) {
    for (int i = 0; i < n;) {
        int len = utf8_char_length(s + i, n - i);
        if (len == 0) return false;
        i += len;
    }
    return true;
}

// ============================================================================
// Pre-splitting: the chunks merges never cross
// ============================================================================

typedef enum { CLASS_LETTER, CLASS_DIGIT, CLASS_SPACE, CLASS_BREAK, CLASS_OTHER } ByteClass;

// Bytes >= 0x80 count as letters so that "é" (0xC3 0xA9) stays inside "étudiant".
// Tabs and line breaks are a class of their own, so "." and "\n" never merge.
static ByteClass byte_class(unsigned char b) {
    if (b == ' ') return CLASS_SPACE;
    if ((b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || b >= 0x80) return CLASS_LETTER;
    if (b >= '0' && b <= '9') return CLASS_DIGIT;
    if (b == '\t' || b == '\n' || b == '\r' || b == '\v' || b == '\f') return CLASS_BREAK;
    return CLASS_OTHER;
}

// The end of the chunk starting at s[i]: a run of one class, with a single space
// before it glued on ("le chat" -> "le", " chat"). Of a run of several spaces, all but
// the last form their own chunk, and the last one goes with the next word. Chunks are
// at most TOKENIZER_MAX_CHUNK bytes.
static size_t chunk_end(const unsigned char *s, size_t len, size_t i) {
    size_t start = i, limit = len - start > TOKENIZER_MAX_CHUNK ? start + TOKENIZER_MAX_CHUNK : len;
    if (s[i] == ' ') {
        size_t j = i;
        while (j < limit && s[j] == ' ') j++;
        if (j == limit) return limit;        // spaces up to the end (or the size limit)
        if (j - i >= 2) return j - 1;        // leave the last space for the next word
        i = j;                               // one space: glue it to the run after it
    }
    ByteClass c = byte_class(s[i]);
    while (i < limit && byte_class(s[i]) == c) i++;
    return i;
}

// ============================================================================
// Building the vocabulary one merge at a time (used by train and load)
// ============================================================================

static void pair_table_init(Tokenizer *tok, size_t cap) {
    tok->pair_capacity = cap;
    tok->pair_keys = xcalloc(cap, sizeof *tok->pair_keys);
    tok->pair_values = xcalloc(cap, sizeof *tok->pair_values);
}

void tokenizer_init_bytes(Tokenizer *tok) {
    memset(tok, 0, sizeof *tok);
    tok->vocab_size = TOKEN_FIRST_MERGE;
    tok->token_start = xmalloc(sizeof(int) * (TOKEN_FIRST_MERGE + 1));
    tok->token_bytes = xmalloc(256);
    tok->bytes_capacity = 256;
    for (int id = 0; id <= TOKEN_FIRST_MERGE; id++)  // specials: empty; bytes: one each
        tok->token_start[id] = id < TOKEN_BYTE0 ? 0 : id - TOKEN_BYTE0;
    for (int b = 0; b < 256; b++) tok->token_bytes[b] = (unsigned char)b;
    pair_table_init(tok, 1024);
}

void tokenizer_free(Tokenizer *tok) {
    free(tok->merges);
    free(tok->token_start);
    free(tok->token_bytes);
    free(tok->pair_keys);
    free(tok->pair_values);
    memset(tok, 0, sizeof *tok);
}

static int token_length(const Tokenizer *tok, int id) {
    return tok->token_start[id + 1] - tok->token_start[id];
}

// The merged token for (left, right), or -1 if that pair was never merged.
static int merged_token(const Tokenizer *tok, int left, int right) {
    uint64_t key = pair_key(left, right);
    size_t i = pair_slot(tok->pair_keys, tok->pair_capacity, key);
    return tok->pair_keys[i] == key ? tok->pair_values[i] : -1;
}

// Appends the merge left + right as token vocab_size. The caller has checked that both
// ids exist, are not specials, and that the pair is new.
static void add_merge(Tokenizer *tok, int left, int right) {
    int m = tok->n_merges, id = tok->vocab_size;
    if ((size_t)m + 1 > tok->merges_capacity) {  // double the per-merge arrays
        size_t cap = tok->merges_capacity;
        grow(&tok->merges, &cap, (size_t)m + 1, sizeof *tok->merges);
        size_t starts = TOKEN_FIRST_MERGE + 1 + tok->merges_capacity;
        grow(&tok->token_start, &starts, TOKEN_FIRST_MERGE + 1 + cap, sizeof *tok->token_start);
        tok->merges_capacity = cap;
    }
    tok->merges[m][0] = left;
    tok->merges[m][1] = right;

    // The new token's bytes are its parts' bytes, one after the other.
    int left_len = token_length(tok, left), right_len = token_length(tok, right);
    size_t used = (size_t)tok->token_start[id];
    grow(&tok->token_bytes, &tok->bytes_capacity, used + (size_t)left_len + (size_t)right_len, 1);
    memcpy(tok->token_bytes + used, tok->token_bytes + tok->token_start[left], (size_t)left_len);
    memcpy(tok->token_bytes + used + left_len, tok->token_bytes + tok->token_start[right],
           (size_t)right_len);
    tok->token_start[id + 1] = (int)used + left_len + right_len;

    // Keep the pair table at most half full, then record (left, right) -> id.
    if (2 * ((size_t)m + 1) > tok->pair_capacity) {
        size_t old_cap = tok->pair_capacity;
        uint64_t *old_keys = tok->pair_keys;
        int *old_values = tok->pair_values;
        pair_table_init(tok, 2 * old_cap);
        for (size_t i = 0; i < old_cap; i++)
            if (old_keys[i]) {
                size_t j = pair_slot(tok->pair_keys, tok->pair_capacity, old_keys[i]);
                tok->pair_keys[j] = old_keys[i];
                tok->pair_values[j] = old_values[i];
            }
        free(old_keys);
        free(old_values);
    }
    uint64_t key = pair_key(left, right);
    size_t slot = pair_slot(tok->pair_keys, tok->pair_capacity, key);
    tok->pair_keys[slot] = key;
    tok->pair_values[slot] = id;
    tok->n_merges = m + 1;
    tok->vocab_size = id + 1;
}

// ============================================================================
// Training
// ============================================================================

// What training needs to know about each token to apply the UTF-8 rule: may it merge
// with its neighbour without leaving a character fragment inside a longer token?
typedef struct {
    bool whole;       // whole characters only: may merge with another whole token
    int8_t lead_len;  // a lead byte plus some continuation bytes, of a character of
                      // lead_len bytes; 0 if not such a prefix
    bool tail;        // continuation bytes only (1 to 3)
} TokenShape;

static TokenShape token_shape(const unsigned char *s, int n) {
    TokenShape shape = {is_whole_text(s, n), 0, true};
    for (int i = 0; i < n; i++) shape.tail = shape.tail && is_continuation(s[i]);
    int expected = utf8_expected_length(s[0]);
    if (expected > 1 && n < expected) {
        bool rest_continue = true;
        for (int i = 1; i < n; i++) rest_continue = rest_continue && is_continuation(s[i]);
        if (rest_continue) shape.lead_len = (int8_t)expected;
    }
    return shape;
}

// A pair may merge if both sides are whole characters, or if together they are still
// part of one character (the first bytes of "é" or "€"). So "t" + 0xC3 never merges,
// but 0xC3 + 0xA9 -> "é" and then "t" + "é" can.
static bool may_merge(const TokenShape *shapes, const Tokenizer *tok, int left, int right) {
    if (shapes[left].whole && shapes[right].whole) return true;
    return shapes[left].lead_len && shapes[right].tail &&
           token_length(tok, left) + token_length(tok, right) <= shapes[left].lead_len;
}

// The corpus as unique chunks ("words") with their counts, each word as its current
// sequence of tokens. Merging works on these, never on the raw text again.
typedef struct {
    int n_words;
    int64_t *count;   // (n_words) how often the word occurs in the text
    size_t *start;    // (n_words) where its tokens begin in sym
    int *length;      // (n_words) how many tokens it has now (shrinks as merges apply)
    int *sym;         // all words' tokens
} WordList;

static uint64_t hash_bytes(const unsigned char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;  // FNV-1a
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ull;
    return h;
}

// Splits text into chunks and counts each distinct chunk once.
static WordList collect_words(const unsigned char *text, size_t len) {
    WordList w = {0};
    size_t words_cap = 0, sym_cap = 0, sym_used = 0;
    size_t *offset = NULL;  // where each word first occurs in text, to compare bytes
    size_t offset_cap = 0;
    size_t table_cap = 1 << 12;
    int *table = xcalloc(table_cap, sizeof *table);  // word index + 1; 0 = empty

    for (size_t i = 0; i < len;) {
        size_t end = chunk_end(text, len, i), n = end - i;
        uint64_t h = hash_bytes(text + i, n);
        size_t slot = (size_t)h & (table_cap - 1);
        while (table[slot]) {
            int k = table[slot] - 1;
            if ((size_t)w.length[k] == n && memcmp(text + offset[k], text + i, n) == 0) break;
            slot = (slot + 1) & (table_cap - 1);
        }
        if (table[slot]) {
            w.count[table[slot] - 1]++;
        } else {
            int k = w.n_words++;
            size_t need = (size_t)w.n_words;
            size_t c1 = words_cap, c2 = words_cap, c3 = words_cap;
            grow(&w.count, &c1, need, sizeof *w.count);
            grow(&w.start, &c2, need, sizeof *w.start);
            grow(&w.length, &c3, need, sizeof *w.length);
            words_cap = c1;
            grow(&offset, &offset_cap, need, sizeof *offset);
            grow(&w.sym, &sym_cap, sym_used + n, sizeof *w.sym);
            w.count[k] = 1;
            w.start[k] = sym_used;
            w.length[k] = (int)n;
            offset[k] = i;
            for (size_t j = 0; j < n; j++) w.sym[sym_used + j] = TOKEN_BYTE0 + text[i + j];
            sym_used += n;
            table[slot] = k + 1;
            if (2 * (size_t)w.n_words > table_cap) {  // rehash into a table twice as big
                free(table);
                table_cap *= 2;
                table = xcalloc(table_cap, sizeof *table);
                for (int q = 0; q < w.n_words; q++) {
                    size_t s = (size_t)hash_bytes(text + offset[q], (size_t)w.length[q]) & (table_cap - 1);
                    while (table[s]) s = (s + 1) & (table_cap - 1);
                    table[s] = q + 1;
                }
            }
        }
        i = end;
    }
    free(table);
    free(offset);
    return w;
}

// Pair counts over all words: (left, right) -> how often it occurs, weighted by word
// counts, and which words contain it. Pairs live in dense arrays (scanning them for the
// most frequent is a tight loop); a hash table maps a pair's key to its index.
typedef struct {
    size_t n_pairs, capacity;  // pairs ever seen (a count may have dropped to 0)
    uint64_t *keys;            // (n_pairs) pair_key(left, right)
    int64_t *counts;           // (n_pairs)
    int **words;               // (n_pairs) words that had the pair when it was counted:
    int *n_words, *cap_words;  //   may hold repeats and words that lost it since
    size_t *slots;             // (slot_capacity) index + 1 into the arrays, 0 = empty
    size_t slot_capacity;      // a power of two, at least 2 * n_pairs
} PairCounts;

static size_t pair_index(PairCounts *pc, int left, int right) {
    uint64_t key = pair_key(left, right);
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    size_t i = (size_t)(h ^ (h >> 29)) & (pc->slot_capacity - 1);
    while (pc->slots[i] && pc->keys[pc->slots[i] - 1] != key) i = (i + 1) & (pc->slot_capacity - 1);
    if (pc->slots[i]) return pc->slots[i] - 1;

    // A new pair: append it to the dense arrays, growing them and the table as needed.
    size_t p = pc->n_pairs++;
    if (pc->n_pairs > pc->capacity) {
        size_t c = pc->capacity;
        grow(&pc->keys, &c, pc->n_pairs, sizeof *pc->keys);
        c = pc->capacity;
        grow(&pc->counts, &c, pc->n_pairs, sizeof *pc->counts);
        c = pc->capacity;
        grow(&pc->words, &c, pc->n_pairs, sizeof *pc->words);
        c = pc->capacity;
        grow(&pc->n_words, &c, pc->n_pairs, sizeof *pc->n_words);
        c = pc->capacity;
        grow(&pc->cap_words, &c, pc->n_pairs, sizeof *pc->cap_words);
        pc->capacity = c;
    }
    pc->keys[p] = key;
    pc->counts[p] = 0;
    pc->words[p] = NULL;
    pc->n_words[p] = pc->cap_words[p] = 0;
    pc->slots[i] = p + 1;
    if (2 * pc->n_pairs > pc->slot_capacity) {  // rehash into a table twice the size
        free(pc->slots);
        pc->slot_capacity *= 2;
        pc->slots = xcalloc(pc->slot_capacity, sizeof *pc->slots);
        for (size_t q = 0; q < pc->n_pairs; q++) {
            uint64_t hq = pc->keys[q] * 0x9E3779B97F4A7C15ull;
            size_t j = (size_t)(hq ^ (hq >> 29)) & (pc->slot_capacity - 1);
            while (pc->slots[j]) j = (j + 1) & (pc->slot_capacity - 1);
            pc->slots[j] = q + 1;
        }
    }
    return p;
}

static void pair_counts_free(PairCounts *pc) {
    for (size_t p = 0; p < pc->n_pairs; p++) free(pc->words[p]);
    free(pc->keys);
    free(pc->counts);
    free(pc->words);
    free(pc->n_words);
    free(pc->cap_words);
    free(pc->slots);
}

// Adds (sign +1) or removes (sign -1) one word's pairs from the counts. Adding also
// notes the word under each pair, so a merge of that pair can find it later.
static void count_word_pairs(PairCounts *pc, const WordList *w, int k, int sign,
                             const TokenShape *shapes, const Tokenizer *tok) {
    const int *s = w->sym + w->start[k];
    for (int i = 0; i + 1 < w->length[k]; i++) {
        if (!may_merge(shapes, tok, s[i], s[i + 1])) continue;
        size_t p = pair_index(pc, s[i], s[i + 1]);
        pc->counts[p] += sign * w->count[k];
        if (sign > 0 && (pc->n_words[p] == 0 || pc->words[p][pc->n_words[p] - 1] != k)) {
            size_t c = (size_t)pc->cap_words[p];
            grow(&pc->words[p], &c, (size_t)pc->n_words[p] + 1, sizeof(int));
            pc->cap_words[p] = (int)c;
            pc->words[p][pc->n_words[p]++] = k;
        }
    }
}

int tokenizer_train(Tokenizer *tok, const char *text, size_t len, int n_merges) {
    tokenizer_init_bytes(tok);
    if (n_merges > TOKENIZER_MAX_MERGES) n_merges = TOKENIZER_MAX_MERGES;
    WordList w = collect_words((const unsigned char *)text, len);

    size_t shapes_cap = 0;
    TokenShape *shapes = NULL;
    grow(&shapes, &shapes_cap, TOKEN_FIRST_MERGE, sizeof *shapes);
    for (int id = 0; id < TOKEN_FIRST_MERGE; id++) {
        unsigned char b = (unsigned char)(id - TOKEN_BYTE0);
        shapes[id] = id < TOKEN_BYTE0 ? (TokenShape){0} : token_shape(&b, 1);
    }

    PairCounts pc = {.slot_capacity = 1 << 12};
    pc.slots = xcalloc(pc.slot_capacity, sizeof *pc.slots);
    for (int k = 0; k < w.n_words; k++) count_word_pairs(&pc, &w, k, +1, shapes, tok);
    int *seen = xcalloc((size_t)w.n_words + 1, sizeof *seen);  // seen[k] = last merge that visited word k

    for (int m = 0; m < n_merges; m++) {
        // 1. The most frequent pair; on a tie the smallest key (lowest left, then right id).
        size_t best = 0;
        int64_t best_count = 1;
        for (size_t p = 0; p < pc.n_pairs; p++)
            if (pc.counts[p] > best_count || (pc.counts[p] == best_count && pc.keys[p] < pc.keys[best])) {
                best = p;
                best_count = pc.counts[p];
            }
        if (best_count < 2) break;  // no pair occurs twice: nothing worth merging
        uint64_t key = pc.keys[best] - 1;
        int left = (int)(key >> 32), right = (int)(uint32_t)key;

        // 2. It becomes a new token.
        int id = tok->vocab_size;
        add_merge(tok, left, right);
        grow(&shapes, &shapes_cap, (size_t)id + 1, sizeof *shapes);
        shapes[id] = token_shape(tok->token_bytes + tok->token_start[id], token_length(tok, id));

        // 3. Replace it, left to right, in every word that has it, updating the counts
        //    of that word's pairs (removed before the rewrite, added back after). The
        //    pair's word list is taken over here: after this step no word has the pair.
        int *list = pc.words[best], n_list = pc.n_words[best];
        pc.words[best] = NULL;
        pc.n_words[best] = pc.cap_words[best] = 0;
        for (int q = 0; q < n_list; q++) {
            int k = list[q];
            if (seen[k] == m + 1) continue;  // listed twice
            seen[k] = m + 1;
            int *s = w.sym + w.start[k], n = w.length[k], i = 0;
            while (i + 1 < n && !(s[i] == left && s[i + 1] == right)) i++;
            if (i + 1 >= n) continue;  // lost the pair to an earlier merge
            count_word_pairs(&pc, &w, k, -1, shapes, tok);
            int out = 0;
            for (int j = 0; j < n; j++) {
                if (j + 1 < n && s[j] == left && s[j + 1] == right) {
                    s[out++] = id;
                    j++;
                } else {
                    s[out++] = s[j];
                }
            }
            w.length[k] = out;
            count_word_pairs(&pc, &w, k, +1, shapes, tok);
        }
        free(list);
    }

    pair_counts_free(&pc);
    free(seen);
    free(shapes);
    free(w.count);
    free(w.start);
    free(w.length);
    free(w.sym);
    return tok->n_merges;
}

// ============================================================================
// Encoding and decoding
// ============================================================================

int tokenizer_vocab_size(const Tokenizer *tok) { return tok->vocab_size; }

// Encodes one chunk (n <= TOKENIZER_MAX_CHUNK bytes) into sym, returning the count.
// Starting from bytes, it applies the earliest-learned merge present (the pair whose
// merged id is smallest), leftmost first, until no learned pair is left: this gives
// exactly the tokens training's merges would have made of this chunk.
static int encode_chunk(const Tokenizer *tok, const unsigned char *s, int n, int *sym) {
    int merged[TOKENIZER_MAX_CHUNK];  // merged[i]: the token (sym[i], sym[i+1]) makes, or INT_MAX
    for (int i = 0; i < n; i++) sym[i] = TOKEN_BYTE0 + s[i];
    for (int i = 0; i + 1 < n; i++) {
        int t = merged_token(tok, sym[i], sym[i + 1]);
        merged[i] = t < 0 ? INT_MAX : t;
    }
    for (;;) {
        int best = -1;
        for (int i = 0; i + 1 < n; i++)
            if (merged[i] != INT_MAX && (best < 0 || merged[i] < merged[best])) best = i;
        if (best < 0) return n;
        sym[best] = merged[best];
        // Close the gap left by sym[best+1] and refresh the two pairs that changed.
        memmove(sym + best + 1, sym + best + 2, sizeof(int) * (size_t)(n - best - 2));
        memmove(merged + best + 1, merged + best + 2, sizeof(int) * (size_t)(n > best + 3 ? n - best - 3 : 0));
        n--;
        for (int i = best - 1; i <= best; i++)
            if (i >= 0 && i + 1 < n) {
                int t = merged_token(tok, sym[i], sym[i + 1]);
                merged[i] = t < 0 ? INT_MAX : t;
            }
    }
}

int tokenizer_encode(const Tokenizer *tok, const char *text, size_t len, int *out_ids, int max_ids) {
    const unsigned char *s = (const unsigned char *)text;
    int sym[TOKENIZER_MAX_CHUNK];
    long total = 0;
    for (size_t i = 0; i < len;) {
        size_t end = chunk_end(s, len, i);
        int n = encode_chunk(tok, s + i, (int)(end - i), sym);
        for (int j = 0; j < n; j++, total++)
            if (total < max_ids) out_ids[total] = sym[j];
        i = end;
    }
    return total > INT_MAX ? INT_MAX : (int)total;
}

const unsigned char *tokenizer_token_bytes(const Tokenizer *tok, int id, int *len) {
    if (id < TOKEN_N_SPECIAL || id >= tok->vocab_size) {
        *len = 0;
        return NULL;
    }
    *len = token_length(tok, id);
    return tok->token_bytes + tok->token_start[id];
}

size_t tokenizer_decode(const Tokenizer *tok, const int *ids, int n, char *out, size_t max_bytes) {
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        int len;
        const unsigned char *bytes = tokenizer_token_bytes(tok, ids[i], &len);
        for (int j = 0; j < len; j++, total++)
            if (total + 1 < max_bytes) out[total] = (char)bytes[j];
    }
    if (max_bytes > 0) out[total < max_bytes ? total : max_bytes - 1] = '\0';
    return total;
}

// Appends piece (n bytes) to buf if it fits whole; returns false when it did not.
static bool append(char *buf, size_t bufsize, size_t *used, const char *piece, size_t n) {
    if (*used + n + 1 > bufsize) return false;
    memcpy(buf + *used, piece, n);
    *used += n;
    buf[*used] = '\0';
    return true;
}

const char *tokenizer_token_string(const Tokenizer *tok, int id, char *buf, size_t bufsize) {
    if (bufsize == 0) return buf;
    buf[0] = '\0';
    size_t used = 0;
    char piece[16];
    if (id < 0 || id >= tok->vocab_size) {
        snprintf(piece, sizeof piece, "<bad:%d>", id);
        append(buf, bufsize, &used, piece, strlen(piece));
        return buf;
    }
    static const char *const specials[TOKEN_N_SPECIAL] = {"<pad>", "<s>", "</s>"};
    if (id < TOKEN_N_SPECIAL) {
        append(buf, bufsize, &used, specials[id], strlen(specials[id]));
        return buf;
    }
    int n;
    const unsigned char *s = tokenizer_token_bytes(tok, id, &n);
    for (int i = 0; i < n;) {
        int len = utf8_char_length(s + i, n - i);
        bool fits;
        if (s[i] == ' ') {
            fits = append(buf, bufsize, &used, "\xE2\x96\x81", 3);  // U+2581 '▁'
            len = 1;
        } else if (len == 1 && s[i] > 0x20 && s[i] < 0x7F) {
            fits = append(buf, bufsize, &used, (const char *)s + i, 1);
        } else if (len > 1) {
            fits = append(buf, bufsize, &used, (const char *)s + i, (size_t)len);
        } else {  // control byte, or a byte that is not (part of) a valid character
            snprintf(piece, sizeof piece, "<0x%02X>", s[i]);
            fits = append(buf, bufsize, &used, piece, 6);
            len = 1;
        }
        if (!fits) break;
        i += len;
    }
    return buf;
}

// ============================================================================
// Saving and loading: the text format described in tokenizer.h
// ============================================================================

#define VOCAB_HEADER "bpe-vocab"
#define VOCAB_VERSION 1

char *tokenizer_to_string(const Tokenizer *tok, size_t *len) {
    size_t cap = 0, used = 0;
    char *text = NULL, line[64 + 3 * TOKEN_STRING_MAX];
    char a[TOKEN_STRING_MAX], b[TOKEN_STRING_MAX], ab[TOKEN_STRING_MAX];
    for (int m = -1; m < tok->n_merges; m++) {
        int n;
        if (m < 0) {  // the two header lines
            n = snprintf(line, sizeof line, "%s %d\nmerges %d\n", VOCAB_HEADER, VOCAB_VERSION, tok->n_merges);
        } else {      // one merge, with a comment showing what it makes
            int left = tok->merges[m][0], right = tok->merges[m][1], id = TOKEN_FIRST_MERGE + m;
            n = snprintf(line, sizeof line, "merge %d %d    # %d = %s + %s -> %s\n", left, right, id,
                         tokenizer_token_string(tok, left, a, sizeof a),
                         tokenizer_token_string(tok, right, b, sizeof b),
                         tokenizer_token_string(tok, id, ab, sizeof ab));
        }
        grow(&text, &cap, used + (size_t)n + 1, 1);
        memcpy(text + used, line, (size_t)n + 1);
        used += (size_t)n;
    }
    // An end marker, so a file cut short anywhere (even right after a merge's "1" of
    // "119") is caught rather than loaded as a different vocabulary.
    grow(&text, &cap, used + 5, 1);
    memcpy(text + used, "end\n", 5);
    used += 4;
    if (len) *len = used;
    return text;
}

bool tokenizer_write(const Tokenizer *tok, FILE *f) {
    size_t len;
    char *text = tokenizer_to_string(tok, &len);
    bool ok = fwrite(text, 1, len, f) == len;
    free(text);
    return ok;
}

bool tokenizer_save(const Tokenizer *tok, const char *path, ErrorMessage *err) {
    size_t len;
    char *text = tokenizer_to_string(tok, &len);
    bool ok = write_file_atomic(path, text, len, err);
    free(text);
    return ok;
}

// Lines come either from a FILE* (reading no further than needed) or from memory.
typedef struct {
    FILE *file;
    const char *text;
    size_t text_len, pos;
    char *buf;        // getline's buffer (FILE* only)
    size_t buf_cap;
    const char *name; // for messages
    int number;       // 1-based number of the line last returned
} LineReader;

// The next line without its "\n" or "\r\n", or false at the end of the input.
static bool next_line(LineReader *r, const char **line, size_t *n) {
    if (r->file) {
        ssize_t got = getline(&r->buf, &r->buf_cap, r->file);
        if (got < 0) return false;
        *line = r->buf;
        *n = (size_t)got;
    } else {
        if (r->pos >= r->text_len) return false;
        const char *start = r->text + r->pos;
        const char *nl = memchr(start, '\n', r->text_len - r->pos);
        *line = start;
        *n = nl ? (size_t)(nl - start) + 1 : r->text_len - r->pos;
        r->pos += *n;
    }
    r->number++;
    if (*n > 0 && (*line)[*n - 1] == '\n') (*n)--;
    if (*n > 0 && (*line)[*n - 1] == '\r') (*n)--;
    return true;
}

// The next line that is not blank or comment-only, copied into out (NUL-terminated,
// comment and surrounding spaces removed). Returns 0 at end of input, -1 (with err
// set) for a line with a NUL byte or one too long to be part of a vocabulary, else 1.
static int next_content_line(LineReader *r, char *out, size_t out_size, ErrorMessage *err) {
    const char *line;
    size_t n;
    while (next_line(r, &line, &n)) {
        if (memchr(line, '\0', n)) {
            error_set(err, "%s:%d: expected text, found a NUL byte (is this a vocabulary file?)", r->name,
                      r->number);
            return -1;
        }
        const char *hash = memchr(line, '#', n);
        if (hash) n = (size_t)(hash - line);
        while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t')) n--;
        while (n > 0 && (*line == ' ' || *line == '\t')) line++, n--;
        if (n == 0) continue;
        if (n < out_size) {
            memcpy(out, line, n);
            out[n] = '\0';
        } else {  // too long for any valid line: keep the start, and "..." so parsing fails
            memcpy(out, line, out_size - 4);
            memcpy(out + out_size - 4, "...", 4);
        }
        return 1;
    }
    return 0;
}

// Parses a decimal integer in [0, INT_MAX] at *p, skipping spaces before it.
static bool parse_count(const char **p, long *value) {
    while (**p == ' ' || **p == '\t') (*p)++;
    if (**p < '0' || **p > '9') return false;
    errno = 0;
    char *end;
    *value = strtol(*p, &end, 10);
    if (errno == ERANGE || *value > INT_MAX) return false;
    *p = end;
    return true;
}

// Does s consist of `word` followed by its numbers and nothing else? (count of them)
static bool parse_line(const char *s, const char *word, long *values, int count) {
    size_t wl = strlen(word);
    if (strncmp(s, word, wl) != 0 || (s[wl] != ' ' && s[wl] != '\t')) return false;
    s += wl;
    for (int i = 0; i < count; i++)
        if (!parse_count(&s, &values[i])) return false;
    while (*s == ' ' || *s == '\t') s++;
    return *s == '\0';
}

// Reads the format from r into tok. check_end: also require nothing after the merges.
static bool read_vocab(Tokenizer *tok, LineReader *r, bool check_end, ErrorMessage *err) {
    char line[128];
    long v[2];
    tokenizer_init_bytes(tok);
    int got = next_content_line(r, line, sizeof line, err);
    if (got < 0) goto fail;
    if (got == 0) {
        error_set(err, "%s:%d: expected '%s %d' header, got end of file (empty vocabulary file?)", r->name,
                  r->number + 1, VOCAB_HEADER, VOCAB_VERSION);
        goto fail;
    }
    if (!parse_line(line, VOCAB_HEADER, v, 1)) {
        error_set(err, "%s:%d: expected '%s %d' header, got '%s'", r->name, r->number, VOCAB_HEADER,
                  VOCAB_VERSION, line);
        goto fail;
    }
    if (v[0] != VOCAB_VERSION) {
        error_set(err, "%s:%d: vocabulary format version %ld is not supported (expected %d)", r->name,
                  r->number, v[0], VOCAB_VERSION);
        goto fail;
    }
    got = next_content_line(r, line, sizeof line, err);
    if (got < 0) goto fail;
    if (got == 0 || !parse_line(line, "merges", v, 1) || v[0] > TOKENIZER_MAX_MERGES) {
        error_set(err, "%s:%d: expected 'merges <count>' with count at most %d, got %s%s%s", r->name,
                  r->number + (got == 0), TOKENIZER_MAX_MERGES, got ? "'" : "end of file",
                  got ? line : "", got ? "'" : "");
        goto fail;
    }
    long n_merges = v[0];
    for (long m = 0; m < n_merges; m++) {
        got = next_content_line(r, line, sizeof line, err);
        if (got < 0) goto fail;
        if (got == 0) {
            error_set(err, "%s:%d: expected 'merge <id> <id>' (merge %ld of %ld), got end of file (truncated?)",
                      r->name, r->number + 1, m + 1, n_merges);
            goto fail;
        }
        if (!parse_line(line, "merge", v, 2)) {
            error_set(err, "%s:%d: expected 'merge <id> <id>', got '%s'", r->name, r->number, line);
            goto fail;
        }
        for (int k = 0; k < 2; k++) {
            if (v[k] < TOKEN_N_SPECIAL) {
                error_set(err, "%s:%d: merge %ld %ld: token %ld is a special token and cannot be merged",
                          r->name, r->number, v[0], v[1], v[k]);
                goto fail;
            }
            if (v[k] >= tok->vocab_size) {
                error_set(err, "%s:%d: merge %ld %ld: token %ld does not exist yet (ids so far are 0..%d)",
                          r->name, r->number, v[0], v[1], v[k], tok->vocab_size - 1);
                goto fail;
            }
        }
        int left = (int)v[0], right = (int)v[1];
        int bytes = token_length(tok, left) + token_length(tok, right);
        if (bytes > TOKENIZER_MAX_CHUNK) {
            error_set(err, "%s:%d: merge %d %d would make a token of %d bytes (at most %d)", r->name,
                      r->number, left, right, bytes, TOKENIZER_MAX_CHUNK);
            goto fail;
        }
        int existing = merged_token(tok, left, right);
        if (existing >= 0) {
            error_set(err, "%s:%d: merge %d %d repeats an earlier merge (token %d)", r->name, r->number,
                      left, right, existing);
            goto fail;
        }
        add_merge(tok, left, right);
    }
    got = next_content_line(r, line, sizeof line, err);
    if (got < 0) goto fail;
    if (got == 0 || strcmp(line, "end") != 0) {
        error_set(err, "%s:%d: expected 'end' after %ld merges, got %s%s%s", r->name, r->number + (got == 0),
                  n_merges, got ? "'" : "end of file (truncated?)", got ? line : "", got ? "'" : "");
        goto fail;
    }
    if (check_end) {
        got = next_content_line(r, line, sizeof line, err);
        if (got < 0) goto fail;
        if (got > 0) {
            error_set(err, "%s:%d: expected nothing after 'end', got '%s'", r->name, r->number, line);
            goto fail;
        }
    }
    return true;
fail:
    tokenizer_free(tok);
    return false;
}

bool tokenizer_from_string(Tokenizer *tok, const char *text, size_t len, const char *name,
                           ErrorMessage *err) {
    LineReader r = {.text = text, .text_len = len, .name = name};
    return read_vocab(tok, &r, true, err);
}

bool tokenizer_read(Tokenizer *tok, FILE *f, const char *name, ErrorMessage *err) {
    LineReader r = {.file = f, .name = name};
    bool ok = read_vocab(tok, &r, false, err);
    free(r.buf);
    return ok;
}

bool tokenizer_load(Tokenizer *tok, const char *path, ErrorMessage *err) {
    memset(tok, 0, sizeof *tok);
    size_t len;
    char *text = read_whole_file(path, &len, err);
    if (!text) return false;
    bool ok = tokenizer_from_string(tok, text, len, path, err);
    free(text);
    return ok;
}
