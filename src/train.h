/* train.h -- Algorithms 3 and 4 of the notes: train a network by flow
 * matching (CFM) or score matching (DSM, or DDPM's noise prediction).
 *
 * Promise: one step = draw a batch (z ~ p_data, t ~ Unif, eps ~ N(0, I)),
 * regress the network on the objective's target, clip, Adam, EMA. Step k
 * draws everything from random stream (seed, k), so a run resumed from a
 * checkpoint after step k continues bit for bit as if it had not stopped. */
#ifndef FMD_TRAIN_H
#define FMD_TRAIN_H

#include <stddef.h>
#include <stdint.h>
#include "adam.h"
#include "gmm.h"
#include "loss.h"
#include "mlp.h"
#include "schedule.h"

typedef struct {
    fmd_loss_kind objective;   /* FMD_LOSS_CFM, FMD_LOSS_CSM, FMD_LOSS_DDPM or FMD_LOSS_DENOISER */
    fmd_schedule schedule;
    size_t batch;              /* 1000 in the course lab */
    double lr;                 /* 1e-3 */
    double clip;               /* max gradient norm; 0 = none */
    double ema_decay;          /* 0 = no EMA */
    double t_min, t_max;       /* t ~ Unif[t_min, t_max]; t_max < 1 for CSM, or CFM with lab/vp */
    double label_drop;         /* classifier-free guidance: each label is replaced by
                                  "no label" with this probability (0.1 in the lab);
                                  used only by a network with classes */
    uint64_t seed;
} fmd_train_config;

typedef struct {
    fmd_train_config cfg;
    const fmd_gmm *data;       /* p_data if a mixture (not owned), else NULL */
    fmd_sampler_fn sampler;    /* draws z ~ p_data */
    void *sampler_params;      /* its parameters (not owned) */
    fmd_mlp *net;              /* the model (not owned) */
    fmd_mlp_workspace *ws;
    fmd_adam *opt;
    double *ema;               /* (nparams) EMA weights, or NULL */
    double *grad;              /* (nparams) */
    double *target;            /* (batch, d) */
    unsigned long step;        /* steps completed */
} fmd_trainer;

int fmd_trainer_alloc(const fmd_train_config *cfg, const fmd_gmm *data, fmd_mlp *net,
                      fmd_trainer **out);

/* The same for any data source of dimension net->cfg.d (a toy set, a file). */
int fmd_trainer_alloc_sampler(const fmd_train_config *cfg, fmd_sampler_fn sampler, void *params,
                              fmd_mlp *net, fmd_trainer **out);
void fmd_trainer_free(fmd_trainer *tr);

/* One step of Algorithm 3 (CFM) or 4 (DSM / DDPM); *loss is the batch loss. */
int fmd_train_step(fmd_trainer *tr, double *loss);

#endif
