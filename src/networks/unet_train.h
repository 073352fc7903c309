/* unet_train.h -- Algorithms 3 and 4 of the notes for the U-Net (issue 16):
 * the same step as src/networks/train.h -- draw a batch (z ~ p_data, t ~ Unif, eps ~
 * N(0, I), labels dropped to "no label" with probability label_drop),
 * regress the network's output on the objective's target, clip, Adam, EMA
 * (with a warm-up, fmd_ema_warmup) -- with the same random streams (step k, slice s), so a run is the same
 * bit for bit on any number of threads.
 *
 * Threads: each takes whole slices of FMD_UNET_SLICE rows (draw, forward,
 * loss, backward into the slice's own gradient); the batch's gradient is
 * the sum of the slices' in slice order. A slice's gradient is one pass of
 * the network, and a U-Net has too many kinds of products to split its
 * gradient by blocks of parameters as src/networks/train.c does for the MLP. */
#ifndef FMD_UNET_TRAIN_H
#define FMD_UNET_TRAIN_H

#include <stddef.h>
#include "networks/train.h"
#include "networks/unet.h"

/* Rows per slice: fixed (never the thread count), small enough that a
 * slice's feature maps fit (about 23 MB an image at 28 x 28 with the
 * defaults, float64). */
#define FMD_UNET_SLICE 16

typedef struct {
    fmd_train_config cfg;       /* objective CFM, DDPM or DENOISER; weighting UNIFORM, or EDM for
                                   a DENOISER with the DATA read-out; levels 0 */
    fmd_sampler_fn sampler;     /* draws z ~ p_data (and its class) */
    void *sampler_params;       /* not owned */
    fmd_unet *net;              /* not owned */
    size_t nslices;
    fmd_unet_work **ws;         /* (threads) one slice's workspace each */
    void *slice_grad;           /* (nslices, nparams) of the network's type */
    void *grad;                 /* (nparams) their sum */
    void *ema;                  /* (nparams) of the network's type, or NULL */
    fmd_loss_batch batch;       /* (batch rows) */
    double *target, *pred;      /* (batch, d); pred becomes d loss / d prediction */
    double *row_loss;           /* (batch) */
    int *slice_status;          /* (nslices) */
    gsl_rng **rng;              /* (threads) reseeded for every slice */
    fmd_team *team;
    fmd_adam *opt;
    unsigned long step;
} fmd_unet_trainer;

int fmd_unet_trainer_alloc(const fmd_train_config *cfg, fmd_sampler_fn sampler, void *params, fmd_unet *net,
                           fmd_unet_trainer **out);
void fmd_unet_trainer_free(fmd_unet_trainer *tr);

/* The EMA's decay at step k (0, 1, ...): min(decay, (1 + k) / (10 + k)).
 * A plain EMA of decay 0.999 still holds 0.999^k of the random initial
 * weights after k steps -- 42% after 861 -- so a short run would sample a
 * blend of trained and random networks; with the warm-up the first steps
 * are averaged nearly equally, and the full decay applies from k = 8991 on. */
double fmd_ema_warmup(double decay, unsigned long step);

/* One step; *loss is the batch's mean squared error per row. */
int fmd_unet_train_step(fmd_unet_trainer *tr, double *loss);

#endif
