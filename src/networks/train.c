/* train.c -- the training loop of chapter 4, a step in two parallel phases
 * (see train.h). */
#include "networks/train.h"
#include "base/rng.h"
#include "base/stats.h"
#include "base/status.h"

#include <math.h>
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

/* Cut every W_l into bands of rows (b_l rides with the first): at most
 * FMD_TRAIN_LAYER_BLOCKS of at least FMD_TRAIN_BLOCK_ROWS rows each. Returns
 * the count, filling blocks if non-NULL. */
static size_t param_blocks(const fmd_mlp *net, fmd_param_block *blocks)
{
    size_t nb = 0;
    for (size_t l = 0; l < net->nlayers; l++) {
        const size_t rows = net->dims[l];
        size_t per = (rows + FMD_TRAIN_LAYER_BLOCKS - 1) / FMD_TRAIN_LAYER_BLOCKS;
        per = per < FMD_TRAIN_BLOCK_ROWS ? FMD_TRAIN_BLOCK_ROWS : per;
        for (size_t i0 = 0; i0 < rows; i0 += per) {
            size_t i1 = i0 + per < rows ? i0 + per : rows;
            if (blocks)
                blocks[nb] = (fmd_param_block){l, i0, i1, i0 == 0};
            nb++;
        }
    }
    return nb;
}

int fmd_train_edm_fits(const fmd_train_config *cfg, fmd_mlp_output readout)
{
    return !(cfg->weighting == FMD_WEIGHT_EDM && (cfg->objective != FMD_LOSS_DENOISER || readout != FMD_OUT_DATA)) &&
           !(cfg->time_law == FMD_TIME_LOGNORMAL && !(cfg->p_std > 0.0));
}

