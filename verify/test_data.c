/* test_data.c -- chapter 1: data distributions sample what they claim.
 *
 * A labelled Gaussian mixture in d = 3 with full covariances: moments,
 * a KS test of a 1-D projection against the exact mixture CDF, class
 * frequencies, the conditional p_data(. | y), and the log-density against an
 * independent evaluation. Monte Carlo checks use Z_CHECK (verify/stats.h). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>

#include "fmd.h"
#include "budget.h"

/* Three components in R^3, classes {0, 1, 0}. */
static fmd_gmm *make_mixture(void)
{
    fmd_gmm *g;
    cr_assert_eq(fmd_gmm_alloc(3, 3, &g), FMD_OK);
    const double w[3] = {0.23, 0.41, 0.36};
    const double mu[9] = {1.7, -0.4, 2.2, -2.1, 0.9, 0.3, 0.6, 2.5, -1.8};
    const double S[27] = {
        0.8, 0.3, 0.1,  0.3, 0.5, -0.2,  0.1, -0.2, 1.1,
        0.4, 0.0, 0.05, 0.0, 0.9, 0.1,   0.05, 0.1, 0.3,
        1.3, -0.5, 0.2, -0.5, 0.7, 0.0,  0.2, 0.0, 0.6};
    const int label[3] = {0, 1, 0};
    memcpy(g->weight, w, sizeof w);
    memcpy(g->mean, mu, sizeof mu);
    memcpy(g->cov, S, sizeof S);
    memcpy(g->label, label, sizeof label);
    cr_assert_eq(fmd_gmm_prepare(g), FMD_OK);
    return g;
}

/* 3 + 6 Gaussian checks: the mean and the upper triangle of the covariance.
 * SE of a sample mean of Y: sd(Y)/sqrt(n), with sd(Y) itself estimated. */
Test(data, mixture_samples_have_exact_moments)
{
    enum { n = 200000, d = 3 };
    fmd_gmm *g = make_mixture();
    gsl_rng *r;
    fmd_rng_alloc(2026, 0, &r);
    double *z = malloc(sizeof(double) * n * d), *y = malloc(sizeof(double) * n);
    cr_assert_eq(fmd_gmm_sample(g, r, n, z, NULL), FMD_OK);
    double mean[d], cov[d * d];
    fmd_gmm_moments(g, mean, cov);
    for (int i = 0; i < d; i++) {
        double m, se;
        fmd_mean_se(n, z + i, d, &m, &se);
        cr_expect(fabs(m - mean[i]) <= Z_CHECK * se, "mean[%d] = %.5f, exact %.5f, SE %.5f", i, m, mean[i], se);
    }
    for (int i = 0; i < d; i++)
        for (int j = i; j < d; j++) {
            /* Cov_ij = E[(z_i - m_i)(z_j - m_j)] with the exact means */
            for (int k = 0; k < n; k++)
                y[k] = (z[k * d + i] - mean[i]) * (z[k * d + j] - mean[j]);
            double c, se;
            fmd_mean_se(n, y, 1, &c, &se);
            cr_expect(fabs(c - cov[i * d + j]) <= Z_CHECK * se, "cov[%d][%d] = %.5f, exact %.5f, SE %.5f",
                      i, j, c, cov[i * d + j], se);
        }
    gsl_rng_free(r);
    free(z);
    free(y);
    fmd_gmm_free(g);
}

/* The projection a.z of a mixture is the 1-D mixture of N(a.mu_k, a^T S_k a). */
typedef struct { const fmd_gmm *g; double a[3]; const double *w; } projection;
static double projected_cdf(double s, void *p)
{
    const projection *pr = p;
    const fmd_gmm *g = pr->g;
    double F = 0.0, wsum = 0.0;
    for (size_t k = 0; k < g->K; k++) {
        double m = 0.0, v = 0.0;
        for (int i = 0; i < 3; i++) {
            m += pr->a[i] * g->mean[k * 3 + i];
            for (int j = 0; j < 3; j++)
                v += pr->a[i] * g->cov[k * 9 + i * 3 + j] * pr->a[j];
        }
        F += pr->w[k] * gsl_cdf_gaussian_P(s - m, sqrt(v));
        wsum += pr->w[k];
    }
    return F / wsum;
}

