/* resblock_typed.c -- the typed half of resblock.c, written once for
 * fmd_real (typed_begin.h). */
#include "base/typed_begin.h"

int FMD_T(fmd_layer_scratch_alloc)(size_t map, int winograd, FMD_T(fmd_layer_scratch) *sc)
{
    sc->cols = malloc(FMD_CONV_COLS * sizeof(fmd_real));
    sc->dcols = malloc(FMD_CONV_COLS * sizeof(fmd_real));
    sc->da = malloc(map * sizeof(fmd_real));
    sc->dh = malloc(map * sizeof(fmd_real));
    sc->wino = winograd ? malloc(FMD_WINO_SCRATCH * sizeof(fmd_real)) : NULL;
    if (!sc->cols || !sc->dcols || !sc->da || !sc->dh || (winograd && !sc->wino)) {
        FMD_T(fmd_layer_scratch_free)(sc);
        return FMD_ENOMEM;
    }
    return FMD_OK;
}

void FMD_T(fmd_layer_scratch_free)(FMD_T(fmd_layer_scratch) *sc)
{
    free(sc->cols), free(sc->dcols), free(sc->da), free(sc->dh), free(sc->wino);
    sc->cols = sc->dcols = sc->da = sc->dh = sc->wino = NULL;
}

/* A stride-1 3 x 3 convolution of the block, by its method: Winograd where
 * the scratch holds its transforms, im2col otherwise (the same function). */
static void FMD_T(conv_same)(const fmd_resblock *rb, FMD_T(fmd_layer_scratch) *sc, size_t n, size_t h, size_t wd,
                             size_t ci, size_t co, const fmd_real *x, const fmd_real *W, const fmd_real *b, fmd_real *y)
{
    if (rb->conv == FMD_CONV_WINOGRAD && sc->wino && fmd_winograd_chunk(ci, co) > 0)
        FMD_T(fmd_winograd_forward)(n, h, wd, ci, co, x, W, b, sc->wino, y);
    else
        FMD_T(fmd_conv3x3_forward)(n, h, wd, ci, co, 1, x, W, b, sc->cols, y);
}

static void FMD_T(conv_same_backward)(const fmd_resblock *rb, FMD_T(fmd_layer_scratch) *sc, size_t n, size_t h,
                                      size_t wd, size_t ci, size_t co, const fmd_real *x, const fmd_real *W,
                                      const fmd_real *dy, fmd_real *dW, fmd_real *db, fmd_real *dx)
{
    if (rb->conv == FMD_CONV_WINOGRAD && sc->wino && fmd_winograd_chunk(ci, co) > 0)
        FMD_T(fmd_winograd_backward)(n, h, wd, ci, co, x, W, dy, dW, db, sc->wino, dx);
    else
        FMD_T(fmd_conv3x3_backward)(n, h, wd, ci, co, 1, x, W, dy, dW, db, sc->cols, sc->dcols, dx);
}

int FMD_T(fmd_resblock_work_alloc)(const fmd_resblock *rb, size_t n_max, size_t hw, FMD_T(fmd_layer_scratch) *sc,
                            FMD_T(fmd_resblock_work) **out)
{
    FMD_T(fmd_resblock_work) *w = calloc(1, sizeof *w);
    if (!w)
        return FMD_ENOMEM;
    const size_t ci = rb->c_in, co = rb->c_out, P = n_max * hw;
    w->n_max = n_max, w->hw = hw, w->sc = sc;
    w->xhat1 = malloc(P * ci * sizeof(fmd_real));
    w->is1 = malloc(n_max * rb->groups * sizeof(fmd_real));
    w->a1 = malloc(P * ci * sizeof(fmd_real));
    w->s1 = malloc(P * ci * sizeof(fmd_real));
    w->h1 = malloc(P * co * sizeof(fmd_real));
    w->xhat2 = malloc(P * co * sizeof(fmd_real));
    w->is2 = malloc(n_max * rb->groups * sizeof(fmd_real));
    w->a2 = malloc(P * co * sizeof(fmd_real));
    w->s2 = malloc(P * co * sizeof(fmd_real));
    w->proj = malloc(n_max * co * sizeof(fmd_real));
    if (!w->xhat1 || !w->is1 || !w->a1 || !w->s1 || !w->h1 || !w->xhat2 || !w->is2 || !w->a2 || !w->s2 || !w->proj) {
        FMD_T(fmd_resblock_work_free)(w);
        return FMD_ENOMEM;
    }
    *out = w;
    return FMD_OK;
}

