// draw.h: everything the viewer puts on screen, drawn from two read-only inputs: the
// ViewState (what the user chose: view, attention kind, layer, head, mouse, text box)
// and the newest Snapshot from the training thread. The same code draws into a window
// and, for --snapshot and the tests, into a software surface.
//
// The Painter holds what drawing needs to keep between frames: the renderer, the fonts
// (sized from the window height, so text stays readable on a projector), and caches:
// text textures keyed by their string (rebuilt only when the string changes) and the
// positional-encoding images (rebuilt only when d_model changes).
#ifndef VIZ_DRAW_H
#define VIZ_DRAW_H

#include <SDL.h>
#include <SDL_ttf.h>
#include <stdbool.h>

#include "common.h"
#include "snapshot.h"

enum { VIZ_HEAD_AVERAGE = -2, VIZ_MAX_BOXES = VIZ_MAX_LAYERS * VIZ_MAX_HEADS };

typedef enum { VIEW_ATTENTION, VIEW_POSITIONAL, VIEW_TRAINING, VIEW_COUNT } VizView;

// What is on screen, apart from the data. Events change it; drawing only reads it.
typedef struct {
    VizView view;
    VizKind kind;
    int layer;             // 0-based
    int head;              // 0-based; -1 shows all heads of the layer as a grid,
                           // VIZ_HEAD_AVERAGE their mean
    bool all_layers;       // every layer x every head of the kind at once (g)
    int pinned_layer, pinned_head;  // shown beside the current head (b pins; -1: none)
    bool help;             // the key overlay
    bool paused;           // as last requested by the user
    bool editing;          // the text box has the keyboard
    char input[VIZ_TEXT_CHARS];  // the text box
    int mouse_x, mouse_y;  // -1 when outside the window
    int width, height;     // window size in pixels
    int pe_pair;           // positional view: frequency index i of the dims 2i, 2i+1 shown
    int pe_positions;      // positional view: positions 0..pe_positions-1
    int pe_shift;          // positional view: the offset k of PE(pos+k) = M·PE(pos)
    char message[600];     // a transient line such as "saved /home/me/transformer-viz-001.png"
    float fps;             // frames drawn per second, measured by the loop (0: not shown)
    bool live_training;    // a live run is training: quitting asks first
    bool confirm_quit;     // q was pressed once; q again quits
    char checkpoint_path[512];  // where quitting a live run saves its model
    // Replay of a recorded .history (replay.h): shown instead of the live model.
    bool has_replay, has_live;  // what there is to switch between with r
    bool replay;           // the recording is on screen
    bool playing;          // the recording advances by itself
    int replay_frame, replay_frames;
    bool captions;         // one line under each view saying what it shows (c)
    bool present;          // presentation mode: big labels, high contrast, no key hints (p)
    int formula_row;       // Eq. (1) step by step for this query row (-1: closed)
    int fit_rows, fit_cols;// all-heads cells are sized for at least this many rows and
                           // columns (the most this sentence has had), so they keep
                           // their place while the translation grows and shrinks
} ViewState;

// Sensible first values: attention view, cross-attention, layer 0, all heads.
void view_state_init(ViewState *st, int width, int height);

typedef enum { FONT_SMALL, FONT_NORMAL, FONT_BIG, FONT_COUNT } FontId;

enum { VIZ_TEXT_CACHE = 768 };

typedef struct {
    char text[VIZ_TEXT_CHARS];
    FontId font;
    Uint32 rgba;
    bool up;               // turned a quarter left (reads upwards)
    SDL_Texture *texture;  // NULL: free slot
    int w, h;
    unsigned last_used;    // frame number
} TextEntry;

typedef struct {
    SDL_Renderer *renderer;
    char font_path[512];
    int font_px[FONT_COUNT];
    TTF_Font *fonts[FONT_COUNT];
    TextEntry text[VIZ_TEXT_CACHE];
    unsigned frame;
    SDL_Color dim;           // the colour of secondary text this frame
    // Positional-encoding images, for pe_d_model and pe_len.
    int pe_d_model, pe_len;
    float *pe;               // (pe_len, pe_d_model) from positional_encoding_table
    SDL_Texture *pe_image;   // pe as colours
    SDL_Texture *pe_dot_image;  // PE·PEᵀ (pe_len, pe_len) as colours
    float pe_dot_max;
} Painter;

