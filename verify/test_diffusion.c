/* test_diffusion.c -- chapter 6: the discrete samplers of `003` and the
 * exponential integrators, each driven by the exact noise predictor of a
 * mixture, must reach p_data (check_law_2d: 3 checks each, 9 samplers = 27
 * checks, and 3 more for the data form run to t = 1: 30, counted in
 * verify/budget.h); the DDPM chain is the vp schedule; the
 * exponential integrators have orders 1 and 2 (fitted); a model of any kind
 * is a noise predictor (fmd_model_eps). */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fmd.h"
#include "budget.h"
#include "mixtures.h"

/* DDPM's abar_k with beta linear 1e-4 -> 0.02, N = 1000, is vp's alpha^2 at
 * t = 1 - k/N up to the discretisation: log abar_k = sum log(1 - beta_i)
 * against -B(k/N); the sum differs from the integral by the rectangle rule's
 * O(b'/N) and by sum beta_i^2 / 2 <= 0.07: |difference| <= 0.1. */
Test(diffusion, ddpm_chain_is_the_vp_schedule)
{
    fmd_ddpm q;
    cr_assert_eq(fmd_ddpm_init(1000, 1e-4, 0.02, &q), FMD_OK);
    fmd_schedule vp;
    fmd_schedule_by_name("vp", &vp);
    double worst = 0.0;
    for (size_t k = 0; k <= 1000; k += 10) {
        fmd_sched_point s;
        fmd_schedule_at(&vp, 1.0 - (double)k / 1000.0, &s);
        worst = fmax(worst, fabs(log(q.alpha_bar[k]) - 2.0 * log(s.alpha)));
    }
    cr_log_info("DDPM vs vp: largest |log abar_k - log alpha^2| = %.4f", worst);
    cr_expect(worst <= 0.1, "DDPM's abar departs from vp's alpha^2 by %.4f in log", worst);
    fmd_ddpm_free(&q);
}

/* One reverse step of DDPM fed the true noise is the exact posterior: with
 * x_k = sqrt(abar_k) x_0 + sqrt(1 - abar_k) eps, the kernel's mean
 * (fmd_ddpm_reverse_step) equals the mean of q(x_{k-1} | x_k, x_0), and
 * beta~_k its variance. The oracle multiplies the two forward kernels
 * independently: q(x_k | x_{k-1}) = N(sqrt(alpha_k) x_{k-1}, beta_k) and
 * q(x_{k-1} | x_0) = N(sqrt(abar_{k-1}) x_0, 1 - abar_{k-1}) give the
 * precision alpha_k / beta_k + 1 / (1 - abar_{k-1}) and the mean
 * (sqrt(alpha_k) x_k / beta_k + sqrt(abar_{k-1}) x_0 / (1 - abar_{k-1})) /
 * precision. Every k = 1..1000, 8 random (x_0, eps): means and variances
 * to 16 eps / (1 - abar_{k-1}) relative (the rounding of 1 - abar, near
 * 1e-4 at the first levels); and sigma^2 = beta_k for the other variance. */
Test(diffusion, reverse_step_is_the_exact_posterior)
{
    fmd_ddpm q;
    cr_assert_eq(fmd_ddpm_init(1000, 1e-4, 0.02, &q), FMD_OK);
    gsl_rng *r;
    fmd_rng_alloc(2790, 0, &r);
    for (size_t k = 1; k <= q.N; k++) {
        double x0[8], eps[8], xk[8], mean[8], var, var_beta;
        fmd_rng_gaussian(r, 8, x0);
        fmd_rng_gaussian(r, 8, eps);
        const double ab = q.alpha_bar[k], abp = q.alpha_bar[k - 1], b = q.beta[k], a = 1.0 - b;
        for (int i = 0; i < 8; i++)
            xk[i] = sqrt(ab) * x0[i] + sqrt(1.0 - ab) * eps[i];
        cr_assert_eq(fmd_ddpm_reverse_step(&q, k, FMD_DDPM_VAR_POSTERIOR, 8, xk, eps, mean, &var), FMD_OK);
        cr_assert_eq(fmd_ddpm_reverse_step(&q, k, FMD_DDPM_VAR_BETA, 8, xk, eps, mean, &var_beta), FMD_OK);
        const double prec = a / b + 1.0 / (1.0 - abp);   /* at k = 1, 1 - abar_0 = 0: x_0 is known */
        /* both sides form 1 - abar from abar close to 1, which keeps only
         * eps / (1 - abar_{k-1}) relative accuracy: tolerance 16 eps of that
         * (1e-12 and below once 1 - abar_{k-1} > 2e-3); a wrong kernel is off
         * by O(beta_k) at least */
        const double vtol = 16 * DBL_EPSILON / (k == 1 ? 1.0 : 1.0 - abp);
        for (int i = 0; i < 8; i++) {
            const double want = k == 1 ? x0[i] : (sqrt(a) * xk[i] / b + sqrt(abp) * x0[i] / (1.0 - abp)) / prec;
            cr_expect(fabs(mean[i] - want) <= vtol * (1 + fabs(want)), "k = %zu: mean %.17g, posterior's %.17g", k, mean[i],
                      want);
        }
        const double want_var = k == 1 ? 0.0 : 1.0 / prec;
        cr_expect(fabs(var - want_var) <= vtol * want_var, "k = %zu: variance %.17g, posterior's %.17g", k, var, want_var);
        cr_expect(var_beta == b, "k = %zu: sigma^2 = beta_k", k);
    }
    gsl_rng_free(r);
    fmd_ddpm_free(&q);
}

