/* fd_check.h -- the suite's entry-by-entry gradient check for the U-Net's
 * layers (verify/test_conv.c, verify/test_unet.c).
 *
 * Fourth-order central differences
 *     dL/dp ~ [-L(p + 2h) + 8 L(p + h) - 8 L(p - h) + L(p - 2h)] / (12 h),  h = 1e-3:
 * truncation h^4/30 |d^5 L| ~ 3e-14 |d^5 L|, rounding ~ 1.5 eps |L| / h ~
 * 1e-12 for |L| ~ 10. Every analytic entry must agree to 1e-7 relative,
 * with a floor of 1e-9 for entries that are themselves ~0 -- the MLP's
 * standard (verify/test_mlp.c). Logs the worst relative difference. */
#ifndef FMD_VERIFY_FD_CHECK_H
#define FMD_VERIFY_FD_CHECK_H

#include <criterion/criterion.h>
#include <math.h>
#include <stddef.h>

/* Check the m entries of analytic against differences of loss(ctx) in p[0..m);
 * p is restored. *checked (may be NULL) grows by m. */
static inline void fd_check(const char *what, size_t m, double *p, const double *analytic, double (*loss)(void *),
                            void *ctx, size_t *checked)
{
    const double h = 1e-3, off[4] = {2 * h, h, -h, -2 * h};
    double worst = 0.0;
    for (size_t k = 0; k < m; k++) {
        const double keep = p[k];
        double L[4];
        for (int j = 0; j < 4; j++) {
            p[k] = keep + off[j];
            L[j] = loss(ctx);
        }
        p[k] = keep;
        const double fd = (-L[0] + 8 * L[1] - 8 * L[2] + L[3]) / (12 * h);
        worst = fmax(worst, fabs(fd - analytic[k]) / fmax(fabs(fd), 1e-2));
        cr_expect(fabs(fd - analytic[k]) <= 1e-7 * fabs(fd) + 1e-9, "%s, entry %zu: analytic %.12g, finite difference %.12g",
                  what, k, analytic[k], fd);
    }
    if (checked)
        *checked += m;
    cr_log_info("%s: %zu entries, worst relative difference %.2e", what, m, worst);
}

/* L = sum_k v_k out_k^2 / 2 over m outputs, and (dout non-NULL) its
 * gradient v_k out_k: the non-trivial loss the layer checks share. */
static inline double weighted_square_loss(size_t m, const double *v, const double *out, double *dout)
{
    double L = 0.0;
    for (size_t k = 0; k < m; k++) {
        L += 0.5 * v[k] * out[k] * out[k];
        if (dout)
            dout[k] = v[k] * out[k];
    }
    return L;
}

#endif
