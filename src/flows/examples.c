/* examples.c -- closed-form fields, flows and SDEs of chapter 2. */
#include "flows/examples.h"
#include "base/status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- Example 4: linear field ------------------------------------------ */

int fmd_linear_field(double t, size_t n, size_t d, const double *x, double *out, void *params)
{
    (void)t;
    double theta = ((const fmd_linear_params *)params)->theta;
    for (size_t i = 0; i < n * d; i++)
        out[i] = -theta * x[i];   /* Ex 4: u_t(x) = -theta x */
    return FMD_OK;
}

void fmd_linear_flow(double theta, double t, size_t m, const double *x0, double *out)
{
    double decay = exp(-theta * t);   /* Ex 4: psi_t(x0) = e^{-theta t} x0 */
    for (size_t i = 0; i < m; i++)
        out[i] = decay * x0[i];
}

/* ---- rotation --------------------------------------------------------- */

int fmd_rotation_field(double t, size_t n, size_t d, const double *x, double *out, void *params)
{
    (void)t;
    if (d != 2)
        return FMD_EINVAL;
    double omega = ((const fmd_rotation_params *)params)->omega;
    for (size_t i = 0; i < n; i++) {
        double x1 = x[2 * i], x2 = x[2 * i + 1];
        out[2 * i] = -omega * x2;
        out[2 * i + 1] = omega * x1;
    }
    return FMD_OK;
}

void fmd_rotation_flow(double omega, double t, size_t n, const double *x0, double *out)
{
    double c = cos(omega * t), s = sin(omega * t);
    for (size_t i = 0; i < n; i++) {
        double x1 = x0[2 * i], x2 = x0[2 * i + 1];
        out[2 * i] = c * x1 - s * x2;
        out[2 * i + 1] = s * x1 + c * x2;
    }
}

/* ---- spiral ----------------------------------------------------------- */

int fmd_spiral_field(double t, size_t n, size_t d, const double *x, double *out, void *params)
{
    (void)t;
    if (d != 2)
        return FMD_EINVAL;
    const fmd_spiral_params *p = params;
    for (size_t i = 0; i < n; i++) {
        double x1 = x[2 * i], x2 = x[2 * i + 1];
        out[2 * i] = -p->theta * x1 - p->omega * x2;
        out[2 * i + 1] = -p->theta * x2 + p->omega * x1;
    }
    return FMD_OK;
}

void fmd_spiral_flow(const fmd_spiral_params *p, double t, size_t n, const double *x0, double *out)
{
    fmd_rotation_flow(p->omega, t, n, x0, out);
    fmd_linear_flow(p->theta, t, 2 * n, out, out);
}

/* ---- nonlinear scalar ------------------------------------------------- */

int fmd_riccati_field(double t, size_t n, size_t d, const double *x, double *out, void *params)
{
    (void)params;
    for (size_t i = 0; i < n * d; i++)
        out[i] = -t * x[i] * x[i];
    return FMD_OK;
}

void fmd_riccati_flow(double t, size_t m, const double *x0, double *out)
{
    for (size_t i = 0; i < m; i++)
        out[i] = x0[i] / (1.0 + 0.5 * x0[i] * t * t);
}

/* ---- monomials in t --------------------------------------------------- */

int fmd_monomial_field(double t, size_t n, size_t d, const double *x, double *out, void *params)
{
    (void)x;
    int k = ((const fmd_monomial_params *)params)->k;
    double v = 1.0;
    for (int j = 0; j < k; j++)
        v *= t;
    for (size_t i = 0; i < n * d; i++)
        out[i] = v;
    return FMD_OK;
}

/* ---- Ornstein-Uhlenbeck ----------------------------------------------- */

static int ou_drift(double t, size_t n, size_t d, const double *x, double *out, void *params)
{
    (void)t;
    double theta = ((const fmd_ou_params *)params)->theta;
    for (size_t i = 0; i < n * d; i++)
        out[i] = -theta * x[i];
    return FMD_OK;
}

static int ou_diffusion(double t, size_t n, size_t d, const double *x, double *g, void *params)
{
    (void)t;
    (void)x;
    double sigma = ((const fmd_ou_params *)params)->sigma;
    for (size_t i = 0; i < n * d; i++)
        g[i] = sigma;
    return FMD_OK;
}

fmd_sde fmd_ou_sde(const fmd_ou_params *p, size_t d)
{
    fmd_sde sde = {{ou_drift, d, (void *)p}, ou_diffusion, (void *)p};
    return sde;
}

double fmd_ou_mean(const fmd_ou_params *p, double t, double x0)
{
    return exp(-p->theta * t) * x0;
}

