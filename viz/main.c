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
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "draw.h"
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
} Options;

static void usage(const char *program) {
    printf("usage: %s [options]\n\n"
           "Opens a window in which a small Transformer trains live: attention heatmaps of a\n"
           "probe sentence (encoder self-attention, masked decoder self-attention and\n"
           "encoder-decoder attention, every layer and head), the sinusoidal positional\n"
           "encodings, and the loss and learning-rate curves. Press h in the window for keys.\n\n"
           "options:\n"
           "  --task NAME        what to train: fr-en (default), copy, reverse, sort\n"
           "  --probe TEXT       the sentence whose attention is shown (default: the paper's\n"
           "                     \"je suis étudiant\" for fr-en)\n"
           "  --model FILE       explore a trained checkpoint instead of training\n"
           "  --explore          the same with the shipped data/fr-en.ckpt\n"
           "  --steps N          training steps (default: the task's)\n"
           "  --threads N        OpenMP threads for training (default 2)\n"
           "  --seed N           seed of every random choice\n"
           "  --data DIR         directory holding fr-en/*.tsv (default data)\n"
           "  --font PATH        TrueType font (default DejaVu Sans, Debian package\n"
           "                     fonts-dejavu-core)\n"
           "  --size WxH         window or picture size (default 1280x720)\n"
           "  --snapshot FILE    no window: draw one picture into FILE (PNG) and exit; may be\n"
           "                     repeated, each picture drawn with the view options before it:\n"
           "                     --view training --snapshot a.png --view attention --snapshot b.png\n"
           "  --frames N         with --snapshot: train N steps first (0: the untrained model)\n"
           "  --view NAME        attention (default), positional or training\n"
           "  --kind NAME        encoder, decoder or cross (default)\n"
           "  --layer L          layer 1..N (default 1)\n"
           "  --head H           head 1..h, or 'all' (default all)\n"
           "  --pe-positions N   positions in the positional view (default 64)\n"
           "  --pe-pair I        first frequency index i drawn in the positional view (default 0)\n"
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

// Parses argv into o. Prints a one-line error and returns false on a bad option.
static bool parse_options(int argc, char **argv, Options *o, bool *help) {
    const char *program = argv[0];
    memset(o, 0, sizeof *o);
    snprintf(o->worker.task, sizeof o->worker.task, "fr-en");
    o->width = 1280;
    o->height = 720;
    view_state_init(&o->view, o->width, o->height);
    long frames = -1;
    bool have_probe = false;
    *help = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        long n;
#define NEED_VALUE()                                                                       \
    do {                                                                                   \
        if (!v) {                                                                          \
            fprintf(stderr, "%s: %s needs a value (see --help)\n", program, a);            \
            return false;                                                                  \
        }                                                                                  \
        i++;                                                                               \
    } while (0)
#define BAD_VALUE(what)                                                                    \
    do {                                                                                   \
        fprintf(stderr, "%s: %s '%s': expected %s\n", program, a, v, what);               \
        return false;                                                                      \
    } while (0)
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            *help = true;
            return true;
        } else if (!strcmp(a, "--task")) {
            NEED_VALUE();
            if (strcmp(v, "fr-en") && strcmp(v, "copy") && strcmp(v, "reverse") && strcmp(v, "sort"))
                BAD_VALUE("fr-en, copy, reverse or sort");
            snprintf(o->worker.task, sizeof o->worker.task, "%s", v);
        } else if (!strcmp(a, "--probe")) {
            NEED_VALUE();
            viz_copy_text(o->probe, VIZ_TEXT_CHARS, v);
            have_probe = true;
        } else if (!strcmp(a, "--model")) {
            NEED_VALUE();
            viz_copy_text(o->worker.model_path, (int)sizeof o->worker.model_path, v);
        } else if (!strcmp(a, "--explore")) {
            snprintf(o->worker.model_path, sizeof o->worker.model_path, "data/fr-en.ckpt");
        } else if (!strcmp(a, "--steps")) {
            NEED_VALUE();
            if (!parse_int(v, 1, 100000000, &n)) BAD_VALUE("a number of steps >= 1");
            o->worker.steps = n;
        } else if (!strcmp(a, "--threads")) {
            NEED_VALUE();
            if (!parse_int(v, 1, 256, &n)) BAD_VALUE("a thread count 1..256");
            o->worker.threads = (int)n;
        } else if (!strcmp(a, "--seed")) {
            NEED_VALUE();
            if (!parse_int(v, 1, 2147483647L, &n)) BAD_VALUE("a seed >= 1");
            o->worker.seed = (uint64_t)n;
        } else if (!strcmp(a, "--data")) {
            NEED_VALUE();
            viz_copy_text(o->worker.data_dir, (int)sizeof o->worker.data_dir, v);
        } else if (!strcmp(a, "--font")) {
            NEED_VALUE();
            viz_copy_text(o->font, (int)sizeof o->font, v);
        } else if (!strcmp(a, "--size")) {
            NEED_VALUE();
            int w, h;
            char extra;
            if (sscanf(v, "%dx%d%c", &w, &h, &extra) != 2 || w < 320 || h < 200 || w > 8192 || h > 8192)
                BAD_VALUE("WIDTHxHEIGHT, e.g. 1280x720 (at least 320x200)");
            o->width = w;
            o->height = h;
        } else if (!strcmp(a, "--snapshot")) {
            NEED_VALUE();
            viz_copy_text(o->snapshot, (int)sizeof o->snapshot, v);
            if (o->n_pictures == (int)(sizeof o->pictures / sizeof o->pictures[0])) {
                fprintf(stderr, "%s: at most %d --snapshot pictures\n", program, o->n_pictures);
                return false;
            }
            viz_copy_text(o->pictures[o->n_pictures].path, 512, v);
            o->pictures[o->n_pictures].view = o->view;
            o->n_pictures++;
        } else if (!strcmp(a, "--frames")) {
            NEED_VALUE();
            if (!parse_int(v, 0, 100000000, &frames)) BAD_VALUE("a number of steps >= 0");
        } else if (!strcmp(a, "--view")) {
            NEED_VALUE();
            if (!strcmp(v, "attention")) o->view.view = VIEW_ATTENTION;
            else if (!strcmp(v, "positional")) o->view.view = VIEW_POSITIONAL;
            else if (!strcmp(v, "training")) o->view.view = VIEW_TRAINING;
            else BAD_VALUE("attention, positional or training");
        } else if (!strcmp(a, "--kind")) {
            NEED_VALUE();
            if (!strcmp(v, "encoder")) o->view.kind = VIZ_ENC_SELF;
            else if (!strcmp(v, "decoder")) o->view.kind = VIZ_DEC_SELF;
            else if (!strcmp(v, "cross")) o->view.kind = VIZ_CROSS;
            else BAD_VALUE("encoder, decoder or cross");
        } else if (!strcmp(a, "--layer")) {
            NEED_VALUE();
            if (!parse_int(v, 1, VIZ_MAX_LAYERS, &n)) BAD_VALUE("a layer number 1..6");
            o->view.layer = (int)n - 1;
        } else if (!strcmp(a, "--head")) {
            NEED_VALUE();
            if (!strcmp(v, "all")) o->view.head = -1;
            else if (parse_int(v, 1, VIZ_MAX_HEADS, &n)) o->view.head = (int)n - 1;
            else BAD_VALUE("a head number 1..8 or 'all'");
        } else if (!strcmp(a, "--pe-positions")) {
            NEED_VALUE();
            if (!parse_int(v, 4, 512, &n)) BAD_VALUE("a number of positions 4..512");
            o->view.pe_positions = (int)n;
        } else if (!strcmp(a, "--pe-pair")) {
            NEED_VALUE();
            if (!parse_int(v, 0, 4095, &n)) BAD_VALUE("a frequency index >= 0");
            o->view.pe_pair = (int)n;
        } else if (!strcmp(a, "--fps")) {
            o->fps = true;
        } else if (!strcmp(a, "--quit-after")) {
            NEED_VALUE();
            if (!parse_int(v, 1, 86400, &n)) BAD_VALUE("seconds >= 1");
            o->quit_after = (double)n;
        } else {
            fprintf(stderr, "%s: unknown option '%s' (see %s --help)\n", program, a, program);
            return false;
        }
#undef NEED_VALUE
#undef BAD_VALUE
    }
    if (frames >= 0 && !o->snapshot[0]) {
        fprintf(stderr, "%s: --frames goes with --snapshot FILE.png\n", program);
        return false;
    }
    if (o->snapshot[0]) {
        o->worker.once = true;
        // Without --frames, or with --frames 0, the picture shows the model as initialised.
        o->worker.steps = frames > 0 ? frames : -1;
    }
    if (!have_probe) viz_copy_text(o->probe, VIZ_TEXT_CHARS, worker_default_probe(o->worker.task));
    o->view.width = o->width;
    o->view.height = o->height;
    return true;
}

