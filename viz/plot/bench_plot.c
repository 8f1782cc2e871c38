// bench_plot.c: a line chart as a PNG, drawn headless (SDL's software renderer on a
// surface, no window, no display) from a small text file that `make bench`
// (lessons/08-training/bench_torch.py) writes next to build/bench.txt. The lesson pages
// show the charts it made: no Python plotting, the project draws its own pictures.
//
//   build/bench-plot DATA.txt OUT.png [--font FILE.ttf]
//
// DATA.txt, one directive per line (blank lines and lines starting with # are skipped):
//   title TEXT        the chart's title            xlabel TEXT / ylabel TEXT  axis names
//   note TEXT         a line under the chart (what was measured, when, where)
//   logx / logy       logarithmic axis (values must be > 0)
//   series NAME       starts a curve; the lines after it are its points "X Y"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <SDL.h>
#include <SDL_ttf.h>

#include "common.h"
#include "png.h"

#define PLOT_MAX_SERIES 6
#define PLOT_MAX_POINTS 256
#define PLOT_TEXT 160
#define PLOT_W 960
#define PLOT_H 600

// One curve: its name in the legend and its n points.
typedef struct {
    char name[PLOT_TEXT];
    int n;
    double x[PLOT_MAX_POINTS], y[PLOT_MAX_POINTS];
} Series;

// The whole chart as read from the data file.
typedef struct {
    char title[PLOT_TEXT], xlabel[PLOT_TEXT], ylabel[PLOT_TEXT], note[2 * PLOT_TEXT];
    bool logx, logy;
    int n_series;
    Series series[PLOT_MAX_SERIES];
} Chart;

// One axis's data range and how it maps onto pixels [p0, p1] (p1 < p0 for the y axis).
typedef struct {
    double lo, hi;
    bool log;
    int p0, p1;
} Axis;

// Copies the text after a directive's first space into out (cap bytes), newline dropped.
static void rest_of_line(char *out, size_t cap, const char *line) {
    const char *p = strchr(line, ' ');
    snprintf(out, cap, "%s", p ? p + 1 : "");
    out[strcspn(out, "\r\n")] = 0;
}

// Reads the data file (format at the top) into c; dies with the line on a bad one.
static void chart_read(Chart *c, const char *path) {
    memset(c, 0, sizeof *c);
    FILE *f = xfopen(path, "r");
    char line[512];
    for (int number = 1; fgets(line, sizeof line, f); number++) {
        double x, y;
        if (line[0] == '#' || line[strspn(line, " \t\r\n")] == 0) continue;
        if (strncmp(line, "title ", 6) == 0) rest_of_line(c->title, sizeof c->title, line);
        else if (strncmp(line, "xlabel ", 7) == 0) rest_of_line(c->xlabel, sizeof c->xlabel, line);
        else if (strncmp(line, "ylabel ", 7) == 0) rest_of_line(c->ylabel, sizeof c->ylabel, line);
        else if (strncmp(line, "note ", 5) == 0) rest_of_line(c->note, sizeof c->note, line);
        else if (strncmp(line, "logx", 4) == 0) c->logx = true;
        else if (strncmp(line, "logy", 4) == 0) c->logy = true;
        else if (strncmp(line, "series ", 7) == 0 && c->n_series < PLOT_MAX_SERIES)
            rest_of_line(c->series[c->n_series++].name, PLOT_TEXT, line);
        else if (sscanf(line, "%lf %lf", &x, &y) == 2 && c->n_series > 0 && isfinite(x) && isfinite(y)) {
            Series *s = &c->series[c->n_series - 1];
            if (s->n < PLOT_MAX_POINTS) s->x[s->n] = x, s->y[s->n++] = y;
        } else {
            die("%s:%d: cannot read '%.*s'", path, number, (int)strcspn(line, "\r\n"), line);
        }
    }
    xfclose(f);
}

// The data range of every point's x (or y) coordinate, widened a little on a linear
// axis (and to include 0 when the data are all positive, so bars of speed start at 0).
static Axis axis_range(const Chart *c, bool y, bool log, int p0, int p1) {
    Axis a = {INFINITY, -INFINITY, log, p0, p1};
    for (int s = 0; s < c->n_series; s++)
        for (int i = 0; i < c->series[s].n; i++) {
            double v = y ? c->series[s].y[i] : c->series[s].x[i];
            if (log && !(v > 0)) die("a logarithmic axis needs values > 0 (got %g)", v);
            a.lo = fmin(a.lo, v), a.hi = fmax(a.hi, v);
        }
    if (!(a.lo <= a.hi)) a.lo = 0, a.hi = 1;
    if (log) {
        a.lo /= 1.3, a.hi *= 1.3;
    } else {
        if (y && a.lo > 0) a.lo = 0;
        double pad = (a.hi - a.lo) * 0.05 + (a.hi == a.lo);
        a.hi += pad;
        if (a.lo < 0 || !y) a.lo -= pad;
    }
    return a;
}

