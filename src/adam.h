/* adam.h -- Adam (Kingma & Ba 2015), gradient clipping and a weight EMA.
 *
 * Promise: the optimiser of chapter 4's training loop, state in a struct the
 * caller owns, so a checkpoint can save it and a resumed run continue exactly. */
#ifndef FMD_ADAM_H
#define FMD_ADAM_H

#include <stddef.h>

typedef struct {
    size_t n;            /* parameters */
    double lr;           /* step size (1e-3 in the course lab) */
    double beta1, beta2; /* moment decay rates (0.9, 0.999) */
    double eps;          /* denominator guard (1e-8) */
    unsigned long step;  /* steps taken so far */
    double *m, *v;       /* (n) first and second moment estimates */
} fmd_adam;

int fmd_adam_alloc(size_t n, double lr, fmd_adam **out);   /* beta1 0.9, beta2 0.999, eps 1e-8 */
void fmd_adam_free(fmd_adam *a);

/* One step: m <- b1 m + (1 - b1) g, v <- b2 v + (1 - b2) g^2,
 * theta <- theta - lr mhat / (sqrt(vhat) + eps), with bias-corrected
 * mhat = m / (1 - b1^k), vhat = v / (1 - b2^k). */
void fmd_adam_step(fmd_adam *a, double *theta, const double *grad);

/* Scale grad so its Euclidean norm is at most max_norm (no-op if max_norm
 * <= 0); returns the norm before clipping. */
double fmd_clip_grad_norm(size_t n, double *grad, double max_norm);

/* Exponential moving average of weights: ema <- decay ema + (1 - decay) theta. */
void fmd_ema_update(size_t n, double *ema, const double *theta, double decay);

#endif
