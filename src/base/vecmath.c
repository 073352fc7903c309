/* vecmath.c -- pick SLEEF's widest variant this CPU runs (see vecmath.h). */
#include "base/vecmath.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__)
#include <emmintrin.h>
#include <sleef.h>

#include "base/vecmath_isa.h"   /* the variants, each in a file compiled for its instruction set */

enum { ISA_SSE2, ISA_AVX2, ISA_AVX512 };

/* libgcc reads CPUID (and the OS's XSAVE support) once at start-up; asking
 * again is a load and a test, so nothing here caches a choice. */
static int isa(void)
{
    if (__builtin_cpu_supports("avx512f"))
        return ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return ISA_AVX2;
    return ISA_SSE2;
}

const char *fmd_vecmath_isa(void)
{
    static const char *const names[] = {"sse2", "avx2", "avx512f"};
    return names[isa()];
}

/* SSE2 is part of every x86-64: two doubles (four floats) at a time, the
 * tail through a zero-padded copy. */
static void vexp_sse2(size_t n, const double *x, double *y)
{
    size_t i = 0;
    for (; i + 2 <= n; i += 2)
        _mm_storeu_pd(y + i, Sleef_expd2_u10sse2(_mm_loadu_pd(x + i)));
    if (i < n)
        y[i] = Sleef_exp_u10(x[i]);
}

static void vlog_sse2(size_t n, const double *x, double *y)
{
    size_t i = 0;
    for (; i + 2 <= n; i += 2)
        _mm_storeu_pd(y + i, Sleef_logd2_u10sse2(_mm_loadu_pd(x + i)));
    if (i < n)
        y[i] = Sleef_log_u10(x[i]);
}

static void vexpf_sse2(size_t n, const float *x, float *y)
{
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        _mm_storeu_ps(y + i, Sleef_expf4_u10sse2(_mm_loadu_ps(x + i)));
    for (; i < n; i++)
        y[i] = Sleef_expf_u10(x[i]);
}

void fmd_vexp(size_t n, const double *x, double *y)
{
    switch (isa()) {
    case ISA_AVX512: fmd_vexp_avx512(n, x, y); break;
    case ISA_AVX2:   fmd_vexp_avx2(n, x, y); break;
    default:         vexp_sse2(n, x, y);
    }
}

void fmd_vexpf(size_t n, const float *x, float *y)
{
    switch (isa()) {
    case ISA_AVX512: fmd_vexpf_avx512(n, x, y); break;
    case ISA_AVX2:   fmd_vexpf_avx2(n, x, y); break;
    default:         vexpf_sse2(n, x, y);
    }
}

void fmd_vlog(size_t n, const double *x, double *y)
{
    switch (isa()) {
    case ISA_AVX512: fmd_vlog_avx512(n, x, y); break;
    case ISA_AVX2:   fmd_vlog_avx2(n, x, y); break;
    default:         vlog_sse2(n, x, y);
    }
}

#else   /* not x86-64: the C library, one number at a time */

const char *fmd_vecmath_isa(void) { return "libm"; }

void fmd_vexp(size_t n, const double *x, double *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = exp(x[i]);
}

void fmd_vexpf(size_t n, const float *x, float *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = expf(x[i]);
}

void fmd_vlog(size_t n, const double *x, double *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = log(x[i]);
}

#endif
