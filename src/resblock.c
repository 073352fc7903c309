/* resblock.c -- the U-Net's residual block with its embedding (resblock.h). */
#include "resblock.h"
#include "conv.h"
#include "groupnorm.h"
#include "matmul.h"
#include "status.h"
#include "vecmath.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int fmd_resblock_layout(size_t c_in, size_t c_out, size_t emb, size_t groups, size_t *next, fmd_resblock *rb)
{
    if (!next || !rb || c_in == 0 || c_out == 0 || emb == 0 || groups == 0)
        return FMD_EINVAL;
    size_t o = *next;
    rb->c_in = c_in, rb->c_out = c_out, rb->emb = emb, rb->groups = groups;
    rb->g1 = o, o += c_in;
    rb->b1 = o, o += c_in;
    rb->w1 = o, o += 9 * c_in * c_out;
    rb->c1 = o, o += c_out;
    rb->we = o, o += emb * c_out;
    rb->be = o, o += c_out;
    rb->g2 = o, o += c_out;
    rb->b2 = o, o += c_out;
    rb->w2 = o, o += 9 * c_out * c_out;
    rb->c2 = o, o += c_out;
    rb->ws = rb->bs = 0;
    if (c_in != c_out) {
        rb->ws = o, o += c_in * c_out;
        rb->bs = o, o += c_out;
    }
    rb->nparams = o - *next;
    *next = o;
    return FMD_OK;
}

/* U(-1/sqrt(fan_in), 1/sqrt(fan_in)) over [at, at + m) */
static void uniform_fill(double *p, const double *u, size_t at, size_t m, size_t fan_in)
{
    const double a = 1.0 / sqrt((double)fan_in);
    for (size_t i = at; i < at + m; i++)
        p[i] = a * (2.0 * u[i] - 1.0);
}

void fmd_resblock_init(const fmd_resblock *rb, double *params, const double *u)
{
    const size_t ci = rb->c_in, co = rb->c_out;
    for (size_t c = 0; c < ci; c++)
        params[rb->g1 + c] = 1.0, params[rb->b1 + c] = 0.0;
    for (size_t c = 0; c < co; c++)
        params[rb->g2 + c] = 1.0, params[rb->b2 + c] = 0.0;
    uniform_fill(params, u, rb->w1, 9 * ci * co + co, 9 * ci);   /* W1 and its bias */
    uniform_fill(params, u, rb->we, rb->emb * co + co, rb->emb);
    uniform_fill(params, u, rb->w2, 9 * co * co + co, 9 * co);
    if (ci != co)
        uniform_fill(params, u, rb->ws, ci * co + co, ci);
}

int fmd_layer_scratch_alloc(size_t map, fmd_layer_scratch *sc)
{
    sc->cols = malloc(9 * map * sizeof(double));
    sc->dcols = malloc(9 * map * sizeof(double));
    sc->a = malloc(map * sizeof(double));
    sc->da = malloc(map * sizeof(double));
    sc->dh = malloc(map * sizeof(double));
    if (!sc->cols || !sc->dcols || !sc->a || !sc->da || !sc->dh) {
        fmd_layer_scratch_free(sc);
        return FMD_ENOMEM;
    }
    return FMD_OK;
}

void fmd_layer_scratch_free(fmd_layer_scratch *sc)
{
    free(sc->cols), free(sc->dcols), free(sc->a), free(sc->da), free(sc->dh);
    sc->cols = sc->dcols = sc->a = sc->da = sc->dh = NULL;
}

size_t fmd_resblock_scratch_map(const fmd_resblock *rb, size_t n_max, size_t hw)
{
    return n_max * hw * (rb->c_in > rb->c_out ? rb->c_in : rb->c_out);
}

int fmd_resblock_work_alloc(const fmd_resblock *rb, size_t n_max, size_t hw, fmd_layer_scratch *sc,
                            fmd_resblock_work **out)
{
    fmd_resblock_work *w = calloc(1, sizeof *w);
    if (!w)
        return FMD_ENOMEM;
    const size_t ci = rb->c_in, co = rb->c_out, P = n_max * hw;
    w->n_max = n_max, w->hw = hw, w->sc = sc;
    w->xhat1 = malloc(P * ci * sizeof(double));
    w->is1 = malloc(n_max * rb->groups * sizeof(double));
    w->y1 = malloc(P * ci * sizeof(double));
    w->h1 = malloc(P * co * sizeof(double));
    w->xhat2 = malloc(P * co * sizeof(double));
    w->is2 = malloc(n_max * rb->groups * sizeof(double));
    w->y2 = malloc(P * co * sizeof(double));
    w->proj = malloc(n_max * co * sizeof(double));
    if (!w->xhat1 || !w->is1 || !w->y1 || !w->h1 || !w->xhat2 || !w->is2 || !w->y2 || !w->proj) {
        fmd_resblock_work_free(w);
        return FMD_ENOMEM;
    }
    *out = w;
    return FMD_OK;
}

