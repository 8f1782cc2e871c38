// testutil.c: fixtures, comparisons and finite-difference checks (see testutil.h).
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

Fixture *fixture_load(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("%s: cannot open fixture (run tests from the repository root)", path);
    Fixture *fx = xcalloc(1, sizeof *fx);
    int capacity = 0, line_no = 0;
    char line[1024];
    FixtureTensor *current = NULL;
    long filled = 0;
    while (fgets(line, sizeof line, f)) {
        line_no++;
        if (line[0] == '#' || line[0] == '\n') continue;
        if (strncmp(line, "tensor ", 7) == 0) {
            if (current && filled != current->count)
                fail_msg("%s:%d: tensor %s has %ld values, expected %ld", path, line_no,
                         current->name, filled, current->count);
            if (fx->count == capacity) {
                capacity = capacity ? 2 * capacity : 16;
                fx->tensors = realloc(fx->tensors, sizeof(FixtureTensor) * (size_t)capacity);
            }
            current = &fx->tensors[fx->count++];
            memset(current, 0, sizeof *current);
            char *p = line + 7;
            int used = 0;
            if (sscanf(p, "%63s %d%n", current->name, &current->ndim, &used) != 2 ||
                current->ndim < 0 || current->ndim > 8)
                fail_msg("%s:%d: expected 'tensor NAME NDIM DIMS...'", path, line_no);
            p += used;
            current->count = 1;
            for (int d = 0; d < current->ndim; d++) {
                if (sscanf(p, "%d%n", &current->dims[d], &used) != 1 || current->dims[d] < 0)
                    fail_msg("%s:%d: expected %d dimensions", path, line_no, current->ndim);
                p += used;
                current->count *= current->dims[d];
            }
            current->values = xmalloc(sizeof(float) * (size_t)(current->count ? current->count : 1));
            filled = 0;
            continue;
        }
        if (!current) fail_msg("%s:%d: values before any 'tensor' line", path, line_no);
        char *p = line, *end;
        for (;;) {
            float v = strtof(p, &end);
            if (end == p) break;
            if (filled >= current->count)
                fail_msg("%s:%d: too many values for tensor %s", path, line_no, current->name);
            current->values[filled++] = v;
            p = end;
        }
    }
    fclose(f);
    if (current && filled != current->count)
        fail_msg("%s: tensor %s has %ld values, expected %ld", path, current->name, filled,
                 current->count);
    return fx;
}

float *fixture_get(Fixture *fx, const char *name, long count) {
    for (int i = 0; i < fx->count; i++) {
        if (strcmp(fx->tensors[i].name, name) == 0) {
            if (fx->tensors[i].count != count)
                fail_msg("fixture tensor %s has %ld values, test expected %ld", name,
                         fx->tensors[i].count, count);
            return fx->tensors[i].values;
        }
    }
    fail_msg("fixture has no tensor named %s", name);
    return NULL;
}

void fixture_free(Fixture *fx) {
    if (!fx) return;
    for (int i = 0; i < fx->count; i++) free(fx->tensors[i].values);
    free(fx->tensors);
    free(fx);
}

void assert_ints_equal(long long got, long long expected, const char *got_text,
                       const char *expected_text, const char *file, int line) {
    if (got == expected) return;
    if (strstr(expected_text, "0x") || strstr(expected_text, "0X"))
        print_error("ERROR: %s is %lld (0x%llx), expected %lld (0x%llx: %s)\n", got_text, got,
                    (unsigned long long)got, expected, (unsigned long long)expected, expected_text);
    else if (strcmp(expected_text, "0") == 0 || strspn(expected_text, "-0123456789") == strlen(expected_text))
        print_error("ERROR: %s is %lld, expected %lld\n", got_text, got, expected);
    else
        print_error("ERROR: %s is %lld, expected %lld (%s)\n", got_text, got, expected, expected_text);
    _fail(file, line);
}

void assert_ints_differ(long long got, long long other, const char *got_text,
                        const char *other_text, const char *file, int line) {
    if (got != other) return;
    print_error("ERROR: %s is %lld, which it must not be (%s)\n", got_text, got, other_text);
    _fail(file, line);
}

void assert_arrays_close(const char *what, const float *a, const float *b, long n, float tol) {
    long worst = -1;
    float worst_diff = 0.0f;
    for (long i = 0; i < n; i++) {
        float d = fabsf(a[i] - b[i]);
        if (isnan(d)) d = INFINITY;
        if (d > worst_diff) worst_diff = d, worst = i;
    }
    print_message("  %-40s max |diff| %.3g (tolerance %.1g)\n", what, (double)worst_diff, (double)tol);
    if (worst_diff > tol)
        fail_msg("%s: index %ld differs: got %.9g, expected %.9g (|diff| %.3g > %.1g)", what, worst,
                 (double)a[worst], (double)b[worst], (double)worst_diff, (double)tol);
}

GradCheck grad_check(ScalarFn loss, void *ctx, float *x, const float *grad, long n,
                     int samples, float eps) {
    GradCheck check = {0};
    check.worst_index = -1;
    long count = samples >= n ? n : samples;
    for (long s = 0; s < count; s++) {
        long i = count == n ? s : (long)((double)s * (double)n / (double)count);
        float saved = x[i];
        x[i] = saved + eps;
        double plus = loss(ctx);
        x[i] = saved - eps;
        double minus = loss(ctx);
        x[i] = saved;
        // The actual step may differ from 2*eps after float rounding; divide by it.
        double step = (double)(saved + eps) - (double)(saved - eps);
        float numeric = (float)((plus - minus) / step);
        float analytic = grad[i];
        float abs_err = fabsf(analytic - numeric);
        // The floor keeps gradients that are ~0 both ways from counting as large relative
        // errors; it is far below the size of any real gradient in these tests.
        float rel_err = abs_err / fmaxf(fabsf(analytic) + fabsf(numeric), 1e-3f);
        if (abs_err > check.max_abs_error) check.max_abs_error = abs_err;
        if (rel_err > check.max_rel_error || check.worst_index < 0) {
            check.max_rel_error = rel_err;
            check.worst_index = i;
            check.worst_analytic = analytic;
            check.worst_numeric = numeric;
        }
    }
    return check;
}

void assert_grad_ok(const char *what, GradCheck check, float tol) {
    print_message("  grad %-35s max rel err %.2e, abs %.2e (tolerance %.0e)\n", what,
                  (double)check.max_rel_error, (double)check.max_abs_error, (double)tol);
    if (!(check.max_rel_error <= tol))
        fail_msg("%s: gradient wrong at index %ld: analytic %.6g, numeric %.6g (rel err %.2e > %.0e)",
                 what, check.worst_index, (double)check.worst_analytic, (double)check.worst_numeric,
                 (double)check.max_rel_error, (double)tol);
}

float *garbage_floats(long n) {
    float *x = xmalloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    uint64_t state = 0x9e3779b97f4a7c15ull;
    for (long i = 0; i < n; i++) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;  // an LCG step
        x[i] = (float)((double)(state >> 40) / (double)(1ull << 24) * 200.0 - 100.0);
    }
    return x;
}
