/* conv_typed.h -- conv.h's typed declarations, included twice by conv.h
 * (float64, then float32 with the suffix _f32; see typed_begin.h). */
#include "base/typed_begin.h"

/* Rows [p0, p1) of the patch matrix (n Ho Wo, 9 c_in) of x (n, h, w,
 * c_in) into cols (p1 - p0, 9 c_in): the 3 x 3 patches, zeros outside the
 * image. */
void FMD_T(fmd_im2col)(size_t n, size_t h, size_t w, size_t c_in, size_t stride, const fmd_real *x, size_t p0, size_t p1,
                       fmd_real *cols);

/* dx (n, h, w, c_in) += rows [p0, p1) of a patch matrix, dcols (p1 - p0,
 * 9 c_in), put back where they came from. */
void FMD_T(fmd_col2im)(size_t n, size_t h, size_t w, size_t c_in, size_t stride, size_t p0, size_t p1,
                       const fmd_real *dcols, fmd_real *dx);

/* y (n, Ho, Wo, c_out) = conv3x3(x) + b; cols is scratch of FMD_CONV_COLS
 * numbers. FMD_EINVAL for a stride other than 1 or 2, or 9 c_in >
 * FMD_CONV_COLS. */
int FMD_T(fmd_conv3x3_forward)(size_t n, size_t h, size_t w, size_t c_in, size_t c_out, size_t stride, const fmd_real *x,
                               const fmd_real *W, const fmd_real *b, fmd_real *cols, fmd_real *y);

/* For x the forward's input: dW (9 c_in, c_out) += d loss / d W, db
 * (c_out) += d loss / d b, and, if dx is not NULL, dx (n, h, w, c_in) =
 * d loss / d x, for dy (n, Ho, Wo, c_out) = d loss / d y. cols and dcols
 * are scratch of FMD_CONV_COLS numbers each. */
int FMD_T(fmd_conv3x3_backward)(size_t n, size_t h, size_t w, size_t c_in, size_t c_out, size_t stride, const fmd_real *x,
                                const fmd_real *W, const fmd_real *dy, fmd_real *dW, fmd_real *db, fmd_real *cols,
                                fmd_real *dcols, fmd_real *dx);

/* Nearest-neighbour upsampling by 2: y (n, 2h, 2w, c), each pixel copied to
 * a 2 x 2 block; backward sums the block's four gradients. */
void FMD_T(fmd_upsample2_forward)(size_t n, size_t h, size_t w, size_t c, const fmd_real *x, fmd_real *y);
void FMD_T(fmd_upsample2_backward)(size_t n, size_t h, size_t w, size_t c, const fmd_real *dy, fmd_real *dx);

/* y (n, 2h, 2w, c_out) = conv3x3(upsample2(x)) + b for x (n, h, w, c_in),
 * without the upsampled map: each output parity a 2 x 2 convolution of x
 * (the sub-pixel form; 4/9 of the multiply-adds). cols is scratch of
 * FMD_CONV_COLS numbers. FMD_EINVAL if 4 c_in > FMD_CONV_COLS, FMD_ENOMEM. */
int FMD_T(fmd_upconv_forward)(size_t n, size_t h, size_t w, size_t c_in, size_t c_out, const fmd_real *x,
                              const fmd_real *W, const fmd_real *b, fmd_real *cols, fmd_real *y);

/* Its backward, for x the forward's input: dW (9 c_in, c_out) += d loss /
 * d W, db += d loss / d b, and, if dx is not NULL, dx (n, h, w, c_in) =
 * d loss / d x, for dy (n, 2h, 2w, c_out). cols, dcols: FMD_CONV_COLS each. */
int FMD_T(fmd_upconv_backward)(size_t n, size_t h, size_t w, size_t c_in, size_t c_out, const fmd_real *x,
                               const fmd_real *W, const fmd_real *dy, fmd_real *dW, fmd_real *db, fmd_real *cols,
                               fmd_real *dcols, fmd_real *dx);

#include "base/typed_end.h"
