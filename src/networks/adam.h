/* adam.h -- Adam (Kingma & Ba 2015), gradient clipping and a weight EMA.
 *
 * Promise: the optimiser of chapter 4's training loop, state in a struct the
 * caller owns, so a checkpoint can save it and a resumed run continue exactly.
 * The state has the type of the network it serves (src/base/dtype.h): a float32
 * network keeps float32 moments. The update of one parameter depends on
 * that parameter alone, so disjoint ranges may be updated on different
 * threads (fmd_adam_update after one fmd_adam_begin_step). */
#ifndef FMD_ADAM_H
#define FMD_ADAM_H

#include <stddef.h>
#include "base/dtype.h"

typedef struct {
    size_t n;            /* parameters */
    fmd_dtype dtype;     /* of the parameters, gradients and moments */
    double lr;           /* step size (1e-3 in the course lab) */
    double beta1, beta2; /* moment decay rates (0.9, 0.999) */
    double eps;          /* denominator guard (1e-8) */
    unsigned long step;  /* steps taken so far */
    double c1, c2;       /* this step's bias corrections 1 - beta1^k, 1 - beta2^k */
    void *m, *v;         /* (n) first and second moment estimates, of type dtype */
} fmd_adam;

int fmd_adam_alloc(size_t n, double lr, fmd_adam **out);   /* float64; beta1 0.9, beta2 0.999, eps 1e-8 */
int fmd_adam_alloc_typed(size_t n, double lr, fmd_dtype dtype, fmd_adam **out);
void fmd_adam_free(fmd_adam *a);

/* One step: m <- b1 m + (1 - b1) g, v <- b2 v + (1 - b2) g^2,
 * theta <- theta - lr mhat / (sqrt(vhat) + eps), with bias-corrected
 * mhat = m / (1 - b1^k), vhat = v / (1 - b2^k). theta and grad hold n
 * numbers of the optimiser's type. */
void fmd_adam_step(fmd_adam *a, void *theta, const void *grad);

/* The same step in pieces: begin_step counts the step (k) once; update
 * then moves parameters [i0, i1) (theta and grad point at parameter 0). */
void fmd_adam_begin_step(fmd_adam *a);
void fmd_adam_update(const fmd_adam *a, size_t i0, size_t i1, void *theta, const void *grad);

/* Scale grad so its Euclidean norm is at most max_norm (no-op if max_norm
 * <= 0); returns the norm before clipping. float64. */
double fmd_clip_grad_norm(size_t n, double *grad, double max_norm);

/* Sum of squares of n numbers of type t (accumulated in float64), and
 * multiplying them by s: clipping in pieces. */
double fmd_sum_squares(fmd_dtype t, size_t n, const void *g);
void fmd_scale(fmd_dtype t, size_t n, void *g, double s);

/* Exponential moving average of weights: ema <- decay ema + (1 - decay) theta. */
void fmd_ema_update(size_t n, double *ema, const double *theta, double decay);
void fmd_ema_update_typed(fmd_dtype t, size_t n, void *ema, const void *theta, double decay);

#endif
