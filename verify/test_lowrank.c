/* test_lowrank.c -- issue 15: mixtures whose covariances are diagonal plus
 * low rank, Sigma_k = diag(D_k) + F_k F_k^T, and their exact marginal path
 * by the Woodbury identity and the matrix determinant lemma, against the
 * dense formulas of chapter 3 on the same mixture written out in full. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fmd.h"
#include "budget.h"
#include <gsl/gsl_randist.h>

/* K components in R^d of rank r: means uniform in [-2, 2]^d, D_k uniform in
 * [0.05, 0.5], F_k normal / sqrt(r), unequal weights; and its dense twin. */
static fmd_gmm *random_lowrank(size_t d, size_t K, size_t r, uint64_t seed, fmd_gmm **dense)
{
    fmd_gmm *g;
    cr_assert_eq(fmd_gmm_alloc_lowrank(d, K, r, &g), FMD_OK);
    gsl_rng *rng;
    fmd_rng_alloc(seed, 0, &rng);
    double total = 0.0;
    for (size_t k = 0; k < K; k++) {
        g->weight[k] = 1.0 + (double)k;
        total += g->weight[k];
        for (size_t i = 0; i < d; i++) {
            g->mean[k * d + i] = -2.0 + 4.0 * gsl_rng_uniform(rng);
            g->diag[k * d + i] = 0.05 + 0.45 * gsl_rng_uniform(rng);
        }
        fmd_rng_gaussian(rng, d * r, g->factor + k * d * r);
        for (size_t i = 0; i < d * r; i++)
            g->factor[k * d * r + i] /= sqrt((double)r);
    }
    for (size_t k = 0; k < K; k++)
        g->weight[k] /= total;
    gsl_rng_free(rng);
    cr_assert_eq(fmd_gmm_prepare(g), FMD_OK);
    cr_assert_eq(fmd_gmm_alloc(d, K, dense), FMD_OK);
    memcpy((*dense)->weight, g->weight, K * sizeof(double));
    memcpy((*dense)->mean, g->mean, K * d * sizeof(double));
    for (size_t k = 0; k < K; k++)
        fmd_gmm_covariance(g, k, (*dense)->cov + k * d * d);
    cr_assert_eq(fmd_gmm_prepare(*dense), FMD_OK);
    return g;
}

/* |a - b| <= tol (1 + |b|), element by element; returns the worst ratio */
static double agree(size_t n, const double *a, const double *b, double tol, const char *what, double t)
{
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double e = fabs(a[i] - b[i]) / (tol * (1.0 + fabs(b[i])));
        worst = fmax(worst, e);
        cr_expect(e <= 1.0, "%s at t = %g, entry %zu: low rank %.17g, dense %.17g", what, t, i, a[i], b[i]);
    }
    return worst;
}

/* Both forms' slices at time t of sch, and n points of p_t drawn by `from`
 * (one of the two) from stream (seed, stream). */
static void slices_at(fmd_marginal *ml, fmd_marginal *md, const fmd_schedule *sch, double t, const fmd_marginal *from,
                      uint64_t seed, uint64_t stream, size_t n, double *x)
{
    cr_assert_eq(fmd_marginal_set_time(ml, sch, t), FMD_OK);
    cr_assert_eq(fmd_marginal_set_time(md, sch, t), FMD_OK);
    gsl_rng *rng;
    fmd_rng_alloc(seed, stream, &rng);
    fmd_marginal_sample(from, rng, n, x);
    gsl_rng_free(rng);
}

/* Every quantity of the marginal path (log p_t, score, E[z|x], u_t,
 * d/dt log p_t, div u_t, Laplacian p / p), low rank against dense, at d = 12,
 * r = 3, K = 3, on 40 points of p_t, t = 0 and 1 included, two schedules.
 * Both are exact formulas computed in different orders: they agree to
 * rounding, 1e-12 (1 + |value|) (the dense path's own Cholesky inverse of a
 * 12 x 12 matrix with condition number ~1e2 carries ~1e-14). */
