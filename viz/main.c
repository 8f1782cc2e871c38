// main.c: transformer-viz, the SDL2 viewer. A toy Transformer trains on a worker
// thread while this thread draws its attention (every layer and head, for the three
// kinds of §3.2.3), the positional encodings of §3.5 and the training curves.
//
//   build/transformer-viz                         train fr-en live, probe "je suis étudiant"
//   build/transformer-viz --task reverse          the anti-diagonal appears as it learns
//   build/transformer-viz --model data/fr-en.ckpt explore a trained model
//   build/transformer-viz --snapshot out.png --frames 300 --kind cross
//                                                 no window: train 300 steps, save a picture
//
// The loop is state / update / draw: events change the ViewState (or send commands to
// the worker through VizControl); a frame is drawn from the ViewState and the newest
// Snapshot only, and only when one of them changed.
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "draw.h"
#include "input.h"
#include "png.h"
#include "replay.h"
#include "snapshot.h"
#include "worker.h"

// The frame-rate cap: one frame per display refresh of a 60 Hz screen.
#define FRAME_SECONDS (1.0 / 60.0)

typedef struct {
    WorkerConfig worker;
    char font[512];
    char snapshot[512];    // --snapshot FILE.png: headless (the first one)
    // Every --snapshot FILE draws one picture, with the view options given before it.
    int n_pictures;
    struct { char path[512]; ViewState view; } pictures[16];
    char probe[VIZ_TEXT_CHARS];
    int width, height;
    bool fps;              // draw continuously and report frames per second
    double quit_after;     // seconds (0: never); for measurements
    ViewState view;        // --view/--kind/--layer/--head preset it
    char replay[512];      // --replay FILE: a recorded .history
    char animate[512];     // --animate OUT.png: headless, the replay as an animated PNG
    int animate_every;     // --every N: every N-th recorded frame (and the last)
    bool live;             // train (or explore) a model: not only a replay
    bool layer_given, head_given;  // checked against the model once it is known
    bool size_given;       // --size: the window opens that large even beyond the screen
} Options;

// The frame-rate of a replay: about ten seconds for a recorded run of ~100 frames.
#define REPLAY_FRAME_SECONDS 0.1

static void usage(const char *program) {
    printf("usage: %s [options]\n\n"
           "Opens a window in which a small Transformer trains live: attention heatmaps of a\n"
           "probe sentence (encoder self-attention, masked decoder self-attention and\n"
           "encoder-decoder attention, every layer and head), the sinusoidal positional\n"
           "encodings, and the loss and learning-rate curves. Press h in the window for keys.\n\n"
           "options:\n"
           "  --task NAME        what to train: fr-en (default), copy, reverse, sort\n"
           "  --probe TEXT       the sentence whose attention is shown (default: the classic\n"
           "                     example \"je suis étudiant\" for fr-en)\n"
           "  --model FILE       explore a trained checkpoint instead of training\n"
           "  --explore          the same with the shipped data/fr-en.ckpt\n"
           "  --steps N          training steps (default: the task's)\n"
           "  --threads N        OpenMP threads for training, at most (default 2; each step on 1 or N, whichever is faster)\n"
           "  --seed N           seed of every random choice\n"
           "  --data DIR         directory holding fr-en/*.tsv (default data)\n"
           "  --font PATH        TrueType font (default DejaVu Sans, Debian package\n"
           "                     fonts-dejavu-core)\n"
           "  --size WxH         window or picture size (default 1280x720, or the screen if smaller)\n"
           "  --snapshot FILE    no window: draw one picture into FILE (PNG) and exit; may be\n"
           "                     repeated, each picture drawn with the view options before it:\n"
           "                     --view training --snapshot a.png --view attention --snapshot b.png\n"
           "  --frames N         with --snapshot: train N steps first (0: the untrained model)\n"
           "  --view NAME        attention (default), positional or training\n"
           "  --kind NAME        encoder, decoder or cross (default)\n"
           "  --layer L          layer 1..N (default 1)\n"
           "  --head H           head 1..h, 'all' (default) or 'mean' (the heads' average)\n"
           "  --all-layers       every layer x every head of the kind at once\n"
           "  --pe-positions N   positions in the positional view (default 64)\n"
           "  --pe-pair I        first frequency index i drawn in the positional view (default 0)\n"
           "  --replay FILE      play a recorded run (a .history file, e.g. data/fr-en.history);\n"
           "                     with --task as well, live training runs beside it (r switches)\n"
           "  --animate OUT.png  no window: the --replay as an animated PNG, drawn with the view\n"
           "                     options (--kind, --layer, --head, --view, --size, --present)\n"
           "  --every N          with --animate: every N-th recorded frame (and the last)\n"
           "  --present          presentation mode: large labels, high contrast, no key hints\n"
           "  --no-captions      no one-line explanation under each view\n"
           "  --fps              redraw continuously (at most 60 frames a second) and print\n"
           "                     frames per second and the time each frame takes\n"
           "  --quit-after SEC   close the window after SEC seconds (for measurements)\n"
           "  --help             this help\n",
           program);
}

static bool parse_int(const char *s, long lo, long hi, long *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > hi) return false;
    *out = v;
    return true;
}

// One option being parsed: its name, the word after it (NULL at the end of argv), and
// whether the option used that word as its value (then the parser skips it).
typedef struct {
    const char *program, *name, *value;
    bool took_value;
} OptionWord;

// What an option parser did with an option: took it, does not know it (the next group
// may), or found it bad (the message is printed).
typedef enum { OPTION_TAKEN, OPTION_UNKNOWN, OPTION_BAD } OptionResult;

