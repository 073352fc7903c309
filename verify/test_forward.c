/* test_forward.c -- chapter 6: the lectures' forward SDEs, their reversal and
 * the probability-flow ODE, against the exact mixture marginals. Pointwise
 * identities to 1e-12; distribution checks with check_law_2d (two KS tests
 * and a mean-log-density check each: 45 checks, counted in verify/budget.h). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fmd.h"
#include "budget.h"
#include "mixtures.h"

static const char *const sdes[] = {"ou:4", "vp", "ve"};

/* The lectures' coefficients and kernels, written out independently:
 *   OU  f = -1, g^2 = 2, m = e^{-s}, sd = sqrt(1 - e^{-2s})
 *   VP  f = -b/2, g^2 = b, b = 0.1 + 19.9 s, m = exp(-(0.1 s + 9.95 s^2)/2), sd = sqrt(1 - m^2)
 *   VE  f = 0, g^2 = d sigma^2/ds = 2 sigma^2 log(5000), sigma = 0.01 * 5000^s, m = 1,
 *       sd = sqrt(sigma^2 - 0.01^2)
 * and ours (from the course schedules by f = -alpha_dot/(T alpha), g^2 = 2 b_t / T)
 * agree to 1e-12 relative on [0, T]. */
Test(forward, coefficients_and_kernels_are_the_lectures)
{
    for (int k = 0; k < 3; k++) {
        fmd_forward F;
        cr_assert_eq(fmd_forward_by_name(sdes[k], &F), FMD_OK);
        for (int i = 0; i <= 40; i++) {
            double s = F.T * i / 40.0, f, g2, m, sd, ef, eg2, em, esd;
            cr_assert_eq(fmd_forward_coeffs(&F, s, &f, &g2), FMD_OK);
            cr_assert_eq(fmd_forward_kernel(&F, s, &m, &sd), FMD_OK);
            if (k == 0) {
                ef = -1.0, eg2 = 2.0, em = exp(-s), esd = sqrt(1.0 - exp(-2.0 * s));
            } else if (k == 1) {
                double b = 0.1 + 19.9 * s;
                ef = -0.5 * b, eg2 = b, em = exp(-0.5 * (0.1 * s + 9.95 * s * s)), esd = sqrt(1.0 - em * em);
            } else {
                double sigma = 0.01 * pow(5000.0, s);
                ef = 0.0, eg2 = 2.0 * sigma * sigma * log(5000.0), em = 1.0, esd = sqrt(sigma * sigma - 1e-4);
            }
            cr_expect(fabs(f - ef) <= 1e-12 * (1 + fabs(ef)), "%s s = %.3f: f %.17g vs %.17g", sdes[k], s, f, ef);
            cr_expect(fabs(g2 - eg2) <= 1e-12 * (1 + fabs(eg2)), "%s s = %.3f: g^2 %.17g vs %.17g", sdes[k], s, g2, eg2);
            cr_expect(fabs(m - em) <= 1e-12 * (1 + em), "%s s = %.3f: m %.17g vs %.17g", sdes[k], s, m, em);
            cr_expect(fabs(sd - esd) <= 1e-12 * (1 + esd) + 1e-15, "%s s = %.3f: sd %.17g vs %.17g", sdes[k], s, sd, esd);
        }
    }
}

/* The new schedules' derivatives against central differences (h = 1e-6,
 * truncation h^2/6 |f'''|, below 1e-7 for ve's steepest; tolerance 1e-8 (1 + |f'|)). */
