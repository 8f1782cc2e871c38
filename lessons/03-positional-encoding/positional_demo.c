// positional_demo.c: lesson 03. Draws the sinusoidal positional encodings of §3.5 in
// the terminal: a few dimensions as curves over positions, the whole table as a shaded
// matrix, the wavelengths, and the property that makes them useful: PE(pos)·PE(pos+k)
// depends on the offset k only.
//
//   build/positional_demo                        d_model 64, positions 0..63
//   build/positional_demo --dims 0,1,10,20 --positions 100
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "positional.h"

enum { MAX_DIMS = 8, PLOT_HEIGHT = 9 };
static const double TWO_PI = 6.28318530717958647692;  // strict C11 has no M_PI

static void usage(FILE *out) {
    fprintf(out,
            "usage: positional_demo [options]\n"
            "Prints the sinusoidal positional encoding of the paper, section 3.5:\n"
            "  PE(pos,2i) = sin(pos / 10000^(2i/d_model)), PE(pos,2i+1) = cos(same).\n"
            "  --d-model D     even, 2..1024 (default 64)\n"
            "  --positions P   how many positions to draw, 2..200 (default 64)\n"
            "  --dims LIST     comma-separated dimensions to plot, up to 8 (default 0,2,4,8)\n"
            "  --help          this text\n");
}

static long parse_long(const char *opt, const char *value, long lo, long hi) {
    char *end = NULL;
    long v = value ? strtol(value, &end, 10) : 0;
    if (!value || *end || v < lo || v > hi)
        die("positional_demo: %s expects an integer in [%ld, %ld], got '%s'", opt, lo, hi,
            value ? value : "(nothing)");
    return v;
}

// One curve: values in [-1, 1] over positions, as rows of characters, +1 at the top.
static void plot_dimension(const float *pe, int positions, int d_model, int dim) {
    double wavelength = TWO_PI * pow(10000.0, (double)(dim - dim % 2) / d_model);
    printf("\ndimension %d = %s(pos / 10000^(%d/%d)), wavelength %.1f positions\n", dim,
           dim % 2 ? "cos" : "sin", dim - dim % 2, d_model, wavelength);
    for (int row = 0; row < PLOT_HEIGHT; row++) {
        double level = 1.0 - 2.0 * row / (PLOT_HEIGHT - 1);
        printf("%5.2f |", level);
        for (int pos = 0; pos < positions; pos++) {
            float v = pe[(long)pos * d_model + dim];
            int r = (int)lround((1.0 - v) / 2.0 * (PLOT_HEIGHT - 1));
            putchar(r == row ? '*' : row == PLOT_HEIGHT / 2 ? '-' : ' ');
        }
        putchar('\n');
    }
    printf("       +");
    for (int pos = 0; pos < positions; pos++) putchar(pos % 10 == 0 ? '|' : ' ');
    printf("\n        ");
    for (int pos = 0; pos < positions; pos += 10) printf("%-10d", pos);
    printf("  (position)\n");
}

// The table as a shaded matrix: one row per position, one column per dimension.
static void shade_table(const float *pe, int positions, int d_model) {
    static const char *shades[] = {" ", "░", "▒", "▓", "█"};
    int cols = d_model < 64 ? d_model : 64, rows = positions < 32 ? positions : 32;
    printf("\nThe table PE (rows: positions 0..%d, columns: dimensions 0..%d; "
           "blank = -1, █ = +1):\n", rows - 1, cols - 1);
    for (int pos = 0; pos < rows; pos++) {
        printf("%4d ", pos);
        for (int j = 0; j < cols; j++) {
            int s = (int)lround((pe[(long)pos * d_model + j] + 1.0f) / 2.0f * 4.0f);
            fputs(shades[s], stdout);
        }
        putchar('\n');
    }
}