Test(lowrank, marginal_path_matches_the_dense_formulas)
{
    enum { d = 12, K = 3, r = 3, n = 40 };
    fmd_gmm *dense, *g = random_lowrank(d, K, r, 1501, &dense);
    const char *names[2] = {"condot", "vp"};
    const double ts[5] = {0.0, 0.2, 0.55, 0.9, 1.0};
    static double x[n * d], A[7][n * d], B[7][n * d];
    for (int q = 0; q < 2; q++) {
        fmd_schedule sch;
        fmd_schedule_by_name(names[q], &sch);
        fmd_marginal *ml, *md;
        cr_assert_eq(fmd_marginal_alloc(g, &ml), FMD_OK);
        cr_assert_eq(fmd_marginal_alloc(dense, &md), FMD_OK);
        for (int j = 0; j < 5; j++) {
            if (q == 1 && ts[j] == 1.0)
                continue;   /* vp's beta_dot is infinite at t = 1 (u and div u need beta beta_dot only, but d/dt log p too) */
            slices_at(ml, md, &sch, ts[j], md, 1502, (uint64_t)j, n, x);
            fmd_marginal_out ol = {A[0], A[1], A[2], A[3], A[4], A[5], A[6]}, od = {B[0], B[1], B[2], B[3], B[4], B[5], B[6]};
            cr_assert_eq(fmd_marginal_eval(ml, n, x, &ol), FMD_OK);
            cr_assert_eq(fmd_marginal_eval(md, n, x, &od), FMD_OK);
            const char *what[7] = {"log p_t", "score", "E[z|x]", "u_t", "d/dt log p_t", "div u_t", "Laplacian p / p"};
            const size_t len[7] = {n, n * d, n * d, n * d, n, n, n};
            for (int o = 0; o < 7; o++)
                agree(len[o], A[o], B[o], 1e-12, what[o], ts[j]);
            /* and the fast field path (what the samplers call) */
            cr_assert_eq(fmd_marginal_field_eval(ml, n, x, A[3], A[1]), FMD_OK);
            agree(n * d, A[3], B[3], 1e-12, "u_t (field path)", ts[j]);
            agree(n * d, A[1], B[1], 1e-12, "score (field path)", ts[j]);
        }
        fmd_marginal_free(ml);
        fmd_marginal_free(md);
    }
    fmd_gmm_free(g);
    fmd_gmm_free(dense);
}

/* The data end: log p_data by Woodbury against the dense Cholesky form
 * (1e-12 (1 + |value|)); the exact moments of both forms equal to rounding;
 * and samples (z = mu + sqrt(D) eps + F eps') with the right mean and
 * variance along three fixed directions: Z_CHECK SEs each (6 checks). */
