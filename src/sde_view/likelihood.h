/* likelihood.h -- chapter 6: exact log-likelihoods of a flow by the
 * instantaneous change of variables (`002`, `003`).
 *
 * Promise: along a solution of dx/dt = u_t(x), the density obeys
 *     d/dt log p_t(x_t) = -div u_t(x_t),
 * so log p_1(x) = log p_0(x_0) - int_0^1 div u_t(x_t) dt, where x_0 comes
 * from integrating the ODE backwards from x. We integrate the augmented
 * state (x, l_1..l_K, eps_1..eps_K) backwards from t1 to t0 with
 * dl_k/dt = -div_k, where div_k is
 *   exact       the field's own divergence (K = 1; e.g. the mixture's analytic div u),
 *   fd          central differences, sum_i (u_i(x + h e_i) - u_i(x - h e_i)) / 2h
 *               (2d evaluations; truncation O(h^2), rounding O(eps/h); h = 1e-5 (1 + |x|)),
 *   hutchinson  eps_k^T J eps_k with J eps_k = (u(x + h eps_k) - u(x - h eps_k)) / 2h,
 *               eps_k Rademacher or Gaussian, fixed along the path (they ride in the
 *               state, so each particle keeps its own probes whatever the solver's blocks);
 *               E[eps^T J eps] = tr J for the exact product J eps, so each l_k
 *               would be unbiased; the central difference replaces J eps by J eps
 *               + O(h^2 |u'''| |eps|^3), so the estimate is unbiased only up to that
 *               O(h^2) term (h = 1e-5: about 1e-10 relative, far below the probes'
 *               spread, which gives a standard error per point).
 * The estimate is log p_t0(x_t0) - mean_k l_k(t0). */
#ifndef FMD_LIKELIHOOD_H
#define FMD_LIKELIHOOD_H

#include <stddef.h>
#include <stdint.h>
#include "flows/field.h"
#include "flows/ode.h"

typedef enum { FMD_DIV_EXACT, FMD_DIV_FD, FMD_DIV_HUTCHINSON_RADEMACHER, FMD_DIV_HUTCHINSON_GAUSSIAN } fmd_div_method;

/* div u_t at n points (n numbers into div): same contract as fmd_field_fn. */
typedef int (*fmd_divergence_fn)(double t, size_t n, size_t d, const double *x, double *div, void *params);

/* A log-density of the start distribution at time t0: n points into logp. */
typedef int (*fmd_logdensity_fn)(size_t n, size_t d, const double *x, double *logp, void *params);

typedef struct {
    const fmd_field *u;           /* the flow */
    fmd_div_method method;
    fmd_divergence_fn div;        /* FMD_DIV_EXACT only */
    void *div_params;
    size_t probes;                /* K for Hutchinson (>= 2 for a standard error); 1 otherwise */
    int threads;                  /* for the ODE's blocks of particles (0 or 1: the caller's only) */
} fmd_likelihood_config;

/* log p_t1(x) for n points x (n, d): integrate back to t0 by the stepper
 * type (adaptive if ctl is non-NULL and the type has an error estimate,
 * else a uniform grid of `steps`), then add log p_t0 by log_p0. logp (n)
 * gets the estimates; se (n, may be NULL) Hutchinson's standard errors (0
 * otherwise); x0 (n, d, may be NULL) the points at t0. Probes come from the
 * streams of seed. */
int fmd_log_likelihood(const fmd_likelihood_config *cfg, const fmd_ode_stepper_type *type,
                       const fmd_ode_control *ctl, size_t steps, double t0, double t1, size_t n, size_t d,
                       const double *x, fmd_logdensity_fn log_p0, void *p0_params, uint64_t seed,
                       double *logp, double *se, double *x0);

/* log N(x; 0, I): the course's p_init. */
int fmd_log_standard_normal(size_t n, size_t d, const double *x, double *logp, void *params);

#endif
