/* sde.c -- Euler-Maruyama, stochastic Heun and Brownian paths. */
#include "flows/sde.h"
#include "base/status.h"

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
    fmd_team_free(ws->team);
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

/* Draw block b's increments W_{t+h} - W_t ~ N(0, h I) from its stream. */
static void draw_increments(fmd_sde_workspace *ws, fmd_streams *streams, size_t b, size_t cnt, double h)
{
    double *w = ws->dw + b * FMD_BLOCK * ws->d;
    const double sqrt_h = sqrt(h);
    fmd_rng_gaussian(streams->block[b], cnt * ws->d, w);
    for (size_t i = 0; i < cnt * ws->d; i++)
        w[i] *= sqrt_h;
}

/* One step of every block with given increments, as team tasks. */
typedef struct {
    fmd_sde_workspace *ws;
    const fmd_sde *sde;
    double t, h;
    const double *x, *dw;
    double *xnew;
} step_job;

static int step_task(void *ctx, size_t b, int thread)
{
    (void)thread;
    const step_job *J = ctx;
    const size_t n = J->ws->n, i0 = b * FMD_BLOCK, cnt = i0 + FMD_BLOCK <= n ? FMD_BLOCK : n - i0;
    J->ws->block_status[b] = step_block(J->ws, J->sde, J->t, J->h, i0, cnt, J->x, J->dw, J->xnew);
    return FMD_OK;
}

/* The status of the first block that failed, or FMD_OK. */
static int first_block_status(const fmd_sde_workspace *ws)
{
    for (size_t b = 0; b < fmd_nblocks(ws->n); b++)
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
    step_job job = {ws, sde, t, h, x, dw, x_new};
    status = fmd_team_ensure(&ws->team, ws->threads);
    if (status == FMD_OK)
        status = fmd_team_run(ws->team, fmd_nblocks(ws->n), step_task, &job);
    ws->nfe += (unsigned long)ws->type->drift_evals;
    return status == FMD_OK ? first_block_status(ws) : status;
}

/* One block of particles along the whole grid, drawing its increments from
 * its own stream step by step, as a team task: blocks never wait for one
 * another, and the numbers each block sees do not depend on the threads. */
typedef struct {
    fmd_sde_workspace *ws;
    const fmd_sde *sde;
    const double *ts;
    size_t nt;
    double *x, *path;
    fmd_streams *streams;
} grid_job;

static int grid_task(void *ctx, size_t b, int thread)
{
    (void)thread;
    const grid_job *J = ctx;
    fmd_sde_workspace *ws = J->ws;
    const size_t n = ws->n, d = ws->d, i0 = b * FMD_BLOCK, cnt = i0 + FMD_BLOCK <= n ? FMD_BLOCK : n - i0;
    const size_t off = i0 * d, mb = cnt * d;
    ws->block_status[b] = FMD_OK;
    for (size_t k = 0; k + 1 < J->nt; k++) {
        const double h = J->ts[k + 1] - J->ts[k];
        draw_increments(ws, J->streams, b, cnt, h);
        int status = step_block(ws, J->sde, J->ts[k], h, i0, cnt, J->x, ws->dw, ws->xnew);
        if (status != FMD_OK) {
            ws->block_status[b] = status;
            return FMD_OK;   /* reported by the driver, in block order */
        }
        memcpy(J->x + off, ws->xnew + off, mb * sizeof(double));
        if (J->path)
            memcpy(J->path + (k + 1) * n * d + off, J->x + off, mb * sizeof(double));
    }
    return FMD_OK;
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
    grid_job job = {ws, sde, ts, nt, x, path, &streams};
    status = fmd_team_ensure(&ws->team, ws->threads);
    if (status == FMD_OK)
        status = fmd_team_run(ws->team, fmd_nblocks(ws->n), grid_task, &job);
    if (status == FMD_OK)
        status = first_block_status(ws);
    ws->nfe += (unsigned long)(nt - 1) * (unsigned long)ws->type->drift_evals;
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
        fmd_streams_gaussian(&streams, n, d, next);
        for (size_t i = 0; i < m; i++)
            next[i] = prev[i] + s * next[i];   /* Gaussian, independent increments */
    }
    fmd_streams_free(&streams);
    return FMD_OK;
}