/* NCSN's noise levels, read as a chain that adds noise from one level to the
 * next, x_i = x_{i+1} + sqrt(sigma_i^2 - sigma_{i+1}^2) z, become the VE SDE
 * dx = sqrt(d sigma^2/ds) dw of the `ve` schedule as L grows (the analogue of
 * the DDPM -> VP check above). On a grid of L levels over s in [0, 1] (s = 1 -
 * t; sigma_max = 50 at s = 1, sigma_min = 0.01 at s = 0), each increment's
 * variance is the SDE's d(sigma^2)/ds at the step's lower end times ds, to
 * O(ds): d(sigma^2)/ds = -2 beta beta_dot of `ve` (course time runs the other
 * way). The largest relative difference over the chain, for L = 100 .. 1600,
 * falls with fitted order 1 +- 0.05 (deterministic: no sampling; from L = 100,
 * where 17 ds, the log-variance change of a step, is small: the next term,
 * (17 ds)^2 / 6 against 17 ds / 2, tilts the slope by about 17 ds / 3 < 0.06
 * at the coarsest pair, and the fit gives 1.02; and the error at L = 1600 is
 * 17 ds / 2 = 0.005, far below the 0.1 asked), and the
 * levels themselves sit on the ve schedule's sigma(s) = sigma_min
 * (sigma_max/sigma_min)^s to 1e-12. */
Test(diffusion, ncsn_chain_is_the_ve_sde)
{
    fmd_schedule ve;
    cr_assert_eq(fmd_schedule_by_name("ve", &ve), FMD_OK);
    enum { LV = 5 };
    double h[LV], worst[LV];
    for (int j = 0; j < LV; j++) {
        const size_t L = (size_t)100 << j;
        const double ds = 1.0 / (double)(L - 1);
        worst[j] = 0.0;
        for (size_t i = 0; i + 1 < L; i++) {
            const double hi = fmd_ncsn_level(50.0, 0.01, L, i), lo = fmd_ncsn_level(50.0, 0.01, L, i + 1);
            const double s_lo = 1.0 - (double)(i + 1) / (double)(L - 1);   /* level i + 1 sits at s = 1 - (i + 1) ds */
            fmd_sched_point p;
            fmd_schedule_at(&ve, 1.0 - s_lo, &p);
            const double sigma = 0.01 * pow(5000.0, s_lo);   /* sigma(s) of the ve schedule */
            cr_expect(fabs(lo - sigma) <= 1e-12 * sigma, "L = %zu, level %zu: %.15g, ve's sigma(s) %.15g", L, i + 1, lo,
                      sigma);
            const double sde = -2.0 * p.beta_beta_dot * ds;   /* d(sigma^2)/ds ds */
            worst[j] = fmax(worst[j], fabs((hi * hi - lo * lo) / sde - 1.0));
        }
        h[j] = ds;
    }
    double lh[LV], lw[LV], w1[LV], se;
    for (int j = 0; j < LV; j++)
        lh[j] = log(h[j]), lw[j] = log(worst[j]), w1[j] = 1.0;
    const double slope = fmd_fit_slope(LV, lh, lw, w1, &se);
    cr_log_info("NCSN -> VE: largest relative increment error %.3e (L = 100) .. %.3e (L = 1600), order %.3f", worst[0],
                worst[LV - 1], slope);
    cr_expect(fabs(slope - 1.0) <= 0.05 && worst[LV - 1] < 0.1, "NCSN -> VE: order %.3f, error %.3e at L = 1600", slope,
              worst[LV - 1]);
}

enum { NS = 20000 };

