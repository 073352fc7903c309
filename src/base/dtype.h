/* dtype.h -- the two number types a network may compute in.
 *
 * float64 is fmd's default and its reference everywhere; a trained model may
 * instead keep its weights, activations and Adam state in float32, which
 * halves memory traffic and doubles the width of every vector instruction
 * (BLIS's sgemm runs at twice dgemm's rate here). What is measured about a
 * model -- losses, their standard errors, exact-oracle comparisons -- stays
 * float64 whatever the model's type. */
#ifndef FMD_DTYPE_H
#define FMD_DTYPE_H

#include <stddef.h>

typedef enum { FMD_F64 = 0, FMD_F32 = 1 } fmd_dtype;

/* bytes per number */
static inline size_t fmd_dtype_size(fmd_dtype t) { return t == FMD_F32 ? sizeof(float) : sizeof(double); }

/* "f64" / "f32", as the command line spells them */
static inline const char *fmd_dtype_name(fmd_dtype t) { return t == FMD_F32 ? "f32" : "f64"; }

#endif
