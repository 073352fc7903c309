/* test_marginal.c -- chapter 3: the exact marginal path of a Gaussian mixture.
 *
 * Thm 10 (marginalization trick) against independent quadrature and Monte
 * Carlo; the marginal score as a posterior mean; Thm 12 (continuity) and
 * Thm 15 (Fokker-Planck, with Thm 13's drift) by finite differences of p_t
 * and u_t; the analytic d/dt log p, div u, Laplacian p against finite
 * differences; Prop 1; ends of [0, 1] and far points; empirical data sets. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_integration.h>

#include "fmd.h"
#include "budget.h"
#include "mixtures.h"

static const char *const schedules[] = {"condot", "cosine", "lab", "poly:2", "vp"};
#define NSCHED 5

/* ---- Thm 10 against quadrature (d = 1, 2) ----------------------------------- */

/* p_t(x | z) p_data(z) and its moments in z, for the quadrature integrands. */
typedef struct {
    const fmd_gmm *g;
    fmd_sched_point s;
    double x[2], z1;     /* z1: the outer variable in d = 2 */
    int what;            /* 0: mass, 1..d: u(x|z)_i weighted, d+1..2d: score(x|z)_i weighted */
} integrand_params;

static double joint(const integrand_params *P, const double *z)
{
    const size_t d = P->g->d;
    double lp;
    fmd_gmm_log_density(P->g, 1, z, &lp);
    double q = 0.0;
    for (size_t i = 0; i < d; i++) {
        double r = P->x[i] - P->s.alpha * z[i];
        q += r * r;
    }
    double b2 = P->s.beta * P->s.beta;
    return exp(lp - 0.5 * q / b2 - 0.5 * (double)d * log(2 * M_PI * b2));
}

static double weight_of(const integrand_params *P, const double *z)
{
    const size_t d = P->g->d;
    int w = P->what;
    if (w == 0)
        return 1.0;
    double u[2], sc[2];
    fmd_path_cond_field(&P->s, 1, d, z, P->x, u);   /* Ex 11 */
    fmd_path_cond_score(&P->s, 1, d, z, P->x, sc);  /* Ex 14 */
    return w <= (int)d ? u[w - 1] : sc[w - 1 - (int)d];
}

static double integrand_1d(double z, void *p)
{
    integrand_params *P = p;
    return joint(P, &z) * weight_of(P, &z);
}

static double inner_2d(double z2, void *p)
{
    integrand_params *P = p;
    double z[2] = {P->z1, z2};
    return joint(P, z) * weight_of(P, z);
}

static double outer_2d(double z1, void *p)
{
    integrand_params *P = p;
    P->z1 = z1;
    gsl_integration_workspace *w = gsl_integration_workspace_alloc(2000);
    gsl_function f = {inner_2d, P};
    double v, err;
    gsl_integration_qagi(&f, 1e-13, 1e-11, 2000, w, &v, &err);
    gsl_integration_workspace_free(w);
    return v;
}

static double integrate(integrand_params *P)
{
    gsl_integration_workspace *w = gsl_integration_workspace_alloc(2000);
    gsl_function f = {P->g->d == 1 ? integrand_1d : outer_2d, P};
    double v, err;
    gsl_integration_qagi(&f, 1e-13, 1e-10, 2000, w, &v, &err);
    gsl_integration_workspace_free(w);
    return v;
}

/* u_t(x) = int u_t(x|z) p_t(x|z) p_data(z) dz / p_t(x), and the same for the
 * score, by adaptive quadrature over z (GSL qagi), against the closed forms;
 * also p_t(x) itself. Quadrature tolerance 1e-10 relative: compare to 1e-8. */
Test(marginal, field_and_score_equal_posterior_averages_by_quadrature)
{
    fmd_gsl_quiet();
    for (size_t d = 1; d <= 2; d++) {
        fmd_gmm *g = random_mixture(d, 3, 100 + d);
        for (int si = 0; si < NSCHED; si++) {
            const double ts[] = {0.2, 0.5, 0.8};
            for (int ti = 0; ti < 3; ti++) {
                if (d == 2 && ti != 1)
                    continue;   /* nested quadrature is slow: one time per schedule in 2-D */
                fmd_marginal *m = slice_at(g, schedules[si], ts[ti]);
                gsl_rng *r;
                fmd_rng_alloc(7 + si, ti, &r);
                double x[2];
                fmd_marginal_sample(m, r, 1, x);
                gsl_rng_free(r);
                double lp, u[2], sc[2];
                fmd_marginal_out out = {.logp = &lp, .u = u, .score = sc};
                fmd_marginal_eval(m, 1, x, &out);
                integrand_params P = {g, m->s, {x[0], d == 2 ? x[1] : 0}, 0, 0};
                double mass = integrate(&P);
                cr_expect(fabs(log(mass) - lp) <= 1e-8, "d = %zu %s t = %.1f: log p %.12g vs quadrature %.12g",
                          d, schedules[si], ts[ti], lp, log(mass));
                for (size_t i = 0; i < d; i++) {
                    P.what = 1 + (int)i;
                    double ui = integrate(&P) / mass;
                    P.what = 1 + (int)d + (int)i;
                    double si_ = integrate(&P) / mass;
                    cr_expect(fabs(ui - u[i]) <= 1e-8 * (1 + fabs(ui)), "d = %zu %s t = %.1f: u_%zu %.12g vs quadrature %.12g",
                              d, schedules[si], ts[ti], i, u[i], ui);
                    cr_expect(fabs(si_ - sc[i]) <= 1e-8 * (1 + fabs(si_)), "d = %zu %s t = %.1f: score_%zu %.12g vs quadrature %.12g",
                              d, schedules[si], ts[ti], i, sc[i], si_);
                }
                fmd_marginal_free(m);
            }
        }
        fmd_gmm_free(g);
    }
}

