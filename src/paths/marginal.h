/* marginal.h -- the exact marginal probability path of a Gaussian mixture.
 *
 * Promise (Thm 10 and its companions): if p_data = sum_k w_k N(mu_k, Sigma_k)
 * and p_t(x | z) = N(alpha_t z, beta_t^2 I), then p_t is again a mixture,
 *     p_t = sum_k w_k N(alpha_t mu_k, C_k),   C_k = alpha_t^2 Sigma_k + beta_t^2 I,
 * and every training target of the course is a closed form in the
 * responsibilities r_k(x) = w_k N_k(x) / p_t(x) and v_k = C_k^{-1}(x - alpha_t mu_k):
 *     grad log p_t(x) = -sum_k r_k v_k                        (marginal score)
 *     E[z | x_t = x]  = sum_k r_k (mu_k + alpha_t Sigma_k v_k)  (posterior mean)
 *     u_t(x)          = alpha_dot E[z|x] + beta_dot E[eps|x]
 *                     = alpha_dot E[z|x] - beta beta_dot grad log p_t(x)   (Thm 10)
 * The last form never divides by alpha_t or beta_t and uses beta*beta_dot,
 * which the schedules keep finite: with positive definite Sigma_k every
 * quantity is finite and correct on [0, 1], both ends included, and far from
 * every component (log-sum-exp; 1e3 standard deviations away is fine).
 * For an empirical data set (Sigma_k = 0) the same holds for t < 1; at
 * t = 1 the marginal is a sum of point masses and fmd_marginal_set_time
 * returns FMD_EDOM. A low-rank mixture (Sigma_k = diag(D_k) + F_k F_k^T)
 * takes the same general path with C_k^{-1} applied by the Woodbury
 * identity and log det C_k by the determinant lemma: O(d r) per point and
 * component, O(d r^2 + r^3) per component and time, no d x d matrix. */
#ifndef FMD_MARGINAL_H
#define FMD_MARGINAL_H

#include <stddef.h>
#include "paths/gmm.h"
#include "paths/lowrank.h"
#include "paths/schedule.h"

/* The marginal path of one mixture at one time t (a time slice). */
typedef struct {
    const fmd_gmm *g;     /* the data distribution (not owned) */
    double t;
    fmd_sched_point s;    /* alpha_t, beta_t, ... */
    double *cinv;         /* (K, d, d) C_k^{-1} */
    double *log_norm;     /* (K) log w_k - (1/2) log det C_k - (d/2) log 2 pi */
    double *tr_cinv;      /* (K) tr C_k^{-1} */
    double *tr_sig_cinv;  /* (K) tr (Sigma_k C_k^{-1}) */
    double *iso_var;      /* (K) s_k^2 if Sigma_k = s_k^2 I (then C_k = c_k I and
                             v_k = delta / c_k costs O(d), not O(d^2)); -1 otherwise */
    double *work;         /* (K, d) scratch for one factorisation */
    double *field_cb;     /* (K, d, 2d) [C_k^{-1} | B_k^T] of the fast field path
                             (marginal_field.c); NULL if every component is isotropic */
    double *field_b;      /* (K) isotropic components: B_k = field_b[k] I */
    fmd_lowrank *lowrank; /* (K) low-rank mixtures (g->rank > 0): C_k factorised by
                             Woodbury (lowrank.h), cinv and field_cb unused (NULL) */
    double *lowrank_mem;  /* their arrays, and scratch */
    double *lowrank_field;/* the field path's matrices of a low-rank mixture
                             (src/paths/marginal_lowrank.c) */
} fmd_marginal;

int fmd_marginal_alloc(const fmd_gmm *g, fmd_marginal **out);
void fmd_marginal_free(fmd_marginal *m);

/* Move the slice to time t of schedule sch (t in [0, 1]). */
int fmd_marginal_set_time(fmd_marginal *m, const fmd_schedule *sch, double t);

/* Move the slice to any Gaussian-path point (alpha, beta >= 0; the
 * derivatives matter only for u, d/dt log p and div u): the law of
 * alpha z + beta eps, for the discrete samplers of chapter 6, whose noise
 * levels need not lie on a named schedule. m->t becomes NaN. */
int fmd_marginal_set_point(fmd_marginal *m, const fmd_sched_point *s);

/* What to evaluate; every pointer may be NULL (not wanted). */
typedef struct {
    double *logp;        /* (n) log p_t(x) */
    double *score;       /* (n, d) grad log p_t(x) */
    double *zmean;       /* (n, d) E[z | x_t = x] */
    double *u;           /* (n, d) the marginal vector field u_t(x) */
    double *dlogp_dt;    /* (n) d/dt log p_t(x), so d/dt p_t = p_t * dlogp_dt */
    double *div_u;       /* (n) div u_t(x) */
    double *lap_over_p;  /* (n) (Laplacian p_t)(x) / p_t(x) */
} fmd_marginal_out;

