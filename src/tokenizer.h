// tokenizer.h: byte-level byte-pair encoding (BPE), the paper's §5.1: "Sentences were
// encoded using byte-pair encoding [3], which has a shared source-target vocabulary of
// about 37000 tokens." One vocabulary serves French and English alike.
//
// Token ids, in this order:
//   0, 1, 2                      the special tokens <pad>, <s> (start), </s> (end)
//   3 .. 258                     the 256 byte values: byte b is token TOKEN_BYTE0 + b
//   259 .. 259 + n_merges - 1    one token per learned merge, in the order learned
// Because every byte has a token, any input can be encoded: there is no "unknown" token,
// and decode(encode(x)) == x for every byte string x (UTF-8 or not, NUL bytes included).
//
// Before merging, text is split into chunks that merges never cross ("pre-splitting"):
// a chunk is a run of letters (ASCII letters and all bytes >= 0x80, so accented UTF-8
// letters stay inside their word), a run of digits, a run of tabs and line breaks, or a
// run of other bytes (punctuation, control bytes, NUL, ...). A single space is glued to the FRONT of the
// chunk that follows it, so "le chat." splits into "le", " chat", "." and a token can
// be " chat" (shown as "▁chat"). Chunks longer than TOKENIZER_MAX_CHUNK bytes are cut,
// which keeps encoding linear in the input length.
//
// Training also refuses merges that would cut a UTF-8 character in a way that leaves a
// fragment inside a longer token (like "t" + the first byte of "é"), so every learned
// token displays as readable text.
//
// Threads: a Tokenizer is read-only after training or loading; encode, decode and
// token_string may be called from several threads at once.
#ifndef TOKENIZER_H
#define TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common.h"

// Special tokens. Other components rely on these exact values.
enum { TOKEN_PAD = 0, TOKEN_BOS = 1, TOKEN_EOS = 2 };

enum {
    TOKEN_N_SPECIAL = 3,      // ids below this are specials
    TOKEN_BYTE0 = 3,          // byte b is token TOKEN_BYTE0 + b
    TOKEN_FIRST_MERGE = 259,  // the i-th merge (0-based) makes token TOKEN_FIRST_MERGE + i
    TOKENIZER_MAX_CHUNK = 64, // longest pre-split chunk in bytes (longer runs are cut)
    TOKENIZER_MAX_MERGES = 1 << 20,
};

// A buffer this big always holds a token's full display string (see token_string).
#define TOKEN_STRING_MAX (6 * TOKENIZER_MAX_CHUNK + 1)

// A hash table from a pair of token ids to an int (internal to tokenizer.c, which has
// the functions): open addressing, kept at most half full.
typedef struct {
    uint64_t *keys;           // (capacity): (left << 32 | right) + 1, 0 = empty slot
    int *values;              // (capacity)
    size_t capacity;          // a power of two
    size_t count;             // keys stored
} PairMap;

typedef struct {
    int n_merges;             // learned merges; vocab_size = TOKEN_FIRST_MERGE + n_merges
    int vocab_size;
    int (*merges)[2];         // (n_merges, 2): token TOKEN_FIRST_MERGE+i = merges[i][0] ++ merges[i][1]
    // The bytes each token stands for: token id is token_bytes[token_start[id] ..
    // token_start[id+1]). Specials stand for no bytes.
    int *token_start;         // (vocab_size + 1)
    unsigned char *token_bytes;
    PairMap merged;           // for encoding: the pair (left, right) -> its merged token id
    size_t merges_capacity;   // allocated room (internal): merges, token_start, token_bytes
    size_t bytes_capacity;
} Tokenizer;

// ---- building a vocabulary ------------------------------------------------------

// The vocabulary with no merges: the 3 specials and the 256 bytes (vocab_size 259).
void tokenizer_init_bytes(Tokenizer *tok);

// Learns up to n_merges merges from text (len bytes, any content) and stores the
// resulting vocabulary in tok (which must not hold one yet; free it first). At each step
// the most frequent adjacent pair of tokens (counted inside chunks) becomes a new token;
// ties go to the pair with the lowest left id, then the lowest right id, so the same
// text and n_merges always give the same vocabulary. Stops early when no pair occurs
// at least twice. Returns the number of merges learned (n_merges above
// TOKENIZER_MAX_MERGES counts as that many). Never fails (out of memory exits).
// This is tokenizer_train_fast, or tokenizer_train_plain in a PLAIN_KERNELS build.
int tokenizer_train(Tokenizer *tok, const char *text, size_t len, int n_merges);

