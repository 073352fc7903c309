/* classifier.c -- a time-conditioned classifier by cross-entropy, and
 * classifier guidance with its input gradient. */
#include "networks/classifier.h"
#include "networks/loss.h"
#include "base/rng.h"
#include "base/status.h"
#include "base/vecmath.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int fmd_softmax_xent(size_t n, size_t C, const double *logits, const int *y, double *loss, double *dlogits)
{
    if (!logits || !y || !loss || n == 0 || C == 0)
        return FMD_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (y[i] < 0 || (size_t)y[i] >= C)
            return FMD_EINVAL;
    /* e = exp(l - max_c l) for the whole batch in one vector call (src/base/vecmath.h) */
    double *e = calloc(n * C, sizeof(double)), total = 0.0;
    if (!e)
        return FMD_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const double *l = logits + i * C;
        double m = l[0];
        for (size_t c = 1; c < C; c++)
            m = l[c] > m ? l[c] : m;
        for (size_t c = 0; c < C; c++)
            e[i * C + c] = l[c] - m;
    }
    fmd_vexp(n * C, e, e);
    for (size_t i = 0; i < n; i++) {
        const double *l = logits + i * C;
        double m = l[0], s = 0.0;
        for (size_t c = 1; c < C; c++)
            m = l[c] > m ? l[c] : m;
        for (size_t c = 0; c < C; c++)
            s += e[i * C + c];
        total += m + log(s) - l[y[i]];        /* -log softmax(l)_y = log sum_c exp(l_c) - l_y */
        for (size_t c = 0; dlogits && c < C; c++)   /* softmax - one-hot; may overwrite the logits */
            dlogits[i * C + c] = (e[i * C + c] / s - (c == (size_t)y[i])) / (double)n;
    }
    free(e);
    *loss = total / (double)n;
    return FMD_OK;
}

int fmd_classifier_trainer_alloc(fmd_mlp *net, fmd_sampler_fn sampler, void *params, const fmd_schedule *sch,
                                 size_t batch, double lr, double t_min, double t_max, uint64_t seed,
                                 fmd_classifier_trainer **out)
{
    if (!net || !sampler || !sch || !out || batch < 2 || net->cfg.n_out < 2 || net->cfg.n_classes != 0 ||
        !(t_min >= 0.0 && t_min <= t_max && t_max <= 1.0))
        return FMD_EINVAL;
    fmd_classifier_trainer *tr = calloc(1, sizeof *tr);
    if (!tr)
        return FMD_ENOMEM;
    *tr = (fmd_classifier_trainer){net, sampler, params, *sch, batch, t_min, t_max, seed, 0, NULL, NULL, NULL, NULL};
    int status = fmd_mlp_workspace_alloc(net, batch, &tr->ws);
    if (status == FMD_OK)
        status = fmd_adam_alloc(net->nparams, lr, &tr->opt);
    tr->grad = malloc(net->nparams * sizeof(double));
    tr->logits = malloc(batch * net->cfg.n_out * sizeof(double));
    if (status == FMD_OK && (!tr->grad || !tr->logits))
        status = FMD_ENOMEM;
    if (status != FMD_OK) {
        fmd_classifier_trainer_free(tr);
        return status;
    }
    *out = tr;
    return FMD_OK;
}

void fmd_classifier_trainer_free(fmd_classifier_trainer *tr)
{
    if (!tr)
        return;
    fmd_mlp_workspace_free(tr->ws);
    fmd_adam_free(tr->opt);
    free(tr->grad);
    free(tr->logits);
    free(tr);
}

int fmd_classifier_train_step(fmd_classifier_trainer *tr, double *loss)
{
    if (!tr || !loss)
        return FMD_EINVAL;
    gsl_rng *r;
    int status = fmd_rng_alloc(tr->seed, tr->step, &r);   /* step k: stream (seed, k) */
    if (status != FMD_OK)
        return status;
    fmd_loss_batch b;   /* (z, y) ~ p_data, t ~ Unif, x_t = alpha_t z + beta_t eps */
    status = fmd_loss_batch_draw_from(tr->sampler, tr->sampler_params, tr->net->cfg.d, &tr->sch, tr->batch,
                                      tr->t_min, tr->t_max, r, &b);
    gsl_rng_free(r);
    if (status != FMD_OK)
        return status;
    status = fmd_mlp_forward(tr->net, tr->ws, b.M, b.x, b.t, NULL, tr->logits);
    if (status == FMD_OK)   /* cross-entropy; its gradient overwrites the logits */
        status = fmd_softmax_xent(b.M, tr->net->cfg.n_out, tr->logits, b.y, loss, tr->logits);
    if (status == FMD_OK) {
        memset(tr->grad, 0, tr->net->nparams * sizeof(double));
        status = fmd_mlp_backward(tr->net, tr->ws, b.M, tr->logits, tr->grad);
    }
    if (status == FMD_OK) {
        fmd_adam_step(tr->opt, tr->net->params, tr->grad);
        tr->step++;
    }
    fmd_loss_batch_free(&b);
    return status;
}

