/* winograd_typed.h -- winograd.h's typed declarations, included twice
 * (float64, then float32 with the suffix _f32; see typed_begin.h). */
#include "base/typed_begin.h"

/* y (n, h, w, c_out) = conv3x3(x (n, h, w, c_in)) + b at stride 1, padding
 * 1; W (9 c_in, c_out) as in conv.h. scratch: FMD_WINO_SCRATCH numbers.
 * FMD_EINVAL if fmd_winograd_chunk(c_in, c_out) is 0. */
int FMD_T(fmd_winograd_forward)(size_t n, size_t h, size_t w, size_t c_in, size_t c_out, const fmd_real *x,
                                const fmd_real *W, const fmd_real *b, fmd_real *scratch, fmd_real *y);

/* For x the forward's input: dW (9 c_in, c_out) += d loss / d W, db
 * (c_out) += d loss / d b, and, if dx is not NULL, dx (n, h, w, c_in) =
 * d loss / d x, for dy (n, h, w, c_out). scratch: FMD_WINO_SCRATCH numbers. */
int FMD_T(fmd_winograd_backward)(size_t n, size_t h, size_t w, size_t c_in, size_t c_out, const fmd_real *x,
                                 const fmd_real *W, const fmd_real *dy, fmd_real *dW, fmd_real *db, fmd_real *scratch,
                                 fmd_real *dx);

#include "base/typed_end.h"
