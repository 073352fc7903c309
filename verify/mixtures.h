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

#endif
