/* attention_typed.c -- the typed half of attention.c, written once for
 * fmd_real (typed_begin.h). */
#include "base/typed_begin.h"

int FMD_T(fmd_attention_work_alloc)(const fmd_attention *at, size_t n_max, size_t T, FMD_T(fmd_attention_work) **out)
{
    FMD_T(fmd_attention_work) *w = calloc(1, sizeof *w);
    if (!w)
        return FMD_ENOMEM;
    const size_t c = at->c, P = n_max * T;
    w->n_max = n_max, w->T = T;
    w->xhat = malloc(P * c * sizeof(fmd_real));
    w->is = malloc(n_max * at->groups * sizeof(fmd_real));
    w->y = malloc(P * c * sizeof(fmd_real));
    w->qkv = malloc(P * 3 * c * sizeof(fmd_real));
    w->A = malloc(n_max * T * T * sizeof(fmd_real));
    w->O = malloc(P * c * sizeof(fmd_real));
    w->dO = malloc(P * c * sizeof(fmd_real));
    w->dqkv = malloc(P * 3 * c * sizeof(fmd_real));
    w->dA = malloc(T * T * sizeof(fmd_real));
    w->dy = malloc(P * c * sizeof(fmd_real));
    if (!w->xhat || !w->is || !w->y || !w->qkv || !w->A || !w->O || !w->dO || !w->dqkv || !w->dA || !w->dy) {
        FMD_T(fmd_attention_work_free)(w);
        return FMD_ENOMEM;
    }
    *out = w;
    return FMD_OK;
}

void FMD_T(fmd_attention_work_free)(FMD_T(fmd_attention_work) *w)
{
    if (!w)
        return;
    free(w->xhat), free(w->is), free(w->y), free(w->qkv), free(w->A), free(w->O);
    free(w->dO), free(w->dqkv), free(w->dA), free(w->dy);
    free(w);
}

int FMD_T(fmd_attention_forward)(const fmd_attention *at, FMD_T(fmd_attention_work) *w, size_t n, size_t T, const fmd_real *params,
                          const fmd_real *x, fmd_real *out)
{
    const size_t c = at->c, P = n * T, c3 = 3 * c;
    if (n > w->n_max || T != w->T)
        return FMD_EINVAL;
    const fmd_real *p = params, scale = 1.0 / sqrt((double)c);
    int st = FMD_T(fmd_groupnorm_forward)(n, T, c, at->groups, x, p + at->g, p + at->b, w->xhat, w->is, w->y);
    if (st != FMD_OK)
        return st;
    for (size_t q = 0; q < P; q++)
        memcpy(w->qkv + q * c3, p + at->bqkv, c3 * sizeof(fmd_real));
    fmd_gemm_real(0, 0, P, c3, c, 1.0, w->y, c, p + at->wqkv, c3, 1.0, w->qkv, c3);
    for (size_t i = 0; i < n; i++) {
        const fmd_real *Q = w->qkv + i * T * c3, *K = Q + c, *V = Q + 2 * c;   /* rows of stride 3c */
        fmd_real *A = w->A + i * T * T;
        fmd_gemm_real(0, 1, T, T, c, scale, Q, c3, K, c3, 0.0, A, T);   /* S = Q K^T / sqrt(c) */
        for (size_t r = 0; r < T; r++) {                            /* A = softmax of each row */
            fmd_real *a = A + r * T, mx = -INFINITY, s = 0.0;
            for (size_t j = 0; j < T; j++)
                mx = a[j] > mx ? a[j] : mx;
            for (size_t j = 0; j < T; j++)
                s += (a[j] = fmd_exp_real(a[j] - mx));
            for (size_t j = 0; j < T; j++)
                a[j] /= s;
        }
        fmd_gemm_real(0, 0, T, c, T, 1.0, A, T, V, c3, 0.0, w->O + i * T * c, c);   /* O = A V */
    }
    for (size_t q = 0; q < P; q++)   /* out = x + O W_o + b_o */
        for (size_t k = 0; k < c; k++)
            out[q * c + k] = x[q * c + k] + p[at->bo + k];
    fmd_gemm_real(0, 0, P, c, c, 1.0, w->O, c, p + at->wo, c, 1.0, out, c);
    return FMD_OK;
}

int FMD_T(fmd_attention_backward)(const fmd_attention *at, FMD_T(fmd_attention_work) *w, size_t n, size_t T, const fmd_real *params,
                           const fmd_real *dout, fmd_real *grad, fmd_real *dx)
{
    const size_t c = at->c, P = n * T, c3 = 3 * c;
    if (n > w->n_max || T != w->T)
        return FMD_EINVAL;
    const fmd_real *p = params, scale = 1.0 / sqrt((double)c);
    fmd_gemm_real(1, 0, c, c, P, 1.0, w->O, c, dout, c, 1.0, grad + at->wo, c);   /* dW_o += O^T dout */
    for (size_t q = 0; q < P; q++)
        for (size_t k = 0; k < c; k++)
            grad[at->bo + k] += dout[q * c + k];
    fmd_gemm_real(0, 1, P, c, c, 1.0, dout, c, p + at->wo, c, 0.0, w->dO, c);     /* dO = dout W_o^T */
    for (size_t i = 0; i < n; i++) {
        const fmd_real *Q = w->qkv + i * T * c3, *K = Q + c, *V = Q + 2 * c, *A = w->A + i * T * T;
        const fmd_real *dO = w->dO + i * T * c;
        fmd_real *dQ = w->dqkv + i * T * c3, *dK = dQ + c, *dV = dQ + 2 * c, *dA = w->dA;
        fmd_gemm_real(1, 0, T, c, T, 1.0, A, T, dO, c, 0.0, dV, c3);   /* dV = A^T dO */
        fmd_gemm_real(0, 1, T, T, c, 1.0, dO, c, V, c3, 0.0, dA, T);   /* dA = dO V^T */
        for (size_t r = 0; r < T; r++) {                          /* dS = A o (dA - rowsum(dA o A)) */
            double s = 0.0;
            for (size_t j = 0; j < T; j++)
                s += dA[r * T + j] * A[r * T + j];
            for (size_t j = 0; j < T; j++)
                dA[r * T + j] = A[r * T + j] * (dA[r * T + j] - s);
        }
        fmd_gemm_real(0, 0, T, c, T, scale, dA, T, K, c3, 0.0, dQ, c3);   /* dQ = dS K / sqrt(c) */
        fmd_gemm_real(1, 0, T, c, T, scale, dA, T, Q, c3, 0.0, dK, c3);   /* dK = dS^T Q / sqrt(c) */
    }
    fmd_gemm_real(1, 0, c, c3, P, 1.0, w->y, c, w->dqkv, c3, 1.0, grad + at->wqkv, c3);   /* dW_qkv += y^T dqkv */
    for (size_t q = 0; q < P; q++)
        for (size_t k = 0; k < c3; k++)
            grad[at->bqkv + k] += w->dqkv[q * c3 + k];
    fmd_gemm_real(0, 1, P, c, c3, 1.0, w->dqkv, c3, p + at->wqkv, c3, 0.0, w->dy, c);    /* dy = dqkv W_qkv^T */
    FMD_T(fmd_groupnorm_backward)(n, T, c, at->groups, w->xhat, w->is, p + at->g, w->dy, grad + at->g, grad + at->b, dx);
    for (size_t i = 0; i < P * c; i++)   /* the residual path */
        dx[i] += dout[i];
    return FMD_OK;
}

#include "base/typed_end.h"
