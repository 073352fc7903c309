/* test_winograd.c -- Winograd's F(2 x 2, 3 x 3) (src/networks/winograd.h)
 * against direct convolution, the reference (src/networks/conv.h):
 *   1. float64 forward equals the direct sum fmd_conv3x3_naive to rounding
 *      (1e-13 of the sum of the |terms|), on even and odd sides, one-pixel
 *      images and channel counts that fill several chunks;
 *   2. float64 backward (dW, db, dx) equals direct convolution's backward to
 *      1e-12 of the same kind of scale, and matches finite differences
 *      itself (verify/fd_check.h);
 *   3. float32 forward and backward agree with the float64 result within
 *      the rounding bound derived below, and so does direct convolution in
 *      float32 within its own: the two methods agree within the sum. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fmd.h"
#include "fd_check.h"
#include "networks/conv.h"
#include "networks/winograd.h"

typedef struct {
    size_t n, h, w, ci, co;
} shape;

static void fill(gsl_rng *r, size_t m, double *a, double scale)
{
    for (size_t i = 0; i < m; i++)
        a[i] = scale * (2.0 * gsl_rng_uniform(r) - 1.0);
}

/* The scale of each output of the direct sum: |b| + sum over taps and
 * channels of |W| |x| (zero padding). */
static void direct_scale(const shape *s, const double *x, const double *W, const double *b, double *scale)
{
    double *ax = malloc(s->n * s->h * s->w * s->ci * sizeof(double)), *aW = malloc(9 * s->ci * s->co * sizeof(double));
    double *ab = malloc(s->co * sizeof(double));
    for (size_t i = 0; i < s->n * s->h * s->w * s->ci; i++)
        ax[i] = fabs(x[i]);
    for (size_t i = 0; i < 9 * s->ci * s->co; i++)
        aW[i] = fabs(W[i]);
    for (size_t i = 0; i < s->co; i++)
        ab[i] = fabs(b[i]);
    fmd_conv3x3_naive(s->n, s->h, s->w, s->ci, s->co, 1, ax, aW, ab, scale);
    free(ax), free(aW), free(ab);
}

static const shape shapes[] = {
    {2, 8, 8, 3, 5}, {3, 7, 7, 4, 4}, {1, 5, 6, 2, 3}, {2, 1, 1, 3, 2}, {1, 2, 3, 1, 1}, {2, 9, 14, 16, 16},
    {1, 28, 28, 16, 32},
    {4, 28, 28, 64, 64},   /* 784 tiles in chunks of 191: five chunks, the last one short */
};

Test(winograd, forward_equals_the_direct_sum)
{
    gsl_rng *r;
    fmd_rng_alloc(2711, 0, &r);
    double *scratch = malloc(FMD_WINO_SCRATCH * sizeof(double));
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        const shape *s = &shapes[k];
        const size_t X = s->n * s->h * s->w * s->ci, Y = s->n * s->h * s->w * s->co;
        double *x = malloc(X * sizeof(double)), *W = malloc(9 * s->ci * s->co * sizeof(double));
        double *b = malloc(s->co * sizeof(double)), *y = malloc(Y * sizeof(double)), *ref = malloc(Y * sizeof(double));
        double *scale = malloc(Y * sizeof(double));
        fill(r, X, x, 1.0), fill(r, 9 * s->ci * s->co, W, 0.5), fill(r, s->co, b, 0.3);
        cr_assert_eq(fmd_winograd_forward(s->n, s->h, s->w, s->ci, s->co, x, W, b, scratch, y), FMD_OK);
        fmd_conv3x3_naive(s->n, s->h, s->w, s->ci, s->co, 1, x, W, b, ref);
        direct_scale(s, x, W, b, scale);
        double worst = 0.0;
        for (size_t i = 0; i < Y; i++)
            worst = fmax(worst, fabs(y[i] - ref[i]) / scale[i]);
        cr_log_info("%zu x %zu x %zu, %zu -> %zu channels (chunks of %zu tiles): worst |winograd - direct| / scale "
                    "%.2e", s->n, s->h, s->w, s->ci, s->co, fmd_winograd_chunk(s->ci, s->co), worst);
        cr_expect(worst < 1e-13, "%zu x %zu, %zu -> %zu: Winograd and the direct sum differ by %.3g of the scale",
                  s->h, s->w, s->ci, s->co, worst);
        free(x), free(W), free(b), free(y), free(ref), free(scale);
    }
    /* too many channels for the scratch: refused, not overrun */
    cr_expect_eq(fmd_winograd_chunk(4096, 4096), 0);
    double one = 1.0;
    cr_expect_eq(fmd_winograd_forward(1, 1, 1, 4096, 4096, &one, &one, &one, scratch, &one), FMD_EINVAL);
    free(scratch);
    gsl_rng_free(r);
}

