// tokenizer.c: byte-level byte-pair encoding, §5.1 (see tokenizer.h for the token ids,
// the pre-splitting rule and the file format).
//
// BPE (Sennrich et al. 2016, the paper's reference [31]) starts from single bytes and
// repeatedly glues the most frequent adjacent pair into a new token. Frequent words end
// up as one token, rare words as a few pieces, and nothing is ever "unknown".
//
// The file, in reading order (each part under its banner):
//   small helpers          growing arrays; PairMap, the one hash table (pair -> int)
//   UTF-8, pre-splitting   which tokens read as text; the chunks merges never cross
//   building a vocabulary  add_merge: one new token from two old ones
//   training               the shared pieces, then tokenizer_train_plain: read this one
//   speed notes            tokenizer_train_fast, the same merges incrementally: skip it
//                          on a first reading
//   encoding, decoding     encode_chunk applies the merges in the order learned
//   saving and loading     the text format of tokenizer.h, with precise error messages
#include "tokenizer.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

// ============================================================================
// Small helpers: growing arrays, the pair table
// ============================================================================

// The capacity to allocate for `need` elements when `cap` are allocated: cap itself if
// that is enough, else cap doubled (starting from 16) until it is.
static size_t capacity_for(size_t cap, size_t need) {
    size_t new_cap = cap ? cap : 16;
    while (new_cap < need) new_cap *= 2;
    return new_cap;
}

// array (any element type) reallocated to n elements of elem bytes; exits with a message
// when memory runs out. The caller assigns the result back: `x = resize_array(x, ...)`
// converts void * to the array's own pointer type, which ISO C allows for any object
// type (writing through a void ** cast of &x, as this file once did, it does not).
static void *resize_array(void *array, size_t n, size_t elem) {
    void *bigger = realloc(array, n * elem);
    if (!bigger) die("tokenizer: out of memory (%zu elements of %zu bytes)", n, elem);
    return bigger;
}

// Makes room for `need` elements in array (capacity *cap, doubling) and returns it.
static void *grow(void *array, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return array;
    *cap = capacity_for(*cap, need);
    return resize_array(array, *cap, elem);
}

// A pair of token ids as one 64-bit key. Stored +1 so that 0 marks an empty slot.
// Ordering keys orders pairs by left id, then right id: the training tie-break.
static uint64_t pair_key(int left, int right) {
    return (((uint64_t)(uint32_t)left << 32) | (uint32_t)right) + 1;
}

// The pair (left, right) a key stands for: the inverse of pair_key.
static void pair_of_key(uint64_t key, int *left, int *right) {
    *left = (int)((key - 1) >> 32);
    *right = (int)(uint32_t)(key - 1);
}

// The one hash table of this file, a PairMap (tokenizer.h): pair key -> int, open
// addressing with linear probing, kept at most half full. It maps a learned pair to its
// merged token (Tokenizer.merged) and, in training, a pair to its place in the counts.
static void pair_map_init(PairMap *map, size_t capacity) {
    map->capacity = capacity;
    map->count = 0;
    map->keys = xcalloc(capacity, sizeof *map->keys);
    map->values = xcalloc(capacity, sizeof *map->values);
}

// Frees the table's arrays and zeroes it.
static void pair_map_free(PairMap *map) {
    free(map->keys);
    free(map->values);
    memset(map, 0, sizeof *map);
}

// The slot of key, or the empty slot where it would go. Fibonacci hashing mixes the
// bits of the key; capacity is a power of two.
static size_t pair_map_slot(const PairMap *map, uint64_t key) {
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    size_t mask = map->capacity - 1, i = (size_t)(h ^ (h >> 29)) & mask;
    while (map->keys[i] != 0 && map->keys[i] != key) i = (i + 1) & mask;
    return i;
}

// The value stored for key, or -1 if there is none.
static int pair_map_get(const PairMap *map, uint64_t key) {
    size_t i = pair_map_slot(map, key);
    return map->keys[i] == key ? map->values[i] : -1;
}

// Stores key -> value (key must be new), first doubling the table if it would be more
// than half full.
static void pair_map_put(PairMap *map, uint64_t key, int value) {
    if (2 * (map->count + 1) > map->capacity) {
        PairMap old = *map;
        pair_map_init(map, 2 * old.capacity);
        for (size_t i = 0; i < old.capacity; i++)
            if (old.keys[i]) pair_map_put(map, old.keys[i], old.values[i]);
        pair_map_free(&old);
    }
    size_t i = pair_map_slot(map, key);
    map->keys[i] = key;
    map->values[i] = value;
    map->count++;
}

// ============================================================================
// UTF-8: which tokens read as text
// ============================================================================