// The pixel coordinate of value v on axis a.
static int axis_pixel(const Axis *a, double v) {
    double f = a->log ? (log(v) - log(a->lo)) / (log(a->hi) - log(a->lo)) : (v - a->lo) / (a->hi - a->lo);
    return a->p0 + (int)lround(f * (a->p1 - a->p0));
}

// Tick values for axis a into ticks (at most cap): 1-2-5 steps on a linear axis; on a
// log axis 1, 2, 5 times powers of ten. Returns how many.
static int axis_ticks(const Axis *a, double *ticks, int cap) {
    int n = 0;
    if (a->log) {
        for (double decade = pow(10, floor(log10(a->lo))); decade <= a->hi && n < cap; decade *= 10)
            for (int m = 0; m < 3 && n < cap; m++) {
                double v = decade * (m == 0 ? 1 : m == 1 ? 2 : 5);
                if (v >= a->lo && v <= a->hi) ticks[n++] = v;
            }
        return n;
    }
    double raw = (a->hi - a->lo) / 6, step = pow(10, floor(log10(raw)));
    step *= raw / step > 5 ? 10 : raw / step > 2 ? 5 : raw / step > 1 ? 2 : 1;
    for (double v = ceil(a->lo / step) * step; v <= a->hi + 1e-9 * step && n < cap; v += step)
        ticks[n++] = fabs(v) < 1e-9 * step ? 0 : v;
    return n;
}

// Draws text with its anchor at (x, y): align 0 left, 1 centre, 2 right; vertically
// centred. Rotated a quarter turn anticlockwise when vertical (the y axis label).
static void draw_text(SDL_Renderer *r, TTF_Font *font, const char *text, int x, int y, int align,
                      SDL_Color colour, bool vertical) {
    if (!text[0]) return;
    SDL_Surface *s = TTF_RenderUTF8_Blended(font, text, colour);
    if (!s) return;
    SDL_Texture *t = SDL_CreateTextureFromSurface(r, s);
    int w = vertical ? s->h : s->w, h = vertical ? s->w : s->h;
    SDL_Rect box = {x - (align * w) / 2, y - h / 2, w, h};
    if (t && vertical) {
        SDL_Rect unrotated = {box.x + (w - s->w) / 2, box.y + (h - s->h) / 2, s->w, s->h};
        SDL_RenderCopyEx(r, t, NULL, &unrotated, -90.0, NULL, SDL_FLIP_NONE);
    } else if (t) {
        SDL_RenderCopy(r, t, NULL, &box);
    }
    if (t) SDL_DestroyTexture(t);
    SDL_FreeSurface(s);
}

// A tick label: short (12k, 3.5, 250, 0.05).
static void format_tick(char *out, size_t cap, double v) {
    if (fabs(v) >= 10000) snprintf(out, cap, "%gk", v / 1000);
    else snprintf(out, cap, "%g", v);
}

// The colours of the curves, told apart also in grey (dark, mid, light).
static SDL_Color series_colour(int s) {
    static const SDL_Color colours[PLOT_MAX_SERIES] = {
        {31, 90, 180, 255}, {214, 96, 20, 255}, {40, 150, 60, 255},
        {150, 50, 150, 255}, {120, 120, 120, 255}, {200, 40, 40, 255}};
    return colours[s % PLOT_MAX_SERIES];
}

