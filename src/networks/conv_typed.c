/* conv_typed.c -- the typed half of conv.c: im2col, col2im, the 3 x 3
 * convolution, upsampling, and upsampling fused with the convolution after
 * it, written once for fmd_real (typed_begin.h); conv.c includes it for
 * float64 and for float32. */
#include "base/typed_begin.h"

FMD_VECTOR_LOOPS
void FMD_T(fmd_im2col)(size_t n, size_t h, size_t w, size_t c_in, size_t stride, const fmd_real *x, size_t p0, size_t p1,
                       fmd_real *cols)
{
    const size_t ho = fmd_conv_out_side(h, stride), wo = fmd_conv_out_side(w, stride), row = 9 * c_in;
    (void)n;
    size_t i = p0 / (ho * wo), oy = p0 / wo % ho, ox = p0 % wo;   /* p = (i ho + oy) wo + ox, counted up */
    for (size_t p = p0; p < p1; p++, next_pixel(ho, wo, &i, &oy, &ox)) {
        fmd_real *r = cols + (p - p0) * row;
        for (size_t ky = 0; ky < 3; ky++) {
            const size_t y = oy * stride + ky;   /* the input row, plus 1 */
            if (stride == 1 && ox >= 1 && ox + 1 < w && y >= 1 && y <= h) {
                /* an inside pixel: the row's three taps are 3 c_in contiguous numbers */
                const fmd_real *src = x + ((i * h + y - 1) * w + ox - 1) * c_in;
                fmd_real *dst = r + ky * 3 * c_in;
                for (size_t c = 0; c < 3 * c_in; c++)
                    dst[c] = src[c];
                continue;
            }
            for (size_t kx = 0; kx < 3; kx++) {
                fmd_real *dst = r + (ky * 3 + kx) * c_in;
                size_t iy, ix;
                /* loops, not memcpy: a call per 32 channels was 7% of a float32 step */
                if (tap(h, w, stride, oy, ox, ky, kx, &iy, &ix)) {
                    const fmd_real *src = x + ((i * h + iy) * w + ix) * c_in;
                    for (size_t c = 0; c < c_in; c++)
                        dst[c] = src[c];
                } else {
                    for (size_t c = 0; c < c_in; c++)
                        dst[c] = 0;
                }
            }
        }
    }
}