// ---- headless -----------------------------------------------------------------------

static int run_snapshot(Options *o) {
    // The font and renderer first: a bad --font should not wait for training.
    SDL_Surface *surface = SDL_CreateRGBSurfaceWithFormat(0, o->width, o->height, 32, SDL_PIXELFORMAT_ARGB8888);
    SDL_Renderer *renderer = surface ? SDL_CreateSoftwareRenderer(surface) : NULL;
    Painter painter;
    ErrorMessage err;
    memset(&painter, 0, sizeof painter);
    int status = 0;
    if (!renderer) {
        fprintf(stderr, "transformer-viz: cannot make a software renderer: %s\n", SDL_GetError());
        status = 1;
    } else if (!painter_init(&painter, renderer, o->font[0] ? o->font : NULL, o->height, &err)) {
        fprintf(stderr, "transformer-viz: %s\n", err.text);
        status = 1;
    }
    SnapshotExchange x;
    VizControl control;
    exchange_init(&x);
    control_init(&control, o->probe);
    if (status == 0) {
        o->worker.exchange = &x;
        o->worker.control = &control;
        worker_run(&o->worker);  // in this thread: train --frames steps (or load), publish
        if (o->worker.failed) {
            fprintf(stderr, "transformer-viz: %s\n", o->worker.err.text);
            status = 1;
        }
    }
    const Snapshot *s = exchange_acquire(&x);
    for (int i = 0; i < o->n_pictures && status == 0; i++) {
        ViewState *v = &o->pictures[i].view;
        v->width = o->width;
        v->height = o->height;
        viz_draw(&painter, v, s);
        SDL_RenderPresent(renderer);
        if (!viz_save_png(renderer, o->width, o->height, o->pictures[i].path, &err)) {
            fprintf(stderr, "transformer-viz: %s\n", err.text);
            status = 1;
        } else {
            printf("wrote %s (%dx%d", o->pictures[i].path, o->width, o->height);
            printf(s->step > 0 ? ", step %ld)\n" : ")\n", s->step);
        }
    }
    painter_free(&painter);
    if (renderer) SDL_DestroyRenderer(renderer);
    if (surface) SDL_FreeSurface(surface);
    TTF_Quit();
    control_free(&control);
    exchange_free(&x);
    return status;
}