// The option's value, or NULL after printing "needs a value".
static const char *option_value(OptionWord *w) {
    if (!w->value) {
        fprintf(stderr, "%s: %s needs a value (see --help)\n", w->program, w->name);
        return NULL;
    }
    w->took_value = true;
    return w->value;
}

// Prints the one-line error for a value that is not `expected`.
static OptionResult bad_value(const OptionWord *w, const char *expected) {
    fprintf(stderr, "%s: %s '%s': expected %s\n", w->program, w->name, w->value, expected);
    return OPTION_BAD;
}

// A whole-number option in lo..hi into *out, or the one-line error naming `expected`.
static OptionResult number_option(OptionWord *w, long lo, long hi, const char *expected, long *out) {
    if (!option_value(w)) return OPTION_BAD;
    return parse_int(w->value, lo, hi, out) ? OPTION_TAKEN : bad_value(w, expected);
}

// A text option copied into out (chars bytes).
static OptionResult text_option(OptionWord *w, char *out, int chars) {
    if (!option_value(w)) return OPTION_BAD;
    viz_copy_text(out, chars, w->value);
    return OPTION_TAKEN;
}

// The options of what trains or is explored: --task, --model, --explore, --probe, --steps,
// --threads, --seed, --data. Sets *have_task / *have_probe when the option says so.
static OptionResult model_option(OptionWord *w, Options *o, bool *have_task, bool *have_probe) {
    const char *a = w->name;
    long n;
    OptionResult r = OPTION_TAKEN;
    if (!strcmp(a, "--task")) {
        if (!option_value(w)) return OPTION_BAD;
        const char *v = w->value;
        if (strcmp(v, "fr-en") && strcmp(v, "copy") && strcmp(v, "reverse") && strcmp(v, "sort"))
            return bad_value(w, "fr-en, copy, reverse or sort");
        snprintf(o->worker.task, sizeof o->worker.task, "%s", v);
        *have_task = true;
    } else if (!strcmp(a, "--probe")) {
        r = text_option(w, o->probe, VIZ_TEXT_CHARS);
        *have_probe = true;
    } else if (!strcmp(a, "--model")) {
        r = text_option(w, o->worker.model_path, (int)sizeof o->worker.model_path);
        *have_task = true;
    } else if (!strcmp(a, "--explore")) {
        snprintf(o->worker.model_path, sizeof o->worker.model_path, "data/fr-en.ckpt");
        *have_task = true;
    } else if (!strcmp(a, "--steps")) {
        if ((r = number_option(w, 1, 100000000, "a number of steps >= 1", &n)) == OPTION_TAKEN) o->worker.steps = n;
    } else if (!strcmp(a, "--threads")) {
        if ((r = number_option(w, 1, 256, "a thread count 1..256", &n)) == OPTION_TAKEN) o->worker.threads = (int)n;
    } else if (!strcmp(a, "--seed")) {
        if ((r = number_option(w, 1, 2147483647L, "a seed >= 1", &n)) == OPTION_TAKEN) o->worker.seed = (uint64_t)n;
    } else if (!strcmp(a, "--data")) {
        r = text_option(w, o->worker.data_dir, (int)sizeof o->worker.data_dir);
    } else {
        r = OPTION_UNKNOWN;
    }
    return r;
}

// The options of what is shown: --view, --kind, --layer, --head, --all-layers,
// --pe-positions, --pe-pair, --present, --no-captions. Layers and heads count from 1 on
// the command line and from 0 in ViewState.
static OptionResult view_option(OptionWord *w, Options *o) {
    const char *a = w->name;
    ViewState *view = &o->view;
    long n;
    OptionResult r = OPTION_TAKEN;
    if (!strcmp(a, "--all-layers")) {
        view->all_layers = true;
    } else if (!strcmp(a, "--present")) {
        view->present = true;
    } else if (!strcmp(a, "--no-captions")) {
        view->captions = false;
    } else if (!strcmp(a, "--view")) {
        if (!option_value(w)) return OPTION_BAD;
        if (!strcmp(w->value, "attention")) view->view = VIEW_ATTENTION;
        else if (!strcmp(w->value, "positional")) view->view = VIEW_POSITIONAL;
        else if (!strcmp(w->value, "training")) view->view = VIEW_TRAINING;
        else r = bad_value(w, "attention, positional or training");
    } else if (!strcmp(a, "--kind")) {
        if (!option_value(w)) return OPTION_BAD;
        if (!strcmp(w->value, "encoder")) view->kind = VIZ_ENC_SELF;
        else if (!strcmp(w->value, "decoder")) view->kind = VIZ_DEC_SELF;
        else if (!strcmp(w->value, "cross")) view->kind = VIZ_CROSS;
        else r = bad_value(w, "encoder, decoder or cross");
    } else if (!strcmp(a, "--layer")) {
        if ((r = number_option(w, 1, VIZ_MAX_LAYERS, "a layer number from 1 (the model's N at most)", &n)) == OPTION_TAKEN) {
            view->layer = (int)n - 1;
            o->layer_given = true;
        }
    } else if (!strcmp(a, "--head")) {
        if (!option_value(w)) return OPTION_BAD;
        if (!strcmp(w->value, "all")) view->head = -1;
        else if (!strcmp(w->value, "mean")) view->head = VIZ_HEAD_AVERAGE;
        else if (parse_int(w->value, 1, VIZ_MAX_HEADS, &n)) view->head = (int)n - 1;
        else return bad_value(w, "a head number from 1 (the model's h at most), 'all' or 'mean'");
        o->head_given = view->head >= 0;
    } else if (!strcmp(a, "--pe-positions")) {
        if ((r = number_option(w, 4, 512, "a number of positions 4..512", &n)) == OPTION_TAKEN) view->pe_positions = (int)n;
    } else if (!strcmp(a, "--pe-pair")) {
        if ((r = number_option(w, 0, 4095, "a frequency index >= 0", &n)) == OPTION_TAKEN) view->pe_pair = (int)n;
    } else {
        r = OPTION_UNKNOWN;
    }
    return r;
}

