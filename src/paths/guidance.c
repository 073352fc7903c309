/* guidance.c -- exact conditional fields and guidance on labelled mixtures. */
#include "paths/guidance.h"
#include "paths/marginal.h"
#include "base/status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int fmd_gmm_class(const fmd_gmm *g, int y, fmd_gmm **out, double *prior)
{
    if (!g || !out)
        return FMD_EINVAL;
    *out = NULL;
    size_t K = 0;
    double total = 0.0;
    for (size_t k = 0; k < g->K; k++)
        if (g->label[k] == y)
            K++, total += g->weight[k];
    if (K == 0)
        return FMD_EINVAL;
    const size_t d = g->d;
    fmd_gmm *c;
    const size_t r = g->rank;
    int status = r ? fmd_gmm_alloc_lowrank(d, K, r, &c) : fmd_gmm_alloc(d, K, &c);
    if (status != FMD_OK)
        return status;
    c->point_masses = g->point_masses;
    for (size_t k = 0, j = 0; k < g->K; k++) {
        if (g->label[k] != y)
            continue;
        c->weight[j] = g->weight[k] / total;   /* p_data(. | y): weights renormalised */
        c->label[j] = y;
        memcpy(c->mean + j * d, g->mean + k * d, d * sizeof(double));
        if (r) {
            memcpy(c->diag + j * d, g->diag + k * d, d * sizeof(double));
            memcpy(c->factor + j * d * r, g->factor + k * d * r, d * r * sizeof(double));
        } else {
            memcpy(c->cov + j * d * d, g->cov + k * d * d, d * d * sizeof(double));
        }
        j++;
    }
    status = fmd_gmm_prepare(c);
    if (status != FMD_OK) {
        fmd_gmm_free(c);
        return status;
    }
    *out = c;
    if (prior)
        *prior = total;
    return FMD_OK;
}

int fmd_gmm_classes(const fmd_gmm *g, int *classes, size_t *n)
{
    if (!g || !classes || !n)
        return FMD_EINVAL;
    size_t m = 0;
    for (size_t k = 0; k < g->K; k++) {   /* insertion into a sorted list without repeats */
        size_t i = 0;
        while (i < m && classes[i] < g->label[k])
            i++;
        if (i < m && classes[i] == g->label[k])
            continue;
        memmove(classes + i + 1, classes + i, (m - i) * sizeof(int));
        classes[i] = g->label[k];
        m++;
    }
    *n = m;
    return FMD_OK;
}

int fmd_guidance_init(fmd_guidance_params *P, const fmd_gmm *g, int y, const fmd_schedule *sch, double w)
{
    if (!P || !g || !sch || !isfinite(w))
        return FMD_EINVAL;
    memset(P, 0, sizeof *P);
    double prior;
    fmd_gmm *gy;
    int status = fmd_gmm_class(g, y, &gy, &prior);
    if (status != FMD_OK)
        return status;
    *P = (fmd_guidance_params){g, gy, log(prior), sch, w};
    return FMD_OK;
}

void fmd_guidance_free(fmd_guidance_params *P)
{
    if (P) {
        fmd_gmm_free((fmd_gmm *)P->gy);
        P->gy = NULL;
    }
}

/* log p_t, score and u of one mixture at t, for n points (outputs may be NULL). */
static int slice_eval(const fmd_gmm *g, const fmd_schedule *sch, double t, size_t n, const double *x,
                      double *logp, double *score, double *u, fmd_sched_point *s)
{
    fmd_marginal *m;
    int status = fmd_marginal_alloc(g, &m);
    if (status != FMD_OK)
        return status;
    status = fmd_marginal_set_time(m, sch, t);
    if (status == FMD_OK) {
        fmd_marginal_out out = {.logp = logp, .score = score, .u = u};
        status = fmd_marginal_eval(m, n, x, &out);
        if (s)
            *s = m->s;
    }
    fmd_marginal_free(m);
    return status;
}

int fmd_guided_field(double t, size_t n, size_t d, const double *x, double *out, void *params)
{
    const fmd_guidance_params *P = params;
    if (!P || !P->gy || d != P->g->d)
        return FMD_EINVAL;
    double *uy = malloc(n * d * sizeof(double));
    if (!uy)
        return FMD_ENOMEM;
    int status = slice_eval(P->g, P->sch, t, n, x, NULL, NULL, out, NULL);        /* u_t(x) */
    if (status == FMD_OK)
        status = slice_eval(P->gy, P->sch, t, n, x, NULL, NULL, uy, NULL);     /* u_t(x | y) */
    for (size_t i = 0; status == FMD_OK && i < n * d; i++)
        out[i] = (1.0 - P->w) * out[i] + P->w * uy[i];   /* classifier-free guidance */
    free(uy);
    return status;
}

int fmd_class_posterior(const fmd_guidance_params *P, double t, size_t n, const double *x,
                        double *logpy, double *grad)
{
    if (!P || !P->gy || !x)
        return FMD_EINVAL;
    const size_t d = P->g->d;
    double *lp = malloc(2 * n * sizeof(double)), *sc = grad ? malloc(2 * n * d * sizeof(double)) : NULL;
    int status = (lp && (!grad || sc)) ? FMD_OK : FMD_ENOMEM;
    if (status == FMD_OK)
        status = slice_eval(P->g, P->sch, t, n, x, lp, sc, NULL, NULL);
    if (status == FMD_OK)
        status = slice_eval(P->gy, P->sch, t, n, x, lp + n, sc ? sc + n * d : NULL, NULL, NULL);
    for (size_t i = 0; status == FMD_OK && logpy && i < n; i++)   /* Bayes' rule */
        logpy[i] = fmin(P->log_prior + lp[n + i] - lp[i], 0.0);
    for (size_t i = 0; status == FMD_OK && grad && i < n * d; i++)
        grad[i] = sc[n * d + i] - sc[i];
    free(lp);
    free(sc);
    return status;
}

int fmd_classifier_guided_field(double t, size_t n, size_t d, const double *x, double *out, void *params)
{
    const fmd_guidance_params *P = params;
    if (!P || !P->gy || d != P->g->d)
        return FMD_EINVAL;
    fmd_sched_point s;
    int status = fmd_schedule_at(P->sch, t, &s);
    if (status != FMD_OK)
        return status;
    if (s.alpha == 0.0)
        return FMD_EDOM;
    double *grad = malloc(n * d * sizeof(double));
    if (!grad)
        return FMD_ENOMEM;
    status = slice_eval(P->g, P->sch, t, n, x, NULL, NULL, out, NULL);   /* u_t(x) */
    if (status == FMD_OK)
        status = fmd_class_posterior(P, t, n, x, NULL, grad);
    const double b = s.beta * s.beta * s.alpha_dot / s.alpha - s.beta_beta_dot;   /* Prop 1 */
    for (size_t i = 0; status == FMD_OK && i < n * d; i++)
        out[i] += P->w * b * grad[i];
    free(grad);
    return status;
}