/* 2 KS checks (unconditional and class 0), 3 binomial checks of the
 * component frequencies. */
Test(data, mixture_and_class_conditional_follow_their_laws)
{
    enum { n = 100000 };
    fmd_gmm *g = make_mixture();
    gsl_rng *r;
    fmd_rng_alloc(2027, 0, &r);
    double *z = malloc(sizeof(double) * n * 3), *s = malloc(sizeof(double) * n);
    size_t *comp = malloc(sizeof(size_t) * n);
    cr_assert_eq(fmd_gmm_sample(g, r, n, z, comp), FMD_OK);
    projection pr = {g, {0.61, -0.35, 0.71}, g->weight};
    for (int i = 0; i < n; i++)
        s[i] = pr.a[0] * z[3 * i] + pr.a[1] * z[3 * i + 1] + pr.a[2] * z[3 * i + 2];
    double D = fmd_ks_distance(n, s, projected_cdf, &pr);
    cr_expect(D <= ks_threshold(n), "p_data: KS %.5f > %.5f", D, ks_threshold(n));
    for (size_t k = 0; k < 3; k++) {
        size_t cnt = 0;
        for (int i = 0; i < n; i++)
            cnt += comp[i] == k;
        double f = (double)cnt / n, w = g->weight[k], se = sqrt(w * (1 - w) / n);
        cr_expect(fabs(f - w) <= Z_CHECK * se, "component %zu: frequency %.5f, weight %.5f, SE %.5f", k, f, w, se);
    }
    /* p_data(. | y = 0): components 0 and 2 only, weights 0.23 : 0.36 */
    cr_assert_eq(fmd_gmm_sample_class(g, 0, r, n, z), FMD_OK);
    const double w0[3] = {0.23, 0.0, 0.36};
    projection pc = {g, {0.61, -0.35, 0.71}, w0};
    for (int i = 0; i < n; i++)
        s[i] = pc.a[0] * z[3 * i] + pc.a[1] * z[3 * i + 1] + pc.a[2] * z[3 * i + 2];
    D = fmd_ks_distance(n, s, projected_cdf, &pc);
    cr_expect(D <= ks_threshold(n), "p_data(. | 0): KS %.5f > %.5f", D, ks_threshold(n));
    cr_expect_eq(fmd_gmm_sample_class(g, 7, r, n, z), FMD_EINVAL, "a class with no component was accepted");
    gsl_rng_free(r);
    free(z);
    free(s);
    free(comp);
    fmd_gmm_free(g);
}

/* log p(x) against GSL's bivariate normal density (an independent code) for
 * a 2-D mixture, to 1e-12 relative; and log-sum-exp edge cases. */
Test(data, log_density_matches_independent_evaluation)
{
    fmd_gmm *g;
    cr_assert_eq(fmd_gmm_alloc(2, 2, &g), FMD_OK);
    const double w[2] = {0.3, 0.7}, mu[4] = {1.2, -0.7, -1.5, 0.4};
    const double sx[2] = {0.9, 0.5}, sy[2] = {0.6, 1.1}, rho[2] = {0.35, -0.6};
    memcpy(g->weight, w, sizeof w);
    memcpy(g->mean, mu, sizeof mu);
    for (int k = 0; k < 2; k++) {
        double *S = g->cov + 4 * k;
        S[0] = sx[k] * sx[k];
        S[1] = S[2] = rho[k] * sx[k] * sy[k];
        S[3] = sy[k] * sy[k];
    }
    cr_assert_eq(fmd_gmm_prepare(g), FMD_OK);
    for (int i = 0; i < 50; i++) {
        double x[2] = {-3.0 + 0.137 * i, 2.0 - 0.091 * i}, lp;
        fmd_gmm_log_density(g, 1, x, &lp);
        double p = 0.0;
        for (int k = 0; k < 2; k++)
            p += w[k] * gsl_ran_bivariate_gaussian_pdf(x[0] - mu[2 * k], x[1] - mu[2 * k + 1], sx[k], sy[k], rho[k]);
        cr_expect(fabs(lp - log(p)) <= 1e-12 * fabs(log(p)) + 1e-14, "x = (%g, %g): %.17g vs GSL %.17g",
                  x[0], x[1], lp, log(p));
    }
    /* far away: finite and equal to the dominant component's log density */
    double far[2] = {1e4, -1e4}, lp;
    fmd_gmm_log_density(g, 1, far, &lp);
    cr_expect(isfinite(lp) && lp < -1e7, "log p at 1e4 is %g", lp);
    double none[3] = {-INFINITY, -INFINITY, -INFINITY}, some[2] = {-INFINITY, -1.5};
    cr_expect(fmd_logsumexp(3, none) == -INFINITY, "logsumexp of -inf terms is not -inf");
    cr_expect(fmd_logsumexp(2, some) == -1.5);
    fmd_gmm_free(g);
}