// Adds a --snapshot picture: the path, drawn with the view options given so far.
static OptionResult snapshot_option(OptionWord *w, Options *o) {
    if (text_option(w, o->snapshot, (int)sizeof o->snapshot) != OPTION_TAKEN) return OPTION_BAD;
    if (o->n_pictures == (int)(sizeof o->pictures / sizeof o->pictures[0])) {
        fprintf(stderr, "%s: at most %d --snapshot pictures\n", w->program, o->n_pictures);
        return OPTION_BAD;
    }
    viz_copy_text(o->pictures[o->n_pictures].path, 512, w->value);
    o->pictures[o->n_pictures].view = o->view;
    o->n_pictures++;
    return OPTION_TAKEN;
}

// The options of the window and the files drawn: --size, --font, --fps, --quit-after,
// --replay, --snapshot, --frames (into *frames), --animate, --every.
static OptionResult output_option(OptionWord *w, Options *o, long *frames) {
    const char *a = w->name;
    long n;
    OptionResult r = OPTION_TAKEN;
    if (!strcmp(a, "--fps")) {
        o->fps = true;
    } else if (!strcmp(a, "--size")) {
        if (!option_value(w)) return OPTION_BAD;
        int width, height;
        char extra;
        if (sscanf(w->value, "%dx%d%c", &width, &height, &extra) != 2 || width < 320 || height < 200 ||
            width > 8192 || height > 8192)
            return bad_value(w, "WIDTHxHEIGHT, e.g. 1280x720 (at least 320x200)");
        o->width = width;
        o->height = height;
        o->size_given = true;
    } else if (!strcmp(a, "--font")) {
        r = text_option(w, o->font, (int)sizeof o->font);
    } else if (!strcmp(a, "--quit-after")) {
        if ((r = number_option(w, 1, 86400, "seconds >= 1", &n)) == OPTION_TAKEN) o->quit_after = (double)n;
    } else if (!strcmp(a, "--replay")) {
        r = text_option(w, o->replay, (int)sizeof o->replay);
    } else if (!strcmp(a, "--snapshot")) {
        r = snapshot_option(w, o);
    } else if (!strcmp(a, "--frames")) {
        r = number_option(w, 0, 100000000, "a number of steps >= 0", frames);
    } else if (!strcmp(a, "--animate")) {
        r = text_option(w, o->animate, (int)sizeof o->animate);
    } else if (!strcmp(a, "--every")) {
        if ((r = number_option(w, 1, 1000, "a frame step 1..1000", &n)) == OPTION_TAKEN) o->animate_every = (int)n;
    } else {
        r = OPTION_UNKNOWN;
    }
    return r;
}

// The options that only make sense together, checked once all are read; then what
// --snapshot and --frames mean for the worker. Prints a one-line error and returns false.
static bool check_option_combinations(Options *o, const char *program, long frames, bool have_task) {
    if (o->animate[0] && !o->replay[0]) {
        fprintf(stderr, "%s: --animate draws a recorded run: give it --replay FILE.history\n", program);
        return false;
    }
    if (o->animate[0] && o->snapshot[0]) {
        fprintf(stderr, "%s: --animate and --snapshot are two separate runs\n", program);
        return false;
    }
    o->live = have_task || !o->replay[0];
    if (frames >= 0 && !o->snapshot[0]) {
        fprintf(stderr, "%s: --frames goes with --snapshot FILE.png\n", program);
        return false;
    }
    if (o->snapshot[0]) {
        o->worker.once = true;
        // Without --frames, or with --frames 0, the picture shows the model as initialised.
        o->worker.steps = frames > 0 ? frames : -1;
    }
    return true;
}

// Parses argv into o. Prints a one-line error and returns false on a bad option.
static bool parse_options(int argc, char **argv, Options *o, bool *help) {
    const char *program = "transformer-viz";  // the prefix of every message, as elsewhere
    memset(o, 0, sizeof *o);
    snprintf(o->worker.task, sizeof o->worker.task, "fr-en");
    o->width = 1280;
    o->height = 720;
    view_state_init(&o->view, o->width, o->height);
    long frames = -1;
    bool have_probe = false, have_task = false;
    *help = false;
    for (int i = 1; i < argc; i++) {
        OptionWord w = {.program = program, .name = argv[i], .value = i + 1 < argc ? argv[i + 1] : NULL};
        if (!strcmp(w.name, "--help") || !strcmp(w.name, "-h")) {
            *help = true;
            return true;
        }
        OptionResult r = model_option(&w, o, &have_task, &have_probe);
        if (r == OPTION_UNKNOWN) r = view_option(&w, o);
        if (r == OPTION_UNKNOWN) r = output_option(&w, o, &frames);
        if (r == OPTION_UNKNOWN)
            fprintf(stderr, "%s: unknown option '%s' (see %s --help)\n", program, w.name, argv[0]);
        if (r != OPTION_TAKEN) return false;
        if (w.took_value) i++;
    }
    if (!check_option_combinations(o, program, frames, have_task)) return false;
    if (!have_probe) viz_copy_text(o->probe, VIZ_TEXT_CHARS, worker_default_probe(o->worker.task));
    o->view.width = o->width;
    o->view.height = o->height;
    return true;
}

