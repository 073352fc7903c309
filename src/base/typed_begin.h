/* typed_begin.h -- one routine written once, compiled for float64 and for
 * float32: how the U-Net's layers get their float32 path (issue 16).
 *
 * GSL writes its vector and matrix routines this way (templates_on.h): a
 * file of "typed" code is included twice by its module, each time between
 * this header and typed_end.h, first with FMD_TYPED_F32 defined as 0, then
 * as 1. Inside, the code writes
 *     fmd_real          double, then float
 *     FMD_T(name)       name, then name_f32 (fmd_conv3x3_forward_f32, ...)
 *     fmd_gemm_real     fmd_gemm, then fmd_gemm_f32 (BLIS's dgemm, sgemm)
 *     fmd_vexp_real     fmd_vexp, then fmd_vexpf (SLEEF's vector exp)
 *     fmd_exp_real      exp, then expf
 * so the float32 layer is the float64 one, line for line; the suite checks
 * them against each other (verify/test_unet.c). Sums over many numbers
 * (a group norm's mean and variance) are kept in double in both: they are
 * few beside the elementwise work, and float32 sums of 3000 numbers would
 * lose four digits. Headers declare their typed functions and structs the
 * same way, from a *_typed.h file included twice. */
#ifndef FMD_TYPED_F32
#error "define FMD_TYPED_F32 as 0 or 1 before including typed_begin.h"
#endif

#if FMD_TYPED_F32
#define fmd_real float
#define FMD_T(name) name##_f32
#define fmd_gemm_real fmd_gemm_f32
#define fmd_vexp_real fmd_vexpf
#define fmd_exp_real expf
#else
#define fmd_real double
#define FMD_T(name) name
#define fmd_gemm_real fmd_gemm
#define fmd_vexp_real fmd_vexp
#define fmd_exp_real exp
#endif
