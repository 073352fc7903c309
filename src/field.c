/* field.c -- the checked entry point to a vector field. */
#include "field.h"
#include "status.h"

#include <math.h>

int fmd_field_eval(const fmd_field *u, double t, size_t n, const double *x, double *out)
{
    if (!u || !u->eval || u->d == 0 || n == 0 || !x || !out)
        return FMD_EINVAL;
    if (!isfinite(t))
        return FMD_EDOM;
    return u->eval(t, n, u->d, x, out, u->params) == FMD_OK ? FMD_OK : FMD_EFIELD;
}

int fmd_all_finite(size_t m, const double *x)
{
    for (size_t i = 0; i < m; i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}
