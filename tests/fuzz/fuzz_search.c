// fuzz_search.c: beam and greedy search against a scorer whose log-probabilities come
// from the input bytes: any float, NaN and ±inf included. The searches must return at
// least one hypothesis, within the length limit, best score first, tokens never <pad>
// or <s>.
#include <math.h>
#include <string.h>

#include "decode.h"
#include "fuzz.h"
#include "tokenizer.h"

typedef struct {
    const uint8_t *data;
    size_t size, at;  // the next float is read at data[at] (wrapping)
} Source;

// Scorer: fills (k,V) log-probabilities with floats taken from the input bytes.
static void bytes_scorer(void *ctx, const int *prefixes, int k, int t, float *log_probs) {
    Source *s = ctx;
    (void)prefixes, (void)t;
    for (int i = 0; i < k * 7; i++) {
        uint8_t b[4];
        for (int j = 0; j < 4; j++) b[j] = s->size ? s->data[(s->at++) % s->size] : 0;
        memcpy(&log_probs[i], b, 4);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    int beam = 1 + data[0] % 4, max_tokens = 1 + data[1] % 12;
    Source src = {data + 2, size - 2, 0};
    Scorer scorer = {7, 4, bytes_scorer, &src};
    Hypothesis h[4];
    int n = beam_search(h, 4, &scorer, beam, 0.6f, max_tokens);
    FUZZ_CHECK(n >= 1 && n <= beam);
    for (int i = 0; i < n; i++) {
        FUZZ_CHECK(h[i].length >= 0 && h[i].length <= max_tokens);
        for (int j = 0; j < h[i].length; j++)
            FUZZ_CHECK(h[i].tokens[j] > TOKEN_BOS && h[i].tokens[j] < 7 && h[i].tokens[j] != TOKEN_EOS);
        if (i > 0 && !isnan(h[i].score) && !isnan(h[i - 1].score)) FUZZ_CHECK(h[i - 1].score >= h[i].score);
    }
    src.at = 0;
    greedy_search(&h[0], &scorer, max_tokens, 0.6f);
    FUZZ_CHECK(h[0].length >= 0 && h[0].length <= max_tokens);
    return 0;
}