Test(lowrank, density_moments_and_samples)
{
    enum { d = 12, K = 3, r = 3, n = 200, NS = 40000 };
    fmd_gmm *dense, *g = random_lowrank(d, K, r, 1601, &dense);
    static double x[n * d], a[n], b[n], z[NS * d], proj[NS];
    gsl_rng *rng;
    fmd_rng_alloc(1602, 0, &rng);
    fmd_gmm_sample(dense, rng, n, x, NULL);
    cr_assert_eq(fmd_gmm_log_density(g, n, x, a), FMD_OK);
    cr_assert_eq(fmd_gmm_log_density(dense, n, x, b), FMD_OK);
    agree(n, a, b, 1e-12, "log p_data", 1.0);
    double m1[d], c1[d * d], m2[d], c2[d * d];
    fmd_gmm_moments(g, m1, c1);
    fmd_gmm_moments(dense, m2, c2);
    agree(d, m1, m2, 1e-14, "mixture mean", 1.0);
    agree(d * d, c1, c2, 1e-13, "mixture covariance", 1.0);
    cr_assert_eq(fmd_gmm_sample(g, rng, NS, z, NULL), FMD_OK);
    for (int q = 0; q < 3; q++) {
        double dir[d], mean = 0.0, var = 0.0;
        for (size_t i = 0; i < d; i++)
            dir[i] = cos(1.3 * (double)(q + 1) * (double)i);
        for (size_t i = 0; i < d; i++) {
            mean += dir[i] * m1[i];
            for (size_t j = 0; j < d; j++)
                var += dir[i] * c1[i * d + j] * dir[j];
        }
        for (size_t s = 0; s < NS; s++) {
            double v = 0.0;
            for (size_t i = 0; i < d; i++)
                v += dir[i] * z[s * d + i];
            proj[s] = v;
        }
        double pm, pse;
        fmd_mean_se(NS, proj, 1, &pm, &pse);
        cr_expect(fabs(pm - mean) <= Z_CHECK * pse, "direction %d: sample mean %.5f, exact %.5f (SE %.5f)", q, pm, mean, pse);
        for (size_t s = 0; s < NS; s++)
            proj[s] = (proj[s] - mean) * (proj[s] - mean);   /* E = var, with its own SE */
        fmd_mean_se(NS, proj, 1, &pm, &pse);
        cr_expect(fabs(pm - var) <= Z_CHECK * pse, "direction %d: sample variance %.5f, exact %.5f (SE %.5f)", q, pm, var,
                  pse);
    }
    gsl_rng_free(rng);
    fmd_gmm_free(g);
    fmd_gmm_free(dense);
}

/* Image dimension: d = 784, r = 32, K = 3, at t = 0.5 and 1, on 4 points,
 * against the dense formulas (which factorise three 784 x 784 matrices):
 * log p_t, the score and u_t to 1e-10 (1 + |value|) -- the dense path's
 * Cholesky inverse at d = 784 loses a few more digits than at d = 12 --
 * through the general path and through the samplers' field path. */
Test(lowrank, image_dimension_matches_a_dense_evaluation)
{
    enum { d = 784, K = 3, r = 32, n = 4 };
    fmd_gmm *dense, *g = random_lowrank(d, K, r, 1701, &dense);
    fmd_schedule sch;
    fmd_schedule_by_name("condot", &sch);
    static double x[n * d], A[3][n * d], B[3][n * d];
    fmd_marginal *ml, *md;
    cr_assert_eq(fmd_marginal_alloc(g, &ml), FMD_OK);
    cr_assert_eq(fmd_marginal_alloc(dense, &md), FMD_OK);
    const double ts[3] = {0.0, 0.5, 1.0};
    for (int j = 0; j < 3; j++) {
        slices_at(ml, md, &sch, ts[j], ml, 1702, (uint64_t)j, n, x);
        fmd_marginal_out ol = {.logp = A[0], .score = A[1], .u = A[2]}, od = {.logp = B[0], .score = B[1], .u = B[2]};
        cr_assert_eq(fmd_marginal_eval(ml, n, x, &ol), FMD_OK);
        cr_assert_eq(fmd_marginal_eval(md, n, x, &od), FMD_OK);
        agree(n, A[0], B[0], 1e-10, "log p_t (d = 784)", ts[j]);
        agree(n * d, A[1], B[1], 1e-10, "score (d = 784)", ts[j]);
        agree(n * d, A[2], B[2], 1e-10, "u_t (d = 784)", ts[j]);
        /* the samplers' path: Woodbury as two products per block (src/paths/marginal_lowrank.c) */
        cr_assert_eq(fmd_marginal_field_eval(ml, n, x, A[2], A[1]), FMD_OK);
        agree(n * d, A[1], B[1], 1e-10, "score (d = 784, field path)", ts[j]);
        agree(n * d, A[2], B[2], 1e-10, "u_t (d = 784, field path)", ts[j]);
    }
    fmd_marginal_free(ml);
    fmd_marginal_free(md);
    fmd_gmm_free(g);
    fmd_gmm_free(dense);
}

