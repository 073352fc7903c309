/* png.h -- an 8-bit grayscale PNG, written atomically (for looking at image
 * samples without a script: `fmd sample --png`).
 *
 * Promise: a file that any PNG reader opens -- signature, IHDR, one IDAT
 * (zlib's deflate of the rows, each with filter byte 0), IEND, each chunk
 * with its CRC-32 (zlib's crc32) -- or no file at all. */
#ifndef FMD_PNG_H
#define FMD_PNG_H

#include <stddef.h>

/* Write gray (h rows of w bytes) to path. FMD_OK, FMD_EINVAL (w or h zero
 * or above 2^24), FMD_ENOMEM or FMD_EIO (the file could not be written). */
int fmd_png_write_gray(const char *path, size_t w, size_t h, const unsigned char *gray);

/* Images (n of them, side x side pixels, values in [-1, 1] as Fashion-MNIST
 * is scaled) laid out in a grid of cols columns with a 2-pixel gap, to a
 * gray PNG at path. Values outside [-1, 1] are clipped. */
int fmd_png_write_grid(const char *path, size_t n, size_t side, const double *images, size_t cols);

#endif
