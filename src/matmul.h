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

/* General row-major product C (m, n) = alpha op(A) op(B) + beta C, where
 * op(A) is (m, k) -- A itself (m, k), or A^T for A stored (k, m) when
 * trans_a -- and likewise op(B) (k, n). Leading dimensions are the stored
 * rows' lengths. The network's forward (H W) and backward (dZ W^T, H^T dZ)
 * are all this one call. */
void fmd_gemm(int trans_a, int trans_b, size_t m, size_t n, size_t k, double alpha,
              const double *A, size_t lda, const double *B, size_t ldb, double beta, double *C,
              size_t ldc);

/* The same as a naive triple loop (beta = 0 ignores C's old contents). */
void fmd_gemm_naive(int trans_a, int trans_b, size_t m, size_t n, size_t k, double alpha,
                    const double *A, size_t lda, const double *B, size_t ldb, double beta,
                    double *C, size_t ldc);

/* Threads BLIS may use inside one product (results do not depend on it for
 * our row-partitioned products; see verify/test_matmul.c). */
void fmd_matmul_threads(int n);

#endif