/* d = 5: self-normalised importance sampling with proposal p_data,
 *   u ~ sum_j w_j u(x|z_j) / sum_j w_j,   w_j = p_t(x|z_j),
 * its standard error by the delta method. 4 points x 5 coordinates x
 * (u, score) = 40 Gaussian checks at Z_CHECK. */
Test(marginal, field_and_score_equal_posterior_averages_by_monte_carlo)
{
    enum { d = 5, M = 400000 };
    fmd_gmm *g = random_mixture(d, 4, 105);
    double *z = malloc(sizeof(double) * M * d), *w = malloc(sizeof(double) * M);
    gsl_rng *r;
    fmd_rng_alloc(55, 0, &r);
    const double ts[] = {0.3, 0.45, 0.55, 0.6};
    for (int q = 0; q < 4; q++) {
        fmd_marginal *m = slice_at(g, schedules[q], ts[q]);
        double x[d], u[d], sc[d];
        fmd_marginal_sample(m, r, 1, x);
        fmd_marginal_out out = {.u = u, .score = sc};
        fmd_marginal_eval(m, 1, x, &out);
        fmd_gmm_sample(g, r, M, z, NULL);
        double wsum = 0.0;
        for (int j = 0; j < M; j++) {
            double qd = 0.0;
            for (int i = 0; i < d; i++) {
                double e = x[i] - m->s.alpha * z[j * d + i];
                qd += e * e;
            }
            w[j] = exp(-0.5 * qd / (m->s.beta * m->s.beta));
            wsum += w[j];
        }
        for (int i = 0; i < d; i++)
            for (int kind = 0; kind < 2; kind++) {
                double num = 0.0, var = 0.0, est;
                for (int j = 0; j < M; j++) {
                    double f, zi = z[j * d + i];
                    if (kind == 0)   /* Ex 11 */
                        f = (m->s.alpha_dot - m->s.beta_dot / m->s.beta * m->s.alpha) * zi + m->s.beta_dot / m->s.beta * x[i];
                    else             /* Ex 14 */
                        f = -(x[i] - m->s.alpha * zi) / (m->s.beta * m->s.beta);
                    num += w[j] * f;
                }
                est = num / wsum;
                for (int j = 0; j < M; j++) {
                    double f, zi = z[j * d + i];
                    if (kind == 0)
                        f = (m->s.alpha_dot - m->s.beta_dot / m->s.beta * m->s.alpha) * zi + m->s.beta_dot / m->s.beta * x[i];
                    else
                        f = -(x[i] - m->s.alpha * zi) / (m->s.beta * m->s.beta);
                    var += w[j] * w[j] * (f - est) * (f - est);
                }
                double se = sqrt(var) / wsum, exact = kind == 0 ? u[i] : sc[i];
                cr_expect(fabs(est - exact) <= Z_CHECK * se, "%s t = %.2f, %s_%d: closed form %.6f, IS %.6f, SE %.6f",
                          schedules[q], ts[q], kind ? "score" : "u", i, exact, est, se);
            }
        fmd_marginal_free(m);
    }
    gsl_rng_free(r);
    free(z);
    free(w);
    fmd_gmm_free(g);
}

/* ---- PDE residuals by finite differences --------------------------------- */

/* log p, u, score and Delta p / p at one point of a slice */
static void at(const fmd_marginal *m, const double *x, double *lp, double *u, double *sc)
{
    fmd_marginal_out out = {.logp = lp, .u = u, .score = sc};
    cr_assert_eq(fmd_marginal_eval(m, 1, x, &out), FMD_OK);
}

static double sigma_const(double t, void *p) { (void)t; return *(double *)p; }
static double sigma_beta(double t, void *p)
{
    fmd_sched_point s;
    fmd_schedule_at((const fmd_schedule *)p, t, &s);
    return 1.3 * s.beta;
}

/* Residual of Thm 15 for the SDE of Thm 13, divided by p_t(x):
 *   [d/dt p + div(p (u + sigma^2/2 grad log p)) - sigma^2/2 Delta p] / p,
 * every derivative a central difference of p_t and u_t (never the analytic
 * ones): h_x = 1e-4 for first, 1e-3 for second derivatives, h_t = 1e-5.
 * Truncation: h^2/6 |f'''| / p ~ 1e-8 * O(10^2) for the first differences,
 * h^2/12 |f''''| / p ~ 1e-7 for the second; rounding eps / h^2 ~ 2e-10.
 * With sigma = 0 this is Thm 12's continuity equation. Returns the residual
 * and, in *scale, the sum of the absolute sizes of its terms. */
