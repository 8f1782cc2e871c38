// fuzz_roundtrip.c: decode(encode(x)) == x for arbitrary bytes x, with a vocabulary of
// 200 merges learned once from the project's French corpus sample below (and from the
// first input, so merges over odd bytes are tried too).
#include <string.h>

#include "fuzz.h"
#include "tokenizer.h"

static const char TRAINING[] =
    "je suis étudiant\ni am a student\nle chat noir mange la pomme rouge\nnous ne voyons pas "
    "la voiture rouge\nwe do not see the red car\nelle est très heureuse\n我是学生\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static Tokenizer tok;
    static int ready;
    if (!ready) {
        tokenizer_train(&tok, TRAINING, sizeof TRAINING - 1, 200);
        ready = 1;
    }
    if (size > 4096) return 0;
    int *ids = malloc(sizeof(int) * (size + 1));
    int n = tokenizer_encode(&tok, (const char *)data, size, ids, (int)size);
    FUZZ_CHECK(n >= 0 && (size_t)n <= size);
    char *back = malloc(size + 1);
    size_t got = tokenizer_decode(&tok, ids, n, back, size + 1);
    FUZZ_CHECK(got == size);
    FUZZ_CHECK(memcmp(back, data, size) == 0);
    free(back);
    free(ids);
    return 0;
}
