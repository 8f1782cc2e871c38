// common.c: error reporting, checked allocation and checked file I/O (see common.h).
#include "common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

bool error_set(ErrorMessage *err, const char *fmt, ...) {
    if (err) {
        va_list args;
        va_start(args, fmt);
        vsnprintf(err->text, sizeof err->text, fmt, args);
        va_end(args);
    }
    return false;
}

void die(const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    fputs("error: ", stderr);
    vfprintf(stderr, fmt, args);
    fputc('\n', stderr);
    va_end(args);
    exit(1);
}

// The check functions print the caller's file and line, what failed, and a hint.
static void fail_at(const char *file, int line, const char *what, const char *hint) {
    fprintf(stderr, "error: %s:%d: %s%s%s\n", file, line, what, hint ? " " : "", hint ? hint : "");
    exit(1);
}

void *malloc_check(size_t size, const char *file, int line) {
    void *p = malloc(size ? size : 1);
    if (!p) fail_at(file, line, "out of memory", "(try a smaller model or batch)");
    return p;
}

void *calloc_check(size_t count, size_t size, const char *file, int line) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) fail_at(file, line, "out of memory", "(try a smaller model or batch)");
    return p;
}

FILE *fopen_check(const char *path, const char *mode, const char *file, int line) {
    FILE *f = fopen(path, mode);
    if (!f) {
        char what[768];
        snprintf(what, sizeof what, "cannot open '%s' (mode %s): %s", path, mode, strerror(errno));
        fail_at(file, line, what, "(check the path and permissions)");
    }
    return f;
}

void fread_check(void *ptr, size_t size, size_t count, FILE *f, const char *file, int line) {
    if (fread(ptr, size, count, f) != count)
        fail_at(file, line, feof(f) ? "unexpected end of file" : "read failed",
                "(is the file truncated?)");
}

void fwrite_check(const void *ptr, size_t size, size_t count, FILE *f, const char *file, int line) {
    if (fwrite(ptr, size, count, f) != count)
        fail_at(file, line, "write failed", "(is the disk full?)");
}

void fclose_check(FILE *f, const char *file, int line) {
    if (fclose(f) != 0) fail_at(file, line, "close failed", "(is the disk full?)");
}

char *read_whole_file(const char *path, size_t *length, ErrorMessage *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        error_set(err, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = xmalloc(cap + 1);
    size_t got;
    while ((got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            cap *= 2;
            char *bigger = realloc(buf, cap + 1);
            if (!bigger) {
                free(buf);
                fclose(f);
                error_set(err, "%s: out of memory while reading", path);
                return NULL;
            }
            buf = bigger;
        }
    }
    bool failed = ferror(f);
    fclose(f);
    if (failed) {
        free(buf);
        error_set(err, "%s: read error", path);
        return NULL;
    }
    buf[len] = '\0';
    if (length) *length = len;
    return buf;
}

bool write_file_atomic(const char *path, const void *data, size_t size, ErrorMessage *err) {
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return error_set(err, "%s: path too long", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) return error_set(err, "%s: cannot create: %s", tmp, strerror(errno));
    bool ok = fwrite(data, 1, size, f) == size && fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok) {
        remove(tmp);
        return error_set(err, "%s: write failed (is the disk full?)", tmp);
    }
    if (rename(tmp, path) != 0) {
        remove(tmp);
        return error_set(err, "%s: cannot rename into place: %s", path, strerror(errno));
    }
    return true;
}

double wall_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// Sets OMP_WAIT_POLICY=PASSIVE and re-executes the program so that libgomp, which reads
// the variable only at load time, starts with it (common.h explains why).
void threads_wait_passively(char **argv) {
#ifdef _OPENMP
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT")) return;  // the user's choice
    if (setenv("OMP_WAIT_POLICY", "PASSIVE", 0) != 0) return;
    execv("/proc/self/exe", argv);  // returns only if it failed: run on as we are
#else
    (void)argv;
#endif
}