Test(forward, ou_and_ve_schedule_derivatives)
{
    const char *names[2] = {"ou:4", "ve"};
    const double h = 1e-6;
    for (int k = 0; k < 2; k++) {
        fmd_schedule s;
        cr_assert_eq(fmd_schedule_by_name(names[k], &s), FMD_OK);
        for (double t = 0.013; t < 0.99; t += 0.0491) {
            fmd_sched_point a, b, c;
            fmd_schedule_at(&s, t + h, &a);
            fmd_schedule_at(&s, t - h, &b);
            fmd_schedule_at(&s, t, &c);
            double da = (a.alpha - b.alpha) / (2 * h), db = (a.beta - b.beta) / (2 * h);
            cr_expect(fabs(da - c.alpha_dot) <= 1e-8 * (1 + fabs(da)), "%s t = %.4f: alpha_dot", names[k], t);
            cr_expect(fabs(db - c.beta_dot) <= 1e-8 * (1 + fabs(db)), "%s t = %.4f: beta_dot %.12g vs %.12g", names[k], t,
                      c.beta_dot, db);
            double dbb = (a.beta * a.beta - b.beta * b.beta) / (4 * h);   /* d/dt (beta^2 / 2) */
            cr_expect(fabs(c.beta_beta_dot - dbb) <= 1e-8 * (1 + fabs(dbb)), "%s t = %.4f: beta beta_dot %.12g vs FD %.12g",
                      names[k], t, c.beta_beta_dot, dbb);
        }
        fmd_sched_point p1;
        fmd_schedule_at(&s, 1.0, &p1);
        cr_expect(p1.alpha == 1.0 && p1.beta == 0.0 && isfinite(p1.beta_beta_dot), "%s at t = 1", names[k]);
    }
    fmd_schedule s;
    cr_expect_eq(fmd_schedule_by_name("ou:0", &s), FMD_EINVAL);
    cr_expect_eq(fmd_schedule_by_name("ou:x", &s), FMD_EINVAL);
}

/* The probability-flow ODE in s is the course's marginal field run backwards:
 * f x - (g^2/2) grad log p_s = -u_t / T at t = 1 - s/T, to 1e-12 relative. */
Test(forward, probability_flow_is_the_course_field)
{
    fmd_gmm *g = random_mixture(2, 4, 2300);
    gsl_rng *r;
    fmd_rng_alloc(2301, 0, &r);
    const char *names[4] = {"ou:4", "vp", "ve", "cosine"};
    for (int k = 0; k < 4; k++) {
        fmd_forward F;
        fmd_forward_by_name(names[k], &F);
        fmd_forward_params P = {&F, g};
        for (int i = 0; i < 20; i++) {
            double s = F.T * (0.025 + 0.05 * i), t = 1.0 - s / F.T, x[8], pf[8], u[8], sc[8];
            fmd_marginal *m = slice_at(g, names[k], t);
            fmd_marginal_sample(m, r, 4, x);
            cr_assert_eq(fmd_probability_flow(s, 4, 2, x, pf, &P), FMD_OK);
            fmd_marginal_out o = {.u = u, .score = sc};
            fmd_marginal_eval(m, 4, x, &o);
            double f, g2;
            fmd_forward_coeffs(&F, s, &f, &g2);
            for (int j = 0; j < 8; j++) {
                double scale = fabs(f * x[j]) + fabs(g2 * sc[j]) + fabs(u[j]) / F.T + 1e-300;
                cr_expect(fabs(pf[j] + u[j] / F.T) <= 1e-12 * scale, "%s s = %.3f: PF %.17g, -u/T %.17g", names[k], s, pf[j],
                          -u[j] / F.T);
            }
            fmd_marginal_free(m);
        }
    }
    gsl_rng_free(r);
    fmd_gmm_free(g);
}

enum { NF = 20000 };

/* Forward noising simulated (Euler-Maruyama, 400 steps per segment) from
 * p_data follows the exact marginals at s = T/4, T/2, T; the reverse-time SDE
 * (Heun, 800 steps) and the probability-flow ODE (RK4, 200 steps) started
 * from the exact p_T regenerate p_data. 3 SDEs x (3 + 1 + 1) x 3 = 45 checks. */
