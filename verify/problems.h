/* problems.h -- reference ODE problems with closed-form solutions, shared by
 * the order tests (verify/test_ode.c) and the benchmark's sanity checks. */
#ifndef FMD_VERIFY_PROBLEMS_H
#define FMD_VERIFY_PROBLEMS_H

#include "fmd.h"

typedef struct {
    const char *name;
    fmd_field u;                 /* the field, d = 2 */
    double T;                    /* integrate over [0, T] */
    /* psi_T(x0) for m = n * d numbers */
    void (*exact)(double T, size_t n, const double *x0, double *out);
} ref_problem;

/* Example 4 with theta = 3.1 on [0, 1.5]; rotation with omega = 2.385 on [0, 2]; -t x^2. */
extern const ref_problem ref_problems[3];

/* Two particles in d = 2, chosen without symmetry. */
extern const double ref_x0[4];

#endif
