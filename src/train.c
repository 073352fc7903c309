/* train.c -- the training loop of chapter 4. */
#include "train.h"
#include "rng.h"
#include "status.h"

#include <stdlib.h>
#include <string.h>

int fmd_trainer_alloc(const fmd_train_config *cfg, const fmd_gmm *data, fmd_mlp *net,
                      fmd_trainer **out)
{
    if (!data || !net || data->d != net->cfg.d)
        return FMD_EINVAL;
    int status = fmd_trainer_alloc_sampler(cfg, fmd_gmm_sampler, (void *)data, net, out);
    if (status == FMD_OK)
        (*out)->data = data;
    return status;
}

int fmd_trainer_alloc_sampler(const fmd_train_config *cfg, fmd_sampler_fn sampler, void *params,
                              fmd_mlp *net, fmd_trainer **out)
{
    if (!cfg || !sampler || !net || !out || cfg->batch < 2 ||
        (cfg->objective != FMD_LOSS_CFM && cfg->objective != FMD_LOSS_CSM && cfg->objective != FMD_LOSS_DDPM &&
         cfg->objective != FMD_LOSS_DENOISER))
        return FMD_EINVAL;
    *out = NULL;
    fmd_trainer *tr = calloc(1, sizeof *tr);
    if (!tr)
        return FMD_ENOMEM;
    tr->cfg = *cfg;
    tr->sampler = sampler;
    tr->sampler_params = params;
    tr->net = net;
    int status = fmd_mlp_workspace_alloc(net, cfg->batch, &tr->ws);
    if (status == FMD_OK)
        status = fmd_adam_alloc(net->nparams, cfg->lr, &tr->opt);
    tr->grad = malloc(net->nparams * sizeof(double));
    tr->target = malloc(cfg->batch * net->cfg.d * sizeof(double));
    if (cfg->ema_decay > 0.0) {
        tr->ema = malloc(net->nparams * sizeof(double));
        if (tr->ema)
            memcpy(tr->ema, net->params, net->nparams * sizeof(double));
    }
    if (status == FMD_OK && (!tr->grad || !tr->target || (cfg->ema_decay > 0.0 && !tr->ema)))
        status = FMD_ENOMEM;
    if (status != FMD_OK) {
        fmd_trainer_free(tr);
        return status;
    }
    *out = tr;
    return FMD_OK;
}

void fmd_trainer_free(fmd_trainer *tr)
{
    if (!tr)
        return;
    fmd_mlp_workspace_free(tr->ws);
    fmd_adam_free(tr->opt);
    free(tr->ema);
    free(tr->grad);
    free(tr->target);
    free(tr);
}

int fmd_train_step(fmd_trainer *tr, double *loss)
{
    if (!tr || !loss)
        return FMD_EINVAL;
    gsl_rng *r;
    int status = fmd_rng_alloc(tr->cfg.seed, tr->step, &r);   /* step k: stream (seed, k) */
    if (status != FMD_OK)
        return status;
    fmd_loss_batch b;
    status = fmd_loss_batch_draw_from(tr->sampler, tr->sampler_params, tr->net->cfg.d, &tr->cfg.schedule,
                                      tr->cfg.batch, tr->cfg.t_min, tr->cfg.t_max, r,
                                      &b);   /* z ~ p_data, t ~ Unif, eps ~ N(0, I) */
    const size_t C = tr->net->cfg.n_classes;
    for (size_t i = 0; status == FMD_OK && C > 0 && i < b.M; i++) {
        if (b.y[i] < 0 || (size_t)b.y[i] >= C)
            status = FMD_EINVAL;   /* a class the network has no slot for */
        else if (gsl_rng_uniform(r) < tr->cfg.label_drop)
            b.y[i] = (int)C;       /* dropped: the "no label" slot (CFG training) */
    }
    gsl_rng_free(r);
    if (status != FMD_OK) {
        fmd_loss_batch_free(&b);
        return status;
    }
    status = fmd_loss_target(tr->cfg.objective, tr->data, &tr->cfg.schedule, &b, tr->target);
    if (status == FMD_OK)
        status = fmd_loss_mlp(tr->net, tr->ws, &b, tr->target, loss, NULL, tr->grad);
    if (status == FMD_OK) {
        fmd_clip_grad_norm(tr->net->nparams, tr->grad, tr->cfg.clip);
        fmd_adam_step(tr->opt, tr->net->params, tr->grad);
        if (tr->ema)
            fmd_ema_update(tr->net->nparams, tr->ema, tr->net->params, tr->cfg.ema_decay);
        tr->step++;
    }
    fmd_loss_batch_free(&b);
    return status;
}
