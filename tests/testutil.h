// testutil.h: what the cmocka tests share: reading PyTorch fixture files, comparing
// arrays, and checking a backward pass against central finite differences.
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

// ---- fixtures ---------------------------------------------------------------------
// A fixture file (written by tests/fixtures/*.py, format in tests/fixtures/fixture_io.py)
// is text: for each tensor a header line "tensor NAME n d0 d1 ... d(n-1)" followed by
// its d0*d1*... values in row-major order, written with 9 significant digits so
// float32 values survive the round trip exactly. Lines starting with '#' are comments.
typedef struct {
    char name[64];
    int ndim;
    int dims[8];
    long count;
    float *values;
} FixtureTensor;

typedef struct {
    int count;
    FixtureTensor *tensors;
} Fixture;

// Loads path (relative to the repository root, where `make test` runs). Fails the
// current test with the file, line and what was expected if the file is malformed.
Fixture *fixture_load(const char *path);
// The tensor called name, which must hold exactly `count` values (fails the test if
// it is missing or has another size). The memory belongs to the fixture.
float *fixture_get(Fixture *fx, const char *name, long count);
void fixture_free(Fixture *fx);

// ---- integers, in decimal ------------------------------------------------------------
// cmocka's assert_int_equal prints both sides in hexadecimal ("0xc != 0xd", and -1 as
// 0xffffffffffffffff), which is no help to a student; every test includes this header,
// so the macro is replaced by one that fails with "n_merges is 12, expected 13 (want)"
// in decimal (also in hexadecimal when the expected side is written in hexadecimal).
void assert_ints_equal(long long got, long long expected, const char *got_text,
                       const char *expected_text, const char *file, int line);
void assert_ints_differ(long long got, long long other, const char *got_text,
                        const char *other_text, const char *file, int line);
#undef assert_int_equal
#define assert_int_equal(a, b) \
    assert_ints_equal((long long)(a), (long long)(b), #a, #b, __FILE__, __LINE__)
#undef assert_int_not_equal
#define assert_int_not_equal(a, b) \
    assert_ints_differ((long long)(a), (long long)(b), #a, #b, __FILE__, __LINE__)

// ---- comparisons ------------------------------------------------------------------
// Fails the test, naming `what` and the worst index, unless every |a-b| <= tol. a is
// the array under test ("got") and b the reference it must match ("expected").
void assert_arrays_close(const char *what, const float *a, const float *b, long n, float tol);

// ---- scratch buffers ---------------------------------------------------------------
// n floats of garbage (allocated; free it): a different value in [-100, 100] in each,
// for the scratch buffer a backward pass is handed, as a buffer reused from the step
// before would hold. A backward that accumulates into its scratch without zeroing it
// first gets wrong gradients with it. A fresh xmalloc is no such test: AddressSanitizer
// fills it with one constant byte, and a constant added to a whole row of dP, say,
// cancels in the softmax backward.
float *garbage_floats(long n);

// ---- finite differences -----------------------------------------------------------
// A scalar function of some parameters, computed by running a forward pass. ctx
// carries whatever the forward needs. Return double so summing does not add error.
typedef double (*ScalarFn)(void *ctx);

typedef struct {
    float max_abs_error;  // max |analytic - numeric|
    float max_rel_error;  // max |a - n| / max(|a| + |n|, floor)
    long worst_index;
    float worst_analytic, worst_numeric;
} GradCheck;

// Compares grad[i] (the analytic dL/dx[i] from a backward pass) with the central
// difference (L(x+eps) - L(x-eps)) / 2eps at `samples` indices of x spread evenly
// over [0,n) (all indices when samples >= n). x is restored afterwards.
GradCheck grad_check(ScalarFn loss, void *ctx, float *x, const float *grad, long n,
                     int samples, float eps);

// Fails the test naming `what` unless the check's max_rel_error <= tol; prints the
// check either way so a reader sees how close it was.
void assert_grad_ok(const char *what, GradCheck check, float tol);

#endif
