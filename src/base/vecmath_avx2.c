/* vecmath_avx2.c -- SLEEF's AVX2 variants: 4 doubles or 8 floats at a time.
 * Compiled with -mavx2 -mfma (Makefile) and called only when the CPU has
 * both (src/base/vecmath.c checks), so nothing else may live in this file. */
#if defined(__x86_64__)
#include "base/vecmath_isa.h"

#include <immintrin.h>
#include <sleef.h>
#include <string.h>

void fmd_vexp_avx2(size_t n, const double *x, double *y);
void fmd_vexpf_avx2(size_t n, const float *x, float *y);
void fmd_vlog_avx2(size_t n, const double *x, double *y);

/* Each loop: whole vectors, then the tail through a padded copy. */
void fmd_vexp_avx2(size_t n, const double *x, double *y)
{
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        _mm256_storeu_pd(y + i, Sleef_expd4_u10avx2(_mm256_loadu_pd(x + i)));
    if (i < n) {
        double in[4] = {0}, out[4];
        memcpy(in, x + i, (n - i) * sizeof(double));
        _mm256_storeu_pd(out, Sleef_expd4_u10avx2(_mm256_loadu_pd(in)));
        memcpy(y + i, out, (n - i) * sizeof(double));
    }
}

void fmd_vlog_avx2(size_t n, const double *x, double *y)
{
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        _mm256_storeu_pd(y + i, Sleef_logd4_u10avx2(_mm256_loadu_pd(x + i)));
    if (i < n) {
        double in[4] = {1, 1, 1, 1}, out[4];
        memcpy(in, x + i, (n - i) * sizeof(double));
        _mm256_storeu_pd(out, Sleef_logd4_u10avx2(_mm256_loadu_pd(in)));
        memcpy(y + i, out, (n - i) * sizeof(double));
    }
}

void fmd_vexpf_avx2(size_t n, const float *x, float *y)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, Sleef_expf8_u10avx2(_mm256_loadu_ps(x + i)));
    if (i < n) {
        float in[8] = {0}, out[8];
        memcpy(in, x + i, (n - i) * sizeof(float));
        _mm256_storeu_ps(out, Sleef_expf8_u10avx2(_mm256_loadu_ps(in)));
        memcpy(y + i, out, (n - i) * sizeof(float));
    }
}
#endif