/* Evaluate at n points x (n, d). Read-only in m: threads may share a slice.
 * When only u and/or the score are asked for, this is the fast path below. */
int fmd_marginal_eval(const fmd_marginal *m, size_t n, const double *x, const fmd_marginal_out *out);

/* The fast path (src/paths/marginal_field.c): u (n, d) and/or score (n, d), either
 * may be NULL, by u = sum_k r_k (alpha_dot mu_k + B_k delta_k) with one
 * matrix B_k per component and time, vectorized along the points. Agrees with
 * the general path to rounding (verify/test_marginal.c). */
int fmd_marginal_field_eval(const fmd_marginal *m, size_t n, const double *x, double *u, double *score);

/* The same for a low-rank mixture (src/paths/marginal_lowrank.c): two BLIS
 * products per block of points; fmd_marginal_field_eval calls it. */
int fmd_marginal_lowrank_field_eval(const fmd_marginal *m, size_t n, const double *x, double *u, double *score);

/* Its matrices for the slice's time (called by fmd_marginal_set_point), and
 * how many numbers they take. */
int fmd_marginal_lowrank_prepare(fmd_marginal *m);
size_t fmd_marginal_lowrank_field_size(size_t d, size_t K, size_t r);

/* Make B_k for the slice's time (called by fmd_marginal_set_point). */
int fmd_marginal_prepare_field(fmd_marginal *m);

/* CDF at s of the projection a.x of p_t (a has d numbers): the 1-D mixture
 * sum_k w_k N(alpha a.mu_k, a^T C_k a). For distribution tests. */
double fmd_marginal_projected_cdf(const fmd_marginal *m, const double *a, double s);

/* Density of the same projection (for plots of a 1-D law). */
double fmd_marginal_projected_pdf(const fmd_marginal *m, const double *a, double s);

/* Thm 10 by its definition, u_t(x) = E[u_t(x|z) | x_t = x], estimated by
 * self-normalised importance sampling with M draws z ~ p_data weighted by
 * p_t(x|z); u_est, u_se (d each) get the estimate and its delta-method
 * standard error. Needs 0 < t < 1 (beta > 0). An independent check of the
 * closed form, for the chapter program and the tests. */
int fmd_marginal_field_mc(const fmd_marginal *m, const double *x, size_t M, gsl_rng *r,
                          double *u_est, double *u_se);

/* Draws from p_t: x = alpha_t z + beta_t eps, z ~ p_data, eps ~ N(0, I). */
int fmd_marginal_sample(const fmd_marginal *m, gsl_rng *r, size_t n, double *x);

/* grad log p_data(x) of a mixture with positive definite covariances, at n
 * points x (n, d) into out (n, d): the marginal score at t = 1, where every
 * schedule has alpha = 1, beta = 0. */
int fmd_gmm_score(const fmd_gmm *g, size_t n, const double *x, double *out);

/* ---- the marginal field as a field and as an SDE ------------------------ */

/* Parameters of the field u_t(x) (and of the extended SDE drift). */
typedef struct {
    const fmd_gmm *g;
    const fmd_schedule *sch;
    double (*sigma)(double t, void *p);  /* sigma_t of Thm 13; NULL = 0 */
    void *sigma_params;
} fmd_marginal_field_params;

/* u_t(x) for the ODE solvers: an fmd_field_fn with fmd_marginal_field_params. */
int fmd_marginal_field(double t, size_t n, size_t d, const double *x, double *out, void *params);

/* div u_t(x) at n points into div (n): the analytic divergence, for the
 * change-of-variables likelihood (likelihood.h); params as above. */
int fmd_marginal_divergence(double t, size_t n, size_t d, const double *x, double *div, void *params);

/* log p_t(x) of a slice at n points (params: const fmd_marginal *), as the
 * start density of a likelihood computation. */
int fmd_marginal_log_density(size_t n, size_t d, const double *x, double *logp, void *slice);

/* Thm 13 (SDE extension trick): the drift u_t(x) + (sigma_t^2 / 2) grad log p_t(x),
 * so that dX = drift dt + sigma_t dW keeps X_t ~ p_t. An fmd_field_fn. */
int fmd_marginal_sde_drift(double t, size_t n, size_t d, const double *x, double *out, void *params);

/* Remark 16 (Langevin dynamics): drift (sigma^2 / 2) grad log p(x) for a fixed
 * density p = p_data (params: fmd_langevin_params). dX = drift dt + sigma dW
 * leaves p invariant and converges to it. */
typedef struct {
    const fmd_gmm *g;    /* p, positive definite covariances */
    double sigma;        /* constant diffusion coefficient */
} fmd_langevin_params;
int fmd_langevin_drift(double t, size_t n, size_t d, const double *x, double *out, void *params);

#endif
