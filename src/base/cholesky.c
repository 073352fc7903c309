/* cholesky.c -- a = L L^T, column by column (base/cholesky.h). */
#include "base/cholesky.h"

#include <math.h>
#include <string.h>

int fmd_cholesky(size_t d, const double *a, double *L)
{
    memset(L, 0, d * d * sizeof(double));
    for (size_t j = 0; j < d; j++) {
        /* L_jj^2 = a_jj - sum_{k<j} L_jk^2 */
        double s = a[j * d + j];
        for (size_t k = 0; k < j; k++)
            s -= L[j * d + k] * L[j * d + k];
        if (!(s > 0.0))
            return 0;
        L[j * d + j] = sqrt(s);
        /* L_ij = (a_ij - sum_{k<j} L_ik L_jk) / L_jj for i > j */
        for (size_t i = j + 1; i < d; i++) {
            double v = a[i * d + j];
            for (size_t k = 0; k < j; k++)
                v -= L[i * d + k] * L[j * d + k];
            L[i * d + j] = v / L[j * d + j];
        }
    }
    return 1;
}