Test(winograd, backward_equals_direct_convolutions_backward)
{
    gsl_rng *r;
    fmd_rng_alloc(2712, 0, &r);
    double *scratch = malloc(FMD_WINO_SCRATCH * sizeof(double)), *cols = malloc(FMD_CONV_COLS * sizeof(double));
    double *dcols = malloc(FMD_CONV_COLS * sizeof(double));
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        const shape *s = &shapes[k];
        const size_t X = s->n * s->h * s->w * s->ci, Y = s->n * s->h * s->w * s->co, K = 9 * s->ci * s->co;
        double *x = malloc(X * sizeof(double)), *W = malloc(K * sizeof(double)), *dy = malloc(Y * sizeof(double));
        double *dW = calloc(K, sizeof(double)), *db = calloc(s->co, sizeof(double)), *dx = malloc(X * sizeof(double));
        double *dW0 = calloc(K, sizeof(double)), *db0 = calloc(s->co, sizeof(double)), *dx0 = malloc(X * sizeof(double));
        fill(r, X, x, 1.0), fill(r, K, W, 0.5), fill(r, Y, dy, 1.0);
        for (size_t i = 0; i < K; i++)   /* both add into a gradient that is already there */
            dW[i] = dW0[i] = 0.25;
        cr_assert_eq(fmd_winograd_backward(s->n, s->h, s->w, s->ci, s->co, x, W, dy, dW, db, scratch, dx), FMD_OK);
        cr_assert_eq(fmd_conv3x3_backward(s->n, s->h, s->w, s->ci, s->co, 1, x, W, dy, dW0, db0, cols, dcols, dx0), FMD_OK);
        /* scales: dW sums |x| |dy| over the batch's pixels, dx |W| |dy| over 9 c_out terms; the largest of each */
        double sx = 0.0, sdy = 0.0, sW = 0.0;
        for (size_t i = 0; i < X; i++)
            sx = fmax(sx, fabs(x[i]));
        for (size_t i = 0; i < Y; i++)
            sdy = fmax(sdy, fabs(dy[i]));
        for (size_t i = 0; i < K; i++)
            sW = fmax(sW, fabs(W[i]));
        const double scale_dW = (double)(s->n * s->h * s->w) * sx * sdy + 0.25, scale_dx = 9.0 * (double)s->co * sW * sdy;
        double wW = 0.0, wb = 0.0, wx = 0.0;
        for (size_t i = 0; i < K; i++)
            wW = fmax(wW, fabs(dW[i] - dW0[i]) / scale_dW);
        for (size_t i = 0; i < s->co; i++)
            wb = fmax(wb, fabs(db[i] - db0[i]) / ((double)(s->n * s->h * s->w) * sdy));
        for (size_t i = 0; i < X; i++)
            wx = fmax(wx, fabs(dx[i] - dx0[i]) / scale_dx);
        cr_log_info("%zu x %zu, %zu -> %zu: backward differs from direct by dW %.1e, db %.1e, dx %.1e of their scales",
                    s->h, s->w, s->ci, s->co, wW, wb, wx);
        cr_expect(wW < 1e-12 && wb < 1e-12 && wx < 1e-12, "%zu x %zu, %zu -> %zu: dW %.3g, db %.3g, dx %.3g", s->h, s->w,
                  s->ci, s->co, wW, wb, wx);
        free(x), free(W), free(dy), free(dW), free(db), free(dx), free(dW0), free(db0), free(dx0);
    }
    free(scratch), free(cols), free(dcols);
    gsl_rng_free(r);
}

/* Its own gradient check: L = sum v y^2 / 2 of the Winograd output, every
 * weight, bias and input by fd_check's fourth-order differences, on an odd
 * side (a half-outside tile) with a padded border. */
typedef struct {
    shape s;
    double *x, *W, *b, *v, *y, *scratch;
} wctx;

static double w_loss(wctx *c, double *dy)
{
    fmd_winograd_forward(c->s.n, c->s.h, c->s.w, c->s.ci, c->s.co, c->x, c->W, c->b, c->scratch, c->y);
    return weighted_square_loss(c->s.n * c->s.h * c->s.w * c->s.co, c->v, c->y, dy);
}

static double w_loss_only(void *c)
{
    return w_loss(c, NULL);
}