static double fp_residual(const fmd_gmm *g, const fmd_schedule *sch, double t, const double *x,
                          double sigma, double *scale)
{
    const size_t d = g->d;
    const double hx = 1e-4, h2 = 1e-3, ht = 1e-5;
    fmd_marginal *m;
    fmd_marginal_alloc(g, &m);
    double lp0, u0[8], s0[8], lpa, lpb, ua[8], ub[8], sa[8], sb[8];
    /* d/dt p / p */
    double tp = fmin(t + ht, 1.0), tm = fmax(t - ht, 0.0);
    fmd_marginal_set_time(m, sch, tp);
    at(m, x, &lpa, ua, sa);
    fmd_marginal_set_time(m, sch, tm);
    at(m, x, &lpb, ub, sb);
    fmd_marginal_set_time(m, sch, t);
    at(m, x, &lp0, u0, s0);
    double dt_term = (exp(lpa - lp0) - exp(lpb - lp0)) / (tp - tm);
    double res = dt_term, sc = fabs(dt_term);
    for (size_t i = 0; i < d; i++) {
        double xp[8], xm[8];
        memcpy(xp, x, d * sizeof(double));
        memcpy(xm, x, d * sizeof(double));
        xp[i] += hx;
        xm[i] -= hx;
        at(m, xp, &lpa, ua, sa);
        at(m, xm, &lpb, ub, sb);
        /* drift of Thm 13 */
        double fa = ua[i] + 0.5 * sigma * sigma * sa[i], fb = ub[i] + 0.5 * sigma * sigma * sb[i];
        double div_term = (exp(lpa - lp0) * fa - exp(lpb - lp0) * fb) / (2 * hx);
        res += div_term;
        sc += fabs(div_term);
        if (sigma != 0.0) {
            xp[i] = x[i] + h2;
            xm[i] = x[i] - h2;
            at(m, xp, &lpa, ua, sa);
            at(m, xm, &lpb, ub, sb);
            double lap = (exp(lpa - lp0) - 2.0 + exp(lpb - lp0)) / (h2 * h2);
            res -= 0.5 * sigma * sigma * lap;
            sc += fabs(0.5 * sigma * sigma * lap);
        }
    }
    fmd_marginal_free(m);
    *scale = sc;
    return res;
}

/* Thm 12 at 1200 random (x, t) in d = 1, 2, 5 (400 each), x ~ p_t. */
Test(continuity, residual_vanishes_for_gmm_paths)
{
    const size_t dims[3] = {1, 2, 5};
    double worst = 0.0;
    for (int di = 0; di < 3; di++) {
        fmd_gmm *g = random_mixture(dims[di], 4, 200 + di);
        gsl_rng *r;
        fmd_rng_alloc(201, di, &r);
        for (int q = 0; q < 400; q++) {
            fmd_schedule sch;
            fmd_schedule_by_name(schedules[q % NSCHED], &sch);
            double t = 0.01 + 0.98 * gsl_rng_uniform(r), x[8], scale;
            fmd_marginal *m = slice_at(g, schedules[q % NSCHED], t);
            fmd_marginal_sample(m, r, 1, x);
            fmd_marginal_free(m);
            double res = fp_residual(g, &sch, t, x, 0.0, &scale);
            worst = fmax(worst, fabs(res) / (1 + scale));
            cr_expect(fabs(res) <= 1e-6 * (1 + scale), "d = %zu %s t = %.4f: continuity residual %.3e (terms %.3e)",
                      dims[di], schedules[q % NSCHED], t, res, scale);
        }
        gsl_rng_free(r);
        fmd_gmm_free(g);
    }
    cr_log_info("continuity: worst relative residual %.3e over 1200 (x, t)", worst);
}

/* Thm 15 with Thm 13's drift, sigma_t constant (0.8), beta-shaped
 * (1.3 beta_t) and zero: 600 random (x, t) in d = 1, 2, 5. */
Test(fokker_planck, residual_vanishes_for_extended_sde)
{
    const size_t dims[3] = {1, 2, 5};
    double worst = 0.0;
    for (int di = 0; di < 3; di++) {
        fmd_gmm *g = random_mixture(dims[di], 3, 300 + di);
        gsl_rng *r;
        fmd_rng_alloc(301, di, &r);
        for (int q = 0; q < 200; q++) {
            fmd_schedule sch;
            fmd_schedule_by_name(schedules[q % NSCHED], &sch);
            double t = 0.01 + 0.98 * gsl_rng_uniform(r), x[8], scale, c = 0.8;
            double sigmas[3] = {sigma_const(t, &c), sigma_beta(t, &sch), 0.0};
            fmd_marginal *m = slice_at(g, schedules[q % NSCHED], t);
            fmd_marginal_sample(m, r, 1, x);
            fmd_marginal_free(m);
            double res = fp_residual(g, &sch, t, x, sigmas[q % 3], &scale);
            worst = fmax(worst, fabs(res) / (1 + scale));
            cr_expect(fabs(res) <= 1e-5 * (1 + scale), "d = %zu %s t = %.4f sigma %.3f: Fokker-Planck residual %.3e (terms %.3e)",
                      dims[di], schedules[q % NSCHED], t, sigmas[q % 3], res, scale);
        }
        gsl_rng_free(r);
        fmd_gmm_free(g);
    }
    cr_log_info("Fokker-Planck: worst relative residual %.3e over 600 (x, t)", worst);
}

