/* Chapter 3 -- constructing a training target.
 *
 * The Gaussian probability path, the exact marginal path of a mixture and
 * its vector field (Thm 10), score (Prop 1), the continuity and Fokker-Planck
 * equations (Thm 12, 15), the SDE extension trick (Thm 13) and Langevin
 * dynamics (Remark 16), each checked in a table, and the data of
 * figures/ch03_*.gp. The data distribution is read from five_modes.gmm. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmd.h"

#define DIR "chapters/03-constructing-a-training-target/"
enum { NP = 20000 };

static fmd_report rep;
static int io_failed;
static const char *const schedules[] = {"condot", "cosine", "lab", "poly:2", "vp"};

/* figure data under $FMD_DATA, written atomically */
static FILE *data(const char *name, fmd_atomic_file *f, const char *header)
{
    return fmd_data_begin(name, header, f, &io_failed);
}

static void done(fmd_atomic_file *f)
{
    fmd_data_end(f, &io_failed);
}

static fmd_marginal *slice(const fmd_gmm *g, const char *name, double t)
{
    fmd_schedule s;
    fmd_marginal *m = NULL;
    if (fmd_schedule_by_name(name, &s) != FMD_OK || fmd_marginal_alloc(g, &m) != FMD_OK ||
        fmd_marginal_set_time(m, &s, t) != FMD_OK) {
        fprintf(stderr, "chapter 3: cannot build the path %s at t = %g\n", name, t);
        exit(1);
    }
    return m;
}

/* ---- 3.2 schedules ------------------------------------------------------- */

static void schedule_table(void)
{
    fmd_atomic_file f;
    FILE *out = data("ch03_schedules.tsv", &f, "# t\talpha, beta for condot cosine lab poly:2 vp");
    for (int k = 0; k <= 200 && out; k++) {
        double t = k / 200.0;
        fprintf(out, "%g", t);
        for (int i = 0; i < 5; i++) {
            fmd_schedule s;
            fmd_sched_point p;
            fmd_schedule_by_name(schedules[i], &s);
            fmd_schedule_at(&s, t, &p);
            fprintf(out, "\t%.6g\t%.6g", p.alpha, p.beta);
        }
        fprintf(out, "\n");
    }
    if (out)
        done(&f);
    for (int i = 0; i < 5; i++) {
        fmd_schedule s;
        fmd_sched_point p1;
        fmd_schedule_by_name(schedules[i], &s);
        fmd_schedule_at(&s, 1.0, &p1);
        char what[64];
        snprintf(what, sizeof what, "%s: alpha_1 + |beta_1| (data end)", schedules[i]);
        fmd_report_check(&rep, what, p1.alpha + fabs(p1.beta), 1.0, 0.0);
    }
}

/* ---- 3.1 conditional vs marginal path -------------------------------------- */

static void paths(const fmd_gmm *g, gsl_rng *r)
{
    const double z[2] = {0.7, 2.1}, ts[5] = {0.0, 0.25, 0.5, 0.75, 1.0};
    fmd_atomic_file fs, fd;
    FILE *samples = data("ch03_paths_samples.tsv", &fs, "# blocks t = 0, .25, .5, .75, 1: x y (conditional, z = (0.7, 2.1))\tx y (marginal)");
    FILE *dens = data("ch03_paths_density.tsv", &fd, "# blocks per t: x y p_t(x, y)");
    for (int q = 0; q < 5 && samples && dens; q++) {
        fmd_marginal *m = slice(g, "condot", ts[q]);
        double xm[2 * 600], eps[2], xc[2];
        fmd_marginal_sample(m, r, 600, xm);
        for (int i = 0; i < 600; i++) {
            fmd_rng_gaussian(r, 2, eps);
            fmd_path_sample(&m->s, 1, 2, z, eps, xc);
            fprintf(samples, "%.5g\t%.5g\t%.5g\t%.5g\n", xc[0], xc[1], xm[2 * i], xm[2 * i + 1]);
        }
        fprintf(samples, "\n\n");
        for (int a = 0; a <= 80; a++) {
            for (int b = 0; b <= 80; b++) {
                double x[2] = {-4.5 + 9.0 * a / 80, -4.5 + 9.0 * b / 80}, lp;
                fmd_marginal_out out = {.logp = &lp};
                fmd_marginal_eval(m, 1, x, &out);
                fprintf(dens, "%.4g\t%.4g\t%.5g\n", x[0], x[1], exp(lp));
            }
            fprintf(dens, "\n");
        }
        fprintf(dens, "\n");
        fmd_marginal_free(m);
    }
    if (samples)
        done(&fs);
    if (dens)
        done(&fd);
}

