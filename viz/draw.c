// draw.c: the viewer's drawing code. It reads a ViewState and a Snapshot and never
// changes either; the only things it writes are the Painter's caches. See draw.h.
#include "draw.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "png.h"
#include "optimizer.h"
#include "positional.h"

static const double PI = 3.14159265358979323846;

// ---- colours -------------------------------------------------------------------------

static const SDL_Color BACKGROUND = {18, 18, 24, 255};
static const SDL_Color PANEL = {30, 30, 40, 255};
static const SDL_Color TEXT = {232, 232, 238, 255};
// Secondary text: grey on screen, near-white in presentation mode (a projector washes
// greys out); viz_draw picks one into p->dim for the frame.
static const SDL_Color DIM_SCREEN = {150, 150, 165, 255};
static const SDL_Color DIM_PRESENT = {215, 215, 225, 255};
static const SDL_Color ACCENT = {255, 184, 64, 255};
static const SDL_Color MASK = {62, 62, 68, 255};
static const SDL_Color HATCH = {104, 104, 112, 255};
static const SDL_Color GRID_LINE = {70, 70, 86, 255};
// Series colours for curves (distinct from one another and from the background).
static const SDL_Color SERIES[6] = {
    {86, 180, 233, 255}, {230, 159, 0, 255},  {0, 158, 115, 255},
    {204, 121, 167, 255}, {240, 228, 66, 255}, {213, 94, 0, 255},
};

SDL_Color viz_mask_color(void) { return MASK; }
SDL_Color viz_hatch_color(void) { return HATCH; }
SDL_Color viz_background_color(void) { return BACKGROUND; }

// Nine samples of the viridis colour map; between them, linear interpolation.
SDL_Color viz_colormap(float t) {
    static const unsigned char stops[9][3] = {
        {68, 1, 84},    {71, 44, 122},  {59, 81, 139},   {44, 113, 142}, {33, 144, 141},
        {39, 173, 129}, {92, 200, 99},  {170, 220, 50},  {253, 231, 37},
    };
    if (!(t > 0)) t = 0;  // also catches NaN
    if (t > 1) t = 1;
    float x = t * 8;
    int i = (int)x;
    if (i >= 8) i = 7;
    float f = x - (float)i;
    SDL_Color c = {0, 0, 0, 255};
    c.r = (Uint8)lroundf(stops[i][0] + f * (stops[i + 1][0] - stops[i][0]));
    c.g = (Uint8)lroundf(stops[i][1] + f * (stops[i + 1][1] - stops[i][1]));
    c.b = (Uint8)lroundf(stops[i][2] + f * (stops[i + 1][2] - stops[i][2]));
    return c;
}

// A diverging map for signed values in [-1, 1] (the PE matrix): blue, white, red.
static SDL_Color diverging(float v) {
    if (!(v == v)) v = 0;
    if (v < -1) v = -1;
    if (v > 1) v = 1;
    SDL_Color c = {0, 0, 0, 255};
    if (v < 0) {
        float f = -v;
        c.r = (Uint8)(245 - f * (245 - 33));
        c.g = (Uint8)(245 - f * (245 - 102));
        c.b = (Uint8)(245 - f * (245 - 172));
    } else {
        c.r = (Uint8)(245 - v * (245 - 178));
        c.g = (Uint8)(245 - v * (245 - 24));
        c.b = (Uint8)(245 - v * (245 - 43));
    }
    return c;
}

static void set_color(SDL_Renderer *r, SDL_Color c) {
    SDL_SetRenderDrawColor(r, c.r, c.g, c.b, c.a);
}

static void fill_rect(SDL_Renderer *r, int x, int y, int w, int h, SDL_Color c) {
    set_color(r, c);
    SDL_Rect rect = {x, y, w, h};
    SDL_RenderFillRect(r, &rect);
}

static void outline_rect(SDL_Renderer *r, int x, int y, int w, int h, SDL_Color c) {
    set_color(r, c);
    SDL_Rect rect = {x, y, w, h};
    SDL_RenderDrawRect(r, &rect);
}

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

// ---- state -----------------------------------------------------------------------------

void view_state_init(ViewState *st, int width, int height) {
    memset(st, 0, sizeof *st);
    st->view = VIEW_ATTENTION;
    st->kind = VIZ_CROSS;
    st->head = -1;
    st->mouse_x = st->mouse_y = -1;
    st->width = width;
    st->height = height;
    st->pe_pair = 0;
    st->pe_positions = 64;
    st->pe_shift = 4;
    st->captions = true;
    st->formula_row = -1;
    st->pinned_head = st->pinned_layer = -1;
}

// ---- fonts and the text cache ----------------------------------------------------------

static const char *DEFAULT_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

static void close_fonts(Painter *p) {
    for (int i = 0; i < VIZ_TEXT_CACHE; i++) {
        if (p->text[i].texture) SDL_DestroyTexture(p->text[i].texture);
        p->text[i].texture = NULL;
    }
    for (int f = 0; f < FONT_COUNT; f++) {
        if (p->fonts[f]) TTF_CloseFont(p->fonts[f]);
        p->fonts[f] = NULL;
    }
}

bool painter_resize(Painter *p, int height, ErrorMessage *err) {
    // About 48 lines of body text fit the window: 15 px at 720, 22 px at 1080.
    int base = height / 48;
    if (base < 10) base = 10;
    if (base > 64) base = 64;
    int want[FONT_COUNT] = {base * 4 / 5, base, base * 3 / 2};
    if (p->fonts[FONT_NORMAL] && want[FONT_NORMAL] == p->font_px[FONT_NORMAL]) return true;
    close_fonts(p);
    for (int f = 0; f < FONT_COUNT; f++) {
        p->font_px[f] = want[f];
        p->fonts[f] = TTF_OpenFont(p->font_path, want[f]);
        if (!p->fonts[f]) {
            bool is_default = strcmp(p->font_path, DEFAULT_FONT) == 0;
            return error_set(err, "%s: cannot open font (%s)%s", p->font_path, TTF_GetError(),
                             is_default ? "; install it with: sudo apt-get install fonts-dejavu-core"
                                        : "; choose another with --font PATH");
        }
    }
    return true;
}

bool painter_init(Painter *p, SDL_Renderer *r, const char *font_path, int height,
                  ErrorMessage *err) {
    memset(p, 0, sizeof *p);
    p->renderer = r;
    p->dim = DIM_SCREEN;
    viz_copy_text(p->font_path, (int)sizeof p->font_path, font_path ? font_path : DEFAULT_FONT);
    if (!TTF_WasInit() && TTF_Init() != 0) return error_set(err, "TTF_Init: %s", TTF_GetError());
    return painter_resize(p, height, err);
}

void painter_free(Painter *p) {
    close_fonts(p);
    free(p->pe);
    p->pe = NULL;
    if (p->pe_image) SDL_DestroyTexture(p->pe_image);
    if (p->pe_dot_image) SDL_DestroyTexture(p->pe_dot_image);
    p->pe_image = p->pe_dot_image = NULL;
    p->pe_d_model = p->pe_len = 0;
}

static Uint32 pack(SDL_Color c) {
    return (Uint32)c.r << 24 | (Uint32)c.g << 16 | (Uint32)c.b << 8 | c.a;
}

// A copy of surface turned a quarter left: pixel (x, y) goes to (y, w-1-x). Done on
// the pixels rather than by the renderer, so thin glyphs never fall between pixels.
static SDL_Surface *turn_left(SDL_Surface *src) {
    SDL_Surface *a = SDL_ConvertSurfaceFormat(src, SDL_PIXELFORMAT_ARGB8888, 0);
    if (!a) return NULL;
    SDL_Surface *b = SDL_CreateRGBSurfaceWithFormat(0, a->h, a->w, 32, SDL_PIXELFORMAT_ARGB8888);
    if (b) {
        SDL_LockSurface(a);
        SDL_LockSurface(b);
        for (int y = 0; y < a->h; y++) {
            const Uint32 *row = (const Uint32 *)((const Uint8 *)a->pixels + y * a->pitch);
            for (int x = 0; x < a->w; x++)
                *(Uint32 *)((Uint8 *)b->pixels + (a->w - 1 - x) * b->pitch + y * 4) = row[x];
        }
        SDL_UnlockSurface(b);
        SDL_UnlockSurface(a);
    }
    SDL_FreeSurface(a);
    return b;
}

// The cached texture for (text, font, colour, direction), made on first use. NULL for
// "". Lookup is a linear scan: a frame shows a few hundred strings at most.
static const TextEntry *text_get(Painter *p, FontId font, SDL_Color color, const char *s, bool up) {
    if (!s[0]) return NULL;
    Uint32 rgba = pack(color);
    int free_slot = -1, oldest = 0;
    for (int i = 0; i < VIZ_TEXT_CACHE; i++) {
        TextEntry *e = &p->text[i];
        if (!e->texture) {
            if (free_slot < 0) free_slot = i;
            continue;
        }
        if (e->font == font && e->rgba == rgba && e->up == up && strcmp(e->text, s) == 0) {
            e->last_used = p->frame;
            return e;
        }
        if (e->last_used < p->text[oldest].last_used) oldest = i;
    }
    int slot = free_slot >= 0 ? free_slot : oldest;
    TextEntry *e = &p->text[slot];
    if (e->texture) SDL_DestroyTexture(e->texture);
    e->texture = NULL;
    SDL_Surface *surface = TTF_RenderUTF8_Blended(p->fonts[font], s, color);
    if (!surface) return NULL;  // e.g. invalid UTF-8: draw nothing rather than fail
    if (up) {
        SDL_Surface *turned = turn_left(surface);
        SDL_FreeSurface(surface);
        if (!turned) return NULL;
        surface = turned;
    }
    e->texture = SDL_CreateTextureFromSurface(p->renderer, surface);
    e->w = surface->w;
    e->h = surface->h;
    SDL_FreeSurface(surface);
    if (!e->texture) return NULL;
    SDL_SetTextureBlendMode(e->texture, SDL_BLENDMODE_BLEND);
    viz_copy_text(e->text, VIZ_TEXT_CHARS, s);
    e->font = font;
    e->rgba = rgba;
    e->up = up;
    e->last_used = p->frame;
    return e;
}

typedef enum { ALIGN_LEFT, ALIGN_CENTER, ALIGN_RIGHT } Align;

// Draws s with its top at y, aligned on x. Returns its width.
static int draw_text(Painter *p, FontId font, SDL_Color color, int x, int y, Align align,
                     const char *s) {
    const TextEntry *e = text_get(p, font, color, s, false);
    if (!e) return 0;
    SDL_Rect dst = {x, y, e->w, e->h};
    if (align == ALIGN_CENTER) dst.x -= e->w / 2;
    if (align == ALIGN_RIGHT) dst.x -= e->w;
    SDL_RenderCopy(p->renderer, e->texture, NULL, &dst);
    return e->w;
}

static int draw_textf(Painter *p, FontId font, SDL_Color color, int x, int y, Align align,
                      const char *fmt, ...) __attribute__((format(printf, 7, 8)));
static int draw_textf(Painter *p, FontId font, SDL_Color color, int x, int y, Align align,
                      const char *fmt, ...) {
    char buf[VIZ_TEXT_CHARS];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return draw_text(p, font, color, x, y, align, buf);
}

static int text_width(Painter *p, FontId font, const char *s);

static const char ELLIPSIS[] = "\xe2\x80\xa6";  // U+2026 "…", 3 bytes

// "…" and the last n bytes of s (keep_end), or its first n bytes and "…", into out.
static void ellipsis_piece(char *out, size_t size, const char *s, size_t len, size_t n, bool keep_end) {
    if (keep_end) snprintf(out, size, "%s%s", ELLIPSIS, s + len - n);
    else snprintf(out, size, "%.*s%s", (int)n, s, ELLIPSIS);
}

// s shortened to fit max_w pixels with "…" where the cut is, into out (size bytes): its
// start (keep_end false) or its end (keep_end true), cut between UTF-8 characters; s
// itself when it fits. The longest piece that fits is found by bisection on the
// character boundaries.
static void fit_with_ellipsis(Painter *p, FontId font, const char *s, int max_w, bool keep_end, char *out,
                              size_t size) {
    size_t len = strlen(s);
    if (len < size && text_width(p, font, s) <= max_w) {
        memcpy(out, s, len + 1);
        return;
    }
    size_t lo = 0, hi = SDL_min(len, size - sizeof ELLIPSIS);  // bytes of s kept: lo always fits
    while (lo < hi) {
        size_t half = (lo + hi + 1) / 2, mid = half;  // moved onto a character boundary:
        if (keep_end) while (mid < len && ((unsigned char)s[len - mid] & 0xC0) == 0x80) mid++;
        else while (mid < len && ((unsigned char)s[mid] & 0xC0) == 0x80) mid++;
        if (mid > hi) {  // no boundary in [half, hi]
            hi = half - 1;
            continue;
        }
        ellipsis_piece(out, size, s, len, mid, keep_end);
        if (text_width(p, font, out) <= max_w) lo = mid;
        else hi = mid - 1;
    }
    ellipsis_piece(out, size, s, len, lo, keep_end);
}

