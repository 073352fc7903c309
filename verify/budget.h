/* budget.h -- the suite's false-fail budget (the estimators are src/base/stats.h).
 *
 * False-fail budget of the whole suite: at most 1e-6.
 *   - A Gaussian check compares an estimate with its exact value and fails
 *     when |estimate - exact| > Z_CHECK * SE. With Z_CHECK = 6.5 the two-sided
 *     false-fail probability of one check is 2 * Phi(-6.5) = 8.0e-11.
 *   - A Kolmogorov-Smirnov check fails when sup|F_n - F| > ks_threshold(n);
 *     by the Dvoretzky-Kiefer-Wolfowitz-Massart inequality
 *     P(sup|F_n - F| > e) <= 2 exp(-2 n e^2), and e is chosen so this is
 *     ALPHA_CHECK = 8.0e-11.
 *   The suite holds fewer than 12000 such checks (each test states its count;
 *   today 683: Brownian 28, SDE weak order 6, OU 10, Algorithms 1-2 5,
 *   chapter-1 data 14, 4 fitted SDE orders whose tolerance is >= 6 of their
 *   standard errors, Thm 10 by importance sampling 40, transport of p_t by
 *   ODE/SDE 72, Langevin 6, Thm 18 and Thm 20 2 x 153, training 1 + 6, toy data
 *   sets 8, guided sampling 9 + 2 + 2 + 1 + 2, forward SDEs 45, Hutchinson 4, samplers 33, Girsanov 3, discrete DDPM 2, exact sampling 1, scoring samples 1, k-diffusion samplers 9, sampler chains against their closed-form laws 63: 683), so the total is below 12000 * 8.0e-11 = 9.6e-7 <= 1e-6.
 * Every check uses a fixed seed, so a run is deterministic; the budget says
 * how unlucky a seed would have to be for a correct code to fail. */
#ifndef FMD_VERIFY_BUDGET_H
#define FMD_VERIFY_BUDGET_H

#include "base/stats.h"    /* src/base/stats.h: fmd_mean_se, fmd_fit_slope, fmd_ks_distance */

#define Z_CHECK 6.5
#define ALPHA_CHECK 8.0e-11

static inline double ks_threshold(size_t n) { return fmd_ks_threshold(n, ALPHA_CHECK); }

#endif