/* ---- 3.3-3.9 the identities at points ----------------------------------------- */

static void identities(const fmd_gmm *g, gsl_rng *r)
{
    char what[96];
    /* Thm 10 by its definition (importance sampling) vs the closed form */
    for (int q = 0; q < 3; q++) {
        fmd_marginal *m = slice(g, schedules[q], 0.3 + 0.2 * q);
        double x[2], u[2], est[2], se[2];
        fmd_marginal_sample(m, r, 1, x);
        fmd_marginal_out out = {.u = u};
        fmd_marginal_eval(m, 1, x, &out);
        fmd_marginal_field_mc(m, x, 200000, r, est, se);
        snprintf(what, sizeof what, "Thm 10: u_1 at t = %.1f (%s), MC +- 6 SE", m->t, schedules[q]);
        fmd_report_check(&rep, what, est[0], u[0], 6 * se[0]);
        fmd_marginal_free(m);
    }
    /* Thm 12 and 15 with the analytic derivatives, in log form:
     *   d/dt log p + div u~ + u~ . s - (sigma^2/2)(Delta p / p) = 0,
     *   u~ = u + sigma^2/2 s,  div u~ = div u + sigma^2/2 (Delta p/p - |s|^2) */
    for (int pass = 0; pass < 2; pass++) {
        double sigma = pass ? 0.8 : 0.0, worst = 0.0;
        for (int q = 0; q < 500; q++) {
            fmd_marginal *m = slice(g, schedules[q % 5], 0.01 + 0.98 * gsl_rng_uniform(r));
            double x[2], sc[2], u[2], dlp, divu, lap;
            fmd_marginal_sample(m, r, 1, x);
            fmd_marginal_out out = {.score = sc, .u = u, .dlogp_dt = &dlp, .div_u = &divu, .lap_over_p = &lap};
            fmd_marginal_eval(m, 1, x, &out);
            double h = 0.5 * sigma * sigma, ss = sc[0] * sc[0] + sc[1] * sc[1];
            double ut[2] = {u[0] + h * sc[0], u[1] + h * sc[1]};
            double res = dlp + divu + h * (lap - ss) + ut[0] * sc[0] + ut[1] * sc[1] - h * lap;
            double scale = fabs(dlp) + fabs(divu) + fabs(h * lap) + fabs(ut[0] * sc[0]) + fabs(ut[1] * sc[1]);
            worst = fmax(worst, fabs(res) / (1 + scale));
            fmd_marginal_free(m);
        }
        snprintf(what, sizeof what, pass ? "Thm 15: Fokker-Planck residual (sigma 0.8), 500 pts"
                                          : "Thm 12: continuity residual, 500 (x, t)");
        fmd_report_check(&rep, what, worst, 0.0, 1e-12);
    }
    /* Prop 1 at a point: u = (beta^2 alpha_dot/alpha - beta beta_dot) s + (alpha_dot/alpha) x */
    fmd_marginal *m = slice(g, "cosine", 0.6);
    double x[2] = {0.4, -1.1}, sc[2], u[2];
    fmd_marginal_out out = {.score = sc, .u = u};
    fmd_marginal_eval(m, 1, x, &out);
    const fmd_sched_point *s = &m->s;
    double c = s->beta * s->beta * s->alpha_dot / s->alpha - s->beta_beta_dot;
    fmd_report_check(&rep, "Prop 1: u_1 from the score (cosine, t = 0.6)", c * sc[0] + s->alpha_dot / s->alpha * x[0], u[0], 1e-12);
    fmd_marginal_free(m);
}