// Draws s like draw_text (left aligned) but at most max_w pixels wide: a longer text is
// cut at the end with "…", so it cannot run into the text beside it and the cut shows.
static void draw_text_clipped(Painter *p, FontId font, SDL_Color color, int x, int y, int max_w,
                              const char *s) {
    if (max_w <= 0) return;
    char fitted[VIZ_TEXT_CHARS + 8];
    fit_with_ellipsis(p, font, s, max_w, false, fitted, sizeof fitted);
    const TextEntry *e = text_get(p, font, color, fitted, false);
    if (!e) return;
    int w = SDL_min(e->w, max_w);
    SDL_Rect src = {0, 0, w, e->h}, dst = {x, y, w, e->h};
    SDL_RenderCopy(p->renderer, e->texture, &src, &dst);
}

// Draws s right-aligned on x, at most max_w pixels wide: a longer label loses its
// beginning to "…", so the end ("... -> predicted token") stays next to the grid.
static void draw_text_right_clipped(Painter *p, FontId font, SDL_Color color, int x, int y, int max_w,
                                    const char *s) {
    if (max_w <= 0) return;
    char fitted[VIZ_TEXT_CHARS + 8];
    fit_with_ellipsis(p, font, s, max_w, true, fitted, sizeof fitted);
    const TextEntry *e = text_get(p, font, color, fitted, false);
    if (!e) return;
    int w = SDL_min(e->w, max_w);
    SDL_Rect src = {e->w - w, 0, w, e->h}, dst = {x - w, y, w, e->h};
    SDL_RenderCopy(p->renderer, e->texture, &src, &dst);
}

// Draws s turned a quarter left (reading upwards), centred on column cx, its end at
// `bottom`: column labels above a heatmap, axis titles beside it.
static void draw_text_up(Painter *p, FontId font, SDL_Color color, int cx, int bottom,
                         const char *s) {
    const TextEntry *e = text_get(p, font, color, s, true);
    if (!e) return;
    SDL_Rect dst = {cx - e->w / 2, bottom - e->h, e->w, e->h};
    SDL_RenderCopy(p->renderer, e->texture, NULL, &dst);
}

static int text_width(Painter *p, FontId font, const char *s) {
    int w = 0, h = 0;
    if (s[0] && TTF_SizeUTF8(p->fonts[font], s, &w, &h) != 0) return 0;
    return w;
}

static int line_height(const Painter *p, FontId font) { return p->font_px[font] * 5 / 4 + 2; }

// ---- the frame around the views --------------------------------------------------------

static const char *VIEW_NAMES[VIEW_COUNT] = {"Attention", "Positional encoding", "Training"};

static int header_height(const Painter *p) { return line_height(p, FONT_BIG) + 8; }
static int footer_height(const Painter *p) { return line_height(p, FONT_SMALL) + 6; }
static int margin(const Painter *p) { return p->font_px[FONT_NORMAL]; }

// One field of the header's status line and how much it matters: when the line does not
// fit, the fields of the highest `rank` go first (a field is never cut in the middle, so
// "REPLAY" never reads "PLAY").
typedef struct {
    char text[96];
    int rank;  // 0 = kept to the last
} StatusField;

enum { STATUS_FIELDS = 7 };

// The status fields, in reading order: the task (and REPLAY), "step N / total", the loss,
// the learning rate, the speed, what is going on (training, paused, finished, playing, a
// loaded model), the time left. Returns how many (at most STATUS_FIELDS).
static int header_status(StatusField *f, const ViewState *st, const Snapshot *s) {
    int n = 0;
#define FIELD(r, ...) (snprintf(f[n].text, sizeof f[n].text, __VA_ARGS__), f[n++].rank = (r))
    if (s->version == 0) {
        FIELD(0, "waiting for the first snapshot ...");
        return n;
    }
    if (s->replay) FIELD(0, "REPLAY %s", s->task);
    else FIELD(0, "%s", s->task);
    if (s->total_steps > 0) FIELD(1, "step %ld / %ld", s->step, s->total_steps);
    else if (s->step > 0) FIELD(1, "step %ld", s->step);
    if (s->replay) {
        FIELD(3, "loss %.3f", s->train_loss);
        FIELD(2, "%s", st->playing ? "playing" : "space plays");
    } else if (s->history_len == 0) {  // nothing trained (yet, or a loaded model)
        FIELD(2, "%s", s->finished ? "not training" : "starting ...");
    } else {
        FIELD(3, "loss %.3f", s->train_loss);
        FIELD(6, "lr %.2e", s->lr);
        FIELD(5, "%.0f tok/s", s->tokens_per_sec);
        FIELD(2, "%s", s->finished ? "finished" : (s->paused || st->paused) ? "PAUSED" : "training");
        if (!s->finished && s->seconds_left >= 0) {
            long t = lroundf(s->seconds_left);
            FIELD(4, "%ld:%02ld left", t / 60, t % 60);
        }
    }
#undef FIELD
    return n;
}

// The fields of rank <= max_rank joined by three spaces, into out.
static void join_status(char *out, size_t size, const StatusField *f, int n, int max_rank) {
    size_t used = 0;
    out[0] = 0;
    for (int i = 0; i < n; i++) {
        if (f[i].rank > max_rank) continue;
        const char *sep = used ? "   " : "";
        size_t add = strlen(sep) + strlen(f[i].text);
        if (used + add + 1 > size) break;
        memcpy(out + used, sep, strlen(sep));
        memcpy(out + used + strlen(sep), f[i].text, strlen(f[i].text) + 1);
        used += add;
    }
}

static void draw_header(Painter *p, const ViewState *st, const Snapshot *s) {
    int hh = header_height(p), m = margin(p);
    fill_rect(p->renderer, 0, 0, st->width, hh, PANEL);
    int x = m, y = (hh - line_height(p, FONT_NORMAL)) / 2;
    for (int v = 0; v < VIEW_COUNT; v++) {
        char label[64];
        snprintf(label, sizeof label, "%d  %s", v + 1, VIEW_NAMES[v]);
        SDL_Color c = v == (int)st->view ? ACCENT : p->dim;
        int w = draw_text(p, FONT_NORMAL, c, x, y, ALIGN_LEFT, label);
        if (v == (int)st->view) fill_rect(p->renderer, x, hh - 4, w, 3, ACCENT);
        x += w + 2 * m;
    }
    // The status in what room the view tabs leave: smaller text first, then without the
    // fields that matter least, whole fields at a time; only the first is ever cut.
    StatusField fields[STATUS_FIELDS];
    int n = header_status(fields, st, s), room = st->width - m - x;
    char right[STATUS_FIELDS * 100];
    join_status(right, sizeof right, fields, n, STATUS_FIELDS);
    FontId font = text_width(p, FONT_NORMAL, right) <= room ? FONT_NORMAL : FONT_SMALL;
    for (int rank = STATUS_FIELDS - 1; rank > 0 && text_width(p, font, right) > room; rank--)
        join_status(right, sizeof right, fields, n, rank - 1);
    int fy = (hh - line_height(p, font)) / 2;
    draw_text_right_clipped(p, font, s->replay ? ACCENT : TEXT, st->width - m, fy, room, right);
}

static void draw_footer(Painter *p, const ViewState *st, const Snapshot *s) {
    int fh = footer_height(p), m = margin(p), y = st->height - fh;
    fill_rect(p->renderer, 0, y, st->width, fh, PANEL);
    const char *hint = st->editing
        ? "typing: every key is text; Enter translates the sentence, Esc or a click elsewhere leaves"
        : st->present ? ""
        : st->has_replay && st->has_live
            ? "h help   1/2/3 views   space play/pause   , . frame   r recording/live   tab kind"
              "   up/down layer   left/right head   c captions   p present   s save   q quit"
        : st->has_replay ? "h help   1/2/3 views   space play/pause   , . frame   tab kind"
                           "   up/down layer   left/right head   c captions   p present   s save   q quit"
        : s->version > 0 && s->finished
            ? "h help   1/2/3 views   tab kind   up/down layer   left/right head"
              "   c captions   p present   click the box to type   s save PNG   q quit"
            : "h help   1/2/3 views   space pause   tab kind   up/down layer   left/right head"
              "   c captions   p present   click the box to type   s save PNG   q quit";
    int hint_w = draw_text(p, FONT_SMALL, st->editing ? ACCENT : p->dim, m, y + 3, ALIGN_LEFT, hint);
    char right[sizeof st->message + 32] = "";
    if (st->message[0]) snprintf(right, sizeof right, "%s", st->message);
    else if (s->status[0]) snprintf(right, sizeof right, "%s", s->status);
    if (st->fps > 0) {
        size_t n = strlen(right);
        snprintf(right + n, sizeof right - n, "%s%.0f fps", n ? "   " : "", st->fps);
    }
    // The message wins over the key hints when both do not fit (a saved file's full path).
    int rw = text_width(p, FONT_SMALL, right);
    if (hint_w + rw + 2 * m > st->width) fill_rect(p->renderer, 0, y, st->width, fh, PANEL);
    draw_text(p, FONT_SMALL, ACCENT, st->width - m, y + 3, ALIGN_RIGHT, right);
}

// ---- captions, warnings and the replay slider ---------------------------------------------

SDL_Rect viz_slider_rect(Painter *p, const ViewState *st) {
    SDL_Rect r = {0, 0, 0, 0};
    if (!st->has_replay || st->replay_frames < 1) return r;
    int m = margin(p), h = line_height(p, FONT_SMALL) + 4;
    r.x = m + 12 * p->font_px[FONT_SMALL];
    r.w = st->width - r.x - m;
    r.y = st->height - footer_height(p) - h - 2;
    r.h = h;
    return r;
}

int viz_slider_frame(Painter *p, const ViewState *st, int x) {
    SDL_Rect r = viz_slider_rect(p, st);
    if (r.w <= 1 || st->replay_frames <= 1) return 0;
    int f = (int)lround((double)(x - r.x) / (r.w - 1) * (st->replay_frames - 1));
    return clampi(f, 0, st->replay_frames - 1);
}

// The time slider of a replay: a track, a mark per recorded frame's position, the knob.
static void draw_slider(Painter *p, const ViewState *st, const Snapshot *s) {
    SDL_Rect r = viz_slider_rect(p, st);
    if (r.w <= 0) return;
    int m = margin(p);
    fill_rect(p->renderer, 0, r.y - 2, st->width, r.h + 4, PANEL);
    draw_text(p, FONT_SMALL, st->replay ? ACCENT : p->dim, m, r.y + 2, ALIGN_LEFT,
              st->replay ? (st->playing ? "replay: playing" : "replay: paused") : "replay (r)");
    fill_rect(p->renderer, r.x, r.y + r.h / 2 - 2, r.w, 4, GRID_LINE);
    int x = r.x + (st->replay_frames > 1 ? st->replay_frame * (r.w - 1) / (st->replay_frames - 1) : 0);
    fill_rect(p->renderer, x - 4, r.y, 9, r.h, st->replay ? ACCENT : p->dim);
    if (s->replay && s->total_steps > 0)
        draw_textf(p, FONT_SMALL, TEXT, x + 8 < r.x + r.w / 2 ? x + 8 : x - 8, r.y + 2,
                   x + 8 < r.x + r.w / 2 ? ALIGN_LEFT : ALIGN_RIGHT, "step %ld", s->step);
}

// What the view on screen shows, in one line (c switches captions off); nothing for the
// training view of a loaded model, which has no curves to explain.
static const char *caption_for(const ViewState *st, const Snapshot *s) {
    if (st->view == VIEW_TRAINING && s->version > 0 && s->history_len == 0 && s->finished) return "";
    if (st->view == VIEW_POSITIONAL)
        return "Each position gets a vector of sines and cosines; dims 2i and 2i+1 turn at one frequency, "
               "so PE(pos+k) is a rotation of PE(pos) (§3.5).";
    if (st->view == VIEW_TRAINING)
        return "Loss falls as the model learns; the learning rate follows Eq. (3) (dot: now); "
               "entropy falls as attention sharpens; | marks a new probe sentence.";
    if (st->kind == VIZ_ENC_SELF)
        return "Row: a source token asking (query); column: the token it looks at (key); bright = weight near 1. "
               "\xe2\x96\x81 starts a word, </s> ends the sentence, <0x..> is a raw byte.";
    if (st->kind == VIZ_DEC_SELF)
        return "Row \"fed \xe2\x86\x92 predicts\": the decoder is fed the previous token and predicts the next "
               "(§3.1 shift); hatched cells are the future, masked (§3.2.3).";
    return "Row \"fed \xe2\x86\x92 predicts\": the decoder step that was fed one token and predicted the next; "
           "column: the source word it read while doing so.";
}

