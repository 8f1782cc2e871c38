// test_09_viewer.c: the viewer's drawing, checked by reading back pixels. The same
// code that draws the window draws here into a software surface (no display needed):
// a known attention matrix must show the colour scale's top colour where the weight is
// 1, its bottom colour where it is 0, the mask colour on padding and on the causal
// triangle, and token labels beside the grid. Also the PNG writer, read back by a small
// inflater written here.
//
// The teaching additions: a key while the sentence box has focus is text, never a
// shortcut; quitting a live run asks; the all-heads grid keeps its shape and place for
// translations of different length; decoder rows read "fed -> predicts"; an animated PNG
// reads back frame by frame; a recorded history replays into the same pictures, with
// the whole Eq. (3) curve, the time slider and a caption.
//
// Set VIZ_TEST_SAVE_DIR=/some/dir to also save what each test drew as PNG files.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "draw.h"
#include "input.h"
#include "model.h"
#include "png.h"
#include "replay.h"
#include "rng.h"
#include "optimizer.h"
#include "snapshot.h"
#include "testutil.h"

enum { W = 1280, H = 720 };

typedef struct {
    SDL_Surface *surface;
    SDL_Renderer *renderer;
    Painter painter;
    Snapshot *snap;
    ViewState st;
} Scene;

// A snapshot worked by hand: "je suis étudiant </s> <pad>" -> "<s> i am a student".
// Cross-attention of layer 1, head 2: target row r puts all its weight on source column
// ONE_COL[r] and 0 elsewhere; column 4 is padding. Other heads hold other patterns.
static const int ONE_COL[5] = {3, 0, 1, 1, 2};

static void fill_snapshot(Snapshot *s, bool with_labels) {
    memset(s, 0, sizeof *s);
    s->version = 1;
    snprintf(s->task, sizeof s->task, "fr-en");
    s->n_layers = 2;
    s->n_heads = 4;
    s->d_model = 32;
    s->step = 1200;
    s->lr = 5e-4f;
    s->train_loss = 1.5f;
    s->val_loss = NAN;
    snprintf(s->probe, sizeof s->probe, "je suis étudiant");
    snprintf(s->translation, sizeof s->translation, "i am a student");
    const char *src[5] = {"je", "▁suis", "▁étudiant", "</s>", "<pad>"};
    const char *tgt[5] = {"<s>", "i", "▁am", "▁a", "▁student"};
    s->src_len = 5;
    s->tgt_len = 5;
    for (int i = 0; i < 5; i++) {
        snprintf(s->src_tokens[i], VIZ_TOKEN_CHARS, "%s", with_labels ? src[i] : "");
        snprintf(s->tgt_tokens[i], VIZ_TOKEN_CHARS, "%s", with_labels ? tgt[i] : "");
        snprintf(s->tgt_next[i], VIZ_TOKEN_CHARS, "%s", with_labels ? (i < 4 ? tgt[i + 1] : "</s>") : "");
    }
    for (int k = 0; k < VIZ_KINDS; k++) {
        VizAttention *a = &s->attn[k];
        a->rows = 5;
        a->cols = 5;
        a->valid_rows = k == VIZ_ENC_SELF ? 4 : 5;
        a->valid_cols = k == VIZ_DEC_SELF ? 5 : 4;
        a->causal = k == VIZ_DEC_SELF;
        for (int l = 0; l < 2; l++)
            for (int hd = 0; hd < 4; hd++)
                for (int r = 0; r < 5; r++) {
                    // Uniform over the visible keys, except the hand-made head.
                    int visible = a->causal ? r + 1 : a->valid_cols;
                    for (int c = 0; c < 5; c++)
                        a->weights[l][hd][r * 5 + c] = viz_cell_masked(a, r, c) ? 0.0f : 1.0f / visible;
                }
    }
    float *w = s->attn[VIZ_CROSS].weights[1][2];
    for (int r = 0; r < 5; r++)
        for (int c = 0; c < 5; c++) w[r * 5 + c] = c == ONE_COL[r] ? 1.0f : 0.0f;
    s->n_hyps = 2;
    snprintf(s->hyps[0], VIZ_TEXT_CHARS, "i am a student");
    snprintf(s->hyps[1], VIZ_TEXT_CHARS, "i am student");
    s->hyp_scores[0] = -0.21f;
    s->hyp_scores[1] = -1.37f;
    for (int i = 0; i < 40; i++) {
        VizHistoryPoint p = {.step = i * 30, .train_loss = 6.0f * expf(-i / 12.0f) + 1.0f,
                             .val_loss = i % 5 == 0 ? 6.5f * expf(-i / 12.0f) + 1.2f : NAN,
                             .lr = 1e-3f * fminf((i + 1) / 10.0f, sqrtf(10.0f / (i + 1))),
                             .tokens_per_sec = 20000};
        for (int k = 0; k < VIZ_KINDS; k++)
            for (int l = 0; l < 2; l++) p.entropy[k][l] = 1.6f * expf(-i / (15.0f + 10 * l + 5 * k));
        snapshot_history_push(s, &p);
    }
    snapshot_compute_entropy(s);
}

static int setup(void **state) {
    Scene *sc = calloc(1, sizeof *sc);
    sc->surface = SDL_CreateRGBSurfaceWithFormat(0, W, H, 32, SDL_PIXELFORMAT_ARGB8888);
    if (!sc->surface) fail_msg("SDL_CreateRGBSurfaceWithFormat: %s", SDL_GetError());
    sc->renderer = SDL_CreateSoftwareRenderer(sc->surface);
    if (!sc->renderer) fail_msg("SDL_CreateSoftwareRenderer: %s", SDL_GetError());
    ErrorMessage err;
    if (!painter_init(&sc->painter, sc->renderer, NULL, H, &err)) fail_msg("%s", err.text);
    sc->snap = calloc(1, sizeof(Snapshot));
    fill_snapshot(sc->snap, true);
    view_state_init(&sc->st, W, H);
    sc->st.kind = VIZ_CROSS;
    sc->st.layer = 1;
    sc->st.head = 2;
    *state = sc;
    return 0;
}

static int teardown(void **state) {
    Scene *sc = *state;
    painter_free(&sc->painter);
    SDL_DestroyRenderer(sc->renderer);
    SDL_FreeSurface(sc->surface);
    free(sc->snap);
    free(sc);
    TTF_Quit();
    return 0;
}

static void draw(Scene *sc, const char *name) {
    viz_draw(&sc->painter, &sc->st, sc->snap);
    SDL_RenderPresent(sc->renderer);
    const char *dir = getenv("VIZ_TEST_SAVE_DIR");
    if (dir) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s.png", dir, name);
        ErrorMessage err;
        if (!viz_save_png(sc->renderer, W, H, path, &err)) fail_msg("%s", err.text);
    }
}

static SDL_Color pixel(const Scene *sc, int x, int y) {
    assert_true(x >= 0 && x < W && y >= 0 && y < H);
    Uint32 v = ((const Uint32 *)sc->surface->pixels)[y * (sc->surface->pitch / 4) + x];
    SDL_Color c = {0, 0, 0, 255};
    SDL_GetRGB(v, sc->surface->format, &c.r, &c.g, &c.b);
    return c;
}

static bool same(SDL_Color a, SDL_Color b) { return a.r == b.r && a.g == b.g && a.b == b.b; }

static void assert_color(const char *what, SDL_Color got, SDL_Color want) {
    if (!same(got, want))
        fail_msg("%s: got rgb(%d,%d,%d), expected rgb(%d,%d,%d)", what, got.r, got.g, got.b, want.r,
                 want.g, want.b);
}

// Counts pixels of colour c in the rectangle.
static int count_color(const Scene *sc, SDL_Rect r, SDL_Color c) {
    int n = 0;
    for (int y = r.y; y < r.y + r.h; y++)
        for (int x = r.x; x < r.x + r.w; x++) n += same(pixel(sc, x, y), c);
    return n;
}

