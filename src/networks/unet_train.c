/* unet_train.c -- training steps for the U-Net (unet_train.h). */
#include "networks/unet_train.h"
#include "base/rng.h"
#include "base/stats.h"
#include "base/status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double fmd_ema_warmup(double decay, unsigned long step)
{
    const double ramp = (1.0 + (double)step) / (10.0 + (double)step);
    return ramp < decay ? ramp : decay;
}

int fmd_unet_trainer_alloc(const fmd_train_config *cfg, fmd_sampler_fn sampler, void *params, fmd_unet *net,
                           fmd_unet_trainer **out)
{
    if (!cfg || !sampler || !net || !out || cfg->batch < 2 || cfg->levels > 0 ||
        (cfg->objective != FMD_LOSS_CFM && cfg->objective != FMD_LOSS_DDPM && cfg->objective != FMD_LOSS_DENOISER) ||
        (cfg->weighting != FMD_WEIGHT_UNIFORM && cfg->weighting != FMD_WEIGHT_EDM) ||
        !fmd_train_edm_fits(cfg, net->cfg.output))
        return FMD_EINVAL;
    *out = NULL;
    fmd_unet_trainer *tr = calloc(1, sizeof *tr);
    if (!tr)
        return FMD_ENOMEM;
    tr->cfg = *cfg;
    tr->sampler = sampler, tr->sampler_params = params, tr->net = net;
    const size_t B = cfg->batch, d = net->cfg.side * net->cfg.side, P = net->nparams;
    const size_t size = fmd_dtype_size(net->cfg.dtype);   /* gradients, moments and EMA: the network's type */
    const int threads = cfg->threads < 1 ? 1 : cfg->threads;
    tr->nslices = (B + FMD_UNET_SLICE - 1) / FMD_UNET_SLICE;
    int status = fmd_adam_alloc_typed(P, cfg->lr, net->cfg.dtype, &tr->opt);
    if (status == FMD_OK)
        status = fmd_loss_batch_alloc(B, d, &tr->batch);
    if (status == FMD_OK)
        status = fmd_team_ensure(&tr->team, threads);
    tr->ws = calloc((size_t)threads, sizeof *tr->ws);
    tr->rng = calloc((size_t)threads, sizeof *tr->rng);
    for (int i = 0; status == FMD_OK && tr->ws && tr->rng && i < threads; i++) {
        status = fmd_unet_work_alloc(net, FMD_UNET_SLICE, &tr->ws[i]);
        if (status == FMD_OK)
            status = fmd_rng_alloc(cfg->seed, 0, &tr->rng[i]);
    }
    tr->slice_grad = malloc(tr->nslices * P * size);
    tr->grad = malloc(P * size);
    tr->target = malloc(B * d * sizeof(double));
    tr->pred = malloc(B * d * sizeof(double));
    tr->row_loss = malloc(B * sizeof(double));
    tr->slice_status = malloc(tr->nslices * sizeof(int));
    if (cfg->ema_decay > 0.0 && (tr->ema = malloc(P * size)))
        memcpy(tr->ema, fmd_unet_params(net), P * size);
    if (status == FMD_OK && (!tr->ws || !tr->rng || !tr->slice_grad || !tr->grad || !tr->target || !tr->pred ||
                             !tr->row_loss || !tr->slice_status || (cfg->ema_decay > 0.0 && !tr->ema)))
        status = FMD_ENOMEM;
    if (status != FMD_OK) {
        fmd_unet_trainer_free(tr);
        return status;
    }
    *out = tr;
    return FMD_OK;
}

void fmd_unet_trainer_free(fmd_unet_trainer *tr)
{
    if (!tr)
        return;
    const int threads = tr->cfg.threads < 1 ? 1 : tr->cfg.threads;
    for (int i = 0; i < threads; i++) {
        if (tr->ws)
            fmd_unet_work_free(tr->ws[i]);
        if (tr->rng && tr->rng[i])
            gsl_rng_free(tr->rng[i]);
    }
    free(tr->ws), free(tr->rng);
    fmd_team_free(tr->team);
    fmd_adam_free(tr->opt);
    fmd_loss_batch_free(&tr->batch);
    free(tr->slice_grad), free(tr->grad), free(tr->ema), free(tr->target), free(tr->pred), free(tr->row_loss);
    free(tr->slice_status);
    free(tr);
}

/* Slice s: draw its rows (the streams of src/networks/train.c), forward, the loss,
 * backward into its own gradient. */
