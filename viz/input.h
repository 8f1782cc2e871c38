// input.h: what a key or a click does to the viewer. One function turns an SDL event
// into changes of the ViewState and a few requests for the caller (quit, save a PNG,
// translate a sentence, pause the trainer), so the rules can be tested without a window:
//   - while the sentence box has the keyboard (a click on it, or Enter), every key is
//     text: no letter is a shortcut, Enter translates, Esc or a click elsewhere leaves;
//   - quitting a live run asks first (q twice); the model is then saved (main.c says where).
#ifndef VIZ_INPUT_H
#define VIZ_INPUT_H

#include <SDL.h>
#include <stdbool.h>

#include "draw.h"
#include "snapshot.h"

typedef struct {
    bool quit;           // leave the program
    bool save_png;       // save the window as a PNG
    bool send_probe;     // translate st->input
    bool toggle_pause;   // pause or resume the trainer (st->paused says which)
} InputActions;

// Applies event e to st (s is the snapshot on screen, p the painter for the layout).
// Returns true if anything may look different. act is cleared first.
bool viz_handle_event(Painter *p, ViewState *st, const Snapshot *s, const SDL_Event *e,
                      InputActions *act);

#endif