void fmd_resblock_work_free(fmd_resblock_work *w)
{
    if (!w)
        return;
    free(w->xhat1), free(w->is1), free(w->y1), free(w->h1);
    free(w->xhat2), free(w->is2), free(w->y2), free(w->proj);
    free(w);
}

/* SiLU by SLEEF's vector exp (src/vecmath.h), in chunks of 256 on the
 * stack: the libm exp of every activation was 4% of a U-Net step. */
enum { SILU_CHUNK = 256 };

void fmd_silu(size_t m, const double *z, double *y)
{
    double e[SILU_CHUNK];
    for (size_t i0 = 0; i0 < m; i0 += SILU_CHUNK) {
        const size_t cnt = i0 + SILU_CHUNK <= m ? SILU_CHUNK : m - i0;
        for (size_t i = 0; i < cnt; i++)
            e[i] = -z[i0 + i];
        fmd_vexp(cnt, e, e);   /* exp(-z) */
        for (size_t i = 0; i < cnt; i++)
            y[i0 + i] = z[i0 + i] / (1.0 + e[i]);
    }
}

void fmd_silu_backward(size_t m, const double *z, const double *dy, double *dz)
{
    double e[SILU_CHUNK];
    for (size_t i0 = 0; i0 < m; i0 += SILU_CHUNK) {
        const size_t cnt = i0 + SILU_CHUNK <= m ? SILU_CHUNK : m - i0;
        for (size_t i = 0; i < cnt; i++)
            e[i] = -z[i0 + i];
        fmd_vexp(cnt, e, e);
        for (size_t i = 0; i < cnt; i++) {   /* s = sigmoid(z); dz = dy s (1 + z (1 - s)) */
            const double s = 1.0 / (1.0 + e[i]), zi = z[i0 + i];
            dz[i0 + i] = dy[i0 + i] * s * (1.0 + zi * (1.0 - s));
        }
    }
}

int fmd_resblock_forward(const fmd_resblock *rb, fmd_resblock_work *w, size_t n, size_t h, size_t wd,
                         const double *params, const double *x, const double *s_e, double *out)
{
    const size_t hw = h * wd, ci = rb->c_in, co = rb->c_out, P = n * hw;
    if (n > w->n_max || hw != w->hw)
        return FMD_EINVAL;
    const size_t g1 = fmd_groupnorm_groups(ci, rb->groups), g2 = fmd_groupnorm_groups(co, rb->groups);
    const double *p = params;
    int st = fmd_groupnorm_forward(n, hw, ci, g1, x, p + rb->g1, p + rb->b1, w->xhat1, w->is1, w->y1);
    if (st != FMD_OK)
        return st;
    fmd_layer_scratch *sc = w->sc;
    fmd_silu(P * ci, w->y1, sc->a);
    fmd_conv3x3_forward(n, h, wd, ci, co, 1, sc->a, p + rb->w1, p + rb->c1, sc->cols, w->h1);
    for (size_t i = 0; i < n; i++)   /* proj = s_e W_e + b_e, added to every pixel of image i */
        memcpy(w->proj + i * co, p + rb->be, co * sizeof(double));
    fmd_gemm(0, 0, n, co, rb->emb, 1.0, s_e, rb->emb, p + rb->we, co, 1.0, w->proj, co);
    for (size_t i = 0; i < n; i++)
        for (size_t q = 0; q < hw; q++)
            for (size_t c = 0; c < co; c++)
                w->h1[(i * hw + q) * co + c] += w->proj[i * co + c];
    st = fmd_groupnorm_forward(n, hw, co, g2, w->h1, p + rb->g2, p + rb->b2, w->xhat2, w->is2, w->y2);
    if (st != FMD_OK)
        return st;
    fmd_silu(P * co, w->y2, sc->a);
    fmd_conv3x3_forward(n, h, wd, co, co, 1, sc->a, p + rb->w2, p + rb->c2, sc->cols, out);
    if (ci == co) {   /* out += skip(x) */
        for (size_t i = 0; i < P * co; i++)
            out[i] += x[i];
    } else {
        for (size_t q = 0; q < P; q++)
            for (size_t c = 0; c < co; c++)
                out[q * co + c] += p[rb->bs + c];
        fmd_gemm(0, 0, P, co, ci, 1.0, x, ci, p + rb->ws, co, 1.0, out, co);
    }
    return FMD_OK;
}

