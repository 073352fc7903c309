/* groupnorm_typed.c -- the typed half of groupnorm.c, written once for
 * fmd_real (typed_begin.h). Each image is swept pixel by pixel with its c
 * channels contiguous: sums are first kept per channel (a loop over
 * contiguous channels, which vectorizes), then added up per group, in
 * double in both types. Walking one group's few channels at a time instead
 * left loops of 4 and cost a float32 step 4%. */
#include "base/typed_begin.h"

FMD_VECTOR_LOOPS
int FMD_T(fmd_groupnorm_forward)(size_t n, size_t hw, size_t c, size_t groups, const fmd_real *x, const fmd_real *gamma,
                                 const fmd_real *beta, fmd_real *xhat, fmd_real *inv_std, fmd_real *y)
{
    if (groups == 0 || c % groups != 0)
        return FMD_EINVAL;
    const size_t cg = c / groups;
    const double m = (double)(hw * cg);
    double sum[c], mu[groups], var[groups], mu_d[c];
    fmd_real mu_c[c], is_c[c];   /* each channel's group mean and 1 / sqrt(var + eps) */
    for (size_t i = 0; i < n; i++) {
        const fmd_real *xi = x + i * hw * c;
        fmd_real *is = inv_std + i * groups;
        memset(sum, 0, sizeof sum);
        for (size_t p = 0; p < hw; p++)
            for (size_t ch = 0; ch < c; ch++)
                sum[ch] += xi[p * c + ch];
        for (size_t g = 0; g < groups; g++) {
            mu[g] = 0.0;
            for (size_t k = 0; k < cg; k++)
                mu[g] += sum[g * cg + k];
            mu[g] /= m;
        }
        for (size_t ch = 0; ch < c; ch++)
            mu_d[ch] = mu[ch / cg], mu_c[ch] = (fmd_real)mu_d[ch];
        memset(sum, 0, sizeof sum);
        for (size_t p = 0; p < hw; p++)   /* two passes: the variance without cancellation */
            for (size_t ch = 0; ch < c; ch++) {
                const double v = (double)xi[p * c + ch] - mu_d[ch];
                sum[ch] += v * v;
            }
        for (size_t g = 0; g < groups; g++) {
            var[g] = 0.0;
            for (size_t k = 0; k < cg; k++)
                var[g] += sum[g * cg + k];
            is[g] = (fmd_real)(1.0 / sqrt(var[g] / m + FMD_GROUPNORM_EPS));
        }
        for (size_t ch = 0; ch < c; ch++)
            is_c[ch] = is[ch / cg];
        for (size_t p = 0; p < hw; p++) {
            const size_t at = i * hw * c + p * c;
            for (size_t ch = 0; ch < c; ch++) {
                xhat[at + ch] = (x[at + ch] - mu_c[ch]) * is_c[ch];
                y[at + ch] = gamma[ch] * xhat[at + ch] + beta[ch];
            }
        }
    }
    return FMD_OK;
}

FMD_VECTOR_LOOPS
int FMD_T(fmd_groupnorm_backward)(size_t n, size_t hw, size_t c, size_t groups, const fmd_real *xhat,
                                  const fmd_real *inv_std, const fmd_real *gamma, const fmd_real *dy, fmd_real *dgamma,
                                  fmd_real *dbeta, fmd_real *dx)
{
    if (groups == 0 || c % groups != 0)
        return FMD_EINVAL;
    const size_t cg = c / groups;
    const double m = (double)(hw * cg);
    double sdy[c], sdyx[c];          /* per channel: sum dy, sum dy xhat over the image's pixels */
    fmd_real is_c[c], mg_c[c], mgx_c[c];   /* per channel: its group's 1/std, mean g, mean g xhat (g = dy gamma) */
    for (size_t i = 0; i < n; i++) {
        memset(sdy, 0, sizeof sdy);
        memset(sdyx, 0, sizeof sdyx);
        for (size_t p = 0; p < hw; p++) {
            const size_t at = i * hw * c + p * c;
            for (size_t ch = 0; ch < c; ch++) {
                sdy[ch] += dy[at + ch];
                sdyx[ch] += (double)dy[at + ch] * xhat[at + ch];
            }
        }
        const fmd_real *is = inv_std + i * groups;
        for (size_t g = 0; g < groups; g++) {
            double mg = 0.0, mgx = 0.0;
            for (size_t k = 0; k < cg; k++) {
                const size_t ch = g * cg + k;
                mg += gamma[ch] * sdy[ch];
                mgx += gamma[ch] * sdyx[ch];
            }
            for (size_t k = 0; k < cg; k++)
                mg_c[g * cg + k] = (fmd_real)(mg / m), mgx_c[g * cg + k] = (fmd_real)(mgx / m), is_c[g * cg + k] = is[g];
        }
        for (size_t ch = 0; ch < c; ch++) {
            dgamma[ch] += (fmd_real)sdyx[ch];
            dbeta[ch] += (fmd_real)sdy[ch];
        }
        for (size_t p = 0; p < hw; p++) {
            const size_t at = i * hw * c + p * c;
            for (size_t ch = 0; ch < c; ch++)
                dx[at + ch] = is_c[ch] * (dy[at + ch] * gamma[ch] - mg_c[ch] - xhat[at + ch] * mgx_c[ch]);
        }
    }
    return FMD_OK;
}

#include "base/typed_end.h"
