/* conv_typed.h -- conv.h's typed declarations, included twice by conv.h
 * (float64, then float32 with the suffix _f32; see typed_begin.h). */
#include "typed_begin.h"

/* cols (n Ho Wo, 9 c_in) from x (n, h, w, c_in): the 3 x 3 patches, zeros
 * outside the image. */
void FMD_T(fmd_im2col)(size_t n, size_t h, size_t w, size_t c_in, size_t stride, const fmd_real *x, fmd_real *cols);

/* dx (n, h, w, c_in) += the patches dcols put back where they came from. */
void FMD_T(fmd_col2im)(size_t n, size_t h, size_t w, size_t c_in, size_t stride, const fmd_real *dcols, fmd_real *dx);

/* y (n, Ho, Wo, c_out) = conv3x3(x) + b. cols (n Ho Wo, 9 c_in) is filled
 * (backward needs it). FMD_EINVAL for a stride other than 1 or 2. */
int FMD_T(fmd_conv3x3_forward)(size_t n, size_t h, size_t w, size_t c_in, size_t c_out, size_t stride, const fmd_real *x,
                        const fmd_real *W, const fmd_real *b, fmd_real *cols, fmd_real *y);

/* After forward (cols as it left it): dW (9 c_in, c_out) += d loss / d W,
 * db (c_out) += d loss / d b, and, if dx is not NULL, dx (n, h, w, c_in) =
 * d loss / d x, for dy (n, Ho, Wo, c_out) = d loss / d y. dcols is scratch
 * (n Ho Wo, 9 c_in). */
int FMD_T(fmd_conv3x3_backward)(size_t n, size_t h, size_t w, size_t c_in, size_t c_out, size_t stride, const fmd_real *cols,
                         const fmd_real *W, const fmd_real *dy, fmd_real *dW, fmd_real *db, fmd_real *dcols, fmd_real *dx);

/* Nearest-neighbour upsampling by 2: y (n, 2h, 2w, c), each pixel copied to
 * a 2 x 2 block; backward sums the block's four gradients. */
void FMD_T(fmd_upsample2_forward)(size_t n, size_t h, size_t w, size_t c, const fmd_real *x, fmd_real *y);
void FMD_T(fmd_upsample2_backward)(size_t n, size_t h, size_t w, size_t c, const fmd_real *dy, fmd_real *dx);

#include "typed_end.h"
