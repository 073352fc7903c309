/* adam.c -- Adam, clipping and EMA, for float64 or float32 parameters. */
#include "networks/adam.h"
#include "base/status.h"
#include "base/vecmath.h"

#include <math.h>
#include <stdlib.h>

int fmd_adam_alloc_typed(size_t n, double lr, fmd_dtype dtype, fmd_adam **out)
{
    if (!out || n == 0 || !(lr > 0.0) || (dtype != FMD_F64 && dtype != FMD_F32))
        return FMD_EINVAL;
    fmd_adam *a = calloc(1, sizeof *a);
    if (!a)
        return FMD_ENOMEM;
    a->n = n;
    a->dtype = dtype;
    a->lr = lr;
    a->beta1 = 0.9;
    a->beta2 = 0.999;
    a->eps = 1e-8;
    a->m = calloc(n, fmd_dtype_size(dtype));
    a->v = calloc(n, fmd_dtype_size(dtype));
    if (!a->m || !a->v) {
        fmd_adam_free(a);
        return FMD_ENOMEM;
    }
    *out = a;
    return FMD_OK;
}

int fmd_adam_alloc(size_t n, double lr, fmd_adam **out)
{
    return fmd_adam_alloc_typed(n, lr, FMD_F64, out);
}

void fmd_adam_free(fmd_adam *a)
{
    if (!a)
        return;
    free(a->m);
    free(a->v);
    free(a);
}

void fmd_adam_begin_step(fmd_adam *a)
{
    a->step++;
    a->c1 = 1.0 - pow(a->beta1, (double)a->step);
    a->c2 = 1.0 - pow(a->beta2, (double)a->step);
}

/* theta <- theta - lr mhat / (sqrt(vhat) + eps) for parameters [i0, i1).
 * The constants are copied into locals first, so the compiler knows no store
 * changes them and turns the loop into vector instructions. float64 follows
 * the formula as written; float32 computes in float32, as PyTorch's Adam
 * does, with the bias corrections folded into two constants: lr / c1, and
 * sqrt(vhat) = sqrt(v) / sqrt(c2). (In float64 arithmetic the float32
 * update cost twice as much: one step of chapter 5's network spent 13% of
 * its time here.) */
FMD_VECTOR_LOOPS
void fmd_adam_update(const fmd_adam *a, size_t i0, size_t i1, void *theta, const void *grad)
{
    const double b1 = a->beta1, b2 = a->beta2, lr = a->lr, c1 = a->c1, c2 = a->c2, eps = a->eps;
    if (a->dtype == FMD_F32) {
        float *restrict th = theta, *restrict m = a->m, *restrict v = a->v;
        const float *restrict g = grad;
        const float b1f = (float)b1, b2f = (float)b2, step = (float)(lr / c1), inv_sqrt_c2 = (float)(1.0 / sqrt(c2));
        const float one_b1 = (float)(1.0 - b1), one_b2 = (float)(1.0 - b2), epsf = (float)eps;
        for (size_t i = i0; i < i1; i++) {
            m[i] = b1f * m[i] + one_b1 * g[i];
            v[i] = b2f * v[i] + one_b2 * g[i] * g[i];
            th[i] -= step * m[i] / (sqrtf(v[i]) * inv_sqrt_c2 + epsf);
        }
    } else {
        double *restrict th = theta, *restrict m = a->m, *restrict v = a->v;
        const double *restrict g = grad;
        for (size_t i = i0; i < i1; i++) {
            m[i] = b1 * m[i] + (1.0 - b1) * g[i];
            v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
            th[i] -= lr * (m[i] / c1) / (sqrt(v[i] / c2) + eps);
        }
    }
}

void fmd_adam_step(fmd_adam *a, void *theta, const void *grad)
{
    fmd_adam_begin_step(a);
    fmd_adam_update(a, 0, a->n, theta, grad);
}

double fmd_sum_squares(fmd_dtype t, size_t n, const void *g)
{
    double s = 0.0;
    if (t == FMD_F32)
        for (size_t i = 0; i < n; i++)
            s += (double)((const float *)g)[i] * ((const float *)g)[i];
    else
        for (size_t i = 0; i < n; i++)
            s += ((const double *)g)[i] * ((const double *)g)[i];
    return s;
}

FMD_VECTOR_LOOPS
void fmd_scale(fmd_dtype t, size_t n, void *g, double s)
{
    if (t == FMD_F32)
        for (size_t i = 0; i < n; i++)
            ((float *)g)[i] = (float)(s * ((float *)g)[i]);
    else
        for (size_t i = 0; i < n; i++)
            ((double *)g)[i] *= s;
}

double fmd_clip_grad_norm(size_t n, double *grad, double max_norm)
{
    double norm = sqrt(fmd_sum_squares(FMD_F64, n, grad));
    if (max_norm > 0.0 && norm > max_norm)
        fmd_scale(FMD_F64, n, grad, max_norm / norm);
    return norm;
}

FMD_VECTOR_LOOPS
void fmd_ema_update_typed(fmd_dtype t, size_t n, void *ema, const void *theta, double decay)
{
    if (t == FMD_F32) {
        float *e = ema;
        const float *th = theta;
        for (size_t i = 0; i < n; i++)
            e[i] = (float)(decay * e[i] + (1.0 - decay) * th[i]);
    } else {
        double *e = ema;
        const double *th = theta;
        for (size_t i = 0; i < n; i++)
            e[i] = decay * e[i] + (1.0 - decay) * th[i];
    }
}

void fmd_ema_update(size_t n, double *ema, const double *theta, double decay)
{
    fmd_ema_update_typed(FMD_F64, n, ema, theta, decay);
}
