// tokenizer_demo.c: lesson 01. Trains byte-level BPE merges on a corpus (§5.1), shows
// the first merges it learned, splits a sentence into tokens and decodes it back.
//
//   build/tokenizer_demo                      1000 merges on data/fr-en/train.tsv
//   build/tokenizer_demo --merges 200 my.txt  200 merges on my.txt
//   build/tokenizer_demo --sentence "où est la forêt ?"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "tokenizer.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: tokenizer_demo [options] [corpus]\n"
            "Trains byte-level BPE merges (paper §5.1) on corpus (default data/fr-en/train.tsv),\n"
            "prints the first merges, then tokenizes sentences and decodes them back.\n"
            "  --merges N      how many merges to learn (default 1000)\n"
            "  --sentence S    a sentence to tokenize (repeatable; default: the classic\n"
            "                  example \"je suis étudiant\" and \"i am a student\")\n"
            "  --save PATH     also write the vocabulary to PATH (text, one merge per line)\n"
            "  --help          this text\n");
}

// Prints s left-aligned in `width` columns. printf's %-8s counts bytes, and "▁" is
// three bytes of UTF-8 but one column, so count columns with common.h's utf8_width.
static void print_padded(const char *s, int width) {
    int columns = utf8_width(s);
    printf("%s%*s", s, columns < width ? width - columns : 0, "");
}

// Prints text with its tokens as [label] and their ids, then the decoded round trip.
static void show_sentence(const Tokenizer *tok, const char *text) {
    size_t len = strlen(text);
    int *ids = xmalloc(sizeof(int) * (len + 1));
    int n = tokenizer_encode(tok, text, len, ids, (int)len);
    printf("\n\"%s\"  (%zu bytes -> %d tokens)\n  ", text, len, n);
    char label[TOKEN_STRING_MAX];
    for (int i = 0; i < n; i++) printf("[%s]", tokenizer_token_string(tok, ids[i], label, sizeof label));
    printf("\n  ids:");
    for (int i = 0; i < n; i++) printf(" %d", ids[i]);
    char *back = xmalloc(len + 1);
    size_t back_len = tokenizer_decode(tok, ids, n, back, len + 1);
    bool same = back_len == len && memcmp(back, text, len) == 0;
    printf("\n  decoded: \"%s\"  (%s)\n", back, same ? "identical bytes" : "DIFFERENT");
    free(back);
    free(ids);
}

int main(int argc, char **argv) {
    const char *corpus = "data/fr-en/train.tsv", *save_path = NULL;
    const char *sentences[32];
    int n_sentences = 0;
    long n_merges = 1000;
    bool corpus_given = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(arg, "--merges") == 0 || strcmp(arg, "--sentence") == 0 || strcmp(arg, "--save") == 0) {
            if (i + 1 >= argc) die("%s needs a value (see --help)", arg);
            const char *value = argv[++i];
            if (strcmp(arg, "--merges") == 0) {
                char *end;
                errno = 0;
                n_merges = strtol(value, &end, 10);
                if (errno || *end || end == value || n_merges < 0 || n_merges > TOKENIZER_MAX_MERGES)
                    die("--merges: expected a whole number from 0 to %d, got '%s'", TOKENIZER_MAX_MERGES, value);
            } else if (strcmp(arg, "--sentence") == 0) {
                if (n_sentences == 32) die("--sentence: at most 32 sentences");
                sentences[n_sentences++] = value;
            } else {
                save_path = value;
            }
        } else if (arg[0] == '-' && arg[1] != '\0') {
            die("unknown option '%s' (see --help)", arg);
        } else if (corpus_given) {
            die("only one corpus file, got '%s' and '%s' (see --help)", corpus, arg);
        } else {
            corpus = arg;
            corpus_given = true;
        }
    }
    if (n_sentences == 0) {
        sentences[n_sentences++] = "je suis étudiant";
        sentences[n_sentences++] = "i am a student";
    }

    ErrorMessage err;
    size_t len;
    char *text = read_whole_file(corpus, &len, &err);
    if (!text) die("%s%s", err.text, corpus_given ? "" : " (run from the repository root, or name a corpus file)");
    long lines = 0;
    for (size_t i = 0; i < len; i++) lines += text[i] == '\n';

    Tokenizer tok;
    double t0 = wall_seconds();
    int learned = tokenizer_train(&tok, text, len, (int)n_merges);
    double t1 = wall_seconds();
    printf("trained on %s (%zu bytes, %ld lines): %d merges in %.3f s, vocabulary size %d\n", corpus, len, lines,
           learned, t1 - t0, tokenizer_vocab_size(&tok));
    if (learned < n_merges) printf("(stopped early: no pair of tokens occurs twice any more)\n");

    // How much shorter the corpus gets: bytes per token, and how fast encoding is.
    int *ids = xmalloc(sizeof(int) * (len + 1));
    double t2 = wall_seconds();
    int n_tokens = tokenizer_encode(&tok, text, len, ids, (int)len + 1);
    double t3 = wall_seconds();
    printf("encoding the whole corpus: %d tokens (%.2f bytes per token) in %.3f s\n", n_tokens,
           n_tokens ? (double)len / n_tokens : 0.0, t3 - t2);
    char *back = xmalloc(len + 1);
    size_t back_len = tokenizer_decode(&tok, ids, n_tokens, back, len + 1);
    printf("decoding it back gives %s\n",
           back_len == len && memcmp(back, text, len) == 0 ? "the identical bytes" : "DIFFERENT BYTES (bug!)");
    free(back);
    free(ids);

    int show = tok.n_merges < 15 ? tok.n_merges : 15;
    printf("\nthe first %d merges (id = left + right -> new token):\n", show);
    char a[TOKEN_STRING_MAX], b[TOKEN_STRING_MAX], ab[TOKEN_STRING_MAX];
    for (int m = 0; m < show; m++) {
        int id = TOKEN_FIRST_MERGE + m;
        printf("  %4d = ", id);
        print_padded(tokenizer_token_string(&tok, tok.merges[m][0], a, sizeof a), 8);
        printf(" + ");
        print_padded(tokenizer_token_string(&tok, tok.merges[m][1], b, sizeof b), 8);
        printf(" -> %s\n", tokenizer_token_string(&tok, id, ab, sizeof ab));
    }
    if (tok.n_merges > show) {
        printf("the last 5:\n");
        for (int m = tok.n_merges - 5; m < tok.n_merges; m++)
            printf("  %4d = %s\n", TOKEN_FIRST_MERGE + m,
                   tokenizer_token_string(&tok, TOKEN_FIRST_MERGE + m, ab, sizeof ab));
    }

    for (int s = 0; s < n_sentences; s++) show_sentence(&tok, sentences[s]);

    if (save_path) {
        if (!tokenizer_save(&tok, save_path, &err)) die("%s", err.text);
        printf("\nvocabulary written to %s\n", save_path);
    }
    tokenizer_free(&tok);
    free(text);
    return 0;
}