int fmd_trainer_alloc_sampler(const fmd_train_config *cfg, fmd_sampler_fn sampler, void *params,
                              fmd_mlp *net, fmd_trainer **out)
{
    if (!cfg || !sampler || !net || !out || cfg->batch < 2 ||
        (cfg->objective != FMD_LOSS_CFM && cfg->objective != FMD_LOSS_CSM && cfg->objective != FMD_LOSS_DDPM &&
         cfg->objective != FMD_LOSS_DENOISER && cfg->objective != FMD_LOSS_CFM_DSM) ||
        net->dims[net->nlayers] != fmd_loss_width(cfg->objective, net->cfg.d) ||
        (cfg->weighting == FMD_WEIGHT_BETA2 && cfg->objective != FMD_LOSS_CSM && cfg->objective != FMD_LOSS_CFM_DSM) ||
        !fmd_train_edm_fits(cfg, net->cfg.output) || (cfg->time_law == FMD_TIME_LOGNORMAL && cfg->levels > 0) ||
        ((cfg->weighting == FMD_WEIGHT_ELBO || cfg->levels > 0) &&
         (cfg->objective != FMD_LOSS_DDPM || cfg->levels == 0 || strncmp(cfg->schedule.name, "ddpm:", 5) != 0 ||
          (double)cfg->levels != cfg->schedule.param)))
        return FMD_EINVAL;   /* discrete training: noise prediction on its own chain's levels */
    *out = NULL;
    fmd_trainer *tr = calloc(1, sizeof *tr);
    if (!tr)
        return FMD_ENOMEM;
    tr->cfg = *cfg;
    if (cfg->weighting == FMD_WEIGHT_ELBO) {   /* each level's weight, divided by their mean, once */
        double mean = 0.0;
        tr->level_weight = malloc((cfg->levels + 1) * sizeof(double));
        if (!tr->level_weight) {
            free(tr);
            return FMD_ENOMEM;
        }
        for (size_t k = 1; k <= cfg->levels; k++)
            mean += fmd_ddpm_elbo_weight(&cfg->schedule, cfg->levels, k) / (double)cfg->levels;
        tr->level_weight[0] = 0.0;
        for (size_t k = 1; k <= cfg->levels; k++)
            tr->level_weight[k] = fmd_ddpm_elbo_weight(&cfg->schedule, cfg->levels, k) / mean;
    }
    tr->sampler = sampler;
    tr->sampler_params = params;
    tr->net = net;
    const fmd_dtype ty = net->cfg.dtype;
    const size_t B = cfg->batch, d = net->cfg.d, P = net->nparams, es = fmd_dtype_size(ty);
    const int threads = cfg->threads < 1 ? 1 : cfg->threads;
    tr->nslices = (B + FMD_TRAIN_SLICE - 1) / FMD_TRAIN_SLICE;
    tr->nblocks = param_blocks(net, NULL);
    int status = fmd_mlp_workspace_alloc(net, B, &tr->ws);
    if (status == FMD_OK)
        status = fmd_adam_alloc_typed(P, cfg->lr, ty, &tr->opt);
    if (status == FMD_OK)
        status = fmd_loss_batch_alloc(B, d, &tr->batch);
    if (status == FMD_OK)
        status = fmd_team_ensure(&tr->team, threads);
    tr->grad = malloc(P * es);
    const size_t w = fmd_loss_width(cfg->objective, d);   /* outputs per row */
    tr->target = malloc(B * w * sizeof(double));
    tr->pred = malloc(B * w * sizeof(double));
    tr->row_loss = malloc(B * sizeof(double));
    tr->slice_status = malloc(tr->nslices * sizeof(int));
    tr->block_sumsq = malloc(tr->nblocks * sizeof(double));
    tr->blocks = malloc(tr->nblocks * sizeof *tr->blocks);
    tr->rng = calloc((size_t)threads, sizeof *tr->rng);
    for (int i = 0; status == FMD_OK && tr->rng && i < threads; i++)
        status = fmd_rng_alloc(cfg->seed, 0, &tr->rng[i]);
    if (cfg->ema_decay > 0.0) {
        tr->ema = malloc(P * es);
        if (tr->ema)
            memcpy(tr->ema, net->params32 ? (void *)net->params32 : (void *)net->params, P * es);
    }
    if (status == FMD_OK && (!tr->grad || !tr->target || !tr->pred || !tr->row_loss || !tr->slice_status ||
                             !tr->block_sumsq || !tr->blocks || !tr->rng || (cfg->ema_decay > 0.0 && !tr->ema)))
        status = FMD_ENOMEM;
    if (status != FMD_OK) {
        fmd_trainer_free(tr);
        return status;
    }
    param_blocks(net, tr->blocks);
    *out = tr;
    return FMD_OK;
}

void fmd_trainer_free(fmd_trainer *tr)
{
    if (!tr)
        return;
    fmd_team_free(tr->team);
    free(tr->level_weight);
    fmd_mlp_workspace_free(tr->ws);
    fmd_adam_free(tr->opt);
    fmd_loss_batch_free(&tr->batch);
    for (int i = 0; tr->rng && i < (tr->cfg.threads < 1 ? 1 : tr->cfg.threads); i++)
        if (tr->rng[i])
            gsl_rng_free(tr->rng[i]);
    free(tr->rng);
    free(tr->ema);
    free(tr->grad);
    free(tr->target);
    free(tr->pred);
    free(tr->row_loss);
    free(tr->slice_status);
    free(tr->block_sumsq);
    free(tr->blocks);
    free(tr);
}

/* ---- phase 1: one slice of the batch, drawn, forward, loss, backprop -------- */

