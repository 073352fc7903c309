/* train.h -- Algorithms 3 and 4 of the notes: train a network by flow
 * matching (CFM) or score matching (DSM, or DDPM's noise prediction).
 *
 * Promise: one step = draw a batch (z ~ p_data, t ~ Unif, eps ~ N(0, I)),
 * regress the network on the objective's target, clip, Adam, EMA. Step k
 * draws slice s of its batch from random stream s of fmd_seed_child(seed, k),
 * so a run resumed from a checkpoint after step k continues bit for bit as
 * if it had not stopped, and the bits do not depend on the thread count.
 *
 * Threads (src/base/team.h), two meetings a step:
 *   1. each thread takes whole slices of FMD_TRAIN_SLICE rows: it draws
 *      them, runs them forward, computes their loss and backpropagates to
 *      d loss / d Z of every layer -- products inside a slice run on that
 *      thread alone;
 *   2. each thread takes whole blocks of parameters (a band of rows of one
 *      W_l, the first with b_l): its gradient is one product over the
 *      whole batch, dW = H^T G, then clipping's sum of squares, or at once
 *      Adam and the EMA for that block.
 * No gradient is summed across threads: each number of the gradient is one
 * product's output, so it is the same whoever computes it. (The usual
 * alternative -- a gradient per slice, then their sum -- would write and
 * read slices x nparams more numbers a step, 2.7 million for chapter 5's
 * network.) With clipping on, a third meeting applies Adam once the
 * gradient's norm is known. */
#ifndef FMD_TRAIN_H
#define FMD_TRAIN_H

#include <stddef.h>
#include <stdint.h>
#include "networks/adam.h"
#include "paths/gmm.h"
#include "networks/loss.h"
#include "networks/mlp.h"
#include "paths/schedule.h"
#include "base/team.h"

/* Rows per slice: a fixed number, never the thread count, so the bits of a
 * step are the same on any number of threads. 64 rows keep BLIS's products
 * efficient (sgemm 85-100 GFlop/s at 64 x 512 x 803 here) while chapter 5's
 * batch of 128 still splits in two. */
#define FMD_TRAIN_SLICE 64
/* Each W_l is cut into at most FMD_TRAIN_LAYER_BLOCKS blocks of at least
 * FMD_TRAIN_BLOCK_ROWS rows: big enough that BLIS runs a block's product
 * near its peak (sgemm 93 GFlop/s at 128 x 512 x 128, 69 at 32 x 512 x 128),
 * numerous enough that two threads share a layer evenly. */
#define FMD_TRAIN_LAYER_BLOCKS 4
#define FMD_TRAIN_BLOCK_ROWS 32

/* The weight lambda(t) of each row's squared error: UNIFORM (1, the notes'
 * Algorithms 3 and 4) or BETA2 (beta_t^2, Song et al. 2021's choice for
 * DSM: it turns the target -eps/beta_t, of variance d/beta_t^2, into one
 * of variance d, the same as DDPM's noise target). */
typedef enum { FMD_WEIGHT_UNIFORM = 0, FMD_WEIGHT_BETA2, FMD_WEIGHT_ELBO, FMD_WEIGHT_EDM } fmd_weighting;
/* ELBO (discrete DDPM, `003`): level k's noise error weighted by the ELBO's
 * coefficient beta_k^2 / (2 sigma_k^2 alpha_k (1 - abar_k)) with sigma_k^2 =
 * beta~_k = beta_k (1 - abar_{k-1}) / (1 - abar_k), i.e. beta_k / (2 alpha_k
 * (1 - abar_{k-1})) (alpha_k = 1 - beta_k); beta~_1 = 0, so level 1 takes
 * sigma_1^2 = beta_1 instead: 1 / (2 alpha_1). Divided by their mean over
 * the levels, so the loss stays on the scale of L_simple (UNIFORM). */
/* EDM (the denoiser, Karras et al. 2022, eq. 2 and table 1): lambda =
 * (sigma^2 + s^2) / (sigma s)^2, sigma = beta_t / alpha_t, s = the read-out's
 * sigma_data -- 1 / c_out^2 of the DATA read-out, so that the network's own
 * output F regresses on a target of unit variance at every level
 * (fmd_edm_weight). Needs the DENOISER objective and the DATA read-out. */

/* How t is drawn: UNIFORM on [t_min, t_max] (Algorithms 3 and 4) or
 * LOGNORMAL, EDM's noise levels (fmd_loss_batch_lognormal_times). */
typedef enum { FMD_TIME_UNIFORM = 0, FMD_TIME_LOGNORMAL } fmd_time_law;

