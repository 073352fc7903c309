/* frechet.c -- the Fréchet distance between Gaussians (frechet.h). */
#include "networks/frechet.h"
#include "networks/classifier.h"
#include "base/matmul.h"
#include "base/status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_eigen.h>
#include <gsl/gsl_matrix.h>

int fmd_feature_moments(size_t n, size_t k, const double *f, double *mean, double *cov)
{
    if (!f || !mean || !cov || n < 2 || k == 0)
        return FMD_EINVAL;
    for (size_t j = 0; j < k; j++) {
        double s = 0.0;
        for (size_t i = 0; i < n; i++)
            s += f[i * k + j];
        mean[j] = s / (double)n;
    }
    for (size_t a = 0; a < k; a++)   /* two passes: the deviations, then their products */
        for (size_t b = a; b < k; b++) {
            double s = 0.0;
            for (size_t i = 0; i < n; i++)
                s += (f[i * k + a] - mean[a]) * (f[i * k + b] - mean[b]);
            cov[a * k + b] = cov[b * k + a] = s / (double)(n - 1);
        }
    return FMD_OK;
}

/* eigenvalues (k) and eigenvectors (columns of V, k x k) of the symmetric A */
static int eigen(size_t k, const double *A, double *lambda, double *V)
{
    gsl_matrix *M = gsl_matrix_alloc(k, k), *E = gsl_matrix_alloc(k, k);
    gsl_vector *l = gsl_vector_alloc(k);
    gsl_eigen_symmv_workspace *w = gsl_eigen_symmv_alloc(k);
    int status = M && E && l && w ? FMD_OK : FMD_ENOMEM;
    if (status == FMD_OK) {
        memcpy(M->data, A, k * k * sizeof(double));   /* a fresh k x k gsl_matrix is contiguous (tda = k) */
        status = gsl_eigen_symmv(M, l, E, w) == 0 ? FMD_OK : FMD_EDOM;
    }
    if (status == FMD_OK) {
        memcpy(lambda, l->data, k * sizeof(double));
        memcpy(V, E->data, k * k * sizeof(double));
    }
    gsl_eigen_symmv_free(w);
    gsl_vector_free(l);
    gsl_matrix_free(E);
    gsl_matrix_free(M);
    return status;
}

static int symmetric(size_t k, const double *S)
{
    for (size_t a = 0; a < k; a++)
        for (size_t b = 0; b < a; b++)
            if (!isfinite(S[a * k + b]) || fabs(S[a * k + b] - S[b * k + a]) > 1e-12 * (fabs(S[a * k + b]) + fabs(S[a * k + a])))
                return 0;
    for (size_t a = 0; a < k; a++)
        if (!isfinite(S[a * k + a]))
            return 0;
    return 1;
}

int fmd_frechet_distance(size_t k, const double *mu1, const double *S1, const double *mu2, const double *S2, double *fd)
{
    if (!mu1 || !S1 || !mu2 || !S2 || !fd || k == 0)
        return FMD_EINVAL;
    if (!symmetric(k, S1) || !symmetric(k, S2))
        return FMD_EDOM;
    double *lambda = malloc(k * sizeof(double)), *V = malloc(k * k * sizeof(double));
    double *R = malloc(k * k * sizeof(double)), *T = malloc(k * k * sizeof(double)), *M = malloc(k * k * sizeof(double));
    int status = lambda && V && R && T && M ? eigen(k, S1, lambda, V) : FMD_ENOMEM;
    if (status == FMD_OK) {
        /* R = S1^{1/2} = (V diag(sqrt(lambda))) V^T, the scaled columns in T first */
        for (size_t a = 0; a < k; a++)
            for (size_t j = 0; j < k; j++)
                T[a * k + j] = V[a * k + j] * sqrt(fmax(lambda[j], 0.0));
        fmd_gemm(0, 1, k, k, k, 1.0, T, k, V, k, 0.0, R, k);
        /* M = R S2 R, symmetrised against rounding */
        fmd_matmul(k, k, k, S2, R, T);
        fmd_matmul(k, k, k, R, T, M);
        for (size_t a = 0; a < k; a++)
            for (size_t b = 0; b < a; b++)
                M[a * k + b] = M[b * k + a] = 0.5 * (M[a * k + b] + M[b * k + a]);
        status = eigen(k, M, lambda, V);
    }
    if (status == FMD_OK) {
        double d2 = 0.0, tr = 0.0, root = 0.0;
        for (size_t a = 0; a < k; a++) {
            d2 += (mu1[a] - mu2[a]) * (mu1[a] - mu2[a]);
            tr += S1[a * k + a] + S2[a * k + a];
            root += sqrt(fmax(lambda[a], 0.0));   /* tr (S1^{1/2} S2 S1^{1/2})^{1/2} */
        }
        *fd = d2 + tr - 2.0 * root;
    }
    free(lambda), free(V), free(R), free(T), free(M);
    return status;
}

int fmd_image_feature_moments(const fmd_mlp *clf, size_t n, const double *x, double *mu, double *S)
{
    if (!clf || !x || !mu || !S || n < 2)
        return FMD_EINVAL;
    const size_t k = fmd_classifier_feature_width(clf);
    double *f = malloc(n * k * sizeof(double));
    int status = f ? fmd_classifier_features(clf, 1.0, n, x, f) : FMD_ENOMEM;
    if (status == FMD_OK)
        status = fmd_feature_moments(n, k, f, mu, S);
    free(f);
    return status;
}

int fmd_image_frechet_distance(const fmd_mlp *clf, size_t n, const double *x, const double *mu, const double *S,
                               double *fd)
{
    if (!clf || !fd)
        return FMD_EINVAL;
    const size_t k = fmd_classifier_feature_width(clf);
    double *m = malloc(k * sizeof(double)), *C = malloc(k * k * sizeof(double));
    int status = m && C ? fmd_image_feature_moments(clf, n, x, m, C) : FMD_ENOMEM;
    if (status == FMD_OK)
        status = fmd_frechet_distance(k, m, C, mu, S, fd);
    free(m), free(C);
    return status;
}
