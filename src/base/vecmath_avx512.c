/* vecmath_avx512.c -- SLEEF's AVX-512F variants: 8 doubles or 16 floats at a
 * time. Compiled with -mavx512f (Makefile) and called only when the CPU has
 * AVX-512F (src/base/vecmath.c checks), so nothing else may live in this file. */
#if defined(__x86_64__)
#include "base/vecmath_isa.h"

#include <immintrin.h>
#include <sleef.h>
#include <string.h>

void fmd_vexp_avx512(size_t n, const double *x, double *y);
void fmd_vexpf_avx512(size_t n, const float *x, float *y);
void fmd_vlog_avx512(size_t n, const double *x, double *y);

/* Each loop: whole vectors, then the tail through a zero-padded copy. */
void fmd_vexp_avx512(size_t n, const double *x, double *y)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm512_storeu_pd(y + i, Sleef_expd8_u10avx512f(_mm512_loadu_pd(x + i)));
    if (i < n) {
        double in[8] = {0}, out[8];
        memcpy(in, x + i, (n - i) * sizeof(double));
        _mm512_storeu_pd(out, Sleef_expd8_u10avx512f(_mm512_loadu_pd(in)));
        memcpy(y + i, out, (n - i) * sizeof(double));
    }
}

void fmd_vlog_avx512(size_t n, const double *x, double *y)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm512_storeu_pd(y + i, Sleef_logd8_u10avx512f(_mm512_loadu_pd(x + i)));
    if (i < n) {
        double in[8] = {1, 1, 1, 1, 1, 1, 1, 1}, out[8];
        memcpy(in, x + i, (n - i) * sizeof(double));
        _mm512_storeu_pd(out, Sleef_logd8_u10avx512f(_mm512_loadu_pd(in)));
        memcpy(y + i, out, (n - i) * sizeof(double));
    }
}

void fmd_vexpf_avx512(size_t n, const float *x, float *y)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, Sleef_expf16_u10avx512f(_mm512_loadu_ps(x + i)));
    if (i < n) {
        float in[16] = {0}, out[16];
        memcpy(in, x + i, (n - i) * sizeof(float));
        _mm512_storeu_ps(out, Sleef_expf16_u10avx512f(_mm512_loadu_ps(in)));
        memcpy(y + i, out, (n - i) * sizeof(float));
    }
}
#endif
