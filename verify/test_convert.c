/* test_convert.c -- chapter 4 (course map rows 4.5-4.8, chapters/README.md): Prop 1 for models, the noise
 * predictor, the denoiser, and the equivalence of the losses they give. All
 * identities are pointwise, so tolerances are rounding level (1e-12 relative
 * to the sizes of the terms, 1e-10 for the losses' squares). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fmd.h"
#include "mixtures.h"

static const char *const schedules[] = {"condot", "cosine", "lab", "poly:2", "vp"};

/* field -> score -> field and score -> field -> score at t in (0, 1). */
Test(convert, prop1_round_trips_for_any_values)
{
    double x[4] = {0.3, -1.2, 2.1, 0.7}, u[4] = {1.5, -0.4, 0.05, -2.2}, s1[4], u1[4], s2[4];
    for (int si = 0; si < 5; si++) {
        fmd_schedule sch;
        fmd_schedule_by_name(schedules[si], &sch);
        for (double t = 0.05; t < 0.99; t += 0.1) {
            fmd_sched_point p;
            fmd_schedule_at(&sch, t, &p);
            cr_assert_eq(fmd_score_from_field(&p, 4, x, u, s1), FMD_OK);
            cr_assert_eq(fmd_field_from_score(&p, 4, x, s1, u1), FMD_OK);
            cr_assert_eq(fmd_score_from_field(&p, 4, x, u1, s2), FMD_OK);
            for (int i = 0; i < 4; i++) {
                cr_expect(fabs(u1[i] - u[i]) <= 1e-12 * (fabs(u[i]) + fabs(x[i]) * fabs(p.alpha_dot / p.alpha) + 1),
                          "%s t = %.2f: u %.17g -> %.17g", schedules[si], t, u[i], u1[i]);
                cr_expect(fabs(s2[i] - s1[i]) <= 1e-12 * (fabs(s1[i]) + 1), "%s t = %.2f: s round trip", schedules[si], t);
            }
        }
        /* the singular ends */
        fmd_sched_point p0, p1;
        fmd_schedule_at(&sch, 0.0, &p0);
        fmd_schedule_at(&sch, 1.0, &p1);
        if (p0.alpha == 0.0)
            cr_expect_eq(fmd_field_from_score(&p0, 4, x, u, s1), FMD_EDOM, "%s: u from s at t = 0", schedules[si]);
        cr_expect_eq(fmd_score_from_noise(&p1, 4, u, s1), FMD_EDOM);
        cr_expect_eq(fmd_score_from_denoiser(&p1, 4, x, u, s1), FMD_EDOM);
        int degenerate = strcmp(schedules[si], "lab") != 0 && strcmp(schedules[si], "vp") != 0;
        cr_expect_eq(fmd_score_from_field(&p1, 4, x, u, s1), degenerate ? FMD_EDOM : FMD_OK, "%s: s from u at t = 1", schedules[si]);
    }
}

/* Tweedie (4.8): the exact posterior mean E[z | x] turned into a score by
 * s = (alpha E[z|x] - x) / beta^2 is the exact marginal score; and the exact
 * E[eps | x] = (x - alpha E[z|x]) / beta turned by s = -eps / beta too. */
Test(convert, denoiser_and_noise_predictor_give_the_exact_score)
{
    fmd_gmm *g = random_mixture(3, 4, 1400);
    gsl_rng *r;
    fmd_rng_alloc(1401, 0, &r);
    for (int si = 0; si < 5; si++)
        for (double t = 0.1; t < 0.95; t += 0.2) {
            fmd_marginal *m = slice_at(g, schedules[si], t);
            double x[3], zm[3], sc[3], s1[3], eps[3], s2[3];
            fmd_marginal_sample(m, r, 1, x);
            fmd_marginal_out out = {.zmean = zm, .score = sc};
            fmd_marginal_eval(m, 1, x, &out);
            fmd_score_from_denoiser(&m->s, 3, x, zm, s1);
            for (int i = 0; i < 3; i++)
                eps[i] = (x[i] - m->s.alpha * zm[i]) / m->s.beta;
            fmd_score_from_noise(&m->s, 3, eps, s2);
            for (int i = 0; i < 3; i++) {
                double scale = fabs(sc[i]) + fabs(x[i]) / (m->s.beta * m->s.beta) + 1;
                cr_expect(fabs(s1[i] - sc[i]) <= 1e-12 * scale, "%s t = %.1f: Tweedie %.17g vs score %.17g", schedules[si], t, s1[i], sc[i]);
                cr_expect(fabs(s2[i] - sc[i]) <= 1e-12 * scale, "%s t = %.1f: from E[eps|x] %.17g vs %.17g", schedules[si], t, s2[i], sc[i]);
            }
            fmd_marginal_free(m);
        }
    gsl_rng_free(r);
    fmd_gmm_free(g);
}