// ---- checks once the model is known ---------------------------------------------------

// An option that names a layer, head or frequency the model does not have is an error
// (not silently clamped). Prints it and returns false.
static bool view_fits_model(const Options *o, const ViewState *v, const Snapshot *s) {
    if (s->n_layers <= 0) return true;  // nothing loaded (the error is reported elsewhere)
    if (o->layer_given && v->layer >= s->n_layers) {
        fprintf(stderr, "transformer-viz: --layer %d: the model has %d layer%s\n", v->layer + 1, s->n_layers,
                s->n_layers == 1 ? "" : "s");
        return false;
    }
    if (o->head_given && v->head >= s->n_heads) {
        fprintf(stderr, "transformer-viz: --head %d: the model has %d heads\n", v->head + 1, s->n_heads);
        return false;
    }
    if (s->d_model > 0 && v->pe_pair >= s->d_model / 2) {
        fprintf(stderr, "transformer-viz: --pe-pair %d: d_model = %d has frequency indices 0..%d\n", v->pe_pair,
                s->d_model, s->d_model / 2 - 1);
        return false;
    }
    return true;
}

// A loaded model opens on the layer whose cross-attention is sharpest (lowest mean
// entropy): there the alignment of words shows best.
static void pick_sharpest_layer(const Options *o, ViewState *v, const Snapshot *s) {
    if (o->layer_given || s->history_len > 0 || s->n_layers <= 1) return;
    int best = 0;
    for (int l = 1; l < s->n_layers; l++)
        if (s->entropy[VIZ_CROSS][l] < s->entropy[VIZ_CROSS][best]) best = l;
    v->layer = best;
}

// Fonts for the window height, larger in presentation mode (readable from the back).
static bool fit_fonts(Painter *p, const ViewState *st, ErrorMessage *err) {
    return painter_resize(p, st->present ? st->height * 8 / 5 : st->height, err);
}

// ---- files ------------------------------------------------------------------------------

// The absolute form of a relative path (for messages: "saved /home/me/x.png").
static void absolute_path(char *out, size_t size, const char *path) {
    char cwd[PATH_MAX];
    int n = path[0] == '/' || !getcwd(cwd, sizeof cwd) ? snprintf(out, size, "%s", path)
                                                      : snprintf(out, size, "%s/%s", cwd, path);
    if (n < 0 || (size_t)n >= size) snprintf(out, size, "%s", path);  // too long: as given
}

static bool file_exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0;
}

// The first name dir/stem-NNN.ext that does not exist yet, as an absolute path: saved
// files never overwrite earlier ones, from this run or another.
static void next_free_name(char *out, size_t size, const char *dir, const char *stem, const char *ext) {
    char name[PATH_MAX];
    for (int i = 1; i < 100000; i++) {
        snprintf(name, sizeof name, "%s%s%s-%03d%s", dir, dir[0] ? "/" : "", stem, i, ext);
        if (!file_exists(name)) break;
    }
    absolute_path(out, size, name);
}

// Where a live run saves its model: runs/transformer-viz-TASK-NNN.ckpt (the history
// beside it), a fresh name each run.
static void choose_checkpoint_path(Options *o) {
    if (mkdir("runs", 0777) != 0 && errno != EEXIST) return;  // nothing saved
    char stem[64], path[PATH_MAX];
    snprintf(stem, sizeof stem, "transformer-viz-%s", o->worker.task);
    next_free_name(path, sizeof path, "runs", stem, ".ckpt");
    viz_copy_text(o->worker.checkpoint_path, (int)sizeof o->worker.checkpoint_path, path);
    viz_copy_text(o->view.checkpoint_path, (int)sizeof o->view.checkpoint_path, path);
}

// The fonts for renderer r at the sizes of o (larger with --present). Prints why and
// returns false if the font cannot be opened.
static bool open_painter(Painter *p, SDL_Renderer *r, const Options *o) {
    ErrorMessage err;
    int font_height = o->view.present ? o->height * 8 / 5 : o->height;
    if (!painter_init(p, r, o->font[0] ? o->font : NULL, font_height, &err)) {
        fprintf(stderr, "transformer-viz: %s\n", err.text);
        return false;
    }
    return true;
}

// ---- headless -----------------------------------------------------------------------

// A software surface to draw into, and the painter for it.
typedef struct {
    SDL_Surface *surface;
    SDL_Renderer *renderer;
    Painter painter;
} Canvas;

static void canvas_close(Canvas *c) {
    painter_free(&c->painter);
    if (c->renderer) SDL_DestroyRenderer(c->renderer);
    if (c->surface) SDL_FreeSurface(c->surface);
    TTF_Quit();
    memset(c, 0, sizeof *c);
}

// The font and renderer first: a bad --font should not wait for training.
static bool canvas_open(Canvas *c, const Options *o) {
    memset(c, 0, sizeof *c);
    c->surface = SDL_CreateRGBSurfaceWithFormat(0, o->width, o->height, 32, SDL_PIXELFORMAT_ARGB8888);
    c->renderer = c->surface ? SDL_CreateSoftwareRenderer(c->surface) : NULL;
    if (!c->renderer) {
        fprintf(stderr, "transformer-viz: cannot make a software renderer: %s\n", SDL_GetError());
        return false;
    }
    return open_painter(&c->painter, c->renderer, o);
}

