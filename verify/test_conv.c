/* test_conv.c -- the U-Net's image layers (src/networks/conv.h, src/networks/groupnorm.h)
 * against direct loops and finite differences, in float64. Shapes are
 * deliberately odd (5 x 6 maps, 3 and 4 channels, stride 2 on odd sides) so
 * that a wrong index, a transposed weight or a lost border cannot pass by
 * symmetry. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "fmd.h"
#include "fd_check.h"
#include "networks/conv.h"
#include "networks/groupnorm.h"

enum { N = 2, H = 5, W = 6, CI = 3, CO = 4 };

static void fill(gsl_rng *r, size_t m, double *v)
{
    for (size_t i = 0; i < m; i++)
        v[i] = 2.0 * gsl_rng_uniform(r) - 1.0 + 0.137 * (double)(i % 7);
}

/* The im2col convolution (one BLIS product) equals the direct 3 x 3 sum, at
 * stride 1 and 2: both are sums of the same 9 c_in products, in different
 * orders, so they agree to rounding, 1e-13 (|y| ~ 3). */
Test(conv, im2col_product_equals_the_direct_sum)
{
    gsl_rng *r;
    fmd_rng_alloc(1601, 0, &r);
    static double x[N * H * W * CI], Wt[9 * CI * CO], b[CO], cols[FMD_CONV_COLS], y[N * H * W * CO],
        yref[N * H * W * CO];
    fill(r, sizeof x / sizeof x[0], x);
    fill(r, sizeof Wt / sizeof Wt[0], Wt);
    fill(r, CO, b);
    for (size_t stride = 1; stride <= 2; stride++) {
        const size_t ho = fmd_conv_out_side(H, stride), wo = fmd_conv_out_side(W, stride), m = N * ho * wo * CO;
        cr_assert_eq(ho, stride == 1 ? 5u : 3u);
        cr_assert_eq(fmd_conv3x3_forward(N, H, W, CI, CO, stride, x, Wt, b, cols, y), FMD_OK);
        fmd_conv3x3_naive(N, H, W, CI, CO, stride, x, Wt, b, yref);
        double worst = 0.0;
        for (size_t i = 0; i < m; i++)
            worst = fmax(worst, fabs(y[i] - yref[i]));
        cr_log_info("stride %zu: im2col %.15f, direct %.15f, max |diff| %.2e", stride, y[7], yref[7], worst);
        cr_expect(worst <= 1e-13, "stride %zu: max |im2col - direct| = %.3e > 1e-13", stride, worst);
    }
    cr_expect_eq(fmd_conv3x3_forward(N, H, W, CI, CO, 3, x, Wt, b, cols, y), FMD_EINVAL);
    gsl_rng_free(r);
}

/* With many channels the patches come a chunk of output pixels at a time
 * (FMD_CONV_COLS numbers): 64 input channels make 455-pixel chunks, so 2
 * images of 16 x 16 (512 output pixels) take a full chunk and a partial
 * one at stride 1 (one at stride 2). Forward equals the direct sum (1e-12:
 * sums of 576 products of size ~1); backward's two products are checked by
 * the identities of a linear map, each side computed independently, to
 * 1e-10 relative (each side a sum of some 10^5 products, rounded at
 * 1e-16 each, with cancellation between terms of both signs):
 *     y - b is linear in W:  <dW, W> = <dy, y - b>,
 *     y - b is linear in x:  <dx, x> = <dy, y - b>. */
