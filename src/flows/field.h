/* field.h -- a time-dependent vector field u_t(x), evaluated on a whole batch.
 *
 * Promise: one interface for every field in the project -- closed-form
 * examples, exact mixture fields, trained networks. A field maps (t, x[n][d])
 * to out[n][d] in one call, reading only `params`, so a solver may call it on
 * disjoint blocks of particles from several threads at once. */
#ifndef FMD_FIELD_H
#define FMD_FIELD_H

#include <stddef.h>
#include "base/team.h"

/* u_t at n particles: x is (n, d) row-major, out is (n, d). Returns FMD_OK or
 * a status code; must not keep pointers to x or out after returning. */
typedef int (*fmd_field_fn)(double t, size_t n, size_t d, const double *x,
                            double *out, void *params);

typedef struct {
    fmd_field_fn eval;  /* the field */
    size_t d;           /* dimension of the state */
    void *params;       /* read-only parameters passed to eval */
} fmd_field;

/* Checked call: validates arguments, maps a non-OK return to FMD_EFIELD. */
int fmd_field_eval(const fmd_field *u, double t, size_t n, const double *x, double *out);

/* The same, the batch cut into chunks of at most FMD_FIELD_BLOCK particles
 * that a team shares (team NULL: the caller alone). The chunks are fixed by
 * n, never by the team, so the bits do not depend on the number of threads. */
#define FMD_FIELD_BLOCK 64
int fmd_field_eval_team(fmd_team *team, const fmd_field *u, double t, size_t n, const double *x, double *out);

/* 1 if all m numbers are finite, else 0. */
int fmd_all_finite(size_t m, const double *x);

#endif