// Draws each --snapshot picture from s into its file.
static int save_pictures(Canvas *c, Options *o, const Snapshot *s) {
    ErrorMessage err;
    for (int i = 0; i < o->n_pictures; i++) {
        ViewState *v = &o->pictures[i].view;
        v->width = o->width;
        v->height = o->height;
        if (!view_fits_model(o, v, s)) return 2;
        pick_sharpest_layer(o, v, s);
        if (!fit_fonts(&c->painter, v, &err)) {
            fprintf(stderr, "transformer-viz: %s\n", err.text);
            return 1;
        }
        viz_draw(&c->painter, v, s);
        SDL_RenderPresent(c->renderer);
        if (!viz_save_png(c->renderer, o->width, o->height, o->pictures[i].path, &err)) {
            fprintf(stderr, "transformer-viz: %s\n", err.text);
            return 1;
        }
        printf("wrote %s (%dx%d", o->pictures[i].path, o->width, o->height);
        printf(s->step > 0 ? ", step %ld)\n" : ")\n", s->step);
    }
    return 0;
}

// --replay FILE --snapshot OUT.png (no --task): the recording's last frame.
static int snapshot_of_replay(Canvas *c, Options *o) {
    Replay r;
    ErrorMessage err;
    if (!replay_load(&r, o->replay, &err)) {
        fprintf(stderr, "transformer-viz: %s\n", err.text);
        return 1;
    }
    Snapshot *s = xcalloc(1, sizeof *s);
    replay_fill_snapshot(s, &r, r.history.n_frames - 1);
    s->version = 1;
    for (int i = 0; i < o->n_pictures; i++) {
        ViewState *v = &o->pictures[i].view;
        v->has_replay = v->replay = true;
        v->replay_frames = r.history.n_frames;
        v->replay_frame = r.history.n_frames - 1;
        v->fit_rows = v->fit_cols = replay_longest(&r, v->replay_frame);
        if (!o->layer_given) v->layer = replay_sharpest_layer(&r);
    }
    int status = save_pictures(c, o, s);
    free(s);
    replay_free(&r);
    return status;
}

static int run_snapshot(Options *o) {
    Canvas c;
    if (!canvas_open(&c, o)) {
        canvas_close(&c);
        return 1;
    }
    if (!o->live) {
        int status = snapshot_of_replay(&c, o);
        canvas_close(&c);
        return status;
    }
    SnapshotExchange x;
    VizControl control;
    exchange_init(&x);
    control_init(&control, o->probe);
    o->worker.exchange = &x;
    o->worker.control = &control;
    worker_run(&o->worker);  // in this thread: train --frames steps (or load), publish
    int status = 0;
    if (o->worker.failed) {
        fprintf(stderr, "transformer-viz: %s\n", o->worker.err.text);
        status = 1;
    } else {
        status = save_pictures(&c, o, exchange_acquire(&x));
    }
    canvas_close(&c);
    control_free(&control);
    exchange_free(&x);
    return status;
}

// Reads the canvas and adds it to the animation as one frame.
static void add_canvas_frame(Canvas *c, const Options *o, ApngWriter *a, unsigned char *rgb, int delay_ms) {
    SDL_RenderPresent(c->renderer);
    SDL_RenderReadPixels(c->renderer, NULL, SDL_PIXELFORMAT_RGB24, rgb, o->width * 3);
    apng_add_frame(a, rgb, o->width * 3, delay_ms);
}

// --animate: every frame of the --replay drawn with the view options, as an APNG.
static int run_animate(Options *o) {
    Replay r;
    ErrorMessage err;
    if (!replay_load(&r, o->replay, &err)) {
        fprintf(stderr, "transformer-viz: %s\n", err.text);
        return 1;
    }
    Canvas c;
    Snapshot *s = xcalloc(1, sizeof *s);
    int status = canvas_open(&c, o) ? 0 : 1;
    ViewState *v = &o->view;
    v->width = o->width;
    v->height = o->height;
    v->has_replay = v->replay = true;
    v->replay_frames = r.history.n_frames;
    v->playing = true;
    if (!o->layer_given) v->layer = replay_sharpest_layer(&r);
    if (status == 0) {
        replay_fill_snapshot(s, &r, r.history.n_frames - 1);
        if (!view_fits_model(o, v, s)) status = 2;
    }
    if (status == 0) {
        unsigned char *rgb = xmalloc((size_t)o->width * (size_t)o->height * 3);
        int every = o->animate_every > 0 ? o->animate_every : 1, last = r.history.n_frames - 1;
        int n_frames = last / every + 1 + (last % every != 0);
        ApngWriter a;
        apng_begin(&a, o->width, o->height, n_frames);
        for (int k = 0; k < n_frames; k++) {
            int f = SDL_min(k * every, last);
            v->replay_frame = f;
            v->fit_rows = v->fit_cols = replay_longest(&r, f);  // cells stay put for seconds
            replay_fill_snapshot(s, &r, f);
            s->version = (uint64_t)f + 1;
            viz_draw(&c.painter, v, s);
            // The last frame stays up for two seconds before the loop starts again.
            add_canvas_frame(&c, o, &a, rgb, f == last ? 2000 : (int)(1e3 * REPLAY_FRAME_SECONDS * every));
        }
        free(rgb);
        char full[PATH_MAX];
        absolute_path(full, sizeof full, o->animate);
        if (apng_finish(&a, o->animate, &err)) {
            printf("wrote %s (%d frames, %dx%d, steps %ld..%ld of %s)\n", full, n_frames, o->width,
                   o->height, r.history.frames[0].step, r.history.frames[r.history.n_frames - 1].step, o->replay);
        } else {
            fprintf(stderr, "transformer-viz: %s\n", err.text);
            status = 1;
        }
    }
    canvas_close(&c);
    free(s);
    replay_free(&r);
    return status;
}