typedef struct {
    fmd_loss_kind objective;   /* FMD_LOSS_CFM, FMD_LOSS_CSM, FMD_LOSS_DDPM or FMD_LOSS_DENOISER */
    fmd_schedule schedule;
    fmd_weighting weighting;   /* lambda(t) of the loss; UNIFORM unless DSM asks for BETA2 */
    size_t levels;             /* N > 0: discrete DDPM (`003`) on the levels of schedule
                                  ddpm:N, t = 1 - k/N with k ~ U{1..N}; 0: t continuous */
    size_t batch;              /* 1000 in the course lab */
    double lr;                 /* 1e-3 */
    double clip;               /* max gradient norm; 0 = none */
    double ema_decay;          /* 0 = no EMA */
    double t_min, t_max;       /* t ~ Unif[t_min, t_max]; t_max < 1 for CSM, or CFM with lab/vp */
    double label_drop;         /* classifier-free guidance: each label is replaced by
                                  "no label" with this probability (0.1 in the lab);
                                  used only by a network with classes */
    uint64_t seed;
    int threads;               /* threads of a step (0 or 1: the caller's only) */
    fmd_time_law time_law;     /* UNIFORM (0) or LOGNORMAL */
    double p_mean, p_std;      /* LOGNORMAL: ln sigma ~ N(p_mean, p_std^2) (EDM: -1.2, 1.2) */
} fmd_train_config;

/* A block of parameters: rows [i0, i1) of W_l, and b_l if with_bias. */
typedef struct {
    size_t layer, i0, i1;
    int with_bias;
} fmd_param_block;

typedef struct {
    fmd_train_config cfg;
    const fmd_gmm *data;       /* p_data if a mixture (not owned), else NULL */
    fmd_sampler_fn sampler;    /* draws z ~ p_data */
    void *sampler_params;      /* its parameters (not owned) */
    fmd_mlp *net;              /* the model (not owned) */
    fmd_mlp_workspace *ws;     /* the whole batch; each slice uses its own rows */
    fmd_adam *opt;
    void *ema;                 /* (nparams) EMA weights of the network's type, or NULL */
    void *grad;                /* (nparams) of the network's type */
    fmd_loss_batch batch;      /* (batch rows) drawn slice by slice */
    double *target;            /* (batch, d) */
    double *pred;              /* (batch, d) the prediction, then d loss / d prediction */
    double *row_loss;          /* (batch) |prediction - target|^2 of each row */
    int *slice_status;         /* (nslices) */
    double *block_sumsq;       /* (nblocks) squared gradient norm of each block */
    gsl_rng **rng;             /* (threads) reseeded for every slice */
    fmd_param_block *blocks;   /* (nblocks) */
    size_t nslices, nblocks;
    fmd_team *team;
    unsigned long step;        /* steps completed */
    double *level_weight;      /* (levels + 1) FMD_WEIGHT_ELBO: level k's weight over their mean; else NULL */
} fmd_trainer;

int fmd_trainer_alloc(const fmd_train_config *cfg, const fmd_gmm *data, fmd_mlp *net,
                      fmd_trainer **out);

/* The same for any data source of dimension net->cfg.d (a toy set, a file). */
int fmd_trainer_alloc_sampler(const fmd_train_config *cfg, fmd_sampler_fn sampler, void *params,
                              fmd_mlp *net, fmd_trainer **out);
void fmd_trainer_free(fmd_trainer *tr);

/* The preconditioned read-out that fits an objective (mlp.h): NOISE for
 * DDPM, SCORE for DSM, DATA for the denoiser; PLAIN for CFM (its field
 * target alpha_dot z + beta_dot eps is of unit size already). */
fmd_mlp_output fmd_readout_for(fmd_loss_kind objective);

/* sigma_data of a preconditioned read-out: the data's RMS per coordinate,
 * sqrt(E|z|^2 / d). Exact for a mixture ((|m|^2 + tr C) / d from its
 * moments); from n draws of stream `seed` of any other source. */
int fmd_gmm_rms(const fmd_gmm *g, double *rms);
int fmd_data_rms(fmd_sampler_fn sampler, void *params, size_t d, size_t n, uint64_t seed, double *rms);

/* The ELBO's weight of level k = 1..N of schedule ddpm:N (unnormalised;
 * see FMD_WEIGHT_ELBO). */
double fmd_ddpm_elbo_weight(const fmd_schedule *sch, size_t N, size_t k);

/* EDM's weight at time t for a DATA read-out of sigma_data s (above):
 * 1 / c_out^2 = v / (beta s)^2, v = alpha^2 s^2 + beta^2; 0 where beta = 0
 * (there the read-out is x = z itself and its error 0 whatever F is). */
double fmd_edm_weight(double sigma_data, const fmd_schedule *sch, double t);

/* Whether cfg's EDM pieces fit a network with this read-out: EDM's weight
 * needs the DENOISER objective and the DATA read-out, the log-normal law of t
 * a spread p_std > 0. The MLP's and the U-Net's trainers both ask it. */
int fmd_train_edm_fits(const fmd_train_config *cfg, fmd_mlp_output readout);

/* The rows' times by the configuration's law: after fmd_loss_batch_fill on
 * [t_min, t_max] (UNIFORM), or on [0, 1] then EDM's map (LOGNORMAL). */
int fmd_train_fill(const fmd_train_config *cfg, fmd_sampler_fn sampler, void *params, gsl_rng *r,
                   fmd_loss_batch *b);

/* One step of Algorithm 3 (CFM) or 4 (DSM / DDPM); *loss is the batch loss. */
int fmd_train_step(fmd_trainer *tr, double *loss);

#endif
