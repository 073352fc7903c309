/* stats.h -- the few statistics the checks use: means with standard errors,
 * least-squares slopes (empirical orders), Kolmogorov-Smirnov distances.
 *
 * Promise: small, exact-as-written estimators shared by the chapter programs,
 * the verification suite and the benchmarks, so they all measure alike. */
#ifndef FMD_STATS_H
#define FMD_STATS_H

#include <stddef.h>

/* Sample mean of x[0], x[stride], ... (n >= 2 values) and its standard error
 * sqrt(s^2 / n), s^2 the unbiased sample variance. */
void fmd_mean_se(size_t n, const double *x, size_t stride, double *mean, double *se);

/* Unbiased sample variance of the same values. */
double fmd_sample_variance(size_t n, const double *x, size_t stride);

/* Least-squares slope of y on x (m >= 2 points). If y_se and slope_se are
 * non-NULL, *slope_se = sqrt(sum_i w_i^2 y_se[i]^2) with w_i the slope's
 * weights (y_i treated as independent). */
double fmd_fit_slope(size_t m, const double *x, const double *y, const double *y_se,
                     double *slope_se);

/* sup_x |F_n(x) - F(x)| of n samples (sorted in place) against cdf. */
double fmd_ks_distance(size_t n, double *samples, double (*cdf)(double x, void *p), void *p);

/* The DKW-Massart threshold e with P(sup|F_n - F| > e) <= alpha:
 * e = sqrt(log(2 / alpha) / (2 n)). */
double fmd_ks_threshold(size_t n, double alpha);

/* The mean Euclidean distance between two of n points x (n, d), over the
 * n (n - 1) / 2 pairs: a plain measure of a sample's diversity (chapter 5:
 * guidance trades it for accuracy). 0 for n < 2. */
double fmd_mean_pairwise_distance(size_t n, size_t d, const double *x);

/* Sliced Wasserstein-1 distance between n samples X (n, d) and n samples Y
 * (n, d): the mean over L random unit directions theta of the 1-D W1
 * distance between theta.X and theta.Y (sorted-sample formula
 * (1/n) sum |x_(i) - y_(i)|). *se is the standard error over directions.
 * Directions are drawn from r, a gsl_rng * (isotropic Gaussian, normalised). */
int fmd_sliced_wasserstein(size_t n, size_t d, const double *X, const double *Y, size_t L,
                           void *r, double *mean, double *se);

#endif