Test(data, bad_mixture_parameters_are_rejected)
{
    fmd_gmm *g;
    cr_assert_eq(fmd_gmm_alloc(2, 2, &g), FMD_OK);
    const double w[2] = {0.5, 0.5}, S[8] = {1, 0, 0, 1, 2, 0.5, 0.5, 1};
    memcpy(g->weight, w, sizeof w);
    memcpy(g->cov, S, sizeof S);
    cr_expect_eq(fmd_gmm_prepare(g), FMD_OK);
    g->weight[1] = 0.6;
    cr_expect_eq(fmd_gmm_prepare(g), FMD_EINVAL, "weights summing to 1.1 accepted");
    g->weight[0] = 0.0, g->weight[1] = 1.0;
    cr_expect_eq(fmd_gmm_prepare(g), FMD_EINVAL, "zero weight accepted");
    g->weight[0] = g->weight[1] = 0.5;
    g->cov[5] = 0.6;
    cr_expect_eq(fmd_gmm_prepare(g), FMD_ECOV, "asymmetric covariance accepted");
    g->cov[5] = g->cov[6] = 3.0;
    cr_expect_eq(fmd_gmm_prepare(g), FMD_ECOV, "indefinite covariance accepted");
    g->cov[5] = g->cov[6] = 0.5;
    g->mean[1] = NAN;
    cr_expect_eq(fmd_gmm_prepare(g), FMD_EDOM, "NaN mean accepted");
    fmd_gmm_free(g);
    cr_expect_eq(fmd_gmm_alloc(0, 2, &g), FMD_EINVAL);
}

/* grad log p_data against central differences of fmd_gmm_log_density
 * (h = 1e-5: truncation h^2/6 |f'''| ~ 1e-9, rounding eps |log p| / h ~ 1e-10). */
Test(data, mixture_score_is_gradient_of_log_density)
{
    fmd_gmm *g;
    cr_assert_eq(fmd_gmm_alloc(2, 2, &g), FMD_OK);
    const double w[2] = {0.35, 0.65}, mu[4] = {1.1, -0.3, -0.8, 1.4}, S[8] = {0.6, 0.2, 0.2, 0.4, 0.3, -0.1, -0.1, 0.9};
    memcpy(g->weight, w, sizeof w);
    memcpy(g->mean, mu, sizeof mu);
    memcpy(g->cov, S, sizeof S);
    cr_assert_eq(fmd_gmm_prepare(g), FMD_OK);
    for (int q = 0; q < 40; q++) {
        double x[2] = {-3.0 + 0.15 * q, 2.0 - 0.11 * q}, s[2];
        cr_assert_eq(fmd_gmm_score(g, 1, x, s), FMD_OK);
        for (int i = 0; i < 2; i++) {
            double xp[2] = {x[0], x[1]}, xm[2] = {x[0], x[1]}, lp, lm;
            xp[i] += 1e-5;
            xm[i] -= 1e-5;
            fmd_gmm_log_density(g, 1, xp, &lp);
            fmd_gmm_log_density(g, 1, xm, &lm);
            double fd = (lp - lm) / 2e-5;
            cr_expect(fabs(fd - s[i]) <= 1e-7 * (1 + fabs(s[i])), "x = (%g, %g): score_%d %.10g vs FD %.10g", x[0], x[1], i, s[i], fd);
        }
    }
    fmd_gmm_free(g);
}