static SDL_Rect cell_rect(const HeatmapBox *b, int r, int c) {
    // Inside the cell, away from the 1-pixel gap on its right and bottom edges.
    SDL_Rect rect = {b->grid.x + c * b->cell, b->grid.y + r * b->cell, b->cell - 1, b->cell - 1};
    return rect;
}

// ---- colour scale -------------------------------------------------------------------

static void test_colormap_ends_and_order(void **state) {
    (void)state;
    assert_color("colormap(1)", viz_colormap(1.0f), (SDL_Color){253, 231, 37, 255});
    assert_color("colormap(0)", viz_colormap(0.0f), (SDL_Color){68, 1, 84, 255});
    assert_color("colormap clamps above 1", viz_colormap(7.0f), viz_colormap(1.0f));
    assert_color("colormap clamps below 0 and NaN", viz_colormap(NAN), viz_colormap(0.0f));
    // Perceptually ordered: brightness (sum of channels) grows with the weight.
    int last = -1;
    for (int i = 0; i <= 100; i++) {
        SDL_Color c = viz_colormap(i / 100.0f);
        int bright = c.r + c.g + c.b;
        assert_true(bright >= last);
        last = bright;
    }
    // The mask colours are none of the scale's colours, so a mask never reads as a weight.
    for (int i = 0; i <= 1000; i++) {
        assert_false(same(viz_colormap(i / 1000.0f), viz_mask_color()));
        assert_false(same(viz_colormap(i / 1000.0f), viz_hatch_color()));
    }
}

// ---- the heatmap ---------------------------------------------------------------------

static void test_heatmap_top_bottom_and_mask_colours(void **state) {
    Scene *sc = *state;
    draw(sc, "cross_layer2_head3");
    HeatmapBox boxes[VIZ_MAX_BOXES];
    int n = viz_heatmap_layout(&sc->painter, &sc->st, sc->snap, boxes);
    assert_int_equal(n, 1);
    const HeatmapBox *b = &boxes[0];
    assert_int_equal(b->rows, 5);
    assert_int_equal(b->cols, 5);
    assert_true(b->cell >= 40);  // big cells at 1280x720 for a 5x5 matrix
    // The grid lies in the left part of the window, below the header.
    assert_true(b->grid.x > 0 && b->grid.x + b->grid.w <= W * 62 / 100);
    assert_true(b->grid.y > 40 && b->grid.y + b->grid.h < H);
    for (int r = 0; r < 5; r++) {
        for (int c = 0; c < 5; c++) {
            SDL_Rect cell = cell_rect(b, r, c);
            SDL_Color centre = pixel(sc, cell.x + cell.w / 2, cell.y + cell.h / 2);
            char what[64];
            snprintf(what, sizeof what, "cell (%d,%d)", r, c);
            if (c == 4) {
                // Padding column: the whole cell is mask fill or hatch, mostly fill.
                int fill = count_color(sc, cell, viz_mask_color());
                int hatch = count_color(sc, cell, viz_hatch_color());
                assert_int_equal(fill + hatch, cell.w * cell.h);
                assert_true(hatch > 0);
                assert_true(fill > hatch);
            } else if (c == ONE_COL[r]) {
                // Weight 1: every pixel of the cell is the top colour.
                assert_int_equal(count_color(sc, cell, viz_colormap(1.0f)), cell.w * cell.h);
                assert_color(what, centre, (SDL_Color){253, 231, 37, 255});
            } else {
                assert_int_equal(count_color(sc, cell, viz_colormap(0.0f)), cell.w * cell.h);
                assert_color(what, centre, (SDL_Color){68, 1, 84, 255});
            }
        }
    }
}

static void test_causal_triangle_is_masked(void **state) {
    Scene *sc = *state;
    sc->st.kind = VIZ_DEC_SELF;
    sc->st.layer = 0;
    sc->st.head = 0;
    draw(sc, "decoder_self_layer1_head1");
    HeatmapBox boxes[VIZ_MAX_BOXES];
    assert_int_equal(viz_heatmap_layout(&sc->painter, &sc->st, sc->snap, boxes), 1);
    for (int r = 0; r < 5; r++)
        for (int c = 0; c < 5; c++) {
            SDL_Rect cell = cell_rect(&boxes[0], r, c);
            int masked = count_color(sc, cell, viz_mask_color()) + count_color(sc, cell, viz_hatch_color());
            if (c > r) {
                assert_int_equal(masked, cell.w * cell.h);  // the future: hatched
            } else {
                // Row r is uniform over r+1 keys: exactly the scale's colour for 1/(r+1).
                assert_int_equal(masked, 0);
                assert_int_equal(count_color(sc, cell, viz_colormap(1.0f / (r + 1))), cell.w * cell.h);
            }
        }
}

// Labels: every row's band left of the grid and every column's band above it holds
// text pixels (not background). With empty token strings the layout leaves no room for
// labels at all, and those bands are then grid cells, not text.
static int non_background(const Scene *sc, SDL_Rect r) {
    return r.w * r.h - count_color(sc, r, viz_background_color());
}

static void test_token_labels_are_drawn(void **state) {
    Scene *sc = *state;
    sc->st.kind = VIZ_CROSS;
    sc->st.layer = 1;
    sc->st.head = 2;
    draw(sc, "labels");
    HeatmapBox boxes[VIZ_MAX_BOXES];
    assert_int_equal(viz_heatmap_layout(&sc->painter, &sc->st, sc->snap, boxes), 1);
    const HeatmapBox *b = &boxes[0];
    int n = b->cell;
    for (int r = 0; r < 5; r++) {
        SDL_Rect band = {b->grid.x - 40, b->grid.y + r * n + n / 4, 36, n / 2};
        assert_true(non_background(sc, band) > 8);
    }
    for (int c = 0; c < 5; c++) {
        SDL_Rect band = {b->grid.x + c * n + n / 4, b->grid.y - 30, n / 2, 26};
        assert_true(non_background(sc, band) > 20);
    }
    // Between the rows' bands the strip is background: text sits beside its own row.
    SDL_Rect far_left = {b->area.x + 24, b->grid.y, 4, 4};
    assert_int_equal(non_background(sc, far_left), 0);
    int with_x = b->grid.x, with_y = b->grid.y;
    fill_snapshot(sc->snap, false);
    draw(sc, "no_labels");
    assert_int_equal(viz_heatmap_layout(&sc->painter, &sc->st, sc->snap, boxes), 1);
    fill_snapshot(sc->snap, true);
    // No label space reserved: the grid starts further left and higher up.
    assert_true(boxes[0].grid.x < with_x - 30);
    assert_true(boxes[0].grid.y < with_y - 30);
}

static void test_all_heads_grid_and_hover(void **state) {
    Scene *sc = *state;
    sc->st.kind = VIZ_CROSS;
    sc->st.layer = 1;
    sc->st.head = -1;
    HeatmapBox boxes[VIZ_MAX_BOXES];
    int n = viz_heatmap_layout(&sc->painter, &sc->st, sc->snap, boxes);
    assert_int_equal(n, 4);
    for (int i = 0; i < n; i++) {
        assert_int_equal(boxes[i].head, i);
        for (int j = 0; j < i; j++) assert_false(SDL_HasIntersection(&boxes[i].grid, &boxes[j].grid));
    }
    // Head 3 (index 2) is the hand-made one; the mouse over its cell (1,0) finds it.
    SDL_Rect cell = cell_rect(&boxes[2], 1, 0);
    sc->st.mouse_x = cell.x + cell.w / 2;
    sc->st.mouse_y = cell.y + cell.h / 2;
    draw(sc, "all_heads_hover");
    int box, r, c;
    assert_true(viz_hit_cell(&sc->painter, &sc->st, sc->snap, sc->st.mouse_x, sc->st.mouse_y, &box, &r, &c));
    assert_int_equal(box, 2);
    assert_int_equal(r, 1);
    assert_int_equal(c, 0);
    // The tooltip (outlined in the accent colour) covers the area right-below the mouse.
    SDL_Color accent = {255, 184, 64, 255};
    SDL_Rect tip = {sc->st.mouse_x + 16, sc->st.mouse_y + 16, 200, 40};
    assert_true(count_color(sc, tip, accent) > 50);
    // Outside any grid: no cell.
    assert_false(viz_hit_cell(&sc->painter, &sc->st, sc->snap, 2, 2, &box, &r, &c));
    sc->st.mouse_x = sc->st.mouse_y = -1;
    sc->st.head = 2;
}