// ---- the window -------------------------------------------------------------------------

// Everything the window needs, torn down in one place (app_close) whatever got opened.
typedef struct {
    bool sdl;                 // SDL_Init succeeded
    SDL_Window *window;
    SDL_Renderer *renderer;
    Painter painter;
    // The live model on the training thread (o->live).
    SnapshotExchange x;
    VizControl control;
    pthread_t thread;
    bool thread_started;
    // The recording (--replay), and the snapshot drawn from its current frame.
    Replay replay;
    bool have_replay;
    Snapshot *replay_snapshot;
    int replay_filled;        // frame now in replay_snapshot (-1: none)
    double replay_tick;       // when the playing replay last advanced
    // Frame timing for --fps and the closing report.
    double started, fps_start, last_frame, draw_seconds, worst_draw;
    long draws;
    int frames;
    // What the heatmap cells are sized for (fit_sentence).
    uint64_t fit_version;
    char fit_probe[VIZ_TEXT_CHARS];
    bool fit_replay;
    int fit_age, fit_recent;  // snapshots since the size was last allowed to shrink; the most since
} App;

static int no_display(const char *why) {
    fprintf(stderr, "transformer-viz: cannot open a window (%s). No display? "
                    "Draw a picture instead: --snapshot out.png [--frames N]\n", why);
    return 1;
}

static void app_close(App *app) {
    painter_free(&app->painter);
    if (app->renderer) SDL_DestroyRenderer(app->renderer);
    if (app->window) SDL_DestroyWindow(app->window);
    if (TTF_WasInit()) TTF_Quit();
    if (app->sdl) SDL_Quit();
    if (app->have_replay) replay_free(&app->replay);
    free(app->replay_snapshot);
    app->replay_snapshot = NULL;
}

// The window's title: what it shows (training a task live, exploring a model, a replay).
static void window_title(char *title, int chars, const Options *o) {
    const char *what = "Attention Is All You Need";
    if (o->live && o->worker.model_path[0])
        snprintf(title, chars, "%s: exploring %s", what, o->worker.model_path);
    else if (o->live && o->replay[0])
        snprintf(title, chars, "%s: training %s live, replaying %s", what, o->worker.task, o->replay);
    else if (o->live)
        snprintf(title, chars, "%s: training %s live", what, o->worker.task);
    else
        snprintf(title, chars, "%s: replay of %s", what, o->replay);
}

// Whether the environment variable is set to something (DISPLAY= counts as unset).
static bool env_set(const char *name) {
    const char *v = getenv(name);
    return v && v[0];
}

// The default window (1280x720) on a smaller screen, a 1024x768 projector say, opens at
// the screen's usable size instead of spilling off it; a --size the user gave is kept.
static void fit_window_to_screen(Options *o) {
    SDL_Rect usable;
    if (o->size_given || SDL_GetDisplayUsableBounds(0, &usable) != 0) return;
    if (usable.w >= 320 && o->width > usable.w) o->width = usable.w;
    if (usable.h >= 200 && o->height > usable.h) o->height = usable.h;
    o->view.width = o->width;
    o->view.height = o->height;
}

// Opens the window, its renderer and the fonts. Prints why and returns false if any fails.
static bool app_open_window(App *app, Options *o) {
    // Without a display SDL may still "succeed" with an offscreen driver and draw into
    // nothing; say so instead, unless a driver was asked for by name.
    if (!env_set("SDL_VIDEODRIVER") && !env_set("DISPLAY") && !env_set("WAYLAND_DISPLAY")) {
        no_display("neither DISPLAY nor WAYLAND_DISPLAY is set");
        return false;
    }
    if (SDL_Init(SDL_INIT_VIDEO) != 0) {
        no_display(SDL_GetError());
        return false;
    }
    app->sdl = true;
    fit_window_to_screen(o);
    char title[600];
    window_title(title, sizeof title, o);
    app->window = SDL_CreateWindow(title, SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED, o->width, o->height,
                                   SDL_WINDOW_RESIZABLE);
    if (!app->window) {
        no_display(SDL_GetError());
        return false;
    }
    // vsync would tie --fps to the display; without it frames are drawn on demand anyway.
    app->renderer = SDL_CreateRenderer(app->window, -1, 0);
    if (!app->renderer) {
        fprintf(stderr, "transformer-viz: SDL_CreateRenderer: %s\n", SDL_GetError());
        return false;
    }
    SDL_RendererInfo info;
    if (o->fps && SDL_GetRendererInfo(app->renderer, &info) == 0)
        fprintf(stderr, "transformer-viz: video driver %s, renderer %s\n", SDL_GetCurrentVideoDriver(), info.name);
    return open_painter(&app->painter, app->renderer, o);
}

// Loads the --replay file; the window then opens on it, playing.
static bool app_load_replay(App *app, Options *o) {
    ErrorMessage err;
    if (!replay_load(&app->replay, o->replay, &err)) {
        fprintf(stderr, "transformer-viz: %s\n", err.text);
        return false;
    }
    app->have_replay = true;
    app->replay_snapshot = xcalloc(1, sizeof *app->replay_snapshot);
    app->replay_filled = -1;
    ViewState *st = &o->view;
    st->has_replay = st->replay = st->playing = true;
    st->replay_frames = app->replay.history.n_frames;
    if (!o->layer_given) st->layer = replay_sharpest_layer(&app->replay);
    return true;
}

