/* sampler_bench.c -- every sampler of chapters 2 and 6 on the five-mode
 * mixture under the vp path, driven by the exact field / score / noise, and
 * measured against the exact p_data: the mean exact negative log-likelihood
 * gap (mean -log p_data of the samples minus that of fresh data; negative =
 * samples crowding the modes) and the sliced W1 distance to fresh data, each
 * with its standard error, against NFE (1 to 1000) and wall time.
 *   ODE on the probability flow (the course field u_t on [0, 1]): Euler, Heun,
 *     RK4 (ours), Dormand-Prince (adaptive, tolerance swept), GSL's rk4 and
 *     rkf45 (whole batch);
 *   SDE: Euler-Maruyama and stochastic Heun on Thm 13's SDE with
 *     sigma_t^2 = 2 b_t (the reverse-time SDE), on [0, 1 - 1e-3];
 *   discrete: ancestral DDPM (DDIM eta = 1 on NFE levels of the 1000-step
 *     chain), DDIM (eta = 0), predictor-corrector (1 corrector step), and the
 *     exponential integrators of order 1 and 2 on [0, 1 - 1e-3] (order 2 also
 *     in the data form, DPM-Solver++(2S)).
 * Goal reported: the second-order exponential integrator matches
 * Euler-with-1000-steps' error in at most 20 NFE.
 * usage: sampler_bench RESULTS_DIR   (writes sampler_error.tsv, sampler_goals.tsv) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fmd.h"

#define GMM "chapters/03-constructing-a-training-target/five_modes.gmm"
enum { N = 4000 };

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct {
    char name[32];
    double nfe, seconds, nll, nll_se, w1, w1_se;
} result;

typedef struct {
    const fmd_gmm *g;
    double data_nll, data_nll_se;
    double *z;   /* fresh data for the sliced W1 */
    gsl_rng *r;
    result rows[512];
    size_t nrows;
} bench;

typedef struct { double nll, nll_se, w1, w1_se; } score;

static score measure(bench *B, const double *x)
{
    score s;
    double *lp = malloc(N * sizeof(double));
    fmd_gmm_log_density(B->g, N, x, lp);
    for (int i = 0; i < N; i++)
        lp[i] = -lp[i];
    double m, se;
    fmd_mean_se(N, lp, 1, &m, &se);
    s.nll = m - B->data_nll;
    s.nll_se = sqrt(se * se + B->data_nll_se * B->data_nll_se);
    fmd_sliced_wasserstein(N, 2, x, B->z, 100, B->r, &s.w1, &s.w1_se);
    free(lp);
    return s;
}