/* The analytic score, d/dt log p, div u and Delta p / p against central
 * differences of log p and u (same steps and reasoning as above). */
Test(marginal, analytic_derivatives_match_finite_differences)
{
    /* d = 20 with full covariances takes the BLIS branch of
     * src/paths/marginal.c (component_products, d >= FMD_GEMM_MIN_D = 16) */
    const size_t dims[4] = {1, 2, 5, 20};
    for (int di = 0; di < 4; di++) {
        size_t d = dims[di];
        fmd_gmm *g = random_mixture(d, 4, 400 + di);
        gsl_rng *r;
        fmd_rng_alloc(401, di, &r);
        for (int q = 0; q < (d > 5 ? 40 : 100); q++) {
            const char *name = schedules[q % NSCHED];
            fmd_schedule sch;
            fmd_schedule_by_name(name, &sch);
            double t = 0.01 + 0.98 * gsl_rng_uniform(r), x[24];
            fmd_marginal *m = slice_at(g, name, t), *mp = slice_at(g, name, t + 1e-5),
                         *mm = slice_at(g, name, t - 1e-5);
            fmd_marginal_sample(m, r, 1, x);
            double lp, sc[24], u[24], dlp, divu, lap;
            fmd_marginal_out out = {.logp = &lp, .score = sc, .u = u, .dlogp_dt = &dlp, .div_u = &divu, .lap_over_p = &lap};
            fmd_marginal_eval(m, 1, x, &out);
            double la, lb, ua[24], ub[24], sa[24], sb[24];
            at(mp, x, &la, ua, sa);
            at(mm, x, &lb, ub, sb);
            double fd_dt = (la - lb) / 2e-5;
            cr_expect(fabs(fd_dt - dlp) <= 1e-6 * (1 + fabs(dlp)), "d = %zu %s t = %.3f: dlogp/dt %.9g vs FD %.9g", d, name, t, dlp, fd_dt);
            double fd_div = 0.0, fd_lap = 0.0;
            for (size_t i = 0; i < d; i++) {
                double xp[24], xm[24];
                memcpy(xp, x, sizeof xp);
                memcpy(xm, x, sizeof xm);
                xp[i] += 1e-4;
                xm[i] -= 1e-4;
                at(m, xp, &la, ua, sa);
                at(m, xm, &lb, ub, sb);
                double fd_score = (la - lb) / 2e-4;
                cr_expect(fabs(fd_score - sc[i]) <= 1e-6 * (1 + fabs(sc[i])), "d = %zu %s t = %.3f: score_%zu %.9g vs FD %.9g", d, name, t, i, sc[i], fd_score);
                fd_div += (ua[i] - ub[i]) / 2e-4;
                xp[i] = x[i] + 1e-3;
                xm[i] = x[i] - 1e-3;
                at(m, xp, &la, ua, sa);
                at(m, xm, &lb, ub, sb);
                fd_lap += (exp(la - lp) - 2.0 + exp(lb - lp)) / 1e-6;
            }
            cr_expect(fabs(fd_div - divu) <= 1e-6 * (1 + fabs(divu)), "d = %zu %s t = %.3f: div u %.9g vs FD %.9g", d, name, t, divu, fd_div);
            cr_expect(fabs(fd_lap - lap) <= 1e-5 * (1 + fabs(lap)), "d = %zu %s t = %.3f: Lap p/p %.9g vs FD %.9g", d, name, t, lap, fd_lap);
            fmd_marginal_free(m);
            fmd_marginal_free(mp);
            fmd_marginal_free(mm);
        }
        gsl_rng_free(r);
        fmd_gmm_free(g);
    }
}

/* ---- the ends of [0, 1] and far away ------------------------------------- */

/* At t = 0, 1 - 2^-52 and 1, and at points 10^3 standard deviations from
 * every component, every output is finite. At t = 0 (not vp, whose alpha_0
 * is 6.6e-3) p_0 = N(0, I): log p = log N(x; 0, I), score = -x, E[z|x] =
 * E[z]. At t = 1, p_1 = p_data: log p equals fmd_gmm_log_density. Far away,
 * the score is the nearest component's -C_k^{-1}(x - alpha mu_k). */