// The grid, the ticks and their labels of both axes.
static void draw_axes(SDL_Renderer *r, TTF_Font *font, const Axis *ax, const Axis *ay) {
    SDL_Color ink = {40, 40, 40, 255};
    double ticks[64];
    char label[32];
    int n = axis_ticks(ax, ticks, 64);
    for (int i = 0; i < n; i++) {
        int px = axis_pixel(ax, ticks[i]);
        SDL_SetRenderDrawColor(r, 225, 225, 225, 255);
        SDL_RenderDrawLine(r, px, ay->p1, px, ay->p0);
        format_tick(label, sizeof label, ticks[i]);
        draw_text(r, font, label, px, ay->p0 + 14, 1, ink, false);
    }
    n = axis_ticks(ay, ticks, 64);
    for (int i = 0; i < n; i++) {
        int py = axis_pixel(ay, ticks[i]);
        SDL_SetRenderDrawColor(r, 225, 225, 225, 255);
        SDL_RenderDrawLine(r, ax->p0, py, ax->p1, py);
        format_tick(label, sizeof label, ticks[i]);
        draw_text(r, font, label, ax->p0 - 8, py, 2, ink, false);
    }
    SDL_SetRenderDrawColor(r, 40, 40, 40, 255);
    SDL_Rect frame = {ax->p0, ay->p1, ax->p1 - ax->p0 + 1, ay->p0 - ay->p1 + 1};
    SDL_RenderDrawRect(r, &frame);
}

// One curve: 3-pixel-wide segments between its points and a square marker on each.
static void draw_series(SDL_Renderer *r, const Series *s, SDL_Color colour, const Axis *ax, const Axis *ay) {
    SDL_SetRenderDrawColor(r, colour.r, colour.g, colour.b, 255);
    for (int i = 0; i < s->n; i++) {
        int x = axis_pixel(ax, s->x[i]), y = axis_pixel(ay, s->y[i]);
        SDL_Rect marker = {x - 3, y - 3, 7, 7};
        SDL_RenderFillRect(r, &marker);
        if (i == 0) continue;
        int x0 = axis_pixel(ax, s->x[i - 1]), y0 = axis_pixel(ay, s->y[i - 1]);
        for (int d = -1; d <= 1; d++) {
            SDL_RenderDrawLine(r, x0 + d, y0, x + d, y);
            SDL_RenderDrawLine(r, x0, y0 + d, x, y + d);
        }
    }
}

// The legend's box (x, y, w, h) for the series' names at its top-left corner (x, y).
static SDL_Rect legend_box(TTF_Font *font, const Chart *c, int x, int y) {
    int width = 0;
    for (int s = 0; s < c->n_series; s++) {
        int w = 0;
        TTF_SizeUTF8(font, c->series[s].name, &w, NULL);
        if (w > width) width = w;
    }
    return (SDL_Rect){x, y, width + 50, 24 * c->n_series + 4};
}

// Where the legend hides the fewest points: the top-left corner of its box, in one of
// the plot area's four corners (ties: top-left first).
static SDL_Point legend_place(TTF_Font *font, const Chart *c, const Axis *ax, const Axis *ay) {
    SDL_Rect box = legend_box(font, c, 0, 0);
    SDL_Point best = {0, 0};
    int fewest = -1;
    for (int corner = 0; corner < 4; corner++) {
        int x = corner % 2 ? ax->p1 - box.w - 8 : ax->p0 + 8, y = corner < 2 ? ay->p1 + 4 : ay->p0 - box.h - 4;
        int hidden = 0;
        for (int s = 0; s < c->n_series; s++)
            for (int i = 0; i < c->series[s].n; i++) {
                int px = axis_pixel(ax, c->series[s].x[i]), py = axis_pixel(ay, c->series[s].y[i]);
                hidden += px >= x - 8 && px <= x + box.w + 8 && py >= y - 8 && py <= y + box.h + 8;
            }
        if (fewest < 0 || hidden < fewest) fewest = hidden, best = (SDL_Point){x, y};
    }
    return best;
}

// The legend with its box's top-left corner at (x, y), on white over the grid and the
// curves: a colour swatch and each series' name.
static void draw_legend(SDL_Renderer *r, TTF_Font *font, const Chart *c, int x, int y) {
    SDL_Color ink = {40, 40, 40, 255};
    SDL_Rect box = legend_box(font, c, x, y);
    SDL_SetRenderDrawColor(r, 255, 255, 255, 255);
    SDL_RenderFillRect(r, &box);
    SDL_SetRenderDrawColor(r, 200, 200, 200, 255);
    SDL_RenderDrawRect(r, &box);
    for (int s = 0; s < c->n_series; s++) {
        SDL_Color colour = series_colour(s);
        SDL_SetRenderDrawColor(r, colour.r, colour.g, colour.b, 255);
        SDL_Rect swatch = {x + 8, y + 14 + 24 * s - 3, 24, 6};
        SDL_RenderFillRect(r, &swatch);
        draw_text(r, font, c->series[s].name, x + 40, y + 14 + 24 * s, 0, ink, false);
    }
}