static void row(bench *B, const char *name, double nfe, double seconds, const double *x)
{
    score s = measure(B, x);
    if (B->nrows < sizeof B->rows / sizeof B->rows[0]) {
        result *q = &B->rows[B->nrows++];
        snprintf(q->name, sizeof q->name, "%s", name);
        q->nfe = nfe, q->seconds = seconds, q->nll = s.nll, q->nll_se = s.nll_se, q->w1 = s.w1, q->w1_se = s.w1_se;
    }
    printf("%-22s NFE %6.0f  %8.3f s  NLL gap %+.4f +- %.4f  W1 %.4f +- %.4f\n", name, nfe, seconds, s.nll, s.nll_se, s.w1,
           s.w1_se);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "bench/results";
    fmd_gmm *g;
    fmd_parse_error perr;
    if (fmd_gmm_load(GMM, &g, &perr) != FMD_OK)
        return 1;
    static bench B;
    B.g = g;
    B.z = malloc(2 * N * sizeof(double));
    fmd_rng_alloc(11, 0, &B.r);
    double floor_w1[5];
    {
        double *z2 = malloc(2 * N * sizeof(double)), *lp = malloc(N * sizeof(double));
        fmd_gmm_sample(g, B.r, N, B.z, NULL);
        fmd_gmm_sample(g, B.r, N, z2, NULL);
        fmd_gmm_log_density(g, N, z2, lp);
        for (int i = 0; i < N; i++)
            lp[i] = -lp[i];
        fmd_mean_se(N, lp, 1, &B.data_nll, &B.data_nll_se);
        double w, wse;
        for (int k = 0; k < 5; k++) {   /* the noise floor: fresh data against the reference data */
            fmd_gmm_sample(g, B.r, N, z2, NULL);
            fmd_sliced_wasserstein(N, 2, z2, B.z, 100, B.r, &floor_w1[k], &wse);
        }
        fmd_mean_se(5, floor_w1, 1, &w, &wse);
        printf("noise floor: sliced W1 of data vs data %.4f +- %.4f (5 fresh samples)\n", w, wse);
        free(z2), free(lp);
    }
    char path[4096];
    fmd_atomic_file tsv;
    snprintf(path, sizeof path, "%s/sampler_error.tsv", dir);
    if (fmd_atomic_open(path, &tsv) != FMD_OK)
        return 1;
    {
        double w, wse;
        fmd_mean_se(5, floor_w1, 1, &w, &wse);
        B.rows[0] = (result){"data vs data", 1, 1e-4, 0, 0, w, wse};
        B.rows[1] = (result){"data vs data", 1000, 10, 0, 0, w, wse};
        B.nrows = 2;
    }
    fmd_schedule vp;
    fmd_schedule_by_name("vp", &vp);
    fmd_marginal_field_params M = {g, &vp, NULL, NULL};
    fmd_field u = {fmd_marginal_field, 2, &M};
    fmd_sched_point s0;
    fmd_schedule_at(&vp, 0.0, &s0);
    double *x = malloc(2 * N * sizeof(double)), *x0 = malloc(2 * N * sizeof(double));
    fmd_sample_init(5, N, 2, x0);
    for (int i = 0; i < 2 * N; i++)
        x0[i] *= s0.beta;   /* X_0 ~ N(0, beta_0^2 I), vp's p_0 up to alpha_0 = 0.0066 */
    const size_t nfes[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000};
    const size_t NN = sizeof nfes / sizeof nfes[0];
    double euler1000_nll = NAN, euler1000_w1 = NAN, dpm2_nfe_nll = NAN, dpm2_nfe_w1 = NAN;
    double euler1000_nll_se = 0, euler1000_w1_se = 0;
    /* our ODE steppers on the probability flow */
    const fmd_ode_stepper_type *odes[3] = {fmd_ode_euler, fmd_ode_heun, fmd_ode_rk4};
    for (int k = 0; k < 3; k++)
        for (size_t j = 0; j < NN; j++) {
            size_t steps = nfes[j] / (size_t)odes[k]->stages;
            if (steps == 0)
                continue;
            memcpy(x, x0, 2 * N * sizeof(double));
            double ts[1001], t0 = now();
            fmd_time_grid(0.0, 1.0, steps, ts);
            fmd_ode_workspace *ws;
            fmd_ode_workspace_alloc(odes[k], N, 2, &ws);
            fmd_ode_solve_grid(ws, &u, ts, steps + 1, x, NULL);
            fmd_ode_workspace_free(ws);
            row(&B, odes[k]->name, (double)(steps * (size_t)odes[k]->stages), now() - t0, x);
            if (k == 0 && steps == 1000) {
                score s = measure(&B, x);
                euler1000_nll = s.nll, euler1000_w1 = s.w1, euler1000_nll_se = s.nll_se, euler1000_w1_se = s.w1_se;
            }
        }
    /* Dormand-Prince, adaptive, tolerance swept */
    for (double tol = 1e-2; tol >= 1e-8; tol /= 10) {
        memcpy(x, x0, 2 * N * sizeof(double));
        fmd_ode_workspace *ws;
        fmd_ode_workspace_alloc(fmd_ode_dopri5, N, 2, &ws);
        fmd_ode_control ctl = {{tol, tol}, 0, 0, 0};
        double t0 = now();
        fmd_ode_solve_adaptive(ws, &u, 0.0, 1.0, x, &ctl);
        double el = now() - t0, nfe = (double)ws->nfe;   /* evaluations of the whole batch */
        fmd_ode_workspace_free(ws);
        row(&B, "dopri5 (adaptive)", nfe, el, x);
    }
    /* GSL on the same ODE, whole batch */
    const char *gsls[2] = {"rk4", "rkf45"};
    for (int k = 0; k < 2; k++)
        for (size_t j = 0; j < NN; j++) {
            size_t steps = nfes[j] / (k == 0 ? 12 : 6);   /* GSL rk4 step-doubles: 12 evaluations a step */
            if (k == 1)
                steps = 0;
            if (k == 0 && steps == 0)
                continue;
            memcpy(x, x0, 2 * N * sizeof(double));
            fmd_gsl_options o = {fmd_gsl_stepper_by_name(gsls[k]), FMD_GSL_WHOLE_BATCH, steps, 0, 0};
            if (k == 1)
                o.rtol = o.atol = pow(10.0, -1.0 - (double)j * 0.8);
            double nfe, t0 = now();
            if (fmd_gsl_solve(&u, N, 0.0, 1.0, x, &o, &nfe) != FMD_OK)
                continue;
            char name[32];
            snprintf(name, sizeof name, "gsl %s", gsls[k]);
            row(&B, name, nfe, now() - t0, x);
        }
    /* SDEs: Thm 13 with sigma_t^2 = 2 b_t (the reverse-time SDE) */
    fmd_forward F;
    fmd_forward_by_name("vp", &F);
    fmd_forward_params P = {&F, g};
    fmd_sde rev = {{fmd_reverse_drift, 2, &P}, fmd_reverse_diffusion, &P};
    const fmd_sde_stepper_type *sdes[2] = {fmd_sde_em, fmd_sde_heun};
    for (int k = 0; k < 2; k++)
        for (size_t j = 0; j < NN; j++) {
            size_t steps = nfes[j] / (k == 0 ? 1 : 2);
            if (steps == 0)
                continue;
            memcpy(x, x0, 2 * N * sizeof(double));
            double ts[1001], t0 = now();
            fmd_time_grid(0.0, 1.0 - 1e-3, steps, ts);
            fmd_sde_workspace *ws;
            fmd_sde_workspace_alloc(sdes[k], N, 2, &ws);
            fmd_sde_solve_grid(ws, &rev, ts, steps + 1, x, 40 + j, NULL);
            fmd_sde_workspace_free(ws);
            row(&B, k ? "stochastic Heun" : "Euler-Maruyama", (double)(steps * (k ? 2 : 1)), now() - t0, x);
        }
    /* the discrete samplers and exponential integrators */
    fmd_ddpm q;
    fmd_ddpm_init(1000, 1e-4, 0.02, &q);
    for (size_t j = 0; j < NN; j++) {
        size_t nfe, K = nfes[j];
        double t0 = now();
        fmd_ddim(&q, K, 1.0, fmd_mixture_eps, g, N, 2, 50 + j, x, &nfe);
        row(&B, "ancestral (eta = 1)", (double)nfe, now() - t0, x);
        t0 = now();
        fmd_ddim(&q, K, 0.0, fmd_mixture_eps, g, N, 2, 60 + j, x, &nfe);
        row(&B, "DDIM (eta = 0)", (double)nfe, now() - t0, x);
        if (K >= 2) {
            t0 = now();
            fmd_predictor_corrector(&vp, 0.0, 1.0, K / 2, 1, 0.05, fmd_mixture_eps, g, N, 2, 70 + j, x, &nfe);
            row(&B, "predictor-corrector", (double)nfe, now() - t0, x);
        }
        for (int q = 0; q < 3; q++) {   /* order 1, order 2 (noise form), order 2 (data form) */
            const int order = q == 0 ? 1 : 2;
            if (K < (size_t)order)
                continue;
            memcpy(x, x0, 2 * N * sizeof(double));
            t0 = now();
            fmd_exponential_integrator(&vp, order, q == 2 ? FMD_EXP_DATA : FMD_EXP_NOISE, 0.0, 1.0 - 1e-3,
                                       K / (size_t)order, fmd_mixture_eps, g, N, 2, 0, 1, x, &nfe);
            row(&B, q == 0 ? "exponential, order 1" : q == 1 ? "exponential, order 2" : "exponential, data form, order 2",
                (double)nfe, now() - t0, x);
            if (q == 2)
                continue;
            if (order == 2 && nfe == 20) {
                score s = measure(&B, x);
                dpm2_nfe_nll = s.nll, dpm2_nfe_w1 = s.w1;
            }
        }
    }
    fmd_ddpm_free(&q);
    /* one block per sampler (blank lines between), in order of first appearance */
    fprintf(tsv.fp, "# sampler\tnfe\tseconds\tnll_gap\tnll_gap_se\tsliced_w1\tsliced_w1_se (one block per sampler)\n");
    for (size_t i = 0; i < B.nrows; i++) {
        int first = 1;
        for (size_t j = 0; j < i; j++)
            first &= strcmp(B.rows[j].name, B.rows[i].name) != 0;
        if (!first)
            continue;
        for (size_t j = i; j < B.nrows; j++)
            if (strcmp(B.rows[j].name, B.rows[i].name) == 0)
                fprintf(tsv.fp, "\"%s\"\t%g\t%.4g\t%.5f\t%.5f\t%.5f\t%.5f\n", B.rows[j].name, B.rows[j].nfe,
                        B.rows[j].seconds, B.rows[j].nll, B.rows[j].nll_se, B.rows[j].w1, B.rows[j].w1_se);
        fprintf(tsv.fp, "\n\n");
    }
    int io = fmd_atomic_commit(&tsv) != FMD_OK;
    fmd_atomic_file goals;
    snprintf(path, sizeof path, "%s/sampler_goals.tsv", dir);
    if (fmd_atomic_open(path, &goals) == FMD_OK) {
        fprintf(goals.fp, "quantity\teuler_1000\tdpm_solver_2_at_20_nfe\tmet\n");
        fprintf(goals.fp, "abs_nll_gap\t%.5f (SE %.5f)\t%.5f\t%s\n", fabs(euler1000_nll), euler1000_nll_se,
                fabs(dpm2_nfe_nll), fabs(dpm2_nfe_nll) <= fabs(euler1000_nll) + 2 * euler1000_nll_se ? "yes" : "no");
        fprintf(goals.fp, "sliced_w1\t%.5f (SE %.5f)\t%.5f\t%s\n", euler1000_w1, euler1000_w1_se, dpm2_nfe_w1,
                dpm2_nfe_w1 <= euler1000_w1 + 2 * euler1000_w1_se ? "yes" : "no");
        io |= fmd_atomic_commit(&goals) != FMD_OK;
        printf("goal: DPM-Solver-2 at 20 NFE |NLL gap| %.4f, W1 %.4f vs Euler 1000: %.4f (SE %.4f), %.4f (SE %.4f)\n",
               fabs(dpm2_nfe_nll), dpm2_nfe_w1, fabs(euler1000_nll), euler1000_nll_se, euler1000_w1, euler1000_w1_se);
    }
    free(x), free(x0), free(B.z);
    gsl_rng_free(B.r);
    fmd_gmm_free(g);
    return io;
}