/* The toy sets sample what they say (8 Gaussian checks at Z_CHECK):
 * checkerboard (4 x 4 on [-5, 5]^2): x uniform, so mean 0 and variance
 * 25/3, and E[xy] = 25/16 from the cell centres; moons: mean
 * (-0.5, -0.25) x 5 (E cos = 0, E sin = 2/pi on [0, pi]); spiral: mean
 * (0, -5/(4 pi)) (E[u sin 4 pi u] = -1/(4 pi)); circles: half the points on
 * the outer ring (|z| > 3.75). */
Test(data, toy_sets_have_their_moments)
{
    enum { n = 100000 };
    static double z[2 * n], v[n];
    gsl_rng *r;
    fmd_rng_alloc(91, 0, &r);
    fmd_toy t;
    double m, se;
    cr_assert_eq(fmd_toy_by_name("checkerboard", &t), FMD_OK);
    fmd_toy_sample(&t, r, n, z, NULL);
    fmd_mean_se(n, z, 2, &m, &se);
    cr_expect(fabs(m) <= Z_CHECK * se, "checkerboard E[x] = %.4f (SE %.4f)", m, se);
    for (int i = 0; i < n; i++)
        v[i] = z[2 * i] * z[2 * i];
    fmd_mean_se(n, v, 1, &m, &se);
    cr_expect(fabs(m - 25.0 / 3) <= Z_CHECK * se, "checkerboard E[x^2] = %.4f vs 25/3 (SE %.4f)", m, se);
    for (int i = 0; i < n; i++)
        v[i] = z[2 * i] * z[2 * i + 1];
    fmd_mean_se(n, v, 1, &m, &se);
    cr_expect(fabs(m - 25.0 / 16) <= Z_CHECK * se, "checkerboard E[xy] = %.4f vs 25/16 (SE %.4f)", m, se);
    cr_assert_eq(fmd_toy_by_name("moons", &t), FMD_OK);
    fmd_toy_sample(&t, r, n, z, NULL);
    fmd_mean_se(n, z, 2, &m, &se);
    cr_expect(fabs(m + 2.5) <= Z_CHECK * se, "moons E[x] = %.4f vs -2.5 (SE %.4f)", m, se);
    fmd_mean_se(n, z + 1, 2, &m, &se);
    cr_expect(fabs(m + 1.25) <= Z_CHECK * se, "moons E[y] = %.4f vs -1.25 (SE %.4f)", m, se);
    cr_assert_eq(fmd_toy_by_name("spiral", &t), FMD_OK);
    fmd_toy_sample(&t, r, n, z, NULL);
    fmd_mean_se(n, z, 2, &m, &se);
    cr_expect(fabs(m) <= Z_CHECK * se, "spiral E[x] = %.4f vs 0 (SE %.4f)", m, se);
    fmd_mean_se(n, z + 1, 2, &m, &se);
    cr_expect(fabs(m + 5.0 / (4 * M_PI)) <= Z_CHECK * se, "spiral E[y] = %.4f vs -5/(4 pi) (SE %.4f)", m, se);
    cr_assert_eq(fmd_toy_by_name("circles", &t), FMD_OK);
    fmd_toy_sample(&t, r, n, z, NULL);
    for (int i = 0; i < n; i++)
        v[i] = hypot(z[2 * i], z[2 * i + 1]) > 3.75;
    fmd_mean_se(n, v, 1, &m, &se);
    cr_expect(fabs(m - 0.5) <= Z_CHECK * sqrt(0.25 / n), "circles: outer fraction %.4f vs 0.5", m);
    cr_expect_eq(fmd_toy_by_name("swirl", &t), FMD_EINVAL);
    gsl_rng_free(r);
}
