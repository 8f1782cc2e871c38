// history.h: a training run's attention history, so a class can watch attention form
// after the fact (the viewer's --replay and --animate). At regular steps the training
// loop translates one probe sentence greedily, reruns the model on its output, and
// appends to a `.history` file next to the checkpoint: the step, the loss, the Eq. (3)
// learning rate, the tokens, and the attention of every layer and head of the three
// kinds of §3.2.3 (encoder self, masked decoder self, encoder-decoder).
//
// The file is small: each weight is stored as one byte (round(255·w)), so a frame of the
// fr-en model (2 layers, 4 heads, ~10 tokens) is about 3 kB and a 3000-step run recorded
// every 30 steps about 300 kB. Layout (integers little-endian, floats as their bits):
//
//   "attn-history 1\n"
//   header  u32 n_layers, n_heads, d_model, warmup, total_steps; f32 lr_scale;
//           str task; str probe                         (str = u8 length + bytes)
//   frames, to the end of the file, each:
//           u32 step; f32 loss, lr; u8 S, T; S strs (source tokens, </s> last);
//           T+1 strs (decoder inputs <s> y1 .. y(T-1), then what the last row predicted);
//           weights: encoder self (N,h,S,S), decoder self (N,h,T,T), cross (N,h,T,S)
//
// Row r of the decoder's matrices is fed token r and predicts token r+1 (§3.1: the
// output is shifted right by one), which is why one label more than rows is stored.
#ifndef HISTORY_H
#define HISTORY_H

#include <stdbool.h>
#include <stddef.h>

#include "common.h"
#include "model.h"
#include "tokenizer.h"

enum {
    HISTORY_MAX_TOKENS = 40,   // tokens kept per side (longer probes are cut)
    HISTORY_TOKEN_CHARS = 24,  // bytes of one token label, NUL included
    HISTORY_TEXT_CHARS = 256,  // the probe sentence
    HISTORY_KINDS = 3,         // AttentionKind order: encoder self, decoder self, cross
};

// What the run is: written once at the top of the file.
typedef struct {
    char task[16];
    char probe[HISTORY_TEXT_CHARS];
    int n_layers, n_heads, d_model, warmup;  // Eq. (3) needs d_model and warmup
    long total_steps;
    float lr_scale;
} HistoryHeader;

// One recorded moment of training.
typedef struct {
    long step;
    float loss, lr;
    int src_len, tgt_len;   // S (source incl. </s>) and T (decoder rows, from <s>)
    char src[HISTORY_MAX_TOKENS][HISTORY_TOKEN_CHARS];
    // tgt[r] is row r's input; tgt[r + 1] what it predicts (tgt[T]: the last row's).
    char tgt[HISTORY_MAX_TOKENS + 1][HISTORY_TOKEN_CHARS];
    unsigned char *weights; // all matrices, quantized, in the file's order
} HistoryFrame;

typedef struct {
    HistoryHeader header;
    int n_frames;
    HistoryFrame *frames;   // (n_frames), in step order
    char damage[200];       // "" or why history_load stopped before the end of the file
} History;

// The file recorded next to a checkpoint: "runs/fr-en.ckpt" -> "runs/fr-en.history".
void history_path_for(char *out, size_t size, const char *checkpoint_path);

// The probe a task records by default (the classic "je suis étudiant" for fr-en).
const char *history_default_probe(const char *task);

// Translates probe greedily with m (no dropout, no random numbers: training is not
// disturbed), reruns the model on its output and fills f (weights allocated; free with
// history_frame_free). step, loss and lr are left for the caller.
void history_capture(HistoryFrame *f, Model *m, const Tokenizer *tok, const char *probe);
void history_frame_free(HistoryFrame *f);

// Starts a new file at path (replacing one that was there) with the header.
bool history_create(const char *path, const HistoryHeader *h, ErrorMessage *err);
// Appends one frame to a file history_create started.
bool history_append(const char *path, const HistoryHeader *h, const HistoryFrame *f,
                    ErrorMessage *err);

// Cuts the history at path back to its frames up to `step` (in increasing steps, whole
// frames only): what a resumed run does first, so that frames a killed run recorded after
// its last checkpoint, or a frame it left half-written, do not come before the resumed
// run's own. False with a message naming path if it is not a history or cannot be cut.
bool history_keep_until(const char *path, long step, ErrorMessage *err);

// Reads a whole file. False with a message naming the file and what is wrong.
bool history_load(const char *path, History *out, ErrorMessage *err);

// Reads only the header (the run's shape, task and probe sentence) of the file at path,
// not its frames. False if it cannot be read or is not a history.
bool history_load_header(const char *path, HistoryHeader *out);
void history_free(History *h);

// The quantized (rows, cols) matrix of one kind, layer and head in f; w = byte / 255.
const unsigned char *history_weights(const HistoryHeader *h, const HistoryFrame *f, int kind,
                                     int layer, int head, int *rows, int *cols);

#endif
