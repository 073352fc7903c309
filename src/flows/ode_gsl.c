/* ode_gsl.c -- adapter from fmd_field to gsl_odeiv2_system. */
#include "flows/ode_gsl.h"
#include "base/status.h"

#include <math.h>
#include <string.h>
#include <gsl/gsl_errno.h>

typedef struct {
    const fmd_field *u;
    size_t n;                 /* particles in one system: 1 or the batch */
    unsigned long calls;      /* times GSL called the system function */
} gsl_bridge;

/* gsl_odeiv2_system.function: y has n*d numbers, f receives u_t(y). */
static int bridge_function(double t, const double y[], double f[], void *params)
{
    gsl_bridge *br = params;
    br->calls++;
    int status = br->u->eval(t, br->n, br->u->d, y, f, br->u->params);
    return status == FMD_OK ? GSL_SUCCESS : GSL_EBADFUNC;
}

const gsl_odeiv2_step_type *fmd_gsl_stepper_by_name(const char *name)
{
    static const struct { const char *name; const gsl_odeiv2_step_type **type; } table[] = {
        {"rk2", &gsl_odeiv2_step_rk2},   {"rk4", &gsl_odeiv2_step_rk4},
        {"rkf45", &gsl_odeiv2_step_rkf45}, {"rkck", &gsl_odeiv2_step_rkck},
        {"rk8pd", &gsl_odeiv2_step_rk8pd},
    };
    if (!name)
        return NULL;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].name, name) == 0)
            return *table[i].type;
    return NULL;
}

/* Solve one system of dimension n_sys * d held in y. */
static int solve_one(gsl_odeiv2_driver *drv, const fmd_gsl_options *opt, double t0,
                     double t1, double *y)
{
    double t = t0;
    int status;
    if (opt->steps > 0)
        status = gsl_odeiv2_driver_apply_fixed_step(drv, &t, (t1 - t0) / (double)opt->steps,
                                                    (unsigned long)opt->steps, y);
    else
        status = gsl_odeiv2_driver_apply(drv, &t, t1, y);
    return status == GSL_SUCCESS ? FMD_OK : FMD_EGSL;
}

int fmd_gsl_solve(const fmd_field *u, size_t n, double t0, double t1, double *x,
                  const fmd_gsl_options *opt, double *nfe_per_particle)
{
    if (!u || !u->eval || u->d == 0 || n == 0 || !x || !opt || !opt->type)
        return FMD_EINVAL;
    if (!isfinite(t0) || !isfinite(t1) || t0 == t1)
        return FMD_EDOM;
    if (opt->steps == 0 && !(opt->rtol >= 0.0 && opt->atol >= 0.0 && opt->rtol + opt->atol > 0.0))
        return FMD_EINVAL;
    fmd_gsl_quiet();

    const size_t d = u->d;
    gsl_bridge br = {u, opt->mode == FMD_GSL_WHOLE_BATCH ? n : 1, 0};
    gsl_odeiv2_system sys = {bridge_function, NULL, br.n * d, &br};
    double hstart = opt->steps > 0 ? (t1 - t0) / (double)opt->steps : (t1 - t0) * 1e-3;
    /* In fixed-step mode GSL still consults its error control and fails a
     * step it would shrink; tolerances of 1e300 make the control a no-op. */
    double atol = opt->steps > 0 ? 1e300 : opt->atol, rtol = opt->steps > 0 ? 1e300 : opt->rtol;
    gsl_odeiv2_driver *drv = gsl_odeiv2_driver_alloc_y_new(&sys, opt->type, hstart, atol, rtol);
    if (!drv)
        return FMD_ENOMEM;

    int status = FMD_OK;
    if (opt->mode == FMD_GSL_WHOLE_BATCH) {
        status = solve_one(drv, opt, t0, t1, x);
    } else {
        for (size_t i = 0; i < n && status == FMD_OK; i++) {
            gsl_odeiv2_driver_reset_hstart(drv, hstart);
            status = solve_one(drv, opt, t0, t1, x + i * d);
        }
    }
    gsl_odeiv2_driver_free(drv);
    if (nfe_per_particle)
        *nfe_per_particle = opt->mode == FMD_GSL_WHOLE_BATCH ? (double)br.calls
                                                             : (double)br.calls / (double)n;
    return status;
}
