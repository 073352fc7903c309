/* ode_bench.c -- every ODE stepper, ours and GSL's, on every reference problem:
 * error against the exact flow versus NFE and versus wall time, for a batch
 * of 10^5 particles in d = 2; and particle-steps per second of the fixed-step
 * steppers. The peer is GSL's gsl_odeiv2 in the same run, used both ways a
 * user would: one d-dimensional system per particle, and the whole batch as
 * one system of dimension n d.
 *
 * usage: ode_bench RESULTS_DIR     (writes ode_error.tsv, ode_<problem>.tsv,
 *                                   ode_throughput.tsv, ode_goals.tsv)
 * Timings are single runs on a quiet machine; ratios, not absolute times, are
 * the result. Ours runs on 1 thread (as GSL does) unless a row says 2. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fmd.h"

enum { N_PART = 100000, MAX_ROWS = 64 };

typedef struct {
    char title[64];     /* series name, e.g. "ours rk4" */
    size_t rows;
    double setting[MAX_ROWS];   /* steps, or tolerance */
    double nfe[MAX_ROWS];       /* field evaluations per particle */
    double seconds[MAX_ROWS];
    double error[MAX_ROWS];     /* max relative error over the batch */
} series;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The worst particle's relative error |x - psi_T(x0)| / |psi_T(x0)| (norms
 * of 2-vectors: components of a rotating point cross zero, vectors do not). */
static double max_rel_error(const fmd_ref_problem *p, double T, const double *x0, const double *x,
                            double *exact)
{
    p->exact(T, N_PART, x0, exact);
    double worst = 0.0;
    for (size_t i = 0; i < (size_t)N_PART; i++) {
        double e = hypot(x[2 * i] - exact[2 * i], x[2 * i + 1] - exact[2 * i + 1]);
        worst = fmax(worst, e / hypot(exact[2 * i], exact[2 * i + 1]));
    }
    return worst;
}

static void add_row(series *s, double setting, double nfe, double seconds, double error)
{
    if (s->rows >= MAX_ROWS || !(error > 0.0))
        return;   /* an error of exactly 0 has no place on a log axis */
    s->setting[s->rows] = setting;
    s->nfe[s->rows] = nfe;
    s->seconds[s->rows] = seconds;
    s->error[s->rows] = error;
    s->rows++;
}

/* Slope of log(error) against log(NFE) over the rows with error > 1e-13
 * (below that rounding bends the curve): minus the order, for fixed steps. */
static double slope(const series *s)
{
    double lx[MAX_ROWS], ly[MAX_ROWS];
    size_t m = 0;
    for (size_t i = 0; i < s->rows; i++)
        if (s->error[i] > 1e-13) {
            lx[m] = log(s->nfe[i]);
            ly[m] = log(s->error[i]);
            m++;
        }
    return m >= 3 ? fmd_fit_slope(m, lx, ly, NULL, NULL) : NAN;
}

/* NFE at which the series first reaches `target` error, interpolated
 * log-linearly between the bracketing rows (rows sorted by NFE); NAN if never. */
static double nfe_to_reach(const series *s, double target)
{
    for (size_t i = 0; i < s->rows; i++) {
        if (s->error[i] <= target) {
            if (i == 0)
                return s->nfe[0];
            double a = log(s->error[i - 1]), b = log(s->error[i]), w = (log(target) - a) / (b - a);
            return exp(log(s->nfe[i - 1]) + w * (log(s->nfe[i]) - log(s->nfe[i - 1])));
        }
    }
    return NAN;
}

/* ---- the runs ---------------------------------------------------------------- */

