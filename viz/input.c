// input.c: events to ViewState changes and requests. See input.h.
#include "input.h"

#include <string.h>

static void set_message(ViewState *st, const char *text) {
    viz_copy_text(st->message, (int)sizeof st->message, text);
}

// Moves a UTF-8 string's end back by one character.
static void delete_last_char(char *s) {
    size_t n = strlen(s);
    while (n > 0 && ((unsigned char)s[n - 1] & 0xC0) == 0x80) n--;  // continuation bytes
    if (n > 0) n--;
    s[n] = '\0';
}

static bool inside(SDL_Rect r, int x, int y) {
    return r.w > 0 && x >= r.x && x < r.x + r.w && y >= r.y && y < r.y + r.h;
}

// A key while the sentence box has the keyboard: only editing keys do anything (the
// characters themselves arrive as SDL_TEXTINPUT).
static void key_in_box(SDL_Keycode k, ViewState *st, InputActions *act) {
    if (k == SDLK_RETURN || k == SDLK_KP_ENTER) {
        st->editing = false;
        act->send_probe = true;
        set_message(st, "translating ...");
    } else if (k == SDLK_ESCAPE) {
        st->editing = false;
    } else if (k == SDLK_BACKSPACE) {
        delete_last_char(st->input);
    }
}

// q or Esc: closes the help first; a live run asks once before it is left.
static void key_quit(SDL_Keycode key, ViewState *st, InputActions *act) {
    if (st->help && key == SDLK_ESCAPE) {
        st->help = false;
    } else if (st->live_training && !st->confirm_quit) {
        st->confirm_quit = true;
        char msg[sizeof st->message];
        snprintf(msg, sizeof msg, "quit? q again quits and saves the model to %s; any other key stays",
                 st->checkpoint_path[0] ? st->checkpoint_path : "(no file)");
        set_message(st, msg);
    } else {
        act->quit = true;
    }
}

// Up/Down: the layer (cycling), or in the positional view the frequency index i,
// which stops at its ends (i = 0 is the highest frequency).
static void key_up_down(int d, ViewState *st, const Snapshot *s) {
    if (st->view == VIEW_POSITIONAL) {
        int pairs = (s->d_model > 0 ? s->d_model : 64) / 2;
        int i = st->pe_pair - d;  // up: higher frequency index
        st->pe_pair = i < 0 ? 0 : i >= pairs ? pairs - 1 : i;
    } else {
        int layers = s->n_layers > 0 ? s->n_layers : 1;
        st->layer = (st->layer + d + layers) % layers;
        st->formula_row = -1;
    }
}

// Left/Right: the cycle all heads, head 1, ..., head h, all heads, ...
static void key_left_right(int d, ViewState *st, const Snapshot *s) {
    int heads = s->n_heads > 0 ? s->n_heads : 1;
    int slot = st->head < 0 ? 0 : st->head + 1;  // 0 = all (or their mean)
    slot = (slot + d + heads + 1) % (heads + 1);
    st->head = slot - 1;
    st->formula_row = -1;
}

// b: pins the head on screen, so the next one chosen is shown beside it; b again unpins.
static void key_pin(ViewState *st) {
    if (st->pinned_head >= 0 || st->head < 0) {
        st->pinned_head = -1;
        return;
    }
    st->pinned_head = st->head;
    st->pinned_layer = st->layer;
    set_message(st, "head pinned: choose another head (left/right, up/down) to see both; b unpins");
}

// The replay keys: r switches recording / live, ',' '.' step a frame, Home / End.
static bool key_replay(SDL_Keycode key, ViewState *st) {
    if (!st->has_replay) return false;
    int last = st->replay_frames - 1;
    switch (key) {
    case SDLK_r:
        if (!st->has_live) return false;
        st->replay = !st->replay;
        set_message(st, st->replay ? "replay of the recorded run (r: live training)" : "live training (r: the recorded run)");
        return true;
    case SDLK_COMMA: st->replay_frame = st->replay_frame > 0 ? st->replay_frame - 1 : 0; break;
    case SDLK_PERIOD: st->replay_frame = st->replay_frame < last ? st->replay_frame + 1 : last; break;
    case SDLK_HOME: st->replay_frame = 0; break;
    case SDLK_END: st->replay_frame = last; break;
    default: return false;
    }
    st->replay = true;
    st->playing = false;
    return true;
}

// Space: plays or pauses the recording on screen, or pauses or resumes training.
static void key_space(ViewState *st, const Snapshot *s, InputActions *act) {
    if (st->replay) {
        if (!st->playing && st->replay_frame >= st->replay_frames - 1) st->replay_frame = 0;
        st->playing = !st->playing;
        set_message(st, st->playing ? "playing the recording" : "recording paused");
        return;
    }
    if (s->version > 0 && s->finished) {  // an explored model, or a run that has ended
        set_message(st, s->history_len > 0 ? "training has finished: nothing to pause" : "nothing is training");
        return;
    }
    st->paused = !st->paused;
    act->toggle_pause = true;
    set_message(st, st->paused ? "paused" : "training resumed");
}