Test(conv, chunked_patches_give_the_same_convolution)
{
    enum { CN = 2, CS = 16, CC = 64, CK = 5 };
    cr_assert(FMD_CONV_COLS / (9 * CC) < CN * CS * CS, "the test must span two chunks");
    gsl_rng *r;
    fmd_rng_alloc(1604, 0, &r);
    static double x[CN * CS * CS * CC], Wt[9 * CC * CK], b[CK], cols[FMD_CONV_COLS], dcols[FMD_CONV_COLS];
    static double y[CN * CS * CS * CK], yref[CN * CS * CS * CK], dy[CN * CS * CS * CK], dW[9 * CC * CK], db[CK];
    static double dx[CN * CS * CS * CC];
    fill(r, sizeof x / sizeof x[0], x);
    fill(r, sizeof Wt / sizeof Wt[0], Wt);
    fill(r, CK, b);
    for (size_t stride = 1; stride <= 2; stride++) {
        const size_t m = CN * fmd_conv_out_side(CS, stride) * fmd_conv_out_side(CS, stride) * CK;
        cr_assert_eq(fmd_conv3x3_forward(CN, CS, CS, CC, CK, stride, x, Wt, b, cols, y), FMD_OK);
        fmd_conv3x3_naive(CN, CS, CS, CC, CK, stride, x, Wt, b, yref);
        double worst = 0.0, scale = 0.0;
        for (size_t i = 0; i < m; i++)
            worst = fmax(worst, fabs(y[i] - yref[i])), scale = fmax(scale, fabs(yref[i]));
        cr_expect(worst <= 1e-12 * scale, "stride %zu: max |chunked - direct| = %.3e, |y| up to %.3g", stride, worst, scale);
        fill(r, m, dy);
        memset(dW, 0, sizeof dW), memset(db, 0, sizeof db);
        cr_assert_eq(fmd_conv3x3_backward(CN, CS, CS, CC, CK, stride, x, Wt, dy, dW, db, cols, dcols, dx), FMD_OK);
        double dy_y = 0.0, dW_W = 0.0, dx_x = 0.0;
        for (size_t i = 0; i < m; i++)
            dy_y += dy[i] * (y[i] - b[i % CK]);
        for (size_t i = 0; i < 9 * CC * CK; i++)
            dW_W += dW[i] * Wt[i];
        for (size_t i = 0; i < sizeof x / sizeof x[0]; i++)
            dx_x += dx[i] * x[i];
        cr_log_info("stride %zu: <dy, y - b> %.12g, <dW, W> %.12g, <dx, x> %.12g (relative %.1e, %.1e)", stride, dy_y,
                    dW_W, dx_x, fabs(dW_W - dy_y) / fabs(dy_y), fabs(dx_x - dy_y) / fabs(dy_y));
        cr_expect(fabs(dW_W - dy_y) <= 1e-10 * fabs(dy_y), "stride %zu: <dW, W> = %.15g, <dy, y - b> = %.15g",
                  stride, dW_W, dy_y);
        cr_expect(fabs(dx_x - dy_y) <= 1e-10 * fabs(dy_y), "stride %zu: <dx, x> = %.15g, <dy, y - b> = %.15g",
                  stride, dx_x, dy_y);
    }
    gsl_rng_free(r);
}

/* Upsampling then a 3 x 3 convolution, fused into four 2 x 2 convolutions of
 * the small map (fmd_upconv_forward, the sub-pixel form), against the two
 * layers run one after the other (each checked above): the same sums in
 * another grouping, so they agree to rounding -- 1e-13 on outputs of size
 * ~5, 1e-12 on gradients (sums over every pixel) -- for dW, db and dx too.
 * Odd sizes (3 x 4 maps, 5 and 3 channels) so a wrong parity or border
 * cannot pass by symmetry. */