void FMD_T(fmd_resblock_work_free)(FMD_T(fmd_resblock_work) *w)
{
    if (!w)
        return;
    free(w->xhat1), free(w->is1), free(w->a1), free(w->s1), free(w->h1);
    free(w->xhat2), free(w->is2), free(w->a2), free(w->s2), free(w->proj);
    free(w);
}


FMD_VECTOR_LOOPS
void FMD_T(fmd_silu)(size_t m, const fmd_real *z, fmd_real *s, fmd_real *y)
{
    for (size_t i0 = 0; i0 < m; i0 += SILU_CHUNK) {
        const size_t cnt = i0 + SILU_CHUNK <= m ? SILU_CHUNK : m - i0;
        for (size_t i = 0; i < cnt; i++)
            s[i0 + i] = -z[i0 + i];
        fmd_vexp_real(cnt, s + i0, s + i0);   /* exp(-z) */
        for (size_t i = 0; i < cnt; i++) {
            s[i0 + i] = 1 / (1 + s[i0 + i]);
            y[i0 + i] = z[i0 + i] * s[i0 + i];
        }
    }
}

FMD_VECTOR_LOOPS
void FMD_T(fmd_silu_backward)(size_t m, const fmd_real *s, const fmd_real *y, const fmd_real *dy, fmd_real *dz)
{
    for (size_t i = 0; i < m; i++)
        dz[i] = dy[i] * (s[i] + y[i] * (1 - s[i]));
}

int FMD_T(fmd_resblock_forward)(const fmd_resblock *rb, FMD_T(fmd_resblock_work) *w, size_t n, size_t h, size_t wd,
                         const fmd_real *params, const fmd_real *x, const fmd_real *s_e, fmd_real *out)
{
    const size_t hw = h * wd, ci = rb->c_in, co = rb->c_out, P = n * hw;
    if (n > w->n_max || hw != w->hw)
        return FMD_EINVAL;
    const size_t g1 = fmd_groupnorm_groups(ci, rb->groups), g2 = fmd_groupnorm_groups(co, rb->groups);
    const fmd_real *p = params;
    int st = FMD_T(fmd_groupnorm_forward)(n, hw, ci, g1, x, p + rb->g1, p + rb->b1, w->xhat1, w->is1, w->a1);
    if (st != FMD_OK)
        return st;
    FMD_T(fmd_layer_scratch) *sc = w->sc;
    FMD_T(fmd_silu)(P * ci, w->a1, w->s1, w->a1);   /* in place: GN1's output becomes its SiLU */
    FMD_T(conv_same)(rb, sc, n, h, wd, ci, co, w->a1, p + rb->w1, p + rb->c1, w->h1);
    for (size_t i = 0; i < n; i++)   /* proj = s_e W_e + b_e, added to every pixel of image i */
        memcpy(w->proj + i * co, p + rb->be, co * sizeof(fmd_real));
    fmd_gemm_real(0, 0, n, co, rb->emb, 1.0, s_e, rb->emb, p + rb->we, co, 1.0, w->proj, co);
    for (size_t i = 0; i < n; i++)
        for (size_t q = 0; q < hw; q++)
            for (size_t c = 0; c < co; c++)
                w->h1[(i * hw + q) * co + c] += w->proj[i * co + c];
    st = FMD_T(fmd_groupnorm_forward)(n, hw, co, g2, w->h1, p + rb->g2, p + rb->b2, w->xhat2, w->is2, w->a2);
    if (st != FMD_OK)
        return st;
    FMD_T(fmd_silu)(P * co, w->a2, w->s2, w->a2);
    FMD_T(conv_same)(rb, sc, n, h, wd, co, co, w->a2, p + rb->w2, p + rb->c2, out);
    if (ci == co) {   /* out += skip(x) */
        for (size_t i = 0; i < P * co; i++)
            out[i] += x[i];
    } else {
        for (size_t q = 0; q < P; q++)
            for (size_t c = 0; c < co; c++)
                out[q * co + c] += p[rb->bs + c];
        fmd_gemm_real(0, 0, P, co, ci, 1.0, x, ci, p + rb->ws, co, 1.0, out, co);
    }
    return FMD_OK;
}