// The other views and the help overlay draw without errors (ASan/UBSan watch) and put
// something on screen; the PE image of position 0 is sin 0 = 0 (white) then cos 0 = 1.
static void test_other_views_draw(void **state) {
    Scene *sc = *state;
    sc->st.view = VIEW_POSITIONAL;
    draw(sc, "positional");
    sc->st.view = VIEW_TRAINING;
    draw(sc, "training");
    sc->st.view = VIEW_ATTENTION;
    sc->st.help = true;
    draw(sc, "help");
    sc->st.help = false;
    // A tiny window still draws (layout clamps instead of going negative).
    ViewState small = sc->st;
    for (int size = 0; size < 3; size++) {
        small.width = (int[]){200, 60, 1}[size];
        small.height = (int[]){120, 40, 1}[size];
        for (int v = 0; v < VIEW_COUNT; v++) {
            small.view = (VizView)v;
            small.head = v == 0 ? -1 : 0;
            viz_draw(&sc->painter, &small, sc->snap);
        }
    }
    // An empty snapshot (before training publishes anything) draws a waiting screen.
    Snapshot *empty = calloc(1, sizeof *empty);
    for (int v = 0; v < VIEW_COUNT; v++) {
        sc->st.view = (VizView)v;
        viz_draw(&sc->painter, &sc->st, empty);
    }
    free(empty);
    sc->st.view = VIEW_ATTENTION;
}


// ---- input: focus, quitting ----------------------------------------------------------

static SDL_Event key_event(SDL_Keycode k) {
    SDL_Event e;
    memset(&e, 0, sizeof e);
    e.type = SDL_KEYDOWN;
    e.key.keysym.sym = k;
    return e;
}

static SDL_Event text_event(const char *t) {
    SDL_Event e;
    memset(&e, 0, sizeof e);
    e.type = SDL_TEXTINPUT;
    snprintf(e.text.text, sizeof e.text.text, "%s", t);
    return e;
}

static SDL_Event click_event(int x, int y) {
    SDL_Event e;
    memset(&e, 0, sizeof e);
    e.type = SDL_MOUSEBUTTONDOWN;
    e.button.button = SDL_BUTTON_LEFT;
    e.button.x = x;
    e.button.y = y;
    return e;
}

// A click on the sentence box gives it the keyboard; then every key is text: typing
// "qui as 1" changes no view, quits nothing, saves nothing. A click elsewhere leaves.
static void test_focused_box_takes_every_key(void **state) {
    Scene *sc = *state;
    ViewState st;
    view_state_init(&st, W, H);
    InputActions act;
    SDL_Rect box = viz_text_box_rect(&sc->painter, &st);
    assert_true(box.w > 0 && box.h > 0);
    SDL_Event e = click_event(box.x + box.w / 2, box.y + box.h / 2);
    viz_handle_event(&sc->painter, &st, sc->snap, &e, &act);
    assert_true(st.editing);
    ViewState before = st;
    const char *typed = "qui as 1";
    SDL_Keycode keys[] = {SDLK_q, SDLK_u, SDLK_i, SDLK_SPACE, SDLK_a, SDLK_s, SDLK_SPACE, SDLK_1,
                          SDLK_TAB, SDLK_UP, SDLK_LEFT, SDLK_h, SDLK_c, SDLK_p, SDLK_r};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        e = key_event(keys[i]);
        viz_handle_event(&sc->painter, &st, sc->snap, &e, &act);
        assert_false(act.quit || act.save_png || act.toggle_pause || act.send_probe);
        if (i < strlen(typed)) {
            char one[2] = {typed[i], 0};
            e = text_event(one);
            viz_handle_event(&sc->painter, &st, sc->snap, &e, &act);
        }
    }
    assert_int_equal(st.view, before.view);
    assert_int_equal(st.kind, before.kind);
    assert_int_equal(st.layer, before.layer);
    assert_int_equal(st.head, before.head);
    assert_int_equal(st.help, before.help);
    assert_int_equal(st.captions, before.captions);
    assert_int_equal(st.present, before.present);
    assert_true(st.editing);
    assert_string_equal(st.input, typed);
    e = key_event(SDLK_RETURN);  // Enter translates and gives the keyboard back
    viz_handle_event(&sc->painter, &st, sc->snap, &e, &act);
    assert_true(act.send_probe);
    assert_false(st.editing);
    e = click_event(box.x + box.w / 2, box.y + box.h / 2);
    viz_handle_event(&sc->painter, &st, sc->snap, &e, &act);
    assert_true(st.editing);
    e = click_event(5, H / 2);  // elsewhere: the keys are shortcuts again
    viz_handle_event(&sc->painter, &st, sc->snap, &e, &act);
    assert_false(st.editing);
    e = key_event(SDLK_2);
    viz_handle_event(&sc->painter, &st, sc->snap, &e, &act);
    assert_int_equal(st.view, VIEW_POSITIONAL);
}

// q during live training asks and names the file the model goes to; another key stays;
// q twice quits. Without live training q quits at once.
static void test_quitting_a_live_run_asks(void **state) {
    Scene *sc = *state;
    ViewState st;
    view_state_init(&st, W, H);
    st.live_training = true;
    snprintf(st.checkpoint_path, sizeof st.checkpoint_path, "/home/teacher/runs/transformer-viz-fr-en-001.ckpt");
    InputActions act;
    SDL_Event q = key_event(SDLK_q), x = key_event(SDLK_x);
    viz_handle_event(&sc->painter, &st, sc->snap, &q, &act);
    assert_false(act.quit);
    assert_non_null(strstr(st.message, st.checkpoint_path));
    viz_handle_event(&sc->painter, &st, sc->snap, &x, &act);
    assert_false(act.quit);
    viz_handle_event(&sc->painter, &st, sc->snap, &q, &act);
    assert_false(act.quit);
    viz_handle_event(&sc->painter, &st, sc->snap, &q, &act);
    assert_true(act.quit);
    st.live_training = false;
    st.confirm_quit = false;
    viz_handle_event(&sc->painter, &st, sc->snap, &q, &act);
    assert_true(act.quit);
    // Down from the first PE frequency stays there instead of wrapping to the last.
    st.view = VIEW_POSITIONAL;
    st.pe_pair = 0;
    SDL_Event up = key_event(SDLK_DOWN);
    viz_handle_event(&sc->painter, &st, sc->snap, &up, &act);
    assert_int_equal(st.pe_pair, 0);
}

// ---- layout stability and row labels ------------------------------------------------------

// Two translations of different length: the head grid has the same shape, and every
// head's grid starts at the same place with the same cell size.
static void test_grid_keeps_its_shape(void **state) {
    Scene *sc = *state;
    ViewState st = sc->st;
    st.head = -1;
    st.fit_rows = 12;  // the longest this sentence's translation has been
    HeatmapBox a[VIZ_MAX_BOXES], b[VIZ_MAX_BOXES];
    int na = viz_heatmap_layout(&sc->painter, &st, sc->snap, a);
    Snapshot *longer = malloc(sizeof *longer);
    memcpy(longer, sc->snap, sizeof *longer);
    longer->tgt_len = 12;
    longer->attn[VIZ_CROSS].rows = longer->attn[VIZ_CROSS].valid_rows = 12;
    for (int i = 5; i < 12; i++) snprintf(longer->tgt_tokens[i], VIZ_TOKEN_CHARS, "w%d", i);
    int nb = viz_heatmap_layout(&sc->painter, &st, longer, b);
    assert_int_equal(na, 4);
    assert_int_equal(nb, 4);
    assert_int_equal(viz_grid_columns(4), 2);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(a[i].grid.x, b[i].grid.x);
        assert_int_equal(a[i].grid.y, b[i].grid.y);
        assert_int_equal(a[i].cell, b[i].cell);
        assert_int_equal(a[i].area.x, b[i].area.x);
        assert_int_equal(a[i].area.y, b[i].area.y);
    }
    assert_true(a[1].area.x > a[0].area.x && a[1].area.y == a[0].area.y);  // 2 x 2
    assert_true(a[2].area.y > a[0].area.y && a[2].area.x == a[0].area.x);
    free(longer);
}