/* 4.5, 4.7, 4.8: one network output read four ways gives losses that agree
 * sample by sample up to time-dependent factors:
 *   |eps_theta - eps|^2       = beta^2 |s - s_cond|^2           (DDPM vs DSM)
 *   |u - u_cond|^2            = c_t^2  |s - s_cond|^2           (CFM vs DSM, u = Prop 1 of s)
 *   |s - s_cond|^2            = alpha^2 / beta^4 |D - z|^2      (DSM vs denoiser)
 * with u_cond = alpha_dot z + beta_dot eps, s_cond = -eps / beta. */
Test(convert, losses_agree_sample_by_sample)
{
    fmd_gmm *g = random_mixture(2, 3, 1402);
    gsl_rng *r;
    fmd_rng_alloc(1403, 0, &r);
    for (int si = 0; si < 5; si++) {
        fmd_schedule sch;
        fmd_schedule_by_name(schedules[si], &sch);
        fmd_loss_batch b;
        cr_assert_eq(fmd_loss_batch_draw(g, &sch, 200, 0.05, 0.95, r, &b), FMD_OK);
        for (size_t i = 0; i < b.M; i++) {
            fmd_sched_point p;
            fmd_schedule_at(&sch, b.t[i], &p);
            const double *x = b.x + 2 * i, *z = b.z + 2 * i, *e = b.eps + 2 * i;
            double f[2] = {sin(3.1 * x[0] + b.t[i]), cos(1.7 * x[1] - 0.4)};   /* some network output */
            double s_from_eps[2], s_from_D[2], u_from_s[2], sc[2], uc[2];
            fmd_score_from_noise(&p, 2, f, s_from_eps);
            fmd_score_from_denoiser(&p, 2, x, f, s_from_D);
            fmd_field_from_score(&p, 2, x, f, u_from_s);
            double c = p.beta * p.beta * p.alpha_dot / p.alpha - p.beta_beta_dot;
            double ddpm = 0, dsm_eps = 0, cfm = 0, dsm_s = 0, den = 0, dsm_D = 0;
            for (int k = 0; k < 2; k++) {
                sc[k] = -e[k] / p.beta;
                uc[k] = p.alpha_dot * z[k] + p.beta_dot * e[k];
                ddpm += (f[k] - e[k]) * (f[k] - e[k]);
                dsm_eps += (s_from_eps[k] - sc[k]) * (s_from_eps[k] - sc[k]);
                cfm += (u_from_s[k] - uc[k]) * (u_from_s[k] - uc[k]);
                dsm_s += (f[k] - sc[k]) * (f[k] - sc[k]);
                den += (f[k] - z[k]) * (f[k] - z[k]);
                dsm_D += (s_from_D[k] - sc[k]) * (s_from_D[k] - sc[k]);
            }
            double b2 = p.beta * p.beta;
            cr_expect(fabs(ddpm - b2 * dsm_eps) <= 1e-10 * (ddpm + 1), "%s: DDPM %.17g vs beta^2 DSM %.17g", schedules[si], ddpm, b2 * dsm_eps);
            cr_expect(fabs(cfm - c * c * dsm_s) <= 1e-10 * (cfm + 1), "%s t = %.3f: CFM %.17g vs c^2 DSM %.17g", schedules[si], b.t[i], cfm, c * c * dsm_s);
            cr_expect(fabs(dsm_D - p.alpha * p.alpha / (b2 * b2) * den) <= 1e-10 * (dsm_D + 1), "%s: denoiser", schedules[si]);
        }
        fmd_loss_batch_free(&b);
    }
    gsl_rng_free(r);
    fmd_gmm_free(g);
}

/* A score model as fmd sample runs it: a "network" that outputs the exact
 * marginal score (dsm) or the exact noise eps = -beta s (ddpm). */
typedef struct { const fmd_gmm *g; const fmd_schedule *sch; int noise; } exact_score_net;
/* noise: 0 = the score, 1 = the noise eps = -beta s, 2 = the denoiser E[z | x] */
static int exact_score_eval(double t, size_t n, size_t d, const double *x, double *out, void *params)
{
    const exact_score_net *e = params;
    fmd_marginal *m;
    int status = fmd_marginal_alloc(e->g, &m);
    if (status != FMD_OK)
        return status;
    fmd_marginal_out o = {.score = e->noise == 2 ? NULL : out, .zmean = e->noise == 2 ? out : NULL};
    status = fmd_marginal_set_time(m, e->sch, t);
    if (status == FMD_OK)
        status = fmd_marginal_eval(m, n, x, &o);
    for (size_t i = 0; e->noise == 1 && i < n * d; i++)
        out[i] *= -m->s.beta;
    fmd_marginal_free(m);
    return status;
}

