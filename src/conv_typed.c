/* conv_typed.c -- the typed half of conv.c: im2col, col2im, the 3 x 3
 * convolution and upsampling, written once for fmd_real (typed_begin.h);
 * conv.c includes it for float64 and for float32. */
#include "typed_begin.h"

void FMD_T(fmd_im2col)(size_t n, size_t h, size_t w, size_t c_in, size_t stride, const fmd_real *x, fmd_real *cols)
{
    const size_t ho = fmd_conv_out_side(h, stride), wo = fmd_conv_out_side(w, stride), row = 9 * c_in;
    for (size_t i = 0; i < n; i++)
        for (size_t oy = 0; oy < ho; oy++)
            for (size_t ox = 0; ox < wo; ox++) {
                fmd_real *r = cols + ((i * ho + oy) * wo + ox) * row;
                for (size_t ky = 0; ky < 3; ky++)
                    for (size_t kx = 0; kx < 3; kx++) {
                        fmd_real *dst = r + (ky * 3 + kx) * c_in;
                        size_t iy, ix;
                        if (tap(h, w, stride, oy, ox, ky, kx, &iy, &ix))
                            memcpy(dst, x + ((i * h + iy) * w + ix) * c_in, c_in * sizeof(fmd_real));
                        else
                            memset(dst, 0, c_in * sizeof(fmd_real));
                    }
            }
}

void FMD_T(fmd_col2im)(size_t n, size_t h, size_t w, size_t c_in, size_t stride, const fmd_real *dcols, fmd_real *dx)
{
    const size_t ho = fmd_conv_out_side(h, stride), wo = fmd_conv_out_side(w, stride), row = 9 * c_in;
    for (size_t i = 0; i < n; i++)
        for (size_t oy = 0; oy < ho; oy++)
            for (size_t ox = 0; ox < wo; ox++) {
                const fmd_real *r = dcols + ((i * ho + oy) * wo + ox) * row;
                for (size_t ky = 0; ky < 3; ky++)
                    for (size_t kx = 0; kx < 3; kx++) {
                        size_t iy, ix;
                        if (!tap(h, w, stride, oy, ox, ky, kx, &iy, &ix))
                            continue;
                        fmd_real *dst = dx + ((i * h + iy) * w + ix) * c_in;
                        const fmd_real *src = r + (ky * 3 + kx) * c_in;
                        for (size_t c = 0; c < c_in; c++)
                            dst[c] += src[c];
                    }
            }
}

int FMD_T(fmd_conv3x3_forward)(size_t n, size_t h, size_t w, size_t c_in, size_t c_out, size_t stride, const fmd_real *x,
                        const fmd_real *W, const fmd_real *b, fmd_real *cols, fmd_real *y)
{
    if (stride != 1 && stride != 2)
        return FMD_EINVAL;
    const size_t P = n * fmd_conv_out_side(h, stride) * fmd_conv_out_side(w, stride);
    FMD_T(fmd_im2col)(n, h, w, c_in, stride, x, cols);
    for (size_t p = 0; p < P; p++)   /* y = b, then y += cols W */
        memcpy(y + p * c_out, b, c_out * sizeof(fmd_real));
    fmd_gemm_real(0, 0, P, c_out, 9 * c_in, 1.0, cols, 9 * c_in, W, c_out, 1.0, y, c_out);
    return FMD_OK;
}

int FMD_T(fmd_conv3x3_backward)(size_t n, size_t h, size_t w, size_t c_in, size_t c_out, size_t stride, const fmd_real *cols,
                         const fmd_real *W, const fmd_real *dy, fmd_real *dW, fmd_real *db, fmd_real *dcols, fmd_real *dx)
{
    if (stride != 1 && stride != 2)
        return FMD_EINVAL;
    const size_t P = n * fmd_conv_out_side(h, stride) * fmd_conv_out_side(w, stride);
    fmd_gemm_real(1, 0, 9 * c_in, c_out, P, 1.0, cols, 9 * c_in, dy, c_out, 1.0, dW, c_out);   /* dW += cols^T dy */
    for (size_t p = 0; p < P; p++)
        for (size_t c = 0; c < c_out; c++)
            db[c] += dy[p * c_out + c];
    if (!dx)
        return FMD_OK;
    fmd_gemm_real(0, 1, P, 9 * c_in, c_out, 1.0, dy, c_out, W, c_out, 0.0, dcols, 9 * c_in);   /* dcols = dy W^T */
    memset(dx, 0, n * h * w * c_in * sizeof(fmd_real));
    FMD_T(fmd_col2im)(n, h, w, c_in, stride, dcols, dx);
    return FMD_OK;
}

void FMD_T(fmd_upsample2_forward)(size_t n, size_t h, size_t w, size_t c, const fmd_real *x, fmd_real *y)
{
    for (size_t i = 0; i < n; i++)
        for (size_t a = 0; a < 2 * h; a++)
            for (size_t bx = 0; bx < 2 * w; bx++)
                memcpy(y + ((i * 2 * h + a) * 2 * w + bx) * c, x + ((i * h + a / 2) * w + bx / 2) * c, c * sizeof(fmd_real));
}

void FMD_T(fmd_upsample2_backward)(size_t n, size_t h, size_t w, size_t c, const fmd_real *dy, fmd_real *dx)
{
    memset(dx, 0, n * h * w * c * sizeof(fmd_real));
    for (size_t i = 0; i < n; i++)
        for (size_t a = 0; a < 2 * h; a++)
            for (size_t bx = 0; bx < 2 * w; bx++) {
                const fmd_real *src = dy + ((i * 2 * h + a) * 2 * w + bx) * c;
                fmd_real *dst = dx + ((i * h + a / 2) * w + bx / 2) * c;
                for (size_t k = 0; k < c; k++)
                    dst[k] += src[k];
            }
}

#include "typed_end.h"