/* ---- fields and trajectories at t = 0.5 --------------------------------------- */

static void fields(const fmd_gmm *g, gsl_rng *r)
{
    fmd_marginal *m = slice(g, "condot", 0.5);
    const double z[2] = {0.7, 2.1};
    fmd_atomic_file f;
    FILE *out = data("ch03_fields.tsv", &f, "# x y  u(x|z)  u(x)  grad log p (all scaled by 0.08 for arrows), t = 0.5, condot");
    for (int a = 0; a <= 20 && out; a++)
        for (int b = 0; b <= 20; b++) {
            double x[2] = {-4.0 + 0.4 * a, -4.0 + 0.4 * b}, uc[2], u[2], sc[2];
            fmd_path_cond_field(&m->s, 1, 2, z, x, uc);
            fmd_marginal_out o = {.u = u, .score = sc};
            fmd_marginal_eval(m, 1, x, &o);
            fprintf(out, "%g\t%g\t%.4g\t%.4g\t%.4g\t%.4g\t%.4g\t%.4g\n", x[0], x[1], 0.08 * uc[0], 0.08 * uc[1],
                    0.08 * u[0], 0.08 * u[1], 0.08 * sc[0], 0.08 * sc[1]);
        }
    if (out)
        done(&f);
    fmd_marginal_free(m);
    /* ODE trajectories of the marginal field from p_0 */
    enum { STARTS = 40, STEPS = 100 };
    fmd_schedule sch;
    fmd_schedule_by_name("condot", &sch);
    fmd_marginal_field_params P = {g, &sch, NULL, NULL};
    fmd_field u = {fmd_marginal_field, 2, &P};
    double x[2 * STARTS], ts[STEPS + 1], *path = malloc(sizeof(double) * (STEPS + 1) * 2 * STARTS);
    fmd_rng_gaussian(r, 2 * STARTS, x);
    fmd_time_grid(0.0, 1.0, STEPS, ts);
    fmd_ode_workspace *ws;
    fmd_ode_workspace_alloc(fmd_ode_rk4, STARTS, 2, &ws);
    fmd_ode_solve_grid(ws, &u, ts, STEPS + 1, x, path);
    fmd_ode_workspace_free(ws);
    out = data("ch03_trajectories.tsv", &f, "# one block per start: t x y (ODE with the marginal field, condot)");
    for (int s = 0; s < STARTS && out; s++) {
        for (int k = 0; k <= STEPS; k++)
            fprintf(out, "%g\t%.5g\t%.5g\n", ts[k], path[(size_t)k * 2 * STARTS + 2 * s], path[(size_t)k * 2 * STARTS + 2 * s + 1]);
        fprintf(out, "\n\n");
    }
    if (out)
        done(&f);
    free(path);
}

/* ---- 3.7 the SDE extension trick for several sigma ------------------------------ */

static double sigma_const(double t, void *p)
{
    (void)t;
    return *(double *)p;
}

typedef struct { const fmd_marginal *m; double a[2]; } proj;
static double proj_cdf(double s, void *p)
{
    const proj *q = p;
    return fmd_marginal_projected_cdf(q->m, q->a, s);
}

/* KS of the first coordinate and mean log p against an exact sample */
static void law_checks(const fmd_marginal *m, const double *X, gsl_rng *r, const char *what)
{
    static double s[NP], lp[NP], ref[2 * NP];
    char q[96];
    proj p = {m, {1.0, 0.0}};
    for (int i = 0; i < NP; i++)
        s[i] = X[2 * i];
    double D = fmd_ks_distance(NP, s, proj_cdf, &p);
    snprintf(q, sizeof q, "%s: KS distance of x_1", what);
    fmd_report_check(&rep, q, D, 0.0, fmd_ks_threshold(NP, 1.97e-9));
    fmd_marginal_out o = {.logp = lp};
    fmd_marginal_eval(m, NP, X, &o);
    double m1, se1, m2, se2;
    fmd_mean_se(NP, lp, 1, &m1, &se1);
    fmd_marginal_sample(m, r, NP, ref);
    fmd_marginal_eval(m, NP, ref, &o);
    fmd_mean_se(NP, lp, 1, &m2, &se2);
    snprintf(q, sizeof q, "%s: mean log p_t(X_t)", what);
    fmd_report_check(&rep, q, m1, m2, 6 * sqrt(se1 * se1 + se2 * se2));
}

