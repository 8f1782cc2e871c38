// fuzz_vocab.c: the vocabulary reader (tokenizer_from_string) on arbitrary text. It
// either refuses with a message or gives a tokenizer whose encode/decode round-trip.
#include <string.h>

#include "fuzz.h"
#include "tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    Tokenizer tok;
    memset(&tok, 0, sizeof tok);
    ErrorMessage err = {{0}};
    if (tokenizer_from_string(&tok, (const char *)data, size, "fuzz", &err)) {
        FUZZ_CHECK(tokenizer_vocab_size(&tok) >= 259);
        const char text[] = "le chat noir";
        int ids[sizeof text];
        int n = tokenizer_encode(&tok, text, sizeof text - 1, ids, (int)sizeof text);
        char back[sizeof text];
        FUZZ_CHECK(tokenizer_decode(&tok, ids, n, back, sizeof back) == sizeof text - 1);
        FUZZ_CHECK(memcmp(back, text, sizeof text - 1) == 0);
        tokenizer_free(&tok);
    } else {
        FUZZ_CHECK(err.text[0] != '\0');
    }
    return 0;
}