// Decoder rows carry the token fed in and the token predicted, the encoder's its token.
static void test_rows_say_fed_and_predicted(void **state) {
    Scene *sc = *state;
    char label[64];
    viz_row_label(sc->snap, VIZ_CROSS, 0, label, (int)sizeof label);
    assert_string_equal(label, "<s> \xe2\x86\x92 i");
    viz_row_label(sc->snap, VIZ_DEC_SELF, 4, label, (int)sizeof label);
    assert_string_equal(label, "\xe2\x96\x81student \xe2\x86\x92 </s>");
    viz_row_label(sc->snap, VIZ_ENC_SELF, 1, label, (int)sizeof label);
    assert_string_equal(label, "\xe2\x96\x81suis");
    // Drawn: label pixels left of the grid on row 0 (the arrow makes them wider).
    sc->st.kind = VIZ_CROSS;
    sc->st.head = 2;
    draw(sc, "rows_fed_predicts");
    HeatmapBox boxes[VIZ_MAX_BOXES];
    viz_heatmap_layout(&sc->painter, &sc->st, sc->snap, boxes);
    SDL_Color text = {232, 232, 238, 255};
    SDL_Rect left = {boxes[0].grid.x - 80, boxes[0].grid.y, 76, boxes[0].cell};
    assert_true(count_color(sc, left, text) > 5);
}

// The comparisons: the mean of a layer's heads is drawn with the mean weight; all
// layers x heads make one box each; a pinned head stands beside the current one.
static void test_comparisons(void **state) {
    Scene *sc = *state;
    ViewState st = sc->st;
    st.kind = VIZ_CROSS;
    st.layer = 1;
    st.head = VIZ_HEAD_AVERAGE;
    HeatmapBox boxes[VIZ_MAX_BOXES];
    assert_int_equal(viz_heatmap_layout(&sc->painter, &st, sc->snap, boxes), 1);
    // Cell (1, ONE_COL[1]): head 3 says 1, the other three heads 1/4 (uniform over 4 keys).
    float mean = (1.0f + 3 * 0.25f) / 4;
    assert_true(fabsf(viz_box_weight(sc->snap, VIZ_CROSS, &boxes[0], 1, ONE_COL[1]) - mean) < 1e-6f);
    viz_draw(&sc->painter, &st, sc->snap);
    SDL_RenderPresent(sc->renderer);
    SDL_Rect cell = cell_rect(&boxes[0], 1, ONE_COL[1]);
    assert_color("mean of heads", pixel(sc, cell.x + cell.w / 2, cell.y + cell.h / 2), viz_colormap(mean));
    st.head = -1;
    st.all_layers = true;
    int n = viz_heatmap_layout(&sc->painter, &st, sc->snap, boxes);
    assert_int_equal(n, 8);
    assert_int_equal(boxes[5].layer, 1);
    assert_int_equal(boxes[5].head, 1);
    st.all_layers = false;
    st.head = 0;
    st.pinned_layer = 1;
    st.pinned_head = 2;
    assert_int_equal(viz_heatmap_layout(&sc->painter, &st, sc->snap, boxes), 2);
    assert_int_equal(boxes[0].head, 2);
    assert_int_equal(boxes[1].head, 0);
    assert_true(boxes[1].grid.x > boxes[0].grid.x + boxes[0].grid.w);  // side by side
    draw(sc, "pinned_pair");
}

// The positional view's §3.5 panels: the wavelength of the chosen pair is marked in the
// accent colour on the log axis, and the rotation circle marks pos and pos + k.
static void test_positional_wavelengths_and_rotation(void **state) {
    Scene *sc = *state;
    ViewState st = sc->st;
    st.view = VIEW_POSITIONAL;
    st.pe_pair = 3;
    viz_draw(&sc->painter, &st, sc->snap);
    SDL_RenderPresent(sc->renderer);
    SDL_Rect right_third = {W * 2 / 3, H / 2, W / 3 - 10, H / 2 - 60};
    SDL_Color accent = {255, 184, 64, 255}, first = {86, 180, 233, 255}, second = {230, 159, 0, 255};
    assert_true(count_color(sc, right_third, accent) >= 40);  // the marked wavelength (9 x 9)
    assert_true(count_color(sc, right_third, first) >= 60);   // pos, its label, the other wavelengths
    assert_true(count_color(sc, right_third, second) >= 40);  // pos + k and its label
    // Eq. (1) for a clicked row: the panel lists the row's weights (accent on the largest).
    st.view = VIEW_ATTENTION;
    st.head = 2;
    st.formula_row = 1;
    draw(sc, "formula");
}

// Eq. (1) step by step from a real forward pass: the snapshot keeps q, k and v of every
// kind, layer and head (snapshot_copy_attention, as the viewer's worker calls it), and
// the softmax of the scores the panel shows (q·k_j / √d_k, the mask) gives back the
// heatmap's row, the weights the model itself computed; out = Σ_j p_j v_j.
static void fill_from_model(Snapshot *s, Model *m) {
    ModelConfig cfg = {.vocab_size = 12, .d_model = 16, .n_heads = 2, .d_ff = 32,
                       .n_layers = 2, .max_len = 12, .max_batch = 1, .dropout = 0.1f};
    Rng rng;
    rng_seed(&rng, 11, 0);
    model_init(m, &cfg, &rng);
    // Larger weights than the initialisation gives, so the rows are far from uniform.
    for (long i = 0; i < m->params.n; i++) m->params.values[i] *= 2.0f;
    int src[6] = {4, 7, 5, 9, 3, 2}, tgt[5] = {1, 8, 6, 10, 5};
    int S = 6, T = 5;
    model_forward(m, &(ModelBatch){.src = src, .src_lengths = &S, .tgt = tgt, .tgt_lengths = &T,
                                   .B = 1, .S = S, .T = T}, false, NULL);
    memset(s, 0, sizeof *s);
    s->n_layers = 2;
    s->n_heads = 2;
    snapshot_copy_attention(s, m);
}

static void test_formula_reproduces_the_weights(void **state) {
    (void)state;
    Snapshot *s = calloc(1, sizeof *s);
    Model m;
    fill_from_model(s, &m);
    double worst = 0, sharpest = 0;
    for (int k = 0; k < VIZ_KINDS; k++) {
        const VizAttention *a = &s->attn[k];
        assert_int_equal(a->d_k, 8);
        assert_int_equal(a->rows, k == VIZ_ENC_SELF ? 6 : 5);
        assert_int_equal(a->cols, k == VIZ_DEC_SELF ? 5 : 6);
        for (int l = 0; l < 2; l++)
            for (int hd = 0; hd < 2; hd++)
                for (int r = 0; r < a->rows; r++) {
                    VizFormula f;
                    assert_true(viz_formula(s, (VizKind)k, l, hd, r, &f));
                    for (int c = 0; c < a->cols; c++) {
                        float want = a->weights[l][hd][r * a->cols + c];
                        worst = fmax(worst, fabs(f.weight[c] - want));
                        sharpest = fmax(sharpest, want);
                        assert_true(f.masked[c] == (k == VIZ_DEC_SELF && c > r));
                        if (!f.masked[c]) assert_float_equal(f.scaled[c], f.raw[c] / sqrtf(8.0f), 1e-5);
                    }
                    for (int i = 0; i < f.d_k; i++) {
                        double out = 0;
                        for (int c = 0; c < a->cols; c++) out += f.weight[c] * a->v[l][hd][c * f.d_k + i];
                        assert_float_equal(f.out[i], out, 1e-5);
                    }
                }
    }
    assert_true(worst < 1e-5);
    assert_true(sharpest > 0.5);  // not a uniform row that any scores would give
    // A replay keeps no q, k, v: the panel falls back to the recovered scores.
    VizFormula f;
    s->attn[VIZ_CROSS].d_k = 0;
    assert_false(viz_formula(s, VIZ_CROSS, 0, 0, 0, &f));
    model_free(&m);
    free(s);
}