static int slice_task(void *ctx, size_t s, int thread)
{
    fmd_unet_trainer *tr = ctx;
    const size_t B = tr->cfg.batch, d = tr->net->cfg.side * tr->net->cfg.side, C = tr->net->cfg.n_classes;
    const size_t P = tr->net->nparams, row0 = s * FMD_UNET_SLICE, size = fmd_dtype_size(tr->net->cfg.dtype);
    const size_t M = row0 + FMD_UNET_SLICE <= B ? FMD_UNET_SLICE : B - row0;
    gsl_rng *r = tr->rng[thread];
    gsl_rng_set(r, fmd_stream_seed(fmd_seed_child(tr->cfg.seed, tr->step), s));   /* step k, slice s */
    fmd_loss_batch b = fmd_loss_batch_rows(&tr->batch, row0, M);
    double *target = tr->target + row0 * d, *pred = tr->pred + row0 * d;
    void *grad = (char *)tr->slice_grad + s * P * size;
    int status = fmd_train_fill(&tr->cfg, tr->sampler, tr->sampler_params, r, &b);   /* z, its class, eps, t */
    if (status == FMD_OK)
        status = fmd_loss_batch_drop_labels(&b, C, tr->cfg.label_drop, r);   /* CFG training */
    if (status == FMD_OK)
        status = fmd_loss_target(tr->cfg.objective, NULL, &tr->cfg.schedule, &b, target);
    if (status == FMD_OK)
        status = fmd_unet_forward(tr->net, tr->ws[thread], M, b.x, b.t, C ? b.y : NULL, pred);
    if (status == FMD_OK) {
        for (size_t i = 0; i < M; i++) {   /* loss = mean_i lambda(t_i) |f - target|^2 over the whole batch */
            const double lambda = tr->cfg.weighting == FMD_WEIGHT_EDM
                                      ? fmd_edm_weight(tr->net->cfg.sigma_data, &tr->cfg.schedule, b.t[i]) : 1.0;
            double sum = 0.0;
            for (size_t k = 0; k < d; k++) {
                const double e = pred[i * d + k] - target[i * d + k];
                sum += lambda * e * e;
                pred[i * d + k] = 2.0 * lambda * e / (double)B;
            }
            tr->row_loss[row0 + i] = sum;
        }
        memset(grad, 0, P * size);
        status = fmd_unet_backward(tr->net, tr->ws[thread], M, pred, grad, NULL);
    }
    tr->slice_status[s] = status;
    return FMD_OK;
}

/* sum (P) = the nslices gradients (nslices, P) of type t added in slice
 * order: the same sum on any number of threads. */
static void sum_slices(fmd_dtype t, size_t P, size_t nslices, const void *slices, void *sum)
{
    if (t == FMD_F32) {
        const float *g = slices;
        float *out = sum;
        memcpy(out, g, P * sizeof(float));
        for (size_t s = 1; s < nslices; s++)
            for (size_t i = 0; i < P; i++)
                out[i] += g[s * P + i];
    } else {
        const double *g = slices;
        double *out = sum;
        memcpy(out, g, P * sizeof(double));
        for (size_t s = 1; s < nslices; s++)
            for (size_t i = 0; i < P; i++)
                out[i] += g[s * P + i];
    }
}

int fmd_unet_train_step(fmd_unet_trainer *tr, double *loss)
{
    if (!tr || !loss)
        return FMD_EINVAL;
    int status = fmd_team_run(tr->team, tr->nslices, slice_task, tr);
    for (size_t s = 0; status == FMD_OK && s < tr->nslices; s++)
        status = tr->slice_status[s];
    if (status != FMD_OK)
        return status;
    const size_t P = tr->net->nparams;
    const fmd_dtype type = tr->net->cfg.dtype;
    double se;
    fmd_mean_se(tr->cfg.batch, tr->row_loss, 1, loss, &se);
    sum_slices(type, P, tr->nslices, tr->slice_grad, tr->grad);
    if (tr->cfg.clip > 0.0) {
        const double norm = sqrt(fmd_sum_squares(type, P, tr->grad));
        if (norm > tr->cfg.clip)
            fmd_scale(type, P, tr->grad, tr->cfg.clip / norm);
    }
    void *theta = fmd_unet_params(tr->net);
    fmd_adam_step(tr->opt, theta, tr->grad);
    if (tr->ema)   /* warm-up: the first steps' average must not keep the random initial weights */
        fmd_ema_update_typed(type, P, tr->ema, theta, fmd_ema_warmup(tr->cfg.ema_decay, tr->step));
    tr->step++;
    return FMD_OK;
}