// The caption line above the footer (and the slider, if any); returns its height.
static int draw_caption(Painter *p, const ViewState *st, const Snapshot *s) {
    if (!st->captions) return 0;
    int m = margin(p), h = line_height(p, FONT_SMALL) + 2;
    SDL_Rect slider = viz_slider_rect(p, st);
    int y = (slider.w > 0 ? slider.y - 2 : st->height - footer_height(p)) - h;
    fill_rect(p->renderer, 0, y, st->width, h, BACKGROUND);
    draw_text_clipped(p, FONT_SMALL, st->present ? TEXT : p->dim, m, y + 1, st->width - 2 * m, caption_for(st, s));
    return h;
}

// The space the bottom strips (caption, slider, footer) take.
static int bottom_height(Painter *p, const ViewState *st) {
    SDL_Rect slider = viz_slider_rect(p, st);
    int h = footer_height(p) + (slider.w > 0 ? slider.h + 4 : 0);
    return h + (st->captions ? line_height(p, FONT_SMALL) + 2 : 0);
}

// ---- attention heatmaps ----------------------------------------------------------------

// The layer and head actually shown (the state may be ahead of a smaller model).
static int shown_layer(const ViewState *st, const Snapshot *s) {
    return clampi(st->layer, 0, s->n_layers > 0 ? s->n_layers - 1 : 0);
}

void viz_row_label(const Snapshot *s, VizKind kind, int r, char *out, int cap) {
    if (kind == VIZ_ENC_SELF) snprintf(out, (size_t)cap, "%s", s->src_tokens[r]);
    else if (s->tgt_next[r][0]) snprintf(out, (size_t)cap, "%s \xe2\x86\x92 %s", s->tgt_tokens[r], s->tgt_next[r]);
    else snprintf(out, (size_t)cap, "%s", s->tgt_tokens[r]);
}

// Row r's label in a buffer that lives until the next call (labels are drawn at once).
static const char *row_label(const Snapshot *s, VizKind kind, int r) {
    static char buf[2 * VIZ_TOKEN_CHARS + 8];
    viz_row_label(s, kind, r, buf, (int)sizeof buf);
    return buf;
}
static const char *col_label(const Snapshot *s, VizKind kind, int c) {
    return kind == VIZ_ENC_SELF || kind == VIZ_CROSS ? s->src_tokens[c] : s->tgt_tokens[c];
}

// The attention view's body: heatmaps on the left (x < split), legend and text on the right.
static SDL_Rect attention_area(Painter *p, const ViewState *st) {
    int m = margin(p);
    int top = header_height(p) + m + line_height(p, FONT_BIG) + m / 2;
    int bottom = st->height - bottom_height(p, st) - m;
    int split = st->width * 62 / 100;
    SDL_Rect a = {m, top, split - 2 * m, bottom - top};
    return a;
}

// Lays one heatmap of rows x cols into area, leaving room for labels if wanted.
// A box alone gets axis titles and label room fitted to its tokens; a box of a grid
// gets a fixed label room, so grids keep their place when the tokens change.
static HeatmapBox layout_one(Painter *p, const Snapshot *s, VizKind kind, SDL_Rect area,
                             int rows, int cols, bool labels, FontId font, bool titles) {
    HeatmapBox b;
    memset(&b, 0, sizeof b);
    b.rows = rows;
    b.cols = cols;
    b.labels = labels;
    b.area = area;
    int label_w = 0, label_h = 0, title = titles ? line_height(p, FONT_SMALL) + 2 : 0;
    if (labels) {
        for (int r = 0; r < rows; r++) {
            int w = text_width(p, font, row_label(s, kind, r));
            if (w > label_w) label_w = w;
        }
        for (int c = 0; c < cols; c++) {
            int w = text_width(p, font, col_label(s, kind, c));
            if (w > label_h) label_h = w;
        }
        label_w = SDL_min(label_w + 6, area.w / 4);
        label_h = SDL_min(label_h + 6, area.h / 4);
        if (!titles) {  // in a grid
            label_w = SDL_min(area.w / 4, 8 * p->font_px[font]);
            label_h = SDL_min(area.h / 4, 5 * p->font_px[font]);
        }
    }
    int avail_w = area.w - label_w - title, avail_h = area.h - label_h - title;
    int cell = SDL_min(avail_w / SDL_max(cols, 1), avail_h / SDL_max(rows, 1));
    b.cell = SDL_max(cell, 1);
    b.grid.x = area.x + title + label_w;
    b.grid.y = area.y + title + label_h;
    b.grid.w = b.cell * cols;
    b.grid.h = b.cell * rows;
    return b;
}

int viz_grid_columns(int n_heads) {
    int gc = 1;
    while (gc * gc < n_heads) gc++;
    return gc;
}

// Lays out n heatmaps in a grid of gc columns over area: box i shows layers[i], heads[i].
// The cells are sized for the longest the sentence has been (st->fit_rows, fit_cols), so
// they keep their place while the translation grows and shrinks.
static int layout_grid(Painter *p, const ViewState *st, const Snapshot *s, SDL_Rect area, int gc, int n,
                       const int *layers, const int *heads, HeatmapBox *boxes) {
    const VizAttention *a = &s->attn[st->kind];
    int gr = (n + gc - 1) / gc;
    int best_cell = SDL_min(area.w / gc / SDL_max(a->cols, st->fit_cols), area.h / gr / SDL_max(a->rows, st->fit_rows));
    int pw = area.w / gc, ph = area.h / gr;
    // Token labels only where they fit: a cell at least as tall as small text.
    bool labels = best_cell >= p->font_px[FONT_SMALL] * 3 / 2;
    for (int i = 0; i < n; i++) {
        SDL_Rect panel = {area.x + (i % gc) * pw, area.y + (i / gc) * ph + line_height(p, FONT_SMALL),
                          pw - margin(p) / 2, ph - line_height(p, FONT_SMALL) - margin(p) / 2};
        // Laid out for the longest size, then shown at the current one: same cells, same place.
        int fit_rows = SDL_max(a->rows, st->fit_rows), fit_cols = SDL_max(a->cols, st->fit_cols);
        boxes[i] = layout_one(p, s, st->kind, panel, fit_rows, fit_cols, labels, FONT_SMALL, false);
        boxes[i].rows = a->rows;
        boxes[i].cols = a->cols;
        boxes[i].grid.w = boxes[i].cell * a->cols;
        boxes[i].grid.h = boxes[i].cell * a->rows;
        boxes[i].layer = layers[i];
        boxes[i].head = heads[i];
    }
    return n;
}

int viz_heatmap_layout(Painter *p, const ViewState *st, const Snapshot *s, HeatmapBox boxes[VIZ_MAX_BOXES]) {
    if (s->version == 0 || s->n_heads <= 0 || s->n_layers <= 0) return 0;
    const VizAttention *a = &s->attn[st->kind];
    if (a->rows <= 0 || a->cols <= 0) return 0;
    SDL_Rect area = attention_area(p, st);
    int layer = shown_layer(st, s), head = st->head < 0 ? st->head : clampi(st->head, 0, s->n_heads - 1);
    int layers[VIZ_MAX_BOXES], heads[VIZ_MAX_BOXES];
    if (st->all_layers) {  // every layer (down) x every head (across) of this kind
        int n = s->n_layers * s->n_heads;
        for (int i = 0; i < n; i++) layers[i] = i / s->n_heads, heads[i] = i % s->n_heads;
        return layout_grid(p, st, s, area, s->n_heads, n, layers, heads, boxes);
    }
    if (head >= 0 && st->pinned_head >= 0 && (st->pinned_head != head || st->pinned_layer != layer)) {
        // Two heads side by side: the pinned one (b) and the current one.
        layers[0] = clampi(st->pinned_layer, 0, s->n_layers - 1), heads[0] = clampi(st->pinned_head, 0, s->n_heads - 1);
        layers[1] = layer, heads[1] = head;
        return layout_grid(p, st, s, area, 2, 2, layers, heads, boxes);
    }
    if (head >= 0 || head == VIZ_HEAD_AVERAGE) {
        boxes[0] = layout_one(p, s, st->kind, area, a->rows, a->cols, true, FONT_NORMAL, true);
        boxes[0].layer = layer;
        boxes[0].head = head;
        return 1;
    }
    // All heads: a grid whose shape depends on the head count only (4 heads: 2 x 2), so
    // it never jumps while the translation grows.
    for (int i = 0; i < s->n_heads; i++) layers[i] = layer, heads[i] = i;
    return layout_grid(p, st, s, area, viz_grid_columns(s->n_heads), s->n_heads, layers, heads, boxes);
}

float viz_box_weight(const Snapshot *s, VizKind kind, const HeatmapBox *b, int r, int c) {
    const VizAttention *a = &s->attn[kind];
    if (b->head >= 0) return a->weights[b->layer][b->head][r * a->cols + c];
    double sum = 0;  // the average of the layer's heads
    for (int hd = 0; hd < s->n_heads; hd++) sum += a->weights[b->layer][hd][r * a->cols + c];
    return s->n_heads > 0 ? (float)(sum / s->n_heads) : 0;
}

bool viz_hit_cell(Painter *p, const ViewState *st, const Snapshot *s, int x, int y, int *box,
                  int *row, int *col) {
    if (st->view != VIEW_ATTENTION) return false;
    HeatmapBox boxes[VIZ_MAX_BOXES];
    int n = viz_heatmap_layout(p, st, s, boxes);
    for (int i = 0; i < n; i++) {
        const SDL_Rect *g = &boxes[i].grid;
        if (x >= g->x && x < g->x + g->w && y >= g->y && y < g->y + g->h) {
            *box = i;
            *col = (x - g->x) / boxes[i].cell;
            *row = (y - g->y) / boxes[i].cell;
            return true;
        }
    }
    return false;
}

// A masked cell: grey with diagonal hatching, clipped to the cell by hand (no clip
// rectangle, so this stays cheap for thousands of cells).
static void draw_masked_cell(SDL_Renderer *r, int x, int y, int n) {
    fill_rect(r, x, y, n, n, MASK);
    if (n < 4) return;
    set_color(r, HATCH);
    int step = SDL_max(4, n / 3);
    // Lines x' + y' = k inside the n x n cell, for k = step, 2*step, ...
    for (int k = step / 2; k < 2 * n - 1; k += step) {
        int x0 = SDL_max(0, k - (n - 1)), x1 = SDL_min(n - 1, k);
        SDL_RenderDrawLine(r, x + x0, y + (k - x0), x + x1, y + (k - x1));
    }
}

static void draw_heatmap(Painter *p, const Snapshot *s, VizKind kind, const HeatmapBox *b,
                         FontId font) {
    const VizAttention *a = &s->attn[kind];
    int n = b->cell;
    int gap = n >= 6 ? 1 : 0;  // a hairline between cells once they are big enough
    fill_rect(p->renderer, b->grid.x - 1, b->grid.y - 1, b->grid.w + 2, b->grid.h + 2, GRID_LINE);
    for (int r = 0; r < b->rows; r++) {
        for (int c = 0; c < b->cols; c++) {
            int x = b->grid.x + c * n, y = b->grid.y + r * n;
            if (viz_cell_masked(a, r, c)) {
                draw_masked_cell(p->renderer, x, y, n - gap);
            } else {
                fill_rect(p->renderer, x, y, n - gap, n - gap, viz_colormap(viz_box_weight(s, kind, b, r, c)));
            }
        }
    }
    if (!b->labels) return;
    int lh = line_height(p, font);
    for (int r = 0; r < b->rows; r++) {
        int y = b->grid.y + r * n + (n - lh) / 2 + 1;
        int room = b->grid.x - 4 - b->area.x;
        const char *label = row_label(s, kind, r);
        char short_label[VIZ_TOKEN_CHARS + 8];
        if (kind != VIZ_ENC_SELF && s->tgt_next[r][0] && text_width(p, font, label) > room) {
            // No room for "fed -> predicts": the prediction alone, which is what the row is for.
            snprintf(short_label, sizeof short_label, "\xe2\x86\x92 %s", s->tgt_next[r]);
            label = short_label;
        }
        draw_text_right_clipped(p, font, TEXT, b->grid.x - 4, y, room, label);
    }
    for (int c = 0; c < b->cols; c++)
        draw_text_up(p, font, TEXT, b->grid.x + c * n + n / 2, b->grid.y - 4, col_label(s, kind, c));
}

static void draw_head_title(Painter *p, const ViewState *st, const HeatmapBox *b) {
    int y = b->area.y - line_height(p, FONT_SMALL);
    if (st->all_layers || st->pinned_head >= 0)
        draw_textf(p, FONT_SMALL, p->dim, b->area.x, y, ALIGN_LEFT, "layer %d head %d", b->layer + 1, b->head + 1);
    else
        draw_textf(p, FONT_SMALL, p->dim, b->area.x, y, ALIGN_LEFT, "head %d", b->head + 1);
}

