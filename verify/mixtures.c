/* mixtures.c -- seeded random mixtures for the checks. */
#include "mixtures.h"

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
