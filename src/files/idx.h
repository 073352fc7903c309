/* idx.h -- the IDX files of (Fashion-)MNIST, gzip-compressed or not.
 *
 * Layout (big-endian): two zero bytes; a type byte (0x08 = unsigned byte,
 * the only one these data sets use); the number of dimensions n (1..4);
 * n 32-bit sizes; then the product of the sizes in bytes, nothing more.
 * Promise: a file is accepted only if every one of those holds -- magic,
 * type, n, every size non-zero, the product without overflow and equal to
 * the bytes that follow -- and otherwise rejected with the reason; the
 * reader never reads outside the buffer (a fuzz target, verify/fuzz/
 * fuzz_idx.c, holds it to that). Decompression is zlib's. */
#ifndef FMD_IDX_H
#define FMD_IDX_H

#include <stddef.h>
#include <stdint.h>
#include <gsl/gsl_rng.h>

#define FMD_IDX_MAX_BYTES ((size_t)1 << 28)   /* 256 MiB decompressed: far above any MNIST file */

typedef struct {
    size_t ndim;
    size_t dims[4];
    size_t count;               /* product of dims */
    const unsigned char *data;  /* count bytes, inside the parsed buffer */
} fmd_idx;

/* Parse len bytes; on failure why gets the reason. */
int fmd_idx_parse(const unsigned char *buf, size_t len, fmd_idx *out, char *why, size_t why_len);

/* Read a whole file, decompressing gzip (zlib's gzread also passes plain
 * files through), into *buf (malloc'd) of *len bytes, at most
 * FMD_IDX_MAX_BYTES. A truncated or corrupt gzip stream is an error. */
int fmd_idx_read_file(const char *path, unsigned char **buf, size_t *len, char *why, size_t why_len);

/* A labelled image set: n images of rows x cols pixels as doubles in
 * [-1, 1] (pixel / 127.5 - 1), row-major, and their labels. */
typedef struct {
    size_t n, rows, cols;
    double *x;     /* (n, rows * cols) */
    int *y;        /* (n) */
} fmd_image_set;

/* Load images + labels IDX files (paths), checking that they agree: the
 * images file is 3-D, the labels file 1-D with as many entries, and every
 * label is below max_label. */
int fmd_image_set_load(const char *images, const char *labels, int max_label, fmd_image_set *out,
                       char *why, size_t why_len);
void fmd_image_set_free(fmd_image_set *s);

/* Fashion-MNIST from Debian's dataset-fashion-mnist package (or dir, if
 * non-NULL): train = 1 for the 60000 training images, 0 for the 10000 test
 * images. Its classes: */
#define FMD_FMNIST_DIR "/usr/share/datasets/fashion-mnist"
extern const char *const fmd_fmnist_classes[10];
int fmd_fmnist_load(const char *dir, int train, fmd_image_set *out, char *why, size_t why_len);

/* fmd_sampler_fn over an image set: uniform draws with replacement (with labels). */
int fmd_image_set_sampler(void *set, gsl_rng *r, size_t n, double *z, int *labels);

#endif