/* With exact scores, every sampler reaches p_data. */
Test(diffusion, every_sampler_reaches_p_data_with_exact_scores)
{
    fmd_gmm *g = random_mixture(2, 4, 2800);
    gsl_rng *r;
    fmd_rng_alloc(2801, 0, &r);
    fmd_marginal *m1 = slice_at(g, "condot", 1.0);
    fmd_ddpm q;
    fmd_ddpm_init(1000, 1e-4, 0.02, &q);
    fmd_schedule vp;
    fmd_schedule_by_name("vp", &vp);
    static double x[2 * NS];
    size_t nfe;
    cr_assert_eq(fmd_ddpm_ancestral(&q, fmd_mixture_eps, g, NS, 2, 1, x, &nfe), FMD_OK);
    check_law_2d(m1, NS, x, r, "DDPM ancestral, 1000 steps");
    cr_assert_eq(fmd_ddpm_ancestral_var(&q, FMD_DDPM_VAR_POSTERIOR, fmd_mixture_eps, g, NS, 2, 11, x, &nfe), FMD_OK);
    check_law_2d(m1, NS, x, r, "DDPM ancestral, posterior variance beta~, 1000 steps");
    cr_assert_eq(fmd_ddim(&q, 50, 0.0, fmd_mixture_eps, g, NS, 2, 2, x, &nfe), FMD_OK);
    check_law_2d(m1, NS, x, r, "DDIM eta = 0, 50 steps");
    cr_assert_eq(fmd_ddim(&q, 200, 1.0, fmd_mixture_eps, g, NS, 2, 3, x, &nfe), FMD_OK);
    check_law_2d(m1, NS, x, r, "DDIM eta = 1, 200 steps");
    /* the two Langevin-based samplers carry the unadjusted Langevin step's own bias, which
     * needs many small steps to sink below the checks' resolution (measured: 20 levels x 50
     * steps are 0.08 nats off; a corrector at the image-tuned snr 0.16 adds 0.03) */
    cr_assert_eq(fmd_annealed_langevin(10.0, 0.01, 30, 100, 3e-5, fmd_mixture_eps, g, NS / 2, 2, 4, x, &nfe), FMD_OK);
    check_law_2d(m1, NS / 2, x, r, "annealed Langevin, 30 x 100");
    cr_assert_eq(fmd_predictor_corrector(&vp, 0.0, 1.0, 1000, 1, 0.05, fmd_mixture_eps, g, NS, 2, 5, x, &nfe), FMD_OK);
    check_law_2d(m1, NS, x, r, "predictor-corrector, 1000 x (1 + 1), snr 0.05");
    const struct {
        fmd_exp_method method;
        fmd_exp_form form;
        fmd_grid_kind grid;
        size_t steps;
        const char *name;
    } exps[] = {
        {FMD_EXP_ORDER1, FMD_EXP_NOISE, FMD_GRID_LOGSNR, 100, "exponential integrator, order 1, 100 steps"},
        {FMD_EXP_2S, FMD_EXP_NOISE, FMD_GRID_LOGSNR, 25, "exponential integrator, order 2, 25 steps"},
        {FMD_EXP_2S, FMD_EXP_DATA, FMD_GRID_LOGSNR, 25, "exponential integrator, data form, order 2, 25 steps"},
        {FMD_EXP_2M, FMD_EXP_DATA, FMD_GRID_TIME, 50, "exponential integrator, data form, multistep order 2, 50 steps"},
    };
    for (size_t e = 0; e < sizeof exps / sizeof exps[0]; e++) {   /* time grids: power 2 */
        double ts[101];
        cr_assert_eq(fmd_exp_grid(&vp, exps[e].grid, 2.0, 0.0, 1.0 - 1e-4, exps[e].steps, ts), FMD_OK);
        cr_assert_eq(fmd_exponential_integrator(&vp, exps[e].method, exps[e].form, ts, exps[e].steps, fmd_mixture_eps, g, NS, 2,
                                                6 + e, 0, x, &nfe),
                     FMD_OK);
        check_law_2d(m1, NS, x, r, exps[e].name);
    }
    fmd_ddpm_free(&q);
    fmd_marginal_free(m1);
    gsl_rng_free(r);
    fmd_gmm_free(g);
}

/* Orders of the exponential integrators: from the same 200 starts, the final
 * points against a 4096-step second-order reference (its own error ~1e-6);
 * the log-log slope of the RMS error is fitted over 1024..8192 steps for
 * order 1 and 64..512 for the second orders, and must be 1 and 2 within
 * 0.1. The ranges are where each is asymptotic (successive error ratios 2.0
 * and 4.0): with fewer steps a few particles still end in the wrong mode,
 * an O(1) error each, and order 1 shows ratios 1.4, 2.4, 3.5 over 64..512.
 * Grids uniform in lambda, and for the multistep also a time grid with
 * power 2, which changes the constant only. */
