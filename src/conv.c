/* conv.c -- 3 x 3 convolution by im2col and BLIS, and nearest-neighbour
 * upsampling (conv.h). */
#include "conv.h"
#include "matmul.h"
#include "status.h"

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

void fmd_im2col(size_t n, size_t h, size_t w, size_t c_in, size_t stride, const double *x, double *cols)
{
    const size_t ho = fmd_conv_out_side(h, stride), wo = fmd_conv_out_side(w, stride), row = 9 * c_in;
    for (size_t i = 0; i < n; i++)
        for (size_t oy = 0; oy < ho; oy++)
            for (size_t ox = 0; ox < wo; ox++) {
                double *r = cols + ((i * ho + oy) * wo + ox) * row;
                for (size_t ky = 0; ky < 3; ky++)
                    for (size_t kx = 0; kx < 3; kx++) {
                        double *dst = r + (ky * 3 + kx) * c_in;
                        size_t iy, ix;
                        if (tap(h, w, stride, oy, ox, ky, kx, &iy, &ix))
                            memcpy(dst, x + ((i * h + iy) * w + ix) * c_in, c_in * sizeof(double));
                        else
                            memset(dst, 0, c_in * sizeof(double));
                    }
            }
}

void fmd_col2im(size_t n, size_t h, size_t w, size_t c_in, size_t stride, const double *dcols, double *dx)
{
    const size_t ho = fmd_conv_out_side(h, stride), wo = fmd_conv_out_side(w, stride), row = 9 * c_in;
    for (size_t i = 0; i < n; i++)
        for (size_t oy = 0; oy < ho; oy++)
            for (size_t ox = 0; ox < wo; ox++) {
                const double *r = dcols + ((i * ho + oy) * wo + ox) * row;
                for (size_t ky = 0; ky < 3; ky++)
                    for (size_t kx = 0; kx < 3; kx++) {
                        size_t iy, ix;
                        if (!tap(h, w, stride, oy, ox, ky, kx, &iy, &ix))
                            continue;
                        double *dst = dx + ((i * h + iy) * w + ix) * c_in;
                        const double *src = r + (ky * 3 + kx) * c_in;
                        for (size_t c = 0; c < c_in; c++)
                            dst[c] += src[c];
                    }
            }
}

int fmd_conv3x3_forward(size_t n, size_t h, size_t w, size_t c_in, size_t c_out, size_t stride, const double *x,
                        const double *W, const double *b, double *cols, double *y)
{
    if (stride != 1 && stride != 2)
        return FMD_EINVAL;
    const size_t P = n * fmd_conv_out_side(h, stride) * fmd_conv_out_side(w, stride);
    fmd_im2col(n, h, w, c_in, stride, x, cols);
    for (size_t p = 0; p < P; p++)   /* y = b, then y += cols W */
        memcpy(y + p * c_out, b, c_out * sizeof(double));
    fmd_gemm(0, 0, P, c_out, 9 * c_in, 1.0, cols, 9 * c_in, W, c_out, 1.0, y, c_out);
    return FMD_OK;
}

int fmd_conv3x3_backward(size_t n, size_t h, size_t w, size_t c_in, size_t c_out, size_t stride, const double *cols,
                         const double *W, const double *dy, double *dW, double *db, double *dcols, double *dx)
{
    if (stride != 1 && stride != 2)
        return FMD_EINVAL;
    const size_t P = n * fmd_conv_out_side(h, stride) * fmd_conv_out_side(w, stride);
    fmd_gemm(1, 0, 9 * c_in, c_out, P, 1.0, cols, 9 * c_in, dy, c_out, 1.0, dW, c_out);   /* dW += cols^T dy */
    for (size_t p = 0; p < P; p++)
        for (size_t c = 0; c < c_out; c++)
            db[c] += dy[p * c_out + c];
    if (!dx)
        return FMD_OK;
    fmd_gemm(0, 1, P, 9 * c_in, c_out, 1.0, dy, c_out, W, c_out, 0.0, dcols, 9 * c_in);   /* dcols = dy W^T */
    memset(dx, 0, n * h * w * c_in * sizeof(double));
    fmd_col2im(n, h, w, c_in, stride, dcols, dx);
    return FMD_OK;
}

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

void fmd_upsample2_forward(size_t n, size_t h, size_t w, size_t c, const double *x, double *y)
{
    for (size_t i = 0; i < n; i++)
        for (size_t a = 0; a < 2 * h; a++)
            for (size_t bx = 0; bx < 2 * w; bx++)
                memcpy(y + ((i * 2 * h + a) * 2 * w + bx) * c, x + ((i * h + a / 2) * w + bx / 2) * c, c * sizeof(double));
}

void fmd_upsample2_backward(size_t n, size_t h, size_t w, size_t c, const double *dy, double *dx)
{
    memset(dx, 0, n * h * w * c * sizeof(double));
    for (size_t i = 0; i < n; i++)
        for (size_t a = 0; a < 2 * h; a++)
            for (size_t bx = 0; bx < 2 * w; bx++) {
                const double *src = dy + ((i * 2 * h + a) * 2 * w + bx) * c;
                double *dst = dx + ((i * h + a / 2) * w + bx / 2) * c;
                for (size_t k = 0; k < c; k++)
                    dst[k] += src[k];
            }
}
