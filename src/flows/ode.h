/* ode.h -- explicit Runge-Kutta steppers and drivers for dX/dt = u_t(X).
 *
 * Promise: every method of the notes and the classical ones beside it are one
 * stepper type each -- a Butcher tableau with a name and an order -- and every
 * driver takes any of them, as GSL's gsl_odeiv2 does. A batch of n particles
 * in R^d is integrated at once; particles never interact, so the adaptive
 * driver controls the error of every particle separately (the worst particle
 * sets the step). Results are bit-identical for any number of threads.
 *
 * Section 2.1 of the notes: a flow psi_t solves d/dt psi_t(x0) = u_t(psi_t(x0)),
 * psi_0(x0) = x0; these routines approximate psi_t on a batch of x0. */
#ifndef FMD_ODE_H
#define FMD_ODE_H

#include <stddef.h>
#include "flows/field.h"
#include "base/team.h"

/* An explicit Runge-Kutta method with s stages:
 *   k_j   = u(t + c_j h, x + h sum_{l<j} a_{jl} k_l),   j = 1..s
 *   x_new = x + h sum_j b_j k_j
 *   err   = h sum_j e_j k_j        (e = b - b_hat, when the method embeds one) */
typedef struct {
    const char *name;   /* "euler", "midpoint", "heun", "rk4", "dopri5" */
    int order;          /* order of x_new */
    int stages;         /* s */
    const double *c;    /* (s) nodes */
    const double *a;    /* (s, s) row-major, zero on and above the diagonal */
    const double *b;    /* (s) weights of x_new */
    const double *e;    /* (s) error weights b - b_hat, or NULL */
    int fsal;           /* 1 if stage s is u(t + h, x_new): reused as next k_1 */
} fmd_ode_stepper_type;

extern const fmd_ode_stepper_type *const fmd_ode_euler;    /* Algorithm 1's step */
extern const fmd_ode_stepper_type *const fmd_ode_midpoint;
extern const fmd_ode_stepper_type *const fmd_ode_heun;     /* explicit trapezoid */
extern const fmd_ode_stepper_type *const fmd_ode_rk4;      /* classical 4th order */
extern const fmd_ode_stepper_type *const fmd_ode_dopri5;   /* Dormand-Prince 5(4) */

/* All of the above, NULL-terminated, for tests and benchmarks to loop over. */
extern const fmd_ode_stepper_type *const fmd_ode_steppers[];

/* Look a stepper up by its name; NULL if unknown. */
const fmd_ode_stepper_type *fmd_ode_stepper_by_name(const char *name);

/* Work space for one stepper, one batch shape. Owned by the caller. */
typedef struct {
    const fmd_ode_stepper_type *type;
    size_t n;               /* particles */
    size_t d;               /* dimension */
    int threads;            /* threads for the block loop (>= 1; set it after alloc) */
    fmd_team *team;         /* made to match `threads` when a driver runs */
    double *k;              /* (stages, n, d) stage derivatives */
    double *xs;             /* (n, d) stage input */
    double *xnew;           /* (n, d) candidate state of the adaptive driver */
    double *block_err;      /* (nblocks) worst error norm in each block */
    int *block_status;      /* (nblocks) field status in each block */
    int k1_valid;           /* FSAL: k[0] already holds u(t, x) for the next step */
    unsigned long nfe;      /* batch field evaluations so far */
    unsigned long accepted; /* steps accepted so far */
    unsigned long rejected; /* steps rejected so far (adaptive driver only) */
} fmd_ode_workspace;

int fmd_ode_workspace_alloc(const fmd_ode_stepper_type *type, size_t n, size_t d,
                            fmd_ode_workspace **out);
void fmd_ode_workspace_free(fmd_ode_workspace *ws);
/* Forget FSAL state and zero the counters (call when x changes by hand). */
void fmd_ode_reset(fmd_ode_workspace *ws);

/* Error tolerances: particle i's error e_i (d numbers) is accepted when
 *   sqrt( (1/d) sum_k (e_ik / (atol + rtol max(|x_ik|, |xnew_ik|)))^2 ) <= 1. */
typedef struct {
    double rtol;
    double atol;
} fmd_ode_tol;

/* One step of size h (h may be negative) from (t, x) to x_new; x is not
 * modified. If err_norm is non-NULL and the type embeds an error estimate,
 * *err_norm receives the worst particle's weighted norm under tol (tol may be
 * NULL only when err_norm is). Costs `stages` evaluations (no FSAL reuse). */
int fmd_ode_step(fmd_ode_workspace *ws, const fmd_field *u, double t, double h,
                 const double *x, double *x_new, const fmd_ode_tol *tol, double *err_norm);

/* Fixed-step driver over a strictly monotone grid ts[0..nt-1] (increasing, or
 * decreasing to integrate backward). x (n, d) holds x(ts[0]) on entry and
 * x(ts[nt-1]) on return. If path is non-NULL it receives the state at every
 * grid time: (nt, n, d), path[0] = x(ts[0]).
 * Returns FMD_EGRID for a grid that is not strictly monotone, FMD_EDOM if the
 * initial or final state is not finite, FMD_EFIELD if the field failed.
 * Particles never meet on a fixed grid, so each block of particles
 * is one task through the whole grid: threads never wait for one another
 * until the end. */
int fmd_ode_solve_grid(fmd_ode_workspace *ws, const fmd_field *u, const double *ts,
                       size_t nt, double *x, double *path);

/* The most particles one block of a batch of n holds (the drivers cut the
 * batch into fmd_chunks(n, this) blocks, src/base/team.h): between 64 and 256,
 * n / 32 in between -- fixed by n, never by the threads. */
size_t fmd_ode_block_size(size_t n);

/* Uniform grid helper: ts[k] = t0 + k (t1 - t0) / steps, k = 0..steps,
 * with ts[steps] = t1 exactly. ts must hold steps + 1 numbers. */
int fmd_time_grid(double t0, double t1, size_t steps, double *ts);

/* Controls of the adaptive driver. */
typedef struct {
    fmd_ode_tol tol;
    double h0;                /* first step size; 0 = automatic (Hairer's rule) */
    double hmax;              /* largest |h|; 0 = |t1 - t0| */
    unsigned long max_steps;  /* attempted steps allowed; 0 = 1000000 */
} fmd_ode_control;

/* One adaptive attempt from (*t, x) with step *h towards t_end. If accepted,
 * x and *t advance; if rejected, x and *t are left exactly as they were. In
 * both cases *h becomes the next step to try. *accepted tells which. */
int fmd_ode_adaptive_step(fmd_ode_workspace *ws, const fmd_field *u, double *t,
                          double *x, double *h, double t_end, const fmd_ode_tol *tol,
                          int *accepted);

/* Adaptive driver from t0 to t1 (either direction) with an embedded-error
 * type (dopri5). Returns FMD_ESTEP if the step size underflows, FMD_EMAXSTEP
 * after ctl->max_steps attempts, FMD_EINVAL for a type without an error
 * estimate or tolerances that are not positive. */
int fmd_ode_solve_adaptive(fmd_ode_workspace *ws, const fmd_field *u, double t0,
                           double t1, double *x, const fmd_ode_control *ctl);

#endif