Test(diffusion, exponential_integrators_have_orders_one_and_two)
{
    fmd_gmm *g = random_mixture(2, 3, 2900);
    fmd_schedule vp;
    fmd_schedule_by_name("vp", &vp);
    enum { N0 = 200 };
    static double start[2 * N0], ref[2 * N0], y[2 * N0], ts[8193];
    fmd_sample_init(29, N0, 2, start);
    fmd_sched_point s0;
    fmd_schedule_at(&vp, 0.0, &s0);
    for (int i = 0; i < 2 * N0; i++)
        start[i] *= s0.beta;
    memcpy(ref, start, sizeof ref);
    fmd_exp_grid(&vp, FMD_GRID_LOGSNR, 1.0, 0.0, 0.999, 4096, ts);
    cr_assert_eq(fmd_exponential_integrator(&vp, FMD_EXP_2S, FMD_EXP_NOISE, ts, 4096, fmd_mixture_eps, g, N0, 2, 0, 1, ref, NULL),
                 FMD_OK);
    const struct {
        fmd_exp_method method;
        fmd_exp_form form;
        fmd_grid_kind grid;
        int order;
        size_t first;
        const char *name;
    } cases[] = {
        {FMD_EXP_ORDER1, FMD_EXP_NOISE, FMD_GRID_LOGSNR, 1, 1024, "order 1"},
        {FMD_EXP_2S, FMD_EXP_NOISE, FMD_GRID_LOGSNR, 2, 64, "2S, noise form"},
        {FMD_EXP_2S, FMD_EXP_DATA, FMD_GRID_LOGSNR, 2, 64, "2S, data form"},
        {FMD_EXP_2M, FMD_EXP_NOISE, FMD_GRID_LOGSNR, 2, 64, "2M, noise form"},
        {FMD_EXP_2M, FMD_EXP_DATA, FMD_GRID_LOGSNR, 2, 64, "2M, data form"},
        {FMD_EXP_2M, FMD_EXP_DATA, FMD_GRID_TIME, 2, 64, "2M, data form, time grid power 2"},
    };
    for (size_t q = 0; q < sizeof cases / sizeof cases[0]; q++) {
        double lh[4], le[4];
        for (int j = 0; j < 4; j++) {
            size_t steps = cases[q].first << j;
            cr_assert_eq(fmd_exp_grid(&vp, cases[q].grid, 2.0, 0.0, 0.999, steps, ts), FMD_OK);
            memcpy(y, start, sizeof y);
            cr_assert_eq(fmd_exponential_integrator(&vp, cases[q].method, cases[q].form, ts, steps, fmd_mixture_eps, g, N0, 2, 0, 1,
                                                    y, NULL),
                         FMD_OK);
            lh[j] = log(1.0 / (double)steps);
            le[j] = log(rms_distance(N0, 2, y, ref));
        }
        double slope = fmd_fit_slope(4, lh, le, NULL, NULL);
        cr_log_info("exponential integrator %s: fitted slope %.3f (errors %.2e %.2e %.2e %.2e)", cases[q].name, slope, exp(le[0]),
                    exp(le[1]), exp(le[2]), exp(le[3]));
        cr_expect(fabs(slope - cases[q].order) <= 0.1, "%s: fitted slope %.3f", cases[q].name, slope);
    }
    fmd_gmm_free(g);
}

/* The grids and the integrator refuse what they cannot step on: a grid end
 * where lambda is infinite (t = 1 on vp: beta = 0), a decreasing grid, a
 * power below 1, an unknown method. */
Test(diffusion, exponential_integrator_refuses_bad_grids)
{
    fmd_gmm *g = random_mixture(2, 2, 3000);
    fmd_schedule vp;
    fmd_schedule_by_name("vp", &vp);
    double ts[5], x[4] = {0};
    cr_expect_eq(fmd_exp_grid(&vp, FMD_GRID_LOGSNR, 1.0, 0.0, 1.0, 4, ts), FMD_EDOM);
    cr_expect_eq(fmd_exp_grid(&vp, FMD_GRID_TIME, 0.5, 0.0, 0.9, 4, ts), FMD_EINVAL);
    cr_expect_eq(fmd_exp_grid(&vp, FMD_GRID_TIME, 1.0, 0.9, 0.1, 4, ts), FMD_EINVAL);
    cr_assert_eq(fmd_exp_grid(&vp, FMD_GRID_TIME, 1.0, 0.0, 0.9, 4, ts), FMD_OK);
    for (int k = 0; k < 4; k++)
        cr_expect(ts[k + 1] > ts[k], "time grid increasing at %d", k);
    cr_expect_eq(fmd_exponential_integrator(&vp, (fmd_exp_method)7, FMD_EXP_DATA, ts, 4, fmd_mixture_eps, g, 2, 2, 0, 1, x, NULL),
                 FMD_EINVAL);
    double swapped[5] = {0.0, 0.5, 0.3, 0.7, 0.9};
    cr_expect_eq(fmd_exponential_integrator(&vp, FMD_EXP_2M, FMD_EXP_DATA, swapped, 4, fmd_mixture_eps, g, 2, 2, 0, 1, x, NULL),
                 FMD_EDOM);
    double to_one[5] = {0.0, 0.5, 0.7, 0.9, 1.0};   /* beta = 0 at the end: the data form only */
    cr_expect_eq(fmd_exponential_integrator(&vp, FMD_EXP_2S, FMD_EXP_NOISE, to_one, 4, fmd_mixture_eps, g, 2, 2, 0, 1, x, NULL),
                 FMD_EDOM);
    cr_expect_eq(fmd_exponential_integrator(&vp, FMD_EXP_2S, FMD_EXP_DATA, to_one, 4, fmd_mixture_eps, g, 2, 2, 0, 1, x, NULL),
                 FMD_OK);
    double from_zero[5] = {0.0, 0.5, 0.7, 0.9, 0.95};   /* condot: alpha = 0 at t = 0 */
    fmd_schedule condot;
    fmd_schedule_by_name("condot", &condot);
    cr_expect_eq(fmd_exponential_integrator(&condot, FMD_EXP_2M, FMD_EXP_DATA, from_zero, 4, fmd_mixture_eps, g, 2, 2, 0, 1, x,
                                            NULL),
                 FMD_EDOM);
    fmd_gmm_free(g);
}