Test(marginal, finite_and_correct_at_both_ends_and_far_away)
{
    const size_t d = 2;
    fmd_gmm *g = random_mixture(d, 3, 500);
    double mean[2], cov[4];
    fmd_gmm_moments(g, mean, cov);
    const double ts[3] = {0.0, 1.0 - 0x1p-52, 1.0};
    const double pts[4][2] = {{0.3, -1.1}, {2.0, 1.5}, {4e3, -3e3}, {-2.5e3, -2.5e3}};
    for (int si = 0; si < NSCHED; si++)
        for (int ti = 0; ti < 3; ti++) {
            fmd_marginal *m = slice_at(g, schedules[si], ts[ti]);
            for (int q = 0; q < 4; q++) {
                double lp, sc[2], zm[2], u[2], dlp, divu, lap;
                fmd_marginal_out out = {&lp, sc, zm, u, &dlp, &divu, &lap};
                cr_assert_eq(fmd_marginal_eval(m, 1, pts[q], &out), FMD_OK);
                double all[10] = {lp, sc[0], sc[1], zm[0], zm[1], u[0], u[1], dlp, divu, lap};
                for (int i = 0; i < 10; i++)
                    cr_expect(isfinite(all[i]), "%s t = %.17g x = (%g, %g): output %d is %g", schedules[si], ts[ti],
                              pts[q][0], pts[q][1], i, all[i]);
                if (ts[ti] == 0.0 && strcmp(schedules[si], "vp") != 0) {
                    double l0 = -0.5 * (pts[q][0] * pts[q][0] + pts[q][1] * pts[q][1]) - log(2 * M_PI);
                    cr_expect(fabs(lp - l0) <= 1e-12 * fabs(l0), "%s t = 0: log p %.17g vs log N(0, I) %.17g", schedules[si], lp, l0);
                    for (int i = 0; i < 2; i++) {
                        cr_expect(fabs(sc[i] + pts[q][i]) <= 1e-12 * fabs(pts[q][i]), "%s t = 0: score %.17g vs -x", schedules[si], sc[i]);
                        cr_expect(fabs(zm[i] - mean[i]) <= 1e-12, "%s t = 0: E[z|x] %.17g vs E[z] %.17g", schedules[si], zm[i], mean[i]);
                    }
                }
                if (ts[ti] == 1.0) {
                    double ld;
                    fmd_gmm_log_density(g, 1, pts[q], &ld);
                    cr_expect(fabs(lp - ld) <= 1e-12 * fabs(ld), "%s t = 1: log p %.17g vs log p_data %.17g", schedules[si], lp, ld);
                }
                if (q >= 2) {   /* far: the component with the largest log w_k N_k dominates exactly */
                    size_t best = 0;
                    double best_a = -INFINITY;
                    for (size_t k = 0; k < g->K; k++) {
                        double v[2], delta[2] = {pts[q][0] - m->s.alpha * g->mean[2 * k], pts[q][1] - m->s.alpha * g->mean[2 * k + 1]};
                        const double *Ci = m->cinv + 4 * k;
                        v[0] = Ci[0] * delta[0] + Ci[1] * delta[1];
                        v[1] = Ci[2] * delta[0] + Ci[3] * delta[1];
                        double a = m->log_norm[k] - 0.5 * (delta[0] * v[0] + delta[1] * v[1]);
                        if (a > best_a) {
                            best_a = a;
                            best = k;
                        }
                    }
                    const double *Ci = m->cinv + 4 * best;
                    double delta[2] = {pts[q][0] - m->s.alpha * g->mean[2 * best], pts[q][1] - m->s.alpha * g->mean[2 * best + 1]};
                    double s0 = -(Ci[0] * delta[0] + Ci[1] * delta[1]);
                    cr_expect(fabs(sc[0] - s0) <= 1e-9 * fabs(s0), "%s t = %g far: score %.17g vs nearest component's %.17g",
                              schedules[si], ts[ti], sc[0], s0);
                }
            }
            fmd_marginal_free(m);
        }
    fmd_gmm_free(g);
    /* log-sum-exp of -inf terms is -inf, not NaN */
    double none[2] = {-INFINITY, -INFINITY};
    cr_expect(fmd_logsumexp(2, none) == -INFINITY);
}

/* ---- Prop 1: vector field <-> score ------------------------------------------ */

/* For Gaussian paths, with c_t = beta^2 alpha_dot / alpha - beta beta_dot,
 *   u_t(x) = c_t grad log p_t(x) + (alpha_dot / alpha) x           (marginal)
 *   u_t(x|z) = c_t grad log p_t(x|z) + (alpha_dot / alpha) x       (conditional)
 * and back, grad log p = (u - (alpha_dot/alpha) x) / c_t. Both directions
 * hold to 1e-12 relative at t in (0, 1]. At t = 0 alpha = 0 and the formula
 * does not apply (u there is E[z] - x for condot, finite by our form). At
 * t = 1, c_1 = -beta beta_dot: zero for condot, cosine and poly (the field
 * no longer determines the score) but +1/2 for lab and +0.05 for vp (their
 * beta beta_dot is -1/2 and -0.05). t runs over an integer index, so the
 * last step is exactly t = 1 and its branch runs. */