int FMD_T(fmd_resblock_backward)(const fmd_resblock *rb, FMD_T(fmd_resblock_work) *w, size_t n, size_t h, size_t wd,
                          const fmd_real *params, const fmd_real *x, const fmd_real *s_e, const fmd_real *dout,
                          fmd_real *grad, fmd_real *dx, fmd_real *ds_e)
{
    const size_t hw = h * wd, ci = rb->c_in, co = rb->c_out, P = n * hw;
    if (n > w->n_max || hw != w->hw)
        return FMD_EINVAL;
    const size_t g1 = fmd_groupnorm_groups(ci, rb->groups), g2 = fmd_groupnorm_groups(co, rb->groups);
    const fmd_real *p = params;
    /* the skip: dx = dout (identity) or dout W_s^T, and W_s's gradient */
    if (ci == co) {
        memcpy(dx, dout, P * ci * sizeof(fmd_real));
    } else {
        fmd_gemm_real(1, 0, ci, co, P, 1.0, x, ci, dout, co, 1.0, grad + rb->ws, co);   /* dW_s += x^T dout */
        for (size_t q = 0; q < P; q++)
            for (size_t c = 0; c < co; c++)
                grad[rb->bs + c] += dout[q * co + c];
        fmd_gemm_real(0, 1, P, ci, co, 1.0, dout, co, p + rb->ws, co, 0.0, dx, ci);
    }
    /* conv2 (its patches made again from its input a2): da = d loss / d a2;
     * then through SiLU and GN2 into dh = d loss / d h1 */
    FMD_T(fmd_layer_scratch) *sc = w->sc;
    FMD_T(conv_same_backward)(rb, sc, n, h, wd, co, co, w->a2, p + rb->w2, dout, grad + rb->w2, grad + rb->c2, sc->da);
    FMD_T(fmd_silu_backward)(P * co, w->s2, w->a2, sc->da, sc->da);
    FMD_T(fmd_groupnorm_backward)(n, hw, co, g2, w->xhat2, w->is2, p + rb->g2, sc->da, grad + rb->g2, grad + rb->b2, sc->dh);
    /* the embedding's bias: dproj (n, co) = the sum of dh over each image's pixels */
    memset(w->proj, 0, n * co * sizeof(fmd_real));
    for (size_t i = 0; i < n; i++)
        for (size_t q = 0; q < hw; q++)
            for (size_t c = 0; c < co; c++)
                w->proj[i * co + c] += sc->dh[(i * hw + q) * co + c];
    fmd_gemm_real(1, 0, rb->emb, co, n, 1.0, s_e, rb->emb, w->proj, co, 1.0, grad + rb->we, co);   /* dW_e += s_e^T dproj */
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < co; c++)
            grad[rb->be + c] += w->proj[i * co + c];
    fmd_gemm_real(0, 1, n, rb->emb, co, 1.0, w->proj, co, p + rb->we, co, 1.0, ds_e, rb->emb);   /* ds_e += dproj W_e^T */
    /* conv1 (patches of a1), SiLU, GN1: into the main path's dx, added to the skip's */
    FMD_T(conv_same_backward)(rb, sc, n, h, wd, ci, co, w->a1, p + rb->w1, sc->dh, grad + rb->w1, grad + rb->c1, sc->da);
    FMD_T(fmd_silu_backward)(P * ci, w->s1, w->a1, sc->da, sc->da);
    FMD_T(fmd_groupnorm_backward)(n, hw, ci, g1, w->xhat1, w->is1, p + rb->g1, sc->da, grad + rb->g1, grad + rb->b1, sc->dh);
    for (size_t i = 0; i < P * ci; i++)
        dx[i] += sc->dh[i];
    return FMD_OK;
}

#include "base/typed_end.h"