static void sde_extension(const fmd_gmm *g, gsl_rng *r)
{
    const double sigmas[4] = {0.0, 0.5, 1.0, 2.0};
    enum { STEPS = 500, SHOW = 6, BINS = 60 };
    fmd_schedule sch;
    fmd_schedule_by_name("condot", &sch);
    fmd_marginal *m0 = slice(g, "condot", 0.0), *m1 = slice(g, "condot", 1.0);
    double *X = malloc(sizeof(double) * 2 * NP), ts[STEPS + 1];
    double *path = malloc(sizeof(double) * (STEPS + 1) * 2 * NP);
    static double hist[4][BINS];
    fmd_time_grid(0.0, 1.0, STEPS, ts);
    fmd_atomic_file f;
    FILE *out = data("ch03_sde_paths.tsv", &f, "# blocks: sigma index * SHOW + particle; t x y");
    for (int q = 0; q < 4; q++) {
        double sigma = sigmas[q];
        fmd_marginal_sample(m0, r, NP, X);
        fmd_marginal_field_params P = {g, &sch, sigma_const, &sigma};
        fmd_sigma_schedule sig = {sigma_const, &sigma};
        fmd_sde sde = {{fmd_marginal_sde_drift, 2, &P}, fmd_diffusion_sigma_t, &sig};
        fmd_sde_workspace *ws;
        fmd_sde_workspace_alloc(fmd_sde_heun, NP, 2, &ws);
        ws->threads = fmd_cpus_available();   /* same bits on any number */
        fmd_sde_solve_grid(ws, &sde, ts, STEPS + 1, X, 30 + q, path);
        fmd_sde_workspace_free(ws);
        char what[64];
        snprintf(what, sizeof what, "Thm 13, sigma = %.1f, t = 1", sigma);
        law_checks(m1, X, r, what);
        for (int i = 0; i < SHOW && out; i++) {
            for (int k = 0; k <= STEPS; k += 5)
                fprintf(out, "%g\t%.5g\t%.5g\n", ts[k], path[(size_t)k * 2 * NP + 2 * i], path[(size_t)k * 2 * NP + 2 * i + 1]);
            fprintf(out, "\n\n");
        }
        for (int i = 0; i < NP; i++) {
            int b = (int)floor((X[2 * i] + 4.0) / (8.0 / BINS));
            if (b >= 0 && b < BINS)
                hist[q][b] += 1.0 / (NP * (8.0 / BINS));
        }
    }
    if (out)
        done(&f);
    out = data("ch03_sde_hist.tsv", &f, "# x_1\tdensity for sigma = 0, 0.5, 1, 2\texact p_data marginal of x_1");
    for (int b = 0; b < BINS && out; b++) {
        double c = -4.0 + (b + 0.5) * 8.0 / BINS, a[2] = {1.0, 0.0};
        fprintf(out, "%.4g\t%.5g\t%.5g\t%.5g\t%.5g\t%.5g\n", c, hist[0][b], hist[1][b], hist[2][b], hist[3][b],
                fmd_marginal_projected_pdf(m1, a, c));
    }
    if (out)
        done(&f);
    free(X);
    free(path);
    fmd_marginal_free(m0);
    fmd_marginal_free(m1);
}

/* ---- 3.10 Langevin dynamics ------------------------------------------------------ */