// The pairs whose wavelengths are printed: 0, 1, 2, 4, 8, ... (doubling while below half
// the pairs), then the last pair. Returns the pair shown after i, or `pairs` to stop.
static int next_pair_shown(int i, int pairs) {
    if (i == pairs - 1) return pairs;      // the last pair was shown
    if (i == 0) return 1;
    if (i * 2 >= pairs) return pairs - 1;  // from the middle, jump to the last pair
    return i * 2;
}

int main(int argc, char **argv) {
    int d_model = 64, positions = 64, dims[MAX_DIMS] = {0, 2, 4, 8}, n_dims = 4;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage(stdout), 0;
        else if (!strcmp(a, "--d-model")) d_model = (int)parse_long(a, v, 2, 1024), i++;
        else if (!strcmp(a, "--positions")) positions = (int)parse_long(a, v, 2, 200), i++;
        else if (!strcmp(a, "--dims") && v) {
            n_dims = 0;
            char buf[256];
            snprintf(buf, sizeof buf, "%s", v);
            for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
                if (n_dims == MAX_DIMS) die("positional_demo: --dims takes at most %d dimensions", MAX_DIMS);
                dims[n_dims++] = (int)parse_long("--dims", t, 0, 1023);
            }
            if (n_dims == 0) die("positional_demo: --dims expects dimensions such as 0,2,4,8, got '%s'", v);
            i++;
        } else {
            fprintf(stderr, "positional_demo: unknown option '%s' (try --help)\n", a);
            return 2;
        }
    }
    if (d_model % 2) die("positional_demo: --d-model must be even (sin/cos pairs), got %d", d_model);
    for (int k = 0; k < n_dims; k++)
        if (dims[k] >= d_model) die("positional_demo: dimension %d is not below d_model %d", dims[k], d_model);

    float *pe = xmalloc(sizeof(float) * positions * d_model);
    positional_encoding_table(pe, positions, d_model);

    printf("Sinusoidal positional encoding, d_model = %d (paper section 3.5)\n", d_model);
    printf("\nFirst positions, first dimensions (pos 0 is [0, 1, 0, 1, ...]):\n  pos");
    int show = d_model < 8 ? d_model : 8;
    for (int j = 0; j < show; j++) printf("   dim %d", j);
    putchar('\n');
    for (int pos = 0; pos < 6 && pos < positions; pos++) {
        printf("  %3d", pos);
        for (int j = 0; j < show; j++) printf("  %6.3f", (double)pe[(long)pos * d_model + j]);
        putchar('\n');
    }

    for (int k = 0; k < n_dims; k++) plot_dimension(pe, positions, d_model, dims[k]);
    shade_table(pe, positions, d_model);

    printf("\nWavelengths 2*pi*10000^(2i/d_model) grow geometrically from 2*pi = 6.28 (i = 0)\n"
           "towards 10000*2*pi = 62832 (2i -> d_model):\n");
    for (int i = 0; i < d_model / 2; i = next_pair_shown(i, d_model / 2))
        printf("  pair i = %-3d (dims %3d,%3d): wavelength %10.1f positions\n", i, 2 * i, 2 * i + 1,
               TWO_PI * pow(10000.0, 2.0 * i / d_model));

    // sum_i sin(a)sin(b) + cos(a)cos(b) = sum_i cos(a - b): only the offset matters.
    printf("\nPE(pos) . PE(pos+k) depends on k only (each pair contributes cos(k*w_i)):\n"
           "     k   pos=0    pos=10   pos=%d\n", positions / 2);
    for (int k = 0; k <= 4 && k + positions / 2 < positions; k++) {
        printf("  %4d", k);
        int starts[3] = {0, 10, positions / 2};
        for (int s = 0; s < 3; s++) {
            const float *a = pe + (long)starts[s] * d_model, *b = pe + (long)(starts[s] + k) * d_model;
            double dot = 0;
            for (int j = 0; j < d_model; j++) dot += (double)a[j] * b[j];
            printf("  %7.3f", dot);
        }
        putchar('\n');
    }
    free(pe);
    return 0;
}