Test(forward, simulated_marginals_reversal_and_probability_flow)
{
    fmd_gmm *g = random_mixture(2, 4, 2400);
    gsl_rng *r;
    fmd_rng_alloc(2401, 0, &r);
    static double x[2 * NF];
    for (int k = 0; k < 3; k++) {
        fmd_forward F;
        fmd_forward_by_name(sdes[k], &F);
        fmd_forward_params P = {&F, g};
        char what[96];
        /* forward */
        fmd_gmm_sample(g, r, NF, x, NULL);
        fmd_sde fwd = {{fmd_forward_drift, 2, &P}, fmd_forward_diffusion, &P};
        double ts[801];
        for (int q = 0; q < 3; q++) {
            const double a = q == 0 ? 0.0 : F.T * (q == 1 ? 0.25 : 0.5), b = F.T * (q == 0 ? 0.25 : q == 1 ? 0.5 : 1.0);
            fmd_time_grid(a, b, 400, ts);
            fmd_sde_workspace *ws;
            fmd_sde_workspace_alloc(fmd_sde_em, NF, 2, &ws);
            cr_assert_eq(fmd_sde_solve_grid(ws, &fwd, ts, 401, x, 2410 + 3 * k + q, NULL), FMD_OK);
            fmd_sde_workspace_free(ws);
            fmd_marginal *m = slice_at(g, sdes[k], 1.0 - b / F.T);
            snprintf(what, sizeof what, "%s forward to s = %.2f", sdes[k], b);
            check_law_2d(m, NF, x, r, what);
            fmd_marginal_free(m);
        }
        /* reverse SDE and probability flow, from the exact p_T */
        fmd_marginal *mT = slice_at(g, sdes[k], 0.0), *m1 = slice_at(g, sdes[k], 1.0);
        fmd_marginal_sample(mT, r, NF, x);
        fmd_sde rev = {{fmd_reverse_drift, 2, &P}, fmd_reverse_diffusion, &P};
        fmd_time_grid(0.0, F.T, 800, ts);
        fmd_sde_workspace *ws;
        fmd_sde_workspace_alloc(fmd_sde_heun, NF, 2, &ws);
        cr_assert_eq(fmd_sde_solve_grid(ws, &rev, ts, 801, x, 2420 + k, NULL), FMD_OK);
        fmd_sde_workspace_free(ws);
        snprintf(what, sizeof what, "%s reverse SDE", sdes[k]);
        check_law_2d(m1, NF, x, r, what);
        fmd_marginal_sample(mT, r, NF, x);
        fmd_field pf = {fmd_probability_flow, 2, &P};
        fmd_time_grid(F.T, 0.0, 200, ts);
        fmd_ode_workspace *ows;
        fmd_ode_workspace_alloc(fmd_ode_rk4, NF, 2, &ows);
        cr_assert_eq(fmd_ode_solve_grid(ows, &pf, ts, 201, x, NULL), FMD_OK);
        fmd_ode_workspace_free(ows);
        snprintf(what, sizeof what, "%s probability-flow ODE", sdes[k]);
        check_law_2d(m1, NF, x, r, what);
        fmd_marginal_free(mT);
        fmd_marginal_free(m1);
    }
    gsl_rng_free(r);
    fmd_gmm_free(g);
}

/* Girsanov (src/sde_view/girsanov.c:fmd_girsanov_kl): the reverse OU SDE (T = 3) with
 * the exact score (P) and with a score off by delta(y) = -a y, a = 0.3 (Q),
 * both with the lectures' sqrt(2) dB, from the same p_T. The exact path KL is
 * 1/2 int g^2 E|delta|^2 = int a^2 E|Y_tau|^2 dtau, with E|Y|^2 = m^2 E|z|^2 +
 * 2 sd^2 from the forward kernel (Simpson, 3000 panels). Over 20000 paths
 * (600 Euler-Maruyama steps, whose bias the 2% allows) both Monte Carlo
 * sides -- the mean log dP/dQ and the mean 1/2 sum |Delta|^2 / g^2 h -- must
 * equal it within Z_CHECK SE (2 checks). (`002`'s 1/2 int E|delta|^2 is half
 * of it, 60 SEs away.) */
