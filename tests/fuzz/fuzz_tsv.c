// fuzz_tsv.c: the TSV reader (strict and lenient) and batching on arbitrary bytes. Every
// kept pair fits max_len, the report adds up, and every batch of a plan fills.
#include <string.h>

#include "dataset.h"
#include "fuzz.h"
#include "rng.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (1 << 16)) return 0;
    const char *path = fuzz_write_temp(data, size);
    Tokenizer tok;
    tokenizer_init_bytes(&tok);
    Dataset ds;
    ErrorMessage err;
    dataset_init(&ds, 16);
    bool strict_ok = dataset_load_tsv(&ds, path, &tok, &err);
    int strict_pairs = ds.n_pairs;
    dataset_free(&ds);
    dataset_init(&ds, 16);
    LoadReport r;
    FUZZ_CHECK(dataset_load_tsv_report(&ds, path, &tok, &r, &err));
    FUZZ_CHECK(r.kept == ds.n_pairs && r.kept + r.malformed + r.empty + r.too_long <= r.lines);
    if (strict_ok) FUZZ_CHECK(strict_pairs == ds.n_pairs && r.malformed == 0 && r.empty == 0);
    if (ds.n_pairs > 0) {
        BatchPlan plan;
        memset(&plan, 0, sizeof plan);
        Rng rng;
        rng_seed(&rng, size, 1);
        FUZZ_CHECK(batch_plan_make(&plan, &ds, 40, 4, &rng, &err));
        Batch b;
        batch_init(&b, plan.max_batch, plan.max_len);
        for (int i = 0; i < plan.n_batches; i++) {
            batch_fill(&b, &ds, &plan, i);
            FUZZ_CHECK(b.B >= 1 && b.S <= 16 && b.T <= 16);
        }
        batch_free(&b);
        batch_plan_free(&plan);
    }
    dataset_free(&ds);
    tokenizer_free(&tok);
    return 0;
}
