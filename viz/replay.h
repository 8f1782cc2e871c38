// replay.h: a recorded training run (src/history.h) turned into the viewer's Snapshots,
// so every view can show any moment of a run that is over: --replay FILE in the
// window (a time slider, play/pause), --animate OUT.png headless (an animated PNG).
#ifndef VIZ_REPLAY_H
#define VIZ_REPLAY_H

#include "history.h"
#include "snapshot.h"

typedef struct {
    History history;
    VizHistoryPoint *points;  // (n_frames) each frame's curve point, entropies included
    char path[512];
} Replay;

// Loads a .history file and computes every frame's curve point once.
bool replay_load(Replay *r, const char *path, ErrorMessage *err);
void replay_free(Replay *r);

// The most tokens any frame has on either side (what the heatmap cells are sized for,
// so they keep their place during the replay).
int replay_longest(const Replay *r);

// Fills s with frame `frame` of r (its tokens and attention, weights = byte / 255) and
// the curves with frames 0..frame (loss, Eq. (3) learning rate, attention entropy).
// s->replay is set; the status line names the file and the frame.
void replay_fill_snapshot(Snapshot *s, const Replay *r, int frame);

#endif