// ---- the window -------------------------------------------------------------------------

// Moves a UTF-8 string's end back by one character.
static void delete_last_char(char *s) {
    size_t n = strlen(s);
    while (n > 0 && ((unsigned char)s[n - 1] & 0xC0) == 0x80) n--;  // continuation bytes
    if (n > 0) n--;
    s[n] = '\0';
}

static void set_message(ViewState *st, const char *text) {
    viz_copy_text(st->message, (int)sizeof st->message, text);
}

// Keys when the text box does not have the keyboard. Returns false to quit.
static bool handle_key(SDL_Keycode key, SDL_Keymod mod, ViewState *st, const Snapshot *s,
                       VizControl *control, SDL_Renderer *renderer, int *saved) {
    int layers = s->n_layers > 0 ? s->n_layers : 1, heads = s->n_heads > 0 ? s->n_heads : 1;
    st->message[0] = '\0';
    switch (key) {
    case SDLK_q:
    case SDLK_ESCAPE:
        if (st->help && key == SDLK_ESCAPE) st->help = false;
        else return false;
        break;
    case SDLK_h: st->help = !st->help; break;
    case SDLK_1: st->view = VIEW_ATTENTION; break;
    case SDLK_2: st->view = VIEW_POSITIONAL; break;
    case SDLK_3: st->view = VIEW_TRAINING; break;
    case SDLK_SPACE:
        st->paused = !st->paused;
        control_set_paused(control, st->paused);
        set_message(st, st->paused ? "paused" : "training resumed");
        break;
    case SDLK_TAB:
        st->kind = (VizKind)(((int)st->kind + ((mod & KMOD_SHIFT) ? VIZ_KINDS - 1 : 1)) % VIZ_KINDS);
        break;
    case SDLK_UP:
    case SDLK_DOWN: {
        int d = key == SDLK_UP ? -1 : 1;
        if (st->view == VIEW_POSITIONAL) {
            int pairs = (s->d_model > 0 ? s->d_model : 64) / 2;
            st->pe_pair = (st->pe_pair - d + pairs) % pairs;  // up: higher frequency index
        } else {
            st->layer = (st->layer + d + layers) % layers;
        }
        break;
    }
    case SDLK_LEFT:
    case SDLK_RIGHT: {
        // The cycle is: all heads, head 1, ..., head h, all heads, ...
        int d = key == SDLK_RIGHT ? 1 : -1;
        int slot = st->head + 1;  // 0 = all
        slot = (slot + d + heads + 1) % (heads + 1);
        st->head = slot - 1;
        break;
    }
    case SDLK_a: st->head = st->head < 0 ? 0 : -1; break;
    case SDLK_PLUS:
    case SDLK_EQUALS:
    case SDLK_KP_PLUS:
        if (st->pe_positions < 512) st->pe_positions *= 2;
        break;
    case SDLK_MINUS:
    case SDLK_KP_MINUS:
        if (st->pe_positions > 8) st->pe_positions /= 2;
        break;
    case SDLK_RETURN:
    case SDLK_KP_ENTER:
        st->editing = true;
        st->input[0] = '\0';
        break;
    case SDLK_s: {
        char path[64];
        ErrorMessage err;
        snprintf(path, sizeof path, "transformer-viz-%03d.png", ++*saved);
        if (viz_save_png(renderer, st->width, st->height, path, &err)) {
            char msg[96];
            snprintf(msg, sizeof msg, "saved %s", path);
            set_message(st, msg);
        } else {
            set_message(st, err.text);
        }
        break;
    }
    default: break;
    }
    return true;
}

