/* vecmath.h -- exp and log over whole arrays, vectorized by SLEEF.
 *
 * Promise: y[i] = exp(x[i]) (or log) for i < n, each within 1 ulp of the
 * exact value (SLEEF's "u10" functions, whose bound its authors prove and
 * test), with IEEE behaviour at the edges: exp(-inf) = 0, exp(+inf) = +inf,
 * overflow to +inf above log(DBL_MAX), gradual underflow through the
 * subnormals to +0, NaN in -> NaN out; log(0) = -inf, log(x < 0) = NaN.
 * Checked against glibc's libm over the ranges fmd uses and at those edges
 * (verify/test_vecmath.c).
 *
 * Why: the network's SiLU needs one exp per hidden unit per row, the
 * mixture's responsibilities one per component per point; glibc's scalar
 * exp costs ~4 ns, SLEEF's AVX-512 one ~0.7 ns an element. The widest
 * instruction set the CPU offers is chosen at each call (AVX-512F, AVX2 with
 * FMA, else SSE2), so one binary runs on any x86-64; other machines get
 * libm. On one machine the choice never changes, so neither do the bits. */
#ifndef FMD_VECMATH_H
#define FMD_VECMATH_H

#include <stddef.h>

void fmd_vexp(size_t n, const double *x, double *y);
void fmd_vexpf(size_t n, const float *x, float *y);
void fmd_vlog(size_t n, const double *x, double *y);

/* "avx512f", "avx2" or "sse2" (SLEEF), or "libm": what the calls above use here. */
const char *fmd_vecmath_isa(void);

/* For a function whose loops the compiler turns into vector instructions
 * (elementwise work over arrays: Adam, SiLU's arithmetic, the mixture's
 * per-point sums): GCC compiles it three times -- for x86-64-v4 (AVX-512),
 * x86-64-v3 (AVX2 and FMA) and baseline x86-64 -- and the program picks the
 * widest the CPU has when it loads (target_clones). The build keeps
 * -ffp-contract=off and no -ffast-math, so the three agree to the bit: no
 * fused multiply-add the source did not write, no reordered sum. The one
 * exception is src/paths/marginal_field.c, compiled with -ffp-contract=fast (see
 * there): its clones may differ in the last bits, never run to run. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define FMD_VECTOR_LOOPS __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FMD_VECTOR_LOOPS
#endif

#endif
