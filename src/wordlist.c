// wordlist.c: the training word list (see wordlist.h).
#include "wordlist.h"

#include <stdlib.h>
#include <string.h>

// A word inside a text being scanned: where it starts, its length, how often it occurs.
typedef struct {
    const char *start;
    size_t len;
    long count;
} WordRef;

// True for the bytes that separate words.
static bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// A word worth keeping: 1..WORDLIST_WORD_MAX printable bytes (so the checkpoint's WORD
// section only ever holds text that can be printed as it is).
static bool word_keepable(const char *w, size_t len) {
    return len >= 1 && len <= WORDLIST_WORD_MAX && text_is_printable(w, len);
}

// Byte order of two words (a shorter prefix first), the order strcmp gives.
static int compare_bytes(const char *a, size_t na, const char *b, size_t nb) {
    int c = memcmp(a, b, na < nb ? na : nb);
    return c != 0 ? c : (na > nb) - (na < nb);
}

// qsort: WordRefs in byte order.
static int compare_refs(const void *pa, const void *pb) {
    const WordRef *a = pa, *b = pb;
    return compare_bytes(a->start, a->len, b->start, b->len);
}

// qsort: the more frequent first; equal counts in byte order (so the cap is deterministic).
static int compare_by_count(const void *pa, const void *pb) {
    const WordRef *a = pa, *b = pb;
    if (a->count != b->count) return a->count > b->count ? -1 : 1;
    return compare_refs(pa, pb);
}

