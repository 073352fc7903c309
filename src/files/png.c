/* png.c -- an 8-bit grayscale PNG through zlib (deflate and CRC-32). */
#include "files/png.h"
#include "base/atomic_file.h"
#include "base/status.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16), p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

/* one chunk: length, type, data, CRC-32 of type and data */
static int chunk(FILE *fp, const char *type, const unsigned char *data, size_t len)
{
    unsigned char head[8], tail[4];
    put32(head, (uint32_t)len);
    memcpy(head + 4, type, 4);
    uLong crc = crc32(0L, (const Bytef *)type, 4);
    if (len)
        crc = crc32(crc, data, (uInt)len);
    put32(tail, (uint32_t)crc);
    return fwrite(head, 1, 8, fp) == 8 && (len == 0 || fwrite(data, 1, len, fp) == len) && fwrite(tail, 1, 4, fp) == 4;
}

int fmd_png_write_gray(const char *path, size_t w, size_t h, const unsigned char *gray)
{
    if (!path || !gray || w == 0 || h == 0 || w > (1u << 24) || h > (1u << 24))
        return FMD_EINVAL;
    const size_t raw_len = h * (w + 1);   /* each row: filter type 0, then its bytes */
    unsigned char *raw = malloc(raw_len);
    uLongf zlen = compressBound((uLong)raw_len);
    unsigned char *z = malloc(zlen);
    if (!raw || !z) {
        free(raw), free(z);
        return FMD_ENOMEM;
    }
    for (size_t r = 0; r < h; r++) {
        raw[r * (w + 1)] = 0;
        memcpy(raw + r * (w + 1) + 1, gray + r * w, w);
    }
    int status = compress2(z, &zlen, raw, (uLong)raw_len, 9) == Z_OK ? FMD_OK : FMD_ENOMEM;
    fmd_atomic_file f;
    if (status == FMD_OK)
        status = fmd_atomic_open(path, &f);
    if (status == FMD_OK) {
        static const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
        unsigned char ihdr[13];
        put32(ihdr, (uint32_t)w);
        put32(ihdr + 4, (uint32_t)h);
        ihdr[8] = 8, ihdr[9] = 0, ihdr[10] = 0, ihdr[11] = 0, ihdr[12] = 0;   /* 8-bit gray, deflate, no interlace */
        int ok = fwrite(signature, 1, 8, f.fp) == 8 && chunk(f.fp, "IHDR", ihdr, 13) && chunk(f.fp, "IDAT", z, zlen) &&
                 chunk(f.fp, "IEND", NULL, 0);
        if (ok)
            status = fmd_atomic_commit(&f);
        else {
            fmd_atomic_abort(&f);
            status = FMD_EIO;
        }
    }
    free(raw), free(z);
    return status;
}

int fmd_png_write_grid(const char *path, size_t n, size_t side, const double *images, size_t cols)
{
    if (n == 0 || side == 0 || cols == 0 || !images)
        return FMD_EINVAL;
    const size_t gap = 2, rows = (n + cols - 1) / cols;
    const size_t W = cols * side + (cols + 1) * gap, H = rows * side + (rows + 1) * gap;
    unsigned char *g = malloc(W * H);
    if (!g)
        return FMD_ENOMEM;
    memset(g, 255, W * H);   /* white gaps */
    for (size_t k = 0; k < n; k++) {
        const size_t x0 = gap + (k % cols) * (side + gap), y0 = gap + (k / cols) * (side + gap);
        for (size_t r = 0; r < side; r++)
            for (size_t c = 0; c < side; c++) {
                double v = images[k * side * side + r * side + c];
                v = isnan(v) ? -1.0 : v < -1.0 ? -1.0 : v > 1.0 ? 1.0 : v;
                g[(y0 + r) * W + x0 + c] = (unsigned char)lround((v + 1.0) * 127.5);
            }
    }
    int status = fmd_png_write_gray(path, W, H, g);
    free(g);
    return status;
}