// The panel itself: a click on a row of a live model's heatmap draws the table (q·k_j,
// ÷√d_k, p_j, v_j) closed by a rule and the accent-coloured out = Σ p_j v_j row; a
// replay (no q, k, v) draws the recovered scores, with no such rule.
static int rule_row(const Scene *sc, SDL_Rect r) {
    SDL_Color line = {70, 70, 86, 255};
    for (int y = r.y; y < r.y + r.h; y++) {
        SDL_Rect one = {r.x, y, r.w, 1};
        if (count_color(sc, one, line) > 150) return y;
    }
    return -1;
}

static void test_formula_panel_pixels(void **state) {
    Scene *sc = *state;
    Snapshot *saved = sc->snap;
    Snapshot *s = calloc(1, sizeof *s);
    Model m;
    fill_from_model(s, &m);
    memcpy(s->src_tokens, saved->src_tokens, sizeof s->src_tokens);
    memcpy(s->tgt_tokens, saved->tgt_tokens, sizeof s->tgt_tokens);
    memcpy(s->tgt_next, saved->tgt_next, sizeof s->tgt_next);
    s->version = 1;
    s->src_len = 6;
    s->tgt_len = 5;
    sc->snap = s;
    ViewState st = sc->st;
    st.kind = VIZ_CROSS;
    st.layer = 1;
    st.head = 1;
    st.formula_row = 2;
    ViewState keep = sc->st;
    sc->st = st;
    draw(sc, "formula_exact");
    SDL_Rect right = {W * 62 / 100 + 20, H / 2, W - W * 62 / 100 - 40, H / 2 - 40};
    int y = rule_row(sc, right);
    assert_true(y > 0);
    SDL_Color accent = {255, 184, 64, 255};
    SDL_Rect out_row = {right.x, y + 1, right.w, 16};
    assert_true(count_color(sc, out_row, accent) > 40);  // "out = Σ p_j v_j" and its numbers
    s->attn[VIZ_CROSS].d_k = 0;  // as a replay
    draw(sc, "formula_recovered");
    assert_int_equal(rule_row(sc, right), -1);
    sc->st = keep;
    sc->snap = saved;
    model_free(&m);
    free(s);
}

// Presentation mode: no key hints in the footer, secondary text near-white, and the
// fonts the caller opens for 1.6 times the height are larger.
static void test_presentation_mode(void **state) {
    Scene *sc = *state;
    ViewState st = sc->st;
    int lhs = sc->painter.font_px[FONT_SMALL] * 5 / 4 + 2;
    SDL_Rect hints = {10, H - lhs - 4, W / 2, lhs};
    viz_draw(&sc->painter, &st, sc->snap);
    SDL_RenderPresent(sc->renderer);
    SDL_Color panel = {30, 30, 40, 255};
    int plain = hints.w * hints.h - count_color(sc, hints, panel);
    assert_true(plain > 100);  // the key hints are there
    st.present = true;
    viz_draw(&sc->painter, &st, sc->snap);
    SDL_RenderPresent(sc->renderer);
    assert_int_equal(hints.w * hints.h - count_color(sc, hints, panel), 0);  // and gone
    int small = sc->painter.font_px[FONT_NORMAL];
    ErrorMessage err;
    assert_true(painter_resize(&sc->painter, H * 8 / 5, &err));
    assert_true(sc->painter.font_px[FONT_NORMAL] >= small * 3 / 2);
    assert_true(painter_resize(&sc->painter, H, &err));
}

// ---- PNG ---------------------------------------------------------------------------------

static uint32_t get_u32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void test_checksums_known_values(void **state) {
    (void)state;
    // The standard check values: CRC-32("123456789") and Adler-32("Wikipedia").
    assert_int_equal(png_crc32(0, (const unsigned char *)"123456789", 9), 0xCBF43926u);
    assert_int_equal(png_adler32(1, (const unsigned char *)"Wikipedia", 9), 0x11E60398u);
}

// ---- a small inflater (RFC 1951, stored and fixed-Huffman blocks), to read back what
// the encoder wrote without trusting the encoder's own tables ---------------------------
typedef struct {
    const unsigned char *in;
    size_t n, pos;  // pos counts bits
} BitReader;

static unsigned get_bit(BitReader *r) {
    assert_true(r->pos / 8 < r->n);
    unsigned b = (r->in[r->pos / 8] >> (r->pos % 8)) & 1u;
    r->pos++;
    return b;
}

static unsigned get_bits(BitReader *r, int count) {  // extra bits: least significant first
    unsigned v = 0;
    for (int i = 0; i < count; i++) v |= get_bit(r) << i;
    return v;
}

// One literal/length symbol of the fixed code, read most significant bit first:
// 7-bit codes 0..23 are 256..279; 8-bit 48..191 are 0..143, 192..199 are 280..287;
// 9-bit 400..511 are 144..255.
static int get_fixed_symbol(BitReader *r) {
    unsigned code = 0;
    for (int i = 0; i < 7; i++) code = code << 1 | get_bit(r);
    if (code <= 23) return 256 + (int)code;
    code = code << 1 | get_bit(r);
    if (code >= 48 && code <= 191) return (int)code - 48;
    if (code >= 192 && code <= 199) return 280 + (int)code - 192;
    code = code << 1 | get_bit(r);
    assert_true(code >= 400 && code <= 511);
    return 144 + (int)code - 400;
}