static void draw_legend(Painter *p, int x, int y, int w, int h) {
    int lh = line_height(p, FONT_SMALL);
    draw_text(p, FONT_SMALL, p->dim, x, y, ALIGN_LEFT, "weight");
    y += lh;
    h -= 2 * lh + w + lh;
    if (h < 8) return;
    for (int i = 0; i < h; i++) {
        float t = 1.0f - (float)i / (float)(h - 1);  // top row is exactly 1
        fill_rect(p->renderer, x, y + i, w, 1, viz_colormap(t));
    }
    outline_rect(p->renderer, x - 1, y - 1, w + 2, h + 2, GRID_LINE);
    for (int k = 0; k <= 4; k++) {
        int ty = y + (h - 1) * k / 4;
        fill_rect(p->renderer, x + w, ty, 4, 1, p->dim);
        draw_textf(p, FONT_SMALL, p->dim, x + w + 6, ty - lh / 2, ALIGN_LEFT, "%.2f", 1.0 - 0.25 * k);
    }
    int my = y + h + lh / 2;
    draw_masked_cell(p->renderer, x, my, w);
    draw_text(p, FONT_SMALL, p->dim, x + w + 6, my + (w - lh) / 2, ALIGN_LEFT, "masked");
}

// The right column of the attention view: x and width.
static void right_column(Painter *p, const ViewState *st, int *x, int *w) {
    int m = margin(p), split = st->width * 62 / 100;
    int lw = SDL_max(12, p->font_px[FONT_NORMAL]);
    *x = split + lw + 5 * m;
    *w = st->width - *x - m;
}

// The box sits at a fixed place below room for VIZ_MAX_HYPS hypotheses, so it does not
// move as the beam finds fewer or more of them.
SDL_Rect viz_text_box_rect(Painter *p, const ViewState *st) {
    int x, w, m = margin(p);
    right_column(p, st, &x, &w);
    int lhs = line_height(p, FONT_SMALL), lhb = line_height(p, FONT_BIG), lh = line_height(p, FONT_NORMAL);
    int y = attention_area(p, st).y + 3 * lhs + 2 * lhb + m + VIZ_MAX_HYPS * lh + m / 2 + lhs;
    SDL_Rect r = {x, y, w, lh + 8};
    return r;
}

// A box of wrapped-by-hand lines: sentences are short, so cutting at the box edge is enough.
static void draw_text_box(Painter *p, const ViewState *st, int x, int y, int w) {
    int lh = line_height(p, FONT_NORMAL);
    fill_rect(p->renderer, x, y, w, lh + 8, st->editing ? (SDL_Color){44, 44, 60, 255} : PANEL);
    outline_rect(p->renderer, x, y, w, lh + 8, st->editing ? ACCENT : GRID_LINE);
    char shown[VIZ_TEXT_CHARS + 4];
    snprintf(shown, sizeof shown, "%s%s", st->input, st->editing ? "|" : "");
    if (!shown[0]) {
        draw_text_clipped(p, FONT_NORMAL, p->dim, x + 6, y + 4, w - 12, "click here (or press Enter) to type a sentence");
        return;
    }
    // Show the end of a long input (where the cursor is).
    const char *from = shown;
    while (text_width(p, FONT_NORMAL, from) > w - 12 && from[1]) {
        from++;
        while (((unsigned char)*from & 0xC0) == 0x80) from++;
    }
    draw_text(p, FONT_NORMAL, TEXT, x + 6, y + 4, ALIGN_LEFT, from);
}

static void draw_tooltip(Painter *p, const ViewState *st, int x, int y, const char *s) {
    int w = text_width(p, FONT_NORMAL, s) + 12, h = line_height(p, FONT_NORMAL) + 6;
    x += 16;
    y += 16;
    if (x + w > st->width) x = st->width - w;
    if (y + h > st->height) y = st->height - h;
    fill_rect(p->renderer, x, y, w, h, (SDL_Color){8, 8, 12, 255});
    outline_rect(p->renderer, x, y, w, h, ACCENT);
    draw_text(p, FONT_NORMAL, TEXT, x + 6, y + 3, ALIGN_LEFT, s);
}

// The panel's body when the snapshot keeps no q, k, v (a replay, the mean of heads):
// the scores as softmax recovers them from the weights, s_j − max_j s_j =
// log(p_j / p_max), exact up to the one constant per row that softmax ignores.
static void draw_formula_recovered(Painter *p, const ViewState *st, const Snapshot *s, const HeatmapBox *b,
                                   SDL_Rect box, int y) {
    int lhs = line_height(p, FONT_SMALL), r = st->formula_row, x = box.x + 8;
    const VizAttention *a = &s->attn[st->kind];
    draw_text(p, FONT_SMALL, p->dim, x, y, ALIGN_LEFT, "key");
    draw_text(p, FONT_SMALL, p->dim, x + box.w / 3, y, ALIGN_LEFT, "score \xe2\x88\x92 max");
    draw_text(p, FONT_SMALL, p->dim, x + 2 * box.w / 3, y, ALIGN_LEFT, "softmax = weight");
    y += lhs;
    float pmax = 0;
    for (int c = 0; c < b->cols; c++)
        if (!viz_cell_masked(a, r, c)) pmax = fmaxf(pmax, viz_box_weight(s, st->kind, b, r, c));
    double total = 0;
    for (int c = 0; c < b->cols && y + 2 * lhs < box.y + box.h; c++, y += lhs) {
        draw_text_clipped(p, FONT_SMALL, TEXT, x, y, box.w / 3 - 8, col_label(s, st->kind, c));
        if (viz_cell_masked(a, r, c)) {
            draw_text(p, FONT_SMALL, p->dim, x + box.w / 3, y, ALIGN_LEFT, "-inf (masked)");
            draw_text(p, FONT_SMALL, p->dim, x + 2 * box.w / 3, y, ALIGN_LEFT, "0");
            continue;
        }
        float w = viz_box_weight(s, st->kind, b, r, c);
        total += w;
        if (w > 0 && pmax > 0) draw_textf(p, FONT_SMALL, TEXT, x + box.w / 3, y, ALIGN_LEFT, "%+.2f", log(w / pmax));
        else draw_text(p, FONT_SMALL, TEXT, x + box.w / 3, y, ALIGN_LEFT, "< -12");
        draw_textf(p, FONT_SMALL, w == pmax ? ACCENT : TEXT, x + 2 * box.w / 3, y, ALIGN_LEFT, "%.4f", w);
    }
    draw_textf(p, FONT_SMALL, p->dim, x, y, ALIGN_LEFT, "sum %.4f; output = \xce\xa3 weight \xc2\xb7 v_j, %.0f%% from the top key", total,
               100.0 * pmax);
    y += lhs;
    draw_text_clipped(p, FONT_SMALL, p->dim, x, y, box.w - 16,
                      b->head < 0 ? "(the mean of heads has no single q, k, v: pick one head for them)"
                                  : "(scores from the weights: this snapshot keeps no q, k, v)");
}

// Columns of the step-by-step table: the key, q·k_j, ÷√d_k, the weight p_j, then as
// many of the d_k value dimensions as fit (at most 4); x positions are right edges.
typedef struct {
    int key_x, key_w;
    int raw_x, scaled_x, p_x;
    int v_x[4], n_v;
} FormulaColumns;

// Lays the table's columns out in a panel of width box_w starting at x.
static FormulaColumns formula_columns(Painter *p, int x, int box_w, int d_k) {
    FormulaColumns c;
    int num = text_width(p, FONT_SMALL, "+00.0") + 8;  // format_number's widest
    int v_num = num;
    c.key_x = x;
    c.key_w = SDL_max(40, box_w / 7);
    c.raw_x = x + c.key_w + num;
    c.scaled_x = c.raw_x + num;
    c.p_x = c.scaled_x + text_width(p, FONT_SMALL, "0.0000") + 8;
    int room = x + box_w - 16 - c.p_x;
    c.n_v = SDL_max(0, SDL_min(SDL_min(d_k, 4), room / v_num));
    for (int i = 0; i < c.n_v; i++) c.v_x[i] = c.p_x + (i + 1) * v_num;
    return c;
}

// A number in at most 5 characters ("+1.23", "+12.3", "+123", "+1234"), so the
// columns of the Eq. (1) table stay narrow and apart whatever the scale of the scores.
static void format_number(char *out, int cap, float x) {
    float a = fabsf(x);
    snprintf(out, (size_t)cap, a < 9.995f ? "%+.2f" : a < 99.95f ? "%+.1f" : "%+.0f", x);
}

// One row of the table: a key, its score, its scaled (or masked) score, its weight and
// the first value dimensions of v_j.
static void draw_formula_key(Painter *p, const Snapshot *s, const ViewState *st, const FormulaColumns *fc,
                             const VizFormula *f, int layer, int head, int c, int y, float pmax) {
    const VizAttention *a = &s->attn[st->kind];
    draw_text_clipped(p, FONT_SMALL, f->masked[c] ? p->dim : TEXT, fc->key_x, y, fc->key_w - 4, col_label(s, st->kind, c));
    char num[16];
    format_number(num, (int)sizeof num, f->raw[c]);
    draw_text(p, FONT_SMALL, f->masked[c] ? p->dim : TEXT, fc->raw_x, y, ALIGN_RIGHT, num);
    if (f->masked[c]) {
        draw_text(p, FONT_SMALL, p->dim, fc->scaled_x, y, ALIGN_RIGHT, "\xe2\x88\x92\xe2\x88\x9e");
        draw_text(p, FONT_SMALL, p->dim, fc->p_x, y, ALIGN_RIGHT, "0");
    } else {
        format_number(num, (int)sizeof num, f->scaled[c]);
        draw_text(p, FONT_SMALL, TEXT, fc->scaled_x, y, ALIGN_RIGHT, num);
        draw_textf(p, FONT_SMALL, f->weight[c] == pmax ? ACCENT : TEXT, fc->p_x, y, ALIGN_RIGHT, "%.4f", f->weight[c]);
    }
    for (int i = 0; i < fc->n_v; i++) {
        format_number(num, (int)sizeof num, a->v[layer][head][c * f->d_k + i]);
        draw_text(p, FONT_SMALL, f->masked[c] ? p->dim : TEXT, fc->v_x[i], y, ALIGN_RIGHT, num);
    }
}

// The panel's body from the kept q, k and v (viz_formula): q, then per key q·k_j, ÷√d_k
// (−∞ where masked), the softmax weight p_j and the first dimensions of v_j, then
// out = Σ_j p_j v_j under the v columns.
static void draw_formula_exact(Painter *p, const ViewState *st, const Snapshot *s, const HeatmapBox *b,
                               const VizFormula *f, SDL_Rect box, int y) {
    int lhs = line_height(p, FONT_SMALL), x = box.x + 8;
    char line[VIZ_TEXT_CHARS];
    int o = snprintf(line, sizeof line, "q =");
    for (int i = 0; i < f->d_k && o < (int)sizeof line - 12; i++)
        o += snprintf(line + o, sizeof line - (size_t)o, " %+.2f", s->attn[st->kind].q[b->layer][b->head][st->formula_row * f->d_k + i]);
    draw_text_clipped(p, FONT_SMALL, TEXT, x, y, box.w - 16, line);
    y += lhs;
    FormulaColumns fc = formula_columns(p, x, box.w, f->d_k);
    draw_text(p, FONT_SMALL, p->dim, fc.key_x, y, ALIGN_LEFT, "key j");
    draw_text(p, FONT_SMALL, p->dim, fc.raw_x, y, ALIGN_RIGHT, "q\xc2\xb7k_j");
    draw_textf(p, FONT_SMALL, p->dim, fc.scaled_x, y, ALIGN_RIGHT, "\xc3\xb7%.2f", sqrt((double)f->d_k));
    draw_text(p, FONT_SMALL, p->dim, fc.p_x, y, ALIGN_RIGHT, "p_j");
    for (int i = 0; i < fc.n_v; i++) draw_textf(p, FONT_SMALL, p->dim, fc.v_x[i], y, ALIGN_RIGHT, "v_j[%d]", i);
    y += lhs;
    float pmax = 0;
    double total = 0;
    for (int c = 0; c < f->cols; c++) pmax = fmaxf(pmax, f->weight[c]);
    int c = 0;
    for (; c < f->cols && y + 3 * lhs <= box.y + box.h; c++, y += lhs) {
        draw_formula_key(p, s, st, &fc, f, b->layer, b->head, c, y, pmax);
        total += f->weight[c];
    }
    if (c < f->cols) {
        draw_textf(p, FONT_SMALL, p->dim, fc.key_x, y, ALIGN_LEFT, "... %d more keys", f->cols - c);
        y += lhs;
    }
    for (; c < f->cols; c++) total += f->weight[c];
    fill_rect(p->renderer, fc.key_x, y, (fc.n_v > 0 ? fc.v_x[fc.n_v - 1] : fc.p_x) - fc.key_x, 1, GRID_LINE);
    draw_text(p, FONT_SMALL, ACCENT, fc.key_x, y + 1, ALIGN_LEFT, "out = \xce\xa3 p_j v_j");
    draw_textf(p, FONT_SMALL, p->dim, fc.p_x, y + 1, ALIGN_RIGHT, "\xce\xa3 %.4f", total);
    for (int i = 0; i < fc.n_v; i++) {
        char num[16];
        format_number(num, (int)sizeof num, f->out[i]);
        draw_text(p, FONT_SMALL, ACCENT, fc.v_x[i], y + 1, ALIGN_RIGHT, num);
    }
    y += lhs;
    bool masked = false;
    for (int j = 0; j < f->cols; j++) masked |= f->masked[j];
    snprintf(line, sizeof line, "the first %d of d_k = %d dimensions of v_j and out", fc.n_v, f->d_k);
    draw_text_clipped(p, FONT_SMALL, p->dim, x, y, box.w - 16, line);
    if (masked && y + 2 * lhs <= box.y + box.h)
        draw_text_clipped(p, FONT_SMALL, p->dim, x, y + lhs, box.w - 16,
                          "\xe2\x88\x92\xe2\x88\x9e: a masked key (the future, §3.2.3), so p_j = 0");
}