// True for a UTF-8 continuation byte (10xxxxxx), which never starts a character.
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

// The 259-token vocabulary of specials and bytes, no merges (tokenizer.h).
void tokenizer_init_bytes(Tokenizer *tok) {
    memset(tok, 0, sizeof *tok);
    tok->vocab_size = TOKEN_FIRST_MERGE;
    tok->token_start = xmalloc(sizeof(int) * (TOKEN_FIRST_MERGE + 1));
    tok->token_bytes = xmalloc(256);
    tok->bytes_capacity = 256;
    for (int id = 0; id <= TOKEN_FIRST_MERGE; id++)  // specials: empty; bytes: one each
        tok->token_start[id] = id < TOKEN_BYTE0 ? 0 : id - TOKEN_BYTE0;
    for (int b = 0; b < 256; b++) tok->token_bytes[b] = (unsigned char)b;
    pair_map_init(&tok->merged, 1024);
}

// Frees everything tok holds and zeroes it, so a second call is harmless.
void tokenizer_free(Tokenizer *tok) {
    free(tok->merges);
    free(tok->token_start);
    free(tok->token_bytes);
    pair_map_free(&tok->merged);
    memset(tok, 0, sizeof *tok);
}

// How many bytes token id (an existing id; specials have 0) stands for.
static int token_length(const Tokenizer *tok, int id) {
    return tok->token_start[id + 1] - tok->token_start[id];
}

// The merged token for (left, right), or -1 if that pair was never merged.
static int merged_token(const Tokenizer *tok, int left, int right) {
    return pair_map_get(&tok->merged, pair_key(left, right));
}

// Appends the merge left + right as token vocab_size. The caller has checked that both
// ids exist, are not specials, and that the pair is new.
static void add_merge(Tokenizer *tok, int left, int right) {
    int m = tok->n_merges, id = tok->vocab_size;
    if ((size_t)m + 1 > tok->merges_capacity) {  // double the per-merge arrays together
        tok->merges_capacity = capacity_for(tok->merges_capacity, (size_t)m + 1);
        tok->merges = resize_array(tok->merges, tok->merges_capacity, sizeof *tok->merges);
        tok->token_start = resize_array(tok->token_start, TOKEN_FIRST_MERGE + 1 + tok->merges_capacity,
                                        sizeof *tok->token_start);
    }
    tok->merges[m][0] = left;
    tok->merges[m][1] = right;

    // The new token's bytes are its parts' bytes, one after the other.
    int left_len = token_length(tok, left), right_len = token_length(tok, right);
    size_t used = (size_t)tok->token_start[id];
    tok->token_bytes = grow(tok->token_bytes, &tok->bytes_capacity,
                            used + (size_t)left_len + (size_t)right_len, 1);
    memcpy(tok->token_bytes + used, tok->token_bytes + tok->token_start[left], (size_t)left_len);
    memcpy(tok->token_bytes + used + left_len, tok->token_bytes + tok->token_start[right],
           (size_t)right_len);
    tok->token_start[id + 1] = (int)used + left_len + right_len;

    pair_map_put(&tok->merged, pair_key(left, right), id);
    tok->n_merges = m + 1;
    tok->vocab_size = id + 1;
}

// ============================================================================
// Training, the pieces both trainers use: the UTF-8 rule, the words, one merge
// ============================================================================

// What training needs to know about each token to apply the UTF-8 rule: may it merge
// with its neighbour without leaving a character fragment inside a longer token?
typedef struct {
    bool whole;       // whole characters only: may merge with another whole token
    int8_t lead_len;  // a lead byte plus some continuation bytes, of a character of
                      // lead_len bytes; 0 if not such a prefix
    bool tail;        // continuation bytes only (1 to 3)
} TokenShape;

// The shape of a token whose bytes are s (n >= 1 bytes).
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

// The shape of every token of tok so far, grown as merges add tokens.
typedef struct {
    TokenShape *of;   // (capacity) of[id] for every id < tok->vocab_size
    size_t capacity;
} Shapes;

// The shapes of the 259 starting tokens: specials (shape all false: they never merge)
// and the 256 single bytes.
static Shapes byte_shapes(void) {
    Shapes shapes = {0};
    shapes.of = grow(NULL, &shapes.capacity, TOKEN_FIRST_MERGE, sizeof *shapes.of);
    for (int id = 0; id < TOKEN_FIRST_MERGE; id++) {
        unsigned char b = (unsigned char)(id - TOKEN_BYTE0);
        shapes.of[id] = id < TOKEN_BYTE0 ? (TokenShape){0} : token_shape(&b, 1);
    }
    return shapes;
}

