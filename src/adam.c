/* adam.c -- Adam, clipping and EMA. */
#include "adam.h"
#include "status.h"

#include <math.h>
#include <stdlib.h>

int fmd_adam_alloc(size_t n, double lr, fmd_adam **out)
{
    if (!out || n == 0 || !(lr > 0.0))
        return FMD_EINVAL;
    fmd_adam *a = calloc(1, sizeof *a);
    if (!a)
        return FMD_ENOMEM;
    a->n = n;
    a->lr = lr;
    a->beta1 = 0.9;
    a->beta2 = 0.999;
    a->eps = 1e-8;
    a->m = calloc(n, sizeof(double));
    a->v = calloc(n, sizeof(double));
    if (!a->m || !a->v) {
        fmd_adam_free(a);
        return FMD_ENOMEM;
    }
    *out = a;
    return FMD_OK;
}

void fmd_adam_free(fmd_adam *a)
{
    if (!a)
        return;
    free(a->m);
    free(a->v);
    free(a);
}

void fmd_adam_step(fmd_adam *a, double *theta, const double *grad)
{
    a->step++;
    const double c1 = 1.0 - pow(a->beta1, (double)a->step), c2 = 1.0 - pow(a->beta2, (double)a->step);
    for (size_t i = 0; i < a->n; i++) {
        a->m[i] = a->beta1 * a->m[i] + (1.0 - a->beta1) * grad[i];
        a->v[i] = a->beta2 * a->v[i] + (1.0 - a->beta2) * grad[i] * grad[i];
        double mhat = a->m[i] / c1, vhat = a->v[i] / c2;
        theta[i] -= a->lr * mhat / (sqrt(vhat) + a->eps);
    }
}

double fmd_clip_grad_norm(size_t n, double *grad, double max_norm)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += grad[i] * grad[i];
    double norm = sqrt(s);
    if (max_norm > 0.0 && norm > max_norm) {
        double scale = max_norm / norm;
        for (size_t i = 0; i < n; i++)
            grad[i] *= scale;
    }
    return norm;
}

void fmd_ema_update(size_t n, double *ema, const double *theta, double decay)
{
    for (size_t i = 0; i < n; i++)
        ema[i] = decay * ema[i] + (1.0 - decay) * theta[i];
}