// Eq. (1) for one query row (a click on the row): softmax(q·k_j / √d_k) over the keys
// j the mask leaves, and the weighted sum of the values, with this model's numbers on
// this sentence when the snapshot keeps q, k and v (a live or explored model), else
// the scores recovered from the weights (a replay).
static void draw_formula(Painter *p, const ViewState *st, const Snapshot *s, const HeatmapBox *b, SDL_Rect box) {
    int lhs = line_height(p, FONT_SMALL), r = st->formula_row;
    if (box.h < 4 * lhs) return;
    fill_rect(p->renderer, box.x, box.y, box.w, box.h, PANEL);
    char row[2 * VIZ_TOKEN_CHARS + 8];
    viz_row_label(s, st->kind, r, row, (int)sizeof row);
    int y = box.y + 4, x = box.x + 8;
    draw_textf(p, FONT_NORMAL, ACCENT, x, y, ALIGN_LEFT, "Eq. (1) for row %s", row);
    y += line_height(p, FONT_NORMAL);
    VizFormula f;
    bool exact = b->head >= 0 && viz_formula(s, st->kind, b->layer, b->head, r, &f);
    char eq[160];
    if (exact)
        snprintf(eq, sizeof eq, "softmax(q\xc2\xb7k_j / \xe2\x88\x9a" "d_k) v_j, d_k = %d   (§3.2.1, layer %d head %d)",
                 f.d_k, b->layer + 1, b->head + 1);
    else
        snprintf(eq, sizeof eq, "Attention(Q,K,V) = softmax(QK\xe1\xb5\x80 / \xe2\x88\x9a" "d_k) V   (§3.2.1)");
    draw_text_clipped(p, FONT_SMALL, p->dim, x, y, box.w - 16, eq);
    y += lhs;
    if (exact) draw_formula_exact(p, st, s, b, &f, box, y);
    else draw_formula_recovered(p, st, s, b, box, y);
}

// The view's title: the kind of attention, and which layer(s) and head(s) are shown
// (counted from 1), into title (chars bytes).
static void attention_title(char *title, int chars, const ViewState *st, const Snapshot *s) {
    int layer = shown_layer(st, s);
    int nl = SDL_max(s->n_layers, 1), nh = SDL_max(s->n_heads, 1);
    const char *kind = viz_kind_name(st->kind);
    if (st->all_layers)
        snprintf(title, chars, "%s   all %d layers x %d heads", kind, nl, nh);
    else if (st->head == VIZ_HEAD_AVERAGE)
        snprintf(title, chars, "%s   layer %d/%d   mean of %d heads", kind, layer + 1, nl, nh);
    else if (st->head >= 0 && st->pinned_head >= 0)
        snprintf(title, chars, "%s   layer %d head %d  vs  layer %d head %d", kind, st->pinned_layer + 1,
                 st->pinned_head + 1, layer + 1, clampi(st->head, 0, nh - 1) + 1);
    else if (st->head >= 0)
        snprintf(title, chars, "%s   layer %d/%d   head %d/%d", kind, layer + 1, nl, clampi(st->head, 0, nh - 1) + 1, nh);
    else
        snprintf(title, chars, "%s   layer %d/%d   all %d heads", kind, layer + 1, nl, nh);
}

// What the rows and columns are: along the axes of a single heatmap, or after the title
// (title_width pixels wide) when there are several.
static void draw_axis_titles(Painter *p, const ViewState *st, const HeatmapBox *boxes, int n, int title_width) {
    int m = margin(p), top = header_height(p) + m / 2;
    SDL_Rect area = attention_area(p, st);
    if (n == 1) {
        // Axis titles: which tokens attend (rows) and which are attended to (columns).
        const char *rows = st->kind == VIZ_ENC_SELF ? "queries: source tokens (attending)"
                                                    : "queries: target tokens (attending)";
        const char *cols = st->kind == VIZ_DEC_SELF ? "keys: target tokens (attended to)"
                                                    : "keys: source tokens (attended to)";
        if (text_width(p, FONT_SMALL, rows) > boxes[0].grid.h) rows = "queries";  // a short grid
        draw_text_up(p, FONT_SMALL, p->dim, area.x + line_height(p, FONT_SMALL) / 2,
                     boxes[0].grid.y + boxes[0].grid.h, rows);
        draw_text(p, FONT_SMALL, p->dim, boxes[0].grid.x, area.y, ALIGN_LEFT, cols);
    } else if (n > 1) {
        int x = m + title_width + 2 * m;
        // A long sentence leaves the cells too small for token labels: say where to find them.
        const char *note = !boxes[0].labels ? "too many tokens to label here: left/right shows one head, labelled"
                           : st->kind == VIZ_ENC_SELF ? "rows: source queries   columns: source keys"
                           : st->kind == VIZ_DEC_SELF ? "rows: target queries   columns: target keys"
                                                      : "rows: target queries   columns: source keys";
        draw_text_clipped(p, FONT_SMALL, boxes[0].labels ? p->dim : ACCENT, x,
                          top + line_height(p, FONT_BIG) - line_height(p, FONT_SMALL) - 2, st->width - m - x, note);
    }
}

// The colour legend, just right of the n heatmaps (at most at 62% of the width).
static void draw_heatmap_legend(Painter *p, const ViewState *st, const HeatmapBox *boxes, int n) {
    int m = margin(p);
    SDL_Rect area = attention_area(p, st);
    int split = st->width * 62 / 100;
    int lw = SDL_max(12, p->font_px[FONT_NORMAL]), legend_x = split;
    for (int i = 0; i < n; i++)  // the legend sits just right of the heatmaps
        legend_x = i == 0 ? boxes[i].grid.x + boxes[i].grid.w : SDL_max(legend_x, boxes[i].grid.x + boxes[i].grid.w);
    legend_x = SDL_min(split, legend_x + 2 * m);
    draw_legend(p, legend_x, area.y, lw, area.h * 2 / 3);
}

// The right column from the top: the probe sentence, its translation, the beam's
// hypotheses with their scores, and the box to type a sentence in. Returns the y just
// below the box, where the formula panel and the cell under the mouse go.
static int draw_probe_column(Painter *p, const ViewState *st, const Snapshot *s, int x, int w) {
    int m = margin(p);
    int y = attention_area(p, st).y, lh = line_height(p, FONT_NORMAL);
    char caption[160];
    snprintf(caption, sizeof caption, "probe sentence (%s)", s->names.source[0] ? s->names.source : "source");
    draw_text_clipped(p, FONT_SMALL, p->dim, x, y, w, caption);
    y += line_height(p, FONT_SMALL);
    draw_text_clipped(p, FONT_BIG, TEXT, x, y, w, s->probe);
    y += line_height(p, FONT_BIG) + m / 2;
    const char *tgt = s->names.target[0] ? s->names.target : "";
    snprintf(caption, sizeof caption, "translation%s%s (%s)", tgt[0] ? " into " : "", tgt,
             s->replay ? "greedy, as recorded" : "best beam hypothesis");
    draw_text_clipped(p, FONT_SMALL, p->dim, x, y, w, caption);
    y += line_height(p, FONT_SMALL);
    draw_text_clipped(p, FONT_BIG, ACCENT, x, y, w,
                      s->version > 0 && !s->translation[0] && (s->n_hyps > 0 || s->replay) ? "(empty: </s> first)"
                                                                                          : s->translation);
    y += line_height(p, FONT_BIG) + m / 2;
    draw_text_clipped(p, FONT_SMALL, s->warning[0] ? ACCENT : p->dim, x, y, w,
                      s->warning[0] ? s->warning : s->replay ? "" : "beam hypotheses   score (log p / length penalty)");
    y += line_height(p, FONT_SMALL);
    for (int i = 0; i < SDL_min(s->n_hyps, VIZ_MAX_HYPS); i++) {
        int score_w = draw_textf(p, FONT_NORMAL, p->dim, x + w, y, ALIGN_RIGHT, "%.3f", s->hyp_scores[i]);
        char line[VIZ_TEXT_CHARS];
        snprintf(line, sizeof line, "%d. %s", i + 1, s->hyps[i][0] ? s->hyps[i] : "(empty)");
        draw_text_clipped(p, FONT_NORMAL, i == 0 ? TEXT : p->dim, x, y, w - score_w - m, line);
        y += lh;
    }
    SDL_Rect box = viz_text_box_rect(p, st);
    y = box.y;
    if (!s->replay) {
        draw_text_clipped(p, FONT_SMALL, st->editing ? ACCENT : p->dim, x, y - line_height(p, FONT_SMALL), w,
                          st->editing ? "your sentence (typing: keys are text, not shortcuts)" : "your sentence");
        draw_text_box(p, st, x, y, w);
    }
    return y + lh + 8 + m;
}

// The exact weight of the cell under the mouse, if any: in the right column at (x, y)
// and as a tooltip by the mouse.
static void draw_cell_under_mouse(Painter *p, const ViewState *st, const Snapshot *s, const HeatmapBox *boxes,
                                  int x, int y) {
    int bi, r, c;
    if (st->mouse_x < 0 || !viz_hit_cell(p, st, s, st->mouse_x, st->mouse_y, &bi, &r, &c)) return;
    const VizAttention *a = &s->attn[st->kind];
    char tip[VIZ_TEXT_CHARS];
    if (viz_cell_masked(a, r, c))
        snprintf(tip, sizeof tip, "row %s, key %s: masked", row_label(s, st->kind, r), col_label(s, st->kind, c));
    else
        snprintf(tip, sizeof tip, "row %s, key %s: %.4f", row_label(s, st->kind, r), col_label(s, st->kind, c),
                 viz_box_weight(s, st->kind, &boxes[bi], r, c));
    char head[32] = "mean of the heads";  // layers, heads, rows and columns count from 1
    if (boxes[bi].head >= 0) snprintf(head, sizeof head, "head %d", boxes[bi].head + 1);
    draw_textf(p, FONT_SMALL, p->dim, x, y, ALIGN_LEFT, "under the mouse: layer %d %s, row %d col %d",
               boxes[bi].layer + 1, head, r + 1, c + 1);
    draw_text(p, FONT_NORMAL, TEXT, x, y + line_height(p, FONT_SMALL), ALIGN_LEFT, tip);
    draw_tooltip(p, st, st->mouse_x, st->mouse_y, tip);
}

// The attention view: the title, the heatmaps of the layer(s) and head(s) chosen, their
// axes and legend, and the right column (probe, translation, beam, formula, the cell
// under the mouse).
static void draw_attention_view(Painter *p, const ViewState *st, const Snapshot *s) {
    int m = margin(p), top = header_height(p) + m / 2;
    SDL_Rect area = attention_area(p, st);
    char title[160];
    attention_title(title, sizeof title, st, s);
    draw_text(p, FONT_BIG, TEXT, m, top, ALIGN_LEFT, title);

    HeatmapBox boxes[VIZ_MAX_BOXES];
    int n = viz_heatmap_layout(p, st, s, boxes);
    if (n == 0) {
        draw_text(p, FONT_NORMAL, p->dim, area.x, area.y, ALIGN_LEFT, "no attention to show yet");
    }
    FontId font = n == 1 ? FONT_NORMAL : FONT_SMALL;
    for (int i = 0; i < n; i++) {
        if (n > 1) draw_head_title(p, st, &boxes[i]);
        draw_heatmap(p, s, st->kind, &boxes[i], font);
    }
    draw_axis_titles(p, st, boxes, n, text_width(p, FONT_BIG, title));

    // Right column: legend, then the sentence, its translation and the beam.
    draw_heatmap_legend(p, st, boxes, n);
    int x, w;
    right_column(p, st, &x, &w);
    int y = draw_probe_column(p, st, s, x, w);
    if (n == 1 && st->formula_row >= 0 && st->formula_row < boxes[0].rows) {
        SDL_Rect panel = {x, y + 2 * line_height(p, FONT_NORMAL), w, area.y + area.h - y - 2 * line_height(p, FONT_NORMAL)};
        draw_formula(p, st, s, &boxes[0], panel);
    }
    draw_cell_under_mouse(p, st, s, boxes, x, y);
}

