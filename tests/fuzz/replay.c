// replay.c: a main for the fuzz targets without libFuzzer: runs LLVMFuzzerTestOneInput
// once on every file named on the command line (or in a directory named there), under
// whatever sanitizers the program was built with. `make test` replays the stored corpora
// (tests/fuzz/corpus/TARGET/, seeds and every past crash) this way.
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

// Runs the target on the bytes of one file; returns 1 (one input run).
static int replay_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        exit(1);
    }
    size_t cap = 1 << 16, len = 0, got;
    uint8_t *buf = malloc(cap);
    while ((got = fread(buf + len, 1, cap - len, f)) > 0)
        if ((len += got) == cap) buf = realloc(buf, cap *= 2);
    fclose(f);
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 1;
}

// Replays path: a file, or every regular file directly inside a directory.
static int replay_path(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "replay: no such file or directory: %s\n", path);
        exit(1);
    }
    if (!S_ISDIR(st.st_mode)) return replay_file(path);
    DIR *dir = opendir(path);
    int n = 0;
    for (struct dirent *e; dir && (e = readdir(dir));) {
        if (e->d_name[0] == '.') continue;
        char file[4096];
        snprintf(file, sizeof file, "%s/%s", path, e->d_name);
        if (stat(file, &st) == 0 && S_ISREG(st.st_mode)) n += replay_file(file);
    }
    if (dir) closedir(dir);
    return n;
}

// With no arguments, replays FUZZ_CORPUS (the target's stored corpus, set when built).
int main(int argc, char **argv) {
    int n = 0;
    for (int i = 1; i < argc; i++) n += replay_path(argv[i]);
#ifdef FUZZ_CORPUS
    if (argc == 1) n += replay_path(FUZZ_CORPUS);
#endif
    printf("%s: %d inputs replayed, no finding\n", argv[0], n);
    return 0;
}