static int slice_task(void *ctx, size_t s, int thread)
{
    fmd_trainer *tr = ctx;
    const size_t B = tr->cfg.batch, d = tr->net->cfg.d, C = tr->net->cfg.n_classes;
    const size_t row0 = s * FMD_TRAIN_SLICE, M = row0 + FMD_TRAIN_SLICE <= B ? FMD_TRAIN_SLICE : B - row0;
    gsl_rng *r = tr->rng[thread];
    gsl_rng_set(r, fmd_stream_seed(fmd_seed_child(tr->cfg.seed, tr->step), s));   /* step k, slice s */
    fmd_loss_batch b = fmd_loss_batch_rows(&tr->batch, row0, M);
    const size_t w = fmd_loss_width(tr->cfg.objective, d);   /* d, or 2d for two heads */
    double *target = tr->target + row0 * w, *pred = tr->pred + row0 * w;
    int status = fmd_train_fill(&tr->cfg, tr->sampler, tr->sampler_params, r, &b);   /* z ~ p_data, t, eps ~ N(0, I) */
    if (status == FMD_OK)
        status = fmd_loss_batch_drop_labels(&b, C, tr->cfg.label_drop, r);   /* CFG training */
    if (status == FMD_OK)
        status = fmd_loss_target(tr->cfg.objective, tr->data, &tr->cfg.schedule, &b, target);
    if (status == FMD_OK)
        status = fmd_mlp_forward_rows(tr->net, tr->ws, row0, M, b.x, b.t, b.y, pred);
    if (status == FMD_OK) {
        /* loss = mean_i sum_k lambda_k(t_i) (f - target)_k^2 over the whole batch: lambda = 1, but
         * beta_t^2 (Song et al. 2021) on the score's outputs with FMD_WEIGHT_BETA2 -- all d of DSM,
         * the second d of the two-headed network */
        const size_t score0 = tr->cfg.objective == FMD_LOSS_CFM_DSM ? d : 0;
        for (size_t i = 0; i < M; i++) {
            double sum = 0.0, lambda = 1.0;
            if (tr->cfg.weighting == FMD_WEIGHT_BETA2) {
                fmd_sched_point p;
                fmd_schedule_at(&tr->cfg.schedule, b.t[i], &p);
                lambda = p.beta * p.beta;
            } else if (tr->cfg.weighting == FMD_WEIGHT_ELBO) {   /* `003`'s coefficient of level k */
                const size_t k = (size_t)llround((1.0 - b.t[i]) * (double)tr->cfg.levels);
                lambda = tr->level_weight[k];
            } else if (tr->cfg.weighting == FMD_WEIGHT_EDM) {   /* 1 / c_out^2 (Karras et al. 2022) */
                lambda = fmd_edm_weight(tr->net->cfg.sigma_data, &tr->cfg.schedule, b.t[i]);
            }
            for (size_t k = 0; k < w; k++) {
                const double e = pred[i * w + k] - target[i * w + k], l = k >= score0 ? lambda : 1.0;
                sum += l * e * e;
                pred[i * w + k] = 2.0 * l * e / (double)B;   /* d loss / d prediction */
            }
            tr->row_loss[row0 + i] = sum;
        }
        status = fmd_mlp_backprop_rows(tr->net, tr->ws, row0, M, pred, NULL);
    }
    tr->slice_status[s] = status;
    return FMD_OK;
}

/* ---- phase 2 (and 3): one block of parameters ------------------------------- */

/* [begin, end) of block b's weights and, with its bias, [bbegin, bend). */
static void block_ranges(const fmd_trainer *tr, const fmd_param_block *p, size_t *w0, size_t *w1, size_t *b0,
                         size_t *b1)
{
    const fmd_mlp *net = tr->net;
    const size_t o = net->dims[p->layer + 1];
    *w0 = net->w_off[p->layer] + p->i0 * o;
    *w1 = net->w_off[p->layer] + p->i1 * o;
    *b0 = net->b_off[p->layer];
    *b1 = p->with_bias ? *b0 + o : *b0;
}

/* Adam and the EMA on one block's parameters. */
static void update_block(fmd_trainer *tr, const fmd_param_block *p)
{
    size_t w0, w1, b0, b1;
    block_ranges(tr, p, &w0, &w1, &b0, &b1);
    void *theta = tr->net->params32 ? (void *)tr->net->params32 : (void *)tr->net->params;
    const fmd_dtype ty = tr->net->cfg.dtype;
    const size_t es = fmd_dtype_size(ty);
    fmd_adam_update(tr->opt, w0, w1, theta, tr->grad);
    fmd_adam_update(tr->opt, b0, b1, theta, tr->grad);
    if (tr->ema) {
        fmd_ema_update_typed(ty, w1 - w0, (char *)tr->ema + w0 * es, (char *)theta + w0 * es, tr->cfg.ema_decay);
        fmd_ema_update_typed(ty, b1 - b0, (char *)tr->ema + b0 * es, (char *)theta + b0 * es, tr->cfg.ema_decay);
    }
}

