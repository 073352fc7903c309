/* field.c -- the checked entry point to a vector field. */
#include "flows/field.h"
#include "base/status.h"

#include <math.h>

int fmd_field_eval(const fmd_field *u, double t, size_t n, const double *x, double *out)
{
    if (!u || !u->eval || u->d == 0 || n == 0 || !x || !out)
        return FMD_EINVAL;
    if (!isfinite(t))
        return FMD_EDOM;
    return u->eval(t, n, u->d, x, out, u->params) == FMD_OK ? FMD_OK : FMD_EFIELD;
}

typedef struct {
    const fmd_field *u;
    double t;
    size_t n;
    const double *x;
    double *out;
} block_job;

static int block_task(void *ctx, size_t b, int thread)
{
    (void)thread;
    const block_job *J = ctx;
    size_t i0, cnt;
    const size_t d = J->u->d;
    fmd_chunk(J->n, FMD_FIELD_BLOCK, b, &i0, &cnt);
    return fmd_field_eval(J->u, J->t, cnt, J->x + i0 * d, J->out + i0 * d);
}

int fmd_field_eval_team(fmd_team *team, const fmd_field *u, double t, size_t n, const double *x, double *out)
{
    if (!u || !u->eval || u->d == 0 || n == 0 || !x || !out)
        return FMD_EINVAL;
    block_job job = {u, t, n, x, out};
    return fmd_team_run(team, fmd_chunks(n, FMD_FIELD_BLOCK), block_task, &job);
}

int fmd_all_finite(size_t m, const double *x)
{
    for (size_t i = 0; i < m; i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}