/* fmd_flow_sde_drift on a score model (Prop 1 in the form with eta = beta s)
 * and on a denoiser (u = alpha_dot D + beta_dot (x - alpha D) / beta):
 * with S = 0 it is the exact marginal field u_t, with S > 0 it is
 * u_t + (S^2 beta_t^2 / 2) grad log p_t, at t in (0, 1) for every schedule,
 * to 1e-12 relative; where alpha = 0 (t = 0 except for vp), and at t = 1 for lab and vp
 * (beta_dot = -inf), it refuses with FMD_EDOM. */
Test(convert, score_model_drift_is_the_exact_field)
{
    fmd_gmm *g = random_mixture(2, 3, 1500);
    gsl_rng *r;
    fmd_rng_alloc(1501, 0, &r);
    for (int si = 0; si < 5; si++) {
        fmd_schedule sch;
        fmd_schedule_by_name(schedules[si], &sch);
        for (int noise = 0; noise < 3; noise++) {
            const fmd_prediction what = noise == 0 ? FMD_PREDICTS_SCORE : noise == 1 ? FMD_PREDICTS_NOISE : FMD_PREDICTS_DATA;
            const char *name = noise == 0 ? "dsm" : noise == 1 ? "ddpm" : "denoiser";
            exact_score_net e = {g, &sch, noise};
            fmd_field net = {exact_score_eval, 2, &e};
            for (double t = 0.05; t < 1.0; t += 0.1)
                for (int q = 0; q < 2; q++) {
                    const double S = q ? 0.8 : 0.0;
                    fmd_flow_sde_params P = {&net, sch, S, what, NULL};
                    fmd_marginal *m = slice_at(g, schedules[si], t);
                    double x[8], drift[8], u[8], sc[8];
                    fmd_marginal_sample(m, r, 4, x);
                    fmd_marginal_out o = {.u = u, .score = sc};
                    fmd_marginal_eval(m, 4, x, &o);
                    cr_assert_eq(fmd_flow_sde_drift(t, 4, 2, x, drift, &P), FMD_OK);
                    double b2 = m->s.beta * m->s.beta;
                    for (int i = 0; i < 8; i++) {
                        double want = u[i] + 0.5 * S * S * b2 * sc[i];
                        double scale = fabs(u[i]) + fabs(x[i] * m->s.alpha_dot / m->s.alpha) +
                                       fabs(sc[i]) * (b2 * fabs(m->s.alpha_dot / m->s.alpha) + fabs(m->s.beta_beta_dot) + b2) + 1;
                        cr_expect(fabs(drift[i] - want) <= 1e-12 * scale, "%s %s t = %.2f S = %.1f: drift %.17g, exact %.17g",
                                  schedules[si], name, t, S, drift[i], want);
                    }
                    fmd_marginal_free(m);
                }
            fmd_flow_sde_params P = {&net, sch, 0.0, what, NULL};
            double x[2] = {0.3, -0.4}, out[2];
            fmd_sched_point p0;
            fmd_schedule_at(&sch, 0.0, &p0);   /* vp has alpha_0 = exp(-B(1)/2) > 0: no singularity there */
            if (noise == 2) {   /* a denoiser is finite at t = 0 and singular at t = 1 (beta = 0) */
                cr_expect_eq(fmd_flow_sde_drift(0.0, 1, 2, x, out, &P), FMD_OK, "%s: denoiser at t = 0", schedules[si]);
                cr_expect_eq(fmd_flow_sde_drift(1.0, 1, 2, x, out, &P), FMD_EDOM, "%s: denoiser at t = 1", schedules[si]);
                continue;
            }
            cr_expect_eq(fmd_flow_sde_drift(0.0, 1, 2, x, out, &P), p0.alpha == 0.0 ? FMD_EDOM : FMD_OK, "%s: t = 0", schedules[si]);
            int infinite_end = strcmp(schedules[si], "lab") == 0 || strcmp(schedules[si], "vp") == 0;
            if (infinite_end)
                cr_expect_eq(fmd_flow_sde_drift(1.0, 1, 2, x, out, &P), FMD_EDOM, "%s: t = 1", schedules[si]);
        }
    }
    gsl_rng_free(r);
    fmd_gmm_free(g);
}