static size_t inflate_all(const unsigned char *in, size_t n, unsigned char *out, size_t cap) {
    static const int len_base[29] = {3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
                                     35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
    static const int dist_base[30] = {1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385,
                                      513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
    BitReader r = {in, n, 0};
    size_t got = 0;
    for (bool last = false; !last;) {
        last = get_bit(&r);
        unsigned type = get_bits(&r, 2);
        if (type == 0) {
            r.pos = (r.pos + 7) / 8 * 8;
            size_t at = r.pos / 8, len = in[at] | (size_t)in[at + 1] << 8;
            assert_int_equal(len ^ 0xFFFF, in[at + 2] | (size_t)in[at + 3] << 8);
            assert_true(got + len <= cap);
            memcpy(out + got, in + at + 4, len);
            got += len;
            r.pos = (at + 4 + len) * 8;
            continue;
        }
        assert_int_equal(type, 1);  // the encoder writes only fixed-Huffman blocks
        for (;;) {
            int sym = get_fixed_symbol(&r);
            if (sym < 256) {
                assert_true(got < cap);
                out[got++] = (unsigned char)sym;
            } else if (sym == 256) {
                break;
            } else {
                int li = sym - 257;
                assert_true(li < 29);
                int extra = li < 8 || li == 28 ? 0 : (li - 4) / 4;
                size_t len = (size_t)len_base[li] + get_bits(&r, extra);
                unsigned dcode = 0;
                for (int i = 0; i < 5; i++) dcode = dcode << 1 | get_bit(&r);
                assert_true(dcode < 30);
                int dextra = dcode < 4 ? 0 : (int)(dcode - 2) / 2;
                size_t dist = (size_t)dist_base[dcode] + get_bits(&r, dextra);
                assert_true(dist <= got && got + len <= cap);
                for (size_t k = 0; k < len; k++, got++) out[got] = out[got - dist];
            }
        }
    }
    return got;
}

// Parses a PNG written by png_encode_rgb back into RGB, checking every chunk CRC, the
// zlib header and the Adler-32 on the way.
static unsigned char *png_decode(const unsigned char *png, size_t n, int *w, int *h) {
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    assert_memory_equal(png, sig, 8);
    size_t at = 8;
    unsigned char *z = malloc(n), *out = NULL;
    size_t zn = 0;
    bool end = false;
    while (!end) {
        assert_true(at + 12 <= n);
        uint32_t len = get_u32(png + at);
        assert_true(at + 12 + len <= n);
        assert_int_equal(png_crc32(0, png + at + 4, len + 4), get_u32(png + at + 8 + len));
        const unsigned char *data = png + at + 8;
        if (!memcmp(png + at + 4, "IHDR", 4)) {
            *w = (int)get_u32(data);
            *h = (int)get_u32(data + 4);
            assert_int_equal(data[8], 8);
            assert_int_equal(data[9], 2);
        } else if (!memcmp(png + at + 4, "IDAT", 4)) {
            memcpy(z + zn, data, len);
            zn += len;
        } else if (!memcmp(png + at + 4, "IEND", 4)) {
            end = true;
        }
        at += 12 + len;
    }
    assert_int_equal(at, n);
    assert_int_equal((z[0] * 256 + z[1]) % 31, 0);
    assert_int_equal(z[0] & 0x0F, 8);  // CM 8: deflate
    size_t row = (size_t)*w * 3 + 1, raw_n = row * (size_t)*h;
    unsigned char *raw = malloc(raw_n + 1);
    assert_int_equal(inflate_all(z + 2, zn - 6, raw, raw_n + 1), raw_n);
    assert_int_equal(get_u32(z + zn - 4), png_adler32(1, raw, raw_n));
    out = malloc((size_t)*w * (size_t)*h * 3);
    for (int y = 0; y < *h; y++) {
        assert_int_equal(raw[y * row], 0);
        memcpy(out + (size_t)y * *w * 3, raw + y * row + 1, (size_t)*w * 3);
    }
    free(raw);
    free(z);
    return out;
}


// Inflates one frame's zlib data (a region of rw x rh RGBA pixels) and blends it into
// the RGB canvas (w pixels wide) at (rx, ry): alpha 255 replaces, alpha 0 keeps (the
// writer uses no other alpha). Checks the Adler-32 and the row filters.
static void paste_region(const unsigned char *z, size_t zn, int rw, int rh, int rx, int ry, int w, unsigned char *canvas) {
    size_t row = (size_t)rw * 4 + 1, raw_n = row * (size_t)rh;
    unsigned char *raw = malloc(raw_n + 1);
    assert_int_equal(inflate_all(z + 2, zn - 6, raw, raw_n + 1), raw_n);
    assert_int_equal(get_u32(z + zn - 4), png_adler32(1, raw, raw_n));
    for (int y = 0; y < rh; y++) {
        assert_int_equal(raw[y * row], 0);
        for (int x = 0; x < rw; x++) {
            const unsigned char *px = raw + y * row + 1 + 4 * x;
            assert_true(px[3] == 0 || px[3] == 255);
            if (px[3] == 255) memcpy(canvas + ((size_t)(ry + y) * w + rx + x) * 3, px, 3);
        }
    }
    free(raw);
}

// Reads an APNG written by apng_*: checks every CRC, the acTL frame count against the
// fcTL chunks, the sequence numbers (0, 1, 2 ... over fcTL and fdAT together), that the
// first frame covers the picture and every region lies inside it, and composes the
// frames (each replaces its region, the rest stays) up to frame `want` into *rgb.
// Returns the frame count.
static int apng_decode(const unsigned char *png, size_t n, int want, int *w, int *h, unsigned char **rgb) {
    size_t at = 8;
    int announced = -1, frames = 0, region[4] = {0, 0, 0, 0};
    uint32_t next_seq = 0;
    unsigned char *z = malloc(n);
    size_t zn = 0;
    *rgb = NULL;
    for (bool end = false; !end;) {
        assert_true(at + 12 <= n);
        uint32_t len = get_u32(png + at);
        assert_true(at + 12 + len <= n);
        assert_int_equal(png_crc32(0, png + at + 4, len + 4), get_u32(png + at + 8 + len));
        const unsigned char *type = png + at + 4, *data = png + at + 8;
        bool image = !memcmp(type, "IDAT", 4) || !memcmp(type, "fdAT", 4);
        if (!image && zn > 0) {  // the frame's data ended: paste it
            if (frames - 1 <= want) paste_region(z, zn, region[2], region[3], region[0], region[1], *w, *rgb);
            zn = 0;
        }
        if (!memcmp(type, "IHDR", 4)) {
            *w = (int)get_u32(data);
            *h = (int)get_u32(data + 4);
            assert_int_equal(data[9], 6);  // RGBA
            *rgb = calloc((size_t)*w * (size_t)*h * 3, 1);
        } else if (!memcmp(type, "acTL", 4)) {
            announced = (int)get_u32(data);
        } else if (!memcmp(type, "fcTL", 4)) {
            assert_int_equal(get_u32(data), next_seq++);
            for (int k = 0; k < 4; k++) region[(k + 2) % 4] = (int)get_u32(data + 4 + 4 * k);  // w, h, x, y
            assert_true(region[0] + region[2] <= *w && region[1] + region[3] <= *h);
            if (frames == 0) assert_true(region[2] == *w && region[3] == *h && region[0] == 0 && region[1] == 0);
            assert_int_equal(data[24], 0);  // dispose: keep
            assert_int_equal(data[25], frames == 0 ? 0 : 1);  // blend: source, then over
            frames++;
        } else if (image) {
            bool fdat = type[1] == 'd';
            if (fdat) assert_int_equal(get_u32(data), next_seq++);
            else assert_int_equal(frames, 1);  // IDAT: only the first frame
            memcpy(z + zn, data + (fdat ? 4 : 0), len - (fdat ? 4 : 0));
            zn += len - (fdat ? 4 : 0);
        } else if (!memcmp(type, "IEND", 4)) {
            end = true;
        }
        at += 12 + len;
    }
    assert_int_equal(at, n);
    assert_int_equal(announced, frames);
    free(z);
    return frames;
}

// Three frames come back as three frames of the right size and pixels, read by the
// decoder above (not by the encoder's own code): the second changes only a small
// rectangle (stored alone), the third the whole picture.
static void test_apng_reads_back(void **state) {
    (void)state;
    enum { AW = 37, AH = 23 };
    static unsigned char img[3][AW * AH * 3];
    for (int i = 0; i < AW * AH; i++) img[0][3 * i] = 10, img[0][3 * i + 1] = 7, img[0][3 * i + 2] = (unsigned char)i;
    memcpy(img[1], img[0], sizeof img[1]);
    for (int y = 5; y < 9; y++)
        for (int x = 20; x < 26; x++) img[1][(y * AW + x) * 3 + 1] = 200;
    for (int i = 0; i < AW * AH * 3; i++) img[2][i] = (unsigned char)(img[0][i] + 90);
    ApngWriter a;
    apng_begin(&a, AW, AH, 3);
    for (int f = 0; f < 3; f++) apng_add_frame(&a, img[f], AW * 3, 100);
    char path[] = "/tmp/test_09_apng_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    ErrorMessage err;
    assert_true(apng_finish(&a, path, &err));
    size_t n;
    char *file = read_whole_file(path, &n, &err);
    assert_non_null(file);
    for (int f = 0; f < 3; f++) {
        int w, h;
        unsigned char *rgb;
        assert_int_equal(apng_decode((unsigned char *)file, n, f, &w, &h, &rgb), 3);
        assert_int_equal(w, AW);
        assert_int_equal(h, AH);
        assert_memory_equal(rgb, img[f], sizeof img[f]);
        free(rgb);
    }
    // The small change was stored as its rectangle: fcTL 2 (the second) is 6 x 4 at (20, 5).
    const unsigned char *second = NULL;
    int seen = 0;
    for (size_t at = 8; at + 8 < n; at += 12 + get_u32((unsigned char *)file + at))
        if (!memcmp(file + at + 4, "fcTL", 4) && ++seen == 2) second = (unsigned char *)file + at + 8;
    assert_non_null(second);
    assert_int_equal(get_u32(second + 4), 6);
    assert_int_equal(get_u32(second + 8), 4);
    assert_int_equal(get_u32(second + 12), 20);
    assert_int_equal(get_u32(second + 16), 5);
    free(file);
    // Fewer frames than announced is an error, not a broken file.
    apng_begin(&a, AW, AH, 2);
    apng_add_frame(&a, img[0], AW * 3, 100);
    assert_false(apng_finish(&a, path, &err));
    remove(path);
}

// ---- replay --------------------------------------------------------------------------

// A hand-made history of 4 frames (2 layers, 4 heads, 4 source and 3 target tokens):
// in frame f, cross-attention row r of layer 2 head 1 puts weight 1 on column
// (r + f) % 4. Written to a file and loaded back as a Replay.
static void make_replay(Replay *r, char *path) {
    HistoryHeader h = {.task = "reverse", .probe = "abc", .n_layers = 2, .n_heads = 4, .d_model = 32,
                       .warmup = 200, .total_steps = 2000, .lr_scale = 0.2f};
    ErrorMessage err;
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_true(history_create(path, &h, &err));
    const char *src[4] = {"a", "b", "c", "</s>"}, *tgt[4] = {"<s>", "c", "b", "a"};
    for (int f = 0; f < 4; f++) {
        HistoryFrame fr;
        memset(&fr, 0, sizeof fr);
        fr.step = f == 0 ? 1 : 500 * f;
        fr.loss = 3.0f - f * 0.5f;
        fr.lr = 0.2f * lrate_schedule(fr.step, 32, 200);
        fr.src_len = 4;
        fr.tgt_len = 3;
        for (int i = 0; i < 4; i++) snprintf(fr.src[i], HISTORY_TOKEN_CHARS, "%s", src[i]);
        for (int i = 0; i < 4; i++) snprintf(fr.tgt[i], HISTORY_TOKEN_CHARS, "%s", tgt[i]);
        snprintf(fr.tgt[3], HISTORY_TOKEN_CHARS, "a");
        size_t per_head = 16 + 9 + 12;
        fr.weights = calloc(per_head * 8, 1);
        int rows, cols;
        unsigned char *w = (unsigned char *)history_weights(&h, &fr, VIZ_CROSS, 1, 0, &rows, &cols);
        for (int rr = 0; rr < rows; rr++) w[rr * cols + (rr + f) % 4] = 255;
        assert_true(history_append(path, &h, &fr, &err));
        free(fr.weights);
    }
    assert_true(replay_load(r, path, &err));
}

// A replayed frame draws like a live snapshot: the top colour where the recording says
// 1; the slider's knob sits at the frame; the training view draws the whole Eq. (3)
// curve (its colour right of the current step too) and the caption line is there.
static void test_replay_draws_the_recording(void **state) {
    Scene *sc = *state;
    Replay r;
    char path[] = "/tmp/test_09_replay_XXXXXX";
    make_replay(&r, path);
    assert_int_equal(r.history.n_frames, 4);
    Snapshot *s = calloc(1, sizeof *s);
    ViewState st;
    view_state_init(&st, W, H);
    st.has_replay = st.replay = true;
    st.replay_frames = 4;
    st.replay_frame = 1;
    st.kind = VIZ_CROSS;
    st.layer = 1;
    st.head = 0;
    replay_fill_snapshot(s, &r, 1);
    s->version = 2;
    assert_true(s->replay);
    assert_int_equal(s->step, 500);
    assert_int_equal(s->total_steps, 2000);
    assert_int_equal(s->history_len, 2);
    assert_string_equal(s->tgt_next[0], "c");
    viz_draw(&sc->painter, &st, s);
    SDL_RenderPresent(sc->renderer);
    HeatmapBox boxes[VIZ_MAX_BOXES];
    assert_int_equal(viz_heatmap_layout(&sc->painter, &st, s, boxes), 1);
    for (int row = 0; row < 3; row++) {
        SDL_Rect cell = cell_rect(&boxes[0], row, (row + 1) % 4);
        assert_color("replayed weight 1", pixel(sc, cell.x + cell.w / 2, cell.y + cell.h / 2), viz_colormap(1));
        SDL_Rect other = cell_rect(&boxes[0], row, (row + 2) % 4);
        assert_color("replayed weight 0", pixel(sc, other.x + other.w / 2, other.y + other.h / 2), viz_colormap(0));
    }
    SDL_Color accent = {255, 184, 64, 255};
    SDL_Rect slider = viz_slider_rect(&sc->painter, &st);
    int knob = slider.x + 1 * (slider.w - 1) / 3;
    assert_color("slider knob", pixel(sc, knob, slider.y + slider.h / 2), accent);
    assert_int_equal(viz_slider_frame(&sc->painter, &st, knob), 1);
    // The training view: Eq. (3) drawn over the whole run, beyond the current step.
    st.view = VIEW_TRAINING;
    viz_draw(&sc->painter, &st, s);
    SDL_RenderPresent(sc->renderer);
    if (getenv("VIZ_TEST_SAVE_DIR")) {
        char out[512];
        snprintf(out, sizeof out, "%s/replay_training.png", getenv("VIZ_TEST_SAVE_DIR"));
        ErrorMessage err;
        viz_save_png(sc->renderer, W, H, out, &err);
    }
    SDL_Color lr_colour = {0, 158, 115, 255};
    SDL_Rect right_part = {W * 40 / 100, H * 55 / 100, W * 18 / 100, H * 35 / 100};
    assert_true(count_color(sc, right_part, lr_colour) > 20);
    // Captions off: the caption strip goes back to the background colour.
    st.view = VIEW_ATTENTION;
    int cap_y = slider.y - 2 - (sc->painter.font_px[FONT_SMALL] * 5 / 4 + 2) / 2 - 1;
    SDL_Rect cap = {10, cap_y - 3, W / 2, 6};
    viz_draw(&sc->painter, &st, s);
    SDL_RenderPresent(sc->renderer);
    int with = count_color(sc, cap, viz_background_color());
    st.captions = false;
    viz_draw(&sc->painter, &st, s);
    SDL_RenderPresent(sc->renderer);
    assert_true(with < cap.w * cap.h);
    free(s);
    replay_free(&r);
    remove(path);
}

// A loaded model has no training history: the training view says so instead of
// drawing empty charts (no chart panels with axes).
static void test_no_training_history_is_said(void **state) {
    Scene *sc = *state;
    Snapshot *s = calloc(1, sizeof *s);
    memcpy(s, sc->snap, sizeof *s);
    s->history_len = 0;
    s->finished = true;
    ViewState st;
    view_state_init(&st, W, H);
    st.view = VIEW_TRAINING;
    viz_draw(&sc->painter, &st, s);
    SDL_RenderPresent(sc->renderer);
    SDL_Color grid_line = {70, 70, 86, 255};
    SDL_Rect body = {0, 60, W, H - 140};
    assert_int_equal(count_color(sc, body, grid_line), 0);  // no chart outlines
    free(s);
}

static void test_png_round_trip(void **state) {
    (void)state;
    // Several hundred KB, with a stride wider than a row.
    int w = 203, h = 151, stride = w * 3 + 5;
    unsigned char *img = malloc((size_t)stride * h);
    // Noise (no matches) in the top half, flat bands and repeats (long matches) below.
    Rng rng;
    rng_seed(&rng, 9, 0);
    for (int i = 0; i < stride * h; i++)
        img[i] = i < stride * h / 2 ? (unsigned char)rng_u32(&rng) : (unsigned char)((i / stride) / 10 * 40);
    size_t n;
    unsigned char *png = png_encode_rgb(img, w, h, stride, &n);
    // Half noise, half flat: about half the raw size, far below it for the flat half.
    assert_true(n < (size_t)(w * 3 + 1) * h * 6 / 10);
    int dw, dh;
    unsigned char *back = png_decode(png, n, &dw, &dh);
    assert_int_equal(dw, w);
    assert_int_equal(dh, h);
    for (int y = 0; y < h; y++) assert_memory_equal(back + (size_t)y * w * 3, img + (size_t)y * stride, (size_t)w * 3);
    free(back);
    free(png);
    free(img);
}

// viz_save_png writes what the renderer shows: the heatmap's top-colour cell comes back.
static void test_save_png_reads_back_the_picture(void **state) {
    Scene *sc = *state;
    sc->st.kind = VIZ_CROSS;
    sc->st.layer = 1;
    sc->st.head = 2;
    draw(sc, "for_png");
    char path[] = "/tmp/test_09_viewer_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    ErrorMessage err;
    assert_true(viz_save_png(sc->renderer, W, H, path, &err));
    size_t n;
    char *file = read_whole_file(path, &n, &err);
    assert_non_null(file);
    int w, h;
    unsigned char *rgb = png_decode((unsigned char *)file, n, &w, &h);
    assert_int_equal(w, W);
    assert_int_equal(h, H);
    HeatmapBox boxes[VIZ_MAX_BOXES];
    viz_heatmap_layout(&sc->painter, &sc->st, sc->snap, boxes);
    SDL_Rect cell = cell_rect(&boxes[0], 1, ONE_COL[1]);
    const unsigned char *px = rgb + ((size_t)(cell.y + 3) * W + cell.x + 3) * 3;
    assert_int_equal(px[0], 253);
    assert_int_equal(px[1], 231);
    assert_int_equal(px[2], 37);
    for (int y = 0; y < H; y += 37)  // and the whole picture matches the surface
        for (int x = 0; x < W; x += 41) {
            SDL_Color c = pixel(sc, x, y);
            const unsigned char *q = rgb + ((size_t)y * W + x) * 3;
            assert_true(q[0] == c.r && q[1] == c.g && q[2] == c.b);
        }
    free(rgb);
    free(file);
    remove(path);
    // An unwritable path is an error message, not a crash.
    assert_false(viz_save_png(sc->renderer, W, H, "/nonexistent-dir/x.png", &err));
    assert_non_null(strstr(err.text, "/nonexistent-dir/x.png"));
}

static void test_missing_font_names_the_file(void **state) {
    Scene *sc = *state;
    Painter p;
    ErrorMessage err;
    assert_false(painter_init(&p, sc->renderer, "/no/such/font.ttf", H, &err));
    assert_non_null(strstr(err.text, "/no/such/font.ttf"));
    painter_free(&p);  // safe after a failed init
    painter_free(&p);
}

// make run: the recording plays in the main view while the live run trains beside it.
// The LIVE inset shows the live snapshot's matrix for the same kind, layer and head (the
// hand-made one-hot head: the colour scale's top colour appears) and its step; a click
// on it brings the live model to full size, after which there is no inset.
static void test_live_inset_beside_a_replay(void **state) {
    Scene *sc = *state;
    Replay r;
    char path[] = "/tmp/test_09_inset_XXXXXX";
    make_replay(&r, path);
    Snapshot *s = calloc(1, sizeof *s);
    replay_fill_snapshot(s, &r, 1);
    s->version = 2;
    ViewState st;
    view_state_init(&st, W, H);
    st.has_replay = st.replay = st.has_live = true;
    st.replay_frames = 4;
    st.replay_frame = 1;
    st.kind = VIZ_CROSS;
    st.layer = 1;
    st.head = 2;
    SDL_Rect inset = viz_live_inset_rect(&sc->painter, &st);
    assert_true(inset.w > 100 && inset.h > 100);
    viz_draw(&sc->painter, &st, s);
    viz_draw_live_inset(&sc->painter, &st, sc->snap);
    SDL_RenderPresent(sc->renderer);
    const char *dir = getenv("VIZ_TEST_SAVE_DIR");
    if (dir) {
        char out[512];
        snprintf(out, sizeof out, "%s/live_inset.png", dir);
        ErrorMessage err;
        viz_save_png(sc->renderer, W, H, out, &err);
    }
    SDL_Color accent = {255, 184, 64, 255};
    SDL_Rect title = {inset.x, inset.y, inset.w, 20};
    assert_true(count_color(sc, title, accent) > 30);                // "LIVE beside the replay: step ..."
    assert_true(count_color(sc, inset, viz_colormap(1.0f)) > 100);   // the live one-hot head
    st.formula_row = 0;  // the Eq. (1) panel takes that place
    assert_int_equal(viz_live_inset_rect(&sc->painter, &st).w, 0);
    st.formula_row = -1;
    InputActions act;
    SDL_Event click = click_event(inset.x + inset.w / 2, inset.y + inset.h / 2);
    viz_handle_event(&sc->painter, &st, s, &click, &act);
    assert_false(st.replay);
    assert_int_equal(viz_live_inset_rect(&sc->painter, &st).w, 0);
    replay_free(&r);
    unlink(path);
    free(s);
}

// Issue 12: --head 5 on the shipped 4-head model showed head 4 (clamped silently). The
// real program (built by `make`, run from the repository root) refuses it and a layer
// the model lacks, naming the option, with exit status 2 and no picture written.
static void test_head_beyond_the_model_refused(void **state) {
    (void)state;
    const char *cases[][2] = {{"--head 5", "--head 5: the model has 4 heads"},
                              {"--layer 3", "--layer 3: the model has 2 layers"}};
    for (int i = 0; i < 2; i++) {
        const char *png = "/tmp/test_09_viewer_head.png", *errors = "/tmp/test_09_viewer_head.err";
        remove(png);
        char command[512];
        snprintf(command, sizeof command, "SDL_VIDEODRIVER=dummy build/transformer-viz --model data/fr-en.ckpt %s "
                 "--snapshot %s 2>%s >/dev/null", cases[i][0], png, errors);
        int status = system(command);
        char line[256] = "";
        FILE *f = fopen(errors, "r");
        assert_non_null(f);
        if (!fgets(line, sizeof line, f)) line[0] = '\0';
        fclose(f);
        remove(errors);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 2 || !strstr(line, cases[i][1]))
            fail_msg("%s: expected exit 2 and '%s', got status %d: %s", cases[i][0], cases[i][1], status, line);
        assert_int_equal(access(png, F_OK), -1);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_colormap_ends_and_order),
        cmocka_unit_test(test_checksums_known_values),
        cmocka_unit_test(test_png_round_trip),
        cmocka_unit_test(test_heatmap_top_bottom_and_mask_colours),
        cmocka_unit_test(test_causal_triangle_is_masked),
        cmocka_unit_test(test_token_labels_are_drawn),
        cmocka_unit_test(test_all_heads_grid_and_hover),
        cmocka_unit_test(test_other_views_draw),
        cmocka_unit_test(test_save_png_reads_back_the_picture),
        cmocka_unit_test(test_missing_font_names_the_file),
        cmocka_unit_test(test_focused_box_takes_every_key),
        cmocka_unit_test(test_quitting_a_live_run_asks),
        cmocka_unit_test(test_grid_keeps_its_shape),
        cmocka_unit_test(test_rows_say_fed_and_predicted),
        cmocka_unit_test(test_comparisons),
        cmocka_unit_test(test_presentation_mode),
        cmocka_unit_test(test_formula_reproduces_the_weights),
        cmocka_unit_test(test_formula_panel_pixels),
        cmocka_unit_test(test_live_inset_beside_a_replay),
        cmocka_unit_test(test_positional_wavelengths_and_rotation),
        cmocka_unit_test(test_apng_reads_back),
        cmocka_unit_test(test_replay_draws_the_recording),
        cmocka_unit_test(test_no_training_history_is_said),
        cmocka_unit_test(test_head_beyond_the_model_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