double fmd_ou_variance(const fmd_ou_params *p, double t)
{
    /* sigma^2/(2 theta) (1 - e^{-2 theta t}), with expm1 so small t stays accurate */
    return -p->sigma * p->sigma / (2.0 * p->theta) * expm1(-2.0 * p->theta * t);
}

double fmd_ou_stationary_variance(const fmd_ou_params *p)
{
    return p->sigma * p->sigma / (2.0 * p->theta);
}

/* ---- geometric Brownian motion ---------------------------------------- */

static int gbm_drift(double t, size_t n, size_t d, const double *x, double *out, void *params)
{
    (void)t;
    double mu = ((const fmd_gbm_params *)params)->mu;
    for (size_t i = 0; i < n * d; i++)
        out[i] = mu * x[i];
    return FMD_OK;
}

static int gbm_diffusion(double t, size_t n, size_t d, const double *x, double *g, void *params)
{
    (void)t;
    double sigma = ((const fmd_gbm_params *)params)->sigma;
    for (size_t i = 0; i < n * d; i++)
        g[i] = sigma * x[i];
    return FMD_OK;
}

fmd_sde fmd_gbm_sde(const fmd_gbm_params *p, size_t d)
{
    fmd_sde sde = {{gbm_drift, d, (void *)p}, gbm_diffusion, (void *)p};
    return sde;
}

double fmd_gbm_exact(const fmd_gbm_params *p, double t, double x0, double W_t)
{
    return x0 * exp((p->mu - 0.5 * p->sigma * p->sigma) * t + p->sigma * W_t);
}

/* ---- non-Lipschitz field ---------------------------------------------- */

int fmd_nonlipschitz_field(double t, size_t n, size_t d, const double *x, double *out, void *params)
{
    (void)t;
    (void)params;
    for (size_t i = 0; i < n * d; i++)
        out[i] = 2.0 * sqrt(fabs(x[i]));
    return FMD_OK;
}

double fmd_nonlipschitz_solution(double c, double t)
{
    return t <= c ? 0.0 : (t - c) * (t - c);
}

/* ---- reference problems ----------------------------------------------- */

static fmd_linear_params ref_linear = {1.37};
static fmd_rotation_params ref_rotation = {2.385};

static void ref_linear_exact(double t, size_t n, const double *x0, double *out)
{
    fmd_linear_flow(ref_linear.theta, t, 2 * n, x0, out);
}

static void ref_rotation_exact(double t, size_t n, const double *x0, double *out)
{
    fmd_rotation_flow(ref_rotation.omega, t, n, x0, out);
}

static void ref_riccati_exact(double t, size_t n, const double *x0, double *out)
{
    fmd_riccati_flow(t, 2 * n, x0, out);
}

const fmd_ref_problem fmd_ref_problems[FMD_NREF] = {
    {"linear (Ex 4)", {fmd_linear_field, 2, &ref_linear}, 1.5, ref_linear_exact},
    {"rotation", {fmd_rotation_field, 2, &ref_rotation}, 2.0, ref_rotation_exact},
    {"riccati -t x^2", {fmd_riccati_field, 2, NULL}, 1.0, ref_riccati_exact},
};

int fmd_ref_error(const fmd_ref_problem *p, const fmd_ode_stepper_type *type, double T,
                  size_t steps, size_t n, const double *x0, double *err)
{
    if (!p || !type || !x0 || !err || n == 0 || steps == 0)
        return FMD_EINVAL;
    const size_t m = 2 * n;
    double *x = malloc(m * sizeof(double)), *exact = malloc(m * sizeof(double));
    double *ts = malloc((steps + 1) * sizeof(double));
    fmd_ode_workspace *ws = NULL;
    int status = (!x || !exact || !ts) ? FMD_ENOMEM : FMD_OK;
    if (status == FMD_OK)
        status = fmd_time_grid(0.0, T, steps, ts);
    if (status == FMD_OK)
        status = fmd_ode_workspace_alloc(type, n, 2, &ws);
    if (status == FMD_OK) {
        memcpy(x, x0, m * sizeof(double));
        status = fmd_ode_solve_grid(ws, &p->u, ts, steps + 1, x, NULL);
    }
    if (status == FMD_OK) {
        p->exact(T, n, x0, exact);
        double worst = 0.0;
        for (size_t i = 0; i < m; i++)
            worst = fmax(worst, fabs(x[i] - exact[i]) / fabs(exact[i]));
        *err = worst;
    }
    fmd_ode_workspace_free(ws);
    free(x);
    free(exact);
    free(ts);
    return status;
}