static void app_start_worker(App *app, Options *o) {
    exchange_init(&app->x);
    control_init(&app->control, o->probe);
    o->worker.exchange = &app->x;
    o->worker.control = &app->control;
    o->view.has_live = true;
    if (pthread_create(&app->thread, NULL, worker_thread, &o->worker) != 0) die("cannot start the training thread");
    app->thread_started = true;
}

// Tells the trainer to stop (it saves the live model), waits for it, says where it is.
static void app_stop_worker(App *app, Options *o) {
    if (!app->thread_started) return;
    control_quit(&app->control);
    pthread_join(app->thread, NULL);
    app->thread_started = false;
    const char *ckpt = o->worker.checkpoint_path;
    if (ckpt[0] && o->worker.steps_done > 0 && file_exists(ckpt)) {
        char history[PATH_MAX];
        history_path_for(history, sizeof history, ckpt);
        fprintf(stderr, "transformer-viz: the live model is saved in %s (step %ld), its attention history in %s;\n"
                        "  explore it with: build/transformer-viz --model %s   or replay it: build/transformer-viz --replay %s\n",
                ckpt, o->worker.steps_done, history, ckpt, history);
    }
    control_free(&app->control);
    exchange_free(&app->x);
}

// The snapshot to draw: the replay's current frame, or the newest live one.
static const Snapshot *app_snapshot(App *app, const ViewState *st, const Snapshot *live) {
    if (!st->replay || !app->have_replay) return live;
    if (app->replay_filled != st->replay_frame) {
        replay_fill_snapshot(app->replay_snapshot, &app->replay, st->replay_frame);
        app->replay_snapshot->version = (uint64_t)st->replay_frame + 1;
        app->replay_filled = st->replay_frame;
    }
    return app->replay_snapshot;
}

// A playing replay moves one frame on every REPLAY_FRAME_SECONDS; true if it moved.
static bool app_advance_replay(App *app, ViewState *st) {
    double now = wall_seconds();
    if (!st->replay || !st->playing || now - app->replay_tick < REPLAY_FRAME_SECONDS) return false;
    app->replay_tick = now;
    if (st->replay_frame + 1 >= st->replay_frames) {
        st->playing = false;  // stays on the last frame; space plays again from the start
        return true;
    }
    st->replay_frame++;
    return true;
}

// Saves the window as the next free transformer-viz-NNN.png and says where.
static void save_window_png(App *app, ViewState *st) {
    char path[PATH_MAX];
    ErrorMessage err;
    next_free_name(path, sizeof path, "", "transformer-viz", ".png");
    if (viz_save_png(app->renderer, st->width, st->height, path, &err)) {
        if (snprintf(st->message, sizeof st->message, "saved %s", path) >= (int)sizeof st->message)
            viz_copy_text(st->message, (int)sizeof st->message, path);
        printf("saved %s\n", path);
    } else {
        viz_copy_text(st->message, (int)sizeof st->message, err.text);
    }
}

// One event: the ViewState changes (input.c), then the requests it makes are carried out.
// Returns false when the viewer should close.
static bool app_event(App *app, ViewState *st, const Snapshot *s, const SDL_Event *e) {
    if (e->type == SDL_WINDOWEVENT) {
        if (e->window.event == SDL_WINDOWEVENT_SIZE_CHANGED) {
            st->width = e->window.data1;
            st->height = e->window.data2;
        } else if (e->window.event == SDL_WINDOWEVENT_LEAVE) {
            st->mouse_x = st->mouse_y = -1;
        }
        return true;
    }
    InputActions act;
    viz_handle_event(&app->painter, st, s, e, &act);
    if (act.toggle_pause && app->thread_started) control_set_paused(&app->control, st->paused);
    if (act.send_probe && app->thread_started) {
        control_set_probe(&app->control, st->input);
        st->replay = false;  // a typed sentence is translated by the live model
    }
    if (act.save_png) save_window_png(app, st);
    return !act.quit;
}

// Draws one frame (at most 60 a second), with the live run's inset over a replay, and
// keeps the timing figures.
static bool app_frame(App *app, Options *o, const Snapshot *s, const Snapshot *live) {
    ViewState *st = &o->view;
    ErrorMessage err;
    if (!fit_fonts(&app->painter, st, &err)) {
        fprintf(stderr, "transformer-viz: %s\n", err.text);
        return false;
    }
    // At most 60 frames a second: a display shows no more, and on a 2-core machine
    // every millisecond the renderer does not spend is one the training thread gets.
    double since_last = wall_seconds() - app->last_frame;
    if (since_last < FRAME_SECONDS) SDL_Delay((Uint32)(1e3 * (FRAME_SECONDS - since_last)));
    double t0 = wall_seconds();
    app->last_frame = t0;
    viz_draw(&app->painter, st, s);
    // the inset stays off while the help is open: the help box is drawn first and under it
    if (s != live && app->thread_started && !st->help) viz_draw_live_inset(&app->painter, st, live);
    SDL_RenderPresent(app->renderer);
    double dt = wall_seconds() - t0;
    app->draw_seconds += dt;
    if (dt > app->worst_draw) app->worst_draw = dt;
    app->draws++;
    app->frames++;
    double now = wall_seconds();
    if (o->fps && now - app->fps_start >= 1.0) {
        st->fps = (float)(app->frames / (now - app->fps_start));
        fprintf(stderr, "fps %.1f (draw %.2f ms mean)\n", st->fps, 1e3 * app->draw_seconds / app->draws);
        app->frames = 0;
        app->fps_start = now;
    }
    return true;
}

