/* mixtures.c -- seeded random mixtures for the checks. */
#include "mixtures.h"
#include "budget.h"

#include <math.h>
#include <stdlib.h>

#include <criterion/criterion.h>

fmd_gmm *random_mixture(size_t d, size_t K, uint64_t seed)
{
    fmd_gmm *g;
    gsl_rng *r;
    cr_assert_eq(fmd_gmm_alloc(d, K, &g), FMD_OK);
    cr_assert_eq(fmd_rng_alloc(seed, 0, &r), FMD_OK);
    double total = 0.0;
    for (size_t k = 0; k < K; k++) {
        g->weight[k] = 0.5 + gsl_rng_uniform(r);
        total += g->weight[k];
        for (size_t i = 0; i < d; i++)
            g->mean[k * d + i] = -3.0 + 6.0 * gsl_rng_uniform(r);
        double A[d * d];
        fmd_rng_gaussian(r, d * d, A);
        double *S = g->cov + k * d * d;
        for (size_t i = 0; i < d; i++)
            for (size_t j = 0; j < d; j++) {
                double s = 0.0;
                for (size_t l = 0; l < d; l++)
                    s += A[i * d + l] * A[j * d + l];
                S[i * d + j] = s / (double)d + (i == j ? 0.15 : 0.0);
            }
    }
    for (size_t k = 0; k < K; k++)
        g->weight[k] /= total;
    gsl_rng_free(r);
    cr_assert_eq(fmd_gmm_prepare(g), FMD_OK);
    return g;
}

fmd_marginal *slice_at(const fmd_gmm *g, const char *schedule, double t)
{
    fmd_schedule s;
    fmd_marginal *m;
    cr_assert_eq(fmd_schedule_by_name(schedule, &s), FMD_OK, "%s", schedule);
    cr_assert_eq(fmd_marginal_alloc(g, &m), FMD_OK);
    cr_assert_eq(fmd_marginal_set_time(m, &s, t), FMD_OK, "%s at t = %g", schedule, t);
    return m;
}

double proj2d_cdf(double s, void *p)
{
    const proj2d *q = p;
    return fmd_marginal_projected_cdf(q->m, q->a, s);
}

void check_law_2d(const fmd_marginal *m, size_t n, const double *X, gsl_rng *r, const char *what)
{
    double *s = malloc(n * sizeof(double)), *lp = malloc(n * sizeof(double)), *lq = malloc(n * sizeof(double));
    double *ref = malloc(2 * n * sizeof(double));
    cr_assert(s && lp && lq && ref);
    const double dirs[2][2] = {{0.8, 0.6}, {-0.28, 0.96}};
    for (int q = 0; q < 2; q++) {
        proj2d p = {m, {dirs[q][0], dirs[q][1]}};
        for (size_t i = 0; i < n; i++)
            s[i] = dirs[q][0] * X[2 * i] + dirs[q][1] * X[2 * i + 1];
        double D = fmd_ks_distance(n, s, proj2d_cdf, &p);
        cr_expect(D <= ks_threshold(n), "%s, t = %.2f, direction %d: KS %.4f > %.4f", what, m->t, q, D, ks_threshold(n));
    }
    fmd_marginal_out o1 = {.logp = lp}, o2 = {.logp = lq};
    fmd_marginal_eval(m, n, X, &o1);
    fmd_marginal_sample(m, r, n, ref);
    fmd_marginal_eval(m, n, ref, &o2);
    double m1, se1, m2, se2;
    fmd_mean_se(n, lp, 1, &m1, &se1);
    fmd_mean_se(n, lq, 1, &m2, &se2);
    double se = sqrt(se1 * se1 + se2 * se2);
    cr_expect(fabs(m1 - m2) <= Z_CHECK * se, "%s, t = %.2f: mean log p_t %.4f vs exact sample %.4f (SE %.4f)", what, m->t, m1, m2, se);
    cr_log_info("%s, t = %.2f: mean log p_t(X_t) %.4f, exact %.4f +- %.4f", what, m->t, m1, m2, se);
    free(s), free(lp), free(lq), free(ref);
}

double rms_distance(size_t n, size_t d, const double *x, const double *y)
{
    double e = 0.0;
    for (size_t i = 0; i < n * d; i++)
        e += (x[i] - y[i]) * (x[i] - y[i]);
    return sqrt(e / (double)n);
}