// A key when the box does not have the keyboard.
static void key_shortcut(SDL_Keycode key, SDL_Keymod mod, ViewState *st, const Snapshot *s,
                         InputActions *act) {
    bool asked = st->confirm_quit;
    st->message[0] = '\0';
    st->confirm_quit = false;
    if (key_replay(key, st)) return;
    switch (key) {
    case SDLK_q:
    case SDLK_ESCAPE:
        st->confirm_quit = asked;
        key_quit(key, st, act);
        break;
    case SDLK_h: st->help = !st->help; break;
    case SDLK_1: st->view = VIEW_ATTENTION; break;
    case SDLK_2: st->view = VIEW_POSITIONAL; break;
    case SDLK_3: st->view = VIEW_TRAINING; break;
    case SDLK_SPACE: key_space(st, s, act); break;
    case SDLK_TAB:
        st->kind = (VizKind)(((int)st->kind + ((mod & KMOD_SHIFT) ? VIZ_KINDS - 1 : 1)) % VIZ_KINDS);
        st->formula_row = -1;
        break;
    case SDLK_UP: key_up_down(-1, st, s); break;
    case SDLK_DOWN: key_up_down(1, st, s); break;
    case SDLK_LEFT: key_left_right(-1, st, s); break;
    case SDLK_RIGHT: key_left_right(1, st, s); break;
    case SDLK_a: st->head = st->head == -1 ? 0 : -1; break;
    case SDLK_v: st->head = st->head == VIZ_HEAD_AVERAGE ? -1 : VIZ_HEAD_AVERAGE; break;
    case SDLK_g: st->all_layers = !st->all_layers; break;
    case SDLK_b: key_pin(st); break;
    case SDLK_c: st->captions = !st->captions; break;
    case SDLK_p: st->present = !st->present; break;
    case SDLK_PLUS:
    case SDLK_EQUALS:
    case SDLK_KP_PLUS:
        if (st->pe_positions < 512) st->pe_positions *= 2;
        break;
    case SDLK_MINUS:
    case SDLK_KP_MINUS:
        if (st->pe_positions > 8) st->pe_positions /= 2;
        break;
    case SDLK_LEFTBRACKET:
        if (st->pe_shift > 1) st->pe_shift--;
        break;
    case SDLK_RIGHTBRACKET:
        if (st->pe_shift < 64) st->pe_shift++;
        break;
    case SDLK_RETURN:
    case SDLK_KP_ENTER:
        st->editing = true;
        st->input[0] = '\0';
        break;
    case SDLK_s: act->save_png = true; break;
    default:
        if (asked) set_message(st, "still running");
        break;
    }
}

// A click: the live inset beside a replay brings the live model to full size; the
// sentence box takes (or, clicked outside, gives back) the keyboard; the slider picks a frame; a head of the grid is shown alone; a row of one head opens
// Eq. (1) for that query.
static void click(Painter *p, ViewState *st, const Snapshot *s, int x, int y) {
    if (inside(viz_live_inset_rect(p, st), x, y)) {  // the live run beside a replay: full size
        st->replay = false;
        set_message(st, "live training (r: the recorded run)");
        return;
    }
    bool in_box = st->view == VIEW_ATTENTION && inside(viz_text_box_rect(p, st), x, y);
    if (in_box != st->editing) {
        st->editing = in_box;
        if (in_box) st->message[0] = '\0';
        return;
    }
    if (inside(viz_slider_rect(p, st), x, y)) {
        st->replay_frame = viz_slider_frame(p, st, x);
        st->replay = true;
        st->playing = false;
        return;
    }
    int box, r, c;
    if (!viz_hit_cell(p, st, s, x, y, &box, &r, &c)) return;
    if (st->all_layers) {
        HeatmapBox boxes[VIZ_MAX_BOXES];
        viz_heatmap_layout(p, st, s, boxes);
        st->all_layers = false;
        st->layer = boxes[box].layer;
        st->head = boxes[box].head;
    } else if (st->head == -1) {
        st->head = box;
    } else {
        st->formula_row = st->formula_row == r ? -1 : r;
    }
}

bool viz_handle_event(Painter *p, ViewState *st, const Snapshot *s, const SDL_Event *e,
                      InputActions *act) {
    memset(act, 0, sizeof *act);
    switch (e->type) {
    case SDL_QUIT: act->quit = true; return true;
    case SDL_MOUSEMOTION:
        st->mouse_x = e->motion.x;
        st->mouse_y = e->motion.y;
        if ((e->motion.state & SDL_BUTTON_LMASK) && inside(viz_slider_rect(p, st), e->motion.x, e->motion.y)) {
            st->replay_frame = viz_slider_frame(p, st, e->motion.x);  // dragging the slider
            st->replay = true;
            st->playing = false;
        }
        return true;
    case SDL_MOUSEBUTTONDOWN:
        if (e->button.button == SDL_BUTTON_LEFT) click(p, st, s, e->button.x, e->button.y);
        return true;
    case SDL_TEXTINPUT:
        if (st->editing) {
            size_t n = strlen(st->input), add = strlen(e->text.text);
            if (n + add < sizeof st->input) memcpy(st->input + n, e->text.text, add + 1);
        } else if (!strcmp(e->text.text, "?")) {
            st->help = !st->help;
        }
        return true;
    case SDL_KEYDOWN:
        if (st->editing) key_in_box(e->key.keysym.sym, st, act);
        else key_shortcut(e->key.keysym.sym, (SDL_Keymod)e->key.keysym.mod, st, s, act);
        return true;
    default: return false;
    }
}
