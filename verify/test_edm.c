/* test_edm.c -- EDM's pieces (Karras et al. 2022, "Elucidating the design
 * space of diffusion-based generative models") in the course's frame,
 * against the paper's own variance-exploding formulas written out here:
 * the preconditioning of table 1 (src/networks/unet.h,
 * fmd_unet_preconditioning), the loss weight lambda(sigma) (train.h,
 * fmd_edm_weight) and the log-normal noise levels (loss.h,
 * fmd_loss_batch_lognormal_times). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <gsl/gsl_cdf.h>

#include "fmd.h"
#include "networks/unet.h"

/* Table 1 of the paper, "EDM" column, for the state x~ = z + sigma eps:
 *     c_skip = s^2 / (sigma^2 + s^2), c_out = sigma s / sqrt(sigma^2 + s^2),
 *     c_in = 1 / sqrt(sigma^2 + s^2),   D(x~) = c_skip x~ + c_out F(c_in x~).
 * The course's x = alpha z + beta eps is alpha x~ with sigma = beta / alpha,
 * so its read-out is D(x) = (c_skip / alpha) x + c_out F((c_in / alpha) x):
 * fmd's c_skip and c_in are the paper's over alpha, c_out the paper's. Where
 * alpha > 0 and beta > 0 this is checked to 1e-14 relative (a few
 * roundings of each side); at beta = 0 (sigma = 0) the paper's formulas
 * give c_skip = 1, c_out = 0, c_in = 1/s exactly; at alpha = 0 (sigma =
 * inf) their limits: c_skip / alpha = sigma s^2 / (beta (sigma^2 + s^2)) -> 0,
 * c_out -> s, c_in / alpha -> 1 / beta. */
static void check_table_1(const char *schedule, double s)
{
    fmd_unet_config cfg = {.output = FMD_OUT_DATA, .sigma_data = s};
    cr_assert_eq(fmd_schedule_by_name(schedule, &cfg.schedule), FMD_OK);
    const double ts[] = {0.0, 1e-6, 0.1, 0.37, 0.5, 0.77, 0.9, 0.999, 1.0};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
        fmd_sched_point p;
        fmd_schedule_at(&cfg.schedule, ts[i], &p);
        double c_in, c_skip, c_out;
        fmd_unet_preconditioning(&cfg, ts[i], &c_in, &c_skip, &c_out);
        cr_assert(isfinite(c_in) && isfinite(c_skip) && isfinite(c_out), "%s t = %g: not finite", schedule, ts[i]);
        double want_in, want_skip, want_out;
        if (p.alpha == 0.0) {
            want_in = 1.0 / p.beta, want_skip = 0.0, want_out = s;
        } else if (p.beta == 0.0) {
            want_in = 1.0 / (s * p.alpha), want_skip = 1.0 / p.alpha, want_out = 0.0;
        } else {
            const double sigma = p.beta / p.alpha, v = sigma * sigma + s * s;
            want_skip = s * s / v / p.alpha, want_out = sigma * s / sqrt(v), want_in = 1.0 / sqrt(v) / p.alpha;
        }
        const double tol = 1e-14;
        cr_expect(fabs(c_in - want_in) <= tol * fabs(want_in), "%s t = %g: c_in %.17g, table 1 %.17g", schedule, ts[i],
                  c_in, want_in);
        cr_expect(fabs(c_skip - want_skip) <= tol * fmax(fabs(want_skip), 1e-300), "%s t = %g: c_skip %.17g, table 1 %.17g",
                  schedule, ts[i], c_skip, want_skip);
        cr_expect(fabs(c_out - want_out) <= tol * fmax(fabs(want_out), 1e-300), "%s t = %g: c_out %.17g, table 1 %.17g",
                  schedule, ts[i], c_out, want_out);
        /* the loss weight lambda(sigma) = (sigma^2 + s^2) / (sigma s)^2 = 1 / c_out^2; 0 at sigma = 0 */
        const double lambda = fmd_edm_weight(s, &cfg.schedule, ts[i]);
        const double want_lambda = want_out == 0.0 ? 0.0 : 1.0 / (want_out * want_out);
        cr_expect(fabs(lambda - want_lambda) <= tol * want_lambda, "%s t = %g: weight %.17g, (sigma^2 + s^2)/(sigma s)^2 "
                  "%.17g", schedule, ts[i], lambda, want_lambda);
    }
}

Test(edm, preconditioning_and_weight_are_karras_table_1)
{
    check_table_1("condot", 0.5);
    check_table_1("condot", 0.83);
    check_table_1("vp", 0.5);
    check_table_1("cosine", 1.3);
}

/* A plain read-out is the network itself: c_in 1, c_skip 0, c_out 1. */
Test(edm, plain_read_out_is_the_network)
{
    fmd_unet_config cfg = {.output = FMD_OUT_PLAIN};
    double c_in, c_skip, c_out;
    fmd_unet_preconditioning(&cfg, 0.3, &c_in, &c_skip, &c_out);
    cr_expect(c_in == 1.0 && c_skip == 0.0 && c_out == 1.0);
}

