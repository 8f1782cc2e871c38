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

// The most tokens on either side over the frames within REPLAY_FIT_FRAMES of `frame`:
// what the heatmap cells are sized for, so they keep their place while the replay plays
// (the long outputs of the untrained model early on do not shrink them for the whole run).
enum { REPLAY_FIT_FRAMES = 20 };
int replay_longest(const Replay *r, int frame);

// The layer whose cross-attention is sharpest (lowest mean entropy) in the last frame.
int replay_sharpest_layer(const Replay *r);

// Fills s with frame `frame` of r (its tokens and attention, weights = byte / 255) and
// the curves with frames 0..frame (loss, Eq. (3) learning rate, attention entropy).
// s->replay is set; the status line names the file and the frame.
void replay_fill_snapshot(Snapshot *s, const Replay *r, int frame);

#endif
