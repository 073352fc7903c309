/* test_frechet.c -- the Fréchet distance between Gaussians (src/networks/frechet.h)
 * against closed forms it does not use. */
#include <criterion/criterion.h>
#include <math.h>

#include "fmd.h"
#include "networks/frechet.h"

/* A = B B^T / k + 0.3 I from uniforms: symmetric positive definite */
static void random_spd(gsl_rng *r, size_t k, double *A)
{
    double B[64];
    for (size_t i = 0; i < k * k; i++)
        B[i] = 2.0 * gsl_rng_uniform(r) - 1.0;
    for (size_t a = 0; a < k; a++)
        for (size_t b = 0; b < k; b++) {
            double s = a == b ? 0.3 : 0.0;
            for (size_t j = 0; j < k; j++)
                s += B[a * k + j] * B[b * k + j] / (double)k;
            A[a * k + b] = s;
        }
}

/* Commuting (diagonal) covariances: tr (S1^{1/2} S2 S1^{1/2})^{1/2} =
 * sum sqrt(a_i b_i), so FD = |mu1 - mu2|^2 + sum (sqrt a_i - sqrt b_i)^2;
 * and two 2 x 2 covariances that do not commute, where for M = S1^{1/2} S2
 * S1^{1/2} (2 x 2, positive definite) tr M^{1/2} = sqrt(tr M + 2 sqrt(det
 * M)) with tr M = tr(S1 S2) and det M = det S1 det S2. Both to 1e-12
 * relative (eigenvalues of well-conditioned matrices). */
Test(frechet, matches_closed_forms)
{
    const double mu1[3] = {0.3, -1.2, 2.0}, mu2[3] = {0.1, 0.4, 1.5};
    const double a[3] = {2.0, 0.5, 1.3}, b[3] = {0.7, 1.1, 3.2};
    double S1[9] = {0}, S2[9] = {0}, fd, expect = 0.0;
    for (int i = 0; i < 3; i++) {
        S1[i * 4] = a[i], S2[i * 4] = b[i];
        expect += (mu1[i] - mu2[i]) * (mu1[i] - mu2[i]) + (sqrt(a[i]) - sqrt(b[i])) * (sqrt(a[i]) - sqrt(b[i]));
    }
    cr_assert_eq(fmd_frechet_distance(3, mu1, S1, mu2, S2, &fd), FMD_OK);
    cr_log_info("diagonal: FD %.15f, closed form %.15f", fd, expect);
    cr_expect(fabs(fd - expect) <= 1e-12 * expect, "diagonal: FD %.17g, closed form %.17g", fd, expect);
    const double P[4] = {1.7, 0.6, 0.6, 0.9}, Q[4] = {0.5, -0.3, -0.3, 2.1}, m1[2] = {0.25, -0.5}, m2[2] = {-0.75, 0.2};
    const double trPQ = P[0] * Q[0] + P[1] * Q[2] + P[2] * Q[1] + P[3] * Q[3];
    const double det = (P[0] * P[3] - P[1] * P[2]) * (Q[0] * Q[3] - Q[1] * Q[2]);
    const double e2 = (m1[0] - m2[0]) * (m1[0] - m2[0]) + (m1[1] - m2[1]) * (m1[1] - m2[1]) + P[0] + P[3] + Q[0] + Q[3] -
                      2.0 * sqrt(trPQ + 2.0 * sqrt(det));
    cr_assert_eq(fmd_frechet_distance(2, m1, P, m2, Q, &fd), FMD_OK);
    cr_log_info("2 x 2, not commuting: FD %.15f, closed form %.15f", fd, e2);
    cr_expect(fabs(fd - e2) <= 1e-12 * e2, "2 x 2: FD %.17g, closed form %.17g", fd, e2);
}

/* A distance: 0 between a Gaussian and itself (1e-12 tr S), the same both
 * ways (1e-12 relative), k = 6; an asymmetric covariance is refused. */
Test(frechet, is_zero_on_equal_and_symmetric)
{
    gsl_rng *r;
    fmd_rng_alloc(1620, 0, &r);
    enum { K = 6 };
    double S1[K * K], S2[K * K], mu1[K], mu2[K], f12, f21, f11;
    random_spd(r, K, S1);
    random_spd(r, K, S2);
    for (int i = 0; i < K; i++)
        mu1[i] = gsl_rng_uniform(r), mu2[i] = gsl_rng_uniform(r);
    cr_assert_eq(fmd_frechet_distance(K, mu1, S1, mu2, S2, &f12), FMD_OK);
    cr_assert_eq(fmd_frechet_distance(K, mu2, S2, mu1, S1, &f21), FMD_OK);
    cr_assert_eq(fmd_frechet_distance(K, mu1, S1, mu1, S1, &f11), FMD_OK);
    double tr = 0.0;
    for (int i = 0; i < K; i++)
        tr += S1[i * K + i];
    cr_log_info("FD(1, 2) %.15f, FD(2, 1) %.15f, FD(1, 1) %.2e", f12, f21, f11);
    cr_expect(fabs(f12 - f21) <= 1e-12 * f12, "FD(1, 2) %.17g but FD(2, 1) %.17g", f12, f21);
    cr_expect(fabs(f11) <= 1e-12 * tr, "FD(1, 1) = %.3e", f11);
    S1[1] += 0.01;   /* no longer symmetric */
    cr_expect_eq(fmd_frechet_distance(K, mu1, S1, mu2, S2, &f12), FMD_EDOM);
    gsl_rng_free(r);
}

/* The moments of three rows (1, 2), (3, 6), (5, 4): mean (3, 4); deviations
 * (-2, -2), (0, 2), (2, 0), so both variances (4 + 4) / 2 = 4 and the
 * covariance 4 / 2 = 2 (n - 1 = 2). */
Test(frechet, feature_moments_by_hand)
{
    const double f[6] = {1, 2, 3, 6, 5, 4};
    double mean[2], cov[4];
    cr_assert_eq(fmd_feature_moments(3, 2, f, mean, cov), FMD_OK);
    cr_expect(mean[0] == 3.0 && mean[1] == 4.0, "mean (%g, %g)", mean[0], mean[1]);
    cr_expect(cov[0] == 4.0 && cov[3] == 4.0 && cov[1] == 2.0 && cov[2] == 2.0, "cov [%g %g; %g %g]", cov[0], cov[1], cov[2],
              cov[3]);
}