/* In the data form a grid may end at beta = 0: the last step is then
 * x' = alpha' D(x), the denoised estimate itself. With the mixture's exact
 * D = E[z | x_t = x] a single such step must return E[z | x] at the start
 * point (to rounding, 1e-12), whatever the method, with one evaluation; a
 * whole run to t = 1 on a time grid must reach p_data (check_law_2d, 3
 * checks, counted in verify/budget.h). */
Test(diffusion, data_form_steps_to_the_data_exactly)
{
    fmd_gmm *g = random_mixture(2, 3, 3200);
    fmd_schedule vp;
    fmd_schedule_by_name("vp", &vp);
    enum { NP = 100 };
    double x[2 * NP], y[2 * NP], zmean[2 * NP];
    for (int i = 0; i < 2 * NP; i++)
        x[i] = 3.0 * sin(1.7 * i + 0.3);
    fmd_marginal *m;
    cr_assert_eq(fmd_marginal_alloc(g, &m), FMD_OK);
    cr_assert_eq(fmd_marginal_set_time(m, &vp, 0.8), FMD_OK);
    fmd_marginal_out o = {.zmean = zmean};
    cr_assert_eq(fmd_marginal_eval(m, NP, x, &o), FMD_OK);
    const double ts[2] = {0.8, 1.0};
    const fmd_exp_method methods[3] = {FMD_EXP_ORDER1, FMD_EXP_2S, FMD_EXP_2M};
    for (int k = 0; k < 3; k++) {
        memcpy(y, x, sizeof y);
        size_t nfe = 0;
        cr_assert_eq(fmd_exponential_integrator(&vp, methods[k], FMD_EXP_DATA, ts, 1, fmd_mixture_eps, g, NP, 2, 0, 1, y, &nfe),
                     FMD_OK);
        double worst = 0.0;
        for (int i = 0; i < 2 * NP; i++)
            worst = fmax(worst, fabs(y[i] - zmean[i]));
        cr_expect(worst <= 1e-12, "method %d: last step off E[z | x] by %.3g", k, worst);
        cr_expect_eq(nfe, 1, "method %d: %zu evaluations for the last step", k, nfe);
    }
    fmd_marginal_free(m);
    static double z[2 * NS], grid[51];
    gsl_rng *r;
    fmd_rng_alloc(3201, 0, &r);
    fmd_marginal *m1 = slice_at(g, "condot", 1.0);
    cr_assert_eq(fmd_exp_grid(&vp, FMD_GRID_TIME, 2.0, 0.0, 1.0, 50, grid), FMD_OK);
    cr_assert_eq(fmd_exponential_integrator(&vp, FMD_EXP_2M, FMD_EXP_DATA, grid, 50, fmd_mixture_eps, g, NS, 2, 10, 0, z, NULL),
                 FMD_OK);
    check_law_2d(m1, NS, z, r, "exponential integrator, data form, 2M, 50 steps to t = 1");
    fmd_marginal_free(m1);
    gsl_rng_free(r);
    fmd_gmm_free(g);
}

/* A stand-in for a trained network: the mixture's exact output of one kind
 * (field, score, noise or denoised mean) at time t on schedule sch. */
typedef struct {
    const fmd_gmm *g;
    const fmd_schedule *sch;
    fmd_prediction kind;
} exact_model;

static int exact_output(double t, size_t n, size_t d, const double *x, double *out, void *params)
{
    const exact_model *E = params;
    fmd_marginal *m;
    int status = fmd_marginal_alloc(E->g, &m);
    if (status == FMD_OK)
        status = fmd_marginal_set_time(m, E->sch, t);
    fmd_marginal_out o = {0};
    if (E->kind == FMD_PREDICTS_FIELD)
        o.u = out;
    else if (E->kind == FMD_PREDICTS_DATA)
        o.zmean = out;
    else
        o.score = out;
    if (status == FMD_OK)
        status = fmd_marginal_eval(m, n, x, &o);
    fmd_sched_point s;
    fmd_schedule_at(E->sch, t, &s);
    for (size_t i = 0; status == FMD_OK && E->kind == FMD_PREDICTS_NOISE && i < n * d; i++)
        out[i] *= -s.beta;
    fmd_marginal_free(m);
    return status;
}