static int gradient_task(void *ctx, size_t k, int thread)
{
    (void)thread;
    fmd_trainer *tr = ctx;
    const fmd_param_block *p = &tr->blocks[k];
    int status = fmd_mlp_grad_block(tr->net, tr->ws, tr->cfg.batch, p->layer, p->i0, p->i1, p->with_bias, 0, tr->grad);
    if (status != FMD_OK)
        return status;
    if (tr->cfg.clip > 0.0) {   /* Adam waits for the norm of the whole gradient */
        size_t w0, w1, b0, b1;
        const fmd_dtype ty = tr->net->cfg.dtype;
        const size_t es = fmd_dtype_size(ty);
        block_ranges(tr, p, &w0, &w1, &b0, &b1);
        tr->block_sumsq[k] = fmd_sum_squares(ty, w1 - w0, (char *)tr->grad + w0 * es) +
                             fmd_sum_squares(ty, b1 - b0, (char *)tr->grad + b0 * es);
    } else {
        update_block(tr, p);
    }
    return FMD_OK;
}

/* With clipping: scale the block by the common factor, then update it. */
static int clipped_update_task(void *ctx, size_t k, int thread)
{
    (void)thread;
    fmd_trainer *tr = ctx;
    const fmd_param_block *p = &tr->blocks[k];
    size_t w0, w1, b0, b1;
    const fmd_dtype ty = tr->net->cfg.dtype;
    const size_t es = fmd_dtype_size(ty);
    block_ranges(tr, p, &w0, &w1, &b0, &b1);
    double norm = 0.0;
    for (size_t j = 0; j < tr->nblocks; j++)   /* every task sums the blocks in the same order */
        norm += tr->block_sumsq[j];
    norm = sqrt(norm);
    if (norm > tr->cfg.clip) {
        fmd_scale(ty, w1 - w0, (char *)tr->grad + w0 * es, tr->cfg.clip / norm);
        fmd_scale(ty, b1 - b0, (char *)tr->grad + b0 * es, tr->cfg.clip / norm);
    }
    update_block(tr, p);
    return FMD_OK;
}

int fmd_train_step(fmd_trainer *tr, double *loss)
{
    if (!tr || !loss)
        return FMD_EINVAL;
    int status = fmd_team_run(tr->team, tr->nslices, slice_task, tr);
    for (size_t s = 0; status == FMD_OK && s < tr->nslices; s++)
        status = tr->slice_status[s];
    if (status != FMD_OK)
        return status;
    double se;
    fmd_mean_se(tr->cfg.batch, tr->row_loss, 1, loss, &se);
    fmd_adam_begin_step(tr->opt);
    status = fmd_team_run(tr->team, tr->nblocks, gradient_task, tr);
    if (status == FMD_OK && tr->cfg.clip > 0.0)
        status = fmd_team_run(tr->team, tr->nblocks, clipped_update_task, tr);
    if (status == FMD_OK)
        tr->step++;
    return status;
}

double fmd_edm_weight(double sigma_data, const fmd_schedule *sch, double t)
{
    fmd_sched_point p;
    if (fmd_schedule_at(sch, t, &p) != FMD_OK || p.beta == 0.0)
        return 0.0;
    const double s = sigma_data, v = p.alpha * p.alpha * s * s + p.beta * p.beta;
    return v / (p.beta * p.beta * s * s);   /* (sigma^2 + s^2) / (sigma s)^2 with sigma = beta / alpha */
}