/* The log-normal levels, exactly: a row whose uniform is u goes to the t
 * where ln(beta_t / alpha_t) = p_mean + p_std Phi^-1(u) (to 1e-9: the
 * bisection finds t to 1e-15 and d ln sigma / dt = 1 / (t (1 - t)) on
 * condot is below 1e4 for these u), clamped to [t_min, t_max], and its x
 * is alpha_t z + beta_t eps again (to 1e-15: one product and one sum). */
Test(edm, lognormal_times_map_each_uniform_to_its_level)
{
    fmd_schedule sch;
    fmd_schedule_by_name("condot", &sch);
    const double u[] = {1e-4, 0.02, 0.3, 0.5, 0.77, 0.98, 0.9999}, p_mean = -1.2, p_std = 1.2;
    enum { M = sizeof u / sizeof u[0], D = 3 };
    fmd_loss_batch b;
    cr_assert_eq(fmd_loss_batch_alloc(M, D, &b), FMD_OK);
    for (size_t i = 0; i < M; i++) {
        b.t[i] = u[i];
        for (size_t k = 0; k < D; k++)
            b.z[i * D + k] = 0.3 * (double)k - 0.2, b.eps[i * D + k] = 1.1 - 0.7 * (double)k, b.x[i * D + k] = NAN;
    }
    cr_assert_eq(fmd_loss_batch_lognormal_times(&b, &sch, p_mean, p_std, 0.0, 1.0), FMD_OK);
    for (size_t i = 0; i < M; i++) {
        fmd_sched_point p;
        fmd_schedule_at(&sch, b.t[i], &p);
        const double ln_sigma = log(p.beta / p.alpha), want = p_mean + p_std * gsl_cdf_ugaussian_Pinv(u[i]);
        cr_expect(fabs(ln_sigma - want) < 1e-9, "u = %g: ln sigma %.15g, want %.15g", u[i], ln_sigma, want);
        for (size_t k = 0; k < D; k++)
            cr_expect(fabs(b.x[i * D + k] - (p.alpha * b.z[i * D + k] + p.beta * b.eps[i * D + k])) < 1e-15);
    }
    /* clamped: every level outside [t_min, t_max] lands on the nearer end */
    for (size_t i = 0; i < M; i++)
        b.t[i] = u[i];
    cr_assert_eq(fmd_loss_batch_lognormal_times(&b, &sch, p_mean, p_std, 0.5, 0.9), FMD_OK);
    for (size_t i = 0; i < M; i++)
        cr_expect(b.t[i] >= 0.5 - 1e-15 && b.t[i] <= 0.9 + 1e-15, "u = %g: t = %.17g outside [0.5, 0.9]", u[i], b.t[i]);
    cr_expect(fabs(b.t[0] - 0.9) < 1e-14 && fabs(b.t[M - 1] - 0.5) < 1e-14, "the extremes go to the ends");
    cr_expect_eq(fmd_loss_batch_lognormal_times(&b, &sch, p_mean, 0.0, 0.0, 1.0), FMD_EINVAL);
    fmd_loss_batch_free(&b);
}

/* And in distribution, through the trainer's draw (fmd_train_fill): over M
 * = 40,000 rows, ln sigma has mean p_mean within 5.5 SE (SE = p_std /
 * sqrt(M)) and variance p_std^2 within 5.5 SE (SE = p_std^2 sqrt(2 / M),
 * the normal's); fixed seed; false-fail rate below 4e-8 each. */
static int constant_data(void *params, gsl_rng *r, size_t n, double *z, int *labels)
{
    (void)params, (void)r;
    for (size_t i = 0; i < n; i++)
        z[i] = 0.25, labels[i] = 0;
    return FMD_OK;
}

Test(edm, lognormal_times_have_edm_law)
{
    enum { M = 40000 };
    fmd_train_config tc = {.t_min = 0.0, .t_max = 1.0, .time_law = FMD_TIME_LOGNORMAL, .p_mean = -1.2, .p_std = 1.2};
    fmd_schedule_by_name("condot", &tc.schedule);
    fmd_loss_batch b;
    cr_assert_eq(fmd_loss_batch_alloc(M, 1, &b), FMD_OK);
    gsl_rng *r;
    fmd_rng_alloc(2701, 0, &r);
    cr_assert_eq(fmd_train_fill(&tc, constant_data, NULL, r, &b), FMD_OK);
    double m = 0.0, v = 0.0;
    for (size_t i = 0; i < M; i++)
        m += log((1.0 - b.t[i]) / b.t[i]) / M;
    for (size_t i = 0; i < M; i++) {
        const double e = log((1.0 - b.t[i]) / b.t[i]) - m;
        v += e * e / (M - 1);
    }
    const double se_m = 1.2 / sqrt((double)M), se_v = 1.44 * sqrt(2.0 / M);
    cr_log_info("ln sigma: mean %.4f (want -1.2, SE %.4f), variance %.4f (want 1.44, SE %.4f)", m, se_m, v, se_v);
    cr_expect(fabs(m + 1.2) < 5.5 * se_m, "mean of ln sigma %.5f, want -1.2 +- 5.5 x %.5f", m, se_m);
    cr_expect(fabs(v - 1.44) < 5.5 * se_v, "variance of ln sigma %.5f, want 1.44 +- 5.5 x %.5f", v, se_v);
    gsl_rng_free(r);
    fmd_loss_batch_free(&b);
}
