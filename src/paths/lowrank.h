/* lowrank.h -- a covariance that is diagonal plus low rank, C = Delta + G G^T
 * (Delta diagonal and positive, G of size d x r, r < d), factorised and
 * applied without forming a d x d matrix (issue 15: mixtures at image
 * dimension).
 *
 * Promise: with W = Delta^{-1} G and M = I_r + G^T W = L L^T (Cholesky),
 *     C^{-1} = Delta^{-1} - W M^{-1} W^T                    (Woodbury identity)
 *     log det C = sum_i log Delta_i + 2 sum_a log L_aa     (matrix determinant lemma)
 * so C^{-1} delta costs O(d r + r^2) and the factorisation O(d r^2 + r^3).
 * A mixture component at path point (alpha, beta) has C = alpha^2 (D + F F^T)
 * + beta^2 I, i.e. Delta = alpha^2 D + beta^2 and G = alpha F: again of this
 * form, at t = 0 (G = 0, M = I) and t = 1 (Delta = D) included. */
#ifndef FMD_LOWRANK_H
#define FMD_LOWRANK_H

#include <stddef.h>

/* The factorisation of one C (the caller owns the arrays). */
typedef struct {
    size_t d, r;
    double *dinv;    /* (d) 1 / Delta_i */
    double *W;       /* (d, r) Delta^{-1} G, row-major */
    double *L;       /* (r, r) lower Cholesky factor of M = I + G^T Delta^{-1} G */
    double logdet;   /* log det C */
} fmd_lowrank;

/* Factorise C = diag(delta) + G G^T into f (its arrays sized d, d r, r r).
 * FMD_EDOM if some Delta_i is not positive and finite. */
int fmd_lowrank_factor(size_t d, size_t r, const double *delta, const double *G, fmd_lowrank *f);

/* b = M^{-1} a (r numbers; b may not alias a; y holds r numbers of scratch):
 * the r x r solve inside Woodbury, by the Cholesky factor L. */
void fmd_lowrank_small_solve(const fmd_lowrank *f, const double *a, double *b, double *y);

/* Minv = M^{-1} (r x r) = L^{-T} L^{-1}, for solving many right-hand sides
 * as one product (src/paths/marginal_lowrank.c); Linv holds r r numbers (it
 * receives L^{-1}). M >= I, so its condition number is 1 + |G^T
 * Delta^{-1/2}|^2 at most and the explicit inverse costs no more accuracy
 * than the solves. */
void fmd_lowrank_small_inverse(const fmd_lowrank *f, double *Minv, double *Linv);

/* v = C^{-1} x for n vectors x (n, d) into v (n, d); work holds 3 r numbers. */
void fmd_lowrank_solve(const fmd_lowrank *f, size_t n, const double *x, double *v, double *work);

/* tr C^{-1}, and tr(C^{-1} S) for S = diag(D) + F F^T (F of size d x r);
 * work holds d r + r r numbers. Both in O(d r^2 + r^3). */
double fmd_lowrank_trace_inv(const fmd_lowrank *f, double *work);
double fmd_lowrank_trace_inv_times(const fmd_lowrank *f, const double *D, const double *F, double *work);

#endif