Test(forward, girsanov_kl_between_path_laws)
{
    fmd_gmm *g = random_mixture(2, 3, 3000);
    fmd_forward F;
    fmd_forward_by_name("ou:3", &F);
    fmd_forward_params P = {&F, g};
    const double a = 0.3, T = 3.0;
    const size_t n = 20000, steps = 600;
    /* the exact value */
    double mean[2], cov[4];
    fmd_gmm_moments(g, mean, cov);
    const double Ez2 = cov[0] + cov[3] + mean[0] * mean[0] + mean[1] * mean[1];
    double integral = 0.0;
    for (int i = 0; i <= 3000; i++) {
        double s = T * i / 3000.0, m, sd;
        fmd_forward_kernel(&F, s, &m, &sd);
        double w = (i == 0 || i == 3000) ? 1.0 : (i % 2 ? 4.0 : 2.0);
        integral += w * (m * m * Ez2 + 2.0 * sd * sd);
    }
    const double kl = a * a * integral * (T / 3000.0) / 3.0;
    /* Monte Carlo along paths of P, by the library */
    double *y = malloc(2 * n * sizeof(double));
    gsl_rng *r;
    fmd_rng_alloc(3001, 0, &r);
    fmd_marginal *mT = slice_at(g, "ou:3", 0.0);
    fmd_marginal_sample(mT, r, n, y);
    fmd_shrunk_score W = {&P, a};   /* b_Q = b_P + g^2 delta = b_P - 2 a y */
    fmd_girsanov G = {{fmd_reverse_drift, 2, &P}, {fmd_reverse_drift_shrunk, 2, &W}, {fmd_reverse_diffusion, 2, &P}};
    double m, se, half, half_se;
    cr_assert_eq(fmd_girsanov_kl(&G, T, steps, n, 2, y, r, &m, &se, &half, &half_se), FMD_OK);
    cr_log_info("Girsanov: E log dP/dQ = %.4f +- %.4f, 1/2 int g^2 E|delta|^2 = %.4f +- %.4f (MC), %.4f (exact)", m, se,
                half, half_se, kl);
    cr_expect(fabs(m - kl) <= Z_CHECK * se + 0.02 * kl, "E log dP/dQ = %.4f +- %.4f, exact KL %.4f", m, se, kl);
    cr_expect(fabs(half - kl) <= Z_CHECK * half_se + 0.02 * kl, "1/2 int g^2 E|delta|^2 = %.4f +- %.4f, exact %.4f", half,
              half_se, kl);
    fmd_marginal_free(mT);
    gsl_rng_free(r);
    free(y);
    fmd_gmm_free(g);
}

/* KL between the end distributions against the KL between the path laws.
 * P is the reverse OU SDE (T = 4) of p_data, Q that of another mixture p~ (the
 * same components, means moved by (0.4, -0.3)), each started from its own
 * p_T: Q ends at p~ exactly, and delta = grad log p~_s - grad log p_s is
 * known in closed form. By Girsanov
 *     KL(P | Q) = KL(p_T | p~_T) + int_0^T E_{p_s} |delta|^2 ds.
 * Data processing gives KL(p_data | p~) <= KL(P | Q); here it holds with
 * equality, because both path laws are time reversals of forward processes
 * with the same transition kernel, which differ only in where they start --
 * so the check is an identity, the sharper test:
 *     |KL(p_data | p~) - KL(P | Q)| <= Z_CHECK * SE   (1 check).
 * The time integral by Simpson over 200 intervals of Monte Carlo means (4000
 * exact draws each; SE of the sum from theirs); the KLs between mixtures by a
 * 2-D midpoint sum on [-9, 9]^2 with 600^2 cells (300^2 gives the same four
 * digits). */
static double kl_grid(const fmd_gmm *a, const fmd_gmm *b, const fmd_schedule *sch, double t)
{
    enum { G = 600 };
    const double lo = -9.0, w = 18.0 / G;
    fmd_marginal *ma = slice_at(a, sch->name, t), *mb = slice_at(b, sch->name, t);
    double *pts = malloc(2 * G * sizeof(double)), la[G], lb[G], kl = 0.0;
    for (int i = 0; i < G; i++) {
        for (int j = 0; j < G; j++)
            pts[2 * j] = lo + (i + 0.5) * w, pts[2 * j + 1] = lo + (j + 0.5) * w;
        fmd_marginal_log_density(G, 2, pts, la, ma);
        fmd_marginal_log_density(G, 2, pts, lb, mb);
        for (int j = 0; j < G; j++)
            kl += exp(la[j]) * (la[j] - lb[j]) * w * w;
    }
    free(pts);
    fmd_marginal_free(ma);
    fmd_marginal_free(mb);
    return kl;
}

