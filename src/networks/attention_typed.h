/* attention_typed.h -- attention.h's typed struct and functions, included
 * twice (float64, then float32 with the suffix _f32; see typed_begin.h). */
#include "base/typed_begin.h"

typedef struct {
    size_t n_max, T;
    fmd_real *xhat, *is, *y;     /* GN */
    fmd_real *qkv;               /* (n, T, 3c) */
    fmd_real *A;                 /* (n, T, T) attention weights */
    fmd_real *O;                 /* (n, T, c) A V */
    fmd_real *dO, *dqkv, *dA, *dy;   /* backward scratch */
} FMD_T(fmd_attention_work);

int FMD_T(fmd_attention_work_alloc)(const fmd_attention *at, size_t n_max, size_t T, FMD_T(fmd_attention_work) **out);
void FMD_T(fmd_attention_work_free)(FMD_T(fmd_attention_work) *w);

/* out (n, T, c) from x (n, T, c). */
int FMD_T(fmd_attention_forward)(const fmd_attention *at, FMD_T(fmd_attention_work) *w, size_t n, size_t T, const fmd_real *params,
                          const fmd_real *x, fmd_real *out);

/* After forward: grad += d loss / d params, dx = d loss / d x, for dout. */
int FMD_T(fmd_attention_backward)(const fmd_attention *at, FMD_T(fmd_attention_work) *w, size_t n, size_t T, const fmd_real *params,
                           const fmd_real *dout, fmd_real *grad, fmd_real *dx);

#include "base/typed_end.h"
