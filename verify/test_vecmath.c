/* test_vecmath.c -- SLEEF's vector exp and log (src/base/vecmath.h) against
 * glibc's libm, over the ranges fmd uses and at the IEEE edges. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fmd.h"
#include "base/vecmath.h"
#include "base/vecmath_isa.h"   /* the variants, compared bit for bit below */

/* |a - b| in units in the last place of b (the spacing of doubles at |b|;
 * in the subnormals, 2^-1074). Both infinite with one sign, or both NaN: 0. */
static double ulps(double a, double b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b) ? 0.0 : INFINITY;
    if (isinf(a) || isinf(b))
        return a == b ? 0.0 : INFINITY;
    double spacing = nextafter(fabs(b), INFINITY) - fabs(b);
    return fabs(a - b) / spacing;
}

static double ulpsf(float a, float b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b) ? 0.0 : INFINITY;
    if (isinf(a) || isinf(b))
        return a == b ? 0.0 : INFINITY;
    float spacing = nextafterf(fabsf(b), INFINITY) - fabsf(b);
    return fabsf(a - b) / spacing;
}

/* SLEEF's u10 functions are within 1.0 ulp of the exact value; glibc's exp
 * and log within about 0.5 (both documented). Two such results may differ by
 * 1.5 ulp; 2 is allowed. A wrong polynomial or range reduction is off by
 * thousands of ulps. */
#define ULP_TOL 2.0

/* exp over [-745.2, 709.8] -- every double exp maps to a finite or
 * subnormal result, 4e5 points evenly spread plus random ones -- and the
 * edges: -inf -> 0, +inf -> +inf, NaN -> NaN, overflow past log(DBL_MAX),
 * underflow through the subnormals to +0, exp(+-0) = 1. Lengths 0..33
 * exercise the vector tails. */
Test(vecmath, exp_agrees_with_libm_to_two_ulp_and_at_the_edges)
{
    enum { N = 400000 };
    double *x = malloc(N * sizeof(double)), *y = malloc(N * sizeof(double)), worst = 0.0, at = 0.0;
    gsl_rng *r;
    fmd_rng_alloc(4, 0, &r);
    for (int i = 0; i < N; i++)
        x[i] = i < N / 2 ? -745.2 + (709.8 + 745.2) * i / (N / 2 - 1) : 40.0 * (gsl_rng_uniform(r) - 0.5);
    fmd_vexp(N, x, y);
    for (int i = 0; i < N; i++) {
        double u = ulps(y[i], exp(x[i]));
        if (u > worst)
            worst = u, at = x[i];
    }
    cr_log_info("exp (%s): worst %.3f ulp against libm, at x = %.17g", fmd_vecmath_isa(), worst, at);
    cr_expect(worst <= ULP_TOL, "exp: %.3f ulp at x = %.17g (%s)", worst, at, fmd_vecmath_isa());
    const double edge[] = {-INFINITY, INFINITY, NAN, 709.79, 709.8, 710.0, -708.4, -740.0, -745.13, -745.2, -746.0,
                           0.0, -0.0, DBL_MIN, -DBL_TRUE_MIN};
    const size_t ne = sizeof edge / sizeof edge[0];
    double ye[sizeof edge / sizeof edge[0]];
    fmd_vexp(ne, edge, ye);
    for (size_t i = 0; i < ne; i++)
        cr_expect(ulps(ye[i], exp(edge[i])) <= ULP_TOL && signbit(ye[i]) == signbit(exp(edge[i])),
                  "exp(%g) = %.17g, libm %.17g", edge[i], ye[i], exp(edge[i]));
    for (size_t n = 0; n <= 33; n++) {   /* every tail length */
        double in[33], out[34];
        for (size_t i = 0; i < n; i++)
            in[i] = 0.37 * (double)i - 3.1;
        out[n] = 12345.0;
        fmd_vexp(n, in, out);
        for (size_t i = 0; i < n; i++)
            cr_expect(ulps(out[i], exp(in[i])) <= ULP_TOL, "n %zu: exp(%g) = %.17g", n, in[i], out[i]);
        cr_expect(out[n] == 12345.0, "n %zu: wrote past the end", n);
    }
    gsl_rng_free(r);
    free(x);
    free(y);
}

/* expf over [-103.9, 88.7], the float range (with subnormal results), and its edges. */
Test(vecmath, expf_agrees_with_libm_to_two_ulp_and_at_the_edges)
{
    enum { N = 200000 };
    float *x = malloc(N * sizeof(float)), *y = malloc(N * sizeof(float));
    double worst = 0.0, at = 0.0;
    for (int i = 0; i < N; i++)
        x[i] = (float)(-103.9 + (88.7 + 103.9) * i / (N - 1));
    fmd_vexpf(N, x, y);
    for (int i = 0; i < N; i++) {
        double u = ulpsf(y[i], expf(x[i]));
        if (u > worst)
            worst = u, at = x[i];
    }
    cr_log_info("expf (%s): worst %.3f ulp against libm, at x = %.9g", fmd_vecmath_isa(), worst, at);
    cr_expect(worst <= ULP_TOL, "expf: %.3f ulp at x = %.9g", worst, at);
    const float edge[] = {-INFINITY, INFINITY, NAN, 88.73f, 89.0f, -104.0f, -110.0f, 0.0f, -0.0f};
    const size_t ne = sizeof edge / sizeof edge[0];
    float ye[sizeof edge / sizeof edge[0]];
    fmd_vexpf(ne, edge, ye);
    for (size_t i = 0; i < ne; i++)
        cr_expect(ulpsf(ye[i], expf(edge[i])) <= ULP_TOL, "expf(%g) = %.9g, libm %.9g", edge[i], ye[i], expf(edge[i]));
    for (size_t n = 0; n <= 33; n++) {
        float in[33], out[34];
        for (size_t i = 0; i < n; i++)
            in[i] = 0.37f * (float)i - 3.1f;
        out[n] = 12345.0f;
        fmd_vexpf(n, in, out);
        for (size_t i = 0; i < n; i++)
            cr_expect(ulpsf(out[i], expf(in[i])) <= ULP_TOL, "n %zu: expf(%g) = %.9g", n, in[i], out[i]);
        cr_expect(out[n] == 12345.0f, "n %zu: wrote past the end", n);
    }
    free(x);
    free(y);
}