static int no_display(const char *why) {
    fprintf(stderr, "transformer-viz: cannot open a window (%s). No display? "
                    "Draw a picture instead: --snapshot out.png [--frames N]\n", why);
    return 1;
}

static int run_window(Options *o) {
    // Without a display SDL may still "succeed" with an offscreen driver and draw into
    // nothing; say so instead, unless a driver was asked for by name.
    if (!getenv("SDL_VIDEODRIVER") && !getenv("DISPLAY") && !getenv("WAYLAND_DISPLAY"))
        return no_display("neither DISPLAY nor WAYLAND_DISPLAY is set");
    if (SDL_Init(SDL_INIT_VIDEO) != 0) {
        fprintf(stderr, "transformer-viz: cannot open a window (%s). No display? "
                        "Draw a picture instead: --snapshot out.png [--frames N]\n", SDL_GetError());
        return 1;
    }
    SDL_Window *window = SDL_CreateWindow("Attention Is All You Need: live", SDL_WINDOWPOS_CENTERED,
                                          SDL_WINDOWPOS_CENTERED, o->width, o->height, SDL_WINDOW_RESIZABLE);
    if (!window) {
        fprintf(stderr, "transformer-viz: cannot open a window (%s). No display? "
                        "Draw a picture instead: --snapshot out.png [--frames N]\n", SDL_GetError());
        SDL_Quit();
        return 1;
    }
    // vsync would tie --fps to the display; without it frames are drawn on demand anyway.
    SDL_Renderer *renderer = SDL_CreateRenderer(window, -1, 0);
    if (!renderer) {
        fprintf(stderr, "transformer-viz: SDL_CreateRenderer: %s\n", SDL_GetError());
        SDL_DestroyWindow(window);
        SDL_Quit();
        return 1;
    }
    SDL_RendererInfo info;
    if (o->fps && SDL_GetRendererInfo(renderer, &info) == 0)
        fprintf(stderr, "transformer-viz: video driver %s, renderer %s\n", SDL_GetCurrentVideoDriver(), info.name);
    Painter painter;
    ErrorMessage err;
    if (!painter_init(&painter, renderer, o->font[0] ? o->font : NULL, o->height, &err)) {
        fprintf(stderr, "transformer-viz: %s\n", err.text);
        painter_free(&painter);
        SDL_DestroyRenderer(renderer);
        SDL_DestroyWindow(window);
        TTF_Quit();
        SDL_Quit();
        return 1;
    }

    SnapshotExchange x;
    VizControl control;
    exchange_init(&x);
    control_init(&control, o->probe);
    o->worker.exchange = &x;
    o->worker.control = &control;
    pthread_t thread;
    if (pthread_create(&thread, NULL, worker_thread, &o->worker) != 0) die("cannot start the training thread");

    ViewState *st = &o->view;
    uint64_t drawn_version = (uint64_t)-1;
    bool dirty = true, running = true;
    int saved = 0, frames = 0;
    double fps_start = wall_seconds(), started = fps_start, draw_seconds = 0, worst_draw = 0;
    double last_frame = 0;
    long draws = 0;
    const Snapshot *s = exchange_acquire(&x);
    while (running) {
        SDL_Event e;
        // Wait for an event, but wake up often enough to pick up new snapshots.
        bool got = o->fps ? SDL_PollEvent(&e) : SDL_WaitEventTimeout(&e, 15);
        while (got) {
            dirty = true;
            switch (e.type) {
            case SDL_QUIT: running = false; break;
            case SDL_WINDOWEVENT:
                if (e.window.event == SDL_WINDOWEVENT_SIZE_CHANGED) {
                    st->width = e.window.data1;
                    st->height = e.window.data2;
                    if (!painter_resize(&painter, st->height, &err)) {
                        fprintf(stderr, "transformer-viz: %s\n", err.text);
                        running = false;
                    }
                } else if (e.window.event == SDL_WINDOWEVENT_LEAVE) {
                    st->mouse_x = st->mouse_y = -1;
                }
                break;
            case SDL_MOUSEMOTION:
                st->mouse_x = e.motion.x;
                st->mouse_y = e.motion.y;
                break;
            case SDL_MOUSEBUTTONDOWN: {
                // A click on one head of the grid shows that head alone.
                int box, r, c;
                if (st->head < 0 && viz_hit_cell(&painter, st, s, e.button.x, e.button.y, &box, &r, &c))
                    st->head = box;
                break;
            }
            case SDL_TEXTINPUT:
                if (st->editing) {
                    size_t n = strlen(st->input), add = strlen(e.text.text);
                    if (n + add < sizeof st->input) memcpy(st->input + n, e.text.text, add + 1);
                } else if (!strcmp(e.text.text, "?")) {
                    st->help = !st->help;
                }
                break;
            case SDL_KEYDOWN:
                if (st->editing) {
                    SDL_Keycode k = e.key.keysym.sym;
                    if (k == SDLK_RETURN || k == SDLK_KP_ENTER) {
                        st->editing = false;
                        control_set_probe(&control, st->input);
                        set_message(st, "translating ...");
                    } else if (k == SDLK_ESCAPE) {
                        st->editing = false;
                    } else if (k == SDLK_BACKSPACE) {
                        delete_last_char(st->input);
                    }
                } else {
                    running = handle_key(e.key.keysym.sym, (SDL_Keymod)e.key.keysym.mod, st, s, &control,
                                         renderer, &saved) && running;
                }
                break;
            default: dirty = false; break;
            }
            got = SDL_PollEvent(&e);
        }
        s = exchange_acquire(&x);  // never waits for a training step
        if (s->version != drawn_version) {
            dirty = true;
            if (s->version > 0 && !strcmp(st->message, "translating ...") && !st->editing)
                st->message[0] = '\0';
        }
        if (o->quit_after > 0 && wall_seconds() - started > o->quit_after) running = false;
        if (!dirty && !o->fps) continue;
        // At most 60 frames a second: a display shows no more, and on a 2-core machine
        // every millisecond the renderer does not spend is one the training thread gets.
        double since_last = wall_seconds() - last_frame;
        if (since_last < FRAME_SECONDS) SDL_Delay((Uint32)(1e3 * (FRAME_SECONDS - since_last)));
        double t0 = wall_seconds();
        last_frame = t0;
        viz_draw(&painter, st, s);
        SDL_RenderPresent(renderer);
        double dt = wall_seconds() - t0;
        draw_seconds += dt;
        if (dt > worst_draw) worst_draw = dt;
        draws++;
        drawn_version = s->version;
        dirty = false;
        frames++;
        double now = wall_seconds();
        if (o->fps && now - fps_start >= 1.0) {
            st->fps = (float)(frames / (now - fps_start));
            fprintf(stderr, "fps %.1f (draw %.2f ms mean)\n", st->fps, 1e3 * draw_seconds / draws);
            frames = 0;
            fps_start = now;
        }
    }
    control_quit(&control);
    pthread_join(thread, NULL);
    if (draws > 0 && o->worker.steps_done > 0)
        fprintf(stderr, "transformer-viz: %ld frames, draw+present %.2f ms mean, %.2f ms worst; "
                        "training: %ld steps, %.0f tokens/s in its steps, %.0f tokens/s wall clock "
                        "(pauses excluded), %.1f s spent on snapshots\n",
                draws, 1e3 * draw_seconds / draws, 1e3 * worst_draw, o->worker.steps_done,
                o->worker.step_tokens_per_sec, o->worker.tokens_per_sec, o->worker.publish_seconds_total);
    int status = o->worker.failed ? 1 : 0;
    if (o->worker.failed) fprintf(stderr, "transformer-viz: %s\n", o->worker.err.text);
    control_free(&control);
    exchange_free(&x);
    painter_free(&painter);
    SDL_DestroyRenderer(renderer);
    SDL_DestroyWindow(window);
    TTF_Quit();
    SDL_Quit();
    return status;
}

int main(int argc, char **argv) {
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
    int status = o->snapshot[0] ? run_snapshot(o) : run_window(o);
    free(o);
    return status;
}
