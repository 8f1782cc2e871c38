// fuzz_util.c: the shared helpers of fuzz.h.
#include "fuzz.h"

#include <unistd.h>

const char *fuzz_write_temp(const uint8_t *data, size_t size) {
    static char path[64];
    if (!path[0]) snprintf(path, sizeof path, "/tmp/transformer-fuzz-%d.bin", (int)getpid());
    FILE *f = fopen(path, "wb");
    FUZZ_CHECK(f != NULL);
    FUZZ_CHECK(fwrite(data, 1, size, f) == size);
    FUZZ_CHECK(fclose(f) == 0);
    return path;
}
