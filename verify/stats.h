/* stats.h -- the statistics the Monte Carlo checks share, and their budget.
 *
 * False-fail budget of the whole suite: at most 1e-6.
 *   - A Gaussian check compares an estimate with its exact value and fails
 *     when |estimate - exact| > Z_CHECK * SE. With Z_CHECK = 6 the two-sided
 *     false-fail probability of one check is 2 * Phi(-6) = 1.97e-9.
 *   - A Kolmogorov-Smirnov check fails when sup|F_n - F| > ks_threshold(n);
 *     by the Dvoretzky-Kiefer-Wolfowitz-Massart inequality
 *     P(sup|F_n - F| > e) <= 2 exp(-2 n e^2), and we pick e so this is 1.97e-9.
 *   The suite holds fewer than 500 such checks (each test states its count),
 *   so the total is below 500 * 1.97e-9 = 9.9e-7 <= 1e-6.
 * Every check uses a fixed seed, so a run is deterministic; the budget says
 * how unlucky a seed would have to be for a correct code to fail. */
#ifndef FMD_VERIFY_STATS_H
#define FMD_VERIFY_STATS_H

#include <stddef.h>

#define Z_CHECK 6.0
#define ALPHA_CHECK 1.97e-9

/* Sample mean and its standard error of x[0], x[stride], ..., n values. */
void mean_se(size_t n, const double *x, size_t stride, double *mean, double *se);

/* Least-squares slope of y on x (m points); *slope_se (optional) is its
 * standard error when y_i has standard error y_se[i] (NULL: not computed). */
double fit_slope(size_t m, const double *x, const double *y, const double *y_se,
                 double *slope_se);

/* sup_x |F_n(x) - F(x)| for the n samples (sorted in place) against cdf. */
double ks_distance(size_t n, double *samples, double (*cdf)(double x, void *p), void *p);

/* DKW threshold at false-fail probability ALPHA_CHECK for n samples. */
double ks_threshold(size_t n);

#endif
