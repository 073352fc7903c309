/* path.c -- Gaussian conditional path N(alpha_t z, beta_t^2 I). */
#include "paths/path.h"
#include "base/status.h"

void fmd_path_sample(const fmd_sched_point *s, size_t n, size_t d, const double *z,
                     const double *eps, double *x)
{
    for (size_t i = 0; i < n * d; i++)
        x[i] = s->alpha * z[i] + s->beta * eps[i];   /* Ex 9 */
}

void fmd_path_velocity(const fmd_sched_point *s, size_t n, size_t d, const double *z,
                       const double *x0, double *out)
{
    for (size_t i = 0; i < n * d; i++)
        out[i] = s->alpha_dot * z[i] + s->beta_dot * x0[i];   /* d/dt (alpha z + beta x0) */
}

int fmd_path_cond_field(const fmd_sched_point *s, size_t n, size_t d, const double *z,
                        const double *x, double *out)
{
    if (s->beta == 0.0)
        return FMD_EDOM;
    double r = s->beta_dot / s->beta;
    for (size_t i = 0; i < n * d; i++)
        out[i] = (s->alpha_dot - r * s->alpha) * z[i] + r * x[i];   /* Ex 11 */
    return FMD_OK;
}

int fmd_path_cond_score(const fmd_sched_point *s, size_t n, size_t d, const double *z,
                        const double *x, double *out)
{
    if (s->beta == 0.0)
        return FMD_EDOM;
    double inv = 1.0 / (s->beta * s->beta);
    for (size_t i = 0; i < n * d; i++)
        out[i] = -(x[i] - s->alpha * z[i]) * inv;   /* Ex 14 */
    return FMD_OK;
}
