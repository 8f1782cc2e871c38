// png.h: a minimal PNG writer, so the viewer can save pictures without another library.
// SDL2 only writes BMP. A PNG is a signature and chunks (IHDR, IDAT, IEND), each with a
// CRC-32; IDAT holds a zlib stream: deflate data and an Adler-32 checksum. The deflate
// here is the simplest real one: LZ77 matches written with the fixed Huffman code of
// RFC 1951 (no code tables to build), which is enough for flat-coloured screenshots.
#ifndef VIZ_PNG_H
#define VIZ_PNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"

// CRC-32 (ISO 3309, as in PNG and gzip) of n bytes, continuing from crc (start with 0).
uint32_t png_crc32(uint32_t crc, const unsigned char *data, size_t n);

// Adler-32 (RFC 1950) of n bytes, continuing from adler (start with 1).
uint32_t png_adler32(uint32_t adler, const unsigned char *data, size_t n);

// Encodes an 8-bit RGB image (rows of width*3 bytes, `stride` bytes apart) as a PNG in
// memory. Returns a buffer the caller frees and sets *size.
unsigned char *png_encode_rgb(const unsigned char *rgb, int width, int height, int stride,
                              size_t *size);

// Encodes and writes the image to path atomically. Returns false and fills err if the
// file cannot be written.
bool png_write_rgb(const char *path, const unsigned char *rgb, int width, int height,
                   int stride, ErrorMessage *err);

// An animated PNG (APNG, the PNG extension every current browser shows): after IHDR an
// acTL chunk announces the frame count; each frame is an fcTL chunk (size, delay) and
// its image data, IDAT for the first frame (what a viewer without APNG shows) and fdAT
// (a sequence number, then the same zlib data) for the others, which hold only the
// rectangle that changed since the frame before. Frames are kept in memory until
// apng_finish writes the file atomically.
typedef struct {
    unsigned char *data;
    size_t n, cap;
    int width, height, n_frames, frames_added;
    uint32_t sequence;  // fcTL and fdAT share one sequence counter
    unsigned char *previous;  // the last frame (width*3-byte rows): later frames store
                              // only the rectangle that changed
} ApngWriter;

// Starts an animation of n_frames frames of width x height.
void apng_begin(ApngWriter *a, int width, int height, int n_frames);
// Adds the next frame (8-bit RGB rows `stride` bytes apart), shown for delay_ms.
void apng_add_frame(ApngWriter *a, const unsigned char *rgb, int stride, int delay_ms);
// Writes the file and frees the writer; false if it cannot be written or if fewer
// frames were added than announced.
bool apng_finish(ApngWriter *a, const char *path, ErrorMessage *err);

#endif