Test(forward, end_kl_is_bounded_by_the_path_kl)
{
    fmd_gmm *g = random_mixture(2, 3, 3100), *h = random_mixture(2, 3, 3100);
    for (size_t k = 0; k < 3; k++)
        h->mean[2 * k] += 0.4, h->mean[2 * k + 1] -= 0.3;
    cr_assert_eq(fmd_gmm_prepare(h), FMD_OK);
    fmd_forward F;
    fmd_forward_by_name("ou:4", &F);
    gsl_rng *r;
    fmd_rng_alloc(3101, 0, &r);
    enum { M = 4000, STEPS = 200 };
    static double x[2 * M], sp[2 * M], sq[2 * M], d2[M];
    double integral = 0.0, var = 0.0;
    for (int i = 0; i <= STEPS; i++) {
        double t = (double)i / STEPS;   /* course time; ds = T dt */
        fmd_marginal *mp = slice_at(g, "ou:4", t), *mq = slice_at(h, "ou:4", t);
        fmd_marginal_sample(mp, r, M, x);
        fmd_marginal_out op = {.score = sp}, oq = {.score = sq};
        fmd_marginal_eval(mp, M, x, &op);
        fmd_marginal_eval(mq, M, x, &oq);
        for (int j = 0; j < M; j++)
            d2[j] = (sq[2 * j] - sp[2 * j]) * (sq[2 * j] - sp[2 * j]) + (sq[2 * j + 1] - sp[2 * j + 1]) * (sq[2 * j + 1] - sp[2 * j + 1]);
        double m, se, wgt = (i == 0 || i == STEPS) ? 1.0 : (i % 2 ? 4.0 : 2.0);
        fmd_mean_se(M, d2, 1, &m, &se);
        integral += wgt * m * F.T / (3.0 * STEPS);
        var += (wgt * se * F.T / (3.0 * STEPS)) * (wgt * se * F.T / (3.0 * STEPS));
        fmd_marginal_free(mp);
        fmd_marginal_free(mq);
    }
    fmd_schedule sch;
    fmd_schedule_by_name("ou:4", &sch);
    const double kl_T = kl_grid(g, h, &sch, 0.0), kl_end = kl_grid(g, h, &sch, 1.0);
    const double kl_path = kl_T + integral, se = sqrt(var);
    cr_log_info("KL(p_data | p~) = %.4f, KL(P | Q) = %.4f (+- %.4f; of which KL(p_T | p~_T) = %.2e)", kl_end, kl_path, se, kl_T);
    cr_expect(fabs(kl_end - kl_path) <= Z_CHECK * se, "end KL %.4f vs path KL %.4f (SE %.4f)", kl_end, kl_path, se);
    gsl_rng_free(r);
    fmd_gmm_free(g);
    fmd_gmm_free(h);
}

/* `002`'s rescaling between the VP (OU) and VE processes: with
 * X_s = e^{-s} z + sqrt(1 - e^{-2s}) eps = e^{-s} (z + sigma eps),
 * sigma^2 = (1 - alpha^2) / alpha^2 (alpha = e^{-s}), the OU marginal is the
 * VE marginal q~_sigma (the data convolved with N(0, sigma^2 I)) seen at a
 * larger scale: q_s(x) = e^{d s} q~_sigma(x e^{s}) -- the factor e^{ds} in d
 * dimensions, e^s in `002`'s one. q_s from the ou:4 marginal path (course
 * time t = 1 - s/4), q~_sigma as the mixture with Sigma_k + sigma^2 I, at 50
 * points and 9 times, d = 3: log densities equal to 1e-12 (1 + |log q|) -- two
 * routes through 3 x 3 Cholesky factors and a log-sum-exp, each rounding to
 * a few eps of |log q| (and of d s, up to 12), so 1e-12 leaves two orders of
 * margin while a wrong Jacobian (e^{s} instead of e^{ds}) is off by 2 s.
 * (fmd_model_eps uses this when it moves a point to a model's own schedule.) */