static void langevin(const fmd_gmm *g, gsl_rng *r)
{
    enum { BINS = 60 };
    const double times[5] = {0.0, 2.0, 5.0, 10.0, 30.0};
    fmd_marginal *m1 = slice(g, "condot", 1.0);
    fmd_langevin_params lp = {g, sqrt(2.0)};
    double sigma = lp.sigma, *X = malloc(sizeof(double) * 2 * NP);
    fmd_sde sde = {{fmd_langevin_drift, 2, &lp}, fmd_diffusion_constant, &sigma};
    for (int i = 0; i < 2 * NP; i++)
        X[i] = i % 2 ? -3.8 : 3.5;   /* a poor start: every particle at (3.5, -3.8) */
    fmd_atomic_file fh, fsc;
    FILE *hist = data("ch03_langevin_hist.tsv", &fh, "# blocks T = 0, 2, 5, 10, 30: x_1, density of the samples, exact");
    FILE *scat = data("ch03_langevin_scatter.tsv", &fsc, "# blocks T = 0, 2, 5, 10, 30: x y (first 1500 particles)");
    fmd_sde_workspace *ws;
    fmd_sde_workspace_alloc(fmd_sde_heun, NP, 2, &ws);
    ws->threads = fmd_cpus_available();   /* same bits on any number */
    for (int q = 0; q < 5; q++) {
        if (q > 0) {
            size_t steps = (size_t)(50 * (times[q] - times[q - 1]));
            double *ts = malloc(sizeof(double) * (steps + 1));
            fmd_time_grid(times[q - 1], times[q], steps, ts);
            fmd_sde_solve_grid(ws, &sde, ts, steps + 1, X, 60 + q, NULL);
            free(ts);
        }
        double h[BINS] = {0}, a[2] = {1.0, 0.0};
        for (int i = 0; i < NP; i++) {
            int b = (int)floor((X[2 * i] + 4.0) / (8.0 / BINS));
            if (b >= 0 && b < BINS)
                h[b] += 1.0 / (NP * (8.0 / BINS));
        }
        for (int b = 0; b < BINS && hist; b++) {
            double c = -4.0 + (b + 0.5) * 8.0 / BINS;
            fprintf(hist, "%.4g\t%.5g\t%.5g\n", c, h[b], fmd_marginal_projected_pdf(m1, a, c));
        }
        for (int i = 0; i < 1500 && scat; i++)
            fprintf(scat, "%.4g\t%.4g\n", X[2 * i], X[2 * i + 1]);
        if (hist)
            fprintf(hist, "\n\n");
        if (scat)
            fprintf(scat, "\n\n");
    }
    fmd_sde_workspace_free(ws);
    law_checks(m1, X, r, "Remark 16, Langevin from (3.5, -3.8), T = 30");
    if (hist)
        done(&fh);
    if (scat)
        done(&fsc);
    free(X);
    fmd_marginal_free(m1);
}

int main(int argc, char **argv)
{
    int full;   /* this chapter has no long runs: make tour-full runs it as make tour does */
    if (fmd_chapter_options(argc, argv, "chapter 3", "nothing more here: this chapter has no long runs", &full) != 0)
        return 2;
    fmd_gmm *g;
    fmd_parse_error err;
    if (fmd_gmm_load(DIR "five_modes.gmm", &g, &err) != FMD_OK) {
        fprintf(stderr, "chapter 3: %s:%ld: %s (run from the repository root)\n", err.file, err.line, err.reason);
        return 1;
    }
    gsl_rng *r;
    fmd_rng_alloc(3, 0, &r);
    fmd_report_begin(&rep, stdout, "Chapter 3: constructing a training target");
    if (fmd_report_tsv(&rep, "ch03_checks.tsv") != FMD_OK)
        fprintf(stderr, "could not open the table of checks under %s/\n", fmd_data_dir());
    schedule_table();
    paths(g, r);
    identities(g, r);
    fields(g, r);
    sde_extension(g, r);
    langevin(g, r);
    gsl_rng_free(r);
    fmd_gmm_free(g);
    if (io_failed)
        fprintf(stderr, "chapter 3: could not write the figure data under %s/ (set FMD_DATA, or run from the "
                        "repository root)\n", fmd_data_dir());
    return fmd_report_end(&rep) || io_failed;
}
