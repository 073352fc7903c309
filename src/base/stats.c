/* stats.c -- means, standard errors, slopes and KS distances. */
#include "base/stats.h"

#include <math.h>
#include <stdlib.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_randist.h>
#include "base/status.h"

void fmd_mean_se(size_t n, const double *x, size_t stride, double *mean, double *se)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        m += x[i * stride];
    m /= (double)n;
    *mean = m;
    *se = sqrt(fmd_sample_variance(n, x, stride) / (double)n);
}

double fmd_sample_variance(size_t n, const double *x, size_t stride)
{
    double m = 0.0, s = 0.0;
    for (size_t i = 0; i < n; i++)
        m += x[i * stride];
    m /= (double)n;
    for (size_t i = 0; i < n; i++) {
        double r = x[i * stride] - m;
        s += r * r;
    }
    return s / (double)(n - 1);
}

double fmd_fit_slope(size_t m, const double *x, const double *y, const double *y_se,
                     double *slope_se)
{
    double mx = 0.0, my = 0.0;
    for (size_t i = 0; i < m; i++) {
        mx += x[i];
        my += y[i];
    }
    mx /= (double)m;
    my /= (double)m;
    double sxx = 0.0, sxy = 0.0;
    for (size_t i = 0; i < m; i++) {
        sxx += (x[i] - mx) * (x[i] - mx);
        sxy += (x[i] - mx) * (y[i] - my);
    }
    if (slope_se && y_se) {
        /* slope = sum_i w_i y_i with w_i = (x_i - mx) / sxx */
        double v = 0.0;
        for (size_t i = 0; i < m; i++) {
            double w = (x[i] - mx) / sxx;
            v += w * w * y_se[i] * y_se[i];
        }
        *slope_se = sqrt(v);
    }
    return sxy / sxx;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double fmd_ks_distance(size_t n, double *samples, double (*cdf)(double x, void *p), void *p)
{
    qsort(samples, n, sizeof(double), cmp_double);
    double D = 0.0;
    for (size_t i = 0; i < n; i++) {
        double F = cdf(samples[i], p);
        double lo = F - (double)i / (double)n, hi = (double)(i + 1) / (double)n - F;
        D = fmax(D, fmax(lo, hi));
    }
    return D;
}

double fmd_ks_threshold(size_t n, double alpha)
{
    return sqrt(log(2.0 / alpha) / (2.0 * (double)n));
}

double fmd_mean_pairwise_distance(size_t n, size_t d, const double *x)
{
    if (n < 2)
        return 0.0;
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            double d2 = 0.0;
            for (size_t k = 0; k < d; k++) {
                const double e = x[i * d + k] - x[j * d + k];
                d2 += e * e;
            }
            s += sqrt(d2);
        }
    return s / ((double)n * (double)(n - 1) / 2.0);
}

int fmd_sliced_wasserstein(size_t n, size_t d, const double *X, const double *Y, size_t L,
                           void *r, double *mean, double *se)
{
    if (!X || !Y || !r || !mean || n == 0 || d == 0 || L < 2)
        return FMD_EINVAL;
    double *px = malloc(n * sizeof(double)), *py = malloc(n * sizeof(double));
    double *theta = malloc(d * sizeof(double)), *w = malloc(L * sizeof(double));
    if (!px || !py || !theta || !w) {
        free(px), free(py), free(theta), free(w);
        return FMD_ENOMEM;
    }
    for (size_t l = 0; l < L; l++) {
        double norm = 0.0;
        for (size_t k = 0; k < d; k++) {
            theta[k] = gsl_ran_gaussian_ziggurat((gsl_rng *)r, 1.0);
            norm += theta[k] * theta[k];
        }
        norm = sqrt(norm);
        for (size_t i = 0; i < n; i++) {
            double a = 0.0, b = 0.0;
            for (size_t k = 0; k < d; k++) {
                a += theta[k] * X[i * d + k];
                b += theta[k] * Y[i * d + k];
            }
            px[i] = a / norm;
            py[i] = b / norm;
        }
        qsort(px, n, sizeof(double), cmp_double);
        qsort(py, n, sizeof(double), cmp_double);
        double s = 0.0;
        for (size_t i = 0; i < n; i++)
            s += fabs(px[i] - py[i]);   /* 1-D W1 between empirical laws of equal size */
        w[l] = s / (double)n;
    }
    double m, e;
    fmd_mean_se(L, w, 1, &m, &e);
    *mean = m;
    if (se)
        *se = e;
    free(px), free(py), free(theta), free(w);
    return FMD_OK;
}