int fmd_resblock_backward(const fmd_resblock *rb, fmd_resblock_work *w, size_t n, size_t h, size_t wd,
                          const double *params, const double *x, const double *s_e, const double *dout,
                          double *grad, double *dx, double *ds_e)
{
    const size_t hw = h * wd, ci = rb->c_in, co = rb->c_out, P = n * hw;
    if (n > w->n_max || hw != w->hw)
        return FMD_EINVAL;
    const size_t g1 = fmd_groupnorm_groups(ci, rb->groups), g2 = fmd_groupnorm_groups(co, rb->groups);
    const double *p = params;
    /* the skip: dx = dout (identity) or dout W_s^T, and W_s's gradient */
    if (ci == co) {
        memcpy(dx, dout, P * ci * sizeof(double));
    } else {
        fmd_gemm(1, 0, ci, co, P, 1.0, x, ci, dout, co, 1.0, grad + rb->ws, co);   /* dW_s += x^T dout */
        for (size_t q = 0; q < P; q++)
            for (size_t c = 0; c < co; c++)
                grad[rb->bs + c] += dout[q * co + c];
        fmd_gemm(0, 1, P, ci, co, 1.0, dout, co, p + rb->ws, co, 0.0, dx, ci);
    }
    /* conv2 (its patches made again from SiLU(y2)): da = d loss / d SiLU(y2);
     * then through SiLU and GN2 into dh = d loss / d h1 */
    fmd_layer_scratch *sc = w->sc;
    fmd_silu(P * co, w->y2, sc->a);
    fmd_im2col(n, h, wd, co, 1, sc->a, sc->cols);
    fmd_conv3x3_backward(n, h, wd, co, co, 1, sc->cols, p + rb->w2, dout, grad + rb->w2, grad + rb->c2, sc->dcols, sc->da);
    fmd_silu_backward(P * co, w->y2, sc->da, sc->da);
    fmd_groupnorm_backward(n, hw, co, g2, w->xhat2, w->is2, p + rb->g2, sc->da, grad + rb->g2, grad + rb->b2, sc->dh);
    /* the embedding's bias: dproj (n, co) = the sum of dh over each image's pixels */
    memset(w->proj, 0, n * co * sizeof(double));
    for (size_t i = 0; i < n; i++)
        for (size_t q = 0; q < hw; q++)
            for (size_t c = 0; c < co; c++)
                w->proj[i * co + c] += sc->dh[(i * hw + q) * co + c];
    fmd_gemm(1, 0, rb->emb, co, n, 1.0, s_e, rb->emb, w->proj, co, 1.0, grad + rb->we, co);   /* dW_e += s_e^T dproj */
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < co; c++)
            grad[rb->be + c] += w->proj[i * co + c];
    fmd_gemm(0, 1, n, rb->emb, co, 1.0, w->proj, co, p + rb->we, co, 1.0, ds_e, rb->emb);   /* ds_e += dproj W_e^T */
    /* conv1 (patches of SiLU(y1)), SiLU, GN1: into the main path's dx, added to the skip's */
    fmd_silu(P * ci, w->y1, sc->a);
    fmd_im2col(n, h, wd, ci, 1, sc->a, sc->cols);
    fmd_conv3x3_backward(n, h, wd, ci, co, 1, sc->cols, p + rb->w1, sc->dh, grad + rb->w1, grad + rb->c1, sc->dcols, sc->da);
    fmd_silu_backward(P * ci, w->y1, sc->da, sc->da);
    fmd_groupnorm_backward(n, hw, ci, g1, w->xhat1, w->is1, p + rb->g1, sc->da, grad + rb->g1, grad + rb->b1, sc->dh);
    for (size_t i = 0; i < P * ci; i++)
        dx[i] += sc->dh[i];
    return FMD_OK;
}