Test(winograd, backward_matches_finite_differences)
{
    wctx c = {.s = {2, 5, 3, 3, 2}};
    const size_t X = c.s.n * c.s.h * c.s.w * c.s.ci, Y = c.s.n * c.s.h * c.s.w * c.s.co, K = 9 * c.s.ci * c.s.co;
    gsl_rng *r;
    fmd_rng_alloc(2713, 0, &r);
    c.x = malloc(X * sizeof(double)), c.W = malloc(K * sizeof(double)), c.b = malloc(c.s.co * sizeof(double));
    c.v = malloc(Y * sizeof(double)), c.y = malloc(Y * sizeof(double)), c.scratch = malloc(FMD_WINO_SCRATCH * sizeof(double));
    fill(r, X, c.x, 1.0), fill(r, K, c.W, 0.5), fill(r, c.s.co, c.b, 0.3);
    for (size_t i = 0; i < Y; i++)
        c.v[i] = 0.5 + gsl_rng_uniform(r);
    double *dy = malloc(Y * sizeof(double)), *dW = calloc(K, sizeof(double)), *db = calloc(c.s.co, sizeof(double));
    double *dx = malloc(X * sizeof(double)), *scratch = malloc(FMD_WINO_SCRATCH * sizeof(double));
    w_loss(&c, dy);
    cr_assert_eq(fmd_winograd_backward(c.s.n, c.s.h, c.s.w, c.s.ci, c.s.co, c.x, c.W, dy, dW, db, scratch, dx), FMD_OK);
    fd_check("Winograd: W", K, c.W, dW, w_loss_only, &c, NULL);
    fd_check("Winograd: b", c.s.co, c.b, db, w_loss_only, &c, NULL);
    fd_check("Winograd: x", X, c.x, dx, w_loss_only, &c, NULL);
    free(c.x), free(c.W), free(c.b), free(c.v), free(c.y), free(c.scratch);
    free(dy), free(dW), free(db), free(dx), free(scratch);
    gsl_rng_free(r);
}

/* Float32. The inputs are rounded to float first, and both precisions run
 * on the same rounded numbers, so what differs is the arithmetic alone.
 * Write u = 2^-24 and gamma_k = k u / (1 - k u) (Higham, Accuracy and
 * Stability, sec. 3.1: k roundings of sums and products, in any order,
 * move a result by at most gamma_k times the same expression in absolute
 * values).
 *   Winograd, per output: V = B^T d B takes 2 roundings (one add in each
 *   direction); U = G g G^T 4 (two adds each way; halving is exact); the
 *   product U V 1 and its sum over c_in channels c_in; A^T M A 4 and the
 *   bias 1: gamma_{c_in + 12} times the majorant
 *       |b| + sum_ci sum_xi |A^T|_{a,r} |A^T|_{e,s} (|G||g||G^T|)_xi (|B^T||d||B|)_xi.
 *   Direct (im2col, one product of 9 c_in terms, then the bias): gamma_{9 c_in + 2}
 *   times |b| + sum |W| |x|.
 * Each float32 output is checked against the float64 one within its bound
 * (plus 1e-12 of the majorant for the float64 result's own rounding); the
 * two methods then agree within the sum of the two. The worst observed
 * share of each bound is logged. */
static double gamma_k(double k)
{
    const double u = ldexp(1.0, -24);
    return k * u / (1.0 - k * u);
}

/* The Winograd majorant of every output, by the definition above, in float64. */
static void winograd_majorant(const shape *s, const double *x, const double *W, const double *b, double *maj)
{
    static const double BT[4][4] = {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};
    static const double G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
    static const double AT[2][4] = {{1, 1, 1, 0}, {0, 1, -1, -1}};
    const size_t th = (s->h + 1) / 2, tw = (s->w + 1) / 2;
    for (size_t i = 0; i < s->n; i++)
        for (size_t ty = 0; ty < th; ty++)
            for (size_t tx = 0; tx < tw; tx++)
                for (size_t co = 0; co < s->co; co++) {
                    double m[4][4] = {{0}};
                    for (size_t ci = 0; ci < s->ci; ci++) {
                        double d[4][4], g[3][3], V[4][4], U[4][4];
                        for (size_t r = 0; r < 4; r++)
                            for (size_t q = 0; q < 4; q++) {
                                const long yy = 2 * (long)ty - 1 + (long)r, xx = 2 * (long)tx - 1 + (long)q;
                                d[r][q] = yy < 0 || xx < 0 || yy >= (long)s->h || xx >= (long)s->w
                                              ? 0.0 : fabs(x[((i * s->h + (size_t)yy) * s->w + (size_t)xx) * s->ci + ci]);
                            }
                        for (size_t t = 0; t < 9; t++)
                            g[t / 3][t % 3] = fabs(W[(t * s->ci + ci) * s->co + co]);
                        for (size_t a = 0; a < 4; a++)
                            for (size_t e = 0; e < 4; e++) {
                                V[a][e] = U[a][e] = 0.0;
                                for (size_t p = 0; p < 4; p++)
                                    for (size_t q = 0; q < 4; q++)
                                        V[a][e] += fabs(BT[a][p]) * d[p][q] * fabs(BT[e][q]);
                                for (size_t p = 0; p < 3; p++)
                                    for (size_t q = 0; q < 3; q++)
                                        U[a][e] += fabs(G[a][p]) * g[p][q] * fabs(G[e][q]);
                                m[a][e] += U[a][e] * V[a][e];
                            }
                    }
                    for (size_t a = 0; a < 2; a++)
                        for (size_t e = 0; e < 2; e++) {
                            const size_t yy = 2 * ty + a, xx = 2 * tx + e;
                            if (yy >= s->h || xx >= s->w)
                                continue;
                            double sum = fabs(b[co]);
                            for (size_t p = 0; p < 4; p++)
                                for (size_t q = 0; q < 4; q++)
                                    sum += fabs(AT[a][p]) * m[p][q] * fabs(AT[e][q]);
                            maj[((i * s->h + yy) * s->w + xx) * s->co + co] = sum;
                        }
                }
}

