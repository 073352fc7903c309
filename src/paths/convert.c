/* convert.c -- field, score, noise and denoiser, one from another (Prop 1). */
#include "paths/convert.h"
#include "base/status.h"

int fmd_score_from_field(const fmd_sched_point *s, size_t m, const double *x, const double *u, double *out)
{
    /* Prop 1 solved for s, multiplied through by alpha: no division by alpha */
    double den = s->beta * s->beta * s->alpha_dot - s->alpha * s->beta_beta_dot;
    if (den == 0.0)
        return FMD_EDOM;
    for (size_t i = 0; i < m; i++)
        out[i] = (s->alpha * u[i] - s->alpha_dot * x[i]) / den;
    return FMD_OK;
}

int fmd_field_from_score(const fmd_sched_point *s, size_t m, const double *x, const double *score, double *out)
{
    if (s->alpha == 0.0)
        return FMD_EDOM;
    double r = s->alpha_dot / s->alpha, c = s->beta * s->beta * r - s->beta_beta_dot;   /* Prop 1 */
    for (size_t i = 0; i < m; i++)
        out[i] = c * score[i] + r * x[i];
    return FMD_OK;
}

int fmd_score_from_noise(const fmd_sched_point *s, size_t m, const double *eps, double *out)
{
    if (s->beta == 0.0)
        return FMD_EDOM;
    for (size_t i = 0; i < m; i++)
        out[i] = -eps[i] / s->beta;   /* Ex 22: eps = -beta s */
    return FMD_OK;
}

int fmd_score_from_denoiser(const fmd_sched_point *s, size_t m, const double *x, const double *D, double *out)
{
    if (s->beta == 0.0)
        return FMD_EDOM;
    double b2 = s->beta * s->beta;
    for (size_t i = 0; i < m; i++)
        out[i] = (s->alpha * D[i] - x[i]) / b2;   /* Tweedie: E[alpha z | x] = x + beta^2 grad log p */
    return FMD_OK;
}