// ---- line charts -----------------------------------------------------------------------

typedef struct {
    const char *name;
    SDL_Color color;
    float (*get)(const VizHistoryPoint *pt, const void *arg);
    const void *arg;
    // Known for every step in advance (Eq. (3)): drawn over the whole run, with a dot
    // at the current step; NULL for measured series.
    float (*at_step)(const Snapshot *s, long step);
} Series;

// Eq. (3) as the trainer uses it: lr_scale · d_model^-0.5 · min(step^-0.5, step · warmup^-1.5).
static float schedule_at(const Snapshot *s, long step) {
    return s->lr_scale * lrate_schedule(step, s->d_model, s->warmup);
}

static float get_train(const VizHistoryPoint *pt, const void *arg) { (void)arg; return pt->train_loss; }
static float get_val(const VizHistoryPoint *pt, const void *arg) { (void)arg; return pt->val_loss; }
static float get_lr(const VizHistoryPoint *pt, const void *arg) { (void)arg; return pt->lr; }
static float get_tps(const VizHistoryPoint *pt, const void *arg) { (void)arg; return pt->tokens_per_sec; }
static float get_entropy(const VizHistoryPoint *pt, const void *arg) {
    const int *kl = arg;
    return pt->entropy[kl[0]][kl[1]];
}

static void format_value(char *buf, size_t n, float v) {
    float a = fabsf(v);
    if (a != 0 && (a < 0.01f || a >= 100000)) snprintf(buf, n, "%.1e", v);
    else snprintf(buf, n, "%.3g", v);
}

// A series known in advance, one point per pixel column over [xmin, xmax], and a dot at
// the current step.
static void draw_known_series(Painter *p, SDL_Rect plot, const Snapshot *s, const Series *se, long xmin,
                              long xmax, float ymin, float ymax) {
    SDL_Point pts[2048];
    int n = SDL_min(plot.w, 2048);
    for (int i = 0; i < n; i++) {
        long step = xmin + (long)((double)(xmax - xmin) * i / SDL_max(n - 1, 1));
        float v = se->at_step(s, SDL_max(step, 1));
        pts[i].x = plot.x + i * (plot.w - 1) / SDL_max(n - 1, 1);
        pts[i].y = plot.y + plot.h - 1 - (int)lround((v - ymin) / (ymax - ymin) * (plot.h - 1));
    }
    set_color(p->renderer, se->color);
    SDL_RenderDrawLines(p->renderer, pts, n);
    if (s->step < 1) return;
    float v = se->at_step(s, s->step);
    int x = plot.x + (int)lround((double)(s->step - xmin) / (double)(xmax - xmin) * (plot.w - 1));
    int y = plot.y + plot.h - 1 - (int)lround((v - ymin) / (ymax - ymin) * (plot.h - 1));
    fill_rect(p->renderer, x - 4, y - 4, 9, 9, ACCENT);
    fill_rect(p->renderer, x, plot.y, 1, plot.h, p->dim);
}

// Whether the series has anything to draw: a known curve, or one finite measured point.
static bool series_has_points(const Snapshot *s, const Series *series) {
    if (series->at_step) return true;
    for (int i = 0; i < s->history_len; i++)
        if (isfinite(series->get(&s->history[i], series->arg))) return true;
    return false;
}

// A chart of series over the step axis, y from 0 (or the minimum, if negative) to the max.
static void draw_chart(Painter *p, SDL_Rect box, const char *title, const Snapshot *s,
                       const Series *series, int n_series) {
    int lh = line_height(p, FONT_SMALL);
    fill_rect(p->renderer, box.x, box.y, box.w, box.h, PANEL);
    draw_text(p, FONT_NORMAL, TEXT, box.x + 8, box.y + 4, ALIGN_LEFT, title);
    int lx = box.x + box.w - 8;
    for (int k = n_series - 1; k >= 0; k--) {  // legend, right-aligned on the title line
        if (!series_has_points(s, &series[k])) continue;  // e.g. no validation in a replay
        int w = draw_text(p, FONT_SMALL, series[k].color, lx, box.y + 6, ALIGN_RIGHT, series[k].name);
        lx -= w + 12;
    }
    int label_w = text_width(p, FONT_SMALL, "0.000e+00");
    SDL_Rect plot = {box.x + label_w + 12, box.y + line_height(p, FONT_NORMAL) + 10,
                     box.w - label_w - 24, box.h - line_height(p, FONT_NORMAL) - 10 - lh - 10};
    if (plot.w < 10 || plot.h < 10) return;
    float ymin = 0, ymax = 0;
    long xmin = 0, xmax = 1;
    if (s->history_len > 0) {
        xmin = s->history[0].step;
        xmax = SDL_max(s->history[s->history_len - 1].step, xmin + 1);
    }
    if (s->total_steps > 0) {  // the axis spans the whole run, so the curves grow into it
        xmin = 0;
        xmax = SDL_max(xmax, s->total_steps);
    }
    for (int k = 0; k < n_series; k++) {
        for (long step = 1; series[k].at_step && s->warmup > 0 && step <= xmax; step += SDL_max(1, xmax / 512)) {
            float v = series[k].at_step(s, step);
            if (v > ymax) ymax = v;
        }
        for (int i = 0; i < s->history_len; i++) {
            float v = series[k].get(&s->history[i], series[k].arg);
            if (isfinite(v)) {
                if (v > ymax) ymax = v;
                if (v < ymin) ymin = v;
            }
        }
    }
    if (ymax <= ymin) ymax = ymin + 1;
    ymax *= 1.05f;
    outline_rect(p->renderer, plot.x, plot.y, plot.w, plot.h, GRID_LINE);
    for (int k = 0; k <= 4; k++) {
        int y = plot.y + plot.h - 1 - (plot.h - 1) * k / 4;
        float v = ymin + (ymax - ymin) * (float)k / 4;
        char buf[32];
        format_value(buf, sizeof buf, v);
        draw_text(p, FONT_SMALL, p->dim, plot.x - 6, y - lh / 2, ALIGN_RIGHT, buf);
        if (k > 0 && k < 4) fill_rect(p->renderer, plot.x + 1, y, plot.w - 2, 1, (SDL_Color){40, 40, 52, 255});
    }
    draw_textf(p, FONT_SMALL, p->dim, plot.x, plot.y + plot.h + 3, ALIGN_LEFT, "step %ld", xmin);
    draw_textf(p, FONT_SMALL, p->dim, plot.x + plot.w, plot.y + plot.h + 3, ALIGN_RIGHT, "step %ld", xmax);
    // Where the probe sentence changed, the entropy of its attention jumps: mark it.
    for (int i = 0; i < s->history_len; i++) {
        if (!s->history[i].probe_changed) continue;
        int x = plot.x + (int)lround((double)(s->history[i].step - xmin) / (double)(xmax - xmin) * (plot.w - 1));
        for (int y = plot.y; y < plot.y + plot.h; y += 6) fill_rect(p->renderer, x, y, 1, 3, ACCENT);
    }
    for (int k = 0; k < n_series; k++)
        if (series[k].at_step && s->warmup > 0) draw_known_series(p, plot, s, &series[k], xmin, xmax, ymin, ymax);
    SDL_Point *pts = xmalloc(sizeof(SDL_Point) * (size_t)SDL_max(s->history_len, 1));
    for (int k = 0; k < n_series; k++) {
        if (series[k].at_step && s->warmup > 0) continue;
        int np = 0;
        set_color(p->renderer, series[k].color);
        for (int i = 0; i <= s->history_len; i++) {
            float v = i < s->history_len ? series[k].get(&s->history[i], series[k].arg) : NAN;
            // Points where a series was not measured (validation runs only now and then)
            // are skipped, so its measured points still join up into a line.
            if (i < s->history_len && !isfinite(v)) continue;
            if (isfinite(v)) {
                double fx = (double)(s->history[i].step - xmin) / (double)(xmax - xmin);
                double fy = (v - ymin) / (ymax - ymin);
                pts[np].x = plot.x + (int)lround(fx * (plot.w - 1));
                pts[np].y = plot.y + plot.h - 1 - (int)lround(fy * (plot.h - 1));
                np++;
                continue;
            }
            // A gap (NaN) or the end: draw what was collected. A lone point gets a dot.
            if (np == 1) SDL_RenderFillRect(p->renderer, &(SDL_Rect){pts[0].x - 1, pts[0].y - 1, 3, 3});
            if (np > 1) {
                SDL_RenderDrawLines(p->renderer, pts, np);
                for (int j = 0; j < np; j++) pts[j].y += 1;  // two pixels thick
                SDL_RenderDrawLines(p->renderer, pts, np);
            }
            np = 0;
        }
    }
    free(pts);
}

static void draw_training_view(Painter *p, const ViewState *st, const Snapshot *s) {
    int m = margin(p), top = header_height(p) + m;
    int bottom = st->height - bottom_height(p, st) - m;
    int h = bottom - top, w = st->width - 2 * m;
    int lw = w * 58 / 100;
    if (s->version > 0 && s->history_len == 0 && s->finished) {
        // A loaded model: no curves to draw, so say why instead of drawing empty charts.
        fill_rect(p->renderer, m, top, w, h, PANEL);
        int lh = line_height(p, FONT_NORMAL);
        draw_text(p, FONT_BIG, TEXT, m + 2 * lh, top + 2 * lh, ALIGN_LEFT, "no training history");
        draw_text(p, FONT_NORMAL, p->dim, m + 2 * lh, top + 4 * lh, ALIGN_LEFT,
                  "This model was loaded from a checkpoint, so there are no curves of its training.");
        char how[sizeof s->model_history + 96];
        if (s->model_history[0])
            snprintf(how, sizeof how, "Its run was recorded: build/transformer-viz --replay %s", s->model_history);
        else
            snprintf(how, sizeof how, "To watch a run: --replay data/fr-en.history (recorded), or --task fr-en (train live).");
        draw_text_clipped(p, FONT_NORMAL, p->dim, m + 2 * lh, top + 5 * lh, w - 4 * lh, how);
        return;
    }
    SDL_Rect loss = {m, top, lw, h * 55 / 100};
    SDL_Rect lr = {m, top + loss.h + m, lw, h - loss.h - m};
    Series ls[2] = {{"train (label-smoothed)", SERIES[0], get_train, NULL, NULL},
                    {"validation", SERIES[1], get_val, NULL, NULL}};
    draw_chart(p, loss, "loss (cross-entropy, nats per token)", s, ls, 2);
    Series lrs[1] = {{"whole run, dot: now", SERIES[2], get_lr, NULL, schedule_at}};
    // the trainer's --lr-scale multiplies Eq. (3) (0.2 for the toy tasks): the title says so
    char lr_title[128], scale[32] = "";
    if (s->lr_scale != 1.0f) snprintf(scale, sizeof scale, "%g \xc2\xb7 ", (double)s->lr_scale);
    snprintf(lr_title, sizeof lr_title,
             "lr = %sd_model^-0.5 \xc2\xb7 min(step^-0.5, step \xc2\xb7 warmup^-1.5)  Eq. (3)", scale);
    draw_chart(p, lr, lr_title, s, lrs, 1);

    int rx = m + lw + m, rw = st->width - rx - m;
    SDL_Rect ent = {rx, top, rw, h * 55 / 100};
    static const int kinds[VIZ_MAX_LAYERS][2] = {{0, 0}, {0, 1}, {0, 2}, {0, 3}, {0, 4}, {0, 5}};
    int kl[VIZ_MAX_LAYERS][2];
    Series es[VIZ_MAX_LAYERS];
    char names[VIZ_MAX_LAYERS][24];
    int nl = SDL_min(s->n_layers, VIZ_MAX_LAYERS);
    for (int l = 0; l < nl; l++) {
        kl[l][0] = st->kind;
        kl[l][1] = kinds[l][1];
        snprintf(names[l], sizeof names[l], "layer %d", l + 1);
        es[l] = (Series){names[l], SERIES[l % 6], get_entropy, kl[l], NULL};
    }
    char title[128];
    static const char *short_kind[VIZ_KINDS] = {"encoder self", "decoder self", "cross"};
    snprintf(title, sizeof title, "mean attention entropy (nats): %s", short_kind[st->kind]);
    draw_chart(p, ent, title, s, es, nl);

    SDL_Rect info = {rx, top + ent.h + m, rw, h - ent.h - m};
    fill_rect(p->renderer, info.x, info.y, info.w, info.h, PANEL);
    int y = info.y + 6, x = info.x + 10, lh = line_height(p, FONT_NORMAL);
    char val[32];  // a recording holds the training loss only; a live run validates now and then
    snprintf(val, sizeof val, "%s", s->replay ? "not recorded" : "not yet");
    if (isfinite(s->val_loss)) snprintf(val, sizeof val, "%.3f", s->val_loss);
    draw_textf(p, FONT_NORMAL, TEXT, x, y, ALIGN_LEFT, "task %s   step %ld", s->task, s->step);
    y += lh;
    draw_textf(p, FONT_NORMAL, TEXT, x, y, ALIGN_LEFT, "train loss %.3f   validation %s", s->train_loss, val);
    y += lh;
    if (s->replay) draw_textf(p, FONT_NORMAL, TEXT, x, y, ALIGN_LEFT, "lr %.3e   (recorded run)", s->lr);
    else draw_textf(p, FONT_NORMAL, TEXT, x, y, ALIGN_LEFT, "lr %.3e   %.0f tokens/s", s->lr, s->tokens_per_sec);
    y += lh;
    draw_textf(p, FONT_NORMAL, p->dim, x, y, ALIGN_LEFT, "N=%d layers  d_model=%d  h=%d heads", s->n_layers,
               s->d_model, s->n_heads);
    y += lh;
    draw_text(p, FONT_NORMAL, (s->paused || st->paused) ? ACCENT : p->dim, x, y, ALIGN_LEFT,
              s->replay ? (st->playing ? "replay playing (space pauses)" : "replay paused (space plays)")
              : s->finished ? "finished" : (s->paused || st->paused) ? "PAUSED (space resumes)"
                                                                 : "training (space pauses)");
    y += lh;
    draw_text(p, FONT_SMALL, p->dim, x, y, ALIGN_LEFT, "entropy: log(n) = uniform, 0 = one key; tab: kind");
    y += line_height(p, FONT_SMALL) + 4;
    SDL_Rect tps = {info.x, y, info.w, info.y + info.h - y};
    Series ts[1] = {{"tokens/s", SERIES[4], get_tps, NULL, NULL}};
    if (tps.h > 6 * lh && !s->replay) draw_chart(p, tps, "training speed (target tokens per second)", s, ts, 1);
}

