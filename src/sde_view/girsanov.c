/* girsanov.c -- the path KL of two SDEs by Girsanov's theorem (row 6.6). */
#include "sde_view/girsanov.h"
#include "base/rng.h"
#include "base/stats.h"
#include "base/status.h"

#include <math.h>
#include <stdlib.h>

int fmd_girsanov_kl(const fmd_girsanov *G, double T, size_t steps, size_t n, size_t d, double *y, gsl_rng *r,
                    double *kl, double *kl_se, double *half_integral, double *half_integral_se)
{
    if (!G || !G->bp.eval || !G->bq.eval || !G->g.eval || !y || !r || !kl || !kl_se || !half_integral ||
        !half_integral_se || n < 2 || d == 0 || steps == 0 || !(T > 0.0))
        return FMD_EINVAL;
    double *bp = malloc(n * d * sizeof(double)), *bq = malloc(n * d * sizeof(double));
    double *g = malloc(n * d * sizeof(double)), *dw = malloc(n * d * sizeof(double));
    double *log_rn = calloc(n, sizeof(double)), *half = calloc(n, sizeof(double));
    int status = bp && bq && g && dw && log_rn && half ? FMD_OK : FMD_ENOMEM;
    const double h = T / (double)steps;
    for (size_t k = 0; status == FMD_OK && k < steps; k++) {
        const double tau = (double)k * h;
        status = G->bp.eval(tau, n, d, y, bp, G->bp.params);
        if (status == FMD_OK)
            status = G->bq.eval(tau, n, d, y, bq, G->bq.params);
        if (status == FMD_OK)
            status = G->g.eval(tau, n, d, y, g, G->g.params);
        if (status != FMD_OK)
            break;
        fmd_rng_gaussian(r, n * d, dw);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < d; j++) {
                const size_t q = i * d + j;
                const double g2 = g[q] * g[q], delta = bp[q] - bq[q];
                const double dy = bp[q] * h + g[q] * sqrt(h) * dw[q];    /* Euler-Maruyama step of P */
                log_rn[i] += delta / g2 * (dy - bq[q] * h) - 0.5 * delta * delta / g2 * h;   /* Girsanov */
                half[i] += 0.5 * delta * delta / g2 * h;                 /* 1/2 int |Delta|^2 / g^2 */
                y[q] += dy;
            }
    }
    if (status == FMD_OK) {
        fmd_mean_se(n, log_rn, 1, kl, kl_se);
        fmd_mean_se(n, half, 1, half_integral, half_integral_se);
    }
    free(bp), free(bq), free(g), free(dw), free(log_rn), free(half);
    return status;
}
