/* gmm_file.h -- the mixture specification file, read with full validation.
 *
 * Format (lines starting with '#' and blank lines are ignored; numbers in
 * C's strtod syntax):
 *     gmm <d> <K>
 *     <weight> <mean: d numbers> <covariance: d*d numbers, row-major>   (K lines)
 * or, for a labelled mixture (chapter 5: component k belongs to class y_k),
 *     gmm <d> <K> labelled
 *     <weight> <mean> <covariance> <label: a whole number in [0, 1023]>   (K lines)
 * Without labels, component k is its own class k. A mixture at image
 * dimension gives each covariance as a diagonal plus a rank-r factor,
 * Sigma = diag(D) + F F^T (lowrank.h), never forming it:
 *     gmm <d> <K> lowrank <r>            (optionally followed by "labelled")
 *     <weight> <mean: d> <D: d numbers, all > 0> <F: d*r numbers, row-major>  [label]
 * (1 <= r < d, r <= FMD_GMM_MAX_RANK, K d (r + 2) <= 1e7).
 * Promise: a malformed file is rejected with the file name, the line number
 * and the reason -- a wrong count of numbers, a weight <= 0, weights not
 * summing to 1 within 1e-9, a covariance not symmetric or not positive
 * definite, d or K <= 0 or too large (d <= 1024, K <= 65536, K d^2 <= 1e7),
 * a number that is not finite, trailing garbage -- and never crashes,
 * whatever the bytes (a fuzz target, verify/fuzz/fuzz_gmm_file.c, holds it to that). */
#ifndef FMD_GMM_FILE_H
#define FMD_GMM_FILE_H

#include <stddef.h>
#include <stdio.h>
#include "paths/gmm.h"

#define FMD_GMM_MAX_D 1024
#define FMD_GMM_MAX_K 65536
#define FMD_GMM_MAX_NUMBERS 10000000
#define FMD_GMM_MAX_LABEL 1023

typedef struct {
    char file[256];    /* as given, truncated */
    long line;         /* 1-based; 0 when the problem is the file as a whole */
    char reason[256];  /* what is wrong and, where useful, what was expected */
} fmd_parse_error;

/* Parse len bytes (need not be NUL-terminated). On success *out is a prepared
 * mixture; on failure *out is NULL, err says where and why, and the status is
 * FMD_EINVAL (or FMD_ENOMEM). */
int fmd_gmm_parse(const char *text, size_t len, const char *filename, fmd_gmm **out,
                  fmd_parse_error *err);

/* Write g in this format to f (%.17g, so a parse gives back every bit):
 * dense or low-rank as g is, with the labels when `labelled`. FMD_EIO if a
 * write fails (the caller owns f: an fmd_atomic_file's fp, say). */
int fmd_gmm_write(FILE *f, const fmd_gmm *g, int labelled);

/* Write g to the file at path, whole or not at all (an fmd_atomic_file:
 * a temporary file in the same directory, renamed when complete): FMD_EIO if
 * it cannot be created or written, and then no file is left. */
int fmd_gmm_save(const char *path, const fmd_gmm *g, int labelled);

/* Read and parse a file; FMD_EIO (with err filled) if it cannot be read. */
int fmd_gmm_load(const char *path, fmd_gmm **out, fmd_parse_error *err);

/* Parse up to `want` numbers from one line [p, end); *got is how many were
 * there (counting past `want` to report a wrong count). Returns 0, or -1
 * with err->reason set (non-finite, not a number, too long). Shared with
 * the command's point reader. */
int fmd_parse_numbers(const char *p, const char *end, double *out, size_t want, size_t *got,
                      fmd_parse_error *err);

#endif