// ---- positional encoding ---------------------------------------------------------------

// Rebuilds the PE table and its two images when d_model or the length changed.
static void ensure_pe(Painter *p, int d_model, int len) {
    if (p->pe && p->pe_d_model == d_model && p->pe_len == len) return;
    free(p->pe);
    if (p->pe_image) SDL_DestroyTexture(p->pe_image);
    if (p->pe_dot_image) SDL_DestroyTexture(p->pe_dot_image);
    p->pe_image = p->pe_dot_image = NULL;
    p->pe_d_model = d_model;
    p->pe_len = len;
    p->pe = xmalloc(sizeof(float) * (size_t)len * (size_t)d_model);
    positional_encoding_table(p->pe, len, d_model);
    Uint32 *pix = xmalloc(sizeof(Uint32) * (size_t)len * (size_t)SDL_max(len, d_model));
    SDL_PixelFormat *fmt = SDL_AllocFormat(SDL_PIXELFORMAT_ARGB8888);
    for (int i = 0; i < len * d_model; i++) {
        SDL_Color c = diverging(p->pe[i]);
        pix[i] = SDL_MapRGB(fmt, c.r, c.g, c.b);
    }
    p->pe_image = SDL_CreateTexture(p->renderer, SDL_PIXELFORMAT_ARGB8888, SDL_TEXTUREACCESS_STATIC, d_model, len);
    if (p->pe_image) SDL_UpdateTexture(p->pe_image, NULL, pix, d_model * 4);
    // PE(pos)·PE(pos') depends only on pos - pos' (a sum of cosines): a banded matrix.
    float *dot = xcalloc((size_t)len * (size_t)len, sizeof(float));
    for (int a = 0; a < len; a++)
        for (int b = 0; b < len; b++) {
            double sum = 0;
            for (int j = 0; j < d_model; j++) sum += (double)p->pe[a * d_model + j] * p->pe[b * d_model + j];
            dot[a * len + b] = (float)sum;
        }
    p->pe_dot_max = d_model / 2.0f;  // the diagonal: Σ sin² + cos² over d_model/2 pairs
    for (int i = 0; i < len * len; i++) {
        SDL_Color c = viz_colormap(dot[i] / p->pe_dot_max);
        pix[i] = SDL_MapRGB(fmt, c.r, c.g, c.b);
    }
    p->pe_dot_image = SDL_CreateTexture(p->renderer, SDL_PIXELFORMAT_ARGB8888, SDL_TEXTUREACCESS_STATIC, len, len);
    if (p->pe_dot_image) SDL_UpdateTexture(p->pe_dot_image, NULL, pix, len * 4);
    SDL_FreeFormat(fmt);
    free(dot);
    free(pix);
}

// §3.5: "the wavelengths form a geometric progression from 2π to 10000·2π": λ_i against
// the frequency index i on a log axis is a straight line. The chosen i is marked.
static void draw_wavelengths(Painter *p, SDL_Rect box, int d_model, int chosen) {
    fill_rect(p->renderer, box.x, box.y, box.w, box.h, PANEL);
    int lh = line_height(p, FONT_NORMAL), lhs = line_height(p, FONT_SMALL), pairs = d_model / 2;
    draw_text(p, FONT_NORMAL, TEXT, box.x + 8, box.y + 4, ALIGN_LEFT, "wavelength 2\xcf\x80\xc2\xb7" "10000^(2i/d_model), log axis");
    int label_w = text_width(p, FONT_SMALL, "10000\xc2\xb7" "2\xcf\x80") + 10;
    SDL_Rect plot = {box.x + label_w, box.y + lh + 10, box.w - label_w - 12, box.h - lh - 10 - lhs - 8};
    if (plot.w < 10 || plot.h < 10 || pairs < 2) return;
    outline_rect(p->renderer, plot.x, plot.y, plot.w, plot.h, GRID_LINE);
    double lo = log(2 * PI), hi = log(10000.0 * 2 * PI);
    draw_text(p, FONT_SMALL, p->dim, plot.x - 6, plot.y + plot.h - lhs, ALIGN_RIGHT, "2\xcf\x80");
    draw_text(p, FONT_SMALL, p->dim, plot.x - 6, plot.y, ALIGN_RIGHT, "10000\xc2\xb7" "2\xcf\x80");
    draw_text(p, FONT_SMALL, p->dim, plot.x, plot.y + plot.h + 2, ALIGN_LEFT, "i = 0");
    draw_textf(p, FONT_SMALL, p->dim, plot.x + plot.w, plot.y + plot.h + 2, ALIGN_RIGHT, "i = %d", pairs - 1);
    for (int i = 0; i < pairs; i++) {
        double lambda = 2 * PI * pow(10000.0, 2.0 * i / d_model);
        int x = plot.x + i * (plot.w - 1) / (pairs - 1);
        int y = plot.y + plot.h - 1 - (int)lround((log(lambda) - lo) / (hi - lo) * (plot.h - 1));
        bool here = i == chosen;
        fill_rect(p->renderer, x - (here ? 4 : 1), y - (here ? 4 : 1), here ? 9 : 3, here ? 9 : 3, here ? ACCENT : SERIES[0]);
    }
}

// §3.5: "for any fixed offset k, PE(pos+k) can be represented as a linear function of
// PE(pos)": for the pair (2i, 2i+1) with ω = 10000^(-2i/d_model), the point
// (sin ωpos, cos ωpos) turns on the unit circle by the angle ωk, whatever pos is:
//   [sin ω(pos+k)]   [ cos ωk   sin ωk] [sin ωpos]
//   [cos ω(pos+k)] = [-sin ωk   cos ωk] [cos ωpos]
static void draw_rotation(Painter *p, SDL_Rect box, int d_model, int i, int k) {
    fill_rect(p->renderer, box.x, box.y, box.w, box.h, PANEL);
    int lh = line_height(p, FONT_NORMAL), lhs = line_height(p, FONT_SMALL);
    double omega = pow(10000.0, -2.0 * i / d_model), a = omega * k;
    draw_textf(p, FONT_NORMAL, TEXT, box.x + 8, box.y + 4, ALIGN_LEFT, "PE(pos+%d) = M \xc2\xb7 PE(pos), dims %d, %d", k,
               2 * i, 2 * i + 1);
    int r = SDL_min(box.w / 2 - 16, box.h - lh - 2 * lhs - 20) / 2;
    if (r < 8) return;
    int cx = box.x + 8 + r + 4, cy = box.y + lh + 10 + r;
    set_color(p->renderer, GRID_LINE);
    SDL_Point ring[65];
    for (int t = 0; t <= 64; t++)
        ring[t] = (SDL_Point){cx + (int)lround(r * sin(2 * PI * t / 64)), cy - (int)lround(r * cos(2 * PI * t / 64))};
    SDL_RenderDrawLines(p->renderer, ring, 65);
    // Positions 0, 1, 2, ... as small dots (x = sin, y = cos), pos = 3 and pos + k marked.
    for (int pos = 0; pos < 64; pos++)
        fill_rect(p->renderer, cx + (int)lround(r * sin(omega * pos)) - 1, cy - (int)lround(r * cos(omega * pos)) - 1, 3, 3,
                  p->dim);
    int pos = 3;
    fill_rect(p->renderer, cx + (int)lround(r * sin(omega * pos)) - 4, cy - (int)lround(r * cos(omega * pos)) - 4, 9, 9,
              SERIES[0]);
    fill_rect(p->renderer, cx + (int)lround(r * sin(omega * (pos + k))) - 4,
              cy - (int)lround(r * cos(omega * (pos + k))) - 4, 9, 9, SERIES[1]);
    int tx = cx + r + 16, ty = box.y + lh + 10;
    draw_text(p, FONT_SMALL, SERIES[0], tx, ty, ALIGN_LEFT, "pos = 3");
    draw_textf(p, FONT_SMALL, SERIES[1], tx, ty + lhs, ALIGN_LEFT, "pos + k = %d", pos + k);
    draw_textf(p, FONT_SMALL, TEXT, tx, ty + 3 * lhs, ALIGN_LEFT, "M = [ %6.3f  %6.3f ]", cos(a), sin(a));
    draw_textf(p, FONT_SMALL, TEXT, tx, ty + 4 * lhs, ALIGN_LEFT, "      [ %6.3f  %6.3f ]", -sin(a), cos(a));
    draw_textf(p, FONT_SMALL, p->dim, tx, ty + 6 * lhs, ALIGN_LEFT, "angle \xcf\x89k = %.3f rad", a);
    draw_text(p, FONT_SMALL, p->dim, tx, ty + 7 * lhs, ALIGN_LEFT, "the same M for every pos");
    draw_text(p, FONT_SMALL, p->dim, tx, ty + 8 * lhs, ALIGN_LEFT, "[ ] change k");
}

