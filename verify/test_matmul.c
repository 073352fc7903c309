/* test_matmul.c -- BLIS's product against the naive triple loop. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "base/matmul.h"
#include "base/rng.h"
#include "base/status.h"

/* Shapes from 1x1x1 to 257x65x130 (odd sizes cross BLIS's blocking edges);
 * each entry agrees to 1e-12 relative to the sum of |terms|, far above the
 * k eps = 3e-14 that reordered summation can cost. */
Test(matmul, blis_product_matches_naive_loop)
{
    const size_t shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {64, 64, 64}, {257, 65, 130}, {256, 2, 2}, {17, 64, 1}};
    gsl_rng *r;
    cr_assert_eq(fmd_rng_alloc(31, 0, &r), FMD_OK);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        size_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        double *A = malloc(sizeof(double) * m * k), *B = malloc(sizeof(double) * k * n);
        double *C = malloc(sizeof(double) * m * n), *D = malloc(sizeof(double) * m * n);
        fmd_rng_gaussian(r, m * k, A);
        fmd_rng_gaussian(r, k * n, B);
        fmd_matmul(m, n, k, A, B, C);
        fmd_matmul_naive(m, n, k, A, B, D);
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < n; j++) {
                double scale = 0.0;
                for (size_t l = 0; l < k; l++)
                    scale += fabs(A[i * k + l] * B[l * n + j]);
                cr_expect(fabs(C[i * n + j] - D[i * n + j]) <= 1e-12 * scale,
                          "%zux%zux%zu: C[%zu][%zu] = %.17g (BLIS) vs %.17g (loop)", m, n, k, i, j, C[i * n + j], D[i * n + j]);
            }
        free(A);
        free(B);
        free(C);
        free(D);
    }
    gsl_rng_free(r);
}

/* Every transposition, with alpha, beta and padded leading dimensions, against
 * the naive loop (same 1e-12 relative bound). */
Test(matmul, gemm_with_transposes_matches_naive_loop)
{
    gsl_rng *r;
    cr_assert_eq(fmd_rng_alloc(32, 0, &r), FMD_OK);
    const size_t m = 37, n = 23, k = 71;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            size_t lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 2, ldc = n + 5;
            size_t rows_a = ta ? k : m, rows_b = tb ? n : k;
            double *A = malloc(sizeof(double) * rows_a * lda), *B = malloc(sizeof(double) * rows_b * ldb);
            double *C = malloc(sizeof(double) * m * ldc), *D = malloc(sizeof(double) * m * ldc);
            fmd_rng_gaussian(r, rows_a * lda, A);
            fmd_rng_gaussian(r, rows_b * ldb, B);
            fmd_rng_gaussian(r, m * ldc, C);
            for (size_t i = 0; i < m * ldc; i++)
                D[i] = C[i];
            fmd_gemm(ta, tb, m, n, k, 0.7, A, lda, B, ldb, -1.3, C, ldc);
            fmd_gemm_naive(ta, tb, m, n, k, 0.7, A, lda, B, ldb, -1.3, D, ldc);
            for (size_t i = 0; i < m; i++)
                for (size_t j = 0; j < n; j++)
                    cr_expect(fabs(C[i * ldc + j] - D[i * ldc + j]) <= 1e-12 * (k + fabs(D[i * ldc + j])),
                              "ta %d tb %d: C[%zu][%zu] = %.17g vs %.17g", ta, tb, i, j, C[i * ldc + j], D[i * ldc + j]);
            free(A);
            free(B);
            free(C);
            free(D);
        }
    gsl_rng_free(r);
}
