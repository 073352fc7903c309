/* test_transport.c -- chapter 3 in distribution: the ODE with the marginal
 * field (Thm 10) and the SDE of Thm 13 for several sigma_t carry p_0 to p_t;
 * Langevin dynamics (Remark 16) keeps a 5-mode mixture and reaches it.
 *
 * At each checked time: two Kolmogorov-Smirnov tests of 1-D projections
 * against the exact mixture CDF (DKW threshold at ALPHA_CHECK) and one
 * Gaussian check of the mean exact log-density E[log p_t(X_t)] against the
 * same mean over an independent exact sample (SE of the difference). The
 * integrators' own bias (RK4 with 200 steps, Heun with 400) is orders below
 * these thresholds (n = 20000: KS threshold 0.023, SE of the mean ~0.01). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fmd.h"
#include "budget.h"
#include "mixtures.h"

enum { NP = 20000 };

/* 3 checks of X (NP, 2) against the slice m (verify/mixtures.c) */
static void check_law(const fmd_marginal *m, const double *X, gsl_rng *r, const char *what)
{
    check_law_2d(m, NP, X, r, what);
}

static double sigma_const(double t, void *p) { (void)t; return *(double *)p; }
static double sigma_beta(double t, void *p)
{
    fmd_sched_point s;
    fmd_schedule_at((const fmd_schedule *)p, t, &s);
    return 1.2 * s.beta;
}

/* kind 0: ODE (RK4); 1: SDE sigma = 0.7; 2: SDE sigma = 1.2 beta_t; 3: SDE sigma = 0 (Heun) */
static void transport(const char *schedule, int kind, uint64_t seed)
{
    fmd_gmm *g = random_mixture(2, 4, 800);
    fmd_schedule sch;
    fmd_schedule_by_name(schedule, &sch);
    double c = 0.7;
    fmd_marginal_field_params P = {g, &sch, NULL, NULL};
    if (kind == 1) {
        P.sigma = sigma_const;
        P.sigma_params = &c;
    } else if (kind == 2) {
        P.sigma = sigma_beta;
        P.sigma_params = &sch;
    }
    gsl_rng *r;
    fmd_rng_alloc(seed, 0, &r);
    double *X = malloc(sizeof(double) * NP * 2);
    fmd_marginal *m0 = slice_at(g, schedule, 0.0);
    fmd_marginal_sample(m0, r, NP, X);          /* X_0 ~ p_0 exactly (vp: not quite N(0, I)) */
    fmd_marginal_free(m0);
    const char *names[4] = {"ODE (RK4)", "SDE sigma = 0.7", "SDE sigma = 1.2 beta_t", "SDE sigma = 0"};
    char what[96];
    snprintf(what, sizeof what, "%s, %s", names[kind], schedule);
    const double checkpoints[5] = {0.0, 0.25, 0.5, 0.75, 1.0};
    for (int q = 0; q + 1 < 5; q++) {
        enum { STEPS = 100 };
        double ts[STEPS + 1];
        fmd_time_grid(checkpoints[q], checkpoints[q + 1], STEPS, ts);
        if (kind == 0) {
            fmd_field u = {fmd_marginal_field, 2, &P};
            fmd_ode_workspace *ws;
            fmd_ode_workspace_alloc(fmd_ode_rk4, NP, 2, &ws);
            cr_assert_eq(fmd_ode_solve_grid(ws, &u, ts, STEPS + 1, X, NULL), FMD_OK);
            fmd_ode_workspace_free(ws);
        } else {
            fmd_sigma_schedule sig = {P.sigma ? P.sigma : sigma_const, P.sigma ? P.sigma_params : &(double){0.0}};
            fmd_sde sde = {{fmd_marginal_sde_drift, 2, &P}, fmd_diffusion_sigma_t, &sig};
            fmd_sde_workspace *ws;
            fmd_sde_workspace_alloc(fmd_sde_heun, NP, 2, &ws);
            cr_assert_eq(fmd_sde_solve_grid(ws, &sde, ts, STEPS + 1, X, seed * 10 + q, NULL), FMD_OK);
            fmd_sde_workspace_free(ws);
        }
        fmd_marginal *m = slice_at(g, schedule, checkpoints[q + 1]);
        check_law(m, X, r, what);
        fmd_marginal_free(m);
    }
    free(X);
    gsl_rng_free(r);
    fmd_gmm_free(g);
}