/* fmd_model_eps turns each kind of output into the noise prediction: for
 * the exact outputs it must give the mixture's exact eps (fmd_mixture_eps)
 * at every schedule, at interior times, and at DDPM levels (which are vp's
 * points only up to a rescaling of x). The only approximation is t recovered
 * by bisection to 1e-15 relative, and the conversions' rounding: 1e-9
 * relative to the size of eps is a wide margin. */
Test(diffusion, model_eps_recovers_the_mixture_noise)
{
    fmd_gmm *g = random_mixture(2, 3, 3100);
    enum { NP = 50 };
    double x[2 * NP], e_model[2 * NP], e_exact[2 * NP];
    gsl_rng *r;
    fmd_rng_alloc(3101, 0, &r);
    const char *names[] = {"condot", "cosine", "lab", "poly:2", "vp", "ou:5", "ve"};
    const fmd_prediction kinds[4] = {FMD_PREDICTS_FIELD, FMD_PREDICTS_SCORE, FMD_PREDICTS_NOISE, FMD_PREDICTS_DATA};
    const double times[4] = {0.05, 0.3, 0.7, 0.95};
    fmd_ddpm q;
    fmd_ddpm_init(1000, 1e-4, 0.02, &q);
    double overall = 0.0;
    for (size_t a = 0; a < sizeof names / sizeof names[0]; a++) {
        fmd_schedule sch;
        cr_assert_eq(fmd_schedule_by_name(names[a], &sch), FMD_OK);
        for (int k = 0; k < 4; k++) {
            exact_model E = {g, &sch, kinds[k]};
            fmd_field u = {exact_output, 2, &E};
            fmd_model_eps_params P = {&u, sch, kinds[k], NULL};
            for (int j = 0; j < 5; j++) {
                fmd_sched_point s;
                if (j < 4)
                    fmd_schedule_at(&sch, times[j], &s);
                else if (strcmp(names[a], "vp") == 0)   /* a DDPM level: alpha = sqrt(abar_k) */
                    s = (fmd_sched_point){sqrt(q.alpha_bar[300]), sqrt(1.0 - q.alpha_bar[300]), 0, 0, 0};
                else
                    continue;
                for (int i = 0; i < 2 * NP; i++)
                    x[i] = 3.0 * gsl_rng_uniform(r) - 1.5;
                cr_assert_eq(fmd_model_eps(&s, NP, 2, x, e_model, &P), FMD_OK);
                cr_assert_eq(fmd_mixture_eps(&s, NP, 2, x, e_exact, g), FMD_OK);
                double worst = 0.0;
                for (int i = 0; i < 2 * NP; i++)
                    worst = fmax(worst, fabs(e_model[i] - e_exact[i]) / fmax(1.0, fabs(e_exact[i])));
                cr_expect(worst <= 1e-9, "%s, output kind %d, point %d: eps off by %.3g", names[a], k, j, worst);
                overall = fmax(overall, worst);
            }
        }
    }
    cr_log_info("model eps vs exact eps: worst relative difference %.3g", overall);
    /* where lambda is infinite there is no noise prediction */
    fmd_schedule condot;
    fmd_schedule_by_name("condot", &condot);
    exact_model E = {g, &condot, FMD_PREDICTS_FIELD};
    fmd_field u = {exact_output, 2, &E};
    fmd_model_eps_params P = {&u, condot, FMD_PREDICTS_FIELD, NULL};
    fmd_sched_point s0 = {0.0, 1.0, 1.0, -1.0, -1.0};
    cr_expect_eq(fmd_model_eps(&s0, NP, 2, x, e_model, &P), FMD_EDOM);
    fmd_ddpm_free(&q);
    gsl_rng_free(r);
    fmd_gmm_free(g);
}

/* ddpm:N holds the discrete chain: at t_k = 1 - k/N its log alpha^2 is the
 * chain's log abar_k = sum_{j<=k} log(1 - beta_j) (fmd_ddpm_init with the
 * betas `fmd sample --solver ddpm` uses), for every level k = 0..N and N
 * from 100 (the least it takes) to 5000; fewer levels are refused. The closed form (src/paths/schedule.c) sums terms of size k
 * and the running product adds k roundings of abar: the tolerance is
 * 8 eps (k + |log abar_k|) (absolute, in log abar). Each level's (alpha,
 * beta) is sent back to t_k by fmd_model_eps's lambda inversion: to 1e-12.
 * And the derivatives against fourth-order central differences, h = 1e-3
 * (truncation h^4/30 |alpha^(5)|, rounding eps k / h: tolerance 1e-8 (1 +
 * |f'|)), at times between the levels and on them. */