/* log over positive doubles from the subnormals to DBL_MAX (random exponent
 * and mantissa), near 1 (where log is small and cancellation bites), and its
 * edges: log(0) = -inf, log(x < 0) = NaN, log(+inf) = +inf, NaN -> NaN. */
Test(vecmath, log_agrees_with_libm_to_two_ulp_and_at_the_edges)
{
    enum { N = 200000 };
    double *x = malloc(N * sizeof(double)), *y = malloc(N * sizeof(double)), worst = 0.0, at = 0.0;
    gsl_rng *r;
    fmd_rng_alloc(5, 0, &r);
    for (int i = 0; i < N; i++)
        x[i] = i % 2 ? ldexp(1.0 + gsl_rng_uniform(r), (int)gsl_rng_uniform_int(r, 2098) - 1074)
                     : 1.0 + 1e-3 * (gsl_rng_uniform(r) - 0.5);
    fmd_vlog(N, x, y);
    for (int i = 0; i < N; i++) {
        double u = ulps(y[i], log(x[i]));
        if (u > worst)
            worst = u, at = x[i];
    }
    cr_log_info("log (%s): worst %.3f ulp against libm, at x = %.17g", fmd_vecmath_isa(), worst, at);
    cr_expect(worst <= ULP_TOL, "log: %.3f ulp at x = %.17g", worst, at);
    const double edge[] = {0.0, -0.0, -1.0, INFINITY, -INFINITY, NAN, DBL_TRUE_MIN, DBL_MAX, 1.0};
    const size_t ne = sizeof edge / sizeof edge[0];
    double ye[sizeof edge / sizeof edge[0]];
    fmd_vlog(ne, edge, ye);
    for (size_t i = 0; i < ne; i++)
        cr_expect(ulps(ye[i], log(edge[i])) <= ULP_TOL, "log(%g) = %.17g, libm %.17g", edge[i], ye[i], log(edge[i]));
    gsl_rng_free(r);
    free(x);
    free(y);
}


/* The numbers fmd calls exact (verify/README.md, "Numbers from runs") have the same
 * bits on every x86-64 machine with AVX2 and FMA, whether it has AVX-512 or
 * not. For exp and log that rests on SLEEF's AVX2 and AVX-512 variants
 * computing the same algorithm with the same fused multiply-adds: they must
 * agree bit for bit, not within an ulp. 10^6 arguments over exp's whole
 * finite range (and expf's), log over 2^-1074 .. 2^1023; lengths not a
 * multiple of 8 test the tails. Skipped on a CPU without AVX-512. */
Test(vecmath, avx2_and_avx512_variants_agree_bit_for_bit)
{
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma"))
        cr_skip_test("this CPU lacks AVX-512 or AVX2 and FMA: nothing to compare here");
    enum { N = 1000003 };
    double *x = malloc(N * sizeof(double)), *a = malloc(N * sizeof(double)), *b = malloc(N * sizeof(double));
    float *xf = malloc(N * sizeof(float)), *af = malloc(N * sizeof(float)), *bf = malloc(N * sizeof(float));
    cr_assert(x && a && b && xf && af && bf);
    gsl_rng *r;
    fmd_rng_alloc(2385, 0, &r);
    for (size_t i = 0; i < N; i++) {
        x[i] = -745.2 + 1455.0 * gsl_rng_uniform(r);
        xf[i] = (float)(-103.9 + 192.6 * gsl_rng_uniform(r));
    }
    fmd_vexp_avx512(N, x, a);
    fmd_vexp_avx2(N, x, b);
    size_t differ = 0;
    for (size_t i = 0; i < N; i++)
        differ += memcmp(&a[i], &b[i], sizeof(double)) != 0;
    cr_assert_eq(differ, 0, "exp: %zu of %d results differ between the AVX-512 and AVX2 variants", differ, (int)N);
    fmd_vexpf_avx512(N, xf, af);
    fmd_vexpf_avx2(N, xf, bf);
    for (size_t i = 0; i < N; i++)
        differ += memcmp(&af[i], &bf[i], sizeof(float)) != 0;
    cr_assert_eq(differ, 0, "expf: %zu of %d results differ between the AVX-512 and AVX2 variants", differ, (int)N);
    for (size_t i = 0; i < N; i++)
        x[i] = ldexp(1.0 + gsl_rng_uniform(r), (int)(gsl_rng_uniform_int(r, 2098)) - 1075);
    fmd_vlog_avx512(N, x, a);
    fmd_vlog_avx2(N, x, b);
    for (size_t i = 0; i < N; i++)
        differ += memcmp(&a[i], &b[i], sizeof(double)) != 0;
    cr_assert_eq(differ, 0, "log: %zu of %d results differ between the AVX-512 and AVX2 variants", differ, (int)N);
    printf("vecmath: AVX-512 and AVX2 variants agree on %d exp, %d expf and %d log arguments, bit for bit\n", (int)N,
           (int)N, (int)N);
    gsl_rng_free(r);
    free(x), free(a), free(b), free(xf), free(af), free(bf);
}