// A pair may merge if both sides are whole characters, or if together they are still
// part of one character (the first bytes of "é" or "€"). So "t" + 0xC3 never merges,
// but 0xC3 + 0xA9 -> "é" and then "t" + "é" can.
static bool may_merge(const Shapes *shapes, const Tokenizer *tok, int left, int right) {
    const TokenShape *s = shapes->of;
    if (s[left].whole && s[right].whole) return true;
    return s[left].lead_len && s[right].tail &&
           token_length(tok, left) + token_length(tok, right) <= s[left].lead_len;
}

// Learns the merge left + right as the next token id (returned), and its shape.
static int learn_merge(Tokenizer *tok, Shapes *shapes, int left, int right) {
    int id = tok->vocab_size;
    add_merge(tok, left, right);
    shapes->of = grow(shapes->of, &shapes->capacity, (size_t)id + 1, sizeof *shapes->of);
    shapes->of[id] = token_shape(tok->token_bytes + tok->token_start[id], token_length(tok, id));
    return id;
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

// FNV-1a hash of n bytes, for the table of distinct words.
static uint64_t hash_bytes(const unsigned char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ull;
    return h;
}

// A table of word index + 1 (0 = empty slot) of cap slots (a power of two), filled with
// the words 0 .. n_words-1, word q being text[offset[q] ..] of w->length[q] bytes. Its
// keys are byte strings, so it is not a PairMap; only collect_words uses it.
static int *word_table(const unsigned char *text, const size_t *offset, const WordList *w, size_t cap) {
    int *table = xcalloc(cap, sizeof *table);
    for (int q = 0; q < w->n_words; q++) {
        size_t s = (size_t)hash_bytes(text + offset[q], (size_t)w->length[q]) & (cap - 1);
        while (table[s]) s = (s + 1) & (cap - 1);
        table[s] = q + 1;
    }
    return table;
}

// Splits text (len bytes) into chunks (chunk_end) and counts each distinct chunk once:
// the WordList, every word starting as its bytes' tokens.
static WordList collect_words(const unsigned char *text, size_t len) {
    WordList w = {0};
    size_t words_cap = 0, sym_cap = 0, sym_used = 0;
    size_t *offset = NULL;  // where each word first occurs in text, to compare bytes
    size_t table_cap = 1 << 12;
    int *table = xcalloc(table_cap, sizeof *table);  // word index + 1; 0 = empty

    for (size_t i = 0; i < len;) {
        size_t end = chunk_end(text, len, i), n = end - i;
        size_t slot = (size_t)hash_bytes(text + i, n) & (table_cap - 1);
        while (table[slot]) {
            int k = table[slot] - 1;
            if ((size_t)w.length[k] == n && memcmp(text + offset[k], text + i, n) == 0) break;
            slot = (slot + 1) & (table_cap - 1);
        }
        if (table[slot]) {
            w.count[table[slot] - 1]++;
        } else {  // a new word: append it, as byte tokens
            int k = w.n_words++;
            if ((size_t)w.n_words > words_cap) {  // the per-word arrays grow together
                words_cap = capacity_for(words_cap, (size_t)w.n_words);
                w.count = resize_array(w.count, words_cap, sizeof *w.count);
                w.start = resize_array(w.start, words_cap, sizeof *w.start);
                w.length = resize_array(w.length, words_cap, sizeof *w.length);
                offset = resize_array(offset, words_cap, sizeof *offset);
            }
            w.sym = grow(w.sym, &sym_cap, sym_used + n, sizeof *w.sym);
            w.count[k] = 1;
            w.start[k] = sym_used;
            w.length[k] = (int)n;
            offset[k] = i;
            for (size_t j = 0; j < n; j++) w.sym[sym_used + j] = TOKEN_BYTE0 + text[i + j];
            sym_used += n;
            table[slot] = k + 1;
            if (2 * (size_t)w.n_words > table_cap) {  // keep the table at most half full
                free(table);
                table_cap *= 2;
                table = word_table(text, offset, &w, table_cap);
            }
        }
        i = end;
    }
    free(table);
    free(offset);
    return w;
}

// Frees the word list's arrays.
static void word_list_free(WordList *w) {
    free(w->count);
    free(w->start);
    free(w->length);
    free(w->sym);
}

// Rewrites the n tokens s of one word, left to right, replacing each (left, right) by
// id, and returns the new length. "a a a" with the pair (a, a) becomes "aa a".
static int merge_in_word(int *s, int n, int left, int right, int id) {
    // EXERCISE 01 merge-in-word: replace every (left, right) in one word by id
    // TODO: s holds the n token ids of one word. Scan it left to right; wherever s[j] is
    // TODO: left and s[j+1] is right, write the single token id in their place; copy every
    // TODO: other token as it is. Do it in place (the write position never passes the read
    // TODO: position) and return the new length. Overlaps go to the leftmost pair: with
    // TODO: the pair (a, a), "a a a" becomes "aa a", not "a aa" and not "aa aa". Take care
    // TODO: not to read s[n] when j is the last position.
    // STUB: (void)s; (void)left; (void)right; (void)id; return n;
    // SOLUTION
    int out = 0;
    for (int j = 0; j < n; j++) {
        if (j + 1 < n && s[j] == left && s[j + 1] == right) {
            s[out++] = id;
            j++;
        } else {
            s[out++] = s[j];
        }
    }
    return out;
    // END EXERCISE
}

// Pair counts: count(a, b) = Σ_w c(w) · #{i : w_i = a, w_{i+1} = b} (lesson 01), in dense
// arrays, one entry per pair ever seen, so that finding the most frequent one is a tight
// loop over them; a PairMap finds a pair's entry.
typedef struct {
    size_t n_pairs, capacity;  // pairs ever seen (a count may have dropped to 0), room
    uint64_t *keys;            // (n_pairs) pair_key(left, right)
    int64_t *counts;           // (n_pairs)
    PairMap index;             // pair key -> its index in keys and counts
} PairTally;

// An empty tally.
static PairTally pair_tally_new(void) {
    PairTally t = {0};
    pair_map_init(&t.index, 1 << 12);
    return t;
}

// Frees the tally's arrays.
static void pair_tally_free(PairTally *t) {
    free(t->keys);
    free(t->counts);
    pair_map_free(&t->index);
}

// The index of the pair (left, right) in the tally, appending it with count 0 if new.
static size_t pair_tally_index(PairTally *t, int left, int right) {
    uint64_t key = pair_key(left, right);
    int found = pair_map_get(&t->index, key);
    if (found >= 0) return (size_t)found;
    size_t p = t->n_pairs++;
    if (t->n_pairs > t->capacity) {  // the dense arrays grow together
        t->capacity = capacity_for(t->capacity, t->n_pairs);
        t->keys = resize_array(t->keys, t->capacity, sizeof *t->keys);
        t->counts = resize_array(t->counts, t->capacity, sizeof *t->counts);
    }
    t->keys[p] = key;
    t->counts[p] = 0;
    pair_map_put(&t->index, key, (int)p);
    return p;
}

// The index of the pair to merge next: the most frequent, ties to the smallest key (the
// lowest left id, then the lowest right id); -1 when no pair occurs at least twice
// (nothing is worth merging). Both trainers pick with this one function.
static long most_frequent_pair(const PairTally *t) {
    // EXERCISE 01 most-frequent-pair: pick the pair BPE merges next (§5.1)
    // TODO: t holds t->n_pairs pairs: pair p has the count t->counts[p] (int64_t) and the
    // TODO: key t->keys[p] = pair_key(left, right), which orders pairs by left id, then by
    // TODO: right id, so "the lowest left id, then the lowest right id" is just the smaller
    // TODO: key. Return the index p of the pair with the largest count, ties going to the
    // TODO: smallest key; return -1 when no pair has a count of at least 2 (merging a pair
    // TODO: seen once saves nothing). Some counts may have dropped to 0: skip them as
    // TODO: any other small count. Both trainers call this one function.
    // STUB: (void)t; return -1;
    // SOLUTION
    size_t best = 0;
    int64_t best_count = 1;  // so only a pair that occurs at least twice can win
    for (size_t p = 0; p < t->n_pairs; p++)
        if (t->counts[p] > best_count || (t->counts[p] == best_count && t->keys[p] < t->keys[best])) {
            best = p;
            best_count = t->counts[p];
        }
    return best_count >= 2 ? (long)best : -1;
    // END EXERCISE
}

// ============================================================================
// Training, plain: count, pick, merge, repeat (read this one first)
// ============================================================================

// §5.1 / Sennrich et al.: each merge recounts every pair of every word from scratch,
// takes the most frequent, and replaces it everywhere. Time per merge grows with the
// whole corpus; the fast trainer below gives the same merges in a fraction of the time.
int tokenizer_train_plain(Tokenizer *tok, const char *text, size_t len, int n_merges) {
    tokenizer_init_bytes(tok);
    if (n_merges > TOKENIZER_MAX_MERGES) n_merges = TOKENIZER_MAX_MERGES;
    WordList w = collect_words((const unsigned char *)text, len);
    Shapes shapes = byte_shapes();
    for (int m = 0; m < n_merges; m++) {
        // 1. Count every adjacent pair that may merge, a word counting as often as it occurs.
        PairTally tally = pair_tally_new();
        for (int k = 0; k < w.n_words; k++) {
            const int *s = w.sym + w.start[k];
            for (int i = 0; i + 1 < w.length[k]; i++) {
                if (!may_merge(&shapes, tok, s[i], s[i + 1])) continue;
                size_t p = pair_tally_index(&tally, s[i], s[i + 1]);  // may move tally.counts
                tally.counts[p] += w.count[k];
            }
        }
        // 2. Take the most frequent pair.
        long best = most_frequent_pair(&tally);
        int left = 0, right = 0;
        if (best >= 0) pair_of_key(tally.keys[best], &left, &right);
        pair_tally_free(&tally);
        if (best < 0) break;
        // 3. It becomes a new token, which replaces the pair in every word.
        int id = learn_merge(tok, &shapes, left, right);
        for (int k = 0; k < w.n_words; k++)
            w.length[k] = merge_in_word(w.sym + w.start[k], w.length[k], left, right, id);
    }
    free(shapes.of);
    word_list_free(&w);
    return tok->n_merges;
}

// ============================================================================
// Speed notes: the incremental trainer (skip on a first reading)
// ============================================================================
//
// The plain trainer recounts the whole corpus for every merge, but a merge of (a, b)
// changes the counts only in the words that contain a b. So the fast trainer counts
// once, remembers under each pair the words that contain it, and after each merge
// rewrites only those words, subtracting their old pairs from the counts and adding the
// new ones. A merge then costs time in proportion to the words it touches, and the
// counts stay exactly those the plain trainer would compute, so the merges are the same
// (test_01_tokenizer checks it on several corpora).

// Words that had a pair when it was counted: may hold repeats, and words that have lost
// the pair since to an earlier merge.
typedef struct {
    int *words;
    size_t n, capacity;
} WordRefs;

// The tally plus, for each pair (same index), the words that contain it.
typedef struct {
    PairTally tally;
    WordRefs *refs;        // (refs_capacity), refs[p] for every pair p of the tally
    size_t refs_capacity;
} PairCounts;

// The index of (left, right) in the counts, adding the pair (no count, no words) if new.
static size_t pair_counts_index(PairCounts *pc, int left, int right) {
    size_t p = pair_tally_index(&pc->tally, left, right);
    if (p >= pc->refs_capacity) {
        size_t old = pc->refs_capacity;
        pc->refs = grow(pc->refs, &pc->refs_capacity, p + 1, sizeof *pc->refs);
        memset(pc->refs + old, 0, sizeof *pc->refs * (pc->refs_capacity - old));
    }
    return p;
}

// Frees the counts and every pair's word list.
static void pair_counts_free(PairCounts *pc) {
    for (size_t p = 0; p < pc->refs_capacity; p++) free(pc->refs[p].words);
    free(pc->refs);
    pair_tally_free(&pc->tally);
}

// Adds (sign +1) or removes (sign -1) the pairs of word k from the counts. Adding also
// notes the word under each pair, so a merge of that pair can find it later.
static void count_word_pairs(PairCounts *pc, const WordList *w, int k, int sign, const Shapes *shapes,
                             const Tokenizer *tok) {
    const int *s = w->sym + w->start[k];
    for (int i = 0; i + 1 < w->length[k]; i++) {
        if (!may_merge(shapes, tok, s[i], s[i + 1])) continue;
        size_t p = pair_counts_index(pc, s[i], s[i + 1]);
        pc->tally.counts[p] += sign * w->count[k];
        WordRefs *r = &pc->refs[p];
        if (sign > 0 && (r->n == 0 || r->words[r->n - 1] != k)) {
            r->words = grow(r->words, &r->capacity, r->n + 1, sizeof *r->words);
            r->words[r->n++] = k;
        }
    }
}

// True if the n tokens s contain the pair (left, right).
static bool has_pair(const int *s, int n, int left, int right) {
    for (int i = 0; i + 1 < n; i++)
        if (s[i] == left && s[i + 1] == right) return true;
    return false;
}

// The same merges as tokenizer_train_plain, incrementally (see the speed notes above).
int tokenizer_train_fast(Tokenizer *tok, const char *text, size_t len, int n_merges) {
    tokenizer_init_bytes(tok);
    if (n_merges > TOKENIZER_MAX_MERGES) n_merges = TOKENIZER_MAX_MERGES;
    WordList w = collect_words((const unsigned char *)text, len);
    Shapes shapes = byte_shapes();
    PairCounts pc = {.tally = pair_tally_new()};
    for (int k = 0; k < w.n_words; k++) count_word_pairs(&pc, &w, k, +1, &shapes, tok);
    int *seen = xcalloc((size_t)w.n_words + 1, sizeof *seen);  // seen[k] = last merge that visited word k

    for (int m = 0; m < n_merges; m++) {
        // 1. The most frequent pair, picked as in the plain trainer.
        long best = most_frequent_pair(&pc.tally);
        if (best < 0) break;
        int left, right;
        pair_of_key(pc.tally.keys[best], &left, &right);
        // 2. It becomes a new token.
        int id = learn_merge(tok, &shapes, left, right);
        // 3. Replace it in every word listed under it, updating the counts of that word's
        //    pairs (removed before the rewrite, added back after). The pair's word list is
        //    taken over here: after this step no word has the pair.
        WordRefs list = pc.refs[best];
        pc.refs[best] = (WordRefs){0};
        for (size_t q = 0; q < list.n; q++) {
            int k = list.words[q];
            if (seen[k] == m + 1) continue;  // listed twice
            seen[k] = m + 1;
            int *s = w.sym + w.start[k];
            if (!has_pair(s, w.length[k], left, right)) continue;  // lost it to an earlier merge
            count_word_pairs(&pc, &w, k, -1, &shapes, tok);
            w.length[k] = merge_in_word(s, w.length[k], left, right, id);
            count_word_pairs(&pc, &w, k, +1, &shapes, tok);
        }
        free(list.words);
    }
    pair_counts_free(&pc);
    free(seen);
    free(shapes.of);
    word_list_free(&w);
    return tok->n_merges;
}

// What the rest of the project calls: the fast trainer, or the plain one in a
// PLAIN_KERNELS build (tensor.h). Both learn the same merges.
int tokenizer_train(Tokenizer *tok, const char *text, size_t len, int n_merges) {
#ifdef PLAIN_KERNELS
    return tokenizer_train_plain(tok, text, len, n_merges);
#else
    return tokenizer_train_fast(tok, text, len, n_merges);
#endif
}

// ============================================================================
// Encoding and decoding
// ============================================================================

// V: specials + 256 bytes + merges.
int tokenizer_vocab_size(const Tokenizer *tok) { return tok->vocab_size; }

// Encodes one chunk (n <= TOKENIZER_MAX_CHUNK bytes) into sym, returning the count.
// Starting from bytes, it applies the earliest-learned merge present (the pair whose
// merged id is smallest), leftmost first, until no learned pair is left: this gives
// exactly the tokens training's merges would have made of this chunk.
static int encode_chunk(const Tokenizer *tok, const unsigned char *s, int n, int *sym) {
    // EXERCISE 01 encode-chunk: apply the learned merges to one chunk of text
    // TODO: s is one chunk of n bytes (n <= TOKENIZER_MAX_CHUNK); write its tokens into sym
    // TODO: (room for n ids) and return how many there are. Start with one token per
    // TODO: byte: byte b is token TOKEN_BYTE0 + b. Then repeat: among all adjacent pairs
    // TODO: (sym[i], sym[i+1]) that were learned, merged_token(tok, left, right) gives the
    // TODO: merged id (or -1 if never learned); take the pair with the SMALLEST merged id
    // TODO: (the earliest merge), the leftmost one if it occurs twice, replace the two
    // TODO: tokens by that id, and go on until no learned pair is left. Applying merges in
    // TODO: the order training learned them gives the tokens training made; merging the
    // TODO: first learned pair met from the left does not (a later merge could take a
    // TODO: byte an earlier one needed). Helpers you may call: merged_token.
    // STUB: (void)tok; (void)s; (void)n; (void)sym; return 0;
    // SOLUTION
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
    // END EXERCISE
}

// Chunk by chunk (chunk_end), each chunk by encode_chunk; snprintf-style count (tokenizer.h).
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

// The bytes of token id, from token_bytes[token_start[id] ..); NULL for specials and bad ids.
const unsigned char *tokenizer_token_bytes(const Tokenizer *tok, int id, int *len) {
    if (id < TOKEN_N_SPECIAL || id >= tok->vocab_size) {
        *len = 0;
        return NULL;
    }
    *len = token_length(tok, id);
    return tok->token_bytes + tok->token_start[id];
}

// The tokens' bytes one after the other, snprintf-style (tokenizer.h); specials give nothing.
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

// A display label for token id (tokenizer.h): specials by name, ' ' as ▁, other bytes as <0xNN>.
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

// Merge m as a line of the vocabulary file, with a comment showing what it makes:
// "merge 104 118    # 259 = e + s -> es\n". Writes into line (size bytes, room for three
// token strings and the numbers) and returns the length.
static int merge_line(const Tokenizer *tok, int m, char *line, size_t size) {
    char a[TOKEN_STRING_MAX], b[TOKEN_STRING_MAX], ab[TOKEN_STRING_MAX];
    int left = tok->merges[m][0], right = tok->merges[m][1], id = TOKEN_FIRST_MERGE + m;
    tokenizer_token_string(tok, left, a, sizeof a);
    tokenizer_token_string(tok, right, b, sizeof b);
    tokenizer_token_string(tok, id, ab, sizeof ab);
    int n = snprintf(line, size, "merge %d %d    # %d = ", left, right, id);
    return n + snprintf(line + n, size - (size_t)n, "%s + %s -> %s\n", a, b, ab);
}

// The whole vocabulary file in memory: header, one merge_line per merge, "end".
char *tokenizer_to_string(const Tokenizer *tok, size_t *len) {
    size_t cap = 0, used = 0;
    char *text = NULL, line[64 + 3 * TOKEN_STRING_MAX];
    for (int m = -1; m < tok->n_merges; m++) {
        int n = m >= 0 ? merge_line(tok, m, line, sizeof line)  // else the two header lines
                       : snprintf(line, sizeof line, "%s %d\nmerges %d\n", VOCAB_HEADER, VOCAB_VERSION,
                                  tok->n_merges);
        text = grow(text, &cap, used + (size_t)n + 1, 1);
        memcpy(text + used, line, (size_t)n + 1);
        used += (size_t)n;
    }
    // An end marker, so a file cut short anywhere (even right after a merge's "1" of
    // "119") is caught rather than loaded as a different vocabulary.
    text = grow(text, &cap, used + 5, 1);
    memcpy(text + used, "end\n", 5);
    used += 4;
    if (len) *len = used;
    return text;
}

// The vocabulary file written to an open FILE* (false on an I/O error).
bool tokenizer_write(const Tokenizer *tok, FILE *f) {
    size_t len;
    char *text = tokenizer_to_string(tok, &len);
    bool ok = fwrite(text, 1, len, f) == len;
    free(text);
    return ok;
}

// The vocabulary file written to path atomically (temporary file, then rename).
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
        while (n > 0 && (*line == ' ' || *line == '\t')) {
            line++;
            n--;
        }
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

// What was found where a line was expected, for an error message: the line in quotes,
// or at_end (such as "end of file") when there was none (got == 0). Uses buf (size >= 3
// bytes). The line is escaped (common.h): a crafted vocabulary, also one inside a
// checkpoint, must not put terminal escape sequences on the user's screen (issue 12).
static const char *found(int got, const char *line, const char *at_end, char *buf, size_t size) {
    if (got == 0) return at_end;
    buf[0] = '\'';
    escape_bytes(buf + 1, size - 2, line, strlen(line));
    strcat(buf, "'");
    return buf;
}

// A line of the vocabulary format and room for it escaped (\xNN per byte) in quotes, for
// the error messages.
typedef struct {
    char text[128], quoted[4 * 128 + 3];
} VocabLine;

// The first two lines of the format: the header with its version, then 'merges <count>'
// (at most TOKENIZER_MAX_MERGES) into *n_merges.
static bool read_vocab_header(LineReader *r, VocabLine *l, long *n_merges, ErrorMessage *err) {
    long v[1];
    int got = next_content_line(r, l->text, sizeof l->text, err);
    if (got < 0) return false;
    if (got == 0) {
        error_set(err, "%s:%d: expected '%s %d' header, got end of file (empty vocabulary file?)", r->name,
                  r->number + 1, VOCAB_HEADER, VOCAB_VERSION);
        return false;
    }
    if (!parse_line(l->text, VOCAB_HEADER, v, 1)) {
        error_set(err, "%s:%d: expected '%s %d' header, got %s", r->name, r->number, VOCAB_HEADER,
                  VOCAB_VERSION, found(got, l->text, "", l->quoted, sizeof l->quoted));
        return false;
    }
    if (v[0] != VOCAB_VERSION) {
        error_set(err, "%s:%d: vocabulary format version %ld is not supported (expected %d)", r->name,
                  r->number, v[0], VOCAB_VERSION);
        return false;
    }
    got = next_content_line(r, l->text, sizeof l->text, err);
    if (got < 0) return false;
    if (got == 0 || !parse_line(l->text, "merges", v, 1) || v[0] > TOKENIZER_MAX_MERGES) {
        const char *what = found(got, l->text, "end of file", l->quoted, sizeof l->quoted);
        error_set(err, "%s:%d: expected 'merges <count>' with count at most %d, got %s", r->name,
                  r->number + (got == 0), TOKENIZER_MAX_MERGES, what);
        return false;
    }
    *n_merges = v[0];
    return true;
}

// Merge m (from 0) of n_merges: a line 'merge <left> <right>' naming two tokens that
// exist already and are not special, whose bytes together fit TOKENIZER_MAX_CHUNK, and
// that were not merged before; added to tok as the next token.
static bool read_merge(Tokenizer *tok, LineReader *r, VocabLine *l, long m, long n_merges, ErrorMessage *err) {
    long v[2];
    int got = next_content_line(r, l->text, sizeof l->text, err);
    if (got < 0) return false;
    if (got == 0) {
        error_set(err, "%s:%d: expected 'merge <id> <id>' (merge %ld of %ld), got end of file (truncated?)",
                  r->name, r->number + 1, m + 1, n_merges);
        return false;
    }
    if (!parse_line(l->text, "merge", v, 2)) {
        error_set(err, "%s:%d: expected 'merge <id> <id>', got %s", r->name, r->number,
                  found(got, l->text, "", l->quoted, sizeof l->quoted));
        return false;
    }
    for (int k = 0; k < 2; k++) {
        if (v[k] < TOKEN_N_SPECIAL) {
            error_set(err, "%s:%d: merge %ld %ld: token %ld is a special token and cannot be merged",
                      r->name, r->number, v[0], v[1], v[k]);
            return false;
        }
        if (v[k] >= tok->vocab_size) {
            error_set(err, "%s:%d: merge %ld %ld: token %ld does not exist yet (ids so far are 0..%d)",
                      r->name, r->number, v[0], v[1], v[k], tok->vocab_size - 1);
            return false;
        }
    }
    int left = (int)v[0], right = (int)v[1];
    int bytes = token_length(tok, left) + token_length(tok, right);
    if (bytes > TOKENIZER_MAX_CHUNK) {
        error_set(err, "%s:%d: merge %d %d would make a token of %d bytes (at most %d)", r->name,
                  r->number, left, right, bytes, TOKENIZER_MAX_CHUNK);
        return false;
    }
    int existing = merged_token(tok, left, right);
    if (existing >= 0) {
        error_set(err, "%s:%d: merge %d %d repeats an earlier merge (token %d)", r->name, r->number,
                  left, right, existing);
        return false;
    }
    add_merge(tok, left, right);
    return true;
}

// The line 'end' after the n_merges merges; with check_end, nothing after it.
static bool read_vocab_end(LineReader *r, VocabLine *l, long n_merges, bool check_end, ErrorMessage *err) {
    int got = next_content_line(r, l->text, sizeof l->text, err);
    if (got < 0) return false;
    if (got == 0 || strcmp(l->text, "end") != 0) {
        const char *what = found(got, l->text, "end of file (truncated?)", l->quoted, sizeof l->quoted);
        error_set(err, "%s:%d: expected 'end' after %ld merges, got %s", r->name, r->number + (got == 0),
                  n_merges, what);
        return false;
    }
    if (!check_end) return true;
    got = next_content_line(r, l->text, sizeof l->text, err);
    if (got < 0) return false;
    if (got > 0) {
        error_set(err, "%s:%d: expected nothing after 'end', got %s", r->name, r->number,
                  found(got, l->text, "", l->quoted, sizeof l->quoted));
        return false;
    }
    return true;
}

// Reads the format from r into tok. check_end: also require nothing after the merges.
// On an error tok is freed and err names the file, the line and what was expected.
static bool read_vocab(Tokenizer *tok, LineReader *r, bool check_end, ErrorMessage *err) {
    VocabLine line;
    long n_merges = 0;
    tokenizer_init_bytes(tok);
    bool ok = read_vocab_header(r, &line, &n_merges, err);
    for (long m = 0; ok && m < n_merges; m++) ok = read_merge(tok, r, &line, m, n_merges, err);
    if (ok) ok = read_vocab_end(r, &line, n_merges, check_end, err);
    if (!ok) tokenizer_free(tok);
    return ok;
}

// Parses a whole vocabulary held in memory; nothing may follow "end".
bool tokenizer_from_string(Tokenizer *tok, const char *text, size_t len, const char *name,
                           ErrorMessage *err) {
    LineReader r = {.text = text, .text_len = len, .name = name};
    return read_vocab(tok, &r, true, err);
}

// Parses a vocabulary from an open FILE*, reading no further than its "end" line.
bool tokenizer_read(Tokenizer *tok, FILE *f, const char *name, ErrorMessage *err) {
    LineReader r = {.file = f, .name = name};
    bool ok = read_vocab(tok, &r, false, err);
    free(r.buf);
    return ok;
}

// Loads the vocabulary file at path; on failure tok is zeroed and err says why.
bool tokenizer_load(Tokenizer *tok, const char *path, ErrorMessage *err) {
    memset(tok, 0, sizeof *tok);
    size_t len;
    char *text = read_whole_file(path, &len, err);
    if (!text) return false;
    bool ok = tokenizer_from_string(tok, text, len, path, err);
    free(text);
    return ok;
}
