/* likelihood.c -- the instantaneous change of variables, integrated backwards. */
#include "sde_view/likelihood.h"
#include "base/rng.h"
#include "base/status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const fmd_likelihood_config *cfg;
    size_t d, K;   /* data dimension; probes (1 for exact and fd) */
} augmented;

/* state of one particle: [x (d), l (K), eps (K d) for Hutchinson] */
static size_t state_dim(const fmd_likelihood_config *c, size_t d, size_t K)
{
    int hutch = c->method == FMD_DIV_HUTCHINSON_RADEMACHER || c->method == FMD_DIV_HUTCHINSON_GAUSSIAN;
    return d + K + (hutch ? K * d : 0);
}

/* the augmented field: dx/dt = u, dl_k/dt = -div_k, d eps/dt = 0 */
static int augmented_field(double t, size_t n, size_t D, const double *X, double *out, void *params)
{
    const augmented *A = params;
    const fmd_likelihood_config *c = A->cfg;
    const size_t d = A->d, K = A->K;
    double *x = malloc(n * d * sizeof(double)), *u = malloc(n * d * sizeof(double));
    double *xp = malloc(n * d * sizeof(double)), *up = malloc(n * d * sizeof(double)), *um = malloc(n * d * sizeof(double));
    double *div = malloc(n * sizeof(double));
    int status = (x && u && xp && up && um && div) ? FMD_OK : FMD_ENOMEM;
    for (size_t i = 0; status == FMD_OK && i < n; i++)
        memcpy(x + i * d, X + i * D, d * sizeof(double));
    if (status == FMD_OK)
        status = c->u->eval(t, n, d, x, u, c->u->params);
    for (size_t i = 0; status == FMD_OK && i < n; i++) {
        memcpy(out + i * D, u + i * d, d * sizeof(double));
        memset(out + i * D + d, 0, (D - d) * sizeof(double));
    }
    if (status == FMD_OK && c->method == FMD_DIV_EXACT) {
        status = c->div(t, n, d, x, div, c->div_params);
        for (size_t i = 0; status == FMD_OK && i < n; i++)
            out[i * D + d] = -div[i];
    } else if (status == FMD_OK && c->method == FMD_DIV_FD) {
        /* sum_j (u_j(x + h e_j) - u_j(x - h e_j)) / 2h, h = 1e-5 (1 + |x_j|) */
        memset(div, 0, n * sizeof(double));
        for (size_t j = 0; status == FMD_OK && j < d; j++) {
            memcpy(xp, x, n * d * sizeof(double));
            for (size_t i = 0; i < n; i++)
                xp[i * d + j] += 1e-5 * (1.0 + fabs(x[i * d + j]));
            status = c->u->eval(t, n, d, xp, up, c->u->params);
            memcpy(xp, x, n * d * sizeof(double));
            for (size_t i = 0; i < n; i++)
                xp[i * d + j] -= 1e-5 * (1.0 + fabs(x[i * d + j]));
            if (status == FMD_OK)
                status = c->u->eval(t, n, d, xp, um, c->u->params);
            for (size_t i = 0; status == FMD_OK && i < n; i++)
                div[i] += (up[i * d + j] - um[i * d + j]) / (2e-5 * (1.0 + fabs(x[i * d + j])));
        }
        for (size_t i = 0; status == FMD_OK && i < n; i++)
            out[i * D + d] = -div[i];
    } else if (status == FMD_OK) {
        /* Hutchinson: eps_k^T (u(x + h eps_k) - u(x - h eps_k)) / 2h, h = 1e-5 */
        const double h = 1e-5;
        for (size_t k = 0; status == FMD_OK && k < K; k++) {
            for (size_t i = 0; i < n; i++) {
                const double *e = X + i * D + d + K + k * d;
                for (size_t j = 0; j < d; j++)
                    xp[i * d + j] = x[i * d + j] + h * e[j];
            }
            status = c->u->eval(t, n, d, xp, up, c->u->params);
            for (size_t i = 0; i < n; i++) {
                const double *e = X + i * D + d + K + k * d;
                for (size_t j = 0; j < d; j++)
                    xp[i * d + j] = x[i * d + j] - h * e[j];
            }
            if (status == FMD_OK)
                status = c->u->eval(t, n, d, xp, um, c->u->params);
            for (size_t i = 0; status == FMD_OK && i < n; i++) {
                const double *e = X + i * D + d + K + k * d;
                double q = 0.0;
                for (size_t j = 0; j < d; j++)
                    q += e[j] * (up[i * d + j] - um[i * d + j]);
                out[i * D + d + k] = -q / (2.0 * h);
            }
        }
    }
    free(x), free(u), free(xp), free(up), free(um), free(div);
    return status;
}