// qsort and bsearch: char* words by strcmp.
static int compare_words(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

// Appends the keepable words of the n bytes at p to refs (*n_refs of *cap).
static void collect_words(WordRef **refs, long *n_refs, long *cap, const char *p, size_t n) {
    for (size_t i = 0; i < n;) {
        while (i < n && is_space(p[i])) i++;
        size_t start = i;
        while (i < n && !is_space(p[i])) i++;
        if (!word_keepable(p + start, i - start)) continue;
        if (*n_refs == *cap) {
            *cap = *cap * 2 + 1024;
            *refs = realloc(*refs, sizeof(WordRef) * (size_t)*cap);
            if (!*refs) die("out of memory for the training word list");
        }
        (*refs)[(*n_refs)++] = (WordRef){p + start, i - start, 1};
    }
}

// Sorts refs and merges repeats into counts; returns the number of distinct words.
static long merge_repeats(WordRef *refs, long n) {
    if (n == 0) return 0;
    qsort(refs, (size_t)n, sizeof *refs, compare_refs);
    long kept = 1;
    for (long i = 1; i < n; i++) {
        if (compare_refs(&refs[i], &refs[kept - 1]) == 0) refs[kept - 1].count++;
        else refs[kept++] = refs[i];
    }
    return kept;
}

// Fills wl from the n_refs words in refs (which it frees): distinct, capped, sorted.
static void keep_words(WordList *wl, WordRef *refs, long n_refs) {
    memset(wl, 0, sizeof *wl);
    wl->present = true;
    wl->n_distinct = merge_repeats(refs, n_refs);
    long n = wl->n_distinct;
    if (n > WORDLIST_MAX) {  // keep the most frequent, then back into byte order
        qsort(refs, (size_t)n, sizeof *refs, compare_by_count);
        n = WORDLIST_MAX;
        qsort(refs, (size_t)n, sizeof *refs, compare_refs);
    }
    wl->words = xmalloc(sizeof(char *) * (size_t)(n > 0 ? n : 1));
    for (long i = 0; i < n; i++) {
        wl->words[i] = xmalloc(refs[i].len + 1);
        memcpy(wl->words[i], refs[i].start, refs[i].len);
        wl->words[i][refs[i].len] = '\0';
    }
    wl->n = (int)n;
    free(refs);
}

void wordlist_from_tsv(WordList *wl, const char *text, size_t len) {
    WordRef *refs = NULL;
    long n_refs = 0, cap = 0;
    for (size_t i = 0; i < len;) {
        const char *line = text + i, *end = memchr(line, '\n', len - i);
        size_t line_len = end ? (size_t)(end - line) : len - i;
        const char *tab = memchr(line, '\t', line_len);
        collect_words(&refs, &n_refs, &cap, line, tab ? (size_t)(tab - line) : line_len);
        i += line_len + 1;
    }
    keep_words(wl, refs, n_refs);
}

void wordlist_from_texts(WordList *wl, char *const *texts, long n) {
    WordRef *refs = NULL;
    long n_refs = 0, cap = 0;
    for (long i = 0; i < n; i++)
        if (texts[i]) collect_words(&refs, &n_refs, &cap, texts[i], strlen(texts[i]));
    keep_words(wl, refs, n_refs);
}

bool wordlist_from_tsv_file(WordList *wl, const char *path, ErrorMessage *err) {
    size_t len;
    char *text = read_whole_file(path, &len, err);
    if (!text) return false;
    size_t bom = utf8_bom_length(text, len);  // not part of the first word
    wordlist_from_tsv(wl, text + bom, len - bom);
    free(text);
    return true;
}

bool wordlist_contains(const WordList *wl, const char *word, size_t len) {
    if (!word_keepable(word, len) || wl->n == 0) return false;
    char buf[WORDLIST_WORD_MAX + 1];
    memcpy(buf, word, len);
    buf[len] = '\0';
    const char *key = buf;
    return bsearch(&key, wl->words, (size_t)wl->n, sizeof *wl->words, compare_words) != NULL;
}

bool wordlist_capped(const WordList *wl) {
    return wl->n_distinct > wl->n;
}

int wordlist_unseen(const WordList *wl, const char *sentence, int max_named, char *out, size_t size) {
    out[0] = '\0';
    WordRef *refs = NULL;
    long n_refs = 0, cap = 0;
    size_t len = strlen(sentence);
    // Every word, keepable or not (an unprintable word is unseen too).
    for (size_t i = 0; i < len;) {
        while (i < len && is_space(sentence[i])) i++;
        size_t start = i;
        while (i < len && !is_space(sentence[i])) i++;
        if (i == start) continue;
        if (n_refs == cap) {
            cap = cap * 2 + 16;
            refs = realloc(refs, sizeof(WordRef) * (size_t)cap);
            if (!refs) die("out of memory");
        }
        refs[n_refs++] = (WordRef){sentence + start, i - start, 1};
    }
    int unseen = 0;
    for (long i = 0; i < n_refs; i++) {
        bool repeat = false;
        for (long k = 0; k < i && !repeat; k++) repeat = compare_refs(&refs[k], &refs[i]) == 0;
        if (repeat || wordlist_contains(wl, refs[i].start, refs[i].len)) continue;
        if (unseen++ >= max_named) continue;
        char item[96];  // escaped, and cut short: a name, not the whole word
        escape_name(item, sizeof item, refs[i].start, refs[i].len);
        size_t used = strlen(out);
        snprintf(out + used, size - used, "%s%s", used ? ", " : "", item);
    }
    if (unseen > max_named) {
        size_t used = strlen(out);
        snprintf(out + used, size - used, " and %d more", unseen - max_named);
    }
    free(refs);
    return unseen;
}

char *wordlist_to_string(const WordList *wl, size_t *len) {
    size_t total = 0;
    for (int i = 0; i < wl->n; i++) total += strlen(wl->words[i]) + 1;
    char *s = xmalloc(total + 1), *p = s;
    for (int i = 0; i < wl->n; i++) {
        size_t n = strlen(wl->words[i]);
        memcpy(p, wl->words[i], n);
        p[n] = '\n';
        p += n + 1;
    }
    *p = '\0';
    *len = total;
    return s;
}

// Checks the checkpoint form (see wordlist_from_string) and counts its words into *n.
static bool check_word_lines(const char *text, size_t len, long n_distinct, const char *name, long *n,
                             ErrorMessage *err) {
    const char *prev = NULL;
    size_t prev_len = 0;
    *n = 0;
    if (len > 0 && text[len - 1] != '\n')
        return error_set(err, "%s: the last word does not end with a newline", name);
    for (size_t i = 0; i < len;) {
        const char *w = text + i, *end = memchr(w, '\n', len - i);
        size_t wl = (size_t)(end - w);
        char shown[64];
        escape_bytes(shown, sizeof shown, w, wl < 16 ? wl : 16);
        if (!word_keepable(w, wl) || memchr(w, ' ', wl) || memchr(w, '\t', wl) || memchr(w, '\r', wl))
            return error_set(err, "%s: word %ld ('%s') is empty, longer than %d bytes, or not printable text",
                             name, *n + 1, shown, WORDLIST_WORD_MAX);
        if (prev && compare_bytes(prev, prev_len, w, wl) >= 0)
            return error_set(err, "%s: word %ld ('%s') is out of order or repeated", name, *n + 1, shown);
        if (++*n > WORDLIST_MAX || *n > n_distinct)
            return error_set(err, "%s: more than %ld words (at most %d, and the count saved is %ld)", name,
                             *n - 1, WORDLIST_MAX, n_distinct);
        prev = w, prev_len = wl;
        i += wl + 1;
    }
    return true;
}

bool wordlist_from_string(WordList *wl, const char *text, size_t len, long n_distinct, const char *name,
                          ErrorMessage *err) {
    memset(wl, 0, sizeof *wl);
    long n;
    if (!check_word_lines(text, len, n_distinct, name, &n, err)) return false;
    wl->words = xmalloc(sizeof(char *) * (size_t)(n > 0 ? n : 1));
    for (size_t i = 0; (long)wl->n < n;) {
        const char *w = text + i, *end = memchr(w, '\n', len - i);
        size_t k = (size_t)(end - w);
        wl->words[wl->n] = xmalloc(k + 1);
        memcpy(wl->words[wl->n], w, k);
        wl->words[wl->n++][k] = '\0';
        i += k + 1;
    }
    wl->n_distinct = n_distinct;
    wl->present = true;
    return true;
}

void wordlist_free(WordList *wl) {
    for (int i = 0; i < wl->n; i++) free(wl->words[i]);
    free(wl->words);
    memset(wl, 0, sizeof *wl);
}
