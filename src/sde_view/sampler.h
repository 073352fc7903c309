/* sampler.h -- every sampler fmd has, by name, on any field: a trained
 * model's output or a mixture's exact field (chapters 2, 4 and 6).
 *
 * Promise: fmd_sampler_run is what `fmd sample` runs, so a C program or the
 * Python binding gets the command's bits for the same options. It draws
 * eps ~ N(0, I) from the seed's streams (fmd_sample_init), starts at
 * X_t0 = beta_t0 eps, and integrates to t1 by the named method:
 *   ODE  euler midpoint heun rk4 dopri5   Algorithm 1 and its betters, on the
 *                                         field Prop 1 gives (fmd_flow_sde_drift)
 *   SDE  em heun-sde                      Thm 13's SDE, sigma_t = S beta_t (Algorithm 2)
 *   EXP  ddim dpm2 dpm2m                  exponential integrators (chapter 6)
 *   K    heun-edm lms dpmpp-3m dpmpp-3m-corrected euler-a dpmpp-2s-a dpmpp-sde
 *                                         k-diffusion's samplers on Karras's levels
 *   DDPM ddpm, LANGEVIN langevin, PC pc   the discrete samplers of chapter 6
 * Every method but ODE and SDE reads the field as a noise prediction
 * (fmd_model_eps). The bits do not depend on the number of threads. */
#ifndef FMD_SAMPLER_H
#define FMD_SAMPLER_H

#include <stddef.h>
#include <stdint.h>
#include "flows/ode.h"
#include "flows/sde.h"
#include "sde_view/sample.h"
#include "sde_view/diffusion.h"
#include "sde_view/ksampler.h"

typedef enum {
    FMD_SAMPLER_ODE,
    FMD_SAMPLER_SDE,
    FMD_SAMPLER_EXP,
    FMD_SAMPLER_K,
    FMD_SAMPLER_DDPM,
    FMD_SAMPLER_LANGEVIN,
    FMD_SAMPLER_PC
} fmd_sampler_kind;

typedef struct {
    fmd_sampler_kind kind;
    const fmd_ode_stepper_type *ode;   /* FMD_SAMPLER_ODE */
    const fmd_sde_stepper_type *sde;   /* FMD_SAMPLER_SDE */
    int method;                        /* fmd_exp_method (EXP) or fmd_kmethod (K) */
} fmd_sampler;

/* The sampler called `name` (the names above); FMD_EINVAL if there is none. */
int fmd_sampler_by_name(const char *name, fmd_sampler *out);

/* Every name fmd_sampler_by_name knows, NULL-terminated. */
extern const char *const fmd_sampler_names[];

typedef struct {
    size_t n;                    /* samples */
    size_t steps;                /* grid steps; for K, Karras's steps + 1 levels */
    double t0, t1;               /* the interval (ODE, SDE, EXP, PC); see fmd_sampler_interval */
    uint64_t seed;
    int threads;                 /* >= 1: speed only, never the bits */
    fmd_exp_form form;           /* EXP: FMD_EXP_DATA (default) or FMD_EXP_NOISE */
    fmd_grid_kind grid;          /* EXP: FMD_GRID_TIME (default) or FMD_GRID_LOGSNR */
    double power;                /* EXP on a time grid: t_k crowded towards the data by this power (2) */
    fmd_ddpm_variance variance;  /* DDPM: sigma_k^2 = b_k or the posterior's */
} fmd_sampler_options;

/* Defaults: n 1000, steps 100, [t0, t1] unset (-1), seed 0, one thread,
 * data form on the time grid of power 2, variance b_k. */
void fmd_sampler_options_default(fmd_sampler_options *o);

/* The interval a sampler runs on, for a model that predicts `predicts`
 * (preconditioned: its read-out is EDM's; t_max: where its training
 * stopped; a mixture's exact field is FMD_PREDICTS_FIELD with t_max 1):
 * where *t0 or *t1 is negative it is filled by the default
 * (fmd_model_time_range), moved inwards where the method needs it -- an
 * exponential integrator needs alpha > 0 at t0 and beta > 0 at t1 (but the
 * data form on a time grid may end at beta = 0), predictor-corrector
 * alpha > 0 at t0 and t1 < 1. A value given is left as it is. */
void fmd_sampler_interval(const fmd_sampler *s, const fmd_sampler_options *o, const fmd_schedule *sch,
                          fmd_prediction predicts, int preconditioned, double t_max, double *t0, double *t1);

/* Run sampler s on P (its field u, schedule, S = P->S for the SDE, what u
 * predicts) with options o (t0 < t1 set): x (n, d) receives the samples.
 * starts (n, d), if not NULL, receives X_t0 = beta_t0 eps, the state the
 * run starts from (for K, the same noise: the run starts at sigma_max eps).
 * path ((steps + 1) x n x d), if not NULL, the states on the grid (ODE and
 * SDE only); ts (steps + 1), if not NULL, the grid. FMD_EINVAL for options
 * the method does not take; the integrators' status otherwise. */
int fmd_sampler_run(const fmd_sampler *s, const fmd_flow_sde_params *P, const fmd_sampler_options *o, double *x,
                    double *starts, double *path, double *ts);

#endif