FMD_VECTOR_LOOPS
void FMD_T(fmd_col2im)(size_t n, size_t h, size_t w, size_t c_in, size_t stride, size_t p0, size_t p1,
                       const fmd_real *dcols, fmd_real *dx)
{
    const size_t ho = fmd_conv_out_side(h, stride), wo = fmd_conv_out_side(w, stride), row = 9 * c_in;
    (void)n;
    size_t i = p0 / (ho * wo), oy = p0 / wo % ho, ox = p0 % wo;   /* as in im2col */
    for (size_t p = p0; p < p1; p++, next_pixel(ho, wo, &i, &oy, &ox)) {
        const fmd_real *r = dcols + (p - p0) * row;
        for (size_t ky = 0; ky < 3; ky++) {
            const size_t y = oy * stride + ky;
            if (stride == 1 && ox >= 1 && ox + 1 < w && y >= 1 && y <= h) {   /* as in im2col */
                fmd_real *dst = dx + ((i * h + y - 1) * w + ox - 1) * c_in;
                const fmd_real *src = r + ky * 3 * c_in;
                for (size_t c = 0; c < 3 * c_in; c++)
                    dst[c] += src[c];
                continue;
            }
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
}

int FMD_T(fmd_conv3x3_forward)(size_t n, size_t h, size_t w, size_t c_in, size_t c_out, size_t stride, const fmd_real *x,
                               const fmd_real *W, const fmd_real *b, fmd_real *cols, fmd_real *y)
{
    if ((stride != 1 && stride != 2) || 9 * c_in > FMD_CONV_COLS)
        return FMD_EINVAL;
    const size_t P = n * fmd_conv_out_side(h, stride) * fmd_conv_out_side(w, stride), K = 9 * c_in;
    const size_t chunk = FMD_CONV_COLS / K;
    for (size_t p = 0; p < P; p++)   /* y = b, then y += cols W chunk by chunk */
        for (size_t c = 0; c < c_out; c++)
            y[p * c_out + c] = b[c];
    for (size_t p0 = 0; p0 < P; p0 += chunk) {
        const size_t p1 = p0 + chunk < P ? p0 + chunk : P;
        FMD_T(fmd_im2col)(n, h, w, c_in, stride, x, p0, p1, cols);
        fmd_gemm_real(0, 0, p1 - p0, c_out, K, 1.0, cols, K, W, c_out, 1.0, y + p0 * c_out, c_out);
    }
    return FMD_OK;
}

int FMD_T(fmd_conv3x3_backward)(size_t n, size_t h, size_t w, size_t c_in, size_t c_out, size_t stride, const fmd_real *x,
                                const fmd_real *W, const fmd_real *dy, fmd_real *dW, fmd_real *db, fmd_real *cols,
                                fmd_real *dcols, fmd_real *dx)
{
    if ((stride != 1 && stride != 2) || 9 * c_in > FMD_CONV_COLS)
        return FMD_EINVAL;
    const size_t P = n * fmd_conv_out_side(h, stride) * fmd_conv_out_side(w, stride), K = 9 * c_in;
    const size_t chunk = FMD_CONV_COLS / K;
    for (size_t p = 0; p < P; p++)
        for (size_t c = 0; c < c_out; c++)
            db[c] += dy[p * c_out + c];
    /* at stride 1, dx is a convolution of dy (below); else dcols = dy W^T, put back by col2im */
    const int by_transpose = stride == 1 && 9 * c_out <= FMD_CONV_COLS && 9 * c_in * c_out <= FMD_CONV_COLS;
    if (dx && !by_transpose)
        memset(dx, 0, n * h * w * c_in * sizeof(fmd_real));
    for (size_t p0 = 0; p0 < P; p0 += chunk) {
        const size_t p1 = p0 + chunk < P ? p0 + chunk : P;
        const fmd_real *dyc = dy + p0 * c_out;
        FMD_T(fmd_im2col)(n, h, w, c_in, stride, x, p0, p1, cols);   /* the patches again, not kept */
        fmd_gemm_real(1, 0, K, c_out, p1 - p0, 1.0, cols, K, dyc, c_out, 1.0, dW, c_out);   /* dW += cols^T dy */
        if (!dx || by_transpose)
            continue;
        fmd_gemm_real(0, 1, p1 - p0, K, c_out, 1.0, dyc, c_out, W, c_out, 0.0, dcols, K);   /* dcols = dy W^T */
        FMD_T(fmd_col2im)(n, h, w, c_in, stride, p0, p1, dcols, dx);
    }
    if (!dx || !by_transpose)
        return FMD_OK;
    /* Stride 1: x's pixel q reaches output q - (ky - 1, kx - 1) through tap
     * (ky, kx), so dx(q) = sum over taps of dy(q + (1 - ky, 1 - kx)) W_tap^T:
     * the 3 x 3 convolution of dy by the flipped, transposed taps
     *     Wt row (t c_out + co), column ci = W row ((8 - t) c_in + ci), column co,
     * zero padding included (dy is 0 outside the image). Its patches are
     * 9 c_out wide, its product as long as the forward's: cheaper than
     * dcols = dy W^T (9 c_in wide) added back by col2im. Wt lives in dcols. */
    fmd_real *Wt = dcols;
    for (size_t t = 0; t < 9; t++)
        for (size_t co = 0; co < c_out; co++)
            for (size_t ci = 0; ci < c_in; ci++)
                Wt[(t * c_out + co) * c_in + ci] = W[((8 - t) * c_in + ci) * c_out + co];
    const size_t Kt = 9 * c_out, chunk_t = FMD_CONV_COLS / Kt;
    for (size_t p0 = 0; p0 < P; p0 += chunk_t) {
        const size_t p1 = p0 + chunk_t < P ? p0 + chunk_t : P;
        FMD_T(fmd_im2col)(n, h, w, c_out, 1, dy, p0, p1, cols);
        fmd_gemm_real(0, 0, p1 - p0, c_in, Kt, 1.0, cols, Kt, Wt, c_in, 0.0, dx + p0 * c_in, c_in);
    }
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

/* ---- nearest-neighbour upsampling by 2, then a 3 x 3 convolution, in one ----
 * The upsampled map repeats each pixel of x in a 2 x 2 block, so the 3 x 3
 * window of output pixel (2i + a, 2j + e) covers only 2 x 2 distinct pixels
 * of x: rows i - 1 + a + r and columns j - 1 + e + c, r, c in {0, 1} (tap
 * ky falls on r = sub_tap(a, ky), conv.c). Each of the four output parities
 * (a, e) is a 2 x 2 convolution of x by the taps of W summed onto the four
 * it reaches: 4 c_in multiply-adds an output instead of 9 c_in, on maps a
 * quarter the size -- the "sub-pixel" form of the same function. */

/* rows [p0, p1) of parity (a, e)'s patch matrix (n h w, 4 c_in) of x (n, h, w, c_in) */
FMD_VECTOR_LOOPS
static void FMD_T(patches2)(size_t h, size_t w, size_t c_in, size_t a, size_t e, const fmd_real *x, size_t p0,
                            size_t p1, fmd_real *cols)
{
    size_t i = p0 / (h * w), y = p0 / w % h, xx = p0 % w;   /* image, row, column of small-map pixel p */
    for (size_t p = p0; p < p1; p++, next_pixel(h, w, &i, &y, &xx)) {
        fmd_real *row = cols + (p - p0) * 4 * c_in;
        for (size_t r = 0; r < 2; r++)
            for (size_t c = 0; c < 2; c++) {
                const long sy = (long)(y + a + r) - 1, sx = (long)(xx + e + c) - 1;
                fmd_real *dst = row + (r * 2 + c) * c_in;
                const int inside = sy >= 0 && sx >= 0 && sy < (long)h && sx < (long)w;
                const fmd_real *src = inside ? x + ((i * h + (size_t)sy) * w + (size_t)sx) * c_in : NULL;
                for (size_t k = 0; k < c_in; k++)
                    dst[k] = inside ? src[k] : 0;
            }
    }
}

/* dx (n, h, w, c_in) += rows [p0, p1) of a parity's patch matrix put back */
FMD_VECTOR_LOOPS
static void FMD_T(patches2_back)(size_t h, size_t w, size_t c_in, size_t a, size_t e, const fmd_real *dcols,
                                 size_t p0, size_t p1, fmd_real *dx)
{
    size_t i = p0 / (h * w), y = p0 / w % h, xx = p0 % w;
    for (size_t p = p0; p < p1; p++, next_pixel(h, w, &i, &y, &xx)) {
        const fmd_real *row = dcols + (p - p0) * 4 * c_in;
        for (size_t r = 0; r < 2; r++)
            for (size_t c = 0; c < 2; c++) {
                const long sy = (long)(y + a + r) - 1, sx = (long)(xx + e + c) - 1;
                if (sy < 0 || sx < 0 || sy >= (long)h || sx >= (long)w)
                    continue;
                fmd_real *dst = dx + ((i * h + (size_t)sy) * w + (size_t)sx) * c_in;
                const fmd_real *src = row + (r * 2 + c) * c_in;
                for (size_t k = 0; k < c_in; k++)
                    dst[k] += src[k];
            }
    }
}

/* Wp (4, 4 c_in, c_out): parity q = 2a + e's 2 x 2 taps, W's taps summed */
static void FMD_T(parity_taps)(size_t c_in, size_t c_out, const fmd_real *W, fmd_real *Wp)
{
    memset(Wp, 0, 16 * c_in * c_out * sizeof(fmd_real));
    for (size_t q = 0; q < 4; q++)
        for (size_t ky = 0; ky < 3; ky++)
            for (size_t kx = 0; kx < 3; kx++) {
                const size_t t = sub_tap(q / 2, ky) * 2 + sub_tap(q % 2, kx);
                fmd_real *dst = Wp + (q * 4 + t) * c_in * c_out;
                const fmd_real *src = W + (ky * 3 + kx) * c_in * c_out;
                for (size_t k = 0; k < c_in * c_out; k++)
                    dst[k] += src[k];
            }
}

int FMD_T(fmd_upconv_forward)(size_t n, size_t h, size_t w, size_t c_in, size_t c_out, const fmd_real *x,
                              const fmd_real *W, const fmd_real *b, fmd_real *cols, fmd_real *y)
{
    const size_t K = 4 * c_in, P = n * h * w;
    if (K > FMD_CONV_COLS)
        return FMD_EINVAL;
    const size_t chunk = FMD_CONV_COLS / K;
    fmd_real *Wp = malloc(16 * c_in * c_out * sizeof(fmd_real)), *tmp = malloc(chunk * c_out * sizeof(fmd_real));
    if (!Wp || !tmp) {
        free(Wp), free(tmp);
        return FMD_ENOMEM;
    }
    FMD_T(parity_taps)(c_in, c_out, W, Wp);
    for (size_t q = 0; q < 4; q++)
        for (size_t p0 = 0; p0 < P; p0 += chunk) {
            const size_t p1 = p0 + chunk < P ? p0 + chunk : P;
            FMD_T(patches2)(h, w, c_in, q / 2, q % 2, x, p0, p1, cols);
            fmd_gemm_real(0, 0, p1 - p0, c_out, K, 1.0, cols, K, Wp + q * K * c_out, c_out, 0.0, tmp, c_out);
            size_t i = p0 / (h * w), yy = p0 / w % h, xx = p0 % w;   /* out to pixel (2 yy + a, 2 xx + e) */
            for (size_t p = p0; p < p1; p++, next_pixel(h, w, &i, &yy, &xx)) {
                fmd_real *dst = y + ((i * 2 * h + 2 * yy + q / 2) * 2 * w + 2 * xx + q % 2) * c_out;
                for (size_t co = 0; co < c_out; co++)
                    dst[co] = tmp[(p - p0) * c_out + co] + b[co];
            }
        }
    free(Wp), free(tmp);
    return FMD_OK;
}

int FMD_T(fmd_upconv_backward)(size_t n, size_t h, size_t w, size_t c_in, size_t c_out, const fmd_real *x,
                               const fmd_real *W, const fmd_real *dy, fmd_real *dW, fmd_real *db, fmd_real *cols,
                               fmd_real *dcols, fmd_real *dx)
{
    const size_t K = 4 * c_in, P = n * h * w;
    if (K > FMD_CONV_COLS)
        return FMD_EINVAL;
    const size_t chunk = FMD_CONV_COLS / K;
    fmd_real *Wp = malloc(16 * c_in * c_out * sizeof(fmd_real)), *dWp = calloc(16 * c_in * c_out, sizeof(fmd_real));
    fmd_real *tmp = malloc(chunk * c_out * sizeof(fmd_real));
    if (!Wp || !dWp || !tmp) {
        free(Wp), free(dWp), free(tmp);
        return FMD_ENOMEM;
    }
    FMD_T(parity_taps)(c_in, c_out, W, Wp);
    for (size_t p = 0; p < 4 * P; p++)
        for (size_t co = 0; co < c_out; co++)
            db[co] += dy[p * c_out + co];
    if (dx)
        memset(dx, 0, P * c_in * sizeof(fmd_real));
    for (size_t q = 0; q < 4; q++)
        for (size_t p0 = 0; p0 < P; p0 += chunk) {
            const size_t p1 = p0 + chunk < P ? p0 + chunk : P;
            size_t i = p0 / (h * w), yy = p0 / w % h, xx = p0 % w;   /* dy of parity q's pixels, gathered */
            for (size_t p = p0; p < p1; p++, next_pixel(h, w, &i, &yy, &xx)) {
                const fmd_real *src = dy + ((i * 2 * h + 2 * yy + q / 2) * 2 * w + 2 * xx + q % 2) * c_out;
                for (size_t co = 0; co < c_out; co++)
                    tmp[(p - p0) * c_out + co] = src[co];
            }
            FMD_T(patches2)(h, w, c_in, q / 2, q % 2, x, p0, p1, cols);
            fmd_gemm_real(1, 0, K, c_out, p1 - p0, 1.0, cols, K, tmp, c_out, 1.0, dWp + q * K * c_out, c_out);
            if (!dx)
                continue;
            fmd_gemm_real(0, 1, p1 - p0, K, c_out, 1.0, tmp, c_out, Wp + q * K * c_out, c_out, 0.0, dcols, K);
            FMD_T(patches2_back)(h, w, c_in, q / 2, q % 2, dcols, p0, p1, dx);
        }
    for (size_t q = 0; q < 4; q++)   /* each tap of W reached one of each parity's four */
        for (size_t ky = 0; ky < 3; ky++)
            for (size_t kx = 0; kx < 3; kx++) {
                const size_t t = sub_tap(q / 2, ky) * 2 + sub_tap(q % 2, kx);
                const fmd_real *src = dWp + (q * 4 + t) * c_in * c_out;
                fmd_real *dst = dW + (ky * 3 + kx) * c_in * c_out;
                for (size_t k = 0; k < c_in * c_out; k++)
                    dst[k] += src[k];
            }
    free(Wp), free(dWp), free(tmp);
    return FMD_OK;
}

#include "base/typed_end.h"