Test(conv, fused_upsampling_convolution_equals_the_two_layers)
{
    enum { UN = 2, UH = 3, UW = 4, UC = 5, UK = 3, UP = UN * 4 * UH * UW };
    gsl_rng *r;
    fmd_rng_alloc(1605, 0, &r);
    static double x[UN * UH * UW * UC], Wt[9 * UC * UK], b[UK], up[UP * UC], y[UP * UK], yref[UP * UK], dy[UP * UK];
    static double dW[9 * UC * UK], db[UK], dx[UN * UH * UW * UC], dWr[9 * UC * UK], dbr[UK], dup[UP * UC];
    static double dxr[UN * UH * UW * UC], cols[FMD_CONV_COLS], dcols[FMD_CONV_COLS];
    fill(r, sizeof x / sizeof x[0], x);
    fill(r, sizeof Wt / sizeof Wt[0], Wt);
    fill(r, UK, b);
    fill(r, UP * UK, dy);
    cr_assert_eq(fmd_upconv_forward(UN, UH, UW, UC, UK, x, Wt, b, cols, y), FMD_OK);
    fmd_upsample2_forward(UN, UH, UW, UC, x, up);
    cr_assert_eq(fmd_conv3x3_forward(UN, 2 * UH, 2 * UW, UC, UK, 1, up, Wt, b, cols, yref), FMD_OK);
    double worst = 0.0;
    for (size_t i = 0; i < UP * UK; i++)
        worst = fmax(worst, fabs(y[i] - yref[i]));
    cr_log_info("forward: fused %.15f, two layers %.15f, max |diff| %.2e", y[17], yref[17], worst);
    cr_expect(worst <= 1e-13, "forward: max |fused - two layers| = %.3e", worst);
    memset(dW, 0, sizeof dW), memset(db, 0, sizeof db), memset(dWr, 0, sizeof dWr), memset(dbr, 0, sizeof dbr);
    cr_assert_eq(fmd_upconv_backward(UN, UH, UW, UC, UK, x, Wt, dy, dW, db, cols, dcols, dx), FMD_OK);
    cr_assert_eq(fmd_conv3x3_backward(UN, 2 * UH, 2 * UW, UC, UK, 1, up, Wt, dy, dWr, dbr, cols, dcols, dup), FMD_OK);
    fmd_upsample2_backward(UN, UH, UW, UC, dup, dxr);
    double wW = 0.0, wb = 0.0, wx = 0.0;
    for (size_t i = 0; i < 9 * UC * UK; i++)
        wW = fmax(wW, fabs(dW[i] - dWr[i]));
    for (size_t i = 0; i < UK; i++)
        wb = fmax(wb, fabs(db[i] - dbr[i]));
    for (size_t i = 0; i < UN * UH * UW * UC; i++)
        wx = fmax(wx, fabs(dx[i] - dxr[i]));
    cr_log_info("backward: max |diff| dW %.2e, db %.2e, dx %.2e", wW, wb, wx);
    cr_expect(wW <= 1e-12 && wb <= 1e-12 && wx <= 1e-12, "backward: dW %.3e, db %.3e, dx %.3e off", wW, wb, wx);
    gsl_rng_free(r);
}

/* L = sum (y - target)^2 / 2 is quadratic in W, in b and in x, so the
 * central difference [L(p + h) - L(p - h)] / 2h has no truncation error;
 * with h = 1e-3 its rounding is ~ eps |L| / h ~ 1e-11. Every entry of dW,
 * db and dx must agree to 1e-7 relative (floor 1e-9), at stride 1 and 2. */
static double conv_loss(size_t stride, const double *x, const double *Wt, const double *b, const double *target,
                        double *cols, double *y, double *dy)
{
    const size_t m = N * fmd_conv_out_side(H, stride) * fmd_conv_out_side(W, stride) * CO;
    fmd_conv3x3_forward(N, H, W, CI, CO, stride, x, Wt, b, cols, y);
    double L = 0.0;
    for (size_t i = 0; i < m; i++) {
        const double e = y[i] - target[i];
        L += 0.5 * e * e;
        if (dy)
            dy[i] = e;
    }
    return L;
}

