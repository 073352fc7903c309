/* sde.h -- Brownian motion and steppers for dX_t = u_t(X_t) dt + g_t(X_t) dW_t.
 *
 * Promise: the SDEs of section 2.2 of the notes, dX = u_t(X) dt + sigma_t dW,
 * and their state-dependent cousins with a diagonal diffusion g_t(x) (Ito
 * sense), simulated on a batch of particles. The step itself takes the
 * Brownian increments as an argument, so a test can drive two methods -- or a
 * method and an exact solution -- with the very same noise; the driver draws
 * them from per-block streams, so a seed fixes every bit for any thread count. */
#ifndef FMD_SDE_H
#define FMD_SDE_H

#include <stddef.h>
#include <stdint.h>
#include "flows/field.h"
#include "base/team.h"
#include "base/rng.h"

/* Diagonal diffusion g_t(x): x (n, d) -> g (n, d); the noise of component k
 * of particle i is g_ik dW_ik. Same contract as fmd_field_fn. */
typedef fmd_field_fn fmd_diffusion_fn;

typedef struct {
    fmd_field drift;            /* u_t(x), dimension d */
    fmd_diffusion_fn diffusion; /* g_t(x) */
    void *diffusion_params;     /* read-only, passed to diffusion */
} fmd_sde;

/* The course's diffusion coefficient sigma_t (a function of t alone). */
typedef struct {
    double (*sigma)(double t, void *params);  /* sigma_t >= 0 */
    void *params;
} fmd_sigma_schedule;

/* g_t(x) = sigma_t for every component: params is an fmd_sigma_schedule. */
int fmd_diffusion_sigma_t(double t, size_t n, size_t d, const double *x, double *g, void *params);

/* g_t(x) = sigma (a constant): params points to one double. */
int fmd_diffusion_constant(double t, size_t n, size_t d, const double *x, double *g, void *params);

/* A stepper: x_new from (t, x) over [t, t + h] given dW = W_{t+h} - W_t. */
typedef struct fmd_sde_workspace fmd_sde_workspace;
typedef struct {
    const char *name;       /* "em", "heun-sde" */
    int drift_evals;        /* drift evaluations per step */
    double strong_order;    /* for additive noise (g independent of x) */
    double weak_order;
} fmd_sde_stepper_type;

/* Euler-Maruyama (Algorithm 2's step):
 *   X_{t+h} = X_t + h u_t(X_t) + g_t(X_t) dW.
 * Strong order 1/2 in general, 1 for additive noise; weak order 1. */
extern const fmd_sde_stepper_type *const fmd_sde_em;
/* Stochastic Heun (predictor-corrector trapezoid):
 *   Xp      = X_t + h u_t(X_t) + g_t(X_t) dW
 *   X_{t+h} = X_t + h/2 (u_t(X_t) + u_{t+h}(Xp)) + 1/2 (g_t(X_t) + g_{t+h}(Xp)) dW.
 * For additive noise (the course's sigma_t) it is strong order 1 and weak
 * order 2. When g depends on x it converges to the Stratonovich solution, not
 * the Ito one: use Euler-Maruyama for such SDEs. */
extern const fmd_sde_stepper_type *const fmd_sde_heun;
extern const fmd_sde_stepper_type *const fmd_sde_steppers[];   /* NULL-terminated */
const fmd_sde_stepper_type *fmd_sde_stepper_by_name(const char *name);

struct fmd_sde_workspace {
    const fmd_sde_stepper_type *type;
    size_t n, d;
    int threads;          /* threads (>= 1); results identical for any value */
    fmd_team *team;       /* made to match `threads` when a driver runs */
    double *u0, *g0;      /* (n, d) drift and diffusion at (t, x) */
    double *xp;           /* (n, d) Heun predictor */
    double *u1, *g1;      /* (n, d) drift and diffusion at (t + h, xp) */
    double *xnew;         /* (n, d) */
    double *dw;           /* (n, d) Brownian increments of the current step */
    int *block_status;    /* (nblocks) */
    unsigned long nfe;    /* drift evaluations of the whole batch */
};

int fmd_sde_workspace_alloc(const fmd_sde_stepper_type *type, size_t n, size_t d,
                            fmd_sde_workspace **out);
void fmd_sde_workspace_free(fmd_sde_workspace *ws);

/* One step with given increments dW (n, d); x is not modified. */
int fmd_sde_step(fmd_sde_workspace *ws, const fmd_sde *sde, double t, double h,
                 const double *x, const double *dw, double *x_new);

/* Driver over a strictly increasing grid ts[0..nt-1]: x (n, d) holds X at
 * ts[0] on entry and at ts[nt-1] on return; increments are drawn from the
 * streams of `seed` (block b of particles from stream b). path (optional)
 * receives (nt, n, d). Statuses as fmd_ode_solve_grid. */
int fmd_sde_solve_grid(fmd_sde_workspace *ws, const fmd_sde *sde, const double *ts,
                       size_t nt, double *x, uint64_t seed, double *path);

/* Brownian motion (section 2.2): W at the times ts[0..nt-1] (strictly
 * increasing), W(ts[0]) = 0, W(ts[k+1]) = W(ts[k]) + sqrt(ts[k+1] - ts[k]) eps,
 * eps ~ N(0, I_d) independent. W is (nt, n, d). */
int fmd_brownian_paths(uint64_t seed, size_t n, size_t d, const double *ts, size_t nt,
                       double *W);

#endif
