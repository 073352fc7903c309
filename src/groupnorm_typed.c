/* groupnorm_typed.c -- the typed half of groupnorm.c, written once for
 * fmd_real (typed_begin.h). Means and variances are summed in double in
 * both types. */
#include "typed_begin.h"

int FMD_T(fmd_groupnorm_forward)(size_t n, size_t hw, size_t c, size_t groups, const fmd_real *x, const fmd_real *gamma,
                          const fmd_real *beta, fmd_real *xhat, fmd_real *inv_std, fmd_real *y)
{
    if (groups == 0 || c % groups != 0)
        return FMD_EINVAL;
    const size_t cg = c / groups;
    const double m = (double)(hw * cg);
    double mu[groups], var[groups];
    for (size_t i = 0; i < n; i++) {
        const fmd_real *xi = x + i * hw * c;
        memset(mu, 0, sizeof mu);
        memset(var, 0, sizeof var);
        for (size_t p = 0; p < hw; p++)
            for (size_t g = 0; g < groups; g++)
                for (size_t k = 0; k < cg; k++)
                    mu[g] += xi[p * c + g * cg + k];
        for (size_t g = 0; g < groups; g++)
            mu[g] /= m;
        for (size_t p = 0; p < hw; p++)   /* two passes: the variance without cancellation */
            for (size_t g = 0; g < groups; g++)
                for (size_t k = 0; k < cg; k++) {
                    const double v = xi[p * c + g * cg + k] - mu[g];
                    var[g] += v * v;
                }
        fmd_real *is = inv_std + i * groups, mu_r[groups];   /* the elementwise pass in fmd_real */
        for (size_t g = 0; g < groups; g++) {
            is[g] = (fmd_real)(1.0 / sqrt(var[g] / m + FMD_GROUPNORM_EPS));
            mu_r[g] = (fmd_real)mu[g];
        }
        for (size_t p = 0; p < hw; p++)
            for (size_t g = 0; g < groups; g++)
                for (size_t k = 0; k < cg; k++) {
                    const size_t at = i * hw * c + p * c + g * cg + k, ch = g * cg + k;
                    xhat[at] = (x[at] - mu_r[g]) * is[g];
                    y[at] = gamma[ch] * xhat[at] + beta[ch];
                }
    }
    return FMD_OK;
}

int FMD_T(fmd_groupnorm_backward)(size_t n, size_t hw, size_t c, size_t groups, const fmd_real *xhat, const fmd_real *inv_std,
                           const fmd_real *gamma, const fmd_real *dy, fmd_real *dgamma, fmd_real *dbeta, fmd_real *dx)
{
    if (groups == 0 || c % groups != 0)
        return FMD_EINVAL;
    const size_t cg = c / groups;
    const double m = (double)(hw * cg);
    double mg[groups], mgx[groups];   /* mean g and mean g xhat over each group, g = dy gamma */
    for (size_t i = 0; i < n; i++) {
        memset(mg, 0, sizeof mg);
        memset(mgx, 0, sizeof mgx);
        for (size_t p = 0; p < hw; p++)
            for (size_t g = 0; g < groups; g++)
                for (size_t k = 0; k < cg; k++) {
                    const size_t at = i * hw * c + p * c + g * cg + k, ch = g * cg + k;
                    const double gk = dy[at] * gamma[ch];
                    mg[g] += gk;
                    mgx[g] += gk * xhat[at];
                    dgamma[ch] += dy[at] * xhat[at];
                    dbeta[ch] += dy[at];
                }
        const fmd_real *is = inv_std + i * groups;
        fmd_real mg_r[groups], mgx_r[groups];
        for (size_t g = 0; g < groups; g++)
            mg_r[g] = (fmd_real)(mg[g] / m), mgx_r[g] = (fmd_real)(mgx[g] / m);
        for (size_t p = 0; p < hw; p++)
            for (size_t g = 0; g < groups; g++)
                for (size_t k = 0; k < cg; k++) {
                    const size_t at = i * hw * c + p * c + g * cg + k, ch = g * cg + k;
                    dx[at] = is[g] * (dy[at] * gamma[ch] - mg_r[g] - xhat[at] * mgx_r[g]);
                }
    }
    return FMD_OK;
}

#include "typed_end.h"
