/* unet_recipe.h -- chapter 5's U-Net and how it is trained, written once.
 * The chapter trains it (unet_part.c), bench/unet_sweep.c chose it and
 * trains its rivals with the same settings, bench/unet_narrow_bench.c times
 * it: all three read it here, so they cannot drift apart.
 *
 * The network (src/networks/unet.h): the image enters as 2 x 2 patches, the
 * 4 channels of a 14 x 14 map; levels 14 x 14 and 7 x 7 at 16 and 32
 * channels, self-attention at 7 x 7, a time embedding of 64, float32.
 * Its training (src/networks/unet_train.h): steps of 32 images, Adam at
 * 1e-3, gradients clipped to norm 1, an EMA of 0.999 with its warm-up,
 * labels dropped with probability 0.1 (classifier-free guidance), and
 *   - CFM: the CondOT field, t drawn logit-normal: ln sigma ~ N(0.5, 1),
 *     sigma = beta_t / alpha_t = (1 - t) / t, i.e. logit t ~ N(-0.5, 1)
 *     (Esser et al. 2024 draw logit t ~ N(0, 1) for the same path);
 *   - EDM: the denoiser with Karras et al.'s read-out and loss weight,
 *     ln sigma ~ N(-1.2, 1.2^2).
 * The choices are bench/unet_sweep.c's measurements
 * (bench/results/unet_sweep.tsv). */
#ifndef CH05_UNET_RECIPE_H
#define CH05_UNET_RECIPE_H

#include "fmd.h"

enum { CH05_UNET_BATCH = 32, CH05_UNET_SEED = 93 };
#define CH05_CFM_P_MEAN 0.5   /* CFM's time law: ln sigma ~ N(CH05_CFM_P_MEAN, CH05_CFM_P_STD^2) */
#define CH05_CFM_P_STD 1.0
#define CH05_EDM_P_MEAN (-1.2)   /* EDM's: Karras et al. 2022, table 1 */
#define CH05_EDM_P_STD 1.2

/* The chapter's network (float32, 10 classes, plain read-out). */
static inline void ch05_unet_network(fmd_unet_config *cfg)
{
    fmd_unet_default_config(28, 10, cfg);
    cfg->patch = 2, cfg->channels = 16, cfg->levels = 2, cfg->mult[0] = 1, cfg->mult[1] = 2;
    cfg->emb = 4 * cfg->channels;
    cfg->dtype = FMD_F32;   /* every layer's float32 twin (src/base/typed_begin.h): sgemm, half the bytes */
}

/* Its training on schedule sch: CFM (edm = 0) or EDM (edm = 1). For EDM
 * the network needs the DATA read-out too (ch05_unet_edm_readout). */
static inline void ch05_unet_training(int edm, const fmd_schedule *sch, fmd_train_config *tc)
{
    *tc = (fmd_train_config){.objective = FMD_LOSS_CFM, .schedule = *sch, .batch = CH05_UNET_BATCH, .lr = 1e-3,
                             .clip = 1.0, .ema_decay = 0.999, .t_max = 1.0, .label_drop = 0.1,
                             .seed = CH05_UNET_SEED, .time_law = FMD_TIME_LOGNORMAL, .p_mean = CH05_CFM_P_MEAN,
                             .p_std = CH05_CFM_P_STD};
    if (edm)   /* Karras et al. 2022: preconditioned denoiser, weight 1 / c_out^2, their levels */
        tc->objective = FMD_LOSS_DENOISER, tc->weighting = FMD_WEIGHT_EDM, tc->p_mean = CH05_EDM_P_MEAN,
        tc->p_std = CH05_EDM_P_STD;
}

/* EDM's read-out on cfg: DATA, with s the RMS of 10,000 training images
 * (seed CH05_UNET_SEED), on schedule sch. FMD_OK or the sampler's status. */
static inline int ch05_unet_edm_readout(const fmd_schedule *sch, const fmd_image_set *train, fmd_unet_config *cfg)
{
    cfg->output = FMD_OUT_DATA, cfg->schedule = *sch;
    return fmd_data_rms(fmd_image_set_sampler, (void *)train, 784, 10000, CH05_UNET_SEED, &cfg->sigma_data);
}

#endif
