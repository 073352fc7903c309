/* fit.h -- a Gaussian with a diagonal plus low-rank covariance fitted to
 * data in closed form (probabilistic PCA, Tipping & Bishop 1999), to build
 * mixtures at image dimension (issue 15; chapter 6).
 *
 * Promise: for n rows X (n, d), with S = (1/n) sum (x - m)(x - m)^T and its
 * eigenpairs lambda_1 >= ... >= lambda_d, u_a:
 *     m = the sample mean,
 *     sigma^2 = the mean of the d - r discarded eigenvalues (PPCA's maximum
 *               likelihood noise variance),
 *     F[:, a] = u_a sqrt(lambda_a - sigma^2), a < r (PPCA's factor),
 *     D_i = max(S_ii - (F F^T)_ii, floor)
 * -- PPCA with its isotropic sigma^2 replaced by each coordinate's own
 * residual variance, so that D + F F^T has exactly the data's variances on
 * its diagonal (pixels that never change, the border of Fashion-MNIST, get
 * the floor instead of sigma^2). The r leading directions of S are those of
 * F F^T. */
#ifndef FMD_FIT_H
#define FMD_FIT_H

#include <stddef.h>

/* mean (d), D (d), F (d, r); *explained (may be NULL) = sum_{a<r} lambda_a /
 * tr S. Needs n >= 2, 1 <= r < d, floor > 0. */
int fmd_fit_lowrank(size_t n, size_t d, const double *X, size_t r, double floor, double *mean, double *D, double *F,
                    double *explained);

#endif
