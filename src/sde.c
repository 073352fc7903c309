/* sde.c -- Euler-Maruyama, stochastic Heun and Brownian paths. */
#include "sde.h"
#include "status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const fmd_sde_stepper_type em_type = {"em", 1, 1.0, 1.0};
static const fmd_sde_stepper_type heun_type = {"heun-sde", 2, 1.0, 2.0};
const fmd_sde_stepper_type *const fmd_sde_em = &em_type;
const fmd_sde_stepper_type *const fmd_sde_heun = &heun_type;
const fmd_sde_stepper_type *const fmd_sde_steppers[] = {&em_type, &heun_type, NULL};

const fmd_sde_stepper_type *fmd_sde_stepper_by_name(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; fmd_sde_steppers[i]; i++)
        if (strcmp(fmd_sde_steppers[i]->name, name) == 0)
            return fmd_sde_steppers[i];
    return NULL;
}

int fmd_diffusion_sigma_t(double t, size_t n, size_t d, const double *x, double *g, void *params)
{
    (void)x;
    const fmd_sigma_schedule *s = params;
    double sigma = s->sigma(t, s->params);
    for (size_t i = 0; i < n * d; i++)
        g[i] = sigma;
    return isfinite(sigma) ? FMD_OK : FMD_EDOM;
}

int fmd_diffusion_constant(double t, size_t n, size_t d, const double *x, double *g, void *params)
{
    (void)t;
    (void)x;
    double sigma = *(const double *)params;
    for (size_t i = 0; i < n * d; i++)
        g[i] = sigma;
    return FMD_OK;
}

int fmd_sde_workspace_alloc(const fmd_sde_stepper_type *type, size_t n, size_t d,
                            fmd_sde_workspace **out)
{
    if (!out)
        return FMD_EINVAL;
    *out = NULL;
    if (!type || n == 0 || d == 0 || n > SIZE_MAX / d / 8 / sizeof(double))
        return FMD_EINVAL;
    fmd_sde_workspace *ws = calloc(1, sizeof *ws);
    if (!ws)
        return FMD_ENOMEM;
    size_t m = n * d;
    ws->type = type;
    ws->n = n;
    ws->d = d;
    ws->threads = 1;
    ws->u0 = malloc(m * sizeof(double));
    ws->g0 = malloc(m * sizeof(double));
    ws->xp = malloc(m * sizeof(double));
    ws->u1 = malloc(m * sizeof(double));
    ws->g1 = malloc(m * sizeof(double));
    ws->xnew = malloc(m * sizeof(double));
    ws->dw = malloc(m * sizeof(double));
    ws->block_status = malloc(fmd_nblocks(n) * sizeof(int));
    if (!ws->u0 || !ws->g0 || !ws->xp || !ws->u1 || !ws->g1 || !ws->xnew || !ws->dw ||
        !ws->block_status) {
        fmd_sde_workspace_free(ws);
        return FMD_ENOMEM;
    }
    *out = ws;
    return FMD_OK;
}

void fmd_sde_workspace_free(fmd_sde_workspace *ws)
{
    if (!ws)
        return;
    free(ws->u0);
    free(ws->g0);
    free(ws->xp);
    free(ws->u1);
    free(ws->g1);
    free(ws->xnew);
    free(ws->dw);
    free(ws->block_status);
    free(ws);
}

/* One step for particles [i0, i0 + cnt); offsets are into the batch arrays. */
static int step_block(fmd_sde_workspace *ws, const fmd_sde *sde, double t, double h,
                      size_t i0, size_t cnt, const double *x, const double *dw, double *xnew)
{
    const size_t d = ws->d, m = cnt * d, off = i0 * d;
    double *u0 = ws->u0 + off, *g0 = ws->g0 + off;
    x += off;
    dw += off;
    xnew += off;
    if (sde->drift.eval(t, cnt, d, x, u0, sde->drift.params) != FMD_OK ||
        sde->diffusion(t, cnt, d, x, g0, sde->diffusion_params) != FMD_OK)
        return FMD_EFIELD;
    if (ws->type == &em_type) {
        /* Algorithm 2: X_{t+h} = X_t + h u_t(X_t) + sigma_t (W_{t+h} - W_t) */
        for (size_t i = 0; i < m; i++)
            xnew[i] = x[i] + h * u0[i] + g0[i] * dw[i];
        return FMD_OK;
    }
    /* stochastic Heun: Euler-Maruyama predictor, trapezoid corrector */
    double *xp = ws->xp + off, *u1 = ws->u1 + off, *g1 = ws->g1 + off;
    for (size_t i = 0; i < m; i++)
        xp[i] = x[i] + h * u0[i] + g0[i] * dw[i];
    if (sde->drift.eval(t + h, cnt, d, xp, u1, sde->drift.params) != FMD_OK ||
        sde->diffusion(t + h, cnt, d, xp, g1, sde->diffusion_params) != FMD_OK)
        return FMD_EFIELD;
    for (size_t i = 0; i < m; i++)
        xnew[i] = x[i] + 0.5 * h * (u0[i] + u1[i]) + 0.5 * (g0[i] + g1[i]) * dw[i];
    return FMD_OK;
}

