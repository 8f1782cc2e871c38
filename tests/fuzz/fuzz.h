// fuzz.h: what the fuzz targets in tests/fuzz/ share (issue 12). Each target is one
// LLVMFuzzerTestOneInput over the project's readers and searches; it is linked either
// with libFuzzer (clang, `make fuzz`: new inputs for FUZZ_SECONDS) or with replay.c
// (gcc + ASan/UBSan, `make test`: every stored input once, so CI needs no libFuzzer).
// A target aborts (via FUZZ_CHECK) when a promise of the code is broken; a crash, a
// leak or undefined behaviour is reported by the sanitizers.
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

// Aborts with the failed condition and its line when cond is false.
#define FUZZ_CHECK(cond)                                                                   \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

// Writes size bytes of data to a file of this process's own (the readers take paths)
// and returns its path; the next call reuses it.
const char *fuzz_write_temp(const uint8_t *data, size_t size);

#endif
