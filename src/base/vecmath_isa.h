/* vecmath_isa.h -- SLEEF's variants behind vecmath.h, one per instruction
 * set, each in a file compiled for it (vecmath_avx512.c, vecmath_avx2.c).
 * Call one only on a CPU that has its instructions; vecmath.c chooses, and
 * verify/test_vecmath.c compares them. */
#ifndef FMD_VECMATH_ISA_H
#define FMD_VECMATH_ISA_H

#include <stddef.h>

void fmd_vexp_avx512(size_t n, const double *x, double *y);
void fmd_vexpf_avx512(size_t n, const float *x, float *y);
void fmd_vlog_avx512(size_t n, const double *x, double *y);
void fmd_vexp_avx2(size_t n, const double *x, double *y);
void fmd_vexpf_avx2(size_t n, const float *x, float *y);
void fmd_vlog_avx2(size_t n, const double *x, double *y);

#endif
