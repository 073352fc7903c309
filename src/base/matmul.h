/* matmul.h -- the one place fmd calls BLIS.
 *
 * Promise: C = A B for row-major, contiguous matrices, done by BLIS's typed
 * bli_dgemm (strides said at the call: rs = number of columns, cs = 1), and
 * the same product as a plain triple loop beside it, which the suite
 * compares with (verify/test_matmul.c). This file includes no GSL BLAS
 * header: blis.h and gsl_blas.h cannot share a translation unit.
 *
 * Every call runs on the calling thread only. BLIS's own threads meet at
 * barriers that spin (bli_thrcomm_*), and inside every small product of a
 * network pass that is the wrong grain: on a busy machine a descheduled
 * thread makes the others burn their time slices waiting. fmd parallelizes
 * above BLIS instead (src/base/team.h: slices of a batch, blocks of particles),
 * so a product never waits for another thread, and its bits never depend on
 * how many threads there are. */
#ifndef FMD_MATMUL_H
#define FMD_MATMUL_H

#include <stddef.h>

/* The name of the kernels BLIS runs here ("zen3", "haswell", "generic", ...),
 * and whether fmd chose them: BLIS 0.9 does not know AMD's Zen 5 and later
 * and would run its generic C loops there; fmd then asks for the zen3
 * kernels, when the CPU has AVX2 and FMA (matmul.c says how). */
const char *fmd_matmul_kernels(void);
int fmd_matmul_kernels_chosen_by_fmd(void);

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

/* The same in float32 (BLIS's sgemm), for the float32 model path. */
void fmd_gemm_f32(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                  const float *A, size_t lda, const float *B, size_t ldb, float beta, float *C,
                  size_t ldc);

/* The same as a naive triple loop (beta = 0 ignores C's old contents). */
void fmd_gemm_naive(int trans_a, int trans_b, size_t m, size_t n, size_t k, double alpha,
                    const double *A, size_t lda, const double *B, size_t ldb, double beta,
                    double *C, size_t ldc);

#endif