int fmd_train_fill(const fmd_train_config *cfg, fmd_sampler_fn sampler, void *params, gsl_rng *r, fmd_loss_batch *b)
{
    if (!cfg)
        return FMD_EINVAL;
    if (cfg->time_law != FMD_TIME_LOGNORMAL)
        return fmd_loss_batch_fill(sampler, params, &cfg->schedule, cfg->t_min, cfg->t_max, cfg->levels, r, b);
    int status = fmd_loss_batch_fill(sampler, params, &cfg->schedule, 0.0, 1.0, 0, r, b);   /* t = u ~ Unif[0, 1) */
    if (status == FMD_OK)
        status = fmd_loss_batch_lognormal_times(b, &cfg->schedule, cfg->p_mean, cfg->p_std, cfg->t_min, cfg->t_max);
    return status;
}

fmd_mlp_output fmd_readout_for(fmd_loss_kind objective)
{
    return objective == FMD_LOSS_DDPM ? FMD_OUT_NOISE : objective == FMD_LOSS_CSM ? FMD_OUT_SCORE
         : objective == FMD_LOSS_DENOISER ? FMD_OUT_DATA : FMD_OUT_PLAIN;
}

int fmd_gmm_rms(const fmd_gmm *g, double *rms)
{
    if (!g || !rms)
        return FMD_EINVAL;
    const size_t d = g->d;
    double *mean = malloc(d * sizeof(double)), *cov = malloc(d * d * sizeof(double));
    int status = mean && cov ? fmd_gmm_moments(g, mean, cov) : FMD_ENOMEM;
    double m2 = 0.0;
    for (size_t i = 0; status == FMD_OK && i < d; i++)
        m2 += mean[i] * mean[i] + cov[i * d + i];   /* E|z|^2 = |m|^2 + tr C */
    if (status == FMD_OK)
        *rms = sqrt(m2 / (double)d);
    free(mean);
    free(cov);
    return status;
}

int fmd_data_rms(fmd_sampler_fn sampler, void *params, size_t d, size_t n, uint64_t seed, double *rms)
{
    if (!sampler || !rms || d == 0 || n == 0 || n > SIZE_MAX / d / sizeof(double))
        return FMD_EINVAL;
    double *z = malloc(n * d * sizeof(double));
    int *y = malloc(n * sizeof(int));
    gsl_rng *r = NULL;
    int status = z && y ? fmd_rng_alloc(seed, 0x5d47aULL, &r) : FMD_ENOMEM;   /* a stream of its own */
    if (status == FMD_OK)
        status = sampler(params, r, n, z, y);
    double m2 = 0.0;
    for (size_t i = 0; status == FMD_OK && i < n * d; i++)
        m2 += z[i] * z[i];
    if (status == FMD_OK)
        *rms = sqrt(m2 / (double)(n * d));
    if (r)
        gsl_rng_free(r);
    free(z);
    free(y);
    return status;
}

double fmd_ddpm_elbo_weight(const fmd_schedule *sch, size_t N, size_t k)
{
    fmd_sched_point pk, pk1;   /* levels k and k - 1 */
    if (!sch || k < 1 || k > N || fmd_schedule_at(sch, 1.0 - (double)k / (double)N, &pk) != FMD_OK ||
        fmd_schedule_at(sch, 1.0 - (double)(k - 1) / (double)N, &pk1) != FMD_OK)
        return NAN;
    const double abar = pk.alpha * pk.alpha, abar1 = pk1.alpha * pk1.alpha;
    const double alpha = abar / abar1, beta = 1.0 - alpha;   /* the level's own alpha_k, beta_k */
    /* beta_k^2 / (2 sigma_k^2 alpha_k (1 - abar_k)) with sigma_k^2 = beta~_k = beta_k (1 - abar_{k-1}) /
     * (1 - abar_k) is beta_k / (2 alpha_k (1 - abar_{k-1})); at k = 1, sigma_1^2 = beta_1 */
    return k == 1 ? 1.0 / (2.0 * alpha) : beta / (2.0 * alpha * pk1.beta * pk1.beta);
}