Test(prop1, field_and_score_convert_both_ways)
{
    fmd_gmm *g = random_mixture(2, 3, 600);
    gsl_rng *r;
    fmd_rng_alloc(601, 0, &r);
    int ends_checked = 0;
    for (int si = 0; si < NSCHED; si++)
        for (int k = 1; k <= 20; k++) {
            const double tt = k / 20.0;
            fmd_marginal *m = slice_at(g, schedules[si], tt);
            const fmd_sched_point *s = &m->s;
            double x[2], u[2], sc[2], c = s->beta * s->beta * s->alpha_dot / s->alpha - s->beta_beta_dot;
            fmd_marginal_sample(m, r, 1, x);
            fmd_marginal_out out = {.u = u, .score = sc};
            fmd_marginal_eval(m, 1, x, &out);
            for (int i = 0; i < 2; i++) {
                double u_from_s = c * sc[i] + s->alpha_dot / s->alpha * x[i];
                double scale = fabs(u[i]) + fabs(c * sc[i]) + fabs(s->alpha_dot / s->alpha * x[i]);
                cr_expect(fabs(u_from_s - u[i]) <= 1e-12 * scale, "%s t = %.2f: u %.17g, from score %.17g", schedules[si], tt, u[i], u_from_s);
                if (fabs(c) > 1e-3) {
                    double s_from_u = (u[i] - s->alpha_dot / s->alpha * x[i]) / c;
                    cr_expect(fabs(s_from_u - sc[i]) <= 1e-12 * scale / fabs(c), "%s t = %.2f: score %.17g, from u %.17g",
                              schedules[si], tt, sc[i], s_from_u);
                }
            }
            if (tt < 1.0) {   /* conditional version, for a data point z */
                double z[2] = {0.7, -1.9}, uc[2], scc[2];
                fmd_path_cond_field(s, 1, 2, z, x, uc);
                fmd_path_cond_score(s, 1, 2, z, x, scc);
                for (int i = 0; i < 2; i++) {
                    double from = c * scc[i] + s->alpha_dot / s->alpha * x[i];
                    double scale = fabs(uc[i]) + fabs(c * scc[i]) + fabs(s->alpha_dot / s->alpha * x[i]);
                    cr_expect(fabs(from - uc[i]) <= 1e-12 * scale, "%s t = %.2f: u(x|z) %.17g from score %.17g", schedules[si], tt, uc[i], from);
                }
            } else {
                int degenerate = strcmp(schedules[si], "lab") != 0 && strcmp(schedules[si], "vp") != 0;
                cr_expect(degenerate ? c == 0.0 : c > 0.01, "%s: c_1 = %g", schedules[si], c);
                ends_checked++;
            }
            fmd_marginal_free(m);
        }
    cr_expect(ends_checked == NSCHED, "the t = 1 branch ran for %d of %d schedules", ends_checked, NSCHED);
    gsl_rng_free(r);
    fmd_gmm_free(g);
}

/* The same identity at d = 20 with full covariances, where src/paths/marginal.c
 * forms C^-1 delta and Sigma C^-1 delta with BLIS (d >= FMD_GEMM_MIN_D): the
 * field there is built from Sigma C^-1 delta and the score from C^-1 delta,
 * so a wrong product in either breaks the identity. 16 points at once (a
 * block), every schedule, t = 0.1 .. 0.9; relative 1e-12 of the terms, as
 * at d = 2: each entry is a 20-term dot product (rounding about 20 eps = 4e-15
 * of the terms), so 1e-12 leaves a factor of 200 and a wrong product is off
 * by O(1). */
Test(prop1, holds_on_the_blis_path_at_d20)
{
    enum { D = 20, N = 16 };
    fmd_gmm *g = random_mixture(D, 3, 620);
    gsl_rng *r;
    fmd_rng_alloc(621, 0, &r);
    for (int si = 0; si < NSCHED; si++)
        for (int k = 1; k <= 9; k++) {
            fmd_marginal *m = slice_at(g, schedules[si], k / 10.0);
            const fmd_sched_point *s = &m->s;
            const double c = s->beta * s->beta * s->alpha_dot / s->alpha - s->beta_beta_dot;
            double x[N * D], u[N * D], sc[N * D];
            fmd_marginal_sample(m, r, N, x);
            fmd_marginal_out out = {.u = u, .score = sc};
            cr_assert_eq(fmd_marginal_eval(m, N, x, &out), FMD_OK);
            for (int i = 0; i < N * D; i++) {
                const double lin = s->alpha_dot / s->alpha * x[i];
                const double scale = fabs(u[i]) + fabs(c * sc[i]) + fabs(lin);
                cr_expect(fabs(c * sc[i] + lin - u[i]) <= 1e-12 * scale, "%s t = %.1f, entry %d: u %.17g, from the score %.17g",
                          schedules[si], k / 10.0, i, u[i], c * sc[i] + lin);
            }
            fmd_marginal_free(m);
        }
    gsl_rng_free(r);
    fmd_gmm_free(g);
}

/* ---- empirical data sets ------------------------------------------------------ */

/* The target a network is really trained towards: p_data = (1/N) sum delta_{z_i}.
 * For t < 1 its marginal path is exact (compared with a direct sum over the
 * data to 1e-12); as t -> 1 the posterior mean E[z|x] collapses onto the
 * nearest data point (error ~ exp(-gap / beta^2)) and, for condot, the field
 * behaves like (z* - x)/(1 - t); at t = 1 the path is a sum of point masses
 * and set_time refuses with FMD_EDOM. */
