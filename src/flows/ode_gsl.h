/* ode_gsl.h -- the same problem solved by GSL's gsl_odeiv2, as a reference.
 *
 * Promise: any fmd_field can be handed to GSL's steppers the two ways a user
 * would do it -- one d-dimensional system per particle, or the whole batch as
 * one system of dimension n*d -- with fixed steps or GSL's adaptive control,
 * and the number of field evaluations is counted, so our steppers can be
 * compared with GSL's on error, NFE and time. */
#ifndef FMD_ODE_GSL_H
#define FMD_ODE_GSL_H

#include <stddef.h>
#include <gsl/gsl_odeiv2.h>
#include "flows/field.h"

typedef enum {
    FMD_GSL_PER_PARTICLE,   /* n systems of dimension d, solved one after another */
    FMD_GSL_WHOLE_BATCH     /* one system of dimension n*d */
} fmd_gsl_mode;

typedef struct {
    const gsl_odeiv2_step_type *type;  /* gsl_odeiv2_step_rk4, _rkf45, _rkck, _rk8pd, ... */
    fmd_gsl_mode mode;
    size_t steps;        /* > 0: this many fixed steps (driver_apply_fixed_step) */
    double rtol, atol;   /* steps == 0: GSL's adaptive control with these */
} fmd_gsl_options;

/* GSL stepper by name ("rk2", "rk4", "rkf45", "rkck", "rk8pd"); NULL if unknown. */
const gsl_odeiv2_step_type *fmd_gsl_stepper_by_name(const char *name);

/* Integrate x (n, d) from t0 to t1 in place. *nfe_per_particle (optional)
 * receives the field evaluations per particle (whole-batch calls, or total
 * single-particle calls / n). GSL's failures come back as FMD_EGSL. */
int fmd_gsl_solve(const fmd_field *u, size_t n, double t0, double t1, double *x,
                  const fmd_gsl_options *opt, double *nfe_per_particle);

#endif