/* logits of n points at one time t (own workspace); ws returned for backprop */
static int logits_at(const fmd_mlp *net, double t, size_t n, const double *x, double *logits,
                     fmd_mlp_workspace **ws)
{
    double *ts = malloc(n * sizeof(double));
    int status = ts ? fmd_mlp_workspace_alloc(net, n, ws) : FMD_ENOMEM;
    for (size_t i = 0; status == FMD_OK && i < n; i++)
        ts[i] = t;
    if (status == FMD_OK)
        status = fmd_mlp_forward(net, *ws, n, x, ts, NULL, logits);
    free(ts);
    return status;
}

int fmd_classifier_log_prob(const fmd_mlp *net, double t, size_t n, const double *x, const int *y,
                            double *logp, double *grad)
{
    if (!net || !x || !y || n == 0 || net->cfg.n_out < 2)
        return FMD_EINVAL;
    const size_t C = net->cfg.n_out;
    double *l = malloc(n * C * sizeof(double)), *dl = malloc(n * C * sizeof(double));
    fmd_mlp_workspace *ws = NULL;
    int status = (l && dl) ? logits_at(net, t, n, x, l, &ws) : FMD_ENOMEM;
    for (size_t i = 0; status == FMD_OK && i < n; i++) {
        double one;   /* per point: -log p(y_i | x_i) and its gradient in the logits */
        status = fmd_softmax_xent(1, C, l + i * C, y + i, &one, dl + i * C);
        if (logp)
            logp[i] = -one;
        for (size_t c = 0; c < C; c++)
            dl[i * C + c] = -dl[i * C + c];   /* d log p / d logits = onehot - softmax */
    }
    if (status == FMD_OK && grad)
        status = fmd_mlp_input_grad(net, ws, n, dl, grad);
    fmd_mlp_workspace_free(ws);
    free(l);
    free(dl);
    return status;
}

int fmd_classifier_predict(const fmd_mlp *net, double t, size_t n, const double *x, int *pred)
{
    if (!net || !x || !pred || n == 0 || net->cfg.n_out < 2)
        return FMD_EINVAL;
    const size_t C = net->cfg.n_out;
    double *l = malloc(n * C * sizeof(double));
    fmd_mlp_workspace *ws = NULL;
    int status = l ? logits_at(net, t, n, x, l, &ws) : FMD_ENOMEM;
    for (size_t i = 0; status == FMD_OK && i < n; i++) {
        size_t best = 0;
        for (size_t c = 1; c < C; c++)
            if (l[i * C + c] > l[i * C + best])
                best = c;
        pred[i] = (int)best;
    }
    fmd_mlp_workspace_free(ws);
    free(l);
    return status;
}

size_t fmd_classifier_feature_width(const fmd_mlp *net)
{
    return net ? net->dims[net->nlayers - 1] : 0;
}

int fmd_classifier_features(const fmd_mlp *net, double t, size_t n, const double *x, double *features)
{
    if (!net || !x || !features || n == 0 || net->nlayers < 2)
        return FMD_EINVAL;
    const size_t out = net->dims[net->nlayers], k = fmd_classifier_feature_width(net);
    double *l = malloc(n * out * sizeof(double));   /* the outputs, whatever their width */
    fmd_mlp_workspace *ws = NULL;
    int status = l ? logits_at(net, t, n, x, l, &ws) : FMD_ENOMEM;
    /* H[nlayers - 1]: the last hidden layer's activations, the input of the last affine map */
    for (size_t i = 0; status == FMD_OK && i < n * k; i++)
        features[i] = ws->dtype == FMD_F32 ? (double)((const float *)ws->H[net->nlayers - 1])[i]
                                           : ((const double *)ws->H[net->nlayers - 1])[i];
    fmd_mlp_workspace_free(ws);
    free(l);
    return status;
}

int fmd_classifier_guided_net_field(double t, size_t n, size_t d, const double *x, double *out, void *params)
{
    const fmd_classifier_guidance *G = params;
    if (!G || !G->u || !G->clf || d != G->clf->cfg.d || G->y < 0 || (size_t)G->y >= G->clf->cfg.n_out)
        return FMD_EINVAL;
    fmd_sched_point s;
    int status = fmd_schedule_at(&G->sch, t, &s);
    if (status != FMD_OK)
        return status;
    if (s.alpha == 0.0)
        return FMD_EDOM;
    double *grad = malloc(n * d * sizeof(double));
    int *ys = malloc(n * sizeof(int));
    status = (grad && ys) ? G->u->eval(t, n, d, x, out, G->u->params) : FMD_ENOMEM;   /* u_t(x) */
    for (size_t i = 0; status == FMD_OK && i < n; i++)
        ys[i] = G->y;
    if (status == FMD_OK)
        status = fmd_classifier_log_prob(G->clf, t, n, x, ys, NULL, grad);
    const double b = s.beta * s.beta * s.alpha_dot / s.alpha - s.beta_beta_dot;   /* Prop 1 */
    for (size_t i = 0; status == FMD_OK && i < n * d; i++)
        out[i] += G->w * b * grad[i];
    free(grad);
    free(ys);
    return status;
}