static void check_entries(const char *what, size_t stride, size_t m, double *p, const double *analytic,
                          double (*loss)(void *), void *ctx)
{
    const double h = 1e-3;
    double worst = 0.0;
    for (size_t k = 0; k < m; k++) {
        const double keep = p[k];
        p[k] = keep + h;
        const double up = loss(ctx);
        p[k] = keep - h;
        const double down = loss(ctx);
        p[k] = keep;
        const double fd = (up - down) / (2.0 * h), err = fabs(fd - analytic[k]) / fmax(fabs(fd), 1e-2);
        worst = fmax(worst, err);
        cr_expect(fabs(fd - analytic[k]) <= 1e-7 * fabs(fd) + 1e-9, "%s, stride %zu, entry %zu: analytic %.12g, finite difference %.12g",
                  what, stride, k, analytic[k], fd);
    }
    cr_log_info("%s, stride %zu: %zu entries, worst relative difference %.2e", what, stride, m, worst);
}

typedef struct {
    size_t stride;
    double *x, *Wt, *b, *target, *cols, *y;
} conv_ctx;

static double conv_loss_ctx(void *p)
{
    conv_ctx *c = p;
    return conv_loss(c->stride, c->x, c->Wt, c->b, c->target, c->cols, c->y, NULL);
}

Test(conv, backward_matches_finite_differences)
{
    gsl_rng *r;
    fmd_rng_alloc(1602, 0, &r);
    static double x[N * H * W * CI], Wt[9 * CI * CO], b[CO], cols[FMD_CONV_COLS], y[N * H * W * CO],
        target[N * H * W * CO], dy[N * H * W * CO], dW[9 * CI * CO], db[CO], dcols[FMD_CONV_COLS], dx[N * H * W * CI];
    fill(r, sizeof x / sizeof x[0], x);
    fill(r, sizeof Wt / sizeof Wt[0], Wt);
    fill(r, CO, b);
    fill(r, sizeof target / sizeof target[0], target);
    for (size_t stride = 1; stride <= 2; stride++) {
        conv_loss(stride, x, Wt, b, target, cols, y, dy);
        memset(dW, 0, sizeof dW);
        memset(db, 0, sizeof db);
        cr_assert_eq(fmd_conv3x3_backward(N, H, W, CI, CO, stride, x, Wt, dy, dW, db, cols, dcols, dx), FMD_OK);
        conv_ctx c = {stride, x, Wt, b, target, cols, y};
        check_entries("dW", stride, 9 * CI * CO, Wt, dW, conv_loss_ctx, &c);
        check_entries("db", stride, CO, b, db, conv_loss_ctx, &c);
        check_entries("dx", stride, N * H * W * CI, x, dx, conv_loss_ctx, &c);
    }
    gsl_rng_free(r);
}

/* Nearest-neighbour upsampling and its backward are adjoint linear maps:
 * <up(x), v> = <x, up^T(v)> for any x, v, to rounding (1e-13, sums of ~100
 * terms of size ~1). */
Test(conv, upsampling_backward_is_the_adjoint)
{
    gsl_rng *r;
    fmd_rng_alloc(1603, 0, &r);
    static double x[N * H * W * CI], v[N * 4 * H * W * CI], up[N * 4 * H * W * CI], back[N * H * W * CI];
    fill(r, sizeof x / sizeof x[0], x);
    fill(r, sizeof v / sizeof v[0], v);
    fmd_upsample2_forward(N, H, W, CI, x, up);
    fmd_upsample2_backward(N, H, W, CI, v, back);
    double lhs = 0.0, rhs = 0.0;
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        lhs += up[i] * v[i];
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++)
        rhs += x[i] * back[i];
    cr_log_info("<up(x), v> = %.15f, <x, up^T v> = %.15f", lhs, rhs);
    cr_expect(fabs(lhs - rhs) <= 1e-13 * fabs(lhs), "<up(x), v> = %.17g but <x, up^T v> = %.17g", lhs, rhs);
    /* and the forward copies: pixel (3, 4) of image 1 is pixel (1, 2), channel 2 */
    cr_expect_eq(up[((1 * 2 * H + 3) * 2 * W + 4) * CI + 2], x[((1 * H + 1) * W + 2) * CI + 2]);
    gsl_rng_free(r);
}

