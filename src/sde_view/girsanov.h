/* girsanov.h -- course map row 6.6: the price of a wrong score, in nats.
 *
 * Two SDEs in reverse time tau with the same noise, dY = b_P dtau + g dB and
 * dY = b_Q dtau + g dB, from the same start, have path laws P and Q that
 * Girsanov's theorem relates (Delta = b_P - b_Q):
 *     log dP/dQ = int (Delta / g^2) . (dY - b_Q dtau) - 1/2 int |Delta|^2 / g^2 dtau,
 * so KL(P | Q) = E_P log dP/dQ = 1/2 int E_P |Delta|^2 / g^2 dtau. For the
 * reverse SDEs of two scores that differ by delta, Delta = g^2 delta and the
 * KL is 1/2 int g^2 E|delta|^2 dtau -- with the lectures' sqrt(2) dB (g^2 =
 * 2), int E|delta|^2 dtau.
 *
 * Promise: fmd_girsanov_kl simulates paths of P by Euler-Maruyama and returns
 * both sides -- the mean of the discretised log dP/dQ and the mean of
 * 1/2 sum |Delta|^2 / g^2 h along the same paths -- each with its standard
 * error, so a caller can see the theorem hold within Monte Carlo error. */
#ifndef FMD_GIRSANOV_H
#define FMD_GIRSANOV_H

#include <stddef.h>
#include <gsl/gsl_rng.h>
#include "flows/field.h"

typedef struct {
    fmd_field bp;   /* drift of P at (tau, y) */
    fmd_field bq;   /* drift of Q */
    fmd_field g;    /* the shared noise scale g(tau, y) (diagonal), as fmd_sde's diffusion */
} fmd_girsanov;

/* n paths in R^d from the starts y (n, d; overwritten by the paths' ends),
 * steps Euler-Maruyama steps over [0, T], Brownian increments from r. Writes
 * the mean of log dP/dQ and its SE (kl, kl_se) and the mean of
 * 1/2 sum |Delta|^2 / g^2 h and its SE (half_integral, half_integral_se).
 * FMD_OK, FMD_EINVAL, FMD_ENOMEM, or a field's error. */
int fmd_girsanov_kl(const fmd_girsanov *G, double T, size_t steps, size_t n, size_t d, double *y, gsl_rng *r,
                    double *kl, double *kl_se, double *half_integral, double *half_integral_se);

#endif