Test(empirical, marginal_of_a_data_set_as_t_goes_to_1)
{
    enum { N = 7, d = 2 };
    double z[N * d];
    gsl_rng *r;
    fmd_rng_alloc(700, 0, &r);
    fmd_rng_gaussian(r, N * d, z);
    gsl_rng_free(r);
    fmd_gmm *g;
    cr_assert_eq(fmd_gmm_empirical(N, d, z, &g), FMD_OK);
    const double x[2] = {0.31, -0.47};
    for (double t = 0.1; t < 0.95; t += 0.2) {
        fmd_marginal *m = slice_at(g, "cosine", t);
        double lp, zm[2];
        fmd_marginal_out out = {.logp = &lp, .zmean = zm};
        fmd_marginal_eval(m, 1, x, &out);
        double a[N], num[2] = {0, 0}, den = 0;
        for (int i = 0; i < N; i++) {
            double q = 0;
            for (int k = 0; k < d; k++)
                q += (x[k] - m->s.alpha * z[i * d + k]) * (x[k] - m->s.alpha * z[i * d + k]);
            a[i] = -q / (2 * m->s.beta * m->s.beta) - d * log(m->s.beta) - log(2 * M_PI) - log((double)N);
        }
        double l = fmd_logsumexp(N, a);
        for (int i = 0; i < N; i++) {
            double w = exp(a[i] - l);
            den += w;
            num[0] += w * z[i * d];
            num[1] += w * z[i * d + 1];
        }
        cr_expect(fabs(lp - l) <= 1e-12 * fabs(l), "t = %.1f: log p %.17g vs direct %.17g", t, lp, l);
        cr_expect(fabs(zm[0] - num[0] / den) <= 1e-12 && fabs(zm[1] - num[1] / den) <= 1e-12, "t = %.1f: E[z|x]", t);
        fmd_marginal_free(m);
    }
    /* nearest data point */
    int best = 0;
    for (int i = 1; i < N; i++)
        if (hypot(x[0] - z[i * d], x[1] - z[i * d + 1]) < hypot(x[0] - z[best * d], x[1] - z[best * d + 1]))
            best = i;
    double t = 1.0 - 1e-6;
    fmd_marginal *m = slice_at(g, "condot", t);
    double zm[2], u[2];
    fmd_marginal_out out = {.zmean = zm, .u = u};
    fmd_marginal_eval(m, 1, x, &out);
    for (int k = 0; k < 2; k++) {
        cr_expect(fabs(zm[k] - z[best * d + k]) <= 1e-12, "t = 1 - 1e-6: E[z|x]_%d = %.17g, nearest point %.17g", k, zm[k], z[best * d + k]);
        double limit = (z[best * d + k] - x[k]) / (1.0 - t);   /* condot: u = (E[z|x] - x) / (1 - t) */
        cr_expect(fabs(u[k] - limit) <= 1e-6 * fabs(limit), "t = 1 - 1e-6: u_%d = %.9g vs (z* - x)/(1 - t) = %.9g", k, u[k], limit);
    }
    fmd_schedule sch;
    fmd_schedule_by_name("condot", &sch);
    cr_expect_eq(fmd_marginal_set_time(m, &sch, 1.0), FMD_EDOM, "the empirical path at t = 1 is point masses");
    double lp;
    cr_expect_eq(fmd_gmm_log_density(g, 1, x, &lp), FMD_EDOM);
    fmd_marginal_free(m);
    fmd_gmm_free(g);
}

/* The O(d) path for isotropic components (Sigma_k = s^2 I) gives what the
 * general O(d^2) path gives, to rounding: same mixture, fast path switched
 * off by hand. */
Test(marginal, isotropic_fast_path_equals_general_path)
{
    const size_t d = 6, K = 3;
    fmd_gmm *g;
    cr_assert_eq(fmd_gmm_alloc(d, K, &g), FMD_OK);
    for (size_t k = 0; k < K; k++) {
        g->weight[k] = (k + 1.0) / 6.0;
        for (size_t i = 0; i < d; i++) {
            g->mean[k * d + i] = sin(1.7 * k + 0.9 * i);
            g->cov[k * d * d + i * d + i] = 0.3 + 0.2 * k;
        }
    }
    cr_assert_eq(fmd_gmm_prepare(g), FMD_OK);
    for (int si = 0; si < NSCHED; si++) {
        fmd_marginal *fast = slice_at(g, schedules[si], 0.63), *slow = slice_at(g, schedules[si], 0.63);
        for (size_t k = 0; k < K; k++) {
            cr_assert(fast->iso_var[k] >= 0.0, "component %zu not detected as isotropic", k);
            slow->iso_var[k] = -1.0;
        }
        double x[6] = {0.3, -1.2, 0.8, 2.1, -0.4, 0.05};
        double a[7], b[7], sa[6], sb[6], ua[6], ub[6];
        fmd_marginal_out oa = {&a[0], sa, NULL, ua, &a[1], &a[2], &a[3]}, ob = {&b[0], sb, NULL, ub, &b[1], &b[2], &b[3]};
        fmd_marginal_eval(fast, 1, x, &oa);
        fmd_marginal_eval(slow, 1, x, &ob);
        for (int i = 0; i < 4; i++)
            cr_expect(fabs(a[i] - b[i]) <= 1e-13 * (1 + fabs(b[i])), "%s: scalar output %d %.17g vs %.17g", schedules[si], i, a[i], b[i]);
        for (size_t i = 0; i < d; i++)
            cr_expect(fabs(ua[i] - ub[i]) <= 1e-13 * (1 + fabs(ub[i])) && fabs(sa[i] - sb[i]) <= 1e-13 * (1 + fabs(sb[i])),
                      "%s: u or score differs at %zu", schedules[si], i);
        fmd_marginal_free(fast);
        fmd_marginal_free(slow);
    }
    fmd_gmm_free(g);
}