static void run_ours_fixed(const fmd_ref_problem *p, const fmd_ode_stepper_type *type,
                           const double *x0, double *x, double *exact, size_t nmin, size_t nmax,
                           int threads, series *s)
{
    snprintf(s->title, sizeof s->title, "ours %s%s", type->name, threads > 1 ? " (2 threads)" : "");
    fmd_ode_workspace *ws;
    if (fmd_ode_workspace_alloc(type, N_PART, 2, &ws) != FMD_OK)
        return;
    ws->threads = threads;
    for (size_t steps = nmin; steps <= nmax; steps *= 2) {
        double *ts = malloc((steps + 1) * sizeof(double));
        fmd_time_grid(0.0, p->T, steps, ts);
        memcpy(x, x0, sizeof(double) * 2 * N_PART);
        fmd_ode_reset(ws);
        double t0 = now();
        int status = fmd_ode_solve_grid(ws, &p->u, ts, steps + 1, x, NULL);
        double sec = now() - t0;
        if (status == FMD_OK)
            add_row(s, (double)steps, (double)ws->nfe, sec, max_rel_error(p, p->T, x0, x, exact));
        free(ts);
    }
    fmd_ode_workspace_free(ws);
}

static void run_ours_adaptive(const fmd_ref_problem *p, const double *x0, double *x, double *exact,
                              series *s)
{
    snprintf(s->title, sizeof s->title, "ours dopri5 adaptive");
    fmd_ode_workspace *ws;
    if (fmd_ode_workspace_alloc(fmd_ode_dopri5, N_PART, 2, &ws) != FMD_OK)
        return;
    for (double tol = 1e-3; tol >= 1e-12; tol /= 10) {
        memcpy(x, x0, sizeof(double) * 2 * N_PART);
        fmd_ode_reset(ws);
        fmd_ode_control ctl = {{tol, tol}, 0.0, 0.0, 0};
        double t0 = now();
        int status = fmd_ode_solve_adaptive(ws, &p->u, 0.0, p->T, x, &ctl);
        double sec = now() - t0;
        if (status == FMD_OK)
            add_row(s, tol, (double)ws->nfe, sec, max_rel_error(p, p->T, x0, x, exact));
    }
    fmd_ode_workspace_free(ws);
}

static void run_gsl(const fmd_ref_problem *p, const char *name, fmd_gsl_mode mode, int fixed,
                    const double *x0, double *x, double *exact, series *s)
{
    snprintf(s->title, sizeof s->title, "GSL %s %s%s", name,
             mode == FMD_GSL_WHOLE_BATCH ? "whole batch" : "per particle", fixed ? "" : " adaptive");
    for (int j = 0; j < 12; j++) {
        fmd_gsl_options opt = {fmd_gsl_stepper_by_name(name), mode, 0, 0.0, 0.0};
        double setting;
        if (fixed) {
            opt.steps = (size_t)4 << j;
            if (opt.steps > 256)
                break;
            setting = (double)opt.steps;
        } else {
            setting = opt.rtol = opt.atol = pow(10.0, -3.0 - j);
            if (setting < 1e-12)
                break;
        }
        memcpy(x, x0, sizeof(double) * 2 * N_PART);
        double nfe = 0, t0 = now();
        int status = fmd_gsl_solve(&p->u, N_PART, 0.0, p->T, x, &opt, &nfe);
        double sec = now() - t0;
        if (status == FMD_OK)
            add_row(s, setting, nfe, sec, max_rel_error(p, p->T, x0, x, exact));
    }
}

/* ---- output ------------------------------------------------------------------ */

static int write_problem(const char *dir, const char *slug, const char *problem, const series *all,
                         size_t ns, FILE *flat)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/ode_%s.tsv", dir, slug);
    fmd_atomic_file f;
    if (fmd_atomic_open(path, &f) != FMD_OK)
        return 1;
    for (size_t i = 0; i < ns; i++) {
        const series *s = &all[i];
        if (s->rows == 0)
            continue;
        /* a slope is an order only for fixed steps */
        double sl = strstr(s->title, "adaptive") ? NAN : slope(s);
        /* the first line of each block is its gnuplot title (columnheader) */
        if (isnan(sl))
            fprintf(f.fp, "\"%s\"\tsetting\tnfe\tseconds\terror\n", s->title);
        else
            fprintf(f.fp, "\"%s (slope %.2f)\"\tsetting\tnfe\tseconds\terror\n", s->title, sl);
        for (size_t r = 0; r < s->rows; r++) {
            fprintf(f.fp, "%zu\t%.3g\t%.6g\t%.6g\t%.6g\n", r, s->setting[r], s->nfe[r], s->seconds[r],
                    s->error[r]);
            fprintf(flat, "%s\t%s\t%.3g\t%.6g\t%.6g\t%.6g\t%.4f\n", problem, s->title, s->setting[r],
                    s->nfe[r], s->seconds[r], s->error[r], sl);
        }
        fprintf(f.fp, "\n\n");
    }
    return fmd_atomic_commit(&f) != FMD_OK;
}

