/* sample.c -- Algorithm 1 (Euler) and Algorithm 2 (Euler-Maruyama). */
#include "sde_view/sample.h"
#include "flows/ode.h"
#include "base/rng.h"
#include "base/status.h"

#include <math.h>
#include <stdlib.h>

int fmd_sample_init(uint64_t seed, size_t n, size_t d, double *x0)
{
    if (n == 0 || d == 0 || !x0)
        return FMD_EINVAL;
    fmd_streams streams;
    int status = fmd_streams_alloc(fmd_seed_child(seed, 0), n, &streams);
    if (status != FMD_OK)
        return status;
    fmd_streams_gaussian(&streams, n, d, x0);
    fmd_streams_free(&streams);
    return FMD_OK;
}

/* The uniform grid 0, 1/steps, ..., 1 of both algorithms. */
static int unit_grid(size_t steps, double **ts)
{
    if (steps == 0)
        return FMD_EINVAL;
    *ts = malloc((steps + 1) * sizeof(double));
    if (!*ts)
        return FMD_ENOMEM;
    return fmd_time_grid(0.0, 1.0, steps, *ts);
}

int fmd_sample_flow(const fmd_field *u, uint64_t seed, size_t n, size_t steps,
                    int threads, double *x)
{
    if (!u || !u->eval || !x || n == 0 || steps == 0)
        return FMD_EINVAL;
    double *ts = NULL;
    fmd_ode_workspace *ws = NULL;
    int status = unit_grid(steps, &ts);
    if (status == FMD_OK)
        status = fmd_ode_workspace_alloc(fmd_ode_euler, n, u->d, &ws);
    if (status == FMD_OK) {
        ws->threads = threads;
        status = fmd_sample_init(seed, n, u->d, x);            /* X_0 ~ p_init */
    }
    if (status == FMD_OK)
        status = fmd_ode_solve_grid(ws, u, ts, steps + 1, x, NULL); /* Euler to t = 1 */
    fmd_ode_workspace_free(ws);
    free(ts);
    return status;
}

int fmd_sample_diffusion(const fmd_field *u, const fmd_sigma_schedule *sigma, uint64_t seed,
                         size_t n, size_t steps, int threads, double *x)
{
    if (!u || !u->eval || !sigma || !sigma->sigma || !x || n == 0 || steps == 0)
        return FMD_EINVAL;
    fmd_sde sde = {*u, fmd_diffusion_sigma_t, (void *)sigma};
    double *ts = NULL;
    fmd_sde_workspace *ws = NULL;
    int status = unit_grid(steps, &ts);
    if (status == FMD_OK)
        status = fmd_sde_workspace_alloc(fmd_sde_em, n, u->d, &ws);
    if (status == FMD_OK) {
        ws->threads = threads;
        status = fmd_sample_init(seed, n, u->d, x);            /* X_0 ~ p_init */
    }
    if (status == FMD_OK)   /* Euler-Maruyama to t = 1 */
        status = fmd_sde_solve_grid(ws, &sde, ts, steps + 1, x, fmd_seed_child(seed, 1), NULL);
    fmd_sde_workspace_free(ws);
    free(ts);
    return status;
}

/* The drift for a network that predicts the score (or the noise): Prop 1
 * written with eta = beta s, which stays finite at beta = 0. */
static int score_model_drift(const fmd_sched_point *s, double S, fmd_prediction predicts, size_t m,
                             const double *x, double *out)
{
    const double k = s->beta * s->alpha_dot - s->alpha * s->beta_dot;
    if (s->alpha == 0.0 || !isfinite(k))
        return FMD_EDOM;    /* t = 0, or t = 1 for lab and vp: see sample.h */
    const double eta_scale = predicts == FMD_PREDICTS_NOISE ? -1.0 : s->beta;   /* eta = -eps or beta s */
    const double add = 0.5 * S * S * s->beta;    /* (sigma_t^2 / 2) s = (S^2/2) beta eta */
    for (size_t i = 0; i < m; i++) {
        double eta = eta_scale * out[i];
        out[i] = (s->alpha_dot * x[i] + k * eta) / s->alpha + add * eta;
    }
    return FMD_OK;
}

/* The drift for a network that predicts the clean data D = E[z | x]. */
static int denoiser_drift(const fmd_sched_point *s, double S, size_t m, const double *x, double *out)
{
    if (s->beta == 0.0)
        return FMD_EDOM;   /* t = 1: see sample.h */
    const double k = s->beta_dot / s->beta, add = 0.5 * S * S;
    for (size_t i = 0; i < m; i++) {
        double D = out[i], eps = x[i] - s->alpha * D;   /* beta E[eps | x] */
        out[i] = s->alpha_dot * D + k * eps - add * eps;
    }
    return FMD_OK;
}

int fmd_flow_sde_drift(double t, size_t n, size_t d, const double *x, double *out, void *params)
{
    const fmd_flow_sde_params *P = params;
    fmd_sched_point s;
    int status = fmd_schedule_at(&P->sch, t, &s);
    if (status == FMD_OK)
        status = P->u->eval(t, n, d, x, out, P->u->params);
    if (status != FMD_OK)
        return status;
    if (P->predicts == FMD_PREDICTS_DATA)
        return denoiser_drift(&s, P->S, n * d, x, out);
    if (P->predicts != FMD_PREDICTS_FIELD)
        return score_model_drift(&s, P->S, P->predicts, n * d, x, out);
    if (s.beta == 0.0 || P->S == 0.0)
        return FMD_OK;   /* sigma_t = 0: the added drift vanishes */
    if (P->score) {   /* Thm 13 with two heads (section 4.2): u_theta + (sigma_t^2 / 2) s_theta, no conversion */
        double *sc = malloc(n * d * sizeof(double)), half = 0.5 * P->S * P->S * s.beta * s.beta;
        status = sc ? P->score->eval(t, n, d, x, sc, P->score->params) : FMD_ENOMEM;
        for (size_t i = 0; status == FMD_OK && i < n * d; i++)
            out[i] += half * sc[i];
        free(sc);
        return status;
    }
    /* (sigma_t^2 / 2) s = (S^2/2) beta (alpha u - alpha_dot x) / (beta alpha_dot - alpha beta_dot) */
    double k = 0.5 * P->S * P->S * s.beta / (s.beta * s.alpha_dot - s.alpha * s.beta_dot);
    for (size_t i = 0; i < n * d; i++)
        out[i] += k * (s.alpha * out[i] - s.alpha_dot * x[i]);
    return FMD_OK;
}

int fmd_flow_sde_sigma(double t, size_t n, size_t d, const double *x, double *g, void *params)
{
    (void)x;
    const fmd_flow_sde_params *P = params;
    fmd_sched_point s;
    fmd_schedule_at(&P->sch, t, &s);
    for (size_t i = 0; i < n * d; i++)
        g[i] = P->S * s.beta;
    return FMD_OK;
}

void fmd_model_time_range(fmd_prediction predicts, int preconditioned, double t_max, double *t0, double *t1)
{
    *t0 = predicts == FMD_PREDICTS_FIELD || predicts == FMD_PREDICTS_DATA ? 0.0 : preconditioned ? 1e-3 : 0.05;
    *t1 = predicts == FMD_PREDICTS_FIELD ? 1.0 : fmin(t_max, 1.0 - 1e-3);
}