/* Probabilistic PCA in closed form (fmd_fit_lowrank) on 500 rows in R^10 of
 * a Gaussian with a rank-2 structure, against the sample covariance S
 * computed here by naive loops: the mean is the sample mean; D + F F^T has
 * S's diagonal wherever D is above the floor; each column f_a of F is an
 * eigenvector of S with eigenvalue |f_a|^2 + sigma^2, where sigma^2 = (tr S -
 * |F|^2) / d is the mean of the discarded eigenvalues; all to 1e-10 relative
 * (GSL's eigensolver, 1e-14 here, and the sums). */
Test(lowrank, ppca_fit_has_the_data_moments_and_directions)
{
    enum { n = 500, d = 10, r = 2 };
    static double X[n * d];
    gsl_rng *rng;
    fmd_rng_alloc(1801, 0, &rng);
    for (size_t p = 0; p < n; p++) {
        double e[r];
        fmd_rng_gaussian(rng, r, e);
        for (size_t i = 0; i < d; i++)
            X[p * d + i] = 0.3 * (double)i + 2.0 * e[0] * sin((double)i) + 1.2 * e[1] * cos(0.7 * (double)i) +
                           0.3 * gsl_ran_gaussian(rng, 1.0 + 0.1 * (double)i);
    }
    gsl_rng_free(rng);
    double mean[d], D[d], F[d * r], S[d * d] = {0}, m[d] = {0}, explained;
    cr_assert_eq(fmd_fit_lowrank(n, d, X, r, 1e-3, mean, D, F, &explained), FMD_OK);
    for (size_t p = 0; p < n; p++)
        for (size_t i = 0; i < d; i++)
            m[i] += X[p * d + i] / n;
    for (size_t p = 0; p < n; p++)
        for (size_t i = 0; i < d; i++)
            for (size_t j = 0; j < d; j++)
                S[i * d + j] += (X[p * d + i] - m[i]) * (X[p * d + j] - m[j]) / n;
    double trS = 0.0, FF = 0.0;
    for (size_t i = 0; i < d; i++) {
        cr_expect(fabs(mean[i] - m[i]) <= 1e-13 * (1 + fabs(m[i])), "mean[%zu] %.17g vs %.17g", i, mean[i], m[i]);
        double ff = 0.0;
        for (size_t a = 0; a < r; a++)
            ff += F[i * r + a] * F[i * r + a];
        if (D[i] > 1e-3)
            cr_expect(fabs(D[i] + ff - S[i * d + i]) <= 1e-10 * S[i * d + i], "coordinate %zu: D + (FF^T)_ii %.17g, S_ii %.17g", i,
                      D[i] + ff, S[i * d + i]);
        trS += S[i * d + i], FF += ff;
    }
    const double sigma2 = (trS - FF) / d;
    double lead = 0.0;
    for (size_t a = 0; a < r; a++) {
        double f[d], Sf[d], ff = 0.0, worst = 0.0;
        for (size_t i = 0; i < d; i++)
            f[i] = F[i * r + a], ff += f[i] * f[i];
        for (size_t i = 0; i < d; i++) {
            Sf[i] = 0.0;
            for (size_t j = 0; j < d; j++)
                Sf[i] += S[i * d + j] * f[j];
            worst = fmax(worst, fabs(Sf[i] - (ff + sigma2) * f[i]));
        }
        cr_expect(worst <= 1e-10 * (ff + sigma2) * sqrt(ff), "direction %zu: |S f - (|f|^2 + sigma^2) f| = %.3g", a, worst);
        lead += ff + sigma2;
    }
    cr_expect(fabs(explained - lead / trS) <= 1e-12, "explained %.17g vs %.17g", explained, lead / trS);
    cr_expect_eq(fmd_fit_lowrank(n, d, X, d, 1e-3, mean, D, F, NULL), FMD_EINVAL);   /* r < d */
}
