/* frechet.h -- the Fréchet distance between two Gaussians, the measure FID
 * (Heusel et al. 2017) applies to two sets of features (issue 16: samples
 * against the test set, in the feature space of chapter 5's classifier).
 *
 * Promise: for N(mu1, S1) and N(mu2, S2),
 *     FD = |mu1 - mu2|^2 + tr S1 + tr S2 - 2 tr (S1^{1/2} S2 S1^{1/2})^{1/2},
 * the squared 2-Wasserstein distance between the two Gaussians. The matrix
 * square roots come from GSL's symmetric eigensolver (S1^{1/2} S2 S1^{1/2}
 * is symmetric, unlike the S1 S2 that FID's usual scipy.linalg.sqrtm takes
 * the root of, so no complex parts to discard); eigenvalues rounded below 0
 * count as 0. */
#ifndef FMD_FRECHET_H
#define FMD_FRECHET_H

#include <stddef.h>
#include "networks/mlp.h"

/* mean (k) and covariance (k, k; divided by n - 1) of n rows of k features. */
int fmd_feature_moments(size_t n, size_t k, const double *f, double *mean, double *cov);

/* The Fréchet distance of N(mu1, S1) and N(mu2, S2) in R^k into *fd.
 * FMD_EDOM if a covariance is not symmetric to 1e-12 (relative) or not finite. */
int fmd_frechet_distance(size_t k, const double *mu1, const double *S1, const double *mu2, const double *S2, double *fd);

/* The same for images, FID's recipe with an fmd classifier in Inception's
 * place: the moments of n images' features (fmd_classifier_features at t =
 * 1, k = fmd_classifier_feature_width(clf) numbers each) into mu (k) and S
 * (k, k); and the distance of n images x to moments (mu, S) found that way
 * for held-out images. */
int fmd_image_feature_moments(const fmd_mlp *clf, size_t n, const double *x, double *mu, double *S);
int fmd_image_frechet_distance(const fmd_mlp *clf, size_t n, const double *x, const double *mu, const double *S,
                               double *fd);

#endif