Test(diffusion, ddpm_schedule_holds_the_chain_levels)
{
    const size_t Ns[] = {100, 101, 1000, 5000};
    const double eps = 2.220446049250313e-16;
    for (size_t j = 0; j < sizeof Ns / sizeof Ns[0]; j++) {
        const size_t N = Ns[j];
        char name[32];
        snprintf(name, sizeof name, "ddpm:%zu", N);
        fmd_schedule s;
        cr_assert_eq(fmd_schedule_by_name(name, &s), FMD_OK, "%s", name);
        fmd_ddpm q;
        const double bmin = 0.1 / (double)N, bmax = fmin(20.0 / (double)N, 0.999);
        cr_assert_eq(fmd_ddpm_init(N, bmin, bmax, &q), FMD_OK);
        double worst = 0.0, worst_t = 0.0;
        for (size_t k = 0; k <= N; k++) {
            fmd_sched_point p;
            const double tk = 1.0 - (double)k / (double)N, want = log(q.alpha_bar[k]);
            fmd_schedule_at(&s, tk, &p);
            const double err = fabs(2.0 * log(p.alpha) - want), tol = 8 * eps * ((double)k + fabs(want)) + 1e-300;
            worst = fmax(worst, err / tol);
            cr_expect(err <= tol, "%s level %zu: log alpha^2 %.17g, log abar %.17g (tolerance %.2g)", name, k,
                      2.0 * log(p.alpha), want, tol);
            if (k > 0 && k < N) {   /* the level's time, recovered from its (alpha, beta) */
                fmd_sched_point lev = {.alpha = sqrt(q.alpha_bar[k]), .beta = sqrt(1.0 - q.alpha_bar[k])};
                double t;
                cr_assert_eq(fmd_schedule_time_of_lambda(&s, fmd_schedule_lambda(&lev), 0.0, 1.0, &t), FMD_OK);
                worst_t = fmax(worst_t, fabs(t - tk));
                cr_expect(fabs(t - tk) <= 1e-12, "%s level %zu: time %.17g, not %.17g", name, k, t, tk);
            }
        }
        const double h = 1e-3;
        for (double t = 0.0123; t < 0.99; t += 0.0517) {
            fmd_sched_point p, f[4];
            const double dt[4] = {2 * h, h, -h, -2 * h};
            fmd_schedule_at(&s, t, &p);
            for (int i = 0; i < 4; i++)
                fmd_schedule_at(&s, t + dt[i], &f[i]);
            const double da = (-f[0].alpha + 8 * f[1].alpha - 8 * f[2].alpha + f[3].alpha) / (12 * h);
            const double dbb = (-f[0].beta * f[0].beta + 8 * f[1].beta * f[1].beta - 8 * f[2].beta * f[2].beta +
                                f[3].beta * f[3].beta) / (24 * h);
            cr_expect(fabs(da - p.alpha_dot) <= 1e-8 * (1 + fabs(da)), "%s t = %.4f: alpha_dot %.15g, FD %.15g", name, t,
                      p.alpha_dot, da);
            cr_expect(fabs(dbb - p.beta_beta_dot) <= 1e-8 * (1 + fabs(dbb)), "%s t = %.4f: beta beta_dot %.15g, FD %.15g",
                      name, t, p.beta_beta_dot, dbb);
        }
        cr_log_info("%s: log abar worst error / tolerance %.2g, level times %.2g", name, worst, worst_t);
        cr_expect_eq(fmd_schedule_by_name("ddpm:99", &s), FMD_EINVAL);
        fmd_ddpm_free(&q);
    }
}

/* k-diffusion's deterministic samplers (src/sde_view/ksampler.h) on Karras et al.'s
 * levels (rho = 7, sigma from 80 to 0.002), exact noise of a mixture, 200
 * starts 80 eps: the error of each against the exact probability flow
 * (Dormand-Prince at 1e-12 in course time on vp, read in the sigma frame,
 * x~ = x / alpha) is fitted against 1/N over the steps where it is
 * asymptotic (successive ratios within 10% of 2^order):
 *   Heun (EDM, Algorithm 1)  order 2 over N = 64..512 (measured 2.01),
 *   LMS, order 4             order 4 over N = 256..1024 (measured 3.91),
 *   DPM-Solver++(3M)         order 2 over N = 128..512 (measured 1.94) --
 * two, not three: as k-diffusion (and DPM-Solver's reference code) write it,
 * the second-difference term -phi_3 D2 carries half the weight that the
 * Taylor expansion of the exponential integral asks for (D2 ~ h^2 D''/2);
 * doubling it (FMD_K_DPMPP_3M_CORRECTED) gives order 3 over N = 128..512,
 * checked here too. Tolerance 0.2 around each, as issue 15 asks. */
