// png.c: PNG and animated PNG (APNG) writer, deflate with the fixed Huffman code. See png.h.
#include "png.h"

#include <stdlib.h>
#include <string.h>

uint32_t png_crc32(uint32_t crc, const unsigned char *data, size_t n) {
    // Bitwise form of the reflected polynomial 0xEDB88320: short, and fast enough for
    // a few screenshots (no table, so no global state).
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= data[i];
        for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

uint32_t png_adler32(uint32_t adler, const unsigned char *data, size_t n) {
    uint32_t a = adler & 0xFFFF, b = adler >> 16;
    for (size_t i = 0; i < n; i++) {
        a = (a + data[i]) % 65521u;
        b = (b + a) % 65521u;
    }
    return (b << 16) | a;
}

static unsigned char *put_u32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
    return p + 4;
}

// Writes one chunk: length, type, data, CRC over type and data.
static unsigned char *put_chunk(unsigned char *p, const char type[4], const unsigned char *data,
                                size_t n) {
    p = put_u32(p, (uint32_t)n);
    unsigned char *typed = p;
    memcpy(p, type, 4);
    p += 4;
    if (n) memcpy(p, data, n);
    p += n;
    return put_u32(p, png_crc32(0, typed, n + 4));
}

// ---- deflate (RFC 1951) with the fixed Huffman code ---------------------------------
// Screenshots are mostly flat colour, so plain LZ77 (copy "length bytes from distance
// back") with the code table fixed by the RFC already shrinks them 20-50x; no Huffman
// tables need to be built or sent.

typedef struct {
    unsigned char *out;
    size_t n, cap;
    uint32_t bits;  // pending bits, least significant first
    int count;
} BitWriter;

static void put_bits(BitWriter *w, uint32_t value, int count) {
    w->bits |= value << w->count;
    w->count += count;
    while (w->count >= 8) {
        if (w->n == w->cap) {
            w->cap = w->cap * 2 + 1024;
            unsigned char *grown = xmalloc(w->cap);
            if (w->n) memcpy(grown, w->out, w->n);
            free(w->out);
            w->out = grown;
        }
        w->out[w->n++] = (unsigned char)w->bits;
        w->bits >>= 8;
        w->count -= 8;
    }
}

// Huffman codes go out most significant bit first, so they are reversed here.
static void put_code(BitWriter *w, uint32_t code, int length) {
    uint32_t reversed = 0;
    for (int i = 0; i < length; i++) reversed |= ((code >> i) & 1u) << (length - 1 - i);
    put_bits(w, reversed, length);
}

// Literal/length symbol 0..287 in the fixed code (RFC 1951 §3.2.6).
static void put_symbol(BitWriter *w, int sym) {
    if (sym < 144) put_code(w, 0x30u + (uint32_t)sym, 8);
    else if (sym < 256) put_code(w, 0x190u + (uint32_t)(sym - 144), 9);
    else if (sym < 280) put_code(w, (uint32_t)(sym - 256), 7);
    else put_code(w, 0xC0u + (uint32_t)(sym - 280), 8);
}

