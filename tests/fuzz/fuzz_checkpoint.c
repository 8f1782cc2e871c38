// fuzz_checkpoint.c: the checkpoint reader on arbitrary bytes, twice: as they are (the
// checksum refuses almost all), and with the trailing FNV-1a checksum recomputed over the
// mutated bytes, so the fuzzer reaches the section walk and every check behind it.
// Either the load is refused with a message and nothing allocated, or the model it gives
// has finite parameters; the run description (META) and training word list (WORD) read
// back hold only what checkpoint.h promises (checked keys, printable text, sorted words).
#include <math.h>
#include <string.h>

#include "checkpoint.h"
#include "fuzz.h"

// Loads path with everything (vocabulary, training state, optimiser) and checks the result.
static void load_and_check(const char *path) {
    Model m;
    Tokenizer tok;
    TrainingState st;
    Adam opt;
    memset(&m, 0, sizeof m), memset(&tok, 0, sizeof tok), memset(&opt, 0, sizeof opt);
    ErrorMessage err = {{0}};
    if (!checkpoint_load(path, 2, &m, &tok, &st, &opt, &err)) {
        FUZZ_CHECK(err.text[0] != '\0');
        FUZZ_CHECK(m.params.values == NULL && opt.memory == NULL);
        return;
    }
    for (long i = 0; i < m.params.n; i++) FUZZ_CHECK(isfinite(m.params.values[i]));
    if (st.present) FUZZ_CHECK(st.batch_in_epoch >= 0 && st.rng.increment % 2 == 1);
    adam_free(&opt);
    tokenizer_free(&tok);
    model_free(&m);
}

// Reads the run description and word list of path, if it loads, and checks their promises.
static void load_run_and_check(const char *path) {
    RunInfo *info = malloc(sizeof *info);
    WordList words;
    ErrorMessage err = {{0}};
    if (!checkpoint_load_run(path, info, &words, &err)) {
        FUZZ_CHECK(err.text[0] != '\0');
        free(info);
        return;
    }
    for (int i = 0; info->present && i < info->n; i++) {
        FUZZ_CHECK(info->entries[i].key[0] != '\0');
        FUZZ_CHECK(text_is_printable(info->entries[i].value, strlen(info->entries[i].value)));
    }
    FUZZ_CHECK(words.n <= WORDLIST_MAX && words.n <= words.n_distinct);
    for (int i = 1; i < words.n; i++) FUZZ_CHECK(strcmp(words.words[i - 1], words.words[i]) < 0);
    char unseen[256];
    wordlist_unseen(&words, "le chat \x1b[31m noir", 2, unseen, sizeof unseen);
    FUZZ_CHECK(text_is_printable(unseen, strlen(unseen)));
    wordlist_free(&words);
    free(info);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (1 << 20)) return 0;
    load_and_check(fuzz_write_temp(data, size));
    if (size < 8) return 0;
    uint8_t *fixed = malloc(size);
    memcpy(fixed, data, size);
    unsigned long long h = checkpoint_fnv1a(CHECKPOINT_FNV_OFFSET, fixed, size - 8);
    for (int i = 0; i < 8; i++) fixed[size - 8 + i] = (uint8_t)(h >> (8 * i));
    load_and_check(fuzz_write_temp(fixed, size));
    load_run_and_check(fuzz_write_temp(fixed, size));
    free(fixed);
    return 0;
}
