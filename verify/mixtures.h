/* mixtures.h -- seeded random mixtures with full covariances, for the checks. */
#ifndef FMD_VERIFY_MIXTURES_H
#define FMD_VERIFY_MIXTURES_H

#include <stdint.h>
#include "fmd.h"

/* K components in R^d: means uniform in [-3, 3]^d, Sigma_k = A A^T / d + 0.15 I
 * with A standard normal, unequal weights. Labels 0..K-1. */
fmd_gmm *random_mixture(size_t d, size_t K, uint64_t seed);

/* A marginal slice of g at time t of the named schedule (asserts success). */
fmd_marginal *slice_at(const fmd_gmm *g, const char *schedule, double t);

/* The CDF of the projection a.x of a 2-D slice (for fmd_ks_distance). */
typedef struct { const fmd_marginal *m; double a[2]; } proj2d;
double proj2d_cdf(double s, void *p);

/* Three checks that X (n, 2) follows the slice m: two Kolmogorov-Smirnov
 * tests of 1-D projections against the exact mixture CDF (DKW threshold at
 * ALPHA_CHECK) and the mean exact log-density against that of n fresh exact
 * draws from r (Z_CHECK standard errors of the difference). */
void check_law_2d(const fmd_marginal *m, size_t n, const double *X, gsl_rng *r, const char *what);

/* The root mean square over n points of |x_i - y_i| (x, y: (n, d)), the
 * pathwise error the order fits use. */
double rms_distance(size_t n, size_t d, const double *x, const double *y);

#endif
