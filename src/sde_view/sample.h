/* sample.h -- Algorithms 1 and 2 of the notes: sampling a flow or diffusion model.
 *
 * Promise: for any vector field u_t (closed form, exact mixture field or
 * trained network), draw X_0 ~ p_init = N(0, I_d) and simulate to t = 1:
 *   Algorithm 1 (flow model):      Euler steps of dX = u_t(X) dt;
 *   Algorithm 2 (diffusion model): Euler-Maruyama steps of
 *                                  dX = u_t(X) dt + sigma_t dW.
 * Both take a seed: X_0 comes from stream family fmd_seed_child(seed, 0), the
 * Brownian increments from fmd_seed_child(seed, 1). */
#ifndef FMD_SAMPLE_H
#define FMD_SAMPLE_H

#include <stddef.h>
#include <stdint.h>
#include "flows/field.h"
#include "flows/sde.h"
#include "paths/schedule.h"

/* X_0 ~ N(0, I_d) for n particles, into x0 (n, d), from the streams of seed. */
int fmd_sample_init(uint64_t seed, size_t n, size_t d, double *x0);

/* Algorithm 1: h = 1/steps, X_{t+h} = X_t + h u_t(X_t) from X_0 ~ p_init;
 * x (n, u->d) receives X_1. threads >= 1 changes the speed, not the bits. */
int fmd_sample_flow(const fmd_field *u, uint64_t seed, size_t n, size_t steps,
                    int threads, double *x);

/* Algorithm 2: h = 1/steps, X_{t+h} = X_t + h u_t(X_t) + sigma_t sqrt(h) eps. */
int fmd_sample_diffusion(const fmd_field *u, const fmd_sigma_schedule *sigma, uint64_t seed,
                         size_t n, size_t steps, int threads, double *x);

/* What a trained network predicts: the field u (objective cfm), the score s
 * (dsm), the noise eps = -beta s (ddpm, Ex 22) or the clean data D(x) =
 * E[z | x] (denoiser, `002`). */
typedef enum { FMD_PREDICTS_FIELD = 0, FMD_PREDICTS_SCORE, FMD_PREDICTS_NOISE, FMD_PREDICTS_DATA } fmd_prediction;

/* Thm 13 for a trained model: the SDE dX = [u + (sigma_t^2/2) s] dt + sigma_t dW
 * with sigma_t = S beta_t, where the network gives one of u, s, eps and
 * Prop 1 gives the other (S = 0 is the model's ODE, the probability flow).
 *
 * A flow model (predicts u): s = (alpha u - alpha_dot x) / (beta^2 alpha_dot
 * - alpha beta beta_dot), so the drift is computed as
 *     u + (S^2/2) beta (alpha u - alpha_dot x) / (beta alpha_dot - alpha beta_dot),
 * finite on [0, 1]: at t = 1, beta = 0 and the added term vanishes.
 *
 * A score model (predicts s, or eps): with eta = beta s = -eps,
 *     u = (alpha_dot x + (beta alpha_dot - alpha beta_dot) eta) / alpha    (Prop 1)
 *     drift = u + (S^2/2) beta eta.
 * A score at t = 0 is that of N(0, I) whatever the data, so it cannot give
 * u_0: the drift is FMD_EDOM where alpha = 0 (t = 0) or beta_dot is infinite
 * (t = 1 for lab and vp). Score models are therefore integrated on
 * [t0, t1] inside (0, 1). Near t = 0 the field carries the score's error
 * times alpha_dot beta^2 / alpha (1/t for condot), so a trained score model
 * starts later than its flow counterpart (fmd sample: t0 = 0.05).
 *
 * A denoiser (predicts D = E[z | x]): E[eps | x] = (x - alpha D) / beta, so
 *     u = alpha_dot D + beta_dot (x - alpha D) / beta,
 *     drift = u + (S^2/2) (alpha D - x)      (sigma^2 s / 2 with s = (alpha D - x) / beta^2),
 * finite wherever beta > 0 -- at t = 0 too -- and FMD_EDOM at beta = 0
 * (t = 1), where x is already the data. Denoisers are integrated on
 * [0, t1] with t1 < 1 (fmd sample: 1 - 1e-3). */
typedef struct {
    const fmd_field *u;       /* the network */
    fmd_schedule sch;         /* its Gaussian path */
    double S;                 /* sigma_t = S beta_t; 0 for the ODE */
    fmd_prediction predicts;  /* what the network outputs */
    const fmd_field *score;   /* optional, with predicts FIELD: a score s_theta of its own
                                 (the second head of a cfm+dsm network, section 4.2), used
                                 for the SDE's term (sigma_t^2 / 2) s instead of Prop 1 */
} fmd_flow_sde_params;

/* The interval a trained model is sampled on by default (fmd sample, fmd
 * eval): a flow model [0, 1]; a denoiser [0, min(t_max, 1 - 1e-3)]; a
 * score or noise model from t0 = 0.05 if its read-out is plain (Prop 1
 * multiplies its error by ~1/alpha_t) or 1e-3 if preconditioned (the
 * multiplier is bounded, mlp.h), to no further than it was trained,
 * min(t_max, 1 - 1e-3). Starting from beta_t0 eps at t0 > 0 neglects
 * alpha_t0 z (chapter 4 measures it). */
void fmd_model_time_range(fmd_prediction predicts, int preconditioned, double t_max, double *t0, double *t1);

int fmd_flow_sde_drift(double t, size_t n, size_t d, const double *x, double *out, void *params);
int fmd_flow_sde_sigma(double t, size_t n, size_t d, const double *x, double *g, void *params);

#endif
