// common.c: error reporting, checked allocation and checked file I/O (see common.h).
#include "common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

// The count allocations_made reports; atomic, since threads may allocate at once.
static _Atomic long allocation_count = 0;

long allocations_made(void) { return allocation_count; }

void *malloc_check(size_t size, const char *file, int line) {
    allocation_count++;
    void *p = malloc(size ? size : 1);
    if (!p) fail_at(file, line, "out of memory", "(try a smaller model or batch)");
    return p;
}

void *calloc_check(size_t count, size_t size, const char *file, int line) {
    allocation_count++;
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

// Reads f to its end into *buf (capacity *cap, grown by doubling), at most max_bytes.
// Returns the byte count, or (size_t)-1 with err set (out of memory, too large, error).
static size_t read_all(FILE *f, const char *path, size_t max_bytes, char **buf, size_t *cap, ErrorMessage *err) {
    size_t len = 0, got;
    while ((got = fread(*buf + len, 1, *cap - len, f)) > 0) {
        len += got;
        if (len > max_bytes) {
            error_set(err, "%s: larger than %zu MB, refused (is it the right file?)", path, max_bytes >> 20);
            return (size_t)-1;
        }
        if (len < *cap) continue;
        char *bigger = realloc(*buf, 2 * *cap + 1);
        if (!bigger) {
            error_set(err, "%s: out of memory while reading", path);
            return (size_t)-1;
        }
        *buf = bigger;
        *cap *= 2;
    }
    if (ferror(f)) {
        error_set(err, "%s: read error", path);
        return (size_t)-1;
    }
    return len;
}

char *read_whole_file_max(const char *path, size_t max_bytes, size_t *length, ErrorMessage *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        error_set(err, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {  // fopen opens a directory on Linux
        fclose(f);
        error_set(err, "%s: is a directory, not a file", path);
        return NULL;
    }
    size_t cap = 1 << 16;
    char *buf = xmalloc(cap + 1);
    size_t len = read_all(f, path, max_bytes, &buf, &cap, err);
    fclose(f);
    if (len == (size_t)-1) {
        free(buf);
        return NULL;
    }
    buf[len] = '\0';
    if (length) *length = len;
    return buf;
}

char *read_whole_file(const char *path, size_t *length, ErrorMessage *err) {
    return read_whole_file_max(path, READ_WHOLE_FILE_MAX, length, err);
}

bool write_file_atomic(const char *path, const void *data, size_t size, ErrorMessage *err) {
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return error_set(err, "%s: path too long", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) return error_set(err, "%s: cannot write it (writing %s first): %s", path, tmp, strerror(errno));
    bool ok = fwrite(data, 1, size, f) == size && fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok) {
        remove(tmp);
        return error_set(err, "%s: write failed (is the disk full?); the old file, if any, is untouched", path);
    }
    if (rename(tmp, path) != 0) {
        remove(tmp);
        return error_set(err, "%s: cannot rename into place: %s", path, strerror(errno));
    }
    return true;
}

// The code point of the UTF-8 character of len (1..4) bytes at s (its lead byte's bits,
// then 6 from each continuation byte).
static unsigned long code_point(const unsigned char *s, size_t len) {
    static const unsigned char lead_bits[5] = {0, 0x7F, 0x1F, 0x0F, 0x07};
    unsigned long cp = s[0] & lead_bits[len < 5 ? len : 1];
    for (size_t i = 1; i < len && i < 4; i++) cp = cp << 6 | (s[i] & 0x3Ful);
    return cp;
}

// Terminal columns of code point cp: 2 for the East Asian wide and fullwidth ranges and
// the emoji blocks, 0 for combining marks and zero-width characters, else 1. (A short
// table of the main ranges, not the whole of Unicode's East Asian Width property.)
static int code_point_columns(unsigned long cp) {
    if ((cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x200B && cp <= 0x200F) || cp == 0xFEFF ||
        (cp >= 0xFE00 && cp <= 0xFE0F))
        return 0;
    if ((cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) || (cp >= 0xAC00 && cp <= 0xD7A3) ||
        (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
        (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1F64F) || (cp >= 0x1F900 && cp <= 0x1F9FF) ||
        (cp >= 0x20000 && cp <= 0x3FFFD))
        return 2;
    return 1;
}

int utf8_width(const char *s) {
    int columns = 0;
    while (*s) {
        int n = utf8_char_len(s);
        columns += code_point_columns(code_point((const unsigned char *)s, (size_t)n));
        s += n;
    }
    return columns;
}

void utf8_copy(char *dst, size_t cap, const char *src) {
    size_t n = strlen(src);
    if (n > cap - 1) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80) n--;  // not inside a character
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

size_t utf8_bom_length(const char *text, size_t n) {
    return n >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
}

int utf8_char_len(const char *s) {
    unsigned char c = (unsigned char)*s;
    // lead byte 110xxxxx: 2 bytes, 1110xxxx: 3, 11110xxx: 4; anything else stands alone
    int n = c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : c < 0xF8 ? 4 : 1;
    for (int i = 1; i < n; i++)
        if (!s[i]) return i;
    return n;
}

// Length of the well-formed, printable UTF-8 character at s (n bytes left), or 0 if the
// bytes there are not one (a stray or truncated sequence, or a C1 control U+0080..U+009F).
static size_t printable_utf8_len(const unsigned char *s, size_t n) {
    size_t len = s[0] >= 0xC2 && s[0] <= 0xDF ? 2 : s[0] >= 0xE0 && s[0] <= 0xEF ? 3
               : s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : 0;
    if (len == 0 || len > n) return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    if (s[0] == 0xC2 && s[1] < 0xA0) return 0;  // C1 controls
    return len;
}

// True for the code points that print as nothing at all (format characters: the soft
// hyphen, zero-width spaces and joiners, direction marks and overrides, word joiners, the
// byte-order mark).
static bool is_invisible(unsigned long cp) {
    return cp == 0xAD || cp == 0x180E || (cp >= 0x200B && cp <= 0x200F) || (cp >= 0x202A && cp <= 0x202E) ||
           (cp >= 0x2060 && cp <= 0x2064) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xFEFF;
}

// escape_bytes, and with show_invisible also the invisible characters as "<U+200B>".
static char *escape_text(char *out, size_t size, const char *bytes, size_t n, bool show_invisible) {
    const unsigned char *s = (const unsigned char *)bytes;
    size_t o = 0;
    if (size == 0) return out;
    for (size_t i = 0; i < n;) {
        char piece[16];
        size_t used = 1, len = 1;  // bytes of input consumed, bytes of output
        size_t utf8 = s[i] >= 0x80 ? printable_utf8_len(s + i, n - i) : 0;
        if (s[i] == '\\') {
            memcpy(piece, "\\\\", 2), len = 2;
        } else if (s[i] >= 0x20 && s[i] < 0x7F) {
            piece[0] = (char)s[i];
        } else if (utf8 > 0 && show_invisible && is_invisible(code_point(s + i, utf8))) {
            len = (size_t)snprintf(piece, sizeof piece, "<U+%04lX>", code_point(s + i, utf8)), used = utf8;
        } else if (utf8 > 0) {
            memcpy(piece, s + i, utf8), used = len = utf8;
        } else {
            snprintf(piece, sizeof piece, "\\x%02X", s[i]), len = 4;
        }
        if (o + len >= size) break;  // whole pieces only, and room for the NUL
        memcpy(out + o, piece, len);
        o += len;
        i += used;
    }
    out[o] = '\0';
    return out;
}

char *escape_bytes(char *out, size_t size, const char *bytes, size_t n) {
    return escape_text(out, size, bytes, n, false);
}

char *escape_name(char *out, size_t size, const char *bytes, size_t n) {
    return escape_text(out, size, bytes, n, true);
}

bool text_is_printable(const char *bytes, size_t n) {
    const unsigned char *s = (const unsigned char *)bytes;
    for (size_t i = 0; i < n;) {
        size_t len = s[i] >= 0x20 && s[i] < 0x7F ? 1 : s[i] >= 0x80 ? printable_utf8_len(s + i, n - i) : 0;
        if (len == 0) return false;
        i += len;
    }
    return true;
}

double wall_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

long option_long(const char *name, const char *text, long lo, long hi) {
    char *end = NULL;
    errno = 0;
    long v = text ? strtol(text, &end, 10) : 0;
    if (!text || end == text || *end || errno || v < lo || v > hi)
        die("%s expects a whole number from %ld to %ld, got '%s'", name, lo, hi, text ? text : "(nothing)");
    return v;
}

double option_double(const char *name, const char *text, double lo, double hi) {
    char *end = NULL;
    double v = text ? strtod(text, &end) : 0;
    if (!text || end == text || *end || !(v > lo && v <= hi))
        die("%s expects a number above %g and at most %g, got '%s'", name, lo, hi, text ? text : "(nothing)");
    return v;
}

// Sets GOMP_SPINCOUNT and re-executes the program so that libgomp, which reads the
// variable only at load time, starts with it (common.h explains why).
void threads_wait_briefly(char **argv) {
#ifdef _OPENMP
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT")) return;  // the user's choice
    if (setenv("GOMP_SPINCOUNT", THREADS_SPIN_COUNT, 0) != 0) return;
    execv("/proc/self/exe", argv);  // returns only if it failed: run on as we are
#else
    (void)argv;
#endif
}