/* Group norm: each group of each image has mean 0 and variance
 * var / (var + eps) after normalization (checked to 1e-12), and the
 * backward pass agrees with fourth-order central differences of a
 * non-quadratic loss, L = sum w_k y_k^3 / 3 (fd_check, verify/fd_check.h:
 * 1e-7 relative, floor 1e-9), for x, gamma and beta. 6 channels in 2 and
 * 3 groups. */
enum { GC = 6, GHW = 7 };

typedef struct {
    size_t groups;
    double *x, *gamma, *beta, *w, *xhat, *is, *y;
} gn_ctx;

static double gn_loss(void *p)
{
    gn_ctx *c = p;
    fmd_groupnorm_forward(N, GHW, GC, c->groups, c->x, c->gamma, c->beta, c->xhat, c->is, c->y);
    double L = 0.0;
    for (size_t i = 0; i < N * GHW * GC; i++)
        L += c->w[i] * c->y[i] * c->y[i] * c->y[i] / 3.0;
    return L;
}

Test(groupnorm, normalizes_and_backward_matches_finite_differences)
{
    gsl_rng *r;
    fmd_rng_alloc(1604, 0, &r);
    static double x[N * GHW * GC], gamma[GC], beta[GC], w[N * GHW * GC], xhat[N * GHW * GC], is[N * GC], y[N * GHW * GC],
        dy[N * GHW * GC], dx[N * GHW * GC], dgamma[GC], dbeta[GC];
    fill(r, N * GHW * GC, x);
    for (size_t i = 0; i < N * GHW * GC; i++)
        x[i] = 3.0 * x[i] + 1.7;   /* a mean and a spread to remove */
    fill(r, GC, gamma);
    fill(r, GC, beta);
    fill(r, N * GHW * GC, w);
    const size_t group_counts[2] = {2, 3};
    for (int q = 0; q < 2; q++) {
        const size_t G = group_counts[q], cg = GC / G;
        gn_ctx c = {G, x, gamma, beta, w, xhat, is, y};
        gn_loss(&c);
        for (size_t i = 0; i < N; i++)   /* xhat: mean 0, variance var / (var + eps) per group */
            for (size_t g = 0; g < G; g++) {
                double s = 0.0, s2 = 0.0;
                for (size_t p = 0; p < GHW; p++)
                    for (size_t k = 0; k < cg; k++) {
                        const double v = xhat[(i * GHW + p) * GC + g * cg + k];
                        s += v, s2 += v * v;
                    }
                const double m = (double)(GHW * cg), var_hat = s2 / m, var = 1.0 / (is[i * G + g] * is[i * G + g]) - FMD_GROUPNORM_EPS;
                cr_expect(fabs(s / m) <= 1e-12, "image %zu group %zu: mean of xhat %.3e", i, g, s / m);
                cr_expect(fabs(var_hat - var / (var + FMD_GROUPNORM_EPS)) <= 1e-12, "image %zu group %zu: variance of xhat %.15f",
                          i, g, var_hat);
            }
        for (size_t i = 0; i < N * GHW * GC; i++)
            dy[i] = w[i] * y[i] * y[i];
        memset(dgamma, 0, sizeof dgamma);
        memset(dbeta, 0, sizeof dbeta);
        cr_assert_eq(fmd_groupnorm_backward(N, GHW, GC, G, xhat, is, gamma, dy, dgamma, dbeta, dx), FMD_OK);
        char what[32];
        snprintf(what, sizeof what, "dx, %zu groups", G);
        fd_check(what, N * GHW * GC, x, dx, gn_loss, &c, NULL);
        snprintf(what, sizeof what, "dgamma, %zu groups", G);
        fd_check(what, GC, gamma, dgamma, gn_loss, &c, NULL);
        snprintf(what, sizeof what, "dbeta, %zu groups", G);
        fd_check(what, GC, beta, dbeta, gn_loss, &c, NULL);
    }
    cr_expect_eq(fmd_groupnorm_forward(N, GHW, GC, 4, x, gamma, beta, xhat, is, y), FMD_EINVAL);
    gsl_rng_free(r);
}
