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
    const size_t dims[3] = {1, 2, 5};
    for (int di = 0; di < 3; di++) {
        size_t d = dims[di];
        fmd_gmm *g = random_mixture(d, 4, 400 + di);
        gsl_rng *r;
        fmd_rng_alloc(401, di, &r);
        for (int q = 0; q < 100; q++) {
            const char *name = schedules[q % NSCHED];
            fmd_schedule sch;
            fmd_schedule_by_name(name, &sch);
            double t = 0.01 + 0.98 * gsl_rng_uniform(r), x[8];
            fmd_marginal *m = slice_at(g, name, t), *mp = slice_at(g, name, t + 1e-5),
                         *mm = slice_at(g, name, t - 1e-5);
            fmd_marginal_sample(m, r, 1, x);
            double lp, sc[8], u[8], dlp, divu, lap;
            fmd_marginal_out out = {.logp = &lp, .score = sc, .u = u, .dlogp_dt = &dlp, .div_u = &divu, .lap_over_p = &lap};
            fmd_marginal_eval(m, 1, x, &out);
            double la, lb, ua[8], ub[8], sa[8], sb[8];
            at(mp, x, &la, ua, sa);
            at(mm, x, &lb, ub, sb);
            double fd_dt = (la - lb) / 2e-5;
            cr_expect(fabs(fd_dt - dlp) <= 1e-6 * (1 + fabs(dlp)), "d = %zu %s t = %.3f: dlogp/dt %.9g vs FD %.9g", d, name, t, dlp, fd_dt);
            double fd_div = 0.0, fd_lap = 0.0;
            for (size_t i = 0; i < d; i++) {
                double xp[8], xm[8];
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
