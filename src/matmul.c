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
