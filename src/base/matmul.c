/* matmul.c -- BLIS's dgemm and sgemm behind small functions, and a naive twin. */
#include "base/matmul.h"

#include <blis.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#endif

/* ---- which kernels BLIS runs ---------------------------------------------
 * BLIS 0.9 picks its kernels ("sub-configuration") from the CPU's vendor and
 * family when it starts. AMD's family 0x19 (Zen 3 and Zen 4) gets the zen3
 * kernels, but family 0x1A (Zen 5) and any later one are unknown to it and
 * fall to "generic": plain C loops. Measured on a 2-core Zen 5, one thread,
 * 1000 x 1000 x 1000: dgemm 9.4 GFlop/s generic against 41.6 with the zen3
 * kernels, sgemm 18 against 89 -- every network of chapters 4 and 5 trained
 * four to five times slower than it could. On such a CPU, when it has the
 * AVX2 and FMA instructions the zen3 kernels use, fmd asks BLIS for them
 * through BLIS's own switch, the environment variable BLIS_ARCH_TYPE, before
 * BLIS first starts (a BLIS_ARCH_TYPE the user set is left alone). BLIS 0.9
 * reads that switch only if it is initialised first (bli_init) -- otherwise
 * it aborts -- so the start is done here, once, before any product. */
static pthread_once_t blis_once = PTHREAD_ONCE_INIT;
static int blis_chosen_by_fmd;

static int cpu_is_newer_amd_with_avx2(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d) || memcmp(&b, "Auth", 4) != 0 || memcmp(&d, "enti", 4) != 0 ||
        memcmp(&c, "cAMD", 4) != 0 || !__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    unsigned family = (a >> 8) & 0xf;
    if (family == 0xf)
        family += (a >> 20) & 0xff;
    __builtin_cpu_init();
    return family > 0x19 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

static void blis_start(void)
{
    const char *version = bli_info_get_version_str();
    if (!getenv("BLIS_ARCH_TYPE") && version && strncmp(version, "0.9", 3) == 0 && cpu_is_newer_amd_with_avx2()) {
        char id[16];
        snprintf(id, sizeof id, "%d", (int)BLIS_ARCH_ZEN3);
        blis_chosen_by_fmd = setenv("BLIS_ARCH_TYPE", id, 0) == 0;
    }
    bli_init();
}

static void blis_ready(void)
{
    pthread_once(&blis_once, blis_start);
}

const char *fmd_matmul_kernels(void)
{
    blis_ready();
    return bli_arch_string(bli_arch_query_id());
}

int fmd_matmul_kernels_chosen_by_fmd(void)
{
    blis_ready();
    return blis_chosen_by_fmd;
}

/* BLIS's runtime settings for one call: one thread, always (see matmul.h).
 * BLIS 0.9 sends products it deems small to its "sup" kernels, which skip
 * packing. Measured on this project's shapes (an AMD Zen 4, BLIS's zen3
 * kernels, one thread), sup wins on skinny products and loses on larger
 * ones, differently for the two types:
 *   dgemm  1000 x 64 x 64 (the lab's layers): sup 52 GFlop/s, packed 45;
 *          128 x 512 x 803 (Fashion-MNIST): sup 19, packed 44;
 *   sgemm  50 x 784 x 512 (a sampling block): sup 98, packed 87;
 *          64 x 512 x 512 times W^T (backprop): sup 76, packed 94;
 *          128 x 512 x 128 (a gradient block): sup 76, packed 93.
 * So the packed path is asked for when both m and n reach 96, or the
 * product is large (2^24 multiply-adds for dgemm, 2^25 for sgemm), or, for
 * sgemm, B is transposed; otherwise BLIS chooses. */
static rntm_t one_thread(int sgemm, int trans_b, size_t m, size_t n, size_t k)
{
    blis_ready();
    rntm_t rntm = BLIS_RNTM_INITIALIZER;
    bli_rntm_set_num_threads(1, &rntm);
    const double size = (double)m * (double)n * (double)k;
    if ((m >= 96 && n >= 96) || size >= (sgemm ? 33554432.0 : 16777216.0) || (sgemm && trans_b))
        bli_rntm_disable_l3_sup(&rntm);
    return rntm;
}

void fmd_matmul(size_t m, size_t n, size_t k, const double *A, const double *B, double *C)
{
    fmd_gemm(0, 0, m, n, k, 1.0, A, k, B, n, 0.0, C, n);
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
    rntm_t rntm = one_thread(0, trans_b, m, n, k);
    /* row-major storage: row stride = leading dimension, column stride = 1;
     * BLIS applies the transposition to the stored matrix */
    bli_dgemm_ex(trans_a ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, trans_b ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE,
                 (dim_t)m, (dim_t)n, (dim_t)k, &alpha, (double *)A, (inc_t)lda, 1, (double *)B,
                 (inc_t)ldb, 1, &beta, C, (inc_t)ldc, 1, NULL, &rntm);
}

void fmd_gemm_f32(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                  const float *A, size_t lda, const float *B, size_t ldb, float beta, float *C,
                  size_t ldc)
{
    rntm_t rntm = one_thread(1, trans_b, m, n, k);
    bli_sgemm_ex(trans_a ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, trans_b ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE,
                 (dim_t)m, (dim_t)n, (dim_t)k, &alpha, (float *)A, (inc_t)lda, 1, (float *)B,
                 (inc_t)ldb, 1, &beta, C, (inc_t)ldc, 1, NULL, &rntm);
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
