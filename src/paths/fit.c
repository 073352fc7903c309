/* fit.c -- probabilistic PCA in closed form (fit.h). The covariance is one
 * BLIS product, its eigenvectors GSL's symmetric eigensolver. */
#include "paths/fit.h"
#include "base/matmul.h"
#include "base/status.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_eigen.h>

int fmd_fit_lowrank(size_t n, size_t d, const double *X, size_t r, double floor, double *mean, double *D, double *F,
                    double *explained)
{
    if (!X || !mean || !D || !F || n < 2 || d < 2 || r < 1 || r >= d || !(floor > 0.0) || n > SIZE_MAX / d)
        return FMD_EINVAL;
    double *Xc = malloc(n * d * sizeof(double)), *S = malloc(d * d * sizeof(double));
    gsl_matrix *evec = gsl_matrix_alloc(d, d);
    gsl_vector *eval = gsl_vector_alloc(d);
    gsl_eigen_symmv_workspace *w = gsl_eigen_symmv_alloc(d);
    int status = Xc && S && evec && eval && w ? FMD_OK : FMD_ENOMEM;
    if (status == FMD_OK) {
        memset(mean, 0, d * sizeof(double));
        for (size_t p = 0; p < n; p++)
            for (size_t i = 0; i < d; i++)
                mean[i] += X[p * d + i];
        for (size_t i = 0; i < d; i++)
            mean[i] /= (double)n;
        for (size_t p = 0; p < n; p++)
            for (size_t i = 0; i < d; i++)
                Xc[p * d + i] = X[p * d + i] - mean[i];
        fmd_gemm(1, 0, d, d, n, 1.0 / (double)n, Xc, d, Xc, d, 0.0, S, d);   /* S = Xc^T Xc / n */
        for (size_t i = 0; i < d; i++)   /* exactly symmetric for the eigensolver */
            for (size_t j = 0; j < i; j++)
                S[i * d + j] = S[j * d + i] = 0.5 * (S[i * d + j] + S[j * d + i]);
        gsl_matrix_view Sv = gsl_matrix_view_array(S, d, d);
        gsl_matrix *Scopy = gsl_matrix_alloc(d, d);   /* symmv destroys its input */
        if (!Scopy)
            status = FMD_ENOMEM;
        else {
            gsl_matrix_memcpy(Scopy, &Sv.matrix);
            if (gsl_eigen_symmv(Scopy, eval, evec, w) != 0)
                status = FMD_EDOM;
            gsl_matrix_free(Scopy);
        }
    }
    if (status == FMD_OK) {
        gsl_eigen_symmv_sort(eval, evec, GSL_EIGEN_SORT_VAL_DESC);
        double rest = 0.0, lead = 0.0, total = 0.0;
        for (size_t j = 0; j < d; j++) {
            const double l = fmax(gsl_vector_get(eval, j), 0.0);   /* rounding can leave -1e-17 */
            total += l;
            if (j < r)
                lead += l;
            else
                rest += l;
        }
        const double sigma2 = rest / (double)(d - r);
        for (size_t a = 0; a < r; a++) {   /* F[:, a] = u_a sqrt(lambda_a - sigma^2) */
            const double s = sqrt(fmax(gsl_vector_get(eval, a) - sigma2, 0.0));
            for (size_t i = 0; i < d; i++)
                F[i * r + a] = gsl_matrix_get(evec, i, a) * s;
        }
        for (size_t i = 0; i < d; i++) {   /* D_i = S_ii - (F F^T)_ii, floored */
            double ff = 0.0;
            for (size_t a = 0; a < r; a++)
                ff += F[i * r + a] * F[i * r + a];
            D[i] = fmax(S[i * d + i] - ff, floor);
        }
        if (explained)
            *explained = total > 0.0 ? lead / total : 1.0;
    }
    free(Xc);
    free(S);
    if (evec)
        gsl_matrix_free(evec);
    if (eval)
        gsl_vector_free(eval);
    if (w)
        gsl_eigen_symmv_free(w);
    return status;
}
