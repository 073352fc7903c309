/* lowrank.c -- diagonal plus low rank covariances by the Woodbury identity
 * and the matrix determinant lemma (lowrank.h). */
#include "paths/lowrank.h"
#include "base/cholesky.h"
#include "base/matmul.h"
#include "base/status.h"

#include <math.h>
#include <string.h>

int fmd_lowrank_factor(size_t d, size_t r, const double *delta, const double *G, fmd_lowrank *f)
{
    if (!delta || (r && !G) || !f || d == 0 || r >= d)
        return FMD_EINVAL;
    f->d = d, f->r = r;
    double logdet = 0.0;
    for (size_t i = 0; i < d; i++) {
        if (!(delta[i] > 0.0) || !isfinite(delta[i]))
            return FMD_EDOM;
        f->dinv[i] = 1.0 / delta[i];
        logdet += log(delta[i]);
        for (size_t a = 0; a < r; a++)
            f->W[i * r + a] = f->dinv[i] * G[i * r + a];   /* W = Delta^{-1} G */
    }
    if (r > 0) {
        double M[r * r];   /* M = I + G^T W, symmetric positive definite: one product */
        fmd_gemm(1, 0, r, r, d, 1.0, G, r, f->W, r, 0.0, M, r);
        for (size_t a = 0; a < r; a++) {
            M[a * r + a] += 1.0;
            for (size_t b = 0; b < a; b++)   /* exactly symmetric for the factorisation */
                M[a * r + b] = M[b * r + a] = 0.5 * (M[a * r + b] + M[b * r + a]);
        }
        if (!fmd_cholesky(r, M, f->L))
            return FMD_EDOM;   /* only if G is not finite */
        for (size_t a = 0; a < r; a++)
            logdet += 2.0 * log(f->L[a * r + a]);   /* det C = det Delta det M */
    }
    f->logdet = logdet;
    return FMD_OK;
}

/* y = L^{-1} a (forward substitution), r numbers */
static void lower_solve(size_t r, const double *L, const double *a, double *y)
{
    for (size_t i = 0; i < r; i++) {
        double s = a[i];
        for (size_t j = 0; j < i; j++)
            s -= L[i * r + j] * y[j];
        y[i] = s / L[i * r + i];
    }
}

/* b = L^{-T} y (back substitution), r numbers */
static void upper_solve(size_t r, const double *L, const double *y, double *b)
{
    for (size_t i = r; i-- > 0;) {
        double s = y[i];
        for (size_t j = i + 1; j < r; j++)
            s -= L[j * r + i] * b[j];
        b[i] = s / L[i * r + i];
    }
}

void fmd_lowrank_small_solve(const fmd_lowrank *f, const double *a, double *b, double *y)
{
    lower_solve(f->r, f->L, a, y);   /* L y = a */
    upper_solve(f->r, f->L, y, b);   /* L^T b = y */
}

void fmd_lowrank_small_inverse(const fmd_lowrank *f, double *Minv, double *Linv)
{
    const size_t r = f->r;
    const double *L = f->L;
    /* L^{-1} row by row: row i = (e_i - sum_{j<i} L_ij row j) / L_ii, each
     * step a whole-row update (no running sum), r^3/6 multiply-adds */
    for (size_t i = 0; i < r; i++) {
        double *row = Linv + i * r;
        for (size_t c = 0; c < r; c++)
            row[c] = c == i ? 1.0 : 0.0;
        for (size_t j = 0; j < i; j++) {
            const double lij = L[i * r + j], *rj = Linv + j * r;
            for (size_t c = 0; c <= j; c++)
                row[c] -= lij * rj[c];
        }
        const double inv = 1.0 / L[i * r + i];
        for (size_t c = 0; c <= i; c++)
            row[c] *= inv;
    }
    fmd_gemm(1, 0, r, r, r, 1.0, Linv, r, Linv, r, 0.0, Minv, r);   /* M^{-1} = L^{-T} L^{-1} */
}

void fmd_lowrank_solve(const fmd_lowrank *f, size_t n, const double *x, double *v, double *work)
{
    const size_t d = f->d, r = f->r;
    double *a = work, *b = work + r, *y = work + 2 * r;
    for (size_t p = 0; p < n; p++) {
        const double *xp = x + p * d;
        double *vp = v + p * d;
        for (size_t c = 0; c < r; c++)
            a[c] = 0.0;
        for (size_t i = 0; i < d; i++)   /* a = W^T x */
            for (size_t c = 0; c < r; c++)
                a[c] += f->W[i * r + c] * xp[i];
        fmd_lowrank_small_solve(f, a, b, y);   /* b = M^{-1} a */
        for (size_t i = 0; i < d; i++) {  /* v = Delta^{-1} x - W M^{-1} W^T x */
            double s = f->dinv[i] * xp[i];
            for (size_t c = 0; c < r; c++)
                s -= f->W[i * r + c] * b[c];
            vp[i] = s;
        }
    }
}

/* Y = W L^{-T} (d, r): (W M^{-1} W^T)_ii = |Y_i|^2 */
static void whitened_rows(const fmd_lowrank *f, double *Y)
{
    for (size_t i = 0; i < f->d; i++)
        lower_solve(f->r, f->L, f->W + i * f->r, Y + i * f->r);
}

double fmd_lowrank_trace_inv(const fmd_lowrank *f, double *work)
{
    const size_t d = f->d, r = f->r;
    whitened_rows(f, work);
    double tr = 0.0;
    for (size_t i = 0; i < d; i++) {   /* (C^{-1})_ii = 1/Delta_i - |Y_i|^2 */
        double yy = 0.0;
        for (size_t c = 0; c < r; c++)
            yy += work[i * r + c] * work[i * r + c];
        tr += f->dinv[i] - yy;
    }
    return tr;
}

double fmd_lowrank_trace_inv_times(const fmd_lowrank *f, const double *D, const double *F, double *work)
{
    const size_t d = f->d, r = f->r;
    double *Y = work, *A = work + d * r, x[r > 0 ? r : 1], col[r > 0 ? r : 1];
    whitened_rows(f, Y);
    double tr = 0.0;
    for (size_t i = 0; i < d; i++) {   /* tr(C^{-1} diag D) = sum_i D_i (C^{-1})_ii */
        double yy = 0.0, ff = 0.0;
        for (size_t c = 0; c < r; c++)
            yy += Y[i * r + c] * Y[i * r + c], ff += F[i * r + c] * F[i * r + c];
        tr += D[i] * (f->dinv[i] - yy) + f->dinv[i] * ff;   /* ... + tr(F^T Delta^{-1} F) */
    }
    memset(A, 0, r * r * sizeof(double));   /* A = W^T F */
    for (size_t i = 0; i < d; i++)
        for (size_t a = 0; a < r; a++)
            for (size_t b = 0; b < r; b++)
                A[a * r + b] += f->W[i * r + a] * F[i * r + b];
    for (size_t b = 0; b < r; b++) {   /* - tr(F^T W M^{-1} W^T F) = - |L^{-1} A|_F^2, column by column */
        for (size_t a = 0; a < r; a++)
            col[a] = A[a * r + b];
        lower_solve(r, f->L, col, x);
        for (size_t a = 0; a < r; a++)
            tr -= x[a] * x[a];
    }
    return tr;
}