/* 4 times x 3 checks = 12 checks per test below. */
Test(transport, ode_with_marginal_field_carries_p0_to_pt_condot) { transport("condot", 0, 801); }
Test(transport, ode_with_marginal_field_carries_p0_to_pt_vp) { transport("vp", 0, 802); }
Test(transport, sde_extension_keeps_pt_constant_sigma) { transport("cosine", 1, 803); }
Test(transport, sde_extension_keeps_pt_beta_shaped_sigma) { transport("lab", 2, 804); }
Test(transport, sde_extension_keeps_pt_zero_sigma) { transport("condot", 3, 805); }

/* A wrong field does not pass: dropping the score term of Thm 13 (drift u
 * alone with sigma = 1.5) spreads the particles too much, and the same
 * checks must see it (the test can fail). */
Test(transport, checks_reject_the_sde_without_the_score_term)
{
    fmd_gmm *g = random_mixture(2, 4, 800);
    fmd_schedule sch;
    fmd_schedule_by_name("condot", &sch);
    fmd_marginal_field_params P = {g, &sch, NULL, NULL};
    double c = 1.5;
    fmd_sigma_schedule sig = {sigma_const, &c};
    fmd_sde sde = {{fmd_marginal_field, 2, &P}, fmd_diffusion_sigma_t, &sig};
    gsl_rng *r;
    fmd_rng_alloc(806, 0, &r);
    double *X = malloc(sizeof(double) * NP * 2), ts[401];
    fmd_marginal *m = slice_at(g, "condot", 0.0);
    fmd_marginal_sample(m, r, NP, X);
    fmd_marginal_free(m);
    fmd_time_grid(0.0, 0.5, 400, ts);
    fmd_sde_workspace *ws;
    fmd_sde_workspace_alloc(fmd_sde_heun, NP, 2, &ws);
    fmd_sde_solve_grid(ws, &sde, ts, 401, X, 807, NULL);
    fmd_sde_workspace_free(ws);
    m = slice_at(g, "condot", 0.5);
    proj2d p = {m, {0.8, 0.6}};
    static double s[NP];
    for (int i = 0; i < NP; i++)
        s[i] = 0.8 * X[2 * i] + 0.6 * X[2 * i + 1];
    double D = fmd_ks_distance(NP, s, proj2d_cdf, &p);
    cr_expect(D > 3 * ks_threshold(NP), "without the score term the law should be far off: KS %.4f", D);
    fmd_marginal_free(m);
    free(X);
    gsl_rng_free(r);
    fmd_gmm_free(g);
}

/* ---- Langevin dynamics (Remark 16) ------------------------------------------ */

/* Five modes on a circle of radius 2, sd 0.7, unequal weights. */
static fmd_gmm *five_modes(void)
{
    fmd_gmm *g;
    fmd_gmm_alloc(2, 5, &g);
    const double w[5] = {0.1, 0.3, 0.15, 0.25, 0.2};
    for (int k = 0; k < 5; k++) {
        g->weight[k] = w[k];
        g->mean[2 * k] = 2.0 * cos(2 * M_PI * k / 5);
        g->mean[2 * k + 1] = 2.0 * sin(2 * M_PI * k / 5);
        g->cov[4 * k] = g->cov[4 * k + 3] = 0.49;
    }
    cr_assert_eq(fmd_gmm_prepare(g), FMD_OK);
    return g;
}