Test(ksampler, deterministic_methods_have_their_orders)
{
    fmd_gmm *g = random_mixture(2, 3, 2950);
    fmd_schedule vp;
    fmd_schedule_by_name("vp", &vp);
    enum { N0 = 200 };
    const double smax = 80.0, smin = 0.002;
    static double start[2 * N0], ref[2 * N0], y[2 * N0], sig[1026];
    fmd_sample_init(31, N0, 2, start);
    for (int i = 0; i < 2 * N0; i++)
        start[i] *= smax;
    double t0, t1;
    fmd_schedule_time_of_lambda(&vp, -log(smax), 0.0, 1.0, &t0);
    fmd_schedule_time_of_lambda(&vp, -log(smin), 0.0, 1.0, &t1);
    fmd_sched_point a0, a1;
    fmd_schedule_at(&vp, t0, &a0);
    fmd_schedule_at(&vp, t1, &a1);
    for (int i = 0; i < 2 * N0; i++)
        ref[i] = a0.alpha * start[i];
    fmd_marginal_field_params E = {g, &vp, NULL, NULL};
    fmd_field u = {fmd_marginal_field, 2, &E};
    fmd_ode_workspace *ws;
    fmd_ode_workspace_alloc(fmd_ode_dopri5, N0, 2, &ws);
    fmd_ode_control ctl = {{1e-12, 1e-12}, 0.0, 0.0, 0};
    cr_assert_eq(fmd_ode_solve_adaptive(ws, &u, t0, t1, ref, &ctl), FMD_OK);
    fmd_ode_workspace_free(ws);
    for (int i = 0; i < 2 * N0; i++)
        ref[i] /= a1.alpha;
    const struct { fmd_kmethod method; double order; size_t first; const char *name; } cases[4] = {
        {FMD_K_HEUN, 2.0, 64, "Heun (EDM)"},
        {FMD_K_LMS, 4.0, 256, "LMS(4)"},
        {FMD_K_DPMPP_3M, 2.0, 128, "DPM-Solver++(3M)"},
        {FMD_K_DPMPP_3M_CORRECTED, 3.0, 128, "DPM-Solver++(3M), corrected"}};
    for (int q = 0; q < 4; q++) {
        double lh[4], le[4];
        const int m = q == 0 ? 4 : 3;
        for (int j = 0; j < m; j++) {
            const size_t n = cases[q].first << j;
            cr_assert_eq(fmd_karras_sigmas(n + 1, smin, smax, 7.0, sig), FMD_OK);
            memcpy(y, start, sizeof y);
            cr_assert_eq(fmd_ksample(cases[q].method, sig, n, fmd_mixture_eps, g, N0, 2, 0, y, NULL), FMD_OK);   /* stop at smin */
            lh[j] = log(1.0 / (double)n);
            le[j] = log(rms_distance(N0, 2, y, ref));
        }
        const double slope = fmd_fit_slope(m, lh, le, NULL, NULL);
        cr_log_info("%s: fitted order %.3f (errors %.2e .. %.2e)", cases[q].name, slope, exp(le[0]), exp(le[m - 1]));
        cr_expect(fabs(slope - cases[q].order) <= 0.2, "%s: fitted order %.3f, expected %.0f", cases[q].name, slope,
                  cases[q].order);
    }
    cr_expect_eq(fmd_karras_sigmas(5, 1.0, 0.5, 7.0, sig), FMD_EINVAL);
    sig[0] = 1.0, sig[1] = 2.0, sig[2] = 0.0;
    cr_expect_eq(fmd_ksample(FMD_K_HEUN, sig, 2, fmd_mixture_eps, g, N0, 2, 0, y, NULL), FMD_EGRID);
    fmd_gmm_free(g);
}

/* k-diffusion's stochastic samplers reach p_data with exact scores: Euler
 * ancestral, DPM-Solver++(2S) ancestral and DPM-Solver++ SDE, 400 Karras
 * levels from 80 to 0.002 and then to 0, 20000 samples each from 80 eps,
 * by check_law_2d (3 checks each, 9 in all). */
Test(ksampler, stochastic_methods_reach_p_data)
{
    fmd_gmm *g = random_mixture(2, 4, 2960);
    gsl_rng *r;
    fmd_rng_alloc(2961, 0, &r);
    fmd_marginal *m1 = slice_at(g, "condot", 1.0);
    static double x[2 * NS], sig[401];
    cr_assert_eq(fmd_karras_sigmas(400, 0.002, 80.0, 7.0, sig), FMD_OK);
    const struct { fmd_kmethod method; const char *name; } cases[3] = {
        {FMD_K_EULER_ANCESTRAL, "Euler ancestral, 400 levels"},
        {FMD_K_DPMPP_2S_ANCESTRAL, "DPM-Solver++(2S) ancestral, 400 levels"},
        {FMD_K_DPMPP_SDE, "DPM-Solver++ SDE, 400 levels"}};
    for (int q = 0; q < 3; q++) {
        fmd_sample_init(40 + q, NS, 2, x);
        for (int i = 0; i < 2 * NS; i++)
            x[i] *= 80.0;
        size_t nfe;
        cr_assert_eq(fmd_ksample(cases[q].method, sig, 400, fmd_mixture_eps, g, NS, 2, 50 + q, x, &nfe), FMD_OK);
        check_law_2d(m1, NS, x, r, cases[q].name);
    }
    fmd_marginal_free(m1);
    gsl_rng_free(r);
    fmd_gmm_free(g);
}