static series *find(series *all, size_t ns, const char *title)
{
    for (size_t i = 0; i < ns; i++)
        if (strcmp(all[i].title, title) == 0)
            return &all[i];
    return NULL;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "bench/results";
    double *x0 = malloc(sizeof(double) * 2 * N_PART), *x = malloc(sizeof(double) * 2 * N_PART);
    double *exact = malloc(sizeof(double) * 2 * N_PART);
    gsl_rng *r;
    if (!x0 || !x || !exact || fmd_rng_alloc(2026, 0, &r) != FMD_OK)
        return 1;
    /* starting points in [0.2, 1.5]^2: no component near 0 (relative errors)
     * and no Riccati blow-up (that needs x0 <= -2 / T^2) */
    for (size_t i = 0; i < 2 * (size_t)N_PART; i++)
        x0[i] = 0.2 + 1.3 * gsl_rng_uniform(r);
    gsl_rng_free(r);

    char path[4096];
    snprintf(path, sizeof path, "%s/ode_error.tsv", dir);
    fmd_atomic_file flat, thr, goals;
    if (fmd_atomic_open(path, &flat) != FMD_OK)
        return 1;
    fprintf(flat.fp, "problem\tsolver\tsetting\tnfe_per_particle\tseconds\tmax_rel_error\tslope_vs_nfe\n");
    snprintf(path, sizeof path, "%s/ode_throughput.tsv", dir);
    if (fmd_atomic_open(path, &thr) != FMD_OK)
        return 1;
    fprintf(thr.fp, "problem\tsolver\tsteps\tparticle_steps_per_s\tparticle_nfe_per_s\tours_rk4_speedup_per_step\n");
    snprintf(path, sizeof path, "%s/ode_goals.tsv", dir);
    if (fmd_atomic_open(path, &goals) != FMD_OK)
        return 1;
    fprintf(goals.fp, "problem\tgoal\tours\tpeer\tratio\tmet\n");

    const char *slugs[FMD_NREF] = {"linear", "rotation", "riccati"};
    int io = 0;
    for (int pi = 0; pi < FMD_NREF; pi++) {
        const fmd_ref_problem *p = &fmd_ref_problems[pi];
        series all[24];
        size_t ns = 0;
        memset(all, 0, sizeof all);
        printf("== %s over [0, %g], %d particles in d = 2\n", p->name, p->T, N_PART);
        static const struct { const char *name; size_t nmin, nmax; } fixed[] = {
            {"euler", 8, 1024}, {"midpoint", 8, 512}, {"heun", 8, 512}, {"rk4", 4, 1024}, {"dopri5", 4, 256}};
        for (int k = 0; k < 5; k++)
            run_ours_fixed(p, fmd_ode_stepper_by_name(fixed[k].name), x0, x, exact, fixed[k].nmin,
                           fixed[k].nmax, 1, &all[ns++]);
        run_ours_fixed(p, fmd_ode_rk4, x0, x, exact, 4, 1024, 2, &all[ns++]);
        run_ours_adaptive(p, x0, x, exact, &all[ns++]);
        for (int mode = 0; mode < 2; mode++) {
            run_gsl(p, "rk4", (fmd_gsl_mode)mode, 1, x0, x, exact, &all[ns++]);
            run_gsl(p, "rkf45", (fmd_gsl_mode)mode, 0, x0, x, exact, &all[ns++]);
            run_gsl(p, "rkck", (fmd_gsl_mode)mode, 0, x0, x, exact, &all[ns++]);
            run_gsl(p, "rk8pd", (fmd_gsl_mode)mode, 0, x0, x, exact, &all[ns++]);
        }
        io |= write_problem(dir, slugs[pi], p->name, all, ns, flat.fp);

        /* throughput of the fixed-step runs at their largest step count */
        series *ours_rk4 = find(all, ns, "ours rk4");
        double ours_rate = 0.0;
        if (ours_rk4 && ours_rk4->rows)
            ours_rate = N_PART * ours_rk4->setting[ours_rk4->rows - 1] / ours_rk4->seconds[ours_rk4->rows - 1];
        for (size_t i = 0; i < ns; i++) {
            const series *s = &all[i];
            if (s->rows == 0 || strstr(s->title, "adaptive"))
                continue;
            size_t rlast = s->rows - 1;
            double steps = s->setting[rlast], rate = N_PART * steps / s->seconds[rlast];
            double nfe_rate = N_PART * s->nfe[rlast] / s->seconds[rlast];
            fprintf(thr.fp, "%s\t%s\t%.0f\t%.4g\t%.4g\t%.2f\n", p->name, s->title, steps, rate, nfe_rate,
                    ours_rate / rate);
            printf("  %-34s %8.3g particle-steps/s  %8.3g particle-NFE/s\n", s->title, rate, nfe_rate);
        }

        /* the goals, measured */
        const double target = 1e-8;
        struct { const char *goal, *ours, *peer; int per_step; } g[] = {
            {"NFE to error 1e-8: ours rk4 vs GSL rk4", "ours rk4", "GSL rk4 whole batch", 0},
            {"NFE to error 1e-8: ours dopri5 vs GSL rkf45", "ours dopri5 adaptive", "GSL rkf45 whole batch adaptive", 0},
            {"NFE to error 1e-8: ours dopri5 vs GSL rkck", "ours dopri5 adaptive", "GSL rkck whole batch adaptive", 0},
            {"particle-steps/s: ours rk4 vs GSL rk4 per particle (goal >= 2)", "ours rk4", "GSL rk4 per particle", 1},
            {"particle-steps/s: ours rk4 vs GSL rk4 whole batch (goal >= 1)", "ours rk4", "GSL rk4 whole batch", 1},
        };
        for (size_t q = 0; q < sizeof g / sizeof g[0]; q++) {
            series *a = find(all, ns, g[q].ours), *b = find(all, ns, g[q].peer);
            if (!a || !b || !a->rows || !b->rows)
                continue;
            double va, vb, ratio;
            int met;
            if (g[q].per_step) {
                va = N_PART * a->setting[a->rows - 1] / a->seconds[a->rows - 1];
                vb = N_PART * b->setting[b->rows - 1] / b->seconds[b->rows - 1];
                ratio = va / vb;
                met = ratio >= (strstr(g[q].goal, ">= 2") ? 2.0 : 1.0);
            } else {
                va = nfe_to_reach(a, target);
                vb = nfe_to_reach(b, target);
                ratio = va / vb;
                met = ratio <= 1.0;
            }
            fprintf(goals.fp, "%s\t%s\t%.4g\t%.4g\t%.3f\t%s\n", p->name, g[q].goal, va, vb, ratio,
                    met ? "yes" : "no");
            printf("  goal: %-62s ours %.4g, peer %.4g, ratio %.3f: %s\n", g[q].goal, va, vb, ratio,
                   met ? "met" : "NOT met");
        }
    }
    io |= fmd_atomic_commit(&flat) != FMD_OK;
    io |= fmd_atomic_commit(&thr) != FMD_OK;
    io |= fmd_atomic_commit(&goals) != FMD_OK;
    free(x0);
    free(x);
    free(exact);
    if (io)
        fprintf(stderr, "ode_bench: could not write the results in %s\n", dir);
    return io;
}
