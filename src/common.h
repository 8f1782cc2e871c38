// common.h: the foundation under every lesson: error reporting, checked allocation
// and checked file I/O. Nothing here is from the paper; it is the plumbing that lets
// the rest of the code stay short and fail loudly, naming the file and line.
#ifndef COMMON_H
#define COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

// ---------------------------------------------------------------------------
// Errors a user can cause (a bad file, a wrong option) are reported, not crashed on.
// A function that can fail on user input takes an ErrorMessage*, returns false on
// failure and fills in one line such as "vocab.txt:12: expected 'merge A B'".
// ---------------------------------------------------------------------------
typedef struct {
    char text[512];
} ErrorMessage;

// Writes a printf-style message into err (if err is not NULL). Always returns false,
// so a loader can write `return error_set(err, "%s:%d: ...", path, line);`.
bool error_set(ErrorMessage *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

// Prints "program: message" to stderr and exits with status 1. For command-line
// programs, once an error has been reported as an ErrorMessage.
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

// ---------------------------------------------------------------------------
// Programmer errors and exhausted resources: print where it happened and exit.
// The macros pass __FILE__ and __LINE__ so the message names the calling line.
// ---------------------------------------------------------------------------
void *malloc_check(size_t size, const char *file, int line);
void *calloc_check(size_t count, size_t size, const char *file, int line);
FILE *fopen_check(const char *path, const char *mode, const char *file, int line);
void fread_check(void *ptr, size_t size, size_t count, FILE *f, const char *file, int line);
void fwrite_check(const void *ptr, size_t size, size_t count, FILE *f, const char *file, int line);
void fclose_check(FILE *f, const char *file, int line);

// How many times malloc_check and calloc_check (xmalloc, xcalloc) have run since the
// program started. src/ allocates only through them, so a test reads this around a
// training step to prove that the step allocates nothing.
long allocations_made(void);

#define xmalloc(size) malloc_check((size), __FILE__, __LINE__)
#define xcalloc(count, size) calloc_check((count), (size), __FILE__, __LINE__)
#define xfopen(path, mode) fopen_check((path), (mode), __FILE__, __LINE__)
#define xfread(ptr, size, count, f) fread_check((ptr), (size), (count), (f), __FILE__, __LINE__)
#define xfwrite(ptr, size, count, f) fwrite_check((ptr), (size), (count), (f), __FILE__, __LINE__)
#define xfclose(f) fclose_check((f), __FILE__, __LINE__)

// Reads a whole file into a NUL-terminated buffer the caller frees. Returns NULL and
// fills err if the file cannot be opened or read, or holds more than max_bytes (so a
// device such as /dev/zero is refused instead of filling memory); *length gets the byte
// count. read_whole_file uses READ_WHOLE_FILE_MAX.
#define READ_WHOLE_FILE_MAX ((size_t)1 << 30)
char *read_whole_file_max(const char *path, size_t max_bytes, size_t *length, ErrorMessage *err);
char *read_whole_file(const char *path, size_t *length, ErrorMessage *err);

// Writes `size` bytes to path atomically: to "path.tmp", flushed and synced, then
// renamed over path, so an interrupted write never destroys the previous file.
bool write_file_atomic(const char *path, const void *data, size_t size, ErrorMessage *err);

// ---------------------------------------------------------------------------
// UTF-8 text in a terminal (labels of tokens, heatmap axes).
// ---------------------------------------------------------------------------

// Terminal columns of the NUL-terminated UTF-8 string s: one per character, two for a
// wide (CJK, Hangul, fullwidth, emoji) character, none for a combining mark or a
// zero-width character, so that tables of mixed scripts line up.
int utf8_width(const char *s);

// Copies the NUL-terminated UTF-8 string src into dst (cap >= 1 bytes, NUL-terminated),
// cut short if it does not fit, never inside a character.
void utf8_copy(char *dst, size_t cap, const char *src);

// Byte length of the UTF-8 character starting at s (1..4, from its lead byte; 1 for a
// stray continuation or invalid byte), never past a NUL that cuts the character short.
int utf8_char_len(const char *s);

// 3 if the n bytes of text start with the UTF-8 byte-order mark EF BB BF (which some
// Windows editors put at the start of a file), else 0: what a reader of a text file
// skips, so that the mark does not become part of the first line's first word.
size_t utf8_bom_length(const char *text, size_t n);

// Copies n bytes of untrusted text (a token from a file, a section tag) into out (size
// bytes, always NUL-terminated, cut short if it does not fit) so that printing it cannot
// move the cursor or recolour the terminal: printable ASCII and well-formed UTF-8
// characters are kept, a backslash becomes "\\", and any other byte (control characters
// such as ESC, C1 controls, invalid UTF-8) becomes "\xNN". Returns out.
char *escape_bytes(char *out, size_t size, const char *bytes, size_t n);

// The same for a name shown in a warning (an unseen word or letter): also the characters
// that print as nothing (zero-width spaces and joiners, direction marks, the byte-order
// mark, the soft hyphen) become "<U+200B>", so the reader sees what is there. Returns out.
char *escape_name(char *out, size_t size, const char *bytes, size_t n);

// True if the n bytes are all printable ASCII (0x20..0x7E) or well-formed, printable
// UTF-8 characters: text that escape_bytes keeps as it is (a backslash aside), e.g. what
// a checkpoint's text sections must hold.
bool text_is_printable(const char *bytes, size_t n);

// Seconds since an arbitrary fixed point, for progress lines and benchmarks.
double wall_seconds(void);

// The value of a small program's command-line option: `text` (the word after option
// `name`, NULL if there was none) as a whole number in [lo, hi], or as a number in
// (lo, hi]. Anything else (missing, not a number, trailing characters, out of range)
// dies with one line naming the option and what it expects.
long option_long(const char *name, const char *text, long lo, long hi);
double option_double(const char *name, const char *text, double lo, double hi);

// ---------------------------------------------------------------------------
// Threads that share the machine politely.
// ---------------------------------------------------------------------------
// OpenMP threads that finish a parallel loop wait for the next one. By default GNU
// OpenMP (libgomp) makes them spin for about 3 ms (busy-waiting, 100% of a core) before
// they sleep: on a laptop where a browser or the viewer's drawing thread needs a core, the
// spinning threads take it from them. A passive wait (OMP_WAIT_POLICY=PASSIVE) sleeps at
// once, but waking a sleeping thread was measured at 50-70 µs per parallel loop on a 2-core
// VM (the wake-up goes through the hypervisor), against 1-2 µs for a spinning one; a toy
// model's step has hundreds of loops. So the programs spin briefly: GOMP_SPINCOUNT=10000,
// about 0.1 ms, longer than the serial work between two loops of a step and short enough
// to give the core back soon. When another program does take a core, two threads lose to
// one whatever the wait, and a training step then runs on one thread (threads.h: the
// ThreadChooser times the steps and picks).
//
// libgomp reads GOMP_SPINCOUNT once, when the program is loaded, before main runs, so
// setting it from main is too late and there is no function to change it afterwards.
// This function therefore sets it and re-executes the program (/proc/self/exe, the same
// argv) so the OpenMP runtime starts with it. Call it first thing in main, before any
// OpenMP call. It does nothing when the user has set OMP_WAIT_POLICY or GOMP_SPINCOUNT
// (their choice wins), in a build without OpenMP, or where re-executing fails (then the
// program simply runs with libgomp's default).
#define THREADS_SPIN_COUNT "10000"
void threads_wait_briefly(char **argv);

#endif
