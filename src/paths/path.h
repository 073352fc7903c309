/* path.h -- the Gaussian conditional probability path (Ex 9, 11, 14).
 *
 * Promise: for one data point z, p_t(x | z) = N(alpha_t z, beta_t^2 I):
 * sampling, the conditional flow psi_t(x0 | z) = alpha_t z + beta_t x0, its
 * velocity, the conditional vector field and the conditional score, each in
 * the form that stays finite wherever a finite answer exists. */
#ifndef FMD_PATH_H
#define FMD_PATH_H

#include <stddef.h>
#include "paths/schedule.h"

/* x = alpha_t z + beta_t eps for n pairs (z, eps), each (n, d): Ex 9's sampler. */
void fmd_path_sample(const fmd_sched_point *s, size_t n, size_t d, const double *z,
                     const double *eps, double *x);

/* Ex 11, along the flow: d/dt psi_t(x0 | z) = alpha_dot z + beta_dot x0.
 * This is the CFM regression target; it is finite whenever alpha_dot and
 * beta_dot are (not at t = 1 for lab and vp, where beta_dot = -inf). */
void fmd_path_velocity(const fmd_sched_point *s, size_t n, size_t d, const double *z,
                       const double *x0, double *out);

/* Ex 11 as a field: u_t(x | z) = (alpha_dot - (beta_dot/beta) alpha) z + (beta_dot/beta) x.
 * At t = 1 (beta = 0) it is defined only on x = z: returns FMD_EDOM there. */
int fmd_path_cond_field(const fmd_sched_point *s, size_t n, size_t d, const double *z,
                        const double *x, double *out);

/* Ex 14: grad log p_t(x | z) = -(x - alpha_t z) / beta_t^2; FMD_EDOM at beta = 0. */
int fmd_path_cond_score(const fmd_sched_point *s, size_t n, size_t d, const double *z,
                        const double *x, double *out);

#endif