static const int LEN_BASE[29] = {3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
                                 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const int LEN_EXTRA[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
                                  3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const int DIST_BASE[30] = {1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193,
                                  257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145,
                                  8193, 12289, 16385, 24577};
static const int DIST_EXTRA[30] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6,
                                   7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

static void put_match(BitWriter *w, int length, int distance) {
    int i = 28;
    while (LEN_BASE[i] > length) i--;
    put_symbol(w, 257 + i);
    put_bits(w, (uint32_t)(length - LEN_BASE[i]), LEN_EXTRA[i]);
    int d = 29;
    while (DIST_BASE[d] > distance) d--;
    put_code(w, (uint32_t)d, 5);
    put_bits(w, (uint32_t)(distance - DIST_BASE[d]), DIST_EXTRA[d]);
}

enum { WINDOW = 32768, MIN_MATCH = 3, MAX_MATCH = 258, HASH_BITS = 15, CHAIN = 24 };

// Compresses data into one final fixed-Huffman block. Greedy matching: at each byte,
// the longest earlier match among the last CHAIN positions with the same 3-byte hash.
static unsigned char *deflate_fixed(const unsigned char *data, size_t n, size_t *out_n) {
    BitWriter w = {0};
    int *head = xmalloc(sizeof(int) * (1u << HASH_BITS));
    int *prev = xmalloc(sizeof(int) * WINDOW);
    for (size_t i = 0; i < (1u << HASH_BITS); i++) head[i] = -1;
    put_bits(&w, 1, 1);  // BFINAL
    put_bits(&w, 1, 2);  // BTYPE 01: fixed Huffman
    size_t i = 0;
    while (i < n) {
        int best_len = 0, best_dist = 0;
        if (i + MIN_MATCH <= n) {
            uint32_t h = ((uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 | data[i + 2]) * 2654435761u;
            h >>= 32 - HASH_BITS;
            long cand = head[h];
            for (int tries = 0; cand >= 0 && (long)i - cand <= WINDOW - 1 && tries < CHAIN; tries++) {
                size_t limit = n - i < MAX_MATCH ? n - i : MAX_MATCH, len = 0;
                while (len < limit && data[cand + len] == data[i + len]) len++;
                if ((int)len > best_len) {
                    best_len = (int)len;
                    best_dist = (int)(i - (size_t)cand);
                    if (len == limit) break;
                }
                long next = prev[cand % WINDOW];
                if (next >= cand) break;  // the slot was reused: the chain ends
                cand = next;
            }
            // Insert the positions this step covers into the hash chains.
            size_t step = best_len >= MIN_MATCH ? (size_t)best_len : 1;
            for (size_t k = i; k < i + step && k + MIN_MATCH <= n; k++) {
                uint32_t hk = ((uint32_t)data[k] << 16 | (uint32_t)data[k + 1] << 8 | data[k + 2]) * 2654435761u;
                hk >>= 32 - HASH_BITS;
                prev[k % WINDOW] = head[hk];
                head[hk] = (int)k;
            }
        }
        if (best_len >= MIN_MATCH) {
            put_match(&w, best_len, best_dist);
            i += (size_t)best_len;
        } else {
            put_symbol(&w, data[i]);
            i++;
        }
    }
    put_symbol(&w, 256);  // end of block
    put_bits(&w, 0, 7);   // flush the last partial byte
    free(head);
    free(prev);
    *out_n = w.n;
    return w.out;
}

// The zlib stream (RFC 1950) of an image's raw rows: each row starts with filter type 0
// (none). Flat colours repeat within a row and from row to row, which LZ77 finds
// without a filter. Header 0x78 0x01, the deflate data, Adler-32 of the raw rows.
static unsigned char *zlib_image(const unsigned char *rgb, int width, int height, int stride, int bpp,
                                 size_t *z_n) {
    size_t row = (size_t)width * (size_t)bpp + 1;
    size_t raw_n = row * (size_t)height;
    unsigned char *raw = xmalloc(raw_n);
    for (int y = 0; y < height; y++) {
        raw[y * row] = 0;
        memcpy(raw + y * row + 1, rgb + (size_t)y * (size_t)stride, (size_t)width * (size_t)bpp);
    }
    size_t d_n;
    unsigned char *d = deflate_fixed(raw, raw_n, &d_n);
    *z_n = 2 + d_n + 4;
    unsigned char *z = xmalloc(*z_n);
    z[0] = 0x78;
    z[1] = 0x01;  // (0x78*256 + 0x01) % 31 == 0, as RFC 1950 requires
    memcpy(z + 2, d, d_n);
    put_u32(z + 2 + d_n, png_adler32(1, raw, raw_n));
    free(d);
    free(raw);
    return z;
}

static const unsigned char SIGNATURE[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

// IHDR for an 8-bit image without interlacing: colour type 2 (RGB) or 6 (RGBA).
static void make_ihdr(unsigned char ihdr[13], int width, int height, int colour_type) {
    put_u32(ihdr, (uint32_t)width);
    put_u32(ihdr + 4, (uint32_t)height);
    ihdr[8] = 8;   // bits per channel
    ihdr[9] = (unsigned char)colour_type;
    ihdr[10] = 0;  // compression: deflate
    ihdr[11] = 0;  // filter method 0
    ihdr[12] = 0;  // no interlace
}

unsigned char *png_encode_rgb(const unsigned char *rgb, int width, int height, int stride,
                              size_t *size) {
    size_t z_n;
    unsigned char *z = zlib_image(rgb, width, height, stride, 3, &z_n);
    unsigned char ihdr[13];
    make_ihdr(ihdr, width, height, 2);
    size_t total = 8 + (12 + 13) + (12 + z_n) + 12;
    unsigned char *png = xmalloc(total), *p = png;
    memcpy(p, SIGNATURE, 8);
    p += 8;
    p = put_chunk(p, "IHDR", ihdr, 13);
    p = put_chunk(p, "IDAT", z, z_n);
    p = put_chunk(p, "IEND", NULL, 0);
    free(z);
    *size = (size_t)(p - png);
    return png;
}

// ---- APNG --------------------------------------------------------------------------------

// Makes room for n more bytes at the end of the animation's buffer.
static unsigned char *apng_reserve(ApngWriter *a, size_t n) {
    if (a->n + n > a->cap) {
        size_t cap = (a->n + n) * 2;
        unsigned char *grown = xmalloc(cap);
        if (a->n) memcpy(grown, a->data, a->n);
        free(a->data);
        a->data = grown;
        a->cap = cap;
    }
    return a->data + a->n;
}

// Appends one chunk (length, type, data, CRC) to the animation.
static void apng_chunk(ApngWriter *a, const char type[4], const unsigned char *data, size_t n) {
    unsigned char *end = put_chunk(apng_reserve(a, n + 12), type, data, n);
    a->n = (size_t)(end - a->data);
}

void apng_begin(ApngWriter *a, int width, int height, int n_frames) {
    memset(a, 0, sizeof *a);
    a->width = width;
    a->height = height;
    a->n_frames = n_frames;
    memcpy(apng_reserve(a, 8), SIGNATURE, 8);
    a->n = 8;
    unsigned char ihdr[13], actl[8];
    make_ihdr(ihdr, width, height, 6);  // RGBA: later frames are transparent where unchanged
    apng_chunk(a, "IHDR", ihdr, 13);
    put_u32(actl, (uint32_t)n_frames);
    put_u32(actl + 4, 0);  // plays: 0 = loop forever
    apng_chunk(a, "acTL", actl, 8);
}

// The smallest rectangle holding every pixel that differs between two RGB pictures
// (rows `stride` bytes apart, the previous one packed); 1 x 1 at (0, 0) if none does.
static void changed_box(const unsigned char *prev, const unsigned char *rgb, int stride, int w, int h,
                        int box[4]) {
    int x0 = w, y0 = h, x1 = -1, y1 = -1;
    for (int y = 0; y < h; y++) {
        const unsigned char *a = prev + (size_t)y * (size_t)w * 3, *b = rgb + (size_t)y * (size_t)stride;
        if (!memcmp(a, b, (size_t)w * 3)) continue;
        int l = 0, r = w - 1;
        while (!memcmp(a + 3 * l, b + 3 * l, 3)) l++;
        while (!memcmp(a + 3 * r, b + 3 * r, 3)) r--;
        x0 = l < x0 ? l : x0;
        x1 = r > x1 ? r : x1;
        y0 = y < y0 ? y : y0;
        y1 = y;
    }
    if (x1 < 0) x0 = y0 = x1 = y1 = 0;
    box[0] = x0, box[1] = y0, box[2] = x1 - x0 + 1, box[3] = y1 - y0 + 1;
}

// The region box of rgb as RGBA: opaque where the pixel differs from the previous frame
// (or in the first frame), transparent (0, 0, 0, 0) where it is the same, so that long
// runs of zeros compress to almost nothing and blending "over" keeps the old pixel.
static unsigned char *frame_rgba(const ApngWriter *a, const unsigned char *rgb, int stride, const int box[4]) {
    unsigned char *out = xmalloc((size_t)box[2] * (size_t)box[3] * 4), *o = out;
    for (int y = box[1]; y < box[1] + box[3]; y++)
        for (int x = box[0]; x < box[0] + box[2]; x++, o += 4) {
            const unsigned char *px = rgb + (size_t)y * (size_t)stride + (size_t)x * 3;
            const unsigned char *old = a->previous + ((size_t)y * (size_t)a->width + (size_t)x) * 3;
            bool same = a->frames_added > 0 && !memcmp(px, old, 3);
            o[0] = same ? 0 : px[0], o[1] = same ? 0 : px[1], o[2] = same ? 0 : px[2], o[3] = same ? 0 : 255;
        }
    return out;
}

void apng_add_frame(ApngWriter *a, const unsigned char *rgb, int stride, int delay_ms) {
    // After the first frame only the rectangle that changed is stored, transparent where
    // a pixel did not change; dispose 0 (keep) and blend 1 (over) leave the rest of the
    // previous picture on screen.
    int box[4] = {0, 0, a->width, a->height};
    size_t row = (size_t)a->width * 3;
    if (a->frames_added > 0) changed_box(a->previous, rgb, stride, a->width, a->height, box);
    else a->previous = xmalloc(row * (size_t)a->height);
    // fcTL: sequence, size, offset, delay as a fraction of a second (ms / 1000),
    // dispose and blend 0.
    unsigned char fctl[26] = {0};
    put_u32(fctl, a->sequence++);
    put_u32(fctl + 4, (uint32_t)box[2]);
    put_u32(fctl + 8, (uint32_t)box[3]);
    put_u32(fctl + 12, (uint32_t)box[0]);
    put_u32(fctl + 16, (uint32_t)box[1]);
    fctl[20] = (unsigned char)(delay_ms >> 8);
    fctl[21] = (unsigned char)delay_ms;
    fctl[22] = 0x03, fctl[23] = 0xE8;  // denominator 1000
    fctl[25] = a->frames_added > 0;    // blend over (the first frame has nothing under it)
    apng_chunk(a, "fcTL", fctl, 26);
    size_t z_n;
    unsigned char *rgba = frame_rgba(a, rgb, stride, box);
    unsigned char *z = zlib_image(rgba, box[2], box[3], box[2] * 4, 4, &z_n);
    free(rgba);
    if (a->frames_added == 0) {
        apng_chunk(a, "IDAT", z, z_n);  // the first frame is also the still picture
    } else {
        // fdAT is IDAT with a sequence number in front.
        unsigned char *fdat = xmalloc(z_n + 4);
        put_u32(fdat, a->sequence++);
        memcpy(fdat + 4, z, z_n);
        apng_chunk(a, "fdAT", fdat, z_n + 4);
        free(fdat);
    }
    free(z);
    for (int y = 0; y < a->height; y++) memcpy(a->previous + (size_t)y * row, rgb + (size_t)y * (size_t)stride, row);
    a->frames_added++;
}

bool apng_finish(ApngWriter *a, const char *path, ErrorMessage *err) {
    apng_chunk(a, "IEND", NULL, 0);
    bool ok = a->frames_added == a->n_frames
                  ? write_file_atomic(path, a->data, a->n, err)
                  : error_set(err, "%s: %d frames announced, %d drawn", path, a->n_frames, a->frames_added);
    free(a->data);
    free(a->previous);
    memset(a, 0, sizeof *a);
    return ok;
}

bool png_write_rgb(const char *path, const unsigned char *rgb, int width, int height,
                   int stride, ErrorMessage *err) {
    size_t n;
    unsigned char *png = png_encode_rgb(rgb, width, height, stride, &n);
    bool ok = write_file_atomic(path, png, n, err);
    free(png);
    return ok;
}