// Opens the font (at sizes for a window `height` pixels tall) for renderer r. Returns
// false with a message naming the file (and the Debian package for the default font)
// when it cannot be opened. painter_free is safe on a failed or freed Painter.
bool painter_init(Painter *p, SDL_Renderer *r, const char *font_path, int height,
                  ErrorMessage *err);
void painter_free(Painter *p);
// Reopens the fonts for a new window height (text scales with the window).
bool painter_resize(Painter *p, int height, ErrorMessage *err);

// Draws one whole frame (clears first; the caller presents).
void viz_draw(Painter *p, const ViewState *st, const Snapshot *s);

// The live run beside a replay (make run: the recording plays while the model trains):
// while the attention view shows the replay, the right column's lower part (the text
// box's place, unused by a replay) holds the live model's step and loss and its matrix
// for the same kind, layer and head. Empty rect when not shown (another view, the live
// model on screen, no live run, or the Eq. (1) panel open). The caller draws the inset
// after viz_draw, with the newest live snapshot.
SDL_Rect viz_live_inset_rect(Painter *p, const ViewState *st);
void viz_draw_live_inset(Painter *p, const ViewState *st, const Snapshot *live);

// ---- layout, shared by drawing, mouse hit tests and the pixel tests ---------------
typedef struct {
    int head, layer;
    int rows, cols;
    SDL_Rect grid;   // the cells: cell (r, c) is at grid.x + c*cell, grid.y + r*cell
    int cell;        // cell side in pixels
    bool labels;     // token labels drawn beside this grid
    SDL_Rect area;   // the space given to this grid and its labels
} HeatmapBox;

// The heatmaps of the attention view for st and s: one box (one head, or their mean),
// one per head when st->head == -1, two with a pinned head, layers x heads with
// st->all_layers. Returns how many boxes were written (0 when there is nothing to show).
int viz_heatmap_layout(Painter *p, const ViewState *st, const Snapshot *s,
                       HeatmapBox boxes[VIZ_MAX_BOXES]);

// The weight box b shows at (r, c): one head's, or the mean of the layer's heads.
float viz_box_weight(const Snapshot *s, VizKind kind, const HeatmapBox *b, int r, int c);

// Columns of the all-heads grid: ceil(sqrt(n_heads)), fixed for a model (the grid never
// changes shape as the sentence changes length).
int viz_grid_columns(int n_heads);

// The cell under window point (x, y): true and its box index, row and column if any.
bool viz_hit_cell(Painter *p, const ViewState *st, const Snapshot *s, int x, int y,
                  int *box, int *row, int *col);

// The colour scale: t = 0 is the bottom colour, t = 1 the top (viridis-like,
// perceptually ordered and readable by colour-blind viewers). t is clamped to [0,1].
SDL_Color viz_colormap(float t);
// Masked cells: this fill with hatch lines, so a mask never looks like a weight of 0.
SDL_Color viz_mask_color(void);
SDL_Color viz_hatch_color(void);
SDL_Color viz_background_color(void);

// The sentence box of the attention view (a click there gives it the keyboard).
SDL_Rect viz_text_box_rect(Painter *p, const ViewState *st);
// The replay time slider (empty when st->has_replay is false).
SDL_Rect viz_slider_rect(Painter *p, const ViewState *st);
// The frame of a replay under window column x of the slider.
int viz_slider_frame(Painter *p, const ViewState *st, int x);

// The label of decoder row r: "fed → predicts" (the output is shifted right, §3.1).
void viz_row_label(const Snapshot *s, VizKind kind, int r, char *out, int cap);

// Reads the renderer's current picture (w x h) and writes it as a PNG.
bool viz_save_png(SDL_Renderer *r, int w, int h, const char *path, ErrorMessage *err);

#endif
