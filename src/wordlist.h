// wordlist.h: the training word list: the distinct source-side words of a training text,
// so that translate and the viewer can say which words of a sentence the model never saw.
//
// Not from the paper. BPE (§5.1) lets a model read any word, splitting an unknown one into
// known pieces, so the vocabulary cannot tell a seen word from an unseen one; only the
// training text can. A model that never saw a word still translates it, confidently and
// wrongly, and a user deserves to be told.
//
// A word is a run of bytes between whitespace (space, tab, CR, LF), exactly as written
// (case and punctuation kept). Only printable UTF-8 words of at most WORDLIST_WORD_MAX bytes
// are kept. A huge corpus keeps its WORDLIST_MAX most frequent words (capped: n_distinct
// then says how many there were, and a rare training word may be reported as unseen).
#ifndef WORDLIST_H
#define WORDLIST_H

#include <stdbool.h>
#include <stddef.h>

#include "common.h"

#define WORDLIST_MAX 65536
#define WORDLIST_WORD_MAX 128

typedef struct {
    bool present;     // false: no word list (e.g. a checkpoint from before the WORD section)
    char **words;     // (n) distinct, sorted by strcmp (so lookups bisect)
    int n;
    long n_distinct;  // distinct words in the training text (> n when capped)
} WordList;

// Builds the list from the source column (before the first tab) of every line of a
// tab-separated text (len bytes). wl must not hold a list; sets present.
void wordlist_from_tsv(WordList *wl, const char *text, size_t len);

// The same from a TSV file; false with "PATH: reason" in err if it cannot be read.
bool wordlist_from_tsv_file(WordList *wl, const char *path, ErrorMessage *err);

// The same from n source texts (NULL entries skipped): the training pairs a corpus kept,
// so that the words of lines the loader dropped (malformed, too long) do not count as seen.
void wordlist_from_texts(WordList *wl, char *const *texts, long n);

// True if the word (len bytes) is in the list.
bool wordlist_contains(const WordList *wl, const char *word, size_t len);

// True if the list holds fewer words than the training text had.
bool wordlist_capped(const WordList *wl);

// Writes into out (size bytes) the words of sentence that are not in the list, escaped
// (common.h escape_bytes), comma-separated, the first max_named of them and then
// "and N more". Returns how many distinct unseen words there are (0: out is "").
int wordlist_unseen(const WordList *wl, const char *sentence, int max_named, char *out, size_t size);

// The checkpoint form: every word followed by '\n' (a new string of *len bytes, freed by
// the caller).
char *wordlist_to_string(const WordList *wl, size_t *len);

// Reads the checkpoint form back (len bytes; n_distinct as saved), checking each word
// (1..WORDLIST_WORD_MAX printable bytes, no whitespace), the order (strictly increasing,
// so no repeats), the count (at most WORDLIST_MAX, at most n_distinct). False with
// "NAME: what is wrong" (bytes escaped) and nothing allocated if a check fails.
bool wordlist_from_string(WordList *wl, const char *text, size_t len, long n_distinct, const char *name,
                          ErrorMessage *err);

// Frees the words; leaves wl empty (safe to free again).
void wordlist_free(WordList *wl);

#endif