// The first snapshot of a model: options that do not fit it are errors; a loaded model
// opens on its sharpest cross-attention layer.
static bool app_first_look(const Options *o, ViewState *st, const Snapshot *s, bool *checked) {
    if (*checked || s->n_layers <= 0) return true;
    *checked = true;
    if (!view_fits_model(o, st, s)) return false;
    if (!s->replay && s->finished) pick_sharpest_layer(o, st, s);
    return true;
}

// The all-heads cells are sized for the longest the sentence on screen has been lately:
// they grow at once when a translation needs it and shrink back at most once every
// FIT_WINDOW snapshots (~3 s live, a snapshot every 0.25 s), so they never jump with
// every snapshot; a new sentence starts over. (At 40 snapshots, ~10 s, an untrained
// model's first translations, as long as the limit allows, kept the cells too small
// for token labels through the first tens of seconds of training, when attention forms.)
// A replay is sized from the frames around the current one.
#define FIT_WINDOW 12
static void fit_sentence(App *app, ViewState *st, const Snapshot *s) {
    if (s->version == app->fit_version) return;
    app->fit_version = s->version;
    if (s->replay) {
        st->fit_rows = st->fit_cols = replay_longest(&app->replay, st->replay_frame);
        app->fit_replay = true;
        return;
    }
    int longest = SDL_max(s->src_len, s->tgt_len);
    bool same = strcmp(app->fit_probe, s->probe) == 0 && !app->fit_replay;
    if (!same || ++app->fit_age >= FIT_WINDOW) {
        viz_copy_text(app->fit_probe, (int)sizeof app->fit_probe, s->probe);
        app->fit_replay = false;
        st->fit_rows = st->fit_cols = same ? app->fit_recent : longest;
        app->fit_recent = 0;
        app->fit_age = 0;
    }
    app->fit_recent = SDL_max(app->fit_recent, longest);
    st->fit_rows = SDL_max(st->fit_rows, longest);
    st->fit_cols = SDL_max(st->fit_cols, longest);
}

// The loop: wait for events (waking often enough for new snapshots), apply them, and
// draw when the state or the snapshot changed.
static int app_loop(App *app, Options *o) {
    static const Snapshot empty;
    ViewState *st = &o->view;
    uint64_t drawn_version = (uint64_t)-1, drawn_live = (uint64_t)-1;
    bool dirty = true, running = true, checked = false;
    const Snapshot *live = app->thread_started ? exchange_acquire(&app->x) : &empty;
    app->started = app->fps_start = wall_seconds();
    while (running) {
        const Snapshot *s = app_snapshot(app, st, live);
        SDL_Event e;
        bool got = o->fps ? SDL_PollEvent(&e) : SDL_WaitEventTimeout(&e, 15);
        while (got && running) {
            dirty = true;
            running = app_event(app, st, s, &e);
            s = app_snapshot(app, st, live);
            got = SDL_PollEvent(&e);
        }
        if (app->thread_started) live = exchange_acquire(&app->x);  // never waits for a training step
        st->live_training = app->thread_started && live->version > 0 && !live->finished && !o->worker.failed;
        dirty |= app_advance_replay(app, st);
        s = app_snapshot(app, st, live);
        if (!app_first_look(o, st, s, &checked)) return 2;
        fit_sentence(app, st, s);
        if (s != live && live->version != drawn_live && viz_live_inset_rect(&app->painter, st).w > 0)
            dirty = true;  // the live inset beside a replay moves on its own
        if (s->version != drawn_version) {
            dirty = true;
            if (s->version > 0 && !strcmp(st->message, "translating ...") && !st->editing) st->message[0] = '\0';
        }
        if (o->quit_after > 0 && wall_seconds() - app->started > o->quit_after) running = false;
        if (!running || (!dirty && !o->fps)) continue;
        if (!app_frame(app, o, s, live)) return 1;
        drawn_version = s->version;
        drawn_live = live->version;
        dirty = false;
    }
    return 0;
}

static int run_window(Options *o) {
    App *app = xcalloc(1, sizeof *app);
    int status = app_open_window(app, o) ? 0 : 1;
    if (status == 0 && o->replay[0] && !app_load_replay(app, o)) status = 1;
    if (status == 0) {
        if (o->live) {
            choose_checkpoint_path(o);
            app_start_worker(app, o);
        }
        status = app_loop(app, o);
        app_stop_worker(app, o);
        if (app->draws > 0 && o->worker.steps_done > 0)
            fprintf(stderr, "transformer-viz: %ld frames, draw+present %.2f ms mean, %.2f ms worst; "
                            "training: %ld steps, %.0f tokens/s in its steps, %.0f tokens/s wall clock "
                            "(pauses excluded), %.1f s spent on snapshots\n",
                    app->draws, 1e3 * app->draw_seconds / app->draws, 1e3 * app->worst_draw, o->worker.steps_done,
                    o->worker.step_tokens_per_sec, o->worker.tokens_per_sec, o->worker.publish_seconds_total);
        if (o->worker.failed) {
            fprintf(stderr, "transformer-viz: %s\n", o->worker.err.text);
            status = 1;
        }
    }
    app_close(app);
    free(app);
    return status;
}

int main(int argc, char **argv) {
    // The training thread's OpenMP workers must not spin on the cores the drawing thread
    // needs (common.h): first thing, before any OpenMP call.
    threads_wait_briefly(argv);
    Options *o = xcalloc(1, sizeof *o);
    bool help;
    if (!parse_options(argc, argv, o, &help)) {
        free(o);
        return 2;
    }
    if (help) {
        usage(argv[0]);
        free(o);
        return 0;
    }
    int status = o->animate[0] ? run_animate(o) : o->snapshot[0] ? run_snapshot(o) : run_window(o);
    free(o);
    return status;
}
