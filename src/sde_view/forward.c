/* forward.c -- the lectures' forward SDEs as course schedules read backwards. */
#include "sde_view/forward.h"
#include "paths/marginal.h"
#include "base/status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int fmd_forward_by_name(const char *name, fmd_forward *out)
{
    if (!out)
        return FMD_EINVAL;
    int status = fmd_schedule_by_name(name, &out->sch);
    if (status != FMD_OK)
        return status;
    out->T = strncmp(name, "ou:", 3) == 0 ? out->sch.param : 1.0;
    return FMD_OK;
}

int fmd_forward_course_time(const fmd_forward *F, double s, double *t)
{
    if (!F || !t)
        return FMD_EINVAL;
    if (!(s >= 0.0 && s <= F->T))
        return FMD_EDOM;
    *t = fmax(0.0, 1.0 - s / F->T);
    return FMD_OK;
}

int fmd_forward_coeffs(const fmd_forward *F, double s, double *f, double *g2)
{
    double t;
    fmd_sched_point p;
    int status = fmd_forward_course_time(F, s, &t);
    if (status == FMD_OK)
        status = fmd_schedule_at(&F->sch, t, &p);
    if (status != FMD_OK)
        return status;
    if (p.alpha == 0.0)
        return FMD_EDOM;
    const double r = p.alpha_dot / p.alpha;
    *f = -r / F->T;                                                      /* m'/m, d/ds = -(1/T) d/dt */
    *g2 = 2.0 * (p.beta * p.beta * r - p.beta_beta_dot) / F->T;          /* v' - 2 f v = (2/T) b_t */
    return FMD_OK;
}

int fmd_forward_kernel(const fmd_forward *F, double s, double *m, double *sd)
{
    double t;
    fmd_sched_point p;
    int status = fmd_forward_course_time(F, s, &t);
    if (status == FMD_OK)
        status = fmd_schedule_at(&F->sch, t, &p);
    if (status == FMD_OK)
        *m = p.alpha, *sd = p.beta;
    return status;
}

int fmd_forward_drift(double s, size_t n, size_t d, const double *x, double *out, void *params)
{
    const fmd_forward_params *P = params;
    double f, g2;
    int status = fmd_forward_coeffs(P->F, s, &f, &g2);
    for (size_t i = 0; status == FMD_OK && i < n * d; i++)
        out[i] = f * x[i];
    return status;
}

int fmd_forward_diffusion(double s, size_t n, size_t d, const double *x, double *g, void *params)
{
    (void)x;
    const fmd_forward_params *P = params;
    double f, g2;
    int status = fmd_forward_coeffs(P->F, s, &f, &g2);
    for (size_t i = 0; status == FMD_OK && i < n * d; i++)
        g[i] = sqrt(g2);
    return status;
}

/* grad log p_s at n points: the exact mixture marginal at t = 1 - s/T */
static int score_at(const fmd_forward_params *P, double s, size_t n, const double *x, double *score)
{
    double t;
    int status = fmd_forward_course_time(P->F, s, &t);
    fmd_marginal *m = NULL;
    if (status == FMD_OK)
        status = P->g ? fmd_marginal_alloc(P->g, &m) : FMD_EINVAL;
    if (status == FMD_OK)
        status = fmd_marginal_set_time(m, &P->F->sch, t);
    if (status == FMD_OK) {
        fmd_marginal_out o = {.score = score};
        status = fmd_marginal_eval(m, n, x, &o);
    }
    fmd_marginal_free(m);
    return status;
}

/* f x + c g^2 grad log p_s(x) at lecture time s */
static int drift_with_score(double s, double sign_f, double c, size_t n, size_t d, const double *x, double *out,
                            const fmd_forward_params *P)
{
    double f, g2;
    int status = fmd_forward_coeffs(P->F, s, &f, &g2);
    if (status == FMD_OK)
        status = score_at(P, s, n, x, out);
    for (size_t i = 0; status == FMD_OK && i < n * d; i++)
        out[i] = sign_f * f * x[i] + c * g2 * out[i];
    return status;
}

int fmd_reverse_drift(double tau, size_t n, size_t d, const double *x, double *out, void *params)
{
    const fmd_forward_params *P = params;
    return drift_with_score(P->F->T - tau, -1.0, 1.0, n, d, x, out, P);   /* -f x + g^2 grad log p */
}

int fmd_reverse_diffusion(double tau, size_t n, size_t d, const double *x, double *g, void *params)
{
    const fmd_forward_params *P = params;
    return fmd_forward_diffusion(P->F->T - tau, n, d, x, g, params);
}

int fmd_reverse_drift_shrunk(double tau, size_t n, size_t d, const double *x, double *out, void *params)
{
    const fmd_shrunk_score *w = params;
    double *g = malloc(n * d * sizeof(double));
    int status = g ? fmd_reverse_drift(tau, n, d, x, out, (void *)w->P) : FMD_ENOMEM;
    if (status == FMD_OK)
        status = fmd_reverse_diffusion(tau, n, d, x, g, (void *)w->P);
    for (size_t i = 0; status == FMD_OK && i < n * d; i++)
        out[i] -= g[i] * g[i] * w->a * x[i];   /* + g^2 delta, delta = -a x */
    free(g);
    return status;
}

int fmd_probability_flow(double s, size_t n, size_t d, const double *x, double *out, void *params)
{
    return drift_with_score(s, 1.0, -0.5, n, d, x, out, params);          /* f x - (g^2/2) grad log p */
}
