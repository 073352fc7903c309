/* groupnorm.c -- group normalization, forward and backward (groupnorm.h). */
#include "groupnorm.h"
#include "status.h"

#include <math.h>

int fmd_groupnorm_forward(size_t n, size_t hw, size_t c, size_t groups, const double *x, const double *gamma,
                          const double *beta, double *xhat, double *inv_std, double *y)
{
    if (groups == 0 || c % groups != 0)
        return FMD_EINVAL;
    const size_t cg = c / groups;
    const double m = (double)(hw * cg);
    for (size_t i = 0; i < n; i++)
        for (size_t g = 0; g < groups; g++) {
            const double *xi = x + i * hw * c + g * cg;
            double mu = 0.0, var = 0.0;   /* two passes: the variance without cancellation */
            for (size_t p = 0; p < hw; p++)
                for (size_t k = 0; k < cg; k++)
                    mu += xi[p * c + k];
            mu /= m;
            for (size_t p = 0; p < hw; p++)
                for (size_t k = 0; k < cg; k++) {
                    const double v = xi[p * c + k] - mu;
                    var += v * v;
                }
            const double is = 1.0 / sqrt(var / m + FMD_GROUPNORM_EPS);
            inv_std[i * groups + g] = is;
            for (size_t p = 0; p < hw; p++)
                for (size_t k = 0; k < cg; k++) {
                    const size_t at = i * hw * c + p * c + g * cg + k, ch = g * cg + k;
                    xhat[at] = (x[at] - mu) * is;
                    y[at] = gamma[ch] * xhat[at] + beta[ch];
                }
        }
    return FMD_OK;
}

int fmd_groupnorm_backward(size_t n, size_t hw, size_t c, size_t groups, const double *xhat, const double *inv_std,
                           const double *gamma, const double *dy, double *dgamma, double *dbeta, double *dx)
{
    if (groups == 0 || c % groups != 0)
        return FMD_EINVAL;
    const size_t cg = c / groups;
    const double m = (double)(hw * cg);
    for (size_t i = 0; i < n; i++)
        for (size_t g = 0; g < groups; g++) {
            double mg = 0.0, mgx = 0.0;   /* mean g and mean g xhat over the group */
            for (size_t p = 0; p < hw; p++)
                for (size_t k = 0; k < cg; k++) {
                    const size_t at = i * hw * c + p * c + g * cg + k, ch = g * cg + k;
                    const double gk = dy[at] * gamma[ch];
                    mg += gk;
                    mgx += gk * xhat[at];
                    dgamma[ch] += dy[at] * xhat[at];
                    dbeta[ch] += dy[at];
                }
            mg /= m, mgx /= m;
            const double is = inv_std[i * groups + g];
            for (size_t p = 0; p < hw; p++)
                for (size_t k = 0; k < cg; k++) {
                    const size_t at = i * hw * c + p * c + g * cg + k, ch = g * cg + k;
                    dx[at] = is * (dy[at] * gamma[ch] - mg - xhat[at] * mgx);
                }
        }
    return FMD_OK;
}