static void langevin(double *X, const fmd_gmm *g, double T, size_t steps, uint64_t seed)
{
    fmd_langevin_params lp = {g, sqrt(2.0)};
    double sigma = lp.sigma;
    fmd_sde sde = {{fmd_langevin_drift, 2, &lp}, fmd_diffusion_constant, &sigma};
    double *ts = malloc(sizeof(double) * (steps + 1));
    fmd_time_grid(0.0, T, steps, ts);
    fmd_sde_workspace *ws;
    fmd_sde_workspace_alloc(fmd_sde_heun, NP, 2, &ws);
    cr_assert_eq(fmd_sde_solve_grid(ws, &sde, ts, steps + 1, X, seed, NULL), FMD_OK);
    free(ts);
    fmd_sde_workspace_free(ws);
}

/* Stationary: started from p itself, still p after T = 5 (h = 0.005).
 * Reached: started at (6, 6), p after T = 30 (h = 0.02). Measured: the KS
 * distance of the first projection falls from 0.25 at T = 5 to 0.035 at
 * T = 15 and 0.006 at T = 25 (the far modes need several barrier hops),
 * so T = 30 is past mixing. 3 + 3 checks. */
Test(langevin, keeps_and_reaches_five_mode_mixture)
{
    fmd_gmm *g = five_modes();
    fmd_marginal *m = slice_at(g, "condot", 1.0);   /* p_1 = p_data */
    gsl_rng *r;
    fmd_rng_alloc(900, 0, &r);
    double *X = malloc(sizeof(double) * NP * 2);
    fmd_gmm_sample(g, r, NP, X, NULL);
    langevin(X, g, 5.0, 1000, 901);
    check_law(m, X, r, "Langevin from p");
    for (int i = 0; i < NP; i++)
        X[2 * i] = X[2 * i + 1] = 6.0;
    langevin(X, g, 30.0, 1500, 902);
    check_law(m, X, r, "Langevin from (6, 6)");
    fmd_marginal_free(m);
    free(X);
    gsl_rng_free(r);
    fmd_gmm_free(g);
}

/* fmd_flow_sde_drift needs only a field: with the exact marginal field it
 * must carry p_0 to p_1 for any S (Thm 13 with the score from Prop 1).
 * 4 x 3 checks, as above. */
Test(transport, flow_sde_from_the_field_alone_keeps_pt)
{
    fmd_gmm *g = random_mixture(2, 4, 800);
    fmd_schedule sch;
    fmd_schedule_by_name("condot", &sch);
    fmd_marginal_field_params P = {g, &sch, NULL, NULL};
    fmd_field u = {fmd_marginal_field, 2, &P};
    gsl_rng *r;
    fmd_rng_alloc(810, 0, &r);
    const double S[2] = {0.7, 1.5};
    for (int q = 0; q < 2; q++) {
        fmd_flow_sde_params F = {&u, sch, S[q], FMD_PREDICTS_FIELD, NULL};
        fmd_sde sde = {{fmd_flow_sde_drift, 2, &F}, fmd_flow_sde_sigma, &F};
        double *X = malloc(sizeof(double) * NP * 2), ts[401];
        fmd_marginal *m = slice_at(g, "condot", 0.0);
        fmd_marginal_sample(m, r, NP, X);
        fmd_marginal_free(m);
        for (int half = 0; half < 2; half++) {
            fmd_time_grid(0.5 * half, 0.5 * (half + 1), 400, ts);
            fmd_sde_workspace *ws;
            fmd_sde_workspace_alloc(fmd_sde_heun, NP, 2, &ws);
            cr_assert_eq(fmd_sde_solve_grid(ws, &sde, ts, 401, X, 820 + 2 * q + half, NULL), FMD_OK);
            fmd_sde_workspace_free(ws);
            m = slice_at(g, "condot", 0.5 * (half + 1));
            char what[64];
            snprintf(what, sizeof what, "flow SDE, S = %.1f", S[q]);
            check_law(m, X, r, what);
            fmd_marginal_free(m);
        }
        free(X);
    }
    gsl_rng_free(r);
    fmd_gmm_free(g);
}
