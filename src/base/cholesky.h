/* cholesky.h -- the Cholesky factor of a small symmetric matrix.
 *
 * Promise: for a symmetric positive-definite a (d, d, row-major), the lower
 * triangular L with a = L L^T and L_jj > 0, by the column-by-column
 * recurrence (Golub & Van Loan, Alg. 4.2.1): O(d^3 / 3) operations, in
 * double, written out rather than called from LAPACK because the mixtures
 * factor d x d covariances (d <= a few hundred) and r x r capacitance
 * matrices (r <= 64) one at a time. Used by the exact mixtures (paths/gmm.c,
 * paths/marginal.c) and the low-rank covariances (paths/lowrank.c). */
#ifndef FMD_CHOLESKY_H
#define FMD_CHOLESKY_H

#include <stddef.h>

/* Lower Cholesky factor L of the symmetric (d, d) matrix a (a = L L^T);
 * returns 0 if a is not positive definite (a pivot <= 0 or NaN), 1 if it is.
 * Only the lower triangle of a is read; L's upper triangle is set to 0. */
int fmd_cholesky(size_t d, const double *a, double *L);

#endif
