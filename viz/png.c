// png.c: PNG writer with stored (uncompressed) deflate blocks. See png.h.
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

unsigned char *png_encode_rgb(const unsigned char *rgb, int width, int height, int stride,
                              size_t *size) {
    // The raw image data: each row starts with filter type 0 (none).
    size_t row = (size_t)width * 3 + 1;
    size_t raw_n = row * (size_t)height;
    unsigned char *raw = xmalloc(raw_n);
    for (int y = 0; y < height; y++) {
        raw[y * row] = 0;
        memcpy(raw + y * row + 1, rgb + (size_t)y * (size_t)stride, (size_t)width * 3);
    }
    // zlib stream: header 0x78 0x01, stored blocks of at most 65535 bytes, Adler-32.
    size_t blocks = raw_n / 65535 + 1;
    size_t z_n = 2 + raw_n + blocks * 5 + 4;
    unsigned char *z = xmalloc(z_n), *q = z;
    *q++ = 0x78;
    *q++ = 0x01;  // (0x78*256 + 0x01) % 31 == 0, as RFC 1950 requires
    size_t left = raw_n, at = 0;
    do {
        size_t len = left > 65535 ? 65535 : left;
        *q++ = left == len ? 1 : 0;  // BFINAL on the last block, BTYPE 00 = stored
        *q++ = (unsigned char)(len & 0xFF);
        *q++ = (unsigned char)(len >> 8);
        *q++ = (unsigned char)(~len & 0xFF);
        *q++ = (unsigned char)((~len >> 8) & 0xFF);
        memcpy(q, raw + at, len);
        q += len;
        at += len;
        left -= len;
    } while (left > 0);
    q = put_u32(q, png_adler32(1, raw, raw_n));
    z_n = (size_t)(q - z);
    free(raw);

    unsigned char ihdr[13];
    put_u32(ihdr, (uint32_t)width);
    put_u32(ihdr + 4, (uint32_t)height);
    ihdr[8] = 8;   // bits per channel
    ihdr[9] = 2;   // colour type: truecolour RGB
    ihdr[10] = 0;  // compression: deflate
    ihdr[11] = 0;  // filter method 0
    ihdr[12] = 0;  // no interlace
    size_t total = 8 + (12 + 13) + (12 + z_n) + 12;
    unsigned char *png = xmalloc(total), *p = png;
    static const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    memcpy(p, signature, 8);
    p += 8;
    p = put_chunk(p, "IHDR", ihdr, 13);
    p = put_chunk(p, "IDAT", z, z_n);
    p = put_chunk(p, "IEND", NULL, 0);
    free(z);
    *size = (size_t)(p - png);
    return png;
}

bool png_write_rgb(const char *path, const unsigned char *rgb, int width, int height,
                   int stride, ErrorMessage *err) {
    size_t n;
    unsigned char *png = png_encode_rgb(rgb, width, height, stride, &n);
    bool ok = write_file_atomic(path, png, n, err);
    free(png);
    return ok;
}