/* The fast path for u and the score (src/paths/marginal_field.c: one matrix B_k
 * per component, points along the vector lanes, BLIS for full covariances
 * from d = 16) against the general path (asked for log p as well, so it
 * runs): full, isotropic and mixed mixtures in d = 1 to 40, every schedule,
 * t = 0, 0.37, 0.9, 1 - 2^-52 and 1, 70 points (a block and a tail) near the
 * data and 10^3 standard deviations away. The two forms sum the same K terms
 * in another order, each term up to ~|x| in size: they may differ by a few
 * rounding errors of |x|, so the tolerance is 1e-13 (1 + |x|_inf). */
Test(marginal, field_fast_path_equals_general_path)
{
    const struct { size_t d, K; int kind; } cases[] = {   /* kind 0 full, 1 isotropic, 2 mixed */
        {1, 3, 0}, {2, 4, 0}, {5, 3, 0}, {17, 3, 0}, {40, 2, 0}, {2, 5, 1}, {6, 3, 1}, {64, 3, 1}, {3, 4, 2}, {20, 3, 2}};
    const double ts[5] = {0.0, 0.37, 0.9, 1.0 - 0x1p-52, 1.0};
    enum { N = 70 };
    gsl_rng *r;
    fmd_rng_alloc(8, 0, &r);
    double worst = 0.0;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const size_t d = cases[c].d, K = cases[c].K;
        fmd_gmm *g = random_mixture(d, K, 900 + c);
        for (size_t k = 0; cases[c].kind && k < K; k++)   /* make (some) components isotropic */
            if (cases[c].kind == 1 || k % 2 == 0)
                for (size_t i = 0; i < d * d; i++)
                    g->cov[k * d * d + i] = i % (d + 1) == 0 ? 0.2 + 0.1 * k : 0.0;
        cr_assert_eq(fmd_gmm_prepare(g), FMD_OK);
        double *x = malloc(N * d * sizeof(double)), *u1 = malloc(N * d * sizeof(double)), *u2 = malloc(N * d * sizeof(double));
        double *s1 = malloc(N * d * sizeof(double)), *s2 = malloc(N * d * sizeof(double)), *lp = malloc(N * sizeof(double));
        for (int si = 0; si < NSCHED; si++)
            for (int ti = 0; ti < 5; ti++) {
                fmd_marginal *m = slice_at(g, schedules[si], ts[ti]);
                fmd_marginal_sample(m, r, N, x);
                for (size_t i = 0; i < 3 * d; i++)   /* three points far away */
                    x[i] = 1e3 * (2.0 * gsl_rng_uniform(r) - 1.0);
                fmd_marginal_out fast = {.u = u1, .score = s1}, general = {.logp = lp, .u = u2, .score = s2};
                cr_assert_eq(fmd_marginal_eval(m, N, x, &fast), FMD_OK);
                cr_assert_eq(fmd_marginal_eval(m, N, x, &general), FMD_OK);
                for (size_t p = 0; p < N; p++) {
                    double xmax = 0.0;
                    for (size_t i = 0; i < d; i++)
                        xmax = fmax(xmax, fabs(x[p * d + i]));
                    const double tol = 1e-13 * (1.0 + xmax);
                    for (size_t i = 0; i < d; i++) {
                        const size_t j = p * d + i;
                        worst = fmax(worst, fmax(fabs(u1[j] - u2[j]), fabs(s1[j] - s2[j])) / tol);
                        cr_expect(fabs(u1[j] - u2[j]) <= tol && fabs(s1[j] - s2[j]) <= tol,
                                  "d %zu K %zu kind %d %s t %.17g point %zu coord %zu: u %.17g vs %.17g, score %.17g vs %.17g",
                                  d, K, cases[c].kind, schedules[si], ts[ti], p, i, u1[j], u2[j], s1[j], s2[j]);
                    }
                }
                fmd_marginal_free(m);
            }
        free(x), free(u1), free(u2), free(s1), free(s2), free(lp);
        fmd_gmm_free(g);
    }
    cr_log_info("fast field path vs general path: worst difference %.3f of the tolerance", worst);
    gsl_rng_free(r);
}
