/* loss.h -- the training losses of chapter 4 as Monte Carlo estimates with
 * standard errors, for any Gaussian path and a network.
 *
 * Promise: one batch (t, z, eps, x = alpha_t z + beta_t eps) is drawn once
 * and can be reused for many models (common random numbers); each loss is
 * the batch mean of |prediction - target|^2 with its standard error, and the
 * network's gradient of it. The targets:
 *     FM        u_t(x)                exact marginal field (chapter 3)    Thm 18
 *     CFM       alpha_dot z + beta_dot eps   conditional field along the flow (Ex 19)
 *     SM        grad log p_t(x)       exact marginal score                Thm 20
 *     CSM/DSM   -eps / beta_t         conditional score (Ex 14)
 *     DDPM      eps                   noise prediction (Ex 22)
 *     DENOISER  z                     clean-data prediction (`002`, Tweedie)
 * t ~ Unif[t_min, t_max]; keep t_max < 1 for CFM with lab/vp (beta_dot = -inf at 1)
 * and t_max < 1 for CSM (beta = 0 at 1). */
#ifndef FMD_LOSS_H
#define FMD_LOSS_H

#include <stddef.h>
#include <gsl/gsl_rng.h>
#include "paths/gmm.h"
#include "networks/mlp.h"
#include "paths/schedule.h"
#include "paths/toy.h"

typedef enum { FMD_LOSS_FM, FMD_LOSS_CFM, FMD_LOSS_SM, FMD_LOSS_CSM, FMD_LOSS_DDPM, FMD_LOSS_DENOISER,
               FMD_LOSS_CFM_DSM } fmd_loss_kind;

/* Targets per row: d numbers, or 2d for CFM_DSM -- one network with two
 * outputs (the notes' section 4.2), the field u_theta and the score s_theta,
 * trained on the sum of the CFM and DSM losses; its target row is
 * [alpha_dot z + beta_dot eps, -eps / beta_t]. */
size_t fmd_loss_width(fmd_loss_kind kind, size_t d);

typedef struct {
    size_t M, d;
    double *t;     /* (M) times */
    double *z;     /* (M, d) data draws z ~ p_data */
    double *eps;   /* (M, d) noise eps ~ N(0, I) */
    double *x;     /* (M, d) x = alpha_t z + beta_t eps */
    int *y;        /* (M) the class of each z (0 for data without classes); a
                      labelled network reads it (C = "no label", chapter 5) */
} fmd_loss_batch;

int fmd_loss_batch_draw(const fmd_gmm *g, const fmd_schedule *sch, size_t M, double t_min,
                        double t_max, gsl_rng *r, fmd_loss_batch *b);

/* The same from any data source (a toy set, a data file): z by sampler. */
int fmd_loss_batch_draw_from(fmd_sampler_fn sampler, void *params, size_t d, const fmd_schedule *sch,
                             size_t M, double t_min, double t_max, gsl_rng *r, fmd_loss_batch *b);

/* The two halves of a draw: room for M rows, then fresh rows from r into
 * every row of b (z and its class by sampler, then eps, then t, then x).
 * levels N > 0 (discrete DDPM, `003`): t ~ U[t_min, t_max) is floored to the
 * grid j/N, the times of the chain's levels k = N - j (schedule ddpm:N);
 * 0: t continuous. */
int fmd_loss_batch_alloc(size_t M, size_t d, fmd_loss_batch *b);
int fmd_loss_batch_fill(fmd_sampler_fn sampler, void *params, const fmd_schedule *sch, double t_min,
                        double t_max, size_t levels, gsl_rng *r, fmd_loss_batch *b);

/* EDM's noise levels (Karras et al. 2022, sec. 5, "P_mean, P_std"): after
 * fmd_loss_batch_fill on [0, 1], each row's uniform time u becomes
 *     ln sigma = p_mean + p_std Phi^-1(u),   sigma = beta_t / alpha_t,
 * i.e. the t of lambda = log(alpha_t / beta_t) = -ln sigma on the schedule
 * (fmd_schedule_time_of_lambda), kept in [t_min, t_max]; then x = alpha_t z
 * + beta_t eps again. The inverse CDF keeps one uniform draw per row, so the
 * random streams are those of a uniform run. EDM's -1.2, 1.2 put the median
 * level at sigma = 0.30 (t = 0.77 on condot) and 95% within sigma in [0.03,
 * 3.3]: the levels where a denoiser's error shows in the samples. */
int fmd_loss_batch_lognormal_times(fmd_loss_batch *b, const fmd_schedule *sch, double p_mean, double p_std,
                                   double t_min, double t_max);

/* Classifier-free guidance training (chapter 5): every row's class must be
 * one of the network's C (FMD_EINVAL otherwise); each is then replaced by
 * "no label" (C) with probability p, one uniform draw from r per row in
 * order. Nothing happens when C = 0 (a network without labels). */
int fmd_loss_batch_drop_labels(fmd_loss_batch *b, size_t C, double p, gsl_rng *r);

/* Rows [row0, row0 + M) of b as a batch of their own (pointers into b, no
 * copy; not to be freed): a slice for one thread. */
fmd_loss_batch fmd_loss_batch_rows(const fmd_loss_batch *b, size_t row0, size_t M);

/* fmd_sampler_fn for a mixture (params: const fmd_gmm *). */
int fmd_gmm_sampler(void *g, gsl_rng *r, size_t n, double *z, int *labels);
void fmd_loss_batch_free(fmd_loss_batch *b);

/* The regression target of `kind` for every row of the batch: target (M,
 * fmd_loss_width(kind, d)).
 * g (the exact mixture) is needed by FM and SM only; pass NULL otherwise. */
int fmd_loss_target(fmd_loss_kind kind, const fmd_gmm *g, const fmd_schedule *sch,
                    const fmd_loss_batch *b, double *target);

/* value = mean_i |f(x_i, t_i) - target_i|^2 and its standard error; if grad
 * is non-NULL, grad (nparams numbers of the network's type) = d value / d
 * theta. ws must hold M rows. */
int fmd_loss_mlp(const fmd_mlp *net, fmd_mlp_workspace *ws, const fmd_loss_batch *b,
                 const double *target, double *value, double *se, void *grad);

#endif
