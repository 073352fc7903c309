/* problems.c -- the reference problems of the ODE checks. */
#include "problems.h"

static fmd_linear_params linear = {1.37};
static fmd_rotation_params rotation = {2.385};

static void linear_exact(double T, size_t n, const double *x0, double *out)
{
    fmd_linear_flow(linear.theta, T, 2 * n, x0, out);
}

static void rotation_exact(double T, size_t n, const double *x0, double *out)
{
    fmd_rotation_flow(rotation.omega, T, n, x0, out);
}

static void riccati_exact(double T, size_t n, const double *x0, double *out)
{
    fmd_riccati_flow(T, 2 * n, x0, out);
}

const ref_problem ref_problems[3] = {
    {"linear (Ex 4)", {fmd_linear_field, 2, &linear}, 1.5, linear_exact},
    {"rotation", {fmd_rotation_field, 2, &rotation}, 2.0, rotation_exact},
    {"riccati -t x^2", {fmd_riccati_field, 2, NULL}, 1.0, riccati_exact},
};

const double ref_x0[4] = {0.83, -1.29, 1.7, 0.41};