static int check_sde(const fmd_sde_workspace *ws, const fmd_sde *sde)
{
    if (!ws || !sde || !sde->drift.eval || !sde->diffusion || sde->drift.d != ws->d)
        return FMD_EINVAL;
    return FMD_OK;
}

/* Step every block (drawing its increments first when streams is non-NULL). */
static int step_all(fmd_sde_workspace *ws, const fmd_sde *sde, double t, double h,
                    const double *x, const double *dw_in, fmd_streams *streams, double *xnew)
{
    const size_t n = ws->n, d = ws->d;
    const long nb = (long)fmd_nblocks(n);
    const double *dw = streams ? ws->dw : dw_in;
    const double sqrt_h = sqrt(h);
#pragma omp parallel for schedule(static) num_threads(ws->threads > 0 ? ws->threads : 1)
    for (long b = 0; b < nb; b++) {
        size_t i0 = (size_t)b * FMD_BLOCK;
        size_t cnt = i0 + FMD_BLOCK <= n ? FMD_BLOCK : n - i0;
        if (streams) {
            double *w = ws->dw + i0 * d;
            fmd_rng_gaussian(streams->block[b], cnt * d, w);
            for (size_t i = 0; i < cnt * d; i++)
                w[i] *= sqrt_h;   /* W_{t+h} - W_t ~ N(0, h I) */
        }
        ws->block_status[b] = step_block(ws, sde, t, h, i0, cnt, x, dw, xnew);
    }
    ws->nfe += (unsigned long)ws->type->drift_evals;
    for (long b = 0; b < nb; b++)
        if (ws->block_status[b] != FMD_OK)
            return ws->block_status[b];
    return FMD_OK;
}

int fmd_sde_step(fmd_sde_workspace *ws, const fmd_sde *sde, double t, double h,
                 const double *x, const double *dw, double *x_new)
{
    int status = check_sde(ws, sde);
    if (status != FMD_OK)
        return status;
    if (!x || !dw || !x_new)
        return FMD_EINVAL;
    if (!isfinite(t) || !isfinite(h))
        return FMD_EDOM;
    return step_all(ws, sde, t, h, x, dw, NULL, x_new);
}

int fmd_sde_solve_grid(fmd_sde_workspace *ws, const fmd_sde *sde, const double *ts,
                       size_t nt, double *x, uint64_t seed, double *path)
{
    int status = check_sde(ws, sde);
    if (status != FMD_OK)
        return status;
    if (!ts || nt < 2 || !x)
        return FMD_EINVAL;
    for (size_t k = 0; k + 1 < nt; k++)
        if (!isfinite(ts[k]) || !isfinite(ts[k + 1]) || !(ts[k + 1] > ts[k]))
            return FMD_EGRID;
    const size_t m = ws->n * ws->d;
    if (!fmd_all_finite(m, x))
        return FMD_EDOM;
    fmd_streams streams;
    status = fmd_streams_alloc(seed, ws->n, &streams);
    if (status != FMD_OK)
        return status;
    if (path)
        memcpy(path, x, m * sizeof(double));
    for (size_t k = 0; k + 1 < nt && status == FMD_OK; k++) {
        status = step_all(ws, sde, ts[k], ts[k + 1] - ts[k], x, NULL, &streams, ws->xnew);
        if (status == FMD_OK) {
            memcpy(x, ws->xnew, m * sizeof(double));
            if (path)
                memcpy(path + (k + 1) * m, x, m * sizeof(double));
        }
    }
    fmd_streams_free(&streams);
    if (status != FMD_OK)
        return status;
    return fmd_all_finite(m, x) ? FMD_OK : FMD_EDOM;
}

int fmd_brownian_paths(uint64_t seed, size_t n, size_t d, const double *ts, size_t nt,
                       double *W)
{
    if (n == 0 || d == 0 || !ts || nt < 1 || !W)
        return FMD_EINVAL;
    for (size_t k = 0; k + 1 < nt; k++)
        if (!isfinite(ts[k]) || !isfinite(ts[k + 1]) || !(ts[k + 1] > ts[k]))
            return FMD_EGRID;
    fmd_streams streams;
    int status = fmd_streams_alloc(seed, n, &streams);
    if (status != FMD_OK)
        return status;
    const size_t m = n * d;
    memset(W, 0, m * sizeof(double));   /* W_0 = 0 */
    for (size_t k = 0; k + 1 < nt; k++) {
        double *prev = W + k * m, *next = W + (k + 1) * m;
        double s = sqrt(ts[k + 1] - ts[k]);
        fmd_streams_gaussian(&streams, n, d, next, 1);
        for (size_t i = 0; i < m; i++)
            next[i] = prev[i] + s * next[i];   /* Gaussian, independent increments */
    }
    fmd_streams_free(&streams);
    return FMD_OK;
}
