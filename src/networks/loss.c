/* loss.c -- Monte Carlo losses of chapter 4. */
#include "networks/loss.h"
#include "paths/marginal.h"
#include "base/rng.h"
#include "base/stats.h"
#include "base/status.h"

#include <math.h>
#include <gsl/gsl_cdf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int fmd_gmm_sampler(void *params, gsl_rng *r, size_t n, double *z, int *labels)
{
    const fmd_gmm *g = params;
    size_t *comp = labels ? malloc(n * sizeof(size_t)) : NULL;
    if (labels && !comp)
        return FMD_ENOMEM;
    int status = fmd_gmm_sample(g, r, n, z, comp);
    for (size_t i = 0; status == FMD_OK && labels && i < n; i++)
        labels[i] = g->label[comp[i]];   /* the class of the component drawn */
    free(comp);
    return status;
}

int fmd_loss_batch_draw(const fmd_gmm *g, const fmd_schedule *sch, size_t M, double t_min,
                        double t_max, gsl_rng *r, fmd_loss_batch *b)
{
    if (!g)
        return FMD_EINVAL;
    return fmd_loss_batch_draw_from(fmd_gmm_sampler, (void *)g, g->d, sch, M, t_min, t_max, r, b);
}

int fmd_loss_batch_alloc(size_t M, size_t d, fmd_loss_batch *b)
{
    if (!b || d == 0 || M == 0 || M > SIZE_MAX / sizeof(double) / d)
        return FMD_EINVAL;
    memset(b, 0, sizeof *b);
    b->M = M;
    b->d = d;
    b->t = malloc(M * sizeof(double));
    b->z = malloc(M * d * sizeof(double));
    b->eps = malloc(M * d * sizeof(double));
    b->x = malloc(M * d * sizeof(double));
    b->y = malloc(M * sizeof(int));
    if (!b->t || !b->z || !b->eps || !b->x || !b->y) {
        fmd_loss_batch_free(b);
        return FMD_ENOMEM;
    }
    return FMD_OK;
}

int fmd_loss_batch_fill(fmd_sampler_fn sampler, void *params, const fmd_schedule *sch, double t_min,
                        double t_max, size_t levels, gsl_rng *r, fmd_loss_batch *b)
{
    if (!sampler || !sch || !r || !b || !(t_min >= 0.0 && t_max <= 1.0 && t_min <= t_max))
        return FMD_EINVAL;
    const size_t M = b->M, d = b->d;
    int status = sampler(params, r, M, b->z, b->y);   /* z ~ p_data, with its class */
    fmd_rng_gaussian(r, M * d, b->eps);
    for (size_t i = 0; i < M && status == FMD_OK; i++) {
        b->t[i] = t_min + (t_max - t_min) * gsl_rng_uniform(r);
        if (levels > 0)   /* discrete DDPM: t = j/N = 1 - k/N, k = N - j ~ U{1..N} on [0, 1) */
            b->t[i] = floor(b->t[i] * (double)levels) / (double)levels;
        fmd_sched_point s;
        fmd_schedule_at(sch, b->t[i], &s);
        for (size_t k = 0; k < d; k++)   /* Ex 9: x = alpha z + beta eps (a level: sqrt(abar) z + sqrt(1 - abar) eps) */
            b->x[i * d + k] = s.alpha * b->z[i * d + k] + s.beta * b->eps[i * d + k];
    }
    return status;
}

int fmd_loss_batch_lognormal_times(fmd_loss_batch *b, const fmd_schedule *sch, double p_mean, double p_std,
                                   double t_min, double t_max)
{
    if (!b || !sch || !(p_std > 0.0 && isfinite(p_std) && isfinite(p_mean)) ||
        !(t_min >= 0.0 && t_min <= t_max && t_max <= 1.0))
        return FMD_EINVAL;
    const size_t d = b->d;
    for (size_t i = 0; i < b->M; i++) {
        /* ln sigma = p_mean + p_std Phi^-1(u); u = 0 gives sigma = 0: lambda = +inf, t = t_max */
        const double lam = -(p_mean + p_std * gsl_cdf_ugaussian_Pinv(b->t[i]));
        int status = fmd_schedule_time_of_lambda(sch, lam, t_min, t_max, &b->t[i]);
        fmd_sched_point s;
        if (status == FMD_OK)
            status = fmd_schedule_at(sch, b->t[i], &s);
        if (status != FMD_OK)
            return status;
        for (size_t k = 0; k < d; k++)   /* Ex 9 at the new time */
            b->x[i * d + k] = s.alpha * b->z[i * d + k] + s.beta * b->eps[i * d + k];
    }
    return FMD_OK;
}

int fmd_loss_batch_drop_labels(fmd_loss_batch *b, size_t C, double p, gsl_rng *r)
{
    for (size_t i = 0; C > 0 && i < b->M; i++) {
        if (b->y[i] < 0 || (size_t)b->y[i] >= C)
            return FMD_EINVAL;    /* a class the network has no slot for */
        if (gsl_rng_uniform(r) < p)
            b->y[i] = (int)C;     /* dropped: the "no label" slot */
    }
    return FMD_OK;
}

fmd_loss_batch fmd_loss_batch_rows(const fmd_loss_batch *b, size_t row0, size_t M)
{
    const size_t d = b->d;
    return (fmd_loss_batch){M, d, b->t + row0, b->z + row0 * d, b->eps + row0 * d, b->x + row0 * d, b->y + row0};
}