Test(winograd, float32_within_its_rounding_bound)
{
    /* the U-Net's shapes, a small one, and two chunks (196 tiles, 191 a chunk) */
    const shape shapes32[] = {{2, 7, 7, 16, 16}, {1, 14, 14, 32, 32}, {2, 28, 28, 16, 16}, {1, 5, 6, 2, 3},
                              {4, 14, 14, 64, 64}};
    gsl_rng *r;
    fmd_rng_alloc(2714, 0, &r);
    float *scratch = malloc(FMD_WINO_SCRATCH * sizeof(float)), *cols = malloc(FMD_CONV_COLS * sizeof(float));
    for (size_t k = 0; k < sizeof shapes32 / sizeof shapes32[0]; k++) {
        const shape *s = &shapes32[k];
        const size_t X = s->n * s->h * s->w * s->ci, Y = s->n * s->h * s->w * s->co, K = 9 * s->ci * s->co;
        double *x = malloc(X * sizeof(double)), *W = malloc(K * sizeof(double)), *b = malloc(s->co * sizeof(double));
        double *ref = malloc(Y * sizeof(double)), *maj = malloc(Y * sizeof(double)), *dmaj = malloc(Y * sizeof(double));
        float *x32 = malloc(X * sizeof(float)), *W32 = malloc(K * sizeof(float)), *b32 = malloc(s->co * sizeof(float));
        float *yw = malloc(Y * sizeof(float)), *yd = malloc(Y * sizeof(float));
        fill(r, X, x, 1.0), fill(r, K, W, 0.5), fill(r, s->co, b, 0.3);
        for (size_t i = 0; i < X; i++)
            x32[i] = (float)x[i], x[i] = x32[i];
        for (size_t i = 0; i < K; i++)
            W32[i] = (float)W[i], W[i] = W32[i];
        for (size_t i = 0; i < s->co; i++)
            b32[i] = (float)b[i], b[i] = b32[i];
        fmd_conv3x3_naive(s->n, s->h, s->w, s->ci, s->co, 1, x, W, b, ref);
        winograd_majorant(s, x, W, b, maj);
        direct_scale(s, x, W, b, dmaj);
        cr_assert_eq(fmd_winograd_forward_f32(s->n, s->h, s->w, s->ci, s->co, x32, W32, b32, scratch, yw), FMD_OK);
        cr_assert_eq(fmd_conv3x3_forward_f32(s->n, s->h, s->w, s->ci, s->co, 1, x32, W32, b32, cols, yd), FMD_OK);
        const double gw = gamma_k((double)s->ci + 12.0), gd = gamma_k(9.0 * (double)s->ci + 2.0);
        double share_w = 0.0, share_d = 0.0, share_both = 0.0;
        for (size_t i = 0; i < Y; i++) {
            const double bw = gw * maj[i] + 1e-12 * maj[i], bd = gd * dmaj[i] + 1e-12 * dmaj[i];
            const double ew = fabs((double)yw[i] - ref[i]), ed = fabs((double)yd[i] - ref[i]);
            share_w = fmax(share_w, ew / bw), share_d = fmax(share_d, ed / bd);
            share_both = fmax(share_both, fabs((double)yw[i] - (double)yd[i]) / (bw + bd));
            cr_expect(ew <= bw, "Winograd f32, output %zu: error %.3g above its bound %.3g", i, ew, bw);
            cr_expect(ed <= bd, "direct f32, output %zu: error %.3g above its bound %.3g", i, ed, bd);
        }
        cr_log_info("%zu x %zu, %zu -> %zu, float32: worst share of the bound: Winograd %.3f (gamma_%zu), direct %.3f "
                    "(gamma_%zu), the two methods' difference %.3f of the sum", s->h, s->w, s->ci, s->co, share_w,
                    s->ci + 12, share_d, 9 * s->ci + 2, share_both);
        free(x), free(W), free(b), free(ref), free(maj), free(dmaj), free(x32), free(W32), free(b32), free(yw), free(yd);
    }
    free(scratch), free(cols);
    gsl_rng_free(r);
}
