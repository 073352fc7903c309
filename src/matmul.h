/* matmul.h -- the one place fmd calls BLIS.
 *
 * Promise: C = A B for row-major, contiguous matrices, done by BLIS's typed
 * bli_dgemm (strides said at the call: rs = number of columns, cs = 1), and
 * the same product as a plain triple loop beside it, which the suite
 * compares with (verify/test_matmul.c). This file includes no GSL BLAS
 * header: blis.h and gsl_blas.h cannot share a translation unit. */
#ifndef FMD_MATMUL_H
#define FMD_MATMUL_H

#include <stddef.h>

/* C (m, n) = A (m, k) B (k, n), all row-major. */
void fmd_matmul(size_t m, size_t n, size_t k, const double *A, const double *B, double *C);

/* The same product as a naive triple loop: the reference. */
void fmd_matmul_naive(size_t m, size_t n, size_t k, const double *A, const double *B, double *C);

#endif