Test(forward, vp_is_ve_rescaled)
{
    enum { D = 3, NPTS = 50 };
    fmd_gmm *g = random_mixture(D, 4, 3200);
    fmd_schedule sch;
    cr_assert_eq(fmd_schedule_by_name("ou:4", &sch), FMD_OK);
    gsl_rng *r;
    fmd_rng_alloc(3201, 0, &r);
    for (int k = 1; k <= 9; k++) {
        const double t = k / 10.0, s = 4.0 * (1.0 - t), alpha = exp(-s), sigma2 = -expm1(-2.0 * s) / (alpha * alpha);
        fmd_marginal *m = slice_at(g, "ou:4", t);
        fmd_gmm *ve;   /* q~_sigma: every component widened by sigma^2 I */
        cr_assert_eq(fmd_gmm_alloc(D, g->K, &ve), FMD_OK);
        memcpy(ve->weight, g->weight, g->K * sizeof(double));
        memcpy(ve->mean, g->mean, g->K * D * sizeof(double));
        memcpy(ve->cov, g->cov, g->K * D * D * sizeof(double));
        for (size_t c = 0; c < g->K; c++)
            for (int i = 0; i < D; i++)
                ve->cov[c * D * D + i * D + i] += sigma2;
        cr_assert_eq(fmd_gmm_prepare(ve), FMD_OK);
        double x[NPTS * D], xs[NPTS * D], lq[NPTS], lve[NPTS];
        fmd_marginal_sample(m, r, NPTS, x);
        for (int i = 0; i < NPTS * D; i++)
            xs[i] = x[i] / alpha;   /* x e^{s} */
        fmd_marginal_out out = {.logp = lq};
        cr_assert_eq(fmd_marginal_eval(m, NPTS, x, &out), FMD_OK);
        fmd_gmm_log_density(ve, NPTS, xs, lve);
        for (int i = 0; i < NPTS; i++)
            cr_expect(fabs(lq[i] - (D * s + lve[i])) <= 1e-12 * (1 + fabs(lq[i])),
                      "s = %.2f, point %d: log q_s %.15g, d s + log q~_sigma(x e^s) %.15g", s, i, lq[i], D * s + lve[i]);
        fmd_gmm_free(ve);
        fmd_marginal_free(m);
    }
    gsl_rng_free(r);
    fmd_gmm_free(g);
}

/* The shrunk score's reverse drift differs from the exact one by exactly
 * g^2 delta = -g^2 a x (ou:3, g^2 = 2 up to the rounding of sqrt(2)^2):
 * 1e-14 (1 + |term|) at a few points and times. */
Test(forward, shrunk_score_drift_adds_g2_delta)
{
    fmd_gmm *g = random_mixture(2, 3, 3002);
    fmd_forward F;
    cr_assert_eq(fmd_forward_by_name("ou:3", &F), FMD_OK);
    fmd_forward_params P = {&F, g};
    fmd_shrunk_score W = {&P, 0.3};
    const double x[6] = {0.4, -1.1, 2.0, 0.3, -0.7, 0.9};
    for (int j = 0; j < 3; j++) {
        const double tau = 0.5 + j;
        double b[6], bq[6], gg[6];
        cr_assert_eq(fmd_reverse_drift(tau, 3, 2, x, b, &P), FMD_OK);
        cr_assert_eq(fmd_reverse_drift_shrunk(tau, 3, 2, x, bq, &W), FMD_OK);
        cr_assert_eq(fmd_reverse_diffusion(tau, 3, 2, x, gg, &P), FMD_OK);
        for (int i = 0; i < 6; i++) {
            const double want = -gg[i] * gg[i] * 0.3 * x[i];
            cr_expect(fabs((bq[i] - b[i]) - want) <= 1e-14 * (1 + fabs(b[i])), "tau %g, %d: %.17g vs %.17g", tau, i,
                      bq[i] - b[i], want);
            cr_expect(fabs(gg[i] * gg[i] - 2.0) <= 1e-15, "ou:3's g^2 = %.17g, not 2", gg[i] * gg[i]);
        }
    }
    fmd_gmm_free(g);
}
