/* groupnorm_typed.h -- groupnorm.h's typed declarations, included twice
 * (float64, then float32 with the suffix _f32; see typed_begin.h). */
#include "base/typed_begin.h"

/* y (n, hw, c) from x; xhat (n, hw, c) and inv_std (n, groups) are kept
 * for backward. FMD_EINVAL unless groups divides c. */
int FMD_T(fmd_groupnorm_forward)(size_t n, size_t hw, size_t c, size_t groups, const fmd_real *x, const fmd_real *gamma,
                          const fmd_real *beta, fmd_real *xhat, fmd_real *inv_std, fmd_real *y);

/* dx (n, hw, c) = d loss / d x; dgamma, dbeta (c) += their gradients. */
int FMD_T(fmd_groupnorm_backward)(size_t n, size_t hw, size_t c, size_t groups, const fmd_real *xhat, const fmd_real *inv_std,
                           const fmd_real *gamma, const fmd_real *dy, fmd_real *dgamma, fmd_real *dbeta, fmd_real *dx);

#include "base/typed_end.h"
