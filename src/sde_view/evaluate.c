/* evaluate.c -- samples against a mixture, exactly (evaluate.h). */
#include "sde_view/evaluate.h"
#include "base/rng.h"
#include "base/stats.h"
#include "base/status.h"
#include "flows/ode.h"
#include "paths/guidance.h"
#include "paths/marginal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_rng.h>

/* the coupled RMS error: the exact flow's image of each start (in place in
 * x0), against the samples */
static int coupled_rms(const fmd_gmm *g, size_t n, const double *x, double *x0, const fmd_schedule *sch, int threads,
                       double *lp, double *rms, double *rms_se)
{
    const size_t d = g->d;
    fmd_marginal_field_params E = {g, sch, NULL, NULL};
    fmd_field u = {fmd_marginal_field, d, &E};
    fmd_ode_workspace *ws;
    fmd_ode_control ctl = {{1e-9, 1e-9}, 0.0, 0.0, 0};
    int status = fmd_ode_workspace_alloc(fmd_ode_dopri5, n, d, &ws);
    if (status == FMD_OK) {
        ws->threads = threads;
        status = fmd_ode_solve_adaptive(ws, &u, 0.0, 1.0, x0, &ctl);   /* Thm 10: X_1 of u_t from X_0 */
    }
    fmd_ode_workspace_free(ws);
    if (status != FMD_OK)
        return status;
    for (size_t i = 0; i < n; i++) {   /* squared distance to the exact image, per sample */
        double e = 0.0;
        for (size_t j = 0; j < d; j++)
            e += (x[i * d + j] - x0[i * d + j]) * (x[i * d + j] - x0[i * d + j]);
        lp[i] = e;
    }
    double m, se;
    fmd_mean_se(n, lp, 1, &m, &se);
    *rms = sqrt(m), *rms_se = m > 0.0 ? se / (2.0 * *rms) : 0.0;   /* delta method */
    return FMD_OK;
}

int fmd_evaluate_samples(const fmd_gmm *g, size_t n, const double *x, const double *starts, const fmd_schedule *sch,
                         uint64_t seed, int threads, fmd_sample_report *out)
{
    if (!g || !x || !out || n < 2 || (starts && !sch))
        return FMD_EINVAL;
    memset(out, 0, sizeof *out);
    out->n = n;
    out->rms = out->rms_se = NAN;
    const size_t d = g->d;
    double *z = malloc(2 * n * d * sizeof(double)), *lp = malloc(n * sizeof(double));
    double *x0 = starts ? malloc(n * d * sizeof(double)) : NULL;
    gsl_rng *r = NULL;
    int status = (!z || !lp || (starts && !x0)) ? FMD_ENOMEM : fmd_rng_alloc(seed, 0xe7a2ULL, &r);
    if (status == FMD_OK)
        status = fmd_gmm_sample(g, r, 2 * n, z, NULL);   /* fresh exact draws: the reference and the floor's twin */
    if (status == FMD_OK)
        status = fmd_gmm_log_density(g, n, x, lp);
    if (status == FMD_OK) {
        fmd_mean_se(n, lp, 1, &out->mean_logp, &out->mean_logp_se);
        status = fmd_gmm_log_density(g, n, z, lp);
    }
    if (status == FMD_OK) {
        fmd_mean_se(n, lp, 1, &out->exact_logp, &out->exact_logp_se);
        out->nll_gap = out->exact_logp - out->mean_logp;
        out->nll_gap_se = hypot(out->mean_logp_se, out->exact_logp_se);
        status = fmd_sliced_wasserstein(n, d, x, z, 200, r, &out->w1, &out->w1_se);
    }
    if (status == FMD_OK)
        status = fmd_sliced_wasserstein(n, d, z + n * d, z, 200, r, &out->w1_floor, &out->w1_floor_se);
    if (status == FMD_OK && starts) {
        memcpy(x0, starts, n * d * sizeof(double));
        status = coupled_rms(g, n, x, x0, sch, threads < 1 ? 1 : threads, lp, &out->rms, &out->rms_se);
    }
    int classes[1024];
    size_t nc = 0;
    if (status == FMD_OK)
        fmd_gmm_classes(g, classes, &nc);
    /* each class's share: the points whose class posterior at t = 1 exceeds 1/2
     * (at t = 1 the posterior is the same on every schedule: condot's is used) */
    fmd_schedule condot;
    fmd_schedule_by_name("condot", &condot);
    for (size_t c = 0; status == FMD_OK && c < nc && nc > 1 && nc <= FMD_EVAL_MAX_CLASSES; c++) {
        fmd_guidance_params P;
        status = fmd_guidance_init(&P, g, classes[c], sch ? sch : &condot, 1.0);
        for (int which = 0; status == FMD_OK && which < 2; which++) {
            status = fmd_class_posterior(&P, 1.0, n, which ? z : x, lp, NULL);
            double f = 0.0;
            for (size_t i = 0; i < n; i++)
                f += lp[i] > -M_LN2;
            f /= (double)n;
            *(which ? &out->exact_share[c] : &out->share[c]) = f;
            *(which ? &out->exact_share_se[c] : &out->share_se[c]) = sqrt(f * (1 - f) / (double)n);
        }
        fmd_guidance_free(&P);
        out->class_label[c] = classes[c];
        out->nclasses = c + 1;
    }
    if (r)
        gsl_rng_free(r);
    free(z), free(lp), free(x0);
    return status;
}