// Draws the whole chart into renderer r (PLOT_W x PLOT_H).
static void chart_draw(SDL_Renderer *r, TTF_Font *font, TTF_Font *big, const Chart *c) {
    SDL_SetRenderDrawColor(r, 255, 255, 255, 255);
    SDL_RenderClear(r);
    Axis ax = axis_range(c, false, c->logx, 90, PLOT_W - 30);
    Axis ay = axis_range(c, true, c->logy, PLOT_H - 90, 60);
    draw_axes(r, font, &ax, &ay);
    for (int s = 0; s < c->n_series; s++) draw_series(r, &c->series[s], series_colour(s), &ax, &ay);
    SDL_Color ink = {20, 20, 20, 255}, dim = {90, 90, 90, 255};
    SDL_Point legend = legend_place(font, c, &ax, &ay);
    draw_legend(r, font, c, legend.x, legend.y);
    draw_text(r, big, c->title, PLOT_W / 2, 28, 1, ink, false);
    draw_text(r, font, c->xlabel, (ax.p0 + ax.p1) / 2, PLOT_H - 52, 1, ink, false);
    draw_text(r, font, c->ylabel, 24, (ay.p0 + ay.p1) / 2, 1, ink, true);
    draw_text(r, font, c->note, PLOT_W / 2, PLOT_H - 22, 1, dim, false);
}

// Renders the chart into a surface with SDL's software renderer and writes the PNG.
static bool chart_write_png(const Chart *c, const char *font_path, const char *out, ErrorMessage *err) {
    if (TTF_Init() != 0) return error_set(err, "TTF_Init: %s", TTF_GetError());
    TTF_Font *font = TTF_OpenFont(font_path, 15), *big = TTF_OpenFont(font_path, 20);
    SDL_Surface *surface = SDL_CreateRGBSurfaceWithFormat(0, PLOT_W, PLOT_H, 32, SDL_PIXELFORMAT_ARGB8888);
    SDL_Renderer *r = surface ? SDL_CreateSoftwareRenderer(surface) : NULL;
    bool ok = false;
    if (!font || !big) {
        error_set(err, "%s: cannot open the font (Debian: sudo apt-get install fonts-dejavu-core)", font_path);
    } else if (!r) {
        error_set(err, "cannot make a software renderer: %s", SDL_GetError());
    } else {
        chart_draw(r, font, big, c);
        unsigned char *rgb = xmalloc((size_t)PLOT_W * PLOT_H * 3);
        ok = SDL_RenderReadPixels(r, NULL, SDL_PIXELFORMAT_RGB24, rgb, PLOT_W * 3) == 0
                 ? png_write_rgb(out, rgb, PLOT_W, PLOT_H, PLOT_W * 3, err)
                 : error_set(err, "cannot read the picture back: %s", SDL_GetError());
        free(rgb);
    }
    if (r) SDL_DestroyRenderer(r);
    if (surface) SDL_FreeSurface(surface);
    if (font) TTF_CloseFont(font);
    if (big) TTF_CloseFont(big);
    TTF_Quit();
    return ok;
}

// Reads the chart from DATA.txt and writes it as OUT.png (usage at the top).
int main(int argc, char **argv) {
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: %s DATA.txt OUT.png [--font FILE.ttf]\n\n"
               "Draws a line chart as a PNG, headless (no window, no display), from DATA.txt: one\n"
               "directive per line, 'title TEXT', 'xlabel TEXT', 'ylabel TEXT', 'note TEXT', 'logx',\n"
               "'logy', 'series NAME' and then its points 'X Y' (the format is described at the top\n"
               "of viz/plot/bench_plot.c). `make bench` writes such files next to build/bench.txt.\n",
               argv[0]);
        return 0;
    }
    if (argc != 3 && !(argc == 5 && strcmp(argv[3], "--font") == 0)) {
        fprintf(stderr, "usage: %s DATA.txt OUT.png [--font FILE.ttf] (format: viz/plot/bench_plot.c)\n", argv[0]);
        return 1;
    }
    Chart c;
    chart_read(&c, argv[1]);
    ErrorMessage err;
    if (!chart_write_png(&c, argc == 5 ? argv[4] : VIZ_FONT_PATH, argv[2], &err)) {
        fprintf(stderr, "%s: %s\n", argv[0], err.text);
        return 1;
    }
    printf("wrote %s\n", argv[2]);
    return 0;
}
