/* conv.c -- 3 x 3 convolution by im2col and BLIS, and nearest-neighbour
 * upsampling (conv.h). */
#include "networks/conv.h"
#include "base/matmul.h"
#include "base/status.h"
#include "base/vecmath.h"

#include <stdlib.h>
#include <string.h>

size_t fmd_conv_out_side(size_t h, size_t stride)
{
    return (h + 2 - 3) / stride + 1;
}

/* The input pixel (iy, ix) under tap (ky, kx) of output pixel (oy, ox), or
 * 0 if it lies in the zero padding. */
static int tap(size_t h, size_t w, size_t stride, size_t oy, size_t ox, size_t ky, size_t kx, size_t *iy, size_t *ix)
{
    const long y = (long)(oy * stride + ky) - 1, x = (long)(ox * stride + kx) - 1;
    if (y < 0 || x < 0 || y >= (long)h || x >= (long)w)
        return 0;
    *iy = (size_t)y, *ix = (size_t)x;
    return 1;
}

/* Output pixel p = (i ho + oy) wo + ox to p + 1, counted up: dividing p
 * for its indices at every pixel cost im2col a third of its time. */
static inline void next_pixel(size_t ho, size_t wo, size_t *i, size_t *oy, size_t *ox)
{
    if (++*ox < wo)
        return;
    *ox = 0;
    if (++*oy < ho)
        return;
    *oy = 0;
    ++*i;
}

/* The row (or column) r in {0, 1} of a 2 x 2 sub-pixel kernel that tap k
 * in {0, 1, 2} of a 3 x 3 kernel falls on, for output parity a in {0, 1}
 * of an upsampled map (fmd_upconv_forward): floor((a + k - 1) / 2) + 1 - a. */
static inline size_t sub_tap(size_t a, size_t k)
{
    return (a + k + 1) / 2 - a;
}

#define FMD_TYPED_F32 0
#include "networks/conv_typed.c"
#define FMD_TYPED_F32 1
#include "networks/conv_typed.c"

void fmd_conv3x3_naive(size_t n, size_t h, size_t w, size_t c_in, size_t c_out, size_t stride, const double *x,
                       const double *W, const double *b, double *y)
{
    const size_t ho = fmd_conv_out_side(h, stride), wo = fmd_conv_out_side(w, stride);
    for (size_t i = 0; i < n; i++)
        for (size_t oy = 0; oy < ho; oy++)
            for (size_t ox = 0; ox < wo; ox++)
                for (size_t co = 0; co < c_out; co++) {
                    double s = b[co];
                    for (size_t ky = 0; ky < 3; ky++)
                        for (size_t kx = 0; kx < 3; kx++) {
                            size_t iy, ix;
                            if (!tap(h, w, stride, oy, ox, ky, kx, &iy, &ix))
                                continue;
                            for (size_t ci = 0; ci < c_in; ci++)
                                s += W[((ky * 3 + kx) * c_in + ci) * c_out + co] * x[((i * h + iy) * w + ix) * c_in + ci];
                        }
                    y[((i * ho + oy) * wo + ox) * c_out + co] = s;
                }
}