int fmd_log_standard_normal(size_t n, size_t d, const double *x, double *logp, void *params)
{
    (void)params;
    for (size_t i = 0; i < n; i++) {
        double q = 0.0;
        for (size_t j = 0; j < d; j++)
            q += x[i * d + j] * x[i * d + j];
        logp[i] = -0.5 * q - 0.5 * (double)d * log(2.0 * M_PI);
    }
    return FMD_OK;
}

int fmd_log_likelihood(const fmd_likelihood_config *cfg, const fmd_ode_stepper_type *type,
                       const fmd_ode_control *ctl, size_t steps, double t0, double t1, size_t n, size_t d,
                       const double *x, fmd_logdensity_fn log_p0, void *p0_params, uint64_t seed,
                       double *logp, double *se, double *x0)
{
    if (!cfg || !cfg->u || !type || !x || !log_p0 || !logp || n == 0 || d == 0 || d != cfg->u->d ||
        (cfg->method == FMD_DIV_EXACT && !cfg->div) || (!ctl && steps == 0))
        return FMD_EINVAL;
    const int hutch = cfg->method == FMD_DIV_HUTCHINSON_RADEMACHER || cfg->method == FMD_DIV_HUTCHINSON_GAUSSIAN;
    const size_t K = hutch ? (cfg->probes ? cfg->probes : 1) : 1, D = state_dim(cfg, d, K);
    double *X = calloc(n * D, sizeof(double)), *eps = hutch ? malloc(n * K * d * sizeof(double)) : NULL;
    double *p0 = malloc(n * sizeof(double)), *xs = malloc(n * d * sizeof(double)), *ts = NULL;
    int status = (X && p0 && xs && (!hutch || eps)) ? FMD_OK : FMD_ENOMEM;
    if (status == FMD_OK && hutch) {   /* probes from the streams of seed, block by block */
        fmd_streams st;
        status = fmd_streams_alloc(seed, n, &st);
        if (status == FMD_OK) {
            fmd_streams_gaussian(&st, n, K * d, eps);
            fmd_streams_free(&st);
        }
        for (size_t i = 0; cfg->method == FMD_DIV_HUTCHINSON_RADEMACHER && i < n * K * d; i++)
            eps[i] = eps[i] < 0.0 ? -1.0 : 1.0;   /* the sign of a Gaussian: Rademacher */
    }
    for (size_t i = 0; status == FMD_OK && i < n; i++) {
        memcpy(X + i * D, x + i * d, d * sizeof(double));
        if (hutch)
            memcpy(X + i * D + d + K, eps + i * K * d, K * d * sizeof(double));
    }
    augmented A = {cfg, d, K};
    fmd_field aug = {augmented_field, D, &A};
    fmd_ode_workspace *ws = NULL;
    if (status == FMD_OK)
        status = fmd_ode_workspace_alloc(type, n, D, &ws);
    if (status == FMD_OK)
        ws->threads = cfg->threads;
    if (status == FMD_OK && ctl) {
        status = fmd_ode_solve_adaptive(ws, &aug, t1, t0, X, ctl);   /* backwards */
    } else if (status == FMD_OK) {
        ts = malloc((steps + 1) * sizeof(double));
        status = ts ? fmd_time_grid(t1, t0, steps, ts) : FMD_ENOMEM;
        if (status == FMD_OK)
            status = fmd_ode_solve_grid(ws, &aug, ts, steps + 1, X, NULL);
    }
    for (size_t i = 0; status == FMD_OK && i < n; i++)
        memcpy(xs + i * d, X + i * D, d * sizeof(double));
    if (status == FMD_OK)
        status = log_p0(n, d, xs, p0, p0_params);
    for (size_t i = 0; status == FMD_OK && i < n; i++) {
        double m = 0.0, v = 0.0;
        for (size_t k = 0; k < K; k++)
            m += X[i * D + d + k];
        m /= (double)K;
        for (size_t k = 0; k < K; k++)
            v += (X[i * D + d + k] - m) * (X[i * D + d + k] - m);
        logp[i] = p0[i] - m;                                  /* log p_t0(x_t0) - int div */
        if (se)
            se[i] = K > 1 ? sqrt(v / (double)(K - 1) / (double)K) : 0.0;
        if (x0)
            memcpy(x0 + i * d, xs + i * d, d * sizeof(double));
    }
    fmd_ode_workspace_free(ws);
    free(X), free(eps), free(p0), free(xs), free(ts);
    return status;
}