int fmd_loss_batch_draw_from(fmd_sampler_fn sampler, void *params, size_t d, const fmd_schedule *sch,
                             size_t M, double t_min, double t_max, gsl_rng *r, fmd_loss_batch *b)
{
    if (!sampler || !sch || !r || !b || d == 0 || M < 2 || !(t_min >= 0.0 && t_max <= 1.0 && t_min <= t_max))
        return FMD_EINVAL;
    int status = fmd_loss_batch_alloc(M, d, b);
    if (status == FMD_OK)
        status = fmd_loss_batch_fill(sampler, params, sch, t_min, t_max, 0, r, b);
    if (status != FMD_OK)
        fmd_loss_batch_free(b);
    return status;
}

void fmd_loss_batch_free(fmd_loss_batch *b)
{
    if (!b)
        return;
    free(b->t);
    free(b->z);
    free(b->y);
    free(b->eps);
    free(b->x);
    memset(b, 0, sizeof *b);
}

int fmd_loss_target(fmd_loss_kind kind, const fmd_gmm *g, const fmd_schedule *sch,
                    const fmd_loss_batch *b, double *target)
{
    if (!sch || !b || !target)
        return FMD_EINVAL;
    if ((kind == FMD_LOSS_FM || kind == FMD_LOSS_SM) && (!g || b->d != g->d))
        return FMD_EINVAL;
    const size_t d = b->d;
    fmd_marginal *m = NULL;
    if ((kind == FMD_LOSS_FM || kind == FMD_LOSS_SM) && fmd_marginal_alloc(g, &m) != FMD_OK)
        return FMD_ENOMEM;
    int status = FMD_OK;
    for (size_t i = 0; i < b->M && status == FMD_OK; i++) {
        fmd_sched_point s;
        fmd_schedule_at(sch, b->t[i], &s);
        const double *z = b->z + i * d, *e = b->eps + i * d;
        const size_t w = fmd_loss_width(kind, d);
        double *y = target + i * w;
        switch (kind) {
        case FMD_LOSS_FM:
        case FMD_LOSS_SM: {   /* exact marginal field / score at (x_i, t_i) */
            status = fmd_marginal_set_time(m, sch, b->t[i]);
            fmd_marginal_out out = {0};
            if (kind == FMD_LOSS_FM)
                out.u = y;
            else
                out.score = y;
            if (status == FMD_OK)
                status = fmd_marginal_eval(m, 1, b->x + i * d, &out);
            break;
        }
        case FMD_LOSS_CFM:   /* Ex 19: d/dt (alpha z + beta eps) */
            for (size_t k = 0; k < d; k++)
                y[k] = s.alpha_dot * z[k] + s.beta_dot * e[k];
            break;
        case FMD_LOSS_CSM:   /* Ex 14 at x = alpha z + beta eps: -eps / beta */
            if (s.beta == 0.0)
                status = FMD_EDOM;
            for (size_t k = 0; k < d && status == FMD_OK; k++)
                y[k] = -e[k] / s.beta;
            break;
        case FMD_LOSS_DDPM:
            memcpy(y, e, d * sizeof(double));
            break;
        case FMD_LOSS_DENOISER:
            memcpy(y, z, d * sizeof(double));
            break;
        case FMD_LOSS_CFM_DSM:   /* section 4.2: both heads' targets side by side, Ex 19's field and Ex 14's score */
            if (s.beta == 0.0)
                status = FMD_EDOM;
            for (size_t k = 0; k < d && status == FMD_OK; k++) {
                y[k] = s.alpha_dot * z[k] + s.beta_dot * e[k];
                y[d + k] = -e[k] / s.beta;
            }
            break;
        default:
            status = FMD_EINVAL;
        }
        for (size_t k = 0; k < w && status == FMD_OK; k++)
            if (!isfinite(y[k]))
                status = FMD_EDOM;
    }
    fmd_marginal_free(m);
    return status;
}

size_t fmd_loss_width(fmd_loss_kind kind, size_t d)
{
    return kind == FMD_LOSS_CFM_DSM ? 2 * d : d;
}

int fmd_loss_mlp(const fmd_mlp *net, fmd_mlp_workspace *ws, const fmd_loss_batch *b,
                 const double *target, double *value, double *se, void *grad)
{
    if (!net || !ws || !b || !target || !value || b->M > ws->n_max || net->cfg.d != b->d ||
        net->dims[net->nlayers] != b->d)   /* one head of d outputs */
        return FMD_EINVAL;
    const size_t M = b->M, d = b->d;
    double *pred = malloc(M * d * sizeof(double)), *per = malloc(M * sizeof(double));
    if (!pred || !per) {
        free(pred);
        free(per);
        return FMD_ENOMEM;
    }
    int status = fmd_mlp_forward(net, ws, M, b->x, b->t, b->y, pred);   /* labels: used if the net takes them */
    if (status == FMD_OK) {
        for (size_t i = 0; i < M; i++) {
            double s = 0.0;
            for (size_t k = 0; k < d; k++) {
                double r = pred[i * d + k] - target[i * d + k];
                s += r * r;
                pred[i * d + k] = 2.0 * r / (double)M;   /* d value / d prediction */
            }
            per[i] = s;
        }
        double mean, err;
        fmd_mean_se(M, per, 1, &mean, &err);
        *value = mean;
        if (se)
            *se = err;
        if (grad) {
            memset(grad, 0, net->nparams * fmd_dtype_size(net->cfg.dtype));
            status = fmd_mlp_backward(net, ws, M, pred, grad);
        }
    }
    free(pred);
    free(per);
    return status;
}
