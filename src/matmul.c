/* matmul.c -- BLIS's dgemm behind one small function, and its naive twin. */
#include "matmul.h"

#include <blis.h>

void fmd_matmul(size_t m, size_t n, size_t k, const double *A, const double *B, double *C)
{
    double one = 1.0, zero = 0.0;
    /* row-major: row stride = columns, column stride = 1 */
    bli_dgemm(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, (dim_t)m, (dim_t)n, (dim_t)k, &one,
              (double *)A, (inc_t)k, 1, (double *)B, (inc_t)n, 1, &zero, C, (inc_t)n, 1);
}

void fmd_matmul_naive(size_t m, size_t n, size_t k, const double *A, const double *B, double *C)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double s = 0.0;
            for (size_t l = 0; l < k; l++)
                s += A[i * k + l] * B[l * n + j];
            C[i * n + j] = s;
        }
}

void fmd_gemm(int trans_a, int trans_b, size_t m, size_t n, size_t k, double alpha,
              const double *A, size_t lda, const double *B, size_t ldb, double beta, double *C,
              size_t ldc)
{
    /* row-major storage: row stride = leading dimension, column stride = 1;
     * BLIS applies the transposition to the stored matrix */
    bli_dgemm(trans_a ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, trans_b ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE,
              (dim_t)m, (dim_t)n, (dim_t)k, &alpha, (double *)A, (inc_t)lda, 1, (double *)B,
              (inc_t)ldb, 1, &beta, C, (inc_t)ldc, 1);
}

void fmd_gemm_naive(int trans_a, int trans_b, size_t m, size_t n, size_t k, double alpha,
                    const double *A, size_t lda, const double *B, size_t ldb, double beta,
                    double *C, size_t ldc)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double s = 0.0;
            for (size_t l = 0; l < k; l++) {
                double a = trans_a ? A[l * lda + i] : A[i * lda + l];
                double b = trans_b ? B[j * ldb + l] : B[l * ldb + j];
                s += a * b;
            }
            C[i * ldc + j] = alpha * s + (beta == 0.0 ? 0.0 : beta * C[i * ldc + j]);
        }
}

void fmd_matmul_threads(int n)
{
    bli_thread_set_num_threads(n > 0 ? n : 1);
}