static void draw_positional_view(Painter *p, const ViewState *st, const Snapshot *s) {
    int d_model = s->d_model > 0 ? s->d_model : 64;
    int len = clampi(st->pe_positions, 4, 512);
    ensure_pe(p, d_model, len);
    int m = margin(p), top = header_height(p) + m;
    int bottom = st->height - bottom_height(p, st) - m;
    int h = bottom - top, w = st->width - 2 * m;
    int lh = line_height(p, FONT_NORMAL), lhs = line_height(p, FONT_SMALL);

    // Curves: dims 2i and 2i+1 for two frequencies i, sampled finely so they look smooth;
    // the dots are the table's values at whole positions.
    SDL_Rect cbox = {m, top, w, h * 45 / 100};
    fill_rect(p->renderer, cbox.x, cbox.y, cbox.w, cbox.h, PANEL);
    int pairs = d_model / 2;
    int i0 = clampi(st->pe_pair, 0, pairs - 1), i1 = clampi(i0 + SDL_max(1, pairs / 4), 0, pairs - 1);
    int dims[4] = {2 * i0, 2 * i0 + 1, 2 * i1, 2 * i1 + 1};
    draw_textf(p, FONT_NORMAL, TEXT, cbox.x + 8, cbox.y + 4, ALIGN_LEFT,
               "PE(pos, 2i) = sin(pos / 10000^(2i/d_model)),  PE(pos, 2i+1) = cos(...)   (§3.5)   d_model = %d",
               d_model);
    int lx = cbox.x + 8, ly = cbox.y + 4 + lh;
    for (int k = 0; k < 4; k++) {
        int pair = dims[k] / 2;
        double wavelength = 2 * 3.14159265358979 * pow(10000.0, 2.0 * pair / d_model);
        lx += draw_textf(p, FONT_SMALL, SERIES[k], lx, ly, ALIGN_LEFT, "dim %d (%s, wavelength %.1f)",
                         dims[k], dims[k] % 2 ? "cos" : "sin", wavelength) + 18;
    }
    draw_text(p, FONT_SMALL, p->dim, cbox.x + cbox.w - 8, ly, ALIGN_RIGHT, "up/down: frequency i");
    SDL_Rect plot = {cbox.x + 40, ly + lhs + 6, cbox.w - 56, cbox.h - (ly + lhs + 6 - cbox.y) - lhs - 8};
    outline_rect(p->renderer, plot.x, plot.y, plot.w, plot.h, GRID_LINE);
    fill_rect(p->renderer, plot.x, plot.y + plot.h / 2, plot.w, 1, GRID_LINE);
    draw_text(p, FONT_SMALL, p->dim, plot.x - 6, plot.y, ALIGN_RIGHT, "1");
    draw_text(p, FONT_SMALL, p->dim, plot.x - 6, plot.y + plot.h / 2 - lhs / 2, ALIGN_RIGHT, "0");
    draw_text(p, FONT_SMALL, p->dim, plot.x - 6, plot.y + plot.h - lhs, ALIGN_RIGHT, "-1");
    draw_text(p, FONT_SMALL, p->dim, plot.x, plot.y + plot.h + 2, ALIGN_LEFT, "position 0");
    draw_textf(p, FONT_SMALL, p->dim, plot.x + plot.w, plot.y + plot.h + 2, ALIGN_RIGHT, "position %d", len - 1);
    int samples = SDL_min(plot.w, 1024);
    SDL_Point pts[1024];
    for (int k = 0; k < 4 && plot.w >= 16 && plot.h >= 16; k++) {  // skipped in a tiny window
        int pair = dims[k] / 2;
        double omega = pow(10000.0, -2.0 * pair / d_model);
        for (int i = 0; i < samples; i++) {
            double pos = (double)(len - 1) * i / (samples - 1);
            double v = dims[k] % 2 ? cos(pos * omega) : sin(pos * omega);
            pts[i].x = plot.x + i * (plot.w - 1) / (samples - 1);
            pts[i].y = plot.y + (int)lround((1 - v) / 2 * (plot.h - 1));
        }
        set_color(p->renderer, SERIES[k]);
        SDL_RenderDrawLines(p->renderer, pts, samples);
        for (int pos = 0; pos < len; pos++) {
            float v = p->pe[pos * d_model + dims[k]];
            int x = plot.x + pos * (plot.w - 1) / (len - 1);
            int y = plot.y + (int)lroundf((1 - v) / 2 * (plot.h - 1));
            SDL_RenderFillRect(p->renderer, &(SDL_Rect){x - 2, y - 2, 5, 5});
        }
    }

    // The table as an image (rows = positions, columns = dims), PE·PEᵀ, and §3.5's two
    // claims: the wavelengths form a geometric progression, and PE(pos+k) is a rotation
    // of PE(pos).
    int y0 = top + cbox.h + m, bh = bottom - y0, third = (w - 2 * m) / 3;
    SDL_Rect left = {m, y0, third, bh}, right = {m + third + m, y0, third, bh};
    SDL_Rect waves = {m + 2 * (third + m), y0, third, bh * 45 / 100};
    SDL_Rect turn = {waves.x, y0 + waves.h + m / 2, third, bh - waves.h - m / 2};
    draw_wavelengths(p, waves, d_model, i0);
    draw_rotation(p, turn, d_model, i0, st->pe_shift);
    fill_rect(p->renderer, left.x, left.y, left.w, left.h, PANEL);
    fill_rect(p->renderer, right.x, right.y, right.w, right.h, PANEL);
    draw_textf(p, FONT_NORMAL, TEXT, left.x + 8, left.y + 4, ALIGN_LEFT,
               "PE matrix: %d positions (down) x %d dims (across)", len, d_model);
    draw_text(p, FONT_SMALL, p->dim, left.x + 8, left.y + 4 + lh, ALIGN_LEFT, "blue -1   white 0   red +1");
    SDL_Rect img = {left.x + 8, left.y + 6 + lh + lhs, left.w - 16, left.h - 14 - lh - lhs};
    if (p->pe_image) SDL_RenderCopy(p->renderer, p->pe_image, NULL, &img);
    draw_text(p, FONT_NORMAL, TEXT, right.x + 8, right.y + 4, ALIGN_LEFT,
              "PE(pos) . PE(pos'): depends only on pos - pos'");
    draw_textf(p, FONT_SMALL, p->dim, right.x + 8, right.y + 4 + lh, ALIGN_LEFT,
               "positions %d x %d, colour scale 0 .. d_model/2 = %.0f", len, len, p->pe_dot_max);
    int side = SDL_min(right.w - 16, right.h - 14 - lh - lhs);
    SDL_Rect dimg = {right.x + (right.w - side) / 2, right.y + 6 + lh + lhs, side, side};
    if (p->pe_dot_image) SDL_RenderCopy(p->renderer, p->pe_dot_image, NULL, &dimg);
}

// ---- help --------------------------------------------------------------------------------

static void draw_help(Painter *p, const ViewState *st) {
    static const char *lines[][2] = {
        {"h or ?", "show / hide this help"},
        {"1  2  3", "views: attention, positional encoding, training curves"},
        {"space", "pause / resume training (replay: play / pause)"},
        {"tab", "next attention kind: encoder self, decoder self (masked), cross (shift+tab: back)"},
        {"up / down", "previous / next layer  (positional view: frequency i)"},
        {"left / right", "previous / next head; before head 1 comes 'all heads'"},
        {"a", "all heads of the layer as a grid (or click one head of the grid)"},
        {"v  g  b", "mean of the heads;  all layers x heads;  pin a head to compare with the next"},
        {", .  Home End", "replay: previous / next frame, first / last (or drag the slider)"},
        {"r", "replay: the recording or the live run (or click the LIVE inset)"},
        {"c  p", "captions on / off;  presentation mode (large, high contrast)"},
        {"+ / -   [ ]", "positional view: twice / half as many positions;  the offset k of the rotation"},
        {"Enter", "type a sentence (or click the box); while typing no key is a shortcut"},
        {"mouse", "hover a cell for its exact weight; click a row for its Eq. (1) worked out"},
        {"s", "save the window as a PNG picture"},
        {"q or Esc", "quit (a live run asks first and saves its model)"},
    };
    int n = (int)(sizeof lines / sizeof lines[0]);
    int lh = line_height(p, FONT_NORMAL), m = margin(p);
    int w = SDL_min(st->width - 4 * m, 60 * p->font_px[FONT_NORMAL]);
    int h = (n + 3) * lh + 2 * m;
    int x = (st->width - w) / 2, y = (st->height - h) / 2;
    SDL_SetRenderDrawBlendMode(p->renderer, SDL_BLENDMODE_BLEND);
    fill_rect(p->renderer, 0, 0, st->width, st->height, (SDL_Color){0, 0, 0, 150});
    SDL_SetRenderDrawBlendMode(p->renderer, SDL_BLENDMODE_NONE);
    fill_rect(p->renderer, x, y, w, h, PANEL);
    outline_rect(p->renderer, x, y, w, h, ACCENT);
    draw_text(p, FONT_BIG, ACCENT, x + m, y + m, ALIGN_LEFT, "Keys");
    int ty = y + m + 2 * lh;
    for (int i = 0; i < n; i++, ty += lh) {
        draw_text(p, FONT_NORMAL, ACCENT, x + m, ty, ALIGN_LEFT, lines[i][0]);
        int tx = x + m + 10 * p->font_px[FONT_NORMAL];
        draw_text_clipped(p, FONT_NORMAL, TEXT, tx, ty, x + w - m - tx, lines[i][1]);
    }
}

// ---- the frame -----------------------------------------------------------------------------

SDL_Rect viz_live_inset_rect(Painter *p, const ViewState *st) {
    SDL_Rect r = {0, 0, 0, 0};
    if (st->view != VIEW_ATTENTION || !st->replay || !st->has_live || st->formula_row >= 0) return r;
    int x, w;
    right_column(p, st, &x, &w);
    SDL_Rect area = attention_area(p, st);
    r.x = x;
    r.w = w;
    r.y = viz_text_box_rect(p, st).y - line_height(p, FONT_SMALL);
    r.h = area.y + area.h - r.y;
    if (r.h < 5 * line_height(p, FONT_SMALL)) r.w = r.h = 0;
    return r;
}

void viz_draw_live_inset(Painter *p, const ViewState *st, const Snapshot *live) {
    SDL_Rect r = viz_live_inset_rect(p, st);
    if (r.w <= 0) return;
    int lhs = line_height(p, FONT_SMALL), m = margin(p);
    fill_rect(p->renderer, r.x, r.y, r.w, r.h, PANEL);
    outline_rect(p->renderer, r.x, r.y, r.w, r.h, GRID_LINE);
    int x = r.x + 8, y = r.y + 4;
    char line[VIZ_TEXT_CHARS];
    bool training = live->total_steps > 0 && !live->finished;
    if (live->version == 0 || live->history_len == 0)
        snprintf(line, sizeof line, "%s beside the replay: %s", training ? "LIVE" : "the model",
                 live->status[0] ? live->status : "starting ...");
    else if (live->total_steps > 0)
        snprintf(line, sizeof line, "LIVE beside the replay: step %ld / %ld, loss %.3f%s", live->step, live->total_steps,
                 live->train_loss, live->finished ? ", finished" : "");
    else
        snprintf(line, sizeof line, "LIVE beside the replay: step %ld, loss %.3f", live->step, live->train_loss);
    draw_text_clipped(p, FONT_SMALL, ACCENT, x, y, r.w - 16, line);
    y += lhs;
    if (st->head >= 0)
        snprintf(line, sizeof line, "layer %d head %d, %s;  r or click: full size", st->layer + 1,
                 SDL_min(st->head, live->n_heads - 1) + 1, training ? "training now" : "loaded model");
    else
        snprintf(line, sizeof line, "layer %d, mean of heads, %s;  r or click: full size", st->layer + 1,
                 training ? "training now" : "loaded model");
    draw_text_clipped(p, FONT_SMALL, p->dim, x, y, r.w - 16, line);
    y += lhs + 4;
    // The live model's matrix for the view's kind, layer and head (the mean for a grid).
    const VizAttention *a = &live->attn[st->kind];
    int rows = a->rows, cols = a->cols;
    if (live->version == 0 || rows <= 0 || cols <= 0 || st->layer >= live->n_layers) {
        draw_text(p, FONT_SMALL, p->dim, x, y, ALIGN_LEFT, "(no live attention yet)");
        return;
    }
    int room_w = r.w - 16, room_h = r.y + r.h - y - m / 2;
    int cell = SDL_max(2, SDL_min(room_w / cols, room_h / rows));
    HeatmapBox b = {.head = st->head >= 0 ? SDL_min(st->head, live->n_heads - 1) : VIZ_HEAD_AVERAGE,
                    .layer = SDL_max(0, st->layer), .rows = rows, .cols = cols, .cell = cell, .labels = false};
    b.grid = (SDL_Rect){x + (room_w - cell * cols) / 2, y, cell * cols, cell * rows};
    b.area = b.grid;
    draw_heatmap(p, live, st->kind, &b, FONT_SMALL);
}

void viz_draw(Painter *p, const ViewState *st, const Snapshot *s) {
    p->frame++;
    p->dim = st->present ? DIM_PRESENT : DIM_SCREEN;
    SDL_SetRenderDrawBlendMode(p->renderer, SDL_BLENDMODE_NONE);
    set_color(p->renderer, BACKGROUND);
    SDL_RenderClear(p->renderer);
    switch (st->view) {
    case VIEW_ATTENTION: draw_attention_view(p, st, s); break;
    case VIEW_POSITIONAL: draw_positional_view(p, st, s); break;
    case VIEW_TRAINING: draw_training_view(p, st, s); break;
    default: break;
    }
    draw_header(p, st, s);
    draw_caption(p, st, s);
    draw_slider(p, st, s);
    draw_footer(p, st, s);
    if (st->help) draw_help(p, st);
}

bool viz_save_png(SDL_Renderer *r, int w, int h, const char *path, ErrorMessage *err) {
    unsigned char *rgb = xmalloc((size_t)w * (size_t)h * 3);
    if (SDL_RenderReadPixels(r, NULL, SDL_PIXELFORMAT_RGB24, rgb, w * 3) != 0) {
        free(rgb);
        return error_set(err, "%s: cannot read the picture back: %s", path, SDL_GetError());
    }
    bool ok = png_write_rgb(path, rgb, w, h, w * 3, err);
    free(rgb);
    return ok;
}
