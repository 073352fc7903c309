/* convert.h -- Prop 1 and the parameterisations of chapter 4, at one time.
 *
 * For the Gaussian path N(alpha_t z, beta_t^2 I) a network may predict the
 * field u, the score s, the noise eps or the clean data z (a denoiser D); any
 * one determines the others where the formula is not singular:
 *   s from u   s = (alpha u - alpha_dot x) / (beta^2 alpha_dot - alpha beta beta_dot)
 *   u from s   u = c s + (alpha_dot / alpha) x,  c = beta^2 alpha_dot / alpha - beta beta_dot
 *   s from eps s = -eps / beta                        (Ex 22: eps = -beta s)
 *   s from D   s = (alpha D - x) / beta^2             (Tweedie; `002`'s denoiser is the
 *                                                     case alpha = 1, beta = sigma)
 * Singular ends, returned as FMD_EDOM: u from s needs alpha > 0 (not t = 0);
 * s from eps and from D need beta > 0 (not t = 1); s from u needs a non-zero
 * denominator, which fails at t = 1 for condot, cosine and poly (there the
 * field no longer carries the score) but not for lab and vp. The same
 * formulas hold for the conditional quantities of one data point. */
#ifndef FMD_CONVERT_H
#define FMD_CONVERT_H

#include <stddef.h>
#include "paths/schedule.h"

/* m = n d numbers each; out may not alias the inputs. */
int fmd_score_from_field(const fmd_sched_point *s, size_t m, const double *x, const double *u, double *out);
int fmd_field_from_score(const fmd_sched_point *s, size_t m, const double *x, const double *score, double *out);
int fmd_score_from_noise(const fmd_sched_point *s, size_t m, const double *eps, double *out);
int fmd_score_from_denoiser(const fmd_sched_point *s, size_t m, const double *x, const double *D, double *out);

#endif