// The same training, written two ways; both learn exactly the same merges (the tests
// check it). Read the plain one first: every merge counts all pairs of the corpus from
// scratch, picks the most frequent, and rewrites every word. The fast one (the speed
// notes in tokenizer.c) keeps the counts up to date instead, rewriting only the words
// that contain the merged pair. The plain trainer's time grows with (distinct words) x
// (merges), the fast one's only with the words each merge touches: 1000 merges of a 6 MB
// corpus of 60 000 distinct words took 31 s plain and 1 s fast; on data/fr-en/train.tsv
// (1.7 MB, few distinct words) both take a tenth of a second or less.
int tokenizer_train_plain(Tokenizer *tok, const char *text, size_t len, int n_merges);
int tokenizer_train_fast(Tokenizer *tok, const char *text, size_t len, int n_merges);

// Frees what tok holds and zeroes it; safe to call twice or on a zeroed Tokenizer.
void tokenizer_free(Tokenizer *tok);

// ---- using it ---------------------------------------------------------------------

// V, the number of token ids (specials + 256 bytes + merges).
int tokenizer_vocab_size(const Tokenizer *tok);

// Encodes text (len bytes; NUL is an ordinary byte, so pass the length) into token ids.
// No <s> or </s> is added: the caller adds them where the model wants them. Writes at
// most max_ids ids to out_ids and returns how many the full encoding has (like
// snprintf): a return value > max_ids means out_ids holds only the first max_ids.
// The count is never more than len, so max_ids = len always suffices. out_ids may be
// NULL when max_ids is 0. Empty input gives 0 tokens.
int tokenizer_encode(const Tokenizer *tok, const char *text, size_t len, int *out_ids, int max_ids);

// Decodes n token ids into the bytes they stand for. Specials (<pad>, <s>, </s>) and ids
// outside [0, vocab_size) decode to nothing. Like snprintf: writes at most max_bytes-1
// bytes and a terminating NUL (when max_bytes > 0) and returns the full byte count
// (without the NUL); the output may contain NUL bytes if the input did.
size_t tokenizer_decode(const Tokenizer *tok, const int *ids, int n, char *out, size_t max_bytes);

// The bytes token id stands for (NULL with *len = 0 for specials and invalid ids).
const unsigned char *tokenizer_token_bytes(const Tokenizer *tok, int id, int *len);

// A readable label for token id, for printing and for heatmap axes: "<pad>", "<s>",
// "</s>"; a space shows as "▁" (U+2581); printable ASCII and complete UTF-8 characters
// as themselves; any other byte as "<0xNN>"; an invalid id as "<bad:ID>". Writes into
// buf (always NUL-terminated, truncated to bufsize-1 bytes; TOKEN_STRING_MAX always
// suffices) and returns buf.
const char *tokenizer_token_string(const Tokenizer *tok, int id, char *buf, size_t bufsize);

// ---- saving and loading ------------------------------------------------------------
// The vocabulary is text, one merge per line, so a student can read it:
//
//   bpe-vocab 1
//   merges 1000
//   merge 35 119    # 259 = ▁ + t -> ▁t
//   ...
//   end
//
// "merge A B" makes the next token from tokens A and B (each must already exist);
// everything after '#' is a comment, blank lines are skipped. The "end" line catches a
// file cut short. Loading checks the header, the count, each line
// and the end of the data; an error names the file and line and what was expected,
// e.g. "vocab.txt:7: expected 'merge <id> <id>', got 'merge 5'".

// Writes the vocabulary to path (atomically: temporary file, then rename).
bool tokenizer_save(const Tokenizer *tok, const char *path, ErrorMessage *err);

// Loads a vocabulary file into tok (which must not hold one yet). On failure tok is
// left zeroed (safe to free) and err says what went wrong.
bool tokenizer_load(Tokenizer *tok, const char *path, ErrorMessage *err);

// The same text format to and from an open FILE*, for embedding the vocabulary in a
// larger file such as a checkpoint. tokenizer_read reads exactly the lines
// tokenizer_write wrote (it stops after the "end" line) and names `name` and
// line numbers counted from its first line in errors. write returns false on an I/O
// error.
bool tokenizer_write(const Tokenizer *tok, FILE *f);
bool tokenizer_read(Tokenizer *tok, FILE *f, const char *name, ErrorMessage *err);

// The same text format in memory. to_string returns a NUL-terminated buffer the caller
// frees (*len gets its length without the NUL); from_string parses len bytes of text.
char *tokenizer_to_string(const Tokenizer *tok, size_t *len);
bool tokenizer_from_string(Tokenizer *tok, const char *text, size_t len, const char *name,
                           ErrorMessage *err);

#endif
